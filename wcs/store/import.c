/*
 * import.c - a pre-advice file fed to the store in batches (see import.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wcs/store/import.h"
#include "wcs/store/store.h"

#define BATCH_ROWS 5000

/* --- import into the store --------------------------------------------- */

struct batcher {
    PGconn *c;
    const char *path;
    struct wcs_preadvice *rows;
    int *lines;
    size_t n;
    const struct wcs_declare_ctx *cx;
    struct wcs_import_summary *s;
    struct diag *d;
    struct err *e;
};

static int flush(struct batcher *b)
{
    struct wcs_upsert_result res;
    int rc;

    if (b->n == 0)
        return 0;
    rc = wcs_db_preadvice_upsert(b->c, b->rows, b->lines, b->n, b->path, b->cx, &res, b->d, b->e);
    b->n = 0;
    if (rc < 0)
        return rc;
    b->s->inserted += res.inserted;
    b->s->updated += res.updated;
    b->s->unchanged += res.unchanged;
    b->s->rejected += res.rejected;
    b->s->decl_queued += res.decl_queued;
    b->s->decl_blocked += res.decl_blocked;
    b->s->decl_kept += res.decl_kept;
    return 0;
}

static int batch_cb(void *arg, const struct wcs_preadvice *row, int line)
{
    struct batcher *b = arg;

    b->rows[b->n] = *row;
    b->lines[b->n] = line;
    b->n++;
    return b->n == BATCH_ROWS ? flush(b) : 0;
}

int wcs_import_file(PGconn *c, const char *path, const struct wcs_declare_ctx *cx,
                    struct wcs_import_summary *s, struct diag *d, struct err *e)
{
    struct batcher b = {c, path, NULL, NULL, 0, cx, s, d, e};
    int rc;

    memset(s, 0, sizeof(*s));
    b.rows = malloc(BATCH_ROWS * sizeof(*b.rows));
    b.lines = malloc(BATCH_ROWS * sizeof(*b.lines));
    if (b.rows == NULL || b.lines == NULL) {
        free(b.rows);
        free(b.lines);
        return err_set(e, -ENOMEM, "%s: out of memory", path);
    }
    rc = wcs_preadvice_read_file(path, batch_cb, &b, &s->counts, d, e);
    if (rc == 0)
        rc = flush(&b);
    free(b.rows);
    free(b.lines);
    if (rc == 0)
        log_info("%s: %zu rows, %zu bad; %zu inserted, %zu updated, %zu unchanged, %zu rejected;"
                 " declarations: %zu queued, %zu blocked, %zu kept",
                 path, s->counts.rows, s->counts.bad, s->inserted, s->updated, s->unchanged,
                 s->rejected, s->decl_queued, s->decl_blocked, s->decl_kept);
    return rc;
}

/*
 * preadvice.c - the line emulator's input files: the parcels to induct (a
 * pre-advice file, CSV with a header or JSON Lines) and an optional line
 * layout (CSV: id,distance_mm,capacity,empty_ms).
 *
 * The emulator needs only a parcel's code and, when given, its weight and
 * dimensions (they travel in REQ_); every other column is ignored, so any
 * file wcsctl imports is also a valid input here. Files are read one
 * physical line at a time (getline) and each line is fed to libcsv or
 * json_loadb, so line numbers in messages are physical lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>

#include "conveyor/linesim/sim.h"

#define CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)
#define FIELDS_MAX 64

/* One CSV record being collected by the libcsv callbacks. */
struct rec {
    char *v[FIELDS_MAX];
    size_t n;
    bool overflow;
};

/* What a reader does with each complete record. */
struct csvread {
    const char *path;
    long line;     /* physical line being fed */
    long rec_line; /* line where the current record started */
    struct rec rec;
    bool header_done;
    int (*row)(struct csvread *r, struct rec *rec);
    void *arg;
    int rc; /* first hard error from row() */
    struct diag *d;
    struct err *e;
};

static void rec_clear(struct rec *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        free(r->v[i]);
    r->n = 0;
    r->overflow = false;
}

static void field_cb(void *data, size_t len, void *arg)
{
    struct csvread *r = arg;
    char *copy;

    if (r->rec.n == 0 && r->rec_line == 0)
        r->rec_line = r->line;
    if (r->rec.n >= FIELDS_MAX) {
        r->rec.overflow = true;
        return;
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        r->rc = -ENOMEM;
        return;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    r->rec.v[r->rec.n++] = copy;
}

static void record_cb(int c, void *arg)
{
    struct csvread *r = arg;
    int rc;

    (void)c;
    if (r->rec_line == 0)
        r->rec_line = r->line;
    if (r->rc == 0) {
        if (r->rec.overflow)
            diag_add(r->d, "%s:%ld: more than %d columns", r->path, r->rec_line, FIELDS_MAX);
        rc = r->row(r, &r->rec);
        if (rc < 0)
            r->rc = rc;
    }
    rec_clear(&r->rec);
    r->rec_line = 0;
}

/* Reads the whole CSV file through r->row. Returns 0, -errno or ERR_PARSE. */
static int csv_read_file(FILE *f, struct csvread *r)
{
    struct csv_parser p;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;

    if (csv_init(&p, CSV_OPTIONS) != 0)
        return err_set(r->e, -ENOMEM, "%s: csv_init failed", r->path);
    while ((len = getline(&buf, &cap, f)) > 0) {
        r->line++;
        if (csv_parse(&p, buf, (size_t)len, field_cb, record_cb, r) != (size_t)len) {
            rc = err_set(r->e, ERR_PARSE, "%s:%ld: %s", r->path, r->line,
                         csv_strerror(csv_error(&p)));
            diag_add(r->d, "%s", r->e ? r->e->msg : "CSV syntax error");
            goto out;
        }
        if (r->rc < 0) {
            rc = r->rc;
            goto out;
        }
    }
    if (ferror(f)) {
        rc = err_set(r->e, -errno, "%s: %s", r->path, strerror(errno));
        goto out;
    }
    if (csv_fini(&p, field_cb, record_cb, r) != 0) {
        rc = err_set(r->e, ERR_PARSE, "%s:%ld: %s", r->path, r->line, csv_strerror(csv_error(&p)));
        diag_add(r->d, "%s", r->e ? r->e->msg : "CSV syntax error");
        goto out;
    }
    rc = r->rc;
out:
    rec_clear(&r->rec);
    csv_free(&p);
    free(buf);
    return rc;
}

/* Parses an optional non-negative integer column; -1 when empty. Returns
 * false (and reports) when the text is not a number. */
static bool opt_num(struct csvread *r, const char *col, const char *txt, long max, int32_t *out)
{
    char *end;
    long v;

    *out = -1;
    if (txt == NULL || *txt == '\0')
        return true;
    errno = 0;
    v = strtol(txt, &end, 10);
    if (errno || *end != '\0' || v < 0 || v > max) {
        diag_add(r->d, "%s:%ld: %s: '%s' is not a number in 0..%ld", r->path, r->rec_line, col, txt,
                 max);
        return false;
    }
    *out = (int32_t)v;
    return true;
}

/* --- pre-advice --------------------------------------------------------------- */

enum pcol { P_CODE, P_WEIGHT, P_LENGTH, P_WIDTH, P_HEIGHT, P_NCOL };
static const char *const pcol_names[P_NCOL] = {"code", "weight_g", "length_mm", "width_mm",
                                               "height_mm"};
/* Field widths in REQ_ (spec "REQ_"): weight 6 digits, dimensions 4. */
static const long pcol_max[P_NCOL] = {0, 999999, 9999, 9999, 9999};

struct items {
    struct conv_sim_item *v;
    size_t n, cap;
    int colidx[P_NCOL]; /* CSV column of each field, -1 absent */
};

static int items_add(struct items *it, const char *vals[P_NCOL], struct csvread *r)
{
    struct conv_sim_item x;
    int32_t *nums[P_NCOL] = {NULL, &x.weight_g, &x.length_mm, &x.width_mm, &x.height_mm};
    size_t len = vals[P_CODE] ? strlen(vals[P_CODE]) : 0;
    int i;

    memset(&x, 0, sizeof(x));
    if (len == 0 || len > CONV_SIM_ID_MAX) {
        diag_add(r->d, "%s:%ld: code: %s", r->path, r->rec_line,
                 len == 0 ? "empty" : "longer than 20 characters (REQ_ barcode field)");
        return 0;
    }
    for (i = 0; i < (int)len; i++) {
        unsigned char ch = (unsigned char)vals[P_CODE][i];

        if (ch < 0x21 || ch > 0x7e || ch == '*' || ch == '?') {
            diag_add(r->d, "%s:%ld: code: '%s' has characters a telegram cannot carry", r->path,
                     r->rec_line, vals[P_CODE]);
            return 0;
        }
    }
    memcpy(x.code, vals[P_CODE], len + 1);
    /* A bad weight or dimension is reported but the parcel is still
     * inducted with the value absent: the emulator stands in for the line's
     * scale, and a real line carries such parcels too. */
    for (i = P_WEIGHT; i < P_NCOL; i++)
        (void)opt_num(r, pcol_names[i], vals[i], pcol_max[i], nums[i]);
    if (it->n == it->cap) {
        size_t ncap = it->cap ? it->cap * 2 : 256;
        struct conv_sim_item *nv = realloc(it->v, ncap * sizeof(*nv));

        if (nv == NULL)
            return -ENOMEM;
        it->v = nv;
        it->cap = ncap;
    }
    it->v[it->n++] = x;
    return 0;
}

static int preadvice_row(struct csvread *r, struct rec *rec)
{
    struct items *it = r->arg;
    const char *vals[P_NCOL];
    size_t i;
    int k;

    if (!r->header_done) {
        r->header_done = true;
        for (k = 0; k < P_NCOL; k++)
            it->colidx[k] = -1;
        for (i = 0; i < rec->n; i++)
            for (k = 0; k < P_NCOL; k++)
                if (strcmp(rec->v[i], pcol_names[k]) == 0)
                    it->colidx[k] = (int)i;
        if (it->colidx[P_CODE] < 0) {
            diag_add(r->d, "%s:%ld: header: no column 'code'", r->path, r->rec_line);
            return err_set(r->e, ERR_PARSE, "%s:%ld: header: no column 'code'", r->path,
                           r->rec_line);
        }
        return 0;
    }
    if (rec->n == 1 && rec->v[0][0] == '\0')
        return 0; /* blank line */
    for (k = 0; k < P_NCOL; k++)
        vals[k] =
            it->colidx[k] >= 0 && (size_t)it->colidx[k] < rec->n ? rec->v[it->colidx[k]] : NULL;
    return items_add(it, vals, r);
}

static int jsonl_read(FILE *f, struct csvread *r, struct items *it)
{
    char *buf = NULL, numbuf[P_NCOL][32];
    size_t cap = 0;
    ssize_t len;
    int rc = 0, k;

    while ((len = getline(&buf, &cap, f)) > 0) {
        json_t *o;
        json_error_t je;
        const char *vals[P_NCOL];

        r->line++;
        r->rec_line = r->line;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
            len--;
        if (len == 0)
            continue;
        o = json_loadb(buf, (size_t)len, 0, &je);
        if (o == NULL || !json_is_object(o)) {
            diag_add(r->d, "%s:%ld: %s", r->path, r->line, o ? "not a JSON object" : je.text);
            json_decref(o);
            continue;
        }
        for (k = 0; k < P_NCOL; k++) {
            json_t *v = json_object_get(o, pcol_names[k]);

            vals[k] = NULL;
            if (json_is_string(v)) {
                vals[k] = json_string_value(v);
            } else if (json_is_integer(v)) {
                snprintf(numbuf[k], sizeof(numbuf[k]), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
                vals[k] = numbuf[k];
            } else if (v && !json_is_null(v)) {
                diag_add(r->d, "%s:%ld: %s: not a string or an integer", r->path, r->line,
                         pcol_names[k]);
            }
        }
        rc = items_add(it, vals, r);
        json_decref(o);
        if (rc < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = err_set(r->e, -errno, "%s: %s", r->path, strerror(errno));
    free(buf);
    return rc;
}

static bool is_jsonl(const char *path, FILE *f)
{
    size_t n = strlen(path);
    int c;

    if ((n > 6 && strcmp(path + n - 6, ".jsonl") == 0) ||
        (n > 5 && strcmp(path + n - 5, ".json") == 0))
        return true;
    c = fgetc(f);
    if (c != EOF)
        ungetc(c, f);
    return c == '{';
}

int conv_sim_load_preadvice(const char *path, struct conv_sim_item **items, size_t *n,
                            struct diag *d, struct err *e)
{
    struct items it = {0};
    struct csvread r = {.path = path, .row = preadvice_row, .arg = &it, .d = d, .e = e};
    FILE *f;
    int rc;

    *items = NULL;
    *n = 0;
    f = fopen(path, "r");
    if (f == NULL)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (is_jsonl(path, f))
        rc = jsonl_read(f, &r, &it);
    else
        rc = csv_read_file(f, &r);
    fclose(f);
    if (rc == 0 && it.n == 0)
        rc = err_set(e, ERR_PARSE, "%s: no usable parcel row", path);
    if (rc < 0) {
        free(it.v);
        return rc;
    }
    *items = it.v;
    *n = it.n;
    return 0;
}

/* --- layout ----------------------------------------------------------------- */

enum lcol { L_ID, L_DIST, L_CAP, L_EMPTY, L_NCOL };
static const char *const lcol_names[L_NCOL] = {"id", "distance_mm", "capacity", "empty_ms"};

struct layout {
    struct conv_sim_config *c;
    int colidx[L_NCOL];
    size_t n;
    int problems;
};

static int layout_row(struct csvread *r, struct rec *rec)
{
    struct layout *l = r->arg;
    struct conv_sim_chute_config *ch;
    const char *v[L_NCOL];
    int32_t num[L_NCOL];
    size_t i;
    int k;
    bool ok = true;

    if (!r->header_done) {
        r->header_done = true;
        for (k = 0; k < L_NCOL; k++)
            l->colidx[k] = -1;
        for (i = 0; i < rec->n; i++)
            for (k = 0; k < L_NCOL; k++)
                if (strcmp(rec->v[i], lcol_names[k]) == 0)
                    l->colidx[k] = (int)i;
        for (k = 0; k < L_NCOL; k++) {
            if (l->colidx[k] < 0) {
                diag_add(r->d, "%s:%ld: header: no column '%s'", r->path, r->rec_line,
                         lcol_names[k]);
                l->problems++;
            }
        }
        if (l->problems)
            return err_set(r->e, ERR_PARSE, "%s: header lacks layout columns", r->path);
        return 0;
    }
    if (rec->n == 1 && rec->v[0][0] == '\0')
        return 0;
    for (k = 0; k < L_NCOL; k++)
        v[k] = (size_t)l->colidx[k] < rec->n ? rec->v[l->colidx[k]] : "";
    if (v[L_ID][0] == '\0' || strlen(v[L_ID]) > CONV_SIM_ID_MAX) {
        diag_add(r->d, "%s:%ld: id: %s", r->path, r->rec_line,
                 v[L_ID][0] ? "longer than 20 characters" : "empty");
        ok = false;
    }
    for (k = L_DIST; k < L_NCOL; k++) {
        if (!opt_num(r, lcol_names[k], v[k], 2000000000L, &num[k]))
            ok = false;
        else if (num[k] < 0 && k == L_DIST) {
            diag_add(r->d, "%s:%ld: distance_mm: required", r->path, r->rec_line);
            ok = false;
        }
    }
    if (l->n >= CONV_SIM_CHUTES_MAX) {
        diag_add(r->d, "%s:%ld: more than %d chutes", r->path, r->rec_line, CONV_SIM_CHUTES_MAX);
        ok = false;
    }
    if (!ok) {
        l->problems++;
        return 0;
    }
    ch = &l->c->chutes[l->n++];
    snprintf(ch->id, sizeof(ch->id), "%s", v[L_ID]);
    ch->distance_mm = (uint32_t)num[L_DIST];
    ch->capacity = num[L_CAP] < 0 ? 0 : (uint32_t)num[L_CAP];
    ch->empty_ms = num[L_EMPTY] < 0 ? 0 : (uint32_t)num[L_EMPTY];
    return 0;
}

int conv_sim_load_layout(const char *path, struct conv_sim_config *c, struct diag *d, struct err *e)
{
    struct conv_sim_config tmp = *c;
    struct layout l = {.c = &tmp};
    struct csvread r = {.path = path, .row = layout_row, .arg = &l, .d = d, .e = e};
    FILE *f;
    int rc;

    f = fopen(path, "r");
    if (f == NULL)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    rc = csv_read_file(f, &r);
    fclose(f);
    if (rc == 0 && l.problems)
        rc = err_set(e, ERR_PARSE, "%s: %d bad row(s)", path, l.problems);
    if (rc == 0 && l.n == 0)
        rc = err_set(e, ERR_PARSE, "%s: no chute", path);
    if (rc < 0)
        return rc;
    tmp.nchutes = l.n;
    *c = tmp;
    return 0;
}

/*
 * bench-import.c - throughput of the pre-advice import (wcs_import_file:
 * CSV reader + wcs_db_preadvice_upsert) against a raw COPY of the same
 * parsed rows, measured in the same run on the same database.
 *
 *   bench-import [CONNINFO [FILE | N]]
 *
 * CONNINFO defaults to $WCS_BENCH_PG. FILE is a CSV written by
 * wcs-gen-preadvice; given a number N instead (default 200000), the bench
 * runs wcs-gen-preadvice (next to this binary: ../wcs/tools/) to write N
 * rows into a temporary file, removed at the end. Phases:
 *   parse   the reader alone, no database (the floor of every phase)
 *   raw     parse, then per batch of IMPORT_BATCH rows: BEGIN; COPY parcels
 *           (ids assigned by the client); COPY parcel_ids; COPY declarations
 *           (each built by wcs_declaration_build, as the import does); COPY
 *           customs_outbox; COMMIT - what storing the rows and their
 *           declarations costs with no matching at all
 *   new     TRUNCATE, then wcs_import_file (every row inserted)
 *   again   wcs_import_file of the same file (every row unchanged)
 * Prints rows/s for each, the ratios import/raw and whether the goal (both
 * >= 0.4) is met. The test command runs it with a small N (tests/bench) to
 * see that it still runs and prints its figures and goal.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"
#include "common/log.h"
#include "scanners/scanners.h"
#include "wcs/core/declare.h"
#include "wcs/store/import.h"
#include "wcs/store/store.h"

/* The raw phase commits as often as the import does (wcs/import.c). */
#define IMPORT_BATCH 5000

/* Empties the parcel tables and checkpoints, so no phase inherits dirty
 * pages or a pending checkpoint from the one before. */
static int fresh(PGconn *c)
{
    if (bench_exec(c, "bench-import", "TRUNCATE parcels, parcel_ids, declarations, customs_outbox RESTART IDENTITY"
                   " CASCADE") < 0)
        return -1;
    return bench_exec(c, "bench-import", "CHECKPOINT");
}

/* --- raw COPY ----------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

static int put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 1 << 20;
        char *np;

        while (ncap < b->len + n)
            ncap *= 2;
        np = realloc(b->p, ncap);
        if (np == NULL)
            return -ENOMEM;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* COPY text format: "" is NULL; backslash, tab, newline, CR escaped. */
static int put_text(struct buf *b, const char *s, char sep)
{
    int rc = 0;

    if (s[0] == '\0')
        rc = put(b, "\\N", 2);
    for (; *s != '\0' && rc == 0; s++) {
        switch (*s) {
        case '\\': rc = put(b, "\\\\", 2); break;
        case '\t': rc = put(b, "\\t", 2); break;
        case '\n': rc = put(b, "\\n", 2); break;
        case '\r': rc = put(b, "\\r", 2); break;
        default: rc = put(b, s, 1); break;
        }
    }
    return rc == 0 ? put(b, &sep, 1) : rc;
}

static int put_num(struct buf *b, int64_t v, char sep)
{
    char tmp[32];
    int n = v == -1 ? snprintf(tmp, sizeof(tmp), "\\N%c", sep)
                    : snprintf(tmp, sizeof(tmp), "%" PRId64 "%c", v, sep);

    return put(b, tmp, (size_t)n);
}

struct raw {
    PGconn *c;
    struct wcs_declare_ctx cx;
    struct buf parcels, ids, decls, outbox;
    size_t n;        /* rows in the current batch */
    int64_t next_id; /* parcels.id of the next row */
    int failed;
};

static int copy_one(PGconn *c, const char *sql, const struct buf *b)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;

    PQclear(r);
    if (!ok || PQputCopyData(c, b->p, (int)b->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
        fprintf(stderr, "bench-import: %s: %s", sql, PQerrorMessage(c));
        return -1;
    }
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench-import: %s: %s", sql, PQerrorMessage(c));
            ok = 0;
        }
        PQclear(r);
    }
    return ok ? 0 : -1;
}

static int raw_flush(struct raw *w)
{
    int rc;

    if (w->n == 0)
        return 0;
    rc = bench_exec(w->c, "bench-import", "BEGIN");
    if (rc == 0)
        rc = copy_one(w->c,
                      "COPY parcels (id, code, service, recipient_country, postal_code,"
                      " recipient_name, recipient_city, recipient_address, recipient_phone,"
                      " weight_g, length_mm, width_mm, height_mm, declared_value, currency,"
                      " item_description, hs_code) FROM STDIN",
                      &w->parcels);
    if (rc == 0)
        rc = copy_one(w->c, "COPY parcel_ids (code, parcel_id, kind) FROM STDIN", &w->ids);
    if (rc == 0 && w->decls.len > 0)
        rc = copy_one(w->c, "COPY declarations (parcel_id, body, status, errors, warnings)"
                            " FROM STDIN", &w->decls);
    if (rc == 0 && w->outbox.len > 0)
        rc = copy_one(w->c, "COPY customs_outbox (kind, payload_ref) FROM STDIN", &w->outbox);
    if (rc == 0)
        rc = bench_exec(w->c, "bench-import", "COMMIT");
    w->parcels.len = w->ids.len = w->decls.len = w->outbox.len = 0;
    w->n = 0;
    return rc;
}

static int raw_cb(void *arg, const struct wcs_preadvice *a, int line)
{
    struct raw *w = arg;
    struct buf *b = &w->parcels;
    int64_t id = w->next_id++;
    int i, rc;

    (void)line;
    rc = put_num(b, id, '\t');
    rc |= put_text(b, a->code, '\t');
    rc |= put_text(b, a->service, '\t');
    rc |= put_text(b, a->country, '\t');
    rc |= put_text(b, a->postal_code, '\t');
    rc |= put_text(b, a->recipient_name, '\t');
    rc |= put_text(b, a->city, '\t');
    rc |= put_text(b, a->address, '\t');
    rc |= put_text(b, a->phone, '\t');
    rc |= put_num(b, a->weight_g, '\t');
    rc |= put_num(b, a->length_mm, '\t');
    rc |= put_num(b, a->width_mm, '\t');
    rc |= put_num(b, a->height_mm, '\t');
    rc |= put_num(b, a->declared_value, '\t');
    rc |= put_text(b, a->currency, '\t');
    rc |= put_text(b, a->item_description, '\t');
    rc |= put_text(b, a->hs_code, '\n');
    if (wcs_preadvice_declared(a)) {
        struct wcs_declaration dc;
        struct err e = {0};

        if (wcs_declaration_build(a, &w->cx, &dc, &e) < 0) {
            rc = -1;
        } else {
            rc |= put_text(&w->decls, a->code, '\t');
            rc |= put_text(&w->decls, dc.body, '\t');
            rc |= put_text(&w->decls, dc.valid ? "pending" : "invalid", '\t');
            rc |= put_text(&w->decls, dc.errors ? dc.errors : "", '\t');
            rc |= put_text(&w->decls, dc.warnings ? dc.warnings : "", '\n');
            if (dc.valid) {
                rc |= put_text(&w->outbox, "declaration", '\t');
                rc |= put_text(&w->outbox, a->code, '\n');
            }
            wcs_declaration_free(&dc);
        }
    }
    for (i = -1; i < a->n_other_ids; i++) {
        const char *code = i < 0 ? a->code : a->other_ids[i];
        struct scan_code_info info;

        scan_code_check(code, strlen(code), &info);
        rc |= put_text(&w->ids, code, '\t');
        rc |= put_num(&w->ids, id, '\t');
        rc |= put_text(&w->ids, scan_code_kind_name(info.kind), '\n');
    }
    if (rc != 0) {
        fprintf(stderr, "bench-import: out of memory\n");
        w->failed = 1;
        return -ENOMEM;
    }
    if (++w->n == IMPORT_BATCH && raw_flush(w) < 0) {
        w->failed = 1;
        return -EIO;
    }
    return 0;
}

/* Returns the seconds taken, or -1. */
static double run_raw(PGconn *c, const char *path, size_t *rows)
{
    struct raw w = {.c = c, .next_id = 1};
    struct wcs_import_counts counts;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    double t0, t;
    int rc;

    wcs_declare_ctx_init(&w.cx);
    t0 = bench_now_s();
    rc = wcs_preadvice_read_file(path, raw_cb, &w, &counts, &d, &e);
    if (rc == 0 && raw_flush(&w) < 0)
        rc = -1;
    t = bench_now_s() - t0;
    free(w.parcels.p);
    free(w.ids.p);
    free(w.decls.p);
    free(w.outbox.p);
    diag_free(&d);
    if (rc != 0) {
        if (!w.failed)
            fprintf(stderr, "bench-import: raw: %s\n", e.msg);
        return -1;
    }
    *rows = counts.good;
    /* Leave the sequence past the ids used, as an import would. */
    return bench_exec(c, "bench-import", "SELECT setval('parcels_id_seq', (SELECT max(id) FROM parcels))") < 0 ? -1
                                                                                               : t;
}

/* --- parse and import ----------------------------------------------------- */

static int count_cb(void *arg, const struct wcs_preadvice *a, int line)
{
    (void)a;
    (void)line;
    (*(size_t *)arg)++;
    return 0;
}

static double run_parse(const char *path, size_t *rows)
{
    struct wcs_import_counts counts;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    double t0 = bench_now_s(), t;
    size_t n = 0;
    int rc = wcs_preadvice_read_file(path, count_cb, &n, &counts, &d, &e);

    t = bench_now_s() - t0;
    if (rc != 0 || d.n > 0) {
        fprintf(stderr, "bench-import: %s: %s\n", path, rc != 0 ? e.msg : d.msgs[0]);
        diag_free(&d);
        return -1;
    }
    *rows = n;
    return t;
}

static double run_import(PGconn *c, const char *path, struct wcs_import_summary *s)
{
    struct diag d = DIAG_INIT;
    struct err e = {0};
    double t0 = bench_now_s(), t;
    int rc = wcs_import_file(c, path, NULL, s, &d, &e);

    t = bench_now_s() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench-import: import: %s\n", e.msg);
        diag_free(&d);
        return -1;
    }
    if (d.n > 0)
        fprintf(stderr, "bench-import: import: %zu problems, first: %s\n", d.n, d.msgs[0]);
    diag_free(&d);
    return t;
}

/* Runs wcs-gen-preadvice (../wcs/tools/ from this binary) for n rows. */
static int generate(const char *argv0, unsigned long n, char *path, size_t len)
{
    char self[1024], tool[1200], count[32];
    pid_t pid;
    int status;

    snprintf(self, sizeof(self), "%s", argv0);
    snprintf(tool, sizeof(tool), "%s/../bin/wcs-gen-preadvice", dirname(self));
    snprintf(count, sizeof(count), "%lu", n);
    snprintf(path, len, "/tmp/bench-import-%ld.csv", (long)getpid());
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        execl(tool, tool, "--count", count, "--out", path, (char *)NULL);
        fprintf(stderr, "bench-import: %s: %s\n", tool, strerror(errno));
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

static void line(const char *name, size_t rows, double secs, double raw_rate)
{
    double rate = (double)rows / secs;

    printf("%-7s %9zu rows %8.2f s %9.0f rows/s", name, rows, secs, rate);
    if (raw_rate > 0)
        printf("   %.2f x raw", rate / raw_rate);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *conninfo = argc > 1 ? argv[1] : getenv("WCS_BENCH_PG");
    const char *arg = argc > 2 ? argv[2] : "200000";
    char gen[256] = "";
    const char *path = arg;
    struct wcs_import_summary s1, s2;
    struct err e = {0};
    size_t rows = 0, raw_rows = 0;
    double t_parse, t_raw, t_new, t_again, raw_rate;
    char *end;
    unsigned long n;
    PGconn *c;
    int status = 1;

    log_init("bench-import", LOG_LEVEL_WARN);
    if (conninfo == NULL || conninfo[0] == '\0') {
        fprintf(stderr, "usage: bench-import CONNINFO [FILE | N] (or set WCS_BENCH_PG)\n");
        return 2;
    }
    n = strtoul(arg, &end, 10);
    if (*end == '\0' && n > 0) {
        if (generate(argv[0], n, gen, sizeof(gen)) < 0) {
            fprintf(stderr, "bench-import: could not generate %lu rows\n", n);
            return 1;
        }
        path = gen;
    }
    if (wcs_db_connect(conninfo, &c, &e) < 0) {
        fprintf(stderr, "bench-import: connect: %s\n", e.msg);
        goto out;
    }
    if (wcs_db_migrate(c, NULL, &e) < 0) {
        fprintf(stderr, "bench-import: migrate: %s\n", e.msg);
        goto out_conn;
    }
    if ((t_parse = run_parse(path, &rows)) < 0)
        goto out_conn;
    if (fresh(c) < 0 || (t_raw = run_raw(c, path, &raw_rows)) < 0)
        goto out_conn;
    if (fresh(c) < 0 || (t_new = run_import(c, path, &s1)) < 0)
        goto out_conn;
    if (bench_exec(c, "bench-import", "CHECKPOINT") < 0 || (t_again = run_import(c, path, &s2)) < 0)
        goto out_conn;

    raw_rate = (double)raw_rows / t_raw;
    printf("bench-import: %s, %zu rows, raw batches of %d rows\n", path, rows, IMPORT_BATCH);
    line("parse", rows, t_parse, 0);
    line("raw", raw_rows, t_raw, 0);
    line("new", rows, t_new, raw_rate);
    line("again", rows, t_again, raw_rate);
    printf("new:   inserted %zu updated %zu unchanged %zu rejected %zu\n", s1.inserted, s1.updated,
           s1.unchanged, s1.rejected);
    printf("again: inserted %zu updated %zu unchanged %zu rejected %zu\n", s2.inserted, s2.updated,
           s2.unchanged, s2.rejected);
    printf("goal: import (new and again) at least 0.4 of raw COPY: %s (%.2f, %.2f)\n",
           rows / t_new >= 0.4 * raw_rate && rows / t_again >= 0.4 * raw_rate ? "met" : "NOT met",
           rows / t_new / raw_rate, rows / t_again / raw_rate);
    status = 0;
    if (s1.inserted != rows || s2.unchanged != rows) {
        fprintf(stderr, "bench-import: counts do not match the file's %zu rows\n", rows);
        status = 1;
    }
out_conn:
    PQfinish(c);
out:
    if (gen[0] != '\0')
        unlink(gen);
    return status;
}

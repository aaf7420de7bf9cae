/*
 * sortplan_csv.c - reads a sort plan from CSV (docs/sortplan.md) into the
 * plan builder. libcsv does the CSV syntax; this file maps columns to builder
 * calls and turns every problem into one "SOURCE:LINE: field: reason".
 *
 * libcsv does not report positions, so the text is fed one physical line at
 * a time and a record's line is the line on which its first field ended
 * (the kind column, which never holds a line break).
 */
#include "wcs/core/sortplan.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum col {
    COL_KIND, COL_ID, COL_ROUTE, COL_PREFIX_FROM, COL_PREFIX_TO, COL_SERVICES, COL_WEIGHT_MIN,
    COL_WEIGHT_MAX, COL_PRIORITY, COL_CHUTES, COL_VALUE, COL_DESCRIPTION, COL_CROSSING, NCOLS
};

static const char *const col_names[NCOLS] = {
    "kind", "id", "route", "prefix_from", "prefix_to", "services", "weight_min_g",
    "weight_max_g", "priority", "chutes", "value", "description", "crossing",
};

#define BIT(c) (1u << (c))

/* Columns each kind may fill; anything else must be empty, so that a value
 * typed into the wrong column is an error instead of being ignored. */
static const struct {
    const char *name;
    unsigned cols;
} kinds[] = {
    {"chute", BIT(COL_ID) | BIT(COL_DESCRIPTION)},
    {"route", BIT(COL_ID) | BIT(COL_ROUTE) | BIT(COL_CHUTES) | BIT(COL_VALUE) |
                  BIT(COL_DESCRIPTION) | BIT(COL_CROSSING)},
    {"rule", BIT(COL_ROUTE) | BIT(COL_PREFIX_FROM) | BIT(COL_PREFIX_TO) | BIT(COL_SERVICES) |
                 BIT(COL_WEIGHT_MIN) | BIT(COL_WEIGHT_MAX) | BIT(COL_PRIORITY) |
                 BIT(COL_DESCRIPTION)},
    {"special", BIT(COL_ID) | BIT(COL_CHUTES) | BIT(COL_DESCRIPTION)},
    {"param", BIT(COL_ID) | BIT(COL_VALUE) | BIT(COL_DESCRIPTION)},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct reader {
    const char *source;
    struct wcs_plan *plan;
    struct diag *d;
    int line;        /* physical line being fed, from 1 */
    int rec_line;    /* line of the record being collected, 0 before its first field */
    char *f[NCOLS];  /* fields of the record, NUL-terminated */
    int nf;          /* fields seen, may exceed NCOLS */
    bool header_done;
    bool fatal;      /* header wrong: stop interpreting rows */
    int nerr;
    bool oom;
};

static void field_cb(void *s, size_t len, void *data)
{
    struct reader *rd = data;

    if (rd->rec_line == 0)
        rd->rec_line = rd->line;
    if (rd->nf < NCOLS) {
        char *c = malloc(len + 1);
        if (c == NULL) {
            rd->oom = true;
        } else {
            if (len > 0)
                memcpy(c, s, len);
            c[len] = '\0';
        }
        rd->f[rd->nf] = c;
    }
    rd->nf++;
}

static const char *fld(const struct reader *rd, enum col c)
{
    return (int)c < rd->nf && (int)c < NCOLS && rd->f[c] ? rd->f[c] : "";
}

static void row_error(struct reader *rd, enum col c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void row_error(struct reader *rd, enum col c, const char *fmt, ...)
{
    char why[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    diag_add(rd->d, "%s:%d: %s: %s", rd->source, rd->rec_line, col_names[c], why);
    rd->nerr++;
}

/* Parses an optional whole number of column c into *out (def when empty);
 * neg allows a leading '-'. Reports and returns -1 when malformed. */
static int num(struct reader *rd, enum col c, long long max, bool neg, long long def,
               long long *out)
{
    const char *s = fld(rd, c), *t = s;
    long long v = 0;
    bool minus = false;

    *out = def;
    if (*s == '\0')
        return 0;
    if (neg && *t == '-') {
        minus = true;
        t++;
    }
    if (*t == '\0')
        goto bad;
    for (; *t; t++) {
        if (*t < '0' || *t > '9')
            goto bad;
        v = v * 10 + (*t - '0');
        if (v > max)
            goto range;
    }
    *out = minus ? -v : v;
    return 0;
bad:
    row_error(rd, c, "'%s' is not a whole number", s);
    return -1;
range:
    row_error(rd, c, "'%s' is too large (at most %lld)", s, max);
    return -1;
}

static void report(struct reader *rd, int rc, const struct err *e)
{
    if (rc == 0)
        return;
    diag_add(rd->d, "%s", e->msg);
    rd->nerr++;
    if (rc == -ENOMEM)
        rd->oom = true;
}

static void header(struct reader *rd)
{
    char expect[256];
    int i;

    rd->header_done = true;
    expect[0] = '\0';
    for (i = 0; i < NCOLS; i++) {
        strcat(expect, col_names[i]);
        if (i + 1 < NCOLS)
            strcat(expect, ",");
    }
    for (i = 0; i < NCOLS; i++) {
        if (i >= rd->nf || strcasecmp(fld(rd, (enum col)i), col_names[i]) != 0) {
            diag_add(rd->d, "%s:%d: header: column %d is '%s', expected '%s' (the header is "
                     "exactly %s)", rd->source, rd->rec_line, i + 1,
                     i < rd->nf ? fld(rd, (enum col)i) : "", col_names[i], expect);
            rd->nerr++;
            rd->fatal = true;
            return;
        }
    }
    if (rd->nf > NCOLS) {
        diag_add(rd->d, "%s:%d: header: %d columns, expected %d (the header is exactly %s)",
                 rd->source, rd->rec_line, rd->nf, NCOLS, expect);
        rd->nerr++;
        rd->fatal = true;
    }
}

static void record(struct reader *rd)
{
    struct err e = {0};
    const char *kind = fld(rd, COL_KIND);
    size_t k;
    int i, rc;
    bool empty = true;

    for (i = 0; i < rd->nf && i < NCOLS; i++)
        empty = empty && fld(rd, (enum col)i)[0] == '\0';
    if (rd->nf == 0 || empty || kind[0] == '#' || rd->fatal)
        return;
    if (!rd->header_done) {
        header(rd);
        return;
    }
    if (rd->nf > NCOLS) {
        diag_add(rd->d, "%s:%d: row: %d fields, the header has %d", rd->source, rd->rec_line,
                 rd->nf, NCOLS);
        rd->nerr++;
        return;
    }
    for (k = 0; k < NKINDS; k++)
        if (strcasecmp(kind, kinds[k].name) == 0)
            break;
    if (k == NKINDS) {
        row_error(rd, COL_KIND, "unknown kind '%s' (expected chute, route, rule, special or "
                  "param)", kind);
        return;
    }
    rc = 0;
    for (i = COL_ID; i < NCOLS; i++) {
        if (!(kinds[k].cols & BIT(i)) && fld(rd, (enum col)i)[0] != '\0') {
            row_error(rd, (enum col)i, "not used by kind %s (must be empty)", kinds[k].name);
            rc = -1;
        }
    }
    if (rc < 0)
        return;

    switch (k) {
    case 0:
        rc = wcs_plan_add_chute(rd->plan, rd->rec_line, fld(rd, COL_ID),
                                fld(rd, COL_DESCRIPTION), &e);
        break;
    case 1:
        rc = wcs_plan_add_route(rd->plan, rd->rec_line, fld(rd, COL_ID), fld(rd, COL_VALUE),
                                fld(rd, COL_CROSSING), fld(rd, COL_CHUTES), fld(rd, COL_ROUTE),
                                fld(rd, COL_DESCRIPTION), &e);
        break;
    case 2: {
        long long from, to, wmin, wmax, prio;
        int bad = 0;
        if (fld(rd, COL_PREFIX_FROM)[0] == '\0') {
            row_error(rd, COL_PREFIX_FROM, "missing (the first 3 digits of the postal code)");
            bad = -1;
        }
        bad |= num(rd, COL_PREFIX_FROM, 999999999, false, 0, &from);
        bad |= num(rd, COL_PREFIX_TO, 999999999, false, from, &to);
        bad |= num(rd, COL_WEIGHT_MIN, UINT32_MAX - 1, false, 0, &wmin);
        bad |= num(rd, COL_WEIGHT_MAX, UINT32_MAX - 1, false, 0, &wmax);
        bad |= num(rd, COL_PRIORITY, 1000000, true, 0, &prio);
        if (bad)
            return;
        rc = wcs_plan_add_rule(rd->plan, rd->rec_line, fld(rd, COL_ROUTE), (int)from, (int)to,
                               fld(rd, COL_SERVICES), (uint32_t)wmin, (uint32_t)wmax, (int)prio,
                               fld(rd, COL_DESCRIPTION), &e);
        break;
    }
    case 3:
        rc = wcs_plan_add_special(rd->plan, rd->rec_line, fld(rd, COL_ID), fld(rd, COL_CHUTES),
                                  &e);
        break;
    default:
        rc = wcs_plan_set_param(rd->plan, rd->rec_line, fld(rd, COL_ID), fld(rd, COL_VALUE), &e);
        break;
    }
    report(rd, rc, &e);
}

static void row_cb(int c, void *data)
{
    struct reader *rd = data;
    int i;

    (void)c;
    if (rd->rec_line == 0)
        rd->rec_line = rd->line;
    if (!rd->oom)
        record(rd);
    for (i = 0; i < NCOLS; i++) {
        free(rd->f[i]);
        rd->f[i] = NULL;
    }
    rd->nf = 0;
    rd->rec_line = 0;
}

int wcs_plan_parse_csv(const char *source_name, const char *text, size_t len,
                       struct wcs_plan **out, struct diag *d)
{
    struct csv_parser csv;
    struct reader rd;
    size_t pos = 0;
    int rc, i;

    *out = NULL;
    memset(&rd, 0, sizeof(rd));
    rd.source = source_name && *source_name ? source_name : "sortplan";
    rd.d = d;
    rd.line = 1;
    rd.plan = wcs_plan_new(rd.source);
    if (rd.plan == NULL)
        return -ENOMEM;
    /* Strict: a stray quote is an error rather than a guess, and a quote
     * left open at the end of the text is reported. */
    if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        wcs_plan_free(rd.plan);
        return -ENOMEM;
    }
    /* A spreadsheet may start the file with a UTF-8 byte order mark. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len && !rd.oom) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;
        /* A line starting with '#' between records is a comment and never
         * reaches libcsv, so it may hold anything, quotes included. (No
         * field of a record has ended yet when nf is 0; only a quoted kind
         * column spanning lines could make that wrong, and such a kind is
         * invalid anyway.) */
        if (rd.nf == 0 && text[pos] == '#') {
            pos += n;
            rd.line++;
            continue;
        }
        if (csv_parse(&csv, text + pos, n, field_cb, row_cb, &rd) != n) {
            diag_add(d, "%s:%d: csv: %s", rd.source, rd.line, csv_strerror(csv_error(&csv)));
            rd.nerr++;
            rd.fatal = true;
            break;
        }
        pos += n;
        if (nl)
            rd.line++;
    }
    if (!rd.fatal && csv_fini(&csv, field_cb, row_cb, &rd) != 0) {
        diag_add(d, "%s:%d: csv: %s", rd.source, rd.line, csv_strerror(csv_error(&csv)));
        rd.nerr++;
        rd.fatal = true;
    }
    csv_free(&csv);
    for (i = 0; i < NCOLS; i++)
        free(rd.f[i]);
    if (rd.oom) {
        wcs_plan_free(rd.plan);
        return -ENOMEM;
    }
    if (!rd.header_done) {
        diag_add(d, "%s:1: header: missing header line", rd.source);
        rd.fatal = true;
    }
    if (rd.fatal) {
        wcs_plan_free(rd.plan);
        return ERR_PARSE;
    }
    /* Cross-row checks run even after row errors, so the operator sees
     * every problem of the file in one go. */
    rc = wcs_plan_finish(rd.plan, d);
    if (rc == -ENOMEM) {
        wcs_plan_free(rd.plan);
        return rc;
    }
    if (rc < 0 || rd.nerr > 0) {
        wcs_plan_free(rd.plan);
        return ERR_INVALID;
    }
    *out = rd.plan;
    return 0;
}

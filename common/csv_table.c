/*
 * csv_table.c - the CSV table reader (csv_table.h): libcsv for the syntax,
 * this file for lines, the header, records and their problems.
 *
 * DESIGN. libcsv reports fields and record ends through callbacks but no
 * positions, so input is fed one physical line at a time, and each line in
 * pieces that end at a CR or LF. A record can only end at such a byte, so
 * "a record ended while feeding this piece" means "at its end", and after a
 * piece that ended none but held text, a record is open: it started on this
 * line unless it started earlier. That gives every record its first physical
 * line, quoted line breaks included, and tells when a line starts between
 * records (for comment lines), without looking into libcsv's state.
 * Fields are copied into slots reused from record to record, so a long file
 * costs no allocation per field.
 */
#include "common/csv_table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

/* Strict: a stray quote is an error rather than a guess; STRICT_FINI: so is
 * a quote still open at the end of the input. */
#define CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI)

struct slot {
    char *s;    /* NUL-terminated copy of the field */
    size_t len; /* bytes, without the NUL */
    size_t cap; /* bytes allocated */
};

struct csv_table {
    struct csv_table_spec spec;
    struct diag_file *f;
    struct csv_parser p;
    int rc;        /* non-zero once reading stopped: what stopped it */
    int line;      /* physical line being fed, from 1 */
    bool started;  /* something was fed (the BOM is looked for once) */
    bool ended;    /* a record ended in the piece being fed */
    bool open;     /* a record has begun and not ended */
    int rec_start; /* first line of the open record, 0 before it begins */

    /* The record being collected. */
    struct slot slots[CSV_TABLE_COLUMNS_MAX];
    size_t nf;     /* fields seen, kept or not */
    bool nonempty; /* some field is not empty */
    int rec_line;  /* line of the record handed to the callback */

    /* The header. */
    bool have_header;
    size_t width;                   /* fields of the header */
    int pos[CSV_TABLE_COLUMNS_MAX]; /* field index of each caller column, -1 absent */
    size_t refused;
};

/* A limit on libcsv's field buffer: an unclosed quote would otherwise read
 * the rest of the file into memory. libcsv takes no context here, hence one
 * limit for every table. */
static void *limited_realloc(void *p, size_t n)
{
    if (n > CSV_TABLE_FIELD_MAX)
        return NULL;
    return realloc(p, n);
}

static int parser_init(struct csv_table *t)
{
    if (csv_init(&t->p, CSV_OPTIONS) != 0)
        return -ENOMEM;
    csv_set_realloc_func(&t->p, limited_realloc);
    return 0;
}

/* Only the caller's wording, with one %s, may reach a format. */
static bool one_string_conversion(const char *fmt)
{
    const char *pc = strchr(fmt, '%');

    return pc != NULL && pc[1] == 's' && strchr(pc + 2, '%') == NULL;
}

int csv_table_new(const struct csv_table_spec *spec, struct diag_file *f, struct csv_table **out)
{
    struct csv_table *t;
    size_t i;

    *out = NULL;
    if (spec->ncols > CSV_TABLE_COLUMNS_MAX || spec->record_cb == NULL ||
        (spec->missing != NULL && !one_string_conversion(spec->missing)))
        return -EINVAL;
    for (i = 0; i < spec->ncols; i++)
        if (spec->cols[i].name == NULL)
            return -EINVAL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->spec = *spec;
    if (t->spec.missing == NULL)
        t->spec.missing = "missing required column %s";
    t->f = f;
    if (parser_init(t) < 0) {
        free(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

void csv_table_free(struct csv_table *t)
{
    size_t i;

    if (t == NULL)
        return;
    csv_free(&t->p);
    for (i = 0; i < CSV_TABLE_COLUMNS_MAX; i++)
        free(t->slots[i].s);
    free(t);
}

static bool has(const struct csv_table *t, unsigned flag)
{
    return (t->spec.flags & flag) != 0;
}

static bool same_name(const struct csv_table *t, const char *a, const char *b)
{
    return has(t, CSV_TABLE_ANY_CASE) ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

static const char *slot_text(const struct csv_table *t, size_t i)
{
    return i < t->nf && i < CSV_TABLE_COLUMNS_MAX && t->slots[i].s != NULL ? t->slots[i].s : "";
}

/* --- the header --------------------------------------------------------- */

/* "a,b,c": the exact header, for the message that asks for it. */
static void exact_header(const struct csv_table *t, char *buf, size_t size)
{
    size_t i, n = 0;

    buf[0] = '\0';
    for (i = 0; i < t->spec.ncols && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", t->spec.cols[i].name);
}

static int header_exact(struct csv_table *t, int line)
{
    char expect[ERR_MSG_MAX];
    size_t i;

    exact_header(t, expect, sizeof(expect));
    for (i = 0; i < t->spec.ncols; i++) {
        if (i >= t->nf || !same_name(t, slot_text(t, i), t->spec.cols[i].name))
            return diag_report(t->f, line, "header",
                               "column %zu is '%s', expected '%s' (the header is exactly %s)",
                               i + 1, slot_text(t, i), t->spec.cols[i].name, expect);
        t->pos[i] = (int)i;
    }
    if (t->nf > t->spec.ncols)
        return diag_report(t->f, line, "header",
                           "%zu columns, expected %zu (the header is exactly %s)", t->nf,
                           t->spec.ncols, expect);
    return 0;
}

static int header_by_name(struct csv_table *t, int line)
{
    size_t i, k;
    int bad = 0;

    if (t->nf > CSV_TABLE_COLUMNS_MAX)
        return diag_report(t->f, line, "header", "%zu columns, at most %d", t->nf,
                           CSV_TABLE_COLUMNS_MAX);
    for (i = 0; i < t->nf; i++) {
        const char *name = slot_text(t, i);

        for (k = 0; k < t->spec.ncols; k++)
            if (same_name(t, name, t->spec.cols[k].name))
                break;
        if (k == t->spec.ncols) {
            if (!has(t, CSV_TABLE_UNKNOWN_OK))
                bad = diag_report(t->f, line, "header", "unknown column %.64s", name);
        } else if (t->pos[k] >= 0) {
            /* Which of the two is meant cannot be told: refuse. */
            bad = diag_report(t->f, line, "header", "column %s given twice", name);
        } else {
            t->pos[k] = (int)i;
        }
    }
    for (k = 0; k < t->spec.ncols; k++) {
        /* The caller's wording: csv_table_new checked it holds one %s. */
        if (t->spec.cols[k].required && t->pos[k] < 0)
            bad = diag_report(t->f, line, "header", t->spec.missing, t->spec.cols[k].name);
    }
    return bad;
}

static int take_header(struct csv_table *t, int line)
{
    size_t k;

    for (k = 0; k < CSV_TABLE_COLUMNS_MAX; k++)
        t->pos[k] = -1;
    t->have_header = true;
    t->width = t->nf;
    return has(t, CSV_TABLE_EXACT) ? header_exact(t, line) : header_by_name(t, line);
}

/* --- records ------------------------------------------------------------ */

static void take_record(struct csv_table *t, int line)
{
    t->rec_line = line;
    if (has(t, CSV_TABLE_COMMENTS) && slot_text(t, 0)[0] == '#')
        return;
    if (has(t, CSV_TABLE_SKIP_EMPTY) && !t->nonempty)
        return;
    if (!t->have_header) {
        t->rc = take_header(t, line);
        return;
    }
    if (has(t, CSV_TABLE_SAME_WIDTH) && t->nf != t->width) {
        diag_report(t->f, line, "row", "%zu fields, expected %zu", t->nf, t->width);
        t->refused++;
        return;
    }
    if (has(t, CSV_TABLE_NOT_WIDER) && t->nf > t->width) {
        diag_report(t->f, line, "row", "%zu fields, the header has %zu", t->nf, t->width);
        t->refused++;
        return;
    }
    t->rc = t->spec.record_cb(t, t->spec.arg);
}

static void start_record(struct csv_table *t)
{
    t->open = true;
    if (t->rec_start == 0)
        t->rec_start = t->line;
}

static void clear_record(struct csv_table *t)
{
    t->nf = 0;
    t->nonempty = false;
    t->open = false;
    t->rec_start = 0;
}

static void field_cb(void *s, size_t len, void *data)
{
    struct csv_table *t = data;
    /* Past the header's width a field has no column: count it only. */
    size_t keep =
        t->have_header && t->width < CSV_TABLE_COLUMNS_MAX ? t->width : CSV_TABLE_COLUMNS_MAX;
    size_t i = t->nf++;
    struct slot *sl = &t->slots[i < CSV_TABLE_COLUMNS_MAX ? i : 0];

    if (t->rc != 0)
        return;
    start_record(t);
    if (len > 0)
        t->nonempty = true;
    if (i >= keep)
        return;
    if (len + 1 > sl->cap) {
        char *np = realloc(sl->s, len + 1);

        if (np == NULL) {
            t->rc = err_set(t->f->e, -ENOMEM, "%s: out of memory", t->f->name);
            return;
        }
        sl->s = np;
        sl->cap = len + 1;
    }
    if (len > 0)
        memcpy(sl->s, s, len);
    sl->s[len] = '\0';
    sl->len = len;
}

static void record_cb(int term, void *data)
{
    struct csv_table *t = data;

    (void)term;
    t->ended = true;
    if (t->rc == 0)
        take_record(t, t->rec_start ? t->rec_start : t->line);
    clear_record(t);
}

/* --- feeding ------------------------------------------------------------ */

bool csv_table_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/* libcsv stopped inside a piece: a stray quote, or a field over the limit.
 * Returns 0 when reading goes on at the next line. */
static int broken(struct csv_table *t)
{
    int code = csv_error(&t->p);
    int line = t->rec_start ? t->rec_start : t->line;

    if (code != CSV_EPARSE)
        return diag_stop(t->f, line, "row",
                         "%s (a field longer than %d bytes, or an unclosed quote)",
                         csv_strerror(code), CSV_TABLE_FIELD_MAX);
    if (!has(t, CSV_TABLE_KEEP_GOING))
        return diag_stop(t->f, t->line, "csv", "%s", csv_strerror(code));
    if (!t->have_header)
        return diag_stop(t->f, line, "header", "malformed quoting");
    diag_report(t->f, line, "row",
                "malformed quoting (a quote inside an unquoted field, or text "
                "after a closing quote)");
    t->refused++;
    /* The record is dropped; a fresh parser takes the next line. */
    csv_free(&t->p);
    clear_record(t);
    if (parser_init(t) < 0)
        return err_set(t->f->e, -ENOMEM, "%s: out of memory", t->f->name);
    return 0;
}

int csv_table_feed(struct csv_table *t, const char *line, size_t len)
{
    size_t pos = 0;

    if (t->rc != 0)
        return t->rc;
    t->line++;
    if (!t->started) {
        t->started = true;
        if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
            pos = 3;
    }
    if (has(t, CSV_TABLE_COMMENTS) && !t->open && pos < len && line[pos] == '#')
        return 0;
    while (pos < len && t->rc == 0) {
        const char *a = line + pos;
        /* A line has its LF last, if at all: a piece ends at a CR or there. */
        const char *cr = memchr(a, '\r', len - pos);
        size_t n = cr != NULL ? (size_t)(cr - a) + 1 : len - pos;

        t->ended = false;
        if (csv_parse(&t->p, a, n, field_cb, record_cb, t) != n) {
            if (t->rc == 0)
                t->rc = broken(t);
            break;
        }
        if (!t->ended && !t->open && !csv_table_blank(a, n))
            start_record(t);
        pos += n;
    }
    return t->rc;
}

int csv_table_end(struct csv_table *t)
{
    int line;

    if (t->rc != 0)
        return t->rc;
    if (csv_fini(&t->p, field_cb, record_cb, t) != 0 && t->rc == 0) {
        line = t->rec_start ? t->rec_start : t->line;
        if (!has(t, CSV_TABLE_KEEP_GOING)) {
            t->rc = diag_stop(t->f, line, "csv", "%s", csv_strerror(csv_error(&t->p)));
        } else if (!t->have_header) {
            t->rc = diag_stop(t->f, line, "header", "malformed quoting");
        } else {
            diag_report(t->f, line, "row", "unclosed quote at the end of the file");
            t->refused++;
        }
    }
    if (t->rc == 0 && !t->have_header && t->spec.empty != NULL)
        t->rc = diag_stop(t->f, 1, "header", "%s", t->spec.empty);
    return t->rc;
}

ssize_t csv_table_getline(char **buf, size_t *cap, FILE *fp, size_t max)
{
    size_t n = 0;
    int ch = 0;

    if (*buf == NULL || *cap == 0) {
        size_t first = max + 1 < 128 ? max + 1 : 128;
        char *np = realloc(*buf, first);

        if (np == NULL) {
            errno = ENOMEM;
            return -1;
        }
        *buf = np;
        *cap = first;
    }
    flockfile(fp);
    while ((ch = getc_unlocked(fp)) != EOF) {
        if (n < max) {
            if (n + 1 >= *cap) {
                size_t ncap = *cap * 2 > max + 1 ? max + 1 : *cap * 2;
                char *np = realloc(*buf, ncap);

                if (np == NULL) {
                    funlockfile(fp);
                    errno = ENOMEM;
                    return -1;
                }
                *buf = np;
                *cap = ncap;
            }
            (*buf)[n] = (char)ch;
        }
        n++;
        if (ch == '\n')
            break;
    }
    funlockfile(fp);
    if (n == 0)
        return -1;
    if (n > max) {
        (*buf)[max] = '\0';
        return (ssize_t)max + 1;
    }
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

/* A line over CSV_TABLE_LINE_MAX: the read stops (the line may be inside a
 * quoted field, so there is no next record to go on at). */
static int line_too_long(struct csv_table *t)
{
    if (t->rc == 0)
        t->rc = diag_stop(t->f, t->line + 1, t->have_header ? "row" : "header",
                          "line longer than %d bytes", CSV_TABLE_LINE_MAX);
    return t->rc;
}

int csv_table_read_file(struct csv_table *t, FILE *fp)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = t->rc;

    while (rc == 0) {
        errno = 0;
        n = csv_table_getline(&buf, &cap, fp, CSV_TABLE_LINE_MAX);
        if (n < 0) {
            if (errno == ENOMEM && !ferror(fp))
                rc = t->rc = err_set(t->f->e, -ENOMEM, "%s: out of memory", t->f->name);
            break;
        }
        rc = n > CSV_TABLE_LINE_MAX ? line_too_long(t) : csv_table_feed(t, buf, (size_t)n);
    }
    if (rc == 0 && ferror(fp)) {
        int errnum = errno ? errno : EIO;

        rc = t->rc = err_set(t->f->e, -errnum, "%s: read: %s", t->f->name, strerror(errnum));
    }
    free(buf);
    return rc != 0 ? rc : csv_table_end(t);
}

int csv_table_read_text(struct csv_table *t, const char *text, size_t len)
{
    size_t pos = 0;
    int rc = t->rc;

    while (rc == 0 && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;

        rc = n > CSV_TABLE_LINE_MAX ? line_too_long(t) : csv_table_feed(t, text + pos, n);
        pos += n;
    }
    return rc != 0 ? rc : csv_table_end(t);
}

int csv_table_read_path(const struct csv_table_spec *spec, struct diag_file *f)
{
    struct csv_table *t;
    FILE *fp;
    int rc;

    fp = fopen(f->name, "r");
    if (fp == NULL)
        return err_set(f->e, -errno, "%s: %s", f->name, strerror(errno));
    rc = csv_table_new(spec, f, &t);
    if (rc < 0) {
        fclose(fp);
        return err_set(f->e, rc, "%s: %s", f->name, strerror(-rc));
    }
    rc = csv_table_read_file(t, fp);
    csv_table_free(t);
    fclose(fp);
    return rc;
}

size_t csv_table_refused(const struct csv_table *t)
{
    return t->refused;
}

/* --- the record callback's view ----------------------------------------- */

int csv_table_line(const struct csv_table *t)
{
    return t->rec_line;
}

static int field_index(const struct csv_table *t, size_t col)
{
    if (col >= t->spec.ncols || t->pos[col] < 0 || (size_t)t->pos[col] >= t->nf)
        return -1;
    return t->pos[col];
}

const char *csv_table_field(const struct csv_table *t, size_t col)
{
    int i = field_index(t, col);

    return i < 0 ? "" : slot_text(t, (size_t)i);
}

size_t csv_table_field_len(const struct csv_table *t, size_t col)
{
    int i = field_index(t, col);

    return i < 0 ? 0 : t->slots[i].len;
}

static const char *col_name(const struct csv_table *t, size_t col)
{
    return col < t->spec.ncols ? t->spec.cols[col].name : "?";
}

int csv_table_report(struct csv_table *t, size_t col, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = diag_vreport(t->f, t->rec_line, col_name(t, col), fmt, ap);
    va_end(ap);
    return rc;
}

int csv_table_int(struct csv_table *t, size_t col, long long min, long long max, long long def,
                  long long *out)
{
    return csv_table_parse_int(t->f, t->rec_line, col_name(t, col), csv_table_field(t, col), min,
                               max, def, out);
}

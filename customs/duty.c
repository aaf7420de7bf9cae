/*
 * duty.c - duty rules and exchange rates from CSV, and the duty estimate.
 *
 * DESIGN: both files are read with libcsv into rows tagged with their line
 * numbers, then each row is checked field by field, so one run reports every
 * bad line ("duty-rules.csv:7: rate_percent: \"15%\" is not a number").
 * Columns are found by the header's names, not by position, so a column can
 * be added to the data without breaking older readers. All money is integer
 * (EUR cents, millionths of a EUR for rates): no floating point near duty.
 */
#include "customs/duty.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "customs/currency.h"

/* ---- CSV rows ---- */

struct row {
    char **f; /* fields, malloc'd */
    size_t n;
    int line; /* line the row starts on */
};

struct table {
    struct row *rows;
    size_t n, cap;
    struct row cur; /* row being assembled */
    int line;       /* line being fed to the parser */
    int row_done;   /* the last callback ended a row */
    int nomem;
};

static void free_row(struct row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    free(r->f);
    memset(r, 0, sizeof(*r));
}

static void free_table(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free_row(&t->rows[i]);
    free(t->rows);
    free_row(&t->cur);
    memset(t, 0, sizeof(*t));
}

static void field_cb(void *s, size_t len, void *data)
{
    struct table *t = data;
    char **f, *copy;

    if (t->nomem)
        return;
    if (t->cur.n == 0)
        t->cur.line = t->line;
    t->row_done = 0;
    f = realloc(t->cur.f, (t->cur.n + 1) * sizeof(*f));
    copy = malloc(len + 1);
    if (f == NULL || copy == NULL) {
        free(copy);
        if (f != NULL)
            t->cur.f = f;
        t->nomem = 1;
        return;
    }
    t->cur.f = f;
    if (len > 0)
        memcpy(copy, s, len);
    copy[len] = '\0';
    t->cur.f[t->cur.n++] = copy;
}

static void row_cb(int c, void *data)
{
    struct table *t = data;

    (void)c;
    t->row_done = 1;
    if (t->nomem)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct row *r = realloc(t->rows, cap * sizeof(*r));

        if (r == NULL) {
            t->nomem = 1;
            return;
        }
        t->rows = r;
        t->cap = cap;
    }
    t->rows[t->n++] = t->cur;
    memset(&t->cur, 0, sizeof(t->cur));
}

/* Reads path into t: comment lines ('#' first) and blank lines are skipped
 * but counted, so line numbers match what an editor shows. */
static int read_table(const char *path, struct table *t, struct err *e)
{
    struct csv_parser p;
    FILE *fp;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0, at_row_start = 1;

    memset(t, 0, sizeof(*t));
    fp = fopen(path, "r");
    if (fp == NULL)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(fp);
        return err_set(e, -ENOMEM, "%s: csv_init failed", path);
    }
    while ((len = getline(&line, &cap, fp)) >= 0) {
        t->line++;
        /* '#' or an empty line is a comment only between rows: inside a
         * quoted field that spans lines it is data. A line fed to the parser
         * ends between rows exactly when its last callback ended a row. */
        if (at_row_start && (line[0] == '#' || line[0] == '\n' || line[0] == '\r'))
            continue;
        t->row_done = 0;
        if (csv_parse(&p, line, (size_t)len, field_cb, row_cb, t) != (size_t)len) {
            rc = err_set(e, ERR_PARSE, "%s:%d: %s", path, t->line, csv_strerror(csv_error(&p)));
            goto out;
        }
        at_row_start = t->row_done;
    }
    if (ferror(fp)) {
        rc = err_set(e, -EIO, "%s: read error", path);
        goto out;
    }
    if (csv_fini(&p, field_cb, row_cb, t) != 0) {
        rc = err_set(e, ERR_PARSE, "%s:%d: %s", path, t->line, csv_strerror(csv_error(&p)));
        goto out;
    }
    if (t->nomem)
        rc = err_set(e, -ENOMEM, "%s: out of memory", path);
out:
    free(line);
    csv_free(&p);
    fclose(fp);
    if (rc < 0)
        free_table(t);
    return rc;
}

/* Maps the wanted column names to their positions in the header row. Fills
 * col[i] (-1 for an optional column not present). */
static int map_columns(const char *path, const struct table *t, const char *const *names,
                       const int *required, size_t n, int *col, struct diag *d, struct err *e)
{
    int bad = 0;

    if (t->n == 0) {
        diag_add(d, "%s:1: header: file is empty", path);
        return err_set(e, ERR_PARSE, "%s:1: header: file is empty", path);
    }
    for (size_t i = 0; i < n; i++) {
        col[i] = -1;
        for (size_t j = 0; j < t->rows[0].n; j++)
            if (strcmp(t->rows[0].f[j], names[i]) == 0)
                col[i] = (int)j;
        if (col[i] < 0 && required[i]) {
            diag_add(d, "%s:%d: header: column %s is missing", path, t->rows[0].line, names[i]);
            if (!bad)
                err_set(e, ERR_PARSE, "%s:%d: header: column %s is missing", path,
                        t->rows[0].line, names[i]);
            bad = 1;
        }
    }
    return bad ? ERR_PARSE : 0;
}

static const char *cell(const struct row *r, int col)
{
    if (col < 0 || (size_t)col >= r->n)
        return "";
    return r->f[col];
}

/* ---- value parsers ---- */

int cust_date_parse(const char *s, int *out)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return ERR_PARSE;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return ERR_PARSE;
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return ERR_PARSE;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return ERR_PARSE;
    *out = y * 10000 + m * 100 + d;
    return 0;
}

/* Parses a non-negative decimal with at most `decimals` fraction digits into
 * an integer scaled by 10^decimals ("15" -> 1500, "2.5" -> 250 with 2). */
static int parse_fixed(const char *s, int decimals, int64_t *out)
{
    int64_t v = 0;
    int digits = 0, frac = -1;

    for (; *s; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            return ERR_PARSE;
        if (frac >= 0 && ++frac > decimals)
            return ERR_PARSE;
        if (++digits > 15) /* keeps every product below 2^63 */
            return ERR_PARSE;
        v = v * 10 + (*s - '0');
    }
    if (digits == 0 || frac == 0)
        return ERR_PARSE;
    for (frac = frac < 0 ? 0 : frac; frac < decimals; frac++)
        v *= 10;
    *out = v;
    return 0;
}

static int parse_base(const char *s, enum cust_duty_base *out)
{
    if (strcmp(s, "excess") == 0)
        *out = CUST_BASE_EXCESS;
    else if (strcmp(s, "whole") == 0)
        *out = CUST_BASE_WHOLE;
    else
        return ERR_PARSE;
    return 0;
}

/* ---- duty rules ---- */

enum { R_FROM, R_TO, R_TVAL, R_TCUR, R_TWEIGHT, R_RATE, R_RBASE, R_MIN, R_MBASE, R_NOTE, R_N };
static const char *const rule_cols[R_N] = {
    "from", "to", "threshold_value", "threshold_currency", "threshold_weight_g",
    "rate_percent", "rate_base", "min_per_kg", "min_base", "note",
};
static const int rule_required[R_N] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0};

static int cmp_rule(const void *a, const void *b)
{
    const struct cust_duty_rule *x = a, *y = b;

    return (x->from > y->from) - (x->from < y->from);
}

/* Records one problem: diag line, and the first one also in e. */
#define BAD(...)                                                                                   \
    do {                                                                                           \
        diag_add(d, __VA_ARGS__);                                                                  \
        if (nbad++ == 0)                                                                           \
            err_set(e, ERR_PARSE, __VA_ARGS__);                                                    \
    } while (0)

static int rule_row(const char *path, const struct row *r, const int *col,
                    struct cust_duty_rule *out, struct diag *d, struct err *e)
{
    const char *s;
    int nbad = 0;

    memset(out, 0, sizeof(*out));
    out->line = r->line;
    if (cust_date_parse(cell(r, col[R_FROM]), &out->from) < 0)
        BAD("%s:%d: from: \"%s\" is not a date YYYY-MM-DD", path, r->line, cell(r, col[R_FROM]));
    s = cell(r, col[R_TO]);
    if (*s != '\0' && cust_date_parse(s, &out->to) < 0)
        BAD("%s:%d: to: \"%s\" is not a date YYYY-MM-DD (empty = open-ended)", path, r->line, s);
    else if (out->to != 0 && out->from != 0 && out->to < out->from)
        BAD("%s:%d: to: %s is before from", path, r->line, s);
    s = cell(r, col[R_TVAL]);
    if (parse_fixed(s, 2, &out->threshold_cents) < 0)
        BAD("%s:%d: threshold_value: \"%s\" is not an amount (e.g. 200 or 200.00)", path, r->line,
            s);
    s = cell(r, col[R_TCUR]);
    if (strcmp(s, "EUR") != 0)
        BAD("%s:%d: threshold_currency: \"%s\": the EAEU limits are set in EUR", path, r->line, s);
    s = cell(r, col[R_TWEIGHT]);
    if (*s != '\0' && parse_fixed(s, 0, &out->threshold_weight_g) < 0)
        BAD("%s:%d: threshold_weight_g: \"%s\" is not whole grams (empty = no limit)", path,
            r->line, s);
    {
        int64_t bp = 0;

        s = cell(r, col[R_RATE]);
        if (parse_fixed(s, 2, &bp) < 0 || bp > 10000)
            BAD("%s:%d: rate_percent: \"%s\" is not a percentage 0-100", path, r->line, s);
        out->rate_bp = (int)bp;
    }
    s = cell(r, col[R_RBASE]);
    if (parse_base(s, &out->rate_base) < 0)
        BAD("%s:%d: rate_base: \"%s\": expected excess or whole", path, r->line, s);
    s = cell(r, col[R_MIN]);
    if (parse_fixed(s, 2, &out->min_per_kg_cents) < 0)
        BAD("%s:%d: min_per_kg: \"%s\" is not an amount in EUR", path, r->line, s);
    s = cell(r, col[R_MBASE]);
    if (parse_base(s, &out->min_base) < 0)
        BAD("%s:%d: min_base: \"%s\": expected excess or whole", path, r->line, s);
    snprintf(out->note, sizeof(out->note), "%s", cell(r, col[R_NOTE]));
    return nbad ? ERR_PARSE : 0;
}

int cust_duty_rules_load(const char *path, struct cust_duty_rules *out, struct diag *d,
                         struct err *e)
{
    struct table t;
    int col[R_N], rc, nbad = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if ((rc = read_table(path, &t, e)) < 0) {
        diag_add(d, "%s", e != NULL ? e->msg : path);
        return rc;
    }
    if ((rc = map_columns(path, &t, rule_cols, rule_required, R_N, col, d, e)) < 0)
        goto out;
    out->v = calloc(t.n, sizeof(*out->v));
    if (out->v == NULL) {
        rc = err_set(e, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (i = 1; i < t.n; i++) {
        struct err e1;

        if (rule_row(path, &t.rows[i], col, &out->v[out->n], d, nbad ? &e1 : e) < 0)
            nbad++;
        else
            out->n++;
    }
    qsort(out->v, out->n, sizeof(*out->v), cmp_rule);
    /* Two rules in force on the same day would make the answer depend on
     * the order of lines: refuse. */
    for (i = 0; i + 1 < out->n; i++) {
        const struct cust_duty_rule *a = &out->v[i], *b = &out->v[i + 1];

        if (a->to == 0 || a->to >= b->from) {
            diag_add(d, "%s:%d: from: period overlaps the rule on line %d", path, b->line, a->line);
            if (nbad++ == 0)
                err_set(e, ERR_PARSE, "%s:%d: from: period overlaps the rule on line %d", path,
                        b->line, a->line);
        }
    }
    rc = nbad ? ERR_PARSE : 0;
out:
    free_table(&t);
    if (rc < 0)
        cust_duty_rules_free(out);
    return rc;
}

void cust_duty_rules_free(struct cust_duty_rules *r)
{
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* ---- exchange rates ---- */

enum { X_DATE, X_CUR, X_UNITS, X_EUR, X_N };
static const char *const rate_cols[X_N] = {"date", "currency", "units", "eur"};
static const int rate_required[X_N] = {1, 1, 1, 1};

static int cmp_rate(const void *a, const void *b)
{
    const struct cust_rate *x = a, *y = b;
    int c = strcmp(x->currency, y->currency);

    return c != 0 ? c : (x->date > y->date) - (x->date < y->date);
}

static int rate_row(const char *path, const struct row *r, const int *col, struct cust_rate *out,
                    struct diag *d, struct err *e)
{
    const char *s;
    int nbad = 0;

    memset(out, 0, sizeof(*out));
    if (cust_date_parse(cell(r, col[X_DATE]), &out->date) < 0)
        BAD("%s:%d: date: \"%s\" is not a date YYYY-MM-DD", path, r->line, cell(r, col[X_DATE]));
    s = cell(r, col[X_CUR]);
    if (cust_currency_exponent(s) < 0)
        BAD("%s:%d: currency: \"%s\" is not an active ISO 4217 code", path, r->line, s);
    else
        snprintf(out->currency, sizeof(out->currency), "%s", s);
    s = cell(r, col[X_UNITS]);
    if (parse_fixed(s, 0, &out->units) < 0 || out->units < 1 || out->units > 1000000)
        BAD("%s:%d: units: \"%s\": expected a whole number 1-1000000", path, r->line, s);
    s = cell(r, col[X_EUR]);
    if (parse_fixed(s, 6, &out->eur_micro) < 0 || out->eur_micro == 0 ||
        out->eur_micro > 1000000000000LL)
        BAD("%s:%d: eur: \"%s\": expected a positive EUR amount, at most 6 decimals", path,
            r->line, s);
    return nbad ? ERR_PARSE : 0;
}

int cust_rates_load(const char *path, struct cust_rates *out, struct diag *d, struct err *e)
{
    struct table t;
    int col[X_N], rc, nbad = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if ((rc = read_table(path, &t, e)) < 0) {
        diag_add(d, "%s", e != NULL ? e->msg : path);
        return rc;
    }
    if ((rc = map_columns(path, &t, rate_cols, rate_required, X_N, col, d, e)) < 0)
        goto out;
    out->v = calloc(t.n, sizeof(*out->v));
    if (out->v == NULL) {
        rc = err_set(e, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (i = 1; i < t.n; i++) {
        struct err e1;

        if (rate_row(path, &t.rows[i], col, &out->v[out->n], d, nbad ? &e1 : e) < 0)
            nbad++;
        else
            out->n++;
    }
    qsort(out->v, out->n, sizeof(*out->v), cmp_rate);
    for (i = 0; i + 1 < out->n; i++) {
        if (cmp_rate(&out->v[i], &out->v[i + 1]) == 0) {
            diag_add(d, "%s: date: two rates for %s on %d", path, out->v[i].currency,
                     out->v[i].date);
            if (nbad++ == 0)
                err_set(e, ERR_PARSE, "%s: date: two rates for %s on %d", path,
                        out->v[i].currency, out->v[i].date);
        }
    }
    rc = nbad ? ERR_PARSE : 0;
out:
    free_table(&t);
    if (rc < 0)
        cust_rates_free(out);
    return rc;
}

void cust_rates_free(struct cust_rates *r)
{
    free(r->v);
    memset(r, 0, sizeof(*r));
}

int cust_rate_to_eur(const struct cust_rates *r, const char *currency, int64_t amount, int date,
                     int64_t *cents, struct err *e)
{
    const struct cust_rate *best = NULL;
    int exp = cust_currency_exponent(currency);
    unsigned __int128 num, den, q;
    int64_t pow10 = 1;

    if (exp < 0)
        return err_set(e, ERR_INVALID, "currency: \"%s\" is not an active ISO 4217 code",
                       currency != NULL ? currency : "");
    /* 10^15 minor units is far beyond any parcel and keeps the maths exact. */
    if (amount < 0 || amount > 1000000000000000LL)
        return err_set(e, ERR_INVALID, "value: %lld out of range", (long long)amount);
    if (strcmp(currency, "EUR") == 0) {
        *cents = amount;
        return 0;
    }
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].currency, currency) == 0 && r->v[i].date <= date &&
            (best == NULL || r->v[i].date > best->date))
            best = &r->v[i];
    if (best == NULL)
        return err_set(e, ERR_NOTFOUND, "no %s exchange rate on or before %d", currency, date);
    while (exp-- > 0)
        pow10 *= 10;
    /* cents = amount / 10^exp * eur_micro / units / 10^6 * 100 */
    num = (unsigned __int128)amount * (unsigned __int128)best->eur_micro * 100u;
    den = (unsigned __int128)pow10 * (unsigned __int128)best->units * 1000000u;
    q = (num + den / 2) / den;
    *cents = (int64_t)q;
    return 0;
}

/* ---- estimate ---- */

int cust_duty_estimate(const struct cust_duty_rules *rules, const struct cust_rates *rates,
                       const struct cust_decl *decl, const char *date,
                       struct cust_duty_result *res, struct err *e)
{
    const struct cust_duty_rule *rule = NULL;
    int64_t v, w, t, vbase, wbase, vpart, wpart;
    int day, rc;

    memset(res, 0, sizeof(*res));
    if (cust_date_parse(date, &day) < 0)
        return err_set(e, ERR_INVALID, "date: \"%s\" is not YYYY-MM-DD", date ? date : "");
    if (decl->total_value == CUST_ABSENT || decl->currency == NULL)
        return err_set(e, ERR_INVALID, "total_value: missing");
    if (decl->gross_weight_g == CUST_ABSENT || decl->gross_weight_g < 0 ||
        decl->gross_weight_g > 1000000000LL)
        return err_set(e, ERR_INVALID, "gross_weight_g: missing or out of range");
    for (size_t i = 0; i < rules->n; i++)
        if (rules->v[i].from <= day && (rules->v[i].to == 0 || day <= rules->v[i].to))
            rule = &rules->v[i];
    if (rule == NULL)
        return err_set(e, ERR_NOTFOUND, "no duty rule in force on %s", date);
    rc = cust_rate_to_eur(rates, decl->currency, decl->total_value, day, &v, e);
    if (rc < 0)
        return rc;
    w = decl->gross_weight_g;
    t = rule->threshold_cents;
    res->rule = rule;
    res->value_cents = v;
    res->over_value = v > t;
    res->over_weight = rule->threshold_weight_g > 0 && w > rule->threshold_weight_g;
    res->over_limit = res->over_value || res->over_weight;
    if (!res->over_limit) {
        snprintf(res->reason, sizeof(res->reason),
                 "%lld.%02lld EUR, %lld g: within the duty-free limit of %lld EUR%s (rule from line %d)",
                 (long long)(v / 100), (long long)(v % 100), (long long)w, (long long)(t / 100),
                 rule->threshold_weight_g > 0 ? " and the weight limit" : "", rule->line);
        return 0;
    }
    /* Whole-value bases apply only once a limit is crossed: below it the
     * parcel is duty-free whatever the rate. */
    if (rule->rate_base == CUST_BASE_EXCESS)
        vbase = v > t ? v - t : 0;
    else
        vbase = v;
    if (rule->min_base == CUST_BASE_EXCESS)
        wbase = res->over_weight ? w - rule->threshold_weight_g : 0;
    else
        wbase = w;
    /* v <= 10^13 cents and rate_bp <= 10^4, w <= 10^9 g and the per-kg
     * minimum <= 10^17: the products below stay far from 2^63 only for sane
     * per-kg minimums, hence the __int128. */
    vpart = (int64_t)(((unsigned __int128)vbase * (unsigned)rule->rate_bp + 5000) / 10000);
    wpart = (int64_t)(((unsigned __int128)wbase * (uint64_t)rule->min_per_kg_cents + 500) / 1000);
    res->duty_cents = vpart > wpart ? vpart : wpart;
    snprintf(res->reason, sizeof(res->reason),
             "%lld.%02lld EUR, %lld g over the limit of %lld EUR / %lld g: duty max(%d.%02d%% of "
             "%lld.%02lld EUR, %lld.%02lld EUR/kg x %lld g) = %lld.%02lld EUR (rule from line %d%s%s)",
             (long long)(v / 100), (long long)(v % 100), (long long)w, (long long)(t / 100),
             (long long)rule->threshold_weight_g, rule->rate_bp / 100, rule->rate_bp % 100,
             (long long)(vbase / 100), (long long)(vbase % 100),
             (long long)(rule->min_per_kg_cents / 100), (long long)(rule->min_per_kg_cents % 100),
             (long long)wbase, (long long)(res->duty_cents / 100),
             (long long)(res->duty_cents % 100), rule->line, rule->note[0] ? ": " : "",
             rule->note);
    return 0;
}

/*
 * duty.c - duty rules and exchange rates from CSV, and the duty estimate.
 *
 * DESIGN: both files are read with the table reader (common/csv_table.h),
 * each row checked field by field as it comes, so one run reports every bad
 * line ("duty-rules.csv:7: rate_percent: \"15%\" is not a number").
 * Columns are found by the header's names, not by position, so a column can
 * be added to the data without breaking older readers. All money is integer
 * (EUR cents, millionths of a EUR for rates): no floating point near duty.
 */
#include "customs/duty.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv_table.h"
#include "customs/currency.h"

/* ---- reading a table ---- */

/* Rows of one file as they are read: the checked values, n of them. */
struct loader {
    void *v; /* array of `size`-byte values */
    size_t n, cap;
    size_t size;
    int (*row)(struct csv_table *t, void *out); /* checks one row into out; <0 when bad */
};

static int loader_record_cb(struct csv_table *t, void *arg)
{
    struct loader *l = arg;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *nv = realloc(l->v, cap * l->size);

        if (nv == NULL)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    if (l->row(t, (char *)l->v + l->n * l->size) == 0)
        l->n++;
    return 0;
}

/* Reads f->name through l->row(): columns by name (unknown ones ignored),
 * '#' lines are comments, a broken quote stops the read. Returns 0 when the
 * whole file was read (bad rows are reported in f and left out of l), or
 * what stopped the read (reported in f too); l holds the good rows read. */
static int load_table(struct diag_file *f, const struct csv_table_column *cols, size_t ncols,
                      struct loader *l)
{
    const struct csv_table_spec spec = {
        .cols = cols,
        .ncols = ncols,
        .flags = CSV_TABLE_UNKNOWN_OK | CSV_TABLE_COMMENTS,
        .missing = "column %s is missing",
        .empty = "file is empty",
        .record_cb = loader_record_cb,
        .arg = l,
    };
    int rc = csv_table_read_path(&spec, f);

    if (rc == -ENOMEM)
        rc = err_set(f->e, rc, "%s: out of memory", f->name);
    if (rc < 0 && f->problems == 0)
        diag_add(f->d, "%s", f->e != NULL ? f->e->msg : f->name); /* cannot open or read */
    return rc;
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
static const struct csv_table_column rule_cols[R_N] = {
    {"from", true},         {"to", true},         {"threshold_value", true},
    {"threshold_currency", true},                 {"threshold_weight_g", true},
    {"rate_percent", true}, {"rate_base", true},  {"min_per_kg", true},
    {"min_base", true},     {"note", false},
};

static int cmp_rule(const void *a, const void *b)
{
    const struct cust_duty_rule *x = a, *y = b;

    return (x->from > y->from) - (x->from < y->from);
}

/* Reports a problem of column c of the row being checked; remembers it. */
#define BAD(c, ...) (bad = csv_table_report(t, (c), __VA_ARGS__))

static int rule_row(struct csv_table *t, void *o)
{
    struct cust_duty_rule *out = o;
    const char *s;
    int bad = 0;

    memset(out, 0, sizeof(*out));
    out->line = csv_table_line(t);
    s = csv_table_field(t, R_FROM);
    if (cust_date_parse(s, &out->from) < 0)
        BAD(R_FROM, "\"%s\" is not a date YYYY-MM-DD", s);
    s = csv_table_field(t, R_TO);
    if (*s != '\0' && cust_date_parse(s, &out->to) < 0)
        BAD(R_TO, "\"%s\" is not a date YYYY-MM-DD (empty = open-ended)", s);
    else if (out->to != 0 && out->from != 0 && out->to < out->from)
        BAD(R_TO, "%s is before from", s);
    s = csv_table_field(t, R_TVAL);
    if (parse_fixed(s, 2, &out->threshold_cents) < 0)
        BAD(R_TVAL, "\"%s\" is not an amount (e.g. 200 or 200.00)", s);
    s = csv_table_field(t, R_TCUR);
    if (strcmp(s, "EUR") != 0)
        BAD(R_TCUR, "\"%s\": the EAEU limits are set in EUR", s);
    s = csv_table_field(t, R_TWEIGHT);
    if (*s != '\0' && parse_fixed(s, 0, &out->threshold_weight_g) < 0)
        BAD(R_TWEIGHT, "\"%s\" is not whole grams (empty = no limit)", s);
    {
        int64_t bp = 0;

        s = csv_table_field(t, R_RATE);
        if (parse_fixed(s, 2, &bp) < 0 || bp > 10000)
            BAD(R_RATE, "\"%s\" is not a percentage 0-100", s);
        out->rate_bp = (int)bp;
    }
    s = csv_table_field(t, R_RBASE);
    if (parse_base(s, &out->rate_base) < 0)
        BAD(R_RBASE, "\"%s\": expected excess or whole", s);
    s = csv_table_field(t, R_MIN);
    if (parse_fixed(s, 2, &out->min_per_kg_cents) < 0)
        BAD(R_MIN, "\"%s\" is not an amount in EUR", s);
    s = csv_table_field(t, R_MBASE);
    if (parse_base(s, &out->min_base) < 0)
        BAD(R_MBASE, "\"%s\": expected excess or whole", s);
    snprintf(out->note, sizeof(out->note), "%s", csv_table_field(t, R_NOTE));
    return bad;
}

int cust_duty_rules_load(const char *path, struct cust_duty_rules *out, struct diag *d,
                         struct err *e)
{
    struct diag_file f = {path, d, e, 0};
    struct loader l = {.size = sizeof(*out->v), .row = rule_row};
    int rc;
    size_t i;

    memset(out, 0, sizeof(*out));
    rc = load_table(&f, rule_cols, R_N, &l);
    out->v = l.v;
    out->n = l.n;
    if (rc < 0)
        goto out;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_rule);
    /* Two rules in force on the same day would make the answer depend on
     * the order of lines: refuse. */
    for (i = 0; i + 1 < out->n; i++) {
        const struct cust_duty_rule *a = &out->v[i], *b = &out->v[i + 1];

        if (a->to == 0 || a->to >= b->from)
            diag_report(&f, b->line, "from", "period overlaps the rule on line %d", a->line);
    }
    rc = f.problems > 0 ? ERR_PARSE : 0;
out:
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
static const struct csv_table_column rate_cols[X_N] = {
    {"date", true}, {"currency", true}, {"units", true}, {"eur", true}};

static int cmp_rate(const void *a, const void *b)
{
    const struct cust_rate *x = a, *y = b;
    int c = strcmp(x->currency, y->currency);

    return c != 0 ? c : (x->date > y->date) - (x->date < y->date);
}

static int rate_row(struct csv_table *t, void *o)
{
    struct cust_rate *out = o;
    const char *s;
    int bad = 0;

    memset(out, 0, sizeof(*out));
    s = csv_table_field(t, X_DATE);
    if (cust_date_parse(s, &out->date) < 0)
        BAD(X_DATE, "\"%s\" is not a date YYYY-MM-DD", s);
    s = csv_table_field(t, X_CUR);
    if (cust_currency_exponent(s) < 0)
        BAD(X_CUR, "\"%s\" is not an active ISO 4217 code", s);
    else
        snprintf(out->currency, sizeof(out->currency), "%s", s);
    s = csv_table_field(t, X_UNITS);
    if (parse_fixed(s, 0, &out->units) < 0 || out->units < 1 || out->units > 1000000)
        BAD(X_UNITS, "\"%s\": expected a whole number 1-1000000", s);
    s = csv_table_field(t, X_EUR);
    if (parse_fixed(s, 6, &out->eur_micro) < 0 || out->eur_micro == 0 ||
        out->eur_micro > 1000000000000LL)
        BAD(X_EUR, "\"%s\": expected a positive EUR amount, at most 6 decimals", s);
    return bad;
}

int cust_rates_load(const char *path, struct cust_rates *out, struct diag *d, struct err *e)
{
    struct diag_file f = {path, d, e, 0};
    struct loader l = {.size = sizeof(*out->v), .row = rate_row};
    int rc;
    size_t i;

    memset(out, 0, sizeof(*out));
    rc = load_table(&f, rate_cols, X_N, &l);
    out->v = l.v;
    out->n = l.n;
    if (rc < 0)
        goto out;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_rate);
    for (i = 0; i + 1 < out->n; i++) {
        if (cmp_rate(&out->v[i], &out->v[i + 1]) == 0)
            diag_report(&f, 0, "date", "two rates for %s on %d", out->v[i].currency,
                        out->v[i].date);
    }
    rc = f.problems > 0 ? ERR_PARSE : 0;
out:
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

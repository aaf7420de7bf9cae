/*
 * validate.c - the rules a declaration must meet before it goes to the broker.
 *
 * DESIGN: each check adds at most one problem per field (the first rule a
 * field breaks), in field order, so the list reads like the form. Rules and
 * their sources are in docs/customs.md; the Russian import rules come from
 * the EAEU rules for parcels to individuals.
 *
 * Decisions worth knowing:
 *   - A Russian recipient's name not written in Cyrillic is a WARNING
 *     ("language"), not an error: Russian passports are in Cyrillic, but
 *     foreign residents' names are legitimately Latin, and the broker, not
 *     we, sees the passport. Fewer than two words is an error.
 *   - An item description is "Russian" when at least half of its letters are
 *     Cyrillic: "Кроссовки беговые Nike" passes (brands stay Latin).
 */
#include "customs/validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/iso3166.h"
#include "customs/currency.h"

static const char *const categories[] = {
    "gift", "documents", "commercial_sample", "returned_goods", "sale_of_goods", "other",
};

/*
 * Vague descriptions customs systems refuse when they are the whole
 * description, case-folded, in the forms a shop or sender plausibly writes
 * (singular, plural and the common Russian cases). docs/customs.md repeats it.
 */
static const char *const vague_words[] = {
    "gift", "gifts", "a gift", "present", "presents",
    "part", "parts", "spare parts", "spare part",
    "accessory", "accessories",
    "clothing", "clothes", "cloth",
    "подарок", "подарки", "подарка", "подарков", "подарочек",
    "запчасть", "запчасти", "запчастей", "запасные части", "запасная часть",
    "аксессуар", "аксессуары", "аксессуаров",
    "одежда", "одежды", "одежду", "одеждой",
};

/* ---- problem list ---- */

const struct cust_problem *cust_problems_find(const struct cust_problems *p, const char *field)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].field, field) == 0)
            return &p->v[i];
    return NULL;
}

void cust_problems_free(struct cust_problems *p)
{
    free(p->v);
    memset(p, 0, sizeof(*p));
}

struct ctx {
    struct cust_problems *p;
    int nomem;
};

/* Adds a problem unless field already has one (one problem per field). */
static void add(struct ctx *c, const char *field, enum cust_severity sev, const char *code,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add(struct ctx *c, const char *field, enum cust_severity sev, const char *code,
                const char *fmt, ...)
{
    struct cust_problems *p = c->p;
    struct cust_problem *pr;
    va_list ap;

    if (cust_problems_find(p, field) != NULL)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct cust_problem *v = realloc(p->v, cap * sizeof(*v));

        if (v == NULL) {
            c->nomem = 1;
            return;
        }
        p->v = v;
        p->cap = cap;
    }
    pr = &p->v[p->n++];
    snprintf(pr->field, sizeof(pr->field), "%s", field);
    snprintf(pr->code, sizeof(pr->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(pr->message, sizeof(pr->message), fmt, ap);
    va_end(ap);
    pr->severity = sev;
    if (sev == CUST_SEV_ERROR)
        p->errors++;
}

#define ERROR(c, f, code, ...) add(c, f, CUST_SEV_ERROR, code, __VA_ARGS__)

/* ---- text helpers ---- */

static int all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int blank(const char *s)
{
    if (s == NULL)
        return 1;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* Next code point of UTF-8 text at *s (advanced), 0xFFFD for a bad byte. The
 * decoder's input is valid UTF-8 (jansson checks it), but a declaration may
 * also be filled in by code, so bad bytes must not crash or loop. */
static unsigned next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    unsigned cp;
    int n, i;

    if (p[0] < 0x80) {
        *s = p + 1;
        return p[0];
    }
    if ((p[0] & 0xE0) == 0xC0) {
        cp = p[0] & 0x1F;
        n = 1;
    } else if ((p[0] & 0xF0) == 0xE0) {
        cp = p[0] & 0x0F;
        n = 2;
    } else if ((p[0] & 0xF8) == 0xF0) {
        cp = p[0] & 0x07;
        n = 3;
    } else {
        *s = p + 1;
        return 0xFFFD;
    }
    for (i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s = p + i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    *s = p + n + 1;
    return cp;
}

static int is_cyrillic(unsigned cp)
{
    return cp >= 0x0400 && cp <= 0x04FF;
}

static int is_latin(unsigned cp)
{
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
}

/* Lower case of the Latin and Russian letters; others unchanged. */
static unsigned fold(unsigned cp)
{
    if (cp >= 'A' && cp <= 'Z')
        return cp + 32;
    if (cp >= 0x0410 && cp <= 0x042F) /* А..Я */
        return cp + 0x20;
    if (cp >= 0x0400 && cp <= 0x040F) /* Ѐ..Џ, Ё among them */
        return cp + 0x50;
    if (cp == 0x0451) /* ё reads as е in the word list */
        return 0x0435;
    return cp;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

int cust_vague_word(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    char buf[128];
    size_t n = 0, i;
    int space = 0;

    if (text == NULL)
        return 0;
    /* Fold case, drop punctuation, collapse runs of spaces, trim. */
    while (*s) {
        unsigned cp = fold(next_cp(&s));

        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '-' || cp == '_') {
            space = n > 0;
            continue;
        }
        if (cp == '.' || cp == ',' || cp == '!' || cp == ';' || cp == ':' || cp == '"' ||
            cp == '\'')
            continue;
        if (n + 5 >= sizeof(buf))
            return 0; /* longer than any vague word */
        if (space)
            buf[n++] = ' ';
        space = 0;
        n += put_utf8(buf + n, cp > 0xFFFF ? 0xFFFD : cp);
    }
    buf[n] = '\0';
    for (i = 0; i < sizeof(vague_words) / sizeof(vague_words[0]); i++)
        if (strcmp(buf, vague_words[i]) == 0)
            return 1;
    return 0;
}

int cust_inn_valid(const char *inn)
{
    static const int w11[10] = {7, 2, 4, 10, 3, 5, 9, 4, 6, 8};
    static const int w12[11] = {3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8};
    int s11 = 0, s12 = 0, i;

    if (inn == NULL || !all_digits(inn, 12))
        return 0;
    for (i = 0; i < 10; i++)
        s11 += (inn[i] - '0') * w11[i];
    for (i = 0; i < 11; i++)
        s12 += (inn[i] - '0') * w12[i];
    return s11 % 11 % 10 == inn[10] - '0' && s12 % 11 % 10 == inn[11] - '0';
}

/* True when s is a real calendar date written YYYY-MM-DD. */
static int valid_date(const char *s)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 0;
    return 1;
}

/* ---- field checks ---- */

static int present(struct ctx *c, const char *field, const char *s)
{
    if (blank(s)) {
        ERROR(c, field, "required", "missing or empty");
        return 0;
    }
    return 1;
}

static void check_country(struct ctx *c, const char *field, const char *s)
{
    if (!present(c, field, s))
        return;
    if (strlen(s) != 2 || !iso3166_valid(s[0], s[1]))
        ERROR(c, field, "format", "\"%.8s\" is not an ISO 3166 alpha-2 country code", s);
}

static void check_phone(struct ctx *c, const char *field, const char *s, int ru)
{
    size_t n;

    if (!present(c, field, s))
        return;
    n = strlen(s);
    if (s[0] != '+' || n < 9 || n > 16 || !all_digits(s + 1, n - 1)) {
        ERROR(c, field, "format", "\"%.24s\" is not E.164 (\"+\" and 8-15 digits)", s);
        return;
    }
    if (ru && (s[1] != '7' || n != 12))
        ERROR(c, field, "format", "\"%.24s\": a Russian number is +7 and 10 digits", s);
}

static void check_name(struct ctx *c, const char *field, const char *s, int ru)
{
    const unsigned char *p = (const unsigned char *)s;
    int words = 0, in_word = 0, cyr = 0, lat = 0;

    if (!present(c, field, s))
        return;
    while (*p) {
        unsigned cp = next_cp(&p);

        if (cp == ' ' || cp == '\t') {
            in_word = 0;
            continue;
        }
        if (!in_word)
            words++;
        in_word = 1;
        cyr += is_cyrillic(cp);
        lat += is_latin(cp);
    }
    if (words < 2) {
        ERROR(c, field, "format", "full name needed (surname and given name), got one word");
        return;
    }
    if (ru && (lat > 0 || cyr == 0))
        add(c, field, CUST_SEV_WARNING, "language",
            "a Russian recipient's name is expected in Cyrillic, as in the passport");
}

static void check_party(struct ctx *c, const char *who, const struct cust_party *p, int recipient)
{
    char f[48];
    int ru = p->country != NULL && strcmp(p->country, "RU") == 0;

    snprintf(f, sizeof(f), "%s.name", who);
    check_name(c, f, p->name, recipient && ru);
    snprintf(f, sizeof(f), "%s.address", who);
    present(c, f, p->address);
    snprintf(f, sizeof(f), "%s.city", who);
    present(c, f, p->city);
    if (recipient) {
        snprintf(f, sizeof(f), "%s.region", who);
        present(c, f, p->region);
    }
    snprintf(f, sizeof(f), "%s.postal_code", who);
    if (present(c, f, p->postal_code) && ru && !all_digits(p->postal_code, 6))
        ERROR(c, f, "format", "\"%.16s\": a Russian postal code is 6 digits", p->postal_code);
    snprintf(f, sizeof(f), "%s.country", who);
    check_country(c, f, p->country);
    snprintf(f, sizeof(f), "%s.phone", who);
    check_phone(c, f, p->phone, ru);
}

static void check_passport(struct ctx *c, const struct cust_passport *pp, const char *today)
{
    if (present(c, "recipient.passport.series", pp->series) && !all_digits(pp->series, 4))
        ERROR(c, "recipient.passport.series", "format", "\"%.16s\": expected 4 digits",
              pp->series);
    if (present(c, "recipient.passport.number", pp->number) && !all_digits(pp->number, 6))
        ERROR(c, "recipient.passport.number", "format", "\"%.16s\": expected 6 digits",
              pp->number);
    if (!present(c, "recipient.passport.issued", pp->issued))
        return;
    if (!valid_date(pp->issued))
        ERROR(c, "recipient.passport.issued", "format", "\"%.16s\": expected a date YYYY-MM-DD",
              pp->issued);
    else if (today != NULL && strcmp(pp->issued, today) > 0)
        ERROR(c, "recipient.passport.issued", "range", "%s is in the future", pp->issued);
}

static void check_inn(struct ctx *c, const char *inn)
{
    if (inn == NULL)
        return;
    if (!all_digits(inn, 12))
        ERROR(c, "recipient.inn", "format",
              "\"%.16s\": an individual's INN is 12 digits (10 digits is a company's)", inn);
    else if (!cust_inn_valid(inn))
        ERROR(c, "recipient.inn", "checksum", "%s: check digits do not match", inn);
}

/* Share of Cyrillic among the letters of s is at least one half. */
static int mostly_cyrillic(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int cyr = 0, other = 0;

    while (*p) {
        unsigned cp = next_cp(&p);

        if (is_cyrillic(cp))
            cyr++;
        else if (is_latin(cp) || (cp >= 0xC0 && cp != 0xFFFD && cp < 0x2000))
            other++; /* Latin with accents, Greek, ...: letters, not Russian */
        else if (cp >= 0x2E80)
            other++; /* CJK and the rest: certainly not Russian */
    }
    return cyr > 0 && cyr >= other;
}

static void check_amount(struct ctx *c, const char *field, int64_t v, int64_t min, const char *what)
{
    if (v == CUST_ABSENT)
        ERROR(c, field, "required", "missing");
    else if (v < min)
        ERROR(c, field, "range", "%lld: %s", (long long)v, what);
}

static void check_currency(struct ctx *c, const char *field, const char *s)
{
    if (present(c, field, s) && cust_currency_exponent(s) < 0)
        ERROR(c, field, "format", "\"%.8s\" is not an active ISO 4217 currency code", s);
}

static void check_item(struct ctx *c, size_t i, const struct cust_item *it)
{
    char f[48];
    size_t n;

    snprintf(f, sizeof(f), "items[%zu].description", i);
    if (present(c, f, it->description)) {
        if (cust_vague_word(it->description))
            ERROR(c, f, "vague", "\"%.40s\" alone is too vague: name the goods in 2-3 words",
                  it->description);
        else if (!mostly_cyrillic(it->description))
            ERROR(c, f, "language", "the description must be in Russian (Cyrillic)");
    }
    snprintf(f, sizeof(f), "items[%zu].hs_code", i);
    if (present(c, f, it->hs_code)) {
        n = strlen(it->hs_code);
        if (n < 6 || n > 10 || !all_digits(it->hs_code, n))
            ERROR(c, f, "format", "\"%.16s\": an HS code is 6 to 10 digits", it->hs_code);
    }
    snprintf(f, sizeof(f), "items[%zu].quantity", i);
    check_amount(c, f, it->quantity, 1, "at least 1 piece");
    snprintf(f, sizeof(f), "items[%zu].net_weight_g", i);
    check_amount(c, f, it->net_weight_g, 1, "net weight must be positive (grams)");
    snprintf(f, sizeof(f), "items[%zu].value", i);
    check_amount(c, f, it->value, 0, "value cannot be negative");
    snprintf(f, sizeof(f), "items[%zu].currency", i);
    check_currency(c, f, it->currency);
    snprintf(f, sizeof(f), "items[%zu].origin_country", i);
    check_country(c, f, it->origin_country);
    snprintf(f, sizeof(f), "items[%zu].url", i);
    if (it->url != NULL && strncmp(it->url, "https://", 8) != 0 &&
        strncmp(it->url, "http://", 7) != 0)
        ERROR(c, f, "format", "expected an http(s) URL");
}

static void check_totals(struct ctx *c, const struct cust_decl *d)
{
    int64_t sum_value = 0, sum_net = 0;
    int same_currency = d->currency != NULL, complete = 1;

    check_amount(c, "gross_weight_g", d->gross_weight_g, 1, "gross weight must be positive");
    check_amount(c, "total_value", d->total_value, 0, "total value cannot be negative");
    check_currency(c, "currency", d->currency);
    for (size_t i = 0; i < d->n_items; i++) {
        const struct cust_item *it = &d->items[i];

        if (it->value == CUST_ABSENT || it->net_weight_g == CUST_ABSENT || it->value < 0 ||
            it->net_weight_g < 0 || it->value > INT64_MAX / 2 || it->net_weight_g > INT64_MAX / 2) {
            complete = 0; /* already reported on the item; totals would mislead */
            break;
        }
        /* Sums saturate rather than overflow on absurd inputs. */
        sum_value = sum_value > INT64_MAX - it->value ? INT64_MAX : sum_value + it->value;
        sum_net = sum_net > INT64_MAX - it->net_weight_g ? INT64_MAX : sum_net + it->net_weight_g;
        if (it->currency == NULL || d->currency == NULL || strcmp(it->currency, d->currency) != 0)
            same_currency = 0;
    }
    if (!complete || d->n_items == 0)
        return;
    if (same_currency && d->total_value != CUST_ABSENT && d->total_value != sum_value)
        ERROR(c, "total_value", "mismatch", "%lld, but the items add up to %lld %s",
              (long long)d->total_value, (long long)sum_value, d->currency);
    if (d->gross_weight_g != CUST_ABSENT && d->gross_weight_g < sum_net)
        ERROR(c, "gross_weight_g", "mismatch", "%lld g is less than the items' net %lld g",
              (long long)d->gross_weight_g, (long long)sum_net);
}

int cust_validate(const struct cust_decl *d, const char *today, struct cust_problems *p)
{
    struct ctx c = {.p = p};
    size_t i;

    present(&c, "parcel_id", d->parcel_id);
    for (i = 0; i < d->n_other_ids; i++) {
        char f[32];

        snprintf(f, sizeof(f), "other_ids[%zu]", i);
        present(&c, f, d->other_ids[i]);
    }
    if (present(&c, "category", d->category)) {
        for (i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
            if (strcmp(d->category, categories[i]) == 0)
                break;
        if (i == sizeof(categories) / sizeof(categories[0]))
            ERROR(&c, "category", "format", "\"%.32s\" is not a known category", d->category);
    }
    check_party(&c, "sender", &d->sender, 0);
    check_party(&c, "recipient", &d->recipient, 1);
    if (d->has_passport)
        check_passport(&c, &d->passport, today);
    check_inn(&c, d->inn);
    if (d->n_items == 0)
        ERROR(&c, "items", "required", "a declaration lists at least one item");
    for (i = 0; i < d->n_items; i++)
        check_item(&c, i, &d->items[i]);
    check_totals(&c, d);
    if (c.nomem)
        return -ENOMEM;
    return p->errors > 0 ? ERR_INVALID : 0;
}

/*
 * duty.h - import duty estimate for a parcel to an individual in Russia
 * (EAEU rules), with the rules and the exchange rates as DATA.
 *
 * The duty-free limits changed three times since 2020 and will change again;
 * a change is a new row in data/duty-rules.csv, never a code change.
 * docs/customs.md gives both file formats. Amounts are integers: EUR cents
 * for money, grams for weight, hundredths of a percent for rates.
 */
#ifndef WCS_CUSTOMS_DUTY_H
#define WCS_CUSTOMS_DUTY_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/err.h"
#include "customs/declaration.h"

/* What a rate or a per-kg minimum is applied to. */
enum cust_duty_base {
    CUST_BASE_EXCESS = 0, /* only the part over the limit */
    CUST_BASE_WHOLE,      /* the whole value or weight */
};

struct cust_duty_rule {
    int from;                     /* first day in force, YYYYMMDD */
    int to;                       /* last day in force, YYYYMMDD; 0 = open-ended */
    int64_t threshold_cents;      /* duty-free value per parcel, EUR cents */
    int64_t threshold_weight_g;   /* duty-free gross weight, grams; 0 = no weight limit */
    int rate_bp;                  /* duty rate, hundredths of a percent (1500 = 15%) */
    enum cust_duty_base rate_base;
    int64_t min_per_kg_cents;     /* at least this many EUR cents per kg ... */
    enum cust_duty_base min_base; /* ... of the weight over the limit, or of all of it */
    char note[128];               /* the rule's source or remark, for the reason text */
    int line;                     /* line in the CSV, for messages */
};

struct cust_duty_rules {
    struct cust_duty_rule *v; /* v[0..n-1], sorted by from, malloc'd */
    size_t n;
};

struct cust_rate {
    int date;          /* YYYYMMDD the rate is published for */
    char currency[4];  /* ISO 4217 */
    int64_t units;     /* the rate is for this many units (1 or 100) ... */
    int64_t eur_micro; /* ... worth this many millionths of a EUR */
};

struct cust_rates {
    struct cust_rate *v; /* v[0..n-1], sorted by currency then date, malloc'd */
    size_t n;
};

struct cust_duty_result {
    int over_limit;                    /* 1 when duty is due */
    int over_value;                    /* value above the duty-free limit */
    int over_weight;                   /* weight above the duty-free limit */
    int64_t value_cents;               /* declared value, EUR cents */
    int64_t duty_cents;                /* estimated duty, EUR cents (0 when not over) */
    const struct cust_duty_rule *rule; /* rule applied (points into the rules) */
    char reason[512];                  /* human text: rule, figures, formula */
};

/* Loads duty rules from a CSV file (header row naming the columns, lines
 * starting with '#' are comments). Every bad line adds "FILE:LINE: field:
 * reason" to d (NULL allowed); rules whose periods overlap are refused.
 * Returns 0 (out filled, free with cust_duty_rules_free()), ERR_PARSE when
 * any problem was found (e names the first; out left empty), -errno when the
 * file cannot be read. */
int cust_duty_rules_load(const char *path, struct cust_duty_rules *out, struct diag *d,
                         struct err *e);
void cust_duty_rules_free(struct cust_duty_rules *r);

/* Loads exchange rates to EUR (columns date,currency,units,eur); same
 * conventions and errors as cust_duty_rules_load(). */
int cust_rates_load(const char *path, struct cust_rates *out, struct diag *d, struct err *e);
void cust_rates_free(struct cust_rates *r);

/* Converts amount (minor units of currency) to EUR cents at the latest rate
 * published on or before date (YYYYMMDD), rounding half up. EUR needs no
 * rate. Returns 0, ERR_NOTFOUND (no rate for that currency by that date),
 * ERR_INVALID (unknown currency, negative or absurd amount). */
int cust_rate_to_eur(const struct cust_rates *r, const char *currency, int64_t amount, int date,
                     int64_t *cents, struct err *e);

/* Parses "YYYY-MM-DD" (a real calendar date) into YYYYMMDD; ERR_PARSE. */
int cust_date_parse(const char *s, int *out);

/* Estimates the duty on decl (its total_value, currency and gross_weight_g)
 * under the rule in force on date ("YYYY-MM-DD"). Fills res; res->rule
 * points into rules. Returns 0, ERR_NOTFOUND (no rule for the date, no rate
 * for the currency), ERR_INVALID (declaration lacks value, currency or
 * weight, or bad date). */
int cust_duty_estimate(const struct cust_duty_rules *rules, const struct cust_rates *rates,
                       const struct cust_decl *decl, const char *date,
                       struct cust_duty_result *res, struct err *e);

#endif

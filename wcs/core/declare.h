/*
 * declare.h - the customs declaration of a pre-advised parcel (pure: data in,
 * data out). The import builds one for every parcel bound for Russia and
 * stores it in the transaction that stores the parcel (wcs/db_parcels.c):
 * a valid one is queued for the broker, an invalid one blocks the parcel
 * (customs-hold destination) until corrected pre-advice replaces it.
 * docs/customs.md "Declarations from pre-advice" has the mapping.
 */
#ifndef WCS_DECLARE_H
#define WCS_DECLARE_H

#include <stdint.h>

#include "common/err.h"
#include "customs/duty.h"
#include "wcs/core/parcel.h"

/* What the builder needs besides the row. rules and rates may be NULL: no
 * duty estimate then. today ("YYYY-MM-DD") bounds passport dates and picks
 * the duty rule and exchange rate. */
struct wcs_declare_ctx {
    const struct cust_duty_rules *rules;
    const struct cust_rates *rates;
    char today[11];
    /* The broker a declaration goes to (the config's customs.brokers, by
     * service or planned route); NULL, or NULL returned: "default". */
    const char *(*broker_of)(void *arg, const struct wcs_preadvice *a);
    void *broker_arg;
};

/* A declaration ready to store. Strings malloc'd, owned. */
struct wcs_declaration {
    char *body;        /* the DECLARATION JSON text, compact, spec key order */
    char *errors;      /* JSON array [{field, code, message}] of errors; NULL when valid */
    char *warnings;    /* JSON array of warnings (submitted anyway); NULL when none */
    int valid;         /* 1: submit it; 0: block the parcel */
    int duty_known;    /* 1 when duty was estimated (rules, rates and values present) */
    int64_t duty_cents; /* estimated duty, EUR cents; 0 when under the limit */
    char duty_note[512]; /* the estimate's reasoning, or why there is none */
};

/* Fills cx->today with the local date and no rules. */
void wcs_declare_ctx_init(struct wcs_declare_ctx *cx);

/* 1 when a declaration is built for the parcel: recipient country RU. */
int wcs_preadvice_declared(const struct wcs_preadvice *a);

/*
 * Builds, validates (customs/validate.h) and encodes the declaration of a,
 * with its duty estimate when cx has rules and rates. Missing customs data
 * is not an error here: it makes the declaration invalid (out->errors says
 * which field). out is zeroed first; free with wcs_declaration_free() in
 * every case. Returns 0 or -ENOMEM.
 */
int wcs_declaration_build(const struct wcs_preadvice *a, const struct wcs_declare_ctx *cx,
                          struct wcs_declaration *out, struct err *e);

/* Frees what d owns and zeroes it. */
void wcs_declaration_free(struct wcs_declaration *d);

#endif

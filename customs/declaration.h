/*
 * declaration.h - the customs declaration of one parcel (broker API v1,
 * /work/shared/specs/broker-api.md "POST /v1/declarations", DECLARATION) and
 * its JSON codec.
 *
 * The struct mirrors the JSON one to one and keeps the spec's field names, so
 * that a field path in an error ("items[2].hs_code") names both. Strings are
 * UTF-8, malloc'd and owned by the declaration; NULL means "absent". Whole
 * numbers that may be absent use CUST_ABSENT. The decoder only checks the
 * shape (types); the rules (checksums, formats, vague words) are in
 * validate.h, so that one bad field never hides the others.
 */
#ifndef WCS_CUSTOMS_DECLARATION_H
#define WCS_CUSTOMS_DECLARATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Marks a number field absent from the JSON. */
#define CUST_ABSENT INT64_MIN

struct cust_party {
    char *name;        /* full name; recipient: as in the passport */
    char *address;
    char *city;
    char *region;      /* recipient only (oblast, krai, republic) */
    char *postal_code; /* 6 digits for Russia */
    char *country;     /* ISO 3166 alpha-2 */
    char *phone;       /* E.164: "+" and 8-15 digits */
};

struct cust_passport {
    char *series; /* 4 digits */
    char *number; /* 6 digits */
    char *issued; /* YYYY-MM-DD */
};

struct cust_item {
    char *description;    /* in Russian, 2-3 defining words */
    char *description_en; /* optional */
    char *hs_code;        /* 6-10 digits */
    int64_t quantity;     /* pieces, >= 1 */
    int64_t net_weight_g; /* grams, > 0 */
    int64_t value;        /* minor units of currency, >= 0 */
    char *currency;       /* ISO 4217 */
    char *origin_country; /* ISO 3166 alpha-2 */
    char *url;            /* optional: product page */
};

struct cust_decl {
    char *parcel_id;  /* UPU S10 or carrier tracking number */
    char **other_ids; /* other_ids[0..n_other_ids-1] */
    size_t n_other_ids;
    char *category; /* gift|documents|commercial_sample|returned_goods|sale_of_goods|other */
    struct cust_party sender;    /* region unused */
    struct cust_party recipient;
    int has_passport;            /* recipient.passport present */
    struct cust_passport passport;
    char *inn;                   /* recipient.inn, optional: 12 digits */
    struct cust_item *items;     /* items[0..n_items-1] */
    size_t n_items;
    int64_t gross_weight_g;      /* grams, packed parcel */
    int64_t total_value;         /* minor units of currency */
    char *currency;              /* ISO 4217 */
};

/* Sets every field of d to absent (NULL, 0 items, CUST_ABSENT). */
void cust_decl_init(struct cust_decl *d);

/* Frees everything d owns and leaves it as after cust_decl_init(). */
void cust_decl_free(struct cust_decl *d);

/* Decodes one DECLARATION object from the JSON text buf[0..len-1] into d
 * (initialised here; the caller frees it with cust_decl_free() whether or not
 * this succeeds). Missing fields stay absent (the validator reports them);
 * unknown keys are ignored so a newer broker profile does not break us.
 * Returns 0, ERR_PARSE when the text is not JSON ("line 3 col 5: ..."), or
 * ERR_INVALID when a field has the wrong type; e->msg then starts with the
 * JSON path: "items[2].hs_code: expected a string". */
int cust_decl_decode(const char *buf, size_t len, struct cust_decl *d, struct err *e);

/* Encodes d as one DECLARATION object, keys in the spec's order, absent
 * fields omitted. *out gets a malloc'd NUL-terminated string (caller frees).
 * Returns 0 or -ENOMEM. */
int cust_decl_encode(const struct cust_decl *d, char **out, struct err *e);

#endif

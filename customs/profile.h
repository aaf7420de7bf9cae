/*
 * profile.h - broker profiles: what differs between brokers' APIs while the
 * submission machinery (the outbox, batches, Idempotency-Key, retries,
 * leases, exactly-once; customs/outbox.c) stays one. The hub keeps every
 * declaration, manifest and decision in the reference profile's form
 * (broker API v1, docs/customs.md); a profile says where each request goes,
 * how the token is presented, and translates the reference request into
 * its own body and its answers back into the reference answers, which the
 * one set of answer readers (customs/answer.h) then checks. Pure: JSON
 * text in, JSON text out.
 *
 * Profiles (docs/customs.md "Broker profiles"):
 *   reference  broker API v1 itself: Bearer token, /v1/declarations,
 *              /v1/manifests, /v1/events; nothing translated.
 *   rupost     modelled on Russian Post's international API: AccessToken,
 *              /1.0/customs/declarations, /1.0/customs/batches,
 *              /1.0/customs/events; categories GIFT, DOCUMENT,
 *              SALE_OF_GOODS, COMMERCIAL_SAMPLE, OTHER; countries as OKSM
 *              numbers; TN VED codes of 10 digits; values in minor units
 *              (kopecks for RUB); weights in grams (customs/rupost.c).
 */
#ifndef WCS_CUSTOMS_PROFILE_H
#define WCS_CUSTOMS_PROFILE_H

#include <stddef.h>

#include "common/err.h"

enum cust_request {
    CUST_REQ_DECLARATIONS = 0, /* a batch: {"declarations": [...]} */
    CUST_REQ_MANIFEST,         /* a dispatch's manifest */
    CUST_REQ_EVENTS,           /* a page of the decision feed (GET) */
};

struct cust_profile {
    const char *name;
    const char *path[3];     /* per enum cust_request, from the base URL: "/v1/declarations" */
    const char *auth_scheme; /* "Bearer", "AccessToken": Authorization: SCHEME TOKEN */
    /*
     * The request body for kind from the reference body (declarations: the
     * {"declarations": [...]} text; manifest: the stored manifest). *out is
     * malloc'd. NULL: the reference body is sent as it is. Returns 0,
     * ERR_PARSE (the reference body is not what the hub writes) or -ENOMEM.
     */
    int (*request)(enum cust_request kind, const char *ref, char **out, struct err *e);
    /*
     * A 200's answer to kind, or the error body of any other status (error
     * nonzero), in the reference profile's form, for customs/answer.h to
     * read. *out is malloc'd. NULL: read as it is. Returns 0, ERR_PARSE (not
     * this profile's answer: the reader's message says why, naming the
     * place) or -ENOMEM.
     */
    int (*answer)(enum cust_request kind, int error, const char *body, size_t len, char **out,
                  struct err *e);
};

/* The profile named name ("reference", "rupost"), or NULL. */
const struct cust_profile *cust_profile_find(const char *name);

/* The reference profile (broker API v1). */
extern const struct cust_profile cust_profile_reference;

/* The Russian Post style profile (customs/rupost.c). */
extern const struct cust_profile cust_profile_rupost;

/* "reference, rupost": the names, for messages. */
#define CUST_PROFILE_NAMES "reference, rupost"

#endif

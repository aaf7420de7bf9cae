/*
 * answer.h - reading the broker's answers (reference profile v1): a 200's
 * results for a batch of declarations, a 200's answer to a manifest, a page
 * of the decision feed, and the broker's error body. Pure: the bytes of an
 * answer in, what it says (or why it cannot be used) out; customs/outbox.c
 * does the HTTP and the storing (docs/customs.md "Answers").
 *
 * An answer is at most CUST_ANSWER_MAX bytes and need not be NUL-terminated;
 * a longer one is refused unread. A refusal is ERR_PARSE with the reason in
 * e: one printable line that names the place in the answer ("result 3",
 * "event 0", "manifest HRB-...") and quotes the broker's text cut short, with
 * control characters and bytes that are not UTF-8 written "\xNN".
 */
#ifndef WCS_CUSTOMS_ANSWER_H
#define WCS_CUSTOMS_ANSWER_H

#include <stddef.h>

#include "common/err.h"
#include "customs/store.h"

/* The largest answer body the worker reads from the broker (bytes): a
 * results answer for 500 declarations, or a page of 1000 events, is well
 * under 1 MiB. A longer answer is cut off and counts as a failed attempt
 * (docs/customs.md "Retries"). */
#define CUST_ANSWER_MAX (4u * 1024 * 1024)

/* A 200's results, matched to the batch by parcel id. */
struct cust_results {
    struct cust_result *res; /* res[i] is the result for ids[i] (parcel_id is ids[i] itself);
                              * status "accepted" (broker_ref, may be NULL) or "rejected"
                              * (errors_json, a JSON array text) */
    size_t n;                /* the batch's declarations */
    char **errors;           /* owned: the errors_json texts (NULL for accepted) */
    void *doc;               /* owned: the parsed answer, which broker_ref points into */
};

/*
 * Reads a 200's answer {"results": [{"parcel_id", "status", "broker_ref",
 * "errors"}, ...]} to a batch of the n declarations of parcels ids[0..n-1]
 * (distinct; borrowed, and must outlive out). Each result is matched to its
 * declaration by parcel_id, never by its place in the answer: the answer
 * must carry every parcel of the batch exactly once and no other. Returns 0
 * with out filled (free with cust_results_free()), ERR_PARSE (not JSON, a
 * count that differs, a parcel not in the batch or twice, an unknown status)
 * or -ENOMEM; on failure out is empty.
 */
int cust_answer_results(const char *body, size_t len, const char *const *ids, size_t n,
                        struct cust_results *out, struct err *e);

/* Frees what r owns and zeroes it (a zeroed r is fine). */
void cust_results_free(struct cust_results *r);

/* A 200's answer to a manifest. Strings owned. */
struct cust_manifest_answer {
    char *broker_ref;   /* not empty */
    char *unknown_json; /* unknown_parcels as a compact JSON array of strings ("[]" if none) */
    size_t unknown;     /* its length */
};

/*
 * Reads a 200's answer {"manifest_id", "broker_ref", "unknown_parcels": [...]}
 * to manifest manifest_id. Returns 0 with out filled (free with
 * cust_manifest_answer_free()), ERR_PARSE (not JSON, for another manifest,
 * no broker_ref or no unknown_parcels array of strings) or -ENOMEM; on
 * failure out is empty.
 */
int cust_answer_manifest(const char *body, size_t len, const char *manifest_id,
                         struct cust_manifest_answer *out, struct err *e);

/* Frees what a owns and zeroes it (a zeroed a is fine). */
void cust_manifest_answer_free(struct cust_manifest_answer *a);

/* A 200's page of GET /v1/events. */
struct cust_feed_page {
    struct cust_feed_event *ev; /* owned array of n; strings point into doc */
    size_t n;
    const char *next; /* the cursor to read on from: ev[n - 1].cursor when n > 0 */
    void *doc;        /* owned: the parsed answer */
};

/*
 * Reads a page {"events": [{"cursor", "parcel_id", "type", "reason", "at",
 * "duty": {"value", "currency"}}, ...], "next"}: cursor, parcel_id and type
 * are required, next must be the last event's cursor. Returns 0 with out
 * filled (free with cust_feed_page_free()), ERR_PARSE or -ENOMEM; on failure
 * out is empty.
 */
int cust_answer_feed(const char *body, size_t len, struct cust_feed_page *out, struct err *e);

/* Frees what p owns and zeroes it (a zeroed p is fine). */
void cust_feed_page_free(struct cust_feed_page *p);

/* The broker's error answer. */
struct cust_broker_error {
    const char *code;    /* error.code, pointing into doc */
    const char *message; /* error.message, pointing into doc */
    void *doc;           /* owned: the parsed answer */
};

/*
 * Reads the broker's error answer {"error": {"code": "...", "message":
 * "..."}} (reference profile "Errors"): only a 400 or 422 carrying it is the
 * broker's refusal (cust_http_classify()). Returns 0 with out filled (free
 * with cust_broker_error_free()), or ERR_PARSE when the body is not one:
 * "the answer is not JSON (N bytes)" or "the answer has no error.code and
 * error.message"; on failure out is empty.
 */
int cust_answer_error(const char *body, size_t len, struct cust_broker_error *out, struct err *e);

/* Frees what x owns and zeroes it (a zeroed x is fine). */
void cust_broker_error_free(struct cust_broker_error *x);

#endif

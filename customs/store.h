/*
 * store.h - what the customs worker (customs/outbox.h) needs of a store, as
 * an ops table the application fills in (as libmodbus's backend table does):
 * claim batches of the customs outbox, record the broker's answers, give
 * batches back, and keep the broker's decision feed with its cursor. The
 * worker knows the broker protocol (HTTP, retries, idempotency keys, answer
 * parsing); the store knows where the work lives (wcs/store/customs_store.h
 * implements these ops on PostgreSQL). docs/customs.md "Submission" and
 * "Decision feed" have the rules both sides keep.
 *
 * A batch is a set of outbox rows claimed together; its batch_key is fixed at
 * the first claim, so whoever retries it (the same worker after an error, or
 * another after the first one's lease ran out) sends the same declarations in
 * the same order under the same Idempotency-Key.
 */
#ifndef WCS_CUSTOMS_STORE_H
#define WCS_CUSTOMS_STORE_H

#include <stddef.h>

#include "common/err.h"

/* What a claimed batch carries (the outbox row's kind). */
enum cust_batch_kind {
    CUST_BATCH_DECLARATIONS = 0, /* up to max declarations: POST /v1/declarations */
    CUST_BATCH_MANIFEST = 1,     /* one dispatch's manifest: POST /v1/manifests */
};

/* One piece of work of a claimed batch. Strings owned by the batch. */
struct cust_batch_item {
    long long outbox_id;
    char *parcel_id; /* the parcel id; for a manifest, the manifest id */
    char *body;      /* the DECLARATION JSON text as stored; for a manifest the
                      * POST /v1/manifests body, or NULL when the dispatch has none */
};

struct cust_batch {
    enum cust_batch_kind kind;
    char *batch_key;  /* the outbox batch_key */
    char *idem_key;   /* Idempotency-Key: sha256 hex (64 chars) of batch_key and sorted parcel
                       * ids (for a manifest: of batch_key and the manifest id) */
    int attempts;     /* claims of this batch so far, this one included */
    struct cust_batch_item *items; /* items[0..n-1], in outbox order; n == 1 for a manifest */
    size_t n;
};

/* Frees what b owns and zeroes it (a zeroed batch is fine). */
void cust_batch_free(struct cust_batch *b);

/* Per-declaration outcome for finish(). Strings borrowed from the caller. */
struct cust_result {
    const char *parcel_id;
    const char *status;      /* "accepted", "rejected" or "invalid" */
    const char *broker_ref;  /* accepted: the broker's reference; else NULL */
    const char *errors_json; /* rejected/invalid: a JSON array text; else NULL */
};

/* The broker's answer to a manifest, for finish_manifest(). Exactly one of
 * broker_ref (received) and error (finally refused) is set. Strings borrowed
 * from the caller. */
struct cust_manifest_result {
    const char *broker_ref;   /* received: the broker's reference */
    const char *unknown_json; /* received: unknown_parcels as a JSON array text ("[]" if none) */
    const char *error;        /* refused: "<http status> <error.code>: <error.message>" */
};

/* One event of the broker's GET /v1/events. Strings borrowed from the
 * caller; reason, at and duty_currency may be NULL (duty_currency NULL = no
 * duty). */
struct cust_feed_event {
    const char *cursor;
    const char *parcel_id;
    const char *type;   /* "released", "held", "rejected", "duty_due", or what the broker sent */
    const char *reason;
    long long duty_value;
    const char *duty_currency;
    const char *at;
};

/* What feed_store() did with a page. */
struct cust_feed_result {
    size_t stored;   /* events new to the store */
    size_t repeated; /* events already stored (same cursor): left as they were */
    size_t applied;  /* held/released events that matched a parcel */
    size_t unknown;  /* held/released events whose parcel_id matches no parcel */
};

/* An alarm for operators (docs/customs.md "Alarms"): the broker's answers
 * show a configuration fault, or a batch was given back because its answers
 * could not be used. Strings borrowed from the caller; none is a secret. */
struct cust_alarm {
    const char *broker; /* the worker's broker name (cust_worker_opts.broker_name) */
    const char *kind;   /* "config" or "answer" */
    const char *ref;    /* what about: "POST /v1/declarations", "batch 1a2b3c4d" */
    const char *owner;  /* the worker raising it (host:pid) */
    long http_status;   /* the broker's status; 0 none */
    const char *text;   /* what happened and what the worker did, one line */
};

/*
 * The store, as the worker uses it. The worker opens one session per thread
 * (three: the loop and two store threads) and calls a session from its
 * thread only. Every op returns 0 or a negative code (-ENOMEM, ERR_DB, and
 * those named below) with the detail in e; none of them is retried by the
 * store: the worker decides.
 */
struct cust_store_ops {
    /* Opens a session on the store arg names (for wcs: a conninfo). */
    int (*open)(const void *arg, void **session, struct err *e);
    void (*close)(void *session);

    /* Claims one batch of broker (the worker's broker name: each broker's
     * outbox rows are its own) for owner for lease_s seconds, durably committed
     * before it returns (a request may then be sent under its key): first
     * the oldest unfinished batch that is due and not leased (or whose lease
     * ran out), whole; else the oldest manifest never claimed whose
     * dispatch's declarations had their chance, alone; else up to max
     * declarations never claimed. Concurrent claimers never get one batch
     * twice. out->n == 0 when nothing is due; the caller frees out with
     * cust_batch_free(). */
    int (*claim)(void *session, const char *broker, const char *owner, int lease_s, int max,
                 struct cust_batch *out, struct err *e);
    /* As claim() without the look for an old batch (which may scan every
     * open row): only new work. */
    int (*claim_new)(void *session, const char *broker, const char *owner, int lease_s, int max,
                     struct cust_batch *out, struct err *e);
    /* Records the outcome of every declaration of batch batch_key and
     * finishes it; a batch already finished (by a worker that took it over)
     * is left alone. */
    int (*finish)(void *session, const char *batch_key, const struct cust_result *res, size_t n,
                  struct err *e);
    /* Records the answer to manifest manifest_id of batch batch_key and
     * finishes it; ERR_INVALID when r is not one of the two answers. */
    int (*finish_manifest)(void *session, const char *batch_key, const char *manifest_id,
                           const struct cust_manifest_result *r, struct err *e);
    /* Gives batch batch_key back when owner still holds it, to be retried
     * (same key) after delay_ms. */
    int (*release)(void *session, const char *batch_key, const char *owner, long delay_ms,
                   struct err *e);
    /* Splits batch batch_key, when owner still holds it, into two new
     * batches under new keys: its first `first` rows in outbox order and
     * the rest, both given back and due at once. For a batch the broker
     * refused as too large (413): it never processed the request, so new
     * keys are safe, and the old key is never sent again. */
    int (*split)(void *session, const char *batch_key, const char *owner, size_t first,
                 struct err *e);
    /* Raises alarm a for operators, or counts it again while it is open. */
    int (*alarm_raise)(void *session, const struct cust_alarm *a, struct err *e);
    /* Clears the open alarms of broker of kind kind about ref (NULL: any
     * ref); none open is fine. */
    int (*alarm_clear)(void *session, const char *broker, const char *kind, const char *ref,
                       struct err *e);
    /* Unfinished outbox rows of every kind of broker. */
    int (*open_count)(void *session, const char *broker, long long *n, struct err *e);
    /* The stored cursor of broker's feed (malloc'd, NULL when never read). */
    int (*feed_cursor)(void *session, const char *broker, char **out, struct err *e);
    /* Stores a page ev[0..n-1] of broker's feed read from cursor after
     * (NULL = the start) and moves the cursor to next, all or nothing.
     * ERR_CONFLICT when the stored cursor is no longer after (another reader
     * moved it). res may be NULL. */
    int (*feed_store)(void *session, const char *broker, const char *after,
                      const struct cust_feed_event *ev, size_t n, const char *next,
                      struct cust_feed_result *res, struct err *e);
};

#endif

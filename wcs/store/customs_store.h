/*
 * customs_store.h - the store's customs part (wcs/store/db_customs.c):
 * customs declarations and the customs outbox, the durable queue of work for
 * the customs broker (docs/customs.md "Submission", migration 0004); and the
 * broker's decision feed (migration 0006). These are the operations of the
 * customs worker's store interface (customs/store.h, whose types they use),
 * on PostgreSQL; wcs_customs_store_ops hands them to the worker.
 */
#ifndef WCS_STORE_CUSTOMS_STORE_H
#define WCS_STORE_CUSTOMS_STORE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "customs/store.h"

/* The worker's store interface (customs/store.h) on PostgreSQL: open's arg
 * is a libpq conninfo (const char *), each session one connection, and the
 * ops are the functions below. */
extern const struct cust_store_ops wcs_customs_store_ops;

/*
 * Stores the declaration of parcel_id (body: one DECLARATION JSON object)
 * with status pending and queues it for the broker, in one transaction. A
 * declaration not yet sent is replaced (no second outbox row). Returns 0;
 * ERR_STATE when the parcel's declaration is in a batch now being submitted,
 * ERR_CONFLICT when it is already accepted (sending it again would declare the
 * parcel twice), ERR_DB.
 */
int wcs_customs_declare(PGconn *c, const char *parcel_id, const char *body, struct err *e);

/*
 * Claims one batch of broker's (the outbox rows the import or the dispatch
 * gave it: "default" unless the config routes them elsewhere) for owner for
 * lease_s seconds, in one transaction: first
 * the oldest unfinished batch of either kind that is due and not leased (or
 * whose lease has run out: a dead worker's batch), whole; else the oldest
 * manifest never claimed whose dispatch's declarations had their chance (no
 * declaration queued before it is still open), alone; else up to max
 * declarations never claimed. New batches get a new batch_key. Rows locked
 * by another claimer are skipped (FOR UPDATE SKIP LOCKED), so concurrent
 * workers never claim one batch twice. The claim is committed durably before
 * this returns, so a request may be sent under its key. out is filled
 * (caller frees with cust_batch_free()); out->n == 0 when nothing is
 * due. Returns 0, -ENOMEM or ERR_DB.
 */
int wcs_customs_claim(PGconn *c, const char *broker, const char *owner, int lease_s, int max,
                      struct cust_batch *out, struct err *e);

/*
 * As wcs_customs_claim() without the look for an old batch: only new work
 * (a manifest, else declarations). That look scans every open outbox row
 * (no index serves "claimed, unfinished, lease run out"), so a worker that
 * claims many batches a second makes it only now and then (see
 * customs/outbox.c); old batches wait at most that long, against leases of
 * a minute. Returns 0, -ENOMEM or ERR_DB; out->n == 0 when no new work is
 * due.
 */
int wcs_customs_claim_new(PGconn *c, const char *broker, const char *owner, int lease_s,
                          int max, struct cust_batch *out, struct err *e);

/*
 * Records the outcome of every declaration of batch batch_key (res[0..n-1],
 * every declaration of the batch) and finishes its outbox rows (they are
 * deleted: the declarations keep the outcome), in one transaction. A batch
 * already finished
 * (by a worker that took it over) is left alone: the broker answered both
 * with the same stored response. The commit is asynchronous
 * (synchronous_commit off): a finish lost in a database crash leaves the
 * batch open under its key, and sending it again gets the broker's stored
 * answer, so no durability is needed here. Returns 0, -ENOMEM or ERR_DB.
 */
int wcs_customs_finish(PGconn *c, const char *batch_key, const struct cust_result *res,
                       size_t n, struct err *e);

/*
 * Records the answer to manifest manifest_id of batch batch_key and finishes
 * its outbox row (deleted: the dispatch keeps the answer), in one transaction (asynchronous commit, as
 * wcs_customs_finish()): received sets dispatches.manifest_ref,
 * manifest_unknown, manifest_at = now(), status 'submitted' and clears
 * manifest_error; refused sets manifest_error and manifest_at, the status
 * stays. A batch already finished is left alone. Returns 0, ERR_INVALID
 * (r sets neither or both, or unknown_json is not a JSON array) or ERR_DB.
 */
int wcs_customs_finish_manifest(PGconn *c, const char *batch_key, const char *manifest_id,
                                const struct cust_manifest_result *r, struct err *e);

/*
 * Gives batch batch_key back when owner still holds it, to be retried (same
 * key) after delay_ms. Returns 0 or ERR_DB.
 */
int wcs_customs_release(PGconn *c, const char *batch_key, const char *owner, long delay_ms,
                        struct err *e);

/*
 * Splits batch batch_key, when owner still holds it, into two new batches
 * (new batch keys, so new Idempotency-Keys): its first `first` rows in
 * outbox order and the rest, both given back (no lease) and due now; the
 * rows keep their attempts. For a batch the broker refused as too large
 * (413): the broker never processed it, so the new keys declare nothing
 * twice, and the old key is never sent again. Nothing happens when owner
 * no longer holds the batch (another worker took it over). One transaction.
 * Returns 0 or ERR_DB.
 */
int wcs_customs_split(PGconn *c, const char *batch_key, const char *owner, size_t first,
                      struct err *e);

/* Counts unfinished outbox rows of every kind into *n. Returns 0 or ERR_DB. */
int wcs_customs_open_count(PGconn *c, const char *broker, long long *n, struct err *e);

/* --- alarms (docs/customs.md "Alarms", migration 0010) ----------------- */

/*
 * Raises alarm a (table customs_alarms, one row per broker, kind and ref):
 * a new or cleared one is opened (count 1, first_at now), an open one is
 * counted again with a's owner, status and text. Returns 0 or ERR_DB.
 */
int wcs_customs_alarm_raise(PGconn *c, const struct cust_alarm *a, struct err *e);

/* Clears the open alarms of broker of kind kind about ref (NULL: any ref);
 * the rows stay, with cleared_at. Returns 0 or ERR_DB. */
int wcs_customs_alarm_clear(PGconn *c, const char *broker, const char *kind, const char *ref,
                            struct err *e);

/* --- decision feed (docs/customs.md "Decision feed", migration 0006) --- */

/*
 * Reads the stored cursor of broker's feed into *out (malloc'd, caller
 * frees; NULL when the feed was never read). Returns 0, -ENOMEM or ERR_DB.
 */
int wcs_customs_feed_cursor(PGconn *c, const char *broker, char **out, struct err *e);

/*
 * Stores a page of events ev[0..n-1] (oldest first) of broker's feed, read
 * from cursor after (NULL = from the start), and moves its cursor to next,
 * in one transaction: each event is inserted
 * (an event whose cursor is stored already is left alone), each new held or
 * released event sets parcels.customs_status of the parcel carrying that code
 * as wcs_db_parcel_set_customs() does (new rev, NOTIFY), and the cursor is
 * written last. An event for an unknown parcel is stored and counted in
 * res->unknown, with each such parcel id logged as a warning. res may be
 * NULL. Returns 0; ERR_CONFLICT when the stored cursor is no longer after
 * (another reader moved it: re-read it with wcs_customs_feed_cursor()), or
 * ERR_DB; on error nothing is stored and the cursor is unchanged.
 */
int wcs_customs_feed_store(PGconn *c, const char *broker, const char *after,
                           const struct cust_feed_event *ev, size_t n, const char *next,
                           struct cust_feed_result *res, struct err *e);

#endif

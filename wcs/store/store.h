/*
 * store.h - the PostgreSQL store (libpq): connection, migrations, and every
 * SQL statement the project runs, each in one place. Parameterized SQL only.
 *
 * Notification channels (LISTEN/NOTIFY), one NOTIFY per committed batch:
 *   wcs_parcels   payload: highest parcels.rev committed
 *   wcs_sortplan  payload: version just activated
 *   wcs_chutes    payload: "CHUTE emptied" when an operator closed its bag
 */
#ifndef WCS_STORE_H
#define WCS_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/err.h"
#include "wcs/core/parcel.h"
#include "wcs/core/sortplan.h"

#define WCS_CHANNEL_PARCELS "wcs_parcels"
#define WCS_CHANNEL_SORTPLAN "wcs_sortplan"
#define WCS_CHANNEL_CHUTES "wcs_chutes"     /* payload: "CHUTE emptied" (a bag was closed) */
#define WCS_CHANNEL_CUSTOMS_ALARMS "wcs_customs_alarms" /* the worker's alarms changed */
#define WCS_CHANNEL_USERS "wcs_users" /* payload: a user whose sessions must end */

/* Connects (client_encoding UTF8; server notices go to the log) with
 * connect_timeout 10 s, TCP keepalives (idle 10 s, interval 5 s, 3 probes)
 * and tcp_user_timeout 30 s unless the conninfo sets them: a dead link
 * fails the call instead of hanging it, and no statement is cut however
 * long it runs (the event writer's own connection adds statement and lock
 * timeouts). On failure e says why (libpq's message, never the password).
 * The caller owns *out (PQfinish). Returns 0 or ERR_DB. */
int wcs_db_connect(const char *conninfo, PGconn **out, struct err *e);

/* Bounds every statement and lock wait of c's session from now on
 * (statement_timeout, lock_timeout, milliseconds): a call that would wait
 * longer fails instead. Returns 0 or ERR_DB. */
int wcs_db_bound_calls(PGconn *c, unsigned statement_ms, unsigned lock_ms, struct err *e);

/* Applies every migration not yet recorded in schema_migrations, each in its
 * own transaction (recorded in the same one), under a session advisory lock
 * taken before schema_migrations is even created, so two processes migrating
 * at once apply each exactly once. *applied (may be NULL) gets how many ran
 * now. Returns 0, ERR_STATE (inside a transaction) or ERR_DB. */
int wcs_db_migrate(PGconn *c, int *applied, struct err *e);

/* Highest migration version recorded (0 for an empty database). */
int wcs_db_schema_version(PGconn *c, int *version, struct err *e);

/* --- parcels ---------------------------------------------------------- */

struct wcs_upsert_result {
    size_t inserted;   /* new parcels */
    size_t updated;    /* existing parcels whose data changed */
    size_t unchanged;  /* identical to what was stored */
    size_t rejected;   /* rows refused by the database checks (reported in d) */
    size_t decl_queued;  /* declarations built valid and queued for the broker */
    size_t decl_blocked; /* declarations built invalid: their parcels are blocked */
    size_t decl_kept;    /* changes not declared: the parcel's declaration was already sent */
};

/*
 * Upserts n pre-advice rows in one transaction (bulk: COPY into TEMP staging
 * tables, then set-based SQL; see db_parcels.c).
 * Matching: a row belongs to the existing parcel owning any of its codes
 * (primary or other_ids), so a parcel first pre-advised under its Cainiao LP
 * number and later under its S10 with the LP as other id is one parcel; it
 * then takes the row's primary code as parcels.code and keeps every code
 * ever seen. Rows identical to the stored parcel change nothing (rev and
 * updated_at stay).
 * Rejected rows (counted in res->rejected, one message each in d, "SOURCE"
 * is source and LINE is lines[i], or i + 1 when lines is NULL):
 *   - codes owned by two parcels: "SOURCE:LINE: other_ids: CODE belongs to
 *     parcel PRIMARY";
 *   - duplicates inside the batch, the last row wins: an earlier row sharing
 *     a code with a later one ("CODE is pre-advised again at line M; the
 *     later row wins"), or reaching the same parcel through other codes;
 *   - a parcel that would carry more than WCS_MAX_IDS codes.
 * Declarations (docs/customs.md "Declarations from pre-advice"): every row
 * that inserts or changes a parcel bound for RU gets its declaration built
 * (wcs/declare.h; cx gives the date and duty rules, NULL = today, no duty)
 * and stored in the same transaction: a valid one with status pending and
 * an outbox row for the broker, the parcel's customs status pending; an
 * invalid one with status invalid and its errors, the parcel blocked. It
 * replaces the declarations stored under any of the parcel's codes unless
 * one was already sent to the broker: that one is kept and the row is
 * reported in d ("SOURCE:LINE: declaration: ... not sent"), the parcel data
 * still updated. A row also counts as changed when its declaration differs
 * from the stored one.
 * Changed parcels get rev = nextval('parcel_rev_seq'); one NOTIFY
 * wcs_parcels (payload: the batch's highest rev) is sent on commit when
 * anything changed. The connection must not be inside a transaction.
 * Returns 0 (res filled, counts exact) or ERR_DB/ERR_STATE/-ENOMEM, and then
 * nothing of the batch is stored and res is all zero.
 */
struct wcs_declare_ctx;

int wcs_db_preadvice_upsert(PGconn *c, const struct wcs_preadvice *rows, const int *lines,
                            size_t n, const char *source, const struct wcs_declare_ctx *cx,
                            struct wcs_upsert_result *res, struct diag *d, struct err *e);

/* Called per parcel by wcs_db_parcels_since(); codes[0] is the primary code.
 * A non-zero return stops the scan and is returned. */
typedef int (*wcs_parcel_cb)(void *arg, const struct wcs_parcel *p, const char *const *codes,
                             size_t ncodes);

/* Streams every parcel with rev > since_rev (0 = all) to cb, in rev order,
 * with codes[0] the primary code and the other codes after it (valid during
 * the call only), and sets *max_rev to the highest rev delivered (since_rev
 * if none). Reads through a server-side cursor, 10000 rows at a time, in
 * one transaction (one snapshot), so 1M parcels never sit in memory at once.
 * Every writer of parcels.rev holds one advisory lock until commit, so revs
 * become visible in order and "rev > max_rev" never skips a parcel.
 * Returns 0, ERR_DB, ERR_STATE (connection inside a transaction) or cb's
 * non-zero value. */
int wcs_db_parcels_since(PGconn *c, int64_t since_rev, wcs_parcel_cb cb, void *arg,
                         int64_t *max_rev, struct err *e);

/* Looks a parcel up by any of its codes and fills *out with its stored
 * record: code is the primary code, other_ids every other code (sorted).
 * Returns 0, ERR_NOTFOUND or ERR_DB. *id (may be NULL) gets parcels.id. */
int wcs_db_parcel_get(PGconn *c, const char *code, struct wcs_preadvice *out, int64_t *id,
                      struct err *e);

/* Sets the customs status of the parcel carrying code (any of its codes):
 * a new rev and a NOTIFY wcs_parcels when the status changes, nothing when
 * it is already s. Returns 0, ERR_NOTFOUND, ERR_INVALID or ERR_DB. */
int wcs_db_parcel_set_customs(PGconn *c, const char *code, enum cust_status s, struct err *e);

/* --- sort plan -------------------------------------------------------- */

/* Stores a finished plan as a new, inactive version, with its source text
 * (len bytes, UTF-8; sha256 computed by the server over those bytes), in one
 * transaction. Returns 0 and *version, or ERR_DB (nothing stored). */
int wcs_db_plan_store(PGconn *c, const struct wcs_plan *p, const char *source_text, size_t len,
                      int *version, struct err *e);

/* Makes version the only active one and notifies wcs_sortplan, in one
 * transaction. ERR_NOTFOUND when no such version. */
int wcs_db_plan_activate(PGconn *c, int version, struct err *e);

/* Loads version (0 = the active one) into a finished plan, rebuilt through
 * the builder calls in stored order (same indices, rule source lines kept)
 * and wcs_plan_finish(). The caller owns *out (wcs_plan_free). ERR_NOTFOUND
 * when there is none; ERR_INVALID when the stored rows do not validate;
 * ERR_DB. *version_out (may be NULL) gets the version loaded. */
int wcs_db_plan_load(PGconn *c, int version, struct wcs_plan **out, int *version_out,
                     struct err *e);

struct wcs_plan_version {
    int version;
    char source[128];
    char sha256[65];
    char loaded_at[40];
    char activated_at[40];   /* "" never */
    int active;
    int nrules, nroutes, nchutes;
};

/* Lists versions, newest first, into out[0..max-1]; *n gets how many were
 * written. Times are UTC ("2026-11-23T14:09:01Z"). Returns 0 or ERR_DB. */
int wcs_db_plan_list(PGconn *c, struct wcs_plan_version *out, size_t max, size_t *n,
                     struct err *e);

/* --- status and traces (wcs/db_status.c) ------------------------------- */

/* The active plan's version, 0 when none is active. */
int wcs_db_plan_active_version(PGconn *c, int *version, struct err *e);

struct wcs_db_status {
    int schema_version;
    int plan_version;           /* active plan, 0 none */
    long long parcels;          /* rows in parcels */
    long long parcel_ids;       /* rows in parcel_ids */
    long long events;           /* rows in events (estimate above 1M) */
    char last_event_at[40];     /* "" none */
};

/* Fills a summary of what the database holds. Returns 0 or ERR_DB. */
int wcs_db_status(PGconn *c, struct wcs_db_status *out, struct err *e);

/* An event id for a process other than wcsd (wcsctl): taken from the
 * database sequence events_local_id_seq, a range wcsd's time-based ids never
 * reach, so operator events cannot collide with the daemon's. */
int wcs_db_event_local_id(PGconn *c, int64_t *id, struct err *e);

/* Records what an operator did as an event of kind operator (the audit:
 * who in source, what in detail, the parcel or chute when there is one), with an id
 * from wcs_db_event_local_id(), in the caller's transaction state: inside a
 * transaction it stands or falls with the change it records. Returns 0,
 * ERR_DB or ERR_INVALID. */
int wcs_db_operator_event(PGconn *c, const char *actor, const char *parcel_code,
                          const char *chute, const char *detail, struct err *e);

/* Called per row of a summary: group ("decision", "confirm", "chute"), key
 * (reason code, confirmation event, chute id) and count. Non-zero stops. */
typedef int (*wcs_summary_cb)(void *arg, const char *group, const char *key, long long n);

/* Counts since since_us (microseconds since the epoch): decisions by reason,
 * confirmations by event, parcels sorted per chute. Returns 0 or ERR_DB. */
int wcs_db_summary(PGconn *c, int64_t since_us, wcs_summary_cb cb, void *arg, struct err *e);

struct wcs_event;
/* Called per event of a parcel trace, oldest first; non-zero stops. */
typedef int (*wcs_event_cb)(void *arg, const struct wcs_event *ev);

/* Streams every event recorded under any code of parcel id (parcels.id),
 * oldest first. Returns 0 or ERR_DB. */
int wcs_db_parcel_events(PGconn *c, int64_t parcel_id, wcs_event_cb cb, void *arg,
                         struct err *e);

/* Streams the operator events (the audit: who did what) since since_us,
 * oldest first; only those of actor (a console user, or the OS user behind
 * wcsctl:) unless actor is NULL. Returns 0 or ERR_DB. */
int wcs_db_operator_events(PGconn *c, int64_t since_us, const char *actor, wcs_event_cb cb,
                           void *arg, struct err *e);

#endif

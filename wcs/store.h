/*
 * store.h - the PostgreSQL store (libpq): connection, migrations, and every
 * SQL statement the project runs, each in one place. Parameterized SQL only.
 *
 * Notification channels (LISTEN/NOTIFY), one NOTIFY per committed batch:
 *   wcs_parcels   payload: highest parcels.rev committed
 *   wcs_sortplan  payload: version just activated
 */
#ifndef WCS_STORE_H
#define WCS_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/err.h"
#include "wcs/parcel.h"
#include "wcs/sortplan.h"

#define WCS_CHANNEL_PARCELS "wcs_parcels"
#define WCS_CHANNEL_SORTPLAN "wcs_sortplan"

/* Connects; on failure e says why (server message, never the password).
 * Returns 0 or ERR_DB. */
int wcs_db_connect(const char *conninfo, PGconn **out, struct err *e);

/* Applies every migration not yet recorded in schema_migrations, each in its
 * own transaction under an advisory lock, so two processes migrating at once
 * apply each exactly once. *applied (may be NULL) gets how many ran now.
 * Returns 0 or ERR_DB. */
int wcs_db_migrate(PGconn *c, int *applied, struct err *e);

/* Highest migration version recorded (0 for an empty database). */
int wcs_db_schema_version(PGconn *c, int *version, struct err *e);

/* --- parcels ---------------------------------------------------------- */

struct wcs_upsert_result {
    size_t inserted;   /* new parcels */
    size_t updated;    /* existing parcels whose data changed */
    size_t unchanged;  /* identical to what was stored */
    size_t rejected;   /* rows refused by the database checks (reported in d) */
};

/*
 * Upserts n pre-advice rows by primary code in one transaction (bulk: COPY
 * into a staging table, then one INSERT .. ON CONFLICT). Rows identical to
 * the stored parcel change nothing (rev does not move). An other_id already
 * owned by a different parcel rejects that row with "SOURCE:LINE: other_ids:
 * CODE belongs to parcel X" (lines[i] gives each row's line; may be NULL).
 * Sends one NOTIFY wcs_parcels on commit when anything changed.
 * Returns 0 or ERR_DB (then nothing of the batch is stored).
 */
int wcs_db_preadvice_upsert(PGconn *c, const struct wcs_preadvice *rows, const int *lines,
                            size_t n, const char *source, struct wcs_upsert_result *res,
                            struct diag *d, struct err *e);

/* Called per parcel by wcs_db_parcels_since(); codes[0] is the primary code.
 * A non-zero return stops the scan and is returned. */
typedef int (*wcs_parcel_cb)(void *arg, const struct wcs_parcel *p, const char *const *codes,
                             size_t ncodes);

/* Streams every parcel with rev > since_rev (0 = all) to cb, in rev order,
 * and sets *max_rev to the highest rev seen (since_rev if none).
 * Uses single-row/chunked fetch so 1M parcels do not sit in one PGresult. */
int wcs_db_parcels_since(PGconn *c, int64_t since_rev, wcs_parcel_cb cb, void *arg,
                         int64_t *max_rev, struct err *e);

/* Looks a parcel up by any of its codes. Returns 0, ERR_NOTFOUND or ERR_DB.
 * *id gets parcels.id. */
int wcs_db_parcel_get(PGconn *c, const char *code, struct wcs_preadvice *out, int64_t *id,
                      struct err *e);

/* Sets the customs status of the parcel carrying code (bumps rev, notifies). */
int wcs_db_parcel_set_customs(PGconn *c, const char *code, enum cust_status s, struct err *e);

/* --- sort plan -------------------------------------------------------- */

/* Stores a finished plan as a new, inactive version, with its source text.
 * Returns 0 and *version, or ERR_DB. */
int wcs_db_plan_store(PGconn *c, const struct wcs_plan *p, const char *source_text, size_t len,
                      int *version, struct err *e);

/* Makes version the only active one and notifies wcs_sortplan, in one
 * transaction. ERR_NOTFOUND when no such version. */
int wcs_db_plan_activate(PGconn *c, int version, struct err *e);

/* Loads version (0 = the active one) into a finished plan. ERR_NOTFOUND when
 * there is none; *version_out gets the version loaded. */
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

/* Lists versions, newest first, into out[0..max-1]; *n gets the count. */
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

struct wcs_event;
/* Called per event of a parcel trace, oldest first; non-zero stops. */
typedef int (*wcs_event_cb)(void *arg, const struct wcs_event *ev);

/* Streams every event recorded under any code of parcel id (parcels.id),
 * oldest first. Returns 0 or ERR_DB. */
int wcs_db_parcel_events(PGconn *c, int64_t parcel_id, wcs_event_cb cb, void *arg,
                         struct err *e);

#endif

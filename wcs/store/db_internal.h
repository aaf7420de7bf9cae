/*
 * db_internal.h - helpers shared by the store's files (db.c, db_parcels.c,
 * db_plan.c): running one parameterized statement with the error convention,
 * transactions, and the advisory-lock keys. Not for other modules: they use
 * wcs/store.h.
 */
#ifndef WCS_DB_INTERNAL_H
#define WCS_DB_INTERNAL_H

#include <libpq-fe.h>

#include "common/err.h"
#include "customs/customs.h"

/* Advisory-lock keys of the project (one 64-bit space per database). They
 * only need to differ from each other and from nothing else in the database. */
#define WCS_LOCK_MIGRATE 0x5743530000000001LL /* wcs_db_migrate, session lock */
/* Every transaction that assigns parcels.rev (pre-advice batches, customs
 * status) holds this transaction lock until it commits, so revs become
 * visible in increasing order and a reader of "rev > N" never skips one. */
#define WCS_LOCK_PARCEL_REV 0x5743530000000002LL
#define WCS_LOCK_PLAN 0x5743530000000003LL    /* plan activation, xact lock */
/* Keying a no-read holds this transaction lock until it commits, so keyed
 * seqs become visible in increasing order and a reader of "keyed_seq > N"
 * never skips one (the parcel's destination when it comes round). */
#define WCS_LOCK_NOREAD_KEY 0x5743530000000004LL

/* Runs sql with n text parameters (NULL entries are SQL NULL). Returns the
 * result (caller PQclear()s it) when it is PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK; otherwise NULL, with e = "what: server message" (ERR_DB). */
PGresult *wcs_db_query(PGconn *c, const char *what, const char *sql, int n,
                       const char *const *params, struct err *e);

/* Same, for statements whose result is not needed. Returns 0 or ERR_DB. */
int wcs_db_command(PGconn *c, const char *what, const char *sql, int n,
                   const char *const *params, struct err *e);

/* Sets e to "what: message of r or of the connection", clears r (may be
 * NULL) and returns ERR_DB. */
int wcs_db_fail(PGconn *c, PGresult *r, const char *what, struct err *e);

/* BEGIN; refuses (ERR_STATE) when the connection is not idle, since the
 * store's functions own their transactions. Returns 0, ERR_STATE or ERR_DB. */
int wcs_db_begin(PGconn *c, const char *what, struct err *e);

/* COMMIT. Returns 0 or ERR_DB. */
int wcs_db_commit(PGconn *c, const char *what, struct err *e);

/* ROLLBACK when a transaction is open (or failed); errors are ignored since
 * this only runs on a path that already failed. */
void wcs_db_rollback(PGconn *c);

/* The body of wcs_db_parcel_set_customs() inside the caller's open
 * transaction (wcs_customs_feed_store applies a page of decisions in its
 * own): takes the parcel-rev lock, sets the status with a new rev and queues
 * the NOTIFY when it changes. Returns 0, ERR_NOTFOUND (no parcel has code:
 * the transaction is still usable), ERR_INVALID or ERR_DB. */
int wcs_db_parcel_customs_in_tx(PGconn *c, const char *code, enum cust_status s, struct err *e);

#endif

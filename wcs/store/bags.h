/*
 * bags.h - the store part of bags and dispatches (wcs/store/db_bags.c):
 * closing a chute's bag from the event log, dispatches, loading a manifest.
 * The pure part (receptacle ids, manifests as JSON/CSV) is wcs/core/bagging.h;
 * docs/bags.md has the design.
 *
 * Notification channel (LISTEN/NOTIFY), sent in the bag-close transaction:
 *   wcs_chutes   payload: "CHUTE emptied" (e.g. "CH003 emptied")
 */
#ifndef WCS_STORE_BAGS_H
#define WCS_STORE_BAGS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "wcs/core/bagging.h"
#include "wcs/store/store.h"

struct wcs_bag_closed {
    char bag_id[WCS_RECEPTACLE_LEN + 1];
    char route[32];
    int64_t id;    /* bags.id */
    int weight_g;  /* recorded gross weight */
    int weighed;   /* 1: weight given (scale), 0: sum of pre-advice */
    int parcels;   /* distinct pre-advised parcels in the bag */
    int unknown;   /* sorted codes without pre-advice (not in the bag) */
    int no_weight; /* parcels whose pre-advice has no weight */
};

/*
 * Closes the bag of chute: every parcel confirmed SORTED__ into the chute
 * whose confirm event no earlier bag consumed goes into a new bag, closed at
 * once, with a receptacle id (origin CNHRBA; destination office and category
 * from the chute's route in the active plan; dispatch number and serial from
 * the open receptacle series of that office, category and year). weight_g
 * < 0 means "sum the parcels' pre-advised weights". In one transaction, with
 * NOTIFY wcs_chutes 'CHUTE emptied[ LINE]'. Not inside a caller's transaction.
 * line (NULL: the database's only line) is the node of the line whose
 * chute it is: its parcels are those its wcsd confirmed (chute names
 * repeat from line to line); ERR_NOTFOUND for a line the database does not
 * know, ERR_INVALID for none named when several share the database.
 * Returns 0 (out filled), ERR_NOTFOUND (chute not in the active plan, or in
 * no route; no active plan), ERR_STATE (nothing sorted into the chute since
 * its last bag; connection in a transaction), ERR_INVALID (route without a
 * known office of exchange, weight too large), ERR_DB.
 */
int wcs_db_bag_close(PGconn *c, const char *line, const char *chute, int weight_g,
                     struct wcs_bag_closed *out, struct err *e);

/*
 * wcs_db_bag_last_closed: the id of the newest closed bag of line's chute
 * (or of a bag closed without a line); ERR_NOTFOUND when it has none.
 *
 * The label of closed bag bag_id (wcs/core/label.h): the receptacle id's
 * fields, the recorded weight, parcel count, close time, the route with its
 * mode and border crossing (from the newest plan version that has it).
 * Returns 0, ERR_NOTFOUND (no closed bag with that id), ERR_INVALID (an id
 * that does not parse), ERR_DB.
 */
struct wcs_bag_label;
int wcs_db_bag_last_closed(PGconn *c, const char *line, const char *chute,
                           char bag_id[WCS_RECEPTACLE_LEN + 1],
                           struct err *e);
int wcs_db_bag_label(PGconn *c, const char *bag_id, struct wcs_bag_label *out, struct err *e);

/*
 * Opens a dispatch of route (must be a route of the active plan) with
 * manifest id "HRB-YYYYMMDD-XXX-NNN" (NNN the next number for that prefix),
 * written into manifest_id (WCS_MANIFEST_ID_MAX bytes). transport: air,
 * rail or road; carrier (NULL or "" none, 63 bytes at most): who carries it. Returns 0, ERR_INVALID (transport, departure, route shape),
 * ERR_NOTFOUND (route), ERR_DB.
 */
int wcs_db_dispatch_open(PGconn *c, const char *route, const char *transport, const char *crossing,
                         const char *departure, const char *carrier,
                         char manifest_id[WCS_MANIFEST_ID_MAX], struct err *e);

/*
 * Adds n closed bags (receptacle ids) to the open dispatch manifest_id, all
 * or none. Returns 0, ERR_NOTFOUND (dispatch or a bag), ERR_STATE (dispatch
 * not open; bag already dispatched), ERR_CONFLICT (bag of another route),
 * ERR_DB.
 */
int wcs_db_dispatch_add(PGconn *c, const char *manifest_id, const char *const *bag_ids, size_t n,
                        struct err *e);

/*
 * Closes the open dispatch manifest_id: status closed, the manifest JSON body
 * stored in dispatches.manifest_json and queued in the customs outbox (kind
 * 'manifest'), and the receptacle series of its bags closed (the next bags
 * get a new dispatch number), in one transaction. Returns 0, ERR_NOTFOUND, ERR_STATE (not open, or no bags), ERR_DB.
 */
int wcs_db_dispatch_close(PGconn *c, const char *manifest_id, struct err *e);

/* Loads dispatch manifest_id with its bags and parcels (bags by receptacle
 * id, parcels by code) into *out, which the caller frees with
 * wcs_manifest_free(). Returns 0, ERR_NOTFOUND or ERR_DB (out then empty). */
int wcs_db_manifest_load(PGconn *c, const char *manifest_id, struct wcs_manifest *out,
                         struct err *e);

#endif

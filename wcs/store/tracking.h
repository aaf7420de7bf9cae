/*
 * tracking.h - the parcels' tracking events (docs/documents.md "Tracking
 * events"): PostgreSQL writes them from the hub's own rows (migration
 * 0016_tracking), and this is the feed partners follow: pages after a
 * cursor, oldest first, that never skip or repeat an event.
 */
#ifndef WCS_STORE_TRACKING_H
#define WCS_STORE_TRACKING_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define WCS_TRACKING_LIMIT_MAX 1000 /* events in one page, at most */

#define WCS_TRACKING_PUBLISH_MAX 20000 /* pending events numbered in one statement */

/* Publishes what is pending (numbers it after the last cursor), commits,
 * and sets *last to the feed's last cursor. Returns 0 or ERR_DB. */
int wcs_db_tracking_publish(PGconn *c, int64_t *last, struct err *e);

/* One statement of it: at most WCS_TRACKING_PUBLISH_MAX events, oldest
 * first; *more when there may be more pending. wait false: when another
 * session is numbering the feed now, nothing is done (it numbers for
 * everyone). Returns 0 or ERR_DB. */
int wcs_db_tracking_publish_some(PGconn *c, bool wait, int64_t *last, bool *more, struct err *e);

/*
 * One page of the feed: publishes, then the events after cursor `after`
 * (0: from the first), at most limit (1..WCS_TRACKING_LIMIT_MAX), with
 * time at or after since when since is not NULL (RFC 3339 or a date), as
 * the document {"events": [EVENT...], "next": "CURSOR"} in *json
 * (malloc'd); next is the last event's cursor, or after when there is none.
 * office is the hub's office of exchange, named in every event. *count gets
 * the number of events. Returns 0; ERR_INVALID when after is beyond the
 * feed's last cursor (a cursor of another feed: following it would skip
 * events) or since is not a time; ERR_DB.
 */
int wcs_db_tracking_page(PGconn *c, const char *office, int64_t after, int limit,
                         const char *since, char **json, int *count, int64_t *next,
                         struct err *e);

#endif

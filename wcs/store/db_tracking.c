/*
 * db_tracking.c - the tracking feed's pages (tracking.h). The events are
 * written by the database's triggers (migration 0016_tracking); this only
 * publishes and reads them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/store/db_internal.h"
#include "wcs/store/tracking.h"

static const char SQL_PUBLISH[] =
    "SELECT last_cursor, taken FROM tracking_publish($1::int, $2::boolean)";

/* One page, built by PostgreSQL as the feed's JSON document: each event a
 * row whose column names are its fields (json_agg of rows is twice as fast
 * as building objects). Times in UTC with milliseconds, as RFC 3339. */
static const char SQL_PAGE[] =
    "SELECT json_build_object('events', coalesce(json_agg(p ORDER BY p.cursor::bigint), '[]'),"
    " 'next', coalesce(max(p.cursor::bigint), $1::bigint)::text), count(*),"
    " coalesce(max(p.cursor::bigint), $1::bigint)"
    " FROM (SELECT seq::text AS cursor, event, code, parcel AS parcel_id, $4::text AS office,"
    " to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at, location,"
    " chute, route, bag_id, dispatch AS dispatch_id, reason FROM tracking_events"
    " WHERE seq > $1::bigint AND ($3::timestamptz IS NULL OR at >= $3::timestamptz)"
    " ORDER BY seq LIMIT $2::int) p";

static const char SQL_TIME_OK[] = "SELECT $1::timestamptz";

int wcs_db_tracking_publish_some(PGconn *c, bool wait, int64_t *last, bool *more, struct err *e)
{
    char max[16];
    const char *p[2] = {max, wait ? "true" : "false"};
    PGresult *r;

    snprintf(max, sizeof(max), "%d", WCS_TRACKING_PUBLISH_MAX);
    r = wcs_db_query(c, "tracking publish", SQL_PUBLISH, 2, p, e);
    if (r == NULL)
        return ERR_DB;
    *last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *more = strtoll(PQgetvalue(r, 0, 1), NULL, 10) == WCS_TRACKING_PUBLISH_MAX;
    PQclear(r);
    return 0;
}

int wcs_db_tracking_publish(PGconn *c, int64_t *last, struct err *e)
{
    bool more = true;
    int rc = 0;

    while (more && rc == 0)
        rc = wcs_db_tracking_publish_some(c, true, last, &more, e);
    return rc;
}

int wcs_db_tracking_page(PGconn *c, const char *office, int64_t after, int limit,
                         const char *since, char **json, int *count, int64_t *next,
                         struct err *e)
{
    char a[24], l[16];
    const char *p[4] = {a, l, since, office};
    int64_t last;
    PGresult *r;
    int rc;

    *json = NULL;
    *count = 0;
    *next = after;
    if (limit < 1 || limit > WCS_TRACKING_LIMIT_MAX)
        return err_set(e, ERR_INVALID, "limit: 1 to %d events", WCS_TRACKING_LIMIT_MAX);
    if (since != NULL) {
        r = wcs_db_query(c, "since", SQL_TIME_OK, 1, &since, e);
        if (r == NULL && PQstatus(c) != CONNECTION_OK)
            return ERR_DB;
        if (r == NULL) /* the server's own words say what is wrong with it */
            return err_wrap(e, ERR_INVALID, "since: not a time (RFC 3339 or a date)");
        PQclear(r);
    }
    /* Published and committed first: the page's statement then sees every
     * event up to the last cursor, its own and the publishers' before it. */
    rc = wcs_db_tracking_publish(c, &last, e);
    if (rc < 0)
        return rc;
    if (after > last)
        return err_set(e, ERR_INVALID,
                       "cursor %" PRId64 " is beyond this feed's last (%" PRId64 ")", after,
                       last);
    snprintf(a, sizeof(a), "%" PRId64, after);
    snprintf(l, sizeof(l), "%d", limit);
    r = wcs_db_query(c, "tracking page", SQL_PAGE, 4, p, e);
    if (r == NULL)
        return ERR_DB;
    *json = strdup(PQgetvalue(r, 0, 0));
    *count = atoi(PQgetvalue(r, 0, 1));
    if (*json == NULL) {
        PQclear(r);
        return err_set(e, -ENOMEM, "tracking page: out of memory");
    }
    *next = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    return 0;
}

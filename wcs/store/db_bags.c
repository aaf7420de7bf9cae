/*
 * db_bags.c - the store's side of bags and dispatches: closing a chute's bag
 * from the event log, receptacle numbering, dispatches and their manifests.
 *
 * DESIGN: a bag holds the parcels whose confirm event (kind confirm, reason
 * SORTED__, chute = the chute) no earlier bag consumed; bag_events records
 * the consumed event ids. Times are not compared, so a clock step or an event
 * batch arriving late from wcsd's spool cannot move a parcel into the wrong
 * bag or lose it: a late event simply lands in the chute's next bag. Every
 * writer here holds one transaction advisory lock, so two operators closing
 * bags at once cannot take the same events or the same receptacle serial.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wcs/core/label.h"
#include "wcs/store/bags.h"
#include "wcs/store/db_internal.h"

/* Bags, receptacle series and dispatch numbering (transaction lock). Local
 * to this file: only db_bags.c writes those tables. */
#define WCS_LOCK_BAGS 0x5743530000000010LL

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock($1::bigint)";

static const char SQL_CHUTE_ROUTE[] =
    "SELECT r.route, r.mode FROM routes r JOIN sortplan_versions v ON v.version = r.version"
    " WHERE v.active AND $1 = ANY (r.chutes) ORDER BY r.seq LIMIT 1";

static const char SQL_CHUTE_KNOWN[] =
    "SELECT v.version, EXISTS (SELECT 1 FROM chutes ch WHERE ch.version = v.version"
    " AND ch.chute = $1) FROM sortplan_versions v WHERE v.active";

/* A line's events are those whose ids carry its node number (event_ids.c);
 * with no line named, every line's (a database with one line). */
#define LINE_EVENTS(n) \
    " AND ($" #n "::text IS NULL OR (e.id & 255) = (SELECT node_id FROM wcs_lines WHERE node = $" #n "))"

static const char SQL_PENDING[] =
    "SELECT count(*) FROM events e WHERE e.kind = 'confirm' AND e.reason = 'SORTED__'"
    " AND e.chute = $1 AND NOT EXISTS (SELECT 1 FROM bag_events b WHERE b.event_id = e.id)"
    LINE_EVENTS(2);

/* How many lines the database knows, and whether line $1 is one of them. */
static const char SQL_LINES[] =
    "SELECT count(*), count(*) FILTER (WHERE node = $1) FROM wcs_lines";

static const char SQL_SERIES[] =
    "SELECT dispatch_no, next_serial FROM receptacle_series"
    " WHERE dest_office = $1 AND category = $2 AND year = $3::int AND NOT closed"
    " ORDER BY dispatch_no DESC LIMIT 1";

static const char SQL_SERIES_CLOSE[] =
    "UPDATE receptacle_series SET closed = true"
    " WHERE dest_office = $1 AND category = $2 AND year = $3::int AND dispatch_no = $4::int";

/* The next dispatch number of the year, wrapping after 9999. */
static const char SQL_SERIES_NEW[] =
    "INSERT INTO receptacle_series (dest_office, category, year, dispatch_no)"
    " SELECT $1, $2, $3::int, coalesce(max(dispatch_no), 0) % 9999 + 1 FROM receptacle_series"
    " WHERE dest_office = $1 AND category = $2 AND year = $3::int"
    " ON CONFLICT (dest_office, category, year, dispatch_no)"
    "   DO UPDATE SET next_serial = 1, closed = false"
    " RETURNING dispatch_no";

static const char SQL_SERIES_TAKE[] =
    "UPDATE receptacle_series SET next_serial = next_serial + 1"
    " WHERE dest_office = $1 AND category = $2 AND year = $3::int AND dispatch_no = $4::int";

static const char SQL_BAG_INSERT[] =
    "INSERT INTO bags (chute, route, status, closed_at, dest_office, category, upu_dispatch,"
    " serial, upu_year, line) VALUES ($1, $2, 'closed', now(), $3, $4, $5::int, $6::int, $7::int,"
    " $8) RETURNING id";

static const char SQL_BAG_EVENTS[] =
    "INSERT INTO bag_events (event_id, bag) SELECT e.id, $2::bigint FROM events e"
    " WHERE e.kind = 'confirm' AND e.reason = 'SORTED__' AND e.chute = $1"
    " AND NOT EXISTS (SELECT 1 FROM bag_events b WHERE b.event_id = e.id)" LINE_EVENTS(3);

static const char SQL_BAG_PARCELS[] =
    "INSERT INTO bag_parcels (bag, parcel_id) SELECT DISTINCT $1::bigint, pi.parcel_id"
    " FROM bag_events be JOIN events e ON e.id = be.event_id"
    " JOIN parcel_ids pi ON pi.code = e.parcel_code WHERE be.bag = $1::bigint";

static const char SQL_BAG_SUMS[] =
    "SELECT count(*), coalesce(sum(p.weight_g), 0), count(*) FILTER (WHERE p.weight_g IS NULL),"
    " (SELECT count(*) FROM bag_events be JOIN events e ON e.id = be.event_id"
    "   WHERE be.bag = $1::bigint AND NOT EXISTS"
    "   (SELECT 1 FROM parcel_ids pi WHERE pi.code = e.parcel_code))"
    " FROM bag_parcels bp JOIN parcels p ON p.id = bp.parcel_id WHERE bp.bag = $1::bigint";

static const char SQL_BAG_SET_ID[] =
    "UPDATE bags SET bag_id = $2, weight_g = $3::int, weighed = $4::boolean"
    " WHERE id = $1::bigint";

/* "CH017 emptied", or "CH017 emptied WCS02": the line's wcsd empties it. */
static const char SQL_NOTIFY[] =
    "SELECT pg_notify('" WCS_CHANNEL_CHUTES "', $1 || ' emptied' || coalesce(' ' || $2, ''))";

/* A line named must be known; none named is fine with one line at most. */
static int check_line(PGconn *c, const char *line, struct err *e)
{
    const char *p[1] = {line};
    PGresult *r = wcs_db_query(c, "bag close: line", SQL_LINES, 1, p, e);
    long lines, named;

    if (r == NULL)
        return ERR_DB;
    lines = atol(PQgetvalue(r, 0, 0));
    named = atol(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (line != NULL && named == 0)
        return err_set(e, ERR_NOTFOUND, "bag close: no line %s (wcsctl status lists them)", line);
    if (line == NULL && lines > 1)
        return err_set(e, ERR_INVALID,
                       "bag close: %ld lines share this database and chute names repeat from "
                       "line to line: say which line's chute (--line NODE)",
                       lines);
    return 0;
}

static int lock_bags(PGconn *c, const char *what, struct err *e)
{
    char key[24];
    const char *p[1] = {key};

    snprintf(key, sizeof(key), "%lld", (long long)WCS_LOCK_BAGS);
    return wcs_db_command(c, what, SQL_LOCK, 1, p, e);
}

/* Fills *route and *mode for chute, or says why there is none. */
static int chute_route(PGconn *c, const char *chute, char *route, size_t rlen, char *mode,
                       size_t mlen, struct err *e)
{
    const char *p[1] = {chute};
    PGresult *r = wcs_db_query(c, "bag close: route", SQL_CHUTE_ROUTE, 1, p, e);
    int known;

    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 1) {
        snprintf(route, rlen, "%s", PQgetvalue(r, 0, 0));
        snprintf(mode, mlen, "%s", PQgetvalue(r, 0, 1));
        PQclear(r);
        return 0;
    }
    PQclear(r);
    r = wcs_db_query(c, "bag close: chute", SQL_CHUTE_KNOWN, 1, p, e);
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "bag close: no sort plan is active");
    }
    known = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if (!known)
        return err_set(e, ERR_NOTFOUND, "bag close: unknown chute %s (not in the active plan)",
                       chute);
    return err_set(e, ERR_NOTFOUND, "bag close: chute %s belongs to no route of the active plan",
                   chute);
}

/* Takes the next receptacle number for (office, category, year): the open
 * series' dispatch number and serial, opening a new series when none is open
 * or the open one has used serial 999. */
static int take_serial(PGconn *c, const char *office, char category, int year, int *dispatch_no,
                       int *serial, struct err *e)
{
    char cat[2] = {category, '\0'}, ys[12], ds[12];
    const char *p[4] = {office, cat, ys, ds};
    PGresult *r;

    snprintf(ys, sizeof(ys), "%d", year);
    r = wcs_db_query(c, "bag close: series", SQL_SERIES, 3, p, e);
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 1 && atoi(PQgetvalue(r, 0, 1)) <= 999) {
        *dispatch_no = atoi(PQgetvalue(r, 0, 0));
        *serial = atoi(PQgetvalue(r, 0, 1));
        PQclear(r);
    } else {
        if (PQntuples(r) == 1) {
            snprintf(ds, sizeof(ds), "%s", PQgetvalue(r, 0, 0));
            PQclear(r);
            if (wcs_db_command(c, "bag close: series full", SQL_SERIES_CLOSE, 4, p, e) < 0)
                return ERR_DB;
        } else {
            PQclear(r);
        }
        r = wcs_db_query(c, "bag close: new series", SQL_SERIES_NEW, 3, p, e);
        if (r == NULL)
            return ERR_DB;
        *dispatch_no = atoi(PQgetvalue(r, 0, 0));
        *serial = 1;
        PQclear(r);
    }
    snprintf(ds, sizeof(ds), "%d", *dispatch_no);
    return wcs_db_command(c, "bag close: serial", SQL_SERIES_TAKE, 4, p, e);
}

int wcs_db_bag_close(PGconn *c, const char *line, const char *chute, int weight_g,
                     struct wcs_bag_closed *out, struct err *e)
{
    struct wcs_receptacle rec;
    char mode[16], cat[2] = {0, 0}, ds[12], ss[12], ys[12], ids[24], ws[12];
    const char *office, *p[8];
    PGresult *r;
    time_t now = time(NULL);
    struct tm tm;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = wcs_db_begin(c, "bag close", e);
    if (rc < 0)
        return rc;
    rc = lock_bags(c, "bag close: lock", e);
    if (rc == 0)
        rc = check_line(c, line, e);
    if (rc < 0)
        goto fail;
    rc = chute_route(c, chute, out->route, sizeof(out->route), mode, sizeof(mode), e);
    if (rc < 0)
        goto fail;
    office = wcs_bag_dest_office(out->route);
    if (office == NULL) {
        rc = err_set(e, ERR_INVALID,
                     "bag close: route %s has no known office of exchange "
                     "(see docs/bags.md)",
                     out->route);
        goto fail;
    }
    cat[0] = wcs_bag_category(mode);
    if (cat[0] == 0) {
        rc = err_set(e, ERR_INVALID, "bag close: route %s: mode \"%s\" has no mail category",
                     out->route, mode);
        goto fail;
    }
    p[0] = chute;
    p[1] = line;
    r = wcs_db_query(c, "bag close: contents", SQL_PENDING, 2, p, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    rc = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (rc == 0) {
        rc = err_set(e, ERR_STATE,
                     "bag close: chute %s is empty: no parcel sorted into it "
                     "since its last bag was closed",
                     chute);
        goto fail;
    }

    memset(&rec, 0, sizeof(rec));
    snprintf(rec.origin, sizeof(rec.origin), "%s", WCS_BAG_ORIGIN_OFFICE);
    snprintf(rec.dest, sizeof(rec.dest), "%s", office);
    snprintf(rec.subclass, sizeof(rec.subclass), "%s", WCS_BAG_SUBCLASS);
    rec.category = cat[0];
    /* The hub works on Harbin time: the local year is the receptacle's. */
    localtime_r(&now, &tm);
    rec.year = tm.tm_year + 1900;
    rc = take_serial(c, office, cat[0], rec.year, &rec.dispatch_no, &rec.serial, e);
    if (rc < 0)
        goto fail;

    snprintf(ds, sizeof(ds), "%d", rec.dispatch_no);
    snprintf(ss, sizeof(ss), "%d", rec.serial);
    snprintf(ys, sizeof(ys), "%d", rec.year);
    p[0] = chute;
    p[1] = out->route;
    p[2] = office;
    p[3] = cat;
    p[4] = ds;
    p[5] = ss;
    p[6] = ys;
    p[7] = line;
    r = wcs_db_query(c, "bag close: insert", SQL_BAG_INSERT, 8, p, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    snprintf(ids, sizeof(ids), "%s", PQgetvalue(r, 0, 0));
    out->id = atoll(ids);
    PQclear(r);
    p[0] = chute;
    p[1] = ids;
    p[2] = line;
    rc = wcs_db_command(c, "bag close: events", SQL_BAG_EVENTS, 3, p, e);
    if (rc < 0)
        goto fail;
    p[0] = ids;
    rc = wcs_db_command(c, "bag close: parcels", SQL_BAG_PARCELS, 1, p, e);
    if (rc < 0)
        goto fail;
    r = wcs_db_query(c, "bag close: weight", SQL_BAG_SUMS, 1, p, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    out->parcels = atoi(PQgetvalue(r, 0, 0));
    out->weight_g = atoi(PQgetvalue(r, 0, 1));
    out->no_weight = atoi(PQgetvalue(r, 0, 2));
    out->unknown = atoi(PQgetvalue(r, 0, 3));
    PQclear(r);
    if (weight_g >= 0) {
        out->weight_g = weight_g;
        out->weighed = 1;
    }
    rec.weight_g = out->weight_g;
    rc = wcs_receptacle_format(&rec, out->bag_id, e);
    if (rc < 0) {
        err_wrap(e, rc, "bag close");
        goto fail;
    }
    snprintf(ws, sizeof(ws), "%d", out->weight_g);
    p[0] = ids;
    p[1] = out->bag_id;
    p[2] = ws;
    p[3] = out->weighed ? "true" : "false";
    rc = wcs_db_command(c, "bag close: receptacle id", SQL_BAG_SET_ID, 4, p, e);
    if (rc < 0)
        goto fail;
    p[0] = chute;
    p[1] = line;
    rc = wcs_db_command(c, "bag close: notify", SQL_NOTIFY, 2, p, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "bag close", e);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    wcs_db_rollback(c);
    {
        char keep[sizeof(out->route)];
        memcpy(keep, out->route, sizeof(keep));
        memset(out, 0, sizeof(*out));
        memcpy(out->route, keep, sizeof(keep));
    }
    return rc;
}

/* --- dispatches -------------------------------------------------------- */

static const char SQL_ROUTE_EXISTS[] =
    "SELECT r.crossing FROM routes r JOIN sortplan_versions v ON v.version = r.version"
    " WHERE v.active AND r.route = $1";

static const char SQL_DISPATCH_NEXT[] =
    "SELECT count(*) + 1 FROM dispatches WHERE manifest_id LIKE $1 || '-%'";

static const char SQL_DISPATCH_INSERT[] =
    "INSERT INTO dispatches (manifest_id, route, transport, border_crossing, departure,"
    " departure_text, carrier) VALUES ($1, $2, $3, $4, $5::timestamptz, $6::text, $7)";

int wcs_db_dispatch_open(PGconn *c, const char *route, const char *transport, const char *crossing,
                         const char *departure, const char *carrier,
                         char manifest_id[WCS_MANIFEST_ID_MAX], struct err *e)
{
    char prefix[32], cross[64];
    const char *p[7];
    PGresult *r;
    int rc, n;

    manifest_id[0] = '\0';
    if (carrier != NULL && strlen(carrier) > 63)
        return err_set(e, ERR_INVALID, "dispatch open: carrier: 63 characters at most");
    if (strcmp(transport, "air") != 0 && strcmp(transport, "rail") != 0 &&
        strcmp(transport, "road") != 0)
        return err_set(e, ERR_INVALID,
                       "dispatch open: transport \"%s\", expected air, rail "
                       "or road",
                       transport);
    rc = wcs_manifest_id_prefix(route, departure, prefix, sizeof(prefix), e);
    if (rc < 0)
        return err_wrap(e, rc, "dispatch open");
    rc = wcs_db_begin(c, "dispatch open", e);
    if (rc < 0)
        return rc;
    rc = lock_bags(c, "dispatch open: lock", e);
    if (rc < 0)
        goto fail;
    p[0] = route;
    r = wcs_db_query(c, "dispatch open: route", SQL_ROUTE_EXISTS, 1, p, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = err_set(e, ERR_NOTFOUND, "dispatch open: route %s is not in the active plan", route);
        goto fail;
    }
    /* The plan's crossing is the default when the operator names none. */
    snprintf(cross, sizeof(cross), "%s", crossing && crossing[0] ? crossing : PQgetvalue(r, 0, 0));
    PQclear(r);
    p[0] = prefix;
    r = wcs_db_query(c, "dispatch open: number", SQL_DISPATCH_NEXT, 1, p, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (n > 999) {
        rc = err_set(e, ERR_FULL, "dispatch open: 999 dispatches already under %s", prefix);
        goto fail;
    }
    snprintf(manifest_id, WCS_MANIFEST_ID_MAX, "%s-%03d", prefix, n);
    p[0] = manifest_id;
    p[1] = route;
    p[2] = transport;
    p[3] = cross;
    p[4] = departure;
    p[5] = departure; /* two parameters: one number cannot carry two types */
    p[6] = carrier != NULL ? carrier : "";
    rc = wcs_db_command(c, "dispatch open: insert", SQL_DISPATCH_INSERT, 7, p, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "dispatch open", e);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    wcs_db_rollback(c);
    manifest_id[0] = '\0';
    return rc;
}

static const char SQL_DISPATCH_GET[] =
    "SELECT id, route, status FROM dispatches WHERE manifest_id = $1 FOR UPDATE";

static const char SQL_BAG_GET[] =
    "SELECT b.id, b.route, b.status, coalesce(d.manifest_id, '') FROM bags b"
    " LEFT JOIN dispatches d ON d.id = b.dispatch_id WHERE b.bag_id = $1 FOR UPDATE OF b";

static const char SQL_BAG_DISPATCH[] =
    "UPDATE bags SET dispatch_id = $2::bigint, status = 'dispatched' WHERE id = $1::bigint";

/* Locks dispatch manifest_id; fills id and route; requires status open. */
static int dispatch_get_open(PGconn *c, const char *what, const char *manifest_id, char *id,
                             size_t idlen, char *route, size_t rlen, struct err *e)
{
    const char *p[1] = {manifest_id};
    PGresult *r = wcs_db_query(c, what, SQL_DISPATCH_GET, 1, p, e);

    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "%s: no dispatch %s", what, manifest_id);
    }
    snprintf(id, idlen, "%s", PQgetvalue(r, 0, 0));
    snprintf(route, rlen, "%s", PQgetvalue(r, 0, 1));
    if (strcmp(PQgetvalue(r, 0, 2), "open") != 0) {
        err_set(e, ERR_STATE, "%s: dispatch %s is %s, not open", what, manifest_id,
                PQgetvalue(r, 0, 2));
        PQclear(r);
        return ERR_STATE;
    }
    PQclear(r);
    return 0;
}

int wcs_db_dispatch_add(PGconn *c, const char *manifest_id, const char *const *bag_ids, size_t n,
                        struct err *e)
{
    char did[24], route[32], bid[24];
    const char *p[2];
    PGresult *r;
    size_t i;
    int rc;

    rc = wcs_db_begin(c, "dispatch add", e);
    if (rc < 0)
        return rc;
    rc = lock_bags(c, "dispatch add: lock", e);
    if (rc < 0)
        goto fail;
    rc = dispatch_get_open(c, "dispatch add", manifest_id, did, sizeof(did), route, sizeof(route),
                           e);
    if (rc < 0)
        goto fail;
    for (i = 0; i < n; i++) {
        p[0] = bag_ids[i];
        r = wcs_db_query(c, "dispatch add: bag", SQL_BAG_GET, 1, p, e);
        if (r == NULL) {
            rc = ERR_DB;
            goto fail;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            rc = err_set(e, ERR_NOTFOUND, "dispatch add: no bag %s", bag_ids[i]);
            goto fail;
        }
        if (strcmp(PQgetvalue(r, 0, 2), "closed") != 0) {
            rc = err_set(e, ERR_STATE, "dispatch add: bag %s is already %s%s%s", bag_ids[i],
                         PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3)[0] ? " in " : "",
                         PQgetvalue(r, 0, 3));
            PQclear(r);
            goto fail;
        }
        if (strcmp(PQgetvalue(r, 0, 1), route) != 0) {
            rc = err_set(e, ERR_CONFLICT,
                         "dispatch add: bag %s is for route %s, dispatch %s "
                         "for %s",
                         bag_ids[i], PQgetvalue(r, 0, 1), manifest_id, route);
            PQclear(r);
            goto fail;
        }
        snprintf(bid, sizeof(bid), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        p[0] = bid;
        p[1] = did;
        rc = wcs_db_command(c, "dispatch add: update", SQL_BAG_DISPATCH, 2, p, e);
        if (rc < 0)
            goto fail;
    }
    rc = wcs_db_commit(c, "dispatch add", e);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    wcs_db_rollback(c);
    return rc;
}

static const char SQL_DISPATCH_CLOSE[] =
    "UPDATE dispatches SET status = 'closed', closed_at = now(), manifest_json = $2"
    " WHERE id = $1::bigint";

static const char SQL_DISPATCH_SERIES_CLOSE[] =
    "UPDATE receptacle_series s SET closed = true FROM bags b"
    " WHERE b.dispatch_id = $1::bigint AND s.dest_office = b.dest_office"
    " AND s.category = b.category AND s.dispatch_no = b.upu_dispatch"
    " AND s.year = b.upu_year";

/* The manifest's unit of work for the customs worker, in the transaction that
 * closes the dispatch (docs/customs.md "Submission"), for the broker most of
 * its parcels were declared to ("Broker profiles"). */
static const char SQL_DISPATCH_MANIFEST_QUEUE[] =
    "INSERT INTO customs_outbox (kind, payload_ref, broker) VALUES ('manifest', $1,"
    " coalesce((SELECT d.broker FROM dispatches x JOIN bags b ON b.dispatch_id = x.id"
    "  JOIN bag_parcels bp ON bp.bag = b.id JOIN parcels p ON p.id = bp.parcel_id"
    "  JOIN declarations d ON d.parcel_id = p.code WHERE x.manifest_id = $1"
    "  GROUP BY d.broker ORDER BY count(*) DESC, d.broker LIMIT 1), 'default'))";

int wcs_db_dispatch_close(PGconn *c, const char *manifest_id, struct err *e)
{
    struct wcs_manifest m;
    char did[24], route[32], *body = NULL;
    const char *p[2];
    json_t *j;
    int rc;

    memset(&m, 0, sizeof(m));
    rc = wcs_db_begin(c, "dispatch close", e);
    if (rc < 0)
        return rc;
    rc = lock_bags(c, "dispatch close: lock", e);
    if (rc < 0)
        goto fail;
    rc = dispatch_get_open(c, "dispatch close", manifest_id, did, sizeof(did), route, sizeof(route),
                           e);
    if (rc < 0)
        goto fail;
    /* Inside the transaction, so the manifest is exactly what is closed. */
    rc = wcs_db_manifest_load(c, manifest_id, &m, e);
    if (rc < 0)
        goto fail;
    if (m.nbags == 0) {
        rc = err_set(e, ERR_STATE, "dispatch close: dispatch %s has no bags", manifest_id);
        goto fail;
    }
    j = wcs_manifest_json(&m);
    body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (body == NULL) {
        rc = err_set(e, -ENOMEM, "dispatch close: out of memory");
        goto fail;
    }
    p[0] = did;
    p[1] = body;
    rc = wcs_db_command(c, "dispatch close: update", SQL_DISPATCH_CLOSE, 2, p, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_command(c, "dispatch close: series", SQL_DISPATCH_SERIES_CLOSE, 1, p, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_command(c, "dispatch close: queue manifest", SQL_DISPATCH_MANIFEST_QUEUE, 1,
                        &manifest_id, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "dispatch close", e);
    if (rc < 0)
        goto fail;
    free(body);
    wcs_manifest_free(&m);
    return 0;
fail:
    wcs_db_rollback(c);
    free(body);
    wcs_manifest_free(&m);
    return rc;
}

static const char SQL_MANIFEST_HEAD[] =
    "SELECT id, route, transport, border_crossing, coalesce(departure_text,"
    " to_char(departure AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), status,"
    " coalesce(manifest_ref, ''), manifest_unknown::text, coalesce(manifest_error, ''),"
    " coalesce(to_char(manifest_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), ''),"
    " CASE WHEN manifest_ref IS NOT NULL THEN 'received'"
    "  WHEN manifest_error IS NOT NULL THEN 'refused'"
    "  ELSE (SELECT CASE WHEN o.attempts = 0 THEN 'queued'"
    "   ELSE 'being sent, attempt ' || o.attempts END FROM customs_outbox o"
    "   WHERE o.kind = 'manifest' AND o.payload_ref = d.manifest_id AND o.done_at IS NULL"
    "   ORDER BY o.id DESC LIMIT 1) END, d.carrier"
    " FROM dispatches d WHERE manifest_id = $1";

static const char SQL_MANIFEST_BAGS[] =
    "SELECT b.id, b.bag_id, b.chute, coalesce(b.weight_g, 0) FROM bags b"
    " WHERE b.dispatch_id = $1::bigint ORDER BY b.bag_id";

static const char SQL_MANIFEST_PARCELS[] =
    "SELECT bp.bag, p.code, coalesce(p.weight_g, -1) FROM bag_parcels bp"
    " JOIN parcels p ON p.id = bp.parcel_id JOIN bags b ON b.id = bp.bag"
    " WHERE b.dispatch_id = $1::bigint ORDER BY b.bag_id, p.code";

int wcs_db_manifest_load(PGconn *c, const char *manifest_id, struct wcs_manifest *out,
                         struct err *e)
{
    const char *p[1] = {manifest_id};
    PGresult *r, *rp = NULL;
    char did[24];
    int64_t *bag_keys = NULL;
    int i, k, nb;
    size_t bi = 0;

    memset(out, 0, sizeof(*out));
    r = wcs_db_query(c, "manifest", SQL_MANIFEST_HEAD, 1, p, e);
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "no dispatch %s", manifest_id);
    }
    snprintf(out->manifest_id, sizeof(out->manifest_id), "%s", manifest_id);
    snprintf(did, sizeof(did), "%s", PQgetvalue(r, 0, 0));
    snprintf(out->route, sizeof(out->route), "%s", PQgetvalue(r, 0, 1));
    snprintf(out->transport, sizeof(out->transport), "%s", PQgetvalue(r, 0, 2));
    snprintf(out->border_crossing, sizeof(out->border_crossing), "%s", PQgetvalue(r, 0, 3));
    snprintf(out->departure, sizeof(out->departure), "%s", PQgetvalue(r, 0, 4));
    snprintf(out->carrier, sizeof(out->carrier), "%s", PQgetvalue(r, 0, 11));
    snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(r, 0, 5));
    snprintf(out->broker_ref, sizeof(out->broker_ref), "%s", PQgetvalue(r, 0, 6));
    if (!PQgetisnull(r, 0, 7) && (out->unknown_parcels = strdup(PQgetvalue(r, 0, 7))) == NULL) {
        PQclear(r);
        return err_set(e, -ENOMEM, "manifest: out of memory");
    }
    snprintf(out->manifest_error, sizeof(out->manifest_error), "%s", PQgetvalue(r, 0, 8));
    snprintf(out->answered_at, sizeof(out->answered_at), "%s", PQgetvalue(r, 0, 9));
    snprintf(out->submission, sizeof(out->submission), "%s", PQgetvalue(r, 0, 10));
    PQclear(r);

    p[0] = did;
    r = wcs_db_query(c, "manifest: bags", SQL_MANIFEST_BAGS, 1, p, e);
    if (r == NULL)
        goto fail;
    nb = PQntuples(r);
    out->bags = calloc(nb ? (size_t)nb : 1, sizeof(*out->bags));
    bag_keys = calloc(nb ? (size_t)nb : 1, sizeof(*bag_keys));
    if (out->bags == NULL || bag_keys == NULL) {
        err_set(e, -ENOMEM, "manifest: out of memory");
        goto fail;
    }
    out->nbags = (size_t)nb;
    for (i = 0; i < nb; i++) {
        bag_keys[i] = atoll(PQgetvalue(r, i, 0));
        snprintf(out->bags[i].bag_id, sizeof(out->bags[i].bag_id), "%s", PQgetvalue(r, i, 1));
        snprintf(out->bags[i].chute, sizeof(out->bags[i].chute), "%s", PQgetvalue(r, i, 2));
        out->bags[i].gross_weight_g = atoi(PQgetvalue(r, i, 3));
    }
    PQclear(r);
    r = NULL;
    rp = wcs_db_query(c, "manifest: parcels", SQL_MANIFEST_PARCELS, 1, p, e);
    if (rp == NULL)
        goto fail;
    /* Rows come in bag order; count each bag's, then fill. */
    for (k = 0; k < PQntuples(rp); k++) {
        int64_t bag = atoll(PQgetvalue(rp, k, 0));
        while (bi < out->nbags && bag_keys[bi] != bag)
            bi++;
        if (bi == out->nbags) {
            err_set(e, ERR_DB, "manifest: parcel rows out of bag order");
            goto fail;
        }
        out->bags[bi].nparcels++;
    }
    for (bi = 0; bi < out->nbags; bi++) {
        out->bags[bi].parcels = calloc(out->bags[bi].nparcels ? out->bags[bi].nparcels : 1,
                                       sizeof(struct wcs_manifest_parcel));
        if (out->bags[bi].parcels == NULL) {
            err_set(e, -ENOMEM, "manifest: out of memory");
            goto fail;
        }
        out->bags[bi].nparcels = 0;
    }
    bi = 0;
    for (k = 0; k < PQntuples(rp); k++) {
        int64_t bag = atoll(PQgetvalue(rp, k, 0));
        struct wcs_manifest_parcel *mp;

        while (bag_keys[bi] != bag)
            bi++;
        mp = &out->bags[bi].parcels[out->bags[bi].nparcels++];
        snprintf(mp->code, sizeof(mp->code), "%s", PQgetvalue(rp, k, 1));
        mp->weight_g = atoi(PQgetvalue(rp, k, 2));
    }
    PQclear(rp);
    free(bag_keys);
    return 0;
fail:
    PQclear(r);
    PQclear(rp);
    free(bag_keys);
    wcs_manifest_free(out);
    return e && e->code ? e->code : ERR_DB;
}

static const char SQL_BAG_LABEL[] =
    "SELECT b.bag_id, coalesce(b.route, ''), coalesce(b.weight_g, 0),"
    " (SELECT count(*) FROM bag_parcels p WHERE p.bag = b.id),"
    " to_char(b.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"
    " coalesce(r.mode, ''), coalesce(r.crossing, '')"
    " FROM bags b LEFT JOIN LATERAL (SELECT mode, crossing FROM routes"
    "  WHERE route = b.route ORDER BY version DESC LIMIT 1) r ON true"
    " WHERE b.bag_id = $1 AND b.closed_at IS NOT NULL";

int wcs_db_bag_label(PGconn *c, const char *bag_id, struct wcs_bag_label *out, struct err *e)
{
    PGresult *r = wcs_db_query(c, "bag label", SQL_BAG_LABEL, 1, &bag_id, e);
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "bag label: no closed bag %s", bag_id);
    }
    snprintf(out->bag_id, sizeof(out->bag_id), "%s", PQgetvalue(r, 0, 0));
    snprintf(out->route, sizeof(out->route), "%s", PQgetvalue(r, 0, 1));
    out->weight_g = atoi(PQgetvalue(r, 0, 2));
    out->parcels = atoi(PQgetvalue(r, 0, 3));
    snprintf(out->closed_at, sizeof(out->closed_at), "%s", PQgetvalue(r, 0, 4));
    snprintf(out->mode, sizeof(out->mode), "%s", PQgetvalue(r, 0, 5));
    snprintf(out->crossing, sizeof(out->crossing), "%s", PQgetvalue(r, 0, 6));
    PQclear(r);
    rc = wcs_receptacle_parse(out->bag_id, &out->r, e);
    return rc < 0 ? ERR_INVALID : 0;
}

int wcs_db_bag_last_closed(PGconn *c, const char *line, const char *chute,
                           char bag_id[WCS_RECEPTACLE_LEN + 1], struct err *e)
{
    const char *p[2] = {chute, line};
    PGresult *r = wcs_db_query(c, "last bag",
                               "SELECT bag_id FROM bags WHERE chute = $1 AND closed_at IS NOT NULL"
                               " AND bag_id IS NOT NULL AND (line IS NULL OR line = $2)"
                               " ORDER BY closed_at DESC, id DESC LIMIT 1",
                               2, p, e);
    int rc = 0;

    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) != 1)
        rc = err_set(e, ERR_NOTFOUND, "no closed bag at chute %s", chute);
    else
        snprintf(bag_id, WCS_RECEPTACLE_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

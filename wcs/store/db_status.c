/*
 * db_status.c - read-only queries for operators: the active plan version,
 * a summary of the store, and a parcel's event trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wcs/store/events.h"
#include "wcs/store/store.h"

int wcs_db_plan_active_version(PGconn *c, int *version, struct err *e)
{
    PGresult *r = PQexecParams(c, "SELECT version FROM sortplan_versions WHERE active", 0, NULL,
                               NULL, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        err_set(e, ERR_DB, "active plan version: %s", PQerrorMessage(c));
        PQclear(r);
        return ERR_DB;
    }
    *version = PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return 0;
}

int wcs_db_status(PGconn *c, struct wcs_db_status *out, struct err *e)
{
    static const char sql[] =
        "SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations),"
        " (SELECT coalesce(max(version), 0) FROM sortplan_versions WHERE active),"
        " (SELECT count(*) FROM parcels),"
        " (SELECT count(*) FROM parcel_ids),"
        " (SELECT CASE WHEN c.reltuples > 1000000 THEN c.reltuples::bigint"
        "         ELSE (SELECT count(*) FROM events) END"
        "    FROM pg_class c WHERE c.oid = 'events'::regclass),"
        " (SELECT coalesce(to_char(max(at) AT TIME ZONE 'UTC',"
        "         'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '') FROM events)";
    PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        err_set(e, ERR_DB, "status: %s", PQerrorMessage(c));
        PQclear(r);
        return ERR_DB;
    }
    memset(out, 0, sizeof(*out));
    out->schema_version = atoi(PQgetvalue(r, 0, 0));
    out->plan_version = atoi(PQgetvalue(r, 0, 1));
    out->parcels = atoll(PQgetvalue(r, 0, 2));
    out->parcel_ids = atoll(PQgetvalue(r, 0, 3));
    out->events = atoll(PQgetvalue(r, 0, 4));
    snprintf(out->last_event_at, sizeof(out->last_event_at), "%s", PQgetvalue(r, 0, 5));
    PQclear(r);
    return 0;
}

int wcs_db_event_local_id(PGconn *c, int64_t *id, struct err *e)
{
    PGresult *r = PQexecParams(c, "SELECT nextval('events_local_id_seq')", 0, NULL, NULL, NULL,
                               NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        err_set(e, ERR_DB, "event id: %s", PQerrorMessage(c));
        PQclear(r);
        return ERR_DB;
    }
    *id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int wcs_db_operator_event(PGconn *c, const char *actor, const char *parcel_code,
                          const char *chute, const char *detail, struct err *e)
{
    struct wcs_event ev;
    struct timespec ts;
    int rc;

    memset(&ev, 0, sizeof(ev));
    rc = wcs_db_event_local_id(c, &ev.id, e);
    if (rc < 0)
        return rc;
    clock_gettime(CLOCK_REALTIME, &ts);
    ev.at_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    ev.kind = WCS_EVENT_OPERATOR;
    snprintf(ev.parcel_code, sizeof(ev.parcel_code), "%s", parcel_code ? parcel_code : "");
    snprintf(ev.chute, sizeof(ev.chute), "%s", chute ? chute : "");
    snprintf(ev.source, sizeof(ev.source), "%s", actor);
    snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
    return wcs_db_events_copy(c, &ev, 1, e);
}

int wcs_db_summary(PGconn *c, int64_t since_us, wcs_summary_cb cb, void *arg, struct err *e)
{
    static const char sql[] =
        "SELECT kind, coalesce(reason, ''), count(*) FROM events"
        " WHERE at >= to_timestamp($1::bigint / 1e6) AND kind IN ('decision', 'confirm')"
        " GROUP BY 1, 2"
        " UNION ALL"
        " SELECT 'chute', chute, count(*) FROM events"
        " WHERE at >= to_timestamp($1::bigint / 1e6) AND kind = 'confirm'"
        " AND reason = 'SORTED__' GROUP BY 2"
        " ORDER BY 1 DESC, 2";
    char since[24];
    const char *params[1] = {since};
    PGresult *r;
    int i, rc = 0;

    snprintf(since, sizeof(since), "%lld", (long long)since_us);
    r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        err_set(e, ERR_DB, "summary: %s", PQerrorMessage(c));
        PQclear(r);
        return ERR_DB;
    }
    for (i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = cb(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), atoll(PQgetvalue(r, i, 2)));
    PQclear(r);
    return rc;
}

static void copy_field(char *dst, size_t len, PGresult *r, int row, int col)
{
    snprintf(dst, len, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* Runs sql (the columns of an event, in table order) and calls cb per row. */
static int stream_events(PGconn *c, const char *what, const char *sql, int n,
                         const char *const *params, wcs_event_cb cb, void *arg, struct err *e)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    int i, k, rc = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        err_set(e, ERR_DB, "%s: %s", what, PQerrorMessage(c));
        PQclear(r);
        return ERR_DB;
    }
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct wcs_event ev;
        const char *kind = PQgetvalue(r, i, 2);

        memset(&ev, 0, sizeof(ev));
        ev.id = atoll(PQgetvalue(r, i, 0));
        ev.at_us = atoll(PQgetvalue(r, i, 1));
        ev.kind = WCS_EVENT_SYSTEM;
        for (k = 0; k < WCS_EVENT_KIND_COUNT; k++)
            if (strcmp(kind, wcs_event_kind_name((enum wcs_event_kind)k)) == 0)
                ev.kind = (uint8_t)k;
        copy_field(ev.parcel_code, sizeof(ev.parcel_code), r, i, 3);
        copy_field(ev.location, sizeof(ev.location), r, i, 4);
        copy_field(ev.chute, sizeof(ev.chute), r, i, 5);
        copy_field(ev.reason, sizeof(ev.reason), r, i, 6);
        copy_field(ev.source, sizeof(ev.source), r, i, 7);
        copy_field(ev.detail, sizeof(ev.detail), r, i, 8);
        rc = cb(arg, &ev);
    }
    PQclear(r);
    return rc;
}

#define EVENT_COLUMNS                                                                           \
    "SELECT e.id, (extract(epoch FROM e.at) * 1000000)::bigint, e.kind, e.parcel_code,"         \
    " e.location, e.chute, e.reason, e.source, e.detail FROM events e"

int wcs_db_parcel_events(PGconn *c, int64_t parcel_id, wcs_event_cb cb, void *arg,
                         struct err *e)
{
    static const char sql[] = EVENT_COLUMNS " WHERE e.parcel_code IN"
                              " (SELECT code FROM parcel_ids WHERE parcel_id = $1"
                              "  UNION SELECT code FROM parcels WHERE id = $1)"
                              " ORDER BY e.at, e.id";
    char idbuf[24];
    const char *params[1] = {idbuf};

    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)parcel_id);
    return stream_events(c, "parcel events", sql, 1, params, cb, arg, e);
}

int wcs_db_operator_events(PGconn *c, int64_t since_us, const char *actor, wcs_event_cb cb,
                           void *arg, struct err *e)
{
    static const char sql[] = EVENT_COLUMNS " WHERE e.kind = 'operator'"
                              " AND e.at >= to_timestamp($1::bigint / 1e6)"
                              " AND ($2::text IS NULL OR e.source IN ($2, 'wcsctl:' || $2))"
                              " ORDER BY e.at, e.id";
    char sbuf[24];
    const char *params[2] = {sbuf, actor};

    snprintf(sbuf, sizeof(sbuf), "%lld", (long long)since_us);
    return stream_events(c, "operator events", sql, 2, params, cb, arg, e);
}

/*
 * db_console.c - what the operator console keeps and reads
 * (console_store.h): alarms, chute holds, a user's language, and the read
 * views, each one statement whose JSON PostgreSQL builds (json_build_object,
 * json_agg), so wcsd passes it on without a struct per view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/store/console_store.h"
#include "wcs/store/db_internal.h"

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
#define US_TO_TS(p) "to_timestamp(" p "::bigint / 1e6)"

static const char SQL_ALARM_PUT[] =
    "INSERT INTO alarms (id, node, kind, subject, severity, text, raised_at, cleared_at,"
    " acked_by, acked_at, version) VALUES ($1, $2, $3, $4, $5, $6, " US_TO_TS("$7") ","
    " CASE WHEN $8::bigint = 0 THEN NULL ELSE " US_TO_TS("$8") " END, nullif($9, ''),"
    " CASE WHEN $10::bigint = 0 THEN NULL ELSE " US_TO_TS("$10") " END, $11)"
    " ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text, cleared_at = EXCLUDED.cleared_at,"
    " acked_by = EXCLUDED.acked_by, acked_at = EXCLUDED.acked_at, version = EXCLUDED.version"
    " WHERE alarms.version < EXCLUDED.version";

int wcs_db_alarm_put(PGconn *c, const char *node, const struct wcs_alarm *a, struct err *e)
{
    char raised[24], cleared[24], acked[24], version[16];
    const char *p[11] = {a->id,      node,    wcs_alarm_kind_name((enum wcs_alarm_kind)a->kind),
                         a->subject, wcs_alarm_severity_name((enum wcs_alarm_severity)a->severity),
                         a->text,    raised,  cleared,
                         a->acked_by, acked,  version};

    snprintf(raised, sizeof(raised), "%lld", (long long)a->raised_us);
    snprintf(cleared, sizeof(cleared), "%lld", (long long)a->cleared_us);
    snprintf(acked, sizeof(acked), "%lld", (long long)a->acked_us);
    snprintf(version, sizeof(version), "%u", a->version);
    return wcs_db_command(c, "alarm", SQL_ALARM_PUT, 11, p, e);
}

static const char SQL_ALARMS_RECENT[] =
    "SELECT id, kind, subject, severity, text, (extract(epoch FROM raised_at) * 1e6)::bigint,"
    " coalesce((extract(epoch FROM cleared_at) * 1e6)::bigint, 0), coalesce(acked_by, ''),"
    " coalesce((extract(epoch FROM acked_at) * 1e6)::bigint, 0), version FROM alarms"
    " WHERE node = $1 AND (cleared_at IS NULL OR cleared_at >= " US_TO_TS("$2") ")"
    " ORDER BY raised_at";

int wcs_db_alarms_recent(PGconn *c, const char *node, int64_t since_us, wcs_alarm_cb cb,
                         void *arg, struct err *e)
{
    char since[24];
    const char *p[2] = {node, since};
    PGresult *r;
    int i, nt, rc = 0;

    snprintf(since, sizeof(since), "%lld", (long long)since_us);
    r = wcs_db_query(c, "alarms", SQL_ALARMS_RECENT, 2, p, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt && rc == 0; i++) {
        struct wcs_alarm a;
        enum wcs_alarm_kind k;

        memset(&a, 0, sizeof(a));
        if (wcs_alarm_kind_parse(PQgetvalue(r, i, 1), &k) < 0)
            continue; /* a kind of a newer wcsd */
        snprintf(a.id, sizeof(a.id), "%s", PQgetvalue(r, i, 0));
        a.kind = (uint8_t)k;
        snprintf(a.subject, sizeof(a.subject), "%s", PQgetvalue(r, i, 2));
        a.severity = strcmp(PQgetvalue(r, i, 3), "critical") == 0  ? WCS_ALARM_CRITICAL
                     : strcmp(PQgetvalue(r, i, 3), "warning") == 0 ? WCS_ALARM_WARNING
                                                                    : WCS_ALARM_INFO;
        snprintf(a.text, sizeof(a.text), "%s", PQgetvalue(r, i, 4));
        a.raised_us = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        a.cleared_us = strtoll(PQgetvalue(r, i, 6), NULL, 10);
        snprintf(a.acked_by, sizeof(a.acked_by), "%s", PQgetvalue(r, i, 7));
        a.acked_us = strtoll(PQgetvalue(r, i, 8), NULL, 10);
        a.version = (uint32_t)strtoul(PQgetvalue(r, i, 9), NULL, 10);
        rc = cb(arg, &a);
    }
    PQclear(r);
    return rc;
}

int wcs_db_chute_hold(PGconn *c, const char *node, const char *chute, bool held,
                      const char *actor, struct err *e)
{
    const char *p[3] = {chute, actor, node}, *q[2] = {chute, node};
    char detail[64];
    int rc = wcs_db_begin(c, "chute hold", e);

    if (rc < 0)
        return rc;
    rc = held ? wcs_db_command(c, "chute hold",
                               "INSERT INTO chute_holds (node, chute, held_by) VALUES ($3, $1, $2)"
                               " ON CONFLICT (node, chute) DO UPDATE SET held_by = $2,"
                               " held_at = now()",
                               3, p, e)
              : wcs_db_command(c, "chute hold",
                               "DELETE FROM chute_holds WHERE chute = $1 AND node = $2", 2, q,
                               e);
    snprintf(detail, sizeof(detail), "chute %s %s", chute, held ? "disabled" : "enabled");
    if (rc == 0)
        rc = wcs_db_operator_event(c, actor, NULL, chute, detail, e);
    if (rc == 0)
        rc = wcs_db_commit(c, "chute hold", e);
    if (rc < 0)
        wcs_db_rollback(c);
    return rc;
}

int wcs_db_chute_holds(PGconn *c, const char *node, wcs_chute_hold_cb cb, void *arg,
                       struct err *e)
{
    const char *p[1] = {node};
    PGresult *r = wcs_db_query(c, "chute holds",
                               "SELECT chute, held_by FROM chute_holds WHERE node = $1", 1, p, e);
    int i, rc = 0;

    if (r == NULL)
        return ERR_DB;
    for (i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = cb(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return rc;
}

int wcs_db_user_set_language(PGconn *c, const char *name, const char *language, struct err *e)
{
    const char *p[2] = {name, language};
    PGresult *r;
    int rc = 0;

    if (strcmp(language, "en") != 0 && strcmp(language, "zh") != 0)
        return err_set(e, ERR_INVALID, "language: en or zh");
    r = wcs_db_query(c, "language", "UPDATE users SET language = $2 WHERE name = $1 RETURNING 1",
                     2, p, e);
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) != 1)
        rc = err_set(e, ERR_NOTFOUND, "language: no user %s", name);
    PQclear(r);
    return rc;
}

/* --- the read views ------------------------------------------------------- */

#define EVENT_JSON                                                                              \
    "json_build_object('at', " MS("e.at") ", 'kind', e.kind, 'code', e.parcel_code,"            \
    " 'location', e.location, 'chute', e.chute, 'reason', e.reason, 'source', e.source,"        \
    " 'detail', e.detail)"

/* A chute's state when decision d was taken: the last state its PLC
 * reported before (LOCU), or disabled by an operator (the last hold or
 * release before), named as the engine names them (wcs_chute_status_name). */
#define STATE_THEN(c)                                                                           \
    "CASE WHEN coalesce((SELECT o.detail LIKE '% disabled' FROM events o WHERE o.kind ="      \
    " 'operator' AND o.chute = " c " AND o.detail ~ '^chute \\S+ (dis|en)abled$' AND o.at <="  \
    " d.at ORDER BY o.at DESC LIMIT 1), false) THEN 'disabled_operator' ELSE"                   \
    " CASE (SELECT s.reason FROM events s WHERE s.kind = 'system' AND s.chute = " c             \
    " AND s.at <= d.at ORDER BY s.at DESC LIMIT 1) WHEN 'FULL____' THEN 'full' WHEN"            \
    " 'DISABLED' THEN 'disabled_plc' WHEN 'FAULT___' THEN 'fault' ELSE 'active' END END"

/* The group of route r of plan version v as it was at d.at. */
#define GROUP_THEN(v, r)                                                                        \
    "(SELECT json_agg(json_build_object('chute', g.chute, 'state', " STATE_THEN("g.chute")      \
    ", 'chosen', g.chute = d.chute) ORDER BY g.ord) FROM routes rt, unnest(rt.chutes)"          \
    " WITH ORDINALITY AS g(chute, ord) WHERE rt.version = " v " AND rt.route = " r ")"

/* The last decision of a trace, from its record: when, the route, plan
 * version and rule line that matched (and whether the route was the
 * matched one's fallback), and the chutes of the route's group (and of the
 * matched route's, for a fallback) in the state they were in then. */
#define THEN_JSON                                                                               \
    "json_build_object('at', " MS("d.at") ", 'chute', d.chute, 'route', d.m[1],"               \
    " 'plan_version', d.m[2]::int, 'rule_line', d.m[3]::int, 'fallback', d.m[4] IS NOT NULL,"   \
    " 'group', " GROUP_THEN("d.m[2]::int", "d.m[1]") ", 'matched_group', CASE WHEN d.m[4] IS"   \
    " NOT NULL THEN " GROUP_THEN("d.m[2]::int", "(SELECT ru.route FROM sortplan_rules ru"     \
    " WHERE ru.version = d.m[2]::int AND ru.line = d.m[3]::int LIMIT 1)") " END)"

static const char *const view_sql[WCS_VIEW_COUNT] = {
    [WCS_VIEW_CHUTE] =
        "SELECT json_build_object("
        " 'recent', (SELECT coalesce(json_agg(json_build_object('code', x.parcel_code, 'at',"
        "   " MS("x.at") ", 'reason', x.reason, 'tracking', substring(x.detail from"
        "   '^tracking ([0-9]+)')) ORDER BY x.at DESC), '[]') FROM (SELECT * FROM"
        "   events e WHERE e.kind = 'confirm' AND e.reason = 'SORTED__' AND e.chute = $1"
        "   ORDER BY e.at DESC LIMIT 20) x),"
        " 'open_parcels', (SELECT count(*) FROM events e WHERE e.kind = 'confirm'"
        "   AND e.reason = 'SORTED__' AND e.chute = $1"
        "   AND NOT EXISTS (SELECT 1 FROM bag_events b WHERE b.event_id = e.id)),"
        " 'bags', (SELECT coalesce(json_agg(json_build_object('bag_id', b.bag_id, 'closed_at',"
        "   " MS("b.closed_at") ", 'parcels', (SELECT count(*) FROM bag_parcels p WHERE p.bag = b.id),"
        "   'weight_g', b.weight_g) ORDER BY b.closed_at DESC), '[]') FROM (SELECT * FROM bags"
        "   WHERE chute = $1 AND closed_at IS NOT NULL ORDER BY closed_at DESC LIMIT 10) b),"
        " 'history', (SELECT coalesce(json_agg(json_build_object('at', " MS("e.at") ", 'user',"
        "   e.source, 'text', e.detail) ORDER BY e.at DESC), '[]') FROM (SELECT * FROM events e"
        "   WHERE e.kind = 'operator' AND e.chute = $1"
        "   ORDER BY e.at DESC LIMIT 20) e))",
    [WCS_VIEW_TRACE] =
        "WITH p AS (SELECT * FROM parcels WHERE id = (SELECT parcel_id FROM parcel_ids"
        "   WHERE code = $1 UNION ALL SELECT id FROM parcels WHERE code = $1 LIMIT 1)),"
        " codes AS (SELECT $1::text AS code UNION SELECT code FROM p"
        "   UNION SELECT i.code FROM parcel_ids i JOIN p ON i.parcel_id = p.id)"
        " ,ev AS (SELECT * FROM events e WHERE e.parcel_code IN (SELECT code FROM codes)"
        "   UNION ALL SELECT * FROM events e WHERE $1 ~ '^[0-9]{10}$' AND e.parcel_code IS NULL"
        "   AND e.detail LIKE 'tracking %' AND substring(e.detail from '^tracking ([0-9]+)') = $1)"
        " SELECT CASE WHEN EXISTS (SELECT 1 FROM p) OR EXISTS (SELECT 1 FROM ev)"
        " THEN json_build_object('code', $1::text,"
        " 'parcel', (SELECT json_build_object('code', code, 'service', service, 'country',"
        "   recipient_country, 'postal_code', postal_code, 'recipient_name', recipient_name,"
        "   'recipient_city', recipient_city, 'recipient_address', recipient_address,"
        "   'weight_g', weight_g, 'length_mm', length_mm, 'width_mm', width_mm, 'height_mm',"
        "   height_mm, 'declared_value', declared_value, 'currency', currency,"
        "   'item_description', item_description, 'hs_code', hs_code, 'customs_status',"
        "   customs_status, 'codes', (SELECT json_agg(code) FROM codes)) FROM p),"
        " 'customs', (SELECT json_build_object('status', d.status, 'broker_ref', d.broker_ref,"
        "   'errors', coalesce(d.errors, '[]'::jsonb)) FROM declarations d"
        "   WHERE d.parcel_id IN (SELECT code FROM codes) LIMIT 1),"
        " 'events', (SELECT coalesce(json_agg(" EVENT_JSON " ORDER BY e.at, e.id), '[]')"
        "   FROM ev e),"
        " 'then', (SELECT " THEN_JSON " FROM (SELECT e.at, e.chute, regexp_match(e.detail,"
        "   'route (\\S+) plan v([0-9]+) rule line ([0-9]+)( fallback)?') AS m FROM ev e"
        "   WHERE e.kind = 'decision' ORDER BY e.at DESC, e.id DESC LIMIT 1) d"
        "   WHERE d.m IS NOT NULL)) END",
    [WCS_VIEW_BAGS] =
        "SELECT json_build_object('bags', coalesce(json_agg(json_build_object('bag_id', b.bag_id,"
        " 'chute', b.chute, 'route', b.route, 'closed_at', " MS("b.closed_at") ", 'parcels',"
        " (SELECT count(*) FROM bag_parcels p WHERE p.bag = b.id), 'weight_g', b.weight_g,"
        " 'dispatch', d.manifest_id) ORDER BY b.closed_at DESC), '[]')) FROM (SELECT * FROM bags"
        " WHERE closed_at IS NOT NULL ORDER BY closed_at DESC LIMIT 200) b"
        " LEFT JOIN dispatches d ON d.id = b.dispatch_id",
    [WCS_VIEW_DISPATCHES] =
        "SELECT json_build_object('dispatches', coalesce(json_agg(json_build_object('id',"
        " d.manifest_id, 'route', d.route, 'transport', d.transport, 'crossing',"
        " d.border_crossing, 'departure', d.departure_text, 'carrier', d.carrier, 'state', d.status,"
        " 'bags',"
        " (SELECT count(*) FROM bags b WHERE b.dispatch_id = d.id), 'parcels', (SELECT count(*)"
        " FROM bag_parcels p JOIN bags b ON b.id = p.bag WHERE b.dispatch_id = d.id), 'weight_g',"
        " (SELECT coalesce(sum(weight_g), 0) FROM bags b WHERE b.dispatch_id = d.id), 'manifest',"
        " json_build_object('ref', d.manifest_ref, 'error', d.manifest_error, 'unknown',"
        " d.manifest_unknown, 'at', " MS("d.manifest_at") ")) ORDER BY d.created_at DESC), '[]'))"
        " FROM (SELECT * FROM dispatches ORDER BY created_at DESC LIMIT 100) d",
    [WCS_VIEW_PLANS] =
        "SELECT json_build_object('active', (SELECT version FROM sortplan_versions WHERE active),"
        " 'plans', coalesce(json_agg(json_build_object('version', version, 'source', source_name,"
        " 'loaded_at', " MS("loaded_at") ", 'activated_at', " MS("activated_at") ", 'active',"
        " active) ORDER BY version DESC), '[]')) FROM sortplan_versions",
    [WCS_VIEW_AUDIT] =
        "SELECT json_build_object('events', coalesce(json_agg(json_build_object('at', " MS("e.at")
        ", 'user', e.source, 'text', e.detail, 'code', e.parcel_code, 'chute', e.chute)"
        " ORDER BY e.at DESC, e.id DESC), '[]')) FROM (SELECT * FROM events e WHERE"
        " e.kind = 'operator' AND e.at >= now() - make_interval(hours => $1::int)"
        " ORDER BY e.at DESC LIMIT 1000) e",
    [WCS_VIEW_USERS] =
        "SELECT json_build_object('users', coalesce(json_agg(json_build_object('name', name,"
        " 'role', role, 'active', disabled_at IS NULL, 'language', language, 'created_at',"
        " " MS("created_at") ") ORDER BY name), '[]')) FROM users",
};

static const char *const view_names[WCS_VIEW_COUNT] = {
    [WCS_VIEW_CHUTE] = "chute",         [WCS_VIEW_TRACE] = "trace",
    [WCS_VIEW_BAGS] = "bags",           [WCS_VIEW_DISPATCHES] = "dispatches",
    [WCS_VIEW_PLANS] = "plans",         [WCS_VIEW_AUDIT] = "audit",
    [WCS_VIEW_USERS] = "users",
};

int wcs_db_console_view(PGconn *c, enum wcs_console_view v, const char *arg, char **out,
                        struct err *e)
{
    int nparams = v == WCS_VIEW_CHUTE || v == WCS_VIEW_TRACE || v == WCS_VIEW_AUDIT;
    PGresult *r;

    *out = NULL;
    if ((unsigned)v >= WCS_VIEW_COUNT)
        return err_set(e, ERR_INVALID, "console view %d", (int)v);
    r = wcs_db_query(c, view_names[v], view_sql[v], nparams, &arg, e);
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 1 && PQgetisnull(r, 0, 0)) { /* TRACE: nobody's code */
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "no parcel and no event for this code");
    }
    if (PQntuples(r) == 1)
        *out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return *out != NULL ? 0 : err_set(e, ERR_DB, "%s: no answer", view_names[v]);
}

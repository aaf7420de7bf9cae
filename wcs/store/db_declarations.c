/*
 * db_declarations.c - the operator's read views of customs (declarations.h):
 * every statement of the problem list and of one declaration is here.
 */
#include "wcs/store/declarations.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/store/db_internal.h"

#define AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

/* $1: the kinds wanted (text[]), NULL = all. Ordered by kind as documented,
 * then by time. */
static const char SQL_PROBLEMS[] =
    "SELECT kind, ref, detail, text, at FROM ("
    " SELECT 0 AS o, 'worker' AS kind, ref, NULL AS detail, kind || ': ' || text || ' ('"
    "  || count || CASE WHEN count = 1 THEN ' time' ELSE ' times' END || ' since '"
    "  || " AT("first_at") " || ' UTC, broker ' || broker || ', worker ' || owner || ')' AS text,"
    "  last_at AS t FROM customs_alarms WHERE cleared_at IS NULL"
    " UNION ALL SELECT 1, 'invalid', parcel_id, errors::text, NULL, updated_at"
    "  FROM declarations WHERE status = 'invalid'"
    " UNION ALL SELECT 2, 'rejected', parcel_id, errors::text, NULL, updated_at"
    "  FROM declarations WHERE status = 'rejected'"
    " UNION ALL SELECT 3, 'held', p.code, NULL, ("
    "   SELECT coalesce(e.reason, '') FROM customs_events e JOIN parcel_ids i ON i.code = e.parcel_id"
    "   WHERE i.parcel_id = p.id AND e.type = 'held' ORDER BY e.stored_at DESC LIMIT 1),"
    "  p.updated_at FROM parcels p WHERE p.customs_status = 'held'"
    " UNION ALL SELECT 4, 'manifest', manifest_id, manifest_unknown::text, manifest_error,"
    "  coalesce(manifest_at, closed_at) FROM dispatches"
    "  WHERE manifest_error IS NOT NULL OR jsonb_array_length(manifest_unknown) > 0"
    " UNION ALL SELECT 5, 'duty', parcel_id, NULL,"
    "  'estimated duty ' || to_char(duty_cents / 100.0, 'FM999999990.00') || ' EUR: ' || duty_note,"
    "  updated_at FROM declarations WHERE duty_cents > 0 AND status <> 'invalid'"
    " UNION ALL SELECT 6, 'warning', parcel_id, warnings::text, NULL, updated_at"
    "  FROM declarations WHERE warnings IS NOT NULL AND status IN ('pending', 'accepted')"
    ") x(o, kind, ref, detail, text, t0)"
    " CROSS JOIN LATERAL (SELECT " AT("t0") ") y(at)"
    " WHERE $1::text[] IS NULL OR kind = ANY ($1::text[]) ORDER BY o, t0, ref";

int wcs_db_customs_problems(PGconn *c, const char *const *kinds, wcs_customs_problem_cb cb,
                            void *arg, struct err *e)
{
    char list[256];
    const char *p[1] = {NULL};
    size_t len = 0;
    PGresult *r;
    int i, nt, rc = 0;

    if (kinds != NULL) {
        /* A text[] literal; kinds are plain words, checked by the caller. */
        len = (size_t)snprintf(list, sizeof(list), "{");
        for (i = 0; kinds[i] != NULL && len < sizeof(list); i++)
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? "," : "", kinds[i]);
        if (len >= sizeof(list) - 1)
            return err_set(e, ERR_INVALID, "customs problems: too many kinds");
        snprintf(list + len, sizeof(list) - len, "}");
        p[0] = list;
    }
    r = wcs_db_query(c, "customs problems", SQL_PROBLEMS, 1, p, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt && rc == 0; i++) {
        struct wcs_customs_problem q;

        q.kind = PQgetvalue(r, i, 0);
        q.ref = PQgetvalue(r, i, 1);
        q.detail = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);
        q.text = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
        q.at = PQgetvalue(r, i, 4);
        rc = cb(arg, &q);
    }
    PQclear(r);
    return rc;
}

static const char SQL_ALARMS[] =
    "SELECT broker, kind, ref, owner, coalesce(http_status, 0), text, count, " AT("first_at") ","
    " " AT("last_at") " FROM customs_alarms WHERE cleared_at IS NULL ORDER BY last_at, broker, kind,"
    " ref";

int wcs_db_customs_alarms(PGconn *c, wcs_customs_alarm_cb cb, void *arg, struct err *e)
{
    PGresult *r = wcs_db_query(c, "customs alarms", SQL_ALARMS, 0, NULL, e);
    int i, nt, rc = 0;

    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt && rc == 0; i++) {
        struct wcs_customs_alarm a;

        a.broker = PQgetvalue(r, i, 0);
        a.kind = PQgetvalue(r, i, 1);
        a.ref = PQgetvalue(r, i, 2);
        a.owner = PQgetvalue(r, i, 3);
        a.http_status = atoi(PQgetvalue(r, i, 4));
        a.text = PQgetvalue(r, i, 5);
        a.count = strtoll(PQgetvalue(r, i, 6), NULL, 10);
        a.first_at = PQgetvalue(r, i, 7);
        a.last_at = PQgetvalue(r, i, 8);
        rc = cb(arg, &a);
    }
    PQclear(r);
    return rc;
}

static const char SQL_ALARMS_OPEN[] = "SELECT count(*) FROM customs_alarms WHERE cleared_at IS NULL";
static const char SQL_MANIFESTS_REFUSED[] =
    "SELECT count(*) FROM dispatches WHERE manifest_error IS NOT NULL"
    " AND manifest_at >= now() - interval '24 hours'";

/* The one number a counting statement answers. */
static int count(PGconn *c, const char *what, const char *sql, long long *n, struct err *e)
{
    PGresult *r = wcs_db_query(c, what, sql, 0, NULL, e);

    if (r == NULL)
        return ERR_DB;
    *n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

int wcs_db_customs_alarms_open(PGconn *c, long long *n, struct err *e)
{
    return count(c, "customs alarms", SQL_ALARMS_OPEN, n, e);
}

int wcs_db_manifests_refused(PGconn *c, long long *n, struct err *e)
{
    return count(c, "manifests refused", SQL_MANIFESTS_REFUSED, n, e);
}

static const char SQL_DECLARATION[] =
    "SELECT d.parcel_id, d.status, d.body::text, d.broker_ref, d.errors::text, d.warnings::text,"
    " coalesce(d.duty_cents, -1), d.duty_note, p.customs_status,"
    " (SELECT CASE WHEN o.batch_key IS NULL THEN 'queued'"
    "   ELSE 'batch ' || o.batch_key || ', attempt ' || o.attempts"
    "    || coalesce(', leased by ' || o.lease_owner || ' until ' || " AT("o.lease_until") ", '')"
    "   END FROM customs_outbox o WHERE o.kind = 'declaration' AND o.payload_ref = d.parcel_id"
    "   AND o.done_at IS NULL),"
    " (SELECT json_agg(json_build_object('type', e.type, 'reason', e.reason, 'at', e.at,"
    "   'duty_value', e.duty_value, 'duty_currency', e.duty_currency) ORDER BY e.stored_at)::text"
    "  FROM customs_events e JOIN parcel_ids k ON k.code = e.parcel_id WHERE k.parcel_id = p.id),"
    " " AT("d.updated_at")
    " FROM parcel_ids i JOIN parcels p ON p.id = i.parcel_id"
    " JOIN parcel_ids j ON j.parcel_id = p.id JOIN declarations d ON d.parcel_id = j.code"
    " WHERE i.code = $1 ORDER BY d.updated_at DESC LIMIT 1";

static char *dup_col(PGresult *r, int col, int *oom)
{
    char *s;

    if (PQgetisnull(r, 0, col))
        return NULL;
    s = strdup(PQgetvalue(r, 0, col));
    if (s == NULL)
        *oom = 1;
    return s;
}

int wcs_db_declaration_get(PGconn *c, const char *code, struct wcs_declaration_row *out,
                           struct err *e)
{
    const char *p[1] = {code};
    PGresult *r;
    int oom = 0;

    memset(out, 0, sizeof(*out));
    r = wcs_db_query(c, "declaration", SQL_DECLARATION, 1, p, e);
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "%s: no parcel with this code has a declaration", code);
    }
    out->parcel_id = dup_col(r, 0, &oom);
    out->status = dup_col(r, 1, &oom);
    out->body = dup_col(r, 2, &oom);
    out->broker_ref = dup_col(r, 3, &oom);
    out->errors = dup_col(r, 4, &oom);
    out->warnings = dup_col(r, 5, &oom);
    out->duty_cents = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
    out->duty_note = dup_col(r, 7, &oom);
    out->customs_status = dup_col(r, 8, &oom);
    out->outbox = dup_col(r, 9, &oom);
    out->events = dup_col(r, 10, &oom);
    out->updated_at = dup_col(r, 11, &oom);
    PQclear(r);
    if (oom) {
        wcs_declaration_row_free(out);
        return err_set(e, -ENOMEM, "declaration: out of memory");
    }
    return 0;
}

void wcs_declaration_row_free(struct wcs_declaration_row *r)
{
    free(r->parcel_id);
    free(r->status);
    free(r->body);
    free(r->broker_ref);
    free(r->errors);
    free(r->warnings);
    free(r->duty_note);
    free(r->customs_status);
    free(r->outbox);
    free(r->events);
    free(r->updated_at);
    memset(r, 0, sizeof(*r));
}

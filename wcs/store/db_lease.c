/*
 * db_lease.c - the statements of a line's lease (lease.h); the rules are
 * in the database's functions (migration 0020), one call each here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/store/db_internal.h"
#include "wcs/store/lease.h"

/* ERR_CONFLICT for the functions' own refusals (a node_id two lines would
 * share), ERR_DB for the rest. */
static int lease_fail(PGconn *c, PGresult *r, const char *what, struct err *e)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int rc;

    if (msg == NULL)
        msg = PQerrorMessage(c);
    rc = err_set(e, state != NULL && strcmp(state, "WL001") == 0 ? ERR_CONFLICT : ERR_DB,
                 "%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
    PQclear(r);
    return rc;
}

static PGresult *call(PGconn *c, const char *what, const char *sql, int n,
                      const char *const *p, struct err *e)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        lease_fail(c, r, what, e);
        return NULL;
    }
    return r;
}

int wcs_db_lease_acquire(PGconn *c, const char *node, unsigned node_id, const char *holder,
                         unsigned lease_ms, const char *gone, int64_t *token, struct err *e)
{
    char id[16], ms[16];
    const char *p[5] = {node, id, holder, ms, gone};
    PGresult *r;

    snprintf(id, sizeof(id), "%u", node_id);
    snprintf(ms, sizeof(ms), "%u", lease_ms);
    r = call(c, "lease", "SELECT wcs_lease_acquire($1, $2, $3, $4, $5)", 5, p, e);
    if (r == NULL)
        return e->code;
    *token = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

int wcs_db_lease_renew(PGconn *c, const char *node, int64_t token, unsigned lease_ms, bool *held,
                       bool *standby_waiting, struct err *e)
{
    char tok[24], ms[16];
    const char *p[3] = {node, tok, ms};
    PGresult *r;

    snprintf(tok, sizeof(tok), "%" PRId64, token);
    snprintf(ms, sizeof(ms), "%u", lease_ms);
    r = call(c, "lease renewal", "SELECT * FROM wcs_lease_renew($1, $2, $3)", 3, p, e);
    if (r == NULL)
        return e->code;
    *held = PQgetvalue(r, 0, 0)[0] == 't';
    *standby_waiting = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    return 0;
}

int wcs_db_lease_release(PGconn *c, const char *node, int64_t token, struct err *e)
{
    char tok[24];
    const char *p[2] = {node, tok};
    PGresult *r;

    snprintf(tok, sizeof(tok), "%" PRId64, token);
    r = call(c, "lease release", "SELECT wcs_lease_release($1, $2)", 2, p, e);
    if (r == NULL)
        return e->code;
    PQclear(r);
    return 0;
}

int wcs_db_lease_fence_sql(const char *node, int64_t token, char *buf, size_t len,
                           struct err *e)
{
    const char *q;
    int n;

    /* A node is a telegram's sender id: printable, no quote or backslash
     * (the config checks it), so it is quoted as it is. */
    for (q = node; *q != '\0'; q++)
        if (*q < 0x20 || *q > 0x7e || *q == '\'' || *q == '\\')
            return err_set(e, ERR_INVALID, "lease fence: node %s cannot be quoted", node);
    n = snprintf(buf, len, "SELECT wcs_lease_fence('%s', %" PRId64 ")", node, token);
    if (n < 0 || (size_t)n >= len)
        return err_set(e, ERR_INVALID, "lease fence: node %s too long", node);
    return 0;
}

#define US(col) "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"

int wcs_db_lines(PGconn *c, const char *node, wcs_line_cb cb, void *arg, struct err *e)
{
    static const char sql[] =
        "SELECT node, node_id, coalesce(holder, ''), token,"
        " coalesce(expires_at > clock_timestamp(), false), " US("expires_at") ", "
        US("active_since") ", " US("last_takeover_at") ", coalesce(last_takeover_from, ''),"
        " takeovers, CASE WHEN standby_seen_at > clock_timestamp() - interval '1 minute'"
        " THEN coalesce(standby, '') ELSE '' END"
        " FROM wcs_lines WHERE $1::text IS NULL OR node = $1 ORDER BY node";
    const char *p[1] = {node};
    PGresult *r = wcs_db_query(c, "lines", sql, 1, p, e);
    struct wcs_line_status l;
    int i, rc = 0;

    if (r == NULL)
        return ERR_DB;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        memset(&l, 0, sizeof(l));
        snprintf(l.node, sizeof(l.node), "%s", PQgetvalue(r, i, 0));
        l.node_id = (unsigned)strtoul(PQgetvalue(r, i, 1), NULL, 10);
        snprintf(l.holder, sizeof(l.holder), "%s", PQgetvalue(r, i, 2));
        l.token = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        l.held = PQgetvalue(r, i, 4)[0] == 't';
        l.expires_us = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        l.active_since_us = strtoll(PQgetvalue(r, i, 6), NULL, 10);
        l.last_takeover_us = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        snprintf(l.last_takeover_from, sizeof(l.last_takeover_from), "%s", PQgetvalue(r, i, 8));
        l.takeovers = strtol(PQgetvalue(r, i, 9), NULL, 10);
        snprintf(l.standby, sizeof(l.standby), "%s", PQgetvalue(r, i, 10));
        rc = cb(arg, &l);
    }
    PQclear(r);
    return rc;
}

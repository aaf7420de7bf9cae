/*
 * db_telegrams.c - reading the telegram log (table telegrams, written by the
 * event writer through wcs_db_telegrams_copy()): the query behind
 * `wcsctl telegrams [--line NODE] [--plc ID] [--since T] [--limit N]`, and the
 * line's recent scans a wcsd taking it over reads back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/store/db_internal.h"
#include "wcs/store/events.h"

/* Copies column col of row i into dst (size bytes, NUL-terminated, cut). */
static size_t copy_col(char *dst, size_t size, const PGresult *r, int i, int col)
{
    size_t n = (size_t)PQgetlength(r, i, col);

    if (n >= size)
        n = size - 1;
    memcpy(dst, PQgetvalue(r, i, col), n);
    dst[n] = '\0';
    return n;
}

int wcs_db_telegrams_list(PGconn *c, int node_id, const char *plc, int64_t since_us, size_t limit,
                          wcs_telegram_cb cb, void *arg, struct err *e)
{
    /* The time bound is built from an integer so no float rounding moves
     * it by a microsecond; LIMIT NULL is no limit. With a plc the index
     * (plc, at) gives the order without a sort. */
    static const char sql[] =
        "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, plc, direction, type, seq, raw,"
        " refused FROM telegrams"
        " WHERE ($1::text IS NULL OR plc = $1) AND ($4::int IS NULL OR (id & 255) = $4)"
        " AND at >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond'"
        " ORDER BY at, id LIMIT $3::bigint";
    char since[24], lim[24], node[12];
    const char *params[4] = {plc != NULL && plc[0] != '\0' ? plc : NULL, since,
                             limit > 0 ? lim : NULL, node_id >= 0 ? node : NULL};
    struct wcs_telegram_rec *tg;
    PGresult *r;
    int rc = 0, stopped = 0;

    if (since_us < 0 || since_us > WCS_EVENT_AT_US_MAX)
        return err_set(e, ERR_INVALID, "telegrams: since %lld out of range", (long long)since_us);
    snprintf(since, sizeof(since), "%lld", (long long)since_us);
    snprintf(lim, sizeof(lim), "%zu", limit);
    snprintf(node, sizeof(node), "%d", node_id);
    tg = malloc(sizeof(*tg));
    if (tg == NULL)
        return err_set(e, -ENOMEM, "telegrams: out of memory");
    /* Single-row mode streams the rows: a listing of a whole day must not
     * be held in memory at once. */
    if (!PQsendQueryParams(c, sql, 4, NULL, params, NULL, NULL, 0) || !PQsetSingleRowMode(c)) {
        free(tg);
        return err_set(e, ERR_DB, "telegrams: %.*s", (int)strcspn(PQerrorMessage(c), "\n"),
                       PQerrorMessage(c));
    }
    while ((r = PQgetResult(c)) != NULL) {
        ExecStatusType st = PQresultStatus(r);

        if (st == PGRES_SINGLE_TUPLE && rc == 0 && !stopped) {
            memset(tg, 0, sizeof(*tg));
            tg->id = atoll(PQgetvalue(r, 0, 0));
            tg->at_us = atoll(PQgetvalue(r, 0, 1));
            copy_col(tg->plc, sizeof(tg->plc), r, 0, 2);
            tg->direction = PQgetvalue(r, 0, 3)[0];
            copy_col(tg->type, sizeof(tg->type), r, 0, 4);
            tg->seq = (uint32_t)strtoul(PQgetvalue(r, 0, 5), NULL, 10);
            tg->raw_len = copy_col(tg->raw, sizeof(tg->raw), r, 0, 6);
            tg->refused = PQgetvalue(r, 0, 7)[0] == 't';
            /* After a stop the remaining rows are still read, so the
             * connection is ready for the next command. */
            if (cb(arg, tg) != 0)
                stopped = 1;
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0) {
            rc = err_set(e, ERR_DB, "telegrams: %.*s", (int)strcspn(PQresultErrorMessage(r), "\n"),
                         PQresultErrorMessage(r));
        }
        PQclear(r);
    }
    free(tg);
    return rc;
}

int wcs_db_recent_scans(PGconn *c, unsigned node_id, int64_t since_us, wcs_scan_event_cb cb,
                        void *arg, struct err *e)
{
    /* Ids begin with their millisecond (event_ids.c): the bound on id
     * keeps the scan to the primary key's last stretch of the newest
     * partition. */
    static const char sql[] =
        "SELECT (extract(epoch FROM at) * 1000000)::bigint, coalesce(parcel_code, ''),"
        " coalesce(location, ''), coalesce(source, ''), coalesce(detail, '')"
        " FROM events WHERE id >= ($2::bigint / 1000) << 20 AND kind = 'scan'"
        " AND (id & 255) = $1 ORDER BY id";
    char node[12], since[24];
    const char *p[2] = {node, since};
    struct wcs_event ev;
    PGresult *r;
    int i, rc = 0;

    snprintf(node, sizeof(node), "%u", node_id);
    snprintf(since, sizeof(since), "%lld", (long long)since_us);
    r = wcs_db_query(c, "recent scans", sql, 2, p, e);
    if (r == NULL)
        return ERR_DB;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = WCS_EVENT_SCAN;
        ev.at_us = atoll(PQgetvalue(r, i, 0));
        copy_col(ev.parcel_code, sizeof(ev.parcel_code), r, i, 1);
        copy_col(ev.location, sizeof(ev.location), r, i, 2);
        copy_col(ev.source, sizeof(ev.source), r, i, 3);
        copy_col(ev.detail, sizeof(ev.detail), r, i, 4);
        rc = cb(arg, &ev);
    }
    PQclear(r);
    return rc;
}

int wcs_db_chute_states(PGconn *c, unsigned node_id, wcs_chute_state_cb cb, void *arg,
                        struct err *e)
{
    /* The partial index events_chute_state holds exactly these events. */
    static const char sql[] =
        "SELECT DISTINCT ON (chute) chute, coalesce(reason, '') FROM events"
        " WHERE kind = 'system' AND chute IS NOT NULL AND detail = 'chute state'"
        " AND (id & 255) = $1 ORDER BY chute, at DESC, id DESC";
    char node[12];
    const char *p[1] = {node};
    PGresult *r;
    int i, rc = 0;

    snprintf(node, sizeof(node), "%u", node_id);
    r = wcs_db_query(c, "chute states", sql, 1, p, e);
    if (r == NULL)
        return ERR_DB;
    for (i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = cb(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return rc;
}

/*
 * db_noreads.c - the statements of the no-read parcels (noreads.h). The
 * image lists travel as JSON arrays both ways (jansson), so a camera id
 * needs no quoting rules of PostgreSQL's array literals.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/scanners.h"
#include "wcs/store/db_internal.h"
#include "wcs/store/noreads.h"

/* A pending row older than this is expired: its parcel left the loop. */
#define OPEN_FOR "interval '1 hour'"

#define US(col) "coalesce((extract(epoch FROM " col ") * 1e6)::bigint, 0)"

/* The columns every reader takes, in the order row() reads them. */
#define COLS                                                                                       \
    "id, node, tracking, location, " US(                                                           \
        "at") ", cause, array_to_json(images)::text,"                                              \
              " array_to_json(cameras)::text, state, coalesce(code, ''), coalesce(keyed_by, "      \
              "''), " US("keyed_at") ", coalesce(keyed_seq, 0), " US(                              \
                  "resolved_at") ", coalesce(resolved_to, '')"

static void text_list(const char *json, char (*out)[WCS_NOREAD_NAME_MAX], size_t width, size_t *n)
{
    json_t *a = json_loads(json, 0, NULL);
    size_t i;

    *n = 0;
    for (i = 0; i < json_array_size(a) && i < WCS_NOREAD_IMAGES_MAX; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        /* out is an array of rows of width bytes (images or cameras). */
        snprintf((char *)out + i * width, width, "%s", s != NULL ? s : "");
        (*n)++;
    }
    json_decref(a);
}

static void row(PGresult *r, int i, struct wcs_noread *n)
{
    size_t ncam;

    memset(n, 0, sizeof(*n));
    n->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    snprintf(n->node, sizeof(n->node), "%s", PQgetvalue(r, i, 1));
    snprintf(n->tracking, sizeof(n->tracking), "%s", PQgetvalue(r, i, 2));
    snprintf(n->location, sizeof(n->location), "%s", PQgetvalue(r, i, 3));
    n->at_us = strtoll(PQgetvalue(r, i, 4), NULL, 10);
    snprintf(n->cause, sizeof(n->cause), "%s", PQgetvalue(r, i, 5));
    text_list(PQgetvalue(r, i, 6), n->images, sizeof(n->images[0]), &n->nimages);
    text_list(PQgetvalue(r, i, 7), (char(*)[WCS_NOREAD_NAME_MAX])(void *)n->cameras,
              sizeof(n->cameras[0]), &ncam);
    snprintf(n->state, sizeof(n->state), "%s", PQgetvalue(r, i, 8));
    snprintf(n->code, sizeof(n->code), "%s", PQgetvalue(r, i, 9));
    snprintf(n->keyed_by, sizeof(n->keyed_by), "%s", PQgetvalue(r, i, 10));
    n->keyed_at_us = strtoll(PQgetvalue(r, i, 11), NULL, 10);
    n->keyed_seq = strtoll(PQgetvalue(r, i, 12), NULL, 10);
    n->resolved_at_us = strtoll(PQgetvalue(r, i, 13), NULL, 10);
    snprintf(n->resolved_to, sizeof(n->resolved_to), "%s", PQgetvalue(r, i, 14));
}

static int rows(PGresult *r, wcs_noread_cb cb, void *arg)
{
    struct wcs_noread n;
    int i;

    for (i = 0; i < PQntuples(r); i++) {
        row(r, i, &n);
        if (cb(arg, &n) != 0)
            break;
    }
    PQclear(r);
    return 0;
}

static char *json_list(const char *base, size_t width, size_t n)
{
    json_t *a = json_array();
    char *text;
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_string(base + i * width));
    text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

int wcs_db_noread_add(PGconn *c, const struct wcs_noread *n, int64_t *id, struct err *e)
{
    char at[24];
    char *images = json_list(n->images[0], sizeof(n->images[0]), n->nimages);
    char *cameras = json_list(n->cameras[0], sizeof(n->cameras[0]), n->nimages);
    const char *p[7] = {n->node, n->tracking, n->location, at, n->cause, images, cameras};
    PGresult *r;

    *id = 0;
    snprintf(at, sizeof(at), "%" PRId64, n->at_us);
    /* An old pending row of this tracking number (another parcel's, long
     * gone) must not keep this one out. */
    if (wcs_db_noreads_expire(c, n->node, n->tracking, e) < 0) {
        free(images);
        free(cameras);
        return e->code;
    }
    r = images == NULL || cameras == NULL
            ? NULL
            : wcs_db_query(c, "no-read",
                           "INSERT INTO noreads (node, tracking, location, at, cause, images,"
                           " cameras) SELECT $1, $2, $3, to_timestamp($4::bigint / 1e6), $5,"
                           " ARRAY(SELECT json_array_elements_text($6::json)),"
                           " ARRAY(SELECT json_array_elements_text($7::json))"
                           " WHERE NOT EXISTS (SELECT 1 FROM noreads WHERE node = $1 AND"
                           " tracking = $2 AND at > to_timestamp($4::bigint / 1e6) - " OPEN_FOR
                           ") ON CONFLICT DO NOTHING RETURNING id",
                           7, p, e);
    free(images);
    free(cameras);
    if (r == NULL)
        return images == NULL || cameras == NULL ? err_set(e, -ENOMEM, "out of memory") : e->code;
    if (PQntuples(r) == 1)
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

int wcs_db_noread_get(PGconn *c, int64_t id, struct wcs_noread *out, struct err *e)
{
    char ids[24];
    const char *p[1] = {ids};
    PGresult *r;

    snprintf(ids, sizeof(ids), "%" PRId64, id);
    r = wcs_db_query(c, "no-read", "SELECT " COLS " FROM noreads WHERE id = $1", 1, p, e);
    if (r == NULL)
        return e->code;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "no-read %" PRId64 ": no such no-read", id);
    }
    row(r, 0, out);
    PQclear(r);
    return 0;
}

int wcs_db_noreads_list(PGconn *c, const char *state, const char *node, size_t limit,
                        wcs_noread_cb cb, void *arg, size_t *pending, struct err *e)
{
    char lim[16];
    const char *p[3] = {state != NULL && state[0] ? state : NULL,
                        node != NULL && node[0] ? node : NULL, lim};
    PGresult *r;

    if (p[0] != NULL && strcmp(p[0], "pending") != 0 && strcmp(p[0], "keyed") != 0 &&
        strcmp(p[0], "unreadable") != 0 && strcmp(p[0], "expired") != 0)
        return err_set(e, ERR_INVALID, "state %s: pending, keyed, unreadable or expired", p[0]);
    snprintf(lim, sizeof(lim), "%zu", limit < 1 ? 1 : limit > 1000 ? 1000 : limit);
    if (pending != NULL) {
        r = wcs_db_query(c, "no-reads",
                         "SELECT count(*) FROM noreads WHERE state = 'pending' AND"
                         " ($1::text IS NULL OR node = $1)",
                         1, p + 1, e);
        if (r == NULL)
            return e->code;
        *pending = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    r = wcs_db_query(c, "no-reads",
                     "SELECT " COLS " FROM noreads WHERE ($1::text IS NULL OR state = $1) AND"
                     " ($2::text IS NULL OR node = $2) ORDER BY"
                     " CASE WHEN $1 = 'pending' THEN extract(epoch FROM at)"
                     " ELSE -extract(epoch FROM at) END, id LIMIT $3::int",
                     3, p, e);
    if (r == NULL)
        return e->code;
    return rows(r, cb, arg);
}

int wcs_db_noread_key(PGconn *c, int64_t id, const char *code, const char *user,
                      struct wcs_noread *out, struct err *e)
{
    char ids[24], lock[24];
    const char *p[3] = {ids, code, user}, *lp[1] = {lock};
    struct wcs_noread cur;
    PGresult *r;
    int rc, n;

    /* Keyed codes are checked as any scanner's: a valid parcel code. */
    if (code != NULL) {
        struct scan_code_info ci;

        if (scan_code_check(code, strlen(code), &ci) < 0)
            return err_set(e, ERR_INVALID, "code %.40s: %s", code, ci.reason);
        if (!scan_code_is_parcel(ci.kind))
            return err_set(e, ERR_INVALID, "code %.40s: a %s code, not a parcel's", code,
                           scan_code_kind_name(ci.kind));
    }
    snprintf(ids, sizeof(ids), "%" PRId64, id);
    snprintf(lock, sizeof(lock), "%lld", (long long)WCS_LOCK_NOREAD_KEY);
    rc = wcs_db_begin(c, "no-read key", e);
    if (rc == 0)
        rc = wcs_db_command(c, "no-read key", "SELECT pg_advisory_xact_lock($1::bigint)", 1, lp, e);
    if (rc < 0) {
        wcs_db_rollback(c);
        return rc;
    }
    r = wcs_db_query(c, "no-read key",
                     "UPDATE noreads SET state = CASE WHEN $2::text IS NULL THEN 'unreadable'"
                     " ELSE 'keyed' END, code = $2, keyed_by = $3, keyed_at = clock_timestamp(),"
                     " keyed_seq = nextval('noreads_keyed_seq')"
                     " WHERE id = $1 AND state = 'pending' AND at > clock_timestamp() - " OPEN_FOR
                     " RETURNING " COLS,
                     3, p, e);
    if (r == NULL) {
        wcs_db_rollback(c);
        return e->code;
    }
    n = PQntuples(r);
    if (n == 1)
        row(r, 0, out != NULL ? out : &cur);
    PQclear(r);
    if (n == 1 && (rc = wcs_db_command(c, "no-read key", "NOTIFY wcs_noreads", 0, NULL, e)) == 0)
        return wcs_db_commit(c, "no-read key", e);
    wcs_db_rollback(c);
    if (n == 1)
        return rc;
    /* Not keyed by this call: say why. */
    if (wcs_db_noread_get(c, id, &cur, e) < 0)
        return e->code;
    if (strcmp(cur.state, "pending") == 0 || strcmp(cur.state, "expired") == 0)
        return err_set(e, ERR_CONFLICT,
                       "no-read %" PRId64 ": expired: its parcel left the line over an hour ago",
                       id);
    return err_set(e, ERR_CONFLICT, "no-read %" PRId64 ": already %s by %s", id, cur.state,
                   cur.keyed_by);
}

int wcs_db_noreads_expire(PGconn *c, const char *node, const char *tracking, struct err *e)
{
    const char *p[2] = {node, tracking};

    return wcs_db_command(c, "no-reads expire",
                          "UPDATE noreads SET state = 'expired' WHERE state = 'pending' AND"
                          " node = $1 AND ($2::text IS NULL OR tracking = $2) AND"
                          " at <= clock_timestamp() - " OPEN_FOR,
                          2, p, e);
}

int wcs_db_noread_keys_since(PGconn *c, const char *node, int64_t after, size_t limit,
                             wcs_noread_cb cb, void *arg, struct err *e)
{
    char seq[24], lim[16];
    const char *p[3] = {node, seq, lim};
    PGresult *r;

    snprintf(seq, sizeof(seq), "%" PRId64, after);
    snprintf(lim, sizeof(lim), "%zu", limit);
    r = wcs_db_query(c, "no-read keys",
                     "SELECT " COLS " FROM noreads WHERE keyed_seq > $2::bigint AND node = $1"
                     " AND at > clock_timestamp() - " OPEN_FOR " ORDER BY keyed_seq LIMIT $3::int",
                     3, p, e);
    if (r == NULL)
        return e->code;
    return rows(r, cb, arg);
}

int wcs_db_noread_resolved(PGconn *c, const char *node, const char *tracking,
                           const char *destination, struct err *e)
{
    const char *p[3] = {node, tracking, destination};

    return wcs_db_command(c, "no-read resolved",
                          "UPDATE noreads SET resolved_at = clock_timestamp(), resolved_to = $3"
                          " WHERE node = $1 AND tracking = $2 AND state = 'keyed' AND"
                          " resolved_at IS NULL AND at > clock_timestamp() - " OPEN_FOR,
                          3, p, e);
}

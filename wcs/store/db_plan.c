/*
 * db_plan.c - sort-plan versions in the store: storing a finished plan with
 * its source text, activating one version, loading a version back into a
 * finished plan, and listing versions.
 *
 * DESIGN. A plan is stored row by row from its accessors, with each row's
 * position (seq) so that loading in seq order and replaying the builder calls
 * gives the same chute, route and rule indices; rules keep their source line.
 * Lists of ids (route chute groups, special chutes, rule services) are text[]
 * columns, sent and read back space-separated: the builder splits on spaces
 * and never accepts an id containing one. The loader trusts nothing: the
 * rebuilt plan goes through wcs_plan_finish() like a parsed file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wcs/store/db_internal.h"
#include "wcs/store/store.h"

/* --- statements ------------------------------------------------------- */

static const char SQL_LOCK_PLAN[] = "SELECT pg_advisory_xact_lock($1::bigint)";
/* $2 is the source text as binary bytea, so the hash is over the exact bytes
 * (a text parameter cast to bytea would read backslashes as escapes). */
static const char SQL_INS_VERSION[] =
    "INSERT INTO sortplan_versions (source_name, source_text, sha256)"
    " VALUES ($1, convert_from($2::bytea, 'UTF8'), encode(sha256($2::bytea), 'hex'))"
    " RETURNING version";
static const char SQL_INS_CHUTE[] =
    "INSERT INTO chutes (version, seq, chute, description) VALUES ($1, $2, $3, $4)";
static const char SQL_INS_ROUTE[] =
    "INSERT INTO routes (version, seq, route, mode, crossing, chutes, fallback, description)"
    " VALUES ($1, $2, $3, $4, $5, string_to_array($6, ' '), nullif($7, ''), $8)";
static const char SQL_INS_RULE[] =
    "INSERT INTO sortplan_rules (version, seq, line, route, prefix_from, prefix_to, services,"
    " weight_min_g, weight_max_g, priority, description)"
    " VALUES ($1, $2, $3, $4, $5, $6, string_to_array($7, ' '), $8, $9, $10, $11)";
static const char SQL_INS_SPECIAL[] =
    "INSERT INTO sortplan_specials (version, seq, special, chutes)"
    " VALUES ($1, $2, $3, string_to_array($4, ' '))";
static const char SQL_INS_PARAM[] =
    "INSERT INTO sortplan_params (version, seq, name, value) VALUES ($1, $2, $3, $4)";

static const char SQL_DEACTIVATE[] =
    "UPDATE sortplan_versions SET active = false WHERE active AND version <> $1::integer";
static const char SQL_ACTIVATE[] =
    "UPDATE sortplan_versions SET active = true, activated_at = now() WHERE version = $1::integer";
static const char SQL_NOTIFY[] = "SELECT pg_notify($1, $2)";

static const char SQL_BEGIN_READ[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char SQL_HEAD[] =
    "SELECT version, source_name FROM sortplan_versions"
    " WHERE CASE WHEN $1::integer = 0 THEN active ELSE version = $1::integer END";
static const char SQL_CHUTES[] =
    "SELECT chute, description FROM chutes WHERE version = $1 ORDER BY seq";
static const char SQL_ROUTES[] =
    "SELECT route, mode, crossing, array_to_string(chutes, ' '), coalesce(fallback, ''),"
    " description FROM routes WHERE version = $1 ORDER BY seq";
static const char SQL_RULES[] =
    "SELECT line, route, prefix_from, prefix_to, array_to_string(services, ' '), weight_min_g,"
    " coalesce(weight_max_g, 0), priority, description"
    " FROM sortplan_rules WHERE version = $1 ORDER BY seq";
static const char SQL_SPECIALS[] =
    "SELECT special, array_to_string(chutes, ' ') FROM sortplan_specials"
    " WHERE version = $1 ORDER BY seq";
static const char SQL_PARAMS[] =
    "SELECT name, value FROM sortplan_params WHERE version = $1 ORDER BY seq";

static const char SQL_LIST[] =
    "SELECT v.version, v.source_name, v.sha256,"
    " to_char(v.loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " coalesce(to_char(v.activated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " v.active,"
    " (SELECT count(*) FROM sortplan_rules r WHERE r.version = v.version),"
    " (SELECT count(*) FROM routes r WHERE r.version = v.version),"
    " (SELECT count(*) FROM chutes c WHERE c.version = v.version)"
    " FROM sortplan_versions v ORDER BY v.version DESC LIMIT $1::bigint";

/* --- store ------------------------------------------------------------ */

/* A growable string for space-separated id lists. */
struct strbuf {
    char *p;
    size_t len, cap;
};

static int sb_add(struct strbuf *b, const char *s)
{
    size_t n = strlen(s), need = b->len + n + 2;

    if (need > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        char *np;

        while (ncap < need)
            ncap *= 2;
        np = realloc(b->p, ncap);
        if (np == NULL)
            return -ENOMEM;
        b->p = np;
        b->cap = ncap;
    }
    if (b->len > 0)
        b->p[b->len++] = ' ';
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static const char *sb_str(struct strbuf *b)
{
    return b->len > 0 ? b->p : "";
}

/* Joins the ids of chute indices. */
static int chute_list(const struct wcs_plan *p, const uint16_t *idx, int n, struct strbuf *b)
{
    int i, rc;

    b->len = 0;
    for (i = 0; i < n; i++) {
        const struct wcs_plan_chute *ch = wcs_plan_chute(p, idx[i]);

        if (ch == NULL)
            return ERR_INVALID;
        rc = sb_add(b, ch->id);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int store_rows(PGconn *c, const struct wcs_plan *p, const char *ver, struct err *e)
{
    struct strbuf b = {0};
    char seq[24], line[16], a[16], bnum[16], wmin[16], wmax[16], prio[16];
    size_t i, n;
    int rc = 0, k, j;

    n = wcs_plan_nchutes(p);
    for (i = 0; i < n && rc == 0; i++) {
        const struct wcs_plan_chute *ch = wcs_plan_chute(p, i);
        const char *v[4] = {ver, seq, ch->id, ch->description};

        snprintf(seq, sizeof(seq), "%zu", i);
        rc = wcs_db_command(c, "plan store: chute", SQL_INS_CHUTE, 4, v, e);
    }
    n = wcs_plan_nroutes(p);
    for (i = 0; i < n && rc == 0; i++) {
        const struct wcs_plan_route *r = wcs_plan_route(p, i);
        const struct wcs_plan_route *fb = r->fallback >= 0 ? wcs_plan_route(p, (size_t)r->fallback)
                                                           : NULL;
        const char *v[8];

        rc = chute_list(p, r->chutes, r->nchutes, &b);
        if (rc < 0) {
            rc = err_set(e, rc, "plan store: route %s: chute list", r->id);
            break;
        }
        snprintf(seq, sizeof(seq), "%zu", i);
        v[0] = ver;
        v[1] = seq;
        v[2] = r->id;
        v[3] = r->mode;
        v[4] = r->crossing;
        v[5] = sb_str(&b);
        v[6] = fb != NULL ? fb->id : "";
        v[7] = r->description;
        rc = wcs_db_command(c, "plan store: route", SQL_INS_ROUTE, 8, v, e);
    }
    n = wcs_plan_nrules(p);
    for (i = 0; i < n && rc == 0; i++) {
        const struct wcs_plan_rule *r = wcs_plan_rule(p, i);
        const struct wcs_plan_route *rt = wcs_plan_route(p, (size_t)r->route);
        const char *v[11];

        b.len = 0;
        for (j = 0; j < r->nservices && rc == 0; j++)
            rc = sb_add(&b, r->services[j]);
        if (rc < 0 || rt == NULL) {
            rc = err_set(e, rc < 0 ? rc : ERR_INVALID, "plan store: rule at line %d", r->line);
            break;
        }
        snprintf(seq, sizeof(seq), "%zu", i);
        snprintf(line, sizeof(line), "%d", r->line);
        snprintf(a, sizeof(a), "%u", (unsigned)r->prefix_from);
        snprintf(bnum, sizeof(bnum), "%u", (unsigned)r->prefix_to);
        snprintf(wmin, sizeof(wmin), "%u", (unsigned)r->weight_min_g);
        snprintf(wmax, sizeof(wmax), "%u", (unsigned)r->weight_max_g);
        snprintf(prio, sizeof(prio), "%d", r->priority);
        v[0] = ver;
        v[1] = seq;
        v[2] = line;
        v[3] = rt->id;
        v[4] = a;
        v[5] = bnum;
        v[6] = sb_str(&b);
        v[7] = wmin;
        v[8] = r->weight_max_g == UINT32_MAX ? NULL : wmax; /* NULL: no upper bound */
        v[9] = prio;
        v[10] = r->description;
        rc = wcs_db_command(c, "plan store: rule", SQL_INS_RULE, 11, v, e);
    }
    for (k = 0; k < WCS_SPECIAL_COUNT && rc == 0; k++) {
        int ns = 0;
        const uint16_t *idx = wcs_plan_special(p, (enum wcs_special)k, &ns);
        const char *v[4];

        if (idx == NULL || ns <= 0)
            continue;
        rc = chute_list(p, idx, ns, &b);
        if (rc < 0) {
            rc = err_set(e, rc, "plan store: special %s", wcs_plan_special_name(k));
            break;
        }
        snprintf(seq, sizeof(seq), "%d", k);
        v[0] = ver;
        v[1] = seq;
        v[2] = wcs_plan_special_name((enum wcs_special)k);
        v[3] = sb_str(&b);
        rc = wcs_db_command(c, "plan store: special", SQL_INS_SPECIAL, 4, v, e);
    }
    n = wcs_plan_nparams(p);
    for (i = 0; i < n && rc == 0; i++) {
        const char *name, *value;
        const char *v[4];

        wcs_plan_param_at(p, i, &name, &value);
        snprintf(seq, sizeof(seq), "%zu", i);
        v[0] = ver;
        v[1] = seq;
        v[2] = name;
        v[3] = value;
        rc = wcs_db_command(c, "plan store: param", SQL_INS_PARAM, 4, v, e);
    }
    free(b.p);
    return rc;
}

int wcs_db_plan_store(PGconn *c, const struct wcs_plan *p, const char *source_text, size_t len,
                      int *version, struct err *e)
{
    const char *vals[2];
    int lens[2] = {0, 0}, fmts[2] = {0, 1};
    PGresult *r;
    char ver[16];
    int rc;

    *version = 0;
    if (len > INT32_MAX)
        return err_set(e, ERR_INVALID, "plan store: source text of %zu bytes is too large", len);
    vals[0] = wcs_plan_source(p);
    vals[1] = source_text != NULL ? source_text : "";
    lens[1] = source_text != NULL ? (int)len : 0;
    rc = wcs_db_begin(c, "plan store", e);
    if (rc < 0)
        return rc;
    r = PQexecParams(c, SQL_INS_VERSION, 2, NULL, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = wcs_db_fail(c, r, "plan store: version", e);
        goto fail;
    }
    snprintf(ver, sizeof(ver), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    rc = store_rows(c, p, ver, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "plan store: commit", e);
    if (rc < 0)
        goto fail;
    *version = atoi(ver);
    log_info("stored sort plan %s as version %d", wcs_plan_source(p), *version);
    return 0;
fail:
    wcs_db_rollback(c);
    return rc;
}

/* --- activate --------------------------------------------------------- */

int wcs_db_plan_activate(PGconn *c, int version, struct err *e)
{
    char key[24], ver[16];
    const char *lp[1] = {key};
    const char *vp[1] = {ver};
    const char *np[2] = {WCS_CHANNEL_SORTPLAN, ver};
    PGresult *r;
    int rc;

    snprintf(key, sizeof(key), "%lld", (long long)WCS_LOCK_PLAN);
    snprintf(ver, sizeof(ver), "%d", version);
    rc = wcs_db_begin(c, "plan activate", e);
    if (rc < 0)
        return rc;
    /* Two activations at once would both clear the old flag and then collide
     * on the one-active index; the lock makes the second wait instead. */
    rc = wcs_db_command(c, "plan activate: lock", SQL_LOCK_PLAN, 1, lp, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_command(c, "plan activate: clear", SQL_DEACTIVATE, 1, vp, e);
    if (rc < 0)
        goto fail;
    r = wcs_db_query(c, "plan activate", SQL_ACTIVATE, 1, vp, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    if (strcmp(PQcmdTuples(r), "1") != 0) {
        PQclear(r);
        rc = err_set(e, ERR_NOTFOUND, "plan activate: no sort plan version %d", version);
        goto fail;
    }
    PQclear(r);
    rc = wcs_db_command(c, "plan activate: notify", SQL_NOTIFY, 2, np, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "plan activate: commit", e);
    if (rc < 0)
        goto fail;
    log_info("activated sort plan version %d", version);
    return 0;
fail:
    wcs_db_rollback(c);
    return rc;
}

/* --- load ------------------------------------------------------------- */

/* Wraps a builder error with where the row came from. */
static int load_fail(struct err *e, int rc, const char *ver, const char *what)
{
    if (e != NULL && e->code == rc)
        return err_wrap(e, rc, "plan load: version %s: %s", ver, what);
    return err_set(e, rc, "plan load: version %s: %s", ver, what);
}

static int load_rows(PGconn *c, struct wcs_plan *p, const char *ver, struct err *e)
{
    const char *v[1] = {ver};
    PGresult *r;
    int i, n, rc = 0;

    r = wcs_db_query(c, "plan load: chutes", SQL_CHUTES, 1, v, e);
    if (r == NULL)
        return ERR_DB;
    n = PQntuples(r);
    for (i = 0; i < n && rc == 0; i++)
        rc = wcs_plan_add_chute(p, 0, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), e);
    PQclear(r);
    if (rc < 0)
        return load_fail(e, rc, ver, "chute");

    r = wcs_db_query(c, "plan load: routes", SQL_ROUTES, 1, v, e);
    if (r == NULL)
        return ERR_DB;
    n = PQntuples(r);
    for (i = 0; i < n && rc == 0; i++)
        rc = wcs_plan_add_route(p, 0, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                                PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
                                PQgetvalue(r, i, 5), e);
    PQclear(r);
    if (rc < 0)
        return load_fail(e, rc, ver, "route");

    r = wcs_db_query(c, "plan load: rules", SQL_RULES, 1, v, e);
    if (r == NULL)
        return ERR_DB;
    n = PQntuples(r);
    for (i = 0; i < n && rc == 0; i++)
        rc = wcs_plan_add_rule(p, atoi(PQgetvalue(r, i, 0)), PQgetvalue(r, i, 1),
                               atoi(PQgetvalue(r, i, 2)), atoi(PQgetvalue(r, i, 3)),
                               PQgetvalue(r, i, 4), (uint32_t)strtoul(PQgetvalue(r, i, 5), NULL, 10),
                               (uint32_t)strtoul(PQgetvalue(r, i, 6), NULL, 10),
                               atoi(PQgetvalue(r, i, 7)), PQgetvalue(r, i, 8), e);
    PQclear(r);
    if (rc < 0)
        return load_fail(e, rc, ver, "rule");

    r = wcs_db_query(c, "plan load: specials", SQL_SPECIALS, 1, v, e);
    if (r == NULL)
        return ERR_DB;
    n = PQntuples(r);
    for (i = 0; i < n && rc == 0; i++)
        rc = wcs_plan_add_special(p, 0, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), e);
    PQclear(r);
    if (rc < 0)
        return load_fail(e, rc, ver, "special destination");

    r = wcs_db_query(c, "plan load: params", SQL_PARAMS, 1, v, e);
    if (r == NULL)
        return ERR_DB;
    n = PQntuples(r);
    for (i = 0; i < n && rc == 0; i++)
        rc = wcs_plan_set_param(p, 0, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), e);
    PQclear(r);
    if (rc < 0)
        return load_fail(e, rc, ver, "parameter");
    return 0;
}

int wcs_db_plan_load(PGconn *c, int version, struct wcs_plan **out, int *version_out,
                     struct err *e)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    char want[16], ver[16];
    const char *v[1] = {want};
    PGresult *r;
    int rc;

    *out = NULL;
    if (version_out != NULL)
        *version_out = 0;
    snprintf(want, sizeof(want), "%d", version);
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        return err_set(e, ERR_STATE, "plan load: connection is inside a transaction");
    /* One snapshot for all the tables of the version. */
    rc = wcs_db_command(c, "plan load", SQL_BEGIN_READ, 0, NULL, e);
    if (rc < 0)
        return rc;
    r = wcs_db_query(c, "plan load", SQL_HEAD, 1, v, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = version == 0 ? err_set(e, ERR_NOTFOUND, "plan load: no active sort plan")
                          : err_set(e, ERR_NOTFOUND, "plan load: no sort plan version %d", version);
        goto fail;
    }
    snprintf(ver, sizeof(ver), "%s", PQgetvalue(r, 0, 0));
    p = wcs_plan_new(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (p == NULL) {
        rc = err_set(e, -ENOMEM, "plan load: out of memory");
        goto fail;
    }
    rc = load_rows(c, p, ver, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "plan load: commit", e);
    if (rc < 0)
        goto fail;
    rc = wcs_plan_finish(p, &d);
    if (rc < 0) {
        rc = err_set(e, rc, "plan load: version %s does not validate (%zu problems): %s", ver,
                     diag_count(&d), d.n > 0 ? d.msgs[0] : err_text(rc));
        diag_free(&d);
        wcs_plan_free(p);
        return rc;
    }
    diag_free(&d);
    *out = p;
    if (version_out != NULL)
        *version_out = atoi(ver);
    return 0;
fail:
    wcs_db_rollback(c);
    wcs_plan_free(p);
    return rc;
}

/* --- list ------------------------------------------------------------- */

int wcs_db_plan_list(PGconn *c, struct wcs_plan_version *out, size_t max, size_t *n,
                     struct err *e)
{
    char lim[24];
    const char *v[1] = {lim};
    PGresult *r;
    int i, nt;

    *n = 0;
    snprintf(lim, sizeof(lim), "%zu", max);
    r = wcs_db_query(c, "plan list", SQL_LIST, 1, v, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt; i++) {
        struct wcs_plan_version *pv = &out[i];

        memset(pv, 0, sizeof(*pv));
        pv->version = atoi(PQgetvalue(r, i, 0));
        /* A listing for people: an overlong source path is shortened. */
        snprintf(pv->source, sizeof(pv->source), "%s", PQgetvalue(r, i, 1));
        snprintf(pv->sha256, sizeof(pv->sha256), "%s", PQgetvalue(r, i, 2));
        snprintf(pv->loaded_at, sizeof(pv->loaded_at), "%s", PQgetvalue(r, i, 3));
        snprintf(pv->activated_at, sizeof(pv->activated_at), "%s", PQgetvalue(r, i, 4));
        pv->active = strcmp(PQgetvalue(r, i, 5), "t") == 0;
        pv->nrules = atoi(PQgetvalue(r, i, 6));
        pv->nroutes = atoi(PQgetvalue(r, i, 7));
        pv->nchutes = atoi(PQgetvalue(r, i, 8));
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

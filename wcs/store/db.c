/*
 * db.c - the store's connection, schema migrations and the small helpers the
 * other db_*.c files share (wcs/db_internal.h).
 *
 * DESIGN. Migrations are the SQL files of wcs/migrations, embedded at build
 * time (wcs_migrations[]). wcs_db_migrate() takes a session advisory lock
 * before it even looks for schema_migrations, so two processes starting at
 * once on a fresh database serialise: the second waits, then finds every
 * version recorded and applies nothing. Each migration runs in its own
 * transaction together with the INSERT that records it, so a failed
 * migration leaves no trace and is retried whole next time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wcs/store/db_internal.h"
#include "wcs/store/migrations.h"
#include "wcs/store/store.h"

/* --- statements ------------------------------------------------------- */

static const char SQL_LOCK[] = "SELECT pg_advisory_lock($1::bigint)";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock($1::bigint)";
static const char SQL_HAS_TABLE[] = "SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char SQL_CREATE_TABLE[] =
    "CREATE TABLE schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_APPLIED[] = "SELECT version FROM schema_migrations ORDER BY version";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())";
static const char SQL_MAX_VERSION[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";

/* --- helpers (db_internal.h) ------------------------------------------ */

/* Copies a libpq message without its trailing newline. */
static void trimmed(char *dst, size_t size, const char *msg)
{
    size_t n;

    snprintf(dst, size, "%s", msg != NULL && msg[0] != '\0' ? msg : "unknown error");
    n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
}

int wcs_db_fail(PGconn *c, PGresult *r, const char *what, struct err *e)
{
    char msg[ERR_MSG_MAX];
    const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;

    if (m == NULL || m[0] == '\0')
        m = PQerrorMessage(c);
    trimmed(msg, sizeof(msg), m);
    PQclear(r);
    return err_set(e, ERR_DB, "%s: %s", what, msg);
}

PGresult *wcs_db_query(PGconn *c, const char *what, const char *sql, int n,
                       const char *const *params, struct err *e)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        wcs_db_fail(c, r, what, e);
        return NULL;
    }
    return r;
}

int wcs_db_command(PGconn *c, const char *what, const char *sql, int n,
                   const char *const *params, struct err *e)
{
    PGresult *r = wcs_db_query(c, what, sql, n, params, e);

    if (r == NULL)
        return ERR_DB;
    PQclear(r);
    return 0;
}

int wcs_db_begin(PGconn *c, const char *what, struct err *e)
{
    if (PQstatus(c) != CONNECTION_OK)
        return err_set(e, ERR_DB, "%s: not connected", what);
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        return err_set(e, ERR_STATE, "%s: connection is inside a transaction", what);
    return wcs_db_command(c, what, "BEGIN", 0, NULL, e);
}

int wcs_db_commit(PGconn *c, const char *what, struct err *e)
{
    return wcs_db_command(c, what, "COMMIT", 0, NULL, e);
}

void wcs_db_rollback(PGconn *c)
{
    PGTransactionStatusType ts = PQtransactionStatus(c);

    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        PQclear(PQexec(c, "ROLLBACK"));
}

/* Server notices (e.g. from a migration) go to the log instead of stderr. */
static void notice_cb(void *arg, const char *message)
{
    char msg[ERR_MSG_MAX];

    (void)arg;
    trimmed(msg, sizeof(msg), message);
    log_info("postgres: %s", msg);
}

/* --- connection ------------------------------------------------------- */

int wcs_db_connect(const char *conninfo, PGconn **out, struct err *e)
{
    /* Bounds that never cut a healthy statement, however long (wcsctl's
     * imports): a connect that gets no answer, and a link that died without
     * a word (keepalives probe an idle wait, tcp_user_timeout limits how
     * long sent data may stay unacknowledged). Later keywords override
     * earlier ones and the expanded conninfo takes the place of dbname, so
     * the conninfo may set its own. docs/config.md lists the values. */
    static const char *const keys[] = {
        "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "dbname",          NULL};
    const char *vals[] = {"10", "1", "10", "5", "3", "30000", conninfo, NULL};
    PGconn *c;
    char msg[ERR_MSG_MAX];

    *out = NULL;
    c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL)
        return err_set(e, ERR_DB, "connect: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        /* libpq's message names host and user, never the password. */
        trimmed(msg, sizeof(msg), PQerrorMessage(c));
        PQfinish(c);
        return err_set(e, ERR_DB, "connect: %s", msg);
    }
    /* Import validates UTF-8 and the COPY text is sent as such. */
    if (PQsetClientEncoding(c, "UTF8") != 0) {
        trimmed(msg, sizeof(msg), PQerrorMessage(c));
        PQfinish(c);
        return err_set(e, ERR_DB, "connect: client_encoding UTF8: %s", msg);
    }
    PQsetNoticeProcessor(c, notice_cb, NULL);
    *out = c;
    return 0;
}

/* --- migrations ------------------------------------------------------- */

static int lock_key(int lock, PGconn *c, struct err *e)
{
    char key[24];
    const char *p[1] = {key};

    snprintf(key, sizeof(key), "%lld", (long long)WCS_LOCK_MIGRATE);
    return wcs_db_command(c, lock ? "migrate: lock" : "migrate: unlock",
                          lock ? SQL_LOCK : SQL_UNLOCK, 1, p, e);
}

/* Runs one migration and records it, in one transaction. */
static int apply_one(PGconn *c, const struct wcs_migration *m, struct err *e)
{
    char ver[16], what[96];
    const char *p[2] = {ver, m->name};
    PGresult *r;
    int rc;

    snprintf(ver, sizeof(ver), "%d", m->version);
    snprintf(what, sizeof(what), "migration %04d_%s", m->version, m->name);
    rc = wcs_db_begin(c, what, e);
    if (rc < 0)
        return rc;
    /* The file may hold many statements and takes no parameters: the simple
     * query protocol runs them all, inside our transaction. */
    r = PQexec(c, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = wcs_db_fail(c, r, what, e);
        goto fail;
    }
    PQclear(r);
    rc = wcs_db_command(c, what, SQL_RECORD, 2, p, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, what, e);
    if (rc < 0)
        goto fail;
    log_info("applied migration %04d_%s", m->version, m->name);
    return 0;
fail:
    wcs_db_rollback(c);
    return rc;
}

static int migrate_locked(PGconn *c, int *applied, struct err *e)
{
    PGresult *r;
    char *done = NULL;
    int i, rc, maxv = 0, ndone;

    r = wcs_db_query(c, "migrate", SQL_HAS_TABLE, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        /* No race here: every migrator holds the advisory lock. */
        rc = wcs_db_command(c, "migrate: create schema_migrations", SQL_CREATE_TABLE, 0, NULL, e);
        if (rc < 0) {
            PQclear(r);
            return rc;
        }
    }
    PQclear(r);

    r = wcs_db_query(c, "migrate: read schema_migrations", SQL_APPLIED, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    done = calloc((size_t)wcs_migrations_count + 1, 1);
    if (done == NULL) {
        PQclear(r);
        return err_set(e, -ENOMEM, "migrate: out of memory");
    }
    ndone = PQntuples(r);
    for (i = 0; i < ndone; i++) {
        int v = atoi(PQgetvalue(r, i, 0));
        int j;

        if (v > maxv)
            maxv = v;
        for (j = 0; j < wcs_migrations_count; j++)
            if (wcs_migrations[j].version == v)
                done[j] = 1;
    }
    PQclear(r);
    if (wcs_migrations_count > 0 && maxv > wcs_migrations[wcs_migrations_count - 1].version)
        log_warnx("database schema version %d is newer than this program's %d", maxv,
                  wcs_migrations[wcs_migrations_count - 1].version);

    rc = 0;
    for (i = 0; i < wcs_migrations_count; i++) {
        if (done[i])
            continue;
        rc = apply_one(c, &wcs_migrations[i], e);
        if (rc < 0)
            break;
        if (applied != NULL)
            (*applied)++;
    }
    free(done);
    return rc;
}

int wcs_db_migrate(PGconn *c, int *applied, struct err *e)
{
    int rc;

    if (applied != NULL)
        *applied = 0;
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        return err_set(e, ERR_STATE, "migrate: connection is inside a transaction");
    rc = lock_key(1, c, e);
    if (rc < 0)
        return rc;
    rc = migrate_locked(c, applied, e);
    /* Unlock even after a failure; a failed unlock only matters if the
     * migration itself went well. */
    if (rc < 0) {
        wcs_db_rollback(c);
        lock_key(0, c, NULL);
        return rc;
    }
    return lock_key(0, c, e);
}

int wcs_db_schema_version(PGconn *c, int *version, struct err *e)
{
    PGresult *r;

    *version = 0;
    r = wcs_db_query(c, "schema version", SQL_HAS_TABLE, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        PQclear(r);
        return 0;
    }
    PQclear(r);
    r = wcs_db_query(c, "schema version", SQL_MAX_VERSION, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int wcs_db_bound_calls(PGconn *c, unsigned statement_ms, unsigned lock_ms, struct err *e)
{
    char sql[64];
    int rc;

    /* Two statements: a parameterised call takes one at a time. */
    snprintf(sql, sizeof(sql), "SET statement_timeout = %u", statement_ms);
    rc = wcs_db_command(c, "bounding calls", sql, 0, NULL, e);
    if (rc == 0) {
        snprintf(sql, sizeof(sql), "SET lock_timeout = %u", lock_ms);
        rc = wcs_db_command(c, "bounding calls", sql, 0, NULL, e);
    }
    return rc;
}

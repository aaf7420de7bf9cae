/*
 * db_users.c - users (users.h). Each change and its operator event (the
 * audit) are one transaction: no change without its record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/store/db_internal.h"
#include "wcs/store/store.h"
#include "wcs/store/users.h"

#define AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

static const char *const role_names[] = {"viewer", "operator", "supervisor", "admin"};
#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

const char *wcs_user_role_name(enum wcs_user_role r)
{
    return (unsigned)r < NROLES ? role_names[r] : NULL;
}

int wcs_user_role_parse(const char *name, enum wcs_user_role *out, struct err *e)
{
    size_t i;

    for (i = 0; i < NROLES; i++)
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum wcs_user_role)i;
            return 0;
        }
    return err_set(e, ERR_INVALID, "role: viewer, operator, supervisor or admin");
}

int wcs_user_name_check(const char *name, struct err *e)
{
    size_t n = strlen(name);

    if (n == 0 || n > WCS_USER_NAME_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
        return err_set(e, ERR_INVALID, "user name: 1 to %d of a-z 0-9 . _ -", WCS_USER_NAME_MAX);
    return 0;
}

/* Runs one statement changing a user and its operator event ("what name
 * extra") in one transaction. ERR_NOTFOUND when the statement touched no
 * row. */
static int change(PGconn *c, const char *what, const char *sql, int n, const char *const *p,
                  const char *actor, const char *name, const char *extra, struct err *e)
{
    char detail[128];
    PGresult *r;
    int rc = wcs_db_begin(c, what, e);

    if (rc < 0)
        return rc;
    r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

        if (state != NULL && strcmp(state, "23505") == 0) {
            PQclear(r);
            rc = err_set(e, ERR_CONFLICT, "%s: user %s exists already", what, name);
        } else {
            rc = wcs_db_fail(c, r, what, e);
        }
        goto fail;
    }
    if (strcmp(PQcmdTuples(r), "0") == 0) {
        PQclear(r);
        rc = err_set(e, ERR_NOTFOUND, "%s: no user %s", what, name);
        goto fail;
    }
    PQclear(r);
    snprintf(detail, sizeof(detail), "%s %s%s%s", what, name, extra ? " " : "", extra ? extra : "");
    rc = wcs_db_operator_event(c, actor, NULL, NULL, detail, e);
    if (rc == 0)
        rc = wcs_db_commit(c, what, e);
    if (rc == 0)
        return 0;
fail:
    wcs_db_rollback(c);
    return rc;
}

int wcs_db_user_add(PGconn *c, const char *name, enum wcs_user_role role, const char *hash,
                    const char *actor, struct err *e)
{
    const char *p[] = {name, wcs_user_role_name(role), hash};

    return change(c, "user add", "INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3)",
                  3, p, actor, name, p[1], e);
}

int wcs_db_user_set_password(PGconn *c, const char *name, const char *hash, const char *actor,
                             struct err *e)
{
    const char *p[] = {name, hash};

    return change(c, "user passwd",
                  "UPDATE users SET password_hash = $2, password_at = now() WHERE name = $1", 2, p,
                  actor, name, NULL, e);
}

int wcs_db_user_set_disabled(PGconn *c, const char *name, bool disabled, const char *actor,
                             struct err *e)
{
    const char *p[] = {name};

    return change(c, disabled ? "user disable" : "user enable",
                  disabled ? "UPDATE users SET disabled_at = now() WHERE name = $1"
                           : "UPDATE users SET disabled_at = NULL WHERE name = $1",
                  1, p, actor, name, NULL, e);
}

static const char SQL_USER[] =
    "SELECT role, language, password_hash, disabled_at IS NOT NULL FROM users WHERE name = $1";

int wcs_db_user_get(PGconn *c, const char *name, enum wcs_user_role *role, char language[3],
                    char hash[WCS_USER_HASH_MAX], bool *disabled, struct err *e)
{
    PGresult *r = wcs_db_query(c, "user", SQL_USER, 1, &name, e);
    int rc = 0;

    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) != 1)
        rc = err_set(e, ERR_NOTFOUND, "user: no user %s", name);
    else if (wcs_user_role_parse(PQgetvalue(r, 0, 0), role, e) == 0) {
        snprintf(language, 3, "%s", PQgetvalue(r, 0, 1));
        snprintf(hash, WCS_USER_HASH_MAX, "%s", PQgetvalue(r, 0, 2));
        *disabled = PQgetvalue(r, 0, 3)[0] == 't';
    } else {
        rc = ERR_DB;
    }
    PQclear(r);
    return rc;
}

static const char SQL_USERS[] = "SELECT name, role, language, " AT("created_at") ", "
                                AT("password_at") ", disabled_at IS NOT NULL FROM users ORDER BY name";

int wcs_db_users(PGconn *c, wcs_user_cb cb, void *arg, struct err *e)
{
    PGresult *r = wcs_db_query(c, "users", SQL_USERS, 0, NULL, e);
    int i, nt, rc = 0;

    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt && rc == 0; i++) {
        struct wcs_user u = {.name = PQgetvalue(r, i, 0),
                             .language = PQgetvalue(r, i, 2),
                             .created_at = PQgetvalue(r, i, 3),
                             .password_at = PQgetvalue(r, i, 4),
                             .disabled = PQgetvalue(r, i, 5)[0] == 't'};
        struct err ignored;

        if (wcs_user_role_parse(PQgetvalue(r, i, 1), &u.role, &ignored) < 0)
            continue; /* the table's CHECK allows none other */
        rc = cb(arg, &u);
    }
    PQclear(r);
    return rc;
}

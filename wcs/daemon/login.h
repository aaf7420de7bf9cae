/*
 * login.h - POST /v1/login's two halves: its body, read by a pure function
 * on the loop, and the check of the password, which is slow on purpose
 * (argon2id, about 0.1 s) and needs the database, so it runs on a thread
 * of libuv's pool, never on the loop (wcs/daemon/http_server.c suspends the
 * request meanwhile).
 */
#ifndef WCS_DAEMON_LOGIN_H
#define WCS_DAEMON_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "wcs/core/password.h"
#include "wcs/store/users.h"

#define WCS_LOGIN_BODY_MAX 4096 /* bytes of a login body, at most */

/* A login request's fields. */
struct wcs_login {
    char user[WCS_USER_NAME_MAX + 1];
    char password[WCS_PASSWORD_MAX + 1];
};

/* Reads {"user": "...", "password": "..."} (len bytes, not necessarily
 * NUL-terminated). Returns 0, or ERR_PARSE with the reason in e (never the
 * password, nor the text around a JSON error). The user name is checked as
 * wcs_user_name_check() does; the password only for its length. */
int wcs_login_body_parse(const char *body, size_t len, struct wcs_login *out, struct err *e);

/* What the check found. */
struct wcs_login_result {
    bool ok;                 /* the user exists, is enabled, and the password is theirs */
    bool db_error;           /* the database could not be asked: not the user's fault */
    bool exists;             /* there is such a user (for the audit only, never the answer) */
    enum wcs_user_role role;
    char language[3];
};

/* Makes the dummy hash a missing user is checked against, so the first such
 * login costs what every other does. Once, at start: 0 or -ENOMEM. */
int wcs_login_prepare(struct err *e);

/* Checks l against the users table over a connection of its own (conninfo).
 * A missing or disabled user costs the same hash as a wrong password, so
 * the answer's time says nothing of which it was. Wipes l->password. Any
 * thread. */
void wcs_login_check(const char *conninfo, struct wcs_login *l, struct wcs_login_result *out);

#endif

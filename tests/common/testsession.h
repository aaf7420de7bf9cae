/*
 * testsession.h - a console user's requests to a test's wcsd (testwcsd.h):
 * users made with wcsctl, logins, calls with the session cookie and its
 * CSRF token, what came back.
 */
#ifndef TESTSESSION_H
#define TESTSESSION_H

#include <jansson.h>

#include "tests/common/testwcsd.h"

#define TSESS_PW "operator password 1"

/* One request: POST when body is not NULL. What came back. */
struct tsess_call {
    const char *path, *body, *cookie, *csrf;
    long status;
    char set_cookie[256];
    json_t *json; /* the answer, NULL when not JSON; the caller frees it */
};

long tsess_send(const struct twcsd *w, struct tsess_call *c);

/* The status of one request; its answer dropped. */
long tsess_status(const struct twcsd *w, const char *path, const char *body, const char *cookie,
                  const char *csrf);

/* Logs user in; its session id into id, its CSRF token into csrf (each 64
 * bytes) when the answer is 200, after checking the cookie's flags.
 * Returns the status. */
long tsess_login(const struct twcsd *w, const char *user, const char *password, char id[64],
                 char csrf[64]);

/* wcsctl user add name --role role, password TSESS_PW. */
void tsess_add_user(const struct twcsd *w, const char *name, const char *role);

#endif

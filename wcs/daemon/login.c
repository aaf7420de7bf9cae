/*
 * login.c - a login's body and its password check (login.h).
 */
#include "wcs/daemon/login.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>

#include "common/diag.h"
#include "wcs/store/store.h"

int wcs_login_body_parse(const char *body, size_t len, struct wcs_login *out, struct err *e)
{
    json_error_t je;
    json_t *root, *u, *p;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (len > WCS_LOGIN_BODY_MAX)
        return err_set(e, ERR_PARSE, "body of %zu bytes, at most %d", len, WCS_LOGIN_BODY_MAX);
    root = json_loadb(body != NULL ? body : "", len, 0, &je);
    if (root == NULL) /* not jansson's text: it quotes the input, a password too */
        return err_set(e, ERR_PARSE, "body is not JSON (line %d, column %d)", je.line,
                       je.column);
    u = json_object_get(root, "user");
    p = json_object_get(root, "password");
    if (!json_is_string(u) || !json_is_string(p))
        rc = err_set(e, ERR_PARSE, "{\"user\": ..., \"password\": ...} expected");
    else if (wcs_user_name_check(json_string_value(u), e) < 0 ||
             json_string_length(u) != strlen(json_string_value(u)))
        rc = err_set(e, ERR_PARSE, "user: 1 to %d of a-z 0-9 . _ -", WCS_USER_NAME_MAX);
    else if (json_string_length(p) == 0 || json_string_length(p) > WCS_PASSWORD_MAX ||
             json_string_length(p) != strlen(json_string_value(p)))
        rc = err_set(e, ERR_PARSE, "password: 1 to %d characters", WCS_PASSWORD_MAX);
    else {
        memcpy(out->user, json_string_value(u), json_string_length(u) + 1);
        memcpy(out->password, json_string_value(p), json_string_length(p) + 1);
    }
    json_decref(root);
    return rc;
}

/* A hash to check a password against when there is no user's: the same
 * cost. Made once, by whichever pool thread needs it first. */
static char dummy[WCS_PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
    struct err e;

    if (wcs_password_hash("no such user, no such password", 30, dummy, &e) < 0)
        dummy[0] = '\0';
}

static const char *dummy_hash(void)
{
    pthread_once(&dummy_once, dummy_make);
    return dummy;
}

int wcs_login_prepare(struct err *e)
{
    return dummy_hash()[0] != '\0' ? 0 : err_set(e, -ENOMEM, "login: cannot make the dummy hash");
}

void wcs_login_check(const char *conninfo, struct wcs_login *l, struct wcs_login_result *out)
{
    char hash[WCS_USER_HASH_MAX] = "";
    bool disabled = true;
    struct err e;
    PGconn *c = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = wcs_db_connect(conninfo, &c, &e);
    /* A lock on users must not hold a login (and its connection) for ever. */
    if (rc == 0)
        rc = wcs_db_bound_calls(c, 3000, 1000, &e);
    if (rc == 0)
        rc = wcs_db_user_get(c, l->user, &out->role, out->language, hash, &disabled, &e);
    out->exists = rc == 0;
    PQfinish(c);
    out->db_error = rc < 0 && rc != ERR_NOTFOUND;
    out->ok = wcs_password_verify(rc == 0 ? hash : dummy_hash(), l->password,
                                  strlen(l->password)) &&
              rc == 0 && !disabled;
    explicit_bzero(l->password, sizeof(l->password));
    explicit_bzero(hash, sizeof(hash));
}

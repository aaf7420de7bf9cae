/*
 * sessions.h - the operator console's login sessions in wcsd (issue 11):
 * who is logged in, for how long, and each session's CSRF token. In memory
 * on the loop thread (a restart logs everyone out); bounded; no locks.
 *
 * A session id and a CSRF token are 32 random bytes from getrandom(2),
 * written base64url (43 characters). The id is the cookie's value; it is
 * looked up by comparing it with every session's, every byte (common/token's
 * constant-time comparison), so the time taken says nothing about it.
 */
#ifndef WCS_DAEMON_SESSIONS_H
#define WCS_DAEMON_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/token.h"
#include "wcs/store/users.h"

#define WCS_SESSIONS_MAX 256                   /* logged in at once */
#define WCS_SESSIONS_PER_USER 8                /* ... by one user (its oldest gives way) */
#define WCS_SESSION_IDLE_US (2LL * 3600000000) /* ends after 2 h without a request */
#define WCS_SESSION_LIFE_US (12LL * 3600000000) /* ... and 12 h after the login anyway */
#define WCS_SESSION_TEXT 44                    /* an id or CSRF token with its NUL */

struct wcs_session {
    char user[WCS_USER_NAME_MAX + 1];
    enum wcs_user_role role;
    char language[3];
    char csrf[WCS_SESSION_TEXT];
    struct token_secret id;
    uint64_t created_us, last_us; /* monotonic */
    bool used;
};

struct wcs_sessions;

struct wcs_sessions *wcs_sessions_new(void);
void wcs_sessions_free(struct wcs_sessions *s); /* wipes every id */

/* Starts a session for user at now_us; its id into id (the cookie's value).
 * With every slot taken the session idle longest is ended. Returns the
 * session, or NULL when no random bytes could be had. */
const struct wcs_session *wcs_session_start(struct wcs_sessions *s, const char *user,
                                            enum wcs_user_role role, const char *language,
                                            uint64_t now_us, char id[WCS_SESSION_TEXT]);

/* The live session whose id is id (a cookie's value, unchecked text), its
 * last use set to now_us; NULL when there is none or it has expired (an
 * expired one is ended). */
const struct wcs_session *wcs_session_find(struct wcs_sessions *s, const char *id,
                                           uint64_t now_us);

/* Ends the session whose id is id (logout). True when there was one. */
bool wcs_session_end(struct wcs_sessions *s, const char *id);

/* The user of session id chose language ("en" or "zh"): every session of
 * that user shows it from now on. */
void wcs_session_set_language(struct wcs_sessions *s, const char *id, const char *language);

/* Ends every session of user (disabled, password changed), or every
 * session when user is NULL. How many. */
size_t wcs_sessions_end_user(struct wcs_sessions *s, const char *user);

/* The value of cookie name in a Cookie header ("a=1; wcs_session=XYZ"), into
 * out (len bytes); false when absent or too long. */
bool wcs_cookie_value(const char *header, const char *name, char *out, size_t len);

#endif

/*
 * users.h - the operator console's users in PostgreSQL (wcs/store/db_users.c;
 * migration 0012). Passwords reach this layer only as hashes
 * (wcs/core/password.h). Every change is recorded as an operator event
 * (kind operator, source the actor: wcs_db_operator_event()), the audit
 * every other action of an operator goes to as well.
 */
#ifndef WCS_USERS_H
#define WCS_USERS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/err.h"

#define WCS_USER_NAME_MAX 20 /* fits an event's source: who did it */

/* viewer reads; operator also acts at the line (bags, chutes, alarms, keyed
 * codes); supervisor also plans (sort plans, dispatches); admin also users
 * and tokens. Each role may do all the roles before it may. */
enum wcs_user_role { WCS_USER_VIEWER = 0, WCS_USER_OPERATOR, WCS_USER_SUPERVISOR, WCS_USER_ADMIN };

/* "viewer", ...; NULL out of range. */
const char *wcs_user_role_name(enum wcs_user_role r);

/* 0 and *out for a role's name; ERR_INVALID otherwise. */
int wcs_user_role_parse(const char *name, enum wcs_user_role *out, struct err *e);

/* 0 when name may be a user's: 1 to 20 of a-z 0-9 . _ -; ERR_INVALID. */
int wcs_user_name_check(const char *name, struct err *e);

/* A user as stored. Strings valid during the callback only. */
struct wcs_user {
    const char *name;
    enum wcs_user_role role;
    const char *language;
    const char *created_at;  /* "YYYY-MM-DD HH:MM:SS" UTC */
    const char *password_at;
    bool disabled;
};

/* Adds a user with a password hash; actor (who did it) is recorded in the
 * same transaction. Returns 0, ERR_CONFLICT (the name exists) or ERR_DB. */
int wcs_db_user_add(PGconn *c, const char *name, enum wcs_user_role role, const char *hash,
                    const char *actor, struct err *e);

/* Sets a user's password hash (and password_at). 0, ERR_NOTFOUND, ERR_DB. */
int wcs_db_user_set_password(PGconn *c, const char *name, const char *hash, const char *actor,
                             struct err *e);

/* Disables (disabled true) or enables a user. 0, ERR_NOTFOUND, ERR_DB. */
int wcs_db_user_set_disabled(PGconn *c, const char *name, bool disabled, const char *actor,
                             struct err *e);

/* Reads user name's role, language (2 letters), password hash (into hash,
 * WCS_USER_HASH_MAX bytes) and whether disabled. 0, ERR_NOTFOUND, ERR_DB. */
#define WCS_USER_HASH_MAX 128
int wcs_db_user_get(PGconn *c, const char *name, enum wcs_user_role *role, char language[3],
                    char hash[WCS_USER_HASH_MAX], bool *disabled, struct err *e);

/* Calls cb for every user by name; a non-zero return of cb stops the walk and
 * is returned. 0 or ERR_DB. */
typedef int (*wcs_user_cb)(void *arg, const struct wcs_user *u);
int wcs_db_users(PGconn *c, wcs_user_cb cb, void *arg, struct err *e);

#endif

/*
 * console_store.h - what the operator console keeps in PostgreSQL: the
 * line's alarms, the chutes operators disabled, a user's language.
 */
#ifndef WCS_CONSOLE_STORE_H
#define WCS_CONSOLE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "wcs/core/alarms.h"
#include "wcs/store/store.h"

/* Inserts or updates alarm a of node (newer versions only). 0 or ERR_DB. */
int wcs_db_alarm_put(PGconn *c, const char *node, const struct wcs_alarm *a, struct err *e);

/* Calls cb for node's alarms still open or closed after since_us, oldest
 * first. Returns 0, cb's non-zero, ERR_DB. */
typedef int (*wcs_alarm_cb)(void *arg, const struct wcs_alarm *a);
int wcs_db_alarms_recent(PGconn *c, const char *node, int64_t since_us, wcs_alarm_cb cb,
                         void *arg, struct err *e);

/* An operator disables (held) or enables chute of line node, with its
 * operator event ("chute CHUTE disabled"), in one transaction. Chute names
 * repeat from line to line: a hold is the line's. */
int wcs_db_chute_hold(PGconn *c, const char *node, const char *chute, bool held,
                      const char *actor, struct err *e);

/* Calls cb for every chute of line node held. */
typedef int (*wcs_chute_hold_cb)(void *arg, const char *chute, const char *held_by);
int wcs_db_chute_holds(PGconn *c, const char *node, wcs_chute_hold_cb cb, void *arg,
                       struct err *e);

/* Sets user name's console language ("en" or "zh"). ERR_NOTFOUND, ERR_DB. */
int wcs_db_user_set_language(PGconn *c, const char *name, const char *language, struct err *e);

/*
 * The console's read views, each one SQL statement whose answer PostgreSQL
 * builds as a JSON document (docs/console.md has the shapes): *out gets it
 * (malloc'd, caller frees). arg: the chute for CHUTE, the code for TRACE,
 * the hours back for AUDIT, unused otherwise. Returns 0, ERR_NOTFOUND (a
 * TRACE code nobody knows: no parcel, no event), ERR_DB.
 */
enum wcs_console_view {
    WCS_VIEW_CHUTE,      /* {recent, bags, history} of a chute */
    WCS_VIEW_TRACE,      /* {code, parcel, customs, events} of a parcel code */
    WCS_VIEW_BAGS,       /* {bags} */
    WCS_VIEW_DISPATCHES, /* {dispatches} */
    WCS_VIEW_PLANS,      /* {active, plans} */
    WCS_VIEW_AUDIT,      /* {events} */
    WCS_VIEW_USERS,      /* {users} */
    WCS_VIEW_COUNT
};
int wcs_db_console_view(PGconn *c, enum wcs_console_view v, const char *arg, char **out,
                        struct err *e);

#endif

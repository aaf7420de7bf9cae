/*
 * err.h - the one error convention of the project.
 *
 * Functions return int: 0 on success, a negative code on failure. System
 * errors are -errno; domain errors use the ERR_* range below. The human
 * detail ("plan.csv:12: chute: CH099 is not declared") travels in a
 * caller-owned struct err, which may be NULL when the caller does not care.
 * err_set() fills it and returns the code, so one line both records and
 * returns:  return err_set(e, ERR_PARSE, "%s:%d: %s: %s", file, line, k, why);
 */
#ifndef WCS_COMMON_ERR_H
#define WCS_COMMON_ERR_H

#include <stddef.h>

/* Domain error codes, far below any -errno value: one list, from which the
 * enum and the name/text table (err.c) are both made, so they cannot drift.
 *   XX(name, code, text)                                                   */
#define ERR_MAP(XX)                                                                     \
    XX(ERR_INVALID, -10001, "invalid value")          /* a value breaks a rule */       \
    XX(ERR_PARSE, -10002, "cannot parse input")       /* CSV, JSON, YAML, telegram */   \
    XX(ERR_NOTFOUND, -10003, "not found")             /* the named thing is absent */   \
    XX(ERR_CONFLICT, -10004, "conflicts with existing data")                            \
    XX(ERR_DB, -10005, "database error")              /* refused or unreachable */      \
    XX(ERR_CONFIG, -10006, "configuration error")                                       \
    XX(ERR_FULL, -10007, "resource full")             /* a bounded resource */          \
    XX(ERR_STATE, -10008, "not allowed in the current state")                           \
    XX(ERR_HTTP, -10009, "HTTP peer error")           /* failed or answered badly */ \
    XX(ERR_FENCED, -10010, "fenced: another holder has the lease") /* a stale writer */

enum {
#define ERR_ENUM_ITEM(name, code, text) name = (code),
    ERR_MAP(ERR_ENUM_ITEM)
#undef ERR_ENUM_ITEM
};

#define ERR_MSG_MAX 512

struct err {
    int code;               /* last code set, 0 if none */
    char msg[ERR_MSG_MAX];  /* human-readable detail, NUL-terminated */
};

/* Records code and a formatted message in e (if not NULL); returns code. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears e (if not NULL). */
void err_clear(struct err *e);

/* Prefixes the message already in e (if not NULL) with a formatted context
 * + ": " and records code; returns code, so the caller's real code survives
 * whether or not there is a struct to carry the detail:
 *   if ((rc = f(..., e)) < 0) return err_wrap(e, rc, "plan %d", version);  */
int err_wrap(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Short symbolic name of a code ("ERR_PARSE", "ENOENT"). Never NULL. */
const char *err_name(int code);

/* One-line description of a code. Never NULL. */
const char *err_text(int code);

#endif

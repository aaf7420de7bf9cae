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

/* Domain error codes; far below any -errno value. */
enum {
    ERR_INVALID = -10001,  /* a value breaks a rule (bad code, bad field) */
    ERR_PARSE = -10002,    /* input cannot be parsed (CSV, JSON, YAML, telegram) */
    ERR_NOTFOUND = -10003, /* the named thing does not exist */
    ERR_CONFLICT = -10004, /* the thing exists and differs */
    ERR_DB = -10005,       /* the database refused or is unreachable */
    ERR_CONFIG = -10006,   /* configuration is wrong */
    ERR_FULL = -10007,     /* a bounded resource is full */
    ERR_STATE = -10008,    /* operation not valid in the current state */
    ERR_HTTP = -10009,     /* an HTTP peer failed or answered badly */
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

/* Prefixes the message already in e with a formatted context + ": ";
 * returns e->code (or ERR_INVALID when e is NULL). */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Short symbolic name of a code ("ERR_PARSE", "ENOENT"). Never NULL. */
const char *err_name(int code);

/* One-line description of a code. Never NULL. */
const char *err_text(int code);

#endif

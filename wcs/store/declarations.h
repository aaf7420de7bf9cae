/*
 * declarations.h - what operators see of customs (wcs/db_declarations.c):
 * the problem list behind `wcsctl customs problems` and one parcel's
 * declaration for `wcsctl customs show`. Read-only; the writers are the
 * import (wcs/store.h), the customs worker and the feed (wcs/customs_store.h).
 */
#ifndef WCS_DECLARATIONS_H
#define WCS_DECLARATIONS_H

#include <libpq-fe.h>

#include "common/err.h"

/* One line of the problem list. Strings valid during the callback only;
 * detail and text may be NULL. */
struct wcs_customs_problem {
    const char *kind;   /* see below, in the list's order */
    const char *ref;    /* parcel id, manifest id for "manifest", the alarm's ref for "worker" */
    const char *detail; /* JSON array: errors/warnings ({field,code,message}) or unknown parcels */
    const char *text;   /* a reason, a duty estimate's note, a manifest's refusal */
    const char *at;     /* when, "YYYY-MM-DD HH:MM:SS" UTC */
};

/*
 * Calls cb for every open customs problem, grouped by kind in this order,
 * oldest first within a kind:
 *   worker   - an open alarm of the customs worker (customs_alarms): ref is
 *              what it is about, text its kind, what happened, how often
 *              since when, the broker and the worker;
 *   invalid  - our own validation failed: the parcel is blocked (customs hold)
 *              until corrected pre-advice replaces the declaration;
 *   rejected - the broker refused the declaration (its errors);
 *   held     - the broker holds the parcel (the latest held event's reason);
 *   manifest - a dispatch's manifest was refused (text) or the broker knows
 *              some of its parcels by no accepted declaration (detail);
 *   duty     - a parcel over the duty-free limit (text: estimated duty);
 *   warning  - a declaration sent with validator warnings.
 * kinds, when not NULL, is a NULL-terminated list of the kinds wanted.
 * A non-zero return of cb stops the walk and is returned. Returns 0 or ERR_DB.
 */
typedef int (*wcs_customs_problem_cb)(void *arg, const struct wcs_customs_problem *p);
int wcs_db_customs_problems(PGconn *c, const char *const *kinds, wcs_customs_problem_cb cb,
                            void *arg, struct err *e);

/* An open alarm of the customs worker (docs/customs.md "Alarms"). Strings
 * valid during the callback only. */
struct wcs_customs_alarm {
    const char *broker;   /* the worker's broker name */
    const char *kind;     /* "config" or "answer" */
    const char *ref;      /* "HOST POST /v1/declarations", "batch 1a2b3c4d", ... */
    const char *owner;    /* the worker that raised it last (host:pid) */
    int http_status;      /* 0 none */
    const char *text;
    long long count;      /* times raised since first_at */
    const char *first_at; /* "YYYY-MM-DD HH:MM:SS" UTC */
    const char *last_at;
};

/* Calls cb for every open alarm of the customs worker, oldest last raise
 * first. A non-zero return of cb stops the walk and is returned. Returns 0
 * or ERR_DB. */
typedef int (*wcs_customs_alarm_cb)(void *arg, const struct wcs_customs_alarm *a);
int wcs_db_customs_alarms(PGconn *c, wcs_customs_alarm_cb cb, void *arg, struct err *e);

/* How many of the worker's alarms are open, into *n. Returns 0 or ERR_DB. */
int wcs_db_customs_alarms_open(PGconn *c, long long *n, struct err *e);

/* How many dispatches' manifests the broker refused (manifest_error) in the
 * last 24 hours, into *n. Returns 0 or ERR_DB. */
int wcs_db_manifests_refused(PGconn *c, long long *n, struct err *e);

/* One parcel's declaration and what became of it. Strings malloc'd (NULL =
 * absent), freed by wcs_declaration_row_free(). */
struct wcs_declaration_row {
    char *parcel_id;      /* the code it is declared under */
    char *status;         /* pending, accepted, rejected, invalid */
    char *body;           /* the DECLARATION JSON as stored */
    char *broker_ref;
    char *errors;         /* JSON array */
    char *warnings;       /* JSON array */
    long long duty_cents; /* -1 when not estimated */
    char *duty_note;
    char *customs_status; /* the parcel's: none, pending, released, held, blocked */
    char *outbox;         /* the open outbox row: "queued", "attempt N, lease until T"; NULL = none */
    char *events;         /* JSON array of the broker's events for the parcel, oldest first */
    char *updated_at;
};

/* Loads the declaration of the parcel carrying code (any of its codes).
 * Returns 0, ERR_NOTFOUND (no such parcel, or it has no declaration),
 * -ENOMEM or ERR_DB. */
int wcs_db_declaration_get(PGconn *c, const char *code, struct wcs_declaration_row *out,
                           struct err *e);

void wcs_declaration_row_free(struct wcs_declaration_row *r);

#endif

/*
 * alarms.h - the line's alarms: raised when a condition has held for its
 * kind's delay, cleared when it no longer holds, acknowledged by a user.
 * Pure: each round the caller observes the conditions it sees (the PLC
 * link, chutes, line state, read rate, scanners, spool, database,
 * customs) and settles; the set says what changed, for the caller to keep
 * (PostgreSQL) and to show (the console). Loop thread only.
 */
#ifndef WCS_ALARMS_H
#define WCS_ALARMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define WCS_ALARMS_MAX 256      /* open and recent alarms held */
#define WCS_ALARM_ID_LEN 16     /* hex characters */
#define WCS_ALARM_SUBJECT_MAX 31
#define WCS_ALARM_TEXT_MAX 127
#define WCS_ALARM_KEEP_US (24LL * 3600 * 1000000) /* closed alarms shown this long */

enum wcs_alarm_kind {
    WCS_ALARM_PLC_LINK_DOWN = 0,
    WCS_ALARM_CHUTE_FULL,
    WCS_ALARM_LINE_STOPPED,
    WCS_ALARM_LINE_ESTOP,
    WCS_ALARM_READ_RATE_LOW,
    WCS_ALARM_SCANNER_UNPLUGGED,
    WCS_ALARM_SPOOL_FILLING,
    WCS_ALARM_DATABASE_DOWN,
    WCS_ALARM_CUSTOMS_FAILING,
    WCS_ALARM_MANIFEST_REFUSED,
    WCS_ALARM_PRINTER_DOWN,
    WCS_ALARM_KIND_COUNT
};

enum wcs_alarm_severity { WCS_ALARM_INFO = 0, WCS_ALARM_WARNING, WCS_ALARM_CRITICAL };

struct wcs_alarm {
    char id[WCS_ALARM_ID_LEN + 1];
    uint8_t kind;                        /* enum wcs_alarm_kind */
    uint8_t severity;                    /* enum wcs_alarm_severity */
    char subject[WCS_ALARM_SUBJECT_MAX + 1]; /* a chute, PLC, scanner; "" the line */
    char text[WCS_ALARM_TEXT_MAX + 1];
    int64_t raised_us, cleared_us;       /* Unix microseconds; cleared 0 = open */
    int64_t acked_us;                    /* 0 = not acknowledged */
    char acked_by[24];
    uint32_t version;                    /* bumped on every change */
};

struct wcs_alarms;

/* delay_s[kind]: how long a condition must hold before it is raised (NULL
 * = the defaults of wcs_alarm_default_delay_s). */
struct wcs_alarms *wcs_alarms_new(const unsigned *delay_s);
void wcs_alarms_free(struct wcs_alarms *a);

const char *wcs_alarm_kind_name(enum wcs_alarm_kind k);
int wcs_alarm_kind_parse(const char *name, enum wcs_alarm_kind *out);
const char *wcs_alarm_severity_name(enum wcs_alarm_severity s);
unsigned wcs_alarm_default_delay_s(enum wcs_alarm_kind k);

/* Puts back an alarm kept before a restart (wcsd's start). An open one is
 * cleared at the first settle unless its condition is seen again. */
void wcs_alarms_restore(struct wcs_alarms *a, const struct wcs_alarm *al);

/* A condition seen this round; text says what (kept up to date while open). */
void wcs_alarms_observe(struct wcs_alarms *a, enum wcs_alarm_kind kind, const char *subject,
                        const char *text);

/* Ends the round at now_us: raises what held long enough (id from id_bytes,
 * 8 random bytes per raise the caller supplies through rand_cb), clears
 * what was not seen, forgets closed alarms older than WCS_ALARMS_KEEP_US.
 * Returns how many alarms changed. */
size_t wcs_alarms_settle(struct wcs_alarms *a, int64_t now_us,
                         void (*rand_cb)(uint8_t out[8], void *arg), void *arg);

/* Acknowledges alarm id for user at now_us. 0, ERR_NOTFOUND, or ERR_STATE
 * when it was already acknowledged (then *out still points at it). */
int wcs_alarms_ack(struct wcs_alarms *a, const char *id, const char *user, int64_t now_us,
                   const struct wcs_alarm **out);

/* Copies into out (at most max) the alarms changed since they were last
 * stored, for the caller to keep; returns how many. */
size_t wcs_alarms_unstored(const struct wcs_alarms *a, struct wcs_alarm *out, size_t max);
/* The store kept alarm id as of version. */
void wcs_alarms_stored(struct wcs_alarms *a, const char *id, uint32_t version);

/* The alarms held, newest first, open before closed; *n of them. */
const struct wcs_alarm *wcs_alarms_list(struct wcs_alarms *a, size_t *n);
size_t wcs_alarms_open(const struct wcs_alarms *a);
/* Counts changes since the set was made: the console sends the list again
 * when it moved. */
uint64_t wcs_alarms_changes(const struct wcs_alarms *a);

#endif

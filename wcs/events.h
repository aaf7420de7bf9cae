/*
 * events.h - the append-only event log and its one batching writer.
 *
 * Producers (wcsd's loop: scans, decisions, confirmations; wcsctl: operator
 * actions) hand events to the writer without blocking; a store thread owns
 * one database connection and writes them in batches with COPY, off the hot
 * path. wcs_db_events_copy() is the one statement that writes events.
 */
#ifndef WCS_EVENTS_H
#define WCS_EVENTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum wcs_event_kind {
    WCS_EVENT_SCAN = 0,   /* a code read at a scan point */
    WCS_EVENT_DECISION,   /* a destination decided */
    WCS_EVENT_CONFIRM,    /* the sorter confirmed (sorted, recirculated, lost...) */
    WCS_EVENT_OPERATOR,   /* an operator action */
    WCS_EVENT_SYSTEM,     /* plan activated, daemon started... */
    WCS_EVENT_KIND_COUNT
};

struct wcs_event {
    int64_t id;                 /* unique; 0 = let the writer assign one */
    int64_t at_us;              /* microseconds since the Unix epoch, UTC */
    uint8_t kind;               /* enum wcs_event_kind */
    char parcel_code[33];
    char location[21];          /* scan point / decision point */
    char chute[21];
    char reason[9];             /* RES_ reason code or confirmation event */
    char source[21];            /* PLC id, scanner id, "wcsctl", ... */
    char detail[128];           /* free text, e.g. "route RU-MOW-AIR plan v3" */
};

/* "scan", "decision", "confirm", "operator", "system". */
const char *wcs_event_kind_name(enum wcs_event_kind k);

/* A new unique event id: milliseconds since the epoch << 20 | a counter,
 * strictly increasing within the process. Thread-safe. */
int64_t wcs_event_id_next(void);

/* Writes n events with one COPY in the caller's transaction state.
 * Returns 0 or ERR_DB. */
int wcs_db_events_copy(PGconn *c, const struct wcs_event *ev, size_t n, struct err *e);

struct wcs_event_writer_opts {
    size_t queue_capacity;      /* events buffered in memory (default 65536) */
    size_t batch_max;           /* events per COPY (default 2000) */
    unsigned flush_interval_ms; /* longest an event waits for a batch (default 20) */
};

struct wcs_event_writer_stats {
    uint64_t pushed;            /* accepted by push */
    uint64_t written;           /* committed to the database */
    uint64_t batches;           /* COPY batches committed */
    uint64_t dropped;           /* refused by push because the queue was full */
    uint64_t db_errors;         /* failed batches (retried) */
    size_t queued;              /* waiting now */
};

struct wcs_event_writer;

/* Starts the store thread with its own connection. opts may be NULL.
 * Returns 0, ERR_DB (cannot connect), or -errno. */
int wcs_event_writer_start(const char *conninfo, const struct wcs_event_writer_opts *opts,
                           struct wcs_event_writer **out, struct err *e);

/* Queues one event (copied; id assigned when 0). Never blocks on the
 * database. Returns 0 or ERR_FULL when the queue is full. Thread-safe. */
int wcs_event_writer_push(struct wcs_event_writer *w, const struct wcs_event *ev);

/* Waits until everything pushed before the call is committed, or timeout_ms
 * passes. Returns 0 or -ETIMEDOUT. */
int wcs_event_writer_flush(struct wcs_event_writer *w, unsigned timeout_ms);

void wcs_event_writer_stats(struct wcs_event_writer *w, struct wcs_event_writer_stats *out);

/* Writes what is queued (bounded by a few seconds when the database is
 * down), stops the thread and frees w. */
void wcs_event_writer_stop(struct wcs_event_writer *w);

#endif

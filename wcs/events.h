/*
 * events.h - the append-only event log and its one batching writer.
 *
 * Producers (wcsd's loop: scans, decisions, confirmations; wcsctl: operator
 * actions) hand events to the writer without blocking; a store thread owns
 * one database connection and writes them in batches with COPY, off the hot
 * path. wcs_db_events_copy() is the one statement that writes events;
 * wcs_db_events_copy_idempotent() is the same rows through a staging table,
 * for re-sending a batch whose commit outcome is unknown. docs/events.md has
 * the design, the guarantees and the limits.
 */
#ifndef WCS_EVENTS_H
#define WCS_EVENTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum wcs_event_kind {
    WCS_EVENT_SCAN = 0, /* a code read at a scan point */
    WCS_EVENT_DECISION, /* a destination decided */
    WCS_EVENT_CONFIRM,  /* the sorter confirmed (sorted, recirculated, lost...) */
    WCS_EVENT_OPERATOR, /* an operator action */
    WCS_EVENT_SYSTEM,   /* plan activated, daemon started... */
    WCS_EVENT_KIND_COUNT
};

/*
 * One event. The text fields are NUL-terminated (a field filled to the brim
 * without a NUL is cut at its size); an empty field is stored as NULL. Bytes
 * that are not valid UTF-8 (a scanner's garbage, a Cyrillic text cut in the
 * middle of a character) are stored as '?', so one bad event can never make
 * the server refuse a whole batch.
 */
struct wcs_event {
    int64_t id;    /* unique, > 0; 0 = let the writer assign one */
    int64_t at_us; /* microseconds since the Unix epoch, UTC, up to
                    * year 9999; 0 given to the writer's push = the
                    * push time (wcs_db_events_copy stores it as is) */
    uint8_t kind;  /* enum wcs_event_kind */
    char parcel_code[33];
    char location[21]; /* scan point / decision point */
    char chute[21];
    char reason[9];   /* RES_ reason code or confirmation event */
    char source[21];  /* PLC id, scanner id, "wcsctl", ... */
    char detail[128]; /* free text, e.g. "route RU-MOW-AIR plan v3" */
};

/* Largest at_us accepted: 9999-12-31T23:59:59.999999Z. */
#define WCS_EVENT_AT_US_MAX INT64_C(253402300799999999)

/* "scan", "decision", "confirm", "operator", "system"; "unknown" for a value
 * out of range. Never NULL. */
const char *wcs_event_kind_name(enum wcs_event_kind k);

/* A new unique event id: milliseconds since the epoch << 20 | a counter.
 * Strictly increasing across all threads of the process: an id returned
 * after another call has returned is larger than that call's id (lock-free
 * compare-and-swap on the last id handed out; when the clock stands still or
 * steps back, ids keep counting up from the last one). Thread-safe. */
int64_t wcs_event_id_next(void);

/* Checks that ev can be stored: id > 0 (or 0 when allow_zero_id), kind in
 * range, 0 <= at_us <= WCS_EVENT_AT_US_MAX. Returns 0 or ERR_INVALID. */
int wcs_event_check(const struct wcs_event *ev, int allow_zero_id, struct err *e);

/* Writes n events with one COPY into `events`, in the caller's transaction
 * state (autocommit: the COPY is its own transaction). Every event must pass
 * wcs_event_check() with an id; nothing is sent otherwise. n == 0 sends
 * nothing. Returns 0, ERR_INVALID (an event is not storable), ERR_CONFLICT
 * (an id is already stored: SQLSTATE 23505; nothing of the COPY is stored
 * and an open transaction is aborted), ERR_DB, or -ENOMEM. */
int wcs_db_events_copy(PGconn *c, const struct wcs_event *ev, size_t n, struct err *e);

/* Like wcs_db_events_copy(), but events whose id is already stored are
 * skipped instead of failing: COPY into a session temp table
 * (wcs_events_in, created on first use, emptied at commit), then one
 * INSERT .. SELECT .. ON CONFLICT (id) DO NOTHING. Must run inside a
 * transaction the caller opened (the staging rows live until its commit).
 * *inserted (may be NULL) gets the rows actually added. Returns 0,
 * ERR_INVALID, ERR_STATE (no open transaction), ERR_DB, or -ENOMEM. */
int wcs_db_events_copy_idempotent(PGconn *c, const struct wcs_event *ev, size_t n, size_t *inserted,
                                  struct err *e);

/* Zero in any field means "use the default". */
struct wcs_event_writer_opts {
    size_t queue_capacity;      /* events buffered in memory, including the batch
                                 * being written (default 65536, ~16 MB) */
    size_t batch_max;           /* events per COPY (default 2000) */
    unsigned flush_interval_ms; /* longest an event waits for its batch to fill,
                                 * besides the previous batch's write (default 20) */
    unsigned drain_timeout_ms;  /* longest stop() keeps trying to write what is
                                 * queued while the database fails (default 5000) */
};

/* Counters since start; exact (taken under the queue lock). At any moment
 * pushed == written + duplicates + queued. */
struct wcs_event_writer_stats {
    uint64_t pushed;     /* accepted by push */
    uint64_t written;    /* committed to the database */
    uint64_t batches;    /* COPY batches committed */
    uint64_t dropped;    /* refused by push because the queue was full */
    uint64_t db_errors;  /* failed batch attempts (each one retried) */
    uint64_t duplicates; /* not stored: their id was already in the table
                          * and not put there by this writer's own retry */
    size_t queued;       /* waiting now, including the batch in flight */
};

struct wcs_event_writer;

/* Connects (application_name "wcs-event-writer") and starts the store
 * thread, which then owns the connection. opts may be NULL. On success *out
 * is the writer, to be released with wcs_event_writer_stop(). Returns 0,
 * ERR_DB (cannot connect), ERR_INVALID (batch_max > queue_capacity), or
 * -errno (memory, thread). */
int wcs_event_writer_start(const char *conninfo, const struct wcs_event_writer_opts *opts,
                           struct wcs_event_writer **out, struct err *e);

/* Queues one event (copied; id assigned when 0, at_us stamped when 0).
 * Never blocks on the database: the only wait is a short mutex shared with
 * other producers and the store thread. Returns 0, ERR_FULL when the queue
 * is full (the event is counted in dropped), ERR_INVALID when the event
 * fails wcs_event_check(), or ERR_STATE once stop() has begun (a safety
 * net only: producers must be done before stop() is called, since it frees
 * w). Thread-safe. */
int wcs_event_writer_push(struct wcs_event_writer *w, const struct wcs_event *ev);

/* Waits until everything pushed before the call is committed, or timeout_ms
 * passes. Does not delay the writer: a batch being filled is sent at once.
 * Returns 0 or -ETIMEDOUT. Thread-safe. */
int wcs_event_writer_flush(struct wcs_event_writer *w, unsigned timeout_ms);

/* Copies the counters into *out. Thread-safe. */
void wcs_event_writer_stats(struct wcs_event_writer *w, struct wcs_event_writer_stats *out);

/* Writes what is queued (giving up after drain_timeout_ms of failures when
 * the database is down or stuck; lost events are logged with their count),
 * stops the thread, closes the connection and frees w. NULL is a no-op.
 * No other call on w may run concurrently or follow. */
void wcs_event_writer_stop(struct wcs_event_writer *w);

#endif

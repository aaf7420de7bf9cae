/*
 * events.h - the append-only event log and its one batching writer.
 *
 * Producers (wcsd's loop: scans, decisions, confirmations; wcsctl: operator
 * actions) hand events to the writer without blocking; a store thread owns
 * one database connection and writes them in batches with COPY, off the hot
 * path. wcs_db_events_copy() is the one statement that writes events;
 * wcs_db_events_copy_idempotent() is the same rows through a staging table,
 * for re-sending a batch whose commit outcome is unknown. The telegram log
 * (every PLC telegram in and out, plc-telegrams spec) goes through the same
 * writer, queue and transactions (wcs_db_telegrams_copy()). With a spool
 * path the writer also keeps a durable local spool (wcs/spool.h) for when
 * the database is down, and reports durability as tickets. docs/events.md
 * has the design, the guarantees and the limits.
 */
#ifndef WCS_EVENTS_H
#define WCS_EVENTS_H

#include <libpq-fe.h>
#include <stdbool.h>
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

/* --- ids -------------------------------------------------------------------
 *
 * An id is (milliseconds since the Unix epoch << 20) | (counter << 8) |
 * node (event_ids.c). Ids of different nodes never meet; ids of one
 * process are strictly increasing; the event writer lifts the generator
 * above every id already in the database and above its id reservation file
 * at start, so a restart after the clock was stepped back does not reuse
 * one. wcsctl and other short-lived processes take ids from the sequence
 * events_local_id_seq instead, far below this range. docs/events.md has the
 * argument. */

#define WCS_EVENT_NODE_MAX 255 /* node numbers 0..255 (config events.node_id) */

/* A new unique id for node (0..WCS_EVENT_NODE_MAX; higher bits ignored).
 * Strictly increasing across all threads of the process and all nodes: an
 * id returned after another call has returned is larger than that call's
 * id (lock-free compare-and-swap; when the clock stands still or steps
 * back, ids keep counting up from the last one). Thread-safe. */
int64_t wcs_event_id_next_node(unsigned node);

/* wcs_event_id_next_node(0). */
int64_t wcs_event_id_next(void);

/* Every id handed out after this call, of any node, is above id (its
 * millisecond is later). id <= 0 is ignored. Thread-safe. */
void wcs_event_id_floor(int64_t id);

/* The millisecond of the last id handed out (0 before the first). */
int64_t wcs_event_id_last_ms(void);

/* The millisecond and the node of an id. */
int64_t wcs_event_id_ms(int64_t id);
unsigned wcs_event_id_node(int64_t id);

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
 * *inserted (may be NULL) gets the rows actually added. A skipped event
 * whose stored row is not the same event (another time, kind or text: a
 * foreign row that took its id) is not stored at all: its id goes to
 * foreign[] (capacity n; may be NULL when the caller does not care) and
 * *nforeign (may be NULL) gets how many; a skipped event whose stored row
 * is identical (this caller's own earlier commit) counts as stored.
 * Returns 0, ERR_INVALID, ERR_STATE (no open transaction), ERR_DB, or
 * -ENOMEM. */
int wcs_db_events_copy_idempotent(PGconn *c, const struct wcs_event *ev, size_t n, size_t *inserted,
                                  int64_t *foreign, size_t *nforeign, struct err *e);

/* --- the telegram log --------------------------------------------------- */

#define WCS_TELEGRAM_RAW_MAX 1024 /* CONV_TG_LEN_MAX */

/*
 * One telegram as it went over a PLC link. Text fields are NUL-terminated
 * (cut at their size otherwise); raw holds raw_len bytes (a NUL byte there
 * is stored as '?', as are bytes that are not valid UTF-8; the spec allows
 * only 0x20-0x7E, but a refused telegram is logged as it came). Empty plc
 * and type are stored as ''.
 */
struct wcs_telegram_rec {
    int64_t id;     /* unique, > 0; 0 = let the writer assign one */
    int64_t at_us;  /* arrival/send time, microseconds since the epoch, UTC;
                     * 0 given to the writer's push = the push time */
    char plc[6];    /* PLC id from the config, e.g. "PLC01" */
    char direction; /* 'i' received from the PLC, 'o' sent to it */
    char type[5];   /* "REQ_", "RES_", ...; may be "" when unreadable */
    uint32_t seq;   /* header seq, 0..99999 (0 when unreadable) */
    bool refused;   /* answered with ERR_ (or a resync stretch) */
    char raw[WCS_TELEGRAM_RAW_MAX + 1];
    size_t raw_len; /* bytes of raw, <= WCS_TELEGRAM_RAW_MAX */
};

/* Checks that tg can be stored: id > 0 (or 0 when allow_zero_id), at_us in
 * 0..WCS_EVENT_AT_US_MAX, direction 'i' or 'o', seq <= 99999, raw_len <=
 * WCS_TELEGRAM_RAW_MAX. Returns 0 or ERR_INVALID. */
int wcs_telegram_check(const struct wcs_telegram_rec *tg, int allow_zero_id, struct err *e);

/* Writes n telegrams with one COPY into `telegrams`; the same contract as
 * wcs_db_events_copy(): returns 0, ERR_INVALID, ERR_CONFLICT, ERR_DB or
 * -ENOMEM. This is the one statement that writes telegrams. */
int wcs_db_telegrams_copy(PGconn *c, const struct wcs_telegram_rec *tg, size_t n, struct err *e);

/* Like wcs_db_events_copy_idempotent(), for telegrams (session staging
 * table wcs_telegrams_in; foreign rows told apart by time, plc, direction,
 * type, seq, raw and refused). Must run in an open transaction. Returns 0,
 * ERR_INVALID, ERR_STATE, ERR_DB or -ENOMEM. */
int wcs_db_telegrams_copy_idempotent(PGconn *c, const struct wcs_telegram_rec *tg, size_t n,
                                     size_t *inserted, int64_t *foreign, size_t *nforeign,
                                     struct err *e);

/* Called per telegram by wcs_db_telegrams_list(); tg is valid only during
 * the call (raw NUL-terminated). Non-zero stops the listing. */
typedef int (*wcs_telegram_cb)(void *arg, const struct wcs_telegram_rec *tg);

/* Streams logged telegrams, oldest first (at, then id): those of the line
 * whose events.node_id is node_id (-1 = every line; ids carry it in their
 * low bits) and of plc (NULL or "" = every PLC) at or after since_us (0 =
 * from the beginning), at most limit of them (0 = no limit). For `wcsctl
 * telegrams` and a station's memory of resends. Returns 0, ERR_DB, or
 * ERR_INVALID (since_us out of range). */
int wcs_db_telegrams_list(PGconn *c, int node_id, const char *plc, int64_t since_us, size_t limit,
                          wcs_telegram_cb cb, void *arg, struct err *e);

/* Calls cb with the state the PLC of line node_id last reported for each
 * chute (LOCU, logged as system events with their chute: reason
 * "FULL____", "ACTIVE__"...), so that a wcsd taking the line over starts
 * from the chutes' states, not all active. cb's non-zero stops. 0 or
 * ERR_DB. */
typedef int (*wcs_chute_state_cb)(void *arg, const char *chute, const char *reason);
int wcs_db_chute_states(PGconn *c, unsigned node_id, wcs_chute_state_cb cb, void *arg,
                        struct err *e);

/* Called per scan event by wcs_db_recent_scans(); non-zero stops. */
typedef int (*wcs_scan_event_cb)(void *arg, const struct wcs_event *ev);

/* The scan events the line node_id logged at or after since_us, oldest
 * first (location, parcel_code, source, detail = symbology, at_us): what a
 * wcsd taking a line over puts back in its read windows. 0 or ERR_DB. */
int wcs_db_recent_scans(PGconn *c, unsigned node_id, int64_t since_us, wcs_scan_event_cb cb,
                        void *arg, struct err *e);

/* --- the writer ------------------------------------------------------------ */

/* Called by the store thread (never under the writer's lock) each time
 * wcs_event_writer_durable() has moved; it must be quick and must not call
 * back into the writer's stop(). wcsd uses it to uv_async_send its loop. */
typedef void (*wcs_durable_cb)(void *arg);

/* Zero in any field means "use the default". */
struct wcs_event_writer_opts {
    size_t queue_capacity;      /* events buffered in memory, including the batch
                                 * being written (default 65536, ~16 MB) */
    size_t batch_max;           /* events per COPY (default 2000) */
    unsigned drain_timeout_ms;  /* longest stop() keeps trying to write what is
                                 * queued while the database fails (default 5000) */
    size_t raw_capacity;        /* bytes of raw telegram text buffered
                                 * (default queue_capacity * 160, at least 4096) */
    const char *spool_path;     /* durable local spool file; NULL or "" = none
                                 * (records wait in memory during an outage) */
    uint64_t spool_max_bytes;   /* spool bound (default 1 GiB) */
    unsigned node_id;           /* this node's number in the ids it assigns,
                                 * 0..WCS_EVENT_NODE_MAX (default 0); unique
                                 * among the writers of one database */
    unsigned statement_timeout_ms; /* longest statement of the store connection
                                    * (default 5000): past it the attempt fails
                                    * like an outage (spool) */
    unsigned lock_timeout_ms;      /* longest wait for a lock (default 1000), e.g.
                                    * behind LOCK TABLE events: an outage too */
    wcs_durable_cb durable_cb;  /* optional, see wcs_durable_cb */
    void *durable_arg;
    const char *fence_node;     /* a line's writer (wcsd): every batch proves the
                                 * line's lease (wcs/store/lease.h), and nothing is
                                 * written before wcs_event_writer_fence() gives
                                 * the token; NULL = no fence (tools, tests) */
};

/* Counters since start; exact (taken under the queue lock). Records are
 * events and telegrams alike. At any moment
 *   pushed + recovered == written + queued + spool_records + spool_bad
 *                         + spool_lost. */
struct wcs_event_writer_stats {
    uint64_t pushed;           /* accepted by push (events + telegrams) */
    uint64_t telegrams;        /* of which telegrams */
    uint64_t groups;           /* pushes of more than one record (push_group) */
    uint64_t written;          /* committed to the database (directly or drained
                                * from the spool) */
    uint64_t batches;          /* COPY batches committed (direct and drained) */
    uint64_t dropped;          /* records refused by push because the queue was full */
    uint64_t db_errors;        /* failed batch attempts (each one retried) */
    uint64_t reissued;         /* given a new id because a row that is not theirs
                                * held theirs (or their batch repeated it); they
                                * are written under it, counted in written */
    size_t queued;             /* waiting now, including the batch in flight */
    uint64_t durable;          /* = wcs_event_writer_durable() */
    uint64_t recovered;        /* records found in the spool at start */
    uint64_t spooled;          /* records appended to the spool */
    uint64_t drained;          /* records moved from the spool to the database */
    uint64_t spool_refused;    /* records the spool refused (full or I/O error);
                                * they stay queued and are retried */
    uint64_t spool_errors;     /* failed spool appends (full or I/O) */
    uint64_t spool_bad;        /* spooled records that passed their CRC but could
                                * not be decoded: logged and skipped */
    uint64_t spool_lost;       /* spooled records in stretches of the file that
                                * were damaged on disk while it was open:
                                * logged, bytes saved to PATH.bad */
    uint64_t spool_bad_bytes;  /* bytes set aside in PATH.bad: at start (a torn
                                * last append, corrupt stretches) and since */
    uint64_t spool_bytes;      /* spool file size now */
    uint64_t spool_records;    /* records in the spool now, not yet drained */
    bool spool_alarm;          /* spool_bytes >= 80% of spool_max_bytes */
    bool fenced;               /* the database refused a batch: the lease's token
                                * is stale (another wcsd is active); nothing
                                * more is written */
};

struct wcs_event_writer;

/* Connects (application_name "wcs-event-writer"; statement_timeout,
 * lock_timeout, TCP keepalives and tcp_user_timeout set, see
 * docs/config.md) and starts the store thread, which then owns the
 * connection. opts may be NULL. Lifts the id generator above the largest
 * id in the database. With a spool_path, opens and locks the spool
 * (wcs_spool_open(): damage is saved aside with a warning; -EBUSY when
 * another process has it) and its id reservation file PATH.ids (the
 * generator starts above its reservation), and a database that cannot be
 * reached is not an error: records go to the spool until it can; a
 * non-empty spool is drained to the database before any new record. On
 * success *out is the writer, to be released with wcs_event_writer_stop().
 * Returns 0, ERR_DB (cannot connect, no spool), ERR_INVALID (batch_max >
 * queue_capacity, node_id > WCS_EVENT_NODE_MAX), or -errno (memory, thread,
 * spool or id file). */
int wcs_event_writer_start(const char *conninfo, const struct wcs_event_writer_opts *opts,
                           struct wcs_event_writer **out, struct err *e);

/* Queues one event (copied; id assigned when 0, at_us stamped when 0).
 * Never blocks on the database: the only wait is a short mutex shared with
 * other producers and the store thread. The writer commits it at once, or
 * with the next batch if one is being written (group commit). Returns 0, ERR_FULL when the queue
 * is full (the event is counted in dropped), ERR_INVALID when the event
 * fails wcs_event_check(), or ERR_STATE once stop() has begun (a safety
 * net only: producers must be done before stop() is called, since it frees
 * w). Thread-safe. */
int wcs_event_writer_push(struct wcs_event_writer *w, const struct wcs_event *ev);

/* Like wcs_event_writer_push(); on success *ticket (may be NULL) gets the
 * record's durability ticket: 1 for the first record pushed, +1 per record
 * (event or telegram) in push order. */
int wcs_event_writer_push_t(struct wcs_event_writer *w, const struct wcs_event *ev,
                            uint64_t *ticket);

/* Queues one telegram log record, like wcs_event_writer_push_t() (id
 * assigned when 0 from the node's generator, at_us stamped when 0; only
 * raw_len bytes of raw are copied). Returns 0, ERR_FULL (queue or raw text
 * buffer full; counted in dropped), ERR_INVALID (wcs_telegram_check()), or
 * ERR_STATE. Thread-safe. */
int wcs_event_writer_push_telegram(struct wcs_event_writer *w, const struct wcs_telegram_rec *tg,
                                   uint64_t *ticket);

#define WCS_EVENT_GROUP_MAX 16 /* records in one group */

/* One record of a group: exactly one of ev and tg is set. */
struct wcs_record {
    const struct wcs_event *ev;
    const struct wcs_telegram_rec *tg;
};

/*
 * Queues n records (1..WCS_EVENT_GROUP_MAX events and telegrams, in the
 * order given) as one unit that becomes durable whole or not at all: the
 * records are never split across batches (a batch takes a whole group even
 * past batch_max), so they are committed in one transaction, and they are
 * spooled in one frame, so a torn append or a damaged stretch of the spool
 * drops all of them or none. Used for a telegram and the events it causes
 * (a PLC's UPD_ and its confirmation), so that no restart can find the one
 * without the other. Each record is copied as by push_t()/push_telegram().
 * On success *ticket (may be NULL) gets the ticket of the group's last
 * record (the tickets are consecutive); durable() reaches it when the whole
 * group is durable. All or nothing: returns 0, ERR_FULL (not all fit: none
 * queued; n counted in dropped), ERR_INVALID (n out of range, a record with
 * neither or both set, or one failing its check: none queued), or
 * ERR_STATE. Thread-safe.
 */
int wcs_event_writer_push_group(struct wcs_event_writer *w, const struct wcs_record *recs, size_t n,
                                uint64_t *ticket);

/* The highest ticket t such that every record with a ticket <= t is
 * durable: committed to PostgreSQL or fsync'd to the spool. 0 before the
 * first one. An ACK_ for a telegram may be sent once its ticket (and the
 * tickets of the events it caused) is <= this. Thread-safe. */
uint64_t wcs_event_writer_durable(struct wcs_event_writer *w);

/* Waits until everything pushed before the call is committed to the
 * database (records in the spool: drained), or timeout_ms passes. Only
 * waits: the writer sends every record at once anyway (group commit).
 * Returns 0 or -ETIMEDOUT. Thread-safe. */
int wcs_event_writer_flush(struct wcs_event_writer *w, unsigned timeout_ms);

/* Copies the counters into *out. Thread-safe. */
void wcs_event_writer_stats(struct wcs_event_writer *w, struct wcs_event_writer_stats *out);

/* A writer with fence_node: from now on every batch proves token (the
 * line's lease, held by this process), and what was queued or spooled
 * meanwhile is written. Ids start above every id in the database again
 * (the line's previous holder used the same node number). Returns 0 or
 * ERR_INVALID (no fence_node, token <= 0, a node that cannot be quoted). */
int wcs_event_writer_fence(struct wcs_event_writer *w, int64_t token, struct err *e);

/* Writes what is queued (to the spool when there is one and the database
 * fails; without a spool, giving up after drain_timeout_ms of failures when
 * the database is down or stuck; lost events are logged with their count),
 * tries once to drain the spool, stops the thread, closes the connection
 * and the spool (what is still in it is drained at the next start) and
 * frees w. NULL is a no-op. No other call on w may run concurrently or
 * follow. */
void wcs_event_writer_stop(struct wcs_event_writer *w);

/*
 * The event and telegram logs' day partitions (migration 0019): makes those
 * from days_back days before today to days_ahead after it (UTC) where
 * missing, and with keep_days > 0 drops the days older than keep_days
 * (whole partitions: events.retention_days), logging each dropped one.
 * *made and *dropped (may be NULL) get the counts. Returns 0 or ERR_DB.
 */
int wcs_db_log_partitions(PGconn *c, int days_back, int days_ahead, int keep_days, int *made,
                          int *dropped, struct err *e);

#endif

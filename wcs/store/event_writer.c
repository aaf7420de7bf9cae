/*
 * event_writer.c - the batching writer of the event and telegram logs:
 * producers queue records, one store thread with its own connection writes
 * them in batches, and with a spool keeps them durable on local disk while
 * the database is down.
 *
 * DESIGN. The queue is a ring of queue_capacity slots under one mutex; a
 * slot holds an event or a telegram's fixed fields (~270 bytes), and a
 * telegram's raw text goes to a second FIFO byte ring (raw_capacity bytes)
 * so slots stay small although a telegram may be 1024 bytes. Positions
 * (head <= sent <= tail) count records since start and never wrap; a
 * record lives in slot pos % capacity and its ticket is pos + 1. push()
 * copies the record into slot `tail` and moves tail on: a short copy under
 * the mutex, no allocation, no I/O, and a condition-variable signal only
 * when the store thread sleeps waiting for work, so a producer (wcsd's
 * loop) never waits for the database or the disk.
 *
 * The store thread takes [sent, sent + k) (k <= batch_max, never wrapping
 * around the ring end), makes it durable outside the lock - straight from
 * the ring, producers only write free slots - then moves head: head is the
 * durability point (wcs_event_writer_durable()), and durable_cb is called.
 * A batch is made durable in one of two ways:
 *  - committed: BEGIN; COPY events; COPY telegrams; COMMIT (one
 *    transaction, so one durability point covers both kinds);
 *  - spooled: when the database fails (connect or any statement, COMMIT
 *    included) and a spool is configured, the batch is appended to the
 *    spool file and fsync'd (wcs/spool.h).
 * Once the spool holds anything, every later batch is appended behind it
 * without trying the database, so the spool stays in push order; the
 * database is retried with exponential back-off (100 ms doubling to 5 s) by
 * draining: the oldest spooled records are read back, written through the
 * idempotent staging path (a drain after a crash may repeat a batch that
 * was committed just before), and the file is emptied when everything in
 * it is in the database. Only then do batches go to the database directly
 * again. Without a spool a failed batch simply stays in the ring and is
 * retried with the same back-off; queue_capacity bounds memory and push()
 * answers ERR_FULL once it is used up. The same happens with a spool that
 * is full or failing.
 *
 * Ids are fixed before the first attempt, so a re-send after a COMMIT
 * whose answer was lost (the commit may have happened) goes through the
 * staging tables (INSERT .. ON CONFLICT (id) DO NOTHING) and cannot store a
 * record twice. Plain COPY is kept for every first attempt because it is
 * the fast path (see docs/events.md); a unique violation on a first attempt
 * (an id collision with a row written by someone else) also falls back to
 * the staging path. There a skipped record whose stored row is identical is
 * our own earlier commit; one whose id belongs to a different row (a
 * foreign one: ids are unique by design, so a misconfigured node number or
 * an id given by a caller) is never counted as stored: it gets a new id,
 * in the ring slot too so that every later attempt uses it, and is written
 * in the same transaction (counted in reissued, logged as an ALARM).
 *
 * Groups. push_group() queues several records (a PLC telegram and the
 * events it causes) as one unit: a slot's `cont` says the next slot belongs
 * to the same group. A batch ends only at a group's end (taking a whole
 * group even past batch_max), so a group is committed in one transaction,
 * and a group is spooled as one frame ('G'), so neither a torn append nor a
 * damaged stretch of the spool can keep one record of it without the others.
 *
 * Bounded calls. The store connection has a statement_timeout and a
 * lock_timeout (LOCK TABLE events elsewhere, a stuck server) and TCP
 * keepalives plus tcp_user_timeout (a silently dropped link); a timeout is
 * a failed attempt like any other, so the spool takes over and ACK_s go on.
 *
 * Id reservation. With a spool, PATH.ids holds a millisecond above every id
 * this process has handed out; it is moved a minute ahead (fdatasync) before
 * a batch whose ids come close to it is made durable, and a restart starts
 * its ids above it (and above the database's largest id), so a clock
 * stepped back cannot make a new id collide with a durable one.
 *
 * Group commit: the store thread never waits for a batch to fill. Woken by
 * the first record after sleeping, it takes what is queued at once (up to
 * batch_max), so a lone record is durable after one COPY and one COMMIT,
 * which is what an ACK_ waits for. Records pushed while a batch is being
 * written wait in the ring and all go into the next batch, taken as soon
 * as that COMMIT returns. The batch size follows the load: one record at a
 * trickle, up to batch_max when records arrive faster than a commit takes,
 * so at saturation the writer commits full batches as a fill wait would.
 */
#include "wcs/store/events.h"
#include "wcs/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "wcs/store/idfile.h"
#include "wcs/store/lease.h"
#include "wcs/store/spool.h"
#include "wcs/store/spool_payload.h"

#define DEFAULT_QUEUE_CAPACITY 65536
#define DEFAULT_BATCH_MAX 2000
#define DEFAULT_DRAIN_TIMEOUT_MS 5000
#define DEFAULT_RAW_PER_SLOT 160 /* CONV_TG_LEN_DEFAULT */
#define MIN_RAW_CAPACITY 4096    /* two telegrams of the largest size, and more */
#define DEFAULT_SPOOL_MAX_BYTES (UINT64_C(1) << 30)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* A drain runs at most this long before the thread looks at the ring
 * again, so new records keep being spooled (made durable) meanwhile. */
#define DRAIN_SLICE_MS 200
/* stop() cancels the statement in flight when the drain deadline is this
 * far behind and the thread has still not exited. */
#define CANCEL_GRACE_MS 1000
#define APPLICATION_NAME "wcs-event-writer"
#define DEFAULT_STATEMENT_TIMEOUT_MS 5000
#define DEFAULT_LOCK_TIMEOUT_MS 1000
/* The id reservation is moved this far ahead of the last id handed out,
 * when less than RESERVE_MARGIN_MS of it is left. */
#define RESERVE_AHEAD_MS 60000
#define RESERVE_MARGIN_MS 30000
/* A record whose new id collides again is given another, at most this
 * often per attempt. */
#define REISSUE_ROUNDS 4
#define NO_POS UINT64_MAX /* a batch record that is not in the ring (drained) */

/* A ring slot's kind: its payload's tag in the spool. */
enum { REC_EVENT = WCS_PAYLOAD_EVENT, REC_TELEGRAM = WCS_PAYLOAD_TELEGRAM };

/* A telegram in the ring; its raw text is in the raw ring. */
struct tg_slot {
    int64_t id;
    int64_t at_us;
    uint64_t raw_pos; /* position in the raw ring (never wraps) */
    uint32_t seq;
    uint16_t raw_len;
    char plc[6];
    char type[5];
    char direction;
    bool refused;
};

struct slot {
    uint64_t raw_end; /* raw ring tail after this record was pushed */
    uint8_t tag;      /* REC_EVENT, REC_TELEGRAM */
    uint8_t cont;     /* 1: the next slot belongs to the same group */
    union {
        struct wcs_event ev;
        struct tg_slot tg;
    } u;
};

struct wcs_event_writer {
    struct wcs_event_writer_opts o; /* defaults filled in */
    char *conninfo;
    char *spool_path;  /* NULL = no spool */
    struct slot *ring; /* o.queue_capacity slots */
    char *raw;         /* o.raw_capacity bytes */
    pthread_t thread;

    pthread_mutex_t mu;  /* guards everything down to conn */
    pthread_cond_t work; /* store thread waits: records, stop, timers */
    pthread_cond_t done; /* flush()/stop() wait: batch stored, thread exited */
    uint64_t head;       /* first record not yet durable */
    uint64_t sent;       /* first record not yet taken into a batch */
    uint64_t tail;       /* next free position */
    uint64_t db_pos;     /* records before this are in the database */
    uint64_t raw_head;   /* raw ring: first byte still in use */
    uint64_t raw_tail;   /* raw ring: next free byte */
    int idle;            /* store thread sleeps until the first record */
    int stopping;
    int exited;
    struct timespec drain_deadline; /* CLOCK_MONOTONIC; moves on with each commit */
    PGcancel *cancel;               /* of the store connection, for stop() */
    struct wcs_event_writer_stats st;

    PGconn *conn; /* store thread's own; NULL while disconnected */

    /* The lease's fence (o.fence_node): nothing is written while gated
     * (no token yet) or fenced (the database refused the token). */
    int gated;
    char fence_node[16]; /* o.fence_node points here */
    char fence_sql[96];  /* the statement with the token, set by fence() */
    int refloor;         /* ids must start above the database's again */

    /* Store thread only. */
    struct wcs_spool *spool;
    struct wcs_idfile *idfile;    /* id reservation (with a spool) */
    int64_t reserved_ms;          /* its reservation */
    int reserve_failed;           /* its last write failed (logged once) */
    uint64_t spool_recs;          /* records (not frames) in the spool, unread */
    uint64_t skipped_seen;        /* wcs_spool_skipped_bytes() already booked */
    int damaged;                  /* the batch in hand stepped over damage */
    uint64_t recovered_left;      /* records of an earlier run still in the spool */
    unsigned alarm_step;          /* last spool fill step warned about (tenths) */
    int full_logged;              /* "spool full" logged for this episode */
    unsigned backoff;             /* ms before the next database attempt */
    int db_failing;               /* the last database attempt failed */
    struct timespec db_retry_at;  /* no database attempt before */
    struct timespec retry_at;     /* a batch that could not be stored waits */
    uint64_t retry_pos;           /* that batch's first position ... */
    int retry_maybe_committed;    /* ... its COMMIT went out unanswered */
    int retry_staged;             /* ... it hit a unique violation */
    size_t bcap;                  /* batch arrays' capacity: batch_max + a group */
    struct wcs_event *bev;        /* events of the batch */
    struct wcs_telegram_rec *btg; /* telegrams of the batch */
    uint64_t *bev_pos, *btg_pos;  /* their ring positions (NO_POS: from the spool) */
    size_t nev, ntg;
    size_t nbad; /* spool records that could not be decoded, this peek */
    int64_t *foreign;             /* bcap ids the staging path found taken */
    size_t *reidx;                /* bcap batch indexes being reissued */
    struct wcs_event *rev;        /* bcap reissued events (allocated on first use) */
    struct wcs_telegram_rec *rtg; /* bcap reissued telegrams (allocated on first use) */
    unsigned char payload[WCS_PAYLOAD_GROUP_MAX];
};

/* --- time --------------------------------------------------------------- */

static void now_mono(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

static void ts_add_ms(struct timespec *t, unsigned ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static int64_t now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* --- connection ---------------------------------------------------------- */

static void notice_cb(void *arg, const char *msg)
{
    (void)arg;
    log_debug("server: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Connects with the writer's fixed application_name (so operators and tests
 * can find its backend), a connect_timeout, TCP keepalives and a
 * tcp_user_timeout (a dropped link fails the call instead of hanging it)
 * that the conninfo may override, then bounds every statement and lock wait
 * of the session (statement_timeout, lock_timeout). */
static int writer_connect(const struct wcs_event_writer_opts *o, const char *conninfo, PGconn **out,
                          struct err *e)
{
    /* Later keywords override earlier ones, and the expanded conninfo takes
     * the place of dbname. */
    const char *const keys[] = {"connect_timeout",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "tcp_user_timeout",
                                "dbname",
                                "application_name",
                                NULL};
    const char *const vals[] = {"10", "1", "5", "2", "3", "10000", conninfo, APPLICATION_NAME,
                                NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    int rc;

    if (c == NULL)
        return err_set(e, -ENOMEM, "event writer: connect: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        rc = err_set(e, ERR_DB, "event writer: connect: %.*s",
                     (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
        PQfinish(c);
        return rc;
    }
    PQsetNoticeProcessor(c, notice_cb, NULL);
    rc = wcs_db_bound_calls(c, o->statement_timeout_ms, o->lock_timeout_ms, e);
    if (rc < 0) {
        err_wrap(e, rc, "event writer");
        PQfinish(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Store thread: publishes w->conn and its cancel handle. */
static void attach_conn(struct wcs_event_writer *w, PGconn *c)
{
    PGcancel *cancel = PQgetCancel(c);

    pthread_mutex_lock(&w->mu);
    w->conn = c;
    w->cancel = cancel;
    pthread_mutex_unlock(&w->mu);
}

static void drop_conn(struct wcs_event_writer *w)
{
    PGcancel *cancel;
    PGconn *c;

    pthread_mutex_lock(&w->mu);
    cancel = w->cancel;
    c = w->conn;
    w->cancel = NULL;
    w->conn = NULL;
    pthread_mutex_unlock(&w->mu);
    if (cancel != NULL)
        PQfreeCancel(cancel);
    if (c != NULL)
        PQfinish(c);
}

/* --- one batch -------------------------------------------------------- */

static int exec_cmd(PGconn *c, const char *sql, struct err *e)
{
    PGresult *r = PQexec(c, sql);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = err_set(e, ERR_DB, "%s: %.*s", sql, (int)strcspn(PQerrorMessage(c), "\n"),
                     PQerrorMessage(c));
    /* COMMIT of an aborted transaction "succeeds" as ROLLBACK. */
    else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = err_set(e, ERR_DB, "COMMIT answered %s", PQcmdStatus(r));
    PQclear(r);
    return rc;
}

/* --- spool payloads (wcs/store/spool_payload.h) --------------------------- */

/* The telegram of ring slot t as a record (its raw text from the raw ring). */
static void tg_record(const struct wcs_event_writer *w, const struct tg_slot *t,
                      struct wcs_telegram_rec *tg)
{
    tg->id = t->id;
    tg->at_us = t->at_us;
    memcpy(tg->plc, t->plc, sizeof(tg->plc));
    tg->direction = t->direction;
    memcpy(tg->type, t->type, sizeof(tg->type));
    tg->seq = t->seq;
    tg->refused = t->refused;
    memcpy(tg->raw, w->raw + t->raw_pos % w->o.raw_capacity, t->raw_len);
    tg->raw[t->raw_len] = '\0';
    tg->raw_len = t->raw_len;
}

/* Encodes the record of ring slot sl at buf; returns its length. */
static size_t encode_slot(struct wcs_event_writer *w, unsigned char *buf, const struct slot *sl)
{
    struct wcs_telegram_rec tg;

    if (sl->tag == REC_EVENT)
        return wcs_payload_put_event(buf, &sl->u.ev);
    tg_record(w, &sl->u.tg, &tg);
    return wcs_payload_put_telegram(buf, &tg);
}

/* wcs_spool_peek() callback: decodes one frame (a record or a group) into
 * the batch arrays (from the spool: no ring position); stops before a
 * frame that would take a non-empty batch past batch_max. A frame that does
 * not decode (it passed its CRC, so it was written so: a newer format or a
 * bug) is logged and skipped rather than stalling the drain forever; a
 * group is skipped whole, never in part. */
static int decode_cb(void *arg, const void *payload, size_t len)
{
    struct wcs_event_writer *w = arg;
    size_t count = wcs_payload_records(payload, len), have = w->nev + w->ntg, nev0 = w->nev,
           ntg0 = w->ntg, i;

    if (have > 0 && have + count > w->o.batch_max)
        return 1;
    if (wcs_payload_decode(payload, len, w->bev, &w->nev, w->btg, &w->ntg) > 0) {
        for (i = nev0; i < w->nev; i++)
            w->bev_pos[i] = NO_POS;
        for (i = ntg0; i < w->ntg; i++)
            w->btg_pos[i] = NO_POS;
        return 0;
    }
    log_error("spool: a %s of %zu bytes (type 0x%02x) cannot be decoded; its %zu record(s) "
              "skipped",
              count > 1 ? "group" : "record", len, (unsigned)*(const unsigned char *)payload,
              count);
    w->nbad += count;
    return 0;
}

/* wcs_spool_peek() callback: counts records. */
static int count_cb(void *arg, const void *payload, size_t len)
{
    *(uint64_t *)arg += wcs_payload_records(payload, len);
    return 0;
}

/* --- batches ------------------------------------------------------------- */

/* Copies ring slots [pos, pos + k) into the batch arrays. */
static void gather(struct wcs_event_writer *w, uint64_t pos, size_t k)
{
    size_t i, cap = w->o.queue_capacity;

    w->nev = 0;
    w->ntg = 0;
    for (i = 0; i < k; i++) {
        const struct slot *s = &w->ring[(pos + i) % cap];

        if (s->tag == REC_EVENT) {
            w->bev_pos[w->nev] = pos + i;
            w->bev[w->nev++] = s->u.ev;
        } else {
            w->btg_pos[w->ntg] = pos + i;
            tg_record(w, &s->u.tg, &w->btg[w->ntg++]);
        }
    }
}

/* Gives batch event i (tg: telegram i) a new id, in its ring slot too, so
 * that every later attempt at it (a retry, the spool) uses the new one;
 * counted in reissued. */
static int64_t reissue(struct wcs_event_writer *w, int tg, size_t i)
{
    int64_t id = wcs_event_id_next_node(w->o.node_id);
    uint64_t pos = tg ? w->btg_pos[i] : w->bev_pos[i];
    struct slot *sl = pos != NO_POS ? &w->ring[pos % w->o.queue_capacity] : NULL;

    pthread_mutex_lock(&w->mu);
    w->st.reissued++;
    pthread_mutex_unlock(&w->mu);
    if (tg) {
        w->btg[i].id = id;
        if (sl != NULL)
            sl->u.tg.id = id;
    } else {
        w->bev[i].id = id;
        if (sl != NULL)
            sl->u.ev.id = id;
    }
    return id;
}

/* Index of the batch record (event, or telegram when tg) with id; n when
 * none. */
static size_t find_id(const struct wcs_event_writer *w, int tg, int64_t id, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((tg ? w->btg[i].id : w->bev[i].id) == id)
            return i;
    return n;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Ids given by producers may repeat within a batch; the staging path tells
 * records apart by id, so every repeat gets a new one first. A sort finds
 * whether there is any; only then the (quadratic) search for which. Returns
 * the records changed. */
static size_t unique_ids(struct wcs_event_writer *w, int tg)
{
    size_t n = tg ? w->ntg : w->nev, i, j, changed = 0;

    for (i = 0; i < n; i++)
        w->foreign[i] = tg ? w->btg[i].id : w->bev[i].id;
    qsort(w->foreign, n, sizeof(*w->foreign), cmp_id);
    for (i = 1; i < n && w->foreign[i] != w->foreign[i - 1]; i++)
        ;
    if (i >= n)
        return 0;
    for (i = 1; i < n; i++) {
        int64_t id = tg ? w->btg[i].id : w->bev[i].id;

        for (j = 0; j < i; j++)
            if ((tg ? w->btg[j].id : w->bev[j].id) == id)
                break;
        if (j < i) {
            reissue(w, tg, i);
            changed++;
        }
    }
    return changed;
}

/*
 * Stages the batch's events (tg: telegrams) through the idempotent path,
 * and every record whose id turns out to belong to a foreign row again
 * under a new id, until none is left (at most REISSUE_ROUNDS rounds).
 * Returns 0 or the error.
 */
static int stage_kind(struct wcs_event_writer *w, PGconn *c, int tg, struct err *e)
{
    size_t n = tg ? w->ntg : w->nev, nf = 0, m, i, k;
    int round, rc;

    unique_ids(w, tg);
    if (tg)
        rc = wcs_db_telegrams_copy_idempotent(c, w->btg, n, NULL, w->foreign, &nf, e);
    else
        rc = wcs_db_events_copy_idempotent(c, w->bev, n, NULL, w->foreign, &nf, e);
    for (round = 0; rc == 0 && nf > 0; round++) {
        if (round == REISSUE_ROUNDS)
            return err_set(e, ERR_DB, "%zu %s keep colliding with foreign rows after %d new ids",
                           nf, tg ? "telegrams" : "events", REISSUE_ROUNDS);
        if (tg ? w->rtg == NULL : w->rev == NULL) {
            if (tg)
                w->rtg = malloc(w->bcap * sizeof(*w->rtg));
            else
                w->rev = malloc(w->bcap * sizeof(*w->rev));
            if (tg ? w->rtg == NULL : w->rev == NULL)
                return err_set(e, -ENOMEM, "event writer: out of memory");
        }
        /* The foreign ids name batch records: each gets a new id and is
         * staged again (it may collide again, in theory). */
        for (i = m = 0; i < nf && i < n; i++) {
            k = find_id(w, tg, w->foreign[i], n);
            if (k == n)
                continue;
            reissue(w, tg, k);
            w->reidx[m] = k;
            if (tg)
                w->rtg[m++] = w->btg[k];
            else
                w->rev[m++] = w->bev[k];
        }
        log_warnx("ALARM: %zu %s of a batch had ids already taken by other rows (another "
                  "writer with the same events.node_id, or ids given by a producer); written "
                  "under new ids",
                  m, tg ? "telegrams" : "events");
        nf = 0;
        if (tg)
            rc = wcs_db_telegrams_copy_idempotent(c, w->rtg, m, NULL, w->foreign, &nf, e);
        else
            rc = wcs_db_events_copy_idempotent(c, w->rev, m, NULL, w->foreign, &nf, e);
        /* A foreign id now names a reissued copy, whose batch record has
         * the same id: the next round finds it there. */
    }
    return rc;
}

/* BEGIN, and for a line's writer the lease's fence in the same round trip:
 * ERR_FENCED when the database says the token is stale. */
static int begin_batch(PGconn *c, struct wcs_event_writer *w, struct err *e)
{
    char sql[128];
    PGresult *r;
    const char *state;
    int rc = 0;

    if (w->o.fence_node == NULL)
        return exec_cmd(c, "BEGIN", e);
    pthread_mutex_lock(&w->mu);
    snprintf(sql, sizeof(sql), "BEGIN; %s", w->fence_sql);
    pthread_mutex_unlock(&w->mu);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        rc = err_set(e, state != NULL && strcmp(state, WCS_SQLSTATE_FENCED) == 0 ? ERR_FENCED
                                                                                : ERR_DB,
                     "lease fence: %.*s", (int)strcspn(PQerrorMessage(c), "\n"),
                     PQerrorMessage(c));
    }
    PQclear(r);
    return rc;
}

/* The database refused the lease's token: stop writing (nothing more is
 * stored or spooled, so nothing more is acknowledged to a PLC). */
static void fenced(struct wcs_event_writer *w, const char *msg)
{
    log_error("ALARM: %s: this wcsd is no longer the line's active one; nothing more is "
              "written",
              msg);
    pthread_mutex_lock(&w->mu);
    w->st.fenced = true;
    pthread_mutex_unlock(&w->mu);
}

/* One attempt at the batch arrays: BEGIN; COPY events; COPY telegrams
 * (plain or staged); COMMIT. *commit_sent tells whether the COMMIT went
 * out, i.e. whether a failure leaves the outcome unknown. */
static int try_batch(PGconn *c, struct wcs_event_writer *w, int staged, int *commit_sent,
                     struct err *e)
{
    int rc;

    *commit_sent = 0;
    rc = begin_batch(c, w, e);
    if (rc < 0)
        return rc;
    if (staged) {
        rc = stage_kind(w, c, 0, e);
        if (rc == 0)
            rc = stage_kind(w, c, 1, e);
    } else {
        rc = wcs_db_events_copy(c, w->bev, w->nev, e);
        if (rc == 0)
            rc = wcs_db_telegrams_copy(c, w->btg, w->ntg, e);
    }
    if (rc < 0)
        return rc;
    *commit_sent = 1;
    return exec_cmd(c, "COMMIT", e);
}

static void count_db_error(struct wcs_event_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->st.db_errors++;
    pthread_mutex_unlock(&w->mu);
}

/* After a failed attempt: leaves the connection idle, or drops it. */
static void reset_conn(struct wcs_event_writer *w)
{
    if (w->conn != NULL && PQstatus(w->conn) == CONNECTION_OK) {
        if (PQtransactionStatus(w->conn) != PQTRANS_IDLE && exec_cmd(w->conn, "ROLLBACK", NULL) < 0)
            drop_conn(w);
    } else if (w->conn != NULL) {
        drop_conn(w);
    }
}

static int ensure_conn(struct wcs_event_writer *w, struct err *e)
{
    PGconn *c = NULL;
    int rc;

    if (w->conn != NULL)
        return 0;
    rc = writer_connect(&w->o, w->conninfo, &c, e);
    if (rc < 0)
        return rc;
    attach_conn(w, c);
    log_info("connected to the database");
    return 0;
}

/* The database failed: wait before the next attempt, longer each time. */
static void db_failed(struct wcs_event_writer *w, size_t n, const char *what, const char *msg)
{
    struct timespec now;

    now_mono(&now);
    w->db_retry_at = now;
    ts_add_ms(&w->db_retry_at, w->backoff);
    log_warnx("%s of %zu records: %s; retrying in %u ms", what, n, msg, w->backoff);
    w->backoff = w->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff * 2;
    w->db_failing = 1;
}

static void db_succeeded(struct wcs_event_writer *w)
{
    if (w->db_failing)
        log_info("the database is writable again");
    w->db_failing = 0;
    w->backoff = BACKOFF_MIN_MS;
}

/*
 * Writes the gathered batch to the database: a first attempt, and at once a
 * second through the staging path after a unique violation. maybe_committed
 * and staged carry over from earlier attempts at the same records. Returns
 * 0 (every record is then stored: inserted, found as our
 * own earlier commit, or written under a new id), or a negative code (the
 * database failed; *maybe_committed updated).
 */
static int write_db(struct wcs_event_writer *w, int *maybe_committed, int *staged)
{
    size_t n = w->nev + w->ntg;
    int commit_sent, rc;
    struct err e = {0};

    for (;;) {
        commit_sent = 0;
        rc = ensure_conn(w, &e);
        if (rc == 0)
            rc = try_batch(w->conn, w, *staged || *maybe_committed, &commit_sent, &e);
        if (rc == 0)
            break;
        if (commit_sent)
            *maybe_committed = 1;
        count_db_error(w);
        reset_conn(w);
        if (rc == ERR_FENCED) {
            fenced(w, e.msg);
            return rc;
        }
        if (rc == ERR_CONFLICT && !*staged) {
            /* Not an outage: re-send at once through the staging table. */
            *staged = 1;
            log_warnx("batch of %zu records: %s; re-sending through the staging table", n, e.msg);
            continue;
        }
        db_failed(w, n, "batch", e.msg);
        return rc;
    }
    db_succeeded(w);
    return 0;
}

/* Publishes the spool's size in the stats and warns as it fills: once per
 * 10% step from 80% on, and once when it is back under 80%. */
static void spool_stats(struct wcs_event_writer *w)
{
    uint64_t bytes = wcs_spool_bytes(w->spool), max = w->o.spool_max_bytes;
    unsigned step = (unsigned)(bytes * 10 / max);

    if (step >= 8 && step > w->alarm_step)
        log_warnx("ALARM: event spool %s is %llu%% full (%llu of %llu bytes): the database has "
                  "been unwritable for a while; at 100%% records are refused",
                  w->spool_path, (unsigned long long)(bytes * 100 / max), (unsigned long long)bytes,
                  (unsigned long long)max);
    else if (step < 8 && w->alarm_step >= 8)
        log_info("event spool %s back under 80%% (%llu bytes)", w->spool_path,
                 (unsigned long long)bytes);
    w->alarm_step = step;
    pthread_mutex_lock(&w->mu);
    w->st.spool_bytes = bytes;
    w->st.spool_records = w->spool_recs;
    w->st.spool_alarm = step >= 8;
    pthread_mutex_unlock(&w->mu);
}

/* Appends ring slots [pos, pos + k) to the spool in push order and fsyncs:
 * a record alone as one frame, a group as one 'G' frame. Returns 0 or the
 * spool's error (ERR_FULL, -errno). */
static int spool_batch(struct wcs_event_writer *w, uint64_t pos, size_t k)
{
    size_t i = 0, len, cap = w->o.queue_capacity;
    const struct slot *sl;
    struct wcs_payload_group g;
    struct err e = {0};
    int rc = 0;

    while (i < k && rc == 0) {
        sl = &w->ring[(pos + i) % cap];
        if (!sl->cont) {
            len = encode_slot(w, w->payload, sl);
            i++;
        } else {
            wcs_payload_group_start(&g, w->payload);
            do {
                sl = &w->ring[(pos + i++) % cap];
                len = wcs_payload_group_add(&g, encode_slot(w, wcs_payload_group_at(&g), sl));
            } while (sl->cont);
        }
        rc = wcs_spool_add(w->spool, w->payload, len, &e);
    }
    if (rc == 0)
        rc = wcs_spool_commit(w->spool, &e);
    else
        wcs_spool_discard(w->spool);
    if (rc < 0) {
        pthread_mutex_lock(&w->mu);
        w->st.spool_errors++;
        w->st.spool_refused += k;
        pthread_mutex_unlock(&w->mu);
        if (!w->full_logged)
            log_error("ALARM: event spool refuses records: %s; they stay queued, and pushes "
                      "fail with ERR_FULL once the queue is full",
                      e.msg);
        w->full_logged = 1;
        return rc;
    }
    if (w->full_logged)
        log_info("event spool accepts records again");
    w->full_logged = 0;
    w->spool_recs += k;
    spool_stats(w);
    return 0;
}

/* Outcome of store_batch(). */
enum { STORED_DB, STORED_SPOOL, NOT_STORED };

/*
 * Makes ring slots [pos, pos + k) durable: behind the spool when it holds
 * anything (order), else in the database, else (database failing) in the
 * spool. Returns STORED_DB, STORED_SPOOL, or NOT_STORED
 * (nothing counted; the caller retries later).
 */
static int store_batch(struct wcs_event_writer *w, uint64_t pos, size_t k)
{
    struct timespec now;
    int maybe_committed = 0, staged = 0, rc;

    if (w->spool != NULL && wcs_spool_unread(w->spool) > 0)
        return spool_batch(w, pos, k) == 0 ? STORED_SPOOL : NOT_STORED;
    if (pos == w->retry_pos) {
        maybe_committed = w->retry_maybe_committed;
        staged = w->retry_staged;
    }
    now_mono(&now);
    if (w->spool == NULL || !w->db_failing || !ts_before(&now, &w->db_retry_at)) {
        gather(w, pos, k);
        rc = write_db(w, &maybe_committed, &staged);
        if (rc == 0)
            return STORED_DB;
        if (rc == ERR_FENCED)
            return NOT_STORED;
    }
    /* What a spooled batch committed unseen is skipped by the drain's
     * staging path, so the spool may take it whatever the outcome. */
    if (w->spool != NULL && spool_batch(w, pos, k) == 0)
        return STORED_SPOOL;
    w->retry_pos = pos;
    w->retry_maybe_committed = maybe_committed;
    w->retry_staged = staged;
    return NOT_STORED;
}

/* Moves the id reservation ahead when the ids handed out come within
 * RESERVE_MARGIN_MS of it: called before a batch is made durable, so every
 * durable id is below a reservation on disk. A failed write is logged once
 * (the database's largest id still lifts the next run's ids, and a
 * collision is found and reissued). */
static void reserve_ids(struct wcs_event_writer *w)
{
    int64_t last = wcs_event_id_last_ms(), now, until;
    struct timespec t;
    struct err e = {0};

    if (w->idfile == NULL || last + RESERVE_MARGIN_MS < w->reserved_ms)
        return;
    clock_gettime(CLOCK_REALTIME, &t);
    now = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
    until = (last > now ? last : now) + RESERVE_AHEAD_MS;
    if (wcs_idfile_reserve(w->idfile, until, &e) < 0) {
        if (!w->reserve_failed)
            log_error("ALARM: %s; ids handed out from now on may be handed out again after a "
                      "restart with the clock stepped back",
                      e.msg);
        w->reserve_failed = 1;
        return;
    }
    if (w->reserve_failed)
        log_info("id reservation written again");
    w->reserve_failed = 0;
    w->reserved_ms = until;
}

/* Counts records that left the spool: n reached the database, bad did not
 * decode, lost were in a stretch damaged on disk. Those of an earlier run go first, then this run's, which move
 * db_pos on (a record that can never arrive must not hold flush() up). */
static void count_drained(struct wcs_event_writer *w, uint64_t n, uint64_t bad,
                          uint64_t lost)
{
    uint64_t gone = n + bad + lost, old = gone < w->recovered_left ? gone : w->recovered_left;

    w->recovered_left -= old;
    w->spool_recs -= gone < w->spool_recs ? gone : w->spool_recs;
    pthread_mutex_lock(&w->mu);
    w->st.written += n;
    w->st.drained += n;
    w->st.spool_bad += bad;
    w->st.spool_lost += lost;
    if (n > 0)
        w->st.batches++;
    /* With db_pos, under the same lock: a flush() woken here must not see
     * the spool's size of before this batch. */
    w->st.spool_records = w->spool_recs;
    w->st.spool_bytes = wcs_spool_bytes(w->spool);
    w->db_pos += gone - old;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
}

/* The records left in the spool, counted anew (a frame may hold a group). */
static uint64_t count_spool(struct wcs_event_writer *w, struct err *e)
{
    uint64_t recs = 0;
    size_t frames;

    if (wcs_spool_unread(w->spool) == 0)
        return 0;
    if (wcs_spool_peek(w->spool, SIZE_MAX, count_cb, &recs, &frames, e) < 0)
        return UINT64_MAX;
    return recs;
}

/* Part of the spool was damaged on disk and skipped (saved to PATH.bad):
 * counts what is left and books the difference as lost. */
static void spool_damaged(struct wcs_event_writer *w)
{
    struct err e = {0};
    uint64_t left = count_spool(w, &e), lost;

    if (left == UINT64_MAX) {
        log_error("event spool: %s", e.msg);
        return;
    }
    lost = w->spool_recs > left ? w->spool_recs - left : 0;
    if (lost > 0)
        log_error("ALARM: event spool %s: %llu durable records were in the damaged stretch and "
                  "are lost (their bytes are in %s.bad)",
                  w->spool_path, (unsigned long long)lost, w->spool_path);
    count_drained(w, 0, 0, lost);
    pthread_mutex_lock(&w->mu);
    w->st.spool_bad_bytes += wcs_spool_skipped_bytes(w->spool) - w->skipped_seen;
    pthread_mutex_unlock(&w->mu);
    w->skipped_seen = wcs_spool_skipped_bytes(w->spool);
}

/*
 * Moves the oldest spooled records to the database, batch by batch, until
 * the spool is empty, DRAIN_SLICE_MS has passed, or the database fails.
 * Every batch goes through the staging path: after a crash the spool may
 * still hold records an earlier drain committed (found identical, so not
 * stored twice). Returns 0 or -1 (the database failed: back-off set).
 */
static int drain(struct wcs_event_writer *w)
{
    struct timespec until, now;
    size_t n;
    int commit_sent, rc;
    struct err e = {0};

    now_mono(&until);
    ts_add_ms(&until, DRAIN_SLICE_MS);
    while (wcs_spool_unread(w->spool) > 0) {
        w->nev = w->ntg = w->nbad = 0;
        rc = wcs_spool_peek(w->spool, w->o.batch_max, decode_cb, w, &n, &e);
        if (rc < 0) {
            /* Cannot read the file (disk fault): nothing is consumed;
             * retried with back-off, and logged every time. */
            log_error("event spool: %s", e.msg);
            db_failed(w, 0, "spool read", e.msg);
            return -1;
        }
        if (wcs_spool_skipped_bytes(w->spool) != w->skipped_seen) {
            /* The peek stepped over damage. Its batch is kept in the
             * arrays: the recount peeks again, so it runs once the batch
             * is consumed, or at once when it is empty. */
            if (n == 0) {
                spool_damaged(w);
                continue;
            }
            w->damaged = 1;
        }
        rc = ensure_conn(w, &e);
        if (rc == 0) {
            reserve_ids(w); /* ids reissued here come from the generator */
            rc = try_batch(w->conn, w, 1, &commit_sent, &e);
        }
        if (rc < 0) {
            count_db_error(w);
            reset_conn(w);
            if (rc == ERR_FENCED)
                fenced(w, e.msg);
            db_failed(w, n, "spool drain", e.msg);
            if (w->damaged) {
                w->damaged = 0;
                spool_damaged(w);
            }
            return -1;
        }
        db_succeeded(w);
        rc = wcs_spool_consume(w->spool, &e);
        if (rc < 0)
            log_error("event spool: %s", e.msg);
        count_drained(w, w->nev + w->ntg, w->nbad, 0);
        if (w->damaged) {
            w->damaged = 0;
            spool_damaged(w);
        }
        spool_stats(w);
        if (wcs_spool_unread(w->spool) == 0) {
            log_info("event spool drained: every spooled record is in the database");
            break;
        }
        now_mono(&now);
        if (!ts_before(&now, &until))
            break;
    }
    return 0;
}

/* --- the store thread --------------------------------------------------- */

static const struct timespec *earlier(const struct timespec *a, const struct timespec *b)
{
    if (a == NULL)
        return b;
    if (b == NULL)
        return a;
    return ts_before(a, b) ? a : b;
}

/* What the store thread does next; decided under the lock. */
struct next {
    int take; /* take a batch from the ring */
    int drain;
    int quit;
};

/* Waits (under w->mu) until there is something to do. */
static struct next wait_work(struct wcs_event_writer *w, int *final_drain)
{
    struct next nx = {0, 0, 0};
    const struct timespec *wake;
    struct timespec now;
    int spooled, have;

    for (;;) {
        now_mono(&now);
        spooled = w->spool != NULL && wcs_spool_unread(w->spool) > 0;
        have = w->tail != w->sent;
        if (w->gated || w->st.fenced)
            spooled = have = 0; /* not this process's to write (lease) */
        if (w->stopping && spooled && *final_drain == 0) {
            /* One last try at emptying the spool, whatever the back-off;
             * a failure ends it (the records are safe in the spool). */
            *final_drain = 1;
            w->db_retry_at = now;
        }
        nx.take = have && !ts_before(&now, &w->retry_at);
        nx.drain = spooled && !ts_before(&now, &w->db_retry_at) &&
                   (!w->stopping || (*final_drain == 1 && ts_before(&now, &w->drain_deadline)));
        if (nx.take || nx.drain)
            return nx;
        if (w->stopping && (!have || !ts_before(&now, &w->drain_deadline))) {
            nx.quit = 1;
            return nx;
        }
        wake = NULL;
        if (have)
            wake = &w->retry_at;
        if (spooled)
            wake = earlier(wake, &w->db_retry_at);
        if (w->stopping)
            wake = earlier(wake, &w->drain_deadline);
        w->idle = !have;
        if (wake != NULL)
            pthread_cond_timedwait(&w->work, &w->mu, wake);
        else
            pthread_cond_wait(&w->work, &w->mu);
        w->idle = 0;
    }
}

/* How many of the records from sent on the next batch takes: what is queued,
 * up to batch_max, cut back to the end of a group; a group larger than
 * batch_max at the front is taken whole (w->mu held). */
static uint64_t batch_len(struct wcs_event_writer *w)
{
    size_t cap = w->o.queue_capacity;
    uint64_t start = w->sent, k = w->tail - w->sent;

    if (k > w->o.batch_max)
        k = w->o.batch_max;
    while (k > 0 && w->ring[(start + k - 1) % cap].cont)
        k--;
    if (k == 0) {
        k = 1;
        while (w->ring[(start + k - 1) % cap].cont)
            k++;
    }
    return k;
}

/* Lifts the id generator above every id in the database (c connected): two
 * index-only lookups, waiting at most a second for a lock on the tables. */
static int floor_from_db(PGconn *c, struct err *e)
{
    PGresult *r;
    int rc;

    rc = exec_cmd(c, "BEGIN", e);
    if (rc == 0)
        rc = exec_cmd(c, "SET LOCAL lock_timeout = 1000", e);
    if (rc < 0) {
        exec_cmd(c, "ROLLBACK", NULL);
        return err_wrap(e, rc, "event writer: largest id");
    }
    r = PQexec(c, "SELECT greatest((SELECT max(id) FROM events),"
                  " (SELECT max(id) FROM telegrams))");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        rc = err_set(e, ERR_DB, "event writer: largest id: %.*s",
                     (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
    else if (!PQgetisnull(r, 0, 0))
        wcs_event_id_floor((int64_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    PQclear(r);
    exec_cmd(c, "ROLLBACK", NULL);
    return rc;
}

static void *store_main(void *arg)
{
    struct wcs_event_writer *w = arg;
    uint64_t start = 0, k, lost;
    size_t cap = w->o.queue_capacity;
    int final_drain = 0, outcome, refloor;
    struct next nx;
    struct err e = {0};

    log_set_tag("store");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        nx = wait_work(w, &final_drain);
        if (nx.quit)
            break;
        k = 0;
        if (nx.take) {
            start = w->sent;
            k = batch_len(w);
            w->sent += k;
        }
        refloor = w->refloor;
        w->refloor = 0;
        pthread_mutex_unlock(&w->mu);

        /* Just made the line's active writer: the previous holder gave out
         * ids with the same node number, maybe by a clock ahead of ours. */
        if (refloor && (ensure_conn(w, &e) < 0 || floor_from_db(w->conn, &e) < 0))
            log_warnx("%s; ids start from the clock", e.msg);

        /* The spool first: its records are older than any in the ring. */
        if (nx.drain && drain(w) < 0 && final_drain == 1)
            final_drain = 2;
        outcome = NOT_STORED;
        if (k > 0) {
            reserve_ids(w);
            outcome = store_batch(w, start, (size_t)k);
        }

        pthread_mutex_lock(&w->mu);
        if (k == 0)
            continue;
        if (outcome == NOT_STORED) {
            /* Back into the ring, retried after the back-off. */
            w->sent = start;
            now_mono(&w->retry_at);
            ts_add_ms(&w->retry_at, w->backoff);
            continue;
        }
        w->head += k;
        w->raw_head = w->ring[(w->head - 1) % cap].raw_end;
        if (outcome == STORED_DB) {
            w->st.written += k;
            w->st.batches++;
            w->db_pos = w->head;
        } else {
            w->st.spooled += k;
        }
        w->st.durable = w->head;
        w->retry_pos = UINT64_MAX;
        if (w->stopping) {
            now_mono(&w->drain_deadline);
            ts_add_ms(&w->drain_deadline, w->o.drain_timeout_ms);
        }
        pthread_cond_broadcast(&w->done);
        if (w->o.durable_cb != NULL) {
            pthread_mutex_unlock(&w->mu);
            w->o.durable_cb(w->o.durable_arg);
            pthread_mutex_lock(&w->mu);
        }
    }
    lost = w->tail - w->head;
    pthread_mutex_unlock(&w->mu);

    if (lost > 0 && (w->gated || w->st.fenced))
        log_warnx("stopping without the line's lease: %llu records not written",
                  (unsigned long long)lost);
    else if (lost > 0)
        log_error("stopping with the database failing: %llu records not written",
                  (unsigned long long)lost);
    if (w->spool != NULL && wcs_spool_unread(w->spool) > 0)
        log_warnx("stopping with %llu records in the event spool %s: they are kept there and "
                  "written at the next start",
                  (unsigned long long)wcs_spool_unread(w->spool), w->spool_path);
    drop_conn(w);
    pthread_mutex_lock(&w->mu);
    w->exited = 1;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* --- public ------------------------------------------------------------ */

static int init_sync(struct wcs_event_writer *w)
{
    pthread_condattr_t ca;
    int rc;

    rc = pthread_mutex_init(&w->mu, NULL);
    if (rc != 0)
        return -rc;
    rc = pthread_condattr_init(&ca);
    if (rc == 0)
        rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(&w->work, &ca);
        if (rc == 0) {
            rc = pthread_cond_init(&w->done, &ca);
            if (rc != 0)
                pthread_cond_destroy(&w->work);
        }
        pthread_condattr_destroy(&ca);
    }
    if (rc != 0) {
        pthread_mutex_destroy(&w->mu);
        return -rc;
    }
    return 0;
}

static void destroy_sync(struct wcs_event_writer *w)
{
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
}

static void free_writer(struct wcs_event_writer *w)
{
    wcs_idfile_close(w->idfile);
    wcs_spool_close(w->spool);
    free(w->bev);
    free(w->btg);
    free(w->bev_pos);
    free(w->btg_pos);
    free(w->foreign);
    free(w->reidx);
    free(w->rev);
    free(w->rtg);
    free(w->ring);
    free(w->raw);
    free(w->spool_path);
    free(w->conninfo);
    free(w);
}

/* Opens the spool and its id file, and accounts for what an earlier run
 * left in them. */
static int open_spool(struct wcs_event_writer *w, struct err *e)
{
    struct wcs_spool_scan scan;
    char ids[4096];
    int64_t reserved = 0;
    uint64_t recs;
    int rc;

    rc = wcs_spool_open(w->spool_path, w->o.spool_max_bytes, &w->spool, &scan, e);
    if (rc < 0)
        return err_wrap(e, rc, "event writer");
    /* Under the spool's lock: no other process writes this one either. */
    if (snprintf(ids, sizeof(ids), "%s.ids", w->spool_path) >= (int)sizeof(ids))
        return err_set(e, -ENAMETOOLONG, "event writer: spool path too long");
    rc = wcs_idfile_open(ids, &w->idfile, &reserved, e);
    if (rc < 0)
        return err_wrap(e, rc, "event writer");
    w->reserved_ms = reserved;
    if (reserved > 0)
        wcs_event_id_floor(reserved << 20);
    recs = count_spool(w, e);
    if (recs == UINT64_MAX)
        return err_wrap(e, ERR_PARSE, "event writer: spool %s", w->spool_path);
    w->recovered_left = recs;
    w->spool_recs = recs;
    w->st.recovered = recs;
    w->st.spool_bad_bytes = scan.bad_bytes;
    w->st.spool_records = recs;
    w->st.spool_bytes = scan.bytes;
    if (recs > 0)
        log_warnx("event spool %s holds %llu records from an earlier run; writing them to the "
                  "database before anything new",
                  w->spool_path, (unsigned long long)recs);
    return 0;
}

int wcs_event_writer_start(const char *conninfo, const struct wcs_event_writer_opts *opts,
                           struct wcs_event_writer **out, struct err *e)
{
    struct wcs_event_writer *w;
    PGconn *c = NULL;
    struct err ce = {0};
    int rc;

    *out = NULL;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return err_set(e, -ENOMEM, "event writer: out of memory");
    if (opts != NULL)
        w->o = *opts;
    if (w->o.queue_capacity == 0)
        w->o.queue_capacity = DEFAULT_QUEUE_CAPACITY;
    if (w->o.batch_max == 0)
        w->o.batch_max =
            w->o.queue_capacity < DEFAULT_BATCH_MAX ? w->o.queue_capacity : DEFAULT_BATCH_MAX;
    if (w->o.drain_timeout_ms == 0)
        w->o.drain_timeout_ms = DEFAULT_DRAIN_TIMEOUT_MS;
    if (w->o.raw_capacity == 0)
        w->o.raw_capacity = w->o.queue_capacity * DEFAULT_RAW_PER_SLOT;
    if (w->o.raw_capacity < MIN_RAW_CAPACITY)
        w->o.raw_capacity = MIN_RAW_CAPACITY;
    if (w->o.spool_max_bytes == 0)
        w->o.spool_max_bytes = DEFAULT_SPOOL_MAX_BYTES;
    if (w->o.statement_timeout_ms == 0)
        w->o.statement_timeout_ms = DEFAULT_STATEMENT_TIMEOUT_MS;
    if (w->o.lock_timeout_ms == 0)
        w->o.lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS;
    w->o.spool_path = NULL; /* the caller's string; w->spool_path is ours */
    if (w->o.batch_max > w->o.queue_capacity) {
        rc = err_set(e, ERR_INVALID, "event writer: batch_max %zu > queue_capacity %zu",
                     w->o.batch_max, w->o.queue_capacity);
        free(w);
        return rc;
    }
    if (w->o.node_id > WCS_EVENT_NODE_MAX) {
        rc = err_set(e, ERR_INVALID, "event writer: node_id %u above %d", w->o.node_id,
                     WCS_EVENT_NODE_MAX);
        free(w);
        return rc;
    }
    if (w->o.fence_node != NULL) {
        if (snprintf(w->fence_node, sizeof(w->fence_node), "%s", w->o.fence_node) >=
            (int)sizeof(w->fence_node)) {
            rc = err_set(e, ERR_INVALID, "event writer: node %s too long", w->o.fence_node);
            free(w);
            return rc;
        }
        w->o.fence_node = w->fence_node;
        w->gated = 1;
    }
    w->backoff = BACKOFF_MIN_MS;
    w->retry_pos = UINT64_MAX;
    w->conninfo = strdup(conninfo);
    if (opts != NULL && opts->spool_path != NULL && opts->spool_path[0] != '\0')
        w->spool_path = strdup(opts->spool_path);
    /* malloc, not calloc: slots are written before they are read, and the
     * pages of an idle queue need not be touched. */
    w->ring = malloc(w->o.queue_capacity * sizeof(*w->ring));
    w->raw = malloc(w->o.raw_capacity);
    /* A batch holds batch_max records, or one larger group. */
    w->bcap = w->o.batch_max + WCS_EVENT_GROUP_MAX;
    w->bev = malloc(w->bcap * sizeof(*w->bev));
    w->btg = malloc(w->bcap * sizeof(*w->btg));
    w->bev_pos = malloc(w->bcap * sizeof(*w->bev_pos));
    w->btg_pos = malloc(w->bcap * sizeof(*w->btg_pos));
    w->foreign = malloc(w->bcap * sizeof(*w->foreign));
    w->reidx = malloc(w->bcap * sizeof(*w->reidx));
    if (w->conninfo == NULL || w->ring == NULL || w->raw == NULL || w->bev == NULL ||
        w->btg == NULL || w->bev_pos == NULL || w->btg_pos == NULL || w->foreign == NULL ||
        w->reidx == NULL ||
        (opts != NULL && opts->spool_path != NULL && opts->spool_path[0] != '\0' &&
         w->spool_path == NULL)) {
        rc =
            err_set(e, -ENOMEM, "event writer: out of memory for %zu records", w->o.queue_capacity);
        free_writer(w);
        return rc;
    }
    if (w->spool_path != NULL) {
        rc = open_spool(w, e);
        if (rc < 0) {
            free_writer(w);
            return rc;
        }
    }
    rc = init_sync(w);
    if (rc < 0) {
        err_set(e, rc, "event writer: pthread init: %s", strerror(-rc));
        free_writer(w);
        return rc;
    }
    rc = writer_connect(&w->o, conninfo, &c, w->spool != NULL ? &ce : e);
    if (rc == 0 && floor_from_db(c, &ce) < 0) {
        /* Not fatal (a lock on the table, say): the ids still differ from
         * other nodes', and a collision with an earlier run's is found and
         * written under a new id. */
        log_warnx("%s; ids start from the clock%s", ce.msg,
                  w->idfile != NULL ? " and the id reservation" : "");
    }
    if (rc < 0 && w->spool == NULL)
        goto fail_sync;
    if (rc < 0) {
        /* With a spool the database is not needed to start: records go to
         * the spool until it can be reached. */
        log_warnx("%s; records go to the event spool %s until it can be reached", ce.msg,
                  w->spool_path);
        w->db_failing = 1;
    } else {
        w->conn = c;
        w->cancel = PQgetCancel(c);
    }
    rc = pthread_create(&w->thread, NULL, store_main, w);
    if (rc != 0) {
        rc = err_set(e, -rc, "event writer: thread: %s", strerror(rc));
        if (w->cancel != NULL)
            PQfreeCancel(w->cancel);
        if (c != NULL)
            PQfinish(c);
        goto fail_sync;
    }
    *out = w;
    return 0;

fail_sync:
    destroy_sync(w);
    free_writer(w);
    return rc;
}

/* Where a telegram's raw text of len bytes goes after raw position pos: it
 * is stored contiguously, so when it does not fit before the raw ring's end
 * the rest of the ring is skipped. */
static uint64_t raw_place(const struct wcs_event_writer *w, uint64_t pos, size_t len)
{
    size_t rcap = w->o.raw_capacity;

    if (pos % rcap + len > rcap)
        pos += rcap - pos % rcap;
    return pos;
}

/* Whether n records (their telegrams' raw text included) fit in the queue
 * now (w->mu held). */
static int room_for(const struct wcs_event_writer *w, const struct wcs_record *recs, size_t n)
{
    uint64_t pos = w->raw_tail;
    size_t i;

    if (w->tail - w->head + n > w->o.queue_capacity)
        return 0;
    for (i = 0; i < n; i++) {
        if (recs[i].tg == NULL)
            continue;
        pos = raw_place(w, pos, recs[i].tg->raw_len);
        if (pos + recs[i].tg->raw_len - w->raw_head > w->o.raw_capacity)
            return 0;
        pos += recs[i].tg->raw_len;
    }
    return 1;
}

/* Copies one record into the next free slot (w->mu held, room checked):
 * id assigned under the lock, so ids rise in queue order too. */
static void fill_slot(struct wcs_event_writer *w, const struct wcs_record *r, int cont)
{
    struct slot *slot = &w->ring[w->tail % w->o.queue_capacity];
    const struct wcs_telegram_rec *tg = r->tg;
    struct tg_slot *t;
    uint64_t pos;

    slot->cont = (uint8_t)cont;
    if (tg == NULL) {
        slot->tag = REC_EVENT;
        slot->u.ev = *r->ev;
        if (slot->u.ev.id == 0)
            slot->u.ev.id = wcs_event_id_next_node(w->o.node_id);
        if (slot->u.ev.at_us == 0)
            slot->u.ev.at_us = now_us();
    } else {
        pos = raw_place(w, w->raw_tail, tg->raw_len);
        memcpy(w->raw + pos % w->o.raw_capacity, tg->raw, tg->raw_len);
        w->raw_tail = pos + tg->raw_len;
        slot->tag = REC_TELEGRAM;
        t = &slot->u.tg;
        t->id = tg->id != 0 ? tg->id : wcs_event_id_next_node(w->o.node_id);
        t->at_us = tg->at_us != 0 ? tg->at_us : now_us();
        t->raw_pos = pos;
        t->raw_len = (uint16_t)tg->raw_len;
        t->seq = tg->seq;
        memcpy(t->plc, tg->plc, sizeof(t->plc));
        t->plc[sizeof(t->plc) - 1] = '\0';
        memcpy(t->type, tg->type, sizeof(t->type));
        t->type[sizeof(t->type) - 1] = '\0';
        t->direction = tg->direction;
        t->refused = tg->refused;
        w->st.telegrams++;
    }
    slot->raw_end = w->raw_tail;
    w->tail++;
    w->st.pushed++;
}

int wcs_event_writer_push_group(struct wcs_event_writer *w, const struct wcs_record *recs, size_t n,
                                uint64_t *ticket)
{
    size_t i;
    int rc, wake;

    if (n == 0 || n > WCS_EVENT_GROUP_MAX || n > w->o.queue_capacity)
        return ERR_INVALID;
    for (i = 0; i < n; i++) {
        if ((recs[i].ev == NULL) == (recs[i].tg == NULL))
            return ERR_INVALID;
        rc = recs[i].ev != NULL ? wcs_event_check(recs[i].ev, 1, NULL)
                                : wcs_telegram_check(recs[i].tg, 1, NULL);
        if (rc < 0)
            return rc;
    }
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return ERR_STATE;
    }
    if (!room_for(w, recs, n)) {
        w->st.dropped += n;
        pthread_mutex_unlock(&w->mu);
        return ERR_FULL;
    }
    for (i = 0; i < n; i++)
        fill_slot(w, &recs[i], i + 1 < n);
    if (n > 1)
        w->st.groups++;
    if (ticket != NULL)
        *ticket = w->tail;
    wake = w->idle;
    pthread_mutex_unlock(&w->mu);
    if (wake)
        pthread_cond_signal(&w->work);
    return 0;
}

int wcs_event_writer_push_t(struct wcs_event_writer *w, const struct wcs_event *ev,
                            uint64_t *ticket)
{
    const struct wcs_record r = {.ev = ev};

    return wcs_event_writer_push_group(w, &r, 1, ticket);
}

int wcs_event_writer_push(struct wcs_event_writer *w, const struct wcs_event *ev)
{
    return wcs_event_writer_push_t(w, ev, NULL);
}

int wcs_event_writer_push_telegram(struct wcs_event_writer *w, const struct wcs_telegram_rec *tg,
                                   uint64_t *ticket)
{
    const struct wcs_record r = {.tg = tg};

    return wcs_event_writer_push_group(w, &r, 1, ticket);
}

uint64_t wcs_event_writer_durable(struct wcs_event_writer *w)
{
    uint64_t d;

    pthread_mutex_lock(&w->mu);
    d = w->head;
    pthread_mutex_unlock(&w->mu);
    return d;
}

int wcs_event_writer_flush(struct wcs_event_writer *w, unsigned timeout_ms)
{
    struct timespec deadline;
    uint64_t target;
    int rc = 0;

    now_mono(&deadline);
    ts_add_ms(&deadline, timeout_ms);
    pthread_mutex_lock(&w->mu);
    target = w->tail;
    /* No need to wake the store thread: it never waits for a batch to fill. */
    while (w->db_pos < target && rc == 0) {
        if (pthread_cond_timedwait(&w->done, &w->mu, &deadline) == ETIMEDOUT &&
            w->db_pos < target)
            rc = -ETIMEDOUT;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void wcs_event_writer_stats(struct wcs_event_writer *w, struct wcs_event_writer_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->queued = (size_t)(w->tail - w->head);
    out->durable = w->head;
    pthread_mutex_unlock(&w->mu);
}

int wcs_event_writer_fence(struct wcs_event_writer *w, int64_t token, struct err *e)
{
    char sql[sizeof(w->fence_sql)];
    int rc;

    if (w->o.fence_node == NULL || token <= 0)
        return err_set(e, ERR_INVALID, "event writer: no fence to set");
    rc = wcs_db_lease_fence_sql(w->o.fence_node, token, sql, sizeof(sql), e);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&w->mu);
    memcpy(w->fence_sql, sql, sizeof(sql));
    w->gated = 0;
    w->st.fenced = false;
    w->refloor = 1;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void wcs_event_writer_stop(struct wcs_event_writer *w)
{
    struct timespec limit, now;
    char errbuf[256];

    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    now_mono(&w->drain_deadline);
    ts_add_ms(&w->drain_deadline, w->o.drain_timeout_ms);
    pthread_cond_broadcast(&w->work);
    while (!w->exited) {
        limit = w->drain_deadline;
        ts_add_ms(&limit, CANCEL_GRACE_MS);
        now_mono(&now);
        if (ts_before(&now, &limit)) {
            pthread_cond_timedwait(&w->done, &w->mu, &limit);
            continue;
        }
        /* The thread is stuck in a statement (a lock, a hung server): cancel
         * it, so the failure path sees the deadline and gives up. */
        if (w->cancel != NULL && !PQcancel(w->cancel, errbuf, sizeof(errbuf)))
            log_warnx("event writer: cancel: %s", errbuf);
        now_mono(&limit);
        ts_add_ms(&limit, CANCEL_GRACE_MS);
        pthread_cond_timedwait(&w->done, &w->mu, &limit);
    }
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    destroy_sync(w);
    free_writer(w);
}

/*
 * event_writer.c - the batching event writer: producers queue events, one
 * store thread with its own connection writes them in batches.
 *
 * DESIGN. The queue is a ring of queue_capacity events under one mutex.
 * Positions (head <= sent <= tail) count events since start and never wrap;
 * an event lives in slot pos % capacity. push() copies the event into slot
 * `tail` and moves tail on: a ~256-byte copy under the mutex, no allocation,
 * no I/O, and a condition-variable signal only when the store thread sleeps
 * waiting for a first event or for a full batch, so a producer (wcsd's loop)
 * never waits for the database. The store thread takes [sent, sent + k)
 * (k <= batch_max, and the batch never wraps around the ring end), writes it
 * outside the lock straight from the ring - producers only write free slots,
 * and the slots of a batch stay taken until it commits - then moves head and
 * counts it written. A failed batch is therefore simply still there: the
 * thread rolls back, reconnects with exponential back-off (100 ms doubling
 * to 5 s) and sends the same events again; queue_capacity bounds memory
 * during an outage and push() answers ERR_FULL once it is used up.
 *
 * One batch = BEGIN; COPY events; COMMIT. Ids are fixed before the first
 * attempt, so a re-send after a COMMIT whose answer was lost (the commit may
 * have happened) goes through wcs_db_events_copy_idempotent() (staging table
 * + INSERT .. ON CONFLICT (id) DO NOTHING) and cannot store an event twice.
 * Plain COPY is kept for every first attempt because it is the fast path
 * (see docs/events.md for the measurements); a unique violation on a first
 * attempt (an id collision with a row written by someone else) also falls
 * back to the staging path, which then skips and counts those duplicates.
 *
 * The store thread waits up to flush_interval_ms for a batch to fill,
 * measured from the first event it saw after sleeping, or from the previous
 * batch's start when events arrived while that batch was being written.
 * flush() and stop() cut the wait short.
 */
#include "wcs/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define DEFAULT_QUEUE_CAPACITY 65536
#define DEFAULT_BATCH_MAX 2000
#define DEFAULT_FLUSH_INTERVAL_MS 20
#define DEFAULT_DRAIN_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* stop() cancels the statement in flight when the drain deadline is this
 * far behind and the thread has still not exited. */
#define CANCEL_GRACE_MS 1000
#define APPLICATION_NAME "wcs-event-writer"

struct wcs_event_writer {
    struct wcs_event_writer_opts o; /* defaults filled in */
    char *conninfo;
    struct wcs_event *ring; /* o.queue_capacity slots */
    pthread_t thread;

    pthread_mutex_t mu;  /* guards everything below */
    pthread_cond_t work; /* store thread waits: events, flush, stop */
    pthread_cond_t done; /* flush()/stop() wait: batch committed, thread exited */
    uint64_t head;       /* first event not yet committed */
    uint64_t sent;       /* first event not yet taken into a batch */
    uint64_t tail;       /* next free position */
    int idle;            /* store thread sleeps until the first event */
    int filling;         /* store thread sleeps until batch_max events */
    unsigned flushers;   /* flush() calls waiting */
    int stopping;
    int exited;
    struct timespec drain_deadline; /* CLOCK_MONOTONIC; moves on with each commit */
    PGcancel *cancel;               /* of the store connection, for stop() */
    struct wcs_event_writer_stats st;

    PGconn *conn; /* store thread's own; NULL while disconnected */
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
 * can find its backend) and a default connect_timeout that the conninfo may
 * override. */
static int writer_connect(const char *conninfo, PGconn **out, struct err *e)
{
    /* Later keywords override earlier ones, and the expanded conninfo takes
     * the place of dbname. */
    const char *const keys[] = {"connect_timeout", "dbname", "application_name", NULL};
    const char *const vals[] = {"10", conninfo, APPLICATION_NAME, NULL};
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

/* One attempt: BEGIN; COPY (plain or staged); COMMIT. *commit_sent tells
 * whether the COMMIT went out, i.e. whether a failure leaves the outcome
 * unknown. */
static int try_batch(PGconn *c, const struct wcs_event *ev, size_t n, int staged, size_t *inserted,
                     int *commit_sent, struct err *e)
{
    int rc;

    *commit_sent = 0;
    *inserted = n;
    rc = exec_cmd(c, "BEGIN", e);
    if (rc < 0)
        return rc;
    if (staged)
        rc = wcs_db_events_copy_idempotent(c, ev, n, inserted, e);
    else
        rc = wcs_db_events_copy(c, ev, n, e);
    if (rc < 0)
        return rc;
    *commit_sent = 1;
    return exec_cmd(c, "COMMIT", e);
}

/* Sleeps ms, or less when stop() wakes it. Returns 1 when stop()'s drain
 * deadline has passed: the caller gives up. */
static int backoff_wait(struct wcs_event_writer *w, unsigned ms)
{
    struct timespec until, now;
    const struct timespec *d;
    int give_up = 0;

    now_mono(&until);
    ts_add_ms(&until, ms);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        now_mono(&now);
        if (w->stopping && !ts_before(&now, &w->drain_deadline)) {
            give_up = 1;
            break;
        }
        if (!ts_before(&now, &until))
            break;
        d = w->stopping && ts_before(&w->drain_deadline, &until) ? &w->drain_deadline : &until;
        pthread_cond_timedwait(&w->work, &w->mu, d);
    }
    pthread_mutex_unlock(&w->mu);
    return give_up;
}

/*
 * Writes ev[0..n-1] until it is committed, retrying forever except after
 * stop()'s drain deadline. Returns 0 with *written and *dups set, or -1
 * when it gave up (nothing counted).
 */
static int write_batch(struct wcs_event_writer *w, const struct wcs_event *ev, size_t n,
                       uint64_t *written, uint64_t *dups)
{
    unsigned backoff = BACKOFF_MIN_MS;
    int maybe_committed = 0, staged = 0, commit_sent, failures = 0, rc;
    size_t inserted;
    struct err e = {0};

    for (;;) {
        rc = 0;
        commit_sent = 0;
        if (w->conn == NULL) {
            PGconn *c = NULL;

            rc = writer_connect(w->conninfo, &c, &e);
            if (rc == 0) {
                attach_conn(w, c);
                log_info("reconnected to the database");
            }
        }
        if (rc == 0)
            rc = try_batch(w->conn, ev, n, staged || maybe_committed, &inserted, &commit_sent, &e);
        if (rc == 0) {
            if (staged && !maybe_committed) {
                /* Nothing of ours can be there: every skipped id was
                 * stored by someone else, and this event is lost. */
                *written = inserted;
                *dups = n - inserted;
                if (*dups > 0)
                    log_warnx("%llu events not stored: their ids were already in the table",
                              (unsigned long long)*dups);
            } else {
                /* After an unknown commit outcome the skipped rows are our
                 * own first attempt. */
                *written = n;
                *dups = 0;
            }
            if (failures > 0)
                log_info("batch of %zu events written after %d failed attempts", n, failures);
            return 0;
        }
        failures++;
        if (commit_sent)
            maybe_committed = 1;
        pthread_mutex_lock(&w->mu);
        w->st.db_errors++;
        pthread_mutex_unlock(&w->mu);

        if (w->conn != NULL && PQstatus(w->conn) == CONNECTION_OK) {
            if (PQtransactionStatus(w->conn) != PQTRANS_IDLE &&
                exec_cmd(w->conn, "ROLLBACK", NULL) < 0)
                drop_conn(w);
        } else if (w->conn != NULL) {
            drop_conn(w);
        }
        if (rc == ERR_CONFLICT && !staged) {
            /* Not an outage: re-send at once through the staging table. */
            staged = 1;
            log_warnx("batch of %zu events: %s; re-sending, skipping stored ids", n, e.msg);
            continue;
        }
        log_warnx("batch of %zu events: %s; retrying in %u ms", n, e.msg, backoff);
        if (backoff_wait(w, backoff))
            return -1;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}

/* --- the store thread --------------------------------------------------- */

static void *store_main(void *arg)
{
    struct wcs_event_writer *w = arg;
    struct timespec fill_since, last_take = {0}, deadline, now;
    uint64_t start, k, written = 0, dups = 0, lost;
    size_t cap = w->o.queue_capacity;
    int woke, rc;

    log_set_tag("store");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        woke = 0;
        while (w->tail == w->sent && !w->stopping) {
            w->idle = 1;
            pthread_cond_wait(&w->work, &w->mu);
            w->idle = 0;
            woke = 1;
        }
        if (w->tail == w->sent)
            break; /* stopping, everything written */
        if (woke)
            now_mono(&fill_since);
        else
            fill_since = last_take; /* these arrived during the last write */
        deadline = fill_since;
        ts_add_ms(&deadline, w->o.flush_interval_ms);
        while (!w->stopping && w->flushers == 0 && w->tail - w->sent < w->o.batch_max) {
            now_mono(&now);
            if (!ts_before(&now, &deadline))
                break;
            w->filling = 1;
            pthread_cond_timedwait(&w->work, &w->mu, &deadline);
            w->filling = 0;
        }
        start = w->sent % cap;
        k = w->tail - w->sent;
        if (k > w->o.batch_max)
            k = w->o.batch_max;
        if (k > cap - start)
            k = cap - start; /* the rest is sent right after, from slot 0 */
        w->sent += k;
        now_mono(&last_take);
        pthread_mutex_unlock(&w->mu);

        rc = write_batch(w, &w->ring[start], (size_t)k, &written, &dups);

        pthread_mutex_lock(&w->mu);
        if (rc < 0)
            break;
        w->head += k;
        w->st.written += written;
        w->st.duplicates += dups;
        w->st.batches++;
        if (w->stopping) {
            now_mono(&w->drain_deadline);
            ts_add_ms(&w->drain_deadline, w->o.drain_timeout_ms);
        }
        pthread_cond_broadcast(&w->done);
    }
    lost = w->tail - w->head;
    pthread_mutex_unlock(&w->mu);

    if (lost > 0)
        log_error("stopping with the database failing: %llu events not written",
                  (unsigned long long)lost);
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

int wcs_event_writer_start(const char *conninfo, const struct wcs_event_writer_opts *opts,
                           struct wcs_event_writer **out, struct err *e)
{
    struct wcs_event_writer *w;
    PGconn *c = NULL;
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
    if (w->o.flush_interval_ms == 0)
        w->o.flush_interval_ms = DEFAULT_FLUSH_INTERVAL_MS;
    if (w->o.drain_timeout_ms == 0)
        w->o.drain_timeout_ms = DEFAULT_DRAIN_TIMEOUT_MS;
    if (w->o.batch_max > w->o.queue_capacity) {
        rc = err_set(e, ERR_INVALID, "event writer: batch_max %zu > queue_capacity %zu",
                     w->o.batch_max, w->o.queue_capacity);
        free(w);
        return rc;
    }
    w->conninfo = strdup(conninfo);
    /* malloc, not calloc: slots are written before they are read, and the
     * pages of an idle queue need not be touched. */
    w->ring = malloc(w->o.queue_capacity * sizeof(*w->ring));
    if (w->conninfo == NULL || w->ring == NULL) {
        rc = err_set(e, -ENOMEM, "event writer: out of memory for %zu events", w->o.queue_capacity);
        goto fail;
    }
    rc = init_sync(w);
    if (rc < 0) {
        err_set(e, rc, "event writer: pthread init: %s", strerror(-rc));
        goto fail;
    }
    rc = writer_connect(conninfo, &c, e);
    if (rc < 0)
        goto fail_sync;
    w->conn = c;
    w->cancel = PQgetCancel(c);
    rc = pthread_create(&w->thread, NULL, store_main, w);
    if (rc != 0) {
        rc = err_set(e, -rc, "event writer: thread: %s", strerror(rc));
        PQfreeCancel(w->cancel);
        PQfinish(c);
        goto fail_sync;
    }
    *out = w;
    return 0;

fail_sync:
    destroy_sync(w);
fail:
    free(w->ring);
    free(w->conninfo);
    free(w);
    return rc;
}

int wcs_event_writer_push(struct wcs_event_writer *w, const struct wcs_event *ev)
{
    struct wcs_event *slot;
    int rc, wake;

    rc = wcs_event_check(ev, 1, NULL);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return ERR_STATE;
    }
    if (w->tail - w->head >= w->o.queue_capacity) {
        w->st.dropped++;
        pthread_mutex_unlock(&w->mu);
        return ERR_FULL;
    }
    slot = &w->ring[w->tail % w->o.queue_capacity];
    *slot = *ev;
    /* Assigned under the lock so ids also rise in queue order. */
    if (slot->id == 0)
        slot->id = wcs_event_id_next();
    if (slot->at_us == 0)
        slot->at_us = now_us();
    w->tail++;
    w->st.pushed++;
    wake = w->idle || (w->filling && w->tail - w->sent >= w->o.batch_max);
    pthread_mutex_unlock(&w->mu);
    if (wake)
        pthread_cond_signal(&w->work);
    return 0;
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
    if (w->head < target) {
        w->flushers++;
        pthread_cond_signal(&w->work); /* stop waiting for the batch to fill */
        while (w->head < target && rc == 0) {
            if (pthread_cond_timedwait(&w->done, &w->mu, &deadline) == ETIMEDOUT &&
                w->head < target)
                rc = -ETIMEDOUT;
        }
        w->flushers--;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void wcs_event_writer_stats(struct wcs_event_writer *w, struct wcs_event_writer_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->queued = (size_t)(w->tail - w->head);
    pthread_mutex_unlock(&w->mu);
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
    free(w->ring);
    free(w->conninfo);
    free(w);
}

/*
 * test-events.c - the event log: kind names, ids, the COPY encoding (round
 * trip through a real PostgreSQL), the idempotent re-send, and the batching
 * writer under load, backend kills, a full queue, a blocked table and stop;
 * group commit (a lone record committed at once, records behind a commit
 * taken together);
 * the telegram log; durability tickets; the spool under a real outage (a
 * private PostgreSQL stopped and started mid-run), a full spool, and a
 * kill -9 with records in the spool followed by a restart. No silent loss:
 * groups (a telegram and its events) all-or-nothing in the database and in
 * the spool; ids unique across two writers on one database and across a
 * restart with the clock behind; a record whose id a foreign row took is
 * written under a new id, directly and when drained, never ACKed unwritten;
 * a lock held on events is an outage (spooled within a bound, drained after
 * it); one writer per spool.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "tests/common/testdb.h"
#include "wcs/store/events.h"
#include "wcs/store/idfile.h"
#include "wcs/store/store.h"

/* --- helpers ------------------------------------------------------------ */

/* A fresh, migrated database; returns an open connection to it. */
static PGconn *make_db(const char *name, char *conninfo, size_t len)
{
    struct err e = {0};
    PGconn *c;

    testdb_create(name, conninfo, len);
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", conninfo, PQerrorMessage(c));
    if (wcs_db_migrate(c, NULL, &e) < 0)
        fail_msg("migrate: %s", e.msg);
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static long long query_ll(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* A connection holding events locked (ACCESS EXCLUSIVE, in an open
 * transaction): the writer's COPY waits behind it until ROLLBACK. */
static PGconn *lock_events(const char *conninfo)
{
    PGconn *locker = PQconnectdb(conninfo);

    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    exec_ok(locker, "BEGIN");
    exec_ok(locker, "LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    return locker;
}

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};

    nanosleep(&t, NULL);
}

/* Waits (bounded) until the writer's stats satisfy cond. */
#define WAIT_FOR(w, st, cond, ms)                                                                  \
    do {                                                                                           \
        int tries_;                                                                                \
        for (tries_ = 0; tries_ < (ms) / 10; tries_++) {                                           \
            wcs_event_writer_stats((w), &(st));                                                    \
            if (cond)                                                                              \
                break;                                                                             \
            sleep_us(10000);                                                                       \
        }                                                                                          \
        wcs_event_writer_stats((w), &(st));                                                        \
        if (!(cond))                                                                               \
            fail_msg("timed out waiting for " #cond);                                              \
    } while (0)

/* A database that cannot be reached: the writer then spools. */
#define DB_DOWN "host=/nonexistent-wcs-dir port=1 dbname=x connect_timeout=1"

/* A private directory for a test's spool (and its .bad, .ids files). */
struct tmp_spool {
    char dir[128];
    char path[200]; /* DIR/events.spool */
};

static void tmp_spool_make(struct tmp_spool *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/wcs-test-spool-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/events.spool", t->dir);
}

static void tmp_spool_remove(const struct tmp_spool *t)
{
    char cmd[200];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
    assert_int_equal(system(cmd), 0);
}

static void fill_event(struct wcs_event *ev, int64_t id, int kind, const char *detail)
{
    memset(ev, 0, sizeof(*ev));
    ev->id = id;
    ev->at_us = INT64_C(1763907000000000);
    ev->kind = (uint8_t)kind;
    snprintf(ev->parcel_code, sizeof(ev->parcel_code), "RR123456785CN");
    snprintf(ev->location, sizeof(ev->location), "SCAN-01");
    snprintf(ev->source, sizeof(ev->source), "plc1");
    snprintf(ev->detail, sizeof(ev->detail), "%s", detail);
}

/* --- pure -------------------------------------------------------------- */

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(wcs_event_kind_name(WCS_EVENT_SCAN), "scan");
    assert_string_equal(wcs_event_kind_name(WCS_EVENT_DECISION), "decision");
    assert_string_equal(wcs_event_kind_name(WCS_EVENT_CONFIRM), "confirm");
    assert_string_equal(wcs_event_kind_name(WCS_EVENT_OPERATOR), "operator");
    assert_string_equal(wcs_event_kind_name(WCS_EVENT_SYSTEM), "system");
    assert_string_equal(wcs_event_kind_name(WCS_EVENT_KIND_COUNT), "unknown");
}

static void test_check(void **state)
{
    struct wcs_event ev;
    struct err e = {0};
    (void)state;

    fill_event(&ev, 1, WCS_EVENT_SCAN, "x");
    assert_int_equal(wcs_event_check(&ev, 0, &e), 0);
    ev.id = 0;
    assert_int_equal(wcs_event_check(&ev, 0, &e), ERR_INVALID);
    assert_int_equal(wcs_event_check(&ev, 1, &e), 0);
    ev.id = -5;
    assert_int_equal(wcs_event_check(&ev, 1, &e), ERR_INVALID);
    ev.id = 7;
    ev.kind = WCS_EVENT_KIND_COUNT;
    assert_int_equal(wcs_event_check(&ev, 0, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "kind"));
    ev.kind = WCS_EVENT_SYSTEM;
    ev.at_us = WCS_EVENT_AT_US_MAX + 1;
    assert_int_equal(wcs_event_check(&ev, 0, &e), ERR_INVALID);
    ev.at_us = -1;
    assert_int_equal(wcs_event_check(&ev, 0, &e), ERR_INVALID);
    ev.at_us = WCS_EVENT_AT_US_MAX;
    assert_int_equal(wcs_event_check(&ev, 0, &e), 0);
}

/* --- ids across threads ---------------------------------------------- */

#define ID_THREADS 4
#define IDS_PER_THREAD 200000

/* The largest id any thread has finished receiving. An id handed out after
 * another call returned must be larger: each thread reads this mark before
 * asking for an id and checks the new id is above it. */
static _Atomic int64_t id_mark;
static _Atomic int id_order_errors;

struct id_job {
    int64_t *ids;
};

static void *id_thread(void *arg)
{
    struct id_job *job = arg;
    int64_t seen, id, cur;
    int i;

    for (i = 0; i < IDS_PER_THREAD; i++) {
        seen = atomic_load(&id_mark);
        id = wcs_event_id_next();
        if (id <= seen || (i > 0 && id <= job->ids[i - 1]))
            atomic_fetch_add(&id_order_errors, 1);
        job->ids[i] = id;
        cur = atomic_load(&id_mark);
        while (cur < id && !atomic_compare_exchange_weak(&id_mark, &cur, id))
            ;
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void test_ids_increasing_across_threads(void **state)
{
    pthread_t th[ID_THREADS];
    struct id_job jobs[ID_THREADS];
    int64_t *all = malloc(sizeof(int64_t) * ID_THREADS * IDS_PER_THREAD);
    struct timespec ts;
    int64_t now_ms;
    size_t i;
    int t;
    (void)state;

    assert_non_null(all);
    for (t = 0; t < ID_THREADS; t++) {
        jobs[t].ids = all + (size_t)t * IDS_PER_THREAD;
        assert_int_equal(pthread_create(&th[t], NULL, id_thread, &jobs[t]), 0);
    }
    for (t = 0; t < ID_THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(atomic_load(&id_order_errors), 0);

    qsort(all, (size_t)ID_THREADS * IDS_PER_THREAD, sizeof(int64_t), cmp_i64);
    for (i = 1; i < (size_t)ID_THREADS * IDS_PER_THREAD; i++)
        assert_true(all[i] > all[i - 1]);
    /* The high bits are the wall clock in milliseconds: close to now. */
    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_true((all[0] >> 20) > now_ms - 60000);
    assert_true((all[0] >> 20) <= now_ms + 60000);
    free(all);
}

/* --- COPY encoding --------------------------------------------------- */

static void test_copy_roundtrip(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_copy", conninfo, sizeof(conninfo));
    struct wcs_event ev[6];
    struct err e = {0};
    PGresult *r;
    int i;
    (void)state;

    fill_event(&ev[0], 101, WCS_EVENT_SCAN, "tab\there\nnew line\\back\\slash\rcr");
    ev[0].at_us = INT64_C(1700000000123456);
    /* Cyrillic UTF-8 in several fields; a lone "\." must not end the COPY. */
    fill_event(&ev[1], 102, WCS_EVENT_DECISION, "Москва, ул. Ленина 1\\.");
    snprintf(ev[1].location, sizeof(ev[1].location), "Чита");
    snprintf(ev[1].chute, sizeof(ev[1].chute), "CH017");
    snprintf(ev[1].reason, sizeof(ev[1].reason), "RES_OK");
    /* Empty optional fields become NULL. */
    memset(&ev[2], 0, sizeof(ev[2]));
    ev[2].id = 103;
    ev[2].at_us = 0; /* the epoch itself is a valid time for COPY */
    ev[2].kind = WCS_EVENT_SYSTEM;
    /* Invalid UTF-8: a Cyrillic letter cut in half, a stray 0xFF, an
     * overlong '/' and a surrogate become '?'. */
    fill_event(&ev[3], 104, WCS_EVENT_CONFIRM, "ab\xD0");
    snprintf(ev[3].location, sizeof(ev[3].location), "x\xFFy\xC0\xAFz\xED\xA0\x80");
    /* A field filled to the brim without a NUL is cut at its size. */
    fill_event(&ev[4], 105, WCS_EVENT_OPERATOR, "");
    memset(ev[4].parcel_code, 'A', sizeof(ev[4].parcel_code));
    memset(ev[4].detail, 'd', sizeof(ev[4].detail));
    fill_event(&ev[5], 106, WCS_EVENT_SCAN, "last\\");
    ev[5].at_us = WCS_EVENT_AT_US_MAX;

    assert_int_equal(wcs_db_events_copy(c, ev, 6, &e), 0);
    r = PQexec(c, "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, kind, parcel_code, "
                  "location, chute, reason, source, detail FROM events ORDER BY id");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 6);

    assert_string_equal(PQgetvalue(r, 0, 0), "101");
    assert_string_equal(PQgetvalue(r, 0, 1), "1700000000123456");
    assert_string_equal(PQgetvalue(r, 0, 2), "scan");
    assert_string_equal(PQgetvalue(r, 0, 3), "RR123456785CN");
    assert_string_equal(PQgetvalue(r, 0, 4), "SCAN-01");
    assert_true(PQgetisnull(r, 0, 5));
    assert_true(PQgetisnull(r, 0, 6));
    assert_string_equal(PQgetvalue(r, 0, 7), "plc1");
    assert_string_equal(PQgetvalue(r, 0, 8), "tab\there\nnew line\\back\\slash\rcr");

    assert_string_equal(PQgetvalue(r, 1, 2), "decision");
    assert_string_equal(PQgetvalue(r, 1, 4), "Чита");
    assert_string_equal(PQgetvalue(r, 1, 5), "CH017");
    assert_string_equal(PQgetvalue(r, 1, 6), "RES_OK");
    assert_string_equal(PQgetvalue(r, 1, 8), "Москва, ул. Ленина 1\\.");

    assert_string_equal(PQgetvalue(r, 2, 1), "0");
    assert_string_equal(PQgetvalue(r, 2, 2), "system");
    for (i = 3; i <= 8; i++)
        assert_true(PQgetisnull(r, 2, i));

    assert_string_equal(PQgetvalue(r, 3, 2), "confirm");
    assert_string_equal(PQgetvalue(r, 3, 4), "x?y??z???");
    assert_string_equal(PQgetvalue(r, 3, 8), "ab?");

    assert_string_equal(PQgetvalue(r, 4, 2), "operator");
    assert_int_equal(strlen(PQgetvalue(r, 4, 3)), sizeof(ev[4].parcel_code));
    assert_int_equal(strlen(PQgetvalue(r, 4, 8)), sizeof(ev[4].detail));

    assert_string_equal(PQgetvalue(r, 5, 1), "253402300799999999");
    assert_string_equal(PQgetvalue(r, 5, 8), "last\\");
    PQclear(r);

    /* An invalid event stops the call before anything is sent. */
    ev[0].id = 200;
    ev[1].id = 201;
    ev[1].kind = 77;
    assert_int_equal(wcs_db_events_copy(c, ev, 2, &e), ERR_INVALID);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 6);
    assert_int_equal(wcs_db_events_copy(c, ev, 0, &e), 0);
    PQfinish(c);
}

static void test_copy_conflict_and_idempotent(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_idem", conninfo, sizeof(conninfo));
    struct wcs_event ev[5];
    struct err e = {0};
    size_t inserted = 99, nforeign = 99;
    int64_t foreign[5];
    int i;
    (void)state;

    for (i = 0; i < 5; i++)
        fill_event(&ev[i], 1000 + i, WCS_EVENT_SCAN, "first");
    assert_int_equal(wcs_db_events_copy(c, ev, 3, &e), 0);
    /* The same ids again: a unique violation, nothing of the COPY stored. */
    assert_int_equal(wcs_db_events_copy(c, ev, 5, &e), ERR_CONFLICT);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 3);

    /* The staging path needs an open transaction. */
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 5, &inserted, foreign, &nforeign, &e),
                     ERR_STATE);

    exec_ok(c, "BEGIN");
    snprintf(ev[0].detail, sizeof(ev[0].detail), "second");
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 5, &inserted, foreign, &nforeign, &e), 0);
    assert_int_equal(inserted, 2);
    /* 1001 and 1002 are stored as they are (our own earlier commit); 1000
     * is stored with another text: a foreign row holds that id. */
    assert_int_equal(nforeign, 1);
    assert_int_equal(foreign[0], 1000);
    /* A second call in the same transaction sees only its own rows, and
     * what it inserted a moment ago counts as its own. */
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 5, &inserted, NULL, &nforeign, &e), 0);
    assert_int_equal(inserted, 0);
    assert_int_equal(nforeign, 1);
    exec_ok(c, "COMMIT");
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 5);
    /* Skipped means untouched: the stored row keeps its first text. */
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'second'"), 0);

    /* Works again in a later transaction (the staging table persists). */
    exec_ok(c, "BEGIN");
    fill_event(&ev[0], 2000, WCS_EVENT_SCAN, "third");
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 1, &inserted, NULL, NULL, &e), 0);
    assert_int_equal(inserted, 1);
    exec_ok(c, "COMMIT");
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 6);
    PQfinish(c);
}

/* --- writer ------------------------------------------------------------ */

struct producer {
    struct wcs_event_writer *w;
    int tag;
    int count;
    int pace;   /* sleep 50 us after this many pushes (0 = never) */
    long full;  /* ERR_FULL answers seen (each retried) */
    int errors; /* other push failures */
};

static void *producer_thread(void *arg)
{
    struct producer *p = arg;
    struct wcs_event ev;
    char detail[64];
    int i, rc;

    for (i = 0; i < p->count; i++) {
        snprintf(detail, sizeof(detail), "p%d-%d", p->tag, i);
        fill_event(&ev, 0, i % WCS_EVENT_KIND_COUNT, detail);
        ev.at_us = 0;
        while ((rc = wcs_event_writer_push(p->w, &ev)) == ERR_FULL) {
            p->full++;
            sleep_us(100);
        }
        if (rc != 0)
            p->errors++;
        if (p->pace > 0 && i % p->pace == 0)
            sleep_us(50);
    }
    return NULL;
}

/* The logs' day partitions (migration 0019): an id lands in its day's
 * partition (the tools' small ids in their own), an id of a day not
 * prepared waits in the default one and moves into its day when that is
 * made, a re-sent row is still refused by its id, and the retention drops
 * whole old days and nothing newer. */
static void test_day_partitions_and_retention(void **state)
{
    char conninfo[512], sql[256];
    PGconn *c = make_db("wcs_events_parts", conninfo, sizeof(conninfo));
    struct wcs_event ev[3];
    struct err e = {0};
    size_t inserted = 9, nforeign = 9;
    int made = -1, dropped = -1;
    int64_t now_id = wcs_event_id_next(), day = INT64_C(86400000) << 20;

    (void)state;
    assert_int_equal(query_ll(c, "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c"
                                 " ON c.oid = p.partrelid WHERE c.relname IN ('events', 'telegrams')"),
                     2);
    fill_event(&ev[0], now_id, WCS_EVENT_SCAN, "today");
    fill_event(&ev[1], now_id - 30 * day, WCS_EVENT_SCAN, "a month ago");
    fill_event(&ev[2], 4242, WCS_EVENT_OPERATOR, "wcsctl");
    assert_int_equal(wcs_db_events_copy(c, ev, 3, &e), 0);
    snprintf(sql, sizeof(sql), "SELECT (tableoid::regclass::text = 'events_default')::int FROM events"
                               " WHERE id = %lld", (long long)ev[1].id);
    assert_int_equal(query_ll(c, sql), 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events_local WHERE id = 4242"), 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events_default"), 1);
    /* the month back made: the waiting row moves into its day */
    assert_int_equal(wcs_db_log_partitions(c, 40, 7, 0, &made, &dropped, &e), 0);
    assert_true(made >= 2 * 30);
    assert_int_equal(dropped, 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events_default"), 0);
    snprintf(sql, sizeof(sql), "SELECT (tableoid::regclass::text ~ '^events_[0-9]{8}$')::int FROM events"
                               " WHERE id = %lld", (long long)ev[1].id);
    assert_int_equal(query_ll(c, sql), 1);
    /* a re-sent batch: refused by id across the partitions */
    assert_int_equal(wcs_db_events_copy(c, ev, 3, &e), ERR_CONFLICT);
    exec_ok(c, "BEGIN");
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 3, &inserted, NULL, &nforeign, &e), 0);
    assert_int_equal(inserted, 0);
    assert_int_equal(nforeign, 0);
    exec_ok(c, "COMMIT");
    /* ten days kept: the month-old day goes, today and the tools' row stay */
    assert_int_equal(wcs_db_log_partitions(c, 1, 7, 10, &made, &dropped, &e), 0);
    assert_true(dropped >= 2 * 30);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 2);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE id = %lld", (long long)now_id);
    assert_int_equal(query_ll(c, sql), 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM pg_class WHERE relname ~"
                                 " '^(events|telegrams)_[0-9]{8}$' AND to_date(substring(relname"
                                 " from '[0-9]{8}$'), 'YYYYMMDD')"
                                 " < (now() AT TIME ZONE 'UTC')::date - 10"),
                     0);
    PQfinish(c);
}

static void test_writer_100k_two_threads(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_100k", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct producer p[2];
    pthread_t th[2];
    struct err e = {0};
    int t;
    (void)state;

    assert_int_equal(wcs_event_writer_start(conninfo, NULL, &w, &e), 0);
    for (t = 0; t < 2; t++) {
        p[t] = (struct producer){.w = w, .tag = t, .count = 50000};
        assert_int_equal(pthread_create(&th[t], NULL, producer_thread, &p[t]), 0);
    }
    for (t = 0; t < 2; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(p[0].errors + p[1].errors, 0);
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.pushed, 100000);
    assert_int_equal(st.written, 100000);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.reissued, 0);
    assert_int_equal(st.dropped, (uint64_t)(p[0].full + p[1].full));
    assert_true(st.batches >= 100000 / 2000);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 100000);
    assert_int_equal(query_ll(c, "SELECT count(DISTINCT id) FROM events"), 100000);
    assert_int_equal(query_ll(c, "SELECT count(DISTINCT detail) FROM events"), 100000);
    /* at_us 0 was stamped with the push time. */
    assert_int_equal(
        query_ll(c, "SELECT count(*) FROM events WHERE at < now() - interval '1 hour'"), 0);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

/* Backend pid of the writer's connection, or 0 when it has none now. */
static int writer_pid(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT pid FROM pg_stat_activity "
                            "WHERE application_name = 'wcs-event-writer' AND datname = "
                            "current_database()");
    int pid = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("pg_stat_activity: %s", PQerrorMessage(c));
    if (PQntuples(r) >= 1)
        pid = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return pid;
}

static void test_writer_survives_backend_kills(void **state)
{
    const struct wcs_event_writer_opts opts = {.batch_max = 500};
    char conninfo[512], sql[128];
    PGconn *c = make_db("wcs_events_kill", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct producer p = {.tag = 0, .count = 60000, .pace = 10};
    struct producer tail = {.tag = 1, .count = 1000};
    struct err e = {0};
    pthread_t th;
    int kill, pid, prev = 0, tries;
    (void)state;

    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    p.w = w;
    tail.w = w;
    assert_int_equal(pthread_create(&th, NULL, producer_thread, &p), 0);
    for (kill = 0; kill < 3; kill++) {
        /* Wait for the writer's (new) backend, then terminate it. */
        for (tries = 0; tries < 2000; tries++) {
            pid = writer_pid(c);
            if (pid != 0 && pid != prev)
                break;
            sleep_us(5000);
        }
        assert_true(pid != 0 && pid != prev);
        snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid);
        exec_ok(c, sql);
        prev = pid;
        sleep_us(20000);
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    /* Events after the last kill make sure the dead connection is noticed. */
    producer_thread(&tail);
    assert_int_equal(p.errors + tail.errors, 0);
    assert_int_equal(wcs_event_writer_flush(w, 90000), 0);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.pushed, 61000);
    assert_int_equal(st.written, 61000);
    assert_int_equal(st.queued, 0);
    assert_true(st.db_errors >= 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 61000);
    assert_int_equal(query_ll(c, "SELECT count(DISTINCT detail) FROM events"), 61000);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

/* Records whose ids someone else already stored are not skipped and still
 * reported durable (ACKed): they are written under new ids, and only then
 * is their ticket durable. */
static void test_writer_reissues_foreign_ids(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_dup", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev[10];
    struct err e = {0};
    uint64_t ticket = 0;
    int i;
    (void)state;

    for (i = 0; i < 10; i++)
        fill_event(&ev[i], 5000 + i, WCS_EVENT_SCAN, "writer");
    /* Someone else already stored three of these ids. */
    for (i = 0; i < 3; i++)
        snprintf(ev[i].detail, sizeof(ev[i].detail), "other");
    assert_int_equal(wcs_db_events_copy(c, ev, 3, &e), 0);
    for (i = 0; i < 3; i++)
        snprintf(ev[i].detail, sizeof(ev[i].detail), "writer");

    assert_int_equal(wcs_event_writer_start(conninfo, NULL, &w, &e), 0);
    for (i = 0; i < 10; i++)
        assert_int_equal(wcs_event_writer_push_t(w, &ev[i], &ticket), 0);
    WAIT_FOR(w, st, st.durable >= ticket, 30000);
    /* Durable means stored: all ten of ours are there, next to the three
     * foreign rows. */
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'writer'"), 10);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'other'"), 3);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'other' AND id "
                                 "BETWEEN 5000 AND 5002"),
                     3);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'writer' AND id "
                                 "BETWEEN 5003 AND 5009"),
                     7);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.pushed, 10);
    assert_int_equal(st.written, 10);
    assert_int_equal(st.reissued, 3);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.db_errors, 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 13);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

static void test_writer_resends_after_failed_commit(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_commit", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    int i;
    (void)state;

    /* A deferred trigger runs inside COMMIT: the first time, it terminates
     * its own backend, so the writer sees its COMMIT fail after sending it
     * (outcome unknown to the writer) and must re-send through the staging
     * table. A sequence counts across the aborted transaction. */
    exec_ok(c, "CREATE SEQUENCE kill_once");
    exec_ok(c, "CREATE FUNCTION kill_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN IF nextval('kill_once') = 1 THEN "
               "PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); END IF; "
               "RETURN NULL; END $$");
    exec_ok(c, "CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON events "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kill_at_commit()");

    assert_int_equal(wcs_event_writer_start(conninfo, NULL, &w, &e), 0);
    for (i = 0; i < 50; i++) {
        fill_event(&ev, 0, WCS_EVENT_DECISION, "commit");
        assert_int_equal(wcs_event_writer_push(w, &ev), 0);
    }
    assert_int_equal(wcs_event_writer_flush(w, 30000), 0);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.written, 50);
    assert_int_equal(st.reissued, 0);
    assert_int_equal(st.db_errors, 1);
    assert_true(query_ll(c, "SELECT last_value FROM kill_once") > 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 50);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

static void test_writer_queue_full(void **state)
{
    const struct wcs_event_writer_opts opts = {
        .queue_capacity = 8, .batch_max = 4};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_full", conninfo, sizeof(conninfo));
    PGconn *locker;
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    int i;
    (void)state;

    /* The writer's COPY waits behind this lock: nothing can be written. */
    locker = lock_events(conninfo);

    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    fill_event(&ev, 0, WCS_EVENT_SCAN, "q");
    for (i = 0; i < 8; i++)
        assert_int_equal(wcs_event_writer_push(w, &ev), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(wcs_event_writer_push(w, &ev), ERR_FULL);
    ev.kind = 200;
    assert_int_equal(wcs_event_writer_push(w, &ev), ERR_INVALID);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.pushed, 8);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(st.queued, 8);
    assert_int_equal(st.written, 0);
    assert_int_equal(wcs_event_writer_flush(w, 100), -ETIMEDOUT);

    exec_ok(locker, "COMMIT");
    assert_int_equal(wcs_event_writer_flush(w, 30000), 0);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.written, 8);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 8);
    /* Room again. */
    ev.kind = WCS_EVENT_SCAN;
    assert_int_equal(wcs_event_writer_push(w, &ev), 0);
    wcs_event_writer_stop(w);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 9);
    PQfinish(locker);
    PQfinish(c);
}

static void test_writer_stop_writes_queued(void **state)
{
    /* Pushed and stopped at once: stop() writes what is still queued or in
     * flight. */
    const struct wcs_event_writer_opts opts = {.batch_max = 1000};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_stop", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event ev;
    struct err e = {0};
    int i;
    (void)state;

    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    for (i = 0; i < 10; i++) {
        fill_event(&ev, 0, WCS_EVENT_OPERATOR, "stop");
        assert_int_equal(wcs_event_writer_push(w, &ev), 0);
    }
    wcs_event_writer_stop(w);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 10);
    wcs_event_writer_stop(NULL);
    PQfinish(c);
}

static void test_writer_stop_bounded_when_db_stuck(void **state)
{
    const struct wcs_event_writer_opts opts = {.drain_timeout_ms = 200};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_stuck", conninfo, sizeof(conninfo));
    PGconn *locker;
    struct wcs_event_writer *w = NULL;
    struct wcs_event ev;
    struct err e = {0};
    int i;
    (void)state;

    locker = lock_events(conninfo);
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    for (i = 0; i < 5; i++) {
        fill_event(&ev, 0, WCS_EVENT_SCAN, "stuck");
        assert_int_equal(wcs_event_writer_push(w, &ev), 0);
    }
    /* Returns although the COPY can never finish: the statement is
     * cancelled after the drain deadline and the events are given up. */
    wcs_event_writer_stop(w);
    exec_ok(locker, "ROLLBACK");
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 0);
    PQfinish(locker);
    PQfinish(c);
}

static void test_writer_start_fails_without_db(void **state)
{
    struct wcs_event_writer *w = (struct wcs_event_writer *)&w;
    struct err e = {0};
    (void)state;

    assert_int_equal(
        wcs_event_writer_start("host=/nonexistent-wcs-dir port=1 dbname=x", NULL, &w, &e), ERR_DB);
    assert_null(w);
    assert_non_null(strstr(e.msg, "connect"));
}

/* --- telegrams ------------------------------------------------------------ */

static void fill_tg(struct wcs_telegram_rec *tg, int64_t id, const char *plc, char dir,
                    const char *type, unsigned seq, const char *raw)
{
    memset(tg, 0, sizeof(*tg));
    tg->id = id;
    tg->at_us = INT64_C(1763907000000000) + id;
    snprintf(tg->plc, sizeof(tg->plc), "%s", plc);
    tg->direction = dir;
    snprintf(tg->type, sizeof(tg->type), "%s", type);
    tg->seq = seq;
    tg->raw_len = strlen(raw);
    memcpy(tg->raw, raw, tg->raw_len);
}

struct tg_list {
    struct wcs_telegram_rec got[16];
    int n;
    int stop_at; /* 0 = never */
};

static int tg_list_cb(void *arg, const struct wcs_telegram_rec *tg)
{
    struct tg_list *l = arg;

    if (l->n < 16)
        l->got[l->n] = *tg;
    l->n++;
    return l->stop_at != 0 && l->n == l->stop_at;
}

static void test_telegram_check(void **state)
{
    struct wcs_telegram_rec tg;
    struct err e = {0};
    (void)state;

    fill_tg(&tg, 1, "PLC01", 'i', "REQ_", 1, "###");
    assert_int_equal(wcs_telegram_check(&tg, 0, &e), 0);
    tg.direction = 'x';
    assert_int_equal(wcs_telegram_check(&tg, 0, &e), ERR_INVALID);
    tg.direction = 'o';
    tg.seq = 100000;
    assert_int_equal(wcs_telegram_check(&tg, 0, &e), ERR_INVALID);
    tg.seq = 99999;
    tg.raw_len = WCS_TELEGRAM_RAW_MAX + 1;
    assert_int_equal(wcs_telegram_check(&tg, 0, &e), ERR_INVALID);
    tg.raw_len = WCS_TELEGRAM_RAW_MAX;
    assert_int_equal(wcs_telegram_check(&tg, 0, &e), 0);
    tg.id = 0;
    assert_int_equal(wcs_telegram_check(&tg, 0, &e), ERR_INVALID);
    assert_int_equal(wcs_telegram_check(&tg, 1, &e), 0);
    tg.at_us = -1;
    assert_int_equal(wcs_telegram_check(&tg, 1, &e), ERR_INVALID);
}

static void test_telegram_copy_and_list(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_tg", conninfo, sizeof(conninfo));
    struct wcs_telegram_rec tg[4];
    struct tg_list l = {0};
    struct err e = {0};
    size_t inserted = 9, nforeign = 9;
    int64_t foreign[4];
    /* A tab, a backslash, a NUL and a byte that is not UTF-8. */
    static const char odd[] = {'#', '\t', '\\', '\0', (char)0xFF, 'Z'};
    (void)state;

    fill_tg(&tg[0], 10, "PLC01", 'i', "REQ_", 42, "###00160PLC01WCS0100042REQ_******");
    fill_tg(&tg[1], 11, "PLC01", 'o', "RES_", 7, "###00160WCS01PLC0100007RES_******");
    fill_tg(&tg[2], 12, "PLC02", 'i', "", 0, "");
    memcpy(tg[2].raw, odd, sizeof(odd));
    tg[2].raw_len = sizeof(odd);
    tg[2].refused = true;
    fill_tg(&tg[3], 13, "PLC01", 'i', "LIFE", 43, "###LIFE");
    assert_int_equal(wcs_db_telegrams_copy(c, tg, 3, &e), 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM telegrams"), 3);
    assert_int_equal(wcs_db_telegrams_copy(c, tg, 4, &e), ERR_CONFLICT);
    exec_ok(c, "BEGIN");
    tg[1].seq = 8; /* not the row stored under id 11 any more */
    assert_int_equal(wcs_db_telegrams_copy_idempotent(c, tg, 4, &inserted, foreign, &nforeign, &e),
                     0);
    assert_int_equal(inserted, 1);
    assert_int_equal(nforeign, 1);
    assert_int_equal(foreign[0], 11);
    tg[1].seq = 7;
    exec_ok(c, "COMMIT");

    /* All, oldest first. */
    assert_int_equal(wcs_db_telegrams_list(c, -1, NULL, 0, 0, tg_list_cb, &l, &e), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.got[0].id, 10);
    assert_int_equal(l.got[0].at_us, tg[0].at_us);
    assert_string_equal(l.got[0].plc, "PLC01");
    assert_int_equal(l.got[0].direction, 'i');
    assert_string_equal(l.got[0].type, "REQ_");
    assert_int_equal(l.got[0].seq, 42);
    assert_false(l.got[0].refused);
    assert_int_equal(l.got[0].raw_len, tg[0].raw_len);
    assert_memory_equal(l.got[0].raw, tg[0].raw, tg[0].raw_len);
    assert_int_equal(l.got[1].direction, 'o');
    /* Escapes survive; NUL and the bad byte became '?'; empty type is ''. */
    assert_true(l.got[2].refused);
    assert_string_equal(l.got[2].type, "");
    assert_int_equal(l.got[2].raw_len, sizeof(odd));
    assert_memory_equal(l.got[2].raw, "#\t\\??Z", sizeof(odd));
    /* Filters: plc, since, limit; and a callback that stops. */
    l.n = 0;
    assert_int_equal(wcs_db_telegrams_list(c, -1, "PLC01", 0, 0, tg_list_cb, &l, &e), 0);
    assert_int_equal(l.n, 3);
    l.n = 0;
    assert_int_equal(wcs_db_telegrams_list(c, -1, "PLC01", tg[1].at_us, 0, tg_list_cb, &l, &e), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.got[0].id, 11);
    l.n = 0;
    assert_int_equal(wcs_db_telegrams_list(c, -1, "", 0, 2, tg_list_cb, &l, &e), 0);
    assert_int_equal(l.n, 2);
    l.n = 0;
    l.stop_at = 1;
    assert_int_equal(wcs_db_telegrams_list(c, -1, NULL, 0, 0, tg_list_cb, &l, &e), 0);
    assert_int_equal(l.n, 1);
    /* The connection is usable after a stopped listing. */
    assert_int_equal(query_ll(c, "SELECT count(*) FROM telegrams"), 4);
    assert_int_equal(wcs_db_telegrams_list(c, -1, NULL, -1, 0, tg_list_cb, &l, &e), ERR_INVALID);
    PQfinish(c);
}

static _Atomic int durable_calls;

static void count_durable_cb(void *arg)
{
    (void)arg;
    atomic_fetch_add(&durable_calls, 1);
}

static void test_writer_tickets_and_telegrams(void **state)
{
    const struct wcs_event_writer_opts opts = {.durable_cb = count_durable_cb};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_tickets", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_telegram_rec tg;
    struct wcs_event ev;
    struct err e = {0};
    uint64_t t, last = 0;
    int i;
    (void)state;

    atomic_store(&durable_calls, 0);
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    assert_int_equal(wcs_event_writer_durable(w), 0);
    for (i = 0; i < 300; i++) {
        if (i % 3 == 0) {
            fill_tg(&tg, 0, "PLC01", i % 2 ? 'o' : 'i', "REQ_", (unsigned)i, "###00160");
            tg.at_us = 0;
            /* Longer raw texts wrap the raw ring. */
            tg.raw_len = (size_t)(i * 7) % WCS_TELEGRAM_RAW_MAX;
            memset(tg.raw, 'A' + i % 26, tg.raw_len);
            assert_int_equal(wcs_event_writer_push_telegram(w, &tg, &t), 0);
        } else {
            fill_event(&ev, 0, WCS_EVENT_SCAN, "ticket");
            assert_int_equal(wcs_event_writer_push_t(w, &ev, &t), 0);
        }
        assert_int_equal(t, last + 1);
        last = t;
    }
    tg.direction = '?';
    assert_int_equal(wcs_event_writer_push_telegram(w, &tg, &t), ERR_INVALID);
    assert_int_equal(t, last); /* untouched on failure */
    assert_int_equal(wcs_event_writer_flush(w, 30000), 0);
    assert_int_equal(wcs_event_writer_durable(w), 300);
    assert_true(atomic_load(&durable_calls) >= 1);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.pushed, 300);
    assert_int_equal(st.telegrams, 100);
    assert_int_equal(st.written, 300);
    assert_int_equal(st.durable, 300);
    assert_int_equal(st.spooled, 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM telegrams"), 100);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 200);
    /* Raw text intact: length and content. */
    assert_int_equal(query_ll(c, "SELECT count(*) FROM telegrams WHERE length(raw) = (seq * 7) % "
                                 "1024 AND raw = repeat(chr(65 + seq % 26), (seq * 7) % 1024)"),
                     100);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

/* --- outage: a private PostgreSQL stopped and started mid-run -------------- */

static void pg_ctl(const char *cmd, const char *dir)
{
    char script[512], line[1200];

    testdb_source_path("scripts/pg-test.sh", script, sizeof(script));
    snprintf(line, sizeof(line), "%s %s %s", script, cmd, dir);
    if (system(line) != 0)
        fail_msg("%s failed", line);
}

/* Creates database wcs_outage on the private cluster in dir, migrated. */
static PGconn *make_private_db(const char *dir, char *conninfo, size_t len)
{
    char admin[400];
    struct err e = {0};
    PGconn *a, *c;

    snprintf(admin, sizeof(admin), "host=%s port=5432 user=postgres dbname=postgres", dir);
    a = PQconnectdb(admin);
    if (PQstatus(a) != CONNECTION_OK)
        fail_msg("connect %s: %s", admin, PQerrorMessage(a));
    exec_ok(a, "DROP DATABASE IF EXISTS wcs_outage");
    exec_ok(a, "CREATE DATABASE wcs_outage");
    PQfinish(a);
    snprintf(conninfo, len, "host=%s port=5432 user=postgres dbname=wcs_outage", dir);
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", conninfo, PQerrorMessage(c));
    if (wcs_db_migrate(c, NULL, &e) < 0)
        fail_msg("migrate: %s", e.msg);
    return c;
}

/* Pushes events and telegrams alternately until told to stop; record i
 * carries "n=i" (event detail, telegram raw) so the test can check order
 * and completeness. */
struct mixer {
    struct wcs_event_writer *w;
    _Atomic int stop;
    _Atomic long pushed;
    long max;
    long full;
    int errors;
};

static void *mixer_thread(void *arg)
{
    struct mixer *m = arg;
    struct wcs_telegram_rec tg;
    struct wcs_event ev;
    long i;
    int rc;

    for (i = 0; i < m->max && !atomic_load(&m->stop); i++) {
        do {
            if (i % 2 == 0) {
                fill_event(&ev, 0, WCS_EVENT_DECISION, "");
                ev.at_us = 0;
                snprintf(ev.detail, sizeof(ev.detail), "n=%ld", i);
                rc = wcs_event_writer_push(m->w, &ev);
            } else {
                fill_tg(&tg, 0, "PLC01", 'i', "REQ_", (unsigned)(i % 99999), "");
                tg.at_us = 0;
                tg.raw_len = (size_t)snprintf(tg.raw, sizeof(tg.raw), "n=%ld", i);
                rc = wcs_event_writer_push_telegram(m->w, &tg, NULL);
            }
            if (rc == ERR_FULL) {
                m->full++;
                sleep_us(1000);
            }
        } while (rc == ERR_FULL && !atomic_load(&m->stop));
        if (rc != 0 && rc != ERR_FULL)
            m->errors++;
        if (rc == 0)
            atomic_store(&m->pushed, i + 1);
        sleep_us(200);
    }
    return NULL;
}

/* --- group commit --------------------------------------------------------- */

/* A lone record is committed in a batch of its own, without flush() or
 * stop(), and again after the writer went back to sleep: nothing waits for
 * a batch to fill. */
static void test_writer_lone_record_commits_at_once(void **state)
{
    const struct wcs_event_writer_opts opts = {.batch_max = 2000};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_lone", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    uint64_t ticket = 0;
    int i;
    (void)state;

    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    for (i = 1; i <= 2; i++) {
        fill_event(&ev, 0, WCS_EVENT_CONFIRM, "lone");
        assert_int_equal(wcs_event_writer_push_t(w, &ev, &ticket), 0);
        assert_int_equal(ticket, i);
        WAIT_FOR(w, st, st.durable >= ticket, 30000);
        assert_int_equal(st.written, i);
        assert_int_equal(st.batches, i);
        assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'lone'"), i);
    }
    wcs_event_writer_stop(w);
    PQfinish(c);
}

/* Records pushed while a batch is being written go into the next batch,
 * all of them together: the first record's COPY is held by a lock, 99 more
 * are pushed meanwhile, and once the lock is gone two batches store them. */
static void test_writer_groups_records_behind_a_commit(void **state)
{
    /* The lock must hold the first batch however long the test takes. */
    const struct wcs_event_writer_opts opts = {
        .batch_max = 1000, .lock_timeout_ms = 600000, .statement_timeout_ms = 600000};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_group", conninfo, sizeof(conninfo));
    PGconn *locker;
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    uint64_t ticket = 0;
    int i, tries;
    (void)state;

    locker = lock_events(conninfo);
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    fill_event(&ev, 0, WCS_EVENT_SCAN, "first");
    assert_int_equal(wcs_event_writer_push(w, &ev), 0);
    /* The writer took it at once and waits for the lock. */
    for (tries = 0; tries < 3000; tries++) {
        if (query_ll(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        "'wcs-event-writer' AND datname = current_database() AND "
                        "wait_event_type = 'Lock'") == 1)
            break;
        sleep_us(10000);
    }
    assert_true(tries < 3000);
    for (i = 0; i < 99; i++) {
        fill_event(&ev, 0, WCS_EVENT_SCAN, "behind");
        assert_int_equal(wcs_event_writer_push_t(w, &ev, &ticket), 0);
    }
    exec_ok(locker, "ROLLBACK");
    WAIT_FOR(w, st, st.durable >= ticket, 30000);
    assert_int_equal(ticket, 100);
    assert_int_equal(st.written, 100);
    assert_int_equal(st.batches, 2);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 100);
    wcs_event_writer_stop(w);
    PQfinish(locker);
    PQfinish(c);
}

static long long file_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    long long n;

    if (f == NULL)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

/* Every record 0..n-1 is in the database exactly once, and ids rise in push
 * order. */
static void check_all_records(PGconn *c, long n)
{
    static const char all[] =
        "(SELECT id, substring(detail FROM 3)::bigint AS n FROM events WHERE detail LIKE 'n=%' "
        " UNION ALL SELECT id, substring(raw FROM 3)::bigint FROM telegrams) r";
    char sql[600];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", all);
    assert_int_equal(query_ll(c, sql), n);
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT n) FROM %s", all);
    assert_int_equal(query_ll(c, sql), n);
    snprintf(sql, sizeof(sql), "SELECT coalesce(max(n), -1) FROM %s", all);
    assert_int_equal(query_ll(c, sql), n - 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM (SELECT n, lag(n) OVER (ORDER BY id) AS prev FROM %s) o "
             "WHERE prev >= n",
             all);
    assert_int_equal(query_ll(c, sql), 0);
}

static void test_writer_outage_spools_and_drains(void **state)
{
    struct tmp_spool sp;
    char dir[128], conninfo[512];
    struct wcs_event_writer_opts opts = {
        .batch_max = 200, .durable_cb = count_durable_cb};
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct mixer m = {.max = 400000};
    struct err e = {0};
    uint64_t d0, d1;
    int calls0;
    pthread_t th;
    PGconn *c;
    (void)state;

    snprintf(dir, sizeof(dir), "/tmp/wcs-test-outage-%d", (int)getpid());
    tmp_spool_make(&sp);
    pg_ctl("start", dir);
    c = make_private_db(dir, conninfo, sizeof(conninfo));
    PQfinish(c);

    opts.spool_path = sp.path;
    atomic_store(&durable_calls, 0);
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    m.w = w;
    assert_int_equal(pthread_create(&th, NULL, mixer_thread, &m), 0);

    WAIT_FOR(w, st, st.written >= 2000, 60000);
    pg_ctl("stop", dir);
    /* The database is gone: durability goes on through the spool. */
    wcs_event_writer_stats(w, &st);
    d0 = st.durable;
    calls0 = atomic_load(&durable_calls);
    WAIT_FOR(w, st, st.durable >= d0 + 3000 && st.spooled >= 2000, 60000);
    assert_true(st.spool_records > 0);
    assert_true(st.spool_bytes > 0);
    assert_true(file_bytes(sp.path) > 0);
    assert_true(st.db_errors >= 1);
    assert_false(st.spool_alarm);
    assert_true(atomic_load(&durable_calls) > calls0);
    assert_int_equal(wcs_event_writer_flush(w, 50), -ETIMEDOUT);

    pg_ctl("start", dir);
    d1 = st.durable;
    WAIT_FOR(w, st, st.durable >= d1 + 2000 && st.drained > 0, 60000);
    atomic_store(&m.stop, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(m.errors, 0);
    assert_int_equal(wcs_event_writer_flush(w, 120000), 0);

    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.pushed, (uint64_t)atomic_load(&m.pushed));
    assert_int_equal(st.written, st.pushed);
    assert_int_equal(st.reissued, 0);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.durable, st.pushed);
    assert_int_equal(st.spool_records, 0);
    assert_int_equal(st.spool_bytes, 0);
    assert_int_equal(st.drained, st.spooled);
    assert_int_equal(st.recovered, 0);
    assert_int_equal(st.pushed + st.recovered,
                     st.written + st.queued + st.spool_records + st.spool_bad + st.spool_lost);
    assert_int_equal(file_bytes(sp.path), 0);
    wcs_event_writer_stop(w);

    c = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    check_all_records(c, atomic_load(&m.pushed));
    PQfinish(c);
    pg_ctl("stop", dir);
    snprintf(conninfo, sizeof(conninfo), "rm -rf %s %s", dir, sp.dir);
    assert_int_equal(system(conninfo), 0);
}

/* --- kill -9 with records in the spool, then restart -------------------- */

static void test_writer_kill9_then_restart(void **state)
{
    struct tmp_spool sp;
    char conninfo[512], line[64];
    struct wcs_event_writer_opts opts = {.batch_max = 100};
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct err e = {0};
    long acked = 0, v;
    int fds[2], status;
    pid_t pid;
    FILE *f;
    PGconn *c = make_db("wcs_events_kill9", conninfo, sizeof(conninfo));
    (void)state;

    tmp_spool_make(&sp);
    opts.spool_path = sp.path;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child: the database is unreachable, everything is spooled.
         * It reports every durable ticket it sees ("ACKs") and never
         * stops on its own. */
        struct mixer m = {.max = 10000000};
        uint64_t last = 0, d;
        pthread_t th;

        close(fds[0]);
        if (wcs_event_writer_start(DB_DOWN, &opts, &w, &e) < 0)
            _exit(3);
        m.w = w;
        if (pthread_create(&th, NULL, mixer_thread, &m) != 0)
            _exit(4);
        for (;;) {
            d = wcs_event_writer_durable(w);
            if (d != last) {
                snprintf(line, sizeof(line), "%llu\n", (unsigned long long)d);
                if (write(fds[1], line, strlen(line)) < 0)
                    _exit(5);
                last = d;
            }
            sleep_us(1000);
        }
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    assert_non_null(f);
    /* Kill it while it pushes, once it has made 3000 records durable. */
    while (acked < 3000 && fgets(line, sizeof(line), f) != NULL) {
        v = atol(line);
        assert_true(v >= acked);
        acked = v;
    }
    assert_true(acked >= 3000);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    /* Tickets reported before the kill but not read yet are still ACKs. */
    while (fgets(line, sizeof(line), f) != NULL)
        acked = atol(line) > acked ? atol(line) : acked;
    fclose(f);
    assert_true(file_bytes(sp.path) > 0);

    /* Restart with the database up: the spool is drained first. */
    opts.spool_path = sp.path;
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    WAIT_FOR(w, st, st.spool_records == 0, 60000);
    assert_true(st.recovered >= (uint64_t)acked);
    assert_int_equal(st.written, st.recovered);
    assert_int_equal(st.spool_bad, 0);
    assert_int_equal(file_bytes(sp.path), 0);
    wcs_event_writer_stop(w);
    /* Every ACKed record (tickets 1..acked = records n=0..acked-1) is
     * there, and nothing twice. */
    snprintf(line, sizeof(line), "%ld", acked);
    {
        char sql[600];

        snprintf(sql, sizeof(sql),
                 "SELECT count(DISTINCT n) FROM (SELECT substring(detail FROM 3)::bigint AS n "
                 "FROM events UNION ALL SELECT substring(raw FROM 3)::bigint FROM telegrams) r "
                 "WHERE n < %ld",
                 acked);
        assert_int_equal(query_ll(c, sql), acked);
    }
    assert_int_equal(query_ll(c, "SELECT (SELECT count(*) FROM events) + "
                                 "(SELECT count(*) FROM telegrams)"),
                     (long long)st.recovered);
    tmp_spool_remove(&sp);
    PQfinish(c);
}

/* A spool that is full refuses records: they stay queued, pushes end in
 * ERR_FULL (counted), and nothing is lost once the database is back. */
static void test_writer_spool_full(void **state)
{
    struct tmp_spool sp;
    char conninfo[512];
    struct wcs_event_writer_opts opts = {
        .queue_capacity = 64, .batch_max = 8, .spool_max_bytes = 20000};
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    int i, full = 0, early = 0, ok = 0;
    PGconn *c = make_db("wcs_events_spoolfull", conninfo, sizeof(conninfo));
    (void)state;

    tmp_spool_make(&sp);
    opts.spool_path = sp.path;
    /* Database down: about 20000 / (12 + 44) = 357 events fit in the spool,
     * then 64 more in the queue. A queue full before the spool is (the
     * store thread fsyncing behind a fast producer) does not count. */
    assert_int_equal(wcs_event_writer_start(DB_DOWN, &opts, &w, &e), 0);
    for (i = 0; i < 100000 && full < 50; i++) {
        fill_event(&ev, 0, WCS_EVENT_SCAN, "");
        snprintf(ev.detail, sizeof(ev.detail), "n=%d", ok);
        if (wcs_event_writer_push(w, &ev) == ERR_FULL) {
            wcs_event_writer_stats(w, &st);
            if (st.spool_errors > 0)
                full++;
            else
                early++;
            sleep_us(2000);
        } else {
            ok++;
        }
    }
    assert_int_equal(full, 50);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.dropped, (uint64_t)(50 + early));
    assert_true(st.spool_alarm);
    assert_true(st.spool_refused > 0);
    assert_true(st.spool_errors > 0);
    assert_true(st.spool_bytes > 16000 && st.spool_bytes <= 20000);
    assert_int_equal(st.queued, 64);
    assert_int_equal(st.durable, (uint64_t)ok - 64);
    wcs_event_writer_stop(w);
    /* The 64 only queued were lost with the stop (neither the database nor
     * the spool took them: logged); restarted against a database that is
     * up, every spooled (durable) record arrives. */
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    WAIT_FOR(w, st, st.spool_records == 0, 60000);
    assert_int_equal(st.written, (uint64_t)ok - 64);
    wcs_event_writer_stop(w);
    check_all_records(c, ok - 64);
    tmp_spool_remove(&sp);
    PQfinish(c);
}

/* --- no silent loss: ids ---------------------------------------------------- */

static void test_ids_carry_node_and_floor(void **state)
{
    struct timespec ts;
    int64_t a, b, c, future, now_ms;
    (void)state;

    a = wcs_event_id_next_node(7);
    b = wcs_event_id_next_node(200);
    c = wcs_event_id_next();
    assert_int_equal(wcs_event_id_node(a), 7);
    assert_int_equal(wcs_event_id_node(b), 200);
    assert_int_equal(wcs_event_id_node(c), 0);
    assert_true(a < b && b < c);
    assert_true(wcs_event_id_last_ms() >= wcs_event_id_ms(c));
    /* The floor lifts every later id above it, of any node. */
    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    future = ((now_ms + 5000) << 20) | (4095 << 8) | 255;
    wcs_event_id_floor(future);
    a = wcs_event_id_next_node(3);
    assert_true(a > future);
    assert_true(wcs_event_id_ms(a) > now_ms + 5000);
    assert_int_equal(wcs_event_id_node(a), 3);
    wcs_event_id_floor(0); /* ignored */
    assert_true(wcs_event_id_next_node(3) > a);
}

/* Two writers (two wcsd) on one database push at the same moment: with
 * node numbers of their own, no id is shared, nothing is reissued, all is
 * stored. */
static void test_two_writers_one_database(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_nodes", conninfo, sizeof(conninfo));
    int go[2], ready[2], k, status;
    pid_t pid[2];
    char b;
    (void)state;

    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    for (k = 0; k < 2; k++) {
        pid[k] = fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0) {
            const struct wcs_event_writer_opts opts = {.batch_max = 500,
                                                       .node_id = (unsigned)k + 1};
            struct wcs_event_writer *w = NULL;
            struct wcs_event_writer_stats st;
            struct wcs_event ev;
            struct err e = {0};
            int i, rc;

            close(go[1]);
            close(ready[0]);
            if (wcs_event_writer_start(conninfo, &opts, &w, &e) < 0)
                _exit(3);
            /* Both ready, then both push flat out at once. */
            if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 0)
                _exit(4);
            for (i = 0; i < 20000; i++) {
                fill_event(&ev, 0, WCS_EVENT_SCAN, "");
                ev.at_us = 0;
                snprintf(ev.detail, sizeof(ev.detail), "w%d n=%d", k + 1, i);
                while ((rc = wcs_event_writer_push(w, &ev)) == ERR_FULL)
                    sleep_us(500);
                if (rc < 0)
                    _exit(5);
            }
            if (wcs_event_writer_flush(w, 120000) < 0)
                _exit(6);
            wcs_event_writer_stats(w, &st);
            wcs_event_writer_stop(w);
            _exit(st.written == 20000 && st.reissued == 0 && st.db_errors == 0 ? 0 : 7);
        }
    }
    close(go[0]);
    close(ready[1]);
    for (k = 0; k < 2; k++)
        assert_int_equal(read(ready[0], &b, 1), 1);
    close(go[1]); /* go */
    for (k = 0; k < 2; k++) {
        assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    close(ready[0]);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 40000);
    assert_int_equal(query_ll(c, "SELECT count(DISTINCT detail) FROM events"), 40000);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE id & 255 = "
                                 "substring(detail FROM 2 FOR 1)::int"),
                     40000);
    PQfinish(c);
}

/* A restart after the clock was stepped back: an earlier run (or a node
 * whose clock ran ahead) stored ids of the next 20 s, one per millisecond,
 * exactly those this node's generator hands out at a fresh millisecond. The
 * writer starts above the database's largest id, so nothing collides. */
static void test_restart_with_clock_behind_database(void **state)
{
    char conninfo[512], sql[400];
    PGconn *c = make_db("wcs_events_clockback", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct timespec ts;
    struct err e = {0};
    uint64_t ticket = 0;
    long long now_ms;
    int i;
    (void)state;

    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    snprintf(sql, sizeof(sql),
             "INSERT INTO events (id, at, kind, detail) SELECT m << 20, now(), 'system', "
             "'earlier run' FROM generate_series(%lld::bigint, %lld::bigint) m",
             now_ms, now_ms + 19999);
    exec_ok(c, sql);
    assert_int_equal(wcs_event_writer_start(conninfo, NULL, &w, &e), 0);
    for (i = 0; i < 100; i++) {
        fill_event(&ev, 0, WCS_EVENT_SCAN, "this run");
        assert_int_equal(wcs_event_writer_push_t(w, &ev, &ticket), 0);
        sleep_us(1500); /* a fresh millisecond for the next id */
    }
    WAIT_FOR(w, st, st.durable >= ticket, 30000);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'this run'"), 100);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'earlier run'"),
                     20000);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.reissued, 0);
    assert_int_equal(st.db_errors, 0);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

/* The id reservation next to the spool: written ahead of every id made
 * durable, and a new run (here with the database down, so its largest id
 * cannot help) starts its ids above it, whatever the clock says. */
static void test_id_reservation_across_restarts(void **state)
{
    struct tmp_spool sp;
    char ids[220], conninfo[512], sql[200];
    struct wcs_event_writer_opts opts = {.batch_max = 100};
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_idfile *f = NULL;
    struct wcs_event ev;
    struct timespec ts;
    struct err e = {0};
    int64_t r1 = 0, r2 = 0;
    long long now_ms;
    uint64_t ticket = 0;
    int run, i;
    PGconn *c = make_db("wcs_events_reserve", conninfo, sizeof(conninfo));
    (void)state;

    tmp_spool_make(&sp);
    snprintf(ids, sizeof(ids), "%s.ids", sp.path);
    opts.spool_path = sp.path;
    for (run = 1; run <= 2; run++) {
        assert_int_equal(wcs_event_writer_start(DB_DOWN, &opts, &w, &e), 0);
        for (i = 0; i < 10; i++) {
            fill_event(&ev, 0, WCS_EVENT_SCAN, run == 1 ? "run1" : "run2");
            assert_int_equal(wcs_event_writer_push_t(w, &ev, &ticket), 0);
        }
        WAIT_FOR(w, st, st.durable >= ticket, 30000);
        wcs_event_writer_stop(w);
        assert_int_equal(wcs_idfile_open(ids, &f, run == 1 ? &r1 : &r2, &e), 0);
        wcs_idfile_close(f);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    /* Reserved ahead of the clock, and moved on by the second run. */
    assert_true(r1 > now_ms + 20000);
    assert_true(r2 > r1);
    /* Drained with the database up: the first run's ids are below its
     * reservation, the second run's above it. */
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    WAIT_FOR(w, st, st.spool_records == 0, 60000);
    wcs_event_writer_stop(w);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 20);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM events WHERE detail = 'run1' AND id >> 20 < %lld",
             (long long)r1);
    assert_int_equal(query_ll(c, sql), 10);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM events WHERE detail = 'run2' AND id >> 20 >= %lld",
             (long long)r1);
    assert_int_equal(query_ll(c, sql), 10);
    tmp_spool_remove(&sp);
    PQfinish(c);
}

/* A record spooled while the database was down whose id a foreign row took
 * meanwhile: the drain writes it under a new id instead of counting the
 * foreign row as its own. */
static void test_drain_reissues_foreign_ids(void **state)
{
    struct tmp_spool sp;
    char conninfo[512];
    struct wcs_event_writer_opts opts = {.batch_max = 100};
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev[5];
    struct err e = {0};
    uint64_t ticket = 0;
    int i;
    PGconn *c = make_db("wcs_events_drainfor", conninfo, sizeof(conninfo));
    (void)state;

    tmp_spool_make(&sp);
    opts.spool_path = sp.path;
    assert_int_equal(wcs_event_writer_start(DB_DOWN, &opts, &w, &e), 0);
    for (i = 0; i < 5; i++) {
        fill_event(&ev[i], 7000 + i, WCS_EVENT_DECISION, "spooled");
        assert_int_equal(wcs_event_writer_push_t(w, &ev[i], &ticket), 0);
    }
    WAIT_FOR(w, st, st.durable >= ticket, 30000);
    wcs_event_writer_stop(w);
    for (i = 0; i < 2; i++)
        snprintf(ev[i].detail, sizeof(ev[i].detail), "other");
    assert_int_equal(wcs_db_events_copy(c, ev, 2, &e), 0);

    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    WAIT_FOR(w, st, st.spool_records == 0, 60000);
    assert_int_equal(st.recovered, 5);
    assert_int_equal(st.drained, 5);
    assert_int_equal(st.reissued, 2);
    wcs_event_writer_stop(w);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'spooled'"), 5);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'other'"), 2);
    tmp_spool_remove(&sp);
    PQfinish(c);
}

/* --- no silent loss: groups ------------------------------------------------- */

static void group_of(struct wcs_telegram_rec *tg, struct wcs_event *ev, int n, const char *tag,
                     struct wcs_record *recs)
{
    int i;

    fill_tg(tg, 0, "PLC01", 'i', "UPD_", 1, "");
    tg->at_us = 0;
    tg->raw_len = (size_t)snprintf(tg->raw, sizeof(tg->raw), "%s", tag);
    recs[0] = (struct wcs_record){.tg = tg};
    for (i = 0; i < n; i++) {
        fill_event(&ev[i], 0, WCS_EVENT_CONFIRM, "");
        snprintf(ev[i].detail, sizeof(ev[i].detail), "%s %c", tag, 'a' + i);
        recs[1 + i] = (struct wcs_record){.ev = &ev[i]};
    }
}

/* A group (a telegram and its events) is committed in one transaction even
 * with batch_max 1, and while one of its rows cannot be stored, none of
 * them is: never the telegram without its event. */
static void test_writer_group_all_or_nothing_in_db(void **state)
{
    const struct wcs_event_writer_opts opts = {.batch_max = 1};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_groupdb", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_telegram_rec tg;
    struct wcs_event ev[2];
    struct wcs_record recs[3];
    struct err e = {0};
    uint64_t t1 = 0, t2 = 0, t = 0;
    (void)state;

    exec_ok(c, "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "IF NEW.detail = 'g2 b' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; "
               "END $$");
    exec_ok(c, "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION "
               "poison()");
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    /* Refused whole: nothing queued, no ticket. */
    assert_int_equal(wcs_event_writer_push_group(w, recs, 0, &t), ERR_INVALID);
    group_of(&tg, ev, 2, "g0", recs);
    recs[1].tg = &tg;
    assert_int_equal(wcs_event_writer_push_group(w, recs, 3, &t), ERR_INVALID);
    group_of(&tg, ev, 2, "g0", recs);
    ev[1].kind = 200;
    assert_int_equal(wcs_event_writer_push_group(w, recs, 3, &t), ERR_INVALID);
    assert_int_equal(t, 0);

    group_of(&tg, ev, 2, "g1", recs);
    assert_int_equal(wcs_event_writer_push_group(w, recs, 3, &t1), 0);
    assert_int_equal(t1, 3);
    group_of(&tg, ev, 2, "g2", recs);
    assert_int_equal(wcs_event_writer_push_group(w, recs, 3, &t2), 0);
    assert_int_equal(t2, 6);
    WAIT_FOR(w, st, st.durable >= t1 && st.db_errors >= 2, 30000);
    assert_int_equal(st.durable, t1);
    assert_int_equal(st.groups, 2);
    /* The first group: one transaction. The second: not a row of it. */
    assert_int_equal(query_ll(c, "SELECT count(DISTINCT x) FROM (SELECT xmin::text AS x FROM "
                                 "telegrams WHERE raw = 'g1' UNION ALL SELECT xmin::text FROM "
                                 "events WHERE detail LIKE 'g1 %') u"),
                     1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail LIKE 'g1 %'"), 2);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM telegrams WHERE raw = 'g2'"), 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail LIKE 'g2 %'"), 0);

    exec_ok(c, "DROP TRIGGER poison ON events");
    WAIT_FOR(w, st, st.durable >= t2, 30000);
    assert_int_equal(query_ll(c, "SELECT count(DISTINCT x) FROM (SELECT xmin::text AS x FROM "
                                 "telegrams WHERE raw = 'g2' UNION ALL SELECT xmin::text FROM "
                                 "events WHERE detail LIKE 'g2 %') u"),
                     1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail LIKE 'g2 %'"), 2);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.written, 6);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

/* Offsets of the frames of a spool file (magic, length, CRC, payload). */
static int spool_frames(const char *path, long *off, int max)
{
    FILE *f = fopen(path, "rb");
    unsigned char h[12];
    long pos = 0;
    int n = 0;

    assert_non_null(f);
    while (n < max && fread(h, 1, 12, f) == 12) {
        long len = h[4] | h[5] << 8 | h[6] << 16 | (long)h[7] << 24;

        assert_memory_equal(h, "WSF1", 4);
        off[n++] = pos;
        pos += 12 + len;
        assert_int_equal(fseek(f, pos, SEEK_SET), 0);
    }
    fclose(f);
    return n;
}

/* Groups are spooled one frame each: a torn last append and a frame damaged
 * in the middle each lose one whole group, never part of one, and every
 * other group (after the damage too) reaches the database whole. */
static void test_writer_group_all_or_nothing_in_spool(void **state)
{
    struct tmp_spool sp;
    char conninfo[512], sql[300];
    struct wcs_event_writer_opts opts = {.batch_max = 7};
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_telegram_rec tg;
    struct wcs_event ev[2];
    struct wcs_record recs[3];
    struct err e = {0};
    uint64_t t = 0;
    long off[32];
    unsigned char byte;
    char tag[8];
    int i, fd, n;
    PGconn *c = make_db("wcs_events_groupsp", conninfo, sizeof(conninfo));
    (void)state;

    tmp_spool_make(&sp);
    opts.spool_path = sp.path;
    assert_int_equal(wcs_event_writer_start(DB_DOWN, &opts, &w, &e), 0);
    for (i = 0; i < 20; i++) {
        snprintf(tag, sizeof(tag), "g%02d", i);
        group_of(&tg, ev, 2, tag, recs);
        assert_int_equal(wcs_event_writer_push_group(w, recs, 3, &t), 0);
    }
    WAIT_FOR(w, st, st.durable >= t, 30000);
    assert_int_equal(st.spooled, 60);
    assert_int_equal(st.spool_records, 60);
    wcs_event_writer_stop(w);

    /* One frame per group. Damage the 6th in the middle, tear the last. */
    n = spool_frames(sp.path, off, 32);
    assert_int_equal(n, 20);
    fd = open(sp.path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &byte, 1, off[5] + 30), 1);
    byte ^= 0x01;
    assert_int_equal(pwrite(fd, &byte, 1, off[5] + 30), 1);
    assert_int_equal(ftruncate(fd, off[19] + 40), 0);
    close(fd);

    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    WAIT_FOR(w, st, st.spool_records == 0, 60000);
    assert_int_equal(st.recovered, 18 * 3);
    assert_int_equal(st.drained, 18 * 3);
    assert_true(st.spool_bad_bytes > 0);
    wcs_event_writer_stop(w);
    for (i = 0; i < 20; i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT (SELECT count(*) FROM telegrams WHERE raw = 'g%02d') + (SELECT "
                 "count(*) FROM events WHERE detail LIKE 'g%02d %%')",
                 i, i);
        assert_int_equal(query_ll(c, sql), i == 5 || i == 19 ? 0 : 3);
    }
    tmp_spool_remove(&sp);
    PQfinish(c);
}

/* --- no silent loss: bounded database calls ------------------------------- */

/* LOCK TABLE events in another session (a maintenance job, a migration)
 * used to hold the store thread in COPY for good: no spool, no ACK_. Now
 * the lock wait is bounded, the attempt fails like an outage, the records
 * are spooled (durable: ACK_s go on), and drained once the lock is gone. */
static void test_writer_lock_is_an_outage(void **state)
{
    struct tmp_spool sp;
    char conninfo[512];
    struct wcs_event_writer_opts opts = {.batch_max = 100};
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    uint64_t ticket = 0;
    PGconn *locker;
    int i;
    PGconn *c = make_db("wcs_events_locked", conninfo, sizeof(conninfo));
    (void)state;

    tmp_spool_make(&sp);
    opts.spool_path = sp.path;
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    fill_event(&ev, 0, WCS_EVENT_SCAN, "before");
    assert_int_equal(wcs_event_writer_push_t(w, &ev, &ticket), 0);
    WAIT_FOR(w, st, st.written >= 1, 30000);

    locker = lock_events(conninfo);
    for (i = 0; i < 10; i++) {
        fill_event(&ev, 0, WCS_EVENT_CONFIRM, "behind the lock");
        assert_int_equal(wcs_event_writer_push_t(w, &ev, &ticket), 0);
    }
    WAIT_FOR(w, st, st.durable >= ticket, 60000);
    assert_int_equal(st.written, 1);
    assert_true(st.spooled >= 10);
    assert_true(st.db_errors >= 1);
    assert_int_equal(wcs_event_writer_flush(w, 50), -ETIMEDOUT);

    exec_ok(locker, "ROLLBACK");
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.written, 11);
    assert_int_equal(st.spool_records, 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'behind the lock'"),
                     10);
    wcs_event_writer_stop(w);
    PQfinish(locker);
    tmp_spool_remove(&sp);
    PQfinish(c);
}

/* Without a spool the records wait in memory, but the thread is not stuck:
 * each attempt behind the lock fails in bounded time and is retried. */
static void test_writer_lock_wait_is_bounded(void **state)
{
    const struct wcs_event_writer_opts opts = {.lock_timeout_ms = 100};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_lockwait", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    PGconn *locker;
    (void)state;

    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    locker = lock_events(conninfo);
    fill_event(&ev, 0, WCS_EVENT_SCAN, "waits");
    assert_int_equal(wcs_event_writer_push(w, &ev), 0);
    WAIT_FOR(w, st, st.db_errors >= 3, 60000);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.queued, 1);
    exec_ok(locker, "ROLLBACK");
    assert_int_equal(wcs_event_writer_flush(w, 60000), 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'waits'"), 1);
    wcs_event_writer_stop(w);
    PQfinish(locker);
    PQfinish(c);
}

/* Every connection the store makes has TCP keepalives and a
 * tcp_user_timeout (a silently dropped link fails instead of hanging), and
 * the conninfo may override them. */
static void test_connections_have_keepalives(void **state)
{
    char conninfo[512], over[600];
    PGconn *c = make_db("wcs_events_keepalive", conninfo, sizeof(conninfo)), *d = NULL;
    PQconninfoOption *o, *opt;
    struct err e = {0};
    int seen = 0;
    (void)state;

    assert_int_equal(wcs_db_connect(conninfo, &d, &e), 0);
    o = PQconninfo(d);
    for (opt = o; opt->keyword != NULL; opt++) {
        if (opt->val == NULL)
            continue;
        if (strcmp(opt->keyword, "keepalives") == 0 && strcmp(opt->val, "1") == 0)
            seen |= 1;
        if (strcmp(opt->keyword, "keepalives_idle") == 0 && atoi(opt->val) > 0)
            seen |= 2;
        if (strcmp(opt->keyword, "tcp_user_timeout") == 0 && atoi(opt->val) > 0)
            seen |= 4;
    }
    PQconninfoFree(o);
    PQfinish(d);
    assert_int_equal(seen, 7);
    snprintf(over, sizeof(over), "%s keepalives_idle=42", conninfo);
    assert_int_equal(wcs_db_connect(over, &d, &e), 0);
    o = PQconninfo(d);
    for (opt = o; opt->keyword != NULL; opt++)
        if (strcmp(opt->keyword, "keepalives_idle") == 0)
            assert_string_equal(opt->val, "42");
    PQconninfoFree(o);
    PQfinish(d);
    PQfinish(c);
}

/* --- one writer per spool ---------------------------------------------------- */

static void test_second_writer_on_spool_refused(void **state)
{
    struct tmp_spool sp;
    char conninfo[512];
    struct wcs_event_writer_opts opts = {0};
    struct wcs_event_writer *w = NULL, *w2 = NULL;
    struct err e = {0};
    PGconn *c = make_db("wcs_events_twospool", conninfo, sizeof(conninfo));
    (void)state;

    tmp_spool_make(&sp);
    opts.spool_path = sp.path;
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w, &e), 0);
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w2, &e), -EBUSY);
    assert_null(w2);
    assert_non_null(strstr(e.msg, sp.path));
    assert_non_null(strstr(e.msg, "in use by another process"));
    wcs_event_writer_stop(w);
    assert_int_equal(wcs_event_writer_start(conninfo, &opts, &w2, &e), 0);
    wcs_event_writer_stop(w2);
    tmp_spool_remove(&sp);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_ids_increasing_across_threads),
        cmocka_unit_test(test_copy_roundtrip),
        cmocka_unit_test(test_copy_conflict_and_idempotent),
        cmocka_unit_test(test_day_partitions_and_retention),
        cmocka_unit_test(test_writer_100k_two_threads),
        cmocka_unit_test(test_writer_survives_backend_kills),
        cmocka_unit_test(test_writer_reissues_foreign_ids),
        cmocka_unit_test(test_writer_resends_after_failed_commit),
        cmocka_unit_test(test_writer_queue_full),
        cmocka_unit_test(test_writer_stop_writes_queued),
        cmocka_unit_test(test_writer_lone_record_commits_at_once),
        cmocka_unit_test(test_writer_groups_records_behind_a_commit),
        cmocka_unit_test(test_writer_stop_bounded_when_db_stuck),
        cmocka_unit_test(test_writer_start_fails_without_db),
        cmocka_unit_test(test_telegram_check),
        cmocka_unit_test(test_telegram_copy_and_list),
        cmocka_unit_test(test_writer_tickets_and_telegrams),
        cmocka_unit_test(test_writer_spool_full),
        cmocka_unit_test(test_writer_kill9_then_restart),
        cmocka_unit_test(test_writer_outage_spools_and_drains),
        cmocka_unit_test(test_ids_carry_node_and_floor),
        cmocka_unit_test(test_two_writers_one_database),
        cmocka_unit_test(test_restart_with_clock_behind_database),
        cmocka_unit_test(test_id_reservation_across_restarts),
        cmocka_unit_test(test_drain_reissues_foreign_ids),
        cmocka_unit_test(test_writer_group_all_or_nothing_in_db),
        cmocka_unit_test(test_writer_group_all_or_nothing_in_spool),
        cmocka_unit_test(test_writer_lock_is_an_outage),
        cmocka_unit_test(test_writer_lock_wait_is_bounded),
        cmocka_unit_test(test_connections_have_keepalives),
        cmocka_unit_test(test_second_writer_on_spool_refused),
    };

    log_init("test-events", LOG_LEVEL_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-events.c - the event log: kind names, ids, the COPY encoding (round
 * trip through a real PostgreSQL), the idempotent re-send, and the batching
 * writer under load, backend kills, a full queue, a blocked table and stop.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "tests/common/testdb.h"
#include "wcs/events.h"
#include "wcs/store.h"

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

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};

    nanosleep(&t, NULL);
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
    size_t inserted = 99;
    int i;
    (void)state;

    for (i = 0; i < 5; i++)
        fill_event(&ev[i], 1000 + i, WCS_EVENT_SCAN, "first");
    assert_int_equal(wcs_db_events_copy(c, ev, 3, &e), 0);
    /* The same ids again: a unique violation, nothing of the COPY stored. */
    assert_int_equal(wcs_db_events_copy(c, ev, 5, &e), ERR_CONFLICT);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 3);

    /* The staging path needs an open transaction. */
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 5, &inserted, &e), ERR_STATE);

    exec_ok(c, "BEGIN");
    snprintf(ev[0].detail, sizeof(ev[0].detail), "second");
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 5, &inserted, &e), 0);
    assert_int_equal(inserted, 2);
    /* A second call in the same transaction sees only its own rows. */
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 5, &inserted, &e), 0);
    assert_int_equal(inserted, 0);
    exec_ok(c, "COMMIT");
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 5);
    /* Skipped means untouched: the stored row keeps its first text. */
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'second'"), 0);

    /* Works again in a later transaction (the staging table persists). */
    exec_ok(c, "BEGIN");
    fill_event(&ev[0], 2000, WCS_EVENT_SCAN, "third");
    assert_int_equal(wcs_db_events_copy_idempotent(c, ev, 1, &inserted, &e), 0);
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
    assert_int_equal(st.duplicates, 0);
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
    const struct wcs_event_writer_opts opts = {.batch_max = 500, .flush_interval_ms = 5};
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

static void test_writer_skips_foreign_duplicates(void **state)
{
    char conninfo[512];
    PGconn *c = make_db("wcs_events_dup", conninfo, sizeof(conninfo));
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev[10];
    struct err e = {0};
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
        assert_int_equal(wcs_event_writer_push(w, &ev[i]), 0);
    assert_int_equal(wcs_event_writer_flush(w, 30000), 0);
    wcs_event_writer_stats(w, &st);
    assert_int_equal(st.pushed, 10);
    assert_int_equal(st.written, 7);
    assert_int_equal(st.duplicates, 3);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.db_errors, 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 10);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events WHERE detail = 'other'"), 3);
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
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(st.db_errors, 1);
    assert_true(query_ll(c, "SELECT last_value FROM kill_once") > 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM events"), 50);
    wcs_event_writer_stop(w);
    PQfinish(c);
}

static void test_writer_queue_full(void **state)
{
    const struct wcs_event_writer_opts opts = {
        .queue_capacity = 8, .batch_max = 4, .flush_interval_ms = 1};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_full", conninfo, sizeof(conninfo));
    PGconn *locker;
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event ev;
    struct err e = {0};
    int i;
    (void)state;

    locker = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    /* The writer's COPY waits behind this lock: nothing can be written. */
    exec_ok(locker, "BEGIN");
    exec_ok(locker, "LOCK TABLE events IN ACCESS EXCLUSIVE MODE");

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
    /* A long fill interval: only stop() can make the writer send now. */
    const struct wcs_event_writer_opts opts = {.batch_max = 1000, .flush_interval_ms = 600000};
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
    const struct wcs_event_writer_opts opts = {.drain_timeout_ms = 200, .flush_interval_ms = 1};
    char conninfo[512];
    PGconn *c = make_db("wcs_events_stuck", conninfo, sizeof(conninfo));
    PGconn *locker;
    struct wcs_event_writer *w = NULL;
    struct wcs_event ev;
    struct err e = {0};
    int i;
    (void)state;

    locker = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    exec_ok(locker, "BEGIN");
    exec_ok(locker, "LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_ids_increasing_across_threads),
        cmocka_unit_test(test_copy_roundtrip),
        cmocka_unit_test(test_copy_conflict_and_idempotent),
        cmocka_unit_test(test_writer_100k_two_threads),
        cmocka_unit_test(test_writer_survives_backend_kills),
        cmocka_unit_test(test_writer_skips_foreign_duplicates),
        cmocka_unit_test(test_writer_resends_after_failed_commit),
        cmocka_unit_test(test_writer_queue_full),
        cmocka_unit_test(test_writer_stop_writes_queued),
        cmocka_unit_test(test_writer_stop_bounded_when_db_stuck),
        cmocka_unit_test(test_writer_start_fails_without_db),
    };

    log_init("test-events", LOG_LEVEL_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

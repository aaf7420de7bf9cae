/*
 * bench-events.c - throughput of the event writer against the raw COPY it
 * is built on, measured in the same run on the same database.
 *
 *   bench-events [CONNINFO [N [BATCH_MAX]]]
 *
 * CONNINFO defaults to $WCS_BENCH_PG. Phases, each on an emptied `events`:
 *   raw     BEGIN; COPY events; COMMIT per BATCH_MAX rows (the floor cost)
 *   staged  the same through the staging table + INSERT .. ON CONFLICT
 *           (the retry path), to show what making every batch idempotent
 *           would cost
 *   writer  one producer pushes N events as fast as it can (retrying after
 *           a short sleep on ERR_FULL), then flush; plus push latency
 *           percentiles of the accepted pushes.
 *   bare    raw with the tracking events' trigger disabled (migration
 *           0016): what writing a parcel's tracking events costs the COPY.
 * Prints events/s for each and the ratio writer/raw, and whether the goal
 * (writer/raw >= 0.5) is met. The test command runs it with a small N
 * (tests/bench) to see that it still runs and prints its figures and goal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/benchutil.h"
#include "common/log.h"
#include "wcs/store/events.h"
#include "wcs/store/store.h"

static int64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int fresh(PGconn *c)
{
    return bench_exec(c, "bench-events", "TRUNCATE events, tracking_pending, tracking_events, tracking_arrivals") < 0 ||
                   bench_exec(c, "bench-events", "CHECKPOINT") < 0
               ? -1
               : 0;
}

static long long count_events(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT count(*) FROM events");
    long long n = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* What the hub logs: per parcel a scan, a decision and a confirmation,
 * now and then an operator note in Russian. */
static void make_events(struct wcs_event *ev, size_t n)
{
    static const char *const routes[] = {"RU-MOW-AIR", "RU-NSK-RAIL", "RU-VVO-ROAD",
                                         "RU-KHV-RIVER"};
    int64_t t0 = (int64_t)time(NULL) * 1000000;
    size_t i;

    memset(ev, 0, n * sizeof(*ev));
    for (i = 0; i < n; i++) {
        struct wcs_event *e = &ev[i];
        size_t parcel = i / 3;

        e->at_us = t0 + (int64_t)i * 150;
        e->kind = (uint8_t)(i % 3);
        snprintf(e->parcel_code, sizeof(e->parcel_code), "RR%09zuCN", parcel % 1000000000);
        snprintf(e->source, sizeof(e->source), "plc%zu", parcel % 2 + 1);
        switch (e->kind) {
        case WCS_EVENT_SCAN:
            snprintf(e->location, sizeof(e->location), "SCAN-%02zu", parcel % 4 + 1);
            break;
        case WCS_EVENT_DECISION:
            snprintf(e->location, sizeof(e->location), "DP-%02zu", parcel % 8 + 1);
            snprintf(e->chute, sizeof(e->chute), "CH%03zu", parcel % 120 + 1);
            snprintf(e->reason, sizeof(e->reason), "RES_OK");
            snprintf(e->detail, sizeof(e->detail), "route %s plan v3", routes[parcel % 4]);
            break;
        default:
            snprintf(e->chute, sizeof(e->chute), "CH%03zu", parcel % 120 + 1);
            snprintf(e->reason, sizeof(e->reason), parcel % 50 ? "SORTED__" : "RECIRC__");
            break;
        }
        if (i % 1000 == 999) {
            e->kind = WCS_EVENT_OPERATOR;
            snprintf(e->source, sizeof(e->source), "wcsctl");
            snprintf(e->detail, sizeof(e->detail), "перевешено вручную\tоператор Иванов");
        }
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* raw or staged: batches of `batch` rows, one transaction each. */
static double run_direct(PGconn *c, struct wcs_event *ev, size_t n, size_t batch, int staged)
{
    struct err e = {0};
    double t0, t1;
    size_t i, k;
    int rc;

    for (i = 0; i < n; i++)
        ev[i].id = wcs_event_id_next();
    t0 = bench_now_s();
    for (i = 0; i < n; i += k) {
        k = n - i < batch ? n - i : batch;
        if (bench_exec(c, "bench-events", "BEGIN") < 0)
            return -1;
        rc = staged ? wcs_db_events_copy_idempotent(c, ev + i, k, NULL, NULL, NULL, &e)
                    : wcs_db_events_copy(c, ev + i, k, &e);
        if (rc < 0) {
            fprintf(stderr, "bench-events: copy: %s\n", e.msg);
            return -1;
        }
        if (bench_exec(c, "bench-events", "COMMIT") < 0)
            return -1;
    }
    t1 = bench_now_s();
    for (i = 0; i < n; i++)
        ev[i].id = 0;
    return t1 - t0;
}

int main(int argc, char **argv)
{
    const char *conninfo = argc > 1 ? argv[1] : getenv("WCS_BENCH_PG");
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 300000;
    struct wcs_event_writer_opts opts = {
        .batch_max = argc > 3 ? strtoul(argv[3], NULL, 10) : 0,
    };
    struct wcs_event_writer *w = NULL;
    struct wcs_event_writer_stats st;
    struct wcs_event *ev;
    struct err e = {0};
    int64_t *lat, t_push;
    size_t i, batch;
    long long full = 0;
    double t_raw, t_raw1, t_raw2, t_staged, t_writer, t_bare, t0;
    PGconn *c;
    int rc;

    log_init("bench-events", LOG_LEVEL_WARN);
    if (conninfo == NULL || conninfo[0] == '\0') {
        fprintf(stderr, "usage: bench-events CONNINFO [N [BATCH_MAX]] (or set WCS_BENCH_PG)\n");
        return 2;
    }
    if (n == 0)
        n = 300000;
    batch = opts.batch_max ? opts.batch_max : 2000;
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench-events: connect: %s", PQerrorMessage(c));
        return 1;
    }
    if (wcs_db_migrate(c, NULL, &e) < 0) {
        fprintf(stderr, "bench-events: migrate: %s\n", e.msg);
        return 1;
    }
    ev = malloc(n * sizeof(*ev));
    lat = malloc(n * sizeof(*lat));
    if (ev == NULL || lat == NULL) {
        fprintf(stderr, "bench-events: out of memory\n");
        return 1;
    }
    make_events(ev, n);

    /* Every phase starts from an empty table after a checkpoint, and raw
     * runs once before and once after the others (their mean is the
     * baseline), so neither a cold cache nor a checkpoint falling into one
     * phase favours it. */
    if (fresh(c) < 0 || (t_raw = run_direct(c, ev, n, batch, 0)) < 0)
        return 1;
    if (fresh(c) < 0 || (t_staged = run_direct(c, ev, n, batch, 1)) < 0)
        return 1;
    if (fresh(c) < 0)
        return 1;
    rc = wcs_event_writer_start(conninfo, &opts, &w, &e);
    if (rc < 0) {
        fprintf(stderr, "bench-events: writer: %s\n", e.msg);
        return 1;
    }
    t0 = bench_now_s();
    for (i = 0; i < n; i++) {
        for (;;) {
            t_push = now_ns();
            rc = wcs_event_writer_push(w, &ev[i]);
            lat[i] = now_ns() - t_push;
            if (rc != ERR_FULL)
                break;
            full++;
            nanosleep(&(struct timespec){0, 50000}, NULL);
        }
        if (rc < 0) {
            fprintf(stderr, "bench-events: push: %s\n", err_name(rc));
            return 1;
        }
    }
    if (wcs_event_writer_flush(w, 600000) < 0) {
        fprintf(stderr, "bench-events: flush timed out\n");
        return 1;
    }
    t_writer = bench_now_s() - t0;
    wcs_event_writer_stats(w, &st);
    wcs_event_writer_stop(w);
    if (count_events(c) != (long long)n) {
        fprintf(stderr, "bench-events: %lld rows stored, expected %zu\n", count_events(c), n);
        return 1;
    }

    if (fresh(c) < 0 || (t_raw2 = run_direct(c, ev, n, batch, 0)) < 0)
        return 1;
    t_raw1 = t_raw;
    t_raw = (t_raw1 + t_raw2) / 2;
    if (fresh(c) < 0 || bench_exec(c, "bench-events", "ALTER TABLE events DISABLE TRIGGER tracking_events") < 0 ||
        (t_bare = run_direct(c, ev, n, batch, 0)) < 0 ||
        bench_exec(c, "bench-events", "ALTER TABLE events ENABLE TRIGGER tracking_events") < 0)
        return 1;

    qsort(lat, n, sizeof(*lat), cmp_i64);
    printf("events: N=%zu batch_max=%zu (group commit)\n", n, batch);
    printf("raw COPY      %9.0f events/s  (%.3f s; runs %.3f s before, %.3f s after)\n",
           (double)n / t_raw, t_raw, t_raw1, t_raw2);
    printf("staged COPY   %9.0f events/s  (%.3f s)  ratio staged/raw %.2f\n", (double)n / t_staged,
           t_staged, t_raw / t_staged);
    printf("writer        %9.0f events/s  (%.3f s)  ratio writer/raw %.2f (goal >= 0.5)\n",
           (double)n / t_writer, t_writer, t_raw / t_writer);
    printf("writer stats  batches=%llu (avg %.0f events) db_errors=%llu push ERR_FULL=%lld\n",
           (unsigned long long)st.batches, st.batches ? (double)st.written / (double)st.batches : 0,
           (unsigned long long)st.db_errors, full);
    printf("raw, no tracking trigger %9.0f events/s  (%.3f s)  ratio raw/bare %.2f\n",
           (double)n / t_bare, t_bare, t_bare / t_raw);
    printf("push latency  p50=%lld ns p99=%lld ns p99.9=%lld ns max=%lld ns\n",
           (long long)lat[n / 2], (long long)lat[n * 99 / 100], (long long)lat[n * 999 / 1000],
           (long long)lat[n - 1]);
    printf("goal: writer at least 0.5 of raw COPY: %s (%.2f)\n",
           t_raw / t_writer >= 0.5 ? "met" : "NOT met", t_raw / t_writer);
    free(lat);
    free(ev);
    PQfinish(c);
    return 0;
}

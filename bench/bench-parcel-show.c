/*
 * bench-parcel-show.c - `wcsctl parcel show` (wcs_db_parcel_get() and
 * wcs_db_parcel_events(), the calls it makes) on an event log of N events
 * in day partitions (migration 0019), beside the same lookups on a log a
 * hundred times smaller, in the same run and cluster.
 *
 *   bench-parcel-show CONNINFO_BIG CONNINFO_SMALL [N [DAYS [LOOKUPS]]]
 *
 * Both databases are made afresh by the caller (migrated here). Each gets
 * N (resp. N/100) events, three per parcel (a scan, a decision, a
 * confirmation) spread over DAYS days of ids, written by the server from
 * generate_series in batches of a million (the tracking trigger off while
 * filling: this measures reading), and their parcels pre-advised. Then
 * LOOKUPS random parcels are shown on each, timed one by one: p50, p99 and
 * the mean, and the ratio big/small. Default N 1,000,000, DAYS 30,
 * LOOKUPS 2,000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchutil.h"
#include "common/log.h"
#include "wcs/core/parcel.h"
#include "wcs/store/store.h"

#define BATCH 1000000LL

static int count_cb(void *arg, const struct wcs_event *ev)
{
    (void)ev;
    (*(int *)arg)++;
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Fills c with n events of n/3 parcels over days days; returns seconds. */
static double fill(PGconn *c, long long n, int days)
{
    char sql[2048];
    long long parcels = n / 3, lo;
    double t0 = bench_now_s();

    snprintf(sql, sizeof(sql), "SELECT wcs_log_partitions_ensure(%d, 1)", days + 1);
    if (bench_exec(c, "bench-parcel-show", sql) < 0 ||
        bench_exec(c, "bench-parcel-show", "ALTER TABLE events DISABLE TRIGGER tracking_events") < 0)
        return -1;
    snprintf(sql, sizeof(sql),
             "INSERT INTO parcels (code, service, recipient_country, postal_code, weight_g)"
             " SELECT 'BP' || lpad(g::text, 9, '0') || 'CN', 'STANDARD', 'RU', '630090', 500"
             " FROM generate_series(0, %lld) g",
             parcels - 1);
    if (bench_exec(c, "bench-parcel-show", sql) < 0 ||
        bench_exec(c, "bench-parcel-show",
                   "INSERT INTO parcel_ids (code, parcel_id, kind) SELECT code, id, 's10'"
                   " FROM parcels") < 0)
        return -1;
    /* event i: parcel i / 3, its id in day (i * days / n) back from today */
    for (lo = 0; lo < n; lo += BATCH) {
        long long hi = lo + BATCH < n ? lo + BATCH : n;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO events (id, at, kind, parcel_code, location, chute, reason, source)"
                 " SELECT wcs_id_of_time(date_trunc('day', now() AT TIME ZONE 'UTC')"
                 "  AT TIME ZONE 'UTC' - make_interval(days => %d - (g * %d / %lld)::int))"
                 "  + (g %% 80000000) * 4096 + 1,"
                 " now() - make_interval(days => %d - (g * %d / %lld)::int),"
                 " (ARRAY['scan','decision','confirm'])[g %% 3 + 1],"
                 " 'BP' || lpad((g / 3)::text, 9, '0') || 'CN', 'SCAN01',"
                 " 'CH' || lpad((g / 3 %% 40 + 1)::text, 3, '0'),"
                 " CASE g %% 3 WHEN 2 THEN 'SORTED__' ELSE 'OK______' END, 'PLC01'"
                 " FROM generate_series(%lld::bigint, %lld::bigint) g",
                 days, days, n, days, days, n, lo, hi - 1);
        if (bench_exec(c, "bench-parcel-show", sql) < 0)
            return -1;
    }
    if (bench_exec(c, "bench-parcel-show", "ALTER TABLE events ENABLE TRIGGER tracking_events") < 0 ||
        bench_exec(c, "bench-parcel-show", "VACUUM ANALYZE") < 0)
        return -1;
    return bench_now_s() - t0;
}

/* Shows lookups random parcels of n/3; fills ms[] with each one's time. */
static int show(PGconn *c, long long n, int lookups, double *ms)
{
    long long parcels = n / 3;
    int i;

    srand(7);
    for (i = 0; i < lookups; i++) {
        char code[32];
        struct wcs_preadvice a;
        int64_t id;
        struct err e;
        int events = 0;
        double t0;

        snprintf(code, sizeof(code), "BP%09lldCN", (long long)rand() % parcels);
        t0 = bench_now_s();
        if (wcs_db_parcel_get(c, code, &a, &id, &e) < 0 ||
            wcs_db_parcel_events(c, id, count_cb, &events, &e) < 0) {
            fprintf(stderr, "bench-parcel-show: %s: %s\n", code, e.msg);
            return -1;
        }
        ms[i] = (bench_now_s() - t0) * 1000.0;
        if (events != 3) {
            fprintf(stderr, "bench-parcel-show: %s: %d events, expected 3\n", code, events);
            return -1;
        }
    }
    return 0;
}

static void summary(const char *what, long long n, double *ms, int lookups, double *p50)
{
    double sum = 0;
    int i;

    for (i = 0; i < lookups; i++)
        sum += ms[i];
    qsort(ms, (size_t)lookups, sizeof(*ms), cmp_d);
    *p50 = ms[lookups / 2];
    printf("%-6s %11lld events  parcel show p50 %.3f ms  p99 %.3f ms  mean %.3f ms\n", what, n,
           ms[lookups / 2], ms[lookups * 99 / 100], sum / lookups);
}

int main(int argc, char **argv)
{
    long long n = argc > 3 ? atoll(argv[3]) : 1000000, small = n / 100;
    int days = argc > 4 ? atoi(argv[4]) : 30, lookups = argc > 5 ? atoi(argv[5]) : 2000;
    PGconn *big, *little;
    struct err e;
    double *ms, t_big, t_small, p50_big, p50_small;

    log_init("bench-parcel-show", LOG_LEVEL_WARN);
    if (argc < 3 || n < 300 || days < 1 || lookups < 10) {
        fprintf(stderr, "usage: bench-parcel-show CONNINFO_BIG CONNINFO_SMALL [N [DAYS [LOOKUPS]]]\n");
        return 2;
    }
    if (wcs_db_connect(argv[1], &big, &e) < 0 || wcs_db_migrate(big, NULL, &e) < 0 ||
        wcs_db_connect(argv[2], &little, &e) < 0 || wcs_db_migrate(little, NULL, &e) < 0) {
        fprintf(stderr, "bench-parcel-show: %s\n", e.msg);
        return 1;
    }
    ms = malloc((size_t)lookups * sizeof(*ms));
    if (ms == NULL || (t_small = fill(little, small, days)) < 0 || (t_big = fill(big, n, days)) < 0)
        return 1;
    printf("fill: %lld events in %.1f s, %lld in %.1f s (%d days of partitions)\n", n, t_big,
           small, t_small, days);
    if (show(little, small, lookups, ms) < 0)
        return 1;
    summary("small", small, ms, lookups, &p50_small);
    if (show(big, n, lookups, ms) < 0)
        return 1;
    summary("big", n, ms, lookups, &p50_big);
    printf("ratio big/small p50: %.2f (the log %lld times larger)\n", p50_big / p50_small,
           n / small);
    printf("goal: parcel show as fast on the big log (p50 within 2x): %s\n",
           p50_big <= 2 * p50_small ? "met" : "NOT met");
    free(ms);
    PQfinish(big);
    PQfinish(little);
    return 0;
}

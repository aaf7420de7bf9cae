/*
 * bench-tracking.c - the tracking feed (GET /v1/tracking/events) read
 * through a running wcsd, beside a plain keyset SELECT of the same rows
 * over libpq in the same run, and its cursor discipline at volume.
 *
 *   bench-tracking --db CONNINFO --http URL --token-file F [--events N]
 *                  [--written M]
 *
 * Phases, on wcsd's database (bench/run-tracking.sh starts it):
 *   fill     N tracking events made pending by SQL (a parcel's arrived,
 *            sorted, bag_closed, dispatched), then published (numbered):
 *            the time of the publish;
 *   raw      the baseline: SELECT ... WHERE seq > $1 ORDER BY seq LIMIT
 *            1000, page after page, over libpq;
 *   feed     the same N events through wcsd, 1000 a page, each page's
 *            JSON parsed and every cursor checked to follow the one
 *            before it;
 *   written  the feed followed on while a writer commits M events more
 *            into the event log (decisions and sorts, through the
 *            database's triggers), a transaction in five held open for a
 *            while, and wcsd publishes: every event must come exactly once.
 * Prints events/s for raw and feed and their ratio, and whether every
 * event came once in cursor order.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "bench/benchutil.h"

#define PAGE 1000

static const char *conninfo;
static long long written_target;
static int writer_failed, writer_done;

static long long query_ll(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long v = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoll(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "bench-tracking: %.60s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return v;
}

/* --- the feed over HTTP ------------------------------------------------- */

struct body {
    char *data;
    size_t len, cap;
};

static size_t body_cb(char *p, size_t size, size_t n, void *ud)
{
    struct body *b = ud;
    size_t len = size * n;

    if (b->len + len + 1 > b->cap) {
        size_t cap = (b->len + len + 1) * 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

struct follower {
    CURL *curl;
    struct curl_slist *hdr;
    const char *url;
    struct body body;
    long long cursor, seen, bad;
};

/* Reads one page after f->cursor; returns its events (-1 on failure).
 * Every event's cursor must be the one after the last seen. */
static long page(struct follower *f)
{
    char url[512];
    json_error_t je;
    json_t *doc, *ev;
    long status = 0;
    size_t i, n;

    snprintf(url, sizeof(url), "%s/v1/tracking/events?after=%lld&limit=%d", f->url, f->cursor,
             PAGE);
    f->body.len = 0;
    curl_easy_setopt(f->curl, CURLOPT_URL, url);
    if (curl_easy_perform(f->curl) != CURLE_OK ||
        curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
        status != 200 || f->body.data == NULL) {
        fprintf(stderr, "bench-tracking: GET %s: status %ld\n", url, status);
        return -1;
    }
    doc = json_loadb(f->body.data, f->body.len, 0, &je);
    if (doc == NULL) {
        fprintf(stderr, "bench-tracking: page after %lld: %s\n", f->cursor, je.text);
        return -1;
    }
    n = json_array_size(json_object_get(doc, "events"));
    json_array_foreach(json_object_get(doc, "events"), i, ev) {
        const char *cs = json_string_value(json_object_get(ev, "cursor"));
        long long c = cs ? atoll(cs) : 0;
        if (c != f->cursor + 1)
            f->bad++;
        f->cursor = c;
        f->seen++;
    }
    json_decref(doc);
    return (long)n;
}

static int follower_init(struct follower *f, const char *url, const char *token)
{
    char auth[300];

    memset(f, 0, sizeof(*f));
    f->url = url;
    f->curl = curl_easy_init();
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    f->hdr = curl_slist_append(NULL, auth);
    explicit_bzero(auth, sizeof(auth));
    if (f->curl == NULL || f->hdr == NULL)
        return -1;
    curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, f->hdr);
    curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &f->body);
    curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 60L);
    return 0;
}

static void follower_free(struct follower *f)
{
    curl_slist_free_all(f->hdr);
    curl_easy_cleanup(f->curl);
    free(f->body.data);
}

/* --- the writer: decisions and sorts into the event log ------------------ */

static void *writer_main(void *arg)
{
    PGconn *c = PQconnectdb(conninfo);
    char sql[1024];
    long long done = 0, round = 0;
    const long long batch = 200; /* events: 100 parcels decided and sorted */

    (void)arg;
    if (PQstatus(c) != CONNECTION_OK)
        writer_failed = 1;
    while (!writer_failed && done < written_target) {
        bool held = round % 5 == 2;
        snprintf(sql, sizeof(sql),
                 "%sINSERT INTO events (id, at, kind, parcel_code, location, chute, reason)"
                 " SELECT 9000000000000 + %lld + g, now(),"
                 " CASE g %% 2 WHEN 0 THEN 'decision' ELSE 'confirm' END,"
                 " 'BW' || lpad(((%lld + g) / 2)::text, 9, '0') || 'CN', 'SCAN01',"
                 " CASE g %% 2 WHEN 1 THEN 'CH001' END, CASE g %% 2 WHEN 1 THEN 'SORTED__' END"
                 " FROM generate_series(0, %lld) g",
                 held ? "BEGIN; " : "", done, done, batch - 1);
        if (bench_exec(c, "bench-tracking", sql) < 0)
            writer_failed = 1;
        if (held) { /* later writers' events are published before these */
            usleep(200000);
            if (bench_exec(c, "bench-tracking", "COMMIT") < 0)
                writer_failed = 1;
        }
        done += batch;
        round++;
        usleep(2000);
    }
    PQfinish(c);
    __atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static char *read_token(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");

    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        fprintf(stderr, "bench-tracking: %s: %s\n", path, f ? "empty" : strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *token_file = NULL;
    long long n = 1000000, cursor = 0, raw_seen = 0, total, before;
    double t0, t_publish, t_raw, t_feed;
    struct follower f;
    char a[24], lim[8] = "1000";
    const char *p[2] = {a, lim};
    pthread_t writer;
    char *token;
    PGconn *c;
    int i, empty = 0;
    long got;

    written_target = 50000;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--db") == 0)
            conninfo = argv[i + 1];
        else if (strcmp(argv[i], "--http") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--token-file") == 0)
            token_file = argv[i + 1];
        else if (strcmp(argv[i], "--events") == 0)
            n = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--written") == 0)
            written_target = atoll(argv[i + 1]);
        else
            break;
    }
    if (i != argc || conninfo == NULL || url == NULL || token_file == NULL || n < 4) {
        fprintf(stderr, "usage: bench-tracking --db CONNINFO --http URL --token-file F"
                        " [--events N] [--written M]\n");
        return 2;
    }
    token = read_token(token_file);
    c = PQconnectdb(conninfo);
    if (token == NULL || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench-tracking: connect: %s", PQerrorMessage(c));
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* fill: n events, four per parcel, as pending, then published */
    if (bench_exec(c, "bench-tracking", "TRUNCATE tracking_pending, tracking_events, tracking_arrivals") < 0 ||
        bench_exec(c, "bench-tracking", "UPDATE tracking_feed SET last_seq = 0") < 0)
        return 1;
    snprintf(a, sizeof(a), "%lld", n - 1);
    {
        PGresult *r = PQexecParams(
            c,
            "INSERT INTO tracking_pending (event, code, parcel, at, location, chute, bag_id,"
            " dispatch) SELECT (ARRAY['arrived','sorted','bag_closed','dispatched'])[g % 4 + 1],"
            " (ARRAY['EMB',NULL,NULL,'EMC'])[g % 4 + 1], 'BT' || lpad((g / 4)::text, 9, '0') ||"
            " 'CN', now() + make_interval(secs => g / 1000.0), CASE WHEN g % 4 < 2 THEN"
            " 'SCAN01' END, CASE WHEN g % 4 BETWEEN 1 AND 2 THEN 'CH012' END,"
            " CASE WHEN g % 4 >= 2 THEN 'CNHRBARUMOWACUN60012' || lpad((g / 400 % 1000)::text,"
            " 3, '0') || '000183' END, CASE WHEN g % 4 = 3 THEN 'HRB-20261207-MOW-001' END"
            " FROM generate_series(0, $1::bigint) g",
            1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench-tracking: fill: %s", PQerrorMessage(c));
            return 1;
        }
        PQclear(r);
    }
    t0 = bench_now_s();
    total = query_ll(c, "SELECT last_cursor FROM tracking_publish(2147483647, true)");
    t_publish = bench_now_s() - t0;
    if (total < n) { /* wcsd's refresher may have published some: either way, all are in */
        fprintf(stderr, "bench-tracking: %lld published, expected %lld\n", total, n);
        return 1;
    }
    bench_exec(c, "bench-tracking", "VACUUM ANALYZE tracking_events");

    /* raw: the baseline, a keyset SELECT page after page */
    t0 = bench_now_s();
    for (;;) {
        PGresult *r;
        snprintf(a, sizeof(a), "%lld", cursor);
        r = PQexecParams(c,
                         "SELECT seq, event, code, parcel, at, location, chute, route, bag_id,"
                         " dispatch, reason FROM tracking_events WHERE seq > $1::bigint"
                         " ORDER BY seq LIMIT $2::int",
                         2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "bench-tracking: raw: %s", PQerrorMessage(c));
            return 1;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            break;
        }
        raw_seen += PQntuples(r);
        cursor = atoll(PQgetvalue(r, PQntuples(r) - 1, 0));
        PQclear(r);
    }
    t_raw = bench_now_s() - t0;

    /* feed: the same through wcsd */
    if (follower_init(&f, url, token) < 0)
        return 1;
    t0 = bench_now_s();
    while ((got = page(&f)) > 0)
        ;
    t_feed = bench_now_s() - t0;
    if (got < 0)
        return 1;

    /* written: followed on while the event log is written */
    before = f.seen;
    if (pthread_create(&writer, NULL, writer_main, NULL) != 0)
        return 1;
    while (empty < 3) {
        bool done = __atomic_load_n(&writer_done, __ATOMIC_ACQUIRE);
        got = page(&f);
        if (got < 0) {
            writer_failed = 1; /* stops the writer */
            break;
        }
        if (got == 0) {
            if (done)
                empty++;
            usleep(done ? 1000000 : 100000); /* wcsd's refresher publishes every 2 s */
        }
    }
    pthread_join(writer, NULL);
    total = query_ll(c, "SELECT last_cursor FROM tracking_publish(2147483647, true)");

    printf("tracking feed: N=%lld events, pages of %d\n", n, PAGE);
    printf("publish         %9.0f events/s  (%.3f s for %lld pending events)\n",
           (double)n / t_publish, t_publish, n);
    printf("raw SELECT      %9.0f events/s  (%.3f s, %lld events)\n", (double)raw_seen / t_raw,
           t_raw, raw_seen);
    printf("feed over HTTP  %9.0f events/s  (%.3f s, %lld events)  ratio feed/raw %.2f\n",
           (double)before / t_feed, t_feed, before, t_raw / t_feed * (double)before /
           (double)(raw_seen ? raw_seen : 1));
    printf("while written   %lld events written (%lld tracking events), %lld seen after N, "
           "%lld out of order, feed's last %lld\n",
           written_target, total - n, f.seen - before, f.bad, total);
    printf("goal: every event once, in cursor order: %s\n",
           !writer_failed && f.bad == 0 && f.seen == total && f.cursor == total ? "met"
                                                                                : "NOT met");
    follower_free(&f);
    PQfinish(c);
    curl_global_cleanup();
    return writer_failed || f.bad != 0 || f.seen != total ? 1 : 0;
}


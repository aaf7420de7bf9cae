/*
 * bench-customs.c - customs submission throughput: declarations per second
 * that the outbox worker (customs/outbox.h, run in-process through the
 * wcs_customs_outbox library) gets accepted by the broker emulator, beside a
 * plain libcurl loop posting the same payloads to the same emulator in the
 * same run.
 *
 *   bench-customs --db CONNINFO --broker URL --token-file F --seed-decl F
 *                 [--count N] [--batch B] [--parallel P] [--worker-first] [--verbose]
 *                 [--profile reference|rupost]
 *
 * The database must be migrated and its customs outbox empty (bench/
 * run-customs.sh makes one). Phases, each timed on its own:
 *
 *   enqueue   N declarations (the seed declaration with S10 parcel ids
 *             RR10000000..) stored and queued by wcs_customs_declare(), one
 *             transaction each, as wcsd does per parcel
 *   baseline  one easy handle (connection kept alive), one request at a
 *             time: {"declarations":[...]} of B bodies at a time, in the
 *             same order and sizes as the worker's batches, byte for byte
 *             the same texts, each under a fresh Idempotency-Key, so the
 *             emulator validates and accepts every declaration again (it
 *             counts them as duplicates); the answers are parsed and the
 *             accepted results counted
 *   worker    cust_worker_run() with until_empty: claims with leases, libcurl
 *             multi, P batches in flight, results stored in PostgreSQL;
 *             with --profile rupost through the emulator's rupost API
 *             (customs/profile.h: every request and answer translated on
 *             both sides), the baseline staying the plain v1 loop
 *
 * The baseline runs first (the emulator's stores of keys and acceptances are
 * then smaller for it, not for the worker) unless --worker-first.
 *
 * Checks: both phases got N acceptances, /admin/accepted counts 2N with N
 * duplicates (the second phase's, by design), and the database holds N
 * declarations accepted and an empty outbox. Exit 0 when all hold.
 * Goal, printed met or NOT met: the worker at least as fast as the plain
 * loop (worker/baseline >= 1.0). The test command runs it with a small N
 * (tests/bench) to see that it still runs and prints its figures and goal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "bench/benchutil.h"
#include "common/log.h"
#include "customs/declaration.h"
#include "customs/profile.h"
#include "customs/outbox.h"
#include "scanners/scanners.h"
#include "wcs/store/customs_store.h"
#include "wcs/store/store.h"

struct opts {
    const char *conninfo, *broker, *token_file, *seed;
    int count, batch, parallel;
    int worker_first; /* run the worker before the baseline */
    int verbose;      /* the worker logs at info (per batch; its store thread's totals) */
    const struct cust_profile *profile; /* --profile; NULL: reference */
};

struct buf {
    char *p;
    size_t n;
};

/* A UPU S10 id "RR<8 digits><check>CN" for serial n (the emulator checks
 * the check digit). */
static void s10(int n, char out[32])
{
    char d[16];

    snprintf(d, sizeof(d), "%08d", 10000000 + n);
    snprintf(out, 32, "RR%s%dCN", d, scan_s10_check_digit(d));
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    if (f == NULL)
        return -errno;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -EIO;
    }
    p = malloc((size_t)n + 1);
    if (p == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return -EIO;
    }
    fclose(f);
    p[n] = '\0';
    *out = p;
    *len = (size_t)n;
    return 0;
}

/* Builds the N declaration texts from the seed declaration: same content,
 * parcel id changed, encoded by the codec the WCS uses. */
static int make_bodies(const struct opts *o, char ***bodies)
{
    struct err e = {0};
    struct cust_decl d;
    char *seed = NULL, **b, id[32];
    size_t len = 0;
    int i, rc;

    rc = read_file(o->seed, &seed, &len);
    if (rc < 0) {
        fprintf(stderr, "bench-customs: %s: %s\n", o->seed, strerror(-rc));
        return rc;
    }
    rc = cust_decl_decode(seed, len, &d, &e);
    free(seed);
    if (rc < 0) {
        fprintf(stderr, "bench-customs: %s: %s\n", o->seed, e.msg);
        cust_decl_free(&d);
        return rc;
    }
    b = calloc((size_t)o->count, sizeof(*b));
    if (b == NULL) {
        cust_decl_free(&d);
        return -ENOMEM;
    }
    for (i = 0; i < o->count; i++) {
        s10(i, id);
        free(d.parcel_id);
        d.parcel_id = strdup(id);
        if (d.parcel_id == NULL || cust_decl_encode(&d, &b[i], &e) < 0) {
            fprintf(stderr, "bench-customs: encoding declaration %d failed\n", i);
            cust_decl_free(&d);
            *bodies = b;
            return -ENOMEM;
        }
    }
    cust_decl_free(&d);
    *bodies = b;
    return 0;
}

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    char *p = realloc(b->p, b->n + n + 1);

    if (p == NULL)
        return 0;
    memcpy(p + b->n, ptr, n);
    b->n += n;
    p[b->n] = '\0';
    b->p = p;
    return n;
}

/* Counts results with status "accepted" in a POST /v1/declarations answer;
 * -1 when the text is not such an answer. */
static long count_accepted(const char *text)
{
    json_t *j = json_loads(text, 0, NULL), *arr, *r;
    long n = 0;
    size_t i;

    if (j == NULL)
        return -1;
    arr = json_object_get(j, "results");
    if (!json_is_array(arr))
        arr = json_object_get(j, "declarations");
    if (!json_is_array(arr)) {
        json_decref(j);
        return -1;
    }
    json_array_foreach(arr, i, r) {
        const char *st = json_string_value(json_object_get(r, "status"));

        if (st != NULL && strcmp(st, "accepted") == 0)
            n++;
    }
    json_decref(j);
    return n;
}

/* The plain loop: one easy handle, one request at a time. Returns the
 * number of accepted declarations, or -1 on a transport/HTTP failure. */
static long baseline(const struct opts *o, const char *token, char **bodies, double *secs)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char url[512], auth[512], key[96];
    struct buf req = {0}, ans = {0};
    long accepted = 0, status = 0;
    size_t cap = 0;
    double t0;
    int i, k;

    if (h == NULL)
        return -1;
    snprintf(url, sizeof(url), "%s%sv1/declarations", o->broker,
             o->broker[strlen(o->broker) - 1] == '/' ? "" : "/");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    for (i = 0; i < o->count; i++)
        cap += strlen(bodies[i]) + 1;
    req.p = malloc(cap + 64);
    if (req.p == NULL) {
        curl_easy_cleanup(h);
        return -1;
    }
    t0 = bench_now_s();
    for (i = 0; i < o->count; i += o->batch) {
        int end = i + o->batch < o->count ? i + o->batch : o->count;
        char *p = req.p;
        long got;

        /* Built per request, as the worker builds each batch's body. */
        p += sprintf(p, "{\"declarations\":[");
        for (k = i; k < end; k++) {
            size_t n = strlen(bodies[k]);

            if (k > i)
                *p++ = ',';
            memcpy(p, bodies[k], n);
            p += n;
        }
        p += sprintf(p, "]}");
        snprintf(key, sizeof(key), "Idempotency-Key: bench-baseline-%d", i);
        hdr = curl_slist_append(NULL, auth);
        hdr = hdr != NULL ? curl_slist_append(hdr, "Content-Type: application/json") : NULL;
        hdr = hdr != NULL ? curl_slist_append(hdr, key) : NULL;
        if (hdr == NULL)
            break;
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.p);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(p - req.p));
        ans.n = 0;
        if (curl_easy_perform(h) != CURLE_OK ||
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
            ans.p == NULL || (got = count_accepted(ans.p)) < 0) {
            fprintf(stderr, "bench-customs: baseline request at %d failed (HTTP %ld)\n", i, status);
            curl_slist_free_all(hdr);
            accepted = -1;
            break;
        }
        curl_slist_free_all(hdr);
        accepted += got;
    }
    *secs = bench_now_s() - t0;
    curl_easy_cleanup(h);
    free(req.p);
    free(ans.p);
    memset(auth, 0, sizeof(auth));
    return accepted;
}

/* GET /admin/accepted: count and number of duplicated parcels. */
static int admin_accepted(const struct opts *o, long long *count, size_t *dups)
{
    CURL *h = curl_easy_init();
    struct buf ans = {0};
    char url[512];
    json_t *j;
    int rc = -1;

    if (h == NULL)
        return -1;
    snprintf(url, sizeof(url), "%s%sadmin/accepted", o->broker,
             o->broker[strlen(o->broker) - 1] == '/' ? "" : "/");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (curl_easy_perform(h) == CURLE_OK && ans.p != NULL &&
        (j = json_loads(ans.p, 0, NULL)) != NULL) {
        *count = json_integer_value(json_object_get(j, "count"));
        *dups = json_array_size(json_object_get(j, "duplicates"));
        json_decref(j);
        rc = 0;
    }
    curl_easy_cleanup(h);
    free(ans.p);
    return rc;
}

static long long count_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long n = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

/* Phase baseline with its report line; -1 when not all were accepted. */
static int run_baseline(const struct opts *o, const char *token, char **bodies, double *t_base)
{
    long acc = baseline(o, token, bodies, t_base);

    printf("baseline: %ld accepted in %.2f s = %.0f declarations/s (plain libcurl easy loop, "
           "one request at a time)\n",
           acc, *t_base, acc > 0 ? acc / *t_base : 0.0);
    fflush(stdout);
    return acc == o->count ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-customs --db CONNINFO --broker URL --token-file F --seed-decl F\n"
                    "       [--count N] [--batch B] [--parallel P] [--worker-first] [--verbose]\n"
                    "       [--profile reference|rupost]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->count = 100000;
    o->batch = 500;
    o->parallel = 8;
    for (i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--worker-first") == 0) {
            o->worker_first = 1;
            i--;
        } else if (strcmp(a, "--verbose") == 0) {
            o->verbose = 1;
            i--;
        } else if (v == NULL)
            return -1;
        else if (strcmp(a, "--db") == 0)
            o->conninfo = v;
        else if (strcmp(a, "--broker") == 0)
            o->broker = v;
        else if (strcmp(a, "--token-file") == 0)
            o->token_file = v;
        else if (strcmp(a, "--seed-decl") == 0)
            o->seed = v;
        else if (strcmp(a, "--count") == 0)
            o->count = atoi(v);
        else if (strcmp(a, "--batch") == 0)
            o->batch = atoi(v);
        else if (strcmp(a, "--parallel") == 0)
            o->parallel = atoi(v);
        else if (strcmp(a, "--profile") == 0) {
            o->profile = cust_profile_find(v);
            if (o->profile == NULL)
                return -1;
        }
        else
            return -1;
    }
    if (o->conninfo == NULL || o->broker == NULL || o->token_file == NULL ||
        o->seed == NULL || o->broker[0] == '\0' || o->count < 1 || o->count > 10000000 ||
        o->batch < 1 || o->batch > 500 || o->parallel < 1 || o->parallel > 64)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static volatile sig_atomic_t stop;
    struct cust_worker_opts wo;
    struct err e = {0};
    struct opts o;
    char **bodies = NULL, *token = NULL;
    PGconn *c = NULL;
    double t0, t_enq, t_base = 0, t_work;
    long long adm_count = -1, db_acc, db_open;
    size_t adm_dups = 0;
    int i, rc, ok = 1;

    if (parse_args(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    log_init("bench-customs", o.verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN);
    if (cust_token_read(o.token_file, &token, &e) < 0) {
        fprintf(stderr, "bench-customs: %s\n", e.msg);
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bench-customs: curl_global_init failed\n");
        return 1;
    }
    if (make_bodies(&o, &bodies) < 0)
        return 1;
    if (wcs_db_connect(o.conninfo, &c, &e) < 0) {
        fprintf(stderr, "bench-customs: %s\n", e.msg);
        return 1;
    }
    if (count_sql(c, "SELECT count(*) FROM customs_outbox") != 0) {
        fprintf(stderr, "bench-customs: the customs outbox must exist and be empty\n");
        return 1;
    }
    printf("bench-customs: %d declarations (%zu bytes each), batch %d, worker parallel %d\n",
           o.count, strlen(bodies[0]), o.batch, o.parallel);

    /* (a) enqueue */
    t0 = bench_now_s();
    for (i = 0; i < o.count; i++) {
        char id[32];

        s10(i, id);
        if (wcs_customs_declare(c, id, bodies[i], &e) < 0) {
            fprintf(stderr, "bench-customs: declare %s: %s\n", id, e.msg);
            return 1;
        }
    }
    t_enq = bench_now_s() - t0;
    printf("enqueue:  %d in %.2f s = %.0f declarations/s (wcs_customs_declare, one transaction each)\n",
           o.count, t_enq, o.count / t_enq);
    fflush(stdout);

    if (!o.worker_first && run_baseline(&o, token, bodies, &t_base) < 0)
        ok = 0;

    /* (b) the outbox worker, in-process */
    cust_worker_defaults(&wo);
    wo.store = &wcs_customs_store_ops;
    wo.store_arg = o.conninfo;
    wo.broker_url = o.broker;
    wo.token = token;
    wo.profile = o.profile;
    wo.insecure_http = 1;
    wo.batch = o.batch;
    wo.parallel = o.parallel;
    wo.until_empty = 1;
    wo.poll_ms = 50;
    t0 = bench_now_s();
    rc = cust_worker_run(&wo, &stop, &e);
    t_work = bench_now_s() - t0;
    if (rc < 0) {
        fprintf(stderr, "bench-customs: worker: %s\n", e.msg);
        ok = 0;
    }
    db_acc = count_sql(c, "SELECT count(*) FROM declarations WHERE status = 'accepted'");
    db_open = count_sql(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL");
    printf("worker:   %lld accepted in %.2f s = %.0f declarations/s (cust_worker_run in-process, "
           "outbox leases, curl multi, %d in flight, %s profile)\n",
           db_acc, t_work, db_acc > 0 ? db_acc / t_work : 0.0, o.parallel,
           o.profile ? o.profile->name : "reference");
    if (db_acc != o.count || db_open != 0) {
        fprintf(stderr, "bench-customs: database: %lld accepted, %lld open outbox rows\n", db_acc,
                db_open);
        ok = 0;
    }
    if (o.worker_first && run_baseline(&o, token, bodies, &t_base) < 0)
        ok = 0;
    if (t_base > 0 && t_work > 0)
        printf("ratio worker/baseline: %.2f\n", t_base / t_work);
    printf("goal: worker at least as fast as the plain loop: %s\n",
           t_base > 0 && t_work > 0 && t_base >= t_work ? "met" : "NOT met");

    if (admin_accepted(&o, &adm_count, &adm_dups) < 0) {
        fprintf(stderr, "bench-customs: GET /admin/accepted failed\n");
        ok = 0;
    } else {
        printf("emulator /admin/accepted: count %lld (expected %d), duplicates %zu (expected %d: "
               "the second phase's)\n",
               adm_count, 2 * o.count, adm_dups, o.count);
        if (adm_count != 2LL * o.count || adm_dups != (size_t)o.count)
            ok = 0;
    }
    printf("checks: %s\n", ok ? "ok" : "FAILED");

    for (i = 0; i < o.count; i++)
        free(bodies[i]);
    free(bodies);
    PQfinish(c);
    memset(token, 0, strlen(token));
    free(token);
    curl_global_cleanup();
    return ok ? 0 : 1;
}

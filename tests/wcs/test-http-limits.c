/*
 * test-http-limits.c - the limits of wcsd's POST /v1/scans and of its HTTP
 * connections, against a real wcsd on a real PostgreSQL with a real PLC
 * link (tests/common/testplc.h) over 127.0.0.1:
 *   - scans only for configured scan locations (422 naming the location),
 *     so made-up locations cannot use up the correlator: after 70 of them a
 *     scan at SCAN01 still decides a REQ_ without barcode, a scan whose
 *     stated age puts it before the read window does not;
 *   - text from the network checked (no control characters reach the log or
 *     the events), at most 64 scans a request;
 *   - connections per client address (http.connections_per_client);
 *   - the scan rate per client address (429 with Retry-After);
 *   - a flood of scans from several connections, half of them without a
 *     valid token, while the PLC sends UPD_s:
 *     every ACK_ comes, no record is dropped, the writer's queue stays below
 *     half its capacity plus the PLC's own records; with the writer held up
 *     (its table locked) scans are refused 503 before they take the room the
 *     PLC's records need; every scan answered 202 is in the database.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "conveyor/telegram.h"
#include "tests/common/proc.h"
#include "tests/common/testplc.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"
#include "wcs/daemon/scan_body.h"

#define QUEUE_CAPACITY 1024 /* events.queue_capacity of the test's wcsd */
/* Records the PLC side adds to the queue while scans are held at half of it
 * (UPD_ and LIFE telegrams in and out, confirmation events): a margin, not a
 * measurement. */
#define PLC_RECORDS_MARGIN 64
#define FLOODERS 4
#define FLOOD_SCANS 64 /* scans per flood request: the most one request may carry */
#define WAIT_MS 20000  /* bound of every wait on a socket */

static struct twcsd wcsd; /* the daemon under test (tests/common/testwcsd.h) */
static struct tplc T;     /* the test's PLC (tests/common/testplc.h) */
static struct conv_link *plc;
static bool plc_up;
static char first_code[64], second_code[64];

/* The test's sections: a small writer queue, one PLC whose location takes
 * scans; http_extra says the limits. */
static void config(const char *http_extra)
{
    snprintf(wcsd.http_extra, sizeof(wcsd.http_extra), "%s", http_extra);
    twcsd_config(&wcsd,
                 "events:\n  queue_capacity: %d\n  batch_max: 256\n  spool_path: %s/spool\n"
                 "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                 "    life_interval_ms: 1000\n    read_window_before_ms: 2000\n"
                 "    read_window_after_ms: 50\n    locations: [SCAN01]\n",
                 QUEUE_CAPACITY, wcsd.dir, wcsd.plc_port[0]);
}

/* (Re)starts wcsd on config(http_extra) and waits for the PLC link. */
static void restart(const char *http_extra)
{
    if (wcsd.p.pid > 0) {
        twcsd_stop(&wcsd);
        TPLC_RUN_UNTIL(&T, !plc_up);
    }
    config(http_extra);
    twcsd_start(&wcsd);
    TPLC_RUN_UNTIL(&T, plc_up);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* sockets wcsd closes on us */
    twcsd_prepare(&wcsd, "wcs_test_http_limits", NULL);
    twcsd_sample_code(0, first_code, sizeof(first_code));
    twcsd_sample_code(1, second_code, sizeof(second_code));
    tplc_init(&T);
    plc = tplc_link(&T, "PLC01", CONV_LINK_CLIENT, wcsd.plc_port[0], 1000, &plc_up);
    restart("  connections_per_client: 2\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tplc_done(&T);
    return twcsd_teardown(&wcsd);
}

/* POSTs body to /v1/scans with the scanner token; r keeps the answer. */
static long post(const char *body, struct tu_req *r, json_t **out)
{
    memset(r, 0, sizeof(*r));
    r->port = wcsd.http_port;
    r->path = "/v1/scans";
    r->post = body;
    r->token = wcsd.token[TWCSD_SCANNER];
    return tu_http_req(r, out);
}

/* Waits (bounded) for a line of wcsd's log containing needle. */
static void wait_log(const char *needle)
{
    char line[1024];

    if (proc_wait_line(&wcsd.p, needle, WAIT_MS, line, sizeof(line)) < 0)
        fail_msg("no log line with \"%s\" (wcsd's log is above)", needle);
}

static const char *error_message(json_t *j)
{
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));

    return m ? m : "";
}

/* --- locations and text ---------------------------------------------------- */

static void test_scans_only_for_configured_locations(void **state)
{
    char body[256], want[128];
    struct tu_req r;
    struct conv_res res;
    json_t *j;
    int i;

    (void)state;
    /* More made-up locations than the correlator has rings: each refused,
     * naming the location, and none of them takes a ring. */
    for (i = 0; i < 70; i++) {
        snprintf(body, sizeof(body), "{\"location\": \"MADEUP%02d\", \"code\": \"%s\"}", i,
                 first_code);
        assert_int_equal(post(body, &r, &j), 422);
        snprintf(want, sizeof(want), "location MADEUP%02d is not a configured scan location", i);
        if (strstr(error_message(j), want) == NULL)
            fail_msg("no \"%s\" in %s", want, r.body);
        json_decref(j);
        free(r.body);
    }
    /* One bad item refuses the request: its good item is not kept either. */
    snprintf(body, sizeof(body),
             "[{\"location\": \"SCAN01\", \"code\": \"%s\"}, {\"location\": \"NOPE\", "
             "\"code\": \"%s\"}]",
             second_code, second_code);
    assert_int_equal(post(body, &r, NULL), 422);
    free(r.body);
    res = tplc_request(&T, plc, "0000000101", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(res.reason, CONV_REASON_NOREAD);
    /* A scan at the configured location is kept and decides the next REQ_. */
    snprintf(body, sizeof(body), "{\"location\": \"SCAN01\", \"code\": \"%s\"}", first_code);
    assert_int_equal(post(body, &r, &j), 202);
    assert_int_equal(json_integer_value(json_object_get(j, "accepted")), 1);
    json_decref(j);
    free(r.body);
    res = tplc_request(&T, plc, "0000000102", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(res.reason, CONV_REASON_OK);
    assert_string_equal(res.barcode, first_code);
    /* A scan posted late says how old it is: read 2 s ago, it is outside
     * the read window (400 ms before the request) of a REQ_ now, so it
     * cannot be taken for this parcel's; one read 100 ms ago is inside. */
    snprintf(body, sizeof(body), "{\"location\": \"SCAN01\", \"code\": \"%s\", \"age_ms\": 2000}",
             second_code);
    assert_int_equal(post(body, &r, NULL), 202);
    free(r.body);
    res = tplc_request(&T, plc, "0000000103", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(res.reason, CONV_REASON_NOREAD);
    snprintf(body, sizeof(body), "{\"location\": \"SCAN01\", \"code\": \"%s\", \"age_ms\": 100}",
             second_code);
    assert_int_equal(post(body, &r, NULL), 202);
    free(r.body);
    res = tplc_request(&T, plc, "0000000104", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(res.reason, CONV_REASON_OK);
    assert_string_equal(res.barcode, second_code);
}

static void test_network_text_checked(void **state)
{
    static const struct {
        const char *body;
        const char *why;
    } bad[] = {
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\\nINJECTED LINE\"}",
         "scan 0: code: printable ASCII characters only, without blanks"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\\u001b[31mINJECTED\"}",
         "scan 0: code: printable ASCII characters only"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1 INJECTED\"}",
         "scan 0: code: printable ASCII characters only, without blanks"},
        {"{\"location\": \"SCAN01\\u0000INJECTED\", \"code\": \"RR1\"}",
         "body is not JSON: line 1: \\u0000 is not allowed"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\", \"source\": \"cam\\u00e9INJECTED\"}",
         "scan 0: source: printable ASCII characters only"},
        {"{\"location\": \"SCAN\\rINJECTED\", \"code\": \"RR1\"}",
         "scan 0: location: printable ASCII characters only"},
    };
    char body[8192], *big;
    struct tu_req r;
    json_t *j;
    size_t i, off;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(post(bad[i].body, &r, &j), 400);
        if (strstr(error_message(j), bad[i].why) == NULL)
            fail_msg("case %zu: no \"%s\" in %s", i, bad[i].why, r.body);
        json_decref(j);
        free(r.body);
    }
    /* Neither the log nor the event log got any of it. */
    assert_int_equal(tu_http(wcsd.http_port, "/health", NULL, NULL), 200);
    assert_null(strstr(wcsd.p.log, "INJECTED"));
    assert_int_equal(tu_db_count(wcsd.conninfo,
                                 "SELECT count(*) FROM events WHERE parcel_code LIKE '%%INJECTED%%'"
                                 " OR source LIKE '%%INJECTED%%'"),
                     0);
    /* At most 64 scans in one request. */
    off = (size_t)snprintf(body, sizeof(body), "[");
    for (i = 0; i < 65; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off,
                                "%s{\"location\": \"SCAN01\", \"code\": \"%s\"}", i ? "," : "",
                                first_code);
    snprintf(body + off, sizeof(body) - off, "]");
    assert_int_equal(post(body, &r, &j), 413);
    assert_non_null(strstr(error_message(j), "65 scans in one request, at most 64"));
    json_decref(j);
    free(r.body);
    /* At most 64 KiB a body (what is past it is not kept): one scan and
     * blanks, a byte over. */
    big = malloc(WCS_SCAN_BODY_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', WCS_SCAN_BODY_MAX + 1);
    big[WCS_SCAN_BODY_MAX + 1] = '\0';
    off = (size_t)snprintf(body, sizeof(body), "{\"location\": \"SCAN01\", \"code\": \"%s\"}",
                           first_code);
    memcpy(big, body, off);
    assert_int_equal(post(big, &r, &j), 413);
    assert_string_equal(error_message(j), "body over 64 KiB");
    json_decref(j);
    free(r.body);
    free(big);
}

/* --- connections per client --------------------------------------------------- */

static int connect_http(void)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)wcsd.http_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Sends GET /health on fd (keep-alive) and reads until the answer's body or
 * until wcsd closes the connection. Returns 1 for "200 ... ready", 0 when
 * closed without an answer. */
static int health_on(int fd)
{
    static const char req[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[1024];
    size_t len = 0;
    ssize_t n;

    if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
        return 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};

        if (poll(&p, 1, WAIT_MS) != 1)
            fail_msg("wcsd neither answered nor closed within %d ms", WAIT_MS);
        n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0) {
            assert_true(n == 0 || errno == ECONNRESET);
            assert_int_equal(len, 0); /* no partial answer either */
            return 0;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\nready\n") != NULL) {
            assert_non_null(strstr(buf, "HTTP/1.1 200"));
            return 1;
        }
        assert_true(len < sizeof(buf) - 1);
    }
}

/* A connection that wcsd has taken and keeps open (a request answered on
 * it); a connection refused because an earlier one was not yet seen closed
 * is tried again, a bounded number of times. */
static int held_connection(void)
{
    int tries, fd;

    for (tries = 0; tries < 100; tries++) {
        fd = connect_http();
        if (health_on(fd))
            return fd;
        close(fd);
        usleep(20000);
    }
    fail_msg("wcsd kept refusing connections");
    return -1;
}

static void test_connections_per_client(void **state)
{
    int a, b, c, tries, ok = 0;

    (void)state;
    /* http.connections_per_client is 2: two held open, the third refused. */
    a = held_connection();
    b = held_connection();
    c = connect_http();
    assert_int_equal(health_on(c), 0);
    close(c);
    /* Still the two it took are served. */
    assert_int_equal(health_on(a), 1);
    /* One closed: a new one is taken (once wcsd has seen the close). */
    close(b);
    for (tries = 0; tries < 100 && !ok; tries++) {
        c = connect_http();
        ok = health_on(c);
        close(c);
        if (!ok)
            usleep(20000);
    }
    assert_true(ok);
    close(a);
}

/* --- the scan rate ------------------------------------------------------------ */

static void test_scan_rate_per_client(void **state)
{
    char body[128];
    struct tu_req r;
    json_t *j = NULL;
    long code = 0;
    int i, accepted = 0;

    (void)state;
    restart("  scan_rate: 1\n  scan_burst: 2\n");
    snprintf(body, sizeof(body), "{\"location\": \"SCAN01\", \"code\": \"%s\"}", first_code);
    /* A burst of 2, then one a second: posting faster is refused. */
    for (i = 0; i < 100; i++) {
        code = post(body, &r, &j);
        if (code != 202)
            break;
        accepted++;
        json_decref(j);
        free(r.body);
    }
    assert_int_equal(code, 429);
    assert_true(accepted >= 2);
    assert_true(atoi(r.retry_after) >= 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "rate_limited");
    assert_non_null(strstr(error_message(j), "over http.scan_rate: 1 requests a second"));
    json_decref(j);
    free(r.body);
    /* The rate is for scans: reading goes on. */
    assert_int_equal(tu_http(wcsd.http_port, "/v1/status", NULL, NULL), 200);
    wait_log("http: 429 to POST /v1/scans from 127.0.0.1, token test-scanner: over "
             "http.scan_rate");
}

/* --- the flood ---------------------------------------------------------------- */

/* What a flooder counts: scans in 202 answers, then answers by kind. */
enum { FL_SCANS, FL_OK, FL_LIMITED, FL_OVERLOADED, FL_UNAUTHORIZED, FL_OTHER, FL_FAILED, FL_COUNT };

struct flood {
    pthread_t thread;
    const char *token; /* the scanner's, or one nobody has */
    atomic_long n[FL_COUNT];
};

static atomic_bool flood_stop;
static struct flood flooders[FLOODERS];
static char flood_body[FLOOD_SCANS * 96 + 16];

/* Posts flood_body as fast as wcsd answers, on one keep-alive connection,
 * until told to stop; counts what came back. */
static void *flood_cb(void *arg)
{
    struct flood *f = arg;
    char auth[128], url[64];
    struct tu_body b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    CURL *h = curl_easy_init();
    long n;

    if (h == NULL)
        return NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/scans", wcsd.http_port);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->token);
    hdr = curl_slist_append(hdr, auth);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, flood_body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    for (n = 0; n < 1000000 && !atomic_load(&flood_stop); n++) {
        long code = 0;
        json_t *j;

        if (curl_easy_perform(h) != CURLE_OK) {
            atomic_fetch_add(&f->n[FL_FAILED], 1);
            usleep(1000);
            continue;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (code == 202) {
            j = b.data ? json_loads(b.data, 0, NULL) : NULL;
            atomic_fetch_add(&f->n[FL_SCANS],
                             (long)json_integer_value(json_object_get(j, "accepted")));
            atomic_fetch_add(&f->n[FL_OK], 1);
            json_decref(j);
        } else {
            atomic_fetch_add(&f->n[code == 429   ? FL_LIMITED
                                   : code == 503 ? FL_OVERLOADED
                                   : code == 401 ? FL_UNAUTHORIZED
                                                 : FL_OTHER],
                             1);
        }
        free(b.data);
        b.data = NULL;
        b.len = 0;
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    return NULL;
}

/* A count of every flooder together. */
static long flood_sum(int which)
{
    long sum = 0;
    int i;

    for (i = 0; i < FLOODERS; i++)
        sum += atomic_load(&flooders[i].n[which]);
    return sum;
}

/* The writer's counters now; the highest queue seen goes to *max_queued. */
static void writer_counters(long long *queued, long long *dropped, long long *max_queued)
{
    json_t *j, *ev;

    assert_int_equal(tu_http(wcsd.http_port, "/v1/status", NULL, &j), 200);
    ev = json_object_get(j, "events");
    *queued = json_integer_value(json_object_get(ev, "queued"));
    *dropped = json_integer_value(json_object_get(ev, "dropped"));
    if (*queued > *max_queued)
        *max_queued = *queued;
    json_decref(j);
}

static long long queued, dropped, max_queued; /* the writer's, as last seen */

/* For TPLC_RUN_UNTIL (the PLC link keeps running while it waits): true once
 * a flood request was refused 503; the writer's counters looked at. */
static bool overloaded_seen(void)
{
    writer_counters(&queued, &dropped, &max_queued);
    return flood_sum(FL_OVERLOADED) > 0;
}

/* True once the flood's accepted scans are all in the database. */
static bool flood_scans_stored(long long *in_db)
{
    *in_db = tu_db_count(wcsd.conninfo,
                         "SELECT count(*) FROM events WHERE kind = 'scan' AND source = 'flood'");
    return *in_db >= flood_sum(FL_SCANS);
}

/* Sends an UPD_ (parcel tracking sorted at CH001, its own time stamp) and
 * returns its seq; the ACK_ is waited for by the caller. */
static uint32_t send_upd(int k)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "%010u", (unsigned)(500 + k) % 100000u);
    snprintf(t.u.upd.location, sizeof(t.u.upd.location), "CH001");
    t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.upd.event = CONV_UPD_SORTED;
    conv_tg_time(1795100000 + k, t.u.upd.time);
    return tplc_send(plc, &t);
}

static void test_flood_keeps_plc_acks_flowing(void **state)
{
    long long in_db = 0;
    size_t off;
    PGconn *locker;
    PGresult *res;
    uint32_t seq;
    int i, k, from;

    (void)state;
    restart("  scan_rate: 20\n  scan_burst: 20\n");
    off = (size_t)snprintf(flood_body, sizeof(flood_body), "[");
    for (i = 0; i < FLOOD_SCANS; i++)
        off += (size_t)snprintf(flood_body + off, sizeof(flood_body) - off,
                                "%s{\"location\": \"SCAN01\", \"code\": \"%s\", "
                                "\"source\": \"flood\"}",
                                i ? "," : "", first_code);
    snprintf(flood_body + off, sizeof(flood_body) - off, "]");
    assert_true(off + 1 < sizeof(flood_body));
    memset(flooders, 0, sizeof(flooders));
    atomic_store(&flood_stop, false);
    /* Every other flooder has no valid token: floods of refusals too. */
    for (i = 0; i < FLOODERS; i++) {
        flooders[i].token = i % 2 ? "0123456789abcdef0123456789abcdef" : wcsd.token[TWCSD_SCANNER];
        assert_int_equal(pthread_create(&flooders[i].thread, NULL, flood_cb, &flooders[i]), 0);
    }

    /* Flooded: every UPD_ still gets its ACK_, and no record is dropped. */
    for (k = 0; k < 20; k++) {
        from = T.ngot;
        seq = send_upd(k);
        TPLC_RUN_UNTIL(&T, tplc_find(&T, from, CONV_TG_ACK, NULL, seq) >= 0);
        writer_counters(&queued, &dropped, &max_queued);
    }
    assert_int_equal(dropped, 0);
    assert_true(flood_sum(FL_OK) > 0);           /* the flood ran... */
    assert_true(flood_sum(FL_LIMITED) > 0);      /* ...and most of it was refused */
    assert_true(flood_sum(FL_UNAUTHORIZED) > 0); /* (without a token all of it) */

    /* The writer held up (its table locked): scans are refused once they
     * would take more than half the queue; the PLC's records still fit. */
    locker = PQconnectdb(wcsd.conninfo);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    PQclear(PQexec(locker, "BEGIN"));
    res = PQexec(locker, "LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    TPLC_RUN_UNTIL(&T, overloaded_seen());
    from = T.ngot;
    seq = send_upd(100);
    writer_counters(&queued, &dropped, &max_queued);
    assert_int_equal(dropped, 0);
    PQclear(PQexec(locker, "COMMIT"));
    PQfinish(locker);
    /* The writer catches up: the UPD_ sent meanwhile is acknowledged. */
    TPLC_RUN_UNTIL(&T, tplc_find(&T, from, CONV_TG_ACK, NULL, seq) >= 0);

    atomic_store(&flood_stop, true);
    for (i = 0; i < FLOODERS; i++)
        pthread_join(flooders[i].thread, NULL);
    writer_counters(&queued, &dropped, &max_queued);
    print_message("flood: %ld accepted (%ld scans), %ld rate-limited, %ld overloaded, "
                  "%ld unauthorized, %ld other, %ld transport errors; writer queue at most %lld\n",
                  flood_sum(FL_OK), flood_sum(FL_SCANS), flood_sum(FL_LIMITED),
                  flood_sum(FL_OVERLOADED), flood_sum(FL_UNAUTHORIZED), flood_sum(FL_OTHER),
                  flood_sum(FL_FAILED), max_queued);
    assert_int_equal(dropped, 0);
    assert_int_equal(flood_sum(FL_OTHER), 0);
    assert_true(max_queued <= QUEUE_CAPACITY / 2 + PLC_RECORDS_MARGIN);
    /* Every scan answered 202 was kept: its event reaches the database. */
    TPLC_RUN_UNTIL(&T, flood_scans_stored(&in_db));
    assert_int_equal(in_db, flood_sum(FL_SCANS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scans_only_for_configured_locations),
        cmocka_unit_test(test_network_text_checked),
        cmocka_unit_test(test_connections_per_client),
        cmocka_unit_test(test_scan_rate_per_client),
        cmocka_unit_test(test_flood_keeps_plc_acks_flowing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

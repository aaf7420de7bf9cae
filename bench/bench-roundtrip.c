/*
 * bench-roundtrip.c - the decision round trip as a sorter PLC sees it, and
 * the highest parcel rate wcsd sustains with every event persisted, each
 * beside a raw TCP echo of the same telegram size measured in the same run.
 *
 *   bench-roundtrip --connect HOST:PORT --http URL --preadvice FILE
 *                   [--token-file F] [--db CONNINFO] [--seconds S] [--max-seconds S]
 *                   [--window N]
 *
 * The bench plays PLC01 with a real conveyor link (client mode) against a
 * running wcsd (its `plcs:` entry), on one libuv loop:
 *
 *   phase A  REQ_ at exactly 10/s (a 36,000/h line) for --seconds, each with
 *            a new tracking number and a pre-advised code from FILE (column
 *            `code`), so every decision is a real one. Measured: REQ_ handed
 *            to the socket -> RES_ parsed (uv_hrtime). After each RES_ the
 *            bench sends UPD_ SORTED at the answered destination, as a real
 *            PLC does, and times UPD_ -> ACK_ (ACK_ means the event is durable).
 *   phase B  as fast as wcsd answers with every event persisted, for
 *            --max-seconds: --window parcels in flight, a parcel being in
 *            flight from its REQ_ until the ACK_ of its UPD_ (a real PLC
 *            also bounds its unacknowledged telegrams). A window on REQ_
 *            alone would let UPD_s pile up faster than the writer stores
 *            them: wcsd then drops events (counted, the UPD_ is never ACK_ed)
 *            and the rate measured is not one with full persistence. At the
 *            end the bench waits for every ACK_ and then for the writer to
 *            have written all it was pushed (GET /v1/status,
 *            events.written == pushed, dropped unchanged at 0): the sustained
 *            rate is the parcels whose events are all durable per second,
 *            counted until the last ACK_.
 *
 * Baseline, same process and run: a raw libuv TCP echo server on 127.0.0.1
 * (its own thread and loop, as wcsd is its own process) and a client on the
 * bench's loop sending 160-byte messages (a formatted REQ_), timed the same
 * way. In phase A the echo runs interleaved with the REQ_s (one every
 * 100 ms, 50 ms after each REQ_) so both see the same machine; in phase B it
 * runs right after wcsd's, with the same window and duration.
 *
 * Baseline of the durable ACK_, same run, with --db (wcsd's database): the
 * physical floor of making one record durable, a single-row COPY + COMMIT
 * (BEGIN; COPY one event-sized row; COMMIT: its own transaction, fsync on)
 * into a table shaped like `events` (bench_commit, LIKE events INCLUDING
 * ALL, emptied first; not `events` itself, whose ids wcsd's writer assigns),
 * on its own thread and connection, timed from BEGIN sent to COMMIT
 * answered. In phase A it runs once every 100 ms, 75 ms after each REQ_,
 * when wcsd has nothing in flight, so neither disturbs the other.
 *
 * With --consoles N, phase A runs a second time (A2) with N live operator
 * consoles attached (each a GET /v1/stream read to the end on a thread of
 * the bench's own), and the table puts its round trips beside phase A's:
 * what consoles cost the hot path, same run, same echo baseline.
 *
 * Prints a table of p50/p99/p99.9/max (us), the ratios to the echo and to
 * the COPY + COMMIT, the rates and whether the goals are met (p99.9 under
 * 2 ms at 10/s; at least 2,000 parcels/s with every event persisted; the
 * durable ACK_ at 10/s within 2x of a single-row COPY + COMMIT at p50).
 * Exit status 0 when the run completed (goals met or not), 1 when it could
 * not be run or lost data. The test command runs it for a few seconds
 * (tests/bench, through bench/run-roundtrip.sh) to see that it still runs
 * and prints its figures and goals.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "common/err.h"
#include "common/log.h"
#include "common/diag.h"
#include "common/token.h"
#include "conveyor/link.h"
#include "conveyor/linesim/sim.h"
#include "conveyor/telegram.h"

#define MSG_LEN CONV_TG_LEN_DEFAULT   /* bytes per telegram and per echo message */
#define SEQ_SLOTS (CONV_TG_SEQ_MAX + 1)
#define RATE_A_TICK_MS 50             /* REQ_ and echo alternate: 10/s each */
#define DRAIN_TIMEOUT_MS 60000
#define PERSIST_TIMEOUT_MS 60000
#define ECHO_RING 65536               /* send times of echo messages in flight */
#define COMMIT_OFFSET_MS 75           /* baseline COPY + COMMIT, after each REQ_ */
#define GOAL_P999_US 2000.0
#define GOAL_RATE 2000.0
#define GOAL_ACK_VS_COMMIT 2.0        /* p50 UPD_ -> ACK_ / p50 COPY + COMMIT */
#define CONSOLES_MAX 30               /* wcsd serves 32 streams */

/* --- samples ------------------------------------------------------------- */

struct samples {
    uint64_t *v;  /* nanoseconds */
    size_t n, cap;
};

static int samples_add(struct samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint64_t *v = realloc(s->v, cap * sizeof(*v));

        if (v == NULL)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ns;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The slowest few round trips of phase A with when they were sent, to tell
 * a periodic stall (a timer, a resync) from scattered noise. */
#define SLOWEST 5

struct slowest {
    uint64_t ns[SLOWEST];  /* round trip */
    uint64_t at_ns[SLOWEST]; /* sent, since the phase start */
};

static void slowest_add(struct slowest *w, uint64_t ns, uint64_t at_ns)
{
    int i, min = 0;

    for (i = 1; i < SLOWEST; i++)
        if (w->ns[i] < w->ns[min])
            min = i;
    if (ns > w->ns[min]) {
        w->ns[min] = ns;
        w->at_ns[min] = at_ns;
    }
}

static void slowest_print(const char *name, const struct slowest *w)
{
    bool used[SLOWEST] = {false};
    int i, j;

    printf("  slowest %s:", name);
    for (i = 0; i < SLOWEST; i++) {
        int best = -1;

        for (j = 0; j < SLOWEST; j++)
            if (!used[j] && w->ns[j] > 0 && (best < 0 || w->ns[j] > w->ns[best]))
                best = j;
        if (best < 0)
            break;
        used[best] = true;
        printf(" %.0f us at %.1f s%s", w->ns[best] / 1e3, w->at_ns[best] / 1e9,
               i + 1 < SLOWEST ? "," : "");
    }
    printf("\n");
}

struct pcts {
    size_t n;
    double p50, p99, p999, max; /* microseconds */
};

/* Nearest-rank percentiles; with fewer than 1000 samples p99.9 is the max. */
static struct pcts samples_pcts(struct samples *s)
{
    struct pcts p = {s->n, 0, 0, 0, 0};

    if (s->n == 0)
        return p;
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
#define RANK(q) (s->v[(size_t)((q) * (double)(s->n - 1) + 0.5)] / 1e3)
    p.p50 = RANK(0.50);
    p.p99 = RANK(0.99);
    p.p999 = RANK(0.999);
    p.max = s->v[s->n - 1] / 1e3;
#undef RANK
    return p;
}

/* --- pre-advised codes ------------------------------------------------------ */

/* The codes of a pre-advice file (CSV or JSON Lines), read as the line
 * emulator reads them (conv_sim_load_preadvice: the project's CSV table
 * reader; codes longer than the barcode field are reported and skipped). */
struct codes {
    struct conv_sim_item *v;
    size_t n;
};

static int read_codes(const char *path, struct codes *c, struct err *e)
{
    struct diag d = DIAG_INIT;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = conv_sim_load_preadvice(path, &c->v, &c->n, &d, e);
    if (d.n > 0)
        fprintf(stderr, "bench-roundtrip: %s: %zu row(s) skipped, the first: %s\n", path, d.n,
                d.msgs[0]);
    diag_free(&d);
    return rc;
}

/* --- state ---------------------------------------------------------------- */

enum phase { PH_IDLE = 0, PH_A, PH_B_WCS, PH_B_ECHO };

struct bench {
    uv_loop_t loop;
    uv_timer_t tick;                 /* phase A pacing */
    uv_timer_t watchdog;
    bool timed_out;
    enum phase phase;

    /* options */
    char host[64];
    int port;
    char status_url[512];
    char auth[TOKEN_SECRET_MAX + 32]; /* --token-file: "Authorization: Bearer ..." for it */
    const char *db;                   /* --db: conninfo for the COPY + COMMIT baseline */
    unsigned seconds, max_seconds, window;
    unsigned consoles;                /* --consoles: live consoles in phase A2 */
    char stream_url[512];

    struct codes codes;
    uint64_t rng;
    uint64_t tracking_base, tracking_next;

    /* the PLC side */
    struct conv_link *link;
    bool up;
    uint64_t req_sent_ns[SEQ_SLOTS];  /* by seq; 0 = none outstanding */
    uint64_t upd_sent_ns[SEQ_SLOTS];
    uint64_t reqs, ress, upds, acks, acks_dup, res_unmatched, ack_unmatched, seq_reuse, errs;
    uint64_t reasons[CONV_REASON_COUNT];
    size_t req_out;                   /* REQ_ without RES_ */
    size_t upd_out;                   /* UPD_ without ACK_ */
    struct samples *rtt, *ack_lat;    /* where the current phase records */
    struct slowest slow_req, slow_echo; /* phase A */

    /* phase pacing */
    uint64_t t0_ns;                   /* phase start */
    uint64_t stop_ns;                 /* phase B: no new REQ_ after this */
    unsigned ticks, ticks_max;
    bool issuing;
    uint64_t last_res_ns, last_ack_ns;

    /* the echo client (on the bench's loop) */
    uv_tcp_t ecli;
    uv_connect_t ecreq;
    bool eup;
    char emsg[MSG_LEN];
    size_t erx_partial;               /* bytes of the current echo received */
    uint64_t ering[ECHO_RING];        /* send times, FIFO */
    size_t ehead, eout;
    uint64_t esent, egot, eerr;
    struct samples *ertt;
    char erbuf[65536];
};

static struct bench B;

/* xorshift64*: reproducible, plenty for picking codes. */
static uint64_t rnd(void)
{
    B.rng ^= B.rng >> 12;
    B.rng ^= B.rng << 25;
    B.rng ^= B.rng >> 27;
    return B.rng * 2685821657736338717ull;
}

static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    B.timed_out = true;
}

/* Runs the loop until cond() holds or ms pass; returns 0 or -ETIMEDOUT. */
static int run_until(bool (*cond)(void), uint64_t ms)
{
    B.timed_out = false;
    uv_timer_start(&B.watchdog, watchdog_cb, ms, 0);
    while (!cond() && !B.timed_out)
        uv_run(&B.loop, UV_RUN_ONCE);
    uv_timer_stop(&B.watchdog);
    return cond() ? 0 : -ETIMEDOUT;
}

/* --- PLC side: REQ_ -> RES_ -> UPD_ -> ACK_ --------------------------------- */

static int send_req(void)
{
    struct conv_telegram t;
    uint32_t seq = 0;
    struct err e;
    uint64_t t_ns;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "%010llu",
             (unsigned long long)(B.tracking_base + B.tracking_next++));
    snprintf(t.u.req.location, sizeof(t.u.req.location), "SCAN01");
    t.u.req.barcode_kind = CONV_BARCODE_CODE;
    snprintf(t.u.req.barcode, sizeof(t.u.req.barcode), "%s", B.codes.v[rnd() % B.codes.n].code);
    t.u.req.weight_g = -1;
    t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    conv_tg_time((int64_t)time(NULL), t.u.req.time);
    t_ns = uv_hrtime();
    if (conv_link_send(B.link, &t, &seq, &e) < 0) {
        fprintf(stderr, "bench-roundtrip: REQ_ not sent: %s\n", e.msg);
        B.errs++;
        return -1;
    }
    if (B.req_sent_ns[seq] != 0)
        B.seq_reuse++;
    else
        B.req_out++;
    B.req_sent_ns[seq] = t_ns;
    B.reqs++;
    return 0;
}

static void send_upd(const struct conv_res *r)
{
    struct conv_telegram t;
    uint32_t seq = 0;
    struct err e;
    uint64_t t_ns;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "%s", r->tracking);
    /* The parcel went where it was told; a parcel without destination
     * (no plan) ends at the end-of-line exit. */
    snprintf(t.u.upd.location, sizeof(t.u.upd.location), "%s",
             r->destination[0] ? r->destination : "EOL");
    t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.upd.event = CONV_UPD_SORTED;
    conv_tg_time((int64_t)time(NULL), t.u.upd.time);
    t_ns = uv_hrtime();
    if (conv_link_send(B.link, &t, &seq, &e) < 0) {
        fprintf(stderr, "bench-roundtrip: UPD_ not sent: %s\n", e.msg);
        B.errs++;
        return;
    }
    if (B.upd_sent_ns[seq] != 0)
        B.seq_reuse++;
    else
        B.upd_out++;
    B.upd_sent_ns[seq] = t_ns;
    B.upds++;
}

static void plc_telegram_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                            void *arg)
{
    uint64_t now = uv_hrtime();

    (void)l;
    (void)raw;
    (void)arg;
    if (t->type == CONV_TG_RES) {
        uint32_t s = t->u.res.req_seq;

        if (s >= SEQ_SLOTS || B.req_sent_ns[s] == 0) {
            B.res_unmatched++;
            return;
        }
        if (B.phase == PH_A)
            slowest_add(&B.slow_req, now - B.req_sent_ns[s], B.req_sent_ns[s] - B.t0_ns);
        if (samples_add(B.rtt, now - B.req_sent_ns[s]) < 0) {
            fprintf(stderr, "bench-roundtrip: out of memory for samples\n");
            B.errs++;
        }
        B.req_sent_ns[s] = 0;
        B.req_out--;
        B.ress++;
        B.last_res_ns = now;
        if ((unsigned)t->u.res.reason < CONV_REASON_COUNT)
            B.reasons[t->u.res.reason]++;
        send_upd(&t->u.res);
    } else if (t->type == CONV_TG_ACK) {
        uint32_t s = t->u.ack.acked_seq;

        if (t->u.ack.acked_type != CONV_TG_UPD || s >= SEQ_SLOTS || B.upd_sent_ns[s] == 0) {
            B.ack_unmatched++;
            return;
        }
        if (samples_add(B.ack_lat, now - B.upd_sent_ns[s]) < 0) {
            fprintf(stderr, "bench-roundtrip: out of memory for samples\n");
            B.errs++;
        }
        B.upd_sent_ns[s] = 0;
        B.upd_out--;
        B.acks++;
        if (t->u.ack.duplicate)
            B.acks_dup++;
        B.last_ack_ns = now;
        /* A parcel leaves the window when its events are durable: the next
         * one enters. */
        if (B.phase == PH_B_WCS && B.issuing) {
            if (now >= B.stop_ns)
                B.issuing = false;
            else
                send_req();
        }
    } else if (t->type == CONV_TG_ERR) {
        fprintf(stderr, "bench-roundtrip: wcsd refused %s %05u: %s %s\n", t->u.err.refused_type,
                t->u.err.refused_seq, t->u.err.code, t->u.err.text);
        B.errs++;
    }
}

static void plc_state_cb(struct conv_link *l, bool up, void *arg)
{
    (void)l;
    (void)arg;
    if (B.up && !up) {
        fprintf(stderr, "bench-roundtrip: link to wcsd lost\n");
        B.errs++;
    }
    B.up = up;
}

/* --- echo server (own thread and loop) ------------------------------------ */

struct echo_srv {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_tcp_t conn;
    bool has_conn;
    uv_async_t stop;
    uv_thread_t thread;
    int port;
    char rbuf[65536];
};

static struct echo_srv S;

struct echo_wreq {
    uv_write_t req;
    char data[];
};

static void srv_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(S.rbuf, sizeof(S.rbuf));
}

static void srv_write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void srv_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct echo_wreq *w;
    uv_buf_t b;

    if (nread <= 0)
        return; /* EOF or error: the stop handler closes the connection */
    w = malloc(sizeof(*w) + (size_t)nread);
    if (w == NULL)
        return;
    memcpy(w->data, buf->base, (size_t)nread);
    b = uv_buf_init(w->data, (unsigned)nread);
    if (uv_write(&w->req, s, &b, 1, srv_write_cb) < 0)
        free(w);
}

static void srv_connection_cb(uv_stream_t *server, int status)
{
    if (status < 0 || S.has_conn)
        return;
    uv_tcp_init(&S.loop, &S.conn);
    if (uv_accept(server, (uv_stream_t *)&S.conn) < 0) {
        uv_close((uv_handle_t *)&S.conn, NULL);
        return;
    }
    S.has_conn = true;
    uv_tcp_nodelay(&S.conn, 1);
    uv_read_start((uv_stream_t *)&S.conn, srv_alloc_cb, srv_read_cb);
}

static void srv_stop_cb(uv_async_t *a)
{
    if (S.has_conn)
        uv_close((uv_handle_t *)&S.conn, NULL);
    uv_close((uv_handle_t *)&S.listener, NULL);
    uv_close((uv_handle_t *)a, NULL);
}

static void srv_thread(void *arg)
{
    (void)arg;
    uv_run(&S.loop, UV_RUN_DEFAULT);
}

static int echo_srv_start(struct err *e)
{
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc;

    rc = uv_loop_init(&S.loop);
    if (rc < 0)
        return err_set(e, rc, "echo loop: %s", uv_strerror(rc));
    uv_tcp_init(&S.loop, &S.listener);
    uv_async_init(&S.loop, &S.stop, srv_stop_cb);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    if ((rc = uv_tcp_bind(&S.listener, (const struct sockaddr *)&sa, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&S.listener, 4, srv_connection_cb)) < 0 ||
        (rc = uv_tcp_getsockname(&S.listener, (struct sockaddr *)&ss, &len)) < 0)
        return err_set(e, rc, "echo server: %s", uv_strerror(rc));
    S.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    rc = uv_thread_create(&S.thread, srv_thread, NULL);
    if (rc < 0)
        return err_set(e, rc, "echo thread: %s", uv_strerror(rc));
    return 0;
}

static void echo_srv_stop(void)
{
    uv_async_send(&S.stop);
    uv_thread_join(&S.thread);
    if (uv_loop_close(&S.loop) != 0)
        fprintf(stderr, "bench-roundtrip: echo loop not closed cleanly\n");
}

/* --- echo client (bench loop) --------------------------------------------- */

static void cli_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(B.erbuf, sizeof(B.erbuf));
}

static void cli_write_cb(uv_write_t *req, int status)
{
    if (status < 0) {
        fprintf(stderr, "bench-roundtrip: echo write: %s\n", uv_strerror(status));
        B.eerr++;
    }
    free(req);
}

static int echo_send(void)
{
    uv_write_t *w = malloc(sizeof(*w));
    uv_buf_t b = uv_buf_init(B.emsg, MSG_LEN);
    uint64_t t_ns;

    if (w == NULL || B.eout == ECHO_RING) {
        free(w);
        fprintf(stderr, "bench-roundtrip: echo not sent: %s\n",
                w == NULL ? "out of memory" : "too many in flight");
        B.eerr++;
        return -1;
    }
    t_ns = uv_hrtime();
    if (uv_write(w, (uv_stream_t *)&B.ecli, &b, 1, cli_write_cb) < 0) {
        free(w);
        fprintf(stderr, "bench-roundtrip: echo not sent: write refused\n");
        B.eerr++;
        return -1;
    }
    B.ering[(B.ehead + B.eout) % ECHO_RING] = t_ns;
    B.eout++;
    B.esent++;
    return 0;
}

static void cli_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    uint64_t now = uv_hrtime();
    size_t got;

    (void)s;
    (void)buf;
    if (nread <= 0) {
        if (nread < 0) {
            fprintf(stderr, "bench-roundtrip: echo read: %s\n", uv_strerror((int)nread));
            B.eerr++;
        }
        return;
    }
    /* The echo keeps order: each completed MSG_LEN bytes answers the oldest
     * message in flight. */
    got = B.erx_partial + (size_t)nread;
    while (got >= MSG_LEN && B.eout > 0) {
        got -= MSG_LEN;
        if (B.phase == PH_A)
            slowest_add(&B.slow_echo, now - B.ering[B.ehead], B.ering[B.ehead] - B.t0_ns);
        if (samples_add(B.ertt, now - B.ering[B.ehead]) < 0) {
            fprintf(stderr, "bench-roundtrip: out of memory for samples\n");
            B.eerr++;
        }
        B.ehead = (B.ehead + 1) % ECHO_RING;
        B.eout--;
        B.egot++;
        if (B.phase == PH_B_ECHO && B.issuing) {
            if (now >= B.stop_ns)
                B.issuing = false;
            else
                echo_send();
        }
    }
    B.erx_partial = got;
}

static void cli_connect_cb(uv_connect_t *req, int status)
{
    (void)req;
    if (status < 0) {
        fprintf(stderr, "bench-roundtrip: echo connect: %s\n", uv_strerror(status));
        B.eerr++;
        return;
    }
    uv_tcp_nodelay(&B.ecli, 1);
    uv_read_start((uv_stream_t *)&B.ecli, cli_alloc_cb, cli_read_cb);
    B.eup = true;
}

/* --- single-row COPY + COMMIT baseline (own thread and connection) -------- */

struct commit_base {
    PGconn *conn;
    uv_thread_t thread;
    bool started;
    uint64_t t0_ns;     /* phase A start, uv_hrtime's clock (CLOCK_MONOTONIC) */
    unsigned n;         /* transactions to run, one per 100 ms */
    char at[32];        /* the rows' timestamp */
    struct samples lat; /* BEGIN sent -> COMMIT answered */
    bool failed;        /* an error ended it (told on stderr) */
};

static struct commit_base C;

static int commit_exec(const char *sql)
{
    PGresult *r = PQexec(C.conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

    if (!ok)
        fprintf(stderr, "bench-roundtrip: baseline: %s: %s", sql, PQerrorMessage(C.conn));
    PQclear(r);
    return ok ? 0 : -1;
}

/* One transaction as the event writer makes one: BEGIN; COPY of one row
 * the size of a confirmation event; COMMIT. */
static int commit_one(unsigned k)
{
    char row[256];
    PGresult *r;
    bool ok;
    int n;

    n = snprintf(row, sizeof(row), "%u\t%s\tconfirm\tRR%09uCN\t\\N\tCH001\tSORTED\tPLC01\t\\N\n",
                 k + 1, C.at, k);
    if (commit_exec("BEGIN") < 0)
        return -1;
    r = PQexec(C.conn, "COPY bench_commit FROM STDIN");
    ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    ok = ok && PQputCopyData(C.conn, row, n) == 1 && PQputCopyEnd(C.conn, NULL) == 1;
    while ((r = PQgetResult(C.conn)) != NULL) {
        ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) {
        fprintf(stderr, "bench-roundtrip: baseline: COPY: %s", PQerrorMessage(C.conn));
        return -1;
    }
    return commit_exec("COMMIT");
}

/* Runs C.n transactions, each COMMIT_OFFSET_MS after a REQ_ of phase A. */
static void commit_thread(void *arg)
{
    unsigned k;

    (void)arg;
    for (k = 0; k < C.n && !C.failed; k++) {
        uint64_t at = C.t0_ns + (uint64_t)k * 100000000ull + COMMIT_OFFSET_MS * 1000000ull, t;
        struct timespec ts = {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)};

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        t = uv_hrtime();
        if (commit_one(k) < 0 || samples_add(&C.lat, uv_hrtime() - t) < 0)
            C.failed = true;
    }
}

/* Connects to conninfo and makes an empty bench_commit shaped like events. */
static int commit_base_open(const char *conninfo, struct err *e)
{
    time_t now = time(NULL);
    struct tm tm;

    C.conn = PQconnectdb(conninfo);
    if (PQstatus(C.conn) != CONNECTION_OK)
        return err_set(e, ERR_DB, "baseline: connect: %s", PQerrorMessage(C.conn));
    if (commit_exec("CREATE TABLE IF NOT EXISTS bench_commit (LIKE events INCLUDING ALL)") < 0 ||
        commit_exec("TRUNCATE bench_commit") < 0)
        return err_set(e, ERR_DB, "baseline: cannot make table bench_commit");
    gmtime_r(&now, &tm);
    strftime(C.at, sizeof(C.at), "%Y-%m-%d %H:%M:%S+00", &tm);
    return 0;
}

/* Starts the baseline for phase A, which starts at t0_ns and lasts seconds. */
static int commit_base_start(uint64_t t0_ns, unsigned seconds, struct err *e)
{
    int rc;

    C.t0_ns = t0_ns;
    C.n = seconds * 10;
    rc = uv_thread_create(&C.thread, commit_thread, NULL);
    if (rc < 0)
        return err_set(e, rc, "baseline thread: %s", uv_strerror(rc));
    C.started = true;
    return 0;
}

static void commit_base_join(void)
{
    if (C.started)
        uv_thread_join(&C.thread);
    C.started = false;
}

/* --- /v1/status ------------------------------------------------------------ */

struct status {
    long long pushed, written, queued, dropped, db_errors;
    long long late, log_dropped, plc_acks, updates, duplicates;
};

struct body {
    char *data;
    size_t len;
};

static size_t body_cb(char *p, size_t s, size_t n, void *arg)
{
    struct body *b = arg;
    char *q = realloc(b->data, b->len + s * n + 1);

    if (q == NULL)
        return 0;
    memcpy(q + b->len, p, s * n);
    b->len += s * n;
    q[b->len] = '\0';
    b->data = q;
    return s * n;
}

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static int get_status(struct status *st, struct err *e)
{
    struct body b = {NULL, 0};
    struct curl_slist *hdr;
    CURL *h = curl_easy_init();
    CURLcode cc;
    long code = 0;
    json_t *j, *ev, *plc;
    json_error_t je;

    if (h == NULL)
        return err_set(e, ERR_HTTP, "curl_easy_init failed");
    hdr = B.auth[0] ? curl_slist_append(NULL, B.auth) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, B.status_url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK || code != 200 || b.data == NULL) {
        free(b.data);
        return err_set(e, ERR_HTTP, "GET %s: %s, status %ld", B.status_url,
                       curl_easy_strerror(cc), code);
    }
    j = json_loads(b.data, 0, &je);
    free(b.data);
    if (j == NULL)
        return err_set(e, ERR_HTTP, "GET %s: not JSON: %s", B.status_url, je.text);
    ev = json_object_get(j, "events");
    plc = json_array_get(json_object_get(j, "plcs"), 0);
    if (!json_is_object(ev)) {
        json_decref(j);
        return err_set(e, ERR_HTTP, "GET %s: no events object", B.status_url);
    }
    memset(st, 0, sizeof(*st));
    st->pushed = jint(ev, "pushed");
    st->written = jint(ev, "written");
    st->queued = jint(ev, "queued");
    st->dropped = jint(ev, "dropped");
    st->db_errors = jint(ev, "db_errors");
    if (json_is_object(plc)) {
        st->late = jint(plc, "late");
        st->log_dropped = jint(plc, "log_dropped");
        st->plc_acks = jint(plc, "acks");
        st->updates = jint(plc, "updates");
        st->duplicates = jint(plc, "duplicates");
    }
    json_decref(j);
    return 0;
}

/* Polled on the loop (so the link keeps answering LIFE) until the writer has
 * written everything it was pushed. */
static uv_timer_t poll_timer;
static struct status poll_st;
static bool poll_done;
static int poll_rc;
static struct err poll_err;

static void poll_cb(uv_timer_t *t)
{
    poll_rc = get_status(&poll_st, &poll_err);
    if (poll_rc < 0 || (poll_st.queued == 0 && poll_st.written + poll_st.dropped >= poll_st.pushed))
        poll_done = true;
    else
        uv_timer_start(t, poll_cb, 20, 0);
}

static bool poll_finished(void)
{
    return poll_done;
}

/* --- live consoles (own thread): GET /v1/stream, read and counted --------- */

static struct {
    pthread_t thread;
    atomic_bool stop;
    unsigned n;
    unsigned long long events, bytes; /* read after the thread ended */
    bool started;
} K;

static size_t stream_cb(char *p, size_t s, size_t n, void *arg)
{
    size_t i, len = s * n;

    (void)arg;
    K.bytes += len;
    for (i = 0; i + 7 <= len; i++)
        if (memcmp(p + i, "event: ", 7) == 0)
            K.events++;
    return atomic_load(&K.stop) ? 0 : len; /* 0 ends the transfer */
}

static void *consoles_main(void *arg)
{
    CURLM *m = curl_multi_init();
    CURL *h[CONSOLES_MAX];
    struct curl_slist *hdr = B.auth[0] ? curl_slist_append(NULL, B.auth) : NULL;
    unsigned i;
    int running = 1;

    (void)arg;
    for (i = 0; i < K.n; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, B.stream_url);
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, stream_cb);
        curl_multi_add_handle(m, h[i]);
    }
    while (running > 0 && !atomic_load(&K.stop)) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (i = 0; i < K.n; i++) {
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdr);
    return NULL;
}

/* n consoles attached, each reading its stream, before the phase starts. */
static int consoles_start(unsigned n, struct err *e)
{
    K.n = n;
    atomic_store(&K.stop, false);
    if (pthread_create(&K.thread, NULL, consoles_main, NULL) != 0)
        return err_set(e, -EAGAIN, "cannot start the consoles' thread");
    K.started = true;
    sleep(2); /* every stream open and past its first documents */
    return 0;
}

static void consoles_stop(void)
{
    if (!K.started)
        return;
    atomic_store(&K.stop, true);
    pthread_join(K.thread, NULL);
    K.started = false;
}

/* --- phases ------------------------------------------------------------------ */

static bool link_up(void)
{
    return B.up;
}

static bool echo_up(void)
{
    return B.eup || B.eerr > 0;
}

static void tick_cb(uv_timer_t *t)
{
    uint64_t next;

    /* Even ticks: a REQ_; odd ticks: an echo message 50 ms later. */
    if (B.ticks % 2 == 0)
        send_req();
    else
        echo_send();
    B.ticks++;
    if (B.ticks >= B.ticks_max)
        return;
    /* Scheduled from the phase start, not from this callback, so the rate
     * does not drift with callback latency. */
    next = B.t0_ns / 1000000 + (uint64_t)B.ticks * RATE_A_TICK_MS;
    uv_update_time(&B.loop);
    uv_timer_start(t, tick_cb, next > uv_now(&B.loop) ? next - uv_now(&B.loop) : 0, 0);
}

static bool phase_a_done(void)
{
    return B.ticks >= B.ticks_max && B.req_out == 0 && B.upd_out == 0 && B.eout == 0;
}

static bool phase_b_wcs_done(void)
{
    return !B.issuing && B.req_out == 0 && B.upd_out == 0;
}

static bool phase_b_echo_done(void)
{
    return !B.issuing && B.eout == 0;
}

static void reset_counts(void)
{
    B.reqs = B.ress = B.upds = B.acks = B.acks_dup = 0;
    memset(B.reasons, 0, sizeof(B.reasons));
    B.last_res_ns = B.last_ack_ns = 0;
    B.esent = B.egot = 0;
}

static void print_row(const char *name, struct samples *s)
{
    struct pcts p = samples_pcts(s);

    printf("  %-22s %8zu %9.0f %9.0f %9.0f %9.0f\n", name, p.n, p.p50, p.p99, p.p999, p.max);
}

static void print_ratio(const char *name, struct samples *a, struct samples *b)
{
    struct pcts x = samples_pcts(a), y = samples_pcts(b);

    printf("  %-22s %8s %9.1f %9.1f %9.1f %9.1f\n", name, "",
           y.p50 > 0 ? x.p50 / y.p50 : 0, y.p99 > 0 ? x.p99 / y.p99 : 0,
           y.p999 > 0 ? x.p999 / y.p999 : 0, y.max > 0 ? x.max / y.max : 0);
}

static void print_reasons(void)
{
    int i;

    printf("  answers:");
    for (i = 0; i < CONV_REASON_COUNT; i++)
        if (B.reasons[i])
            printf(" %s %llu", conv_reason_code((enum conv_reason)i),
                   (unsigned long long)B.reasons[i]);
    printf("\n");
}

/* Phase A: 10 parcels/s for --seconds, echo interleaved, into rtt, ack and
 * echo; with the COPY + COMMIT baseline beside it when commit_base. */
static int run_phase_a(struct samples *rtt, struct samples *ack, struct samples *echo,
                       bool commit_base)
{
    struct err e;
    int rc = 0;

    reset_counts();
    B.phase = PH_A;
    B.rtt = rtt;
    B.ack_lat = ack;
    B.ertt = echo;
    B.ticks = 0;
    B.ticks_max = B.seconds * 20;
    uv_update_time(&B.loop);
    B.t0_ns = uv_now(&B.loop) * 1000000ull; /* uv_now is uv_hrtime in ms */
    if (commit_base && commit_base_start(B.t0_ns, B.seconds, &e) < 0) {
        fprintf(stderr, "bench-roundtrip: %s\n", e.msg);
        return -1;
    }
    uv_timer_start(&B.tick, tick_cb, 0, 0);
    if (run_until(phase_a_done, (uint64_t)B.seconds * 1000 + DRAIN_TIMEOUT_MS) < 0) {
        fprintf(stderr, "bench-roundtrip: phase A: %zu RES_ / %zu ACK_ / %zu echoes missing\n",
                B.req_out, B.upd_out, B.eout);
        rc = -1;
    }
    if (commit_base)
        commit_base_join();
    printf("\nphase A%s: 10 parcels/s for %u s (%llu parcels; echo: %llu messages, interleaved)"
           "\n",
           commit_base || B.consoles == 0 ? "" : "2, consoles attached", B.seconds,
           (unsigned long long)B.ress, (unsigned long long)B.egot);
    print_reasons();
    slowest_print("REQ_ -> RES_", &B.slow_req);
    slowest_print("echo        ", &B.slow_echo);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-roundtrip --connect HOST:PORT --http URL --preadvice FILE\n"
            "                       [--token-file F] [--db CONNINFO] [--seconds S]"
            " [--max-seconds S] [--window N] [--consoles N]\n"
            "  --token-file F: wcsd's bearer token (a role that may read) for /v1/status\n"
            "  --consoles N: run phase A again with N live consoles (GET /v1/stream)"
            " attached\n");
}

static int parse_args(int argc, char **argv)
{
    const char *connect = NULL, *http = NULL, *pre = NULL, *colon;
    int i;

    B.seconds = 60;
    B.max_seconds = 20;
    B.window = 64;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        unsigned long n;

        if (v == NULL) {
            usage();
            return -1;
        }
        i++;
        if (strcmp(a, "--connect") == 0) {
            connect = v;
        } else if (strcmp(a, "--http") == 0) {
            http = v;
        } else if (strcmp(a, "--preadvice") == 0) {
            pre = v;
        } else if (strcmp(a, "--db") == 0) {
            B.db = v;
        } else if (strcmp(a, "--token-file") == 0) {
            char secret[TOKEN_SECRET_MAX + 1];
            struct err e;
            int rc = token_read_file(v, secret, sizeof(secret), &e);

            if (rc == 0 && token_auth_header(secret, B.auth, sizeof(B.auth)) < 0)
                rc = err_set(&e, ERR_INVALID, "%s: the token is too long", v);
            explicit_bzero(secret, sizeof(secret));
            if (rc < 0) {
                fprintf(stderr, "bench-roundtrip: --token-file: %s\n", e.msg);
                return -1;
            }
        } else if (strcmp(a, "--seconds") == 0 || strcmp(a, "--max-seconds") == 0 ||
                   strcmp(a, "--window") == 0 || strcmp(a, "--consoles") == 0) {
            errno = 0;
            n = strtoul(v, &end, 10);
            if (*end != '\0' || errno != 0 || n == 0 || n > 20000) {
                /* Each parcel in flight holds 2 of the 99,999 seqs. */
                fprintf(stderr, "bench-roundtrip: %s: %s is not a number 1..20000\n", a, v);
                return -1;
            }
            if (strcmp(a, "--seconds") == 0)
                B.seconds = (unsigned)n;
            else if (strcmp(a, "--max-seconds") == 0)
                B.max_seconds = (unsigned)n;
            else if (strcmp(a, "--consoles") == 0)
                B.consoles = (unsigned)n > CONSOLES_MAX ? CONSOLES_MAX : (unsigned)n;
            else
                B.window = (unsigned)n;
        } else {
            usage();
            return -1;
        }
    }
    if (connect == NULL || http == NULL || pre == NULL) {
        usage();
        return -1;
    }
    colon = strrchr(connect, ':');
    if (colon == NULL || (size_t)(colon - connect) >= sizeof(B.host) || atoi(colon + 1) <= 0) {
        fprintf(stderr, "bench-roundtrip: --connect: %s is not HOST:PORT\n", connect);
        return -1;
    }
    snprintf(B.host, sizeof(B.host), "%.*s", (int)(colon - connect), connect);
    B.port = atoi(colon + 1);
    if (strstr(http, "/v1/status") != NULL) {
        snprintf(B.status_url, sizeof(B.status_url), "%s", http);
    } else {
        size_t hl = strlen(http);

        while (hl > 0 && http[hl - 1] == '/')
            hl--;
        snprintf(B.status_url, sizeof(B.status_url), "%.*s/v1/status", (int)hl, http);
    }
    snprintf(B.stream_url, sizeof(B.stream_url), "%.*s/v1/stream",
             (int)(strstr(B.status_url, "/v1/status") - B.status_url), B.status_url);
    {
        struct err e;
        if (read_codes(pre, &B.codes, &e) < 0) {
            fprintf(stderr, "bench-roundtrip: %s\n", e.msg);
            return -1;
        }
    }
    return 0;
}

static void link_closed_cb(void *arg)
{
    *(bool *)arg = true;
}

int main(int argc, char **argv)
{
    struct conv_link_callbacks cbs = {plc_telegram_cb, plc_state_cb, NULL};
    struct conv_link_config lc;
    struct samples a_rtt = {0}, a_ack = {0}, a_echo = {0}, b_rtt = {0}, b_ack = {0}, b_echo = {0};
    struct samples c_rtt = {0}, c_ack = {0}, c_echo = {0};
    struct status st0, st1;
    struct err e;
    struct sockaddr_in sa;
    struct conv_telegram msg;
    bool closed = false, ok = true, persisted;
    double b_wcs_s, b_durable_s, b_echo_s, rate_res, rate_durable, rate_ack, rate_echo;
    uint64_t b_parcels, b_acks, b_res;
    struct pcts pa;
    int rc = 1;

    log_init("bench-roundtrip", LOG_LEVEL_WARN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv) < 0)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    B.rng = 0x9E3779B97F4A7C15ull;
    /* Tracking numbers unique across runs against the same database, so no
     * UPD_ of this run looks like a resend of an earlier run's. */
    B.tracking_base = ((uint64_t)time(NULL) % 9000 + 1000) * 1000000ull;

    if (uv_loop_init(&B.loop) < 0)
        return 1;
    uv_timer_init(&B.loop, &B.tick);
    uv_timer_init(&B.loop, &B.watchdog);
    uv_timer_init(&B.loop, &poll_timer);

    /* The echo message: a real 160-byte REQ_ telegram. */
    memset(&msg, 0, sizeof(msg));
    msg.type = CONV_TG_REQ;
    snprintf(msg.sender, sizeof(msg.sender), "PLC01");
    snprintf(msg.receiver, sizeof(msg.receiver), "WCS01");
    msg.seq = 1;
    snprintf(msg.u.req.tracking, sizeof(msg.u.req.tracking), "0000000001");
    snprintf(msg.u.req.location, sizeof(msg.u.req.location), "SCAN01");
    snprintf(msg.u.req.barcode, sizeof(msg.u.req.barcode), "%s", B.codes.v[0].code);
    msg.u.req.weight_g = msg.u.req.length_mm = msg.u.req.width_mm = msg.u.req.height_mm = -1;
    conv_tg_time((int64_t)time(NULL), msg.u.req.time);
    if (conv_tg_format(&msg, MSG_LEN, B.emsg, &e) < 0) {
        fprintf(stderr, "bench-roundtrip: echo message: %s\n", e.msg);
        return 1;
    }

    if (echo_srv_start(&e) < 0) {
        fprintf(stderr, "bench-roundtrip: %s\n", e.msg);
        return 1;
    }
    uv_tcp_init(&B.loop, &B.ecli);
    uv_ip4_addr("127.0.0.1", S.port, &sa);
    if (uv_tcp_connect(&B.ecreq, &B.ecli, (const struct sockaddr *)&sa, cli_connect_cb) < 0 ||
        run_until(echo_up, 5000) < 0 || !B.eup) {
        fprintf(stderr, "bench-roundtrip: cannot connect to the echo server\n");
        goto out;
    }

    conv_link_config_defaults(&lc);
    snprintf(lc.name, sizeof(lc.name), "bench-plc");
    snprintf(lc.local_id, sizeof(lc.local_id), "PLC01");
    snprintf(lc.peer_id, sizeof(lc.peer_id), "WCS01");
    lc.mode = CONV_LINK_CLIENT;
    snprintf(lc.host, sizeof(lc.host), "%s", B.host);
    lc.port = B.port;
    if (conv_link_start(&B.loop, &lc, &cbs, NULL, &B.link, &e) < 0) {
        fprintf(stderr, "bench-roundtrip: link: %s\n", e.msg);
        goto out;
    }
    if (run_until(link_up, 10000) < 0) {
        fprintf(stderr, "bench-roundtrip: wcsd at %s:%d did not accept the link\n", B.host,
                B.port);
        goto out;
    }
    if (get_status(&st0, &e) < 0) {
        fprintf(stderr, "bench-roundtrip: %s\n", e.msg);
        goto out;
    }
    if (B.db != NULL && commit_base_open(B.db, &e) < 0) {
        fprintf(stderr, "bench-roundtrip: %s\n", e.msg);
        goto out;
    }

    printf("bench-roundtrip: wcsd %s:%d, %zu pre-advised codes, telegrams of %d bytes\n", B.host,
           B.port, B.codes.n, MSG_LEN);

    /* Phase A: 10 parcels/s, echo interleaved. */
    if (run_phase_a(&a_rtt, &a_ack, &a_echo, B.db != NULL) < 0)
        ok = false;
    if (C.failed)
        ok = false;
    /* Phase A2: the same with --consoles live consoles attached. */
    if (B.consoles > 0) {
        if (consoles_start(B.consoles, &e) < 0) {
            fprintf(stderr, "bench-roundtrip: %s\n", e.msg);
            goto out;
        }
        if (run_phase_a(&c_rtt, &c_ack, &c_echo, false) < 0)
            ok = false;
        consoles_stop();
    }

    /* Phase B, wcsd: window REQ_ outstanding. */
    reset_counts();
    B.phase = PH_B_WCS;
    B.rtt = &b_rtt;
    B.ack_lat = &b_ack;
    uv_update_time(&B.loop);
    B.t0_ns = uv_hrtime();
    B.stop_ns = B.t0_ns + (uint64_t)B.max_seconds * 1000000000ull;
    B.issuing = true;
    {
        unsigned i;
        for (i = 0; i < B.window; i++)
            send_req();
    }
    if (run_until(phase_b_wcs_done, (uint64_t)B.max_seconds * 1000 + DRAIN_TIMEOUT_MS) < 0) {
        fprintf(stderr, "bench-roundtrip: phase B: %zu RES_ / %zu ACK_ missing\n", B.req_out,
                B.upd_out);
        ok = false;
    }
    b_res = B.ress;
    b_parcels = B.ress;
    b_acks = B.acks;
    b_wcs_s = (double)(B.last_res_ns - B.t0_ns) / 1e9;
    b_durable_s = (double)(B.last_ack_ns - B.t0_ns) / 1e9;
    poll_done = false;
    uv_timer_start(&poll_timer, poll_cb, 0, 0);
    if (run_until(poll_finished, PERSIST_TIMEOUT_MS) < 0 || poll_rc < 0) {
        fprintf(stderr, "bench-roundtrip: events not all written: %s\n",
                poll_rc < 0 ? poll_err.msg : "timeout");
        ok = false;
    }
    st1 = poll_st;

    /* Phase B, echo: the same window and duration. */
    B.esent = B.egot = 0;
    B.phase = PH_B_ECHO;
    B.ertt = &b_echo;
    B.t0_ns = uv_hrtime();
    B.stop_ns = B.t0_ns + (uint64_t)B.max_seconds * 1000000000ull;
    B.issuing = true;
    {
        unsigned i;
        for (i = 0; i < B.window && i < ECHO_RING; i++)
            echo_send();
    }
    if (run_until(phase_b_echo_done, (uint64_t)B.max_seconds * 1000 + DRAIN_TIMEOUT_MS) < 0) {
        fprintf(stderr, "bench-roundtrip: phase B echo: %zu echoes missing\n", B.eout);
        ok = false;
    }
    b_echo_s = (double)(uv_hrtime() - B.t0_ns) / 1e9;

    rate_res = b_wcs_s > 0 ? (double)b_res / b_wcs_s : 0;
    rate_durable = b_durable_s > 0 ? (double)b_parcels / b_durable_s : 0;
    rate_ack = b_durable_s > 0 ? (double)b_acks / b_durable_s : 0;
    rate_echo = b_echo_s > 0 ? (double)B.egot / b_echo_s : 0;
    persisted = ok && st1.dropped == st0.dropped && st1.db_errors == st0.db_errors &&
                st1.written == st1.pushed && st1.log_dropped == 0 && b_acks == b_parcels;

    printf("phase B: window %u parcels (REQ_ .. ACK_) for %u s (%llu parcels; echo: %llu messages, after it)\n",
           B.window, B.max_seconds, (unsigned long long)b_parcels, (unsigned long long)B.egot);
    print_reasons();

    printf("\nround trip (us)              n       p50       p99     p99.9       max\n");
    printf(" at 10 parcels/s\n");
    print_row("REQ_ -> RES_", &a_rtt);
    print_row("echo 160 B", &a_echo);
    print_ratio("ratio REQ_/echo", &a_rtt, &a_echo);
    print_row("UPD_ -> ACK_ (durable)", &a_ack);
    if (B.db != NULL) {
        print_row("COPY+COMMIT, 1 row", &C.lat);
        print_ratio("ratio ACK_/COPY+COMMIT", &a_ack, &C.lat);
    }
    if (B.consoles > 0) {
        printf(" at 10 parcels/s with %u live consoles attached (%llu events, %llu bytes received"
               " by them)\n",
               B.consoles, (unsigned long long)K.events, (unsigned long long)K.bytes);
        print_row("REQ_ -> RES_", &c_rtt);
        print_row("echo 160 B", &c_echo);
        print_ratio("ratio REQ_/echo", &c_rtt, &c_echo);
        print_row("UPD_ -> ACK_ (durable)", &c_ack);
        print_ratio("with/without consoles", &c_rtt, &a_rtt);
        print_ratio("echo with/without", &c_echo, &a_echo);
    }
    printf(" at max rate, window %u\n", B.window);
    print_row("REQ_ -> RES_", &b_rtt);
    print_row("echo 160 B", &b_echo);
    print_ratio("ratio REQ_/echo", &b_rtt, &b_echo);
    print_row("UPD_ -> ACK_ (durable)", &b_ack);

    printf("\nmax rate\n");
    printf("  decisions (REQ_ -> RES_)          %10.0f parcels/s over %.2f s\n", rate_res,
           b_wcs_s);
    printf("  durable (until the last ACK_)     %10.0f parcels/s over %.2f s\n", rate_durable,
           b_durable_s);
    printf("  ACK_ throughput                   %10.0f ACK_/s (%llu ACK_, %llu DUPLIC__)\n",
           rate_ack, (unsigned long long)b_acks, (unsigned long long)B.acks_dup);
    printf("  echo                              %10.0f messages/s over %.2f s\n", rate_echo,
           b_echo_s);
    printf("  ratio durable parcels / echo      %10.3f\n", rate_echo > 0 ? rate_durable / rate_echo
                                                                          : 0);
    printf("  wcsd events: pushed %lld, written %lld, queued %lld, dropped %lld, db errors %lld"
           " (this run: +%lld pushed, +%lld written, +%lld dropped); RES_ past deadline %lld\n",
           st1.pushed, st1.written, st1.queued, st1.dropped, st1.db_errors - st0.db_errors,
           st1.pushed - st0.pushed, st1.written - st0.written, st1.dropped - st0.dropped,
           st1.late - st0.late);
    printf("  unmatched RES_ %llu, unmatched ACK_ %llu, seq reused in flight %llu, errors %llu\n",
           (unsigned long long)B.res_unmatched, (unsigned long long)B.ack_unmatched,
           (unsigned long long)B.seq_reuse, (unsigned long long)(B.errs + B.eerr));

    pa = samples_pcts(&a_rtt);
    printf("\ngoals\n");
    printf("  p99.9 REQ_ -> RES_ under %.0f us at 10/s: %s (%.0f us, %zu samples%s)\n",
           GOAL_P999_US, pa.n > 0 && pa.p999 < GOAL_P999_US ? "met" : "NOT met", pa.p999, pa.n,
           pa.n < 1000 ? "; under 1000 samples p99.9 is the max" : "");
    printf("  at least %.0f parcels/s with every event persisted: %s (%.0f parcels/s, %s)\n",
           GOAL_RATE, persisted && rate_durable >= GOAL_RATE ? "met" : "NOT met", rate_durable,
           persisted ? "all events written, none dropped" : "NOT all persisted");
    if (B.db != NULL) {
        struct pcts ack = samples_pcts(&a_ack), base = samples_pcts(&C.lat);
        double r50 = base.p50 > 0 ? ack.p50 / base.p50 : 0, r99 = base.p99 > 0 ? ack.p99 / base.p99 : 0;

        printf("  durable ACK_ within %.0fx of a single-row COPY+COMMIT: %s (p50 %.0f us vs %.0f us:"
               " %.2f; p99 %.0f us vs %.0f us: %.2f)\n",
               GOAL_ACK_VS_COMMIT, ack.n > 0 && base.n > 0 && r50 <= GOAL_ACK_VS_COMMIT ? "met"
                                                                                   : "NOT met",
               ack.p50, base.p50, r50, ack.p99, base.p99, r99);
    } else {
        printf("  durable ACK_ within %.0fx of a single-row COPY+COMMIT: n/a (no --db)\n",
               GOAL_ACK_VS_COMMIT);
    }
    rc = ok && persisted && B.errs == 0 && B.eerr == 0 ? 0 : 1;

out:
    if (B.link != NULL)
        conv_link_stop(B.link, link_closed_cb, &closed);
    uv_close((uv_handle_t *)&B.tick, NULL);
    uv_close((uv_handle_t *)&B.watchdog, NULL);
    uv_close((uv_handle_t *)&poll_timer, NULL);
    uv_close((uv_handle_t *)&B.ecli, NULL);
    uv_run(&B.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&B.loop) != 0)
        fprintf(stderr, "bench-roundtrip: loop not closed cleanly\n");
    echo_srv_stop();
    commit_base_join();
    PQfinish(C.conn);
    free(C.lat.v);
    free(a_rtt.v);
    free(a_ack.v);
    free(a_echo.v);
    free(b_rtt.v);
    free(b_ack.v);
    free(b_echo.v);
    free(c_rtt.v);
    free(c_ack.v);
    free(c_echo.v);
    free(B.codes.v);
    curl_global_cleanup();
    return rc;
}

/*
 * test-outage.c - wcsd under failure, end to end. The test plays a sorter PLC
 * (a real conveyor link in client mode) against a real wcsd (server mode)
 * that logs to its own private PostgreSQL cluster, which the test stops and
 * starts in the middle of a run (scripts/pg-test.sh; not the shared "pg"
 * fixture, whose cluster other tests use at the same time).
 *
 * 1. PostgreSQL stops while parcels are sorted: every REQ_ still gets its
 *    RES_ (decisions come from memory), every UPD_ its ACK_ (now once the
 *    events are fsync'd to the local spool), and when the database is back
 *    the spool drains: every decision, confirmation and telegram is in the
 *    database exactly once.
 * 2. wcsd is killed with SIGKILL in the middle of a run while the database is
 *    down, with requests and updates in flight. After a restart the PLC
 *    resends what had no answer: every update that was ACKed before the kill
 *    is in the database exactly once, its resend is answered DUPLIC__, and
 *    every parcel ends sorted with one confirmation.
 * 3. wcsd dies between an UPD_'s telegram record and its confirmation (one
 *    record per batch, the confirmation's insert held back by a trigger, no
 *    spool, then SIGKILL): the two are one unit, so the telegram log never
 *    holds the UPD_ without its confirmation, and the PLC's resend after
 *    the restart is applied (not answered DUPLIC__ with the parcel missing
 *    from its bag).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "conveyor/link.h"
#include "conveyor/telegram.h"
#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"
#include "wcs/store/store.h"

#define WATCHDOG_MS 20000     /* one answer, one reconnect */
#define SLOW_WATCHDOG_MS 120000 /* a cluster start or stop, a drain under ASan */
#define MAX_PARCELS 400
#define SEQ_SPACE 100000      /* telegram seq 1..99999 */
#define TRACKING_FMT "51%08d" /* parcel i has tracking 51000000ii */
/* LIFE interval of both ends: a link is dead after 3 x this of silence, so a
 * test process starved of CPU on a busy machine does not drop it. */
#define LIFE_MS 3000

/* --- the run's state ----------------------------------------------------- */

static char pgdir[128], pg_base[256], pg_script[512];
static char codes[MAX_PARCELS][41]; /* pre-advised codes from the sample file */
static struct twcsd wcsd;           /* the daemon under test (tests/common/testwcsd.h) */

/* One parcel as the PLC sees it. */
struct parcel {
    char tracking[11];
    char destination[21];
    int reqs;       /* REQ_ sent */
    int res;        /* RES_ received */
    int upds;       /* UPD_ sent (first send and resends) */
    int acks;       /* ACK_ received for its UPD_ */
    int dups;       /* of which answered DUPLIC__ */
    bool acked_before_kill;
};

static struct parcel parcels[MAX_PARCELS];
static int seq_owner[SEQ_SPACE]; /* UPD_ seq on this connection -> parcel index + 1 */
static unsigned n_req, n_res, n_upd, n_ack, n_stray;

/* --- the loop, the PLC's link -------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t watchdog, pump_timer, drain_timer;
static bool timed_out, pumped;
static struct conv_link *plc;
static bool plc_up;

static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    timed_out = true;
}

/* Fails the test with what the PLC saw, to tell a lost answer from a
 * dropped connection. */
static void watchdog_fail(const char *what)
{
    struct conv_link_stats ls;

    memset(&ls, 0, sizeof(ls));
    if (plc != NULL)
        conv_link_get_stats(plc, &ls);
    fail_msg("watchdog: still waiting for %s (link %s, %llu connects, %llu disconnects, "
             "%llu dead; sent %u REQ_ %u UPD_, got %u RES_ %u ACK_, %u stray)",
             what, plc_up ? "up" : "down", (unsigned long long)ls.connects,
             (unsigned long long)ls.disconnects, (unsigned long long)ls.dead_links, n_req, n_upd,
             n_res, n_ack, n_stray);
}

/* Runs the loop until cond holds; fails the test after ms. */
#define RUN_UNTIL_MS(cond, ms)                                                                     \
    do {                                                                                           \
        uv_timer_start(&watchdog, watchdog_cb, (ms), 0);                                           \
        timed_out = false;                                                                         \
        while (!(cond)) {                                                                          \
            if (timed_out)                                                                         \
                watchdog_fail(#cond);                                                              \
            uv_run(&loop, UV_RUN_ONCE);                                                            \
        }                                                                                          \
        uv_timer_stop(&watchdog);                                                                  \
    } while (0)
#define RUN_UNTIL(cond) RUN_UNTIL_MS(cond, WATCHDOG_MS)

static void pump_cb(uv_timer_t *t)
{
    (void)t;
    pumped = true;
}

/* Runs the loop for ms (keeps the link alive while the test waits). */
static void pump(unsigned ms)
{
    pumped = false;
    uv_timer_start(&pump_timer, pump_cb, ms, 0);
    RUN_UNTIL(pumped);
}

/* wcsd's stderr is a pipe: read it on the loop so a chatty outage (a warning
 * per failed database attempt) can never fill it and block the daemon. */
static void drain_cb(uv_timer_t *t)
{
    char chunk[4096];
    ssize_t n;

    (void)t;
    if (wcsd.p.pid <= 0)
        return;
    while ((n = read(wcsd.p.err_fd, chunk, sizeof(chunk))) > 0)
        fwrite(chunk, 1, (size_t)n, stderr);
}

static struct parcel *parcel_of(const char *tracking)
{
    int i;

    if (strncmp(tracking, "51", 2) != 0)
        return NULL;
    i = atoi(tracking + 2);
    return i >= 0 && i < MAX_PARCELS ? &parcels[i] : NULL;
}

static void plc_telegram_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                            void *arg)
{
    struct parcel *p;

    (void)l;
    (void)raw;
    (void)arg;
    if (t->type == CONV_TG_RES) {
        p = parcel_of(t->u.res.tracking);
        if (p == NULL) {
            n_stray++;
            return;
        }
        snprintf(p->destination, sizeof(p->destination), "%s", t->u.res.destination);
        p->res++;
        n_res++;
    } else if (t->type == CONV_TG_ACK) {
        uint32_t s = t->u.ack.acked_seq;

        if (t->u.ack.acked_type != CONV_TG_UPD || s >= SEQ_SPACE || seq_owner[s] == 0) {
            n_stray++;
            return;
        }
        p = &parcels[seq_owner[s] - 1];
        seq_owner[s] = 0;
        p->acks++;
        if (t->u.ack.duplicate)
            p->dups++;
        n_ack++;
    }
}

static void plc_state_cb(struct conv_link *l, bool up, void *arg)
{
    (void)l;
    (void)arg;
    plc_up = up;
    /* ACK_s never cross connections: what was unanswered must be resent. */
    memset(seq_owner, 0, sizeof(seq_owner));
}

static uint32_t send_tg(struct conv_telegram *t)
{
    uint32_t seq = 0;
    struct err e;

    if (conv_link_send(plc, t, &seq, &e) < 0)
        fail_msg("send: %s", e.msg);
    return seq;
}

static void send_req(int i)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "%s", parcels[i].tracking);
    snprintf(t.u.req.location, sizeof(t.u.req.location), "SCAN01");
    t.u.req.barcode_kind = CONV_BARCODE_CODE;
    snprintf(t.u.req.barcode, sizeof(t.u.req.barcode), "%s", codes[i]);
    t.u.req.weight_g = -1;
    t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    conv_tg_time(1795000000 + i, t.u.req.time);
    send_tg(&t);
    parcels[i].reqs++;
    n_req++;
}

/* Sends the parcel's UPD_ SORTED at its destination. The stamp is fixed per
 * parcel, so a second call is a resend (same content, new seq), as a PLC
 * resends an update it has no ACK_ for. */
static void send_upd(int i)
{
    struct conv_telegram t;
    uint32_t seq;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "%s", parcels[i].tracking);
    snprintf(t.u.upd.location, sizeof(t.u.upd.location), "%s", parcels[i].destination);
    t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.upd.event = CONV_UPD_SORTED;
    conv_tg_time(1795100000 + i, t.u.upd.time);
    seq = send_tg(&t);
    assert_true(seq > 0 && seq < SEQ_SPACE);
    seq_owner[seq] = i + 1;
    parcels[i].upds++;
    n_upd++;
}

/* REQ_ -> RES_ -> UPD_ SORTED -> ACK_, one parcel. */
static void sort_one(int i)
{
    struct parcel *p = &parcels[i];
    int res = p->res, acks = p->acks;

    send_req(i);
    RUN_UNTIL(p->res > res);
    send_upd(i);
    RUN_UNTIL(p->acks > acks);
}

/* --- helpers: pg-test.sh, wcsctl, HTTP, SQL ------------------------------ */

static bool script_done, script_closed;
static int64_t script_status;
static uv_process_t script_proc;

static void script_closed_cb(uv_handle_t *h)
{
    (void)h;
    script_closed = true;
}

static void script_exit_cb(uv_process_t *h, int64_t status, int sig)
{
    script_status = sig ? 128 + sig : status;
    script_done = true;
    uv_close((uv_handle_t *)h, script_closed_cb);
}

/* pg-test.sh start|stop on the private cluster, on the loop: the PLC link
 * keeps exchanging LIFE meanwhile, as a sorter would. */
static void pg_ctl(const char *cmd)
{
    char c[16];
    char *args[] = {pg_script, c, pgdir, NULL};
    uv_stdio_container_t stdio[3];
    uv_process_options_t o;

    snprintf(c, sizeof(c), "%s", cmd);
    memset(&o, 0, sizeof(o));
    memset(stdio, 0, sizeof(stdio));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 2;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    o.file = pg_script;
    o.args = args;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = script_exit_cb;
    script_done = script_closed = false;
    assert_int_equal(uv_spawn(&loop, &script_proc, &o), 0);
    RUN_UNTIL_MS(script_done && script_closed, SLOW_WATCHDOG_MS);
    if (script_status != 0)
        fail_msg("pg-test.sh %s %s: exit %lld", cmd, pgdir, (long long)script_status);
}

/* The writer's counters from GET /v1/status. */
struct wstat {
    long long pushed, written, queued, db_errors, durable, spooled, drained, spool_records,
        spool_bytes;
    bool spool_alarm;
};

static long long field(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);

    if (!json_is_integer(v))
        fail_msg("/v1/status: events.%s missing", name);
    return (long long)json_integer_value(v);
}

static void status(struct wstat *s)
{
    json_t *j, *ev;

    assert_int_equal(tu_http(wcsd.http_port, "/v1/status", NULL, &j), 200);
    assert_non_null(j);
    ev = json_object_get(j, "events");
    assert_non_null(ev);
    s->pushed = field(ev, "pushed");
    s->written = field(ev, "written");
    s->queued = field(ev, "queued");
    s->db_errors = field(ev, "db_errors");
    s->durable = field(ev, "durable");
    s->spooled = field(ev, "spooled");
    s->drained = field(ev, "drained");
    s->spool_records = field(ev, "spool_records");
    s->spool_bytes = field(ev, "spool_bytes");
    assert_true(json_is_boolean(json_object_get(ev, "spool_alarm")));
    s->spool_alarm = json_is_true(json_object_get(ev, "spool_alarm"));
    json_decref(j);
}

/* Waits (bounded) until the writer has nothing queued and an empty spool:
 * everything pushed so far is in the database. */
static void wait_drained(struct wstat *s)
{
    int tries;

    for (tries = 0; tries < 1200; tries++) {
        status(s);
        if (s->queued == 0 && s->spool_records == 0 && s->spool_bytes == 0)
            return;
        pump(100);
    }
    fail_msg("writer not drained after 120 s: queued %lld, spool %lld records, %lld bytes",
             s->queued, s->spool_records, s->spool_bytes);
}

/* Runs sql on a connection of its own; fails the test unless it ends in
 * status want. The caller clears the result. */
static PGresult *sql_run(const char *sql, ExecStatusType want)
{
    PGconn *c;
    PGresult *r;
    struct err e;

    if (wcs_db_connect(wcsd.conninfo, &c, &e) < 0)
        fail_msg("connect: %s", e.msg);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != want)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQfinish(c);
    return r;
}

static PGresult *query(const char *sql)
{
    return sql_run(sql, PGRES_TUPLES_OK);
}

static long long db_count(const char *sql)
{
    PGresult *r = query(sql);
    long long n = atoll(PQgetvalue(r, 0, 0));

    PQclear(r);
    return n;
}

/* Per parcel, the rows of `events` matching `where` whose detail begins
 * "tracking <its tracking>" (decisions and confirmations do); counts[i] for
 * parcel i. Returns the rows that belong to no parcel of the test. */
static long long per_parcel(const char *where, int counts[MAX_PARCELS])
{
    char sql[512];
    PGresult *r;
    long long stray = 0;
    int row;

    memset(counts, 0, sizeof(int) * MAX_PARCELS);
    snprintf(sql, sizeof(sql),
             "SELECT substring(detail from 10 for 10), count(*) FROM events WHERE %s "
             "GROUP BY 1",
             where);
    r = query(sql);
    for (row = 0; row < PQntuples(r); row++) {
        struct parcel *p = parcel_of(PQgetvalue(r, row, 0));

        if (p == NULL)
            stray += atoll(PQgetvalue(r, row, 1));
        else
            counts[p - parcels] = atoi(PQgetvalue(r, row, 1));
    }
    PQclear(r);
    return stray;
}

/* Nothing stored twice: no two rows with one id, and (by_raw) no telegram
 * stored twice under two ids (a telegram's bytes are unique within one
 * connection: the header carries its seq). */
static void assert_no_twice(bool by_raw)
{
    assert_int_equal(db_count("SELECT count(*) - count(DISTINCT id) FROM telegrams"), 0);
    assert_int_equal(db_count("SELECT count(*) - count(DISTINCT id) FROM events"), 0);
    if (by_raw)
        assert_int_equal(db_count("SELECT count(*) - count(DISTINCT (direction, raw))"
                                  " FROM telegrams WHERE type IN ('REQ_', 'RES_', 'UPD_', 'ACK_')"),
                         0);
}

/* Records reached the database in push order: ids are assigned at push, and
 * a record committed by a later transaction (higher xmin) never has a lower
 * id than one committed before it, across both tables. */
static void assert_committed_in_order(void)
{
    assert_int_equal(db_count("SELECT count(*) FROM (SELECT x, lag(x) OVER (ORDER BY id) AS p FROM"
                              " (SELECT id, xmin::text::bigint AS x FROM events UNION ALL"
                              "  SELECT id, xmin::text::bigint FROM telegrams) u) o"
                              " WHERE p > x"),
                     0);
}

/* A fresh database on the private cluster with the sample plan and
 * pre-advice, wcsd on it with a spool (or, split: without one, and one
 * record per batch), and the PLC connected. */
static int setup_run_as(const char *name, bool split)
{
    struct conv_link_callbacks cbs = {plc_telegram_cb, plc_state_cb, NULL};
    struct conv_link_config lc;
    struct err e;
    int i;

    memset(parcels, 0, sizeof(parcels));
    for (i = 0; i < MAX_PARCELS; i++)
        snprintf(parcels[i].tracking, sizeof(parcels[i].tracking), TRACKING_FMT, i);
    memset(seq_owner, 0, sizeof(seq_owner));
    n_req = n_res = n_upd = n_ack = n_stray = 0;

    twcsd_prepare(&wcsd, name, pg_base);
    if (split)
        twcsd_config(&wcsd,
                     "events:\n  batch_max: 1\n"
                     "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                     "    life_interval_ms: %d\n    locations: [SCAN01]\n",
                     wcsd.plc_port[0], LIFE_MS);
    else
        twcsd_config(&wcsd,
                     "events:\n  spool_path: %s/spool\n"
                     "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                     "    life_interval_ms: %d\n    locations: [SCAN01]\n",
                     wcsd.dir, wcsd.plc_port[0], LIFE_MS);
    twcsd_start(&wcsd);

    conv_link_config_defaults(&lc);
    snprintf(lc.name, sizeof(lc.name), "test-plc");
    snprintf(lc.local_id, sizeof(lc.local_id), "PLC01");
    snprintf(lc.peer_id, sizeof(lc.peer_id), "WCS01");
    lc.mode = CONV_LINK_CLIENT;
    snprintf(lc.host, sizeof(lc.host), "127.0.0.1");
    lc.port = wcsd.plc_port[0];
    lc.life_interval_ms = LIFE_MS;
    lc.reconnect_max_ms = 1000; /* come back quickly after the restart */
    assert_int_equal(conv_link_start(&loop, &lc, &cbs, NULL, &plc, &e), 0);
    RUN_UNTIL(plc_up);
    return 0;
}

static int setup_outage(void **state)
{
    (void)state;
    return setup_run_as("wcs_test_outage_pg", false);
}

static int setup_kill(void **state)
{
    (void)state;
    return setup_run_as("wcs_test_outage_kill", false);
}

static int setup_split(void **state)
{
    (void)state;
    return setup_run_as("wcs_test_outage_split", true);
}

static void closed_cb(void *arg)
{
    *(bool *)arg = true;
}

/* Stops the PLC and wcsd and removes the run's directory; leaves the
 * cluster running for the next test (it may have been stopped by a test that
 * failed half-way). */
static int teardown_run(void **state)
{
    bool closed = false;
    int rc;

    (void)state;
    if (plc != NULL) {
        conv_link_stop(plc, closed_cb, &closed);
        RUN_UNTIL(closed);
        plc = NULL;
    }
    plc_up = false;
    rc = twcsd_teardown(&wcsd);
    pg_ctl("start");
    return rc;
}

static int group_setup(void **state)
{
    int i;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    testdb_source_path("scripts/pg-test.sh", pg_script, sizeof(pg_script));
    snprintf(pgdir, sizeof(pgdir), "/tmp/wcs-test-outage-pg-%d", (int)getpid());

    /* The first MAX_PARCELS pre-advised codes of the sample file. */
    for (i = 0; i < MAX_PARCELS; i++)
        twcsd_sample_code(i, codes[i], sizeof(codes[i]));

    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &watchdog);
    uv_timer_init(&loop, &pump_timer);
    uv_timer_init(&loop, &drain_timer);
    uv_timer_start(&drain_timer, drain_cb, 50, 50);

    /* Our own cluster: each run's database is made on it (setup_run). */
    pg_ctl("start");
    snprintf(pg_base, sizeof(pg_base), "host=%s port=5432 user=postgres", pgdir);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[512];
    int rc = 0;

    (void)state;
    if (twcsd_teardown(&wcsd) != 0) /* when a run's setup failed half-way */
        rc = -1;
    pg_ctl("stop");
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_close((uv_handle_t *)&pump_timer, NULL);
    uv_close((uv_handle_t *)&drain_timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        rc = -1;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", pgdir);
    if (system(cmd) != 0)
        rc = -1;
    curl_global_cleanup();
    return rc;
}

/* --- 1. PostgreSQL stops and starts in the middle of a run --------------- */

static void test_database_outage_mid_run(void **state)
{
    struct wstat s0, s1, s2;
    int dec[MAX_PARCELS], conf[MAX_PARCELS];
    char sql[256];
    int i;

    (void)state;
    for (i = 0; i < 100; i++)
        sort_one(i);
    status(&s0);
    assert_int_equal(s0.spooled, 0);

    /* The database goes away. Requests are answered from memory and updates
     * ACKed from the spool's fsync: sort_one() waits for each answer. */
    pg_ctl("stop");
    for (i = 100; i < 200; i++)
        sort_one(i);
    status(&s1);
    assert_true(s1.db_errors > 0);
    assert_true(s1.spooled > 0);
    assert_true(s1.spool_records > 0);
    assert_true(s1.spool_bytes > 0);
    assert_false(s1.spool_alarm); /* a few KB of the default 1 GiB */
    /* ACK_ was sent only for durable records: everything ACKed so far is
     * covered by the durable ticket, though not written. */
    assert_true(s1.durable > 0);
    assert_true(s1.written < s1.pushed);

    /* The database is back: the spool drains behind the new traffic. */
    pg_ctl("start");
    for (i = 200; i < 300; i++)
        sort_one(i);
    wait_drained(&s2);
    assert_true(s2.drained > 0);
    assert_int_equal(s2.drained, s2.spooled); /* every spooled record reached the database */
    assert_int_equal(s2.written, s2.pushed);
    assert_int_equal(n_stray, 0);

    /* Exactly one decision and one SORTED__ confirmation per parcel. */
    assert_int_equal(per_parcel("kind = 'decision'", dec), 0);
    assert_int_equal(per_parcel("kind = 'confirm' AND reason = 'SORTED__'", conf), 0);
    for (i = 0; i < 300; i++) {
        if (dec[i] != 1 || conf[i] != 1)
            fail_msg("parcel %s: %d decision(s), %d confirmation(s)", parcels[i].tracking,
                     dec[i], conf[i]);
        assert_int_equal(parcels[i].dups, 0);
    }
    assert_int_equal(db_count("SELECT count(*) FROM events WHERE reason = 'DUPLIC__'"), 0);

    /* The telegram log has one row per telegram the PLC sent and received. */
    assert_int_equal(n_req, 300);
    assert_int_equal(n_res, 300);
    assert_int_equal(n_upd, 300);
    assert_int_equal(n_ack, 300);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM telegrams WHERE plc = 'PLC01' AND direction = 'i'"
             " AND type = 'REQ_'");
    assert_int_equal(db_count(sql), n_req);
    assert_int_equal(db_count("SELECT count(*) FROM telegrams WHERE plc = 'PLC01'"
                              " AND direction = 'o' AND type = 'RES_'"),
                     n_res);
    assert_int_equal(db_count("SELECT count(*) FROM telegrams WHERE plc = 'PLC01'"
                              " AND direction = 'i' AND type = 'UPD_'"),
                     n_upd);
    assert_int_equal(db_count("SELECT count(*) FROM telegrams WHERE plc = 'PLC01'"
                              " AND direction = 'o' AND type = 'ACK_'"),
                     n_ack);
    assert_no_twice(true);
    assert_committed_in_order();
}

/* --- 2. kill -9 of wcsd in the middle of a run --------------------------- */

static void test_kill_mid_run(void **state)
{
    struct wstat s;
    int dec[MAX_PARCELS], conf[MAX_PARCELS];
    int i, answered, acked_before = 0, in_flight_req = 0, in_flight_upd = 0, lost_decisions = 0;
    unsigned dups_total = 0;
    char sql[512];

    (void)state;
    /* 50 parcels with the database up, 50 with it down (ACKed from the
     * spool only). */
    for (i = 0; i < 50; i++)
        sort_one(i);
    pg_ctl("stop");
    for (i = 50; i < 100; i++)
        sort_one(i);
    status(&s);
    assert_true(s.spool_records > 0);

    /* A burst: 20 requests at once, updates for the first answers, 20 more
     * requests, and wcsd is killed while all that is in flight. */
    for (i = 100; i < 120; i++)
        send_req(i);
    RUN_UNTIL(n_res >= 110);
    answered = (int)n_res - 100;
    for (i = 100; i < 120; i++)
        if (parcels[i].res > 0)
            send_upd(i);
    for (i = 120; i < 140; i++)
        send_req(i);
    uv_run(&loop, UV_RUN_NOWAIT); /* let the writes go out */
    twcsd_kill(&wcsd);
    RUN_UNTIL(!plc_up);
    for (i = 0; i < 140; i++) {
        struct parcel *p = &parcels[i];

        p->acked_before_kill = p->acks > 0;
        acked_before += p->acked_before_kill;
        in_flight_req += p->reqs > 0 && p->res == 0;
        in_flight_upd += p->upds > 0 && p->acks == 0;
    }
    print_message("killed wcsd: %d parcels ACKed, %d REQ_ and %d UPD_ unanswered, %d answered "
                  "in the burst\n",
                  acked_before, in_flight_req, in_flight_upd, answered);
    assert_true(acked_before >= 100);

    /* The database and wcsd come back; the PLC reconnects. */
    pg_ctl("start");
    twcsd_start(&wcsd);
    RUN_UNTIL_MS(plc_up, 60000);

    /* The PLC resends every update that had no ACK_, asks again for
     * parcels that had no RES_, and reports parcels answered but not yet
     * reported. Resends of updates whose first copy was durable must be
     * answered DUPLIC__ and not applied again: the test also resends every
     * update ACKed before the kill (in the database or only in the spool). */
    for (i = 0; i < 140; i++) {
        struct parcel *p = &parcels[i];
        int acks = p->acks, dups = p->dups;

        if (p->res == 0) {
            int res = p->res;

            send_req(i);
            RUN_UNTIL(p->res > res);
        }
        send_upd(i);
        RUN_UNTIL(p->acks > acks);
        if (p->acked_before_kill && p->dups == dups)
            fail_msg("parcel %s (%s before the kill): resent UPD_ not answered DUPLIC__",
                     p->tracking, i < 50 ? "in the database" : "spooled only");
    }
    for (i = 140; i < 160; i++)
        sort_one(i);
    wait_drained(&s);
    assert_true(s.drained > 0); /* the killed daemon's spool reached the database */
    assert_int_equal(n_stray, 0);

    assert_int_equal(per_parcel("kind = 'decision'", dec), 0);
    assert_int_equal(per_parcel("kind = 'confirm' AND reason = 'SORTED__'", conf), 0);
    for (i = 0; i < 160; i++) {
        struct parcel *p = &parcels[i];

        dups_total += (unsigned)p->dups;
        /* Every parcel sorted once, whatever happened to its telegrams. */
        if (conf[i] != 1)
            fail_msg("parcel %s: %d SORTED__ confirmations", p->tracking, conf[i]);
        /* A parcel ACKed before the kill has its decision (its ticket came
         * before the confirmation's); one asked again after the restart
         * has a new one. Only a parcel answered but not ACKed before the
         * kill may have lost its decision (it was never durable). */
        if (p->acked_before_kill || i >= 140)
            assert_int_equal(dec[i], 1);
        else if (p->reqs > 1)
            assert_true(dec[i] >= 1 && dec[i] <= 2);
        else
            assert_true(dec[i] <= 1);
        lost_decisions += dec[i] == 0;
        /* The telegram log holds the original UPD_ of an ACKed parcel and
         * the resend, once each. */
        if (p->acked_before_kill) {
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM telegrams WHERE direction = 'i' AND type = 'UPD_'"
                     " AND raw LIKE '%%%.10s%%'",
                     p->tracking);
            assert_int_equal(db_count(sql), 2);
        }
    }
    print_message("after the restart: %u DUPLIC__ answers, %d decisions lost with the kill\n",
                  dups_total, lost_decisions);
    /* Every DUPLIC__ answer has its event, and none was recorded without one. */
    assert_int_equal(db_count("SELECT count(*) FROM events WHERE kind = 'confirm'"
                              " AND reason = 'DUPLIC__'"),
                     dups_total);
    assert_no_twice(false);
    assert_committed_in_order();
}

/* --- 3. killed between an UPD_'s telegram record and its confirmation --- */

static void exec_sql(const char *sql)
{
    PQclear(sql_run(sql, PGRES_COMMAND_OK));
}

static void test_kill_between_telegram_and_event(void **state)
{
    struct parcel *p = &parcels[1];
    struct wstat s0, s;
    int conf[MAX_PARCELS];
    int acks, tries;

    (void)state;
    sort_one(0);
    /* Parcel 1's confirmation cannot be stored for now: its batch fails and
     * is retried, as if the database refused or wcsd were slow there. */
    exec_sql("CREATE FUNCTION hold_confirmation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "IF NEW.reason = 'SORTED__' AND NEW.detail LIKE 'tracking 5100000001%' THEN "
             "RAISE EXCEPTION 'held'; END IF; RETURN NEW; END $$");
    exec_sql("CREATE TRIGGER hold_confirmation BEFORE INSERT ON events FOR EACH ROW EXECUTE "
             "FUNCTION hold_confirmation()");
    send_req(1);
    RUN_UNTIL(p->res > 0);
    status(&s0);
    send_upd(1);
    /* The confirmation's batch has failed (twice): everything before it in
     * the queue is committed; the UPD_ itself must not be, without it. */
    for (tries = 0; tries < 1200; tries++) {
        status(&s);
        if (s.db_errors >= s0.db_errors + 2)
            break;
        pump(50);
    }
    if (tries == 1200)
        fail_msg("the held confirmation's batch did not fail twice in 60 s");
    assert_int_equal(p->acks, 0);
    twcsd_kill(&wcsd);
    RUN_UNTIL(!plc_up);
    exec_sql("DROP TRIGGER hold_confirmation ON events");
    assert_int_equal(db_count("SELECT count(*) FROM telegrams WHERE direction = 'i'"
                              " AND type = 'UPD_' AND raw LIKE '%5100000001%'"),
                     0);

    /* Restarted, the PLC resends the UPD_ it has no ACK_ for: it is new to
     * wcsd, applied, and the parcel is sorted once. */
    twcsd_start(&wcsd);
    RUN_UNTIL_MS(plc_up, 60000);
    acks = p->acks;
    send_upd(1);
    RUN_UNTIL(p->acks > acks);
    assert_int_equal(p->dups, 0);
    wait_drained(&s);
    assert_int_equal(per_parcel("kind = 'confirm' AND reason = 'SORTED__'", conf), 0);
    assert_int_equal(conf[0], 1);
    assert_int_equal(conf[1], 1);
    assert_int_equal(db_count("SELECT count(*) FROM events WHERE reason = 'DUPLIC__'"), 0);
    assert_int_equal(db_count("SELECT count(*) FROM telegrams WHERE direction = 'i'"
                              " AND type = 'UPD_' AND raw LIKE '%5100000001%'"),
                     1);
    assert_no_twice(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_database_outage_mid_run, setup_outage, teardown_run),
        cmocka_unit_test_setup_teardown(test_kill_mid_run, setup_kill, teardown_run),
        cmocka_unit_test_setup_teardown(test_kill_between_telegram_and_event, setup_split,
                                        teardown_run),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

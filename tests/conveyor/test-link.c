/*
 * test-link.c - the PLC link (conveyor/link.c) over real sockets on 127.0.0.1.
 *
 * One uv loop per test runs both ends: a server link with a client link
 * connected to it, or a link with a raw uv_tcp peer where the test needs to
 * write bytes no link would send (garbage, split or coalesced writes, broken
 * telegrams) or a peer that stays silent. Every wait runs the loop until a
 * condition holds, under a 10 s watchdog timer that fails the test instead of
 * hanging it; every test ends with all handles closed and uv_loop_close() == 0.
 * No assertion depends on how fast the machine is: time is only used as a
 * lower bound that the link's own timers guarantee.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <uv.h>

#include "conveyor/link.h"
#include "conveyor/telegram.h"

#define L CONV_TG_LEN_DEFAULT
#define WATCHDOG_MS 10000
#define MAX_KEEP 64 /* telegrams kept per recorder for inspection */

/* --- fixture: loop, watchdog, run-until --------------------------------- */

struct fx {
    uv_loop_t loop;
    uv_timer_t watchdog;
    bool timed_out;
};

static void watchdog_cb(uv_timer_t *t)
{
    struct fx *f = t->data;
    f->timed_out = true;
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(uv_timer_init(&f->loop, &f->watchdog), 0);
    f->watchdog.data = f;
    assert_int_equal(uv_timer_start(&f->watchdog, watchdog_cb, WATCHDOG_MS, 0), 0);
}

/* Runs the loop until cond holds; fails the test when the watchdog fires. */
#define RUN_UNTIL(f, cond)                                                                         \
    do {                                                                                           \
        while (!(cond)) {                                                                          \
            if ((f)->timed_out)                                                                    \
                fail_msg("watchdog: still waiting for %s", #cond);                                 \
            uv_run(&(f)->loop, UV_RUN_ONCE);                                                       \
        }                                                                                          \
    } while (0)

static void fx_done(struct fx *f)
{
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* --- a link end that records everything --------------------------------- */

struct rec {
    uv_loop_t *loop;
    struct conv_link *link;
    uint64_t down_at; /* uv_now() at the last state_cb(false) */
    int ups, downs;
    bool up;
    int ntg;                           /* telegram_cb calls */
    struct conv_telegram tg[MAX_KEEP]; /* the first MAX_KEEP of them */
    uint32_t last_seq;                 /* seq of the last telegram_cb telegram */
    int seq_errors;                    /* telegrams whose seq was not expect_seq */
    uint32_t expect_seq;               /* 0: do not check */
    int wire_in, wire_out, wire_in_life, wire_out_life, wire_in_refused, wire_header_errors;
    int wire_garbage;          /* skipped stretches logged */
    char garbage[256];         /* their bytes, one after the other */
    size_t garbage_len;
    uint32_t last_life_seq_out;
    int life_seq_errors; /* outgoing LIFE seqs that did not follow */
    bool closed;
    bool answer_req; /* answer each REQ_ with a RES_ */
};

static void rec_tg_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                      void *arg)
{
    struct rec *r = arg;
    (void)l;
    assert_memory_equal(raw, "###", 3);
    if (r->ntg < MAX_KEEP)
        r->tg[r->ntg] = *t;
    r->ntg++;
    if (r->expect_seq) {
        if (t->seq != r->expect_seq)
            r->seq_errors++;
        r->expect_seq = conv_tg_seq_next(t->seq);
    }
    r->last_seq = t->seq;
    if (r->answer_req && t->type == CONV_TG_REQ) {
        struct conv_telegram res;
        memset(&res, 0, sizeof(res));
        res.type = CONV_TG_RES;
        snprintf(res.u.res.tracking, sizeof(res.u.res.tracking), "%s", t->u.req.tracking);
        res.u.res.req_seq = t->seq;
        snprintf(res.u.res.location, sizeof(res.u.res.location), "%s", t->u.req.location);
        res.u.res.barcode_kind = CONV_BARCODE_CODE;
        snprintf(res.u.res.barcode, sizeof(res.u.res.barcode), "%s", t->u.req.barcode);
        snprintf(res.u.res.destination, sizeof(res.u.res.destination), "CH017");
        res.u.res.reason = CONV_REASON_OK;
        snprintf(res.u.res.time, sizeof(res.u.res.time), "20261123140902");
        assert_int_equal(conv_link_send(l, &res, NULL, NULL), 0);
    }
}

static void rec_state_cb(struct conv_link *l, bool up, void *arg)
{
    struct rec *r = arg;
    (void)l;
    r->up = up;
    if (up) {
        r->ups++;
    } else {
        r->downs++;
        r->down_at = uv_now(r->loop);
    }
}

static void rec_wire_cb(struct conv_link *l, const struct conv_wire *w, void *arg)
{
    struct rec *r = arg;
    (void)l;
    bool life = w->type == CONV_TG_LIFE;
    /* The parsed header agrees with the bytes (a refused frame has none). */
    if (w->len == L && !w->refused && w->type != CONV_TG_TYPE_COUNT) {
        uint32_t seq = (uint32_t)strtoul(
            (char[6]){w->raw[18], w->raw[19], w->raw[20], w->raw[21], w->raw[22], 0}, NULL, 10);
        if (seq != w->seq || memcmp(w->raw + 23, w->type_text, 4) != 0)
            r->wire_header_errors++;
    }
    if (w->outgoing) {
        r->wire_out++;
        if (life) {
            if (r->last_life_seq_out && w->seq <= r->last_life_seq_out)
                r->life_seq_errors++;
            r->last_life_seq_out = w->seq;
            r->wire_out_life++;
        }
    } else {
        r->wire_in++;
        r->wire_in_life += life;
        r->wire_in_refused += w->refused;
        if (w->refused && w->type == CONV_TG_TYPE_COUNT && w->type_text[0] == '\0') {
            r->wire_garbage++;
            if (r->garbage_len + w->len <= sizeof(r->garbage)) {
                memcpy(r->garbage + r->garbage_len, w->raw, w->len);
                r->garbage_len += w->len;
            }
        }
    }
}

static void rec_closed_cb(void *arg)
{
    struct rec *r = arg;
    r->closed = true;
}

static const struct conv_link_callbacks rec_cbs = {
    .telegram_cb = rec_tg_cb,
    .state_cb = rec_state_cb,
    .wire_cb = rec_wire_cb,
};

static void server_cfg(struct conv_link_config *c, unsigned life_ms)
{
    conv_link_config_defaults(c);
    snprintf(c->name, sizeof(c->name), "srv");
    snprintf(c->local_id, sizeof(c->local_id), "WCS01");
    snprintf(c->peer_id, sizeof(c->peer_id), "PLC01");
    c->mode = CONV_LINK_SERVER;
    snprintf(c->host, sizeof(c->host), "127.0.0.1");
    c->port = 0;
    c->life_interval_ms = life_ms;
}

static void client_cfg(struct conv_link_config *c, int port, unsigned life_ms)
{
    conv_link_config_defaults(c);
    snprintf(c->name, sizeof(c->name), "cli");
    snprintf(c->local_id, sizeof(c->local_id), "PLC01");
    snprintf(c->peer_id, sizeof(c->peer_id), "WCS01");
    c->mode = CONV_LINK_CLIENT;
    snprintf(c->host, sizeof(c->host), "127.0.0.1");
    c->port = port;
    c->life_interval_ms = life_ms;
    c->reconnect_min_ms = 20;
    c->reconnect_max_ms = 1000;
}

static void rec_start(struct fx *f, struct rec *r, const struct conv_link_config *c)
{
    struct err e;
    r->loop = &f->loop;
    int rc = conv_link_start(&f->loop, c, &rec_cbs, r, &r->link, &e);
    if (rc != 0)
        fail_msg("conv_link_start: %s", e.msg);
}

static void rec_stop(struct fx *f, struct rec *r)
{
    conv_link_stop(r->link, rec_closed_cb, r);
    RUN_UNTIL(f, r->closed);
    r->link = NULL;
}

static struct conv_link_stats stats_of(const struct rec *r)
{
    struct conv_link_stats s;
    conv_link_get_stats(r->link, &s);
    return s;
}

/* --- telegrams built by hand --------------------------------------------- */

static void make_req(struct conv_telegram *t, uint32_t seq, int n)
{
    memset(t, 0, sizeof(*t));
    t->length = L;
    snprintf(t->sender, sizeof(t->sender), "PLC01");
    snprintf(t->receiver, sizeof(t->receiver), "WCS01");
    t->seq = seq;
    t->type = CONV_TG_REQ;
    snprintf(t->u.req.tracking, sizeof(t->u.req.tracking), "T%09u", (unsigned)n % 1000000000u);
    snprintf(t->u.req.location, sizeof(t->u.req.location), "SCAN01");
    t->u.req.barcode_kind = CONV_BARCODE_CODE;
    snprintf(t->u.req.barcode, sizeof(t->u.req.barcode), "RR473124829GB");
    t->u.req.weight_g = 1250;
    t->u.req.length_mm = 300;
    t->u.req.width_mm = 200;
    t->u.req.height_mm = 100;
    snprintf(t->u.req.time, sizeof(t->u.req.time), "20261123140901");
}

/* The wire form of REQ_ number n with the given seq, into out[0..L-1]. */
static void req_wire(char *out, uint32_t seq, int n)
{
    struct conv_telegram t;
    struct err e;
    make_req(&t, seq, n);
    if (conv_tg_format(&t, L, out, &e) != 0)
        fail_msg("conv_tg_format: %s", e.msg);
}

/* --- a raw TCP peer --------------------------------------------------------- */

struct raw {
    struct fx *f;
    uv_tcp_t tcp;
    uv_connect_t creq;
    bool connected, eof, closed;
    struct conv_framer framer;
    int ntg; /* telegrams received and parsed */
    struct conv_telegram tg[MAX_KEEP];
    int nerr; /* of those, ERR_ */
    int nlife;
    int bad; /* frames that did not parse, garbage */
    /* byte-at-a-time sender */
    uv_idle_t drip;
    char *drip_buf;
    size_t drip_len, drip_pos;
    bool dripping;
};

static void raw_alloc(uv_handle_t *h, size_t sug, uv_buf_t *b)
{
    (void)h;
    static char buf[65536];
    (void)sug;
    *b = uv_buf_init(buf, sizeof(buf));
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct raw *r = s->data;
    if (n < 0) {
        r->eof = true;
        uv_read_stop(s);
        return;
    }
    const char *p = b->base;
    size_t left = (size_t)n;
    for (;;) {
        size_t used, skipped;
        const char *frame;
        enum conv_frame_kind k = conv_framer_next(&r->framer, p, left, &used, &frame, &skipped);
        p += used;
        left -= used;
        if (k == CONV_FRAME_TELEGRAM) {
            struct conv_telegram t;
            struct conv_tg_refusal why;
            if (conv_tg_parse(frame, L, L, &t, &why, NULL) != 0) {
                r->bad++;
                continue;
            }
            if (r->ntg < MAX_KEEP)
                r->tg[r->ntg] = t;
            r->ntg++;
            r->nerr += t.type == CONV_TG_ERR;
            r->nlife += t.type == CONV_TG_LIFE;
        } else if (k == CONV_FRAME_SKIPPED) {
            r->bad++;
        } else if (left == 0) {
            break;
        }
    }
}

static void raw_connected(uv_connect_t *req, int status)
{
    struct raw *r = req->data;
    assert_int_equal(status, 0);
    r->connected = true;
    assert_int_equal(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read), 0);
}

/* Connects to 127.0.0.1:port from the address from (NULL: any). */
static void raw_connect_from(struct fx *f, struct raw *r, int port, const char *from)
{
    struct sockaddr_in sa, src;
    memset(r, 0, sizeof(*r));
    r->f = f;
    conv_framer_init(&r->framer, L);
    assert_int_equal(uv_ip4_addr("127.0.0.1", port, &sa), 0);
    assert_int_equal(uv_tcp_init(&f->loop, &r->tcp), 0);
    assert_int_equal(uv_idle_init(&f->loop, &r->drip), 0);
    r->tcp.data = r->drip.data = r->creq.data = r;
    if (from != NULL) {
        assert_int_equal(uv_ip4_addr(from, 0, &src), 0);
        assert_int_equal(uv_tcp_bind(&r->tcp, (struct sockaddr *)&src, 0), 0);
    }
    assert_int_equal(uv_tcp_connect(&r->creq, &r->tcp, (struct sockaddr *)&sa, raw_connected), 0);
    RUN_UNTIL(f, r->connected);
}

static void raw_connect(struct fx *f, struct raw *r, int port)
{
    raw_connect_from(f, r, port, NULL);
}

static void raw_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

/* Writes a copy of bytes[0..len-1] in one uv_write. */
static void raw_write(struct raw *r, const char *bytes, size_t len)
{
    uv_write_t *w = malloc(sizeof(*w) + len);
    assert_non_null(w);
    char *copy = (char *)(w + 1);
    memcpy(copy, bytes, len);
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    assert_int_equal(uv_write(w, (uv_stream_t *)&r->tcp, &b, 1, raw_write_done), 0);
}

static void drip_cb(uv_idle_t *h)
{
    struct raw *r = h->data;
    raw_write(r, r->drip_buf + r->drip_pos, 1);
    if (++r->drip_pos == r->drip_len) {
        uv_idle_stop(h);
        r->dripping = false;
    }
}

/* Writes bytes one per loop iteration, so the link reads them in pieces. */
static void raw_drip(struct raw *r, const char *bytes, size_t len)
{
    r->drip_buf = malloc(len);
    assert_non_null(r->drip_buf);
    memcpy(r->drip_buf, bytes, len);
    r->drip_len = len;
    r->drip_pos = 0;
    r->dripping = true;
    assert_int_equal(uv_idle_start(&r->drip, drip_cb), 0);
}

static void raw_closed(uv_handle_t *h)
{
    struct raw *r = h->data;
    r->closed = true;
}

static void raw_close(struct raw *r)
{
    uv_close((uv_handle_t *)&r->drip, NULL);
    uv_close((uv_handle_t *)&r->tcp, raw_closed);
    RUN_UNTIL(r->f, r->closed);
    free(r->drip_buf);
    r->drip_buf = NULL;
}

/* A server link and a client link connected to it. */
static void pair_up(struct fx *f, struct rec *srv, struct rec *cli, unsigned life_ms)
{
    struct conv_link_config c;
    server_cfg(&c, life_ms);
    rec_start(f, srv, &c);
    assert_true(conv_link_port(srv->link) > 0);
    client_cfg(&c, conv_link_port(srv->link), life_ms);
    rec_start(f, cli, &c);
    RUN_UNTIL(f, srv->up && cli->up);
}

/* --- tests ------------------------------------------------------------------ */

static void test_req_res(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0}, cli = {0};
    struct conv_link_config c;
    struct conv_telegram t;
    struct err e;
    uint32_t seq = 0;

    fx_init(&f);
    server_cfg(&c, 5000);
    rec_start(&f, &srv, &c);
    srv.answer_req = true;
    /* Nothing connected yet: sending is a state error, not a crash. */
    make_req(&t, 0, 1);
    assert_int_equal(conv_link_send(srv.link, &t, NULL, &e), ERR_STATE);
    assert_int_equal(conv_link_send_raw(srv.link, "x", 1, &e), ERR_STATE);
    assert_false(conv_link_connected(srv.link));

    client_cfg(&c, conv_link_port(srv.link), 5000);
    rec_start(&f, &cli, &c);
    RUN_UNTIL(&f, srv.up && cli.up);
    assert_true(conv_link_connected(cli.link));
    assert_string_equal(conv_link_config(cli.link)->name, "cli");

    make_req(&t, 0, 42);
    assert_int_equal(conv_link_send(cli.link, &t, &seq, &e), 0);
    assert_int_equal(seq, 1);
    RUN_UNTIL(&f, cli.ntg == 1);

    assert_int_equal(srv.ntg, 1);
    assert_int_equal(srv.tg[0].type, CONV_TG_REQ);
    assert_int_equal(srv.tg[0].seq, 1);
    assert_string_equal(srv.tg[0].sender, "PLC01");
    assert_string_equal(srv.tg[0].receiver, "WCS01");
    assert_string_equal(srv.tg[0].u.req.tracking, "T000000042");
    assert_int_equal(srv.tg[0].u.req.weight_g, 1250);

    assert_int_equal(cli.tg[0].type, CONV_TG_RES);
    assert_int_equal(cli.tg[0].seq, 1);
    assert_int_equal(cli.tg[0].u.res.req_seq, 1);
    assert_string_equal(cli.tg[0].sender, "WCS01");
    assert_string_equal(cli.tg[0].u.res.destination, "CH017");

    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.rx_telegrams, 1);
    assert_int_equal(s.tx_telegrams, 1);
    assert_int_equal(s.connects, 1);
    assert_int_equal(s.disconnects, 0);
    assert_int_equal(s.rx_refused, 0);
    assert_int_equal(srv.wire_in, 1);
    assert_int_equal(srv.wire_out, 1);
    assert_int_equal(cli.wire_in, 1);
    assert_int_equal(cli.wire_out, 1);

    rec_stop(&f, &cli);
    rec_stop(&f, &srv);
    fx_done(&f);
}

/* Sequence numbers 1..99999 then 1 again: 100001 telegrams, paced so the
 * outgoing queue stays small (the link would rightly call a peer dead that
 * leaves 4 MiB unread). */
struct pump {
    uv_idle_t idle;
    struct rec *from, *to;
    int total, sent;
};

static void pump_cb(uv_idle_t *h)
{
    struct pump *p = h->data;
    struct conv_telegram t;
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_LOCU;
    snprintf(t.u.locu.location, sizeof(t.u.locu.location), "CH017");
    t.u.locu.state = CONV_LOC_ACTIVE;
    snprintf(t.u.locu.time, sizeof(t.u.locu.time), "20261123140901");
    for (int i = 0; i < 500 && p->sent < p->total && p->sent - p->to->ntg < 4000; i++) {
        uint32_t seq;
        assert_int_equal(conv_link_send(p->from->link, &t, &seq, NULL), 0);
        p->sent++;
    }
    if (p->sent == p->total)
        uv_idle_stop(h);
}

static void test_seq_wrap(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0}, cli = {0};
    struct pump p = {.from = NULL};

    fx_init(&f);
    pair_up(&f, &srv, &cli, 60000);
    srv.expect_seq = 1;
    p.from = &cli;
    p.to = &srv;
    p.total = CONV_TG_SEQ_MAX + 2;
    assert_int_equal(uv_idle_init(&f.loop, &p.idle), 0);
    p.idle.data = &p;
    assert_int_equal(uv_idle_start(&p.idle, pump_cb), 0);
    RUN_UNTIL(&f, srv.ntg == p.total);
    uv_close((uv_handle_t *)&p.idle, NULL);

    assert_int_equal(srv.seq_errors, 0);
    assert_int_equal(srv.tg[0].seq, 1);
    assert_int_equal(srv.last_seq, 2); /* ..., 99998, 99999, 1, 2 */
    struct conv_link_stats s = stats_of(&cli);
    assert_int_equal(s.tx_telegrams, (uint64_t)p.total);
    assert_int_equal(s.disconnects, 0);
    assert_int_equal(stats_of(&srv).rx_telegrams, (uint64_t)p.total);

    rec_stop(&f, &cli);
    rec_stop(&f, &srv);
    fx_done(&f);
}

static void test_partial_and_coalesced(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0};
    struct raw peer;
    struct conv_link_config c;
    char buf[10 * L];

    fx_init(&f);
    server_cfg(&c, 5000);
    rec_start(&f, &srv, &c);
    raw_connect(&f, &peer, conv_link_port(srv.link));
    RUN_UNTIL(&f, srv.up);

    /* Two telegrams, one byte per write. */
    req_wire(buf, 1, 1);
    req_wire(buf + L, 2, 2);
    raw_drip(&peer, buf, 2 * L);
    RUN_UNTIL(&f, !peer.dripping && srv.ntg == 2);
    assert_string_equal(srv.tg[0].u.req.tracking, "T000000001");
    assert_string_equal(srv.tg[1].u.req.tracking, "T000000002");

    /* Ten telegrams in one write. */
    for (int i = 0; i < 10; i++)
        req_wire(buf + (size_t)i * L, (uint32_t)(3 + i), 3 + i);
    raw_write(&peer, buf, sizeof(buf));
    RUN_UNTIL(&f, srv.ntg == 12);
    for (int i = 0; i < 12; i++) {
        char want[11];
        snprintf(want, sizeof(want), "T%09u", (unsigned)(i + 1) % 1000000000u);
        assert_string_equal(srv.tg[i].u.req.tracking, want);
        assert_int_equal(srv.tg[i].seq, (uint32_t)(i + 1));
    }
    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.rx_telegrams, 12);
    assert_int_equal(s.rx_refused, 0);
    assert_int_equal(s.rx_skipped_bytes, 0);
    assert_int_equal(peer.ntg, 0); /* nothing to complain about */

    raw_close(&peer);
    RUN_UNTIL(&f, srv.downs == 1);
    rec_stop(&f, &srv);
    fx_done(&f);
}

static void test_garbage(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0};
    struct raw peer;
    struct conv_link_config c;
    char buf[4 * L + 64];
    size_t n = 0;
    static const char g1[] = "hello PLC noise!!";     /* 17 bytes */
    static const char g2[] = "\r\n\x01\xff.";         /* 5 bytes */
    static const char g3[] = "junk before the first"; /* 21 bytes */

    fx_init(&f);
    server_cfg(&c, 5000);
    rec_start(&f, &srv, &c);
    raw_connect(&f, &peer, conv_link_port(srv.link));
    RUN_UNTIL(&f, srv.up);

    memcpy(buf + n, g3, sizeof(g3) - 1);
    n += sizeof(g3) - 1;
    req_wire(buf + n, 1, 1);
    n += L;
    memcpy(buf + n, g1, sizeof(g1) - 1);
    n += sizeof(g1) - 1;
    req_wire(buf + n, 2, 2);
    n += L;
    memcpy(buf + n, g2, sizeof(g2) - 1);
    n += sizeof(g2) - 1;
    req_wire(buf + n, 3, 3);
    n += L;
    raw_write(&peer, buf, n);

    RUN_UNTIL(&f, srv.ntg == 3 && peer.nerr == 3);
    for (int i = 0; i < 3; i++) {
        const struct conv_errtg *er = &peer.tg[i].u.err;
        assert_int_equal(peer.tg[i].type, CONV_TG_ERR);
        assert_string_equal(er->code, CONV_ERR_BAD_SYNC);
        assert_null(strstr(er->text, "#")); /* no false sync for a resyncing PLC */
        assert_false(er->has_refused);
        assert_int_equal(peer.tg[i].seq, (uint32_t)(i + 1)); /* the link's own counter */
        assert_string_equal(peer.tg[i].sender, "WCS01");
    }
    assert_string_equal(srv.tg[0].u.req.tracking, "T000000001");
    assert_string_equal(srv.tg[1].u.req.tracking, "T000000002");
    assert_string_equal(srv.tg[2].u.req.tracking, "T000000003");
    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.rx_skipped_bytes, 17 + 5 + 21);
    /* Each stretch went to the telegram log as it came, marked refused. */
    assert_int_equal(srv.wire_garbage, 3);
    assert_int_equal(srv.garbage_len, 21 + 17 + 5);
    assert_memory_equal(srv.garbage, "junk before the firsthello PLC noise!!\r\n\x01\xff.", 43);
    assert_int_equal(s.rx_refused, 0);
    assert_int_equal(s.rx_telegrams, 3);
    assert_int_equal(s.tx_telegrams, 3);
    assert_true(srv.up);
    assert_int_equal(srv.downs, 0);

    raw_close(&peer);
    rec_stop(&f, &srv);
    fx_done(&f);
}

/* Sends the broken telegram, then a good one; expects one ERR_ with the
 * given code naming the broken telegram, the good one delivered, the link
 * still up. */
static void refusal_case(char *broken, const char *code, const char *refused_type)
{
    struct fx f;
    struct rec srv = {0};
    struct raw peer;
    struct conv_link_config c;
    char buf[2 * L];

    fx_init(&f);
    server_cfg(&c, 5000);
    rec_start(&f, &srv, &c);
    raw_connect(&f, &peer, conv_link_port(srv.link));
    RUN_UNTIL(&f, srv.up);

    memcpy(buf, broken, L);
    req_wire(buf + L, 8, 8);
    raw_write(&peer, buf, sizeof(buf));
    RUN_UNTIL(&f, srv.ntg == 1 && peer.nerr == 1);

    assert_int_equal(peer.ntg, 1);
    const struct conv_errtg *er = &peer.tg[0].u.err;
    assert_string_equal(er->code, code);
    assert_true(er->has_refused);
    assert_string_equal(er->refused_type, refused_type);
    assert_int_equal(er->refused_seq, 7);
    assert_true(er->text[0] != '\0');
    assert_string_equal(srv.tg[0].u.req.tracking, "T000000008");
    assert_int_equal(srv.tg[0].seq, 8);

    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.rx_refused, 1);
    assert_int_equal(s.rx_telegrams, 1);
    assert_int_equal(s.rx_skipped_bytes, 0);
    assert_int_equal(srv.wire_in, 2); /* the refused frame is logged too, */
    assert_int_equal(srv.wire_in_refused, 1); /* marked refused */
    assert_int_equal(srv.wire_out, 1);
    assert_int_equal(srv.wire_header_errors, 0);
    assert_true(srv.up);
    assert_int_equal(srv.downs, 0);

    raw_close(&peer);
    rec_stop(&f, &srv);
    fx_done(&f);
}

static void test_unknown_type(void **state)
{
    (void)state;
    char t[L];
    req_wire(t, 7, 7);
    memcpy(t + 23, "XYZW", 4);
    refusal_case(t, CONV_ERR_UNKNOWN_TYPE, "XYZW");
}

static void test_bad_length(void **state)
{
    (void)state;
    char t[L];
    req_wire(t, 7, 7);
    memcpy(t + 3, "00150", 5);
    refusal_case(t, CONV_ERR_BAD_LENGTH, "REQ_");
}

static void test_bad_field(void **state)
{
    (void)state;
    char t[L];
    req_wire(t, 7, 7);
    /* weight_g(6) follows tracking(10), location(20), barcode(20). */
    memcpy(t + 27 + 10 + 20 + 20, "12a456", 6);
    refusal_case(t, CONV_ERR_BAD_FIELD, "REQ_");
}

/* With an allowlist, a host not on it is closed at once and never pushes the
 * live PLC connection aside (a loop of `nc wcsd 2001` must not stall the
 * line); a host in an allowed block gets in. */
static void test_allowlist(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0};
    struct raw plc, stranger, neighbour;
    struct conv_link_config c;
    struct err e;
    char t[L];

    fx_init(&f);
    server_cfg(&c, 5000);
    assert_int_equal(conv_cidr_parse("127.0.0.1", &c.allow[0], &e), 0);
    assert_int_equal(conv_cidr_parse("127.0.0.64/26", &c.allow[1], &e), 0);
    c.nallow = 2;
    rec_start(&f, &srv, &c);
    raw_connect_from(&f, &plc, conv_link_port(srv.link), "127.0.0.1");
    RUN_UNTIL(&f, srv.up);
    raw_connect_from(&f, &stranger, conv_link_port(srv.link), "127.0.0.2");
    RUN_UNTIL(&f, stranger.eof); /* closed at once */
    assert_true(srv.up);
    assert_int_equal(srv.downs, 0); /* the live connection stays */
    req_wire(t, 1, 1);
    raw_write(&plc, t, L);
    RUN_UNTIL(&f, srv.ntg == 1); /* and still carries telegrams */
    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.refused_peers, 1);
    assert_int_equal(s.connects, 1);
    /* 127.0.0.70 is in 127.0.0.64/26: it may connect (and, being allowed,
     * replaces the old connection as a reconnecting PLC would). */
    raw_connect_from(&f, &neighbour, conv_link_port(srv.link), "127.0.0.70");
    RUN_UNTIL(&f, srv.downs == 1 && srv.up);
    assert_int_equal(stats_of(&srv).connects, 2);
    raw_close(&plc);
    raw_close(&stranger);
    raw_close(&neighbour);
    rec_stop(&f, &srv);
    fx_done(&f);
}

/* A telegram from another sender or for another receiver (a stranger, a
 * PLC on the wrong port) is refused like a bad field, never handed up. */
static void test_foreign_ids(void **state)
{
    (void)state;
    char t[L];
    req_wire(t, 7, 7);
    memcpy(t + 8, "PLC09", 5);
    refusal_case(t, CONV_ERR_BAD_FIELD, "REQ_");
    req_wire(t, 7, 7);
    memcpy(t + 13, "WCS02", 5);
    refusal_case(t, CONV_ERR_BAD_FIELD, "REQ_");
}

/* A field holding the sync would be a false start for a resyncing peer:
 * refused when received, impossible to send. */
static void test_false_sync(void **state)
{
    (void)state;
    char t[L];
    struct conv_telegram tg;
    struct err e;

    req_wire(t, 7, 7);
    memcpy(t + 27 + 10, "SC###1", 6); /* in the location field */
    refusal_case(t, CONV_ERR_BAD_FIELD, "REQ_");
    make_req(&tg, 7, 7);
    snprintf(tg.u.req.location, sizeof(tg.u.req.location), "A###B");
    assert_int_equal(conv_tg_format(&tg, L, t, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "location"));
}

static void test_life(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0}, cli = {0};

    fx_init(&f);
    pair_up(&f, &srv, &cli, 100);
    /* Several LIFE each way: more than 3 x life_interval passes without
     * any caller traffic, and the link stays up on LIFE alone. */
    RUN_UNTIL(&f, srv.wire_in_life >= 5 && cli.wire_in_life >= 5);
    assert_int_equal(srv.ntg, 0); /* LIFE is absorbed */
    assert_int_equal(cli.ntg, 0);
    assert_int_equal(srv.life_seq_errors, 0);
    assert_int_equal(srv.wire_header_errors, 0);
    assert_int_equal(cli.wire_header_errors, 0);
    assert_int_equal(srv.downs, 0);
    assert_int_equal(cli.downs, 0);
    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.dead_links, 0);
    assert_true(s.rx_telegrams >= 5);
    assert_int_equal(s.tx_telegrams, (uint64_t)srv.wire_out_life);

    rec_stop(&f, &cli);
    rec_stop(&f, &srv);
    fx_done(&f);
}

static void test_dead_link_server(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0};
    struct raw peer;
    struct conv_link_config c;

    fx_init(&f);
    server_cfg(&c, 100);
    rec_start(&f, &srv, &c);
    uint64_t t0 = uv_now(&f.loop);
    raw_connect(&f, &peer, conv_link_port(srv.link));
    RUN_UNTIL(&f, srv.up);
    /* The peer reads (and gets our LIFE) but never sends. */
    RUN_UNTIL(&f, srv.downs == 1 && peer.eof);
    assert_true(uv_now(&f.loop) - t0 >= 300);
    assert_true(peer.nlife >= 1);
    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.dead_links, 1);
    assert_int_equal(s.disconnects, 1);
    assert_false(conv_link_connected(srv.link));

    raw_close(&peer);
    rec_stop(&f, &srv);
    fx_done(&f);
}

/* A raw server: accepts one connection at a time and never sends. */
struct rawsrv {
    uv_tcp_t listener;
    uv_tcp_t conn[4];
    int naccepted, nclosed;
    int port;
};

static void rawsrv_conn_closed(uv_handle_t *h)
{
    struct rawsrv *s = h->data;
    s->nclosed++;
}

static void rawsrv_accept(uv_stream_t *l, int status)
{
    struct rawsrv *s = l->data;
    assert_int_equal(status, 0);
    assert_true(s->naccepted < 4);
    uv_tcp_t *c = &s->conn[s->naccepted++];
    assert_int_equal(uv_tcp_init(l->loop, c), 0);
    c->data = s;
    assert_int_equal(uv_accept(l, (uv_stream_t *)c), 0);
}

static void test_dead_link_client_reconnects(void **state)
{
    (void)state;
    struct fx f;
    struct rec cli = {0};
    struct rawsrv s;
    struct conv_link_config c;
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    fx_init(&f);
    memset(&s, 0, sizeof(s));
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    assert_int_equal(uv_tcp_init(&f.loop, &s.listener), 0);
    s.listener.data = &s;
    assert_int_equal(uv_tcp_bind(&s.listener, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s.listener, 4, rawsrv_accept), 0);
    assert_int_equal(uv_tcp_getsockname(&s.listener, (struct sockaddr *)&ss, &len), 0);
    s.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

    client_cfg(&c, s.port, 100);
    rec_start(&f, &cli, &c);
    RUN_UNTIL(&f, cli.ups == 1);
    RUN_UNTIL(&f, cli.downs == 1);
    RUN_UNTIL(&f, cli.ups == 2 && s.naccepted == 2);
    struct conv_link_stats st = stats_of(&cli);
    assert_int_equal(st.dead_links, 1);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.connects, 2);

    rec_stop(&f, &cli);
    for (int i = 0; i < s.naccepted; i++)
        uv_close((uv_handle_t *)&s.conn[i], rawsrv_conn_closed);
    uv_close((uv_handle_t *)&s.listener, NULL);
    RUN_UNTIL(&f, s.nclosed == s.naccepted);
    fx_done(&f);
}

static void test_reconnect_after_drop(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0}, cli = {0};
    struct conv_telegram t;
    uint32_t seq;

    fx_init(&f);
    pair_up(&f, &srv, &cli, 5000);
    for (int i = 0; i < 3; i++) {
        make_req(&t, 0, i);
        assert_int_equal(conv_link_send(cli.link, &t, &seq, NULL), 0);
    }
    assert_int_equal(seq, 3);
    RUN_UNTIL(&f, srv.ntg == 3);

    conv_link_drop(srv.link);
    assert_false(conv_link_connected(srv.link));
    assert_int_equal(conv_link_send(srv.link, &t, NULL, NULL), ERR_STATE);
    RUN_UNTIL(&f, cli.downs == 1);
    RUN_UNTIL(&f, cli.ups == 2 && srv.ups == 2);

    /* A new connection starts its sequence at 00001 again. */
    make_req(&t, 0, 9);
    assert_int_equal(conv_link_send(cli.link, &t, &seq, NULL), 0);
    assert_int_equal(seq, 1);
    RUN_UNTIL(&f, srv.ntg == 4);
    assert_int_equal(srv.tg[3].seq, 1);

    struct conv_link_stats s = stats_of(&cli);
    assert_int_equal(s.connects, 2);
    assert_int_equal(s.disconnects, 1);
    assert_int_equal(s.dead_links, 0);
    s = stats_of(&srv);
    assert_int_equal(s.connects, 2);
    assert_int_equal(s.disconnects, 1);

    /* The same from the client side. */
    conv_link_drop(cli.link);
    RUN_UNTIL(&f, cli.ups == 3 && srv.ups == 3);
    assert_int_equal(stats_of(&cli).disconnects, 2);

    rec_stop(&f, &cli);
    rec_stop(&f, &srv);
    fx_done(&f);
}

static void test_server_restart_backoff(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0}, srv2 = {0}, cli = {0};
    struct conv_link_config c;

    fx_init(&f);
    pair_up(&f, &srv, &cli, 5000);
    int port = conv_link_port(srv.link);

    rec_stop(&f, &srv);
    RUN_UNTIL(&f, cli.downs == 1);
    /* Taken in state_cb: the loop time the first reconnect timer counts from. */
    uint64_t down_at = cli.down_at;
    /* With the server gone every attempt fails; the delays before attempts
     * 1..5 are at least 0.8 x 20, 40, 80, 160, 320 ms. Without doubling the
     * fifth failure would come after some 100 ms. */
    RUN_UNTIL(&f, stats_of(&cli).connect_failures >= 5);
    assert_true(uv_now(&f.loop) - down_at >= 16 + 32 + 64 + 128 + 256);
    assert_false(conv_link_connected(cli.link));

    server_cfg(&c, 5000);
    c.port = port;
    rec_start(&f, &srv2, &c);
    assert_int_equal(conv_link_port(srv2.link), port);
    RUN_UNTIL(&f, cli.ups == 2 && srv2.ups == 1);
    struct conv_link_stats s = stats_of(&cli);
    assert_int_equal(s.connects, 2);
    assert_int_equal(s.disconnects, 1);

    /* The back-off was reset by the connection: after a drop the first
     * attempt comes after the minimum again and succeeds. */
    uint64_t before = s.connect_failures;
    conv_link_drop(srv2.link);
    RUN_UNTIL(&f, cli.ups == 3);
    assert_int_equal(stats_of(&cli).connect_failures, before);

    rec_stop(&f, &cli);
    rec_stop(&f, &srv2);
    fx_done(&f);
}

static void test_second_connection_replaces(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0};
    struct raw a, b;
    struct conv_link_config c;
    struct conv_telegram t;
    uint32_t seq;

    fx_init(&f);
    server_cfg(&c, 5000);
    rec_start(&f, &srv, &c);
    raw_connect(&f, &a, conv_link_port(srv.link));
    RUN_UNTIL(&f, srv.ups == 1);
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_SYSU;
    snprintf(t.u.sysu.line, sizeof(t.u.sysu.line), "LINE1");
    t.u.sysu.state = CONV_LINE_RUNNING;
    t.u.sysu.speed_mm_s = 2000;
    snprintf(t.u.sysu.time, sizeof(t.u.sysu.time), "20261123140901");
    assert_int_equal(conv_link_send(srv.link, &t, &seq, NULL), 0);
    assert_int_equal(seq, 1);
    RUN_UNTIL(&f, a.ntg == 1);

    raw_connect(&f, &b, conv_link_port(srv.link));
    RUN_UNTIL(&f, srv.ups == 2 && a.eof);
    assert_int_equal(srv.downs, 1);
    assert_true(srv.up);
    assert_int_equal(conv_link_send(srv.link, &t, &seq, NULL), 0);
    assert_int_equal(seq, 1);
    RUN_UNTIL(&f, b.ntg == 1);
    assert_int_equal(b.tg[0].seq, 1);
    assert_int_equal(a.ntg, 1);
    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.connects, 2);
    assert_int_equal(s.disconnects, 1);

    raw_close(&a);
    raw_close(&b);
    rec_stop(&f, &srv);
    fx_done(&f);
}

struct later {
    uv_timer_t t;
    struct rec *r;
    int seen; /* r->ntg when the timer fired */
    bool fired;
};

static void later_cb(uv_timer_t *t)
{
    struct later *x = t->data;
    x->seen = x->r->ntg;
    x->fired = true;
}

static void test_pause_read(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0}, cli = {0};
    struct conv_telegram t;
    struct later x = {.r = &srv};

    fx_init(&f);
    pair_up(&f, &srv, &cli, 100);
    /* Paused longer than the dead-link period (300 ms): our own silence
     * must not make the peer look dead. */
    conv_link_pause_read(srv.link, 500);
    for (int i = 0; i < 5; i++) {
        make_req(&t, 0, i);
        assert_int_equal(conv_link_send(cli.link, &t, NULL, NULL), 0);
    }
    assert_int_equal(uv_timer_init(&f.loop, &x.t), 0);
    x.t.data = &x;
    assert_int_equal(uv_timer_start(&x.t, later_cb, 400, 0), 0);
    RUN_UNTIL(&f, x.fired);
    assert_int_equal(x.seen, 0); /* nothing read while paused */
    RUN_UNTIL(&f, srv.ntg == 5);
    assert_int_equal(stats_of(&srv).dead_links, 0);
    assert_int_equal(srv.downs, 0);
    assert_int_equal(cli.downs, 0);

    uv_close((uv_handle_t *)&x.t, NULL);
    rec_stop(&f, &cli);
    rec_stop(&f, &srv);
    fx_done(&f);
}

static void test_send_raw_and_queue_bound(void **state)
{
    (void)state;
    struct fx f;
    struct rec srv = {0};
    struct raw peer;
    struct conv_link_config c;
    char t[L];

    fx_init(&f);
    server_cfg(&c, 5000);
    rec_start(&f, &srv, &c);
    raw_connect(&f, &peer, conv_link_port(srv.link));
    RUN_UNTIL(&f, srv.up);

    /* send_raw: garbage then a telegram written as they are. */
    req_wire(t, 1, 1);
    assert_int_equal(conv_link_send_raw(srv.link, "xx", 2, NULL), 0);
    assert_int_equal(conv_link_send_raw(srv.link, t, L, NULL), 0);
    RUN_UNTIL(&f, peer.ntg == 1);
    assert_int_equal(peer.bad, 1); /* the framer skipped "xx" */
    assert_int_equal(stats_of(&srv).tx_telegrams, 0);

    /* A peer that stops reading: the link gives up past 4 MiB queued. */
    uv_read_stop((uv_stream_t *)&peer.tcp);
    struct conv_telegram tg;
    int rc = 0, n = 0;
    make_req(&tg, 0, 1);
    while (rc == 0 && n < 1000000) {
        rc = conv_link_send(srv.link, &tg, NULL, NULL);
        n++;
    }
    assert_int_equal(rc, ERR_FULL);
    assert_false(conv_link_connected(srv.link));
    RUN_UNTIL(&f, srv.downs == 1);
    struct conv_link_stats s = stats_of(&srv);
    assert_int_equal(s.dead_links, 1);
    assert_int_equal(s.disconnects, 1);
    assert_int_equal(s.tx_telegrams, (uint64_t)n);
    assert_int_equal(conv_link_send(srv.link, &tg, NULL, NULL), ERR_STATE);

    raw_close(&peer);
    rec_stop(&f, &srv);
    fx_done(&f);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct fx f;
    struct conv_link_config c;
    struct conv_link *l = NULL;
    struct err e;

    fx_init(&f);
    server_cfg(&c, 0);
    assert_int_equal(conv_link_start(&f.loop, &c, &rec_cbs, NULL, &l, &e), ERR_CONFIG);
    assert_null(l);
    server_cfg(&c, 100);
    c.telegram_len = 100;
    assert_int_equal(conv_link_start(&f.loop, &c, &rec_cbs, NULL, &l, &e), ERR_CONFIG);
    server_cfg(&c, 100);
    snprintf(c.local_id, sizeof(c.local_id), "W*1");
    assert_int_equal(conv_link_start(&f.loop, &c, &rec_cbs, NULL, &l, &e), ERR_CONFIG);
    client_cfg(&c, 0, 100);
    assert_int_equal(conv_link_start(&f.loop, &c, &rec_cbs, NULL, &l, &e), ERR_CONFIG);
    server_cfg(&c, 100);

    /* A port in use: an error, and what was opened closes by itself. */
    struct rec srv = {0};
    server_cfg(&c, 100);
    rec_start(&f, &srv, &c);
    c.port = conv_link_port(srv.link);
    assert_true(conv_link_start(&f.loop, &c, &rec_cbs, NULL, &l, &e) < 0);
    assert_null(l);
    rec_stop(&f, &srv);
    fx_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_res),
        cmocka_unit_test(test_seq_wrap),
        cmocka_unit_test(test_partial_and_coalesced),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_bad_length),
        cmocka_unit_test(test_bad_field),
        cmocka_unit_test(test_foreign_ids),
        cmocka_unit_test(test_allowlist),
        cmocka_unit_test(test_false_sync),
        cmocka_unit_test(test_life),
        cmocka_unit_test(test_dead_link_server),
        cmocka_unit_test(test_dead_link_client_reconnects),
        cmocka_unit_test(test_reconnect_after_drop),
        cmocka_unit_test(test_server_restart_backoff),
        cmocka_unit_test(test_second_connection_replaces),
        cmocka_unit_test(test_pause_read),
        cmocka_unit_test(test_send_raw_and_queue_bound),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* testplc.c - the test's sorter PLC (see testplc.h). */
#include "tests/common/testplc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void watchdog_cb(uv_timer_t *t)
{
    struct tplc *p = t->data;

    p->timed_out = true;
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

void tplc_init(struct tplc *p)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(uv_loop_init(&p->loop), 0);
    uv_timer_init(&p->loop, &p->watchdog);
    uv_timer_init(&p->loop, &p->tick);
    p->watchdog.data = p->tick.data = p;
}

void tplc_arm(struct tplc *p)
{
    p->timed_out = false;
    uv_timer_start(&p->watchdog, watchdog_cb, TPLC_WATCHDOG_MS, 0);
    uv_timer_start(&p->tick, tick_cb, 10, 10);
}

void tplc_disarm(struct tplc *p)
{
    uv_timer_stop(&p->tick);
    uv_timer_stop(&p->watchdog);
}

static void telegram_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                        void *arg)
{
    struct tplc_link_ctx *c = arg;

    (void)l;
    (void)raw;
    if (c->p->ngot < TPLC_KEEP)
        c->p->got[c->p->ngot++] = *t;
}

static void state_cb(struct conv_link *l, bool up, void *arg)
{
    struct tplc_link_ctx *c = arg;

    (void)l;
    *c->up = up;
}

struct conv_link *tplc_link(struct tplc *p, const char *local_id, enum conv_link_mode mode,
                            int port, unsigned life_ms, bool *up)
{
    return tplc_link_to(p, local_id, "WCS01", mode, port, life_ms, up);
}

struct conv_link *tplc_link_to(struct tplc *p, const char *local_id, const char *wcs_id,
                               enum conv_link_mode mode, int port, unsigned life_ms, bool *up)
{
    struct conv_link_callbacks cbs = {telegram_cb, state_cb, NULL};
    struct conv_link_config lc;
    struct tplc_link_ctx *c;
    struct err e;

    assert_true(p->nlinks < TPLC_LINKS);
    c = &p->ctx[p->nlinks];
    c->p = p;
    c->up = up;
    conv_link_config_defaults(&lc);
    snprintf(lc.name, sizeof(lc.name), "test-%s", local_id);
    snprintf(lc.local_id, sizeof(lc.local_id), "%s", local_id);
    snprintf(lc.peer_id, sizeof(lc.peer_id), "%s", wcs_id);
    lc.mode = mode;
    snprintf(lc.host, sizeof(lc.host), "127.0.0.1");
    lc.port = port;
    lc.life_interval_ms = life_ms;
    lc.reconnect_max_ms = 1000; /* come back quickly after a wcsd restart */
    if (conv_link_start(&p->loop, &lc, &cbs, c, &p->links[p->nlinks], &e) < 0)
        fail_msg("link %s: %s", local_id, e.msg);
    return p->links[p->nlinks++];
}

int tplc_find(const struct tplc *p, int from, enum conv_tg_type type, const char *tracking,
              uint32_t acked_seq)
{
    int i;

    for (i = from; i < p->ngot; i++) {
        if (p->got[i].type != type)
            continue;
        if (type == CONV_TG_RES && strcmp(p->got[i].u.res.tracking, tracking) == 0)
            return i;
        if (type == CONV_TG_ACK && p->got[i].u.ack.acked_seq == acked_seq)
            return i;
    }
    return -1;
}

uint32_t tplc_send(struct conv_link *l, struct conv_telegram *t)
{
    uint32_t seq = 0;
    struct err e;

    if (conv_link_send(l, t, &seq, &e) < 0)
        fail_msg("send: %s", e.msg);
    return seq;
}

struct conv_ack tplc_send_acked(struct tplc *p, struct conv_link *l, struct conv_telegram *t)
{
    int from = p->ngot, i;
    uint32_t seq = tplc_send(l, t);

    TPLC_RUN_UNTIL(p, (i = tplc_find(p, from, CONV_TG_ACK, NULL, seq)) >= 0);
    return p->got[i].u.ack;
}

struct conv_res tplc_request(struct tplc *p, struct conv_link *l, const char *tracking,
                             const char *location, const char *barcode, enum conv_barcode kind)
{
    struct conv_telegram t;
    int from = p->ngot, i;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "%s", tracking);
    snprintf(t.u.req.location, sizeof(t.u.req.location), "%s", location);
    t.u.req.barcode_kind = kind;
    if (kind == CONV_BARCODE_CODE)
        snprintf(t.u.req.barcode, sizeof(t.u.req.barcode), "%.20s", barcode);
    t.u.req.weight_g = -1;
    t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    conv_tg_time(1795000000, t.u.req.time);
    tplc_send(l, &t);
    TPLC_RUN_UNTIL(p, (i = tplc_find(p, from, CONV_TG_RES, tracking, 0)) >= 0);
    return p->got[i].u.res;
}

static void closed_cb(void *arg)
{
    (*(int *)arg)++;
}

void tplc_done(struct tplc *p)
{
    int i, closed = 0;

    for (i = 0; i < p->nlinks; i++)
        conv_link_stop(p->links[i], closed_cb, &closed);
    uv_close((uv_handle_t *)&p->watchdog, NULL);
    uv_close((uv_handle_t *)&p->tick, NULL);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, p->nlinks);
    assert_int_equal(uv_loop_close(&p->loop), 0);
}

struct conv_ack tplc_update(struct tplc *p, struct conv_link *l, const char *tracking,
                            const char *location, enum conv_upd_event event, int64_t when)
{
    struct conv_telegram t;
    struct conv_ack ack;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "%s", tracking);
    snprintf(t.u.upd.location, sizeof(t.u.upd.location), "%s", location);
    t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.upd.event = event;
    conv_tg_time(when, t.u.upd.time);
    ack = tplc_send_acked(p, l, &t);
    assert_int_equal(ack.acked_type, CONV_TG_UPD);
    return ack;
}

struct conv_ack tplc_locu(struct tplc *p, struct conv_link *l, const char *chute,
                          enum conv_loc_state st)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_LOCU;
    snprintf(t.u.locu.location, sizeof(t.u.locu.location), "%s", chute);
    t.u.locu.state = st;
    conv_tg_time(1795000002 + st, t.u.locu.time);
    return tplc_send_acked(p, l, &t);
}

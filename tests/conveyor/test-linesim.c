/*
 * test-linesim.c - the line emulator's simulation core driven by a fake WCS
 * made of plain function calls (no sockets): every parcel ends in one final
 * state, a full chute makes a parcel go round and ask again at the same
 * location, a missing answer sends it to the default exit, unacknowledged
 * telegrams are resent after a reconnect, a seeded run is exactly
 * reproducible, the report has its structure; plus the input file readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <uv.h>

#include "common/csv_table.h"
#include "conveyor/link.h"
#include "conveyor/linesim/sim.h"

/* --- the fake WCS ------------------------------------------------------------ */

#define LOG_MAX 20000

struct wcs {
    struct conv_sim *s;
    uint32_t seq; /* the link's numbering on this connection */
    bool up;
    bool answer; /* answer REQ_ at once */
    bool ack;    /* ACK_ UPD_/LOCU/SYSU at once */
    const char *(*route)(struct wcs *w, const struct conv_req *r, enum conv_reason *why);
    struct conv_telegram log[LOG_MAX]; /* everything the PLC sent, in order */
    uint32_t logseq[LOG_MAX];
    size_t nlog;
    struct conv_telegram pending_req[64]; /* REQ_ left unanswered (answer == false) */
    uint32_t pending_seq[64];
    size_t npending;
    uint64_t real_ns;
    unsigned scans;
};

static const char *route_by_code(struct wcs *w, const struct conv_req *r, enum conv_reason *why)
{
    static char buf[8];
    unsigned h = 0;
    const char *c;

    (void)w;
    if (r->barcode_kind != CONV_BARCODE_CODE) {
        *why = CONV_REASON_NOREAD;
        return "SP-NOREAD";
    }
    for (c = r->barcode; *c; c++)
        h = h * 31 + (unsigned char)*c;
    *why = CONV_REASON_OK;
    snprintf(buf, sizeof(buf), "CH%03u", h % 40 + 1);
    return buf;
}

static void wcs_answer(struct wcs *w, const struct conv_telegram *req, uint32_t req_seq)
{
    struct conv_telegram t;
    enum conv_reason why = CONV_REASON_OK;
    const char *dest = w->route(w, &req->u.req, &why);

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_RES;
    t.seq = 1;
    memcpy(t.u.res.tracking, req->u.req.tracking, sizeof(t.u.res.tracking));
    t.u.res.req_seq = req_seq;
    memcpy(t.u.res.location, req->u.req.location, sizeof(t.u.res.location));
    t.u.res.barcode_kind =
        req->u.req.barcode_kind == CONV_BARCODE_CODE ? CONV_BARCODE_CODE : CONV_BARCODE_NOREAD;
    memcpy(t.u.res.barcode, req->u.req.barcode, sizeof(t.u.res.barcode));
    snprintf(t.u.res.destination, sizeof(t.u.res.destination), "%s", dest);
    t.u.res.reason = why;
    w->real_ns += 1000;
    (void)conv_sim_receive(w->s, &t, w->real_ns, NULL);
}

static void wcs_ack(struct wcs *w, const struct conv_telegram *tg, uint32_t seq)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_ACK;
    t.u.ack.acked_type = tg->type;
    t.u.ack.acked_seq = seq;
    assert_int_equal(conv_sim_receive(w->s, &t, w->real_ns, NULL), 0);
}

/* Takes every output: a telegram gets the next seq (or is refused while the
 * link is down), is logged, and is answered or acknowledged at once. */
static void wcs_drain(struct wcs *w)
{
    struct conv_sim_out o;

    while (conv_sim_pop(w->s, &o)) {
        if (o.kind == CONV_SIM_OUT_SCAN) {
            w->scans++;
            continue;
        }
        if (!w->up) {
            conv_sim_unsent(w->s, o.ref);
            continue;
        }
        w->seq = w->seq == 99999 ? 1 : w->seq + 1;
        w->real_ns += 500;
        conv_sim_sent(w->s, o.ref, w->seq, w->real_ns);
        assert_true(w->nlog < LOG_MAX);
        w->log[w->nlog] = o.tg;
        w->logseq[w->nlog++] = w->seq;
        if (o.tg.type == CONV_TG_REQ) {
            if (w->answer) {
                wcs_answer(w, &o.tg, w->seq);
            } else if (w->npending < 64) {
                w->pending_req[w->npending] = o.tg;
                w->pending_seq[w->npending++] = w->seq;
            }
        } else if (w->ack) {
            wcs_ack(w, &o.tg, w->seq);
        }
    }
}

static void wcs_init(struct wcs *w, struct conv_sim *s)
{
    memset(w, 0, sizeof(*w));
    w->s = s;
    w->answer = true;
    w->ack = true;
    w->route = route_by_code;
    w->up = true;
    conv_sim_link_state(s, true);
}

/* Runs event by event until every parcel is final (bounded). */
static void wcs_run(struct wcs *w)
{
    unsigned steps = 0;

    wcs_drain(w);
    while (!(conv_sim_induction_done(w->s) && conv_sim_unfinished(w->s) == 0)) {
        uint64_t next = conv_sim_next_due(w->s);

        assert_true(next != UINT64_MAX);
        conv_sim_advance(w->s, next);
        wcs_drain(w);
        assert_true(++steps < 10000000);
    }
}

static struct conv_sim_item items[500];

static void make_items(size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(items[i].code, sizeof(items[i].code), "RR%09zuCN", 100000000 + i * 7);
        items[i].weight_g = (int32_t)(100 + i);
        items[i].length_mm = items[i].width_mm = items[i].height_mm = -1;
    }
}

static struct conv_sim *new_sim(struct conv_sim_config *c, size_t nitems)
{
    struct conv_sim *s = NULL;
    struct err e = {0};
    int rc;

    make_items(nitems);
    rc = conv_sim_new(c, items, nitems, &s, &e);
    if (rc != 0)
        print_error("conv_sim_new: %s\n", e.msg);
    assert_int_equal(rc, 0);
    return s;
}

/* The distinct final UPD_ events of one tracking number in the log (a
 * duplicated telegram, same content, is one event, as the WCS sees it). */
static unsigned finals_of(const struct wcs *w, const char *tracking)
{
    const struct conv_upd *first = NULL;
    unsigned n = 0;
    size_t i;

    for (i = 0; i < w->nlog; i++) {
        const struct conv_telegram *t = &w->log[i];

        if (t->type == CONV_TG_UPD && strcmp(t->u.upd.tracking, tracking) == 0 &&
            (t->u.upd.event == CONV_UPD_SORTED || t->u.upd.event == CONV_UPD_REJECTED ||
             t->u.upd.event == CONV_UPD_LOST || t->u.upd.event == CONV_UPD_REMOVED)) {
            if (first && memcmp(first, &t->u.upd, sizeof(*first)) == 0)
                continue;
            if (first == NULL)
                first = &t->u.upd;
            n++;
        }
    }
    return n;
}

/* --- tests ------------------------------------------------------------------ */

static void test_every_parcel_one_final_state(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct conv_sim_stats *st;
    struct wcs *w = calloc(1, sizeof(*w));
    uint64_t sum = 0;
    size_t i;
    char tr[11];

    (void)state;
    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 5, 20000);
    c.count = 300;
    c.rate_per_hour = 7200;
    c.noread_ratio = 0.05;
    c.unreadable_ratio = 0.02;
    c.misread_ratio = 0.02;
    c.divert_fail_ratio = 0.05;
    c.lost_ratio = 0.01;
    c.removed_ratio = 0.01;
    c.dup_ratio = 0.05;
    c.req_repeat_ratio = 0.05;
    c.noscan_ratio = 0.05;
    s = new_sim(&c, 300);
    wcs_init(w, s);
    wcs_run(w);
    st = conv_sim_stats(s);
    assert_int_equal(st->inducted, 300);
    assert_int_equal(conv_sim_unfinished(s), 0);
    for (i = 0; i < CONV_SIM_FINAL_COUNT; i++)
        sum += st->final[i];
    assert_int_equal(sum, 300);
    for (i = 0; i < 300; i++) {
        snprintf(tr, sizeof(tr), "%010zu", (size_t)c.tracking_base + i);
        assert_int_equal(finals_of(w, tr), 1);
    }
    /* Capacity 5 over 300 parcels: chutes filled, and parcels went round. */
    assert_true(st->chute_full_events > 0);
    assert_true(st->recirculations > 0);
    assert_int_equal(conv_sim_unacked(s), 0);
    assert_int_equal(st->acks_unmatched, 0);
    assert_true(st->acks_duplicate == 0); /* the fake WCS answers OK even to duplicates */
    assert_int_equal(st->unmatched_answers, 0);
    assert_int_equal(w->scans, st->scans_posted);
    conv_sim_free(s);
    free(w);
}

static const char *route_ch001_then_ch002(struct wcs *w, const struct conv_req *r,
                                          enum conv_reason *why)
{
    size_t i, asked = 0;

    *why = CONV_REASON_OK;
    for (i = 0; i < w->nlog; i++)
        if (w->log[i].type == CONV_TG_REQ && strcmp(w->log[i].u.req.tracking, r->tracking) == 0)
            asked++;
    return asked <= 1 ? "CH001" : "CH002";
}

static void test_full_chute_recirculates_and_asks_again(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct wcs *w = calloc(1, sizeof(*w));
    size_t i, reqs = 0, full_at = 0, recirc_at = 0, second_req = 0, sorted2 = 0;

    (void)state;
    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 1, 600000);
    c.count = 2;
    c.rate_per_hour = 3600; /* one parcel a second */
    s = new_sim(&c, 2);
    wcs_init(w, s);
    w->route = route_ch001_then_ch002;
    wcs_run(w);
    for (i = 0; i < w->nlog; i++) {
        const struct conv_telegram *t = &w->log[i];

        if (t->type == CONV_TG_LOCU && t->u.locu.state == CONV_LOC_FULL &&
            strcmp(t->u.locu.location, "CH001") == 0)
            full_at = i;
        if (t->type == CONV_TG_UPD && strcmp(t->u.upd.tracking, "1000000002") == 0 &&
            t->u.upd.event == CONV_UPD_RECIRC) {
            assert_string_equal(t->u.upd.location, "CH001");
            recirc_at = i;
        }
        if (t->type == CONV_TG_REQ && strcmp(t->u.req.tracking, "1000000002") == 0) {
            assert_string_equal(t->u.req.location, "SCAN01");
            if (++reqs == 2)
                second_req = i;
        }
        if (t->type == CONV_TG_UPD && strcmp(t->u.upd.tracking, "1000000002") == 0 &&
            t->u.upd.event == CONV_UPD_SORTED) {
            assert_string_equal(t->u.upd.location, "CH002");
            sorted2 = i;
        }
    }
    assert_int_equal(reqs, 2);
    assert_true(full_at > 0 && full_at < recirc_at);
    assert_true(recirc_at < second_req && second_req < sorted2);
    assert_int_equal(conv_sim_stats(s)->recirculations, 1);
    assert_int_equal(conv_sim_stats(s)->final[CONV_SIM_SORTED], 2);
    assert_int_equal(conv_sim_chute_sorted(s, 0), 1);
    assert_int_equal(conv_sim_chute_sorted(s, 1), 1);
    conv_sim_free(s);
    free(w);
}

static void test_plc_timeout_default_exit(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct wcs *w = calloc(1, sizeof(*w));
    struct conv_telegram res;
    struct err e = {0};
    size_t i;
    bool rejected = false;

    (void)state;
    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 0, 0);
    c.count = 1;
    s = new_sim(&c, 1);
    wcs_init(w, s);
    w->answer = false;
    wcs_run(w);
    assert_int_equal(w->npending, 1);
    assert_int_equal(conv_sim_stats(s)->plc_timeouts, 1);
    assert_int_equal(conv_sim_stats(s)->final[CONV_SIM_REJECTED], 1);
    for (i = 0; i < w->nlog; i++)
        if (w->log[i].type == CONV_TG_UPD && w->log[i].u.upd.event == CONV_UPD_REJECTED) {
            assert_string_equal(w->log[i].u.upd.location, "EOL");
            rejected = true;
        }
    assert_true(rejected);
    /* The answer finally arrives: too late, counted, not applied. */
    memset(&res, 0, sizeof(res));
    res.type = CONV_TG_RES;
    memcpy(res.u.res.tracking, w->pending_req[0].u.req.tracking, sizeof(res.u.res.tracking));
    res.u.res.req_seq = w->pending_seq[0];
    snprintf(res.u.res.location, sizeof(res.u.res.location), "SCAN01");
    snprintf(res.u.res.destination, sizeof(res.u.res.destination), "CH001");
    assert_int_equal(conv_sim_receive(s, &res, 1, &e), ERR_INVALID);
    assert_int_equal(conv_sim_stats(s)->late_answers, 1);
    assert_int_equal(conv_sim_chute_sorted(s, 0), 0);
    conv_sim_free(s);
    free(w);
}

static void test_plc_timeout_answer_just_late(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct wcs *w = calloc(1, sizeof(*w));
    struct conv_telegram res;

    (void)state;
    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 0, 0);
    c.count = 1;
    c.default_exit_recirc = true; /* late parcels stay on the loop */
    c.max_passes = 2;
    s = new_sim(&c, 1);
    wcs_init(w, s);
    w->answer = false;
    conv_sim_advance(s, 0);
    wcs_drain(w);
    assert_int_equal(w->npending, 1);
    /* The shell hands the answer in after the clock passed the deadline,
     * before the timeout event ran: it is late all the same. */
    conv_sim_advance(s, 149999);
    memset(&res, 0, sizeof(res));
    res.type = CONV_TG_RES;
    memcpy(res.u.res.tracking, w->pending_req[0].u.req.tracking, sizeof(res.u.res.tracking));
    res.u.res.req_seq = w->pending_seq[0];
    snprintf(res.u.res.location, sizeof(res.u.res.location), "SCAN01");
    snprintf(res.u.res.destination, sizeof(res.u.res.destination), "CH001");
    conv_sim_advance(s, 150001);
    assert_int_equal(conv_sim_receive(s, &res, 1, NULL), ERR_INVALID);
    assert_int_equal(conv_sim_stats(s)->late_answers, 1);
    wcs_run(w);
    /* Two passes, both unanswered: RECIRC__ at EOL, asked again, then the
     * PLC's pass limit rejects it. */
    assert_int_equal(conv_sim_stats(s)->recirculations, 1);
    assert_int_equal(conv_sim_stats(s)->plc_timeouts, 2);
    assert_int_equal(conv_sim_stats(s)->final[CONV_SIM_REJECTED], 1);
    assert_int_equal(w->npending, 2);
    assert_string_equal(w->pending_req[1].u.req.tracking, w->pending_req[0].u.req.tracking);
    conv_sim_free(s);
    free(w);
}

static void test_resend_unacked_after_reconnect(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct wcs *w = calloc(1, sizeof(*w));
    struct conv_telegram before[64];
    size_t nbefore = 0, i, j, n0;

    (void)state;
    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 0, 0);
    c.count = 3;
    s = new_sim(&c, 3);
    wcs_init(w, s);
    w->ack = false;
    wcs_run(w);
    /* SYSU + 3 UPD_ SORTED__ sent, none acknowledged. */
    for (i = 0; i < w->nlog; i++)
        if (w->log[i].type != CONV_TG_REQ)
            before[nbefore++] = w->log[i];
    assert_int_equal(nbefore, 4);
    assert_int_equal(conv_sim_unacked(s), 4);

    conv_sim_link_state(s, false);
    w->up = false;
    wcs_drain(w);
    n0 = w->nlog;
    w->up = true;
    w->seq = 0;
    w->ack = true;
    conv_sim_link_state(s, true);
    wcs_drain(w);
    /* A fresh SYSU first, then every unacknowledged telegram in order, same
     * content, acknowledged this time. */
    assert_int_equal(w->nlog - n0, 5);
    assert_int_equal(w->log[n0].type, CONV_TG_SYSU);
    for (i = 0, j = n0 + 1; i < nbefore; i++, j++) {
        assert_int_equal(w->log[j].type, before[i].type);
        assert_memory_equal(&w->log[j].u, &before[i].u, sizeof(before[i].u));
    }
    assert_int_equal(conv_sim_unacked(s), 0);
    assert_int_equal(conv_sim_stats(s)->resent, 4);
    conv_sim_free(s);
    free(w);
}

static void test_telegrams_made_while_down_go_out_after_reconnect(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct wcs *w = calloc(1, sizeof(*w));
    size_t i, upd = 0;

    (void)state;
    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 0, 0);
    c.count = 1;
    s = new_sim(&c, 1);
    wcs_init(w, s);
    conv_sim_advance(s, 0);
    wcs_drain(w); /* REQ_ out, answered: CHxxx */
    conv_sim_link_state(s, false);
    w->up = false;
    wcs_run(w); /* the parcel is sorted while the link is down */
    assert_int_equal(conv_sim_stats(s)->final[CONV_SIM_SORTED], 1);
    assert_int_equal(conv_sim_unacked(s), 1);
    assert_true(conv_sim_stats(s)->tx_unsent >= 1);
    w->up = true;
    w->seq = 0;
    conv_sim_link_state(s, true);
    wcs_drain(w);
    for (i = 0; i < w->nlog; i++)
        upd += w->log[i].type == CONV_TG_UPD;
    assert_int_equal(upd, 1);
    assert_int_equal(conv_sim_unacked(s), 0);
    conv_sim_free(s);
    free(w);
}

static struct conv_sim_stats seeded_run(uint64_t seed)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct wcs *w = calloc(1, sizeof(*w));
    struct conv_sim_stats st;

    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 0, 0);
    c.count = 1000;
    c.rate_per_hour = 36000;
    c.noread_ratio = 0.10;
    c.seed = seed;
    s = new_sim(&c, 500);
    wcs_init(w, s);
    wcs_run(w);
    st = *conv_sim_stats(s);
    conv_sim_free(s);
    free(w);
    return st;
}

static void test_noread_ratio_seeded(void **state)
{
    struct conv_sim_stats a = seeded_run(42), b = seeded_run(42), c = seeded_run(43);

    (void)state;
    /* Exactly reproducible for a seed ... */
    assert_int_equal(a.noreads, b.noreads);
    assert_int_equal(a.final[CONV_SIM_SORTED], b.final[CONV_SIM_SORTED]);
    assert_int_equal(a.noreads, 99);
    assert_int_equal(a.res_by_reason[CONV_REASON_NOREAD], 99);
    assert_int_equal(a.passes, 1000);
    /* ... the ratio honoured roughly, and another seed gives another run. */
    assert_in_range(c.noreads, 70, 130);
    assert_true(c.noreads != a.noreads);
    assert_int_equal(a.final[CONV_SIM_SORTED], 1000);
}

static void test_report_structure(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct wcs *w = calloc(1, sizeof(*w));
    json_t *r, *v;
    const char *keys[] = {"inducted",  "unfinished",     "final", "chutes",
                          "reasons",   "recirculations", "lost",  "latency_us",
                          "telegrams", "faults",         "acks"};
    size_t i;

    (void)state;
    conv_sim_config_defaults(&c);
    conv_sim_config_sample_layout(&c, 0, 0);
    c.count = 50;
    c.noread_ratio = 0.2;
    s = new_sim(&c, 50);
    wcs_init(w, s);
    wcs_run(w);
    r = conv_sim_report(s);
    assert_non_null(r);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(json_object_get(r, keys[i]));
    assert_int_equal(json_integer_value(json_object_get(r, "inducted")), 50);
    assert_int_equal(json_integer_value(json_object_get(r, "unfinished")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "final"), "SORTED")),
                     50);
    v = json_object_get(r, "chutes");
    assert_int_equal(json_object_size(v), 50);
    assert_int_equal(json_integer_value(json_object_get(v, "SP-NOREAD")),
                     conv_sim_stats(s)->noreads);
    v = json_object_get(r, "reasons");
    assert_int_equal(json_integer_value(json_object_get(v, "NOREAD__")) +
                         json_integer_value(json_object_get(v, "OK______")),
                     50);
    v = json_object_get(r, "latency_us");
    assert_int_equal(json_integer_value(json_object_get(v, "count")), 50);
    /* The fake WCS answers 1000 ns after the REQ_ is stamped: 1 us. */
    assert_int_equal(json_integer_value(json_object_get(v, "p50")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "max")), 1);
    v = json_object_get(r, "telegrams");
    assert_int_equal(json_integer_value(json_object_get(v, "sent")), 50 + 50 + 1);
    assert_int_equal(json_integer_value(json_object_get(v, "received")), 50 + 50 + 1);
    assert_int_equal(json_integer_value(json_object_get(v, "err_received")), 0);
    json_decref(r);
    conv_sim_free(s);
    free(w);
}

static void test_quantile(void **state)
{
    uint64_t v[1000];
    size_t i;

    (void)state;
    for (i = 0; i < 1000; i++)
        v[i] = i + 1;
    assert_int_equal(conv_sim_quantile(v, 1000, 0.5), 500);
    assert_int_equal(conv_sim_quantile(v, 1000, 0.99), 990);
    assert_int_equal(conv_sim_quantile(v, 1000, 0.999), 999);
    assert_int_equal(conv_sim_quantile(v, 1000, 1.0), 1000);
    assert_int_equal(conv_sim_quantile(v, 0, 0.5), 0);
}

static void test_bad_config(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s = NULL;
    struct err e = {0};

    (void)state;
    make_items(1);
    conv_sim_config_defaults(&c);
    c.count = 1;
    c.noread_ratio = 1.5;
    assert_int_equal(conv_sim_new(&c, items, 1, &s, &e), ERR_CONFIG);
    assert_null(s);
    c.noread_ratio = 0;
    c.loop_mm = 1000;
    assert_int_equal(conv_sim_new(&c, items, 1, &s, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "loop"));
    conv_sim_config_defaults(&c);
    assert_int_equal(conv_sim_new(&c, items, 1, &s, &e), ERR_CONFIG); /* no count/duration */
    c.count = 1;
    assert_int_equal(conv_sim_new(&c, items, 0, &s, &e), ERR_CONFIG);
}

static void test_unmatched_res_and_ack(void **state)
{
    struct conv_sim_config c;
    struct conv_sim *s;
    struct conv_telegram t;

    (void)state;
    conv_sim_config_defaults(&c);
    c.count = 1;
    s = new_sim(&c, 1);
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_RES;
    snprintf(t.u.res.tracking, sizeof(t.u.res.tracking), "0000000007");
    snprintf(t.u.res.location, sizeof(t.u.res.location), "SCAN01");
    assert_int_equal(conv_sim_receive(s, &t, 0, NULL), ERR_INVALID);
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_ACK;
    t.u.ack.acked_type = CONV_TG_UPD;
    t.u.ack.acked_seq = 17;
    assert_int_equal(conv_sim_receive(s, &t, 0, NULL), ERR_INVALID);
    assert_int_equal(conv_sim_stats(s)->unmatched_answers, 1);
    assert_int_equal(conv_sim_stats(s)->acks_unmatched, 1);
    conv_sim_free(s);
}

/* --- input files ---------------------------------------------------------------- */

static void data_path(char *buf, size_t len, const char *name)
{
    const char *src = getenv("WCS_SOURCE_DIR");

    snprintf(buf, len, "%s/%s", src ? src : "..", name);
}

static void test_load_preadvice_csv(void **state)
{
    char path[4096];
    struct conv_sim_item *it = NULL;
    size_t n = 0;
    struct diag d = DIAG_INIT;
    struct err e = {0};

    (void)state;
    data_path(path, sizeof(path), "data/preadvice-sample.csv");
    assert_int_equal(conv_sim_load_preadvice(path, &it, &n, &d, &e), 0);
    assert_int_equal(n, 2000);
    assert_string_equal(it[0].code, "LA040795573CN");
    assert_int_equal(it[0].weight_g, 65);
    assert_int_equal(it[0].length_mm, 110);
    assert_int_equal(diag_count(&d), 0);
    free(it);

    data_path(path, sizeof(path), "tests/data/preadvice-mixed.csv");
    assert_int_equal(conv_sim_load_preadvice(path, &it, &n, &d, &e), 0);
    assert_int_equal(n, 11);             /* one record spans two lines */
    assert_int_equal(diag_count(&d), 1); /* weight -5: reported, parcel kept */
    assert_int_equal(it[8].weight_g, -1);
    assert_string_equal(it[1].code, "RR123456710CN");
    assert_int_equal(it[1].weight_g, 1200);
    assert_int_equal(it[1].length_mm, -1);
    free(it);
    diag_free(&d);
}

static void test_load_preadvice_jsonl(void **state)
{
    char path[4096];
    struct conv_sim_item *it = NULL;
    size_t n = 0;
    struct diag d = DIAG_INIT;
    struct err e = {0};

    (void)state;
    data_path(path, sizeof(path), "tests/data/preadvice.jsonl");
    assert_int_equal(conv_sim_load_preadvice(path, &it, &n, &d, &e), 0);
    /* 4 objects with a code; "[1,2,3]" and the broken line are reported. */
    assert_int_equal(n, 4);
    assert_string_equal(it[0].code, "RR123456754CN");
    assert_int_equal(it[0].weight_g, 1500);
    assert_int_equal(it[1].weight_g, 1500); /* "1500" as a string */
    assert_int_equal(it[3].length_mm, 300);
    assert_int_equal(diag_count(&d), 2);
    free(it);
    diag_free(&d);

    data_path(path, sizeof(path), "data/preadvice-sample.jsonl");
    assert_int_equal(conv_sim_load_preadvice(path, &it, &n, &d, &e), 0);
    assert_int_equal(n, 300);
    free(it);
    diag_free(&d);
    assert_true(conv_sim_load_preadvice("/nonexistent/x.csv", &it, &n, &d, &e) < 0);
}

/* A JSON Lines row longer than CSV_TABLE_LINE_MAX is a bad row, reported with
 * its line, never held whole; the rows around it still load. */
static void test_load_preadvice_long_line(void **state)
{
    char path[] = "/tmp/test-linesim-longXXXXXX.jsonl";
    struct conv_sim_item *it = NULL;
    size_t n = 0, k;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemps(path, 6);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"code\": \"RR123456754CN\"}\n{\"code\": \"", f);
    for (k = 0; k < CSV_TABLE_LINE_MAX + 10; k++)
        fputc('A', f);
    fputs("\"}\n{\"code\": \"RR123456715CN\"}\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(conv_sim_load_preadvice(path, &it, &n, &d, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(it[1].code, "RR123456715CN");
    assert_int_equal(diag_count(&d), 1);
    assert_non_null(strstr(d.msgs[0], ":2: row: line longer than"));
    free(it);
    diag_free(&d);
    unlink(path);
}

static void test_load_layout(void **state)
{
    char path[] = "/tmp/test-linesim-layoutXXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    struct conv_sim_config c;
    struct diag d = DIAG_INIT;
    struct err e = {0};

    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("id,distance_mm,capacity,empty_ms\nCH001,3000,10,5000\nCH002,4000,,\n", f);
    fclose(f);
    conv_sim_config_defaults(&c);
    assert_int_equal(conv_sim_load_layout(path, &c, &d, &e), 0);
    assert_int_equal(c.nchutes, 2);
    assert_string_equal(c.chutes[1].id, "CH002");
    assert_int_equal(c.chutes[0].capacity, 10);
    assert_int_equal(c.chutes[1].capacity, 0);

    f = fopen(path, "w");
    fputs("id,distance_mm,capacity,empty_ms\n,3000,1,1\nCH9,x,1,1\n", f);
    fclose(f);
    assert_int_equal(conv_sim_load_layout(path, &c, &d, &e), ERR_PARSE);
    assert_int_equal(diag_count(&d), 2);
    assert_int_equal(c.nchutes, 2); /* unchanged on failure */
    unlink(path);
    diag_free(&d);
}

/* --- end to end: wcs-linesim against a tiny in-test WCS over 127.0.0.1 ---------
 * The WCS is a conv_link server in this process answering each REQ_ with a
 * RES_ and acknowledging each UPD_/LOCU/SYSU; the emulator runs as a child
 * process (uv_spawn) on the same loop, so both ends are served by one
 * thread. A watchdog kills the child instead of hanging the test. */

#define E2E_COUNT 300
#define E2E_BASE 2000000001ULL

struct e2e {
    uv_loop_t loop;
    uv_timer_t watchdog;
    uv_process_t child;
    struct conv_link *link;
    bool exited, timed_out;
    int64_t exit_status;
    int term_signal;
    unsigned char req_seen[E2E_COUNT];
    unsigned char final_seen[E2E_COUNT];
    uint64_t reqs, upds, acks_sent;
    unsigned closed;
};

static void e2e_telegram_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                            void *arg)
{
    struct e2e *x = arg;
    struct conv_telegram a;
    unsigned long long tr;

    (void)raw;
    memset(&a, 0, sizeof(a));
    if (t->type == CONV_TG_REQ) {
        tr = strtoull(t->u.req.tracking, NULL, 10) - E2E_BASE;
        if (tr < E2E_COUNT)
            x->req_seen[tr] = 1;
        x->reqs++;
        a.type = CONV_TG_RES;
        memcpy(a.u.res.tracking, t->u.req.tracking, sizeof(a.u.res.tracking));
        a.u.res.req_seq = t->seq;
        memcpy(a.u.res.location, t->u.req.location, sizeof(a.u.res.location));
        if (t->u.req.barcode_kind == CONV_BARCODE_CODE) {
            a.u.res.barcode_kind = CONV_BARCODE_CODE;
            memcpy(a.u.res.barcode, t->u.req.barcode, sizeof(a.u.res.barcode));
            snprintf(
                a.u.res.destination, sizeof(a.u.res.destination), "CH%03u",
                (unsigned)(strlen(t->u.req.barcode) + (unsigned char)t->u.req.barcode[3]) % 40 + 1);
            a.u.res.reason = CONV_REASON_OK;
        } else {
            a.u.res.barcode_kind = CONV_BARCODE_NOREAD;
            snprintf(a.u.res.destination, sizeof(a.u.res.destination), "SP-NOREAD");
            a.u.res.reason = CONV_REASON_NOREAD;
        }
        conv_tg_time(0, a.u.res.time);
    } else if (t->type == CONV_TG_UPD || t->type == CONV_TG_LOCU || t->type == CONV_TG_SYSU) {
        if (t->type == CONV_TG_UPD) {
            x->upds++;
            tr = strtoull(t->u.upd.tracking, NULL, 10) - E2E_BASE;
            if (tr < E2E_COUNT && t->u.upd.event != CONV_UPD_RECIRC &&
                t->u.upd.event != CONV_UPD_NODIVERT)
                x->final_seen[tr] = 1;
        }
        a.type = CONV_TG_ACK;
        a.u.ack.acked_type = t->type;
        a.u.ack.acked_seq = t->seq;
        conv_tg_time(0, a.u.ack.time);
        x->acks_sent++;
    } else {
        return;
    }
    (void)conv_link_send(l, &a, NULL, NULL);
}

static void e2e_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    struct e2e *x = p->data;

    x->exited = true;
    x->exit_status = status;
    x->term_signal = sig;
}

static void e2e_watchdog_cb(uv_timer_t *t)
{
    struct e2e *x = t->data;

    x->timed_out = true;
    if (!x->exited)
        uv_process_kill(&x->child, SIGKILL);
}

static void e2e_closed_cb(uv_handle_t *h)
{
    struct e2e *x = h->data;

    x->closed++;
}

static void e2e_link_closed_cb(void *arg)
{
    struct e2e *x = arg;

    x->closed++;
}

static json_t *e2e_run(struct e2e *x, const char *const *extra, size_t nextra, const char *report)
{
    const char *bin_dir = getenv("WCS_BINARY_DIR");
    char bin[4096], pre[4096], port[16], count[16], base[16];
    const char *args[64];
    size_t na = 0, i;
    struct conv_link_config cfg;
    struct conv_link_callbacks cbs = {.telegram_cb = e2e_telegram_cb};
    uv_process_options_t po;
    uv_stdio_container_t stdio[3];
    struct err e = {0};
    json_t *r;
    json_error_t je;

    snprintf(bin, sizeof(bin), "%s/bin/wcs-linesim", bin_dir ? bin_dir : "..");
    if (access(bin, X_OK) != 0)
        fail_msg("%s: not built (a missing program fails the test, never skips it)", bin);
    data_path(pre, sizeof(pre), "data/preadvice-sample.csv");
    memset(x, 0, sizeof(*x));
    assert_int_equal(uv_loop_init(&x->loop), 0);
    conv_link_config_defaults(&cfg);
    snprintf(cfg.name, sizeof(cfg.name), "test-wcs");
    snprintf(cfg.local_id, sizeof(cfg.local_id), "WCS01");
    snprintf(cfg.peer_id, sizeof(cfg.peer_id), "PLC01");
    cfg.mode = CONV_LINK_SERVER;
    snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
    cfg.port = 0;
    assert_int_equal(conv_link_start(&x->loop, &cfg, &cbs, x, &x->link, &e), 0);
    snprintf(port, sizeof(port), "127.0.0.1:%d", conv_link_port(x->link));
    snprintf(count, sizeof(count), "%d", E2E_COUNT);
    snprintf(base, sizeof(base), "%llu", (unsigned long long)E2E_BASE);
    args[na++] = bin;
    args[na++] = "--connect";
    args[na++] = port;
    args[na++] = "--preadvice";
    args[na++] = pre;
    args[na++] = "--count";
    args[na++] = count;
    args[na++] = "--tracking-base";
    args[na++] = base;
    args[na++] = "--report";
    args[na++] = report;
    args[na++] = "--log-level";
    args[na++] = getenv("LINESIM_LOG") ? getenv("LINESIM_LOG") : "warn";
    for (i = 0; i < nextra; i++)
        args[na++] = extra[i];
    args[na] = NULL;

    memset(&po, 0, sizeof(po));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_IGNORE;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    po.file = bin;
    po.args = (char **)(uintptr_t)args;
    po.exit_cb = e2e_exit_cb;
    po.stdio = stdio;
    po.stdio_count = 3;
    x->child.data = x;
    assert_int_equal(uv_spawn(&x->loop, &x->child, &po), 0);
    assert_int_equal(uv_timer_init(&x->loop, &x->watchdog), 0);
    x->watchdog.data = x;
    assert_int_equal(uv_timer_start(&x->watchdog, e2e_watchdog_cb, 120000, 0), 0);
    while (!x->exited)
        uv_run(&x->loop, UV_RUN_ONCE);
    conv_link_stop(x->link, e2e_link_closed_cb, x);
    uv_close((uv_handle_t *)&x->child, e2e_closed_cb);
    uv_close((uv_handle_t *)&x->watchdog, e2e_closed_cb);
    uv_run(&x->loop, UV_RUN_DEFAULT);
    assert_int_equal(x->closed, 3);
    assert_int_equal(uv_loop_close(&x->loop), 0);
    assert_false(x->timed_out);
    assert_int_equal(x->term_signal, 0);
    assert_int_equal(x->exit_status, 0);
    r = json_load_file(report, 0, &je);
    if (r == NULL)
        fail_msg("%s: %s", report, je.text);
    unlink(report);
    return r;
}

static json_int_t jget(json_t *r, const char *a, const char *b)
{
    json_t *v = json_object_get(r, a);

    if (b != NULL)
        v = json_object_get(v, b);
    if (!json_is_integer(v))
        fail_msg("report: %s.%s missing", a, b ? b : "");
    return json_integer_value(v);
}

/* Every parcel final on both sides. all_reqs: the WCS also saw every REQ_
 * (not so when the link drops: a REQ_ made while it is down is not resent,
 * its parcel runs into the PLC timeout instead). */
static void e2e_check_all_final(struct e2e *x, json_t *r, bool all_reqs)
{
    json_int_t sum = 0;
    size_t i;

    assert_int_equal(jget(r, "inducted", NULL), E2E_COUNT);
    assert_int_equal(jget(r, "unfinished", NULL), 0);
    sum = jget(r, "final", "SORTED") + jget(r, "final", "REJECTED") + jget(r, "final", "LOST") +
          jget(r, "final", "REMOVED");
    assert_int_equal(sum, E2E_COUNT);
    assert_int_equal(jget(r, "telegrams", "unacked"), 0);
    /* What the WCS saw: a request and a final event for every parcel. */
    for (i = 0; i < E2E_COUNT; i++) {
        if (all_reqs)
            assert_int_equal(x->req_seen[i], 1);
        assert_int_equal(x->final_seen[i], 1);
    }
}

static void test_e2e_clean(void **state)
{
    struct e2e *x = calloc(1, sizeof(*x));
    char report[] = "/tmp/test-linesim-reportXXXXXX";
    const char *extra[] = {"--rate",           "36000", "--speed",    "10", "--noread",   "0.05",
                           "--plc-timeout-ms", "2000",  "--capacity", "20", "--empty-ms", "5000"};
    int fd = mkstemp(report);
    json_t *r;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    r = e2e_run(x, extra, sizeof(extra) / sizeof(extra[0]), report);
    e2e_check_all_final(x, r, true);
    assert_int_equal(jget(r, "latency_us", "count"), jget(r, "line", "passes"));
    assert_true(jget(r, "latency_us", "max") >= jget(r, "latency_us", "p50"));
    assert_int_equal(jget(r, "telegrams", "err_received"), 0);
    assert_int_equal(jget(r, "line", "plc_timeouts"), 0);
    assert_true(jget(r, "reasons", "NOREAD__") > 0);
    json_decref(r);
    free(x);
}

static void test_e2e_faults(void **state)
{
    struct e2e *x = calloc(1, sizeof(*x));
    char report[] = "/tmp/test-linesim-reportXXXXXX";
    const char *extra[] = {"--rate",           "36000", "--speed",         "10",
                           "--plc-timeout-ms", "2000",  "--fault-garbage", "0.05",
                           "--fault-drop",     "0.01",  "--fault-dup",     "0.05",
                           "--fault-badlen",   "0.02",  "--seed",          "7"};
    int fd = mkstemp(report);
    json_t *r;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    r = e2e_run(x, extra, sizeof(extra) / sizeof(extra[0]), report);
    e2e_check_all_final(x, r, false);
    /* Each drop is a reconnect; garbage and bad lengths came back as ERR_. */
    assert_true(jget(r, "faults", "link_drops") > 0);
    assert_true(jget(r, "link", "connects") >= 2);
    assert_true(jget(r, "faults", "garbage") > 0);
    assert_true(jget(r, "faults", "duplicated") > 0);
    assert_true(jget(r, "telegrams", "err_received") > 0);
    json_decref(r);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_parcel_one_final_state),
        cmocka_unit_test(test_full_chute_recirculates_and_asks_again),
        cmocka_unit_test(test_plc_timeout_default_exit),
        cmocka_unit_test(test_plc_timeout_answer_just_late),
        cmocka_unit_test(test_resend_unacked_after_reconnect),
        cmocka_unit_test(test_telegrams_made_while_down_go_out_after_reconnect),
        cmocka_unit_test(test_noread_ratio_seeded),
        cmocka_unit_test(test_report_structure),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_unmatched_res_and_ack),
        cmocka_unit_test(test_load_preadvice_csv),
        cmocka_unit_test(test_load_preadvice_jsonl),
        cmocka_unit_test(test_load_preadvice_long_line),
        cmocka_unit_test(test_load_layout),
        cmocka_unit_test(test_e2e_clean),
        cmocka_unit_test(test_e2e_faults),
    };

    /* A write to a socket the emulator just dropped must be an error, not
     * the end of the test process. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

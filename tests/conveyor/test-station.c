/*
 * test-station.c - the PLC protocol's session rules (conveyor/station.h)
 * without a database: a station on a real loopback link, its ops played by
 * an in-memory application whose durability the test controls, against a
 * hand-driven PLC (tests/common/testplc.h) and against the line emulator's
 * pure core (conveyor/linesim/sim.h) driving a whole line with faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "conveyor/linesim/sim.h"
#include "conveyor/station.h"
#include "tests/common/testplc.h"

#define LOC "SCAN01"
#define WINDOW_AFTER_MS 40
#define WINDOW_BEFORE_MS 200

/* The application as the station sees it: decisions from a rule on the
 * code, every record kept in memory, durability moved by hand or at once. */
struct app {
    bool auto_durable;      /* durable == last ticket (a store that keeps up) */
    bool refuse_apply;      /* apply cannot record: returns 0 */
    uint64_t tickets;       /* last ticket handed out */
    uint64_t durable;       /* when !auto_durable */
    unsigned decides, decides_absent, codes_absent;
    unsigned applied[CONV_TG_TYPE_COUNT], resends, wire_in, wire_out, decisions;
    unsigned apply_wires;       /* apply calls that came with the telegram's record */
    struct conv_wire last_wire; /* the last one (raw copied to last_raw) */
    char last_raw[CONV_TG_LEN_MAX];
    char last_codes[CONV_READS_MAX][CONV_SCAN_CODE_MAX + 1];
    size_t last_ncodes;
    unsigned last_recirc;
};

static const char *const chutes[] = {"CH001", "CH002", "CH003", "CH004", "CH005"};

static void app_decide(void *arg, const struct conv_req *req, const char *const *codes,
                       size_t ncodes, unsigned recirc, struct conv_answer *out)
{
    struct app *a = arg;
    size_t i;

    a->decides++;
    if (req->barcode_kind == CONV_BARCODE_ABSENT) {
        a->decides_absent++;
        a->codes_absent += (unsigned)ncodes;
    }
    for (i = 0; i < ncodes; i++)
        snprintf(a->last_codes[i], sizeof(a->last_codes[i]), "%s", codes[i]);
    a->last_ncodes = ncodes;
    a->last_recirc = recirc;
    if (ncodes != 1) {
        snprintf(out->destination, sizeof(out->destination), "%s",
                 ncodes == 0 ? "SP-NOREAD" : "SP-MULTI");
        out->reason = ncodes == 0 ? CONV_REASON_NOREAD : CONV_REASON_MULTIRD;
        return;
    }
    snprintf(out->code, sizeof(out->code), "%s", codes[0]);
    snprintf(out->destination, sizeof(out->destination), "%s",
             chutes[(unsigned char)codes[0][strlen(codes[0]) - 3] % 5]); /* S10 check digit */
    out->reason = CONV_REASON_OK;
    out->ref = 7;
}

static uint64_t app_apply(void *arg, const struct conv_telegram *t, const struct conv_record *wire,
                          const struct conv_track *parcel, bool resend)
{
    struct app *a = arg;

    (void)parcel;
    if (wire != NULL && wire->kind == CONV_RECORD_WIRE && wire->wire != NULL) {
        a->apply_wires++;
        a->last_wire = *wire->wire;
        memcpy(a->last_raw, wire->wire->raw,
               wire->wire->len < sizeof(a->last_raw) ? wire->wire->len : sizeof(a->last_raw));
        a->last_wire.raw = a->last_raw;
    }
    if (a->refuse_apply)
        return 0;
    if (resend)
        a->resends++;
    else
        a->applied[t->type]++;
    return ++a->tickets;
}

static uint64_t app_record(void *arg, const struct conv_record *r)
{
    struct app *a = arg;

    if (r->kind == CONV_RECORD_DECISION)
        a->decisions++;
    else if (r->wire->outgoing)
        a->wire_out++;
    else
        a->wire_in++;
    return ++a->tickets;
}

static uint64_t app_durable(void *arg)
{
    struct app *a = arg;

    return a->auto_durable ? a->tickets : a->durable;
}

static const struct conv_station_ops app_ops = {
    .decide = app_decide, .apply = app_apply, .record = app_record, .durable = app_durable};

/* --- fixture: a station and a hand-driven PLC on one loop ----------------- */

struct fx {
    struct tplc plc;
    struct app app;
    struct conv_correlator *scans;
    struct conv_station *st;
    struct conv_link *link;
    bool up;
    bool closed;
};

static void start_station(struct fx *f)
{
    struct conv_station_config sc;
    struct err e;

    memset(&sc, 0, sizeof(sc));
    conv_link_config_defaults(&sc.link);
    snprintf(sc.link.host, sizeof(sc.link.host), "127.0.0.1");
    sc.link.life_interval_ms = 2000;
    sc.decision_deadline_ms = 100;
    sc.read_window_before_ms = WINDOW_BEFORE_MS;
    sc.read_window_after_ms = WINDOW_AFTER_MS;
    sc.scans = f->scans;
    sc.ops = &app_ops;
    sc.arg = &f->app;
    if (conv_station_start(&f->plc.loop, &sc, &f->st, &e) < 0)
        fail_msg("station: %s", e.msg);
}

/* A station alone (the line test brings its own PLC). */
static int setup_station(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    tplc_init(&f->plc);
    f->scans = conv_corr_new(64);
    f->app.auto_durable = true;
    start_station(f);
    *state = f;
    return 0;
}

/* A station and a hand-driven PLC connected to it. */
static int setup(void **state)
{
    struct fx *f;

    setup_station(state);
    f = *state;
    f->link = tplc_link(&f->plc, "PLC01", CONV_LINK_CLIENT, conv_station_port(f->st), 2000, &f->up);
    TPLC_RUN_UNTIL(&f->plc, f->up && conv_station_connected(f->st));
    return 0;
}

static void closed_cb(void *arg)
{
    *(bool *)arg = true;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    conv_station_stop(f->st, closed_cb, &f->closed);
    tplc_done(&f->plc); /* runs the loop until every handle, the station's too, is closed */
    assert_true(f->closed);
    conv_corr_free(f->scans);
    free(f);
    return 0;
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs the loop for about ms milliseconds. */
static void run_for(struct fx *f, unsigned ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;

    TPLC_RUN_UNTIL(&f->plc, uv_hrtime() >= end);
}

static uint32_t send_locu(struct fx *f, const char *chute, enum conv_loc_state s)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_LOCU;
    snprintf(t.u.locu.location, sizeof(t.u.locu.location), "%s", chute);
    t.u.locu.state = s;
    conv_tg_time(1795000000, t.u.locu.time);
    return tplc_send(f->link, &t);
}

static uint32_t send_upd(struct fx *f, const char *tracking, const char *at, enum conv_upd_event ev)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "%s", tracking);
    snprintf(t.u.upd.location, sizeof(t.u.upd.location), "%s", at);
    t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.upd.event = ev;
    conv_tg_time(1795000000, t.u.upd.time);
    return tplc_send(f->link, &t);
}

static uint64_t requests(const struct fx *f)
{
    struct conv_station_stats s;

    conv_station_get_stats(f->st, &s);
    return s.requests;
}

/* The ACK_ of seq, waited for; fails the test after the watchdog. */
static struct conv_ack wait_ack(struct fx *f, uint32_t seq)
{
    int i;

    TPLC_RUN_UNTIL(&f->plc, (i = tplc_find(&f->plc, 0, CONV_TG_ACK, NULL, seq)) >= 0);
    return f->plc.got[i].u.ack;
}

/* --- session rules, one at a time ----------------------------------------- */

static void test_repeated_req_gets_the_same_answer(void **state)
{
    struct fx *f = *state;
    struct conv_res a = tplc_request(&f->plc, f->link, "0000000001", LOC, "RR000000004CN",
                                     CONV_BARCODE_CODE);
    struct conv_res b = tplc_request(&f->plc, f->link, "0000000001", LOC, "RR000000004CN",
                                     CONV_BARCODE_CODE);
    struct conv_station_stats s;

    assert_string_equal(a.destination, "CH003");
    assert_string_equal(b.destination, a.destination);
    assert_string_equal(b.barcode, "RR000000004CN");
    assert_int_equal(b.reason, CONV_REASON_OK);
    assert_int_equal(f->app.decides, 1); /* the repeat was not decided again */
    conv_station_get_stats(f->st, &s);
    assert_int_equal(s.requests, 2);
    assert_int_equal(s.repeated, 1);
    assert_int_equal(s.answers, 2);
    /* The decision and the telegrams reach the log in the check phase. */
    run_for(f, 20);
    assert_int_equal(f->app.decisions, 1);
    assert_int_equal(f->app.wire_in, 2);
    assert_int_equal(f->app.wire_out, 2);
}

static void test_recirculation_is_counted_on_the_next_request(void **state)
{
    struct fx *f = *state;
    struct conv_station_stats s;

    tplc_request(&f->plc, f->link, "0000000002", LOC, "RR000000001CN", CONV_BARCODE_CODE);
    assert_int_equal(f->app.last_recirc, 0);
    wait_ack(f, send_upd(f, "0000000002", "CH002", CONV_UPD_RECIRC));
    tplc_request(&f->plc, f->link, "0000000002", LOC, "RR000000001CN", CONV_BARCODE_CODE);
    assert_int_equal(f->app.decides, 2); /* came round: decided again */
    assert_int_equal(f->app.last_recirc, 1);
    conv_station_get_stats(f->st, &s);
    assert_int_equal(s.recirculations, 1);
    assert_int_equal(s.repeated, 0);
}

static void test_ack_waits_for_durability(void **state)
{
    struct fx *f = *state;
    uint32_t seq;
    struct conv_ack ack;

    f->app.auto_durable = false;
    f->app.durable = f->app.tickets;
    seq = send_locu(f, "CH001", CONV_LOC_FULL);
    TPLC_RUN_UNTIL(&f->plc, f->app.applied[CONV_TG_LOCU] == 1);
    run_for(f, 100);
    assert_int_equal(tplc_find(&f->plc, 0, CONV_TG_ACK, NULL, seq), -1);
    /* Durable up to just before this telegram's records: still no ACK_. */
    f->app.durable = f->app.tickets - 1;
    conv_station_durable(f->st);
    run_for(f, 50);
    assert_int_equal(tplc_find(&f->plc, 0, CONV_TG_ACK, NULL, seq), -1);
    f->app.durable = f->app.tickets;
    conv_station_durable(f->st);
    ack = wait_ack(f, seq);
    assert_int_equal(ack.acked_type, CONV_TG_LOCU);
    assert_false(ack.duplicate);
}

static void test_resend_is_acked_duplicate_and_not_applied(void **state)
{
    struct fx *f = *state;
    struct conv_station_stats s;

    assert_false(wait_ack(f, send_upd(f, "0000000003", "CH004", CONV_UPD_SORTED)).duplicate);
    /* The same type and content under a new seq: a resend. */
    assert_true(wait_ack(f, send_upd(f, "0000000003", "CH004", CONV_UPD_SORTED)).duplicate);
    assert_int_equal(f->app.applied[CONV_TG_UPD], 1);
    assert_int_equal(f->app.resends, 1);
    conv_station_get_stats(f->st, &s);
    assert_int_equal(s.updates, 1);
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.acks, 2);
}

/* A received UPD_ reaches the log only through apply, with its effect (one
 * unit for the application to make durable), never through record alone:
 * a restart must not find the telegram logged without its effect. */
static void test_report_is_recorded_with_its_effect(void **state)
{
    struct fx *f = *state;
    unsigned wire_in = f->app.wire_in;
    uint32_t seq;

    seq = send_upd(f, "0000000004", "CH001", CONV_UPD_SORTED);
    assert_false(wait_ack(f, seq).duplicate);
    run_for(f, 20);
    assert_int_equal(f->app.apply_wires, 1);
    assert_false(f->app.last_wire.outgoing);
    assert_false(f->app.last_wire.refused);
    assert_int_equal(f->app.last_wire.type, CONV_TG_UPD);
    assert_string_equal(f->app.last_wire.type_text, "UPD_");
    assert_int_equal(f->app.last_wire.seq, seq);
    assert_int_equal(f->app.last_wire.len, CONV_TG_LEN_DEFAULT);
    assert_memory_equal(f->app.last_raw, "###", 3);
    assert_memory_equal(f->app.last_raw + CONV_TG_HEADER_LEN - 4, "UPD_", 4);
    /* The resend too, and neither through record. */
    seq = send_upd(f, "0000000004", "CH001", CONV_UPD_SORTED);
    assert_true(wait_ack(f, seq).duplicate);
    run_for(f, 20);
    assert_int_equal(f->app.apply_wires, 2);
    assert_int_equal(f->app.last_wire.seq, seq);
    assert_int_equal(f->app.wire_in, wire_in);
}

static void test_unrecorded_update_is_applied_when_resent(void **state)
{
    struct fx *f = *state;
    uint32_t seq;

    f->app.refuse_apply = true;
    seq = send_locu(f, "CH005", CONV_LOC_DISABLED);
    run_for(f, 100);
    assert_int_equal(tplc_find(&f->plc, 0, CONV_TG_ACK, NULL, seq), -1); /* no ACK_ */
    f->app.refuse_apply = false;
    /* The PLC resends it: it was never recorded, so it is new, not a resend. */
    assert_false(wait_ack(f, send_locu(f, "CH005", CONV_LOC_DISABLED)).duplicate);
    assert_int_equal(f->app.applied[CONV_TG_LOCU], 1);
    assert_int_equal(f->app.resends, 0);
}

/* The wire form of a telegram from PLC01 with seq, as an earlier run logged it. */
static void logged(struct conv_telegram *t, uint32_t seq, char raw[CONV_TG_LEN_DEFAULT])
{
    snprintf(t->sender, sizeof(t->sender), "PLC01");
    snprintf(t->receiver, sizeof(t->receiver), "WCS01");
    t->seq = seq;
    assert_int_equal(conv_tg_format(t, CONV_TG_LEN_DEFAULT, raw, NULL), 0);
}

static void test_remembered_update_is_a_resend_after_restart(void **state)
{
    struct fx *f = *state;
    struct conv_telegram t;
    char raw[CONV_TG_LEN_DEFAULT];

    /* What an earlier run logged: the PLC's UPD_ and LOCU, other seqs. */
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "0000000006");
    snprintf(t.u.upd.location, sizeof(t.u.upd.location), "CH003");
    t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.upd.event = CONV_UPD_SORTED;
    conv_tg_time(1795000000, t.u.upd.time);
    logged(&t, 4711, raw);
    conv_station_remember(f->st, raw, sizeof(raw));
    conv_station_remember(f->st, raw, 100); /* not a telegram of this link: ignored */
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_LOCU;
    snprintf(t.u.locu.location, sizeof(t.u.locu.location), "CH002");
    t.u.locu.state = CONV_LOC_FAULT;
    conv_tg_time(1795000000, t.u.locu.time);
    logged(&t, 4712, raw);
    conv_station_remember(f->st, raw, sizeof(raw));
    /* The UPD_ the PLC resends after the restart is recognised... */
    assert_true(wait_ack(f, send_upd(f, "0000000006", "CH003", CONV_UPD_SORTED)).duplicate);
    assert_int_equal(f->app.applied[CONV_TG_UPD], 0);
    /* ...while a fresh LOCU report is a state report, applied whatever the
     * log holds (it was ignored for an hour after a restart). */
    assert_false(wait_ack(f, send_locu(f, "CH002", CONV_LOC_FAULT)).duplicate);
    assert_int_equal(f->app.applied[CONV_TG_LOCU], 1);
}

/* A REQ_ logged after the UPD_ started a new round: the same UPD_ after the
 * restart is that round's event, not a resend. */
static void test_remembered_request_starts_a_new_round(void **state)
{
    struct fx *f = *state;
    struct conv_telegram t;
    char raw[CONV_TG_LEN_DEFAULT];

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "0000000007");
    snprintf(t.u.upd.location, sizeof(t.u.upd.location), "CH003");
    t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.upd.event = CONV_UPD_RECIRC;
    logged(&t, 10, raw);
    conv_station_remember(f->st, raw, sizeof(raw));
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "0000000007");
    snprintf(t.u.req.location, sizeof(t.u.req.location), LOC);
    t.u.req.barcode_kind = CONV_BARCODE_NOREAD;
    t.u.req.weight_g = t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    logged(&t, 11, raw);
    conv_station_remember(f->st, raw, sizeof(raw));
    assert_false(wait_ack(f, send_upd(f, "0000000007", "CH003", CONV_UPD_RECIRC)).duplicate);
    assert_int_equal(f->app.applied[CONV_TG_UPD], 1);
}

/* State reports are never taken for resends: FULL, ACTIVE, FULL again (time
 * absent, so the first and the third are byte for byte the same) are all
 * applied; a parcel's second RECIRC__ after another round is applied too. */
static void test_genuine_repeats_are_applied(void **state)
{
    struct fx *f = *state;
    struct conv_telegram t;
    int i;

    for (i = 0; i < 3; i++) {
        memset(&t, 0, sizeof(t));
        t.type = CONV_TG_LOCU;
        snprintf(t.u.locu.location, sizeof(t.u.locu.location), "CH017");
        t.u.locu.state = i == 1 ? CONV_LOC_ACTIVE : CONV_LOC_FULL;
        assert_false(wait_ack(f, tplc_send(f->link, &t)).duplicate);
    }
    assert_int_equal(f->app.applied[CONV_TG_LOCU], 3);
    for (i = 0; i < 2; i++) {
        tplc_request(&f->plc, f->link, "0000000008", LOC, "RR000000001CN", CONV_BARCODE_CODE);
        memset(&t, 0, sizeof(t));
        t.type = CONV_TG_UPD;
        snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "0000000008");
        snprintf(t.u.upd.location, sizeof(t.u.upd.location), "CH002");
        t.u.upd.barcode_kind = CONV_BARCODE_ABSENT;
        t.u.upd.event = CONV_UPD_RECIRC;
        assert_false(wait_ack(f, tplc_send(f->link, &t)).duplicate);
    }
    assert_int_equal(f->app.applied[CONV_TG_UPD], 2);
    assert_int_equal(f->app.last_recirc, 1); /* the second round counted */
}

/* A REQ_ whose PLC reader read nothing still takes the WCS's own scans of its
 * read window (spec "Correlation") before it is answered NOREAD__. */
static void test_plc_noread_takes_wcs_scans(void **state)
{
    struct fx *f = *state;
    struct conv_scan s;
    struct conv_telegram t;
    int i;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "0000000009");
    snprintf(t.u.req.location, sizeof(t.u.req.location), LOC);
    t.u.req.barcode_kind = CONV_BARCODE_NOREAD;
    t.u.req.weight_g = t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    tplc_send(f->link, &t);
    TPLC_RUN_UNTIL(&f->plc, requests(f) == 1);
    memset(&s, 0, sizeof(s));
    snprintf(s.location, sizeof(s.location), LOC);
    snprintf(s.code, sizeof(s.code), "RR000000005CN");
    s.at_us = now_us();
    assert_int_equal(conv_corr_add(f->scans, &s), 0);
    TPLC_RUN_UNTIL(&f->plc, (i = tplc_find(&f->plc, 0, CONV_TG_RES, "0000000009", 0)) >= 0);
    assert_int_equal(f->app.last_ncodes, 1);
    assert_string_equal(f->plc.got[i].u.res.barcode, "RR000000005CN");
    assert_int_equal(f->plc.got[i].u.res.reason, CONV_REASON_OK);
}

static void test_ack_never_goes_out_on_a_newer_connection(void **state)
{
    struct fx *f = *state;
    struct conv_station_stats s;
    uint32_t seq;
    int from;

    f->app.auto_durable = false;
    f->app.durable = f->app.tickets;
    seq = send_upd(f, "0000000004", "CH001", CONV_UPD_SORTED);
    TPLC_RUN_UNTIL(&f->plc, f->app.applied[CONV_TG_UPD] == 1);
    conv_link_drop(f->link); /* cable pull; the client reconnects */
    TPLC_RUN_UNTIL(&f->plc, !f->up);
    TPLC_RUN_UNTIL(&f->plc, f->up && conv_station_connected(f->st));
    from = f->plc.ngot;
    f->app.durable = f->app.tickets;
    conv_station_durable(f->st);
    run_for(f, 50);
    assert_int_equal(tplc_find(&f->plc, from, CONV_TG_ACK, NULL, seq), -1);
    conv_station_get_stats(f->st, &s);
    assert_int_equal(s.acks_dropped, 1);
    /* The PLC resends it on the new connection: a resend, acknowledged. */
    f->app.auto_durable = true;
    assert_true(wait_ack(f, send_upd(f, "0000000004", "CH001", CONV_UPD_SORTED)).duplicate);
}

static void test_request_without_barcode_waits_for_scans(void **state)
{
    struct fx *f = *state;
    struct conv_scan early, late;
    struct conv_telegram t;
    int i;
    uint32_t seq;

    /* One scan long before the window (another parcel's), one just after
     * the REQ_ (this parcel's late read). */
    memset(&early, 0, sizeof(early));
    snprintf(early.location, sizeof(early.location), LOC);
    snprintf(early.code, sizeof(early.code), "RR000000002CN");
    early.at_us = now_us() - 10 * WINDOW_BEFORE_MS * 1000;
    assert_int_equal(conv_corr_add(f->scans, &early), 0);
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "0000000005");
    snprintf(t.u.req.location, sizeof(t.u.req.location), LOC);
    t.u.req.barcode_kind = CONV_BARCODE_ABSENT;
    t.u.req.weight_g = t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    tplc_send(f->link, &t);
    TPLC_RUN_UNTIL(&f->plc, requests(f) == 1);
    late = early;
    snprintf(late.code, sizeof(late.code), "RR000000003CN");
    late.at_us = now_us();
    assert_int_equal(conv_corr_add(f->scans, &late), 0);
    assert_int_equal(f->app.decides, 0); /* still inside its read window */
    seq = tplc_send(f->link, &t);      /* asked again meanwhile */
    TPLC_RUN_UNTIL(&f->plc, (i = tplc_find(&f->plc, 0, CONV_TG_RES, "0000000005", 0)) >= 0);
    assert_int_equal(f->app.last_ncodes, 1);
    assert_string_equal(f->app.last_codes[0], "RR000000003CN");
    assert_string_equal(f->plc.got[i].u.res.barcode, "RR000000003CN");
    /* The repeat got the same answer under its own seq; one decision in all. */
    TPLC_RUN_UNTIL(&f->plc, tplc_find(&f->plc, i + 1, CONV_TG_RES, "0000000005", 0) >= 0);
    i = tplc_find(&f->plc, i + 1, CONV_TG_RES, "0000000005", 0);
    assert_int_equal(f->plc.got[i].u.res.req_seq, seq);
    assert_string_equal(f->plc.got[i].u.res.barcode, "RR000000003CN");
    assert_int_equal(f->app.decides, 1);
}

/* Two REQ_s without barcode at one location at once, one scan in both read
 * windows: nothing says whose parcel it is. Neither takes it (either could
 * be the wrong chute); both are no-reads. */
static void test_scan_in_two_windows_is_nobodys(void **state)
{
    struct fx *f = *state;
    struct conv_station_stats ss;
    struct conv_scan s;
    struct conv_telegram t;
    int a, b;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.location, sizeof(t.u.req.location), LOC);
    t.u.req.barcode_kind = CONV_BARCODE_NOREAD;
    t.u.req.weight_g = t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "0000000011");
    tplc_send(f->link, &t);
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "0000000012");
    tplc_send(f->link, &t);
    TPLC_RUN_UNTIL(&f->plc, requests(f) == 2);
    memset(&s, 0, sizeof(s));
    snprintf(s.location, sizeof(s.location), LOC);
    snprintf(s.code, sizeof(s.code), "RR000000005CN");
    s.at_us = now_us();
    assert_int_equal(conv_corr_add(f->scans, &s), 0);
    TPLC_RUN_UNTIL(&f->plc, (a = tplc_find(&f->plc, 0, CONV_TG_RES, "0000000011", 0)) >= 0 &&
                                (b = tplc_find(&f->plc, 0, CONV_TG_RES, "0000000012", 0)) >= 0);
    assert_int_equal(f->plc.got[a].u.res.reason, CONV_REASON_NOREAD);
    assert_int_equal(f->plc.got[b].u.res.reason, CONV_REASON_NOREAD);
    conv_station_get_stats(f->st, &ss);
    assert_int_equal(ss.ambiguous, 1); /* the second found the scan taken */
    /* One request alone still takes its scan. */
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "0000000013");
    tplc_send(f->link, &t);
    TPLC_RUN_UNTIL(&f->plc, requests(f) == 3);
    snprintf(s.code, sizeof(s.code), "RR000000003CN");
    s.at_us = now_us();
    assert_int_equal(conv_corr_add(f->scans, &s), 0);
    TPLC_RUN_UNTIL(&f->plc, (a = tplc_find(&f->plc, 0, CONV_TG_RES, "0000000013", 0)) >= 0);
    assert_int_equal(f->plc.got[a].u.res.reason, CONV_REASON_OK);
    assert_string_equal(f->plc.got[a].u.res.barcode, "RR000000003CN");
}

/* --- a whole line: the emulator's core against the station ----------------- */

struct line {
    struct fx *f;
    struct conv_sim *sim;
    struct conv_link *link;
    bool up;
    uint64_t start_ns;
    uv_timer_t tick;
};

static uint64_t virt_us(const struct line *l)
{
    return (uv_hrtime() - l->start_ns) * 10 / 1000; /* 10 virtual seconds per second */
}

static void line_pump(struct line *l)
{
    struct conv_sim_out o;

    conv_sim_advance(l->sim, virt_us(l));
    while (conv_sim_pop(l->sim, &o)) {
        uint32_t seq = 0;
        struct err e;

        if (o.kind == CONV_SIM_OUT_SCAN) {
            struct conv_scan s;

            /* What a scanner in front of the station would have posted. */
            memset(&s, 0, sizeof(s));
            snprintf(s.location, sizeof(s.location), "%s", o.location);
            snprintf(s.code, sizeof(s.code), "%s", o.code);
            s.at_us = now_us();
            assert_int_equal(conv_corr_add(l->f->scans, &s), 0);
            continue;
        }
        if (conv_link_send(l->link, &o.tg, &seq, &e) < 0)
            conv_sim_unsent(l->sim, o.ref);
        else
            conv_sim_sent(l->sim, o.ref, seq, uv_hrtime());
    }
}

static void line_tick_cb(uv_timer_t *t)
{
    line_pump(t->data);
}

static void line_telegram_cb(struct conv_link *lk, const struct conv_telegram *t, const char *raw,
                             void *arg)
{
    struct line *l = arg;

    (void)lk;
    (void)raw;
    conv_sim_advance(l->sim, virt_us(l));
    conv_sim_receive(l->sim, t, uv_hrtime(), NULL);
    line_pump(l);
}

static void line_state_cb(struct conv_link *lk, bool up, void *arg)
{
    struct line *l = arg;

    (void)lk;
    l->up = up;
    conv_sim_link_state(l->sim, up);
}

static void test_emulated_line_with_faults(void **state)
{
    struct fx *f = *state;
    static const struct conv_link_callbacks cbs = {.telegram_cb = line_telegram_cb,
                                                   .state_cb = line_state_cb};
    struct conv_sim_config c;
    struct conv_sim_item items[40];
    struct conv_station_stats s;
    struct conv_link_config lc;
    struct conv_sim_stats *ss;
    struct line l;
    struct err e;
    bool closed = false;
    size_t i;

    memset(&l, 0, sizeof(l));
    l.f = f;
    conv_sim_config_defaults(&c);
    c.nchutes = 0;
    for (i = 0; i < 5; i++) {
        snprintf(c.chutes[i].id, sizeof(c.chutes[i].id), "%s", chutes[i]);
        c.chutes[i].distance_mm = 3000 + 1000 * (uint32_t)i;
        c.chutes[i].capacity = 6;
        c.chutes[i].empty_ms = 2000;
    }
    snprintf(c.chutes[5].id, sizeof(c.chutes[5].id), "SP-NOREAD");
    c.chutes[5].distance_mm = 9000;
    snprintf(c.chutes[6].id, sizeof(c.chutes[6].id), "SP-MULTI");
    c.chutes[6].distance_mm = 10000;
    c.nchutes = 7;
    c.rate_per_hour = 3600; /* virtual: 10 parcels a real second */
    c.count = 60;
    c.loop_mm = 24000;
    c.default_exit_mm = 20000;
    c.plc_timeout_ms = 20000; /* virtual: the station answers well within it, even under ASan */
    c.noread_ratio = 0.05;
    c.divert_fail_ratio = 0.1;
    c.noscan_ratio = 0.3;
    c.dup_ratio = 0.2;
    c.req_repeat_ratio = 0.2;
    c.seed = 11;
    for (i = 0; i < 40; i++) {
        snprintf(items[i].code, sizeof(items[i].code), "RR%09zuCN", 100 + i);
        items[i].weight_g = items[i].length_mm = items[i].width_mm = items[i].height_mm = -1;
    }
    if (conv_sim_new(&c, items, 40, &l.sim, &e) < 0)
        fail_msg("sim: %s", e.msg);
    conv_link_config_defaults(&lc);
    snprintf(lc.name, sizeof(lc.name), "sim");
    snprintf(lc.local_id, sizeof(lc.local_id), "PLC01");
    snprintf(lc.peer_id, sizeof(lc.peer_id), "WCS01");
    lc.mode = CONV_LINK_CLIENT;
    snprintf(lc.host, sizeof(lc.host), "127.0.0.1");
    lc.port = conv_station_port(f->st);
    if (conv_link_start(&f->plc.loop, &lc, &cbs, &l, &l.link, &e) < 0)
        fail_msg("link: %s", e.msg);
    TPLC_RUN_UNTIL(&f->plc, l.up);
    l.start_ns = uv_hrtime();
    uv_timer_init(&f->plc.loop, &l.tick);
    l.tick.data = &l;
    uv_timer_start(&l.tick, line_tick_cb, 1, 1);
    TPLC_RUN_UNTIL(&f->plc, conv_sim_induction_done(l.sim) && conv_sim_unfinished(l.sim) == 0 &&
                                conv_sim_unacked(l.sim) == 0);
    uv_close((uv_handle_t *)&l.tick, NULL);
    conv_link_stop(l.link, closed_cb, &closed);
    TPLC_RUN_UNTIL(&f->plc, closed);

    ss = conv_sim_stats(l.sim);
    conv_station_get_stats(f->st, &s);
    /* Every pass was asked and answered once; a repeated REQ_ was answered
     * from the in-flight table without a second decision. */
    assert_int_equal(ss->inducted, 60);
    assert_int_equal(ss->plc_timeouts, 0);
    assert_int_equal(ss->unmatched_answers, 0);
    assert_int_equal(ss->unknown_destinations, 0);
    assert_int_equal(s.requests, ss->passes + ss->faults.req_repeated);
    assert_int_equal(s.repeated, ss->faults.req_repeated);
    assert_int_equal(f->app.decides, ss->passes);
    assert_int_equal(s.recirculations, ss->recirculations);
    /* Each REQ_ without a barcode waited for its window, and each scan
     * posted went into exactly one decision (the one of its own parcel, or a
     * neighbour's overlapping window on a dense line). */
    assert_true(f->app.decides_absent > 0);
    assert_int_equal(f->app.decides_absent, ss->faults.noscan);
    assert_int_equal(f->app.codes_absent, ss->scans_posted);
    /* Every UPD_/LOCU/SYSU was acknowledged once durable; each resend said
     * DUPLIC__ and was not applied again. */
    assert_true(ss->faults.duplicated > 0);
    assert_true(s.duplicates > 0);
    assert_true(s.duplicates <= ss->faults.duplicated); /* LOCU sent twice is applied twice */
    assert_int_equal(ss->acks_duplicate, s.duplicates);
    assert_int_equal(ss->acks_unmatched, 0);
    assert_int_equal(f->app.resends, s.duplicates);
    /* Each pass ended in one UPD_, applied once whatever was resent. */
    assert_int_equal(f->app.applied[CONV_TG_UPD], ss->passes);
    assert_int_equal(s.acks, ss->acks_ok + ss->acks_duplicate);
    assert_int_equal(f->app.decisions, ss->passes);
    conv_sim_free(l.sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeated_req_gets_the_same_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recirculation_is_counted_on_the_next_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ack_waits_for_durability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_is_recorded_with_its_effect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_is_acked_duplicate_and_not_applied, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unrecorded_update_is_applied_when_resent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remembered_update_is_a_resend_after_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remembered_request_starts_a_new_round, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_genuine_repeats_are_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plc_noread_takes_wcs_scans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_never_goes_out_on_a_newer_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_request_without_barcode_waits_for_scans, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scan_in_two_windows_is_nobodys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emulated_line_with_faults, setup_station, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

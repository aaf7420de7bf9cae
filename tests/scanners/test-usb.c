/*
 * test-usb.c - the USB scanner layer end to end on emulated devices
 * (umockdev, see usb-mock.h): matching, claiming a keyboard wedge from
 * usbhid, SET_PROTOCOL boot, a scan read through libusb on the libuv loop,
 * HID POS continuation, unplug mid-scan and hotplug back, a device nobody
 * configured, status counters, and a clean stop. Runs under
 * umockdev-wrapper (ctest does that). Every wait has a watchdog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "common/log.h"
#include "scanners/usb.h"
#include "tests/scanners/usb-mock.h"

#define WAIT_MS 10000 /* watchdog for every wait */

#define KBD_VID 0x0C2E
#define KBD_PID 0x0B61
#define POS_VID 0x05E0
#define POS_PID 0x1900

static struct usb_mock *mock;
static struct mock_dev *stranger; /* VID:PID nobody configured */

struct got {
    int n;
    char id[SCAN_ID_MAX + 1];
    char location[SCAN_ID_MAX + 1];
    char code[SCAN_TEXT_MAX + 1];
    char symbology[4];
    enum scan_source_kind kind;
    int64_t at_us;
};

static void on_scan(const struct scan_event *ev, void *arg)
{
    struct got *g = arg;

    g->n++;
    snprintf(g->id, sizeof(g->id), "%s", ev->scanner_id);
    snprintf(g->location, sizeof(g->location), "%s", ev->location);
    snprintf(g->code, sizeof(g->code), "%s", ev->code);
    snprintf(g->symbology, sizeof(g->symbology), "%s", ev->symbology);
    g->kind = ev->kind;
    g->at_us = ev->at_us;
    assert_int_equal(strlen(ev->code), ev->len);
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until pred(arg) or the watchdog; a 2 ms tick keeps the loop
 * turning while the predicate waits on another thread (umockdev's). */
static bool wait_for(uv_loop_t *loop, bool (*pred)(void *), void *arg)
{
    uv_timer_t tick;
    uint64_t deadline;
    bool ok;

    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, tick_cb, 2, 2);
    uv_update_time(loop);
    deadline = uv_now(loop) + WAIT_MS;
    while (!(ok = pred(arg)) && uv_now(loop) < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

struct conn_wait {
    struct scan_usb *s;
    size_t idx;
    bool want;
};

static bool connected_is(void *arg)
{
    struct conn_wait *w = arg;
    struct scan_usb_status st[4];

    scan_usb_status(w->s, st, 4);
    return st[w->idx].connected == w->want;
}

static bool wait_connected(uv_loop_t *loop, struct scan_usb *s, size_t idx, bool want)
{
    struct conn_wait w = {s, idx, want};
    return wait_for(loop, connected_is, &w);
}

struct count_wait {
    struct got *g;
    int n;
};

static bool count_reached(void *arg)
{
    struct count_wait *w = arg;
    return w->g->n >= w->n;
}

struct done_wait {
    struct mock_dev *d;
    unsigned reports;
};

static bool reports_done(void *arg)
{
    struct done_wait *w = arg;
    struct mock_stats st;

    usb_mock_stats(w->d, &st);
    return st.reports_done >= w->reports;
}

static void stopped(void *arg)
{
    *(bool *)arg = true;
}

static bool flag_set(void *arg)
{
    return *(bool *)arg;
}

static void kbd_cfg(struct scan_usb_cfg *c)
{
    scan_usb_cfg_defaults(c);
    snprintf(c->id, sizeof(c->id), "SC-IN-01");
    snprintf(c->location, sizeof(c->location), "INDUCT-1");
    c->kind = SCAN_SRC_KBD;
    c->vid = KBD_VID; /* any PID: the scanner's PID changes with its mode */
    c->interface_class = 3;
    c->layout = SCAN_LAYOUT_US;
    /* No inter-character timeout: only the layer's own reset on unplug may
     * drop a partial scan in the unplug test. */
    c->char_timeout_ms = 0;
}

static void pos_cfg(struct scan_usb_cfg *c)
{
    scan_usb_cfg_defaults(c);
    snprintf(c->id, sizeof(c->id), "SC-CH-12");
    snprintf(c->location, sizeof(c->location), "CHUTE-12");
    c->kind = SCAN_SRC_POS;
    c->vid = 0; /* matched by serial number and interface class alone */
    c->serial[0] = '\0';
    snprintf(c->serial, sizeof(c->serial), "POS0042");
}

/* Stops s, runs the loop until done, and checks the loop has nothing left. */
static void stop_and_close(uv_loop_t *loop, struct scan_usb *s)
{
    bool done = false;

    scan_usb_stop(s, stopped, &done);
    assert_true(wait_for(loop, flag_set, &done));
    assert_int_equal(uv_run(loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_kbd_claim_scan_unplug_replug(void **state)
{
    uv_loop_t loop;
    struct scan_usb_cfg cfg[2];
    struct scan_usb *s = NULL;
    struct got got = {0};
    struct mock_dev *kbd;
    struct mock_stats ms;
    struct scan_usb_status st[2];
    uint8_t reps[64 * 8];
    int nrep;
    struct err e;

    (void)state;
    kbd = usb_mock_add(mock, 2, KBD_VID, KBD_PID, MOCK_KBD, "KBD0001");
    assert_non_null(kbd);
    assert_int_equal(uv_loop_init(&loop), 0);
    kbd_cfg(&cfg[0]);
    pos_cfg(&cfg[1]);
    assert_int_equal(scan_usb_start(&loop, cfg, 2, on_scan, &got, &s, &e), 0);
    assert_true(wait_connected(&loop, s, 0, true));

    /* Claimed from usbhid: refused with EBUSY first, then the driver was
     * detached and the claim went through; boot protocol set after. */
    usb_mock_stats(kbd, &ms);
    assert_true(ms.claims_busy >= 1);
    assert_int_equal(ms.driver_detaches, 1);
    assert_int_equal(ms.claims_ok, 1);
    assert_true(ms.claimed);
    assert_false(ms.bound);
    assert_int_equal(ms.set_protocol, 1);
    assert_int_equal(ms.set_protocol_value, 0);
    assert_int_equal(ms.unclaimed_requests, 0);

    /* The stranger was never touched. */
    usb_mock_stats(stranger, &ms);
    assert_int_equal(ms.claims_busy + ms.claims_ok + ms.submits, 0);
    assert_true(ms.bound);

    /* One scan. */
    nrep = scan_kbd_encode(SCAN_LAYOUT_US, "RR473124829GB", reps, 64);
    assert_true(nrep > 0);
    usb_mock_queue(kbd, reps, (size_t)nrep, SCAN_KBD_REPORT_LEN);
    assert_true(wait_for(&loop, count_reached, &(struct count_wait){&got, 1}));
    assert_int_equal(got.n, 1);
    assert_string_equal(got.code, "RR473124829GB");
    assert_string_equal(got.id, "SC-IN-01");
    assert_string_equal(got.location, "INDUCT-1");
    assert_string_equal(got.symbology, "");
    assert_int_equal(got.kind, SCAN_SRC_KBD);
    assert_true(got.at_us > 1700000000LL * 1000000);

    /* Unplug mid-scan: the first 5 characters (10 reports) arrive, then the
     * scanner is gone. */
    usb_mock_queue(kbd, reps, 10, SCAN_KBD_REPORT_LEN);
    assert_true(wait_for(&loop, reports_done, &(struct done_wait){kbd, (unsigned)nrep + 10}));
    usb_mock_unplug(kbd);
    assert_true(wait_connected(&loop, s, 0, false));
    usb_mock_remove(kbd);
    scan_usb_status(s, st, 2);
    assert_int_equal(st[0].detaches, 1);
    assert_int_equal(st[0].reads, 1);
    assert_int_equal(got.n, 1);

    /* Back in: hotplug picks it up, the next scan reads right (the partial
     * "RR473" was dropped, not glued in front). */
    assert_int_equal(usb_mock_replug(kbd), 0);
    assert_true(wait_connected(&loop, s, 0, true));
    usb_mock_stats(kbd, &ms);
    assert_int_equal(ms.driver_detaches, 1);
    assert_int_equal(ms.set_protocol, 1);
    usb_mock_queue(kbd, reps, (size_t)nrep, SCAN_KBD_REPORT_LEN);
    assert_true(wait_for(&loop, count_reached, &(struct count_wait){&got, 2}));
    assert_string_equal(got.code, "RR473124829GB");

    scan_usb_status(s, st, 2);
    assert_true(st[0].connected);
    assert_int_equal(st[0].vid, KBD_VID);
    assert_int_equal(st[0].pid, KBD_PID);
    assert_int_equal(st[0].reads, 2);
    assert_int_equal(st[0].errors, 0);
    assert_int_equal(st[0].attaches, 2);
    assert_int_equal(st[0].detaches, 1);
    assert_string_equal(st[0].last_code, "RR473124829GB");
    assert_true(st[0].last_read_us == got.at_us);
    assert_false(st[1].connected); /* no POS scanner plugged in */
    assert_int_equal(st[1].reads, 0);

    /* Stop: the interface goes back to usbhid. */
    stop_and_close(&loop, s);
    usb_mock_stats(kbd, &ms);
    assert_false(ms.claimed);
    assert_true(ms.bound);
    assert_int_equal(ms.driver_attaches, 1);
    usb_mock_stats(stranger, &ms);
    assert_int_equal(ms.claims_busy + ms.claims_ok + ms.submits, 0);

    usb_mock_unplug(kbd);
    usb_mock_remove(kbd);
}

static void test_pos_continuation(void **state)
{
    uv_loop_t loop;
    struct scan_usb_cfg cfg[2];
    struct scan_usb *s = NULL;
    struct got got = {0};
    struct mock_dev *pos, *other;
    struct mock_stats ms;
    struct scan_usb_status st[2];
    uint8_t reps[64 * 4];
    const char *text = "RB123456785GB/LP00123456789012/RR473124829GB/0123456789/ABCDEFGHIJ";
    int nrep;
    struct err e;

    (void)state;
    /* A second HID POS device with another serial: not ours. */
    other = usb_mock_add(mock, 4, POS_VID, POS_PID, MOCK_POS, "POS9999");
    pos = usb_mock_add(mock, 3, POS_VID, POS_PID, MOCK_POS, "POS0042");
    assert_non_null(pos);
    assert_non_null(other);
    assert_int_equal(uv_loop_init(&loop), 0);
    kbd_cfg(&cfg[0]);
    pos_cfg(&cfg[1]);
    assert_int_equal(scan_usb_start(&loop, cfg, 2, on_scan, &got, &s, &e), 0);
    assert_true(wait_connected(&loop, s, 1, true));

    usb_mock_stats(pos, &ms);
    assert_true(ms.claimed);
    assert_int_equal(ms.set_protocol, 0); /* not a boot keyboard */
    usb_mock_stats(other, &ms);
    assert_false(ms.claimed);
    assert_int_equal(ms.claims_busy + ms.claims_ok, 0);

    nrep = scan_pos_encode("]C0", text, reps, 4);
    assert_int_equal(nrep, 2);
    usb_mock_queue(pos, reps, (size_t)nrep, SCAN_POS_REPORT_LEN);
    assert_true(wait_for(&loop, count_reached, &(struct count_wait){&got, 1}));
    assert_int_equal(got.n, 1);
    assert_string_equal(got.code, text);
    assert_string_equal(got.symbology, "]C0");
    assert_string_equal(got.id, "SC-CH-12");
    assert_string_equal(got.location, "CHUTE-12");
    assert_int_equal(got.kind, SCAN_SRC_POS);

    /* A malformed report counts as an error, never a scan. */
    reps[1] = 60; /* byte count over 56 */
    usb_mock_queue(pos, reps, 1, SCAN_POS_REPORT_LEN);
    assert_true(wait_for(&loop, reports_done, &(struct done_wait){pos, 3}));
    scan_usb_status(s, st, 2);
    assert_int_equal(st[1].reads, 1);
    assert_int_equal(st[1].errors, 1);
    assert_int_equal(st[1].vid, POS_VID);
    assert_int_equal(got.n, 1);

    stop_and_close(&loop, s);
    usb_mock_stats(pos, &ms);
    assert_false(ms.claimed);
    assert_true(ms.bound);
    usb_mock_unplug(pos);
    usb_mock_remove(pos);
    usb_mock_unplug(other);
    usb_mock_remove(other);
}

static void test_bad_config(void **state)
{
    uv_loop_t loop;
    struct scan_usb_cfg cfg[2];
    struct scan_usb *s = NULL;
    struct err e;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    kbd_cfg(&cfg[0]);
    kbd_cfg(&cfg[1]);
    assert_int_equal(scan_usb_start(&loop, cfg, 2, on_scan, NULL, &s, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "twice"));
    scan_usb_cfg_defaults(&cfg[0]);
    snprintf(cfg[0].id, sizeof(cfg[0].id), "T1");
    cfg[0].kind = SCAN_SRC_TTY;
    assert_int_equal(scan_usb_start(&loop, cfg, 1, on_scan, NULL, &s, &e), ERR_CONFIG);
    assert_null(s);
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int group_setup(void **state)
{
    (void)state;
    mock = usb_mock_new();
    if (!mock)
        return -1;
    /* libusb decides once per process whether sysfs is usable, at its
     * first init: a device must exist by then. */
    stranger = usb_mock_add(mock, 1, 0x1234, 0x5678, MOCK_KBD, NULL);
    return stranger ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    usb_mock_free(mock);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_kbd_claim_scan_unplug_replug),
        cmocka_unit_test(test_pos_continuation),
    };

    log_init("test-usb", getenv("WCS_TEST_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

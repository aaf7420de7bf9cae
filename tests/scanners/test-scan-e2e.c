/*
 * test-scan-e2e.c - the WCS's own scanner end to end: a real wcsd on a real
 * PostgreSQL, a sorter PLC (played by the test with a conveyor link in
 * client mode) that sends REQ_ without a barcode (20 '*'), and the code read
 * by a USB keyboard-wedge scanner that exists only in umockdev (usb-mock.h).
 * wcsd's scanner layer finds the scanner through libusb from its config's
 * `scanners:` list, reads the scan, and the correlator answers the REQ_ with
 * that code and its destination. Also: no scan -> NOREAD__, unplug (wcsd
 * keeps answering on PLC barcodes), plug back, GET /v1/scanners and
 * `wcsctl scanners`, and a clean SIGTERM that gives the interface back to
 * usbhid.
 *
 * DESIGN: wcsd is a child process. It inherits LD_PRELOAD (umockdev-wrapper)
 * and UMOCKDEV_DIR (set by umockdev_testbed_new in this process), so its
 * opens of /dev/bus/usb/... land in this process's testbed, and its usbfs
 * ioctls are answered by usb-mock.c's handler over the testbed's socket, on
 * umockdev's worker thread here. Uevents reach wcsd's netlink socket the
 * same way. Every wait is bounded by a watchdog.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "conveyor/link.h"
#include "conveyor/telegram.h"
#include "scanners/hid.h"
#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testplc.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"
#include "tests/scanners/usb-mock.h"

#define KBD_VID 0x0C2E
#define KBD_PID 0x0B61

static struct twcsd wcsd; /* the daemon under test (tests/common/testwcsd.h) */
static char wcsctl_bin[512], first_code[64], second_code[64];

static struct usb_mock *mock;
static struct mock_dev *kbd;

/* --- the test's PLC ------------------------------------------------------ */

static struct tplc T; /* loop, recorder, bounded waits (tests/common/testplc.h) */
static struct conv_link *plc;
static bool plc_up;

/* Sends a REQ_ at SCAN01 (barcode NULL: 20 '*', no PLC reader) and waits
 * for its RES_. */
static struct conv_res request(const char *tracking, const char *barcode)
{
    return tplc_request(&T, plc, tracking, "SCAN01", barcode,
                        barcode ? CONV_BARCODE_CODE : CONV_BARCODE_ABSENT);
}

/* --- wcsd's view of the scanner ------------------------------------------ */

struct sc_view {
    bool found, connected;
    long long reads, attaches, detaches;
    char last_code[64];
};

/* SC-IN-01 as GET /v1/scanners shows it now. */
static struct sc_view scanner_view(void)
{
    struct sc_view v;
    json_t *j = NULL, *sc;
    size_t i;

    memset(&v, 0, sizeof(v));
    assert_int_equal(tu_http(wcsd.http_port, "/v1/scanners", NULL, &j), 200);
    assert_non_null(j);
    json_array_foreach(json_object_get(j, "scanners"), i, sc)
    {
        if (strcmp(json_string_value(json_object_get(sc, "id")), "SC-IN-01") != 0)
            continue;
        v.found = true;
        v.connected = json_is_true(json_object_get(sc, "connected"));
        v.reads = (long long)json_integer_value(json_object_get(sc, "reads"));
        v.attaches = (long long)json_integer_value(json_object_get(sc, "attaches"));
        v.detaches = (long long)json_integer_value(json_object_get(sc, "detaches"));
        snprintf(v.last_code, sizeof(v.last_code), "%s",
                 json_string_value(json_object_get(sc, "last_code")));
    }
    json_decref(j);
    assert_true(v.found);
    return v;
}

static bool view_connected(bool want)
{
    return scanner_view().connected == want;
}

static bool view_reads(long long n)
{
    return scanner_view().reads >= n;
}

/* Makes the emulated scanner type code and Enter. */
static void type_code(const char *code)
{
    uint8_t reps[128 * SCAN_KBD_REPORT_LEN];
    int n = scan_kbd_encode(SCAN_LAYOUT_US, code, reps, 128);

    assert_true(n > 0);
    usb_mock_queue(kbd, reps, (size_t)n, SCAN_KBD_REPORT_LEN);
}

/* --- setup --------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* our link may write to a wcsd that just stopped */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    twcsd_prepare(&wcsd, "wcs_test_scan_e2e", NULL);
    testdb_binary_path("bin/wcsctl", wcsctl_bin, sizeof(wcsctl_bin));
    twcsd_sample_code(0, first_code, sizeof(first_code));
    twcsd_sample_code(1, second_code, sizeof(second_code));

    /* The scanner is plugged in before wcsd starts: libusb decides at its
     * first init whether sysfs is usable, and a device must exist then. */
    mock = usb_mock_new();
    assert_non_null(mock);
    kbd = usb_mock_add(mock, 2, KBD_VID, KBD_PID, MOCK_KBD, "KBD0001");
    assert_non_null(kbd);

    twcsd_config(&wcsd,
                 "events:\n  spool_path: %s/spool\n"
                 "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                 "    life_interval_ms: 1000\n    read_window_before_ms: 3000\n"
                 "    read_window_after_ms: 100\n    locations: [SCAN01]\n"
                 "scanners:\n  - id: SC-IN-01\n    location: SCAN01\n    kind: keyboard\n"
                 "    vid: %04X\n    pid: %04X\n    layout: us\n",
                 wcsd.dir, wcsd.plc_port[0], KBD_VID, KBD_PID);

    tplc_init(&T);
    return 0;
}

static int teardown(void **state)
{
    int rc;

    (void)state;
    tplc_done(&T);
    /* wcsd first: it holds the emulated device open. */
    rc = twcsd_teardown(&wcsd);
    if (mock)
        usb_mock_free(mock);
    if (rc != 0)
        return -1;
    curl_global_cleanup();
    return 0;
}

/* --- tests --------------------------------------------------------------- */

/* Starts wcsd and connects the PLC. Done in the first test, not in the
 * group setup, so that a failure still reaches teardown, which stops wcsd. */
static void start_wcsd_and_plc(void)
{
    twcsd_start(&wcsd);
    assert_non_null(strstr(wcsd.ready, "1 scanner(s)"));

    plc = tplc_link(&T, "PLC01", CONV_LINK_CLIENT, wcsd.plc_port[0], 1000, &plc_up);
    TPLC_RUN_UNTIL(&T, plc_up);
}

static void test_claimed_from_config(void **state)
{
    struct mock_stats ms;
    struct sc_view v;

    (void)state;
    start_wcsd_and_plc();
    TPLC_RUN_UNTIL(&T, view_connected(true));
    /* wcsd took the interface from usbhid and set the boot protocol: the
     * requests crossed from the wcsd process to this one's emulation. */
    usb_mock_stats(kbd, &ms);
    assert_true(ms.claimed);
    assert_false(ms.bound);
    assert_int_equal(ms.driver_detaches, 1);
    assert_int_equal(ms.claims_ok, 1);
    assert_int_equal(ms.set_protocol, 1);
    assert_int_equal(ms.set_protocol_value, 0);
    v = scanner_view();
    assert_int_equal(v.reads, 0);
    assert_int_equal(v.attaches, 1);
    assert_string_equal(v.last_code, "");
}

static void test_scan_answers_request_without_barcode(void **state)
{
    struct conv_res r;
    struct sc_view v;

    (void)state;
    type_code(first_code);
    TPLC_RUN_UNTIL(&T, view_reads(1));
    v = scanner_view();
    assert_int_equal(v.reads, 1);
    assert_string_equal(v.last_code, first_code);

    r = request("0000000101", NULL);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_int_equal(r.barcode_kind, CONV_BARCODE_CODE);
    assert_string_equal(r.barcode, first_code);
    assert_string_equal(r.location, "SCAN01");
    assert_true(strncmp(r.destination, "CH", 2) == 0);

    /* The read belongs to that parcel: the next one, with nothing scanned,
     * is a no-read. */
    r = request("0000000102", NULL);
    assert_int_equal(r.reason, CONV_REASON_NOREAD);
}

static void test_unplug_and_plug_back(void **state)
{
    struct conv_res r;
    struct sc_view v;

    (void)state;
    usb_mock_unplug(kbd);
    TPLC_RUN_UNTIL(&T, view_connected(false));
    usb_mock_remove(kbd);
    v = scanner_view();
    assert_int_equal(v.detaches, 1);
    assert_int_equal(v.reads, 1);

    /* Without its scanner wcsd still decides on the PLC's own barcodes,
     * and a REQ_ without one is a no-read. */
    r = request("0000000103", first_code);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, first_code);
    r = request("0000000104", second_code);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, second_code);
    r = request("0000000105", NULL);
    assert_int_equal(r.reason, CONV_REASON_NOREAD);

    /* Back in: picked up by hotplug, and a new scan answers the next REQ_. */
    assert_int_equal(usb_mock_replug(kbd), 0);
    TPLC_RUN_UNTIL(&T, view_connected(true));
    type_code(second_code);
    TPLC_RUN_UNTIL(&T, view_reads(2));
    r = request("0000000106", NULL);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, second_code);
    assert_true(strncmp(r.destination, "CH", 2) == 0);

    v = scanner_view();
    assert_true(v.connected);
    assert_int_equal(v.reads, 2);
    assert_int_equal(v.attaches, 2);
    assert_int_equal(v.detaches, 1);
    assert_string_equal(v.last_code, second_code);
}

static void test_wcsctl_scanners(void **state)
{
    char url[64];
    const char *argv[] = {wcsctl_bin, "--http", url, "--token-file", wcsd.token_file[TWCSD_MONITOR],
                          "scanners", NULL};
    struct proc_result r;
    char *row;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", wcsd.http_port);
    proc_run(argv, NULL, 30, &r);
    assert_int_equal(r.status, 0);
    row = strstr(r.out, "SC-IN-01");
    assert_non_null(row);
    if (strchr(row, '\n'))
        *strchr(row, '\n') = '\0';
    assert_non_null(strstr(row, "SCAN01"));
    assert_non_null(strstr(row, "connected"));
    assert_non_null(strstr(row, "0C2E:0B61"));
    assert_non_null(strstr(row, " 2 ")); /* reads */
    assert_non_null(strstr(row, second_code));
    proc_result_free(&r);
}

static void test_sigterm_gives_the_scanner_back(void **state)
{
    struct mock_stats ms;

    (void)state;
    twcsd_stop(&wcsd);
    /* On stop wcsd released the interface and re-attached usbhid. */
    usb_mock_stats(kbd, &ms);
    assert_false(ms.claimed);
    assert_true(ms.bound);
    assert_int_equal(ms.driver_attaches, 1);
    assert_true(tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'scan'") >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claimed_from_config),
        cmocka_unit_test(test_scan_answers_request_without_barcode),
        cmocka_unit_test(test_unplug_and_plug_back),
        cmocka_unit_test(test_wcsctl_scanners),
        cmocka_unit_test(test_sigterm_gives_the_scanner_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test-lines.c - several lines on one database, and a line's active and
 * standby wcsd (issue 13, docs/ha.md), with real wcsd processes, a real
 * PostgreSQL and the test playing each line's PLC over 127.0.0.1.
 *
 *   - two lines (WCS01, WCS02), each with a PLC called PLC01: a parcel
 *     decided on line 1 is no repeat on line 2, an UPD_ applied on line 1
 *     is no resend on line 2 (not even after line 2 restarts and reads its
 *     telegram log back), a chute FULL on line 1 is active on line 2 (also
 *     after restarts), chute holds are per line; wcsctl status lists both;
 *     a third wcsd with another line's events.node_id is refused;
 *   - one line's two wcsd: the second waits as standby (its /v1/status
 *     says so and names the active); when the active is killed (-9) the
 *     standby takes over after the lease lapses and the PLC finds the
 *     session as it was: a repeated REQ_ gets the destination first
 *     answered, a resent UPD_ is DUPLIC__, a FULL chute is still full.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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
#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testplc.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"
#include "wcs/store/console_store.h"
#include "wcs/store/store.h"

#define LEASE_MS 1000 /* ha.lease_ms of the takeover test: short, to keep it quick */

static char code1[64], wcsctl_bin[512];

static void config(struct twcsd *w, const char *node, unsigned node_id, const char *extra)
{
    snprintf(w->node, sizeof(w->node), "%s", node);
    twcsd_config(w,
                 "events:\n  node_id: %u\n  spool_path: %s/spool\n"
                 "ha:\n  lease_ms: %d\n"
                 "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                 "    life_interval_ms: 1000\n    locations: [SCAN01]\n"
                 "    allow: [127.0.0.1]\n%s",
                 node_id, w->dir, LEASE_MS, w->plc_port[0], extra);
}

/* GET /v1/status of w (the caller json_decref()s it). */
static json_t *status(const struct twcsd *w)
{
    json_t *j = NULL;

    assert_int_equal(tu_http(w->http_port, "/v1/status", NULL, &j), 200);
    return j;
}

static const char *chute_state(json_t *st, const char *id)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(st, "chutes"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
            return json_string_value(json_object_get(c, "state"));
    fail_msg("no chute %s in /v1/status", id);
    return NULL;
}

/* chute is full on line 1 and active on line 2 (each wcsd's /v1/status). */
static void full_on_line1_only(const struct twcsd *l1, const struct twcsd *l2, const char *chute)
{
    json_t *s1 = status(l1), *s2 = status(l2);

    assert_string_equal(chute_state(s1, chute), "full");
    assert_string_equal(chute_state(s2, chute), "active");
    json_decref(s1);
    json_decref(s2);
}

static long long plc_stat(json_t *st, const char *key)
{
    return json_integer_value(json_object_get(json_array_get(json_object_get(st, "plcs"), 0), key));
}

static const char *ha(json_t *st, const char *key)
{
    return json_string_value(json_object_get(json_object_get(st, "ha"), key));
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    testdb_binary_path("bin/wcsctl", wcsctl_bin, sizeof(wcsctl_bin));
    twcsd_sample_code(0, code1, sizeof(code1));
    return 0;
}

/* --- two lines on one database ----------------------------------------------------- */

static void test_two_lines_no_cross_talk(void **state)
{
    static struct twcsd l1, l2, l3;
    struct tplc T;
    struct conv_link *p1, *p2;
    bool up1 = false, up2 = false;
    struct conv_res r1, r2;
    struct conv_ack a;
    const char *argv[] = {NULL, "--config", NULL, NULL};
    struct proc_result third;
    PGconn *c;
    struct err e;
    char *out;
    json_t *s2;

    (void)state;
    twcsd_prepare(&l1, "wcs_test_lines", NULL);
    twcsd_prepare_shared(&l2, &l1, "wcs_test_lines2");
    config(&l1, "WCS01", 1, "");
    config(&l2, "WCS02", 2, "");
    twcsd_start(&l1);
    twcsd_start(&l2);
    assert_non_null(strstr(l1.ready, "active"));
    assert_non_null(strstr(l2.ready, "active"));
    tplc_init(&T);
    p1 = tplc_link(&T, "PLC01", CONV_LINK_CLIENT, l1.plc_port[0], 1000, &up1);
    p2 = tplc_link_to(&T, "PLC01", "WCS02", CONV_LINK_CLIENT, l2.plc_port[0], 1000, &up2);
    TPLC_RUN_UNTIL(&T, up1 && up2);

    /* The same PLC tracking number on both lines: two parcels. */
    r1 = tplc_request(&T, p1, "0000000501", "SCAN01", code1, CONV_BARCODE_CODE);
    assert_int_equal(r1.reason, CONV_REASON_OK);
    r2 = tplc_request(&T, p2, "0000000501", "SCAN01", code1, CONV_BARCODE_CODE);
    assert_int_equal(r2.reason, CONV_REASON_OK);
    s2 = status(&l2);
    assert_int_equal(plc_stat(s2, "repeated"), 0);
    assert_int_equal(plc_stat(s2, "requests"), 1);
    json_decref(s2);

    /* Line 1's UPD_ is applied there; the same on line 2 is line 2's. */
    assert_false(tplc_update(&T, p1, "0000000501", r1.destination, CONV_UPD_SORTED, 1795000100).duplicate);
    assert_false(tplc_update(&T, p2, "0000000501", r2.destination, CONV_UPD_SORTED, 1795000100).duplicate);

    /* A chute FULL on line 1 only. */
    assert_false(tplc_locu(&T, p1, r1.destination, CONV_LOC_FULL).duplicate);
    full_on_line1_only(&l1, &l2, r1.destination);

    /* Both restart and read their own logs back: line 2 does not take line
     * 1's telegrams or chute states for its own. */
    twcsd_stop(&l2);
    twcsd_stop(&l1);
    TPLC_RUN_UNTIL(&T, !up1 && !up2);
    twcsd_start(&l1);
    twcsd_start(&l2);
    TPLC_RUN_UNTIL(&T, up1 && up2);
    full_on_line1_only(&l1, &l2, r1.destination);
    /* Line 1's resend is recognised, line 2's is too: each from its own log. */
    assert_true(tplc_update(&T, p1, "0000000501", r1.destination, CONV_UPD_SORTED, 1795000100).duplicate);
    a = tplc_update(&T, p2, "0000000502", r2.destination, CONV_UPD_SORTED, 1795000100);
    assert_false(a.duplicate);
    assert_true(tplc_update(&T, p2, "0000000502", r2.destination, CONV_UPD_SORTED, 1795000100).duplicate);

    /* Chute holds are a line's. */
    assert_int_equal(wcs_db_connect(l1.conninfo, &c, &e), 0);
    assert_int_equal(wcs_db_chute_hold(c, "WCS01", "CH005", true, "test", &e), 0);
    assert_int_equal(tu_db_count(l1.conninfo, "SELECT count(*) FROM chute_holds WHERE node = "
                                              "'WCS01' AND chute = 'CH005'"),
                     1);
    assert_int_equal(tu_db_count(l1.conninfo, "SELECT count(*) FROM chute_holds WHERE node = "
                                              "'WCS02'"),
                     0);
    PQfinish(c);

    /* wcsctl status: both lines, each active; the telegram log by line. */
    tu_wcsctl_out(l1.conninfo, &out, "status", NULL); /* exit 1: no wcsd at the default URL */
    assert_non_null(strstr(out, "line WCS01 (events.node_id 1): active "));
    assert_non_null(strstr(out, "line WCS02 (events.node_id 2): active "));
    free(out);
    assert_int_equal(tu_wcsctl_out(l1.conninfo, &out, "telegrams", "--line", "WCS02", "--since",
                                   "1h", NULL),
                     0);
    assert_non_null(strstr(out, "0000000502"));
    assert_null(strstr(out, "0000000501   ")); /* (only line 2's) */
    free(out);
    assert_int_equal(tu_wcsctl_out(l1.conninfo, &out, "telegrams", "--line", "WCS09", NULL), 2);
    free(out);

    /* A bag is a line's chute's: with two lines, wcsctl asks which, and
     * line 1's bag holds only what line 1 sorted there. */
    assert_int_equal(tu_wcsctl_out(l1.conninfo, &out, "bag", "close", r1.destination, NULL), 1);
    free(out);
    assert_int_equal(tu_wcsctl_out(l1.conninfo, &out, "bag", "close", r1.destination, "--line",
                                   "WCS01", NULL),
                     0);
    free(out);
    assert_int_equal(tu_db_count(l1.conninfo, "SELECT count(*) FROM bag_events be JOIN bags b"
                                              " ON b.id = be.bag WHERE b.line = 'WCS01'"),
                     1);

    /* A third line that would write line 1's ids is refused at start. */
    twcsd_prepare_shared(&l3, &l1, "wcs_test_lines3");
    config(&l3, "WCS03", 1, "");
    argv[0] = l3.bin;
    argv[2] = l3.cfg_path;
    proc_run(argv, NULL, 30, &third);
    assert_int_not_equal(third.status, 0);
    assert_non_null(strstr(third.err, "events.node_id 1 is line WCS01's"));
    proc_result_free(&third);

    tplc_done(&T);
    twcsd_teardown(&l3);
    twcsd_teardown(&l2);
    assert_int_equal(twcsd_teardown(&l1), 0);
}

/* --- one line, two wcsd ----------------------------------------------------------- */

static void test_standby_takes_over_the_session(void **state)
{
    static struct twcsd a, b;
    struct tplc T;
    struct conv_link *plc;
    bool up = false;
    struct conv_res r, again;
    json_t *s;
    char full[21];

    (void)state;
    twcsd_prepare(&a, "wcs_test_takeover", NULL);
    twcsd_prepare_shared(&b, &a, "wcs_test_takeover2");
    /* The same line, the same PLC address (a floating one in production). */
    b.plc_port[0] = a.plc_port[0];
    config(&a, "WCS01", 1, "");
    config(&b, "WCS01", 1, "");
    setenv("WCS_HOLDER_HOST", "hostA", 1);
    twcsd_start(&a);
    setenv("WCS_HOLDER_HOST", "hostB", 1);
    twcsd_start(&b);
    unsetenv("WCS_HOLDER_HOST");
    assert_non_null(strstr(a.ready, "active"));
    assert_non_null(strstr(b.ready, "standby"));
    s = status(&b);
    assert_string_equal(ha(s, "role"), "standby");
    assert_int_equal(strncmp(ha(s, "active"), "hostA:", 6), 0);
    json_decref(s);
    s = status(&a);
    assert_string_equal(ha(s, "role"), "active");
    json_decref(s);

    tplc_init(&T);
    plc = tplc_link(&T, "PLC01", CONV_LINK_CLIENT, a.plc_port[0], 1000, &up);
    TPLC_RUN_UNTIL(&T, up);
    r = tplc_request(&T, plc, "0000000601", "SCAN01", code1, CONV_BARCODE_CODE);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_false(tplc_update(&T, plc, "0000000602", "CH003", CONV_UPD_SORTED, 1795000200).duplicate);
    snprintf(full, sizeof(full), "CH004");
    assert_false(tplc_locu(&T, plc, full, CONV_LOC_FULL).duplicate);

    /* The active dies; the standby takes the line when the lease lapses. */
    twcsd_kill(&a);
    TPLC_RUN_UNTIL(&T, !up);
    assert_int_equal(proc_wait_line(&b.p, "line WCS01 active (token 2), taken over from hostA:",
                                    10000, NULL, 0),
                     0);
    TPLC_RUN_UNTIL(&T, up); /* the link reconnects: to b, which listens now */

    /* As if nothing happened: the answer first given, the resend known, the
     * chute still full. */
    again = tplc_request(&T, plc, "0000000601", "SCAN01", code1, CONV_BARCODE_CODE);
    assert_string_equal(again.destination, r.destination);
    assert_true(tplc_update(&T, plc, "0000000602", "CH003", CONV_UPD_SORTED, 1795000200).duplicate);
    s = status(&b);
    assert_int_equal(plc_stat(s, "repeated"), 1);
    assert_string_equal(chute_state(s, full), "full");
    assert_string_equal(ha(s, "role"), "active");
    assert_int_equal(strncmp(json_string_value(json_object_get(
                                 json_object_get(json_object_get(s, "ha"), "last_takeover"), "from")),
                             "hostA:", 6),
                     0);
    json_decref(s);
    /* One SORTED__ for 0000000602 in the line's log, whoever acknowledged it. */
    assert_int_equal(tu_db_count(a.conninfo, "SELECT count(*) FROM events WHERE kind = 'confirm'"
                                             " AND reason = 'SORTED__'"
                                             " AND detail LIKE 'tracking 0000000602%%'"),
                     1);

    tplc_done(&T);
    twcsd_teardown(&b);
    assert_int_equal(twcsd_teardown(&a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_lines_no_cross_talk),
        cmocka_unit_test(test_standby_takes_over_the_session),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

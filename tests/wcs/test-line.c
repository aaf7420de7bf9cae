/*
 * test-line.c - a simulated sorting run end to end: wcs-linesim plays the
 * sorter PLC (with link drops, garbage, duplicated and repeated telegrams, a
 * slow reader, no-reads, divert failures, lost and removed parcels, full
 * chutes, and requests without a PLC barcode correlated with scans posted to
 * wcsd) against a real wcsd on a real PostgreSQL. Then the emulator's own
 * report is compared with what wcsd stored: every inducted parcel ends in
 * exactly one final state, and per-chute and per-state counts match.
 */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"
#include "wcs/store/store.h"

static struct twcsd wcsd; /* the daemon under test (tests/common/testwcsd.h) */
static char linesim_bin[512], report_path[256];

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    twcsd_prepare(&wcsd, "wcs_test_line", NULL);
    testdb_binary_path("bin/wcs-linesim", linesim_bin, sizeof(linesim_bin));
    snprintf(report_path, sizeof(report_path), "%s/report.json", wcsd.dir);
    /* Time runs x20 in the emulator: the read window is scaled alike. */
    twcsd_config(&wcsd,
                 "events:\n  spool_path: %s/spool\n"
                 "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: 0\n"
                 "    life_interval_ms: 1000\n    read_window_before_ms: 4\n"
                 "    read_window_after_ms: 3\n    locations: [SCAN01]\n",
                 wcsd.dir);
    twcsd_start(&wcsd);
    wcsd.plc_port[0] = twcsd_listen_port(&wcsd, "PLC01");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return twcsd_teardown(&wcsd);
}

static long long jint(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);

    if (b != NULL)
        v = json_object_get(v, b);
    if (!json_is_integer(v))
        fail_msg("report: %s%s%s missing", a, b ? "." : "", b ? b : "");
    return (long long)json_integer_value(v);
}

static void test_simulated_run_matches_database(void **state)
{
    char connect[64], scan_url[128];
    const char *argv[] = {linesim_bin, "--connect", connect, "--preadvice", wcsd.preadvice_csv,
                          "--count", "600", "--rate", "36000", "--speed", "20", "--seed", "7",
                          "--plc-timeout-ms", "3000", "--capacity", "15", "--empty-ms", "20000",
                          "--noread", "0.03", "--divert-fail", "0.03", "--lost", "0.01",
                          "--removed", "0.01", "--fault-drop", "0.004", "--fault-garbage", "0.01",
                          "--fault-dup", "0.02", "--fault-repeat", "0.02", "--fault-slow", "0.005",
                          "--slow-ms", "200", "--fault-noscan", "0.05", "--scan-url", scan_url,
                          "--token-file", wcsd.token_file[TWCSD_SCANNER],
                          "--drain-timeout", "60", "--report", report_path, NULL};
    struct proc_result r;
    json_t *rep, *chutes, *v;
    json_error_t je;
    const char *chute;
    long long inducted, sorted_db = 0;

    (void)state;
    snprintf(connect, sizeof(connect), "127.0.0.1:%d", wcsd.plc_port[0]);
    snprintf(scan_url, sizeof(scan_url), "http://127.0.0.1:%d/v1/scans", wcsd.http_port);
    proc_run(argv, NULL, 240, &r);
    if (r.status != 0)
        fail_msg("wcs-linesim exited %d: %s", r.status, r.err);
    proc_result_free(&r);
    rep = json_load_file(report_path, 0, &je);
    if (rep == NULL)
        fail_msg("report: %s", je.text);

    /* The emulator's view: every parcel final, nothing left unacknowledged,
     * and the faults did happen. */
    inducted = jint(rep, "inducted", NULL);
    assert_int_equal(inducted, 600);
    assert_int_equal(jint(rep, "unfinished", NULL), 0);
    assert_int_equal(jint(rep, "final", "SORTED") + jint(rep, "final", "REJECTED") +
                         jint(rep, "final", "LOST") + jint(rep, "final", "REMOVED"),
                     inducted);
    assert_true(jint(rep, "faults", "garbage") > 0);
    assert_true(jint(rep, "faults", "duplicated") > 0);
    assert_true(jint(rep, "telegrams", "err_received") > 0);
    /* The emulator's scans (with its scanner token, at a configured scan
     * location) were all taken by wcsd. */
    assert_true(jint(rep, "scan_post", "posted") > 0);
    assert_int_equal(jint(rep, "scan_post", "failed"), 0);

    /* wcsd has written everything? Wait (bounded) for the last events. */
    {
        int tries;
        long long want = jint(rep, "final", "SORTED");
        for (tries = 0; tries < 300; tries++) {
            sorted_db =
                tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'confirm'"
                                           " AND reason = 'SORTED__'");
            if (sorted_db >= want)
                break;
            usleep(20000);
        }
        assert_int_equal(sorted_db, want);
    }
    /* Per chute, as the emulator counted parcels into them. */
    chutes = json_object_get(rep, "chutes");
    json_object_foreach(chutes, chute, v)
    {
        long long n = tu_db_count(wcsd.conninfo,
                                  "SELECT count(*) FROM events WHERE kind = 'confirm'"
                                  " AND reason = 'SORTED__' AND chute = '%s'",
                                  chute);
        if (n != json_integer_value(v))
            fail_msg("chute %s: emulator %lld, database %lld", chute,
                     (long long)json_integer_value(v), n);
    }
    assert_int_equal(tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'confirm'"
                                                " AND reason = 'REJECTED'"),
                     jint(rep, "final", "REJECTED"));
    assert_int_equal(tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'confirm'"
                                                " AND reason = 'LOST____'"),
                     jint(rep, "final", "LOST"));
    assert_int_equal(tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'confirm'"
                                                " AND reason = 'REMOVED_'"),
                     jint(rep, "final", "REMOVED"));
    /* Exactly one final state per parcel (tracking number), despite resends. */
    assert_int_equal(tu_db_count(wcsd.conninfo,
                                 "SELECT count(DISTINCT substring(detail FROM 'tracking ([0-9]+)'))"
                                 " FROM events WHERE kind = 'confirm' AND reason IN"
                                 " ('SORTED__', 'REJECTED', 'LOST____', 'REMOVED_')"),
                     inducted);
    assert_int_equal(tu_db_count(wcsd.conninfo,
                                 "SELECT count(*) FROM (SELECT substring(detail FROM"
                                 " 'tracking ([0-9]+)') t FROM events WHERE kind = 'confirm' AND"
                                 " reason IN ('SORTED__', 'REJECTED', 'LOST____', 'REMOVED_')"
                                 " GROUP BY 1 HAVING count(*) > 1) x"),
                     0);
    /* Every answer the emulator received was decided and logged by wcsd. */
    assert_true(tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'decision'") >=
                jint(json_object_get(rep, "telegrams"), "received_by_type", "RES_") -
                    jint(rep, "line", "repeat_answers"));
    /* ...and every answer went out for a request in the telegram log (a
     * request lost with a dropped link is not there, and got no answer). */
    assert_true(
        tu_db_count(wcsd.conninfo,
                    "SELECT count(*) FROM telegrams WHERE direction = 'i' AND type = 'REQ_'") >=
        jint(json_object_get(rep, "telegrams"), "received_by_type", "RES_"));
    json_decref(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulated_run_matches_database),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

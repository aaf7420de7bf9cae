/*
 * test-wcsctl.c - the operator CLI as operators use it: help, code check
 * output and exit codes, import reports, sort-plan load/activate/list/show,
 * parcel show with its event trace, migrate twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "wcs/store/events.h"
#include "wcs/store/store.h"

static char conninfo[512], wcsctl_bin[512], sample_plan[512], tmpdir[128];

/* Runs wcsctl with up to 6 arguments after --db; fills r. */
static void run(struct proc_result *r, const char *a1, const char *a2, const char *a3,
                const char *a4, const char *a5)
{
    const char *argv[] = {wcsctl_bin, "--db", conninfo, a1, a2, a3,
                    a4, a5, NULL};

    proc_run(argv, NULL, 120, r);
}


static int setup(void **state)
{
    (void)state;
    testdb_create("wcs_test_wcsctl", conninfo, sizeof(conninfo));
    testdb_binary_path("bin/wcsctl", wcsctl_bin, sizeof(wcsctl_bin));
    testdb_source_path("data/sortplan-sample.csv", sample_plan, sizeof(sample_plan));
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/wcs-test-wcsctl-%d", (int)getpid());
    assert_int_equal(mkdir(tmpdir, 0700), 0);
    return 0;
}

static int teardown(void **state)
{
    char cmd[200];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_help_lists_every_command(void **state)
{
    static const char *const names[] = {"migrate", "import", "code check", "sortplan check", "telegrams", "summary", "scanners",
                                        "sortplan load", "sortplan activate", "sortplan list",
                                        "sortplan show", "parcel show", "status", "decide",
                                        "bag close", "dispatch open", "dispatch add",
                                        "dispatch close", "dispatch show", "manifest export"};
    const char *argv[] = {wcsctl_bin, "--help", NULL};
    const char *bad[] = {wcsctl_bin, "frobnicate", NULL};
    struct proc_result r;
    size_t i;

    (void)state;
    proc_run(argv, NULL, 10, &r);
    assert_int_equal(r.status, 0);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strstr(r.out, names[i]) == NULL)
            fail_msg("--help does not mention \"%s\"", names[i]);
    proc_result_free(&r);
    proc_run(bad, NULL, 10, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command \"frobnicate\""));
    proc_result_free(&r);
}

static void test_code_check(void **state)
{
    struct proc_result r;

    (void)state;
    run(&r, "code", "check", "RR473124829GB", "LP00123456789012", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "RR473124829GB\ts10\tvalid\tok\n"
                               "LP00123456789012\tcainiao\tvalid\tok\n");
    proc_result_free(&r);
    run(&r, "code", "check", "RR473124829GB", "RR473124828GB", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "RR473124828GB\ts10\tinvalid\t"));
    proc_result_free(&r);
}

static void test_migrate_twice(void **state)
{
    struct proc_result r;

    (void)state;
    run(&r, "migrate", NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 0);
    proc_result_free(&r);
    run(&r, "migrate", NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "(0 migration(s) applied now)"));
    proc_result_free(&r);
}

static void test_import_reports_bad_rows(void **state)
{
    char path[256];
    struct proc_result r;

    (void)state;
    snprintf(path, sizeof(path), "%s/pre.csv", tmpdir);
    tu_write_text(path, "code,service,country,postal_code,weight_g\n"
                     "RR473124829GB,STANDARD,RU,630099,1200\n"
                     "RR473124828GB,STANDARD,RU,630099,1200\n"
                     "RB123456785GB,EMS,RU,101000,700\n");
    run(&r, "import", path, NULL, NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "pre.csv:3: code:"));
    assert_non_null(strstr(r.out, "3 row(s): 2 loaded (2 new, 0 updated, 0 unchanged), 1 refused"));
    proc_result_free(&r);
    /* Again: nothing changes. */
    run(&r, "import", path, NULL, NULL, NULL);
    assert_non_null(strstr(r.out, "2 loaded (0 new, 0 updated, 2 unchanged), 1 refused"));
    proc_result_free(&r);
}

static void test_sortplan_commands(void **state)
{
    char bad[256];
    struct proc_result r;

    (void)state;
    snprintf(bad, sizeof(bad), "%s/bad-plan.csv", tmpdir);
    tu_write_text(bad, "kind,id,route,prefix_from,prefix_to,services,weight_min_g,weight_max_g,"
                    "priority,chutes,value,description,crossing\n"
                    "chute,CH001,,,,,,,,,,,\n"
                    "route,RU-X,,,,,,,,CH999,air,,\n");
    run(&r, "sortplan", "load", bad, NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "bad-plan.csv:3:"));
    assert_non_null(strstr(r.err, "nothing stored"));
    proc_result_free(&r);
    run(&r, "sortplan", "list", NULL, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "bad-plan"));
    proc_result_free(&r);

    run(&r, "sortplan", "check", sample_plan, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, ": valid ("));
    proc_result_free(&r);
    run(&r, "sortplan", "load", sample_plan, "--activate", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "stored as version 1"));
    assert_non_null(strstr(r.out, "sort plan version 1 is active"));
    proc_result_free(&r);
    run(&r, "sortplan", "list", NULL, NULL, NULL);
    assert_non_null(strstr(r.out, "1       yes"));
    proc_result_free(&r);
    run(&r, "sortplan", "show", NULL, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "sort plan version 1"));
    assert_non_null(strstr(r.out, "RU-MOW-AIR"));
    assert_non_null(strstr(r.out, "noread"));
    proc_result_free(&r);
    run(&r, "sortplan", "activate", "7", NULL, NULL);
    assert_int_equal(r.status, 1);
    proc_result_free(&r);
    /* Operator actions are in the event log, with who did them. */
    {
        PGconn *c;
        struct err e;
        PGresult *res;

        assert_int_equal(wcs_db_connect(conninfo, &c, &e), 0);
        /* Operator ids come from the database's local range, below wcsd's. */
        res = PQexec(c, "SELECT detail FROM events WHERE kind = 'operator'"
                        " AND source LIKE 'wcsctl:%' AND id < 1099511627776 ORDER BY id");
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_true(PQntuples(res) >= 2);
        assert_non_null(strstr(PQgetvalue(res, PQntuples(res) - 2, 0), "sort plan v1 loaded from"));
        assert_string_equal(PQgetvalue(res, PQntuples(res) - 1, 0), "sort plan v1 activated");
        PQclear(res);
        PQfinish(c);
    }
    run(&r, "sortplan", "activate", "seven", NULL, NULL);
    assert_int_equal(r.status, 2);
    proc_result_free(&r);
}

static void test_parcel_show_with_trace(void **state)
{
    struct wcs_event ev;
    struct proc_result r;
    PGconn *c;
    struct err e;

    (void)state;
    assert_int_equal(wcs_db_connect(conninfo, &c, &e), 0);
    memset(&ev, 0, sizeof(ev));
    ev.id = wcs_event_id_next();
    ev.at_us = 1795000000000000LL;
    ev.kind = WCS_EVENT_DECISION;
    strcpy(ev.parcel_code, "RB123456785GB");
    strcpy(ev.location, "SCAN01");
    strcpy(ev.chute, "CH003");
    strcpy(ev.reason, "OK______");
    strcpy(ev.source, "PLC01");
    strcpy(ev.detail, "route RU-MOW-AIR");
    assert_int_equal(wcs_db_events_copy(c, &ev, 1, &e), 0);
    PQfinish(c);

    run(&r, "parcel", "show", "RB123456785GB", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "parcel RB123456785GB"));
    assert_non_null(strstr(r.out, "service       EMS"));
    assert_non_null(strstr(r.out, "decision"));
    assert_non_null(strstr(r.out, "CH003"));
    assert_non_null(strstr(r.out, "route RU-MOW-AIR"));
    proc_result_free(&r);
    run(&r, "parcel", "show", "RR000000005CN", NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "no such parcel"));
    proc_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_every_command),
        cmocka_unit_test(test_code_check),
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_import_reports_bad_rows),
        cmocka_unit_test(test_sortplan_commands),
        cmocka_unit_test(test_parcel_show_with_trace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

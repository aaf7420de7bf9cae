/*
 * test-plc.c - wcsd and a sorter PLC end to end over 127.0.0.1: the test plays
 * the PLC with a real conveyor link (client mode) against a real wcsd (server
 * mode) on a real PostgreSQL. Destination answers, repeated requests,
 * recirculation up to RECIRLIM, chute states, correlation with WCS scans
 * posted over HTTP (no-read, one code, multi-read), ACK_ after durability,
 * resends answered DUPLIC__ and applied once, and the telegram log.
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
#include "tests/common/testplc.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"
#include "wcs/store/store.h"

static struct twcsd wcsd; /* the daemon under test (tests/common/testwcsd.h) */
static char wcsctl_bin[512], first_code[64], second_code[64];
static char sorted_destination[21]; /* where tracking 0000000010 was sorted */

/* --- the test's PLC ------------------------------------------------------ */

static struct tplc T; /* loop, recorder, bounded waits (tests/common/testplc.h) */
static struct conv_link *plc;
static bool plc_up;
/* A second sorter, PLC02, in the other mode: it listens, wcsd connects. */
static struct conv_link *plc2;
static bool plc2_up;

/* Sends a REQ_ from PLC01 at SCAN01 and waits for its RES_. */
static struct conv_res request(const char *tracking, const char *barcode, enum conv_barcode kind)
{
    return tplc_request(&T, plc, tracking, "SCAN01", barcode, kind);
}

/* Sends an UPD_ stamped `when` (a real PLC stamps each event anew; the same
 * stamp and fields again is a resend) and waits for its ACK_. */
static struct conv_ack update(const char *tracking, const char *location,
                              enum conv_upd_event event, int64_t when)
{
    return tplc_update(&T, plc, tracking, location, event, when);
}

static struct conv_ack locu(const char *chute, enum conv_loc_state st)
{
    return tplc_locu(&T, plc, chute, st);
}

static void scan(const char *code)
{
    char body[256];

    snprintf(body, sizeof(body), "{\"location\": \"SCAN01\", \"code\": \"%s\", \"source\": \"cam1\"}",
             code);
    assert_int_equal(tu_http(wcsd.http_port, "/v1/scans", body, NULL), 202);
}

/* --- setup --------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* our link may write to a wcsd that just stopped */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    twcsd_prepare(&wcsd, "wcs_test_plc", NULL);
    testdb_binary_path("bin/wcsctl", wcsctl_bin, sizeof(wcsctl_bin));
    /* Two pre-advised codes from the sample file. */
    twcsd_sample_code(0, first_code, sizeof(first_code));
    twcsd_sample_code(1, second_code, sizeof(second_code));
    twcsd_config(&wcsd,
                 "events:\n  spool_path: %s/spool\n"
                 "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                 "    life_interval_ms: 1000\n    read_window_before_ms: 2000\n"
                 "    read_window_after_ms: 50\n    locations: [SCAN01]\n"
                 "    allow: [127.0.0.1]\n"
                 "  - id: PLC02\n    mode: client\n    host: 127.0.0.1\n    port: %d\n"
                 "    life_interval_ms: 1000\n",
                 wcsd.dir, wcsd.plc_port[0], wcsd.plc_port[1]);

    /* PLC02 listens before wcsd starts; wcsd connects to it. */
    tplc_init(&T);
    plc2 = tplc_link(&T, "PLC02", CONV_LINK_SERVER, wcsd.plc_port[1], 1000, &plc2_up);
    twcsd_start(&wcsd);
    plc = tplc_link(&T, "PLC01", CONV_LINK_CLIENT, wcsd.plc_port[0], 1000, &plc_up);
    TPLC_RUN_UNTIL(&T, plc_up);
    TPLC_RUN_UNTIL(&T, plc2_up);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tplc_done(&T);
    if (twcsd_teardown(&wcsd) != 0)
        return -1;
    curl_global_cleanup();
    return 0;
}

/* --- tests --------------------------------------------------------------- */

static void test_request_answer_and_repeat(void **state)
{
    struct conv_res r1, r2;

    (void)state;
    r1 = request("0000000001", first_code, CONV_BARCODE_CODE);
    assert_int_equal(r1.reason, CONV_REASON_OK);
    assert_string_equal(r1.barcode, first_code);
    assert_string_equal(r1.location, "SCAN01");
    assert_true(strncmp(r1.destination, "CH", 2) == 0);
    /* Asked again: the same destination, not a new parcel. */
    r2 = request("0000000001", first_code, CONV_BARCODE_CODE);
    assert_string_equal(r2.destination, r1.destination);
    assert_int_equal(r2.reason, CONV_REASON_OK);
    /* Unknown and no-read. */
    r1 = request("0000000002", "RR473124829GB", CONV_BARCODE_CODE);
    assert_int_equal(r1.reason, CONV_REASON_UNKNOWN);
    r1 = request("0000000003", NULL, CONV_BARCODE_NOREAD);
    assert_int_equal(r1.reason, CONV_REASON_NOREAD);
}

static void test_second_plc_in_client_mode(void **state)
{
    struct conv_telegram t;
    struct err e;
    int from = T.ngot, i;

    (void)state;
    /* wcsd connected to PLC02 by itself; PLC02 asks on its own link. */
    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_REQ;
    snprintf(t.u.req.tracking, sizeof(t.u.req.tracking), "2000000001");
    snprintf(t.u.req.location, sizeof(t.u.req.location), "SCAN02");
    t.u.req.barcode_kind = CONV_BARCODE_CODE;
    snprintf(t.u.req.barcode, sizeof(t.u.req.barcode), "%.20s", first_code);
    t.u.req.weight_g = t.u.req.length_mm = t.u.req.width_mm = t.u.req.height_mm = -1;
    if (conv_link_send(plc2, &t, NULL, &e) < 0)
        fail_msg("send: %s", e.msg);
    TPLC_RUN_UNTIL(&T, (i = tplc_find(&T, from, CONV_TG_RES, "2000000001", 0)) >= 0);
    assert_int_equal(T.got[i].u.res.reason, CONV_REASON_OK);
    assert_string_equal(T.got[i].u.res.location, "SCAN02");
    assert_true(plc_up); /* the other PLC is unaffected */
}

static void test_update_acked_once_durable_and_resend_is_duplicate(void **state)
{
    struct conv_res r = request("0000000010", second_code, CONV_BARCODE_CODE);
    struct conv_ack a;

    (void)state;
    snprintf(sorted_destination, sizeof(sorted_destination), "%s", r.destination);
    a = update("0000000010", r.destination, CONV_UPD_SORTED, 1795000100);
    assert_false(a.duplicate);
    /* The PLC resends the same telegram (new seq, same content): DUPLIC__,
     * and the confirmation is neither applied nor recorded twice. ACK_ means
     * durable: with the database up the event is there. */
    a = update("0000000010", r.destination, CONV_UPD_SORTED, 1795000100);
    assert_true(a.duplicate);
    {
        long long n = 0;
        int tries;
        for (tries = 0; tries < 200 && n < 1; tries++) {
            n = tu_db_count(wcsd.conninfo,
                            "SELECT count(*) FROM events WHERE kind = 'confirm'"
                            " AND reason = 'SORTED__' AND detail LIKE 'tracking 0000000010%%'");
            if (n < 1)
                usleep(20000);
        }
        assert_int_equal(n, 1);
    }
}

static void test_recirculation_until_limit(void **state)
{
    struct conv_res r;
    int i;

    (void)state;
    r = request("0000000020", first_code, CONV_BARCODE_CODE);
    assert_int_equal(r.reason, CONV_REASON_OK);
    /* The sample plan's recirc_limit is 3: three more rounds are answered
     * normally, the fourth goes to the recirculation-limit destination. */
    for (i = 1; i <= 4; i++) {
        update("0000000020", r.destination, CONV_UPD_RECIRC, 1795000200 + i);
        r = request("0000000020", first_code, CONV_BARCODE_CODE);
        if (i <= 3)
            assert_int_equal(r.reason, CONV_REASON_OK);
        else
            assert_int_equal(r.reason, CONV_REASON_RECIRLIM);
    }
}

static char full_chute[21]; /* reported FULL, ACTIVE, FULL, ACTIVE before the restart */

static void test_full_chute_gets_nothing(void **state)
{
    struct conv_res r1, r2, r3;

    (void)state;
    r1 = request("0000000030", second_code, CONV_BARCODE_CODE);
    assert_int_equal(r1.reason, CONV_REASON_OK);
    snprintf(full_chute, sizeof(full_chute), "%s", r1.destination);
    assert_false(locu(r1.destination, CONV_LOC_FULL).duplicate);
    r2 = request("0000000031", second_code, CONV_BARCODE_CODE);
    assert_string_not_equal(r2.destination, r1.destination);
    assert_false(locu(r1.destination, CONV_LOC_ACTIVE).duplicate);
    /* FULL again, the same telegram content as the first: a state report,
     * applied (it was answered DUPLIC__ and the chute kept getting parcels). */
    assert_false(locu(r1.destination, CONV_LOC_FULL).duplicate);
    r3 = request("0000000032", second_code, CONV_BARCODE_CODE);
    assert_string_not_equal(r3.destination, r1.destination);
    assert_false(locu(r1.destination, CONV_LOC_ACTIVE).duplicate);
}

/* Index of the first ERR_ recorded at or after from, -1 if none. */
static int first_err(int from)
{
    int i;

    for (i = from; i < T.ngot; i++)
        if (T.got[i].type == CONV_TG_ERR)
            return i;
    return -1;
}

/* A stranger on the PLC port (not in plcs[].allow) is closed at once and
 * does not push the PLC aside; garbage on the PLC's own link is answered
 * ERR_ 00000013 (no false sync in its text) and logged, refused. */
static void test_strangers_and_garbage(void **state)
{
    struct sockaddr_in src, dst;
    struct timeval tv = {20, 0};
    char buf[64];
    int fd, i, from = T.ngot;
    struct err e;

    (void)state;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &src.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)wcsd.plc_port[0]);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0); /* closed by wcsd, bounded */
    close(fd);
    assert_true(plc_up);
    assert_int_equal(request("0000000060", first_code, CONV_BARCODE_CODE).reason, CONV_REASON_OK);

    assert_int_equal(conv_link_send_raw(plc, "noise on the line!!", 19, &e), 0);
    TPLC_RUN_UNTIL(&T, first_err(from) >= 0);
    i = first_err(from);
    assert_string_equal(T.got[i].u.err.code, CONV_ERR_BAD_SYNC);
    assert_null(strchr(T.got[i].u.err.text, '#'));
}

/* State and load of chute id in GET /v1/status. */
static void chute_status(const char *id, char *state, size_t len, long long *load)
{
    json_t *j, *c;
    size_t i;

    assert_int_equal(tu_http(wcsd.http_port, "/v1/status", NULL, &j), 200);
    json_array_foreach(json_object_get(j, "chutes"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0) {
            snprintf(state, len, "%s", json_string_value(json_object_get(c, "state")));
            *load = json_integer_value(json_object_get(c, "load"));
        }
    }
    json_decref(j);
}

static void test_bag_closed_empties_chute(void **state)
{
    struct conv_res r;
    char st[16] = "";
    long long load = -1;
    PGconn *c;
    PGresult *res;
    struct err e;
    int tries;

    (void)state;
    r = request("0000000035", first_code, CONV_BARCODE_CODE);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_false(locu(r.destination, CONV_LOC_FULL).duplicate);
    chute_status(r.destination, st, sizeof(st), &load);
    assert_string_equal(st, "full");
    assert_true(load >= 1);
    /* An operator closes the bag (wcsctl bag close notifies wcs_chutes). */
    assert_int_equal(wcs_db_connect(wcsd.conninfo, &c, &e), 0);
    {
        char payload[64];
        const char *params[2] = {"wcs_chutes", payload};
        snprintf(payload, sizeof(payload), "%s emptied", r.destination);
        res = PQexecParams(c, "SELECT pg_notify($1, $2)", 2, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        PQclear(res);
    }
    PQfinish(c);
    for (tries = 0; tries < 250; tries++) {
        chute_status(r.destination, st, sizeof(st), &load);
        if (strcmp(st, "active") == 0)
            break;
        usleep(20000);
    }
    assert_string_equal(st, "active");
    assert_int_equal(load, 0);
}

static void test_correlation_with_wcs_scans(void **state)
{
    struct conv_res r;

    (void)state;
    /* No PLC barcode, nothing scanned: no-read. */
    r = request("0000000040", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_NOREAD);
    /* One code scanned by a WCS camera at SCAN01: decided on it. */
    scan(first_code);
    r = request("0000000041", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, first_code);
    /* That read was taken by its parcel: the next request does not see it. */
    r = request("0000000042", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_NOREAD);
    /* Two different parcels in the window: multi-read. */
    scan(first_code);
    scan(second_code);
    r = request("0000000043", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_MULTIRD);
    /* A malformed scan post is refused with the reason. */
    {
        json_t *j;
        assert_int_equal(tu_http(wcsd.http_port, "/v1/scans", "{\"location\": \"SCAN01\"}", &j),
                         400);
        assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"),
                                                                 "message")),
                               "code"));
        json_decref(j);
    }
}

static void test_camera_frame_feeds_the_decision(void **state)
{
    char png[256], cmd[512], url[128], bin[512];
    struct proc_result pr;
    struct conv_res r;
    const char *argv[] = {bin, "decode", "--post", url, "--location", "SCAN01", "--source", "CAM1",
                          "--token-file", wcsd.token_file[TWCSD_SCANNER], png, NULL};

    (void)state;
    /* A camera frame of the parcel's label (rendered by zint), decoded by
     * wcs-scan and posted to wcsd as a read at SCAN01... */
    snprintf(png, sizeof(png), "%s/label.png", wcsd.dir);
    snprintf(cmd, sizeof(cmd), "zint -b 20 -d '%s' --scale=2 --whitesp=10 -o '%s' >/dev/null",
             second_code, png);
    if (system(cmd) != 0)
        fail_msg("zint failed: is it installed (scripts/deps.sh)?");
    testdb_binary_path("bin/wcs-scan", bin, sizeof(bin));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/scans", wcsd.http_port);
    proc_run(argv, NULL, 60, &pr);
    if (pr.status != 0)
        fail_msg("wcs-scan: %d: %s", pr.status, pr.err);
    assert_non_null(strstr(pr.out, second_code));
    proc_result_free(&pr);
    /* ...is what a REQ_ without a PLC barcode is decided on. */
    r = request("0000000050", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, second_code);
    assert_true(tu_db_count(wcsd.conninfo,
                            "SELECT count(*) FROM events WHERE kind = 'scan'"
                            " AND source = 'CAM1' AND parcel_code = '%s'",
                            second_code) == 1);
}

static void test_telegram_log_and_stop(void **state)
{
    long long n = 0;
    int tries;

    (void)state;
    twcsd_stop(&wcsd);
    for (tries = 0; tries < 50 && n == 0; tries++)
        n = tu_db_count(wcsd.conninfo,
                        "SELECT count(*) FROM telegrams WHERE plc = 'PLC01' AND type = 'REQ_'"
                        " AND direction = 'i'");
    assert_true(n >= 10);
    assert_true(
        tu_db_count(wcsd.conninfo,
                    "SELECT count(*) FROM telegrams WHERE type = 'RES_' AND direction = 'o'") >=
        10);
    assert_true(tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'decision'") >=
                10);
    assert_true(tu_db_count(wcsd.conninfo, "SELECT count(*) FROM events WHERE kind = 'scan'") >= 2);
    /* The garbage went to the telegram log as it came, marked refused. */
    assert_int_equal(tu_db_count(wcsd.conninfo,
                                 "SELECT count(*) FROM telegrams WHERE refused AND direction = 'i'"
                                 " AND type = '' AND raw = 'noise on the line!!'"),
                     1);
    {
        const char *argv[] = {wcsctl_bin, "--db", wcsd.conninfo, "telegrams", "--plc", "PLC01",
                              "--since", "1h", "--limit", "5", NULL};
        struct proc_result r;
        int lines = 0;
        char *q;

        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        for (q = r.out; (q = strchr(q, '\n')) != NULL; q++)
            lines++;
        assert_int_equal(lines, 5);
        assert_non_null(strstr(r.out, "PLC01 <-  ###00160PLC01WCS01"));
        proc_result_free(&r);
    }
    {
        const char *argv[] = {wcsctl_bin, "--db", wcsd.conninfo, "summary", "--since", "1h", NULL};
        struct proc_result r;

        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "decisions by reason:"));
        assert_non_null(strstr(r.out, "RECIRLIM"));
        assert_non_null(strstr(r.out, "SORTED__"));
        assert_non_null(strstr(r.out, "parcels sorted per chute:"));
        proc_result_free(&r);
    }
}

static void test_restart_still_recognises_resend(void **state)
{
    struct conv_ack a;

    (void)state;
    /* wcsd comes back on the same port; the PLC's link reconnects and
     * resends the telegram it had sent before: still a duplicate. */
    TPLC_RUN_UNTIL(&T, !plc_up);
    twcsd_start(&wcsd);
    TPLC_RUN_UNTIL(&T, plc_up);
    a = update("0000000010", sorted_destination, CONV_UPD_SORTED, 1795000100);
    assert_true(a.duplicate);
    /* A fresh LOCU matching one in the log is applied all the same. */
    {
        char st[16];
        long long load;

        assert_false(locu(full_chute, CONV_LOC_FULL).duplicate);
        chute_status(full_chute, st, sizeof(st), &load);
        assert_string_equal(st, "full");
    }
    assert_int_equal(
        tu_db_count(wcsd.conninfo,
                    "SELECT count(*) FROM events WHERE kind = 'confirm'"
                    " AND reason = 'SORTED__' AND detail LIKE 'tracking 0000000010%%'"),
        1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_answer_and_repeat),
        cmocka_unit_test(test_second_plc_in_client_mode),
        cmocka_unit_test(test_update_acked_once_durable_and_resend_is_duplicate),
        cmocka_unit_test(test_recirculation_until_limit),
        cmocka_unit_test(test_full_chute_gets_nothing),
        cmocka_unit_test(test_bag_closed_empties_chute),
        cmocka_unit_test(test_correlation_with_wcs_scans),
        cmocka_unit_test(test_camera_frame_feeds_the_decision),
        cmocka_unit_test(test_strangers_and_garbage),
        cmocka_unit_test(test_telegram_log_and_stop),
        cmocka_unit_test(test_restart_still_recognises_resend),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

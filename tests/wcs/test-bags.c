/*
 * test-bags.c - bags, dispatches and manifests: receptacle ids (checked by
 * the scanners' own validator), the manifest JSON and CSV, and against the
 * "pg" fixture: bag close from SORTED__ confirm events (contents, weight,
 * the wcs_chutes notification, a second close taking only newer parcels),
 * the dispatch flow, and the errors an operator meets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "scanners/scanners.h"
#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "wcs/store/bags.h"
#include "wcs/store/events.h"
#include "wcs/store/store.h"

static char conninfo[512], wcsctl_bin[512];
static PGconn *db;

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(db, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(db));
    PQclear(r);
}

static void sorted(const char *code, const char *chute)
{
    struct wcs_event ev;
    struct err e;

    memset(&ev, 0, sizeof(ev));
    ev.id = wcs_event_id_next();
    ev.at_us = 1795000000000000LL;
    ev.kind = WCS_EVENT_CONFIRM;
    snprintf(ev.parcel_code, sizeof(ev.parcel_code), "%s", code);
    snprintf(ev.chute, sizeof(ev.chute), "%s", chute);
    strcpy(ev.reason, "SORTED__");
    strcpy(ev.source, "PLC01");
    if (wcs_db_events_copy(db, &ev, 1, &e) < 0)
        fail_msg("events copy: %s", e.msg);
}

/* Pre-advises code (and other, when not "") with weight_g (< 0: none). */
static void parcel(const char *code, const char *other, int weight_g)
{
    char sql[512], w[16] = "NULL";

    if (weight_g >= 0)
        snprintf(w, sizeof(w), "%d", weight_g);
    snprintf(sql, sizeof(sql),
             "WITH p AS (INSERT INTO parcels (code, service, recipient_country, weight_g)"
             " VALUES ('%s', 'STANDARD', 'RU', %s) RETURNING id)"
             " INSERT INTO parcel_ids (code, parcel_id, kind) SELECT '%s', id, 's10' FROM p"
             " UNION ALL SELECT '%s', id, 'cainiao' FROM p WHERE '%s' <> ''",
             code, w, code, other, other);
    exec_ok(sql);
}

static int setup(void **state)
{
    struct err e;

    (void)state;
    testdb_create("wcs_test_bags", conninfo, sizeof(conninfo));
    testdb_binary_path("bin/wcsctl", wcsctl_bin, sizeof(wcsctl_bin));
    if (wcs_db_connect(conninfo, &db, &e) < 0 || wcs_db_migrate(db, NULL, &e) < 0)
        fail_msg("%s", e.msg);
    exec_ok("INSERT INTO sortplan_versions (version, source_name, source_text, sha256, active)"
            " VALUES (1, 'test', '', 'x', true)");
    exec_ok("INSERT INTO chutes (version, seq, chute) VALUES (1, 1, 'CH001'), (1, 2, 'CH002'),"
            " (1, 3, 'CH012'), (1, 4, 'CH040')");
    exec_ok("INSERT INTO routes (version, seq, route, mode, crossing, chutes) VALUES"
            " (1, 1, 'RU-MOW-AIR', 'air', '', ARRAY['CH001', 'CH002']),"
            " (1, 2, 'RU-ZAB-RAIL', 'rail', 'Manzhouli-Zabaykalsk', ARRAY['CH012'])");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(db);
    return 0;
}

/* --- pure ------------------------------------------------------------ */

static void test_receptacle_format(void **state)
{
    struct wcs_receptacle r = {.origin = "CNHRBA",
                               .dest = "RUMOWA",
                               .category = 'A',
                               .subclass = "UN",
                               .year = 2026,
                               .dispatch_no = 12,
                               .serial = 3,
                               .weight_g = 18250};
    char id[WCS_RECEPTACLE_LEN + 1];
    struct scan_code_info info;
    struct err e;

    (void)state;
    assert_int_equal(wcs_receptacle_format(&r, id, &e), 0);
    assert_string_equal(id, "CNHRBARUMOWAAUN60012003000183");
    assert_int_equal(scan_code_check(id, strlen(id), &info), 0);
    assert_int_equal(info.kind, SCAN_CODE_RECEPTACLE);
    r.weight_g = 30; /* a light bag still weighs 1 hg */
    r.last = 1;
    assert_int_equal(wcs_receptacle_format(&r, id, &e), 0);
    assert_string_equal(id + 23, "100001");
    r.weight_g = 1000000;
    assert_int_equal(wcs_receptacle_format(&r, id, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "999.9 kg"));
    assert_string_equal(id, "");
    r.weight_g = 100;
    r.serial = 1000;
    assert_int_equal(wcs_receptacle_format(&r, id, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "serial 1000"));
    r.serial = 1;
    r.dispatch_no = 0;
    assert_int_equal(wcs_receptacle_format(&r, id, &e), ERR_INVALID);
    r.dispatch_no = 1;
    r.category = 'C';
    assert_int_equal(wcs_receptacle_format(&r, id, &e), 0);
    assert_int_equal(scan_code_check(id, strlen(id), &info), 0);

    assert_string_equal(wcs_bag_dest_office("RU-MOW-AIR"), "RUMOWA");
    assert_string_equal(wcs_bag_dest_office("RU-POG-ROAD"), "RUVVOA");
    assert_null(wcs_bag_dest_office("XX-NOPE"));
    assert_int_equal(wcs_bag_category("air"), 'A');
    assert_int_equal(wcs_bag_category("rail"), 'C');
    assert_int_equal(wcs_bag_category("boat"), 0);
}

static void test_departure_and_prefix(void **state)
{
    char p[32];
    struct err e;

    (void)state;
    assert_int_equal(wcs_departure_check("2026-11-22T18:00:00+08:00", &e), 0);
    assert_int_equal(wcs_departure_check("2026-11-22T10:00:00Z", &e), 0);
    assert_int_equal(wcs_departure_check("2026-11-22 18:00", &e), ERR_INVALID);
    assert_int_equal(wcs_departure_check("2026-13-22T18:00:00Z", &e), ERR_INVALID);
    assert_int_equal(wcs_departure_check("2026-11-22T18:00:00+0800", &e), ERR_INVALID);
    assert_int_equal(
        wcs_manifest_id_prefix("RU-ZAB-RAIL", "2026-11-22T18:00:00+08:00", p, sizeof(p), &e), 0);
    assert_string_equal(p, "HRB-20261122-ZAB");
    assert_int_equal(wcs_manifest_id_prefix("MOSCOW", "2026-11-22T18:00:00Z", p, sizeof(p), &e),
                     ERR_INVALID);
}

static void test_manifest_json_csv(void **state)
{
    struct wcs_manifest_parcel p1[] = {{"RR473124829CN", 1200}, {"RB123456785CN", -1}};
    struct wcs_manifest_bag bag = {.bag_id = "CNHRBARUOVBACUN60001001001183",
                                   .gross_weight_g = 18250,
                                   .parcels = p1,
                                   .nparcels = 2};
    struct wcs_manifest m = {.manifest_id = "HRB-20261122-ZAB-001",
                             .route = "RU-ZAB-RAIL",
                             .transport = "rail",
                             .border_crossing = "Manzhouli-Zabaykalsk",
                             .departure = "2026-11-22T18:00:00+08:00",
                             .bags = &bag,
                             .nbags = 1};
    json_t *j = wcs_manifest_json(&m), *b;
    char *csv = NULL;
    size_t len = 0;
    FILE *f;
    struct err e;

    (void)state;
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 6);
    assert_string_equal(json_string_value(json_object_get(j, "manifest_id")),
                        "HRB-20261122-ZAB-001");
    assert_string_equal(json_string_value(json_object_get(j, "route")), "RU-ZAB-RAIL");
    assert_string_equal(json_string_value(json_object_get(j, "transport")), "rail");
    assert_string_equal(json_string_value(json_object_get(j, "border_crossing")),
                        "Manzhouli-Zabaykalsk");
    assert_string_equal(json_string_value(json_object_get(j, "departure")),
                        "2026-11-22T18:00:00+08:00");
    b = json_array_get(json_object_get(j, "bags"), 0);
    assert_int_equal(json_object_size(b), 3);
    assert_string_equal(json_string_value(json_object_get(b, "bag_id")), bag.bag_id);
    assert_int_equal(json_integer_value(json_object_get(b, "gross_weight_g")), 18250);
    assert_int_equal(json_array_size(json_object_get(b, "parcels")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "parcels"), 1)),
                        "RB123456785CN");
    json_decref(j);

    f = open_memstream(&csv, &len);
    assert_non_null(f);
    assert_int_equal(wcs_manifest_csv(&m, f, &e), 0);
    fclose(f);
    assert_string_equal(csv, "manifest_id,bag_id,bag_gross_weight_g,parcel,parcel_weight_g\n"
                             "\"HRB-20261122-ZAB-001\",\"CNHRBARUOVBACUN60001001001183\",\"18250\","
                             "\"RR473124829CN\",\"1200\"\n"
                             "\"HRB-20261122-ZAB-001\",\"CNHRBARUOVBACUN60001001001183\",\"18250\","
                             "\"RB123456785CN\",\"\"\n");
    free(csv);
}

/* --- store ----------------------------------------------------------- */

/* Waits (up to 10 s) for a notification on l; returns its payload (static). */
static const char *wait_notify(PGconn *l)
{
    static char payload[128];

    for (int i = 0; i < 100; i++) {
        PGnotify *n;
        fd_set fds;
        struct timeval tv = {0, 100000};

        assert_int_equal(PQconsumeInput(l), 1);
        n = PQnotifies(l);
        if (n != NULL) {
            snprintf(payload, sizeof(payload), "%s:%s", n->relname, n->extra);
            PQfreemem(n);
            return payload;
        }
        FD_ZERO(&fds);
        FD_SET(PQsocket(l), &fds);
        select(PQsocket(l) + 1, &fds, NULL, NULL, &tv);
    }
    return "";
}

static char bag1[WCS_RECEPTACLE_LEN + 1], bag2[WCS_RECEPTACLE_LEN + 1],
    bag3[WCS_RECEPTACLE_LEN + 1];

static void test_bag_close(void **state)
{
    struct wcs_bag_closed b;
    struct scan_code_info info;
    PGconn *l;
    PGresult *r;
    struct err e;

    (void)state;
    parcel("RR473124829CN", "LP00123456789012", 1200);
    parcel("RB123456785CN", "", 850);
    parcel("RR000000011CN", "", -1);
    parcel("RR000000025CN", "", 400);
    /* Sorted under its Cainiao id: the bag lists the primary code. */
    sorted("LP00123456789012", "CH001");
    sorted("RB123456785CN", "CH001");
    sorted("RB123456785CN", "CH001"); /* a repeated confirm counts once */
    sorted("RR000000025CN", "CH002"); /* another chute of the same route */
    sorted("XX0000000000", "CH001");  /* no pre-advice */

    assert_int_equal(wcs_db_connect(conninfo, &l, &e), 0);
    PQclear(PQexec(l, "LISTEN " WCS_CHANNEL_CHUTES));

    assert_int_equal(wcs_db_bag_close(db, NULL, "CH001", -1, &b, &e), 0);
    assert_int_equal(b.parcels, 2);
    assert_int_equal(b.weight_g, 2050);
    assert_int_equal(b.weighed, 0);
    assert_int_equal(b.unknown, 1);
    assert_string_equal(b.route, "RU-MOW-AIR");
    assert_int_equal(strlen(b.bag_id), 29);
    assert_int_equal(scan_code_check(b.bag_id, strlen(b.bag_id), &info), 0);
    assert_int_equal(info.kind, SCAN_CODE_RECEPTACLE);
    assert_memory_equal(b.bag_id, "CNHRBARUMOWAAUN", 15);
    assert_memory_equal(b.bag_id + 16, "0001001", 7); /* dispatch 1, serial 1 */
    assert_string_equal(b.bag_id + 25, "0021");       /* 2050 g = 20.5 hg -> 21 */
    assert_string_equal(wait_notify(l), "wcs_chutes:CH001 emptied");
    PQfinish(l);
    snprintf(bag1, sizeof(bag1), "%s", b.bag_id);

    r = PQexec(db, "SELECT string_agg(p.code, ',' ORDER BY p.code) FROM bag_parcels bp"
                   " JOIN parcels p ON p.id = bp.parcel_id JOIN bags b ON b.id = bp.bag"
                   " WHERE b.chute = 'CH001'");
    assert_string_equal(PQgetvalue(r, 0, 0), "RB123456785CN,RR473124829CN");
    PQclear(r);

    /* Nothing new: the chute is empty. */
    assert_int_equal(wcs_db_bag_close(db, NULL, "CH001", -1, &b, &e), ERR_STATE);
    assert_non_null(strstr(e.msg, "CH001 is empty"));

    /* Only the newer parcel goes into the second bag; a scale weight wins. */
    sorted("RR000000011CN", "CH001");
    assert_int_equal(wcs_db_bag_close(db, NULL, "CH001", 5123, &b, &e), 0);
    assert_int_equal(b.parcels, 1);
    assert_int_equal(b.no_weight, 1);
    assert_int_equal(b.weighed, 1);
    assert_int_equal(b.weight_g, 5123);
    assert_memory_equal(b.bag_id + 16, "0001002", 7); /* same dispatch, serial 2 */
    assert_string_equal(b.bag_id + 25, "0051");
    snprintf(bag2, sizeof(bag2), "%s", b.bag_id);

    assert_int_equal(wcs_db_bag_close(db, NULL, "CH002", -1, &b, &e), 0);
    assert_int_equal(b.parcels, 1);
    assert_memory_equal(b.bag_id + 16, "0001003", 7);
    snprintf(bag3, sizeof(bag3), "%s", b.bag_id);
}

static void test_bag_close_errors(void **state)
{
    struct wcs_bag_closed b;
    struct err e;

    (void)state;
    assert_int_equal(wcs_db_bag_close(db, NULL, "CH999", -1, &b, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "unknown chute CH999"));
    assert_int_equal(wcs_db_bag_close(db, NULL, "CH040", -1, &b, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "CH040 belongs to no route"));
    assert_int_equal(wcs_db_bag_close(db, NULL, "CH012", -1, &b, &e), ERR_STATE);
    assert_non_null(strstr(e.msg, "CH012 is empty"));
}

static void test_dispatch_flow(void **state)
{
    char id[WCS_MANIFEST_ID_MAX], id2[WCS_MANIFEST_ID_MAX];
    const char *bags[] = {bag1, bag2};
    struct wcs_manifest m;
    struct wcs_bag_closed b;
    json_t *j;
    json_error_t je;
    PGresult *r;
    struct err e;

    (void)state;
    assert_int_equal(
        wcs_db_dispatch_open(db, "RU-MOW-AIR", "ship", "", "2026-11-22T18:00:00+08:00", "", id, &e),
        ERR_INVALID);
    assert_int_equal(wcs_db_dispatch_open(db, "RU-MOW-AIR", "air", "", "tomorrow", "", id, &e),
                     ERR_INVALID);
    assert_int_equal(
        wcs_db_dispatch_open(db, "RU-XXX-AIR", "air", "", "2026-11-22T18:00:00Z", "", id, &e),
        ERR_NOTFOUND);
    assert_int_equal(
        wcs_db_dispatch_open(db, "RU-MOW-AIR", "air", "", "2026-11-22T18:00:00+08:00",
                             "Aeroflot Cargo", id, &e),
        0);
    assert_string_equal(id, "HRB-20261122-MOW-001");
    assert_int_equal(
        wcs_db_dispatch_open(db, "RU-ZAB-RAIL", "rail", "", "2026-11-22T20:00:00+08:00", "", id2, &e),
        0);
    assert_string_equal(id2, "HRB-20261122-ZAB-001");

    /* Closing an empty dispatch is refused. */
    assert_int_equal(wcs_db_dispatch_close(db, id2, &e), ERR_STATE);
    assert_non_null(strstr(e.msg, "no bags"));

    assert_int_equal(wcs_db_dispatch_add(db, id, bags, 2, &e), 0);
    /* Already dispatched: all-or-nothing, bag3 stays out. */
    {
        const char *again[] = {bag3, bag1};
        assert_int_equal(wcs_db_dispatch_add(db, id, again, 2, &e), ERR_STATE);
        assert_non_null(strstr(e.msg, "already dispatched in HRB-20261122-MOW-001"));
        assert_int_equal(wcs_db_dispatch_add(db, id2, &again[0], 1, &e), ERR_CONFLICT);
        assert_non_null(strstr(e.msg, "for route RU-MOW-AIR"));
        const char *none[] = {"CNHRBARUMOWAAUN60999001000010"};
        assert_int_equal(wcs_db_dispatch_add(db, id, none, 1, &e), ERR_NOTFOUND);
    }
    assert_int_equal(wcs_db_dispatch_add(db, "HRB-NOPE", bags, 1, &e), ERR_NOTFOUND);

    assert_int_equal(wcs_db_dispatch_close(db, id, &e), 0);
    assert_int_equal(wcs_db_dispatch_close(db, id, &e), ERR_STATE);
    assert_non_null(strstr(e.msg, "is closed, not open"));
    {
        const char *one[] = {bag3};
        assert_int_equal(wcs_db_dispatch_add(db, id, one, 1, &e), ERR_STATE);
    }

    /* Closing queued the manifest for the customs worker, once. */
    r = PQexec(db, "SELECT count(*) FROM customs_outbox WHERE kind = 'manifest'"
                   " AND payload_ref = 'HRB-20261122-MOW-001' AND done_at IS NULL");
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);

    /* The stored body is the broker's manifest. */
    r = PQexec(db, "SELECT status, manifest_json FROM dispatches"
                   " WHERE manifest_id = 'HRB-20261122-MOW-001'");
    assert_string_equal(PQgetvalue(r, 0, 0), "closed");
    j = json_loads(PQgetvalue(r, 0, 1), 0, &je);
    PQclear(r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "departure")),
                        "2026-11-22T18:00:00+08:00");
    assert_string_equal(json_string_value(json_object_get(j, "transport")), "air");
    assert_int_equal(json_array_size(json_object_get(j, "bags")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "bags"), 0), "bag_id")),
        bag1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(j, "bags"), 1), "gross_weight_g")),
                     5123);
    json_decref(j);

    assert_int_equal(wcs_db_manifest_load(db, id, &m, &e), 0);
    assert_int_equal(m.nbags, 2);
    assert_int_equal(m.bags[0].nparcels, 2);
    assert_string_equal(m.bags[0].parcels[0].code, "RB123456785CN");
    assert_int_equal(m.bags[0].parcels[0].weight_g, 850);
    assert_string_equal(m.bags[1].parcels[0].code, "RR000000011CN");
    assert_int_equal(m.bags[1].parcels[0].weight_g, -1);
    wcs_manifest_free(&m);

    /* The dispatch closed its receptacle series: the next bag gets number 2. */
    sorted("RR473124829CN", "CH001");
    assert_int_equal(wcs_db_bag_close(db, NULL, "CH001", -1, &b, &e), 0);
    assert_memory_equal(b.bag_id + 16, "0002001", 7);
}

static void test_wcsctl_commands(void **state)
{
    const char *show[] = {wcsctl_bin, "--db", conninfo, "dispatch", "show", "HRB-20261122-MOW-001",
                          NULL};
    const char *csv[] = {wcsctl_bin, "--db", conninfo, "manifest", "export", "HRB-20261122-MOW-001",
                         "--format", "csv",  NULL};
    const char *empty[] = {wcsctl_bin, "--db", conninfo, "bag", "close", "CH012", NULL};
    const char *help[] = {wcsctl_bin, "--help", NULL};
    struct proc_result r;

    (void)state;
    /* The label of a bag closed here, from the database: its ZPL carries
     * the id in its barcode and the record's weight and count; an id no
     * closed bag has is refused (1). */
    {
        const char *label[] = {wcsctl_bin, "--db", conninfo, "bag", "label", bag1, "--format",
                               "zpl", NULL};
        const char *none[] = {wcsctl_bin, "--db", conninfo, "bag", "label",
                              "CNHRBARUMOWAAUN60009009000021", NULL};
        char want[64];

        proc_run(label, NULL, 60, &r);
        assert_int_equal(r.status, 0);
        snprintf(want, sizeof(want), "^FD%s^FS", bag1);
        assert_non_null(strstr(r.out, want));
        assert_non_null(strstr(r.out, "^FDTO RUMOWA^FS"));
        assert_non_null(strstr(r.out, "^FDROUTE RU-MOW-AIR^FS"));
        proc_result_free(&r);
        proc_run(none, NULL, 60, &r);
        assert_int_equal(r.status, 1);
        assert_non_null(strstr(r.err, "no closed bag"));
        proc_result_free(&r);
    }
    /* The closed dispatch's delivery bill (air: CN 38): its totals, as
     * pdftotext reads them, are the database's. */
    {
        char pdf[] = "/tmp/wcs-bill-XXXXXX";
        const char *csvbill[] = {wcsctl_bin, "--db", conninfo, "dispatch", "bill",
                                 "HRB-20261122-MOW-001", "--format", "csv", NULL};
        const char *bill[] = {wcsctl_bin, "--db", conninfo, "dispatch", "bill",
                              "HRB-20261122-MOW-001", "--out", pdf, NULL};
        const char *text[] = {"/usr/bin/pdftotext", "-layout", pdf, "-", NULL};
        char want[96];
        PGconn *c = NULL;
        PGresult *q;
        struct err e;
        int fd = mkstemp(pdf);
        long long grams, parcels;

        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(wcs_db_connect(conninfo, &c, &e), 0);
        q = PQexec(c, "SELECT count(*), sum(b.weight_g), (SELECT count(*) FROM bag_parcels p"
                      " JOIN bags x ON x.id = p.bag JOIN dispatches y ON y.id = x.dispatch_id"
                      " WHERE y.manifest_id = 'HRB-20261122-MOW-001') FROM bags b JOIN dispatches d"
                      " ON d.id = b.dispatch_id WHERE d.manifest_id = 'HRB-20261122-MOW-001'");
        assert_int_equal(PQresultStatus(q), PGRES_TUPLES_OK);
        grams = atoll(PQgetvalue(q, 0, 1));
        parcels = atoll(PQgetvalue(q, 0, 2));
        snprintf(want, sizeof(want), "Total: %s receptacle(s)", PQgetvalue(q, 0, 0));
        PQclear(q);
        PQfinish(c);
        proc_run(bill, NULL, 60, &r);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        proc_run(text, NULL, 60, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "CN 38 Delivery bill (airmail)"));
        assert_non_null(strstr(r.out, "carrier Aeroflot Cargo"));
        assert_non_null(strstr(r.out, want));
        snprintf(want, sizeof(want), "%lld.%lld", grams / 1000, (grams % 1000) / 100);
        assert_non_null(strstr(r.out, want));
        proc_result_free(&r);
        unlink(pdf);
        proc_run(csvbill, NULL, 60, &r);
        assert_int_equal(r.status, 0);
        snprintf(want, sizeof(want), ",%lld,%lld\n", grams, parcels);
        assert_non_null(strstr(r.out, want));
        assert_non_null(strstr(r.out, ",Aeroflot Cargo,1,"));
        proc_result_free(&r);
    }
    /* Its pre-advice export is valid against its JSON Schema, and a
     * document without its totals is not (the schema checks something). */
    {
        char out[] = "/tmp/wcs-predes-XXXXXX", bad[] = "/tmp/wcs-predes-bad-XXXXXX";
        char schema[512];
        const char *export[] = {wcsctl_bin, "--db", conninfo, "dispatch", "export",
                                "HRB-20261122-MOW-001", "--format", "predes-json", "--out", out,
                                NULL};
        const char *check[] = {"/usr/bin/jsonschema", "-i", out, schema, NULL};
        const char *check_bad[] = {"/usr/bin/jsonschema", "-i", bad, schema, NULL};
        char *text, *totals;
        int fd = mkstemp(out), fdb = mkstemp(bad);
        FILE *f;

        assert_true(fd >= 0 && fdb >= 0);
        close(fd);
        snprintf(schema, sizeof(schema), "%s/docs/schemas/predes.json", getenv("WCS_SOURCE_DIR"));
        proc_run(export, NULL, 60, &r);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        proc_run(check, NULL, 60, &r);
        if (r.status != 0)
            fail_msg("%s does not validate: %s", out, r.err);
        proc_result_free(&r);
        text = tu_read_text(out);
        assert_non_null(strstr(text, "\"format\": \"wcs-predes/1\""));
        assert_non_null(strstr(text, bag1));
        totals = strstr(text, ",\n  \"totals\"");
        assert_non_null(totals);
        strcpy(totals, "\n}\n");
        f = fdopen(fdb, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        proc_run(check_bad, NULL, 60, &r);
        assert_int_not_equal(r.status, 0);
        proc_result_free(&r);
        free(text);
        unlink(out);
        unlink(bad);
    }
    proc_run(show, NULL, 60, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "dispatch HRB-20261122-MOW-001  closed"));
    assert_non_null(strstr(r.out, bag1));
    assert_non_null(strstr(r.out, "2 bag(s), 3 parcel(s), 7173 g"));
    assert_non_null(strstr(r.out, "manifest to the broker: queued"));
    proc_result_free(&r);
    /* The broker's answer as the customs worker stores it: shown, and
     * parcels unknown to the broker make the command report a problem. */
    {
        PGconn *c = NULL;
        struct err e;
        PGresult *q;

        assert_int_equal(wcs_db_connect(conninfo, &c, &e), 0);
        q = PQexec(c, "UPDATE dispatches SET manifest_ref = 'BRM-1', manifest_at = now(),"
                      " status = 'submitted', manifest_unknown = '[\"RR000000011CN\"]'"
                      " WHERE manifest_id = 'HRB-20261122-MOW-001'");
        assert_int_equal(PQresultStatus(q), PGRES_COMMAND_OK);
        PQclear(q);
        PQfinish(c);
    }
    proc_run(show, NULL, 60, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "dispatch HRB-20261122-MOW-001  submitted"));
    assert_non_null(strstr(r.out, "manifest to the broker: received, broker reference BRM-1"));
    assert_non_null(strstr(r.out, "1 parcel(s) unknown to the broker (no accepted declaration):\n"
                                  "  RR000000011CN\n"));
    proc_result_free(&r);
    {
        const char *problems[] = {wcsctl_bin, "--db", conninfo, "customs", "problems",
                                  "--kind", "manifest", NULL};

        proc_run(problems, NULL, 60, &r);
        assert_int_equal(r.status, 1);
        assert_non_null(strstr(r.out, "manifest  HRB-20261122-MOW-001"));
        assert_non_null(strstr(r.out, "1 parcel(s) without an accepted declaration:\n"
                                      "      RR000000011CN\n"));
        proc_result_free(&r);
    }
    proc_run(csv, NULL, 60, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(
        strstr(r.out, "manifest_id,bag_id,bag_gross_weight_g,parcel,parcel_weight_g\n"));
    assert_non_null(strstr(r.out, "\"RR000000011CN\",\"\"\n"));
    proc_result_free(&r);
    proc_run(empty, NULL, 60, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "CH012 is empty"));
    proc_result_free(&r);
    proc_run(help, NULL, 60, &r);
    assert_non_null(strstr(r.out, "bag close"));
    assert_non_null(strstr(r.out, "manifest export"));
    proc_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receptacle_format), cmocka_unit_test(test_departure_and_prefix),
        cmocka_unit_test(test_manifest_json_csv), cmocka_unit_test(test_bag_close),
        cmocka_unit_test(test_bag_close_errors),  cmocka_unit_test(test_dispatch_flow),
        cmocka_unit_test(test_wcsctl_commands),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

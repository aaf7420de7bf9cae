/*
 * test-tracking.c - the parcels' tracking events (issue 12) against a real
 * wcsd and PostgreSQL: a parcel's milestones (arrived, sorted, bag closed,
 * dispatched, customs held and released) become events with their
 * EMSEVT-style codes, ids and times; the feed GET /v1/tracking/events is
 * followed by a partner token, page by page, while a writer commits events
 * (some of its transactions held open across pages) and across a wcsd
 * restart, with no event skipped and none repeated; bad cursors and limits
 * are refused; wcsctl tracking export writes the same events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"
#include "wcs/store/bags.h"
#include "wcs/store/events.h"
#include "wcs/store/store.h"

static struct twcsd wcsd;
static PGconn *db;

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* The first value of a query, copied into buf. */
static void query1(const char *sql, char *buf, size_t len)
{
    PGresult *r = PQexec(db, sql);

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("%s: %s", sql, PQerrorMessage(db));
    snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* A decision (at SCAN01) or a SORTED__ confirm (into chute) event of code. */
static void event_of(struct wcs_event *ev, int kind, const char *code, const char *chute)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    memset(ev, 0, sizeof(*ev));
    ev->id = wcs_event_id_next();
    ev->at_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    ev->kind = (uint8_t)kind;
    snprintf(ev->parcel_code, sizeof(ev->parcel_code), "%s", code);
    snprintf(ev->location, sizeof(ev->location), "SCAN01");
    snprintf(ev->source, sizeof(ev->source), "PLC01");
    if (kind == WCS_EVENT_CONFIRM) {
        snprintf(ev->chute, sizeof(ev->chute), "%s", chute);
        strcpy(ev->reason, "SORTED__");
    }
}

static void write_events(PGconn *c, const struct wcs_event *ev, size_t n)
{
    struct err e;

    if (wcs_db_events_copy(c, ev, n, &e) < 0)
        fail_msg("events copy: %s", e.msg);
}

/* GET path with the partner's token; the status; *out the JSON body. */
static long feed_get(const char *path, json_t **out)
{
    struct tu_req r;
    long status;

    memset(&r, 0, sizeof(r));
    r.port = wcsd.http_port;
    r.path = path;
    r.token = wcsd.token[TWCSD_PARTNER];
    status = tu_http_req(&r, out);
    free(r.body);
    return status;
}

static int setup(void **state)
{
    struct err e;

    (void)state;
    twcsd_prepare(&wcsd, "wcs_test_tracking", NULL);
    twcsd_config(&wcsd, "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: 0\n"
                        "    locations: [SCAN01]\n");
    twcsd_start(&wcsd);
    if (wcs_db_connect(wcsd.conninfo, &db, &e) < 0)
        fail_msg("%s", e.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(db);
    twcsd_teardown(&wcsd);
    return 0;
}

/* The events of parcel in a feed page, in order, as "event code" words. */
static void milestones_of(json_t *page, const char *parcel, char *out, size_t len,
                          json_t **found, size_t nfound)
{
    json_t *ev;
    size_t i, k = 0;

    out[0] = '\0';
    json_array_foreach(json_object_get(page, "events"), i, ev) {
        const char *code = json_string_value(json_object_get(ev, "code"));
        if (strcmp(json_string_value(json_object_get(ev, "parcel_id")), parcel) != 0)
            continue;
        snprintf(out + strlen(out), len - strlen(out), "%s%s %s", out[0] ? ", " : "",
                 json_string_value(json_object_get(ev, "event")), code ? code : "-");
        if (k < nfound)
            found[k++] = ev;
    }
}

static const char *field(json_t *ev, const char *name)
{
    const char *v = json_string_value(json_object_get(ev, name));
    return v ? v : "(null)";
}

/* A parcel read by its second code goes through the hub: each milestone
 * is one event, under the registry's code, with what a platform needs. */
static void test_milestones(void **state)
{
    char parcel[64], other[64], route[64], chute[64], sql[512], manifest[WCS_MANIFEST_ID_MAX];
    char seen[512];
    struct wcs_bag_closed bag;
    struct wcs_event ev[3];
    const char *bag_ids[1];
    json_t *page = NULL, *got[8] = {NULL};
    struct err e;

    (void)state;
    query1("SELECT p.code || ' ' || i.code FROM parcels p JOIN parcel_ids i ON i.parcel_id = p.id"
           " WHERE i.code <> p.code ORDER BY p.id LIMIT 1",
           seen, sizeof(seen));
    assert_int_equal(sscanf(seen, "%63s %63s", parcel, other), 2);
    query1("SELECT r.route || ' ' || r.chutes[1] FROM routes r JOIN sortplan_versions v"
           " ON v.version = r.version WHERE v.active AND r.mode = 'rail' ORDER BY r.seq LIMIT 1",
           seen, sizeof(seen));
    assert_int_equal(sscanf(seen, "%63s %63s", route, chute), 2);

    /* read by its other code, decided twice (recirculated), sorted */
    event_of(&ev[0], WCS_EVENT_DECISION, other, NULL);
    event_of(&ev[1], WCS_EVENT_DECISION, other, NULL);
    event_of(&ev[2], WCS_EVENT_CONFIRM, other, chute);
    write_events(db, ev, 3);
    if (wcs_db_bag_close(db, NULL, chute, 5400, &bag, &e) < 0)
        fail_msg("bag close: %s", e.msg);
    if (wcs_db_dispatch_open(db, route, "rail", "Manzhouli-Zabaykalsk",
                             "2026-12-07T18:00:00+08:00", "RZD Logistics", manifest, &e) < 0)
        fail_msg("dispatch open: %s", e.msg);
    bag_ids[0] = bag.bag_id;
    if (wcs_db_dispatch_add(db, manifest, bag_ids, 1, &e) < 0 ||
        wcs_db_dispatch_close(db, manifest, &e) < 0)
        fail_msg("dispatch: %s", e.msg);
    snprintf(sql, sizeof(sql),
             "INSERT INTO customs_events (cursor, parcel_id, type, reason) VALUES"
             " ('t-1', '%s', 'held', 'invoice needed'), ('t-2', '%s', 'duty_due', NULL)",
             parcel, parcel);
    exec_ok(db, sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO customs_events (cursor, parcel_id, type) VALUES ('t-3', '%s', 'released')",
             parcel);
    exec_ok(db, sql);

    assert_int_equal(feed_get("/v1/tracking/events?limit=1000", &page), 200);
    milestones_of(page, parcel, seen, sizeof(seen), got, 8);
    assert_string_equal(seen, "arrived EMB, sorted -, bag_closed -, dispatched EMC, "
                              "customs_held EME, customs_released EDC");
    assert_string_equal(field(got[0], "location"), "SCAN01");
    assert_string_equal(field(got[1], "chute"), chute);
    assert_string_equal(field(got[1], "route"), route);
    assert_string_equal(field(got[2], "bag_id"), bag.bag_id);
    assert_string_equal(field(got[3], "bag_id"), bag.bag_id);
    assert_string_equal(field(got[3], "dispatch_id"), manifest);
    assert_string_equal(field(got[4], "reason"), "invoice needed");
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(field(got[i], "office"), "CNHRBA");
        /* RFC 3339 in UTC: 2026-12-07T15:40:01.123Z */
        assert_int_equal(strlen(field(got[i], "at")), 24);
        assert_int_equal(field(got[i], "at")[23], 'Z');
        if (i > 0)
            assert_true(atoll(field(got[i], "cursor")) > atoll(field(got[i - 1], "cursor")));
    }
    /* nothing under the code as read: the registry's code names the parcel */
    milestones_of(page, other, seen, sizeof(seen), NULL, 0);
    assert_string_equal(seen, "");
    json_decref(page);
}

/* What a stranger, a wrong cursor or a wrong limit gets. */
static void test_refusals(void **state)
{
    struct tu_req r;
    json_t *j = NULL;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.port = wcsd.http_port;
    r.path = "/v1/tracking/events";
    assert_int_equal(tu_http_req(&r, NULL), 401);
    free(r.body);
    r.body = NULL;
    r.token = wcsd.token[TWCSD_SCANNER];
    assert_int_equal(tu_http_req(&r, NULL), 403);
    free(r.body);
    assert_int_equal(feed_get("/v1/tracking/events?after=999999999", &j), 400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "bad_cursor");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"),
                                                             "message")),
                           "beyond this feed's last"));
    json_decref(j);
    assert_int_equal(feed_get("/v1/tracking/events?after=12ab", NULL), 400);
    assert_int_equal(feed_get("/v1/tracking/events?after=", NULL), 400);
    assert_int_equal(feed_get("/v1/tracking/events?after=-1", NULL), 400);
    assert_int_equal(feed_get("/v1/tracking/events?limit=0", NULL), 400);
    assert_int_equal(feed_get("/v1/tracking/events?limit=1001", NULL), 400);
    /* the partner reads the feed and nothing else */
    assert_int_equal(feed_get("/v1/status", NULL), 403);
    assert_int_equal(feed_get("/v1/bags", NULL), 403);
}

/* --- following the feed while it is written ----------------------------- */

#define WRITER_ROUNDS 40
#define WRITER_CODES 5

static int writer_done;

static void *writer_main(void *arg)
{
    PGconn *c = NULL;
    struct wcs_event ev[2 * WRITER_CODES];
    struct err e;
    char code[32];
    int round, k, *failed = arg;

    if (wcs_db_connect(wcsd.conninfo, &c, &e) < 0) {
        *failed = 1;
        return NULL;
    }
    for (round = 0; round < WRITER_ROUNDS && !*failed; round++) {
        bool slow = round % 7 == 3; /* commits after later writers' events are published */
        for (k = 0; k < WRITER_CODES; k++) {
            snprintf(code, sizeof(code), "TRK%04d%02d", round, k);
            event_of(&ev[2 * k], WCS_EVENT_DECISION, code, NULL);
            event_of(&ev[2 * k + 1], WCS_EVENT_CONFIRM, code, "CH001");
        }
        if (slow)
            PQclear(PQexec(c, "BEGIN"));
        if (wcs_db_events_copy(c, ev, 2 * WRITER_CODES, &e) < 0)
            *failed = 1;
        if (slow) {
            usleep(300000);
            PQclear(PQexec(c, "COMMIT"));
        }
        usleep(30000);
    }
    PQfinish(c);
    __atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_follow_across_restart(void **state)
{
    long long cursor = 0, expect = 0, seen = 0, pages = 0;
    int writer_failed = 0, empty_after_writer = 0;
    bool restarted = false, writing = true;
    pthread_t writer;
    char path[128], count[64];

    (void)state;
    assert_int_equal(pthread_create(&writer, NULL, writer_main, &writer_failed), 0);
    while (empty_after_writer < 2 && pages < 5000) {
        json_t *page = NULL, *ev;
        size_t i;

        snprintf(path, sizeof(path), "/v1/tracking/events?after=%lld&limit=7", cursor);
        assert_int_equal(feed_get(path, &page), 200);
        json_array_foreach(json_object_get(page, "events"), i, ev) {
            long long c = atoll(field(ev, "cursor"));
            /* one after the other: nothing skipped, nothing twice */
            if (c != cursor + 1)
                fail_msg("cursor %lld after %lld", c, cursor);
            cursor = c;
            seen++;
        }
        assert_int_equal(atoll(field(page, "next")), cursor);
        if (json_array_size(json_object_get(page, "events")) == 0 && !writing)
            empty_after_writer++;
        json_decref(page);
        pages++;
        if (!restarted && seen > 150) { /* wcsd goes away and comes back mid-stream */
            twcsd_stop(&wcsd);
            usleep(200000);
            twcsd_start(&wcsd);
            restarted = true;
        }
        if (writing && __atomic_load_n(&writer_done, __ATOMIC_ACQUIRE))
            writing = false;
        usleep(5000);
    }
    pthread_join(writer, NULL);
    assert_false(writer_failed);
    assert_true(restarted);
    query1("SELECT count(*) FROM tracking_events", count, sizeof(count));
    expect = atoll(count);
    assert_int_equal(seen, expect);
    /* every written parcel arrived once and was sorted once */
    query1("SELECT count(*) FILTER (WHERE event = 'arrived') || ' ' ||"
           " count(*) FILTER (WHERE event = 'sorted') FROM tracking_events"
           " WHERE parcel LIKE 'TRK%'",
           count, sizeof(count));
    assert_string_equal(count, "200 200");
    query1("SELECT count(*) FROM tracking_pending", count, sizeof(count));
    assert_string_equal(count, "0");
}

/* wcsctl tracking export: the feed's events as JSON lines. */
static void test_export(void **state)
{
    char out[256], count[32], *text, *line;
    long lines = 0;

    (void)state;
    snprintf(out, sizeof(out), "%s/tracking.jsonl", wcsd.dir);
    tu_wcsctl(wcsd.conninfo, 0, "tracking", "export", "--since", "2020-01-01T00:00:00Z",
              "--out", out, NULL);
    text = tu_read_text(out);
    for (line = text; (line = strchr(line, '\n')) != NULL; line++)
        lines++;
    query1("SELECT count(*) FROM tracking_events", count, sizeof(count));
    assert_int_equal(lines, atol(count));
    assert_non_null(strstr(text, "\"event\":\"dispatched\",\"code\":\"EMC\""));
    free(text);
    /* after a cursor: only what follows it; in the future: nothing */
    tu_wcsctl(wcsd.conninfo, 0, "tracking", "export", "--after", "3", "--out", out, NULL);
    text = tu_read_text(out);
    assert_int_equal(strncmp(text, "{\"cursor\":\"4\"", 13), 0);
    free(text);
    tu_wcsctl(wcsd.conninfo, 0, "tracking", "export", "--since", "2100-01-01", "--out", out,
              NULL);
    text = tu_read_text(out);
    assert_string_equal(text, "");
    free(text);
    tu_wcsctl(wcsd.conninfo, 1, "tracking", "export", "--since", "yesterday-ish", NULL);
    /* relative, as the other commands take it: the test's events are recent */
    tu_wcsctl(wcsd.conninfo, 0, "tracking", "export", "--since", "1h", "--out", out, NULL);
    text = tu_read_text(out);
    assert_non_null(strstr(text, "\"event\":\"arrived\""));
    free(text);
    tu_wcsctl(wcsd.conninfo, 1, "tracking", "export", "--after", "99999999", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milestones),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_follow_across_restart),
        cmocka_unit_test(test_export),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

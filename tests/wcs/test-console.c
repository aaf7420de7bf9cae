/*
 * test-console.c - the operator console's API (issue 11) against a real
 * wcsd, PostgreSQL and a PLC link: the pages are served without a login,
 * every /v1 read needs one; each action is refused to the role below it
 * and to a machine token, needs the CSRF token, and is recorded with the
 * user; a chute the PLC reports FULL raises an alarm that an operator
 * acknowledges and that survives a restart; a chute an operator disables
 * takes no parcel; a parcel's trace and why; the live stream sends the
 * line, the alarms and the figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "conveyor/telegram.h"
#include "tests/common/proc.h"
#include "tests/common/testplc.h"
#include "tests/common/testsession.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"

static struct twcsd wcsd;
static struct tplc T;
static struct conv_link *plc;
static bool plc_up;
static char code0[64];
static char op[64], op_csrf[64], viewer[64], viewer_csrf[64], sup[64], sup_csrf[64];

/* A label printer on loopback (raw TCP, as a Zebra takes ZPL): what it was
 * sent, one connection after another, until stopped. */
static struct {
    int port, fd;
    pthread_t thread;
    pthread_mutex_t mu;
    char got[65536];
    size_t len;
    bool running;
} printer = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *printer_main(void *arg)
{
    char buf[4096];

    (void)arg;
    for (;;) {
        int c = accept(printer.fd, NULL, NULL);
        ssize_t n;

        if (c < 0)
            return NULL; /* closed: stopped */
        while ((n = read(c, buf, sizeof(buf))) > 0) {
            pthread_mutex_lock(&printer.mu);
            if (printer.len + (size_t)n < sizeof(printer.got)) {
                memcpy(printer.got + printer.len, buf, (size_t)n);
                printer.len += (size_t)n;
                printer.got[printer.len] = '\0';
            }
            pthread_mutex_unlock(&printer.mu);
        }
        close(c);
    }
}

static void printer_start(void)
{
    struct sockaddr_in sa;
    int one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)printer.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    printer.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(printer.fd >= 0);
    setsockopt(printer.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(printer.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(printer.fd, 8), 0);
    assert_int_equal(pthread_create(&printer.thread, NULL, printer_main, NULL), 0);
    printer.running = true;
}

static void printer_stop(void)
{
    if (!printer.running)
        return;
    shutdown(printer.fd, SHUT_RDWR);
    close(printer.fd);
    pthread_join(printer.thread, NULL);
    printer.running = false;
}

/* Whether the printer got text within 10 s. */
static bool printer_got(const char *text)
{
    int i;
    bool found = false;

    for (i = 0; i < 100 && !found; i++) {
        pthread_mutex_lock(&printer.mu);
        found = strstr(printer.got, text) != NULL;
        pthread_mutex_unlock(&printer.mu);
        if (!found)
            usleep(100000);
    }
    return found;
}

/* GET path; want 0: whatever the status (a 404 answers NULL). */
static json_t *get_json(const char *path, const char *cookie, long want)
{
    struct tsess_call c = {.path = path, .cookie = cookie};

    tsess_send(&wcsd, &c);
    if (want != 0)
        assert_int_equal(c.status, want);
    else if (c.status != 200) {
        json_decref(c.json);
        return NULL;
    }
    return c.json;
}

static json_t *post_json(const char *path, const char *body, const char *cookie, const char *csrf,
                         long want)
{
    struct tsess_call c = {.path = path, .body = body, .cookie = cookie, .csrf = csrf};

    tsess_send(&wcsd, &c);
    if (c.status != want)
        fail_msg("POST %s: %ld, wanted %ld", path, c.status, want);
    return c.json;
}

static void locu(const char *chute, enum conv_loc_state st)
{
    tplc_locu(&T, plc, chute, st);
}

/* The PLC confirms tracking sorted into chute (UPD_ SORTED__) and waits
 * for its ACK_ (the confirmation is durable). */
static void sorted(const char *tracking, const char *chute)
{
    tplc_update(&T, plc, tracking, chute, CONV_UPD_SORTED, 1795000100);
}

/* The alarm of kind about subject in GET /v1/alarms, or NULL (a new ref). */
static json_t *find_alarm(const char *kind, const char *subject, bool open_only)
{
    json_t *j = get_json("/v1/alarms", op, 200), *a, *found = NULL;
    size_t i;

    json_array_foreach(json_object_get(j, "alarms"), i, a) {
        if (strcmp(json_string_value(json_object_get(a, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(a, "subject")), subject) == 0 &&
            (!open_only || json_is_null(json_object_get(a, "cleared_at")))) {
            found = json_incref(a);
            break;
        }
    }
    json_decref(j);
    return found;
}

static json_t *wait_alarm(const char *kind, const char *subject)
{
    json_t *a = NULL;
    int i;

    for (i = 0; i < 100 && (a = find_alarm(kind, subject, true)) == NULL; i++) {
        uv_run(&T.loop, UV_RUN_NOWAIT);
        usleep(100000);
    }
    if (a == NULL)
        fail_msg("no open %s alarm for %s", kind, subject);
    return a;
}

/* wcsd stops and starts again: sessions are memory, so everyone logs in again. */
static void restart(void)
{
    twcsd_stop(&wcsd);
    TPLC_RUN_UNTIL(&T, !plc_up);
    twcsd_start(&wcsd);
    assert_int_equal(tsess_login(&wcsd, "li.wei", TSESS_PW, op, op_csrf), 200);
    assert_int_equal(tsess_login(&wcsd, "zhang.min", TSESS_PW, viewer, viewer_csrf), 200);
    assert_int_equal(tsess_login(&wcsd, "wang.fang", TSESS_PW, sup, sup_csrf), 200);
    TPLC_RUN_UNTIL(&T, plc_up);
}

static void test_pages_and_reads_need_login(void **state)
{
    struct tsess_call c = {.path = "/"};

    (void)state;
    assert_int_equal(tsess_send(&wcsd, &c), 200); /* the login form is a page */
    assert_int_equal(tsess_status(&wcsd, "/ui/no-such-file.js", NULL, NULL, NULL), 404);
    assert_int_equal(tsess_status(&wcsd, "/v1/stream", NULL, NULL, NULL), 401);
    assert_int_equal(tsess_status(&wcsd, "/v1/alarms", NULL, NULL, NULL), 401);
    assert_int_equal(tsess_status(&wcsd, "/v1/bags", NULL, NULL, NULL), 401);
    assert_int_equal(tsess_status(&wcsd, "/v1/chutes/CH001/close-bag", "{}", NULL, NULL), 401);
    /* A machine's token reads, never acts: an action names a person. */
    assert_int_equal(tu_http(wcsd.http_port, "/v1/alarms", NULL, NULL), 200);
    assert_int_equal(tu_http(wcsd.http_port, "/v1/chutes/CH001/disable", "{}", NULL), 401);
}

static void test_roles_and_csrf(void **state)
{
    json_t *j;

    (void)state;
    /* Each action refused to the role below it. */
    json_decref(post_json("/v1/chutes/CH001/close-bag", "{}", viewer, viewer_csrf, 403));
    json_decref(post_json("/v1/chutes/CH001/disable", "{}", viewer, viewer_csrf, 403));
    json_decref(post_json("/v1/keyin", "{}", viewer, viewer_csrf, 403));
    json_decref(post_json("/v1/plans/1/activate", "{}", op, op_csrf, 403));
    json_decref(post_json("/v1/dispatches", "{}", op, op_csrf, 403));
    json_decref(post_json("/v1/users", "{}", sup, sup_csrf, 403));
    assert_int_equal(tsess_status(&wcsd, "/v1/users", NULL, sup, NULL), 403);
    /* Without the CSRF token an operator may not either. */
    json_decref(post_json("/v1/chutes/CH001/disable", "{}", op, NULL, 403));
    json_decref(post_json("/v1/chutes/CH001/disable", "{}", op, "wrong", 403));
    /* A supervisor activates the active plan again (it is version 1). */
    j = post_json("/v1/plans/1/activate", "{}", sup, sup_csrf, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "active")), 1);
    json_decref(j);
    /* Bad input is named. */
    json_decref(post_json("/v1/plans/x/activate", "{}", sup, sup_csrf, 400));
    json_decref(post_json("/v1/keyin", "{\"location\": \"SCAN01\"}", op, op_csrf, 400));
    json_decref(post_json("/v1/keyin", "{\"location\": \"NOWHERE\", \"code\": \"AB1\"}", op,
                          op_csrf, 422));
    json_decref(post_json("/v1/chutes/NOPE/close-bag", "{}", op, op_csrf, 404));
    json_decref(post_json("/v1/chutes/NOPE/disable", "{}", op, op_csrf, 404));
    json_decref(post_json("/v1/chutes/CH002/close-bag", "[1,2]", op, op_csrf, 400));
    /* An id with a control character (a %0A decoded) is no console route:
     * the machine API's answer to a POST it does not have. */
    json_decref(post_json("/v1/chutes/CH%0A002/disable", "{}", op, op_csrf, 405));
    /* The reads a viewer has. */
    json_decref(get_json("/v1/bags", viewer, 200));
    json_decref(get_json("/v1/dispatches", viewer, 200));
    json_decref(get_json("/v1/customs/problems", viewer, 200));
    j = get_json("/v1/plans", viewer, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "active")), 1);
    json_decref(j);
}

static void test_chute_full_alarm_ack_and_restart(void **state)
{
    json_t *a, *j;
    char path[128], id[32];

    (void)state;
    locu("CH003", CONV_LOC_FULL);
    j = get_json("/v1/chutes/CH003", op, 200);
    json_decref(j);
    a = wait_alarm("chute_full", "CH003");
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(a, "id")));
    assert_true(json_is_null(json_object_get(a, "acked_by")));
    json_decref(a);
    /* Prometheus sees it, labelled with the line (docs/operations.md
     * "Monitoring": the alert rules use these) */
    {
        struct tu_req r = {.port = wcsd.http_port, .path = "/metrics",
                           .token = wcsd.token[TWCSD_MONITOR]};

        assert_int_equal(tu_http_req(&r, NULL), 200);
        assert_non_null(strstr(r.body, "wcs_alarm_active{line=\"WCS01\",kind=\"chute_full\","
                                       "subject=\"CH003\",severity=\"warning\"} 1\n"));
        assert_non_null(strstr(r.body, "wcs_alarms_open_by_kind{line=\"WCS01\","
                                       "kind=\"chute_full\"} 1\n"));
        assert_non_null(strstr(r.body, "wcs_alarms_open_by_kind{line=\"WCS01\","
                                       "kind=\"plc_link_down\"} 0\n"));
        assert_non_null(strstr(r.body, "wcs_decisions_total{line=\"WCS01\"} "));
        free(r.body);
    }
    snprintf(path, sizeof(path), "/v1/alarms/%s/ack", id);
    json_decref(post_json(path, "{}", viewer, viewer_csrf, 403));
    j = post_json(path, "{}", op, op_csrf, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alarm"), "acked_by")),
                        "li.wei");
    json_decref(j);
    json_decref(post_json("/v1/alarms/0000000000000000/ack", "{}", op, op_csrf, 404));
    /* The alarm and its acknowledgement survive a restart (the PLC link
     * reconnects and reports the chute full again). */
    sleep(2); /* the store job's turn */
    restart();
    locu("CH003", CONV_LOC_FULL);
    a = find_alarm("chute_full", "CH003", false);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "id")), id);
    assert_string_equal(json_string_value(json_object_get(a, "acked_by")), "li.wei");
    json_decref(a);
    /* Emptied: the alarm clears. */
    locu("CH003", CONV_LOC_ACTIVE);
    for (int i = 0; i < 50 && (a = find_alarm("chute_full", "CH003", true)) != NULL; i++) {
        json_decref(a);
        usleep(100000);
    }
    assert_null(find_alarm("chute_full", "CH003", true));
}

static void test_disable_chute_and_why(void **state)
{
    char path[160], full[24] = "", held[24] = "", went[24] = "";
    json_t *j, *why, *g, *c, *then;
    size_t i;
    bool chosen_ok = true;

    (void)state;
    j = post_json("/v1/chutes/CH001/disable", "{}", op, op_csrf, 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "chute"), "state")),
        "disabled_operator");
    json_decref(j);
    /* The decision's why shows it, and no parcel goes there. */
    snprintf(path, sizeof(path), "/v1/decide?code=%s", code0);
    j = get_json(path, op, 200);
    why = json_object_get(j, "why");
    json_array_foreach(json_object_get(why, "group"), i, g) {
        if (strcmp(json_string_value(json_object_get(g, "chute")), "CH001") == 0) {
            assert_string_equal(json_string_value(json_object_get(g, "state")),
                                "disabled_operator");
            chosen_ok = !json_is_true(json_object_get(g, "chosen"));
        }
    }
    assert_true(chosen_ok);
    json_decref(j);
    /* The chute's history names the user. */
    j = get_json("/v1/chutes/CH001", viewer, 200);
    c = json_array_get(json_object_get(j, "history"), 0);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "user")), "li.wei");
    assert_string_equal(json_string_value(json_object_get(c, "text")), "chute CH001 disabled");
    json_decref(j);
    /* Held across a restart. */
    restart();
    j = get_json("/v1/alarms", op, 200); /* wait for a first tick */
    json_decref(j);
    j = post_json("/v1/chutes/CH001/enable", "{}", op, op_csrf, 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "chute"), "state")), "active");
    json_decref(j);
    /* A parcel sorted by the PLC while the first chute of its route's group
     * is FULL and (with three or more) the second disabled by an operator:
     * its trace says so, as it was then. */
    snprintf(path, sizeof(path), "/v1/decide?code=%s", code0);
    j = get_json(path, op, 200);
    g = json_object_get(json_object_get(j, "why"), "group");
    assert_true(json_array_size(g) >= 2);
    snprintf(full, sizeof(full), "%s", json_string_value(json_object_get(json_array_get(g, 0), "chute")));
    if (json_array_size(g) >= 3)
        snprintf(held, sizeof(held), "%s",
                 json_string_value(json_object_get(json_array_get(g, 1), "chute")));
    json_decref(j);
    locu(full, CONV_LOC_FULL);
    if (held[0]) {
        snprintf(path, sizeof(path), "/v1/chutes/%s/disable", held);
        json_decref(post_json(path, "{}", op, op_csrf, 200));
    }
    {
        struct conv_res r = tplc_request(&T, plc, "0000000001", "SCAN01", code0,
                                         CONV_BARCODE_CODE);
        assert_int_equal(r.reason, CONV_REASON_OK);
        snprintf(went, sizeof(went), "%s", r.destination);
    }
    locu(full, CONV_LOC_ACTIVE);
    if (held[0]) {
        snprintf(path, sizeof(path), "/v1/chutes/%s/enable", held);
        json_decref(post_json(path, "{}", op, op_csrf, 200));
    }
    snprintf(path, sizeof(path), "/v1/parcels/%s/trace", code0);
    for (i = 0; i < 50; i++) { /* the decision's event is written asynchronously */
        j = get_json(path, viewer, 200);
        if (json_array_size(json_object_get(j, "events")) > 0)
            break;
        json_decref(j);
        usleep(100000);
    }
    assert_non_null(json_object_get(j, "parcel"));
    c = json_array_get(json_object_get(j, "events"), 0);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "kind")), "decision");
    assert_non_null(strstr(json_string_value(json_object_get(c, "detail")), "rule line"));
    assert_non_null(json_object_get(json_object_get(j, "why"), "route"));
    then = json_object_get(j, "then");
    assert_non_null(then);
    assert_string_equal(json_string_value(json_object_get(then, "chute")), went);
    assert_true(json_integer_value(json_object_get(then, "rule_line")) > 0);
    assert_true(json_array_size(json_object_get(then, "group")) >= 2);
    json_array_foreach(json_object_get(then, "group"), i, g) {
        const char *id = json_string_value(json_object_get(g, "chute"));
        const char *was = json_string_value(json_object_get(g, "state"));

        if (strcmp(id, full) == 0)
            assert_string_equal(was, "full");
        else if (held[0] && strcmp(id, held) == 0)
            assert_string_equal(was, "disabled_operator");
        else
            assert_string_equal(was, "active");
        assert_int_equal(json_is_true(json_object_get(g, "chosen")), strcmp(id, went) == 0);
    }
    json_decref(j);
    /* Sorted there, its bag closed from the console, and the bag's label
     * fetched: a PDF, or the ZPL with the receptacle id in its barcode. */
    sorted("0000000001", went);
    snprintf(path, sizeof(path), "/v1/chutes/%s/close-bag", went);
    j = post_json(path, "{}", op, op_csrf, 200);
    {
        char bag[32], want[64];
        struct tsess_call lc = {.cookie = viewer};

        snprintf(bag, sizeof(bag), "%s", json_string_value(json_object_get(j, "bag_id")));
        assert_int_equal(strlen(bag), 29);
        assert_int_equal(json_integer_value(json_object_get(j, "parcels")), 1);
        snprintf(path, sizeof(path), "/v1/bags/%s/label", bag);
        lc.path = path;
        assert_int_equal(tsess_send(&wcsd, &lc), 200);
        assert_null(lc.json); /* not JSON: a PDF */
        snprintf(path, sizeof(path), "/v1/bags/%s/label?format=zpl", bag);
        {
            char url[256], cookie[128];
            struct tu_body b = {NULL, 0};
            CURL *k = curl_easy_init();
            char *ctype = NULL;

            snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", wcsd.http_port, path);
            snprintf(cookie, sizeof(cookie), "wcs_session=%s", viewer);
            curl_easy_setopt(k, CURLOPT_URL, url);
            curl_easy_setopt(k, CURLOPT_COOKIE, cookie);
            curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, tu_body_cb);
            curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
            assert_int_equal(curl_easy_perform(k), CURLE_OK);
            curl_easy_getinfo(k, CURLINFO_CONTENT_TYPE, &ctype);
            assert_string_equal(ctype, "text/plain; charset=utf-8");
            snprintf(want, sizeof(want), "^FD%s^FS", bag);
            assert_non_null(strstr(b.data, want));
            free(b.data);
            curl_easy_cleanup(k);
        }
        /* Its label went to its route's printer by itself (the bag's close
         * reached wcsd as any close does); a reprint goes there too; with
         * the printer gone, a reprint fails (502), its alarm is raised, and
         * the next good print clears it. */
        snprintf(want, sizeof(want), "^FD%s^FS", bag);
        assert_true(printer_got(want));
        snprintf(path, sizeof(path), "/v1/bags/%s/print", bag);
        json_decref(post_json(path, "{}", viewer, viewer_csrf, 403));
        json_decref(post_json(path, "{}", op, op_csrf, 200));
        printer_stop();
        json_decref(post_json(path, "{}", op, op_csrf, 502));
        {
            json_t *a = wait_alarm("label_printer_down", "LP1");
            assert_non_null(strstr(json_string_value(json_object_get(a, "text")), bag));
            json_decref(a);
        }
        printer_start();
        json_decref(post_json(path, "{}", op, op_csrf, 200));
        for (i = 0; i < 50; i++) { /* cleared at the console's next round */
            json_t *a = find_alarm("label_printer_down", "LP1", true);

            if (a == NULL)
                break;
            json_decref(a);
            usleep(100000);
        }
        assert_true(i < 50);
        snprintf(path, sizeof(path), "/v1/bags/%s/label?format=svg", bag);
        assert_int_equal(tsess_status(&wcsd, path, NULL, viewer, NULL), 400);
        assert_int_equal(tsess_status(&wcsd, "/v1/bags/CNHRBARUMOWAAUN60009009000021/label",
                                      NULL, viewer, NULL),
                         404);
    }
    json_decref(j);
    /* wcsctl parcel show --why prints the same record. */
    {
        char http[64], *out = NULL, want[64];

        snprintf(http, sizeof(http), "http://127.0.0.1:%d", wcsd.http_port);
        assert_int_equal(tu_wcsctl_out(wcsd.conninfo, &out, "--http", http, "--token-file",
                                       wcsd.token_file[TWCSD_OPERATOR], "parcel", "show", code0,
                                       "--why", NULL),
                         0);
        assert_non_null(strstr(out, "then (the last decision, "));
        snprintf(want, sizeof(want), " %s full", full);
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof(want), " %s active (chosen)", went);
        assert_non_null(strstr(out, want));
        assert_non_null(strstr(out, "why (a dry run of wcsd now"));
        free(out);
    }
    assert_int_equal(tsess_status(&wcsd, "/v1/parcels/NOBODY123/trace", NULL, viewer, NULL), 404);
    /* A parcel nothing read (no WCS scans here either, after its window):
     * its trace by tracking number says where it went and why. */
    {
        struct conv_res r = tplc_request(&T, plc, "0000000077", "SCAN01", "",
                                         CONV_BARCODE_NOREAD);
        assert_int_equal(r.reason, CONV_REASON_NOREAD);
    }
    for (i = 0; i < 50; i++) {
        j = get_json("/v1/parcels/0000000077/trace", viewer, 0);
        if (json_array_size(json_object_get(j, "events")) > 0)
            break;
        json_decref(j);
        j = NULL;
        usleep(100000);
    }
    assert_non_null(j);
    c = json_array_get(json_object_get(j, "events"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "NOREAD__");
    assert_non_null(strstr(json_string_value(json_object_get(c, "detail")), "nothing read at SCAN01"));
    assert_null(json_object_get(j, "why")); /* no code to look up */
    json_decref(j);
}

/* A manifest the broker refused raises its alarm (counted by the
 * refresher at its next resync: 1 s here). */
static void test_manifest_refused_alarm(void **state)
{
    PGconn *db = PQconnectdb(wcsd.conninfo);
    PGresult *r;
    json_t *a;

    (void)state;
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    r = PQexec(db, "INSERT INTO dispatches (manifest_id, route, transport, status, manifest_error,"
                   " manifest_at) VALUES ('HRB-20261207-ZAB-999', 'RU-ZAB-RAIL', 'rail', 'closed',"
                   " 'unknown parcels', now())");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(db);
    a = wait_alarm("manifest_refused", "");
    assert_non_null(strstr(json_string_value(json_object_get(a, "text")), "refused 1 dispatch"));
    json_decref(a);
}

/* The stream's first bytes: a hello, then the three documents. */
static void test_stream(void **state)
{
    char url[128], cookie[128];
    struct tu_body b = {NULL, 0};
    CURL *k = curl_easy_init();

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/stream", wcsd.http_port);
    snprintf(cookie, sizeof(cookie), "wcs_session=%s", viewer);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_COOKIE, cookie);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, 2500L); /* a stream never ends by itself */
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
    assert_int_equal(curl_easy_perform(k), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(k);
    assert_non_null(b.data);
    assert_non_null(strstr(b.data, "event: line\ndata: {"));
    assert_non_null(strstr(b.data, "event: alarms\ndata: {\"alarms\":"));
    assert_non_null(strstr(b.data, "event: figures\ndata: {\"minutes\":"));
    /* More than one line document: it is live. */
    assert_non_null(strstr(strstr(b.data, "event: line") + 1, "event: line"));
    assert_non_null(strstr(b.data, "\"CH001\""));
    free(b.data);
}

/* A stream ends with its session: logged out, the console gets no more. */
static void test_stream_ends_with_session(void **state)
{
    char url[128], cookie[128], id[64], csrf[64];
    struct tu_body b = {NULL, 0};
    CURLM *m = curl_multi_init();
    CURL *k = curl_easy_init();
    CURLMsg *msg;
    int running = 1, left, i;
    bool done = false;
    CURLcode result = CURLE_OK;

    (void)state;
    assert_int_equal(tsess_login(&wcsd, "zhang.min", TSESS_PW, id, csrf), 200);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/stream", wcsd.http_port);
    snprintf(cookie, sizeof(cookie), "wcs_session=%s", id);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_COOKIE, cookie);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
    curl_multi_add_handle(m, k);
    for (i = 0; i < 15 && running; i++) { /* about 1.5 s of it */
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    assert_non_null(b.data);
    assert_non_null(strstr(b.data, "event: line"));
    assert_int_equal(tsess_status(&wcsd, "/v1/logout", "{}", id, csrf), 200);
    for (i = 0; i < 100 && running; i++) { /* ended within a document's period */
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE) {
            done = true;
            result = msg->data.result;
        }
    curl_multi_remove_handle(m, k);
    curl_easy_cleanup(k);
    curl_multi_cleanup(m);
    free(b.data);
    assert_true(done);
    assert_int_equal(result, CURLE_OK); /* ended by wcsd, not by our timeout */
    assert_int_equal(tsess_login(&wcsd, "zhang.min", TSESS_PW, viewer, viewer_csrf), 200);
}

/* More reads at once than the pool runs (4): the rest wait their turn and
 * every one is answered. */
static void test_reads_wait_their_turn(void **state)
{
    enum { N = 12 };
    char url[128], cookie[128];
    struct tu_body b[N];
    CURL *k[N];
    CURLM *m = curl_multi_init();
    int running = 1, i, loops;
    long st;

    (void)state;
    memset(b, 0, sizeof(b));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/audit?hours=48", wcsd.http_port);
    snprintf(cookie, sizeof(cookie), "wcs_session=%s", viewer);
    for (i = 0; i < N; i++) {
        k[i] = curl_easy_init();
        curl_easy_setopt(k[i], CURLOPT_URL, url);
        curl_easy_setopt(k[i], CURLOPT_COOKIE, cookie);
        curl_easy_setopt(k[i], CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(k[i], CURLOPT_WRITEFUNCTION, tu_body_cb);
        curl_easy_setopt(k[i], CURLOPT_WRITEDATA, &b[i]);
        curl_multi_add_handle(m, k[i]);
    }
    for (loops = 0; running > 0 && loops < 400; loops++) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    assert_int_equal(running, 0);
    for (i = 0; i < N; i++) {
        curl_easy_getinfo(k[i], CURLINFO_RESPONSE_CODE, &st);
        assert_int_equal(st, 200);
        assert_non_null(b[i].data);
        assert_non_null(strstr(b[i].data, "\"events\""));
        free(b[i].data);
        curl_multi_remove_handle(m, k[i]);
        curl_easy_cleanup(k[i]);
    }
    curl_multi_cleanup(m);
}

static void test_audit(void **state)
{
    json_t *j, *e;
    size_t i;
    int acked = 0, disabled = 0, activated = 0;

    (void)state;
    j = get_json("/v1/audit", viewer, 200);
    json_array_foreach(json_object_get(j, "events"), i, e) {
        const char *t = json_string_value(json_object_get(e, "text"));
        const char *u = json_string_value(json_object_get(e, "user"));
        acked += strncmp(t, "alarm ", 6) == 0 && strcmp(u, "li.wei") == 0;
        disabled += strcmp(t, "chute CH001 disabled") == 0 && strcmp(u, "li.wei") == 0;
        activated += strcmp(t, "sort plan v1 activated") == 0 && strcmp(u, "wang.fang") == 0;
    }
    json_decref(j);
    assert_int_equal(acked, 1);
    assert_int_equal(disabled, 1);
    assert_int_equal(activated, 1);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    twcsd_prepare(&wcsd, "wcs_test_console", NULL);
    twcsd_sample_code(0, code0, sizeof(code0));
    printer.port = proc_free_port();
    printer_start();
    twcsd_config(&wcsd,
                 "alarms:\n  chute_full_s: 0\n"
                 "registry:\n  resync_s: 1\n"
                 "label_printers:\n  - id: LP1\n    host: 127.0.0.1\n    port: %d\n"
                 "    routes: [RU-MOW-AIR, RU-OVB-AIR, RU-EKB-AIR, RU-ZAB-RAIL, RU-ZAB-ROAD,"
                 " RU-BQS-ROAD, RU-POG-ROAD, RU-DNG-ROAD, RU-NLL-RAIL, RU-FYJ-RIVER]\n"
                 "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                 "    life_interval_ms: 1000\n    locations: [SCAN01]\n",
                 printer.port, wcsd.plc_port[0]);
    tplc_init(&T);
    twcsd_start(&wcsd);
    plc = tplc_link(&T, "PLC01", CONV_LINK_CLIENT, wcsd.plc_port[0], 1000, &plc_up);
    TPLC_RUN_UNTIL(&T, plc_up);
    tsess_add_user(&wcsd, "li.wei", "operator");
    tsess_add_user(&wcsd, "zhang.min", "viewer");
    tsess_add_user(&wcsd, "wang.fang", "supervisor");
    assert_int_equal(tsess_login(&wcsd, "li.wei", TSESS_PW, op, op_csrf), 200);
    assert_int_equal(tsess_login(&wcsd, "zhang.min", TSESS_PW, viewer, viewer_csrf), 200);
    assert_int_equal(tsess_login(&wcsd, "wang.fang", TSESS_PW, sup, sup_csrf), 200);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tplc_done(&T);
    printer_stop();
    return twcsd_teardown(&wcsd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_and_reads_need_login),
        cmocka_unit_test(test_roles_and_csrf),
        cmocka_unit_test(test_chute_full_alarm_ack_and_restart),
        cmocka_unit_test(test_disable_chute_and_why),
        cmocka_unit_test(test_manifest_refused_alarm),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_stream_ends_with_session),
        cmocka_unit_test(test_reads_wait_their_turn),
        cmocka_unit_test(test_audit),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test-login.c - the operator console's logins (issue 11) against a real
 * wcsd on a real PostgreSQL, users made with wcsctl: POST /v1/login sets a
 * session cookie (HttpOnly, SameSite=Strict) and answers the CSRF token; the
 * session reads like a token; a POST with it needs X-CSRF-Token; roles (a
 * viewer may not post scans); logout ends it; a wrong password, an unknown
 * or disabled user get the same 401; logins are rate-limited per address;
 * every login, refusal and logout is an operator event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "tests/common/proc.h"
#include "tests/common/testsession.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"

#define PW TSESS_PW

static struct twcsd wcsd;
static char first_code[64];

static long send_call(struct tsess_call *c)
{
    return tsess_send(&wcsd, c);
}

static long login(const char *user, const char *password, char id[64], char csrf[64])
{
    return tsess_login(&wcsd, user, password, id, csrf);
}

static void add_user(const char *name, const char *role)
{
    tsess_add_user(&wcsd, name, role);
}

static long status_of(const char *path, const char *body, const char *cookie, const char *csrf)
{
    return tsess_status(&wcsd, path, body, cookie, csrf);
}

static void test_login_session_csrf_roles(void **state)
{
    char id[64], csrf[64], vid[64], vcsrf[64], scan[128];
    int i;

    (void)state;
    add_user("li.wei", "operator");
    add_user("zhang.min", "viewer");
    snprintf(scan, sizeof(scan), "{\"location\": \"SCAN01\", \"code\": \"%s\"}", first_code);

    assert_int_equal(status_of("/v1/status", NULL, NULL, NULL), 401);
    assert_int_equal(login("li.wei", PW, id, csrf), 200);
    /* A page loaded again has the cookie, not the token: /v1/session tells it. */
    {
        struct tsess_call c = {.path = "/v1/session", .cookie = id};

        assert_int_equal(send_call(&c), 200);
        assert_string_equal(json_string_value(json_object_get(c.json, "csrf")), csrf);
        assert_string_equal(json_string_value(json_object_get(c.json, "role")), "operator");
        json_decref(c.json);
    }
    assert_int_equal(status_of("/v1/session", NULL, NULL, NULL), 401);
    /* The session reads like a token does. */
    assert_int_equal(status_of("/v1/status", NULL, id, NULL), 200);
    assert_int_equal(status_of("/metrics", NULL, id, NULL), 200);
    /* A POST with the session needs its CSRF token. */
    assert_int_equal(status_of("/v1/scans", scan, id, NULL), 403);
    assert_int_equal(status_of("/v1/scans", scan, id, "wrong-token"), 403);
    assert_int_equal(status_of("/v1/scans", scan, id, csrf), 202);
    /* A viewer reads, and may not post scans even with its token. */
    assert_int_equal(login("zhang.min", PW, vid, vcsrf), 200);
    assert_int_equal(status_of("/v1/status", NULL, vid, NULL), 200);
    assert_int_equal(status_of("/v1/scans", scan, vid, vcsrf), 403);
    /* A stale cookie does not stand in a login's way. */
    {
        char body[128];

        snprintf(body, sizeof(body), "{\"user\": \"zhang.min\", \"password\": \"%s\"}", PW);
        assert_int_equal(status_of("/v1/login", body, "stale-cookie-value", NULL), 200);
    }
    /* A made-up session is no session. */
    assert_int_equal(status_of("/v1/status", NULL, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                               NULL),
                     401);
    /* Logout ends it (with its CSRF token), and only it. */
    assert_int_equal(status_of("/v1/logout", "{}", id, NULL), 403);
    assert_int_equal(status_of("/v1/logout", "{}", id, csrf), 200);
    assert_int_equal(status_of("/v1/status", NULL, id, NULL), 401);
    assert_int_equal(status_of("/v1/status", NULL, vid, NULL), 200);
    assert_int_equal(status_of("/v1/logout", "{}", NULL, NULL), 401);
    /* Disabling a user ends its live sessions (told by the database). */
    tu_wcsctl(wcsd.conninfo, 0, "user", "disable", "zhang.min", NULL);
    for (i = 0; i < 100 && status_of("/v1/status", NULL, vid, NULL) == 200; i++)
        usleep(20000);
    assert_int_equal(status_of("/v1/status", NULL, vid, NULL), 401);
    tu_wcsctl(wcsd.conninfo, 0, "user", "enable", "zhang.min", NULL);
}

static void test_refusals_look_alike_and_are_limited(void **state)
{
    char id[64], csrf[64];
    struct tsess_call c = {.path = "/v1/login", .body = "{\"user\": \"li.wei\"}"};
    PGconn *db;
    PGresult *r;
    int i, limited = 0;

    (void)state;
    sleep(5); /* the first test's logins used this address's bucket */
    add_user("wang.fang", "supervisor");
    /* Not said to be JSON (what a form on another site would send): 415. */
    {
        char url[128];
        long st = 0;
        CURL *k = curl_easy_init();

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/login", wcsd.http_port);
        curl_easy_setopt(k, CURLOPT_URL, url);
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "{\"user\": \"li.wei\", \"password\": \"" PW "\"}");
        curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, tu_body_cb);
        {
            struct tu_body b = {NULL, 0};
            curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
            assert_int_equal(curl_easy_perform(k), CURLE_OK);
            free(b.data);
        }
        curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &st);
        curl_easy_cleanup(k);
        assert_int_equal(st, 415);
    }
    tu_wcsctl(wcsd.conninfo, 0, "user", "disable", "wang.fang", NULL);
    assert_int_equal(send_call(&c), 400);
    json_decref(c.json);
    /* Wrong password, unknown user, disabled user: one answer. */
    assert_int_equal(login("li.wei", "not the password", id, csrf), 401);
    assert_int_equal(login("nobody", PW, id, csrf), 401);
    assert_int_equal(login("wang.fang", PW, id, csrf), 401);
    /* Logins from one address are limited (5 at once, 1 a second). */
    for (i = 0; i < 10 && !limited; i++)
        limited = login("li.wei", "not the password", id, csrf) == 429;
    assert_true(limited);
    sleep(2);
    assert_int_equal(login("li.wei", PW, id, csrf), 200);
    /* Every login, refusal and logout is in the audit, never a password. */
    db = PQconnectdb(wcsd.conninfo);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    for (i = 0; i < 100; i++) { /* the writer's batches are asynchronous */
        r = PQexec(db, "SELECT count(*) FILTER (WHERE source = 'li.wei' AND detail LIKE "
                       "'login from %'), count(*) FILTER (WHERE detail LIKE 'login refused%'), "
                       "count(*) FILTER (WHERE source = 'li.wei' AND detail LIKE 'logout from %'), "
                       "count(*) FILTER (WHERE detail LIKE '%password%') "
                       "FROM events WHERE kind = 'operator'");
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        if (atoi(PQgetvalue(r, 0, 0)) >= 2 && atoi(PQgetvalue(r, 0, 1)) >= 4)
            break;
        PQclear(r);
        r = NULL;
        usleep(50000);
    }
    assert_non_null(r);
    assert_true(atoi(PQgetvalue(r, 0, 2)) >= 1);
    assert_int_equal(atoi(PQgetvalue(r, 0, 3)), 0);
    PQclear(r);
    PQfinish(db);
    /* No password in wcsd's log either. */
    assert_null(strstr(wcsd.p.log ? wcsd.p.log : "", PW));
}

/* wcsd stopped while a login is being checked (its request suspended, the
 * hash on libuv's pool): a clean exit, not an abort; then it starts again. */
static void test_stop_during_login(void **state)
{
    char id[64], csrf[64];
    pid_t child;
    int st;

    (void)state;
    sleep(2); /* room in this address's login bucket */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* no assertions here: they would run the parent's tests on */
        char url[128];
        CURL *k = curl_easy_init();

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/login", wcsd.http_port);
        curl_easy_setopt(k, CURLOPT_URL, url);
        curl_easy_setopt(k, CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "{\"user\": \"li.wei\", \"password\": \"" PW "\"}");
        curl_easy_setopt(k, CURLOPT_HTTPHEADER,
                         curl_slist_append(NULL, "Content-Type: application/json"));
        curl_easy_perform(k); /* the server goes away meanwhile: any outcome */
        _exit(0);
    }
    usleep(30000);
    twcsd_stop(&wcsd); /* asserts exit status 0 */
    assert_int_equal(waitpid(child, &st, 0), child);
    twcsd_start(&wcsd);
    sleep(1);
    assert_int_equal(login("li.wei", PW, id, csrf), 200);
}

static int setup(void **state)
{
    (void)state;
    twcsd_prepare(&wcsd, "wcs_test_login", NULL);
    twcsd_sample_code(0, first_code, sizeof(first_code));
    twcsd_config(&wcsd, "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: 0\n"
                        "    locations: [SCAN01]\n");
    twcsd_start(&wcsd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return twcsd_teardown(&wcsd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_session_csrf_roles),
        cmocka_unit_test(test_refusals_look_alike_and_are_limited),
        cmocka_unit_test(test_stop_during_login),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

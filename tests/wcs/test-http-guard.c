/*
 * test-http-guard.c - what guards wcsd's HTTP API, without a server
 * (wcs/daemon/http_guard.h): the Authorization header against the tokens
 * and their roles, and the per-client token bucket of POST /v1/scans on a
 * clock the test drives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wcs/daemon/http_guard.h"

#define S_SCANNER "scanner-secret-0001"
#define S_MONITOR "monitor-secret-0002"
#define S_OPERATOR "operator-secret-03"

static void add(struct wcs_tokens *t, struct wcs_token *v, const char *name, enum wcs_role role,
                const char *secret)
{
    struct wcs_token *tok = &v[t->n++];

    memset(tok, 0, sizeof(*tok));
    snprintf(tok->name, sizeof(tok->name), "%s", name);
    tok->role = role;
    token_secret_set(&tok->secret, secret, strlen(secret));
}

static void test_authorize(void **state)
{
    static const struct {
        const char *header;
        enum wcs_http_need need;
        enum wcs_http_verdict want;
        const char *who;
    } cases[] = {
        {NULL, WCS_HTTP_OPEN, WCS_HTTP_ALLOW, NULL},
        {NULL, WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL},
        {NULL, WCS_HTTP_ANY, WCS_HTTP_UNAUTHORIZED, NULL},
        {"Bearer " S_MONITOR, WCS_HTTP_READ, WCS_HTTP_ALLOW, "prom"},
        {"bearer   " S_MONITOR "  ", WCS_HTTP_READ, WCS_HTTP_ALLOW, "prom"},
        {"Bearer " S_MONITOR, WCS_HTTP_SCAN, WCS_HTTP_FORBIDDEN, "prom"},
        {"Bearer " S_MONITOR, WCS_HTTP_ANY, WCS_HTTP_ALLOW, "prom"},
        {"Bearer " S_SCANNER, WCS_HTTP_SCAN, WCS_HTTP_ALLOW, "cam1"},
        {"Bearer " S_SCANNER, WCS_HTTP_READ, WCS_HTTP_FORBIDDEN, "cam1"},
        {"Bearer " S_OPERATOR, WCS_HTTP_READ, WCS_HTTP_ALLOW, "op"},
        {"Bearer " S_OPERATOR, WCS_HTTP_SCAN, WCS_HTTP_ALLOW, "op"},
        {"Basic " S_OPERATOR, WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL},
        {"Bearer", WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL},
        {"Bearer ", WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL},
        {"Bearer " S_OPERATOR "x", WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL},
        {"Bearer operator-secret-0", WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL},
        {"Bearer op", WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL}, /* a name */
        {"Bearer " S_OPERATOR " " S_MONITOR, WCS_HTTP_READ, WCS_HTTP_UNAUTHORIZED, NULL},
    };
    struct wcs_token v[3];
    struct wcs_tokens t = {v, 0}, none = {NULL, 0};
    const struct wcs_token *who;
    size_t i;
    (void)state;
    add(&t, v, "cam1", WCS_ROLE_SCANNER, S_SCANNER);
    add(&t, v, "prom", WCS_ROLE_MONITOR, S_MONITOR);
    add(&t, v, "op", WCS_ROLE_OPERATOR, S_OPERATOR);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum wcs_http_verdict got = wcs_http_authorize(&t, cases[i].header, cases[i].need, &who);
        if (got != cases[i].want)
            fail_msg("case %zu (%s): verdict %d, want %d", i,
                     cases[i].header ? cases[i].header : "no header", got, cases[i].want);
        if (cases[i].who == NULL)
            assert_null(who);
        else
            assert_string_equal(who->name, cases[i].who);
    }
    /* Without a tokens file no token is valid, whatever it holds. */
    assert_int_equal(wcs_http_authorize(&none, "Bearer " S_OPERATOR, WCS_HTTP_READ, &who),
                     WCS_HTTP_UNAUTHORIZED);
    assert_int_equal(wcs_http_authorize(&none, NULL, WCS_HTTP_OPEN, &who), WCS_HTTP_ALLOW);
}

static void test_rate_per_client(void **state)
{
    struct wcs_rate *r = wcs_rate_new(2, 3, 2); /* 2 a second, 3 at once, 2 clients */
    unsigned retry = 0;
    uint64_t t = 1000000;
    int i;
    (void)state;
    assert_non_null(r);
    /* A burst of 3, then refused: the next one is half a second away. */
    for (i = 0; i < 3; i++)
        assert_int_equal(wcs_rate_take(r, 1, t, &retry), 0);
    assert_int_equal(wcs_rate_take(r, 1, t, &retry), ERR_FULL);
    assert_int_equal(retry, 1);
    /* Another client has its own bucket. */
    assert_int_equal(wcs_rate_take(r, 2, t, &retry), 0);
    /* 499 ms later still nothing; at 500 ms one more. */
    assert_int_equal(wcs_rate_take(r, 1, t + 499999, &retry), ERR_FULL);
    assert_int_equal(wcs_rate_take(r, 1, t + 500000, &retry), 0);
    assert_int_equal(wcs_rate_take(r, 1, t + 500000, &retry), ERR_FULL);
    /* A long pause fills the bucket to the burst, not beyond. */
    t += 3600ull * 1000000;
    for (i = 0; i < 3; i++)
        assert_int_equal(wcs_rate_take(r, 1, t, &retry), 0);
    assert_int_equal(wcs_rate_take(r, 1, t, &retry), ERR_FULL);
    /* A third client in a table of two takes the bucket of one that has
     * filled up again (client 2), not the emptied one of client 1. */
    assert_int_equal(wcs_rate_take(r, 3, t, &retry), 0);
    assert_int_equal(wcs_rate_take(r, 1, t, &retry), ERR_FULL);
    wcs_rate_free(r);

    /* Slow rates: 1 a second, burst 1: a refusal says to wait a second. */
    r = wcs_rate_new(1, 1, 4);
    assert_int_equal(wcs_rate_take(r, 7, 0, &retry), 0);
    assert_int_equal(wcs_rate_take(r, 7, 1, &retry), ERR_FULL);
    assert_int_equal(retry, 1);
    assert_int_equal(wcs_rate_take(r, 7, 1000000, &retry), 0);
    wcs_rate_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorize),
        cmocka_unit_test(test_rate_per_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-secrets.c - the files of wcsd's config that hold secrets
 * (wcs/config/secrets.h): the tokens file's lines and every way they can be
 * wrong, refused when others may read it, no secret in any message; the
 * token lookup; certificate and key files read whole.
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

#include "tests/common/testutil.h"
#include "wcs/config/secrets.h"

#define SECRET_A "aaaaaaaaaaaaaaaa-1"
#define SECRET_B "bbbbbbbbbbbbbbbb-2"

static char path[64];

/* Writes text to the test's file with mode. */
static void write_file(const char *text, mode_t mode)
{
    snprintf(path, sizeof(path), "/tmp/wcs-test-secrets-%d", (int)getpid());
    tu_write_text(path, text);
    assert_int_equal(chmod(path, mode), 0);
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* True when some message of d contains needle. */
static int has(const struct diag *d, const char *needle)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        if (strstr(d->msgs[i], needle) != NULL)
            return 1;
    return 0;
}

static void test_tokens_file(void **state)
{
    struct wcs_tokens t;
    struct diag d = DIAG_INIT;
    struct token_secret s;
    struct err e;
    (void)state;
    write_file("# name role secret\n"
               "\n"
               "cam-SCAN01   scanner  " SECRET_A "\n"
               "prometheus\tmonitor\t" SECRET_B "   \n",
               0600);
    assert_int_equal(wcs_tokens_load(path, "http.tokens_file", &t, &d, &e), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].name, "cam-SCAN01");
    assert_int_equal(t.v[0].role, WCS_ROLE_SCANNER);
    assert_string_equal(t.v[1].name, "prometheus");
    assert_int_equal(t.v[1].role, WCS_ROLE_MONITOR);
    /* The lookup finds the token whose secret was presented, and only that. */
    token_secret_set(&s, SECRET_B, strlen(SECRET_B));
    assert_ptr_equal(wcs_tokens_match(&t, &s), &t.v[1]);
    token_secret_set(&s, SECRET_A, strlen(SECRET_A) - 1);
    assert_null(wcs_tokens_match(&t, &s));
    token_secret_set(&s, "cam-SCAN01", 10); /* a name is not a secret */
    assert_null(wcs_tokens_match(&t, &s));
    wcs_tokens_free(&t);
    assert_int_equal(t.n, 0);
    /* Group-readable is fine (wcsd's group); an empty file means no tokens. */
    write_file("", 0640);
    assert_int_equal(wcs_tokens_load(path, "http.tokens_file", &t, &d, &e), 0);
    assert_int_equal(t.n, 0);
    wcs_tokens_free(&t);
    assert_int_equal(diag_count(&d), 0);
}

static void test_tokens_file_problems(void **state)
{
    struct wcs_tokens t;
    struct diag d = DIAG_INIT;
    struct err e;
    size_t i;
    (void)state;
    write_file("cam1 scanner " SECRET_A "\n"  /* 1: good */
               "cam2 scanner\n"               /* 2 */
               "cam3 viewer " SECRET_B "\n"   /* 3 */
               "cam4 " SECRET_B " scanner\n"  /* 4: words out of order */
               "cam 5 scanner " SECRET_B "\n" /* 5 */
               "cam6 scanner short-one\n"     /* 6 */
               "cam1 monitor " SECRET_B "\n"  /* 7 */
               "cam8 admin " SECRET_A "\n"    /* 8 */
               "ca/m9 admin " SECRET_B "\n",  /* 9 */
               0600);
    assert_int_equal(wcs_tokens_load(path, "http.tokens_file", &t, &d, &e), ERR_CONFIG);
    assert_int_equal(t.n, 0);
    assert_null(t.v);
    assert_true(has(&d, ":2: (line): expected NAME ROLE SECRET, found fewer words"));
    assert_true(has(&d, ":3: role: the second word is not scanner, monitor, operator, admin or partner"));
    assert_true(has(&d, ":4: role: the second word is not"));
    assert_true(has(&d, ":5: (line): expected NAME ROLE SECRET, found more words"));
    assert_true(has(&d, ":6: secret: 16 to 128 printable ASCII characters without blanks "
                        "expected (9 given)"));
    assert_true(has(&d, ":7: name: cam1 already used at line 1"));
    assert_true(has(&d, ":8: secret: the same secret as token cam1 at line 1"));
    assert_true(has(&d, ":9: name: 1 to 32 characters of A-Z a-z 0-9 . _ - expected"));
    assert_int_equal(diag_count(&d), 8);
    /* e has the first problem with the key; no message quotes a secret. */
    assert_non_null(strstr(e.msg, "http.tokens_file: "));
    assert_non_null(strstr(e.msg, ":2: (line)"));
    for (i = 0; i < d.n; i++) {
        assert_null(strstr(d.msgs[i], "aaaaaaaa"));
        assert_null(strstr(d.msgs[i], "bbbbbbbb"));
        assert_null(strstr(d.msgs[i], "short-one"));
    }
    diag_free(&d);
}

static void test_open_to_others_refused(void **state)
{
    struct wcs_tokens t;
    struct err e;
    char *buf;
    size_t len;
    (void)state;
    write_file("cam1 scanner " SECRET_A "\n", 0644);
    assert_int_equal(wcs_tokens_load(path, "http.tokens_file", &t, NULL, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "http.tokens_file: "));
    assert_non_null(strstr(e.msg, " is open to other users (mode 0644)"));
    assert_int_equal(t.n, 0);
    write_file("cam1 scanner " SECRET_A "\n", 0602); /* others may write: add a token */
    assert_int_equal(wcs_tokens_load(path, "http.tokens_file", &t, NULL, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "(mode 0602)"));
    write_file("cam1 scanner " SECRET_A "\n", 0660); /* its group may write: the same */
    assert_int_equal(wcs_tokens_load(path, "http.tokens_file", &t, NULL, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "is open to its group (mode 0660)"));
    write_file("cam1 scanner " SECRET_A "\n", 0640); /* wcsd's group may read it */
    assert_int_equal(wcs_tokens_load(path, "http.tokens_file", &t, NULL, &e), 0);
    wcs_tokens_free(&t);
    /* The same rule for a TLS key, not for its certificate. */
    write_file("-----BEGIN PRIVATE KEY-----\n", 0644);
    assert_int_equal(wcs_secret_file_read(path, "http.tls_key", true, &buf, &len, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "http.tls_key: "));
    assert_null(buf);
    assert_int_equal(wcs_secret_file_read(path, "http.tls_cert", false, &buf, &len, &e), 0);
    assert_int_equal(len, strlen("-----BEGIN PRIVATE KEY-----\n"));
    assert_string_equal(buf, "-----BEGIN PRIVATE KEY-----\n");
    wcs_secret_free(buf, len);
    write_file("", 0600);
    assert_int_equal(wcs_secret_file_read(path, "http.tls_key", true, &buf, &len, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, ": empty"));
    /* Not a regular file, and no file at all. */
    assert_int_equal(wcs_tokens_load("/tmp", "http.tokens_file", &t, NULL, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "http.tokens_file: /tmp: not a regular file"));
    assert_true(wcs_tokens_load("/nonexistent/tokens", "http.tokens_file", &t, NULL, &e) < 0);
    assert_non_null(strstr(e.msg, "http.tokens_file: /nonexistent/tokens: No such file"));
}

static void test_roles(void **state)
{
    (void)state;
    assert_string_equal(wcs_role_name(WCS_ROLE_OPERATOR), "operator");
    assert_true(wcs_role_may_scan(WCS_ROLE_SCANNER));
    assert_false(wcs_role_may_read(WCS_ROLE_SCANNER));
    assert_true(wcs_role_may_read(WCS_ROLE_MONITOR));
    assert_false(wcs_role_may_scan(WCS_ROLE_MONITOR));
    assert_true(wcs_role_may_read(WCS_ROLE_OPERATOR) && wcs_role_may_scan(WCS_ROLE_OPERATOR));
    assert_true(wcs_role_may_read(WCS_ROLE_ADMIN) && wcs_role_may_scan(WCS_ROLE_ADMIN));
    /* a partner follows the tracking feed and does nothing else */
    assert_string_equal(wcs_role_name(WCS_ROLE_PARTNER), "partner");
    assert_true(wcs_role_may_track(WCS_ROLE_PARTNER));
    assert_false(wcs_role_may_read(WCS_ROLE_PARTNER) || wcs_role_may_scan(WCS_ROLE_PARTNER));
    assert_true(wcs_role_may_track(WCS_ROLE_MONITOR) && !wcs_role_may_track(WCS_ROLE_SCANNER));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tokens_file, teardown),
        cmocka_unit_test_teardown(test_tokens_file_problems, teardown),
        cmocka_unit_test_teardown(test_open_to_others_refused, teardown),
        cmocka_unit_test(test_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

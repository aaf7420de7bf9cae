/* test-common.c - the error struct, diagnostics list, log level parsing and
 * the bearer token helpers (a client's token file, the comparison). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cpu.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/log.h"
#include "common/token.h"
#include "tests/common/testutil.h"

static void test_err_set_returns_code(void **state)
{
    struct err e;
    (void)state;
    assert_int_equal(err_set(&e, ERR_PARSE, "a.csv:%d: %s", 3, "bad"), ERR_PARSE);
    assert_string_equal(e.msg, "a.csv:3: bad");
    assert_int_equal(e.code, ERR_PARSE);
    assert_int_equal(err_set(NULL, ERR_DB, "ignored"), ERR_DB);
    assert_int_equal(err_wrap(&e, ERR_PARSE, "import"), ERR_PARSE);
    assert_string_equal(e.msg, "import: a.csv:3: bad");
    /* Without a struct the caller's code still comes back. */
    assert_int_equal(err_wrap(NULL, -ENOENT, "open"), -ENOENT);
    assert_int_equal(err_wrap(&e, ERR_DB, "store"), ERR_DB);
    assert_int_equal(e.code, ERR_DB);
}

static void test_err_names(void **state)
{
    (void)state;
    assert_string_equal(err_name(ERR_CONFIG), "ERR_CONFIG");
    assert_string_equal(err_name(-ENOENT), "ENOENT");
    assert_string_equal(err_text(ERR_NOTFOUND), "not found");
    assert_string_equal(err_name(12345), "ERR_UNKNOWN");
    /* Every domain code has its own name and text (the one list). */
    assert_string_equal(err_name(ERR_HTTP), "ERR_HTTP");
    assert_string_equal(err_text(ERR_STATE), "not allowed in the current state");
#define CHECK_ITEM(name, code, text)                                                               \
    assert_int_equal(name, code);                                                                  \
    assert_string_equal(err_name(code), #name);                                                    \
    assert_string_equal(err_text(code), text);
    ERR_MAP(CHECK_ITEM)
#undef CHECK_ITEM
}

static void test_cpu(void **state)
{
    struct err e;
    unsigned long long irqs = 0;
    int cpu = -5;
    (void)state;
    assert_int_equal(cpu_parse("auto", &cpu), 0);
    assert_int_equal(cpu, CPU_AUTO);
    assert_int_equal(cpu_parse("none", &cpu), 0);
    assert_int_equal(cpu, CPU_NONE);
    assert_int_equal(cpu_parse("0", &cpu), 0);
    assert_int_equal(cpu, 0);
    assert_int_equal(cpu_parse("1024", &cpu), ERR_PARSE);
    assert_int_equal(cpu_parse("-1", &cpu), ERR_PARSE);
    assert_int_equal(cpu_parse("2x", &cpu), ERR_PARSE);
    assert_int_equal(cpu_parse("", &cpu), ERR_PARSE);
    /* The quietest CPU is one this thread may use, and pinning there works;
     * a CPU that does not exist is refused with the reason. */
    assert_int_equal(cpu_quietest(&cpu, &irqs, &e), 0);
    assert_true(cpu >= 0 && cpu < CPU_MAX);
    assert_int_equal(cpu_pin_thread(cpu, &e), 0);
    assert_int_equal(sched_getcpu(), cpu);
    assert_int_equal(cpu_avoid(cpu, &e), 0); /* the only CPU left: a no-op */
    assert_int_equal(sched_getcpu(), cpu);
    assert_true(cpu_pin_thread(CPU_MAX - 1, &e) < 0);
}

static void test_diag_bounded(void **state)
{
    struct diag d = DIAG_INIT;
    int i;
    (void)state;
    for (i = 0; i < DIAG_MAX + 5; i++)
        diag_add(&d, "line %d", i);
    assert_int_equal(d.n, DIAG_MAX);
    assert_int_equal(d.dropped, 5);
    assert_int_equal(diag_count(&d), DIAG_MAX + 5);
    assert_string_equal(d.msgs[7], "line 7");
    diag_free(&d);
    assert_int_equal(diag_count(&d), 0);
}

static void test_log_level_parse(void **state)
{
    enum log_level l;
    (void)state;
    assert_int_equal(log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("loud", &l), -1);
}

/* Writes text to a fresh token file; its path in path. */
static void token_file(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/wcs-test-token-%d", (int)getpid());
    tu_write_text(path, text);
}

static void test_token_file(void **state)
{
    static const struct {
        const char *text;
        int rc;
        const char *want; /* the secret, or a piece of the message */
    } cases[] = {
        {"s3cret-Token_01\n", 0, "s3cret-Token_01"},
        {"# for the camera at SCAN01\n\n   s3cret-Token_01  \r\n", 0, "s3cret-Token_01"},
        {"s3cret", 0, "s3cret"}, /* no newline at the end */
        {"", ERR_CONFIG, ": no token in it"},
        {"# only a comment\n", ERR_CONFIG, ": no token in it"},
        {"cam1 scanner s3cret-Token_01\n", ERR_CONFIG, ":1: a token file holds the secret alone"},
        {"\n s3cr\x01t\n", ERR_CONFIG, ":2: a secret is 1 to 128 printable ASCII"},
    };
    char path[64], buf[TOKEN_SECRET_MAX + 1], big[400];
    struct err e;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        token_file(path, sizeof(path), cases[i].text);
        assert_int_equal(token_read_file(path, buf, sizeof(buf), &e), cases[i].rc);
        if (cases[i].rc == 0) {
            assert_string_equal(buf, cases[i].want);
        } else {
            if (strstr(e.msg, cases[i].want) == NULL)
                fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, cases[i].want);
            assert_string_equal(buf, ""); /* wiped */
            assert_null(strstr(e.msg, "s3cr"));
        }
    }
    /* A line longer than any secret. */
    memset(big, 'a', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    token_file(path, sizeof(path), big);
    assert_int_equal(token_read_file(path, buf, sizeof(buf), &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, ":1: line longer than 128 characters"));
    /* Its group may read it (a service's group); others may not. */
    token_file(path, sizeof(path), "s3cret-Token_01\n");
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(token_read_file(path, buf, sizeof(buf), &e), 0);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(token_read_file(path, buf, sizeof(buf), &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "is open to other users (mode 0604)"));
    assert_string_equal(buf, "");
    unlink(path);
    assert_true(token_read_file(path, buf, sizeof(buf), &e) < 0);
    assert_non_null(strstr(e.msg, "No such file"));
}

static void test_token_compare_and_header(void **state)
{
    struct token_secret a, b;
    char hdr[64];
    (void)state;
    token_secret_set(&a, "abcdefghijklmnop", 16);
    token_secret_set(&b, "abcdefghijklmnop", 16);
    assert_true(token_secret_equal(&a, &b));
    token_secret_set(&b, "abcdefghijklmnoq", 16); /* the last character differs */
    assert_false(token_secret_equal(&a, &b));
    token_secret_set(&b, "abcdefghijklmno", 15); /* a prefix is not the secret */
    assert_false(token_secret_equal(&a, &b));
    token_secret_set(&b, "abcdefghijklmnopq", 17);
    assert_false(token_secret_equal(&a, &b));
    token_secret_wipe(&a);
    assert_int_equal(a.len, 0);
    assert_true(token_secret_valid("x!~", 3));
    assert_false(token_secret_valid("a b", 3));
    assert_false(token_secret_valid("", 0));
    assert_false(token_secret_valid("\xc3\xa9", 2)); /* not ASCII */
    assert_int_equal(token_auth_header("s3cret", hdr, sizeof(hdr)), 0);
    assert_string_equal(hdr, "Authorization: Bearer s3cret");
    assert_int_equal(token_auth_header("s3cret", hdr, 10), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_returns_code),
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_diag_bounded),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_token_compare_and_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-common.c - the error struct, diagnostics list and log level parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <sched.h>
#include <string.h>

#include <cmocka.h>

#include "common/cpu.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/log.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_returns_code),
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_diag_bounded),
        cmocka_unit_test(test_log_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

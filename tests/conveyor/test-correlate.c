/* test-correlate.c - pairing requests with WCS scans inside the read window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conveyor/correlate.h"

static void scan(struct conv_correlator *c, const char *loc, const char *code, int64_t at_ms)
{
    struct conv_scan s;

    memset(&s, 0, sizeof(s));
    snprintf(s.location, sizeof(s.location), "%s", loc);
    snprintf(s.code, sizeof(s.code), "%s", code);
    s.at_us = at_ms * 1000;
    assert_int_equal(conv_corr_add(c, &s), 0);
}

static void test_window_and_distinct(void **state)
{
    struct conv_correlator *c = conv_corr_new(16);
    const char *codes[4];
    (void)state;
    scan(c, "SCAN01", "RR000000005CN", 1000);  /* too early for t=2000, 400 ms before */
    scan(c, "SCAN01", "RB123456785GB", 1700);
    scan(c, "SCAN01", "RB123456785GB", 1750);  /* same code twice: one */
    scan(c, "SCAN02", "RR473124829GB", 2000);  /* other location */
    assert_int_equal(conv_corr_collect(c, "SCAN01", 2000 * 1000, 400000, 100000, codes, 4), 1);
    assert_string_equal(codes[0], "RB123456785GB");
    /* A scan arriving after the request but inside the after-window counts. */
    scan(c, "SCAN01", "RR473124829GB", 2080);
    assert_int_equal(conv_corr_collect(c, "SCAN01", 2000 * 1000, 400000, 100000, codes, 4), 2);
    assert_string_equal(codes[1], "RR473124829GB");
    /* ...but not past it. */
    scan(c, "SCAN01", "EB000717618HK", 2101);
    assert_int_equal(conv_corr_collect(c, "SCAN01", 2000 * 1000, 400000, 100000, codes, 4), 2);
    /* Edges are inclusive. */
    assert_int_equal(conv_corr_collect(c, "SCAN01", 1400 * 1000, 400000, 0, codes, 4), 1);
    assert_int_equal(conv_corr_collect(c, "NOSUCH", 2000 * 1000, 400000, 100000, codes, 4), 0);
    conv_corr_free(c);
}

static void test_take_consumes(void **state)
{
    struct conv_correlator *c = conv_corr_new(16);
    const char *codes[4];
    (void)state;
    /* Two parcels 100 ms apart with overlapping windows: each request takes
     * its own read, the second never sees the first's. */
    scan(c, "SCAN01", "RB123456785GB", 1000);
    assert_int_equal(conv_corr_take(c, "SCAN01", 1010 * 1000, 400000, 100000, codes, 4), 1);
    assert_string_equal(codes[0], "RB123456785GB");
    scan(c, "SCAN01", "RR473124829GB", 1100);
    assert_int_equal(conv_corr_take(c, "SCAN01", 1110 * 1000, 400000, 100000, codes, 4), 1);
    assert_string_equal(codes[0], "RR473124829GB");
    assert_int_equal(conv_corr_collect(c, "SCAN01", 1110 * 1000, 400000, 100000, codes, 4), 0);
    conv_corr_free(c);
}

static void test_ring_is_bounded(void **state)
{
    struct conv_correlator *c = conv_corr_new(4);
    const char *codes[8];
    char code[16];
    int i;
    (void)state;
    for (i = 0; i < 10; i++) {
        snprintf(code, sizeof(code), "C%d", i);
        scan(c, "SCAN01", code, 1000 + i);
    }
    assert_int_equal(conv_corr_count(c, "SCAN01"), 4);
    assert_int_equal(conv_corr_collect(c, "SCAN01", 1005 * 1000, 10000000, 10000000, codes, 8), 4);
    assert_string_equal(codes[0], "C6"); /* oldest kept first */
    assert_string_equal(codes[3], "C9");
    /* More distinct codes than asked for: the count says so, max are written. */
    assert_true(conv_corr_collect(c, "SCAN01", 1005 * 1000, 10000000, 10000000, codes, 2) > 2);
    conv_corr_free(c);
}

static void test_bad_input_and_location_limit(void **state)
{
    struct conv_correlator *c = conv_corr_new(2);
    struct conv_scan s;
    int i;
    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(conv_corr_add(c, &s), ERR_INVALID);
    strcpy(s.code, "X");
    for (i = 0; i < CONV_CORR_LOCATIONS_MAX; i++) {
        snprintf(s.location, sizeof(s.location), "L%d", i);
        assert_int_equal(conv_corr_add(c, &s), 0);
    }
    strcpy(s.location, "ONE-TOO-MANY");
    assert_int_equal(conv_corr_add(c, &s), ERR_FULL);
    conv_corr_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_and_distinct),
        cmocka_unit_test(test_take_consumes),
        cmocka_unit_test(test_ring_is_bounded),
        cmocka_unit_test(test_bad_input_and_location_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

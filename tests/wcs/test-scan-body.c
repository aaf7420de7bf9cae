/*
 * test-scan-body.c - the body of POST /v1/scans without a server
 * (wcs/daemon/scan_body.h): good bodies read field by field, and each bad
 * one refused with the scan, the field and the reason (table-driven),
 * within the body and scan count bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wcs/daemon/scan_body.h"

static void test_good_bodies(void **state)
{
    static const char one[] = "{\"location\": \"SCAN01\", \"code\": \"RR473124829CN\", "
                              "\"source\": \"cam 1\", \"symbology\": \"]C0\", \"extra\": 1}";
    static const char two[] = "[{\"location\": \"SCAN01\", \"code\": \"A1\"},"
                              " {\"location\": \"SCAN02\", \"code\": \"B2\"}]";
    struct conv_scan s[WCS_SCANS_PER_REQUEST];
    struct err e = {0};
    size_t n = 99;

    (void)state;
    assert_int_equal(wcs_scan_body_parse(one, strlen(one), s, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].location, "SCAN01");
    assert_string_equal(s[0].code, "RR473124829CN");
    assert_string_equal(s[0].source, "cam 1");
    assert_string_equal(s[0].symbology, "]C0");
    assert_int_equal(s[0].at_us, 0);
    /* Not NUL-terminated: the array's end is not part of the body. */
    assert_int_equal(wcs_scan_body_parse(two, strlen(two) - 1, s, &n, &e), ERR_PARSE);
    assert_int_equal(wcs_scan_body_parse(two, strlen(two), s, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(s[1].code, "B2");
    assert_string_equal(s[1].source, "");
    assert_int_equal(wcs_scan_body_parse("[]", 2, s, &n, &e), 0);
    assert_int_equal(n, 0);
}

/* age_ms: how long ago the scanner read the code; at_us is minus that, for
 * the daemon to add the time it received the body. */
static void test_scan_age(void **state)
{
    static const char *aged = "[{\"location\": \"SCAN01\", \"code\": \"A1\", \"age_ms\": 1500},"
                              "{\"location\": \"SCAN01\", \"code\": \"A2\", \"age_ms\": 0},"
                              "{\"location\": \"SCAN01\", \"code\": \"A3\", \"age_ms\": 60000}]";
    struct conv_scan s[WCS_SCANS_PER_REQUEST];
    struct err e = {0};
    size_t n = 0;

    (void)state;
    assert_int_equal(wcs_scan_body_parse(aged, strlen(aged), s, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_true(s[0].at_us == -1500000);
    assert_true(s[1].at_us == 0);
    assert_true(s[2].at_us == -60000000);
}

static void test_bad_bodies(void **state)
{
    static const struct {
        const char *body;
        const char *why;
    } bad[] = {
        {"", "body is not JSON: line 1: "},
        {"{\"location\": \"SCAN01\\u0000X\", \"code\": \"RR1\"}",
         "body is not JSON: line 1: \\u0000 is not allowed"},
        /* jansson quotes the text near the fault: a raw ESC there is escaped. */
        {"{\"location\": \033[2J}", "body is not JSON: line 1: invalid token near '\\x1b'"},
        {"[7]", "scan 0: not an object"},
        {"7", "body is not JSON: line 1: '[' or '{' expected near '7'"},
        {"[{\"location\": \"SCAN01\", \"code\": \"A1\"}, 7]", "scan 1: not an object"},
        {"{\"code\": \"RR1\"}", "scan 0: location: a string of 1 to 20 characters is required"},
        {"{\"location\": \"SCAN01\", \"code\": \"\"}",
         "scan 0: code: a string of 1 to 32 characters is required"},
        {"{\"location\": \"SCAN01\", \"code\": \"123456789012345678901234567890123\"}",
         "scan 0: code: a string of 1 to 32 characters is required"},
        {"{\"location\": \"SCAN01\", \"code\": 5}",
         "scan 0: code: a string of 1 to 32 characters is required"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1 X\"}",
         "scan 0: code: printable ASCII characters only, without blanks"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\", \"source\": \"cam\\u00e9\"}",
         "scan 0: source: printable ASCII characters only"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\", \"symbology\": \"]C01\"}",
         "scan 0: symbology: a string of 1 to 3 characters is required"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\", \"source\": null}",
         "scan 0: source: a string of 1 to 20 characters is required"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\", \"age_ms\": -1}",
         "scan 0: age_ms: an integer of 0 to 60000 is required"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\", \"age_ms\": 60001}",
         "scan 0: age_ms: an integer of 0 to 60000 is required"},
        {"{\"location\": \"SCAN01\", \"code\": \"RR1\", \"age_ms\": 1.5}",
         "scan 0: age_ms: an integer of 0 to 60000 is required"},
    };
    struct conv_scan s[WCS_SCANS_PER_REQUEST];
    struct err e;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        n = 99;
        if (wcs_scan_body_parse(bad[i].body, strlen(bad[i].body), s, &n, &e) != ERR_PARSE ||
            strncmp(e.msg, bad[i].why, strlen(bad[i].why)) != 0 || n != 0)
            fail_msg("case %zu: \"%s\", not \"%s\"", i, e.msg, bad[i].why);
    }
}

/* 64 scans and 64 KiB at most; a longer body is refused unread. */
static void test_bounds(void **state)
{
    static const char scan[] = "{\"location\": \"SCAN01\", \"code\": \"RR1\"}";
    char *body = malloc(WCS_SCAN_BODY_MAX + 1);
    struct conv_scan s[WCS_SCANS_PER_REQUEST];
    struct err e = {0};
    size_t i, off, n;

    (void)state;
    assert_non_null(body);
    off = (size_t)sprintf(body, "[");
    for (i = 0; i < WCS_SCANS_PER_REQUEST; i++)
        off += (size_t)sprintf(body + off, "%s%s", i > 0 ? "," : "", scan);
    body[off] = ']';
    assert_int_equal(wcs_scan_body_parse(body, off + 1, s, &n, &e), 0);
    assert_int_equal(n, WCS_SCANS_PER_REQUEST);
    off += (size_t)sprintf(body + off, ",%s]", scan);
    assert_int_equal(wcs_scan_body_parse(body, off, s, &n, &e), ERR_FULL);
    assert_string_equal(e.msg, "65 scans in one request, at most 64");
    assert_int_equal(n, 0);
    /* Blanks after the JSON: 64 KiB is read, a byte more is not. */
    memset(body, ' ', WCS_SCAN_BODY_MAX + 1);
    memcpy(body, scan, strlen(scan));
    assert_int_equal(wcs_scan_body_parse(body, WCS_SCAN_BODY_MAX, s, &n, &e), 0);
    assert_int_equal(wcs_scan_body_parse(body, WCS_SCAN_BODY_MAX + 1, s, &n, &e), ERR_FULL);
    assert_string_equal(e.msg, "body of 65537 bytes, at most 65536");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_bodies),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_scan_age),
        cmocka_unit_test(test_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-code.c - parcel-code recognition and validation (scanners/code.c).
 *
 * Cases are data (curl style): a code in, the kind, validity and a fragment of
 * the reason out. Published S10 examples come from the UPU S10 literature and
 * the reference facts; the other codes are built by hand to hit one rule each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scanners/scanners.h"

struct code_case {
    const char *code;
    enum scan_code_kind kind;
    bool valid;
    const char *reason; /* substring of out.reason when invalid, NULL when valid */
};

static const struct code_case s10_cases[] = {
    /* Published valid examples. */
    {"RR473124829GB", SCAN_CODE_S10, true, NULL},
    {"RB123456785GB", SCAN_CODE_S10, true, NULL},
    {"RR287043775IN", SCAN_CODE_S10, true, NULL},
    {"EB000717618HK", SCAN_CODE_S10, true, NULL},
    /* Check digit 10 -> 0 and 11 -> 5 inside whole codes. */
    {"CP000600000CN", SCAN_CODE_S10, true, NULL},
    {"RR000000005CN", SCAN_CODE_S10, true, NULL},
    /* Published invalid examples. */
    {"RB123456786US", SCAN_CODE_S10, false, "check digit 6, expected 5"},
    {"RB123456785XX", SCAN_CODE_S10, false, "country XX not ISO 3166"},
    /* Not ISO 3166-1 assigned: withdrawn, reserved, user-assigned. */
    {"RB123456785SU", SCAN_CODE_S10, false, "country SU not ISO 3166"},
    {"RB123456785EU", SCAN_CODE_S10, false, "country EU not ISO 3166"},
    {"RB123456785UK", SCAN_CODE_S10, false, "country UK not ISO 3166"},
    {"RB123456785ZZ", SCAN_CODE_S10, false, "country ZZ not ISO 3166"},
    /* Reserved service indicators J, K, S, T, W. */
    {"JA123456785GB", SCAN_CODE_S10, false, "service indicator J reserved"},
    {"KA123456785GB", SCAN_CODE_S10, false, "service indicator K reserved"},
    {"SA123456785GB", SCAN_CODE_S10, false, "service indicator S reserved"},
    {"TA123456785GB", SCAN_CODE_S10, false, "service indicator T reserved"},
    {"WA123456785GB", SCAN_CODE_S10, false, "service indicator W reserved"},
    /* Lower case anywhere is refused, but the shape is still S10. */
    {"rr473124829GB", SCAN_CODE_S10, false, "lowercase letter 'r' at position 1"},
    {"RR473124829gb", SCAN_CODE_S10, false, "lowercase letter 'g' at position 12"},
    {"Rr473124829GB", SCAN_CODE_S10, false, "lowercase"},
    /* Wrong lengths: still recognisably S10. */
    {"RR47312482GB", SCAN_CODE_S10, false, "length 12, expected 13"},
    {"RR4731248290GB", SCAN_CODE_S10, false, "length 14, expected 13"},
    /* Wrong character classes: no format. */
    {"RR47312482XGB", SCAN_CODE_UNKNOWN, false, "no known format"},
    {"1R473124829GB", SCAN_CODE_UNKNOWN, false, "no known format"},
    {"RR473124829G1", SCAN_CODE_UNKNOWN, false, "no known format"},
    {"RR 473124829GB", SCAN_CODE_UNKNOWN, false, "no known format"},
};

static const struct code_case cainiao_cases[] = {
    {"LP00123456789012", SCAN_CODE_CAINIAO, true, NULL},
    {"AP00987654321098", SCAN_CODE_CAINIAO, true, NULL},
    {"lp00123456789012", SCAN_CODE_CAINIAO, false, "lowercase prefix lp"},
    {"Ap00123456789012", SCAN_CODE_CAINIAO, false, "lowercase prefix Ap"},
    {"LP0012345678901", SCAN_CODE_CAINIAO, false, "length 15, expected 16"},
    {"LP001234567890123", SCAN_CODE_CAINIAO, false, "length 17, expected 16"},
    {"LP0012345678901X", SCAN_CODE_UNKNOWN, false, "no known format"},
    {"XP00123456789012", SCAN_CODE_UNKNOWN, false, "no known format"},
    {"LX00123456789012", SCAN_CODE_UNKNOWN, false, "no known format"},
};

static const struct code_case rupost_cases[] = {
    /* Check digits computed by the documented weights 3,1 mod 10 rule. */
    {"63009901123459", SCAN_CODE_RUPOST, true, NULL},
    {"10100001000010", SCAN_CODE_RUPOST, true, NULL},
    {"67500007000423", SCAN_CODE_RUPOST, true, NULL},
    {"63009901123458", SCAN_CODE_RUPOST, false, "check digit 8, expected 9"},
    {"36009901123459", SCAN_CODE_RUPOST, false, "check digit 9, expected"},
    {"6300990112345", SCAN_CODE_UNKNOWN, false, "no known format (length 13)"},
    {"630099011234590", SCAN_CODE_UNKNOWN, false, "no known format (length 15)"},
    {"6300990112345X", SCAN_CODE_UNKNOWN, false, "no known format"},
};

static const struct code_case receptacle_cases[] = {
    /* CNHRBA -> RUMOWA, cat A, subclass UN, year 5, dispatch 0001, bag 001,
     * last bag 1, registered 0, 12.5 kg. */
    {"CNHRBARUMOWAAUN50001001100125", SCAN_CODE_RECEPTACLE, true, NULL},
    {"CNHEKARUOVBAACN51234999019999", SCAN_CODE_RECEPTACLE, true, NULL},
    {"CNSFEARUVVOADEM60042017000031", SCAN_CODE_RECEPTACLE, true, NULL},
    {"XXHRBARUMOWAAUN50001001100125", SCAN_CODE_RECEPTACLE, false,
     "origin office XXHRBA: country XX not ISO 3166"},
    {"CNHRBAQZMOWAAUN50001001100125", SCAN_CODE_RECEPTACLE, false,
     "destination office QZMOWA: country QZ not ISO 3166"},
    {"CNHRBARUMOWAEUN50001001100125", SCAN_CODE_RECEPTACLE, false, "mail category E"},
    {"CNHRBARUMOWAA1N50001001100125", SCAN_CODE_RECEPTACLE, false, "mail subclass 1N"},
    {"CNHRBARUMOWAAUN5000A001100125", SCAN_CODE_RECEPTACLE, false,
     "position 20 'A', expected a digit"},
    {"CNHRBARUMOWAAUN50000001100125", SCAN_CODE_RECEPTACLE, false, "dispatch number 0000"},
    {"CNHRBARUMOWAAUN50001000100125", SCAN_CODE_RECEPTACLE, false, "receptacle serial 000"},
    {"cnhrbarumowaaun50001001100125", SCAN_CODE_RECEPTACLE, false, "lowercase"},
    {"CNHRBARUMOWAAUN5000100110012", SCAN_CODE_UNKNOWN, false, "no known format (length 28)"},
    {"CNHRBARUMOWAAUN500010011001250", SCAN_CODE_UNKNOWN, false, "no known format"},
    {"CNHRBA-UMOWAAUN50001001100125", SCAN_CODE_UNKNOWN, false, "no known format"},
};

static void run_cases(const struct code_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct code_case *c = &cases[i];
        struct scan_code_info info;
        int rc;

        memset(&info, 0x5a, sizeof(info));
        rc = scan_code_check(c->code, strlen(c->code), &info);
        print_message("%-32s -> %s %s %s\n", c->code, scan_code_kind_name(info.kind),
                      info.valid ? "valid" : "invalid", info.reason);
        assert_int_equal(info.kind, c->kind);
        assert_int_equal(info.valid, c->valid);
        assert_int_equal(rc, c->valid ? 0 : ERR_INVALID);
        if (c->valid)
            assert_string_equal(info.reason, "");
        else
            assert_non_null(strstr(info.reason, c->reason));
    }
}

static void test_s10(void **state)
{
    (void)state;
    run_cases(s10_cases, sizeof(s10_cases) / sizeof(s10_cases[0]));
}

static void test_cainiao(void **state)
{
    (void)state;
    run_cases(cainiao_cases, sizeof(cainiao_cases) / sizeof(cainiao_cases[0]));
}

static void test_rupost(void **state)
{
    (void)state;
    run_cases(rupost_cases, sizeof(rupost_cases) / sizeof(rupost_cases[0]));
}

static void test_receptacle(void **state)
{
    (void)state;
    run_cases(receptacle_cases, sizeof(receptacle_cases) / sizeof(receptacle_cases[0]));
}

static void test_empty(void **state)
{
    struct scan_code_info info;

    (void)state;
    assert_int_equal(scan_code_check("", 0, &info), ERR_INVALID);
    assert_int_equal(info.kind, SCAN_CODE_UNKNOWN);
    assert_false(info.valid);
    assert_string_equal(info.reason, "empty code");
    assert_int_equal(scan_code_check(NULL, 0, &info), ERR_INVALID);
    assert_int_equal(info.kind, SCAN_CODE_UNKNOWN);
}

/* The length argument rules, not a NUL: a valid code followed by junk. */
static void test_length_bounds(void **state)
{
    struct scan_code_info info;
    const char *buf = "RR473124829GBXYZ";

    (void)state;
    assert_int_equal(scan_code_check(buf, 13, &info), 0);
    assert_int_equal(info.kind, SCAN_CODE_S10);
    assert_int_equal(scan_code_check(buf, 12, &info), ERR_INVALID);
    /* Embedded NUL is a character like any other: no format. */
    assert_int_equal(scan_code_check("RR4731\0"
                                     "4829GB",
                                     13, &info),
                     ERR_INVALID);
    assert_int_equal(info.kind, SCAN_CODE_UNKNOWN);
}

/* Every single-digit change of the serial (and of the check digit itself) of
 * RR473124829GB must be detected. */
static void test_s10_single_digit_changes(void **state)
{
    const char *good = "RR473124829GB";
    int tried = 0;

    (void)state;
    for (int pos = 2; pos <= 10; pos++) {
        for (char d = '0'; d <= '9'; d++) {
            char code[14];
            struct scan_code_info info;

            if (good[pos] == d)
                continue;
            memcpy(code, good, sizeof(code));
            code[pos] = d;
            assert_int_equal(scan_code_check(code, 13, &info), ERR_INVALID);
            assert_int_equal(info.kind, SCAN_CODE_S10);
            assert_non_null(strstr(info.reason, "check digit"));
            tried++;
        }
    }
    assert_int_equal(tried, 9 * 9);
}

struct digit_case {
    const char *digits;
    int check;
};

static void test_s10_check_digit(void **state)
{
    static const struct digit_case cases[] = {
        {"47312482", 9},  {"12345678", 5},
        {"00071761", 8},  {"00060000", 0}, /* sum 12, 11 - 12 mod 11 = 10 -> 0 */
        {"96633102", 0},                   /* sum mod 11 = 1 -> 10 -> 0 */
        {"00000000", 5},                   /* sum 0, 11 - 0 = 11 -> 5 */
        {"28704377", 5},                   /* sum mod 11 = 0 -> 11 -> 5 */
        {"0000000A", -1}, {"1234 678", -1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(scan_s10_check_digit(cases[i].digits), cases[i].check);
}

static void test_rupost_check_digit(void **state)
{
    static const struct digit_case cases[] = {
        {"6300990112345", 9},  {"1010000100001", 0}, {"6750000700042", 3},
        {"0000000000000", 0},  {"1000000000000", 7}, /* 1 x 3 = 3 -> 7 */
        {"0100000000000", 9},                        /* 1 x 1 = 1 -> 9 */
        {"630099011234X", -1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(scan_rupost_check_digit(cases[i].digits), cases[i].check);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(scan_code_kind_name(SCAN_CODE_S10), "s10");
    assert_string_equal(scan_code_kind_name(SCAN_CODE_CAINIAO), "cainiao");
    assert_string_equal(scan_code_kind_name(SCAN_CODE_RUPOST), "rupost");
    assert_string_equal(scan_code_kind_name(SCAN_CODE_RECEPTACLE), "receptacle");
    assert_string_equal(scan_code_kind_name(SCAN_CODE_UNKNOWN), "unknown");
    assert_string_equal(scan_code_kind_name((enum scan_code_kind)99), "unknown");
    assert_true(scan_code_is_parcel(SCAN_CODE_S10));
    assert_true(scan_code_is_parcel(SCAN_CODE_CAINIAO));
    assert_true(scan_code_is_parcel(SCAN_CODE_RUPOST));
    assert_false(scan_code_is_parcel(SCAN_CODE_RECEPTACLE));
    assert_false(scan_code_is_parcel(SCAN_CODE_UNKNOWN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s10),
        cmocka_unit_test(test_cainiao),
        cmocka_unit_test(test_rupost),
        cmocka_unit_test(test_receptacle),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_length_bounds),
        cmocka_unit_test(test_s10_single_digit_changes),
        cmocka_unit_test(test_s10_check_digit),
        cmocka_unit_test(test_rupost_check_digit),
        cmocka_unit_test(test_kind_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

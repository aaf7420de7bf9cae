/*
 * test-duty.c - the duty estimate on the shipped rules (data/duty-rules.csv,
 * data/exchange-rates.csv) with the reference's examples, the periods'
 * edges, a rule changed by data only, and CSV errors as "FILE:LINE: field:
 * reason" (table-driven).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/common/testutil.h"
#include "customs/duty.h"

static char rules_path[512], rates_path[512];
static char tmpdir[] = "/tmp/test-duty-XXXXXX";

static int setup(void **state)
{
    const char *src = getenv("WCS_SOURCE_DIR");

    (void)state;
    if (src == NULL)
        src = ".";
    snprintf(rules_path, sizeof(rules_path), "%s/data/duty-rules.csv", src);
    snprintf(rates_path, sizeof(rates_path), "%s/data/exchange-rates.csv", src);
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void make_decl(struct cust_decl *d, int64_t value, const char *cur, int64_t grams)
{
    /* The declaration points at this buffer; the test never calls
     * cust_decl_free() on it. */
    static char cur_buf[8];

    snprintf(cur_buf, sizeof(cur_buf), "%s", cur);
    cust_decl_init(d);
    d->total_value = value;
    d->currency = cur_buf;
    d->gross_weight_g = grams;
}

static const struct {
    const char *date;
    int64_t value; /* minor units */
    const char *cur;
    int64_t grams;
    int over;
    int64_t duty_cents;
    int rule_from; /* YYYYMMDD of the rule applied */
} cases[] = {
    /* The reference's examples, under the 200 EUR rule. */
    {"2025-06-01", 30000, "EUR", 10000, 1, 1500, 20240401},
    {"2025-06-01", 15000, "EUR", 35000, 1, 800, 20240401},
    {"2025-06-01", 20000, "EUR", 31000, 0, 0, 20240401},   /* exactly at both limits */
    {"2025-06-01", 20001, "EUR", 31000, 1, 0, 20240401},   /* 1 cent over: 0.15 cent rounds to 0 */
    {"2025-06-01", 20100, "EUR", 31001, 1, 15, 20240401},  /* 15 cents beats 0.2 cents */
    {"2025-06-01", 100000, "EUR", 40000, 1, 12000, 20240401}, /* 120 EUR > 18 EUR */
    {"2020-01-01", 30000, "EUR", 10000, 1, 1500, 20200101},
    {"2022-03-31", 30000, "EUR", 10000, 1, 1500, 20200101},
    /* The temporary 1000 EUR limit, and its edges. */
    {"2022-04-01", 30000, "EUR", 10000, 0, 0, 20220401},
    {"2024-03-31", 110000, "EUR", 10000, 1, 1500, 20220401},
    {"2024-04-01", 30000, "EUR", 10000, 1, 1500, 20240401},
    {"2023-01-01", 15000, "EUR", 35000, 1, 800, 20220401},
    /* From 2026-07-01: 5% of the whole value, at least 1 EUR per kg. */
    {"2026-06-30", 30000, "EUR", 10000, 1, 1500, 20240401},
    {"2026-07-01", 30000, "EUR", 10000, 1, 1500, 20260701},
    {"2026-07-01", 30000, "EUR", 31000, 1, 3100, 20260701},
    {"2026-07-01", 19900, "EUR", 5000, 0, 0, 20260701},
    /* Other currencies through the latest rate on or before the day: on
     * 2026-05-01 that is 2024-01-02's 12.78 EUR / 100 CNY: 2500 CNY = 319.50
     * EUR -> 15% of 119.50 = 17.925 -> 17.93 EUR (half up). */
    {"2026-05-01", 250000, "CNY", 2000, 1, 1793, 20240401},
    /* 2026-11-02's 12.05: 301.25 EUR -> 5% of all of it = 15.0625 -> 15.06. */
    {"2026-11-20", 250000, "CNY", 2000, 1, 1506, 20260701},
    /* The 2024-01-02 rate: 2500 CNY at 12.78 = 319.50 EUR, 1000 EUR limit. */
    {"2024-03-01", 250000, "CNY", 2000, 0, 0, 20220401},
    /* JPY has no minor unit: 60000 JPY at 0.57 / 100 = 342 EUR. */
    {"2026-11-20", 60000, "JPY", 1000, 1, 1710, 20260701},
};

static void estimates(void **state)
{
    struct cust_duty_rules rules;
    struct cust_rates rates;
    struct err e = {0};
    struct diag dg = DIAG_INIT;

    (void)state;
    if (cust_duty_rules_load(rules_path, &rules, &dg, &e) != 0)
        fail_msg("%s", e.msg);
    if (cust_rates_load(rates_path, &rates, &dg, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(rules.n, 4);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cust_duty_result r;
        struct cust_decl d;
        int rc;

        make_decl(&d, cases[i].value, cases[i].cur, cases[i].grams);
        rc = cust_duty_estimate(&rules, &rates, &d, cases[i].date, &r, &e);
        if (rc != 0 || r.over_limit != cases[i].over || r.duty_cents != cases[i].duty_cents ||
            r.rule == NULL || r.rule->from != cases[i].rule_from)
            fail_msg("case %zu (%s %lld %s %lld g): rc %d over %d duty %lld rule %d (%s)", i,
                     cases[i].date, (long long)cases[i].value, cases[i].cur,
                     (long long)cases[i].grams, rc, r.over_limit, (long long)r.duty_cents,
                     r.rule ? r.rule->from : 0, rc ? e.msg : r.reason);
        assert_true(r.reason[0] != '\0');
    }
    cust_rates_free(&rates);
    cust_duty_rules_free(&rules);
    diag_free(&dg);
}

static void estimate_errors(void **state)
{
    struct cust_duty_rules rules;
    struct cust_rates rates;
    struct cust_duty_result r;
    struct cust_decl d;
    struct err e = {0};

    (void)state;
    assert_int_equal(cust_duty_rules_load(rules_path, &rules, NULL, &e), 0);
    assert_int_equal(cust_rates_load(rates_path, &rates, NULL, &e), 0);
    make_decl(&d, 30000, "EUR", 1000);
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2019-12-31", &r, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "no duty rule"));
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2025-13-01", &r, &e), ERR_INVALID);
    make_decl(&d, 30000, "CNY", 1000);
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2023-12-31", &r, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "CNY"));
    make_decl(&d, 30000, "KZT", 1000);
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2025-01-01", &r, &e), ERR_NOTFOUND);
    make_decl(&d, 30000, "XYZ", 1000);
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2025-01-01", &r, &e), ERR_INVALID);
    make_decl(&d, CUST_ABSENT, "EUR", 1000);
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2025-01-01", &r, &e), ERR_INVALID);
    cust_rates_free(&rates);
    cust_duty_rules_free(&rules);
}

/* A rule change is a data change: the same parcel, another CSV, another duty. */
static void rule_change_is_data(void **state)
{
    static const char *const csv =
        "from,to,threshold_value,threshold_currency,threshold_weight_g,rate_percent,rate_base,"
        "min_per_kg,min_base,note\n"
        "2020-01-01,,500,EUR,25000,20,excess,3.50,excess,made-up rule for the test\n";
    struct cust_duty_rules rules;
    struct cust_rates rates;
    struct cust_duty_result r;
    struct cust_decl d;
    struct err e = {0};
    char path[600];

    (void)state;
    snprintf(path, sizeof(path), "%s/rules.csv", tmpdir);
    tu_write_text(path, csv);
    if (cust_duty_rules_load(path, &rules, NULL, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(cust_rates_load(rates_path, &rates, NULL, &e), 0);
    make_decl(&d, 30000, "EUR", 10000); /* 15 EUR under the shipped rules */
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2025-06-01", &r, &e), 0);
    assert_int_equal(r.over_limit, 0);
    assert_int_equal(r.duty_cents, 0);
    make_decl(&d, 60000, "EUR", 27000); /* max(20% of 100, 3.50 x 2) = 20 EUR */
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2025-06-01", &r, &e), 0);
    assert_int_equal(r.duty_cents, 2000);
    assert_non_null(strstr(r.reason, "made-up rule"));
    make_decl(&d, 10000, "EUR", 35000); /* 3.50 x 10 kg = 35 EUR */
    assert_int_equal(cust_duty_estimate(&rules, &rates, &d, "2025-06-01", &r, &e), 0);
    assert_int_equal(r.over_weight, 1);
    assert_int_equal(r.duty_cents, 3500);
    cust_rates_free(&rates);
    cust_duty_rules_free(&rules);
}

static const char *const rule_header =
    "from,to,threshold_value,threshold_currency,threshold_weight_g,rate_percent,rate_base,"
    "min_per_kg,min_base,note\n";

static const struct {
    int rates;        /* 1: exchange-rate file, 0: rule file */
    const char *body; /* after the header (rules) or whole file (rates) */
    const char *diag; /* expected first diagnostic, after "FILE:" */
    size_t count;     /* diagnostics expected */
} bad[] = {
    {0, "2020-01-01,2020-13-01,200,EUR,31000,15,excess,2,excess,x\n",
     "2: to: \"2020-13-01\" is not a date", 1},
    {0, "# comment\n\n2020-01-01,,200,USD,31000,15,excess,2,excess,x\n",
     "4: threshold_currency: \"USD\"", 1},
    {0, "2020-01-01,,200,EUR,31000,15%,excess,2,excess,x\n", "2: rate_percent: \"15%\"", 1},
    {0, "2020-01-01,,200,EUR,31000,101,excess,2,excess,x\n", "2: rate_percent", 1},
    {0, "2020-01-01,,200,EUR,31 kg,15,over,2.001,excess,x\n", "2: threshold_weight_g", 3},
    {0, "2020-01-01,2019-01-01,-200,EUR,31000,15,excess,2,whole,x\n", "2: to: 2019-01-01 is before from", 2},
    {0, "2020-01-01,2022-12-31,200,EUR,31000,15,excess,2,excess,a\n"
        "2022-06-01,,1000,EUR,31000,15,excess,2,excess,b\n",
     "3: from: period overlaps the rule on line 2", 1},
    {0, "2020-01-01,,200,EUR,31000,15,excess,2,excess,a\n"
        "2022-06-01,,1000,EUR,31000,15,excess,2,excess,b\n",
     "3: from: period overlaps", 1},
    {0, "2020-01-01,,200,EUR,31000,15,excess,2,excess,\"unterminated\n", "2: ", 1},
    {1, "date,currency,units,eur\n2026-01-01,CNY,100,12.05\n2026-01-01,CNY,100,12.06\n",
     " date: two rates for CNY", 1},
    {1, "date,currency,units,eur\n2026-01-01,CNH,100,12.05\n", "2: currency: \"CNH\"", 1},
    {1, "date,currency,units,eur\n2026-01-01,CNY,0,12.05\n2026-01-02,CNY,100,0\n",
     "2: units", 2},
    {1, "date,currency,units,eur\n2026-01-01,CNY,100,12.0500001\n", "2: eur", 1},
    {1, "date,currency,eur\n2026-01-01,CNY,12.05\n", "1: header: column units is missing", 1},
    {1, "", "1: header: file is empty", 1},
};

static void bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[600], text[2048], want[700];
        struct diag dg = DIAG_INIT;
        struct err e = {0};
        int rc;

        snprintf(path, sizeof(path), "%s/bad%zu.csv", tmpdir, i);
        snprintf(text, sizeof(text), "%s%s", bad[i].rates ? "" : rule_header, bad[i].body);
        tu_write_text(path, text);
        if (bad[i].rates) {
            struct cust_rates r;

            rc = cust_rates_load(path, &r, &dg, &e);
            assert_int_equal(r.n, 0);
        } else {
            struct cust_duty_rules r;

            rc = cust_duty_rules_load(path, &r, &dg, &e);
            assert_int_equal(r.n, 0);
        }
        snprintf(want, sizeof(want), "%s:%s", path, bad[i].diag);
        if (rc != ERR_PARSE || diag_count(&dg) != bad[i].count ||
            strncmp(dg.msgs[0], want, strlen(want)) != 0 || strcmp(e.msg, dg.msgs[0]) != 0)
            fail_msg("case %zu: rc %d, %zu diags, first \"%s\", e \"%s\"; expected \"%s\" x%zu", i,
                     rc, diag_count(&dg), dg.n ? dg.msgs[0] : "", e.msg, want, bad[i].count);
        diag_free(&dg);
    }
}

static void missing_file(void **state)
{
    struct cust_duty_rules r;
    struct err e = {0};

    (void)state;
    assert_int_equal(cust_duty_rules_load("/nonexistent/rules.csv", &r, NULL, &e), -2);
    assert_non_null(strstr(e.msg, "/nonexistent/rules.csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(estimates),
        cmocka_unit_test(estimate_errors),
        cmocka_unit_test(rule_change_is_data),
        cmocka_unit_test(bad_files),
        cmocka_unit_test(missing_file),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

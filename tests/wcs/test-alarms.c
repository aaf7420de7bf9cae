/*
 * test-alarms.c - the console's pure cores: alarms (raised only after
 * their kind's delay, cleared when the condition goes, acknowledged once,
 * kept after a restart, stored by version, the oldest closed one giving
 * way when the set is full) and the shift's figures (minutes, gaps,
 * latency percentiles, routes per plan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wcs/core/alarms.h"
#include "wcs/core/figures.h"

#define S 1000000LL /* a second in µs */

static void counter_cb(uint8_t out[8], void *arg)
{
    unsigned *n = arg;

    memset(out, 0, 8);
    out[7] = (uint8_t)++*n;
}

static struct wcs_alarms *fresh(void)
{
    unsigned delay[WCS_ALARM_KIND_COUNT] = {0};

    delay[WCS_ALARM_CHUTE_FULL] = 30;
    return wcs_alarms_new(delay);
}

static void test_raised_after_delay_and_cleared(void **state)
{
    struct wcs_alarms *a = fresh();
    const struct wcs_alarm *l;
    unsigned ids = 0;
    size_t n;
    int64_t t = 1000 * S;

    (void)state;
    /* Full for 29 s: nothing; at 30 s: raised. */
    for (int i = 0; i < 30; i++, t += S) {
        wcs_alarms_observe(a, WCS_ALARM_CHUTE_FULL, "CH003", "chute CH003 full");
        assert_int_equal(wcs_alarms_settle(a, t, counter_cb, &ids), 0);
    }
    wcs_alarms_observe(a, WCS_ALARM_CHUTE_FULL, "CH003", "chute CH003 full");
    assert_int_equal(wcs_alarms_settle(a, t, counter_cb, &ids), 1);
    l = wcs_alarms_list(a, &n);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].id, "0000000000000001");
    assert_string_equal(l[0].subject, "CH003");
    assert_int_equal(l[0].severity, WCS_ALARM_WARNING);
    assert_int_equal(l[0].raised_us, t);
    assert_int_equal(wcs_alarms_open(a), 1);
    /* Still full: no change; emptied: cleared. */
    wcs_alarms_observe(a, WCS_ALARM_CHUTE_FULL, "CH003", "chute CH003 full");
    assert_int_equal(wcs_alarms_settle(a, t + S, counter_cb, &ids), 0);
    assert_int_equal(wcs_alarms_settle(a, t + 2 * S, counter_cb, &ids), 1);
    l = wcs_alarms_list(a, &n);
    assert_int_equal(l[0].cleared_us, t + 2 * S);
    assert_int_equal(wcs_alarms_open(a), 0);
    /* A short blip never becomes an alarm; a zero-delay kind is at once. */
    wcs_alarms_observe(a, WCS_ALARM_CHUTE_FULL, "CH004", "x");
    wcs_alarms_settle(a, t + 3 * S, counter_cb, &ids);
    wcs_alarms_settle(a, t + 4 * S, counter_cb, &ids);
    wcs_alarms_observe(a, WCS_ALARM_DATABASE_DOWN, "", "db");
    assert_int_equal(wcs_alarms_settle(a, t + 5 * S, counter_cb, &ids), 1);
    l = wcs_alarms_list(a, &n);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].kind, WCS_ALARM_DATABASE_DOWN); /* open first */
    wcs_alarms_free(a);
}

static void test_ack_store_restore(void **state)
{
    struct wcs_alarms *a = fresh(), *b = fresh();
    const struct wcs_alarm *al = NULL, *l;
    struct wcs_alarm out[4];
    unsigned ids = 0;
    size_t n;

    (void)state;
    wcs_alarms_observe(a, WCS_ALARM_LINE_ESTOP, "PLC01", "emergency stop");
    wcs_alarms_settle(a, 10 * S, counter_cb, &ids);
    assert_int_equal(wcs_alarms_unstored(a, out, 4), 1);
    wcs_alarms_stored(a, out[0].id, out[0].version);
    assert_int_equal(wcs_alarms_unstored(a, out, 4), 0);
    assert_int_equal(wcs_alarms_ack(a, "nope", "li.wei", 11 * S, &al), ERR_NOTFOUND);
    assert_int_equal(wcs_alarms_ack(a, out[0].id, "li.wei", 11 * S, &al), 0);
    assert_string_equal(al->acked_by, "li.wei");
    assert_int_equal(wcs_alarms_ack(a, out[0].id, "wang.fang", 12 * S, &al), ERR_STATE);
    assert_string_equal(al->acked_by, "li.wei"); /* the first one counts */
    assert_int_equal(wcs_alarms_unstored(a, out, 4), 1); /* the ack is to be stored */
    /* After a restart: kept as it was; cleared unless seen again. */
    wcs_alarms_restore(b, &out[0]);
    assert_int_equal(wcs_alarms_unstored(b, out, 4), 0);
    l = wcs_alarms_list(b, &n);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].acked_by, "li.wei");
    wcs_alarms_observe(b, WCS_ALARM_LINE_ESTOP, "PLC01", "emergency stop");
    assert_int_equal(wcs_alarms_settle(b, 20 * S, counter_cb, &ids), 0);
    assert_int_equal(wcs_alarms_settle(b, 21 * S, counter_cb, &ids), 1);
    assert_int_equal(wcs_alarms_open(b), 0);
    wcs_alarms_free(a);
    wcs_alarms_free(b);
}

static void test_full_set_gives_way(void **state)
{
    struct wcs_alarms *a = fresh();
    struct wcs_alarm out[WCS_ALARMS_MAX];
    char subject[16];
    unsigned ids = 0;
    size_t i, n;

    (void)state;
    for (i = 0; i < WCS_ALARMS_MAX; i++) { /* each raised, then cleared */
        snprintf(subject, sizeof(subject), "S%zu", i);
        wcs_alarms_observe(a, WCS_ALARM_SCANNER_UNPLUGGED, subject, "x");
        assert_int_equal(wcs_alarms_settle(a, (int64_t)(2 * i + 1) * S, counter_cb, &ids), 1);
        assert_int_equal(wcs_alarms_settle(a, (int64_t)(2 * i + 2) * S, counter_cb, &ids), 1);
    }
    wcs_alarms_list(a, &n);
    assert_int_equal(n, WCS_ALARMS_MAX);
    /* None stored yet: none may go, so the new alarm waits. */
    wcs_alarms_observe(a, WCS_ALARM_SPOOL_FILLING, "", "spool");
    assert_int_equal(wcs_alarms_settle(a, 10000 * S, counter_cb, &ids), 0);
    /* Stored: the oldest closed gives way. */
    n = wcs_alarms_unstored(a, out, WCS_ALARMS_MAX);
    assert_int_equal(n, WCS_ALARMS_MAX);
    for (i = 0; i < n; i++)
        wcs_alarms_stored(a, out[i].id, out[i].version);
    wcs_alarms_observe(a, WCS_ALARM_SPOOL_FILLING, "", "spool");
    assert_int_equal(wcs_alarms_settle(a, 10001 * S, counter_cb, &ids), 1);
    n = wcs_alarms_unstored(a, out, WCS_ALARMS_MAX);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].kind, WCS_ALARM_SPOOL_FILLING);
    {
        const struct wcs_alarm *l = wcs_alarms_list(a, &n);
        assert_int_equal(n, WCS_ALARMS_MAX);
        for (i = 0; i < n; i++)
            assert_string_not_equal(l[i].subject, "S0"); /* the oldest closed went */
    }
    wcs_alarms_free(a);
}

static void test_figures(void **state)
{
    static struct wcs_figures f;
    const struct wcs_figures_minute *m;
    int64_t t = 1795000000LL * S; /* a minute boundary plus 40 s */
    double p50, p99;
    int i;

    (void)state;
    wcs_figures_init(&f);
    assert_null(wcs_figures_minute(&f, t, 0));
    assert_true(wcs_figures_latency_ns(&f, 0.5) == 0);
    for (i = 0; i < 100; i++)
        wcs_figures_decision(&f, t, i < 5 ? CONV_REASON_NOREAD : CONV_REASON_OK, i < 5 ? -1 : 2,
                             7, i == 9 ? 1 : 0, i < 99 ? 1000 : 100000);
    /* Three minutes later, one more: the gap's minutes are zero. */
    wcs_figures_decision(&f, t + 180 * S, CONV_REASON_UNKNOWN, -1, 7, 0, 1000);
    m = wcs_figures_minute(&f, t + 180 * S, 3);
    assert_non_null(m);
    assert_int_equal(m->sorted, 100);
    assert_int_equal(m->noread, 5);
    assert_int_equal(m->recirculated, 1);
    assert_int_equal(m->by_reason[CONV_REASON_OK], 95);
    m = wcs_figures_minute(&f, t + 180 * S, 1);
    assert_non_null(m);
    assert_int_equal(m->sorted, 0);
    m = wcs_figures_minute(&f, t + 180 * S, 0);
    assert_int_equal(m->by_reason[CONV_REASON_UNKNOWN], 1);
    assert_null(wcs_figures_minute(&f, t + 180 * S, WCS_FIGURES_MINUTES));
    p50 = wcs_figures_latency_ns(&f, 0.5);
    p99 = wcs_figures_latency_ns(&f, 0.999);
    assert_true(p50 >= 1000 && p50 < 1100);   /* within a bucket (9%) */
    assert_true(p99 >= 100000 && p99 < 110000);
    assert_int_equal(f.routes[2], 95);
    /* A new plan counts its routes anew. */
    wcs_figures_decision(&f, t + 181 * S, CONV_REASON_OK, 0, 8, 0, 1000);
    assert_int_equal(f.routes[2], 0);
    assert_int_equal(f.routes[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raised_after_delay_and_cleared),
        cmocka_unit_test(test_ack_store_restore),
        cmocka_unit_test(test_full_set_gives_way),
        cmocka_unit_test(test_figures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

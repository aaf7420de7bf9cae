/*
 * test-registry.c - the in-memory parcel index: lookups by every code,
 * replacement by parcel id, codes moving between parcels, growth past the
 * expected size, compaction after many code changes, and its memory use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wcs/core/registry.h"

static struct wcs_parcel parcel(int64_t id, uint32_t postal)
{
    struct wcs_parcel p;

    memset(&p, 0, sizeof(p));
    p.id = id;
    p.postal = postal;
    p.weight_g = 1000;
    memcpy(p.country, "RU", 2);
    memcpy(p.service, "EMS", 3);
    return p;
}

static const struct wcs_parcel *find(const struct wcs_registry *r, const char *code)
{
    return wcs_registry_find(r, code, strlen(code));
}

static void test_put_find(void **state)
{
    struct wcs_registry *r = wcs_registry_new(4);
    struct wcs_parcel p = parcel(7, 630099);
    const char *codes[] = {"LP00123456789012", "RR473124829GB"};
    const struct wcs_parcel *f;
    (void)state;

    assert_non_null(r);
    assert_int_equal(wcs_registry_put(r, &p, codes, 2, NULL), 0);
    assert_int_equal(wcs_registry_count(r), 1);
    f = find(r, "RR473124829GB");
    assert_non_null(f);
    assert_int_equal(f->id, 7);
    assert_int_equal(f->postal, 630099);
    assert_ptr_equal(find(r, "LP00123456789012"), f);
    /* The length given counts, not a terminator. */
    assert_ptr_equal(wcs_registry_find(r, "RR473124829GBXYZ", 13), f);
    assert_null(wcs_registry_find(r, "RR473124829GB", 12));
    assert_null(find(r, "RR473124829GC"));
    assert_null(find(r, ""));
    wcs_registry_free(r);
}

static void test_replace_by_id(void **state)
{
    struct wcs_registry *r = wcs_registry_new(4);
    struct wcs_parcel p = parcel(7, 630099);
    const char *before[] = {"LP00000000000001", "RR000000001GB"};
    const char *after[] = {"RR000000001GB", "CP000000002CN"};
    (void)state;

    assert_int_equal(wcs_registry_put(r, &p, before, 2, NULL), 0);
    p.postal = 101000;
    p.customs = 3;
    assert_int_equal(wcs_registry_put(r, &p, after, 2, NULL), 0);
    assert_int_equal(wcs_registry_count(r), 1);
    assert_int_equal(find(r, "RR000000001GB")->postal, 101000);
    assert_int_equal(find(r, "CP000000002CN")->customs, 3);
    /* The code the parcel no longer has is gone. */
    assert_null(find(r, "LP00000000000001"));
    /* The same codes again: a pure update. */
    p.weight_g = 2500;
    assert_int_equal(wcs_registry_put(r, &p, after, 2, NULL), 0);
    assert_int_equal(find(r, "CP000000002CN")->weight_g, 2500);
    wcs_registry_free(r);
}

static void test_code_moves(void **state)
{
    struct wcs_registry *r = wcs_registry_new(4);
    struct wcs_parcel a = parcel(1, 101000), b = parcel(2, 690000);
    const char *ca[] = {"LP00000000000001", "RR000000001GB"};
    const char *cb[] = {"LP00000000000002", "RR000000001GB", "LP00000000000002"};
    const char *ca2[] = {"LP00000000000001"};
    (void)state;

    assert_int_equal(wcs_registry_put(r, &a, ca, 2, NULL), 0);
    assert_int_equal(wcs_registry_put(r, &b, cb, 3, NULL), 0); /* duplicate code ignored */
    assert_int_equal(wcs_registry_count(r), 2);
    assert_int_equal(find(r, "RR000000001GB")->id, 2);
    assert_int_equal(find(r, "LP00000000000001")->id, 1);
    assert_int_equal(find(r, "LP00000000000002")->id, 2);
    /* Parcel 1 put again with its remaining code must not take the moved
     * code back or disturb parcel 2's chain. */
    assert_int_equal(wcs_registry_put(r, &a, ca2, 1, NULL), 0);
    assert_int_equal(find(r, "RR000000001GB")->id, 2);
    /* Replacing parcel 2 without the moved code drops it entirely. */
    assert_int_equal(wcs_registry_put(r, &b, cb, 1, NULL), 0);
    assert_null(find(r, "RR000000001GB"));
    assert_int_equal(find(r, "LP00000000000002")->id, 2);
    assert_int_equal(find(r, "LP00000000000001")->id, 1);
    wcs_registry_free(r);
}

static void test_invalid(void **state)
{
    struct wcs_registry *r = wcs_registry_new(4);
    struct wcs_parcel p = parcel(1, 101000);
    const char *empty[] = {"LP00000000000001", ""};
    const char *longc[] = {"123456789012345678901234567890123"}; /* 33 chars */
    struct err e = {0};
    (void)state;

    assert_int_equal(wcs_registry_put(r, &p, empty, 2, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "code 2 is empty"));
    assert_int_equal(wcs_registry_put(r, &p, longc, 1, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "longer than 32"));
    /* Nothing happened. */
    assert_int_equal(wcs_registry_count(r), 0);
    assert_null(find(r, "LP00000000000001"));
    wcs_registry_free(r);
}

/* Grows from a tiny size; every parcel is still found by both codes. */
static void test_growth(void **state)
{
    struct wcs_registry *r = wcs_registry_new(1);
    char lp[32], s10[32];
    const char *codes[2] = {lp, s10};
    int i, n = 50000;
    (void)state;

    for (i = 0; i < n; i++) {
        struct wcs_parcel p = parcel(1000 + i, 100000 + (uint32_t)i);
        snprintf(lp, sizeof(lp), "LP%014d", i);
        snprintf(s10, sizeof(s10), "RB%08d5CN", i);
        assert_int_equal(wcs_registry_put(r, &p, codes, (i % 5 < 3) ? 2 : 1, NULL), 0);
    }
    assert_int_equal(wcs_registry_count(r), (size_t)n);
    for (i = 0; i < n; i++) {
        const struct wcs_parcel *f;
        snprintf(lp, sizeof(lp), "LP%014d", i);
        snprintf(s10, sizeof(s10), "RB%08d5CN", i);
        f = find(r, lp);
        assert_non_null(f);
        assert_int_equal(f->id, 1000 + i);
        if (i % 5 < 3)
            assert_ptr_equal(find(r, s10), f);
        else
            assert_null(find(r, s10));
    }
    assert_true(wcs_registry_memory(r) > (size_t)n * sizeof(struct wcs_parcel));
    wcs_registry_free(r);
}

/* Many code changes leave dead arena space; compaction must keep every
 * current code findable and drop the old ones. */
static void test_compaction(void **state)
{
    struct wcs_registry *r = wcs_registry_new(1000);
    char code[32];
    const char *codes[1] = {code};
    int round, i;
    (void)state;

    for (round = 0; round < 200; round++) {
        for (i = 0; i < 1000; i++) {
            struct wcs_parcel p = parcel(i, (uint32_t)round);
            snprintf(code, sizeof(code), "LP%07d%07d", round, i);
            assert_int_equal(wcs_registry_put(r, &p, codes, 1, NULL), 0);
        }
    }
    assert_int_equal(wcs_registry_count(r), 1000);
    for (i = 0; i < 1000; i++) {
        snprintf(code, sizeof(code), "LP%07d%07d", 199, i);
        assert_non_null(find(r, code));
        assert_int_equal(find(r, code)->postal, 199);
        snprintf(code, sizeof(code), "LP%07d%07d", 198, i);
        assert_null(find(r, code));
    }
    /* 200 rounds of 28-byte nodes would be 5.6 MB without compaction. */
    assert_true(wcs_registry_memory(r) < 3u * 1024 * 1024);
    wcs_registry_free(r);
}

/* Memory per parcel at a realistic mix (1.6 codes each) stays well under
 * the 300-byte goal. */
static void test_memory(void **state)
{
    struct wcs_registry *r = wcs_registry_new(100000);
    char lp[32], s10[32];
    const char *codes[2] = {lp, s10};
    int i, n = 100000;
    size_t per;
    (void)state;

    for (i = 0; i < n; i++) {
        struct wcs_parcel p = parcel(i + 1, 630099);
        snprintf(lp, sizeof(lp), "LP%014d", i * 7);
        snprintf(s10, sizeof(s10), "RB%08d5CN", i);
        assert_int_equal(wcs_registry_put(r, &p, codes, (i % 5 < 3) ? 2 : 1, NULL), 0);
    }
    per = wcs_registry_memory(r) / (size_t)n;
    print_message("registry: %zu bytes per parcel\n", per);
    assert_true(per < 300);
    wcs_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_find),   cmocka_unit_test(test_replace_by_id),
        cmocka_unit_test(test_code_moves), cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_growth),     cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

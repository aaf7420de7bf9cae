/* test-track.c - in-flight parcel table: lookup, bounded ring, expiry, and a
 * randomized comparison with a brute-force model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conveyor/track.h"

static void test_add_find(void **state)
{
    struct conv_tracks *t = conv_tracks_new(100);
    struct conv_track *e;
    (void)state;
    assert_null(conv_tracks_find(t, "0000000001"));
    e = conv_tracks_add(t, "0000000001", 5);
    assert_non_null(e);
    assert_int_equal(e->ref, -1);
    strcpy(e->destination, "CH007");
    e = conv_tracks_find(t, "0000000001");
    assert_non_null(e);
    assert_string_equal(e->destination, "CH007");
    assert_int_equal(e->first_us, 5);
    assert_int_equal(conv_tracks_count(t), 1);
    conv_tracks_free(t);
}

static void test_bounded_and_expiry(void **state)
{
    struct conv_tracks *t = conv_tracks_new(16);
    char id[16];
    int i;
    (void)state;
    for (i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "%010d", i);
        assert_non_null(conv_tracks_add(t, id, i * 1000));
    }
    assert_int_equal(conv_tracks_count(t), 16);
    assert_null(conv_tracks_find(t, "0000000023"));   /* dropped: oldest */
    assert_non_null(conv_tracks_find(t, "0000000024"));
    assert_non_null(conv_tracks_find(t, "0000000039"));
    /* Entries that arrived before 30 ms are expired. */
    assert_int_equal(conv_tracks_expire(t, 40000, 10000), 6);
    assert_null(conv_tracks_find(t, "0000000029"));
    assert_non_null(conv_tracks_find(t, "0000000030"));
    assert_int_equal(conv_tracks_count(t), 10);
    conv_tracks_free(t);
}

/* Random adds with a small capacity against a model of the last `cap` ids. */
static void test_random_against_model(void **state)
{
    enum { CAP = 97, OPS = 20000, IDS = 300 };
    struct conv_tracks *t = conv_tracks_new(CAP);
    int model[CAP], mhead = 0, mn = 0, op, k;
    char id[16];
    (void)state;
    srand(42);
    for (op = 0; op < OPS; op++) {
        int v = rand() % IDS, present = 0;

        for (k = 0; k < mn; k++)
            if (model[(mhead + k) % CAP] == v)
                present = 1;
        snprintf(id, sizeof(id), "%010d", v);
        assert_int_equal(conv_tracks_find(t, id) != NULL, present);
        if (!present) {
            if (mn == CAP) {
                mhead = (mhead + 1) % CAP;
                mn--;
            }
            model[(mhead + mn) % CAP] = v;
            mn++;
            assert_non_null(conv_tracks_add(t, id, op));
        }
        assert_int_equal(conv_tracks_count(t), (size_t)mn);
    }
    for (k = 0; k < mn; k++) {
        snprintf(id, sizeof(id), "%010d", model[(mhead + k) % CAP]);
        assert_non_null(conv_tracks_find(t, id));
    }
    conv_tracks_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find),
        cmocka_unit_test(test_bounded_and_expiry),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

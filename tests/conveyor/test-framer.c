/*
 * test-framer.c - the telegram framer (conveyor/framer.c): bytes in, frames out.
 *
 * Each case (curl style) is a stream script, the sizes of the reads it arrives
 * in, and the frames expected. In a script an upper-case letter stands for a
 * whole L-byte telegram carrying that letter at offset 8 ('H' also carries
 * "###" inside its body), '~' for 100 bytes of 'x' garbage, '<' for the first
 * 60 bytes of a telegram (a truncated one); anything else is itself. Expected
 * frames: the letter of each telegram, "?" for a frame that is no known
 * telegram, "s<n>" for a reported garbage stretch of n bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conveyor/telegram.h"

#define TL CONV_TG_LEN_MIN /* the framer's smallest L keeps the scripts short */
#define STREAM_MAX 4096

static void make_telegram(char marker, char *out)
{
    memset(out, '*', TL);
    snprintf(out, 9, "###%05d", TL);
    out[8] = marker;
    if (marker == 'H')
        memcpy(out + 50, "###00128", 8);
}

static size_t expand(const char *script, char *out)
{
    size_t n = 0;
    const char *p;

    for (p = script; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            make_telegram(*p, out + n);
            n += TL;
        } else if (*p == '~') {
            memset(out + n, 'x', 100);
            n += 100;
        } else if (*p == '<') {
            make_telegram('?', out + n);
            n += 60;
        } else {
            out[n++] = *p;
        }
        assert_true(n < STREAM_MAX - TL);
    }
    return n;
}

struct frame_case {
    const char *name;
    const char *script;
    size_t reads[6];    /* read sizes; the last non-zero one repeats; {0} = all at once */
    const char *expect; /* space-separated frames */
};

static const struct frame_case cases[] = {
    {"one telegram, one read", "A", {0}, "A"},
    {"coalesced: three in one read", "ABC", {0}, "A B C"},
    {"partial: one byte at a time", "AB", {1}, "A B"},
    {"split across 3 reads", "A", {10, 100, 18}, "A"},
    {"split inside the sync", "AB", {129, 2, 200}, "A B"},
    {"'#' at the end of a read", "AB", {129}, "A B"},
    {"'##' at the end of a read", "AB", {130}, "A B"},
    {"'###' at the end of a read", "AB", {131}, "A B"},
    {"garbage before the first", "xyzA", {0}, "s3 A"},
    {"garbage before the first, bytewise", "xyzA", {1}, "s3 A"},
    {"garbage between telegrams", "Axyz12B", {0}, "A s5 B"},
    {"garbage between, bytewise", "Axyz12B", {1}, "A s5 B"},
    {"garbage containing '#'", "A#x##y#B", {0}, "A s6 B"},
    {"garbage containing '#', bytewise", "A#x##y#B", {1}, "A s6 B"},
    {"one '#' before a telegram", "A#B", {0}, "A s1 B"},
    {"'####' before a telegram", "A####B", {1}, "A s4 B"},
    {"'##' then garbage across reads", "A##xB", {129, 1, 1, 200}, "A s3 B"},
    {"garbage in many reads, one stretch", "A1234567890B", {129, 3, 3, 3}, "A s10 B"},
    {"garbage at the end is not yet reported", "Axyz", {0}, "A"},
    {"'##' at the end is not yet reported", "A##", {0}, "A"},
    {"garbage of exactly L, then a telegram", "~xxxxxxxxxxxxxxxxxxxxxxxxxxxxA", {0}, "s128 A"},
    {"long garbage reported every L bytes", "~~~A", {0}, "s128 s128 s44 A"},
    {"long garbage bytewise", "~~~A", {1}, "s128 s128 s44 A"},
    {"endless garbage", "~~~", {7}, "s128 s128"},
    {"'#' runs count as garbage", "#################", {0}, ""},
    {"'###' inside a body is content", "HA", {0}, "H A"},
    {"'###' inside a body, bytewise", "HA", {1}, "H A"},
    {"truncated telegram costs the next", "<BC", {0}, "? s60 C"},
    {"garbage, telegram, garbage, telegram", "ab#A##cdBe", {5}, "s3 A s4 B"},
    {"many telegrams in odd reads", "ABCDEFGH", {77, 300, 5, 129}, "A B C D E F G H"},
};

static void run_case(const struct frame_case *c)
{
    static char stream[STREAM_MAX];
    struct conv_framer f;
    char got[1024] = "";
    size_t n = expand(c->script, stream), pos = 0, r = 0, accounted = 0;

    conv_framer_init(&f, TL);
    while (pos < n) {
        size_t want = c->reads[r] ? c->reads[r] : n;
        size_t len, off = 0;

        if (r + 1 < sizeof(c->reads) / sizeof(c->reads[0]) && c->reads[r + 1] != 0)
            r++;
        len = want < n - pos ? want : n - pos;
        for (;;) {
            const char *frame = (const char *)1;
            size_t used = 12345, skipped = 12345;
            enum conv_frame_kind k =
                conv_framer_next(&f, stream + pos + off, len - off, &used, &frame, &skipped);
            char tok[32], ref[TL];

            assert_true(used <= len - off);
            off += used;
            if (k == CONV_FRAME_NONE) {
                /* NONE only when everything was taken */
                assert_int_equal(off, len);
                assert_null(frame);
                break;
            }
            if (k == CONV_FRAME_SKIPPED) {
                /* The stretch's first bytes come back as they were sent
                 * (for the telegram log): the stream from the last boundary. */
                assert_non_null(frame);
                assert_true(skipped > 0);
                assert_memory_equal(frame, stream + accounted, skipped < TL ? skipped : TL);
                snprintf(tok, sizeof(tok), "s%zu", skipped);
                accounted += skipped;
            } else {
                assert_int_equal(k, CONV_FRAME_TELEGRAM);
                assert_int_equal(skipped, 0);
                assert_memory_equal(frame, "###", 3);
                make_telegram(frame[8], ref);
                if (frame[8] >= 'A' && frame[8] <= 'Z' && memcmp(frame, ref, TL) == 0)
                    snprintf(tok, sizeof(tok), "%c", frame[8]);
                else
                    snprintf(tok, sizeof(tok), "?");
                accounted += TL;
            }
            if (got[0])
                strcat(got, " ");
            strcat(got, tok);
        }
        pos += len;
    }
    if (strcmp(got, c->expect) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", c->name, got, c->expect);
    /* Every byte is in a frame, a reported stretch, or still pending. */
    assert_int_equal(accounted + f.skipping + f.have, n);
}

static void test_cases(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* A zero-length read reports nothing and changes nothing. */
static void test_empty_read(void **state)
{
    struct conv_framer f;
    const char *frame;
    size_t used = 9, skipped = 9;

    (void)state;
    conv_framer_init(&f, TL);
    assert_int_equal(conv_framer_next(&f, "", 0, &used, &frame, &skipped), CONV_FRAME_NONE);
    assert_int_equal(used, 0);
    assert_int_equal(f.have, 0);
    assert_int_equal(f.skipping, 0);
}

/* The frame stays valid until the next call, even when the caller's read
 * buffer is reused at once (the link reads into one buffer). */
static void test_frame_outlives_read_buffer(void **state)
{
    struct conv_framer f;
    char rd[TL], ref[TL];
    const char *frame;
    size_t used, skipped;

    (void)state;
    conv_framer_init(&f, TL);
    make_telegram('A', rd);
    memcpy(ref, rd, TL);
    assert_int_equal(conv_framer_next(&f, rd, TL, &used, &frame, &skipped), CONV_FRAME_TELEGRAM);
    memset(rd, 0, sizeof(rd));
    assert_memory_equal(frame, ref, TL);
}

/* L out of range is clamped so buf[] is never overrun. */
static void test_L_clamped(void **state)
{
    struct conv_framer f;

    (void)state;
    conv_framer_init(&f, 5);
    assert_int_equal(f.L, CONV_TG_LEN_MIN);
    conv_framer_init(&f, 100000);
    assert_int_equal(f.L, CONV_TG_LEN_MAX);
    conv_framer_init(&f, CONV_TG_LEN_DEFAULT);
    assert_int_equal(f.L, 160);
}

/* The default L with real telegrams: framer output parses. */
static void test_with_parser(void **state)
{
    struct conv_framer f;
    struct conv_telegram t;
    struct conv_tg_refusal why;
    char stream[3 * 160 + 8];
    const char *frame;
    size_t used, skipped, off = 0, n = 0;
    enum conv_frame_kind k;
    int i;

    (void)state;
    memset(&t, 0, sizeof(t));
    strcpy(t.sender, "PLC01");
    strcpy(t.receiver, "WCS01");
    t.type = CONV_TG_LIFE;
    strcpy(t.u.life.time, "20261123140936");
    for (i = 0; i < 3; i++) {
        t.seq = (uint32_t)(i + 1);
        assert_int_equal(conv_tg_format(&t, 160, stream + n, NULL), 0);
        n += 160;
        if (i == 0) {
            memcpy(stream + n, "\r\n#", 3); /* a PLC that ends lines */
            n += 3;
        }
    }
    conv_framer_init(&f, 160);
    i = 0;
    while ((k = conv_framer_next(&f, stream + off, n - off, &used, &frame, &skipped)) !=
           CONV_FRAME_NONE) {
        off += used;
        if (k == CONV_FRAME_SKIPPED) {
            assert_int_equal(skipped, 3);
            continue;
        }
        assert_int_equal(conv_tg_parse(frame, 160, 160, &t, &why, NULL), 0);
        assert_int_equal(t.seq, (uint32_t)++i);
    }
    assert_int_equal(i, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_empty_read),
        cmocka_unit_test(test_frame_outlives_read_buffer),
        cmocka_unit_test(test_L_clamped),
        cmocka_unit_test(test_with_parser),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

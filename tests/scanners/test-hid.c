/*
 * test-hid.c - USB scanner report decoders (scanners/hid_kbd.c, hid_pos.c),
 * the layout tables (layouts.c) and the report encoders (hid_encode.c).
 *
 * Cases are data (curl style): a sequence of reports as bytes, with the
 * pause before each, in; the scans, refusals and counters out. Keys are named
 * by their position on the keyboard (the HID usage, whose name is the US
 * legend: L('Z') is usage 0x1D, which a German layout types as 'y'), so a
 * case shows exactly what a scanner set to a given country sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scanners/hid.h"

/* ---- keyboard wedge cases ---- */

#define STEP_MAX 80
#define EXPECT_MAX 4

struct kstep {
    uint16_t dt;        /* ms since the previous report */
    uint8_t len;        /* report length fed */
    uint8_t r[9];
};

struct kcase {
    const char *name;
    enum scan_layout layout;
    bool tab;
    uint32_t timeout_ms;
    struct kstep steps[STEP_MAX];
    const char *scans[EXPECT_MAX];  /* expected scans, in order; NULL ends */
    unsigned errors;                /* ERR_INVALID returns */
    const char *errfrag;            /* substring of the last error, or NULL */
    uint64_t rollovers, unmapped, timeouts, overflows;
};

#define SH 0x02                       /* left Shift */
#define RSH 0x20                      /* right Shift */
#define ALTGR 0x40                    /* right Alt */
#define L(c) (0x04 + (c) - 'A')       /* letter key by its US legend */
#define D(c) ((c) == '0' ? 0x27 : 0x1E + (c) - '1') /* digit-row key */
#define KEY(m, u) {4, 8, {m, 0, u}}
#define KEY2(m, u1, u2) {4, 8, {m, 0, u1, u2}}
#define UP {4, 8, {0}}
#define TAP(m, u) KEY(m, u), UP
#define ENTER TAP(0, 0x28)
#define PAUSE(ms, m, u) {ms, 8, {m, 0, u}}
#define ERO {4, 8, {0, 0, 1, 1, 1, 1, 1, 1}}
#define RAW(dt, n, ...) {dt, n, {__VA_ARGS__}}

/* "RR473124829GB": the same keys on US and German layouts (letters other
 * than Y/Z and digits do not move). */
#define S10_KEYS                                                                        \
    TAP(SH, L('R')), TAP(SH, L('R')), TAP(0, D('4')), TAP(0, D('7')), TAP(0, D('3')),   \
        TAP(0, D('1')), TAP(0, D('2')), TAP(0, D('4')), TAP(0, D('8')), TAP(0, D('2')), \
        TAP(0, D('9')), TAP(SH, L('G')), TAP(SH, L('B'))

/* A German-set scanner typing "Zy-7/": Z and Y swapped, '-' right of '.'
 * (usage 0x38, '/' on US), '/' is Shift+7. */
#define DE_ZY_KEYS TAP(SH, L('Y')), TAP(0, L('Z')), TAP(0, 0x38), TAP(0, D('7')), TAP(SH, D('7'))

static const struct kcase kcases[] = {
    {.name = "S10 on US", .layout = SCAN_LAYOUT_US, .timeout_ms = 100,
     .steps = {S10_KEYS, ENTER}, .scans = {"RR473124829GB"}},
    {.name = "S10 from a German-set scanner", .layout = SCAN_LAYOUT_DE, .timeout_ms = 100,
     .steps = {S10_KEYS, ENTER}, .scans = {"RR473124829GB"}},
    {.name = "German keys on a German decoder", .layout = SCAN_LAYOUT_DE,
     .steps = {DE_ZY_KEYS, ENTER}, .scans = {"Zy-7/"}},
    {.name = "the same German keys misread by a US decoder", .layout = SCAN_LAYOUT_US,
     .steps = {DE_ZY_KEYS, ENTER}, .scans = {"Yz/7&"}},
    {.name = "German digit-row shift and AltGr", .layout = SCAN_LAYOUT_DE,
     .steps = {TAP(SH, D('2')), TAP(SH, D('0')), TAP(ALTGR, L('Q')), TAP(0x05, L('Q')),
               TAP(ALTGR, D('8')), TAP(ALTGR, 0x2D), TAP(SH, 0x31), TAP(0, 0x64), TAP(SH, 0x64),
               TAP(ALTGR, 0x64), TAP(SH, 0x37), ENTER},
     .scans = {"\"=@@[\\'<>|:"}},
    {.name = "German non-ASCII keys skipped", .layout = SCAN_LAYOUT_DE,
     .steps = {TAP(0, 0x2D), TAP(0, 0x33), TAP(SH, D('3')), TAP(0, L('A')), ENTER},
     .scans = {"a"}, .unmapped = 3},
    {.name = "German dead keys", .layout = SCAN_LAYOUT_DE,
     .steps = {TAP(0, 0x35), TAP(0, 0x2C), TAP(0, 0x35), TAP(0, L('X')), TAP(SH, 0x2E),
               TAP(0, 0x2C), TAP(0, 0x35), ENTER},
     .scans = {"^^x`^"}},
    {.name = "rollover: two keys in one report", .layout = SCAN_LAYOUT_US,
     .steps = {KEY2(SH, L('A'), L('B')), UP, ENTER}, .scans = {"AB"}},
    {.name = "held key not repeated", .layout = SCAN_LAYOUT_US,
     .steps = {KEY(0, L('A')), KEY2(0, L('A'), L('B')), KEY(0, L('B')), UP, ENTER},
     .scans = {"ab"}},
    {.name = "doubled letters need a release", .layout = SCAN_LAYOUT_US,
     .steps = {TAP(SH, L('R')), TAP(SH, L('R')), KEY(SH, L('S')), KEY(SH, L('S')), UP, ENTER},
     .scans = {"RRS"}},
    {.name = "right Shift", .layout = SCAN_LAYOUT_US,
     .steps = {TAP(RSH, L('Q')), TAP(RSH | SH, D('1')), ENTER}, .scans = {"Q!"}},
    {.name = "ErrorRollOver in the middle", .layout = SCAN_LAYOUT_US,
     .steps = {KEY(0, D('1')), ERO, KEY2(0, D('1'), D('2')), UP, ENTER},
     .scans = {"12"}, .rollovers = 1},
    {.name = "keypad digits and Keypad Enter", .layout = SCAN_LAYOUT_DE,
     .steps = {TAP(0, 0x59), TAP(SH, 0x61), TAP(0, 0x62), TAP(0, 0x56), TAP(0, 0x63),
               TAP(0, 0x58)},
     .scans = {"190-,"}},
    {.name = "Tab terminates when asked", .layout = SCAN_LAYOUT_US, .tab = true,
     .steps = {TAP(0, L('A')), TAP(0, 0x2B), TAP(0, L('B')), ENTER}, .scans = {"a", "b"}},
    {.name = "Tab skipped when not a terminator", .layout = SCAN_LAYOUT_US,
     .steps = {TAP(0, L('A')), TAP(0, 0x2B), TAP(0, L('B')), ENTER}, .scans = {"ab"},
     .unmapped = 1},
    {.name = "timeout splits a scan", .layout = SCAN_LAYOUT_US, .timeout_ms = 100,
     .steps = {TAP(0, L('A')), TAP(0, L('B')), PAUSE(101, 0, L('C')), UP, ENTER},
     .scans = {"c"}, .timeouts = 1},
    {.name = "a pause of exactly the timeout is allowed", .layout = SCAN_LAYOUT_US,
     .timeout_ms = 100, .steps = {TAP(0, L('A')), PAUSE(96, 0, L('B')), UP, ENTER},
     .scans = {"ab"}},
    {.name = "timeout 0 never splits", .layout = SCAN_LAYOUT_US,
     .steps = {TAP(0, L('A')), PAUSE(60000, 0, L('B')), UP, ENTER}, .scans = {"ab"}},
    {.name = "Enter after a pause ends nothing", .layout = SCAN_LAYOUT_US, .timeout_ms = 100,
     .steps = {TAP(0, L('A')), PAUSE(500, 0, 0x28), UP, TAP(0, L('B')), ENTER},
     .scans = {"b"}, .timeouts = 1},
    {.name = "empty scans", .layout = SCAN_LAYOUT_US,
     .steps = {ENTER, ENTER, TAP(0, L('A')), ENTER, TAP(0, 0x58)}, .scans = {"a"}},
    {.name = "unmapped keys and Ctrl combinations skipped", .layout = SCAN_LAYOUT_US,
     .steps = {TAP(0, 0x3A), TAP(0x01, L('A')), TAP(0, L('B')), TAP(0x40, L('Q')), ENTER},
     .scans = {"b"}, .unmapped = 3},
    {.name = "garbage reports refused, next scan fine", .layout = SCAN_LAYOUT_US,
     .timeout_ms = 100,
     .steps = {RAW(4, 7, 0, 0, 4), RAW(4, 9, 0, 0, 4), RAW(4, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                                        0xFF, 0xFF, 0xFF),
               PAUSE(200, 0, L('A')), UP, ENTER},
     .scans = {"a"}, .errors = 3, .errfrag = "byte 2: usage 0xFF"},
    {.name = "garbage inside a scan drops it", .layout = SCAN_LAYOUT_US, .timeout_ms = 100,
     .steps = {TAP(0, L('A')), RAW(4, 8, 0, 0, 0, 0, 0, 0, 0, 0xE8), TAP(0, L('B')), ENTER,
               PAUSE(200, 0, L('C')), UP, ENTER},
     .scans = {"c"}, .errors = 1, .errfrag = "byte 7: usage 0xE8"},
};

static void run_kcase(const struct kcase *c)
{
    struct scan_kbd_decoder d;
    struct scan_read out;
    struct err e;
    uint64_t now = 1000;
    size_t nscans = 0;
    unsigned errors = 0;
    size_t nsteps = 0;

    while (nsteps < STEP_MAX && c->steps[nsteps].len != 0)
        nsteps++;
    scan_kbd_init(&d, c->layout, c->tab, c->timeout_ms);
    err_clear(&e);
    for (size_t i = 0; i < nsteps; i++) {
        const struct kstep *s = &c->steps[i];
        int rc;
        now += s->dt;
        rc = scan_kbd_feed(&d, s->r, s->len, now, &out, &e);
        if (rc == ERR_INVALID) {
            errors++;
            continue;
        }
        if (rc != 0 && rc != 1)
            fail_msg("%s: step %zu: rc %d", c->name, i, rc);
        if (rc == 1) {
            if (nscans >= EXPECT_MAX || c->scans[nscans] == NULL)
                fail_msg("%s: step %zu: unexpected scan \"%s\"", c->name, i, out.text);
            if (strcmp(out.text, c->scans[nscans]) != 0)
                fail_msg("%s: scan %zu: \"%s\", expected \"%s\"", c->name, nscans, out.text,
                         c->scans[nscans]);
            assert_int_equal(out.len, strlen(c->scans[nscans]));
            assert_string_equal(out.symbology, "");
            nscans++;
        }
    }
    if (nscans < EXPECT_MAX && c->scans[nscans] != NULL)
        fail_msg("%s: missing scan \"%s\"", c->name, c->scans[nscans]);
    if (errors != c->errors)
        fail_msg("%s: %u errors, expected %u", c->name, errors, c->errors);
    if (c->errfrag != NULL && strstr(e.msg, c->errfrag) == NULL)
        fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, e.msg, c->errfrag);
    if (d.rollovers != c->rollovers || d.unmapped != c->unmapped || d.timeouts != c->timeouts ||
        d.overflows != c->overflows)
        fail_msg("%s: counters rollovers %llu unmapped %llu timeouts %llu overflows %llu", c->name,
                 (unsigned long long)d.rollovers, (unsigned long long)d.unmapped,
                 (unsigned long long)d.timeouts, (unsigned long long)d.overflows);
    assert_int_equal(d.reports, nsteps);
    assert_int_equal(d.refused, c->errors);
}

static void test_kbd_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(kcases) / sizeof(kcases[0]); i++)
        run_kcase(&kcases[i]);
}

/* Feeds n encoded reports 4 ms apart; returns the number of scans, the last in *out. */
static int feed_kbd(struct scan_kbd_decoder *d, const uint8_t *reports, int n, uint64_t *now,
                    struct scan_read *out)
{
    int scans = 0;
    for (int i = 0; i < n; i++) {
        int rc;
        *now += 4;
        rc = scan_kbd_feed(d, reports + (size_t)i * SCAN_KBD_REPORT_LEN, SCAN_KBD_REPORT_LEN, *now,
                           out, NULL);
        assert_true(rc == 0 || rc == 1);
        scans += rc;
    }
    return scans;
}

static void test_kbd_overflow(void **state)
{
    static uint8_t reports[2 * (SCAN_TEXT_MAX + 2) * SCAN_KBD_REPORT_LEN];
    char text[SCAN_TEXT_MAX + 2];
    struct scan_kbd_decoder d;
    struct scan_read out;
    uint64_t now = 0;
    int n;

    (void)state;
    scan_kbd_init(&d, SCAN_LAYOUT_US, false, 100);
    /* Exactly SCAN_TEXT_MAX characters: kept. */
    memset(text, '7', SCAN_TEXT_MAX);
    text[SCAN_TEXT_MAX] = '\0';
    n = scan_kbd_encode(SCAN_LAYOUT_US, text, reports, sizeof(reports) / SCAN_KBD_REPORT_LEN);
    assert_int_equal(n, 2 * SCAN_TEXT_MAX + 2);
    assert_int_equal(feed_kbd(&d, reports, n, &now, &out), 1);
    assert_int_equal(out.len, SCAN_TEXT_MAX);
    assert_string_equal(out.text, text);
    /* One more: dropped at its terminator and counted. */
    strcat(text, "8");
    n = scan_kbd_encode(SCAN_LAYOUT_US, text, reports, sizeof(reports) / SCAN_KBD_REPORT_LEN);
    assert_int_equal(feed_kbd(&d, reports, n, &now, &out), 0);
    assert_int_equal(d.overflows, 1);
    /* The decoder goes on. */
    n = scan_kbd_encode(SCAN_LAYOUT_US, "OK", reports, 16);
    assert_int_equal(feed_kbd(&d, reports, n, &now, &out), 1);
    assert_string_equal(out.text, "OK");
}

/* Every printable ASCII character goes through encoder and decoder on both
 * layouts: this is the coverage claim of layouts.c. */
static void test_kbd_roundtrip_all_ascii(void **state)
{
    char all[96];
    uint8_t reports[4 * 96 * SCAN_KBD_REPORT_LEN];

    (void)state;
    for (int c = 0x20; c <= 0x7E; c++)
        all[c - 0x20] = (char)c;
    all[95] = '\0';
    for (int l = 0; l < SCAN_LAYOUT_COUNT; l++) {
        struct scan_kbd_decoder d;
        struct scan_read out;
        uint64_t now = 0;
        int n = scan_kbd_encode((enum scan_layout)l, all, reports, sizeof(reports) / 8);
        assert_true(n > 0);
        scan_kbd_init(&d, (enum scan_layout)l, false, 100);
        assert_int_equal(feed_kbd(&d, reports, n, &now, &out), 1);
        assert_string_equal(out.text, all);
        assert_int_equal(d.unmapped, 0);
    }
}

static void test_kbd_encode(void **state)
{
    uint8_t r[64 * SCAN_KBD_REPORT_LEN];
    static const uint8_t de_y[] = {SH, 0, 0x1D, 0, 0, 0, 0, 0};
    static const uint8_t us_y[] = {SH, 0, 0x1C, 0, 0, 0, 0, 0};
    static const uint8_t de_at[] = {ALTGR, 0, 0x14, 0, 0, 0, 0, 0};
    static const uint8_t zero[8] = {0};
    static const uint8_t enter[] = {0, 0, 0x28, 0, 0, 0, 0, 0};

    (void)state;
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_DE, "Y", r, 64), 4);
    assert_memory_equal(r, de_y, 8);
    assert_memory_equal(r + 8, zero, 8);
    assert_memory_equal(r + 16, enter, 8);
    assert_memory_equal(r + 24, zero, 8);
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_US, "Y", r, 64), 4);
    assert_memory_equal(r, us_y, 8);
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_DE, "@", r, 64), 4);
    assert_memory_equal(r, de_at, 8);
    /* German '^' is a dead key: key, release, Space, release, Enter. */
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_DE, "^", r, 64), 6);
    assert_int_equal(r[2], 0x35);
    assert_int_equal(r[18], 0x2C);
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_US, "", r, 64), 2);
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_US, "\t", r, 64), ERR_INVALID);
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_US, "\xc3\xa4", r, 64), ERR_INVALID);
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_US, "RR473124829GB", r, 27), ERR_FULL);
    assert_int_equal(scan_kbd_encode(SCAN_LAYOUT_US, "RR473124829GB", r, 28), 28);
}

static void test_layout_names(void **state)
{
    enum scan_layout l = SCAN_LAYOUT_US;

    (void)state;
    assert_string_equal(scan_layout_name(SCAN_LAYOUT_US), "us");
    assert_string_equal(scan_layout_name(SCAN_LAYOUT_DE), "de");
    assert_string_equal(scan_layout_name((enum scan_layout)7), "unknown");
    assert_int_equal(scan_layout_parse("de", &l), 0);
    assert_int_equal(l, SCAN_LAYOUT_DE);
    assert_int_equal(scan_layout_parse("us", &l), 0);
    assert_int_equal(l, SCAN_LAYOUT_US);
    assert_int_equal(scan_layout_parse("fr", &l), ERR_PARSE);
    assert_int_equal(scan_layout_parse("", &l), ERR_PARSE);
    assert_int_equal(scan_layout_parse(NULL, &l), ERR_PARSE);
    assert_int_equal(l, SCAN_LAYOUT_US);
    assert_int_equal(scan_layout_char(SCAN_LAYOUT_DE, 0x1C, 0, NULL), 'z');
    assert_int_equal(scan_layout_char(SCAN_LAYOUT_US, 0x1C, 0, NULL), 'y');
    assert_int_equal(scan_layout_char(SCAN_LAYOUT_US, 0x1C, 0x08, NULL), 0);
    assert_int_equal(scan_layout_char((enum scan_layout)7, 0x1C, 0, NULL), 0);
}

/* ---- HID POS cases ---- */

#define QR150                                                                  \
    "HTTPS://TRACK.EXAMPLE.RU/P?ID=RR473124829GB&TO=HARBIN-MOSCOW&W=1.25KG&"   \
    "REF=0123456789ABCDEF0123456789ABCDEF&SIG=ZYXWVUTSRQPONMLKJIHGFEDCBA987654" \
    "3210XYZ"

struct pstep {
    const char *aim;     /* 3 chars or NULL */
    const char *data;
    int n;               /* data bytes; -1: strlen */
    bool more;
    int patch_at;        /* byte to overwrite after building, 0 for none */
    uint8_t patch;
    size_t len;          /* bytes fed, 0 means 64 */
    int rc;              /* expected return */
    const char *scan;    /* expected text when rc is 1 */
    const char *sym;     /* expected symbology when rc is 1 */
    const char *errfrag; /* expected error substring when rc < 0 */
};

struct pcase {
    const char *name;
    struct pstep steps[6];
    size_t nsteps;
    uint64_t refused, dropped;
};

static const struct pcase pcases[] = {
    {"single report", {{"]C0", "RR473124829GB", -1, .rc = 1, .scan = "RR473124829GB", .sym = "]C0"}},
     1, 0, 0},
    {"no AIM id", {{NULL, "LP00123456789012", -1, .rc = 1, .scan = "LP00123456789012", .sym = ""}},
     1, 0, 0},
    {"AIM id not starting with ]",
     {{"C0X", "ABC", -1, .rc = 1, .scan = "ABC", .sym = ""}}, 1, 0, 0},
    {"150-char QR in three reports",
     {{"]Q1", QR150, 56, true, .rc = 0},
      {"]Q1", &QR150[56], 56, true, .rc = 0},
      {"]Q1", &QR150[112], -1, .rc = 1, .scan = QR150, .sym = "]Q1"}},
     3, 0, 0},
    {"bad report id",
     {{"]C0", "AB", -1, .patch_at = 0, .patch = 1, .rc = ERR_INVALID,
       .errfrag = "byte 0: report id 1, expected 2"},
      {"]C0", "CD", -1, .rc = 1, .scan = "CD", .sym = "]C0"}},
     2, 1, 0},
    {"count over 56 drops the partial scan",
     {{"]Q1", QR150, 56, true, .rc = 0},
      {"]Q1", &QR150[56], 56, true, .patch_at = 1, .patch = 60, .rc = ERR_INVALID,
       .errfrag = "byte 1: count 60 over 56"},
      {"]Q1", "TAIL", -1, .rc = 1, .scan = "TAIL", .sym = "]Q1"}},
     3, 1, 0},
    {"non-printable data",
     {{"]C1", "0104601234567893\x1d" "10ABC", -1, .rc = ERR_INVALID,
       .errfrag = "byte 21: data 0x1D not printable"},
      {"]C1", "AB", -1, .patch_at = 6, .patch = 0xFF, .rc = ERR_INVALID,
       .errfrag = "byte 6: data 0xFF not printable"}},
     2, 2, 0},
    {"bytes past the count are not checked",
     {{"]E0", "4006381333931", -1, .patch_at = 40, .patch = 0xFF, .rc = 1,
       .scan = "4006381333931", .sym = "]E0"}},
     1, 0, 0},
    {"wrong lengths",
     {{"]C0", "AB", -1, .len = 63, .rc = ERR_INVALID, .errfrag = "length 63, expected 64"},
      {"]C0", "AB", -1, .len = 8, .rc = ERR_INVALID, .errfrag = "length 8"}},
     2, 2, 0},
    {"continuation interrupted by a fresh start",
     {{"]Q1", QR150, 56, true, .rc = 0},
      {"]C0", "RR473124829GB", -1, .rc = 1, .scan = "RR473124829GB", .sym = "]C0"}},
     2, 0, 1},
    {"empty last report ends a sequence",
     {{"]d2", "ABC", -1, true, .rc = 0}, {"]d2", "", -1, .rc = 1, .scan = "ABC", .sym = "]d2"}},
     2, 0, 0},
    {"empty scan", {{"]C0", "", -1, .rc = 0}}, 1, 0, 0},
    {"overflow dropped at the last report",
     {{"]Q1", QR150, 56, true, .rc = 0}, {"]Q1", QR150, 56, true, .rc = 0},
      {"]Q1", QR150, 56, true, .rc = 0}, {"]Q1", QR150, 56, true, .rc = 0},
      {"]Q1", QR150, 56, false, .rc = 0},
      {"]Q1", "NEXT", -1, .rc = 1, .scan = "NEXT", .sym = "]Q1"}},
     6, 0, 1},
};

static void build_pos(const struct pstep *s, uint8_t r[SCAN_POS_REPORT_LEN + 1])
{
    size_t n = s->n < 0 ? strlen(s->data) : (size_t)s->n;

    memset(r, 0, SCAN_POS_REPORT_LEN + 1);
    r[0] = 2;
    r[1] = (uint8_t)n;
    if (s->aim != NULL)
        memcpy(r + 2, s->aim, 3);
    memcpy(r + 5, s->data, n);
    r[63] = s->more ? 1 : 0;
    if (s->patch_at > 0 || s->patch != 0)
        r[s->patch_at] = s->patch;
}

static void test_pos_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
        const struct pcase *c = &pcases[i];
        struct scan_pos_decoder d;

        scan_pos_init(&d);
        for (size_t j = 0; j < c->nsteps; j++) {
            const struct pstep *s = &c->steps[j];
            uint8_t r[SCAN_POS_REPORT_LEN + 1];
            struct scan_read out;
            struct err e;
            int rc;

            build_pos(s, r);
            err_clear(&e);
            rc = scan_pos_feed(&d, r, s->len ? s->len : SCAN_POS_REPORT_LEN, &out, &e);
            if (rc != s->rc)
                fail_msg("%s: step %zu: rc %d, expected %d (%s)", c->name, j, rc, s->rc, e.msg);
            if (rc == 1) {
                if (strcmp(out.text, s->scan) != 0)
                    fail_msg("%s: step %zu: \"%s\", expected \"%s\"", c->name, j, out.text,
                             s->scan);
                assert_int_equal(out.len, strlen(s->scan));
                assert_string_equal(out.symbology, s->sym);
            }
            if (s->errfrag != NULL && strstr(e.msg, s->errfrag) == NULL)
                fail_msg("%s: step %zu: error \"%s\" lacks \"%s\"", c->name, j, e.msg, s->errfrag);
        }
        if (d.refused != c->refused || d.dropped != c->dropped)
            fail_msg("%s: refused %llu dropped %llu", c->name, (unsigned long long)d.refused,
                     (unsigned long long)d.dropped);
        assert_int_equal(d.reports, c->nsteps);
    }
}

static void test_pos_encode_roundtrip(void **state)
{
    uint8_t r[4 * SCAN_POS_REPORT_LEN];
    struct scan_pos_decoder d;
    struct scan_read out;
    int n;

    (void)state;
    assert_int_equal(strlen(QR150), 150);
    n = scan_pos_encode("]Q1", QR150, r, 4);
    assert_int_equal(n, 3);
    assert_int_equal(r[1], 56);
    assert_int_equal(r[63], 1);
    assert_int_equal(r[64 + 63], 1);
    assert_int_equal(r[128 + 1], 150 - 112);
    assert_int_equal(r[128 + 63], 0);
    scan_pos_init(&d);
    assert_int_equal(scan_pos_feed(&d, r, 64, &out, NULL), 0);
    assert_int_equal(scan_pos_feed(&d, r + 64, 64, &out, NULL), 0);
    assert_int_equal(scan_pos_feed(&d, r + 128, 64, &out, NULL), 1);
    assert_string_equal(out.text, QR150);
    assert_string_equal(out.symbology, "]Q1");
    assert_int_equal(scan_pos_encode(NULL, "", r, 4), 1);
    assert_int_equal(r[1], 0);
    assert_int_equal(r[2], 0);
    assert_int_equal(scan_pos_encode("]Q", "A", r, 4), ERR_INVALID);
    assert_int_equal(scan_pos_encode("]Q1", QR150, r, 2), ERR_FULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kbd_cases),
        cmocka_unit_test(test_kbd_overflow),
        cmocka_unit_test(test_kbd_roundtrip_all_ascii),
        cmocka_unit_test(test_kbd_encode),
        cmocka_unit_test(test_layout_names),
        cmocka_unit_test(test_pos_cases),
        cmocka_unit_test(test_pos_encode_roundtrip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-spool-payload.c - the records in the event writer's spool frames
 * (wcs/store/spool_payload.h): an event, a telegram and a group written and
 * read back field by field, and each payload that does not fit refused
 * whole with nothing appended (table-driven).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wcs/store/spool_payload.h"

static void sample_event(struct wcs_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->id = 1001;
    ev->at_us = 1790000000000000;
    ev->kind = WCS_EVENT_DECISION;
    snprintf(ev->parcel_code, sizeof(ev->parcel_code), "RR473124829CN");
    snprintf(ev->location, sizeof(ev->location), "SCAN01");
    snprintf(ev->chute, sizeof(ev->chute), "CH012");
    snprintf(ev->reason, sizeof(ev->reason), "OK______");
    snprintf(ev->source, sizeof(ev->source), "PLC01");
    snprintf(ev->detail, sizeof(ev->detail), "route RU-MOW-AIR plan v3");
}

static void sample_telegram(struct wcs_telegram_rec *tg)
{
    memset(tg, 0, sizeof(*tg));
    tg->id = 1002;
    tg->at_us = 1790000000000001;
    snprintf(tg->plc, sizeof(tg->plc), "PLC01");
    tg->direction = 'i';
    snprintf(tg->type, sizeof(tg->type), "REQ_");
    tg->seq = 42;
    tg->refused = true;
    tg->raw_len = (size_t)snprintf(tg->raw, sizeof(tg->raw), "\x02REQ_00042...\x03");
}

static void test_records_read_back(void **state)
{
    unsigned char buf[WCS_PAYLOAD_GROUP_MAX];
    struct wcs_event ev, evs[WCS_EVENT_GROUP_MAX];
    struct wcs_telegram_rec tg, tgs[WCS_EVENT_GROUP_MAX];
    struct wcs_payload_group g;
    size_t len, nev = 0, ntg = 0;

    (void)state;
    sample_event(&ev);
    sample_telegram(&tg);
    len = wcs_payload_put_event(buf, &ev);
    assert_int_equal(wcs_payload_records(buf, len), 1);
    assert_int_equal(wcs_payload_decode(buf, len, evs, &nev, tgs, &ntg), 1);
    assert_int_equal(nev, 1);
    assert_memory_equal(&evs[0], &ev, sizeof(ev));
    len = wcs_payload_put_telegram(buf, &tg);
    assert_int_equal(wcs_payload_decode(buf, len, evs, &nev, tgs, &ntg), 1);
    assert_int_equal(ntg, 1);
    assert_memory_equal(&tgs[0], &tg, sizeof(tg));
    /* A telegram and the events it caused, appended behind what is there. */
    wcs_payload_group_start(&g, buf);
    wcs_payload_group_add(&g, wcs_payload_put_telegram(wcs_payload_group_at(&g), &tg));
    wcs_payload_group_add(&g, wcs_payload_put_event(wcs_payload_group_at(&g), &ev));
    ev.id++;
    len = wcs_payload_group_add(&g, wcs_payload_put_event(wcs_payload_group_at(&g), &ev));
    assert_int_equal(wcs_payload_records(buf, len), 3);
    assert_int_equal(wcs_payload_decode(buf, len, evs, &nev, tgs, &ntg), 3);
    assert_int_equal(nev, 3);
    assert_int_equal(ntg, 2);
    assert_int_equal(evs[1].id, 1001);
    assert_memory_equal(&evs[2], &ev, sizeof(ev));
    assert_memory_equal(&tgs[1], &tg, sizeof(tg));
}

/* Payloads as C strings (their length from the literal: they hold NULs). */
struct bad_case {
    const char *what;
    const char *bytes;
    size_t len;
};

#define BYTES(lit) (const unsigned char *)(lit), sizeof(lit) - 1
#define CASE(what, lit)                                                                            \
    {                                                                                              \
        what, lit, sizeof(lit) - 1                                                                 \
    }
#define ID8 "\x01\0\0\0\0\0\0\0"
#define AT8 "\0\0\0\0\0\0\0\0"
/* An event after its tag: kind 1, parcel code "RR", five empty strings
 * (26 bytes with the tag, 0x1a). */
#define EVENT ID8 AT8 "\x01\x02RR\0\0\0\0\0"
/* A telegram after its tag: 'i', refused, seq 42, PLC01, REQ_, raw "X". */
#define TELEGRAM ID8 AT8 "i\x01\x2a\0\0\0\x05PLC01\x04REQ_\x01\0X"

static void test_bad_payloads(void **state)
{
    static const struct bad_case bad[] = {
        CASE("empty", ""),
        CASE("unknown tag", "X" EVENT),
        {"event cut short", "E" EVENT, sizeof("E" EVENT) - 2},
        CASE("event with a byte left over", "E" EVENT "\0"),
        CASE("event id 0", "E\0\0\0\0\0\0\0\0" AT8 "\x01\x02RR\0\0\0\0\0"),
        CASE("event kind out of range", "E" ID8 AT8 "\x09\x02RR\0\0\0\0\0"),
        CASE("parcel code longer than its field", "E" ID8 AT8 "\x01\x21RR\0\0\0\0\0"),
        {"telegram cut short", "T" TELEGRAM, sizeof("T" TELEGRAM) - 2},
        CASE("telegram raw length past the end",
             "T" ID8 AT8 "i\x01\x2a\0\0\0\x05PLC01\x04REQ_\x02\0X"),
        CASE("telegram direction x", "T" ID8 AT8 "x\x01\x2a\0\0\0\x05PLC01\x04REQ_\x01\0X"),
        CASE("group of none", "G\x00"),
        CASE("group of 17", "G\x11"),
        CASE("group of 2 holding 1", "G\x02\x1a\0E" EVENT),
        CASE("group with a byte left over", "G\x01\x1a\0E" EVENT "\0"),
        CASE("group whose second record is bad", "G\x02\x1a\0E" EVENT "\x1a\0X" EVENT),
        CASE("group record length past the end", "G\x01\x1b\0E" EVENT),
    };
    struct wcs_event evs[WCS_EVENT_GROUP_MAX];
    struct wcs_telegram_rec tgs[WCS_EVENT_GROUP_MAX];
    size_t i, nev = 0, ntg = 0;

    (void)state;
    /* The valid forms the table breaks. */
    assert_int_equal(wcs_payload_decode(BYTES("E" EVENT), evs, &nev, tgs, &ntg), 1);
    assert_string_equal(evs[0].parcel_code, "RR");
    assert_int_equal(wcs_payload_decode(BYTES("T" TELEGRAM), evs, &nev, tgs, &ntg), 1);
    assert_string_equal(tgs[0].raw, "X");
    assert_int_equal(
        wcs_payload_decode(BYTES("G\x02\x1a\0E" EVENT "\x1a\0E" EVENT), evs, &nev, tgs, &ntg), 2);
    assert_int_equal(nev, 3);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nev = ntg = 1;
        if (wcs_payload_decode((const unsigned char *)bad[i].bytes, bad[i].len, evs, &nev, tgs,
                               &ntg) != ERR_PARSE ||
            nev != 1 || ntg != 1)
            fail_msg("case %zu (%s): not refused whole", i, bad[i].what);
    }
    assert_int_equal(wcs_payload_records(BYTES("G\x11")), 1);
    assert_int_equal(wcs_payload_records(BYTES("G\x10")), 16);
    assert_int_equal(wcs_payload_records(BYTES("E" EVENT)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_read_back),
        cmocka_unit_test(test_bad_payloads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

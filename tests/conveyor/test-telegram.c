/*
 * test-telegram.c - the PLC telegram codec (conveyor/telegram.c).
 *
 * Cases are data (curl style): the example telegrams of docs/plc-protocol.md
 * (fields in, exact wire bytes out, and back), refusals (wire bytes in, ERR_
 * code and reason text out), format errors (fields in, ERR_INVALID out).
 * The examples in the document are the strings below; run this program with
 * WCS_PRINT_EXAMPLES=1 to print what the formatter makes of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conveyor/telegram.h"

#define L 160

static void header(struct conv_telegram *t, const char *from, const char *to, uint32_t seq,
                   enum conv_tg_type type)
{
    memset(t, 0, sizeof(*t));
    t->length = L;
    strcpy(t->sender, from);
    strcpy(t->receiver, to);
    t->seq = seq;
    t->type = type;
}

static void set_req(struct conv_telegram *t, enum conv_barcode kind, const char *code)
{
    header(t, "PLC01", "WCS01", 42, CONV_TG_REQ);
    strcpy(t->u.req.tracking, "0001234567");
    strcpy(t->u.req.location, "SCAN01");
    t->u.req.barcode_kind = kind;
    strcpy(t->u.req.barcode, code);
    t->u.req.weight_g = 1250;
    t->u.req.length_mm = 300;
    t->u.req.width_mm = 200;
    t->u.req.height_mm = 150;
    strcpy(t->u.req.time, "20261123140901");
}

static void ex_req(struct conv_telegram *t)
{
    set_req(t, CONV_BARCODE_CODE, "RR473124829GB");
}

static void ex_req_noread(struct conv_telegram *t)
{
    set_req(t, CONV_BARCODE_NOREAD, "");
}

static void ex_req_nobarcode(struct conv_telegram *t)
{
    set_req(t, CONV_BARCODE_ABSENT, "");
    t->u.req.weight_g = t->u.req.length_mm = t->u.req.width_mm = t->u.req.height_mm = -1;
}

static void ex_res(struct conv_telegram *t)
{
    header(t, "WCS01", "PLC01", 17, CONV_TG_RES);
    strcpy(t->u.res.tracking, "0001234567");
    t->u.res.req_seq = 42;
    strcpy(t->u.res.location, "SCAN01");
    t->u.res.barcode_kind = CONV_BARCODE_CODE;
    strcpy(t->u.res.barcode, "RR473124829GB");
    strcpy(t->u.res.destination, "CH017");
    t->u.res.reason = CONV_REASON_OK;
    strcpy(t->u.res.time, "20261123140901");
}

static void ex_res_noread(struct conv_telegram *t)
{
    ex_res(t);
    t->u.res.barcode_kind = CONV_BARCODE_NOREAD;
    memset(t->u.res.barcode, 0, sizeof(t->u.res.barcode));
    strcpy(t->u.res.destination, "CH099");
    t->u.res.reason = CONV_REASON_NOREAD;
}

static void ex_upd(struct conv_telegram *t)
{
    header(t, "PLC01", "WCS01", 43, CONV_TG_UPD);
    strcpy(t->u.upd.tracking, "0001234567");
    strcpy(t->u.upd.location, "CH017");
    t->u.upd.barcode_kind = CONV_BARCODE_CODE;
    strcpy(t->u.upd.barcode, "RR473124829GB");
    t->u.upd.event = CONV_UPD_SORTED;
    strcpy(t->u.upd.time, "20261123140909");
}

static void ex_locu(struct conv_telegram *t)
{
    header(t, "PLC01", "WCS01", 44, CONV_TG_LOCU);
    strcpy(t->u.locu.location, "CH017");
    t->u.locu.state = CONV_LOC_FULL;
    strcpy(t->u.locu.time, "20261123140915");
}

static void ex_sysu(struct conv_telegram *t)
{
    header(t, "PLC01", "WCS01", 45, CONV_TG_SYSU);
    strcpy(t->u.sysu.line, "LINE1");
    t->u.sysu.state = CONV_LINE_RUNNING;
    t->u.sysu.speed_mm_s = 2000;
    strcpy(t->u.sysu.time, "20261123140920");
}

static void ex_ack(struct conv_telegram *t)
{
    header(t, "WCS01", "PLC01", 18, CONV_TG_ACK);
    t->u.ack.acked_type = CONV_TG_UPD;
    t->u.ack.acked_seq = 43;
    t->u.ack.duplicate = false;
    strcpy(t->u.ack.time, "20261123140909");
}

static void ex_ack_dup(struct conv_telegram *t)
{
    ex_ack(t);
    t->u.ack.duplicate = true;
}

static void ex_err(struct conv_telegram *t)
{
    header(t, "WCS01", "PLC01", 19, CONV_TG_ERR);
    t->u.err.has_refused = true;
    strcpy(t->u.err.refused_type, "REQ_");
    t->u.err.refused_seq = 46;
    strcpy(t->u.err.code, CONV_ERR_BAD_FIELD);
    strcpy(t->u.err.text, "weight_g not numeric");
    strcpy(t->u.err.time, "20261123140930");
}

static void ex_err_sync(struct conv_telegram *t)
{
    header(t, "WCS01", "PLC01", 20, CONV_TG_ERR);
    t->u.err.has_refused = false;
    strcpy(t->u.err.code, CONV_ERR_BAD_SYNC);
    strcpy(t->u.err.text, "skipped 37 bytes of garbage");
    strcpy(t->u.err.time, "20261123140931");
}

static void ex_life(struct conv_telegram *t)
{
    header(t, "WCS01", "PLC01", 21, CONV_TG_LIFE);
    strcpy(t->u.life.time, "20261123140936");
}

/* Max values and every optional field absent or at its limit. */
static void ex_req_max(struct conv_telegram *t)
{
    header(t, "ABCDE", "VWXYZ", 99999, CONV_TG_REQ);
    strcpy(t->u.req.tracking, "9999999999");
    strcpy(t->u.req.location, "LOCATION-20-CHARS-XY");
    t->u.req.barcode_kind = CONV_BARCODE_CODE;
    strcpy(t->u.req.barcode, "BARCODE-OF-20-CHARS!");
    t->u.req.weight_g = 999999;
    t->u.req.length_mm = t->u.req.width_mm = t->u.req.height_mm = 9999;
    strcpy(t->u.req.status, "FAULT#17");
    strcpy(t->u.req.time, "20241231235959");
}

static void ex_sysu_absent(struct conv_telegram *t)
{
    header(t, "PLC01", "WCS01", 1, CONV_TG_SYSU);
    strcpy(t->u.sysu.line, "L");
    t->u.sysu.state = CONV_LINE_ESTOP;
    t->u.sysu.speed_mm_s = -1;
}

static void ex_res_leap(struct conv_telegram *t)
{
    ex_res(t);
    t->u.res.req_seq = 99999;
    t->u.res.barcode_kind = CONV_BARCODE_ABSENT;
    memset(t->u.res.barcode, 0, sizeof(t->u.res.barcode));
    memset(t->u.res.destination, 0, sizeof(t->u.res.destination));
    t->u.res.reason = CONV_REASON_INVALID;
    strcpy(t->u.res.time, "20240229000000");
}

static void ex_err_noseq(struct conv_telegram *t)
{
    header(t, "PLC01", "WCS01", 7, CONV_TG_ERR);
    t->u.err.has_refused = true;
    strcpy(t->u.err.refused_type, "XYZ");
    t->u.err.refused_seq = 0;
    strcpy(t->u.err.code, "00000099");
}

struct example {
    const char *name;
    void (*build)(struct conv_telegram *t);
    const char *wire;
};

/* The document's examples (docs/plc-protocol.md), then edge cases. */
static const struct example examples[] = {
    {"REQ_", ex_req,
     "###00160PLC01WCS0100042REQ_0001234567SCAN01**************RR473124829GB*******001250030002000"
     "150********20261123140901*******************************************"},
    {"REQ_ no-read", ex_req_noread,
     "###00160PLC01WCS0100042REQ_0001234567SCAN01**************????????????????????001250030002000"
     "150********20261123140901*******************************************"},
    {"REQ_ without PLC barcode", ex_req_nobarcode,
     "###00160PLC01WCS0100042REQ_0001234567SCAN01*************************************************"
     "***********20261123140901*******************************************"},
    {"RES_", ex_res,
     "###00160WCS01PLC0100017RES_000123456700042SCAN01**************RR473124829GB*******CH017*****"
     "**********OK______20261123140901************************************"},
    {"RES_ no-read", ex_res_noread,
     "###00160WCS01PLC0100017RES_000123456700042SCAN01**************????????????????????CH099*****"
     "**********NOREAD__20261123140901************************************"},
    {"UPD_", ex_upd,
     "###00160PLC01WCS0100043UPD_0001234567CH017***************RR473124829GB*******SORTED__2026112"
     "3140909*************************************************************"},
    {"LOCU", ex_locu,
     "###00160PLC01WCS0100044LOCUCH017***************FULL____20261123140915***********************"
     "********************************************************************"},
    {"SYSU", ex_sysu,
     "###00160PLC01WCS0100045SYSULINE1***************RUNNING_0200020261123140920******************"
     "********************************************************************"},
    {"ACK_", ex_ack,
     "###00160WCS01PLC0100018ACK_UPD_00043OK______20261123140909**********************************"
     "********************************************************************"},
    {"ACK_ duplicate", ex_ack_dup,
     "###00160WCS01PLC0100018ACK_UPD_00043DUPLIC__20261123140909**********************************"
     "********************************************************************"},
    {"ERR_", ex_err,
     "###00160WCS01PLC0100019ERR_REQ_0004600000012weight_g not numeric********************20261123"
     "140930**************************************************************"},
    {"ERR_ bad sync", ex_err_sync,
     "###00160WCS01PLC0100020ERR_*********00000013skipped 37 bytes of garbage*************20261123"
     "140931**************************************************************"},
    {"LIFE", ex_life,
     "###00160WCS01PLC0100021LIFE20261123140936***************************************************"
     "********************************************************************"},
    {"REQ_ max", ex_req_max,
     "###00160ABCDEVWXYZ99999REQ_9999999999LOCATION-20-CHARS-XYBARCODE-OF-20-CHARS!999999999999999"
     "999FAULT#1720241231235959*******************************************"},
    {"SYSU absent", ex_sysu_absent,
     "###00160PLC01WCS0100001SYSUL*******************ESTOP___*************************************"
     "********************************************************************"},
    {"RES_ leap day", ex_res_leap,
     "###00160WCS01PLC0100017RES_000123456799999SCAN01********************************************"
     "**********INVALID_20240229000000************************************"},
    {"ERR_ type without seq", ex_err_noseq,
     "###00160PLC01WCS0100007ERR_XYZ******00000099************************************************"
     "********************************************************************"},
};

static void test_examples_exact(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        struct conv_telegram t, back;
        struct conv_tg_refusal why;
        struct err e = {0};
        char wire[L + 1];
        int rc;

        examples[i].build(&t);
        rc = conv_tg_format(&t, L, wire, &e);
        if (rc != 0)
            fail_msg("%s: format failed: %s", examples[i].name, e.msg);
        wire[L] = '\0';
        assert_int_equal(strlen(examples[i].wire), L);
        if (strcmp(wire, examples[i].wire) != 0)
            fail_msg("%s:\n got  %s\n want %s", examples[i].name, wire, examples[i].wire);
        /* parse is the exact inverse of format */
        rc = conv_tg_parse(wire, L, L, &back, &why, &e);
        if (rc != 0)
            fail_msg("%s: parse failed: %s", examples[i].name, e.msg);
        if (memcmp(&t, &back, sizeof(t)) != 0)
            fail_msg("%s: parse(format(t)) differs from t", examples[i].name);
    }
}

/* A longer L only adds fill. */
static void test_other_lengths(void **state)
{
    size_t Ls[] = {CONV_TG_LEN_MIN, 200, CONV_TG_LEN_MAX};
    size_t i, k;

    (void)state;
    for (k = 0; k < 3; k++) {
        for (i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
            struct conv_telegram t, back;
            struct conv_tg_refusal why;
            char wire[CONV_TG_LEN_MAX], w2[CONV_TG_LEN_MAX];

            examples[i].build(&t);
            t.length = (uint32_t)Ls[k];
            assert_int_equal(conv_tg_format(&t, Ls[k], wire, NULL), 0);
            assert_int_equal(conv_tg_parse(wire, Ls[k], Ls[k], &back, &why, NULL), 0);
            assert_memory_equal(&t, &back, sizeof(t));
            assert_int_equal(conv_tg_format(&back, Ls[k], w2, NULL), 0);
            assert_memory_equal(wire, w2, Ls[k]);
            /* The body is the same as at 160; only the fill differs. */
            assert_memory_equal(wire + 8, examples[i].wire + 8, 128 - 8);
        }
    }
}

/* --- refusals: bytes in, ERR_ code and text out ----------------------------- */

struct refusal_case {
    const char *name;
    int base;            /* index into examples[] */
    size_t off;          /* where to overwrite */
    const char *with;    /* bytes to write there (NUL not included) */
    size_t wlen;         /* 0: strlen(with) */
    const char *code;
    const char *text;    /* exact why->text */
    const char *type;    /* exact why->type */
    long seq;            /* why->seq, -1 = !has_seq */
};

#define REQ_I 0
#define RES_I 3
#define UPD_I 5
#define LOCU_I 6
#define SYSU_I 7
#define ACK_I 8
#define ERR_I 10

static const struct refusal_case refusals[] = {
    {"length field short", REQ_I, 3, "00150", 0, CONV_ERR_BAD_LENGTH,
     "length field not telegram length", "REQ_", 42},
    {"length field not numeric", REQ_I, 3, "0016A", 0, CONV_ERR_BAD_LENGTH,
     "length field not telegram length", "REQ_", 42},
    {"length field beats type", REQ_I, 3, "00161XXXXXXXXXXXXXXXXXXXX", 0, CONV_ERR_BAD_LENGTH,
     "length field not telegram length", "XXXX", -1},
    {"unknown type", REQ_I, 23, "XYZ_", 0, CONV_ERR_UNKNOWN_TYPE, "unknown type", "XYZ_", 42},
    {"lower-case type", REQ_I, 23, "req_", 0, CONV_ERR_UNKNOWN_TYPE, "unknown type", "req_", 42},
    {"type with control byte", REQ_I, 23, "RE\x01_", 0, CONV_ERR_UNKNOWN_TYPE, "unknown type", "",
     42},
    {"type right-padded", REQ_I, 23, "RE**", 0, CONV_ERR_UNKNOWN_TYPE, "unknown type", "RE", 42},
    {"type not left-aligned", REQ_I, 23, "*EQ_", 0, CONV_ERR_UNKNOWN_TYPE, "unknown type", "", 42},
    {"bad sync", REQ_I, 0, "##X", 0, CONV_ERR_BAD_SYNC, "no sync at telegram start", "REQ_", 42},
    {"seq 00000", REQ_I, 18, "00000", 0, CONV_ERR_BAD_FIELD, "seq 00000 invalid", "REQ_", -1},
    {"seq not numeric", REQ_I, 18, "0004A", 0, CONV_ERR_BAD_FIELD, "seq not numeric", "REQ_", -1},
    {"seq absent", REQ_I, 18, "*****", 0, CONV_ERR_BAD_FIELD, "seq not numeric", "REQ_", -1},
    {"sender absent", REQ_I, 8, "*****", 0, CONV_ERR_BAD_FIELD, "sender missing", "REQ_", 42},
    {"sender padded left", REQ_I, 8, "*LC01", 0, CONV_ERR_BAD_FIELD, "sender not left-aligned",
     "REQ_", 42},
    {"receiver absent", REQ_I, 13, "*****", 0, CONV_ERR_BAD_FIELD, "receiver missing", "REQ_", 42},
    {"control byte in barcode", REQ_I, 60, "\n", 0, CONV_ERR_BAD_FIELD, "barcode bad character",
     "REQ_", 42},
    {"DEL in fill", REQ_I, 159, "\x7f", 0, CONV_ERR_BAD_FIELD, "fill bad character", "REQ_", 42},
    {"NUL in tracking", REQ_I, 27, "\0", 1, CONV_ERR_BAD_FIELD, "tracking bad character", "REQ_",
     42},
    {"high byte in header", REQ_I, 10, "\xc3", 0, CONV_ERR_BAD_FIELD, "sender bad character",
     "REQ_", 42},
    {"weight not numeric", REQ_I, 77, "12A456", 0, CONV_ERR_BAD_FIELD, "weight_g not numeric",
     "REQ_", 42},
    {"weight half absent", REQ_I, 77, "123***", 0, CONV_ERR_BAD_FIELD, "weight_g not numeric",
     "REQ_", 42},
    {"weight with space", REQ_I, 77, " 12345", 0, CONV_ERR_BAD_FIELD, "weight_g not numeric",
     "REQ_", 42},
    {"height not numeric", REQ_I, 91, "1-50", 0, CONV_ERR_BAD_FIELD, "height_mm not numeric",
     "REQ_", 42},
    {"tracking absent", REQ_I, 27, "**********", 0, CONV_ERR_BAD_FIELD, "tracking missing", "REQ_",
     42},
    {"location not left-aligned", REQ_I, 37, "*CAN01", 0, CONV_ERR_BAD_FIELD,
     "location not left-aligned", "REQ_", 42},
    {"star inside barcode", REQ_I, 57, "RR47*124829GB", 0, CONV_ERR_BAD_FIELD,
     "barcode not left-aligned", "REQ_", 42},
    {"month 13", REQ_I, 103, "20261323140901", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"month 00", REQ_I, 103, "20260023140901", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"day 00", REQ_I, 103, "20261100140901", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"31 April", REQ_I, 103, "20260431140901", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"29 Feb 2026", REQ_I, 103, "20260229140901", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"29 Feb 2100", REQ_I, 103, "21000229140901", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"hour 24", REQ_I, 103, "20261123240000", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"minute 60", REQ_I, 103, "20261123146000", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"second 60", REQ_I, 103, "20261123140960", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"time half absent", REQ_I, 103, "20261123******", 0, CONV_ERR_BAD_FIELD,
     "time not a valid yyyyMMddHHmmss", "REQ_", 42},
    {"fill not star", REQ_I, 130, "X", 0, CONV_ERR_BAD_FIELD, "fill after last field not filler",
     "REQ_", 42},
    {"fill space at end", REQ_I, 159, " ", 0, CONV_ERR_BAD_FIELD,
     "fill after last field not filler", "REQ_", 42},
    {"req_seq 00000", RES_I, 37, "00000", 0, CONV_ERR_BAD_FIELD, "req_seq 00000 invalid", "RES_",
     17},
    {"req_seq absent", RES_I, 37, "*****", 0, CONV_ERR_BAD_FIELD, "req_seq missing", "RES_", 17},
    {"reason unknown", RES_I, 102, "OK_____*", 0, CONV_ERR_BAD_FIELD, "reason unknown value",
     "RES_", 17},
    {"reason absent", RES_I, 102, "********", 0, CONV_ERR_BAD_FIELD, "reason unknown value",
     "RES_", 17},
    {"event unknown", UPD_I, 77, "SORTED**", 0, CONV_ERR_BAD_FIELD, "event unknown value", "UPD_",
     43},
    {"loc state unknown", LOCU_I, 47, "EMPTY___", 0, CONV_ERR_BAD_FIELD, "state unknown value",
     "LOCU", 44},
    {"location absent", LOCU_I, 27, "********************", 0, CONV_ERR_BAD_FIELD,
     "location missing", "LOCU", 44},
    {"line state unknown", SYSU_I, 47, "RUNNING*", 0, CONV_ERR_BAD_FIELD, "state unknown value",
     "SYSU", 45},
    {"speed not numeric", SYSU_I, 55, "2000*", 0, CONV_ERR_BAD_FIELD, "speed_mm_s not numeric",
     "SYSU", 45},
    {"ack of a REQ_", ACK_I, 27, "REQ_", 0, CONV_ERR_BAD_FIELD, "acked_type unknown value",
     "ACK_", 18},
    {"ack of nonsense", ACK_I, 27, "ABCD", 0, CONV_ERR_BAD_FIELD, "acked_type unknown value",
     "ACK_", 18},
    {"acked_seq absent", ACK_I, 31, "*****", 0, CONV_ERR_BAD_FIELD, "acked_seq missing", "ACK_",
     18},
    {"ack result unknown", ACK_I, 36, "NOK_____", 0, CONV_ERR_BAD_FIELD, "result unknown value",
     "ACK_", 18},
    {"err code not numeric", ERR_I, 36, "0000001A", 0, CONV_ERR_BAD_FIELD, "code not numeric",
     "ERR_", 19},
    {"err code absent", ERR_I, 36, "********", 0, CONV_ERR_BAD_FIELD, "code not numeric", "ERR_",
     19},
    {"err refused_seq 00000", ERR_I, 31, "00000", 0, CONV_ERR_BAD_FIELD,
     "refused_seq 00000 invalid", "ERR_", 19},
    {"err text not left-aligned", ERR_I, 44, "*", 0, CONV_ERR_BAD_FIELD, "text not left-aligned",
     "ERR_", 19},
};

static void test_refusals(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const struct refusal_case *c = &refusals[i];
        struct conv_telegram t, errt;
        struct conv_tg_refusal why;
        struct err e = {0};
        char wire[L], out[L];
        size_t wlen = c->wlen ? c->wlen : strlen(c->with);

        memcpy(wire, examples[c->base].wire, L);
        memcpy(wire + c->off, c->with, wlen);
        if (conv_tg_parse(wire, L, L, &t, &why, &e) != ERR_PARSE)
            fail_msg("%s: parsed, expected a refusal", c->name);
        if (strcmp(why.code, c->code) != 0 || strcmp(why.text, c->text) != 0 ||
            strcmp(why.type, c->type) != 0)
            fail_msg("%s: got code %s text \"%s\" type \"%s\" (%s)", c->name, why.code, why.text,
                     why.type, e.msg);
        if (c->seq < 0)
            assert_false(why.has_seq);
        else if (!why.has_seq || why.seq != (uint32_t)c->seq)
            fail_msg("%s: seq %u has_seq %d", c->name, why.seq, why.has_seq);
        assert_int_equal(e.code, ERR_PARSE);
        assert_true(strlen(e.msg) > strlen(c->text));
        /* The detail never carries raw control bytes into a log. */
        for (size_t k = 0; e.msg[k]; k++)
            assert_true(e.msg[k] >= 0x20 && e.msg[k] < 0x7f);

        /* Whatever was refused, the ERR_ answer can always be formatted. */
        header(&errt, "WCS01", "PLC01", 1, CONV_TG_ERR);
        errt.u.err.has_refused = true;
        strcpy(errt.u.err.refused_type, why.type);
        errt.u.err.refused_seq = why.has_seq ? why.seq : 0;
        strcpy(errt.u.err.code, why.code);
        strcpy(errt.u.err.text, why.text);
        if (conv_tg_format(&errt, L, out, &e) != 0)
            fail_msg("%s: ERR_ answer does not format: %s", c->name, e.msg);
    }
}

static void test_refusal_detail(void **state)
{
    struct conv_telegram t;
    struct conv_tg_refusal why;
    struct err e = {0};
    char wire[L];

    (void)state;
    memcpy(wire, examples[REQ_I].wire, L);
    memcpy(wire + 3, "00150", 5);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, &e), ERR_PARSE);
    assert_string_equal(e.msg, "telegram REQ_ seq 00042: length field not telegram length: "
                               "length field 00150, expected 00160");
    memcpy(wire, examples[REQ_I].wire, L);
    memcpy(wire + 77, "12A456", 6);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, NULL), ERR_PARSE);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, &e), ERR_PARSE);
    assert_string_equal(e.msg, "telegram REQ_ seq 00042: weight_g not numeric: \"12A456\"");
    memcpy(wire, examples[REQ_I].wire, L);
    wire[60] = '\n';
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, &e), ERR_PARSE);
    assert_string_equal(e.msg, "telegram REQ_ seq 00042: barcode bad character: "
                               "byte 0x0a at offset 60, outside 0x20-0x7E");
}

/* A telegram whose length field is right but that arrives under another L,
 * and calls with len != L. */
static void test_length_mismatch(void **state)
{
    struct conv_telegram t;
    struct conv_tg_refusal why;
    char wire[200];

    (void)state;
    memset(wire, '*', sizeof(wire));
    memcpy(wire, examples[REQ_I].wire, L);
    /* configured L = 200, PLC still sends length field 00160 */
    assert_int_equal(conv_tg_parse(wire, 200, 200, &t, &why, NULL), ERR_PARSE);
    assert_string_equal(why.code, CONV_ERR_BAD_LENGTH);
    assert_string_equal(why.type, "REQ_");
    /* len != L is a caller mistake, still answered as bad length */
    assert_int_equal(conv_tg_parse(wire, 159, L, &t, &why, NULL), ERR_PARSE);
    assert_string_equal(why.code, CONV_ERR_BAD_LENGTH);
    /* L outside the supported range */
    assert_int_equal(conv_tg_parse(wire, 100, 100, &t, &why, NULL), ERR_PARSE);
    assert_string_equal(why.code, CONV_ERR_BAD_LENGTH);
    assert_int_equal(conv_tg_parse(wire, 5, L, &t, &why, NULL), ERR_PARSE);
    assert_string_equal(why.type, "");
    assert_false(why.has_seq);
}

/* Things the parser accepts that a stricter reading might not. */
static void test_accepted_edges(void **state)
{
    struct conv_telegram t;
    struct conv_tg_refusal why;
    char wire[L], back[L];

    (void)state;
    /* '#', spaces and '?' are ordinary text characters; only "###" is not
     * (a false sync: refused with 00000012 naming the field) */
    memcpy(wire, examples[REQ_I].wire, L);
    memcpy(wire + 57, "A ?#B##X", 8);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, NULL), 0);
    assert_int_equal(t.u.req.barcode_kind, CONV_BARCODE_CODE);
    assert_string_equal(t.u.req.barcode, "A ?#B##X829GB");
    memcpy(wire + 57, "A ?#B###", 8);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, NULL), ERR_PARSE);
    assert_string_equal(why.code, CONV_ERR_BAD_FIELD);
    assert_string_equal(why.text, "barcode holds a false sync");
    /* 19 '?' and a character: a code, not a no-read */
    memcpy(wire + 57, "???????????????????X", 20);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, NULL), 0);
    assert_int_equal(t.u.req.barcode_kind, CONV_BARCODE_CODE);
    assert_int_equal(conv_tg_format(&t, L, back, NULL), 0);
    assert_memory_equal(wire, back, L);
    /* time absent, all numbers zero */
    memcpy(wire, examples[REQ_I].wire, L);
    memcpy(wire + 77, "000000000000000000", 18);
    memcpy(wire + 103, "**************", 14);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, NULL), 0);
    assert_int_equal(t.u.req.weight_g, 0);
    assert_int_equal(t.u.req.height_mm, 0);
    assert_string_equal(t.u.req.time, "");
    /* ERR_ from a PLC with its own code and only a refused type */
    memcpy(wire, examples[ERR_I].wire, L);
    memcpy(wire + 31, "*****", 5);
    assert_int_equal(conv_tg_parse(wire, L, L, &t, &why, NULL), 0);
    assert_true(t.u.err.has_refused);
    assert_int_equal(t.u.err.refused_seq, 0);
    assert_string_equal(t.u.err.refused_type, "REQ_");
    /* ERR_ with both absent: bad sync */
    assert_int_equal(conv_tg_parse(examples[11].wire, L, L, &t, &why, NULL), 0);
    assert_false(t.u.err.has_refused);
    assert_string_equal(t.u.err.code, CONV_ERR_BAD_SYNC);
}

/* --- format errors --------------------------------------------------------- */

static void test_format_errors(void **state)
{
    struct conv_telegram t;
    struct err e = {0};
    char wire[CONV_TG_LEN_MAX + 1];

    (void)state;
#define BAD(mutate, needle)                                                                         \
    do {                                                                                           \
        ex_req(&t);                                                                                \
        mutate;                                                                                    \
        err_clear(&e);                                                                             \
        assert_int_equal(conv_tg_format(&t, L, wire, &e), ERR_INVALID);                            \
        if (strstr(e.msg, needle) == NULL)                                                         \
            fail_msg("%s: message \"%s\" lacks \"%s\"", #mutate, e.msg, needle);                   \
    } while (0)
    BAD(strcpy(t.u.req.tracking, "12345678901"), "tracking");
    BAD(strcpy(t.u.req.location, "A*B"), "location: character 0x2a");
    BAD(strcpy(t.u.req.location, "A\tB"), "location: character 0x09");
    BAD(t.u.req.location[0] = '\0', "location: missing");
    BAD(strcpy(t.u.req.barcode, "????????????????????"), "no-read mark");
    BAD(t.u.req.barcode_kind = (enum conv_barcode)7, "barcode kind");
    BAD(t.u.req.weight_g = 1000000, "weight_g: 1000000 does not fit 6 digits");
    BAD(t.u.req.length_mm = -2, "length_mm: -2");
    BAD(strcpy(t.u.req.time, "20261323140901"), "time");
    BAD(strcpy(t.u.req.time, "2026"), "time");
    BAD(strcpy(t.u.req.status, "TOOLONG!!"), "status");
    BAD(t.seq = 0, "seq: 0 outside");
    BAD(t.seq = 100000, "seq: 100000 outside");
    BAD(t.sender[0] = '\0', "sender: missing");
    BAD(strcpy(t.receiver, "P*C"), "receiver");
    BAD(t.type = CONV_TG_TYPE_COUNT, "type");
    BAD((t.type = CONV_TG_ACK, t.u.ack.acked_type = CONV_TG_REQ, t.u.ack.acked_seq = 1),
        "acked_type");
    BAD((t.type = CONV_TG_ACK, t.u.ack.acked_type = CONV_TG_UPD, t.u.ack.acked_seq = 0),
        "acked_seq");
    BAD((ex_res(&t), t.u.res.reason = CONV_REASON_COUNT), "reason");
    BAD((ex_res(&t), t.u.res.req_seq = 100000), "req_seq");
    BAD((ex_upd(&t), t.u.upd.event = CONV_UPD_COUNT), "event");
    BAD((ex_locu(&t), t.u.locu.state = (enum conv_loc_state)-1), "state");
    BAD((ex_sysu(&t), t.u.sysu.speed_mm_s = 100000), "speed_mm_s");
    BAD((ex_err(&t), strcpy(t.u.err.code, "0000001")), "code");
    BAD((ex_err(&t), strcpy(t.u.err.code, "0000001X")), "code");
    BAD((ex_err(&t), strcpy(t.u.err.text, "a*b")), "text");
    BAD((ex_err(&t), t.u.err.refused_seq = 100000), "refused_seq");
#undef BAD
    /* The failing type is named in the message. */
    ex_upd(&t);
    t.u.upd.event = CONV_UPD_COUNT;
    assert_int_equal(conv_tg_format(&t, L, wire, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "UPD_: event"));
    /* L outside the supported range */
    ex_req(&t);
    assert_int_equal(conv_tg_format(&t, 127, wire, NULL), ERR_INVALID);
    assert_int_equal(conv_tg_format(&t, CONV_TG_LEN_MAX + 1, wire, NULL), ERR_INVALID);
}

/* Spec "ACK_": no telegram the WCS sends (RES_, ACK_, ERR_, LIFE) may hold
 * "###" after its sync, inside a field or across two: a PLC resyncing
 * mid-stream would lock onto it. Each way of putting one there is refused;
 * and every well-formed one of each type, padded or full-width, has none. */
static void test_no_false_sync(void **state)
{
    static const char *const hashes[] = {"###", "A###", "##", "#", "1234567890123456789#"};
    struct conv_telegram t;
    char wire[L];
    size_t i, k;

    (void)state;
    /* Inside a text field of each outgoing type. */
    ex_res(&t);
    strcpy(t.u.res.destination, "CH###1");
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), ERR_INVALID);
    ex_res(&t);
    strcpy(t.u.res.barcode, "RR###3124829GB");
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), ERR_INVALID);
    ex_err(&t);
    strcpy(t.u.err.text, "skipped 3 bytes before ###");
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), ERR_INVALID);
    ex_err(&t);
    strcpy(t.u.err.refused_type, "###");
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), ERR_INVALID);
    /* Across two fields: a full-width field ending "##" and the next
     * starting with '#' (location(20) then barcode(20) in RES_). */
    ex_res(&t);
    strcpy(t.u.res.location, "ABCDEFGHIJKLMNOPQR##");
    strcpy(t.u.res.barcode, "#X");
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), ERR_INVALID);
    ex_res(&t);
    strcpy(t.u.res.location, "ABCDEFGHIJKLMNOPQR##");
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0); /* "##" then "RR...": fine */
    /* Whatever text goes in, what does go out has no sync after offset 0. */
    for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
        for (k = 0; k < 4; k++) {
            if (k == 0)
                (ex_res(&t), snprintf(t.u.res.location, sizeof(t.u.res.location), "%s", hashes[i]));
            else if (k == 1)
                (ex_res(&t), snprintf(t.u.res.destination, sizeof(t.u.res.destination), "%s",
                                      hashes[i]));
            else if (k == 2)
                (ex_err(&t), snprintf(t.u.err.text, sizeof(t.u.err.text), "%s", hashes[i]));
            else
                (ex_err(&t), snprintf(t.u.err.refused_type, sizeof(t.u.err.refused_type), "%.4s",
                                      hashes[i]));
            if (conv_tg_format(&t, L, wire, NULL) == 0)
                assert_null(memmem(wire + 3, L - 3, "###", 3));
        }
    }
    ex_ack(&t);
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
    assert_null(memmem(wire + 3, L - 3, "###", 3));
    ex_life(&t);
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
    assert_null(memmem(wire + 3, L - 3, "###", 3));
}

/* Lenient formatting: a CODE barcode that is empty goes out as absent, an
 * ERR_ without has_refused ignores refused_type/seq, the length field is L
 * whatever t->length says. */
static void test_format_lenient(void **state)
{
    struct conv_telegram t, back;
    struct conv_tg_refusal why;
    char wire[L];

    (void)state;
    ex_req(&t);
    t.u.req.barcode[0] = '\0';
    t.length = 999;
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
    assert_memory_equal(wire + 3, "00160", 5);
    assert_memory_equal(wire + 57, "********************", 20);
    assert_int_equal(conv_tg_parse(wire, L, L, &back, &why, NULL), 0);
    assert_int_equal(back.u.req.barcode_kind, CONV_BARCODE_ABSENT);

    ex_err_sync(&t);
    strcpy(t.u.err.refused_type, "REQ_");
    t.u.err.refused_seq = 5;
    assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
    assert_memory_equal(wire, examples[11].wire, L);
}

/* --- names, seq, time ------------------------------------------------------ */

static void test_names(void **state)
{
    static const char *types[] = {"REQ_", "RES_", "UPD_", "LOCU", "SYSU", "ACK_", "ERR_", "LIFE"};
    enum conv_tg_type t;
    int i;

    (void)state;
    for (i = 0; i < CONV_TG_TYPE_COUNT; i++) {
        assert_string_equal(conv_tg_type_name((enum conv_tg_type)i), types[i]);
        assert_int_equal(conv_tg_type_parse(types[i], &t), 0);
        assert_int_equal(t, i);
    }
    assert_int_equal(conv_tg_type_parse("REQ*", &t), ERR_PARSE);
    assert_string_equal(conv_tg_type_name(CONV_TG_TYPE_COUNT), "????");
    assert_string_equal(conv_upd_event_name(CONV_UPD_RECIRC), "RECIRC__");
    assert_string_equal(conv_upd_event_name(CONV_UPD_NODIVERT), "NODIVERT");
    assert_string_equal(conv_upd_event_name(CONV_UPD_REMOVED), "REMOVED_");
    assert_string_equal(conv_loc_state_name(CONV_LOC_DISABLED), "DISABLED");
    assert_string_equal(conv_loc_state_name(CONV_LOC_FAULT), "FAULT___");
    assert_string_equal(conv_line_state_name(CONV_LINE_ESTOP), "ESTOP___");
    assert_string_equal(conv_line_state_name(CONV_LINE_STOPPED), "STOPPED_");
    assert_string_equal(conv_line_state_name(CONV_LINE_COUNT), "????????");
}

/* Every enum word parses back to its value. */
static void test_every_word(void **state)
{
    struct conv_telegram t, back;
    struct conv_tg_refusal why;
    char wire[L];
    int i;

    (void)state;
    for (i = 0; i < CONV_REASON_COUNT; i++) {
        ex_res(&t);
        t.u.res.reason = (enum conv_reason)i;
        assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
        assert_memory_equal(wire + 102, conv_reason_code((enum conv_reason)i), 8);
        assert_int_equal(conv_tg_parse(wire, L, L, &back, &why, NULL), 0);
        assert_int_equal(back.u.res.reason, i);
    }
    for (i = 0; i < CONV_UPD_COUNT; i++) {
        ex_upd(&t);
        t.u.upd.event = (enum conv_upd_event)i;
        assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
        assert_int_equal(conv_tg_parse(wire, L, L, &back, &why, NULL), 0);
        assert_int_equal(back.u.upd.event, i);
    }
    for (i = 0; i < CONV_LOC_COUNT; i++) {
        ex_locu(&t);
        t.u.locu.state = (enum conv_loc_state)i;
        assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
        assert_int_equal(conv_tg_parse(wire, L, L, &back, &why, NULL), 0);
        assert_int_equal(back.u.locu.state, i);
    }
    for (i = 0; i < CONV_LINE_COUNT; i++) {
        ex_sysu(&t);
        t.u.sysu.state = (enum conv_line_state)i;
        assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
        assert_int_equal(conv_tg_parse(wire, L, L, &back, &why, NULL), 0);
        assert_int_equal(back.u.sysu.state, i);
    }
    for (i = CONV_TG_UPD; i <= CONV_TG_SYSU; i++) {
        ex_ack(&t);
        t.u.ack.acked_type = (enum conv_tg_type)i;
        assert_int_equal(conv_tg_format(&t, L, wire, NULL), 0);
        assert_int_equal(conv_tg_parse(wire, L, L, &back, &why, NULL), 0);
        assert_int_equal(back.u.ack.acked_type, i);
    }
}

static void test_seq_next(void **state)
{
    (void)state;
    assert_int_equal(conv_tg_seq_next(0), 1);
    assert_int_equal(conv_tg_seq_next(1), 2);
    assert_int_equal(conv_tg_seq_next(99998), 99999);
    assert_int_equal(conv_tg_seq_next(99999), 1);
    assert_int_equal(conv_tg_seq_next(123456), 1);
}

static void test_time(void **state)
{
    char out[15];

    (void)state;
    conv_tg_time(0, out);
    assert_string_equal(out, "19700101000000");
    conv_tg_time(1709164800, out); /* 2024-02-29 00:00:00 UTC */
    assert_string_equal(out, "20240229000000");
    conv_tg_time(1700000000, out);
    assert_string_equal(out, "20231114221320");
    conv_tg_time(-5, out);
    assert_string_equal(out, "19700101000000");
    conv_tg_time(INT64_MAX, out);
    assert_string_equal(out, "99991231235959");
}

/* docs/plc-protocol.md shows the first 13 examples; each must be there
 * exactly, on a line of its own, so the document cannot drift from the codec. */
static void test_examples_in_doc(void **state)
{
    const char *src = getenv("WCS_SOURCE_DIR");
    char path[4096], line[1024];
    bool found[sizeof(examples) / sizeof(examples[0])] = {false};
    size_t i, ndoc = 13;
    FILE *f;

    (void)state;
    if (src == NULL)
        fail_msg("WCS_SOURCE_DIR is not set (ctest sets it)");
    snprintf(path, sizeof(path), "%s/docs/plc-protocol.md", src);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        for (i = 0; i < ndoc; i++)
            if (strcmp(line, examples[i].wire) == 0)
                found[i] = true;
    }
    fclose(f);
    for (i = 0; i < ndoc; i++)
        if (!found[i])
            fail_msg("example \"%s\" is not in %s", examples[i].name, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_exact), cmocka_unit_test(test_other_lengths),
        cmocka_unit_test(test_refusals),       cmocka_unit_test(test_refusal_detail),
        cmocka_unit_test(test_length_mismatch), cmocka_unit_test(test_accepted_edges),
        cmocka_unit_test(test_format_errors),  cmocka_unit_test(test_format_lenient),
        cmocka_unit_test(test_no_false_sync),
        cmocka_unit_test(test_names),          cmocka_unit_test(test_every_word),
        cmocka_unit_test(test_seq_next),       cmocka_unit_test(test_time),
        cmocka_unit_test(test_examples_in_doc),
    };

    if (getenv("WCS_PRINT_EXAMPLES") != NULL) {
        size_t i;

        for (i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
            struct conv_telegram t;
            char wire[L + 1];

            examples[i].build(&t);
            if (conv_tg_format(&t, L, wire, NULL) != 0)
                return 1;
            wire[L] = '\0';
            printf("%s\n%s\n", examples[i].name, wire);
        }
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

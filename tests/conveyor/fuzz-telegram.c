/*
 * fuzz-telegram.c - libFuzzer entry point for the framer and the telegram codec.
 *
 * Built only with Clang (-fsanitize=fuzzer); see tests/conveyor/CMakeLists.txt.
 * Run: ./fuzz-telegram -max_len=2048 corpus/. Beyond "no crash, no sanitizer
 * report" it checks the contracts:
 *  - framer: every input byte ends up in a telegram, a reported stretch or the
 *    pending state; a frame starts with "###"; NONE only when all is taken;
 *  - parse/format: a telegram that parses formats back to exactly the same
 *    L bytes (format is the inverse of parse);
 *  - refusals: the code is one of the four ERR_ codes, the reason text is
 *    short and printable, and the ERR_ answer built from the refusal always
 *    formats (the link never fails to answer a bad telegram).
 * Input byte 0 chooses the mode: even = raw byte stream in reads whose size
 * byte 1 chooses; odd = a valid telegram of type byte 1 % 8 with the rest of
 * the input applied as (offset, byte) edits, which reaches the field parsers
 * far more often than random bytes do.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conveyor/telegram.h"

#define L 160

/* libFuzzer looks this symbol up by name; it has no header of ours. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The examples of docs/plc-protocol.md, one per type. */
static const char *const templates[CONV_TG_TYPE_COUNT] = {
    "###00160PLC01WCS0100042REQ_0001234567SCAN01**************RR473124829GB*******001250030002000150"
    "********20261123140901*******************************************",
    "###00160WCS01PLC0100017RES_000123456700042SCAN01**************RR473124829GB*******CH017********"
    "*******OK______20261123140901************************************",
    "###00160PLC01WCS0100043UPD_0001234567CH017***************RR473124829GB*******SORTED__2026112314"
    "0909*************************************************************",
    "###00160PLC01WCS0100044LOCUCH017***************FULL____20261123140915**************************"
    "*****************************************************************",
    "###00160PLC01WCS0100045SYSULINE1***************RUNNING_0200020261123140920*********************"
    "*****************************************************************",
    "###00160WCS01PLC0100018ACK_UPD_00043OK______20261123140909*************************************"
    "*****************************************************************",
    "###00160WCS01PLC0100019ERR_REQ_0004600000012weight_g not numeric********************20261123140"
    "930**************************************************************",
    "###00160WCS01PLC0100021LIFE20261123140936******************************************************"
    "*****************************************************************",
};

static void check_refusal_answerable(const struct conv_tg_refusal *why)
{
    struct conv_telegram errt;
    char out[L];
    size_t n = strnlen(why->text, sizeof(why->text));

    if (strcmp(why->code, CONV_ERR_UNKNOWN_TYPE) != 0 && strcmp(why->code, CONV_ERR_BAD_LENGTH) != 0 &&
        strcmp(why->code, CONV_ERR_BAD_FIELD) != 0 && strcmp(why->code, CONV_ERR_BAD_SYNC) != 0)
        abort();
    if (n == 0 || n > 40 || (why->has_seq && (why->seq == 0 || why->seq > CONV_TG_SEQ_MAX)))
        abort();
    memset(&errt, 0, sizeof(errt));
    memcpy(errt.sender, "WCS01", 6);
    memcpy(errt.receiver, "PLC01", 6);
    errt.seq = 1;
    errt.type = CONV_TG_ERR;
    errt.u.err.has_refused = true;
    memcpy(errt.u.err.refused_type, why->type, sizeof(why->type));
    errt.u.err.refused_seq = why->has_seq ? why->seq : 0;
    memcpy(errt.u.err.code, why->code, sizeof(why->code));
    memcpy(errt.u.err.text, why->text, sizeof(why->text));
    if (conv_tg_format(&errt, L, out, NULL) != 0)
        abort();
}

static void check_frame(const char *frame)
{
    struct conv_telegram t;
    struct conv_tg_refusal why;
    struct err e;
    char back[L];

    if (conv_tg_parse(frame, L, L, &t, &why, &e) == 0) {
        if (conv_tg_format(&t, L, back, &e) != 0)
            abort();
        if (memcmp(frame, back, L) != 0)
            abort();
    } else {
        if (e.code != ERR_PARSE)
            abort();
        check_refusal_answerable(&why);
    }
}

static void run_stream(const char *s, size_t n, size_t chunk)
{
    struct conv_framer f;
    size_t pos = 0, accounted = 0;

    conv_framer_init(&f, L);
    while (pos < n) {
        size_t len = chunk < n - pos ? chunk : n - pos, off = 0;

        for (;;) {
            const char *frame;
            size_t used, skipped;
            enum conv_frame_kind k = conv_framer_next(&f, s + pos + off, len - off, &used, &frame,
                                                      &skipped);

            if (used > len - off)
                abort();
            off += used;
            if (k == CONV_FRAME_NONE) {
                if (off != len)
                    abort();
                break;
            }
            if (k == CONV_FRAME_SKIPPED) {
                if (skipped == 0)
                    abort();
                accounted += skipped;
            } else {
                if (memcmp(frame, "###", 3) != 0)
                    abort();
                accounted += L;
                check_frame(frame);
            }
        }
        pos += len;
    }
    if (accounted + f.skipping + f.have != n || f.have >= L)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char tg[2 * L];
    size_t chunk, i;

    if (size < 2)
        return 0;
    if ((data[0] & 1) == 0) {
        chunk = data[1] == 0 ? size : data[1];
        run_stream((const char *)data + 2, size - 2, chunk);
        return 0;
    }
    /* Template mode: a valid telegram, edited, then parsed directly and
     * through the framer behind a little garbage. */
    memcpy(tg, "x#", 2);
    memcpy(tg + 2, templates[data[1] % CONV_TG_TYPE_COUNT], L);
    for (i = 2; i + 1 < size; i += 2)
        tg[2 + data[i] % L] = (char)data[i + 1];
    if (memcmp(tg + 2, "###", 3) == 0)
        check_frame(tg + 2);
    run_stream(tg, 2 + L, 1 + data[1] / CONV_TG_TYPE_COUNT % 40);
    return 0;
}

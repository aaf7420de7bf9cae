/*
 * fuzz-hid.c - libFuzzer entry point for the USB scanner report decoders
 * (scan_kbd_feed, scan_pos_feed).
 *
 * Built only with Clang (-fsanitize=fuzzer); see tests/scanners/CMakeLists.txt.
 * Run: ./fuzz-hid -max_len=1024 corpus/. The first input byte picks the
 * keyboard layout, Tab handling and the report pacing; the rest is cut into
 * reports, whose lengths vary (a length byte every report) so wrong-length
 * reports are fed too. The same bytes go through both decoders. Beyond "no
 * crash, no sanitizer report", it checks the contract: only 0, 1 or
 * ERR_INVALID come back, an error carries a message, and every scan is
 * NUL-terminated printable ASCII of the stated length, at most SCAN_TEXT_MAX.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/hid.h"

/* libFuzzer looks this symbol up by name; it has no header of ours. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_scan(const struct scan_read *out)
{
    if (out->len > SCAN_TEXT_MAX || strlen(out->text) != out->len)
        abort();
    for (size_t i = 0; i < out->len; i++)
        if (out->text[i] < 0x20 || out->text[i] > 0x7E)
            abort();
    if (memchr(out->symbology, '\0', sizeof(out->symbology)) == NULL)
        abort();
}

static void check_rc(int rc, const struct scan_read *out, const struct err *e)
{
    if (rc == 1)
        check_scan(out);
    else if (rc == ERR_INVALID) {
        if (e->code != ERR_INVALID || e->msg[0] == '\0')
            abort();
    } else if (rc != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scan_kbd_decoder kd;
    struct scan_pos_decoder pd;
    struct scan_read out;
    struct err e;
    uint64_t now = 0;
    size_t off;

    if (size < 1)
        return 0;
    scan_kbd_init(&kd, (enum scan_layout)(data[0] % SCAN_LAYOUT_COUNT), (data[0] & 2) != 0,
                  (data[0] & 4) ? 20 : 0);

    /* Keyboard: a pacing/length byte, then the report. Lengths other than
     * 8 are rare on purpose so most reports reach the key logic. */
    off = 1;
    while (off < size) {
        uint8_t ctl = data[off++];
        size_t len = (ctl & 0xF0) == 0xF0 ? (size_t)(ctl & 0x0F) : SCAN_KBD_REPORT_LEN;
        int rc;
        if (len > size - off)
            len = size - off;
        now += ctl & 0x3F;
        err_clear(&e);
        rc = scan_kbd_feed(&kd, data + off, len, now, &out, &e);
        check_rc(rc, &out, &e);
        off += len;
    }

    /* HID POS: 64-byte slices, the last one possibly short. The report id
     * is forced to 2 on most slices so the deeper checks are reached. */
    scan_pos_init(&pd);
    for (off = 1; off < size; off += SCAN_POS_REPORT_LEN) {
        uint8_t r[SCAN_POS_REPORT_LEN];
        size_t len = size - off < SCAN_POS_REPORT_LEN ? size - off : SCAN_POS_REPORT_LEN;
        int rc;
        memcpy(r, data + off, len);
        if (len > 0 && (r[0] & 0x80) == 0)
            r[0] = 2;
        if (len > 1 && (r[1] & 0x80) == 0)
            r[1] &= 0x3F;
        err_clear(&e);
        rc = scan_pos_feed(&pd, r, len, &out, &e);
        check_rc(rc, &out, &e);
    }
    return 0;
}

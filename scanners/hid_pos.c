/*
 * hid_pos.c - HID POS scanner decoder (usage page 0x8C): 64-byte input
 * reports in, complete scans with their AIM symbology id out (pure).
 *
 * Report layout (the common one; see hid.h): [0] report id 2, [1] data byte
 * count <= 56, [2..4] AIM id, [5..60] data, [61] vendor code id, [62]
 * unused, [63] bit 0 = more reports follow. A code longer than 56 bytes
 * (QR, DataMatrix) comes as a sequence whose last report has bit 0 clear.
 * The report carries no sequence number, so a sequence is only told apart
 * from the next scan by its AIM id: a continuation with another symbology is
 * taken as a new scan, and the cut sequence is dropped.
 */
#include "scanners/hid.h"

#include <string.h>

#define POS_REPORT_ID 2
#define POS_OFF_COUNT 1
#define POS_OFF_AIM 2
#define POS_OFF_DATA 5
#define POS_OFF_FLAGS 63
#define POS_MORE 0x01

void scan_pos_init(struct scan_pos_decoder *d)
{
    memset(d, 0, sizeof(*d));
}

static void reset_scan(struct scan_pos_decoder *d)
{
    d->len = 0;
    d->buf[0] = '\0';
    d->symbology[0] = '\0';
    d->in_progress = false;
    d->overflow = false;
}

/* The AIM id "]Xn" at [2..4], or "" when the scanner does not send one. */
static void read_aim(const uint8_t *r, char aim[4])
{
    aim[0] = '\0';
    if (r[POS_OFF_AIM] != ']')
        return;
    for (int i = 1; i < 3; i++)
        if (r[POS_OFF_AIM + i] < 0x21 || r[POS_OFF_AIM + i] > 0x7E)
            return;
    memcpy(aim, r + POS_OFF_AIM, 3);
    aim[3] = '\0';
}

int scan_pos_feed(struct scan_pos_decoder *d, const uint8_t *report, size_t len,
                  struct scan_read *out, struct err *e)
{
    char aim[4];
    unsigned count;

    d->reports++;
    if (report == NULL || len != SCAN_POS_REPORT_LEN) {
        d->refused++;
        reset_scan(d);
        return err_set(e, ERR_INVALID, "HID POS report: length %zu, expected %d",
                       report == NULL ? (size_t)0 : len, SCAN_POS_REPORT_LEN);
    }
    if (report[0] != POS_REPORT_ID) {
        d->refused++;
        reset_scan(d);
        return err_set(e, ERR_INVALID, "HID POS report: byte 0: report id %u, expected %d",
                       report[0], POS_REPORT_ID);
    }
    count = report[POS_OFF_COUNT];
    if (count > SCAN_POS_DATA_MAX) {
        d->refused++;
        reset_scan(d);
        return err_set(e, ERR_INVALID, "HID POS report: byte 1: count %u over %d", count,
                       SCAN_POS_DATA_MAX);
    }
    for (unsigned i = 0; i < count; i++) {
        uint8_t b = report[POS_OFF_DATA + i];
        if (b < 0x20 || b > 0x7E) {
            d->refused++;
            reset_scan(d);
            return err_set(e, ERR_INVALID, "HID POS report: byte %u: data 0x%02X not printable",
                           POS_OFF_DATA + i, b);
        }
    }

    read_aim(report, aim);
    if (d->in_progress && strcmp(aim, d->symbology) != 0) {
        d->dropped++; /* another code began before this one ended */
        reset_scan(d);
    }
    if (!d->in_progress) {
        reset_scan(d);
        memcpy(d->symbology, aim, sizeof(aim));
        d->in_progress = true;
    }
    if (d->len + count > SCAN_TEXT_MAX)
        d->overflow = true;
    if (!d->overflow) {
        memcpy(d->buf + d->len, report + POS_OFF_DATA, count);
        d->len += count;
        d->buf[d->len] = '\0';
    }
    if (report[POS_OFF_FLAGS] & POS_MORE)
        return 0;

    if (d->overflow) {
        d->dropped++;
        reset_scan(d);
        return 0;
    }
    if (d->len == 0) {
        reset_scan(d);
        return 0;
    }
    memcpy(out->text, d->buf, d->len + 1);
    out->len = d->len;
    memcpy(out->symbology, d->symbology, sizeof(out->symbology));
    reset_scan(d);
    return 1;
}

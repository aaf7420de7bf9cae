/*
 * hid.h - decoders for USB barcode-scanner reports (pure: bytes in, scans out).
 *
 * Keyboard wedge (HID boot keyboard, 8-byte reports): modifiers in byte 0
 * (Shift = 0x22 mask: left 0x02 | right 0x20), byte 1 reserved, key usages in
 * bytes 2..7. Only keys new since the previous report produce characters, so
 * rollover and doubled characters ("RR": a release report between the two
 * presses) decode right; a report of six 0x01 (ErrorRollOver) is ignored.
 * Usages map to characters through a layout table chosen per scanner (the
 * scanner types as its own keyboard-country setting says). Enter (0x28),
 * Keypad Enter (0x58) and optionally Tab (0x2B) end a scan; a pause longer
 * than the inter-character timeout discards a partial scan.
 *
 * HID POS (usage page 0x8C, common 64-byte layout): [0] report id 2,
 * [1] byte count (<= 56), [2..4] AIM symbology id ("]C0" Code 128 ...),
 * [5..60] data, [61] vendor code id, [63] bit 0 = more reports follow.
 * Continuation reports are reassembled into one scan.
 */
#ifndef WCS_SCANNERS_HID_H
#define WCS_SCANNERS_HID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SCAN_TEXT_MAX 256      /* longest scan kept, characters */
#define SCAN_KBD_REPORT_LEN 8
#define SCAN_POS_REPORT_LEN 64

enum scan_layout {
    SCAN_LAYOUT_US = 0,        /* US English */
    SCAN_LAYOUT_DE,            /* German (QWERTZ: y/z swapped, symbols moved) */
    SCAN_LAYOUT_COUNT
};

/* "us", "de"; parse returns 0 or ERR_PARSE. */
const char *scan_layout_name(enum scan_layout l);
int scan_layout_parse(const char *s, enum scan_layout *out);

/* One complete scan from a decoder. */
struct scan_read {
    char text[SCAN_TEXT_MAX + 1];  /* NUL-terminated, printable ASCII */
    size_t len;
    char symbology[4];             /* AIM id ("]C0"), "" when the source does not say */
};

/* --- keyboard wedge --------------------------------------------------- */

struct scan_kbd_decoder {
    enum scan_layout layout;
    bool tab_terminates;           /* Tab ends a scan too */
    uint32_t char_timeout_ms;      /* longest pause inside one scan (e.g. 100) */
    uint8_t prev_keys[6];          /* keys down in the previous report */
    char buf[SCAN_TEXT_MAX + 1];
    size_t len;
    uint64_t last_ms;              /* time of the last character */
    bool overflow;                 /* current scan longer than SCAN_TEXT_MAX: dropped at its end */
    uint64_t reports, rollovers, unmapped, timeouts, overflows; /* counters */
};

void scan_kbd_init(struct scan_kbd_decoder *d, enum scan_layout layout, bool tab_terminates,
                   uint32_t char_timeout_ms);

/*
 * Feeds one report received at now_ms (a monotonic clock). Returns 1 and
 * fills *out when the report completed a scan, 0 when not (yet), or
 * ERR_INVALID for a report that is not 8 bytes or has keys outside the
 * usage range (never fatal: the decoder stays usable; e says why).
 */
int scan_kbd_feed(struct scan_kbd_decoder *d, const uint8_t *report, size_t len, uint64_t now_ms,
                  struct scan_read *out, struct err *e);

/* --- HID POS ---------------------------------------------------------- */

struct scan_pos_decoder {
    char buf[SCAN_TEXT_MAX + 1];
    size_t len;
    char symbology[4];
    bool in_progress;              /* continuation expected */
    bool overflow;
    uint64_t reports, refused;     /* counters */
};

void scan_pos_init(struct scan_pos_decoder *d);

/*
 * Feeds one HID POS input report. Returns 1 and fills *out when a scan is
 * complete (last report of a sequence), 0 when more reports follow, or
 * ERR_INVALID for a malformed report (wrong length or id, byte count over
 * 56, non-printable data); a malformed report drops any partial scan.
 */
int scan_pos_feed(struct scan_pos_decoder *d, const uint8_t *report, size_t len,
                  struct scan_read *out, struct err *e);

#endif

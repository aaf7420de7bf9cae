/*
 * hid.h - decoders for USB barcode-scanner reports (pure: bytes in, scans out).
 *
 * No I/O and no clock here: the USB shell reads reports from the device and
 * hands each one in with the time it arrived, so every rule below can be
 * tested with byte tables alone.
 *
 * Keyboard wedge (HID boot keyboard, 8-byte reports; HID 1.11 appendix B.1):
 * modifiers in byte 0 (Shift = 0x22 mask: left 0x02 | right 0x20), byte 1
 * reserved, key usages (Keyboard/Keypad page 0x07) in bytes 2..7. A scanner
 * "types" each character as a press report followed by a release report, so
 * only keys new since the previous report produce characters: rollover (two
 * keys in one report) and doubled characters ("RR": a release report between
 * the two presses) decode right, and a key held across reports is not
 * repeated. A report holding the error usages 0x01..0x03 (ErrorRollOver is
 * six 0x01) says nothing about which keys are down: it is ignored and
 * counted. Usages map to characters through a layout table chosen per scanner
 * (the scanner types as its own keyboard-country setting says), see
 * scan_layout_char(). Enter (0x28), Keypad Enter (0x58) and optionally Tab
 * (0x2B) end a scan; a pause longer than the inter-character timeout discards
 * a partial scan. Caps Lock is not tracked: scanners send Shift.
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
#define SCAN_POS_DATA_MAX 56   /* data bytes in one HID POS report */

/* Boot keyboard modifier bits (byte 0), HID Usage Tables 0xE0..0xE7. */
#define SCAN_MOD_LCTRL 0x01
#define SCAN_MOD_LSHIFT 0x02
#define SCAN_MOD_LALT 0x04
#define SCAN_MOD_LGUI 0x08
#define SCAN_MOD_RCTRL 0x10
#define SCAN_MOD_RSHIFT 0x20
#define SCAN_MOD_RALT 0x40     /* AltGr on layouts that have it */
#define SCAN_MOD_RGUI 0x80
#define SCAN_MOD_SHIFT (SCAN_MOD_LSHIFT | SCAN_MOD_RSHIFT)

/* Keyboard page usages the decoder gives a meaning beyond a character. */
#define SCAN_USAGE_ERR_ROLLOVER 0x01
#define SCAN_USAGE_ENTER 0x28
#define SCAN_USAGE_TAB 0x2B
#define SCAN_USAGE_SPACE 0x2C
#define SCAN_USAGE_KP_ENTER 0x58
#define SCAN_USAGE_MAX 0xE7    /* last usage the Keyboard page defines */

enum scan_layout {
    SCAN_LAYOUT_US = 0,        /* US English */
    SCAN_LAYOUT_DE,            /* German (QWERTZ: y/z swapped, symbols moved) */
    SCAN_LAYOUT_COUNT
};

/* "us", "de" ("unknown" for a value out of range); parse takes exactly
 * those names and returns 0 or ERR_PARSE (*out untouched). */
const char *scan_layout_name(enum scan_layout l);
int scan_layout_parse(const char *s, enum scan_layout *out);

/*
 * The character key `usage` types on layout l with modifier byte `mods`, or
 * 0 when it types none we keep (an unmapped key, a non-ASCII character such
 * as German 'ß', or Ctrl/Alt/GUI combinations, which scanners use for control
 * characters). Shift is mods & 0x22. AltGr is right Alt (0x40) or Left
 * Ctrl + Left Alt (what Windows treats as AltGr), only on layouts with an
 * AltGr level (DE). Keypad digits and operators ignore Shift. When the key is
 * a dead key (German '^' and '`'), *dead (if not NULL) is set true: the
 * character is shown only with the next key (see scan_kbd_feed). Covered:
 * all 95 printable ASCII characters on both layouts; see layouts.c.
 */
char scan_layout_char(enum scan_layout l, uint8_t usage, uint8_t mods, bool *dead);

/*
 * The key and modifiers that type printable ASCII c on layout l (the first
 * of several, main block before keypad). Returns 0, or ERR_NOTFOUND when the
 * layout cannot type c. *dead says the key is a dead key, typed as the key
 * then Space.
 */
int scan_layout_key(enum scan_layout l, char c, uint8_t *usage, uint8_t *mods, bool *dead);

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
    uint32_t char_timeout_ms;      /* longest pause inside one scan, ms (e.g. 100); 0 = none */
    uint8_t prev_keys[6];          /* keys down in the previous report */
    char buf[SCAN_TEXT_MAX + 1];
    size_t len;
    uint64_t last_ms;              /* time of the last character, ms */
    bool overflow;                 /* current scan longer than SCAN_TEXT_MAX: dropped at its end */
    bool spoiled;                  /* current scan saw a refused report: dropped at its end */
    char dead;                     /* pending dead-key character, 0 if none */
    uint64_t reports, rollovers, unmapped, timeouts, overflows; /* counters */
    uint64_t refused;              /* reports refused (ERR_INVALID); second scans in one report */
};

void scan_kbd_init(struct scan_kbd_decoder *d, enum scan_layout layout, bool tab_terminates,
                   uint32_t char_timeout_ms);

/*
 * Feeds one report received at now_ms (a monotonic clock). Returns 1 and
 * fills *out when the report completed a scan, 0 when not (yet), or
 * ERR_INVALID for a report that is not 8 bytes or has keys outside the
 * usage range (never fatal: the decoder stays usable; e says why, naming the
 * byte). Rules, in the order they apply to each new key of a report:
 *   - a character arriving more than char_timeout_ms after the previous one
 *     discards the partial scan (timeouts++) and starts a new one; a
 *     terminator after such a pause ends an empty scan the same way;
 *   - a terminator ending an empty scan returns nothing (0);
 *   - a scan longer than SCAN_TEXT_MAX is dropped at its terminator
 *     (overflows++), and so is a scan during which a report was refused
 *     (the keys lost with that report would otherwise yield a wrong code),
 *     including one starting less than char_timeout_ms after it (with
 *     timeout 0: the next scan);
 *   - keys typing no character (scan_layout_char() == 0) are skipped and
 *     counted in unmapped;
 *   - a dead key followed by Space gives its character alone; followed by
 *     another character it gives both (no accented letters: text is ASCII).
 * One report completes at most one scan: a second terminator in the same
 * report drops the scan it would end (refused++).
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
    uint64_t dropped;              /* scans abandoned: overflow, or a new symbology mid-sequence */
};

void scan_pos_init(struct scan_pos_decoder *d);

/*
 * Feeds one HID POS input report. Returns 1 and fills *out when a scan is
 * complete (last report of a sequence), 0 when more reports follow, or
 * ERR_INVALID for a malformed report (wrong length or id, byte count over
 * 56, non-printable data); a malformed report drops any partial scan and e
 * names the byte ("byte 1: count 60 over 56"). The symbology is the AIM id
 * of the first report ("" when [2] is not ']'); a continuation report
 * carrying a different AIM id is a new scan: the partial one is dropped
 * (dropped++). A scan longer than SCAN_TEXT_MAX or with no data returns 0
 * at its last report (overflow: dropped++). Data must be printable ASCII, so
 * GS1 codes with a GS (0x1D) separator are refused.
 */
int scan_pos_feed(struct scan_pos_decoder *d, const uint8_t *report, size_t len,
                  struct scan_read *out, struct err *e);

/* --- test and emulator support ---------------------------------------- */

/*
 * Writes into reports_out (max_reports * 8 bytes) the keyboard reports a
 * scanner set to layout l sends for NUL-terminated text: per character a
 * press report (modifiers + usage) and a release report (all zero); a dead
 * key as press, release, Space press, release; then Enter press and
 * release. Returns the number of 8-byte reports, ERR_INVALID when text has
 * a character l cannot type, or ERR_FULL when max_reports is too small.
 */
int scan_kbd_encode(enum scan_layout l, const char *text, uint8_t *reports_out, size_t max_reports);

/*
 * Writes into reports_out (max_reports * 64 bytes) the HID POS reports for
 * NUL-terminated text with AIM id aim (3 characters, or NULL/"" for none):
 * 56 data bytes per report, [63] bit 0 set on all but the last. Empty text
 * gives one report with count 0. Returns the number of 64-byte reports,
 * ERR_INVALID for an aim that is not 3 characters, or ERR_FULL when
 * max_reports is too small. Bytes are copied as given (tests build refused
 * reports this way and patch them).
 */
int scan_pos_encode(const char *aim, const char *text, uint8_t *reports_out, size_t max_reports);

#endif

/*
 * scanners.h - public interface of the scanners module.
 *
 * This header: parcel-code recognition and validation (pure, no I/O; the
 * wcs_codes library, which the application's core links alone).
 * Recognised kinds:
 *   - UPU S10 item ids: 2 service letters, 8-digit serial, check digit, ISO 3166
 *     alpha-2 country of the issuer (UPU S10 standard; weights 8 6 4 2 3 5 9 7,
 *     C = 11 - sum mod 11, 10 -> 0, 11 -> 5).
 *   - Cainiao / AliExpress first-mile numbers: "LP" or "AP" + 14 digits.
 *   - Russian Post domestic ids: 14 digits (office index 6, month 2, serial 5,
 *     check digit 1).
 *   - UPU receptacle (bag) ids: 29 characters (UPU S9 / CN 35 layout).
 * The rest of the module has narrow headers of its own: hid.h (keyboard-wedge
 * and HID POS report decoding), usb.h (USB and tty scanners on libuv, with
 * hotplug), camera.h (camera frames through ZBar).
 */
#ifndef WCS_SCANNERS_H
#define WCS_SCANNERS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Longest code any recogniser accepts (receptacle ids, 29 chars). */
#define SCAN_CODE_MAX 32

enum scan_code_kind {
    SCAN_CODE_UNKNOWN = 0, /* matches no known format */
    SCAN_CODE_S10,         /* UPU S10 item id, e.g. RR473124829GB */
    SCAN_CODE_CAINIAO,     /* LP/AP + 14 digits */
    SCAN_CODE_RUPOST,      /* Russian Post 14-digit domestic id */
    SCAN_CODE_RECEPTACLE,  /* UPU receptacle id, 29 chars */
};

struct scan_code_info {
    enum scan_code_kind kind; /* best-matching format, even when invalid */
    bool valid;               /* all rules of that format hold */
    char reason[96];          /* "" when valid, else why not ("check digit 6, expected 5") */
};

/*
 * Classifies and validates code[0..len-1]. Always fills *out. Returns 0 when
 * the code is valid, ERR_INVALID when it is not (out->reason says why). The
 * kind is the format the code's shape matches (length and character classes),
 * so an S10 with a wrong check digit is SCAN_CODE_S10 + invalid.
 */
int scan_code_check(const char *code, size_t len, struct scan_code_info *out);

/* True for kinds that identify a parcel (S10, Cainiao, Russian Post). */
bool scan_code_is_parcel(enum scan_code_kind kind);

/* "s10", "cainiao", "rupost", "receptacle", "unknown". */
const char *scan_code_kind_name(enum scan_code_kind kind);

/* S10 check digit for an 8-digit serial (ASCII digits); -1 if not digits. */
int scan_s10_check_digit(const char serial[8]);

/* Russian Post check digit for the first 13 digits; -1 if not digits. */
int scan_rupost_check_digit(const char digits[13]);

#endif

/*
 * zxing.h - the second decoder: zxing-cpp (Debian 12's libzxing-dev 1.4)
 * behind a small C API, for the camera pipeline (camera.c) and the camera
 * benchmark's "plain zxing-cpp" reader.
 *
 * zxing-cpp is C++; scanners/zxing.cpp is the only C++ in the project. It
 * catches every exception: none crosses into C, a failure is a return code
 * and a message. The reader judges nothing: every text it decodes is handed
 * back as it is, and the caller puts it through the same checks as ZBar's
 * (scan_code_check, allowed kinds; docs/camera.md "Rejecting misreads").
 * Pure C header: C and C++ both include it.
 */
#ifndef WCS_SCANNERS_ZXING_H
#define WCS_SCANNERS_ZXING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "common/err.h"

/* Symbologies, as bits: the same values as enum scan_symbology (camera.h),
 * which camera.c checks at compile time. */
enum scan_zx_format {
    SCAN_ZX_CODE128 = 1u << 0,
    SCAN_ZX_CODE39 = 1u << 1,
    SCAN_ZX_EAN13 = 1u << 2, /* UPC-A comes as EAN-13 with a leading 0, as from ZBar */
    SCAN_ZX_I25 = 1u << 3,   /* interleaved 2 of 5 (ITF) */
    SCAN_ZX_QR = 1u << 4,
};
#define SCAN_ZX_ALL 0x1fu

/* How hard the reader tries, as bits of scan_zx_new's flags. */
enum scan_zx_flag {
    SCAN_ZX_TRY_HARDER = 1u << 0,    /* more rows of the frame, both directions */
    SCAN_ZX_TRY_ROTATE = 1u << 1,    /* the frame turned by 90 degrees as well */
    SCAN_ZX_TRY_DOWNSCALE = 1u << 2, /* large frames also at a lower scale (2D codes) */
};

/* Longest text kept, bytes; a longer one is truncated and flagged (len says
 * how long it was). Parcel codes are at most SCAN_CODE_MAX (32). */
#define SCAN_ZX_TEXT_MAX 127

/* One decoded symbol. */
struct scan_zx_symbol {
    char type[16];                    /* ZBar's name: "CODE-128", "CODE-39", "EAN-13",
                                         "I2/5", "QR-Code" */
    char text[SCAN_ZX_TEXT_MAX + 1];  /* UTF-8, NUL-terminated, maybe truncated */
    size_t len;                       /* the decoded text's length, bytes */
    int orientation_deg;              /* the symbol's direction in the frame, degrees */
};

struct scan_zx;

/* A reader for the formats (SCAN_ZX_* bits, at least one) with the flags
 * (SCAN_ZX_TRY_*). Returns 0 and *out (free with scan_zx_free); ERR_CONFIG
 * for no or unknown formats; -ENOMEM. */
int scan_zx_new(unsigned formats, unsigned flags, struct scan_zx **out, struct err *e);

/* Frees zx; NULL allowed. */
void scan_zx_free(struct scan_zx *zx);

/*
 * Reads the 8-bit grey image (w x h pixels, row y at data + y * stride)
 * with zxing-cpp's ReadBarcodes: at most one symbol (Debian's zxing-cpp 1.4
 * aborts when it merges several of one 1D code: zxing.cpp) into out[] when
 * max >= 1, the count in *n. Deterministic: the same image gives the
 * same symbols in the same order. The image is only read, never kept.
 * Returns 0 whether or not anything was read; -EINVAL for a bad image
 * (size <= 0, stride < w, NULL data); -ENOMEM; ERR_STATE when zxing-cpp
 * throws anything else (e->msg says what).
 */
int scan_zx_read(struct scan_zx *zx, const uint8_t *data, int w, int h, size_t stride,
                 struct scan_zx_symbol *out, size_t max, size_t *n, struct err *e);

#ifdef __cplusplus
}
#endif

#endif

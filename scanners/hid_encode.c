/*
 * hid_encode.c - the reverse of the decoders, for tests and emulators: the
 * report bytes a scanner sends for a given text (keyboard wedge on a given
 * layout, or HID POS). Used by the scanner tests, the USB/umockdev tests and
 * the scanner emulators, so they all speak what real scanners speak.
 */
#include "scanners/hid.h"

#include <string.h>

/* Appends one 8-byte report; returns 0 or ERR_FULL. */
static int put_kbd(uint8_t *out, size_t max, size_t *n, uint8_t mods, uint8_t usage)
{
    uint8_t *r;

    if (*n >= max)
        return ERR_FULL;
    r = out + *n * SCAN_KBD_REPORT_LEN;
    memset(r, 0, SCAN_KBD_REPORT_LEN);
    r[0] = mods;
    r[2] = usage;
    (*n)++;
    return 0;
}

/* Press then release (an all-zero report) of one key. */
static int put_stroke(uint8_t *out, size_t max, size_t *n, uint8_t mods, uint8_t usage)
{
    int rc = put_kbd(out, max, n, mods, usage);
    if (rc < 0)
        return rc;
    return put_kbd(out, max, n, 0, 0);
}

int scan_kbd_encode(enum scan_layout l, const char *text, uint8_t *reports_out, size_t max_reports)
{
    size_t n = 0;
    int rc;

    if (text == NULL || reports_out == NULL)
        return ERR_INVALID;
    for (const char *p = text; *p != '\0'; p++) {
        uint8_t usage, mods;
        bool dead;
        if (scan_layout_key(l, *p, &usage, &mods, &dead) < 0)
            return ERR_INVALID;
        rc = put_stroke(reports_out, max_reports, &n, mods, usage);
        if (rc < 0)
            return rc;
        if (dead) {
            /* A dead key waits for the next key; Space makes it type itself. */
            rc = put_stroke(reports_out, max_reports, &n, 0, SCAN_USAGE_SPACE);
            if (rc < 0)
                return rc;
        }
    }
    rc = put_stroke(reports_out, max_reports, &n, 0, SCAN_USAGE_ENTER);
    if (rc < 0)
        return rc;
    return (int)n;
}

int scan_pos_encode(const char *aim, const char *text, uint8_t *reports_out, size_t max_reports)
{
    size_t len, off = 0, n = 0;

    if (text == NULL || reports_out == NULL)
        return ERR_INVALID;
    if (aim != NULL && aim[0] != '\0' && strlen(aim) != 3)
        return ERR_INVALID;
    len = strlen(text);
    do {
        size_t chunk = len - off > SCAN_POS_DATA_MAX ? SCAN_POS_DATA_MAX : len - off;
        uint8_t *r;
        if (n >= max_reports)
            return ERR_FULL;
        r = reports_out + n * SCAN_POS_REPORT_LEN;
        memset(r, 0, SCAN_POS_REPORT_LEN);
        r[0] = 2;
        r[1] = (uint8_t)chunk;
        if (aim != NULL && aim[0] != '\0')
            memcpy(r + 2, aim, 3);
        memcpy(r + 5, text + off, chunk);
        off += chunk;
        if (off < len)
            r[63] = 0x01;
        n++;
    } while (off < len);
    return (int)n;
}

/*
 * hid_kbd.c - keyboard-wedge scanner decoder: 8-byte HID boot keyboard
 * reports in, complete scans out (pure: the caller supplies the time).
 *
 * DESIGN: a report says which keys are down, not which were pressed, so the
 * decoder keeps the previous report's keys and turns only the new ones into
 * characters; this is what makes "RR" (press, release, press) and rollover
 * (two keys in one report) come out right while a held key is typed once.
 * The wrong-code risk outweighs the no-read risk at a sorter (a wrong code
 * misroutes a parcel, a no-read only recirculates it), so every doubt drops
 * the scan: a refused report spoils the scan it falls in, an over-long scan
 * is dropped whole, and a pause longer than the inter-character timeout
 * discards what came before it (a person typing, or a scan cut short).
 */
#include "scanners/hid.h"

#include <string.h>

/* Forgets the scan being assembled (not the keys that are down). */
static void reset_scan(struct scan_kbd_decoder *d)
{
    d->len = 0;
    d->buf[0] = '\0';
    d->overflow = false;
    d->spoiled = false;
    d->dead = 0;
}

static bool scan_started(const struct scan_kbd_decoder *d)
{
    return d->len > 0 || d->overflow || d->dead != 0;
}

void scan_kbd_init(struct scan_kbd_decoder *d, enum scan_layout layout, bool tab_terminates,
                   uint32_t char_timeout_ms)
{
    memset(d, 0, sizeof(*d));
    d->layout = layout;
    d->tab_terminates = tab_terminates;
    d->char_timeout_ms = char_timeout_ms;
}

static void append(struct scan_kbd_decoder *d, char c)
{
    if (d->overflow)
        return;
    if (d->len >= SCAN_TEXT_MAX) {
        d->overflow = true;
        return;
    }
    d->buf[d->len++] = c;
    d->buf[d->len] = '\0';
}

/* Ends the scan at a terminator; returns 1 when *out was filled. */
static int end_scan(struct scan_kbd_decoder *d, bool already, struct scan_read *out)
{
    int rc = 0;

    if (d->dead != 0)
        append(d, d->dead); /* a dead key before Enter shows its character */
    if (d->spoiled) {
        /* Counted in refused when the report was refused. */
    } else if (d->overflow) {
        d->overflows++;
    } else if (d->len == 0) {
        /* Just a terminator: nothing was scanned. */
    } else if (already) {
        d->refused++;
    } else {
        memcpy(out->text, d->buf, d->len + 1);
        out->len = d->len;
        out->symbology[0] = '\0';
        rc = 1;
    }
    reset_scan(d);
    return rc;
}

/* Handles one newly pressed key; *done is set when it completed a scan. */
static void key_pressed(struct scan_kbd_decoder *d, uint8_t usage, uint8_t mods, uint64_t now_ms,
                        struct scan_read *out, bool *done)
{
    bool term = usage == SCAN_USAGE_ENTER || usage == SCAN_USAGE_KP_ENTER ||
                (usage == SCAN_USAGE_TAB && d->tab_terminates);
    bool dead = false;
    char c = 0;

    if (!term) {
        c = scan_layout_char(d->layout, usage, mods, &dead);
        if (c == 0) {
            d->unmapped++;
            return;
        }
    }
    /* The pause rule: only a scan under way can be cut short. */
    if (d->char_timeout_ms != 0 && (scan_started(d) || d->spoiled) && now_ms > d->last_ms &&
        now_ms - d->last_ms > d->char_timeout_ms) {
        if (scan_started(d))
            d->timeouts++;
        reset_scan(d);
    }
    if (term) {
        if (end_scan(d, *done, out) == 1)
            *done = true;
        return;
    }
    d->last_ms = now_ms;
    if (d->dead != 0) {
        char pending = d->dead;
        d->dead = 0;
        append(d, pending);
        if (usage == SCAN_USAGE_SPACE && !dead)
            return; /* dead key + Space types the bare accent */
    }
    if (dead)
        d->dead = c;
    else
        append(d, c);
}

int scan_kbd_feed(struct scan_kbd_decoder *d, const uint8_t *report, size_t len, uint64_t now_ms,
                  struct scan_read *out, struct err *e)
{
    bool done = false;

    d->reports++;
    if (report == NULL || len != SCAN_KBD_REPORT_LEN) {
        d->refused++;
        d->spoiled = true;
        d->last_ms = now_ms;
        return err_set(e, ERR_INVALID, "keyboard report: length %zu, expected %d",
                       report == NULL ? (size_t)0 : len, SCAN_KBD_REPORT_LEN);
    }
    for (int i = 2; i < SCAN_KBD_REPORT_LEN; i++) {
        if (report[i] > SCAN_USAGE_MAX) {
            d->refused++;
            /* Keys were lost with this report: the scan under way would be
             * wrong, and so would one starting now. */
            d->spoiled = true;
            d->last_ms = now_ms;
            return err_set(e, ERR_INVALID, "keyboard report: byte %d: usage 0x%02X reserved", i,
                           report[i]);
        }
    }
    for (int i = 2; i < SCAN_KBD_REPORT_LEN; i++) {
        /* 0x01 ErrorRollOver, 0x02 POSTFail, 0x03 ErrorUndefined: the
         * keyboard cannot say which keys are down. Keep the previous state
         * so keys still held afterwards are not typed twice. */
        if (report[i] >= 0x01 && report[i] <= 0x03) {
            d->rollovers++;
            return 0;
        }
    }
    for (int i = 2; i < SCAN_KBD_REPORT_LEN; i++) {
        uint8_t u = report[i];
        if (u == 0 || memchr(d->prev_keys, u, sizeof(d->prev_keys)) != NULL ||
            memchr(report + 2, u, (size_t)(i - 2)) != NULL)
            continue;
        key_pressed(d, u, report[0], now_ms, out, &done);
    }
    memcpy(d->prev_keys, report + 2, sizeof(d->prev_keys));
    return done ? 1 : 0;
}

/*
 * framer.c - splits a TCP byte stream from a PLC into fixed-length telegrams
 * (spec "Transport": fixed length L, "###" sync, resync after garbage).
 *
 * DESIGN: a telegram start is "###" followed by a byte that is not '#'. Until
 * that is seen the framer is hunting: every byte that cannot begin a sync is
 * garbage and is counted into the current stretch; a pending "#" or "##" at
 * the end of a read is kept, since the next read may complete the sync. In a
 * run of four or more '#' only the last three are the sync (the length field
 * that follows is digits, never '#'), so "#" garbage right before a telegram
 * costs the garbage, not the telegram.
 *
 * A stretch is reported once (CONV_FRAME_SKIPPED) when the sync that ends it
 * is confirmed, or, when garbage keeps coming, each time it reaches L bytes:
 * a PLC (or a stranger) streaming nonsense then gets one ERR_ 00000013 per L
 * bytes at most, never more ERR_ bytes than it sent, and the operator sees the
 * problem while it lasts rather than only after it stops.
 *
 * Once synchronised the framer takes exactly L bytes whatever they hold; it
 * does not look for "###" inside them, because '#' is a legal character in
 * text fields. Judging the content is the parser's job.
 *
 * Pure and allocation-free; one framer per connection.
 */
#include "conveyor/telegram.h"

#include <string.h>

void conv_framer_init(struct conv_framer *f, size_t L)
{
    /* L comes from a validated config; clamping keeps buf[] safe anyway. */
    if (L < CONV_TG_LEN_MIN)
        L = CONV_TG_LEN_MIN;
    if (L > CONV_TG_LEN_MAX)
        L = CONV_TG_LEN_MAX;
    f->L = L;
    f->have = 0;
    f->skipping = 0;
    f->glen = 0;
}

/* Counts n garbage bytes of value c into the stretch, keeping the first L. */
static void garbage(struct conv_framer *f, char c, size_t n)
{
    f->skipping += n;
    while (n-- > 0 && f->glen < f->L)
        f->garbage[f->glen++] = c;
}

enum conv_frame_kind conv_framer_next(struct conv_framer *f, const char *data, size_t len,
                                      size_t *used, const char **frame, size_t *skipped)
{
    size_t pos = 0, n;

    *frame = NULL;
    *skipped = 0;
    while (pos < len) {
        char c = data[pos];

        if (f->have < 3) {
            pos++;
            if (c == '#') {
                f->buf[f->have++] = '#';
                continue;
            }
            /* Only '#' is pending, and c is not one: none of it can start a
             * sync any more. */
            garbage(f, '#', f->have);
            garbage(f, c, 1);
            f->have = 0;
            if (f->skipping >= f->L)
                goto report;
            continue;
        }
        if (f->have == 3) {
            pos++;
            if (c == '#') {
                /* "####": the first '#' was garbage, the sync slides on. */
                garbage(f, '#', 1);
                if (f->skipping >= f->L)
                    goto report;
                continue;
            }
            f->buf[f->have++] = c;
            if (f->skipping > 0)
                goto report;
            continue;
        }
        n = f->L - f->have;
        if (n > len - pos)
            n = len - pos;
        memcpy(f->buf + f->have, data + pos, n);
        f->have += n;
        pos += n;
        if (f->have == f->L) {
            f->have = 0;
            *used = pos;
            *frame = f->buf;
            return CONV_FRAME_TELEGRAM;
        }
    }
    *used = pos;
    return CONV_FRAME_NONE;

report:
    *used = pos;
    *skipped = f->skipping;
    *frame = f->garbage;
    f->skipping = 0;
    f->glen = 0;
    return CONV_FRAME_SKIPPED;
}

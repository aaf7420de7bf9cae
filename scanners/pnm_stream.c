/*
 * pnm_stream.c - PNM images back to back on a byte stream (pnm_stream.h).
 */
#include "scanners/pnm_stream.h"

#include <stdbool.h>
#include <string.h>

#define END -2 /* the stream ended (internal) */

void scan_pnm_reader_init(struct scan_pnm_reader *r, scan_pnm_fill_fn fill, void *arg)
{
    r->fill = fill;
    r->arg = arg;
    r->pos = r->len = 0;
}

static int refill(struct scan_pnm_reader *r)
{
    size_t got = 0;
    int rc = r->fill(r->arg, r->buf, sizeof(r->buf), &got);

    if (rc == 1 && got > 0 && got <= sizeof(r->buf)) {
        r->pos = 0;
        r->len = got;
        return 1;
    }
    return rc == 0 || rc == 1 ? END : -1;
}

static int get_byte(struct scan_pnm_reader *r)
{
    int rc;

    if (r->pos == r->len && (rc = refill(r)) != 1)
        return rc;
    return r->buf[r->pos++];
}

static bool blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A header number, after blanks and # comments, ended by one blank;
 * ERR_PARSE when there is none, END or -1 from the stream. */
static long header_number(struct scan_pnm_reader *r)
{
    long v = 0;
    int c = get_byte(r), digits = 0;

    for (;;) {
        if (c == '#')
            while (c >= 0 && c != '\n')
                c = get_byte(r);
        else if (blank(c))
            c = get_byte(r);
        else
            break;
    }
    if (c < 0)
        return c;
    while (c >= '0' && c <= '9' && digits < 9) {
        v = v * 10 + (c - '0');
        digits++;
        c = get_byte(r);
    }
    if (c == -1)
        return -1;
    if (digits == 0 || !blank(c))
        return ERR_PARSE;
    return v;
}

static int read_exact(struct scan_pnm_reader *r, unsigned char *out, size_t n)
{
    while (n > 0) {
        size_t k;
        int rc;

        if (r->pos == r->len && (rc = refill(r)) != 1)
            return rc;
        k = r->len - r->pos < n ? r->len - r->pos : n;
        memcpy(out, r->buf + r->pos, k);
        r->pos += k;
        out += k;
        n -= k;
    }
    return 0;
}

int scan_pnm_next(struct scan_pnm_reader *r, struct scan_image *img, struct err *e)
{
    unsigned char row[3 * 4096];
    int c0 = get_byte(r), c1, channels;
    long w, h, maxval, y;

    if (c0 == END)
        return 1;
    if (c0 < 0)
        return -1;
    c1 = get_byte(r);
    if (c1 == -1)
        return -1;
    if (c0 != 'P' || (c1 != '5' && c1 != '6'))
        return err_set(e, ERR_PARSE, "not a binary PNM image (P5 or P6)");
    channels = c1 == '6' ? 3 : 1;
    w = header_number(r);
    h = w >= 0 ? header_number(r) : w;
    maxval = h >= 0 ? header_number(r) : h;
    if (w == -1 || h == -1 || maxval == -1)
        return -1;
    if (w == END || h == END || maxval == END)
        return err_set(e, ERR_PARSE, "PNM: the stream ended inside a header");
    if (w == ERR_PARSE || h == ERR_PARSE || maxval == ERR_PARSE)
        return err_set(e, ERR_PARSE, "PNM header: width, height and maxval are numbers");
    if (w <= 0 || h <= 0 || maxval <= 0 || maxval > 255)
        return err_set(e, ERR_PARSE, "PNM header: size %ldx%ld, maxval %ld (8-bit only)", w, h,
                       maxval);
    if ((unsigned long)w > SCAN_IMAGE_MAX_SIDE || (unsigned long)h > SCAN_IMAGE_MAX_SIDE ||
        (unsigned long long)w * (unsigned long long)h > SCAN_IMAGE_MAX_PIXELS)
        return err_set(e, ERR_PARSE, "PNM: %ldx%ld pixels: past the image limits", w, h);
    if (scan_image_resize(img, (int)w, (int)h) < 0)
        return err_set(e, ERR_PARSE, "PNM: %ldx%ld: out of memory", w, h);
    for (y = 0; y < h; y++) {
        uint8_t *out = img->data + (size_t)y * (size_t)w;
        size_t done = 0, rowlen = (size_t)w * (size_t)channels, x;

        /* A row in pieces of the stack buffer (whole pixels each). */
        while (done < rowlen) {
            size_t k = rowlen - done < sizeof(row) ? rowlen - done : sizeof(row);
            int rc = read_exact(r, row, k);

            if (rc == -1)
                return -1;
            if (rc != 0)
                return err_set(e, ERR_PARSE, "PNM: the stream ended inside an image");
            for (x = 0; x < k / (size_t)channels; x++) {
                unsigned v =
                    channels == 1
                        ? row[x]
                        : (77u * row[3 * x] + 150u * row[3 * x + 1] + 29u * row[3 * x + 2]) >> 8;

                if (maxval != 255)
                    v = (v > (unsigned)maxval ? (unsigned)maxval : v) * 255u / (unsigned)maxval;
                out[done / (size_t)channels + x] = (uint8_t)v;
            }
            done += k;
        }
    }
    return 0;
}

/*
 * cam_stream.c - a camera whose frames come as a stream of PNM images back
 * to back (binary P5 grey or P6 colour, maxval 1..255): a FIFO a capture
 * program writes (`ffmpeg ... -f image2pipe -vcodec pgm FIFO`) or a file.
 * A frame's trigger time is when its last byte arrived. A FIFO is opened
 * again when its writer goes; a plain file ends the source at its end. An
 * image whose header is not PNM, or past the image limits, is counted bad
 * and the stream is opened again (there is no way to find the next image's
 * start in a broken stream).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "scanners/cam_source.h"

#define POLL_MS 100

struct reader {
    struct cam *cam;
    int fd;
    unsigned char buf[65536];
    size_t pos, len;
};

/* Fills the buffer; 1 with data, 0 at the end (writer gone), -1 error or stop. */
static int fill(struct reader *r)
{
    while (!cam_stopping(r->cam)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, POLL_MS) == 0)
            continue;
        n = read(r->fd, r->buf, sizeof(r->buf));
        if (n > 0) {
            r->pos = 0;
            r->len = (size_t)n;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno != EAGAIN && errno != EINTR)
            return -1;
    }
    return -1;
}

static int get_byte(struct reader *r)
{
    int rc;

    if (r->pos == r->len && (rc = fill(r)) <= 0)
        return rc == 0 ? -2 : -1;
    return r->buf[r->pos++];
}

/* A header number, skipping blanks and # comments; -1 bad, -2 end. */
static long header_number(struct reader *r)
{
    long v = 0;
    int c = get_byte(r), digits = 0;

    for (;;) {
        if (c == '#')
            while (c >= 0 && c != '\n')
                c = get_byte(r);
        else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
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
    /* One blank ends the number (after maxval: the single blank before the data). */
    if (digits == 0 || !(c == ' ' || c == '\t' || c == '\r' || c == '\n'))
        return c == -2 ? -2 : -1;
    return v;
}

static int read_exact(struct reader *r, unsigned char *out, size_t n)
{
    while (n > 0) {
        size_t k;
        int rc;

        if (r->pos == r->len && (rc = fill(r)) <= 0)
            return rc == 0 ? -2 : -1;
        k = r->len - r->pos < n ? r->len - r->pos : n;
        memcpy(out, r->buf + r->pos, k);
        r->pos += k;
        out += k;
        n -= k;
    }
    return 0;
}

/* One image into img: 0, -2 at a clean end, -1 stop or error, ERR_PARSE bad. */
static int read_image(struct reader *r, struct scan_image *img, char *why, size_t whylen)
{
    int c0 = get_byte(r), c1, channels, rc;
    long w, h, maxval, x, y;
    unsigned char row[3 * 4096];

    if (c0 < 0)
        return c0;
    c1 = get_byte(r);
    if (c0 != 'P' || (c1 != '5' && c1 != '6')) {
        snprintf(why, whylen, "not a binary PNM image (P5 or P6)");
        return ERR_PARSE;
    }
    channels = c1 == '6' ? 3 : 1;
    w = header_number(r);
    h = header_number(r);
    maxval = header_number(r);
    if (w == -1 || h == -1 || maxval == -1 || w == 0 || h == 0 || maxval == 0 || maxval > 255) {
        snprintf(why, whylen, "PNM header: size %ldx%ld, maxval %ld (8-bit only)", w, h, maxval);
        return ERR_PARSE;
    }
    if (w < 0 || h < 0 || maxval < 0)
        return -2;
    if ((unsigned long)w > SCAN_IMAGE_MAX_SIDE || (unsigned long)h > SCAN_IMAGE_MAX_SIDE ||
        (unsigned long long)w * (unsigned long long)h > SCAN_IMAGE_MAX_PIXELS) {
        snprintf(why, whylen, "PNM: %ldx%ld pixels: past the image limits", w, h);
        return ERR_PARSE;
    }
    if (scan_image_resize(img, (int)w, (int)h) < 0) {
        snprintf(why, whylen, "out of memory");
        return ERR_PARSE;
    }
    for (y = 0; y < h; y++) {
        uint8_t *out = img->data + (size_t)y * (size_t)w;
        size_t done = 0, rowlen = (size_t)w * (size_t)channels;

        /* A row in pieces of the stack buffer (wide frames). */
        while (done < rowlen) {
            size_t k = rowlen - done < sizeof(row) ? rowlen - done : sizeof(row);

            rc = read_exact(r, row, k);
            if (rc < 0) {
                snprintf(why, whylen, "PNM: the stream ended inside an image");
                return rc == -1 ? -1 : ERR_PARSE;
            }
            for (x = 0; x < (long)(k / (size_t)channels); x++) {
                unsigned v = channels == 1 ? row[x]
                                           : (77u * row[3 * x] + 150u * row[3 * x + 1] +
                                              29u * row[3 * x + 2]) >> 8;
                out[done / (size_t)channels + (size_t)x] =
                    (uint8_t)(maxval == 255 ? v : (v * 255u + (unsigned)maxval / 2) / (unsigned)maxval);
            }
            done += k;
        }
    }
    return 0;
}

void cam_stream_run(struct cam *c)
{
    const struct scan_camera_cfg *cfg = cam_cfg(c);
    static struct reader zero;
    struct reader *r = malloc(sizeof(*r));
    bool warned = false;

    if (r == NULL)
        return;
    while (!cam_stopping(c)) {
        struct scan_image img = {0};
        struct stat sb;
        bool plain;
        char why[128];
        int rc;

        *r = zero;
        r->cam = c;
        /* O_NONBLOCK: opening a FIFO without a writer must not block the stop. */
        r->fd = open(cfg->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (r->fd < 0) {
            if (!warned)
                log_warnx("camera %s: stream %s: %s; trying again every second", cfg->id,
                          cfg->path, strerror(errno));
            warned = true;
            cam_set_open(c, false);
            cam_sleep_ms(c, 1000);
            continue;
        }
        warned = false;
        plain = fstat(r->fd, &sb) == 0 && S_ISREG(sb.st_mode);
        cam_set_open(c, true);
        while ((rc = read_image(r, &img, why, sizeof(why))) == 0)
            cam_put(c, &img, cam_now_us());
        if (rc == ERR_PARSE) {
            log_warnx("camera %s: stream %s: %s; opened again", cfg->id, cfg->path, why);
            cam_count_bad(c);
        }
        scan_image_release(&img);
        close(r->fd);
        if (plain) /* a file is read once, to its end or its first bad image */
            break;
        /* The writer went: wait for the next one without spinning. */
        cam_sleep_ms(c, POLL_MS);
    }
    free(r);
}

/*
 * pnm_stream.h - binary PNM images (P5 grey, P6 colour, maxval 1..255)
 * back to back on a byte stream, as a capture program writes them to a
 * FIFO (`ffmpeg ... -f image2pipe -vcodec pgm`). Pure: the bytes come from
 * the caller's fill function, so a FIFO (cam_stream.c) and a buffer (the
 * fuzzer) read alike.
 */
#ifndef WCS_SCANNERS_PNM_STREAM_H
#define WCS_SCANNERS_PNM_STREAM_H

#include <stddef.h>

#include "scanners/camera.h"

/* Puts up to cap bytes in buf, their count in *got: returns 1 with data,
 * 0 at the end of the stream, -1 when reading must stop (an error, a stop). */
typedef int (*scan_pnm_fill_fn)(void *arg, unsigned char *buf, size_t cap, size_t *got);

struct scan_pnm_reader {
    scan_pnm_fill_fn fill;
    void *arg;
    unsigned char buf[65536];
    size_t pos, len;
};

void scan_pnm_reader_init(struct scan_pnm_reader *r, scan_pnm_fill_fn fill, void *arg);

/*
 * The next image into img (grey; colour converted, maxval scaled to 255).
 * Returns 0; 1 at a clean end (no byte of another image); -1 when fill
 * said stop; ERR_PARSE for a stream that is not PNM there, a size past
 * SCAN_IMAGE_MAX_SIDE / SCAN_IMAGE_MAX_PIXELS, or an image cut short (e
 * says which). After ERR_PARSE the stream cannot be resynchronised.
 */
int scan_pnm_next(struct scan_pnm_reader *r, struct scan_image *img, struct err *e);

#endif

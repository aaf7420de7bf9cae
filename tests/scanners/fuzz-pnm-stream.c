/*
 * fuzz-pnm-stream.c - libFuzzer entry point for the PNM stream reader of
 * stream cameras (scanners/pnm_stream.h): whatever a FIFO carries, in
 * whatever pieces it arrives. The first byte sets the piece size, so the
 * reader's buffer boundaries fall everywhere. Beyond "no crash, no
 * sanitizer report": every image returned has its declared size within
 * the limits, and a refusal says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/pnm_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
    const uint8_t *p;
    size_t left, piece;
};

static int mem_fill(void *arg, unsigned char *buf, size_t cap, size_t *got)
{
    struct mem *m = arg;
    size_t n = m->left < m->piece ? m->left : m->piece;

    if (n > cap)
        n = cap;
    if (n == 0)
        return 0;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    *got = n;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scan_pnm_reader r;
    struct scan_image img = {0};
    struct mem m;
    struct err e;
    int rc, images = 0;

    if (size == 0)
        return 0;
    m.piece = (size_t)data[0] + 1;
    m.p = data + 1;
    m.left = size - 1;
    scan_pnm_reader_init(&r, mem_fill, &m);
    while ((rc = scan_pnm_next(&r, &img, &e)) == 0) {
        if (img.w <= 0 || img.h <= 0 || (uint64_t)img.w * (uint64_t)img.h > SCAN_IMAGE_MAX_PIXELS)
            abort();
        if (++images > 1000)
            abort(); /* every image takes at least one byte of the input */
    }
    if (rc != 1 && rc != ERR_PARSE)
        abort();
    if (rc == ERR_PARSE && e.msg[0] == '\0')
        abort();
    scan_image_release(&img);
    return 0;
}

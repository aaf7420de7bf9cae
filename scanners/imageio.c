/*
 * imageio.c - loads camera frames from files as 8-bit grey: PNG through
 * libpng's simplified API, JPEG through libjpeg(-turbo), binary PGM (P5)
 * parsed here (a header of four numbers; no library needed).
 *
 * The format comes from the file's magic bytes. Every failure, a damaged or
 * truncated file included, is an error with a reason, never a crash or a
 * half-grey image passed on as good: libjpeg only warns on a truncated
 * stream, so that warning is turned into an error here.
 *
 * Limits (camera.h): SCAN_IMAGE_MAX_PIXELS and SCAN_IMAGE_MAX_SIDE for every
 * format, checked from the header before any pixel is decoded;
 * SCAN_JPEG_MAX_SCANS for JPEG, checked as each scan starts (a progressive
 * JPEG may hold thousands of tiny scans, each a pass over the whole image:
 * a few KiB that cost minutes); PGM_HEADER_MAX for the PGM header.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "scanners/camera.h"

/* Bytes of a PGM header (magic, three numbers, comments): a real one is a
 * few dozen; this stops a header of endless comments early. */
#define PGM_HEADER_MAX 4096

/* Checks a header's size against the limits; 0 or -EINVAL with e set. */
static int check_size(const char *fmt, unsigned long w, unsigned long h, struct err *e)
{
    if (w == 0 || h == 0)
        return err_set(e, -EINVAL, "%s: %lux%lu pixels: no pixels", fmt, w, h);
    if (w > SCAN_IMAGE_MAX_SIDE || h > SCAN_IMAGE_MAX_SIDE)
        return err_set(e, -EINVAL, "%s: %lux%lu pixels: a side is past %u", fmt, w, h,
                       SCAN_IMAGE_MAX_SIDE);
    if ((uint64_t)w * h > SCAN_IMAGE_MAX_PIXELS)
        return err_set(e, -EINVAL, "%s: %lux%lu pixels is past the limit of %u pixels", fmt, w, h,
                       SCAN_IMAGE_MAX_PIXELS);
    return 0;
}

/* ---- PNG ---- */

static int load_png(FILE *fp, struct scan_image *img, struct err *e)
{
    png_image pi;
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&pi, fp))
        return err_set(e, ERR_PARSE, "PNG: %s", pi.message);
    int rc = check_size("PNG", pi.width, pi.height, e);
    if (rc < 0) {
        png_image_free(&pi);
        return rc;
    }
    rc = scan_image_resize(img, (int)pi.width, (int)pi.height);
    if (rc < 0) {
        png_image_free(&pi);
        return err_set(e, rc, "PNG: no memory for %ux%u pixels", pi.width, pi.height);
    }
    pi.format = PNG_FORMAT_GRAY;
    /* Labels are dark on light: transparency becomes the paper's white. */
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&pi, &white, img->data, (png_int_32)pi.width, NULL)) {
        /* finish_read frees the image's internals on failure; libpng's
         * "Read Error" is all it says about a file that ends early. */
        return err_set(e, ERR_PARSE, "PNG: %s (damaged or truncated file)", pi.message);
    }
    return 0;
}

/* ---- JPEG ---- */

struct jpeg_fail {
    struct jpeg_error_mgr mgr;
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int truncated; /* the stream ended early (libjpeg pads it and only warns) */
    int too_many_scans; /* the stream went past SCAN_JPEG_MAX_SCANS */
    int damaged;        /* a warning that the entropy-coded data is damaged */
    char damage[JMSG_LENGTH_MAX];
};

/* Warnings that mean pixels were made up: libjpeg fills what it cannot decode
 * and goes on, and a frame partly invented must not be read. Others (such as
 * extraneous bytes before a marker, which some cameras write) are harmless. */
static bool jpeg_warning_damages(int code)
{
    return code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE || code == JWRN_MUST_RESYNC ||
           code == JWRN_NOT_SEQUENTIAL;
}

static void jpeg_error_exit_cb(j_common_ptr ci)
{
    struct jpeg_fail *f = (struct jpeg_fail *)ci->err;
    ci->err->format_message(ci, f->msg);
    longjmp(f->jb, 1);
}

static void jpeg_emit_message_cb(j_common_ptr ci, int level)
{
    struct jpeg_fail *f = (struct jpeg_fail *)ci->err;
    if (level < 0 && ci->err->msg_code == JWRN_JPEG_EOF && !f->truncated) {
        f->truncated = 1;
        ci->err->format_message(ci, f->msg);
    }
    if (level < 0 && jpeg_warning_damages(ci->err->msg_code) && !f->damaged) {
        f->damaged = 1;
        ci->err->format_message(ci, f->damage);
    }
    if (level < 0)
        ci->err->num_warnings++;
}

/* libjpeg calls this often while it reads (between iMCU rows and markers):
 * the place to stop a stream with too many scans before it costs more. */
static void jpeg_progress_cb(j_common_ptr ci)
{
    struct jpeg_fail *f = (struct jpeg_fail *)ci->err;
    j_decompress_ptr d = (j_decompress_ptr)ci;
    if (d->input_scan_number > SCAN_JPEG_MAX_SCANS) {
        f->too_many_scans = 1;
        longjmp(f->jb, 1);
    }
}

static int load_jpeg(FILE *fp, struct scan_image *img, struct err *e)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_fail fail;
    memset(&fail, 0, sizeof(fail));
    ci.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_error_exit_cb;
    fail.mgr.emit_message = jpeg_emit_message_cb;
    fail.progress.progress_monitor = jpeg_progress_cb;
    /* volatile: read after longjmp. */
    volatile int rc = 0;
    if (setjmp(fail.jb)) {
        jpeg_destroy_decompress(&ci);
        if (fail.too_many_scans)
            return err_set(e, -EINVAL, "JPEG: more than %d scans", SCAN_JPEG_MAX_SCANS);
        return err_set(e, ERR_PARSE, "JPEG: %s", fail.msg);
    }
    jpeg_create_decompress(&ci);
    ci.progress = &fail.progress;
    jpeg_stdio_src(&ci, fp);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = JCS_GRAYSCALE;
    rc = check_size("JPEG", ci.image_width, ci.image_height, e);
    if (rc < 0)
        goto out;
    jpeg_start_decompress(&ci);
    int r = scan_image_resize(img, (int)ci.output_width, (int)ci.output_height);
    if (r < 0) {
        rc = err_set(e, r, "JPEG: no memory for %ux%u pixels", ci.output_width, ci.output_height);
        goto out;
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = img->data + (size_t)ci.output_scanline * (size_t)img->w;
        jpeg_read_scanlines(&ci, &row, 1);
        if (fail.truncated)
            break;
    }
    if (fail.truncated) {
        rc = err_set(e, ERR_PARSE, "JPEG: truncated (%s)", fail.msg);
        goto out;
    }
    jpeg_finish_decompress(&ci);
    if (fail.damaged)
        rc = err_set(e, ERR_PARSE, "JPEG: damaged (%s)", fail.damage);
out:
    jpeg_destroy_decompress(&ci);
    return rc;
}

/* ---- PGM (P5) ---- */

/* getc() counting the header's bytes: EOF past PGM_HEADER_MAX. */
static int pgm_getc(FILE *fp, size_t *used)
{
    if (++*used > PGM_HEADER_MAX)
        return EOF;
    return getc(fp);
}

/* Reads one header number, skipping white space and '#' comments. Returns
 * 0, or -1 for a bad header. A number above 100000000 is read as that
 * (the size check refuses it with the real limits). */
static int pgm_number(FILE *fp, size_t *used, unsigned long *out)
{
    int ch;
    for (;;) {
        ch = pgm_getc(fp, used);
        if (ch == '#') {
            while (ch != '\n' && ch != EOF)
                ch = pgm_getc(fp, used);
        } else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
            break;
        }
    }
    if (ch < '0' || ch > '9')
        return -1;
    unsigned long v = 0;
    while (ch >= '0' && ch <= '9') {
        if (v <= 100000000ul)
            v = v * 10 + (unsigned long)(ch - '0');
        ch = pgm_getc(fp, used);
    }
    /* Exactly one white-space character ends the number (the last one before
     * the raster matters; others are harmless). */
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
        return -1;
    *out = v;
    return 0;
}

static int load_pgm(FILE *fp, struct scan_image *img, struct err *e)
{
    int rc = 0;
    unsigned long w, h, maxval;
    uint8_t *row16 = NULL;
    size_t used = 0;
    if (pgm_getc(fp, &used) != 'P' || pgm_getc(fp, &used) != '5' ||
        pgm_number(fp, &used, &w) < 0 || pgm_number(fp, &used, &h) < 0 ||
        pgm_number(fp, &used, &maxval) < 0) {
        if (used > PGM_HEADER_MAX)
            rc = err_set(e, ERR_PARSE, "PGM: header longer than %d bytes", PGM_HEADER_MAX);
        else
            rc = err_set(e, ERR_PARSE, "PGM: bad header");
        goto out;
    }
    if (maxval == 0 || maxval > 65535) {
        rc = err_set(e, ERR_PARSE, "PGM: maxval %lu out of 1..65535", maxval);
        goto out;
    }
    rc = check_size("PGM", w, h, e);
    if (rc < 0)
        goto out;
    rc = scan_image_resize(img, (int)w, (int)h);
    if (rc < 0) {
        rc = err_set(e, rc, "PGM: no memory for %lux%lu pixels", w, h);
        goto out;
    }
    size_t n = (size_t)w * h;
    if (maxval < 256) {
        if (fread(img->data, 1, n, fp) != n) {
            rc = err_set(e, ERR_PARSE, "PGM: truncated raster");
            goto out;
        }
        if (maxval != 255)
            for (size_t i = 0; i < n; i++)
                img->data[i] = (uint8_t)(img->data[i] > maxval ? 255 : img->data[i] * 255 / maxval);
    } else {
        /* 16-bit samples, big-endian: scaled to 8 bits row by row. */
        row16 = malloc((size_t)w * 2);
        if (!row16) {
            rc = err_set(e, -ENOMEM, "PGM: no memory");
            goto out;
        }
        for (unsigned long y = 0; y < h; y++) {
            if (fread(row16, 2, w, fp) != w) {
                rc = err_set(e, ERR_PARSE, "PGM: truncated raster");
                goto out;
            }
            uint8_t *o = img->data + (size_t)y * w;
            for (unsigned long x = 0; x < w; x++) {
                unsigned long v = ((unsigned long)row16[2 * x] << 8) | row16[2 * x + 1];
                o[x] = (uint8_t)(v > maxval ? 255 : v * 255 / maxval);
            }
        }
    }
out:
    free(row16);
    return rc;
}

int scan_image_read(FILE *fp, struct scan_image *img, struct err *e)
{
    if (!fp || !img)
        return err_set(e, -EINVAL, "no stream or image");
    off_t start = ftello(fp);
    if (start < 0)
        return err_set(e, -errno, "%s", strerror(errno));
    uint8_t magic[8] = {0};
    size_t got = fread(magic, 1, sizeof(magic), fp);
    if (ferror(fp)) {
        int rerr = errno ? errno : EIO;
        return err_set(e, -rerr, "%s", strerror(rerr));
    }
    /* Each decoder reads the file from its first byte. */
    if (fseeko(fp, start, SEEK_SET) < 0)
        return err_set(e, -errno, "%s", strerror(errno));
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got == 8 && memcmp(magic, png_sig, 8) == 0)
        return load_png(fp, img, e);
    if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff)
        return load_jpeg(fp, img, e);
    if (got >= 2 && magic[0] == 'P' && magic[1] == '5')
        return load_pgm(fp, img, e);
    if (got == 0)
        return err_set(e, ERR_PARSE, "empty file");
    return err_set(e, ERR_PARSE, "not a PNG, JPEG or binary PGM (P5) image");
}

int scan_image_load(const char *path, struct scan_image *img, struct err *e)
{
    if (!path || !img)
        return err_set(e, -EINVAL, "no path or image");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, -errno, "%s", strerror(errno));
    int rc = scan_image_read(fp, img, e);
    fclose(fp);
    return rc;
}

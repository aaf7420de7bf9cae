/*
 * imageio.c - loads camera frames from files as 8-bit grey: PNG through
 * libpng's simplified API, JPEG through libjpeg(-turbo), binary PGM (P5)
 * parsed here (a header of four numbers; no library needed).
 *
 * The format comes from the file's magic bytes. Every failure, a damaged or
 * truncated file included, is an error with a reason, never a crash or a
 * half-grey image passed on as good: libjpeg only warns on a truncated
 * stream, so that warning is turned into an error here.
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

/* ---- PNG ---- */

static int load_png(const char *path, struct scan_image *img, struct err *e)
{
    png_image pi;
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path))
        return err_set(e, ERR_PARSE, "PNG: %s", pi.message);
    if ((uint64_t)pi.width * pi.height > SCAN_IMAGE_MAX_PIXELS || pi.width == 0 || pi.height == 0) {
        png_image_free(&pi);
        return err_set(e, -EINVAL, "PNG: %ux%u pixels is past the limit", pi.width, pi.height);
    }
    int rc = scan_image_resize(img, (int)pi.width, (int)pi.height);
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
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int truncated; /* the stream ended early (libjpeg pads it and only warns) */
};

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
    if (level < 0)
        ci->err->num_warnings++;
}

static int load_jpeg(const char *path, struct scan_image *img, struct err *e)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, -errno, "%s", strerror(errno));
    struct jpeg_decompress_struct ci;
    struct jpeg_fail fail;
    memset(&fail, 0, sizeof(fail));
    ci.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_error_exit_cb;
    fail.mgr.emit_message = jpeg_emit_message_cb;
    /* volatile: read after longjmp. */
    volatile int rc = 0;
    if (setjmp(fail.jb)) {
        jpeg_destroy_decompress(&ci);
        fclose(fp);
        return err_set(e, ERR_PARSE, "JPEG: %s", fail.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_stdio_src(&ci, fp);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = JCS_GRAYSCALE;
    if ((uint64_t)ci.image_width * ci.image_height > SCAN_IMAGE_MAX_PIXELS) {
        rc = err_set(e, -EINVAL, "JPEG: %ux%u pixels is past the limit", ci.image_width,
                     ci.image_height);
        goto out;
    }
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
out:
    jpeg_destroy_decompress(&ci);
    fclose(fp);
    return rc;
}

/* ---- PGM (P5) ---- */

/* Reads one header number, skipping white space and '#' comments. */
static int pgm_number(FILE *fp, unsigned long *out)
{
    int ch;
    for (;;) {
        ch = getc(fp);
        if (ch == '#') {
            while (ch != '\n' && ch != EOF)
                ch = getc(fp);
        } else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
            break;
        }
    }
    if (ch < '0' || ch > '9')
        return -1;
    unsigned long v = 0;
    while (ch >= '0' && ch <= '9') {
        if (v > 100000000ul)
            return -1;
        v = v * 10 + (unsigned long)(ch - '0');
        ch = getc(fp);
    }
    /* Exactly one white-space character ends the number (the last one before
     * the raster matters; others are harmless). */
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
        return -1;
    *out = v;
    return 0;
}

static int load_pgm(const char *path, struct scan_image *img, struct err *e)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, -errno, "%s", strerror(errno));
    int rc = 0;
    unsigned long w, h, maxval;
    uint8_t *row16 = NULL;
    if (getc(fp) != 'P' || getc(fp) != '5' || pgm_number(fp, &w) < 0 || pgm_number(fp, &h) < 0 ||
        pgm_number(fp, &maxval) < 0) {
        rc = err_set(e, ERR_PARSE, "PGM: bad header");
        goto out;
    }
    if (maxval == 0 || maxval > 65535) {
        rc = err_set(e, ERR_PARSE, "PGM: maxval %lu out of 1..65535", maxval);
        goto out;
    }
    if (w == 0 || h == 0 || (uint64_t)w * h > SCAN_IMAGE_MAX_PIXELS) {
        rc = err_set(e, -EINVAL, "PGM: %lux%lu pixels is out of range", w, h);
        goto out;
    }
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
    fclose(fp);
    return rc;
}

int scan_image_load(const char *path, struct scan_image *img, struct err *e)
{
    if (!path || !img)
        return err_set(e, -EINVAL, "no path or image");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, -errno, "%s", strerror(errno));
    uint8_t magic[8] = {0};
    size_t got = fread(magic, 1, sizeof(magic), fp);
    int rerr = ferror(fp) ? errno : 0;
    fclose(fp);
    if (rerr)
        return err_set(e, -rerr, "%s", strerror(rerr));
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got == 8 && memcmp(magic, png_sig, 8) == 0)
        return load_png(path, img, e);
    if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff)
        return load_jpeg(path, img, e);
    if (got >= 2 && magic[0] == 'P' && magic[1] == '5')
        return load_pgm(path, img, e);
    if (got == 0)
        return err_set(e, ERR_PARSE, "empty file");
    return err_set(e, ERR_PARSE, "not a PNG, JPEG or binary PGM (P5) image");
}

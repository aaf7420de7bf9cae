/*
 * fuzz-frame.c - libFuzzer entry point for camera frames: PNG, JPEG and
 * binary PGM loading (scan_image_read) and the image operations the camera
 * pipeline runs on what was loaded (scanners/imageops.c), docs/fuzzing.md.
 *
 * The input is the file (libpng and libjpeg are not instrumented: the
 * fuzzer steers by our loaders and reaches the libraries through them).
 * Beyond "no crash, no sanitizer report", it checks:
 *  - a load ends in 0, ERR_PARSE, -EINVAL (past a limit) or -ENOMEM, a
 *    failure with a printable reason;
 *  - a loaded image is within SCAN_IMAGE_MAX_SIDE and SCAN_IMAGE_MAX_PIXELS
 *    and every one of its pixels can be read;
 *  - on a small image (up to 64x64, so each input stays fast) the image
 *    operations, with parameters from the input's last bytes, give the
 *    documented sizes (rotation: the rotated bounding box), and the no-read
 *    classification (noread.c) names one of its causes with figures in
 *    range.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/camera.h"
#include "tests/common/fuzzutil.h"

#define OPS_MAX_PIXELS 4096

static void ops(const struct scan_image *img, const uint8_t *data, size_t size)
{
    struct scan_frame f = scan_image_frame(img);
    struct scan_image out = {0};
    uint8_t p0 = size > 0 ? data[size - 1] : 0, p1 = size > 1 ? data[size - 2] : 0;
    double deg = (double)p0 * 360.0 / 256.0;
    int factor = 2 + p1 % 7, rc;

    if (scan_img_median3(&f, &out) != 0 || out.w != f.w || out.h != f.h)
        abort();
    if (scan_img_box_blur(&f, 1 + p1 % 16, &out) != 0 || out.w != f.w || out.h != f.h)
        abort();
    if (scan_img_sharpen(&f, 1 + p0 % 16, 1 + p1 * 3, &out) != 0 || out.w != f.w || out.h != f.h)
        abort();
    if (scan_img_stretch(&f, p0 % 50, 50 + p1 % 51, &out) != 0 || out.w != f.w || out.h != f.h)
        abort();
    rc = scan_img_downscale(&f, factor, &out);
    if (f.w >= factor && f.h >= factor ? rc != 0 || out.w != f.w / factor || out.h != f.h / factor
                                       : rc != -EINVAL)
        abort();
    rc = scan_img_upscale(&f, 2 + p0 % 3, &out);
    if (f.w >= 2 && f.h >= 2 ? rc != 0 || out.w != f.w * (2 + p0 % 3) : rc != -EINVAL)
        abort();
    if (scan_img_rotate(&f, deg, p1, &out) != 0)
        abort();
    {
        double rad = deg * M_PI / 180.0, bw = fabs(f.w * cos(rad)) + fabs(f.h * sin(rad));

        if (fabs(out.w - bw) > 1.0)
            abort();
    }
    scan_image_release(&out);
    {
        struct scan_noread n;
        enum scan_noread_cause c = scan_noread_classify(&f, NULL, &n);

        if (c != n.cause || c == SCAN_NOREAD_NONE || c > SCAN_NOREAD_CHECK_DIGIT ||
            n.region_blocks < 0 || n.contrast < 0 || n.contrast > 255 || n.module_px < 0 ||
            n.angle_deg < -90 || n.angle_deg > 90 || scan_noread_cause_name(c)[0] == '?')
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scan_image img = {0};
    struct err e = {0};
    char *copy;
    FILE *fp = fuzz_open(data, size, &copy);
    int rc = scan_image_read(fp, &img, &e);

    fuzz_close(fp, copy);
    if (rc == 0) {
        uint64_t sum = 0;
        size_t i, n;

        if (img.w <= 0 || img.h <= 0 || img.data == NULL || (unsigned)img.w > SCAN_IMAGE_MAX_SIDE ||
            (unsigned)img.h > SCAN_IMAGE_MAX_SIDE ||
            (uint64_t)img.w * (uint64_t)img.h > SCAN_IMAGE_MAX_PIXELS)
            abort();
        n = (size_t)img.w * (size_t)img.h;
        for (i = 0; i < n; i++)
            sum += img.data[i];
        if (sum > 255u * (uint64_t)n) /* reads every pixel */
            abort();
        if (n <= OPS_MAX_PIXELS)
            ops(&img, data, size);
    } else {
        if (rc != ERR_PARSE && rc != -EINVAL && rc != -ENOMEM)
            abort();
        if (e.msg[0] == '\0')
            abort();
        fuzz_check_text(e.msg, ERR_MSG_MAX - 1);
    }
    scan_image_release(&img);
    return 0;
}

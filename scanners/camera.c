/*
 * camera.c - the camera decoding pipeline: grey frames through ZBar, pass by
 * pass, until a valid parcel code of an allowed kind turns up.
 *
 * DESIGN. ZBar reads a 1D code only when one of its scan lines (rows and
 * columns) crosses every bar: within about +-11 degrees of either axis. So
 * after the plain pass the frame is rotated by 45, 22.5 and 67.5 degrees;
 * with the plain pass these four cover every angle (each covers +-11.25
 * degrees around itself and around itself + 90). Noise, blur, low contrast
 * and tiny modules get passes of their own (median, contrast stretch,
 * upscale, downscale) and then the same rotations on the cleaned image.
 * The table below is in the order of likely payoff per millisecond, so an
 * easy frame costs one ZBar scan and a hard one stops at the first pass that
 * reads.
 *
 * A second decoder, zxing-cpp (zxing.h, a C shim over its C++ API), runs in
 * passes of its own: "zxing" right after the plain ZBar pass of a clean
 * frame, "zxing-median" first on a noisy one. It reads blurred and noisy
 * frames that ZBar reads only after several filtered passes or not at all,
 * at 1-4 ms a megapixel. Like
 * ZBar it reads a 1D code only near the axes (within about +-10 degrees,
 * narrower than ZBar), so the rotations stay ZBar's. Its texts go through the
 * same judge as ZBar's. A pass is not started once the frame's budget is spent (the first
 * always runs), and the cleaned image is computed once per frame and kept for
 * that filter's rotated passes.
 *
 * The budget is work, not time. Each pass has a cost, measured once per
 * megapixel on a clean and on a noisy frame (passes[].work), and a frame's
 * budget is spent by the costs of the passes it ran, scaled by its size. So
 * the same frame runs the same passes and gives the same result however
 * loaded the machine is (a clock-based budget read a noisy frame or not
 * depending on what else ran); on the measuring machine the budget's
 * milliseconds are about its wall time, on a faster one the frame simply
 * takes less.
 *
 * ZBar scans every second row and column here (half the time), which loses
 * nothing on a clean frame. On a noisy one each scan line is a separate
 * chance through the noise, so there ZBar's first pass scans every line, as
 * zbarimg does ("plain-full", right after "zxing-median"): a noisy frame
 * plain ZBar reads is read whatever the budget (but 0). The noise estimate
 * runs before the first pass.
 *
 * Symbologies are restricted to what labels carry (Code 128 by default):
 * everything on makes ZBar see phantom codes. What ZBar does read still goes
 * through scan_code_check(), so a misread S10 (bad check digit) or a code
 * of a kind the scan point does not take is rejected, never reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zbar.h>

#include "scanners/camera.h"
#include "scanners/zxing.h"

_Static_assert((unsigned)SCAN_SYM_CODE128 == (unsigned)SCAN_ZX_CODE128 &&
                   (unsigned)SCAN_SYM_CODE39 == (unsigned)SCAN_ZX_CODE39 &&
                   (unsigned)SCAN_SYM_EAN13 == (unsigned)SCAN_ZX_EAN13 &&
                   (unsigned)SCAN_SYM_I25 == (unsigned)SCAN_ZX_I25 &&
                   (unsigned)SCAN_SYM_QR == (unsigned)SCAN_ZX_QR && SCAN_SYM_ALL == SCAN_ZX_ALL,
               "zxing.h's format bits are camera.h's symbology bits");

enum filter { F_NONE, F_SHARPEN, F_STRETCH, F_MEDIAN, F_UPSCALE, F_DOWNSCALE, F_BLUR, F_COUNT };

struct pass {
    const char *name;
    enum filter filter; /* applied to the frame first (cached per frame) */
    double deg;         /* then rotated by this many degrees; 0 = not rotated */
    int density;        /* ZBar scans every density-th row and column (1 or 2);
                         * ZXING (0): zxing-cpp reads the image instead of ZBar */
    float work[2];      /* what it costs, ms per megapixel on a clean [0] and a
                         * noisy [1] frame, its filter included at its first use
                         * (see "The budget is work" above) */
};

/* Every second row and column: a label's bars span many lines, and it halves
 * the scan time (engineering notes, ZBar 0.23). */
#define DENSITY 2

/* The pass runs the second decoder, zxing-cpp (scanners/zxing.h), with
 * "try harder" (more rows, both directions) and "try rotate" (the image
 * turned by 90 degrees too, as ZBar scans columns). */
#define ZXING 0

/* work[]: each pass timed alone on an unreadable 1280x1024 frame (a label
 * without a code; and the same under sensor noise), in the order a clean or
 * a noisy frame runs them, on the 2-vCPU VM of docs/benchmarks.md, best of
 * five, per megapixel. The zxing passes (issue 14) were timed the same way
 * on the same machine, best of nine; "median" on a noisy frame lost the
 * median filter's 3.4 to "zxing-median", which now runs before it. */
static const struct pass passes[] = {
    {"plain", F_NONE, 0, DENSITY, {4.4f, 0}},
    /* zxing-cpp reads blurred and small-module frames ZBar does not, in a
     * quarter of the time of "sharpen" (docs/camera.md "A second decoder"). */
    {"zxing", F_NONE, 0, ZXING, {1.0f, 3.9f}},
    {"rot45", F_NONE, 45, DENSITY, {14.3f, 30.2f}},
    {"rot22", F_NONE, 22.5, DENSITY, {13.7f, 28.6f}},
    {"rot67", F_NONE, 67.5, DENSITY, {12.7f, 26.2f}},
    {"sharpen", F_SHARPEN, 0, DENSITY, {9.5f, 24.8f}},
    {"median", F_MEDIAN, 0, DENSITY, {8.6f, 15.1f}},
    {"median-rot45", F_MEDIAN, 45, DENSITY, {16.5f, 23.6f}},
    {"median-rot22", F_MEDIAN, 22.5, DENSITY, {13.8f, 21.7f}},
    {"median-rot67", F_MEDIAN, 67.5, DENSITY, {12.5f, 21.3f}},
    {"sharpen-rot45", F_SHARPEN, 45, DENSITY, {16.8f, 29.7f}},
    {"sharpen-rot22", F_SHARPEN, 22.5, DENSITY, {16.2f, 27.5f}},
    {"sharpen-rot67", F_SHARPEN, 67.5, DENSITY, {11.0f, 21.6f}},
    {"stretch", F_STRETCH, 0, DENSITY, {3.8f, 24.4f}},
    {"up2", F_UPSCALE, 0, DENSITY, {29.8f, 66.0f}},
    {"blur", F_BLUR, 0, DENSITY, {8.5f, 13.5f}},
    {"down2", F_DOWNSCALE, 0, DENSITY, {2.4f, 1.9f}},
    {"up2-rot45", F_UPSCALE, 45, DENSITY, {58.4f, 99.3f}},
    {"stretch-rot45", F_STRETCH, 45, DENSITY, {17.4f, 31.1f}},
    /* Noisy frames run it first: zxing-cpp on the median-filtered frame read
     * every frame of the benchmark's noise class in ~6 ms, where ZBar's
     * full-density scan takes ~55 ms and reads a quarter of them. */
    {"zxing-median", F_MEDIAN, 0, ZXING, {1.1f, 4.4f}},
    /* Noisy frames only, instead of "plain": every row and column. On noise
     * each line is its own chance to read (about twice the time of "plain",
     * 60 ms on a noisy 1280x1024 frame), and it is what zbarimg does, so the
     * pipeline reads every noisy frame plain ZBar reads (benchmark "mixed"
     * class: frames only zbarimg read before, docs/benchmarks.md). */
    {"plain-full", F_NONE, 0, 1, {0, 41.5f}},
};
#define N_TABLE ((int)(sizeof(passes) / sizeof(passes[0])))

/* The order for a clean frame: passes[] as listed, without "plain-full". */
#define N_PASSES (N_TABLE - 1)

/* The order for a noisy frame: ZBar on raw noise is slow (30-40 ms a pass on
 * 1280x1024, engineering notes) and rarely reads, and sharpening makes noise
 * worse. zxing-cpp on the median-filtered frame reads most noisy frames in
 * ~6 ms, so it comes first; then the full-density plain scan (plain ZBar, as
 * zbarimg runs it: whatever the budget, a noisy frame zbarimg reads is read,
 * since the first pass costs far less than any budget but 0), zxing-cpp on
 * the frame itself, and ZBar's median-filtered passes. Indexes into
 * passes[]. */
static const int noisy_order[] = {
    19,         /* zxing-median */
    20,         /* plain-full */
    1,          /* zxing */
    6, 7, 8, 9, /* median, median-rot45, -rot22, -rot67 */
    2, 3, 4,    /* rot45, rot22, rot67 */
    5, 10, 11, 12, 13, 14, 15, 16, 17, 18,
};
_Static_assert(sizeof(noisy_order) / sizeof(noisy_order[0]) == N_TABLE - 1,
               "noisy_order must list every pass but \"plain\" once");

/* Median absolute difference between horizontal neighbours at or above
 * which a frame counts as noisy. A clean frame is mostly flat (belt, paper):
 * the median difference is 0-1 grey levels; Gaussian noise of sigma s gives
 * about 0.95 s, so 6 means sensor noise of sigma 6 or more. */
#define NOISY_MEDIAN_DIFF 6

/* Frames past this many pixels are not upscaled: 2x of a 1280x1024 frame is
 * 5 MP, already a 40 ms scan; beyond that the pass is not worth its time. */
#define UPSCALE_MAX_PIXELS (1600u * 1280u)

struct scan_pipeline {
    struct scan_pipeline_config cfg;
    zbar_image_scanner_t *zs;
    zbar_image_t *zimg;
    struct scan_zx *zx;                  /* the second decoder, for ZXING passes */
    struct scan_image packed;            /* the frame with stride == w, when it was not */
    struct scan_image filtered[F_COUNT]; /* per-frame cache, valid where have[] says */
    bool have[F_COUNT];
    struct scan_image rotated;
    int density; /* ZBar's current X and Y density */
};

/* ZBar's symbology of each SCAN_SYM_* bit (their names: scan_words.c). */
static const struct {
    unsigned bit;
    zbar_symbol_type_t zsym;
} symbologies[] = {
    {SCAN_SYM_CODE128, ZBAR_CODE128}, {SCAN_SYM_CODE39, ZBAR_CODE39}, {SCAN_SYM_EAN13, ZBAR_EAN13},
    {SCAN_SYM_I25, ZBAR_I25},         {SCAN_SYM_QR, ZBAR_QRCODE},
};
#define N_SYMBOLOGIES (sizeof(symbologies) / sizeof(symbologies[0]))

void scan_pipeline_config_default(struct scan_pipeline_config *cfg)
{
    cfg->symbologies = SCAN_SYM_CODE128;
    cfg->kinds = SCAN_KINDS_PARCEL;
    cfg->budget_ms = 100;
    cfg->max_passes = 0;
}

int scan_pipeline_pass_count(void)
{
    return N_PASSES;
}

const char *scan_pipeline_pass_name(int pass)
{
    return pass >= 1 && pass <= N_PASSES ? passes[pass - 1].name : "";
}

int scan_pipeline_new(const struct scan_pipeline_config *cfg, struct scan_pipeline **out,
                      struct err *e)
{
    *out = NULL;
    struct scan_pipeline *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(e, -ENOMEM, "camera pipeline: no memory");
    if (cfg)
        p->cfg = *cfg;
    else
        scan_pipeline_config_default(&p->cfg);
    if (p->cfg.symbologies == 0)
        p->cfg.symbologies = SCAN_SYM_CODE128;
    if (p->cfg.kinds == 0)
        p->cfg.kinds = SCAN_KINDS_PARCEL;
    unsigned bad_sym = p->cfg.symbologies & ~SCAN_SYM_ALL,
             bad_kind = p->cfg.kinds & ~scan_kinds_known();
    if (bad_sym || bad_kind) {
        free(p);
        return err_set(e, ERR_CONFIG, "camera pipeline: unknown symbology bits 0x%x or kind bits 0x%x",
                       bad_sym, bad_kind);
    }
    p->zs = zbar_image_scanner_create();
    p->zimg = zbar_image_create();
    if (!p->zs || !p->zimg) {
        scan_pipeline_free(p);
        return err_set(e, -ENOMEM, "camera pipeline: no memory for ZBar");
    }
    /* Symbology 0 addresses all of them: off first, then the chosen ones. */
    int bad = zbar_image_scanner_set_config(p->zs, 0, ZBAR_CFG_ENABLE, 0);
    for (size_t i = 0; i < N_SYMBOLOGIES; i++)
        if (p->cfg.symbologies & symbologies[i].bit)
            bad |= zbar_image_scanner_set_config(p->zs, symbologies[i].zsym, ZBAR_CFG_ENABLE, 1);
    bad |= zbar_image_scanner_set_config(p->zs, 0, ZBAR_CFG_X_DENSITY, DENSITY);
    bad |= zbar_image_scanner_set_config(p->zs, 0, ZBAR_CFG_Y_DENSITY, DENSITY);
    p->density = DENSITY;
    if (bad) {
        scan_pipeline_free(p);
        return err_set(e, ERR_CONFIG, "camera pipeline: ZBar refused the configuration");
    }
    zbar_image_set_format(p->zimg, zbar_fourcc('Y', '8', '0', '0'));
    int rc = scan_zx_new(p->cfg.symbologies, SCAN_ZX_TRY_HARDER | SCAN_ZX_TRY_ROTATE, &p->zx, e);
    if (rc < 0) {
        scan_pipeline_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void scan_pipeline_free(struct scan_pipeline *p)
{
    if (!p)
        return;
    if (p->zimg)
        zbar_image_destroy(p->zimg);
    if (p->zs)
        zbar_image_scanner_destroy(p->zs);
    scan_zx_free(p->zx);
    scan_image_release(&p->packed);
    for (int i = 0; i < F_COUNT; i++)
        scan_image_release(&p->filtered[i]);
    scan_image_release(&p->rotated);
    free(p);
}

/* Estimates whether f is noisy: the median of |p(x+1) - p(x)| over every
 * 8th row. Cheap and deterministic: it runs on every frame, before the first
 * pass. Four histograms, because on a clean frame nearly every difference is
 * 0 and increments of one counter wait on each other (0.3 ms a 1280x1024
 * frame with one histogram, 0.08 ms with four). */
static bool frame_is_noisy(const struct scan_frame *f)
{
    uint32_t hist[4][256] = {{0}};
    for (int y = 0; y < f->h; y += 8) {
        const uint8_t *row = f->data + (size_t)y * f->stride;
        int x = 0;
        for (; x + 4 < f->w; x += 4) {
            hist[0][abs(row[x + 1] - row[x])]++;
            hist[1][abs(row[x + 2] - row[x + 1])]++;
            hist[2][abs(row[x + 3] - row[x + 2])]++;
            hist[3][abs(row[x + 4] - row[x + 3])]++;
        }
        for (; x + 1 < f->w; x++)
            hist[0][abs(row[x + 1] - row[x])]++;
    }
    uint32_t n = 0, acc = 0;
    for (int v = 0; v < 256; v++)
        n += hist[0][v] + hist[1][v] + hist[2][v] + hist[3][v];
    for (int v = 0; v < 256; v++) {
        acc += hist[0][v] + hist[1][v] + hist[2][v] + hist[3][v];
        if (acc * 2 >= n)
            return v >= NOISY_MEDIAN_DIFF;
    }
    return false;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool already(const struct scan_symbol *arr, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i].text, text) == 0)
            return true;
    return false;
}

/* Sorts one decoded symbol (either decoder's: type is its symbology name,
 * data its text of len bytes, data NULL when there is none) into accepted
 * or rejected. */
static void judge(const struct scan_pipeline *p, const char *type, const char *data, size_t len,
                  struct scan_result *r)
{
    struct scan_symbol s;
    memset(&s, 0, sizeof(s));
    snprintf(s.type, sizeof(s.type), "%s", type);
    snprintf(s.text, sizeof(s.text), "%.*s", (int)(len < SCAN_CODE_MAX ? len : SCAN_CODE_MAX),
             data ? data : "");
    bool ok = false;
    if (!data || len > SCAN_CODE_MAX || strlen(s.text) != len) {
        s.kind = SCAN_CODE_UNKNOWN;
        snprintf(s.reason, sizeof(s.reason), "%zu bytes: not a code of any known format", len);
    } else {
        struct scan_code_info info;
        scan_code_check(s.text, len, &info);
        s.kind = info.kind;
        if (p->cfg.kinds & SCAN_KINDS_ANY)
            ok = info.valid || info.kind == SCAN_CODE_UNKNOWN;
        else
            ok = info.valid && (p->cfg.kinds & (1u << info.kind));
        if (!ok && !info.valid)
            snprintf(s.reason, sizeof(s.reason), "%s", info.reason);
        else if (!ok)
            snprintf(s.reason, sizeof(s.reason), "%s codes are not taken at this scan point",
                     scan_code_kind_name(info.kind));
    }
    struct scan_symbol *arr = ok ? r->sym : r->rejected;
    size_t *n = ok ? &r->n : &r->n_rejected;
    if (already(arr, *n, s.text))
        return;
    if (*n >= SCAN_RESULT_MAX) {
        r->n_dropped++;
        return;
    }
    arr[(*n)++] = s;
}

/* Runs ZBar over one packed image, scanning every density-th row and
 * column; adds its symbols to r. */
static int zscan(struct scan_pipeline *p, const struct scan_frame *f, int density,
                 struct scan_result *r, struct err *e)
{
    if (density != p->density) {
        if (zbar_image_scanner_set_config(p->zs, 0, ZBAR_CFG_X_DENSITY, density) ||
            zbar_image_scanner_set_config(p->zs, 0, ZBAR_CFG_Y_DENSITY, density))
            return err_set(e, ERR_STATE, "ZBar refused scan density %d", density);
        p->density = density;
    }
    zbar_image_set_size(p->zimg, (unsigned)f->w, (unsigned)f->h);
    zbar_image_set_data(p->zimg, f->data, (unsigned long)f->w * (unsigned long)f->h, NULL);
    int n = zbar_scan_image(p->zs, p->zimg);
    if (n < 0)
        return err_set(e, ERR_STATE, "ZBar failed on a %dx%d image", f->w, f->h);
    for (const zbar_symbol_t *s = zbar_image_first_symbol(p->zimg); s; s = zbar_symbol_next(s))
        judge(p, zbar_get_symbol_name(zbar_symbol_get_type(s)), zbar_symbol_get_data(s),
              zbar_symbol_get_data_length(s), r);
    return 0;
}

/* Runs zxing-cpp over one packed image; adds its symbols to r, through the
 * same judge as ZBar's. */
static int zxscan(struct scan_pipeline *p, const struct scan_frame *f, struct scan_result *r,
                  struct err *e)
{
    struct scan_zx_symbol syms[SCAN_RESULT_MAX];
    size_t n = 0;
    int rc = scan_zx_read(p->zx, f->data, f->w, f->h, f->stride, syms, SCAN_RESULT_MAX, &n, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        judge(p, syms[i].type, syms[i].text, syms[i].len, r);
    return 0;
}

/* The frame after filter f, computed once per frame. */
static int filtered(struct scan_pipeline *p, const struct scan_frame *src, enum filter f,
                    struct scan_frame *out)
{
    if (f == F_NONE) {
        *out = *src;
        return 0;
    }
    struct scan_image *img = &p->filtered[f];
    if (!p->have[f]) {
        int rc = 0;
        switch (f) {
        case F_SHARPEN: rc = scan_img_sharpen(src, 2, 150, img); break;
        case F_STRETCH: rc = scan_img_stretch(src, 1.0, 99.0, img); break;
        case F_MEDIAN: rc = scan_img_median3(src, img); break;
        case F_UPSCALE:
            if ((uint64_t)src->w * (uint64_t)src->h > UPSCALE_MAX_PIXELS)
                return 1;
            rc = scan_img_upscale(src, 2, img);
            break;
        case F_DOWNSCALE:
            if (src->w < 64 || src->h < 64)
                return 1;
            rc = scan_img_downscale(src, 2, img);
            break;
        case F_BLUR: rc = scan_img_box_blur(src, 1, img); break;
        default: return -EINVAL;
        }
        if (rc < 0)
            return rc;
        p->have[f] = true;
    }
    *out = scan_image_frame(img);
    return 0;
}

int scan_pipeline_decode(struct scan_pipeline *p, const struct scan_frame *frame,
                         struct scan_result *out, struct err *e)
{
    double t0 = now_ms();
    memset(out, 0, sizeof(*out));
    out->pass_name = "";
    if (!p || !frame || !frame->data || frame->w <= 0 || frame->h <= 0 ||
        frame->stride < (size_t)frame->w ||
        (uint64_t)frame->w * (uint64_t)frame->h > SCAN_IMAGE_MAX_PIXELS)
        return err_set(e, -EINVAL, "camera frame: bad size, stride or data");
    /* ZBar wants packed rows; copy only when the frame has padding. */
    struct scan_frame src = *frame;
    if (frame->stride != (size_t)frame->w) {
        int rc = scan_image_resize(&p->packed, frame->w, frame->h);
        if (rc < 0)
            return err_set(e, rc, "camera frame: no memory for %dx%d", frame->w, frame->h);
        for (int y = 0; y < frame->h; y++)
            memcpy(p->packed.data + (size_t)y * (size_t)frame->w,
                   frame->data + (size_t)y * frame->stride, (size_t)frame->w);
        src = scan_image_frame(&p->packed);
    }
    memset(p->have, 0, sizeof(p->have));
    double mpix = (double)src.w * (double)src.h / 1e6, work = 0;
    int limit = p->cfg.max_passes && (int)p->cfg.max_passes < N_PASSES ? (int)p->cfg.max_passes
                                                                       : N_PASSES;
    int rc = 0;
    /* Before the first pass, which depends on it; a clean frame pays about
     * 0.1 ms for it. */
    bool noisy = frame_is_noisy(&src);
    for (int i = 0; i < limit; i++) {
        if (i > 0 && work >= (double)p->cfg.budget_ms)
            break;
        int idx = noisy ? noisy_order[i] : i;
        const struct pass *ps = &passes[idx];
        struct scan_frame img;
        rc = filtered(p, &src, ps->filter, &img);
        if (rc < 0) {
            rc = err_set(e, rc, "camera pass %s: %s", ps->name, err_text(rc));
            break;
        }
        if (rc > 0) { /* filter does not apply to this frame's size */
            rc = 0;
            continue;
        }
        if (ps->deg != 0) {
            rc = scan_img_rotate(&img, ps->deg, 255, &p->rotated);
            if (rc == -E2BIG) { /* the rotated frame would pass the image limit */
                rc = 0;
                continue;
            }
            if (rc < 0) {
                rc = err_set(e, rc, "camera pass %s: %s", ps->name, err_text(rc));
                break;
            }
            img = scan_image_frame(&p->rotated);
        }
        out->passes_run++;
        work += ps->work[noisy] * mpix;
        rc = ps->density == ZXING ? zxscan(p, &img, out, e) : zscan(p, &img, ps->density, out, e);
        if (rc < 0)
            break;
        if (out->n > 0) {
            out->pass = i + 1;
            out->pass_name = ps->name;
            break;
        }
    }
    out->noisy = noisy;
    out->work_ms = work;
    out->ms = now_ms() - t0;
    return rc;
}

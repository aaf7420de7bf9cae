/*
 * imageops.c - the few grey-image operations the camera pipeline needs:
 * rotation (bilinear), down- and upscaling, box blur, 3x3 median, contrast
 * stretch, and the owned image buffer they write into.
 *
 * They are small and run on every hard frame, so they work in integers where
 * it matters (16.16 fixed point for the resampling) and reuse the caller's
 * buffer instead of allocating per call. Nothing here knows about barcodes.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/camera.h"

int scan_image_resize(struct scan_image *img, int w, int h)
{
    if (!img || w <= 0 || h <= 0)
        return -EINVAL;
    if ((uint64_t)w * (uint64_t)h > SCAN_IMAGE_MAX_PIXELS)
        return -E2BIG;
    size_t need = (size_t)w * (size_t)h;
    if (need > img->cap) {
        uint8_t *d = realloc(img->data, need);
        if (!d)
            return -ENOMEM;
        img->data = d;
        img->cap = need;
    }
    img->w = w;
    img->h = h;
    return 0;
}

void scan_image_release(struct scan_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof(*img));
}

struct scan_frame scan_image_frame(const struct scan_image *img)
{
    struct scan_frame f = {.w = img->w, .h = img->h, .stride = (size_t)img->w, .data = img->data};
    return f;
}

static int frame_ok(const struct scan_frame *f)
{
    return f && f->data && f->w > 0 && f->h > 0 && f->stride >= (size_t)f->w &&
           (uint64_t)f->w * (uint64_t)f->h <= SCAN_IMAGE_MAX_PIXELS;
}

/* Bilinear sample at 16.16 fixed-point (fx, fy); the caller guarantees
 * 0 <= fx < (w-1) << 16 and the same for fy, so the 2x2 block is inside. */
static inline uint8_t bilinear(const struct scan_frame *s, int32_t fx, int32_t fy)
{
    int x = fx >> 16, y = fy >> 16;
    uint32_t ax = (uint32_t)(fx & 0xffff) >> 8, ay = (uint32_t)(fy & 0xffff) >> 8; /* 0..255 */
    const uint8_t *p = s->data + (size_t)y * s->stride + x;
    uint32_t top = p[0] * (256 - ax) + p[1] * ax;
    uint32_t bot = p[s->stride] * (256 - ax) + p[s->stride + 1] * ax;
    return (uint8_t)((top * (256 - ay) + bot * ay + 32768) >> 16);
}

int scan_img_rotate(const struct scan_frame *src, double deg, uint8_t fill, struct scan_image *dst)
{
    if (!frame_ok(src) || !dst || !isfinite(deg))
        return -EINVAL;
    double rad = deg * M_PI / 180.0, c = cos(rad), s = sin(rad);
    int dw = (int)ceil(fabs(src->w * c) + fabs(src->h * s) - 1e-9);
    int dh = (int)ceil(fabs(src->w * s) + fabs(src->h * c) - 1e-9);
    int rc = scan_image_resize(dst, dw, dh);
    if (rc < 0)
        return rc;
    /* Inverse mapping: for each destination pixel, the source point it comes
     * from. Along a destination row the source point moves by (c, s) per
     * pixel, so each row is one fixed-point walk. */
    double scx = (src->w - 1) / 2.0, scy = (src->h - 1) / 2.0;
    double dcx = (dw - 1) / 2.0, dcy = (dh - 1) / 2.0;
    int32_t step_x = (int32_t)lround(c * 65536.0), step_y = (int32_t)lround(s * 65536.0);
    int64_t lim_x = (int64_t)(src->w - 1) << 16, lim_y = (int64_t)(src->h - 1) << 16;
    for (int y = 0; y < dh; y++) {
        double dy = y - dcy, dx0 = -dcx;
        int64_t fx = llround((scx + dx0 * c - dy * s) * 65536.0);
        int64_t fy = llround((scy + dx0 * s + dy * c) * 65536.0);
        uint8_t *out = dst->data + (size_t)y * (size_t)dw;
        for (int x = 0; x < dw; x++, fx += step_x, fy += step_y) {
            if (fx >= 0 && fx < lim_x && fy >= 0 && fy < lim_y)
                out[x] = bilinear(src, (int32_t)fx, (int32_t)fy);
            else
                out[x] = fill;
        }
    }
    return 0;
}

int scan_img_downscale(const struct scan_frame *src, int factor, struct scan_image *dst)
{
    if (!frame_ok(src) || !dst || factor < 2 || factor > 8 || src->w < factor || src->h < factor)
        return -EINVAL;
    int dw = src->w / factor, dh = src->h / factor;
    int rc = scan_image_resize(dst, dw, dh);
    if (rc < 0)
        return rc;
    uint32_t area = (uint32_t)(factor * factor);
    for (int y = 0; y < dh; y++) {
        uint8_t *out = dst->data + (size_t)y * (size_t)dw;
        for (int x = 0; x < dw; x++) {
            uint32_t sum = 0;
            for (int j = 0; j < factor; j++) {
                const uint8_t *p = src->data + (size_t)(y * factor + j) * src->stride + x * factor;
                for (int i = 0; i < factor; i++)
                    sum += p[i];
            }
            out[x] = (uint8_t)((sum + area / 2) / area);
        }
    }
    return 0;
}

int scan_img_upscale(const struct scan_frame *src, int factor, struct scan_image *dst)
{
    if (!frame_ok(src) || !dst || factor < 2 || factor > 4 || src->w < 2 || src->h < 2)
        return -EINVAL;
    int rc = scan_image_resize(dst, src->w * factor, src->h * factor);
    if (rc < 0)
        return rc;
    int dw = dst->w, dh = dst->h;
    /* Destination pixel d samples source (d + 0.5) / factor - 0.5, clamped to
     * the last 2x2 block so the bilinear read stays inside. */
    int64_t lim_x = ((int64_t)(src->w - 1) << 16) - 1, lim_y = ((int64_t)(src->h - 1) << 16) - 1;
    for (int y = 0; y < dh; y++) {
        int64_t fy = ((int64_t)(2 * y + 1) << 16) / (2 * factor) - (1 << 15);
        fy = fy < 0 ? 0 : fy > lim_y ? lim_y : fy;
        uint8_t *out = dst->data + (size_t)y * (size_t)dw;
        for (int x = 0; x < dw; x++) {
            int64_t fx = ((int64_t)(2 * x + 1) << 16) / (2 * factor) - (1 << 15);
            fx = fx < 0 ? 0 : fx > lim_x ? lim_x : fx;
            out[x] = bilinear(src, (int32_t)fx, (int32_t)fy);
        }
    }
    return 0;
}

int scan_img_box_blur(const struct scan_frame *src, int radius, struct scan_image *dst)
{
    if (!frame_ok(src) || !dst || radius < 1 || radius > 16)
        return -EINVAL;
    int w = src->w, h = src->h, n = 2 * radius + 1;
    int rc = scan_image_resize(dst, w, h);
    if (rc < 0)
        return rc;
    /* Separable: a horizontal running sum into tmp, then a vertical running
     * sum per column; edges repeat the border pixel. */
    uint8_t *tmp = malloc((size_t)w * (size_t)h);
    uint32_t *col = calloc((size_t)w, sizeof(*col));
    if (!tmp || !col) {
        free(tmp);
        free(col);
        return -ENOMEM;
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *in = src->data + (size_t)y * src->stride;
        uint8_t *out = tmp + (size_t)y * (size_t)w;
        uint32_t sum = 0;
        for (int k = -radius; k <= radius; k++)
            sum += in[k < 0 ? 0 : k >= w ? w - 1 : k];
        for (int x = 0; x < w; x++) {
            out[x] = (uint8_t)((sum + (uint32_t)n / 2) / (uint32_t)n);
            int add = x + radius + 1, sub = x - radius;
            sum += in[add >= w ? w - 1 : add];
            sum -= in[sub < 0 ? 0 : sub];
        }
    }
    for (int k = -radius; k <= radius; k++) {
        const uint8_t *row = tmp + (size_t)(k < 0 ? 0 : k >= h ? h - 1 : k) * (size_t)w;
        for (int x = 0; x < w; x++)
            col[x] += row[x];
    }
    for (int y = 0; y < h; y++) {
        uint8_t *out = dst->data + (size_t)y * (size_t)w;
        int add = y + radius + 1, sub = y - radius;
        const uint8_t *ra = tmp + (size_t)(add >= h ? h - 1 : add) * (size_t)w;
        const uint8_t *rs = tmp + (size_t)(sub < 0 ? 0 : sub) * (size_t)w;
        for (int x = 0; x < w; x++) {
            out[x] = (uint8_t)((col[x] + (uint32_t)n / 2) / (uint32_t)n);
            col[x] += ra[x];
            col[x] -= rs[x];
        }
    }
    free(tmp);
    free(col);
    return 0;
}

int scan_img_sharpen(const struct scan_frame *src, int radius, int amount_pct,
                     struct scan_image *dst)
{
    if (!frame_ok(src) || !dst || amount_pct < 1 || amount_pct > 1000)
        return -EINVAL;
    /* Unsharp mask: p + amount * (p - blur(p)). The blur lands in dst, then
     * each pixel is rewritten in place from the source and its blurred self. */
    int rc = scan_img_box_blur(src, radius, dst);
    if (rc < 0)
        return rc;
    for (int y = 0; y < src->h; y++) {
        const uint8_t *in = src->data + (size_t)y * src->stride;
        uint8_t *out = dst->data + (size_t)y * (size_t)src->w;
        for (int x = 0; x < src->w; x++) {
            int v = in[x] + (in[x] - out[x]) * amount_pct / 100;
            out[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    return 0;
}

static inline uint8_t min8(uint8_t a, uint8_t b) { return a < b ? a : b; }
static inline uint8_t max8(uint8_t a, uint8_t b) { return a > b ? a : b; }
static inline uint8_t med3(uint8_t a, uint8_t b, uint8_t c)
{
    return max8(min8(a, b), min8(max8(a, b), c));
}

/* The 3x3 median without sorting nine values per pixel: sort each column's
 * three values once (lo, mid, hi), then the median of the window is
 * med3(max of the three lo, med3 of the three mid, min of the three hi).
 * Branch-free min/max over whole rows, which the compiler vectorises. */
int scan_img_median3(const struct scan_frame *src, struct scan_image *dst)
{
    if (!frame_ok(src) || !dst)
        return -EINVAL;
    int w = src->w, h = src->h;
    int rc = scan_image_resize(dst, w, h);
    if (rc < 0)
        return rc;
    uint8_t *cols = malloc((size_t)(w + 2) * 3);
    if (!cols)
        return -ENOMEM;
    /* Each array has one clamped pixel of margin on both sides. */
    uint8_t *lo = cols + 1, *mid = cols + (w + 2) + 1, *hi = cols + 2 * (w + 2) + 1;
    for (int y = 0; y < h; y++) {
        const uint8_t *r0 = src->data + (size_t)(y > 0 ? y - 1 : 0) * src->stride;
        const uint8_t *r1 = src->data + (size_t)y * src->stride;
        const uint8_t *r2 = src->data + (size_t)(y < h - 1 ? y + 1 : y) * src->stride;
        for (int x = 0; x < w; x++) {
            uint8_t a = r0[x], b = r1[x], c = r2[x];
            uint8_t l = min8(a, b), m = max8(a, b);
            lo[x] = min8(l, c);
            hi[x] = max8(m, c);
            mid[x] = max8(l, min8(m, c));
        }
        lo[-1] = lo[0], mid[-1] = mid[0], hi[-1] = hi[0];
        lo[w] = lo[w - 1], mid[w] = mid[w - 1], hi[w] = hi[w - 1];
        uint8_t *out = dst->data + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            uint8_t l = max8(max8(lo[x - 1], lo[x]), lo[x + 1]);
            uint8_t m = med3(mid[x - 1], mid[x], mid[x + 1]);
            uint8_t u = min8(min8(hi[x - 1], hi[x]), hi[x + 1]);
            out[x] = med3(l, m, u);
        }
    }
    free(cols);
    return 0;
}

int scan_img_stretch(const struct scan_frame *src, double lo_pct, double hi_pct,
                     struct scan_image *dst)
{
    if (!frame_ok(src) || !dst || !(lo_pct >= 0.0) || !(hi_pct <= 100.0) || !(lo_pct < hi_pct))
        return -EINVAL;
    int w = src->w, h = src->h;
    int rc = scan_image_resize(dst, w, h);
    if (rc < 0)
        return rc;
    uint64_t hist[256] = {0};
    for (int y = 0; y < h; y++) {
        const uint8_t *in = src->data + (size_t)y * src->stride;
        for (int x = 0; x < w; x++)
            hist[in[x]]++;
    }
    uint64_t total = (uint64_t)w * (uint64_t)h;
    uint64_t lo_n = (uint64_t)(total * lo_pct / 100.0), hi_n = (uint64_t)(total * hi_pct / 100.0);
    int lo = 0, hi = 255;
    uint64_t acc = 0;
    for (int v = 0; v < 256; v++) {
        acc += hist[v];
        if (acc > lo_n) {
            lo = v;
            break;
        }
    }
    acc = 0;
    for (int v = 0; v < 256; v++) {
        acc += hist[v];
        if (acc >= hi_n) {
            hi = v;
            break;
        }
    }
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        if (hi <= lo)
            lut[v] = (uint8_t)v; /* a flat image: nothing to stretch */
        else if (v <= lo)
            lut[v] = 0;
        else if (v >= hi)
            lut[v] = 255;
        else
            lut[v] = (uint8_t)((v - lo) * 255 / (hi - lo));
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *in = src->data + (size_t)y * src->stride;
        uint8_t *out = dst->data + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            out[x] = lut[in[x]];
    }
    return 0;
}

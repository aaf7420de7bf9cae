/*
 * noread.c - why a frame gave no parcel code (camera.h, scan_noread_classify):
 * what an operator keying the code in, or an engineer adjusting the tunnel,
 * wants to know about a no-read.
 *
 * DESIGN. The pipeline's result says what it saw (several codes, a code
 * with a wrong check digit); otherwise the frame is looked at in blocks of
 * BLOCK x BLOCK pixels. A barcode is many parallel edges: in a block of it
 * the gradient has one direction, whatever the label's angle. The
 * structure tensor (sums of gx*gx, gy*gy, gx*gy) gives each block its edge
 * energy, its dominant direction and its coherence (1: every edge parallel,
 * 0: no direction, as on noise or a flat belt). Coherent blocks with enough
 * energy that share one direction (within a histogram bin) form the
 * barcode-like region; their grey range is its contrast, and the mean
 * distance between level crossings across the bars (a bar or a space) is,
 * over Code 128's mean element of 11/6 modules, its module width. Edges
 * that blur into each other are missed, so the estimate runs high on small
 * modules (1.9 px a module measures about 2.4, 0.9 px about 1.5).
 * Pure: data in, data out, no allocation.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "scanners/camera.h"

#define BLOCK 16
#define DIR_BINS 18           /* 10 degrees each */
#define MIN_ENERGY 100.0      /* mean gx^2 + gy^2 per pixel: edges, not sensor noise */
#define MIN_COHERENCE 0.6
#define MIN_REGION_BLOCKS 6   /* a label's bars cover more than this */
#define LOW_CONTRAST 48       /* grey levels between bars and spaces */
#define SMALL_MODULE_PX 1.6   /* as estimated below: about 1 px a module, too few for ZBar */
#define MODULES_PER_ELEMENT (11.0 / 6.0) /* Code 128: a character, 11 modules in 6 bars and spaces */

static const char *const cause_names[] = {
    [SCAN_NOREAD_NONE] = "none",
    [SCAN_NOREAD_NO_REGION] = "no_barcode_region",
    [SCAN_NOREAD_NOT_DECODED] = "not_decoded",
    [SCAN_NOREAD_TOO_SMALL] = "too_small",
    [SCAN_NOREAD_LOW_CONTRAST] = "low_contrast",
    [SCAN_NOREAD_SEVERAL] = "several_codes",
    [SCAN_NOREAD_CHECK_DIGIT] = "invalid_check_digit",
};

const char *scan_noread_cause_name(enum scan_noread_cause c)
{
    return (unsigned)c < sizeof(cause_names) / sizeof(cause_names[0]) ? cause_names[c] : "?";
}

struct block {
    double energy, coherence;
    int bin;        /* dominant gradient direction, 0..DIR_BINS-1 */
    int lo, hi;     /* grey range */
    int crossings;  /* level crossings along the gradient's main axis */
    int run;        /* pixels looked at for them */
};

static void look_at_block(const struct scan_frame *f, int x0, int y0, struct block *b)
{
    double jxx = 0, jyy = 0, jxy = 0;
    int lo = 255, hi = 0, sum = 0, n = 0;

    for (int y = y0; y < y0 + BLOCK; y++) {
        const uint8_t *row = f->data + (size_t)y * f->stride;
        const uint8_t *above = row - f->stride, *below = row + f->stride;
        for (int x = x0; x < x0 + BLOCK; x++) {
            double gx = (double)row[x + 1] - row[x - 1];
            double gy = (double)below[x] - above[x];
            jxx += gx * gx;
            jyy += gy * gy;
            jxy += gx * gy;
            lo = row[x] < lo ? row[x] : lo;
            hi = row[x] > hi ? row[x] : hi;
            sum += row[x];
            n++;
        }
    }
    double tr = jxx + jyy;
    b->energy = tr / n;
    b->coherence = tr > 0 ? sqrt((jxx - jyy) * (jxx - jyy) + 4 * jxy * jxy) / tr : 0;
    double deg = 0.5 * atan2(2 * jxy, jxx - jyy) * 180.0 / M_PI; /* -90..90 */
    b->bin = (int)((deg + 90.0) / (180.0 / DIR_BINS)) % DIR_BINS;
    b->lo = lo;
    b->hi = hi;
    /* Crossings of the block's mean level along rows (bars more upright
     * than not) or columns: one per bar edge. */
    int mean = sum / n, across_rows = fabs(deg) < 45.0;
    b->crossings = b->run = 0;
    for (int i = 0; i < BLOCK; i++) {
        int prev = -1;
        for (int j = 0; j < BLOCK; j++) {
            int x = across_rows ? x0 + j : x0 + i, y = across_rows ? y0 + i : y0 + j;
            int side = f->data[(size_t)y * f->stride + x] >= mean;
            if (prev >= 0 && side != prev)
                b->crossings++;
            prev = side;
            b->run++;
        }
    }
}

enum scan_noread_cause scan_noread_classify(const struct scan_frame *f,
                                            const struct scan_result *r,
                                            struct scan_noread *out)
{
    int count[DIR_BINS] = {0};

    memset(out, 0, sizeof(*out));
    if (r != NULL && r->n == 1)
        return out->cause = SCAN_NOREAD_NONE;
    if (r != NULL && r->n > 1)
        return out->cause = SCAN_NOREAD_SEVERAL;
    for (size_t i = 0; r != NULL && i < r->n_rejected; i++)
        if (r->rejected[i].kind != SCAN_CODE_UNKNOWN && strstr(r->rejected[i].reason, "check digit"))
            return out->cause = SCAN_NOREAD_CHECK_DIGIT;
    if (f == NULL || f->data == NULL || f->w < BLOCK + 2 || f->h < BLOCK + 2)
        return out->cause = SCAN_NOREAD_NO_REGION;

    /* Two passes over the blocks: the dominant direction first, then the
     * region's figures from the blocks that share it. */
    struct block b;
    for (int pass = 0; pass < 2; pass++) {
        int best = 0, crossings = 0, run = 0, ranges = 0;
        for (int i = 1; i < DIR_BINS; i++)
            best = count[i] > count[best] ? i : best;
        for (int y = 1; y + BLOCK < f->h; y += BLOCK)
            for (int x = 1; x + BLOCK < f->w; x += BLOCK) {
                look_at_block(f, x, y, &b);
                if (b.energy < MIN_ENERGY || b.coherence < MIN_COHERENCE)
                    continue;
                if (pass == 0) {
                    count[b.bin]++;
                    continue;
                }
                if (b.bin != best)
                    continue;
                out->region_blocks++;
                crossings += b.crossings;
                run += b.run;
                ranges += b.hi - b.lo;
            }
        if (pass == 1 && out->region_blocks > 0) {
            out->contrast = ranges / out->region_blocks;
            out->module_px = crossings > 0 ? (double)run / crossings / MODULES_PER_ELEMENT : 0;
            out->angle_deg = (best + 0.5) * (180.0 / DIR_BINS) - 90.0;
        }
    }
    if (out->region_blocks < MIN_REGION_BLOCKS)
        out->cause = SCAN_NOREAD_NO_REGION;
    else if (out->contrast < LOW_CONTRAST)
        out->cause = SCAN_NOREAD_LOW_CONTRAST;
    else if (out->module_px < SMALL_MODULE_PX)
        out->cause = SCAN_NOREAD_TOO_SMALL;
    else
        out->cause = SCAN_NOREAD_NOT_DECODED;
    return out->cause;
}

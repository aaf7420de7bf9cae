/*
 * camera.h - camera decoding: grey frames through ZBar with a multi-pass
 * pipeline, the image operations it uses, and image-file loading.
 *
 * A camera above the line photographs each parcel; the frame is 8-bit grey.
 * Plain ZBar reads a 1D code only when one scan line crosses all its bars
 * (about +-10-15 degrees from the axes) and is weak on noise, so the pipeline
 * tries further passes (a second decoder, zxing-cpp: scanners/zxing.h;
 * rotations, denoising, contrast, scaling) in an order
 * that keeps easy frames fast, stops at the first pass that yields a valid
 * parcel code, and never starts a pass once the frame's work budget is spent.
 * Every decoded text goes through scan_code_check(): misreads (bad check
 * digit) and codes of kinds the scan point does not allow are rejected, not
 * reported. Design and figures: docs/camera.md.
 *
 * Sections: frames and images; image operations; file loading; pipeline.
 */
#ifndef WCS_SCANNERS_CAMERA_H
#define WCS_SCANNERS_CAMERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "scanners/scanners.h"

/* ---- Frames and images ------------------------------------------------ */

/* A borrowed view of an 8-bit grey image: row y starts at data + y * stride. */
struct scan_frame {
    int w;              /* width, pixels (> 0) */
    int h;              /* height, pixels (> 0) */
    size_t stride;      /* bytes from one row to the next (>= w) */
    const uint8_t *data; /* first pixel; not owned */
};

/* An owned 8-bit grey image, rows packed (stride == w). Zero-initialise it;
 * operations grow data as needed and reuse it across calls. */
struct scan_image {
    int w;          /* width, pixels */
    int h;          /* height, pixels */
    uint8_t *data;  /* w * h bytes, malloc'd; NULL when empty */
    size_t cap;     /* bytes allocated at data */
};

/* Largest image accepted anywhere, pixels: bounds memory for hostile headers. */
#define SCAN_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)
/* Longest side of an image file accepted, pixels: far past any camera (a
 * 25-megapixel sensor is 5120 wide), and it bounds a row's buffers. */
#define SCAN_IMAGE_MAX_SIDE 32768u
/* Most scans a JPEG file may hold: a baseline JPEG has 1 (or one per
 * component), a progressive one about 10; each scan is a pass over the
 * whole image, so thousands of tiny scans are a few KiB that take minutes. */
#define SCAN_JPEG_MAX_SCANS 100

/* Sizes img to w x h (contents undefined). Returns 0, -EINVAL for a size of
 * 0, -E2BIG past SCAN_IMAGE_MAX_PIXELS, -ENOMEM. */
int scan_image_resize(struct scan_image *img, int w, int h);

/* Frees img's pixels and zeroes it; NULL allowed. */
void scan_image_release(struct scan_image *img);

/* A frame viewing img (borrowed: valid while img is not resized or released). */
struct scan_frame scan_image_frame(const struct scan_image *img);

/* ---- Image operations (imageops.c) -------------------------------------
 * Each reads src and writes dst (which must not share pixels with src),
 * resizing dst. Each returns 0, -EINVAL for a bad argument, -E2BIG when dst
 * would be past SCAN_IMAGE_MAX_PIXELS (a 45-degree rotation doubles the
 * pixels), -ENOMEM. */

/* Rotates by deg degrees counter-clockwise about the centre with bilinear
 * interpolation. dst is the bounding box of the rotated frame, so nothing is
 * cropped; uncovered corners take fill (0..255). */
int scan_img_rotate(const struct scan_frame *src, double deg, uint8_t fill, struct scan_image *dst);

/* Averages factor x factor blocks (factor 2..8); the size is w/factor x h/factor. */
int scan_img_downscale(const struct scan_frame *src, int factor, struct scan_image *dst);

/* Bilinear enlargement by factor (2..4): gives small modules more pixels. */
int scan_img_upscale(const struct scan_frame *src, int factor, struct scan_image *dst);

/* Box blur of the given radius (1..16): mean over (2r+1)^2, edges clamped. */
int scan_img_box_blur(const struct scan_frame *src, int radius, struct scan_image *dst);

/* Unsharp mask: p + amount_pct/100 * (p - box_blur(p, radius)), clamped;
 * restores edges of a slightly out-of-focus label. radius 1..16, amount 1..1000. */
int scan_img_sharpen(const struct scan_frame *src, int radius, int amount_pct,
                     struct scan_image *dst);

/* 3x3 median: removes salt-and-pepper and sensor noise, keeps bar edges. */
int scan_img_median3(const struct scan_frame *src, struct scan_image *dst);

/* Contrast stretch: the lo_pct and hi_pct percentiles of the histogram
 * (0 <= lo < hi <= 100) map to 0 and 255, linear between. */
int scan_img_stretch(const struct scan_frame *src, double lo_pct, double hi_pct,
                     struct scan_image *dst);

/* ---- File loading (imageio.c) ------------------------------------------ */

/*
 * Loads PNG (libpng), JPEG (libjpeg-turbo) or binary PGM (P5) from path into
 * img as 8-bit grey; the format is taken from the file's first bytes, not its
 * name. Colour is converted to grey, transparency laid over white.
 * Returns 0; -errno when the file cannot be read; ERR_PARSE for a file that is
 * not one of these formats, is damaged or truncated (or a PGM header over 4
 * KiB); -EINVAL past a limit: a side past SCAN_IMAGE_MAX_SIDE, more pixels
 * than SCAN_IMAGE_MAX_PIXELS ("PNG: 40000x2 pixels: a side is past 32768"),
 * a JPEG of more than SCAN_JPEG_MAX_SCANS scans ("JPEG: more than 100
 * scans"); -ENOMEM. e->msg says why without the path (the caller prefixes
 * it). On failure img is left valid (maybe resized).
 */
int scan_image_load(const char *path, struct scan_image *img, struct err *e);

/* The same from an open, seekable stream (the caller's: not closed), from
 * its current position: a buffer through fmemopen, for tests and the
 * fuzzer. Returns as scan_image_load. */
int scan_image_read(FILE *fp, struct scan_image *img, struct err *e);

/* ---- Pipeline (camera.c) ------------------------------------------------ */

/* Symbologies, as bits of scan_pipeline_config.symbologies. */
enum scan_symbology {
    SCAN_SYM_CODE128 = 1u << 0, /* UPU S10 and most parcel labels (S10 standard) */
    SCAN_SYM_CODE39 = 1u << 1,
    SCAN_SYM_EAN13 = 1u << 2,
    SCAN_SYM_I25 = 1u << 3, /* interleaved 2 of 5 (ITF) */
    SCAN_SYM_QR = 1u << 4,
};
#define SCAN_SYM_ALL 0x1fu

/* The words of symbologies and kinds (scan_words.c, pure: the config loader
 * uses them without the image stack). */

/* Parses a comma-separated list ("code128,qr"; names as scan_symbology_name)
 * into bits. Returns 0, or ERR_INVALID naming the unknown word. */
int scan_symbology_parse(const char *list, unsigned *out, struct err *e);

/* "code128", "code39", "ean13", "i25", "qr" for one bit; "?" otherwise. */
const char *scan_symbology_name(unsigned sym);

/* Parses a comma-separated list of code kinds ("s10,cainiao"; names as
 * scan_code_kind_name, or "any") into a mask of 1u << kind. Returns 0 or
 * ERR_INVALID. */
int scan_kinds_parse(const char *list, unsigned *out, struct err *e);

/* Every kind bit scan_kinds_parse() gives, SCAN_KINDS_ANY included. */
unsigned scan_kinds_known(void);

/* "any": every kind, and a text of no known format too (kind unknown), for
 * commissioning and for measuring the pipeline on public image sets. A
 * text of a known format must still be valid (a misread S10 is rejected). */
#define SCAN_KINDS_ANY (1u << 31)

/* Default allowed kinds: every parcel kind (S10, Cainiao, Russian Post). */
#define SCAN_KINDS_PARCEL                                                                          \
    ((1u << SCAN_CODE_S10) | (1u << SCAN_CODE_CAINIAO) | (1u << SCAN_CODE_RUPOST))

struct scan_pipeline_config {
    unsigned symbologies; /* SCAN_SYM_* bits; 0 means Code 128 only */
    unsigned kinds;       /* allowed kinds, bits 1u << scan_code_kind; 0 means SCAN_KINDS_PARCEL */
    unsigned budget_ms;   /* passes after the first start only while the work of
                             the passes run is below this (each pass's measured
                             cost, docs/camera.md "Budget": the same frame runs
                             the same passes whatever the load); 0 runs the first
                             pass only (plain ZBar on a clean frame, zxing-cpp on
                             the median-filtered frame on a noisy one) */
    unsigned max_passes;  /* at most this many passes; 0 means all */
};

/* The pipeline's defaults: Code 128, parcel kinds, 100 ms, all passes. */
void scan_pipeline_config_default(struct scan_pipeline_config *cfg);

/* Most symbols a result carries; more are counted in n_dropped. */
#define SCAN_RESULT_MAX 8

struct scan_symbol {
    char type[16];            /* ZBar's symbology name: "CODE-128", "QR-Code" */
    char text[SCAN_CODE_MAX + 1]; /* decoded text, NUL-terminated (truncated if longer) */
    enum scan_code_kind kind; /* kind from scan_code_check */
    char reason[96];          /* why rejected; "" for accepted symbols */
};

struct scan_result {
    struct scan_symbol sym[SCAN_RESULT_MAX]; /* accepted codes: valid, allowed kind, distinct */
    size_t n;                 /* entries in sym */
    struct scan_symbol rejected[SCAN_RESULT_MAX]; /* misreads and disallowed codes, distinct */
    size_t n_rejected;        /* entries in rejected */
    size_t n_dropped;         /* symbols past either array */
    int pass;                 /* 1-based pass that gave sym[0]; 0 when nothing accepted */
    const char *pass_name;    /* that pass ("plain", "rot45", ...); "" when none */
    int passes_run;           /* passes actually run (>= 1) */
    bool noisy;               /* the frame looked noisy: it ran "zxing-median" first,
                                 then ZBar on every line ("plain-full"), then
                                 the other denoised passes */
    double ms;                /* wall time of the decode, milliseconds */
    double work_ms;           /* the budget it spent: its passes' costs */
};

struct scan_pipeline;

/* Creates a pipeline (one ZBar scanner and its image buffers; use it from one
 * thread at a time). cfg may be NULL for the defaults. Returns 0 and *out
 * (caller frees with scan_pipeline_free); ERR_CONFIG for a config naming no
 * known symbology or kind; -ENOMEM. */
int scan_pipeline_new(const struct scan_pipeline_config *cfg, struct scan_pipeline **out,
                      struct err *e);

/* Frees p and its buffers; NULL allowed. */
void scan_pipeline_free(struct scan_pipeline *p);

/* Number of passes a frame can run, and the name of pass i (1-based) in the
 * order for a clean frame (a noisy one starts with "zxing-median", zxing-cpp
 * on the median-filtered frame, then "plain-full", ZBar on every line instead
 * of every second one, and runs the median passes next). */
int scan_pipeline_pass_count(void);
const char *scan_pipeline_pass_name(int pass);

/*
 * Decodes one frame: runs the passes in order until one yields an accepted
 * code, max_passes is reached or budget_ms is spent. Fills *out (always, even
 * on error). Returns 0 whether or not a code was read (out->n says); -EINVAL
 * for a bad frame (size 0, stride < w, NULL data, past SCAN_IMAGE_MAX_PIXELS);
 * -ENOMEM; ERR_STATE when ZBar fails.
 */
int scan_pipeline_decode(struct scan_pipeline *p, const struct scan_frame *frame,
                         struct scan_result *out, struct err *e);

/* --- why a frame gave no code (noread.c) ------------------------------------ */

enum scan_noread_cause {
    SCAN_NOREAD_NONE = 0,       /* it was read: one code */
    SCAN_NOREAD_NO_REGION,      /* nothing barcode-like in the frame */
    SCAN_NOREAD_NOT_DECODED,    /* a barcode-like region, not decoded (damaged, cut, blurred) */
    SCAN_NOREAD_TOO_SMALL,      /* its modules about 1 px or less */
    SCAN_NOREAD_LOW_CONTRAST,   /* under 48 grey levels between bars and spaces */
    SCAN_NOREAD_SEVERAL,        /* several codes: which is the parcel's? */
    SCAN_NOREAD_CHECK_DIGIT,    /* a code of a known format with a wrong check digit */
};

/* The region the classification found (zeros when none). */
struct scan_noread {
    enum scan_noread_cause cause;
    int region_blocks;  /* 16x16 blocks of parallel edges sharing one direction */
    int contrast;       /* their mean grey range */
    double module_px;   /* the module width estimated from the bar edges across them */
    double angle_deg;   /* the edges' normal: 0 for upright bars, -90..90 */
};

/* Why frame f gave what r says (r may be NULL: the frame alone): from r
 * first (several codes, a wrong check digit), else from the frame's blocks
 * (docs/camera.md "No-reads"). Pure; fills *out and returns out->cause. */
enum scan_noread_cause scan_noread_classify(const struct scan_frame *f,
                                            const struct scan_result *r,
                                            struct scan_noread *out);

/* "none", "no_barcode_region", "not_decoded", "too_small", "low_contrast",
 * "several_codes", "invalid_check_digit". */
const char *scan_noread_cause_name(enum scan_noread_cause c);

#endif

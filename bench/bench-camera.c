/*
 * bench-camera - camera decoding: read rate, wrong codes and time per frame
 * for each degradation class, the pipeline beside plain ZBar, zbarimg and
 * plain zxing-cpp in the same run; and the same readers on zxing's public
 * "blackbox" photos of 1D codes.
 *
 *   bench/gen-labels.sh /tmp/labels 30
 *   bench-camera [-b BUDGET_MS] [-z ZBARIMG] /tmp/labels
 *   bench/fetch-blackbox.sh ~/.cache/wcs/blackbox
 *   bench-camera [-b BUDGET_MS] --blackbox ~/.cache/wcs/blackbox [--blackbox-max N] [/tmp/labels]
 *
 * Frames are DIR/CLASS-NNN-CODE.{pgm,png,jpg}: the true code is in the name.
 * Four readers per frame:
 *   pipeline  scan_pipeline_decode with the defaults (Code 128, parcel kinds)
 *             and the given budget; time is the decode only (file load apart);
 *   plain     plain ZBar in-process: libzbar with its defaults (every line)
 *             and the pipeline's symbologies (Code 128), one scan, as
 *             zbarimg runs it but without its process start and loading;
 *   zbarimg   the zbar-tools CLI with its defaults (every symbology), as an
 *             operator would run it; its time includes process start and
 *             image loading, so compare its read rate, not its time;
 *   zxing     plain zxing-cpp: one ReadBarcodes call on the frame with its
 *             default hints (try harder, rotate, downscale), the pipeline's
 *             symbologies, in-process (scanners/zxing.h).
 * A "wrong" read is any reported code other than the frame's true code;
 * "lost" counts frames zbarimg read and the pipeline did not, "lost zx"
 * frames plain zxing-cpp read and the pipeline did not.
 * Runs on one thread: frames/s on one core is 1000 / ms.
 * Goals (issue 14, docs/benchmarks.md), each printed met or NOT met: the
 * rot20_65, noise and lowcontrast classes each at least 95% read within
 * 100 ms a frame; clean frames at least 30 frames/s on one core; no wrong
 * code from the pipeline; nothing lost against zbarimg; on the blackbox
 * photos more read than plain ZBar and than plain zxing-cpp, and no wrong
 * parcel code from the pipeline.
 *
 * Blackbox: BBDIR/SET/NAME.png with the expected text in NAME.txt (zxing's
 * core/src/test/resources/blackbox layout; bench/fetch-blackbox.sh fetches
 * it). Sets named code128-*, code39-*, ean13-*, itf* are read, each with its
 * one symbology enabled in every reader and the pipeline's kinds "any"
 * (wcs-scan decode --kinds any -s SYM): any text is taken, but a text of a
 * parcel-code format must be valid. A "wrong parcel code" is a wrong text
 * that passes as a valid parcel code (S10, Cainiao, Russian Post). Without
 * a usable BBDIR the blackbox part prints "blackbox: skipped: ..." and is
 * not an error (a machine without the network cannot fetch the set).
 * The test command runs it on one frame per class and two photos per set
 * (tests/bench) to see that it still runs and prints its figures and goals.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <zbar.h>

#include "scanners/camera.h"
#include "scanners/zxing.h"

#define MAX_CLASSES 32
#define MAX_BB_SETS 32

enum { R_PIPE, R_PLAIN, R_ZBARIMG, R_ZXING, N_READERS };
static const char *const reader_names[N_READERS] = {"pipeline", "plain ZBar", "zbarimg",
                                                    "plain zxing"};

struct reader_stats {
    unsigned read, wrong, wrong_parcel;
    unsigned read_in_100; /* read within 100 ms (the pipeline's goal) */
    double ms_sum;
    double *ms; /* one per frame, for the 95th percentile */
};

struct class_stats {
    char name[32];
    unsigned frames;
    struct reader_stats r[N_READERS];
    unsigned passes_sum; /* pipeline passes run, summed */
    unsigned lost;       /* frames zbarimg read and the pipeline did not */
    unsigned lost_zx;    /* frames plain zxing-cpp read and the pipeline did not */
};

/* What one reader reported for one frame. */
struct outcome {
    bool read, wrong, wrong_parcel;
    double ms;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Splits "CLASS-NNN-CODE.ext" into class and code; -1 when it is not one. */
static int parse_name(const char *name, char *cls, size_t clen, char *code, size_t codelen)
{
    const char *d1 = strchr(name, '-'), *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
    const char *dot = strrchr(name, '.');
    if (!d1 || !d2 || !dot || dot < d2 || (size_t)(d1 - name) >= clen ||
        (size_t)(dot - d2 - 1) >= codelen)
        return -1;
    if (strcmp(dot, ".pgm") && strcmp(dot, ".png") && strcmp(dot, ".jpg"))
        return -1;
    snprintf(cls, clen, "%.*s", (int)(d1 - name), name);
    snprintf(code, codelen, "%.*s", (int)(dot - d2 - 1), d2 + 1);
    return 0;
}

/* Scores one reported text against the truth. */
static void score(struct outcome *o, const char *text, const char *truth)
{
    if (strcmp(text, truth) == 0) {
        o->read = true;
        return;
    }
    o->wrong = true;
    struct scan_code_info info;
    scan_code_check(text, strlen(text), &info);
    if (info.valid && scan_code_is_parcel(info.kind))
        o->wrong_parcel = true;
}

static void record(struct reader_stats *s, unsigned idx, const struct outcome *o)
{
    s->read += o->read;
    s->read_in_100 += o->read && o->ms <= 100.0;
    s->wrong += o->wrong;
    s->wrong_parcel += o->wrong_parcel;
    s->ms_sum += o->ms;
    s->ms[idx] = o->ms;
}

static double p95(const struct reader_stats *s, unsigned n)
{
    if (n == 0)
        return 0;
    qsort(s->ms, n, sizeof(double), cmp_double);
    return s->ms[(n * 95 + 99) / 100 - 1];
}

/* Runs zbarimg on path (syms: its -S options, or "" for its defaults). */
static int run_zbarimg(const char *zbarimg, const char *syms, const char *path, const char *truth,
                       struct outcome *o)
{
    char cmd[8600], line[512];
    snprintf(cmd, sizeof(cmd), "'%s' %s -q --raw '%s' 2>/dev/null", zbarimg, syms, path);
    double t = now_ms();
    FILE *fp = popen(cmd, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            score(o, line, truth);
    }
    int st = pclose(fp);
    o->ms = now_ms() - t;
    /* zbarimg exits 4 when it found nothing: not an error here. */
    return st == -1 ? -1 : 0;
}

static int run_pipeline(struct scan_pipeline *p, const struct scan_frame *f, const char *truth,
                        struct outcome *o, struct scan_result *r)
{
    struct err e;
    if (scan_pipeline_decode(p, f, r, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    for (size_t s = 0; s < r->n; s++)
        score(o, r->sym[s].text, truth);
    o->ms = r->ms;
    return 0;
}

static int run_zxing(struct scan_zx *zx, const struct scan_frame *f, const char *truth,
                     struct outcome *o)
{
    struct scan_zx_symbol syms[SCAN_RESULT_MAX];
    size_t n;
    struct err e;
    double t = now_ms();
    if (scan_zx_read(zx, f->data, f->w, f->h, f->stride, syms, SCAN_RESULT_MAX, &n, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    o->ms = now_ms() - t;
    for (size_t s = 0; s < n; s++)
        score(o, syms[s].text, truth);
    return 0;
}

/* Plain ZBar: one scanner with ZBar's defaults but the given symbologies. */
struct plain_zbar {
    zbar_image_scanner_t *zs;
    zbar_image_t *zimg;
};

static int plain_zbar_new(unsigned syms, struct plain_zbar *z)
{
    static const struct {
        unsigned bit;
        zbar_symbol_type_t zsym;
    } map[] = {{SCAN_SYM_CODE128, ZBAR_CODE128},
               {SCAN_SYM_CODE39, ZBAR_CODE39},
               {SCAN_SYM_EAN13, ZBAR_EAN13},
               {SCAN_SYM_I25, ZBAR_I25},
               {SCAN_SYM_QR, ZBAR_QRCODE}};
    z->zs = zbar_image_scanner_create();
    z->zimg = zbar_image_create();
    if (!z->zs || !z->zimg)
        return -1;
    int bad = zbar_image_scanner_set_config(z->zs, 0, ZBAR_CFG_ENABLE, 0);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (syms & map[i].bit)
            bad |= zbar_image_scanner_set_config(z->zs, map[i].zsym, ZBAR_CFG_ENABLE, 1);
    zbar_image_set_format(z->zimg, zbar_fourcc('Y', '8', '0', '0'));
    return bad ? -1 : 0;
}

static void plain_zbar_free(struct plain_zbar *z)
{
    if (z->zimg)
        zbar_image_destroy(z->zimg);
    if (z->zs)
        zbar_image_scanner_destroy(z->zs);
}

/* f must be packed (stride == w), as scan_image_frame() gives. */
static int run_plain_zbar(struct plain_zbar *z, const struct scan_frame *f, const char *truth,
                          struct outcome *o)
{
    double t = now_ms();
    zbar_image_set_size(z->zimg, (unsigned)f->w, (unsigned)f->h);
    zbar_image_set_data(z->zimg, f->data, (unsigned long)f->w * (unsigned long)f->h, NULL);
    if (zbar_scan_image(z->zs, z->zimg) < 0) {
        fprintf(stderr, "ZBar failed on a %dx%d image\n", f->w, f->h);
        return -1;
    }
    o->ms = now_ms() - t;
    for (const zbar_symbol_t *s = zbar_image_first_symbol(z->zimg); s; s = zbar_symbol_next(s))
        score(o, zbar_symbol_get_data(s), truth);
    return 0;
}

/* The class called name, or NULL when there were no such frames. */
static const struct class_stats *find_class(const struct class_stats *cls, size_t n,
                                            const char *name)
{
    for (size_t c = 0; c < n; c++)
        if (strcmp(cls[c].name, name) == 0)
            return &cls[c];
    return NULL;
}

static void print_row(struct class_stats *c)
{
    printf("| %-12s | %4u |", c->name, c->frames);
    for (int k = 0; k < N_READERS; k++) {
        struct reader_stats *s = &c->r[k];
        printf(" %5.1f%% | %u | %6.1f | %6.1f |", c->frames ? 100.0 * s->read / c->frames : 0,
               s->wrong, c->frames ? s->ms_sum / c->frames : 0, p95(s, c->frames));
    }
    printf(" %.1f | %u | %u |\n", c->frames ? (double)c->passes_sum / c->frames : 0, c->lost,
           c->lost_zx);
}

/* The goal for one class: at least 95% of its frames read within 100 ms. */
static void print_class_goal(const struct class_stats *c, const char *name)
{
    if (c == NULL) {
        printf("goal: %s at least 95%% read within 100 ms: n/a (no such frames)\n", name);
        return;
    }
    const struct reader_stats *s = &c->r[R_PIPE];
    printf("goal: %s at least 95%% read within 100 ms: %s (%.1f%% within 100 ms, %.1f%% read, "
           "mean %.1f ms, p95 %.1f ms)\n",
           name, s->read_in_100 * 100 >= c->frames * 95 ? "met" : "NOT met",
           100.0 * s->read_in_100 / c->frames, 100.0 * s->read / c->frames,
           s->ms_sum / c->frames, s->ms[(c->frames * 95 + 99) / 100 - 1]);
}

static bool dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Names in dir (sorted) that keep_cb accepts; *out malloc'd, each strdup'd. */
static int list_dir(const char *dir, bool (*keep_cb)(const char *name), char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!keep_cb(de->d_name))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 256;
            char **nn = realloc(names, cap * sizeof(*names));
            if (!nn)
                exit(2);
            names = nn;
        }
        if (!(names[cnt++] = strdup(de->d_name)))
            exit(2);
    }
    closedir(d);
    if (cnt)
        qsort(names, cnt, sizeof(*names), cmp_str);
    *out = names;
    *n = cnt;
    return 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static bool is_frame_cb(const char *name)
{
    char cls[32], code[64];
    return parse_name(name, cls, sizeof(cls), code, sizeof(code)) == 0;
}

/* The symbology of a blackbox set, from its name; 0 for sets not read here. */
static unsigned set_symbology(const char *set, const char **zbar_name)
{
    static const struct {
        const char *prefix, *zbar;
        unsigned sym;
    } sets[] = {{"code128-", "code128", SCAN_SYM_CODE128},
                {"code39-", "code39", SCAN_SYM_CODE39},
                {"ean13-", "ean13", SCAN_SYM_EAN13},
                {"itf", "i25", SCAN_SYM_I25}};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        if (strncmp(set, sets[i].prefix, strlen(sets[i].prefix)) == 0) {
            *zbar_name = sets[i].zbar;
            return sets[i].sym;
        }
    return 0;
}

static bool is_set_cb(const char *name)
{
    const char *z;
    return set_symbology(name, &z) != 0;
}

static bool is_photo_cb(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".png") == 0 || strcmp(dot, ".jpg") == 0 ||
                   strcmp(dot, ".jpeg") == 0);
}

/* Reads PATH's first line into buf (trailing newline and blanks removed). */
static int read_expected(const char *path, char *buf, size_t len)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    if (!fgets(buf, (int)len, fp))
        buf[0] = '\0';
    fclose(fp);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? 0 : -1;
}

static void alloc_ms(struct class_stats *c, size_t n)
{
    for (int k = 0; k < N_READERS; k++)
        if (!(c->r[k].ms = calloc(n ? n : 1, sizeof(double))))
            exit(2);
}

static void free_ms(struct class_stats *c)
{
    for (int k = 0; k < N_READERS; k++)
        free(c->r[k].ms);
}

static void print_bb_row(struct class_stats *c)
{
    printf("| %-10s | %4u |", c->name, c->frames);
    for (int k = 0; k < N_READERS; k++) {
        const struct reader_stats *s = &c->r[k];
        printf(" %3u %5.1f%% | %u | %u |", s->read, c->frames ? 100.0 * s->read / c->frames : 0,
               s->wrong, s->wrong_parcel);
    }
    printf(" %6.1f | %6.1f |\n", c->frames ? c->r[R_PIPE].ms_sum / c->frames : 0,
           p95(&c->r[R_PIPE], c->frames));
}

/*
 * The blackbox photos: per set, the four readers with the set's symbology.
 * Returns 0 (also when skipped), 2 on an error that is not the set's absence.
 */
static int run_blackbox(const char *bbdir, unsigned budget, unsigned max_per_set,
                        const char *zbarimg)
{
    char **sets;
    size_t nsets;
    if (!dir_exists(bbdir) || list_dir(bbdir, is_set_cb, &sets, &nsets) < 0) {
        printf("blackbox: skipped: %s is not a directory (bench/fetch-blackbox.sh fetches the "
               "set)\n",
               bbdir);
        return 0;
    }
    if (nsets == 0) {
        printf("blackbox: skipped: no code128-*, code39-*, ean13-* or itf set in %s\n", bbdir);
        free(sets);
        return 0;
    }
    if (nsets > MAX_BB_SETS)
        nsets = MAX_BB_SETS;
    static struct class_stats st[MAX_BB_SETS + 1];
    struct class_stats *total = &st[MAX_BB_SETS];
    snprintf(total->name, sizeof(total->name), "all");
    size_t total_cap = 0;
    for (size_t si = 0; si < nsets; si++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", bbdir, sets[si]);
        char **photos;
        size_t np;
        if (list_dir(path, is_photo_cb, &photos, &np) < 0)
            np = 0, photos = NULL;
        free_names(photos, np);
        total_cap += np;
    }
    alloc_ms(total, total_cap);
    struct scan_image img = {0};
    int status = 0;
    size_t used = 0;
    for (size_t si = 0; si < nsets; si++) {
        const char *zname;
        unsigned sym = set_symbology(sets[si], &zname);
        char setdir[4096];
        snprintf(setdir, sizeof(setdir), "%s/%s", bbdir, sets[si]);
        char **photos;
        size_t np;
        if (list_dir(setdir, is_photo_cb, &photos, &np) < 0)
            continue;
        struct class_stats *c = &st[used++];
        snprintf(c->name, sizeof(c->name), "%s", sets[si]);
        alloc_ms(c, np);
        struct scan_pipeline_config cfg;
        scan_pipeline_config_default(&cfg);
        cfg.symbologies = sym;
        cfg.kinds = SCAN_KINDS_ANY;
        cfg.budget_ms = budget;
        struct scan_pipeline *pipe;
        struct plain_zbar plain = {0};
        struct scan_zx *zx;
        struct err e;
        if (scan_pipeline_new(&cfg, &pipe, &e) < 0 ||
            scan_zx_new(sym, SCAN_ZX_TRY_HARDER | SCAN_ZX_TRY_ROTATE | SCAN_ZX_TRY_DOWNSCALE, &zx,
                        &e) < 0) {
            fprintf(stderr, "%s\n", e.msg);
            return 2;
        }
        if (plain_zbar_new(sym, &plain) < 0) {
            fprintf(stderr, "ZBar: cannot make a scanner\n");
            return 2;
        }
        char zsyms[64];
        snprintf(zsyms, sizeof(zsyms), "-Sdisable -S%s.enable", zname);
        for (size_t i = 0; i < np && (max_per_set == 0 || i < max_per_set); i++) {
            char ppath[8400], tpath[8400], truth[256];
            snprintf(ppath, sizeof(ppath), "%s/%s", setdir, photos[i]);
            snprintf(tpath, sizeof(tpath), "%s/%.*s.txt", setdir,
                     (int)(strrchr(photos[i], '.') - photos[i]), photos[i]);
            if (read_expected(tpath, truth, sizeof(truth)) < 0) {
                fprintf(stderr, "%s: no expected text, skipped\n", tpath);
                continue;
            }
            if (scan_image_load(ppath, &img, &e) < 0) {
                fprintf(stderr, "%s: %s\n", ppath, e.msg);
                status = 2;
                continue;
            }
            struct scan_frame f = scan_image_frame(&img);
            struct outcome o[N_READERS] = {{0}};
            struct scan_result r;
            if (run_plain_zbar(&plain, &f, truth, &o[R_PLAIN]) < 0 ||
                run_pipeline(pipe, &f, truth, &o[R_PIPE], &r) < 0 ||
                run_zxing(zx, &f, truth, &o[R_ZXING]) < 0)
                return 2;
            for (size_t s = 0; s < r.n; s++)
                if (strcmp(r.sym[s].text, truth) != 0)
                    fprintf(stderr, "blackbox %s/%s: pipeline read %s, expected %s (pass %s)\n",
                            sets[si], photos[i], r.sym[s].text, truth, r.pass_name);
            if (run_zbarimg(zbarimg, zsyms, ppath, truth, &o[R_ZBARIMG]) < 0) {
                fprintf(stderr, "%s: cannot run %s\n", ppath, zbarimg);
                return 2;
            }
            if (!o[R_PIPE].read && (o[R_ZXING].read || o[R_ZBARIMG].read))
                fprintf(stderr, "blackbox %s/%s: read by %s, not by the pipeline\n", sets[si],
                        photos[i], o[R_ZXING].read ? "plain zxing" : "zbarimg");
            for (int k = 0; k < N_READERS; k++) {
                record(&c->r[k], c->frames, &o[k]);
                record(&total->r[k], total->frames, &o[k]);
            }
            c->frames++;
            total->frames++;
        }
        free_names(photos, np);
        scan_pipeline_free(pipe);
        plain_zbar_free(&plain);
        scan_zx_free(zx);
    }
    printf("\nblackbox: zxing's public 1D photos from %s, %u photos in %zu sets%s; each set "
           "with its one symbology, kinds any; pipeline budget %u ms\n",
           bbdir, total->frames, used, max_per_set ? " (first photos of each set only)" : "",
           budget);
    printf("read: photos whose expected text was reported; wrong: photos with another text; "
           "parcel: of those, a valid parcel code\n\n");
    printf("| set        | n    |");
    for (int k = 0; k < N_READERS; k++)
        printf(" %s read | wrong | parcel |", reader_names[k]);
    printf(" pipeline ms | p95 |\n|---|---|");
    for (int k = 0; k < N_READERS; k++)
        printf("---|---|---|");
    printf("---|---|\n");
    for (size_t c = 0; c < used; c++)
        print_bb_row(&st[c]);
    print_bb_row(total);
    const struct reader_stats *t = total->r;
    printf("\n");
    if (total->frames == 0) {
        printf("goal: blackbox: more read than plain ZBar and than plain zxing-cpp: n/a (no "
               "photos)\n");
        printf("goal: blackbox: no wrong parcel code from the pipeline: n/a (no photos)\n");
    } else {
        printf("goal: blackbox: more read than plain ZBar and than plain zxing-cpp: %s "
               "(pipeline %u, plain ZBar %u, plain zxing-cpp %u, zbarimg %u of %u)\n",
               t[R_PIPE].read > t[R_PLAIN].read && t[R_PIPE].read > t[R_ZXING].read ? "met"
                                                                                 : "NOT met",
               t[R_PIPE].read, t[R_PLAIN].read, t[R_ZXING].read, t[R_ZBARIMG].read,
               total->frames);
        printf("goal: blackbox: no wrong parcel code from the pipeline: %s (%u wrong parcel "
               "codes, %u photos with any wrong text)\n",
               t[R_PIPE].wrong_parcel == 0 ? "met" : "NOT met", t[R_PIPE].wrong_parcel,
               t[R_PIPE].wrong);
    }
    for (size_t c = 0; c < used; c++)
        free_ms(&st[c]);
    free_ms(total);
    free_names(sets, nsets);
    scan_image_release(&img);
    return status;
}

static int run_classes(const char *dir, unsigned budget, const char *zbarimg)
{
    char **names;
    size_t n;
    if (list_dir(dir, is_frame_cb, &names, &n) < 0) {
        perror(dir);
        return 2;
    }
    if (n == 0) {
        fprintf(stderr, "%s: no CLASS-NNN-CODE frames (run bench/gen-labels.sh)\n", dir);
        return 2;
    }
    struct scan_pipeline_config cfg;
    scan_pipeline_config_default(&cfg);
    cfg.budget_ms = budget;
    struct scan_pipeline *pipe;
    struct plain_zbar plain = {0};
    struct scan_zx *zx;
    struct err e;
    if (plain_zbar_new(cfg.symbologies, &plain) < 0) {
        fprintf(stderr, "ZBar: cannot make a scanner\n");
        return 2;
    }
    if (scan_pipeline_new(&cfg, &pipe, &e) < 0 ||
        scan_zx_new(cfg.symbologies, SCAN_ZX_TRY_HARDER | SCAN_ZX_TRY_ROTATE | SCAN_ZX_TRY_DOWNSCALE,
                    &zx, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }

    static struct class_stats cls[MAX_CLASSES + 1]; /* the last is the total */
    size_t ncls = 0;
    struct class_stats *total = &cls[MAX_CLASSES];
    snprintf(total->name, sizeof(total->name), "all");
    alloc_ms(total, n);
    struct scan_image img = {0};
    double load_ms = 0;
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        char cname[32], truth[64], path[4096];
        parse_name(names[i], cname, sizeof(cname), truth, sizeof(truth));
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t c;
        for (c = 0; c < ncls && strcmp(cls[c].name, cname); c++)
            ;
        if (c == ncls) {
            if (ncls == MAX_CLASSES) {
                fprintf(stderr, "more than %d classes\n", MAX_CLASSES);
                return 2;
            }
            snprintf(cls[c].name, sizeof(cls[c].name), "%s", cname);
            alloc_ms(&cls[c], n);
            ncls++;
        }
        double t = now_ms();
        if (scan_image_load(path, &img, &e) < 0) {
            fprintf(stderr, "%s: %s\n", path, e.msg);
            status = 2;
            continue;
        }
        load_ms += now_ms() - t;
        struct scan_frame f = scan_image_frame(&img);
        struct outcome o[N_READERS] = {{0}};
        struct scan_result r;
        if (run_pipeline(pipe, &f, truth, &o[R_PIPE], &r) < 0 ||
            run_plain_zbar(&plain, &f, truth, &o[R_PLAIN]) < 0 ||
            run_zxing(zx, &f, truth, &o[R_ZXING]) < 0)
            return 2;
        if (run_zbarimg(zbarimg, "", path, truth, &o[R_ZBARIMG]) < 0) {
            fprintf(stderr, "%s: cannot run %s\n", path, zbarimg);
            return 2;
        }
        for (size_t s = 0; s < r.n; s++)
            if (strcmp(r.sym[s].text, truth) != 0)
                fprintf(stderr, "%s: pipeline read %s\n", names[i], r.sym[s].text);
        if (o[R_PLAIN].wrong)
            fprintf(stderr, "%s: plain ZBar read a wrong code\n", names[i]);
        if (!o[R_PIPE].read)
            fprintf(stderr, "%s: pipeline read nothing (%d passes, %.1f ms)\n", names[i],
                    r.passes_run, r.ms);
        unsigned ci = cls[c].frames, ti = total->frames;
        for (int k = 0; k < N_READERS; k++) {
            record(&cls[c].r[k], ci, &o[k]);
            record(&total->r[k], ti, &o[k]);
        }
        cls[c].passes_sum += (unsigned)r.passes_run;
        total->passes_sum += (unsigned)r.passes_run;
        if (o[R_ZBARIMG].read && !o[R_PIPE].read) {
            cls[c].lost++;
            total->lost++;
            fprintf(stderr, "%s: read by zbarimg, not by the pipeline\n", names[i]);
        }
        if (o[R_ZXING].read && !o[R_PIPE].read) {
            cls[c].lost_zx++;
            total->lost_zx++;
            fprintf(stderr, "%s: read by plain zxing-cpp, not by the pipeline\n", names[i]);
        }
        cls[c].frames++;
        total->frames++;
    }

    printf("camera decoding, %zu frames from %s; pipeline budget %u ms; one thread\n", n, dir,
           budget);
    printf("read %% | wrong codes | mean ms | p95 ms, per reader; passes = pipeline passes run "
           "per frame; lost = read by zbarimg (lost zx: by plain zxing-cpp), not by the "
           "pipeline\n\n");
    printf("| class        | n    |");
    for (int k = 0; k < N_READERS; k++)
        printf(" %s read | wrong | ms | p95 |", reader_names[k]);
    printf(" passes | lost | lost zx |\n|---|---|");
    for (int k = 0; k < N_READERS; k++)
        printf("---|---|---|---|");
    printf("---|---|---|\n");
    for (size_t c = 0; c < ncls; c++)
        print_row(&cls[c]);
    /* The per-class p95 sorted each class's times; the goals below use them. */
    print_row(total);
    printf("\nfile load: %.2f ms/frame\n", total->frames ? load_ms / total->frames : 0);

    printf("\n");
    print_class_goal(find_class(cls, ncls, "rot20_65"), "rot20_65");
    print_class_goal(find_class(cls, ncls, "noise"), "noise");
    print_class_goal(find_class(cls, ncls, "lowcontrast"), "lowcontrast");
    const struct class_stats *clean = find_class(cls, ncls, "clean");
    if (clean == NULL)
        printf("goal: clean frames at least 30 frames/s on one core: n/a (no such frames)\n");
    else
        printf("goal: clean frames at least 30 frames/s on one core: %s (%.0f frames/s, mean "
               "%.1f ms; plain ZBar %.0f, plain zxing-cpp %.0f)\n",
               clean->r[R_PIPE].ms_sum * 30 <= clean->frames * 1000.0 ? "met" : "NOT met",
               1000.0 * clean->frames / clean->r[R_PIPE].ms_sum,
               clean->r[R_PIPE].ms_sum / clean->frames,
               1000.0 * clean->frames / clean->r[R_PLAIN].ms_sum,
               1000.0 * clean->frames / clean->r[R_ZXING].ms_sum);
    printf("goal: no wrong code from the pipeline: %s\n",
           total->r[R_PIPE].wrong == 0 ? "met" : "NOT met");
    printf("goal: nothing lost against zbarimg: %s\n", total->lost == 0 ? "met" : "NOT met");
    printf("not a goal: lost against plain zxing-cpp: %u\n", total->lost_zx);

    for (size_t c = 0; c < ncls; c++)
        free_ms(&cls[c]);
    free_ms(total);
    free_names(names, n);
    scan_image_release(&img);
    scan_pipeline_free(pipe);
    plain_zbar_free(&plain);
    scan_zx_free(zx);
    return status;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-camera [-b BUDGET_MS] [-z ZBARIMG] [--blackbox BBDIR "
                    "[--blackbox-max N]] [DIR]\n"
                    "       (DIR, BBDIR or both)\n");
}

int main(int argc, char **argv)
{
    const char *zbarimg = "zbarimg", *bbdir = NULL;
    unsigned budget = 100, bbmax = 0;
    static const struct option opts[] = {
        {"blackbox", required_argument, NULL, 'B'},
        {"blackbox-max", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "b:z:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': budget = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'z': zbarimg = optarg; break;
        case 'B': bbdir = optarg; break;
        case 'M': bbmax = (unsigned)strtoul(optarg, NULL, 10); break;
        default: usage(); return 2;
        }
    }
    if (optind < argc - 1 || (optind == argc && !bbdir)) {
        usage();
        return 2;
    }
    int status = 0;
    if (optind == argc - 1)
        status = run_classes(argv[optind], budget, zbarimg);
    if (bbdir) {
        int rc = run_blackbox(bbdir, budget, bbmax, zbarimg);
        if (rc > status)
            status = rc;
    }
    return status;
}

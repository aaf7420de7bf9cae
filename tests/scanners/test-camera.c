/*
 * test-camera.c - camera decoding (scanners/camera.c, imageops.c, imageio.c).
 *
 * Labels are rendered at test time by zint (scripts/deps.sh installs it), so
 * no image is committed: a Code 128 S10 label is pasted on a 1280x1024 "belt"
 * frame and rotated with our own image operations. A missing zint fails the
 * test loudly: skipping would hide that the camera path went untested.
 * No timing thresholds: the budget is tested through the pass count.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "scanners/archive.h"
#include "scanners/camera.h"
#include "scanners/zxing.h"

#include <zbar.h>

#include <dirent.h>
#include <jansson.h>

#define FRAME_W 1280
#define FRAME_H 1024
#define BELT 170 /* grey of the conveyor belt around the label */

static char dir[64];

/* Renders data as barcode type zint_type (zint's -b number) into dir/name.png. */
static void render(int zint_type, const char *data, const char *name)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "zint -b %d -d '%s' --scale=2 --whitesp=10 --vwhitesp=10 -o '%s/%s.png' >/dev/null",
             zint_type, data, dir, name);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("zint failed (status %d) rendering %s: is zint installed (scripts/deps.sh)?", rc,
                 data);
}

static void path_of(const char *name, const char *ext, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.%s", dir, name, ext);
}

/* Loads dir/name.png and pastes it in the middle of a belt-grey frame. */
static void label_frame(const char *name, struct scan_image *frame)
{
    char path[256];
    struct scan_image label = {0};
    struct err e;
    path_of(name, "png", path, sizeof(path));
    int rc = scan_image_load(path, &label, &e);
    if (rc != 0)
        fail_msg("%s: %s", path, e.msg);
    assert_true(label.w < FRAME_W && label.h < FRAME_H);
    assert_int_equal(scan_image_resize(frame, FRAME_W, FRAME_H), 0);
    memset(frame->data, BELT, (size_t)FRAME_W * FRAME_H);
    int x0 = (FRAME_W - label.w) / 2, y0 = (FRAME_H - label.h) / 2;
    for (int y = 0; y < label.h; y++)
        memcpy(frame->data + (size_t)(y0 + y) * FRAME_W + x0, label.data + (size_t)y * label.w,
               (size_t)label.w);
    scan_image_release(&label);
}

static void decode(const struct scan_pipeline_config *cfg, const struct scan_image *img,
                   struct scan_result *r)
{
    struct scan_pipeline *p;
    struct err e;
    assert_int_equal(scan_pipeline_new(cfg, &p, &e), 0);
    struct scan_frame f = scan_image_frame(img);
    int rc = scan_pipeline_decode(p, &f, r, &e);
    if (rc != 0)
        fail_msg("decode: %s", e.msg);
    scan_pipeline_free(p);
}

static int setup(void **state)
{
    (void)state;
    if (system("command -v zint >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test-camera: zint not found in PATH; scripts/deps.sh installs it\n");
        return -1; /* cmocka reports the group setup as failed: no silent skip */
    }
    snprintf(dir, sizeof(dir), "/tmp/test-camera-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    if (!dir[0])
        return 0; /* setup failed before making it */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_clean_label(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result r;
    render(20, "RR473124829GB", "s10");
    label_frame("s10", &frame);
    decode(NULL, &frame, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sym[0].text, "RR473124829GB");
    assert_string_equal(r.sym[0].type, "CODE-128");
    assert_int_equal(r.sym[0].kind, SCAN_CODE_S10);
    assert_int_equal(r.pass, 1);
    assert_string_equal(r.pass_name, "plain");
    assert_int_equal(r.passes_run, 1);
    scan_image_release(&frame);
}

static void test_rotated_label(void **state)
{
    (void)state;
    struct scan_image frame = {0}, rot = {0};
    struct scan_result r;
    struct scan_pipeline_config cfg;
    render(20, "EB000717618HK", "ems");
    label_frame("ems", &frame);
    struct scan_frame f = scan_image_frame(&frame);
    /* 30, -30, 60: far from the axes, plain ZBar cannot read them. 80, 17,
     * -12: near an axis or a rotated pass's edge, read by some pass. */
    const double angles[] = {30, -30, 60, 80, 17, -12};
    for (size_t i = 0; i < sizeof(angles) / sizeof(angles[0]); i++) {
        assert_int_equal(scan_img_rotate(&f, angles[i], BELT, &rot), 0);
        /* Plain ZBar (the first pass alone) does not read it ... */
        scan_pipeline_config_default(&cfg);
        cfg.max_passes = 1;
        decode(&cfg, &rot, &r);
        bool far = angles[i] == 30 || angles[i] == -30 || angles[i] == 60;
        if (far) {
            assert_int_equal(r.n, 0);
            assert_int_equal(r.passes_run, 1);
        }
        /* ... the pipeline does, in a rotated pass. */
        scan_pipeline_config_default(&cfg);
        cfg.budget_ms = 100000; /* no time limit: this is about coverage of angles */
        decode(&cfg, &rot, &r);
        if (r.n != 1)
            fail_msg("label rotated by %g degrees not read (%d passes)", angles[i], r.passes_run);
        assert_string_equal(r.sym[0].text, "EB000717618HK");
        if (far) {
            assert_true(r.pass > 1);
            assert_true(strncmp(r.pass_name, "rot", 3) == 0);
        }
    }
    scan_image_release(&frame);
    scan_image_release(&rot);
}

static void test_wrong_check_digit(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result r;
    struct scan_pipeline_config cfg;
    render(20, "RR473124828GB", "badcheck");
    label_frame("badcheck", &frame);
    scan_pipeline_config_default(&cfg);
    cfg.max_passes = 3;
    /* The pass limit is what this tests: a time budget that cannot run out
     * (the default 100 ms did, after 2 passes, under ASan on a busy machine). */
    cfg.budget_ms = 60000;
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.pass, 0);
    assert_int_equal(r.n_rejected, 1);
    assert_string_equal(r.rejected[0].text, "RR473124828GB");
    assert_int_equal(r.rejected[0].kind, SCAN_CODE_S10);
    assert_non_null(strstr(r.rejected[0].reason, "check digit 8, expected 9"));
    /* Nothing accepted, so the pipeline went on: up to the pass limit. */
    assert_int_equal(r.passes_run, 3);
    scan_image_release(&frame);
}

static void test_symbologies(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result r;
    struct scan_pipeline_config cfg;
    struct err e;

    render(8, "RB123456785GB", "c39"); /* Code 39 */
    label_frame("c39", &frame);
    scan_pipeline_config_default(&cfg); /* Code 128 only */
    cfg.max_passes = 2;
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_rejected, 0); /* not seen at all, not a misread */
    assert_int_equal(scan_symbology_parse("code128,code39", &cfg.symbologies, &e), 0);
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sym[0].text, "RB123456785GB");
    assert_string_equal(r.sym[0].type, "CODE-39");

    render(58, "RR287043775IN", "qr"); /* QR code */
    label_frame("qr", &frame);
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(scan_symbology_parse("qr", &cfg.symbologies, &e), 0);
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sym[0].text, "RR287043775IN");
    assert_string_equal(r.sym[0].type, "QR-Code");

    assert_int_equal(scan_symbology_parse("code128,pdf417", &cfg.symbologies, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "pdf417"));
    scan_image_release(&frame);
}

static void test_allowed_kinds(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result r;
    struct scan_pipeline_config cfg;
    struct err e;
    render(20, "LP00123456789012", "lp");
    label_frame("lp", &frame);
    scan_pipeline_config_default(&cfg);
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.sym[0].kind, SCAN_CODE_CAINIAO);
    /* A scan point that takes only S10 ids rejects the Cainiao number. */
    assert_int_equal(scan_kinds_parse("s10", &cfg.kinds, &e), 0);
    cfg.max_passes = 2;
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_rejected, 1);
    assert_int_equal(r.rejected[0].kind, SCAN_CODE_CAINIAO);
    assert_non_null(strstr(r.rejected[0].reason, "not taken"));
    assert_int_equal(scan_kinds_parse("s10,parcel", &cfg.kinds, &e), ERR_INVALID);
    scan_image_release(&frame);

    /* "any" takes a text of no known format, for commissioning; a parcel
     * scan point rejects it. */
    render(20, "HELLO-2026", "other");
    label_frame("other", &frame);
    scan_pipeline_config_default(&cfg);
    cfg.max_passes = 2;
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_rejected, 1);
    assert_int_equal(scan_kinds_parse("any", &cfg.kinds, &e), 0);
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sym[0].text, "HELLO-2026");
    assert_int_equal(r.sym[0].kind, SCAN_CODE_UNKNOWN);
    assert_string_equal(r.pass_name, "plain");
    scan_image_release(&frame);
}

/* Renders data at zint scale into a belt frame (label_frame's, another scale). */
static void label_frame_scaled(const char *data, const char *scale, const char *name,
                               struct scan_image *frame)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "zint -b 20 -d '%s' --scale=%s --whitesp=10 --vwhitesp=10 -o '%s/%s.png' >/dev/null",
             data, scale, dir, name);
    assert_int_equal(system(cmd), 0);
    label_frame(name, frame);
}

static enum scan_noread_cause cause_of(const struct scan_image *img, const struct scan_result *r,
                                       struct scan_noread *n)
{
    struct scan_frame f = scan_image_frame(img);
    return scan_noread_classify(&f, r, n);
}

/* Why a frame gave no code: from the result first, else from the frame. */
static void test_noread_causes(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result r;
    struct scan_pipeline_config cfg;
    struct scan_noread n;
    uint32_t seed = 99;

    /* A belt, and a belt under sensor noise: nothing barcode-like. */
    assert_int_equal(scan_image_resize(&frame, FRAME_W, FRAME_H), 0);
    memset(frame.data, BELT, (size_t)FRAME_W * FRAME_H);
    assert_int_equal(cause_of(&frame, NULL, &n), SCAN_NOREAD_NO_REGION);
    for (size_t i = 0; i < (size_t)FRAME_W * FRAME_H; i++) {
        seed = seed * 1103515245u + 12345u;
        frame.data[i] = (uint8_t)(BELT - 24 + (int)((seed >> 16) % 49));
    }
    assert_int_equal(cause_of(&frame, NULL, &n), SCAN_NOREAD_NO_REGION);

    /* A label whose middle is torn off: found, upright, not decoded. */
    label_frame_scaled("RR473124829GB", "2", "torn", &frame);
    for (int y = 0; y < FRAME_H; y++)
        memset(frame.data + (size_t)y * FRAME_W + FRAME_W / 2 - 40, 255, 80);
    scan_pipeline_config_default(&cfg);
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(cause_of(&frame, &r, &n), SCAN_NOREAD_NOT_DECODED);
    assert_true(n.region_blocks >= 6);
    assert_true(n.contrast > 150);
    assert_true(n.angle_deg > -10 && n.angle_deg < 10);

    /* The same label squeezed into 30 grey levels: low contrast. */
    label_frame_scaled("RR473124829GB", "2", "faint", &frame);
    for (size_t i = 0; i < (size_t)FRAME_W * FRAME_H; i++)
        frame.data[i] = (uint8_t)(120 + frame.data[i] * 30 / 255);
    assert_int_equal(cause_of(&frame, NULL, &n), SCAN_NOREAD_LOW_CONTRAST);

    /* Modules of about 1 px: too small. */
    label_frame_scaled("RR473124829GB", "0.5", "tiny", &frame);
    assert_int_equal(cause_of(&frame, NULL, &n), SCAN_NOREAD_TOO_SMALL);

    /* What the result says comes first. */
    memset(&r, 0, sizeof(r));
    r.n_rejected = 1;
    r.rejected[0].kind = SCAN_CODE_S10;
    snprintf(r.rejected[0].reason, sizeof(r.rejected[0].reason), "check digit 6, expected 5");
    assert_int_equal(cause_of(&frame, &r, &n), SCAN_NOREAD_CHECK_DIGIT);
    r.n = 2;
    assert_int_equal(cause_of(&frame, &r, &n), SCAN_NOREAD_SEVERAL);
    r.n = 1;
    assert_int_equal(cause_of(&frame, &r, &n), SCAN_NOREAD_NONE);
    assert_string_equal(scan_noread_cause_name(SCAN_NOREAD_NO_REGION), "no_barcode_region");
    scan_image_release(&frame);
}

static int count_files(const char *path, const char *suffix)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name), sl = strlen(suffix);
        n += len > sl && strcmp(de->d_name + len - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

/* The no-read archive: entries of an image and its JSON, bounded in entries
 * and bytes (oldest dropped first), found again at the next open, and what
 * a crash left removed. */
static void test_noread_archive(void **state)
{
    (void)state;
    char adir[128], path[256], name[SCAN_ARCHIVE_NAME_MAX], first[SCAN_ARCHIVE_NAME_MAX];
    struct scan_image img = {0};
    struct scan_archive_config cfg = {.dir = adir, .max_bytes = 0, .max_entries = 3};
    struct scan_archive *a;
    struct scan_noread why = {.cause = SCAN_NOREAD_LOW_CONTRAST, .region_blocks = 9,
                              .contrast = 30, .module_px = 2.5, .angle_deg = 5};
    struct scan_archive_meta m = {.at_us = 1796601600000000LL, .location = "SCAN01",
                                  .source = "cam-top", .tracking = "0000000042", .why = &why};
    struct err e;
    json_error_t je;
    json_t *j;

    snprintf(adir, sizeof(adir), "%s/noreads", dir);
    assert_int_equal(scan_image_resize(&img, 64, 64), 0);
    memset(img.data, BELT, 64 * 64);
    struct scan_frame f = scan_image_frame(&img);
    assert_int_equal(scan_archive_open(&cfg, &a, &e), 0);
    for (int i = 0; i < 5; i++) {
        m.at_us += 1000;
        assert_int_equal(scan_archive_put(a, &f, &m, name, &e), 0);
        if (i == 0)
            snprintf(first, sizeof(first), "%s", name);
    }
    assert_int_equal(scan_archive_entries(a), 3);
    assert_int_equal(count_files(adir, ".pgm"), 3);
    assert_int_equal(count_files(adir, ".json"), 3);
    snprintf(path, sizeof(path), "%s/%s.pgm", adir, first);
    assert_int_not_equal(access(path, F_OK), 0); /* the oldest went first */

    /* The newest entry: its image loads back, its JSON says what was known. */
    snprintf(path, sizeof(path), "%s/%s.pgm", adir, name);
    struct scan_image back = {0};
    assert_int_equal(scan_image_load(path, &back, &e), 0);
    assert_int_equal(back.w, 64);
    scan_image_release(&back);
    snprintf(path, sizeof(path), "%s/%s.json", adir, name);
    j = json_load_file(path, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "cause")), "low_contrast");
    assert_string_equal(json_string_value(json_object_get(j, "tracking")), "0000000042");
    assert_string_equal(json_string_value(json_object_get(j, "location")), "SCAN01");
    assert_string_equal(json_string_value(json_object_get(j, "at")), "2026-12-07T00:00:00.005Z");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "region"), "contrast")),
                     30);
    json_decref(j);
    scan_archive_close(a);

    /* Reopened with a byte bound for two: the oldest goes; what a crash
     * left (a temporary file, an image without its JSON) is removed. */
    snprintf(path, sizeof(path), "%s/x.pgm.tmp", adir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/20260101T000000.000Z-000000.pgm", adir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    cfg.max_entries = 0;
    cfg.max_bytes = 2 * 4600; /* an entry: a 64x64 image and ~250 bytes of JSON */
    assert_int_equal(scan_archive_open(&cfg, &a, &e), 0);
    assert_int_equal(scan_archive_entries(a), 2);
    assert_int_equal(count_files(adir, ".tmp"), 0);
    assert_int_equal(count_files(adir, ".pgm"), 2);
    /* A frame past the whole archive is refused. */
    struct scan_image big = {0};
    assert_int_equal(scan_image_resize(&big, 200, 200), 0);
    memset(big.data, 0, 200 * 200);
    struct scan_frame bf = scan_image_frame(&big);
    assert_int_equal(scan_archive_put(a, &bf, &m, name, &e), ERR_INVALID);
    assert_string_equal(name, "");
    scan_archive_close(a);
    scan_image_release(&big);
    scan_image_release(&img);
}

/* Spins until *stop: an artificial CPU load. */
static void *spin(void *arg)
{
    atomic_int *stop = arg;
    volatile unsigned long n = 0;

    while (!atomic_load(stop))
        n++;
    return NULL;
}

/* The budget is work: a frame no pass reads (sensor noise alone) runs the
 * same passes and spends the same budget with the machine loaded by four
 * spinning threads as without. */
static void test_budget_is_work(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result quiet, loaded;
    struct scan_pipeline_config cfg;
    pthread_t hog[4];
    atomic_int stop = 0;
    uint32_t seed = 4242;

    assert_int_equal(scan_image_resize(&frame, FRAME_W, FRAME_H), 0);
    for (size_t i = 0; i < (size_t)FRAME_W * FRAME_H; i++) {
        seed = seed * 1103515245u + 12345u;
        frame.data[i] = (uint8_t)(BELT - 24 + (int)((seed >> 16) % 49));
    }
    for (unsigned budget = 0; budget <= 200; budget += 100) {
        scan_pipeline_config_default(&cfg);
        cfg.budget_ms = budget;
        decode(&cfg, &frame, &quiet);
        assert_true(quiet.noisy);
        assert_int_equal(quiet.n, 0);
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&hog[i], NULL, spin, &stop), 0);
        decode(&cfg, &frame, &loaded);
        atomic_store(&stop, 1);
        for (int i = 0; i < 4; i++)
            pthread_join(hog[i], NULL);
        atomic_store(&stop, 0);
        assert_int_equal(loaded.passes_run, quiet.passes_run);
        assert_true(loaded.work_ms == quiet.work_ms);
        /* Spent up to the budget (the first pass always runs), and no
         * further than the pass that crossed it. */
        assert_true(quiet.work_ms >= (double)budget || quiet.passes_run == 1);
        if (budget == 0)
            assert_int_equal(quiet.passes_run, 1);
        else
            assert_true(quiet.passes_run > 1);
    }
    scan_image_release(&frame);
}

static void test_budget(void **state)
{
    (void)state;
    struct scan_image frame = {0}, rot = {0};
    struct scan_result r;
    struct scan_pipeline_config cfg;
    render(20, "RR473124829GB", "s10b");
    label_frame("s10b", &frame);
    struct scan_frame f = scan_image_frame(&frame);
    assert_int_equal(scan_img_rotate(&f, 45, BELT, &rot), 0);
    /* A budget of 0 ms: the first pass always runs, no other starts. */
    scan_pipeline_config_default(&cfg);
    cfg.budget_ms = 0;
    decode(&cfg, &rot, &r);
    assert_int_equal(r.passes_run, 1);
    assert_int_equal(r.n, 0);
    /* A pass limit holds whatever the time. */
    scan_pipeline_config_default(&cfg);
    cfg.budget_ms = 100000;
    cfg.max_passes = 1;
    decode(&cfg, &rot, &r);
    assert_int_equal(r.passes_run, 1);
    cfg.max_passes = 3; /* pass 3 is the 45-degree one */
    decode(&cfg, &rot, &r);
    assert_int_equal(r.passes_run, 3);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.pass_name, "rot45");
    assert_string_equal(scan_pipeline_pass_name(3), "rot45");
    /* An empty frame runs every pass and reads nothing. */
    memset(frame.data, BELT, (size_t)frame.w * frame.h);
    cfg.max_passes = 0;
    decode(&cfg, &frame, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.passes_run, scan_pipeline_pass_count());
    scan_image_release(&frame);
    scan_image_release(&rot);
}

/* Light/dark changes along row y of img: bars crossed. */
static int transitions(const struct scan_image *img, int y)
{
    int n = 0;
    const uint8_t *row = img->data + (size_t)y * img->w;
    for (int x = 1; x < img->w; x++)
        n += (row[x - 1] < 128) != (row[x] < 128);
    return n;
}

/* On a noisy frame ZBar's first pass scans every row ("plain-full", after
 * "zxing-median"), as zbarimg does; a clean frame's plain pass scans every
 * second one. The label here is
 * one row of bars on an even row, which ZBar at density 2 (rows 1, 3, 5, ...
 * of a 1024-row frame) never looks at. */
static void test_noisy_full_density(void **state)
{
    (void)state;
    enum { ROW = 514 }; /* even, and not one of the noise estimate's rows (every 8th) */
    struct scan_image label = {0}, frame = {0};
    struct scan_result r;
    struct scan_pipeline_config cfg;
    render(20, "RR473124829GB", "thin");
    label_frame("thin", &label);
    int best = 0;
    for (int y = 1; y < FRAME_H; y++)
        if (transitions(&label, y) > transitions(&label, best))
            best = y;
    assert_true(transitions(&label, best) > 60); /* 13 characters of Code 128 */
    assert_int_equal(scan_image_resize(&frame, FRAME_W, FRAME_H), 0);

    /* Clean belt around the one row: plain ZBar's every-second-row scan misses it. */
    memset(frame.data, BELT, (size_t)FRAME_W * FRAME_H);
    memcpy(frame.data + (size_t)ROW * FRAME_W, label.data + (size_t)best * FRAME_W, FRAME_W);
    scan_pipeline_config_default(&cfg);
    cfg.max_passes = 1;
    decode(&cfg, &frame, &r);
    assert_false(r.noisy);
    assert_int_equal(r.passes_run, 1);
    assert_int_equal(r.n, 0);

    /* Sensor noise (+-24 grey levels, a fixed LCG) everywhere but that row:
     * the frame is noisy. Its first pass, zxing-cpp on the median-filtered
     * frame, loses the one row to the median; the second, ZBar on every
     * line, reads it. */
    uint32_t seed = 12345;
    for (int y = 0; y < FRAME_H; y++) {
        if (y == ROW)
            continue;
        for (int x = 0; x < FRAME_W; x++) {
            seed = seed * 1103515245u + 12345u;
            frame.data[(size_t)y * FRAME_W + x] = (uint8_t)(BELT - 24 + (int)((seed >> 16) % 49));
        }
    }
    decode(&cfg, &frame, &r);
    assert_true(r.noisy);
    assert_int_equal(r.passes_run, 1);
    assert_int_equal(r.n, 0);
    cfg.max_passes = 2;
    decode(&cfg, &frame, &r);
    assert_int_equal(r.passes_run, 2);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sym[0].text, "RR473124829GB");
    assert_int_equal(r.pass, 2);
    assert_string_equal(r.pass_name, "plain-full");
    /* The default budget also stops there. */
    scan_pipeline_config_default(&cfg);
    decode(&cfg, &frame, &r);
    assert_int_equal(r.passes_run, 2);
    assert_string_equal(r.pass_name, "plain-full");
    scan_image_release(&label);
    scan_image_release(&frame);
}

/* Plain ZBar as zbarimg runs it (every line, Code 128 only): how many
 * symbols it finds in img. */
static int zbar_alone(const struct scan_image *img)
{
    zbar_image_scanner_t *zs = zbar_image_scanner_create();
    zbar_image_t *zi = zbar_image_create();
    assert_non_null(zs);
    assert_non_null(zi);
    assert_int_equal(zbar_image_scanner_set_config(zs, 0, ZBAR_CFG_ENABLE, 0), 0);
    assert_int_equal(zbar_image_scanner_set_config(zs, ZBAR_CODE128, ZBAR_CFG_ENABLE, 1), 0);
    zbar_image_set_format(zi, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(zi, (unsigned)img->w, (unsigned)img->h);
    zbar_image_set_data(zi, img->data, (unsigned long)img->w * (unsigned long)img->h, NULL);
    int n = zbar_scan_image(zs, zi);
    zbar_image_destroy(zi);
    zbar_image_scanner_destroy(zs);
    return n;
}

/* The label under heavy sensor noise (a sum of four LCG draws: roughly
 * Gaussian, +-amp grey levels), the same frame for the same seed. */
static void noisy_label(const char *name, int amp, uint32_t seed, struct scan_image *frame)
{
    label_frame(name, frame);
    for (size_t i = 0; i < (size_t)frame->w * (size_t)frame->h; i++) {
        int sum = 0;
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            sum += (int)((seed >> 16) % (unsigned)(amp + 1));
        }
        int v = frame->data[i] + sum / 2 - amp;
        frame->data[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

/* The second decoder: a noisy label that ZBar alone (every line, as
 * zbarimg) does not read is read by the pipeline's "zxing-median" pass
 * (zxing-cpp on the median-filtered frame), the same way every time. */
static void test_zxing_pass(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result r, again;
    struct scan_pipeline_config cfg;
    render(20, "RR473124829GB", "zx");
    noisy_label("zx", 150, 4242, &frame);
    assert_int_equal(zbar_alone(&frame), 0);
    scan_pipeline_config_default(&cfg);
    cfg.max_passes = 1;
    decode(&cfg, &frame, &r);
    assert_true(r.noisy);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sym[0].text, "RR473124829GB");
    assert_string_equal(r.sym[0].type, "CODE-128");
    assert_int_equal(r.sym[0].kind, SCAN_CODE_S10);
    assert_int_equal(r.pass, 1);
    assert_string_equal(r.pass_name, "zxing-median");
    /* Deterministic: the same frame gives the same result, in a fresh
     * pipeline and in the same one again. */
    scan_pipeline_config_default(&cfg);
    struct scan_pipeline *p;
    struct err e;
    assert_int_equal(scan_pipeline_new(&cfg, &p, &e), 0);
    struct scan_frame f = scan_image_frame(&frame);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(scan_pipeline_decode(p, &f, i ? &again : &r, &e), 0);
    }
    assert_int_equal(r.n, 1);
    assert_int_equal(again.n, 1);
    assert_string_equal(r.sym[0].text, again.sym[0].text);
    assert_string_equal(r.pass_name, again.pass_name);
    assert_int_equal(r.passes_run, again.passes_run);
    assert_true(r.work_ms == again.work_ms);
    scan_pipeline_free(p);

    /* The shim alone: the same read, and its refusals. */
    struct scan_zx *zx;
    struct scan_zx_symbol sym[2];
    size_t n = 99;
    assert_int_equal(scan_zx_new(0, 0, &zx, &e), ERR_CONFIG);
    assert_null(zx);
    assert_int_equal(scan_zx_new(SCAN_ZX_CODE128, SCAN_ZX_TRY_HARDER, &zx, &e), 0);
    struct scan_image med = {0};
    assert_int_equal(scan_img_median3(&f, &med), 0);
    assert_int_equal(scan_zx_read(zx, med.data, med.w, med.h, (size_t)med.w, sym, 2, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(sym[0].text, "RR473124829GB");
    assert_int_equal(sym[0].len, 13);
    assert_int_equal(scan_zx_read(zx, med.data, med.w, med.h, (size_t)med.w - 1, sym, 2, &n, &e),
                     -EINVAL);
    assert_int_equal(n, 0);
    assert_int_equal(scan_zx_read(zx, NULL, 10, 10, 10, sym, 2, &n, &e), -EINVAL);
    /* A Code 39 reader does not see the Code 128 label. */
    scan_zx_free(zx);
    assert_int_equal(scan_zx_new(SCAN_ZX_CODE39, SCAN_ZX_TRY_HARDER, &zx, &e), 0);
    assert_int_equal(scan_zx_read(zx, med.data, med.w, med.h, (size_t)med.w, sym, 2, &n, &e), 0);
    assert_int_equal(n, 0);
    scan_zx_free(zx);
    scan_image_release(&med);
    scan_image_release(&frame);
}

/* A frame whose rows are padded (stride > w) decodes like a packed one. */
static void test_stride(void **state)
{
    (void)state;
    struct scan_image frame = {0};
    struct scan_result r;
    render(20, "RR473124829GB", "s10s");
    label_frame("s10s", &frame);
    size_t stride = FRAME_W + 64;
    uint8_t *buf = malloc(stride * FRAME_H);
    assert_non_null(buf);
    memset(buf, 0, stride * FRAME_H);
    for (int y = 0; y < FRAME_H; y++)
        memcpy(buf + y * stride, frame.data + (size_t)y * FRAME_W, FRAME_W);
    struct scan_frame f = {.w = FRAME_W, .h = FRAME_H, .stride = stride, .data = buf};
    struct scan_pipeline *p;
    struct err e;
    assert_int_equal(scan_pipeline_new(NULL, &p, &e), 0);
    assert_int_equal(scan_pipeline_decode(p, &f, &r, &e), 0);
    assert_int_equal(r.n, 1);
    f.stride = FRAME_W - 1;
    assert_int_equal(scan_pipeline_decode(p, &f, &r, &e), -EINVAL);
    f.stride = stride;
    f.data = NULL;
    assert_int_equal(scan_pipeline_decode(p, &f, &r, &e), -EINVAL);
    scan_pipeline_free(p);
    free(buf);
    scan_image_release(&frame);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Writes img as a JPEG with libjpeg, into memory. */
static unsigned char *jpeg_encode(const struct scan_image *img, unsigned long *len)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &out, len);
    ci.image_width = (JDIMENSION)img->w;
    ci.image_height = (JDIMENSION)img->h;
    ci.input_components = 1;
    ci.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 90, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = img->data + (size_t)ci.next_scanline * img->w;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return out;
}

static void expect_load_error(const char *path, int code, const char *fragment)
{
    struct scan_image img = {0};
    struct err e;
    err_clear(&e);
    int rc = scan_image_load(path, &img, &e);
    if (rc != code || !strstr(e.msg, fragment))
        fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", path, rc, e.msg, code, fragment);
    scan_image_release(&img);
}

static void test_files(void **state)
{
    (void)state;
    char path[256], bad[256];
    struct scan_image frame = {0}, img = {0};
    struct scan_result r;
    struct err e;
    render(20, "RR473124829GB", "s10f");
    label_frame("s10f", &frame);

    /* PGM (P5) round trip, with a comment in the header. */
    path_of("frame", "pgm", path, sizeof(path));
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fprintf(fp, "P5\n# camera 3\n%d %d\n255\n", frame.w, frame.h);
    assert_int_equal(fwrite(frame.data, 1, (size_t)frame.w * frame.h, fp), (size_t)frame.w * frame.h);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(scan_image_load(path, &img, &e), 0);
    assert_int_equal(img.w, frame.w);
    assert_int_equal(img.h, frame.h);
    assert_memory_equal(img.data, frame.data, (size_t)frame.w * frame.h);

    /* JPEG: decodes and reads. */
    unsigned long jlen = 0;
    unsigned char *jpg = jpeg_encode(&frame, &jlen);
    assert_non_null(jpg);
    path_of("frame", "jpg", path, sizeof(path));
    write_file(path, jpg, jlen);
    assert_int_equal(scan_image_load(path, &img, &e), 0);
    assert_int_equal(img.w, FRAME_W);
    decode(NULL, &img, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.sym[0].text, "RR473124829GB");

    /* Truncated files: errors with a reason, no crash, no half image. */
    path_of("trunc", "jpg", bad, sizeof(bad));
    write_file(bad, jpg, jlen / 2);
    expect_load_error(bad, ERR_PARSE, "truncated");

    /* Damaged entropy-coded data (a marker in the middle of it): libjpeg
     * would fill in what it cannot decode; the frame is refused instead. */
    jpg[jlen / 2] = 0xff;
    jpg[jlen / 2 + 1] = 0xd9;
    path_of("damaged", "jpg", bad, sizeof(bad));
    write_file(bad, jpg, jlen);
    expect_load_error(bad, ERR_PARSE, "JPEG: damaged (Corrupt JPEG data");
    free(jpg);

    path_of("s10f", "png", path, sizeof(path));
    fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    assert_true(n > 200 && n < sizeof(buf));
    path_of("trunc", "png", bad, sizeof(bad));
    write_file(bad, buf, n / 2);
    expect_load_error(bad, ERR_PARSE, "PNG");
    write_file(bad, buf, 20); /* signature, part of IHDR */
    expect_load_error(bad, ERR_PARSE, "PNG");

    path_of("trunc", "pgm", bad, sizeof(bad));
    write_file(bad, "P5\n100 100\n255\nabc", 18);
    expect_load_error(bad, ERR_PARSE, "truncated");
    write_file(bad, "P5\n100 x100\n255\n", 16);
    expect_load_error(bad, ERR_PARSE, "bad header");
    write_file(bad, "P5\n100000 100000\n255\n", 21);
    expect_load_error(bad, -EINVAL, "pixels");

    path_of("garbage", "png", bad, sizeof(bad));
    write_file(bad, "hello, not an image\n", 20);
    expect_load_error(bad, ERR_PARSE, "not a PNG, JPEG");
    write_file(bad, "", 0);
    expect_load_error(bad, ERR_PARSE, "empty");
    path_of("missing", "png", bad, sizeof(bad));
    expect_load_error(bad, -ENOENT, "No such file");

    scan_image_release(&img);
    scan_image_release(&frame);
}

/* scan_image_read on a buffer (fmemopen). */
static int load_mem(const void *data, size_t len, struct scan_image *img, struct err *e)
{
    FILE *fp = fmemopen((void *)(uintptr_t)data, len, "r");
    assert_non_null(fp);
    int rc = scan_image_read(fp, img, e);
    fclose(fp);
    return rc;
}

static void expect_mem_error(const void *data, size_t len, int code, const char *fragment)
{
    struct scan_image img = {0};
    struct err e;
    err_clear(&e);
    int rc = load_mem(data, len, &img, &e);
    if (rc != code || !strstr(e.msg, fragment))
        fail_msg("got %d \"%s\", expected %d with \"%s\"", rc, e.msg, code, fragment);
    scan_image_release(&img);
}

/* A w x h grey JPEG of nscans scans (0: baseline), into memory. With scans,
 * the script is a legal progression: DC first and refined, then every AC
 * coefficient in a band of its own, first and refined (2 + 2 * 63 at most). */
static unsigned char *jpeg_scans(int w, int h, int nscans, unsigned long *len)
{
    static jpeg_scan_info script[128];
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL, *row = calloc((size_t)w, 1);
    assert_non_null(row);
    assert_true(nscans <= 128);
    script[0] = (jpeg_scan_info){.comps_in_scan = 1, .Ss = 0, .Se = 0, .Ah = 0, .Al = 1};
    script[1] = (jpeg_scan_info){.comps_in_scan = 1, .Ss = 0, .Se = 0, .Ah = 1, .Al = 0};
    for (int k = 1; k <= 63; k++) {
        script[1 + k] = (jpeg_scan_info){.comps_in_scan = 1, .Ss = k, .Se = k, .Ah = 0, .Al = 1};
        script[64 + k] = (jpeg_scan_info){.comps_in_scan = 1, .Ss = k, .Se = k, .Ah = 1, .Al = 0};
    }
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &out, len);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 1;
    ci.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    if (nscans > 0) {
        ci.scan_info = script;
        ci.num_scans = nscans;
    }
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height)
        jpeg_write_scanlines(&ci, &row, 1);
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    return out;
}

/* The loader's limits (camera.h): each refused with -EINVAL or ERR_PARSE and a
 * message naming the limit, before the pixels are decoded. */
static void test_file_limits(void **state)
{
    (void)state;
    struct scan_image img = {0};
    struct err e;

    /* PGM: a side past SCAN_IMAGE_MAX_SIDE, too many pixels, a header of
     * endless comments. */
    expect_mem_error("P5\n40000 2\n255\n", 16, -EINVAL, "a side is past 32768");
    expect_mem_error("P5\n9000 9000\n255\n", 17, -EINVAL, "past the limit of 67108864 pixels");
    char hdr[5000];
    memset(hdr, 'x', sizeof(hdr));
    memcpy(hdr, "P5\n#", 4);
    expect_mem_error(hdr, sizeof(hdr), ERR_PARSE, "header longer than 4096 bytes");

    /* PNG: a real 40000 x 1 file (libpng's own limit is 1000000). */
    png_image pi;
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 40000;
    pi.height = 1;
    pi.format = PNG_FORMAT_GRAY;
    uint8_t *px = calloc(40000, 1);
    assert_non_null(px);
    png_alloc_size_t plen = 0;
    assert_true(png_image_write_to_memory(&pi, NULL, &plen, 0, px, 0, NULL));
    void *png = malloc(plen);
    assert_non_null(png);
    assert_true(png_image_write_to_memory(&pi, png, &plen, 0, px, 0, NULL));
    expect_mem_error(png, plen, -EINVAL, "PNG: 40000x1 pixels: a side is past 32768");
    free(png);
    free(px);

    /* JPEG: a side too long; a legal progression of 128 scans, past
     * SCAN_JPEG_MAX_SCANS; the 100 scans it allows load. */
    unsigned long jlen = 0;
    unsigned char *jpg = jpeg_scans(40000, 1, 0, &jlen);
    expect_mem_error(jpg, jlen, -EINVAL, "JPEG: 40000x1 pixels: a side is past 32768");
    free(jpg);
    jpg = jpeg_scans(16, 16, 128, &jlen);
    expect_mem_error(jpg, jlen, -EINVAL, "JPEG: more than 100 scans");
    free(jpg);
    jpg = jpeg_scans(16, 16, 100, &jlen);
    err_clear(&e);
    assert_int_equal(load_mem(jpg, jlen, &img, &e), 0);
    assert_int_equal(img.w, 16);
    free(jpg);
    scan_image_release(&img);
}

static void test_imageops(void **state)
{
    (void)state;
    uint8_t px[4 * 3] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
    struct scan_frame f = {.w = 4, .h = 3, .stride = 4, .data = px};
    struct scan_image out = {0};

    /* 0 degrees: identity inside (the last row/column has no 2x2 block and
     * takes the fill). 90 degrees: the box swaps width and height. */
    assert_int_equal(scan_img_rotate(&f, 0, 7, &out), 0);
    assert_int_equal(out.w, 4);
    assert_int_equal(out.h, 3);
    assert_int_equal(out.data[0], 10);
    assert_int_equal(out.data[4 + 2], 70);
    assert_int_equal(scan_img_rotate(&f, 90, 7, &out), 0);
    assert_int_equal(out.w, 3);
    assert_int_equal(out.h, 4);

    assert_int_equal(scan_img_downscale(&f, 2, &out), 0);
    assert_int_equal(out.w, 2);
    assert_int_equal(out.h, 1);
    assert_int_equal(out.data[0], (10 + 20 + 50 + 60 + 2) / 4);
    assert_int_equal(out.data[1], (30 + 40 + 70 + 80 + 2) / 4);

    assert_int_equal(scan_img_upscale(&f, 2, &out), 0);
    assert_int_equal(out.w, 8);
    assert_int_equal(out.h, 6);
    assert_int_equal(out.data[0], 10);

    uint8_t flat[25];
    memset(flat, 99, sizeof(flat));
    flat[12] = 255; /* one hot pixel in the middle */
    struct scan_frame ff = {.w = 5, .h = 5, .stride = 5, .data = flat};
    assert_int_equal(scan_img_median3(&ff, &out), 0);
    for (int i = 0; i < 25; i++)
        assert_int_equal(out.data[i], 99);
    /* Against a brute-force median on random pixels (edges clamped). */
    uint8_t rnd[16 * 16];
    unsigned seed = 12345;
    for (int i = 0; i < 256; i++) {
        seed = seed * 1103515245u + 12345u;
        rnd[i] = (uint8_t)(seed >> 16);
    }
    struct scan_frame fz = {.w = 16, .h = 16, .stride = 16, .data = rnd};
    assert_int_equal(scan_img_median3(&fz, &out), 0);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            int v[9], k = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy < 0 ? 0 : y + dy > 15 ? 15 : y + dy;
                    int xx = x + dx < 0 ? 0 : x + dx > 15 ? 15 : x + dx;
                    v[k++] = rnd[yy * 16 + xx];
                }
            for (int i = 1; i < 9; i++) /* insertion sort */
                for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
                    int t = v[j];
                    v[j] = v[j - 1];
                    v[j - 1] = t;
                }
            assert_int_equal(out.data[y * 16 + x], v[4]);
        }
    flat[12] = 99;
    assert_int_equal(scan_img_box_blur(&ff, 2, &out), 0);
    for (int i = 0; i < 25; i++)
        assert_int_equal(out.data[i], 99);

    uint8_t ramp[100];
    for (int i = 0; i < 100; i++)
        ramp[i] = (uint8_t)(100 + i / 2); /* 100..149: low contrast */
    struct scan_frame fr = {.w = 10, .h = 10, .stride = 10, .data = ramp};
    assert_int_equal(scan_img_stretch(&fr, 0, 100, &out), 0);
    assert_int_equal(out.data[0], 0);
    assert_int_equal(out.data[99], 255);

    assert_int_equal(scan_img_downscale(&f, 9, &out), -EINVAL);
    assert_int_equal(scan_img_box_blur(&f, 0, &out), -EINVAL);
    assert_int_equal(scan_img_stretch(&f, 50, 50, &out), -EINVAL);
    struct scan_frame huge = {.w = 70000, .h = 70000, .stride = 70000, .data = px};
    assert_int_equal(scan_img_rotate(&huge, 10, 0, &out), -EINVAL);
    scan_image_release(&out);
}

/* A frame within the limits whose rotation would pass them (6000x6000 is 36
 * Mpx, rotated by 45 degrees about 72; by 22.5 or 67.5 about 61.5, under the
 * 64 Mpx limit): that pass is skipped, the others run, and the frame is not
 * an error. */
static void test_rotation_past_limit(void **state)
{
    (void)state;
    const int side = 6000;
    uint8_t *px = malloc((size_t)side * side);
    assert_non_null(px);
    memset(px, 255, (size_t)side * side);
    struct scan_frame f = {.w = side, .h = side, .stride = side, .data = px};
    struct scan_image out = {0};
    assert_int_equal(scan_img_rotate(&f, 45, 255, &out), -E2BIG);
    assert_int_equal(scan_img_rotate(&f, 0, 255, &out), 0);
    scan_image_release(&out);

    struct scan_pipeline_config cfg;
    scan_pipeline_config_default(&cfg);
    cfg.budget_ms = 600000; /* the pass limit ends the frame, not the clock */
    cfg.max_passes = 5;     /* plain, sharpen, rot45, rot22, rot67 */
    struct scan_pipeline *p;
    struct scan_result r;
    struct err e;
    assert_int_equal(scan_pipeline_new(&cfg, &p, &e), 0);
    assert_int_equal(scan_pipeline_decode(p, &f, &r, &e), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.passes_run, 4); /* all but rot45 */
    scan_pipeline_free(p);
    free(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imageops),        cmocka_unit_test(test_clean_label),
        cmocka_unit_test(test_rotation_past_limit),
        cmocka_unit_test(test_rotated_label),   cmocka_unit_test(test_wrong_check_digit),
        cmocka_unit_test(test_symbologies),     cmocka_unit_test(test_allowed_kinds),
        cmocka_unit_test(test_budget),          cmocka_unit_test(test_stride),
        cmocka_unit_test(test_budget_is_work), cmocka_unit_test(test_noread_causes),
        cmocka_unit_test(test_noread_archive),
        cmocka_unit_test(test_noisy_full_density), cmocka_unit_test(test_zxing_pass),
        cmocka_unit_test(test_files),           cmocka_unit_test(test_file_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

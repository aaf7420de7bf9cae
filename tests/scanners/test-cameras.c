/*
 * test-cameras.c - the scan tunnel's threads (scanners/cameras.h) without
 * wcsd: directory cameras on a libuv loop, frames made in memory.
 *
 *   - every frame a source takes is accounted for: decoded (read, no-read)
 *     or dropped when the decoders fall behind (one decoder, a queue of 1,
 *     a burst of frames);
 *   - a file that is no image is kept as NAME.bad and counted, the next
 *     frames are taken;
 *   - a no-read's frames: each camera of the scan point gets its share of
 *     the slots, the window's other frames are dropped (a second take of
 *     the same window finds none), frames outside the window stay;
 *   - a colour PNM stream is read as grey.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "scanners/cameras.h"
#include "scanners/pnm_stream.h"

static char dir[64];

struct run {
    uv_loop_t loop;
    uv_timer_t tick;
    struct scan_cameras *cams;
    size_t results, codes;
    int64_t last_at;
    size_t want;    /* stop once results + dropped reach this */
    int ticks_left; /* a bound: the test fails rather than hangs */
};

static void read_cb(void *arg, const struct scan_cam_read *r)
{
    struct run *run = arg;

    run->results++;
    run->codes += r->result->n;
    run->last_at = r->at_us;
}

static uint64_t dropped_all(struct run *run)
{
    struct scan_cam_stats st;
    uint64_t d = 0;

    for (size_t i = 0; i < scan_cameras_count(run->cams); i++) {
        scan_cameras_stats(run->cams, i, &st);
        d += st.dropped;
    }
    return d;
}

static void tick_cb(uv_timer_t *t)
{
    struct run *run = t->data;

    if (run->results + dropped_all(run) >= run->want || --run->ticks_left <= 0)
        uv_stop(&run->loop);
}

/* Runs the loop until want frames are decoded or dropped (20 s at most). */
static void run_until(struct run *run, size_t want)
{
    run->want = want;
    run->ticks_left = 2000;
    uv_timer_start(&run->tick, tick_cb, 10, 10);
    uv_run(&run->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&run->tick);
    assert_true(run->ticks_left > 0);
}

static void start(struct run *run, const struct scan_camera_cfg *cams, size_t n, unsigned workers,
                  unsigned queue, unsigned keep)
{
    struct scan_cameras_cfg cfg = {
        .cams = cams, .n = n, .workers = workers, .queue = queue, .keep = keep, .poll_ms = 5};
    struct err e;

    memset(run, 0, sizeof(*run));
    scan_pipeline_config_default(&cfg.pipeline);
    cfg.pipeline.max_passes = 2; /* quick: these frames have no code */
    assert_int_equal(uv_loop_init(&run->loop), 0);
    assert_int_equal(uv_timer_init(&run->loop, &run->tick), 0);
    run->tick.data = run;
    assert_int_equal(scan_cameras_start(&run->loop, &cfg, read_cb, run, &run->cams, &e), 0);
}

static void stop(struct run *run)
{
    scan_cameras_stop(run->cams);
    uv_close((uv_handle_t *)&run->tick, NULL);
    uv_run(&run->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&run->loop), 0);
}

static void camera(struct scan_camera_cfg *c, const char *id, const char *location)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->location, sizeof(c->location), "%s", location);
    c->kind = SCAN_CAM_DIR;
    snprintf(c->path, sizeof(c->path), "%s/%s", dir, id);
    mkdir(c->path, 0700);
}

/* A 320x240 grey PGM of nothing into camera cam's directory, as a camera
 * writes it (a hidden name, then renamed), with modification time at_s
 * seconds from now. */
static void frame_file(const char *cam, int n, int at_s)
{
    char tmp[256], path[256];
    struct timespec times[2];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s/%s/.f%d", dir, cam, n);
    snprintf(path, sizeof(path), "%s/%s/f%04d.pgm", dir, cam, n);
    f = fopen(tmp, "wb");
    assert_non_null(f);
    fprintf(f, "P5\n320 240\n255\n");
    for (int i = 0; i < 320 * 240; i++)
        fputc(120 + (i * 7 + n) % 11, f);
    fclose(f);
    clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec += at_s;
    times[1] = times[0];
    assert_int_equal(utimensat(AT_FDCWD, tmp, times, 0), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_every_frame_accounted(void **state)
{
    struct scan_camera_cfg cam;
    struct scan_cam_stats st;
    struct run run;

    (void)state;
    camera(&cam, "burst", "SCAN01");
    for (int i = 0; i < 20; i++)
        frame_file("burst", i, 0);
    start(&run, &cam, 1, 1, 1, 4);
    run_until(&run, 20);
    scan_cameras_stats(run.cams, 0, &st);
    assert_int_equal(st.frames, 20);
    assert_int_equal(st.read + st.noread + st.several + st.dropped, 20);
    assert_int_equal(run.results, st.read + st.noread + st.several);
    assert_int_equal(st.read, 0);
    stop(&run);
}

static void test_bad_file_kept_aside(void **state)
{
    struct scan_camera_cfg cam;
    struct scan_cam_stats st;
    struct run run;
    char path[256];
    FILE *f;

    (void)state;
    camera(&cam, "bad", "SCAN01");
    snprintf(path, sizeof(path), "%s/bad/a-garbage.png", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not an image at all", f);
    fclose(f);
    frame_file("bad", 1, 0);
    start(&run, &cam, 1, 1, 8, 4);
    run_until(&run, 1);
    scan_cameras_stats(run.cams, 0, &st);
    assert_int_equal(st.bad, 1);
    assert_int_equal(st.frames, 1);
    snprintf(path, sizeof(path), "%s/bad/a-garbage.png.bad", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/bad/f0001.pgm", dir);
    assert_int_equal(access(path, F_OK), -1); /* taken: removed */
    stop(&run);
}

static void test_take_shares_and_clears_the_window(void **state)
{
    struct scan_camera_cfg cams[3];
    struct scan_cam_frame *got[8];
    struct run run;
    struct timespec now;
    int64_t t;
    size_t n, i;
    int per_cam[3] = {0};

    (void)state;
    camera(&cams[0], "top", "SCAN02");
    camera(&cams[1], "left", "SCAN02");
    camera(&cams[2], "right", "SCAN02");
    /* Two frames each in the window, and one an hour earlier (outside it). */
    for (i = 0; i < 3; i++) {
        frame_file(cams[i].id, 1, 0);
        frame_file(cams[i].id, 2, 0);
        frame_file(cams[i].id, 3, -3600);
    }
    start(&run, cams, 3, 2, 16, 8);
    run_until(&run, 9);
    clock_gettime(CLOCK_REALTIME, &now);
    t = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;

    n = scan_cameras_take(run.cams, "SCAN02", t - 60 * 1000000ll, t + 1000000, got, 3);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++)
            per_cam[k] += strcmp(got[i]->camera, cams[k].id) == 0;
        assert_true(got[i]->img.w == 320 && got[i]->img.h == 240);
        assert_int_equal(got[i]->why.cause, SCAN_NOREAD_NO_REGION);
        if (i > 0)
            assert_true(got[i - 1]->at_us <= got[i]->at_us);
    }
    assert_int_equal(per_cam[0], 1);
    assert_int_equal(per_cam[1], 1);
    assert_int_equal(per_cam[2], 1);
    scan_cam_frames_free(got, n);
    /* The window's other frames went with it; the old ones stay. */
    assert_int_equal(scan_cameras_take(run.cams, "SCAN02", t - 60 * 1000000ll, t + 1000000, got, 8),
                     0);
    n = scan_cameras_take(run.cams, "SCAN02", 0, t, got, 8);
    assert_int_equal(n, 3);
    scan_cam_frames_free(got, n);
    stop(&run);
}

/* A stream in two pieces: a 2x1 colour image, then a grey one. */
struct pieces {
    const char *data[2];
    size_t len[2];
    int next;
};

static int pieces_fill(void *arg, unsigned char *buf, size_t cap, size_t *got)
{
    struct pieces *p = arg;

    if (p->next == 2)
        return 0;
    assert_true(p->len[p->next] <= cap);
    memcpy(buf, p->data[p->next], p->len[p->next]);
    *got = p->len[p->next++];
    return 1;
}

static void test_pnm_colour_and_pieces(void **state)
{
    static const char colour[] = "P6 2 1 255\n\xff\x00\x00\x00\x00\xff";
    static const char grey[] = "P5\n# a comment\n1 1\n15\n\x0f";
    struct pieces p = {{colour, grey}, {sizeof(colour) - 1, sizeof(grey) - 1}, 0};
    struct scan_pnm_reader *r = malloc(sizeof(*r));
    struct scan_image img = {0};
    struct err e;

    (void)state;
    assert_non_null(r);
    scan_pnm_reader_init(r, pieces_fill, &p);
    assert_int_equal(scan_pnm_next(r, &img, &e), 0);
    assert_int_equal(img.w, 2);
    assert_int_equal(img.h, 1);
    assert_int_equal(img.data[0], (77 * 255) >> 8); /* red */
    assert_int_equal(img.data[1], (29 * 255) >> 8); /* blue */
    assert_int_equal(scan_pnm_next(r, &img, &e), 0);
    assert_int_equal(img.w, 1);
    assert_int_equal(img.data[0], 255);              /* maxval 15 scaled */
    assert_int_equal(scan_pnm_next(r, &img, &e), 1); /* a clean end */

    p.data[0] = "P5 70000 1 255\n";
    p.len[0] = strlen(p.data[0]);
    p.next = 1;
    p.data[1] = p.data[0];
    p.len[1] = p.len[0];
    scan_pnm_reader_init(r, pieces_fill, &p);
    assert_int_equal(scan_pnm_next(r, &img, &e), ERR_PARSE);
    assert_non_null(strstr(e.msg, "past the image limits"));
    scan_image_release(&img);
    free(r);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test-cameras-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_frame_accounted),
        cmocka_unit_test(test_bad_file_kept_aside),
        cmocka_unit_test(test_take_shares_and_clears_the_window),
        cmocka_unit_test(test_pnm_colour_and_pieces),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

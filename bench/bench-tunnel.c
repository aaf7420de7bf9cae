/*
 * bench-tunnel.c - the scan tunnel's threads (scanners/cameras.h) beside a
 * plain decode loop in the same process.
 *
 *   bench-tunnel [-n FRAMES] DIR
 *
 * Loads up to FRAMES (default 300) images of DIR (bench/gen-labels.sh's
 * PGM frames) into memory, then:
 *   plain     one thread decodes them one after the other (the pipeline's
 *             defaults): the baseline;
 *   tunnel    a stream camera (a FIFO, PNM images back to back, written by
 *             a thread as fast as it goes) with 1 and with 2 decoder
 *             threads and a queue that holds them all: frames/s from the
 *             first byte written to the last result on the loop, and the
 *             ratio to the plain loop (the cost of the threads, the FIFO
 *             and the hand-over; 2 workers on a 2-core machine);
 *   overload  1 decoder thread and a queue of 4 frames, the same frames
 *             written at once: frames are dropped (oldest first, counted)
 *             and the event loop stays responsive: a 1 ms timer on the loop
 *             thread is never late by more than a few ms, because the loop
 *             never decodes (its worst lateness is printed).
 * Goal lines: "tunnel with 1 worker at least 0.9 of the plain loop",
 * "2 workers at least 1.5x of 1 worker" (a 2-core machine), "overload:
 * frames dropped and counted, every frame accounted for".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "scanners/cameras.h"

#define FRAMES_MAX 2000

static struct scan_image frames[FRAMES_MAX];
static size_t nframes;
static char fifo[128];

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load(const char *dir, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *names[FRAMES_MAX];
    size_t n = 0, i;

    if (d == NULL) {
        fprintf(stderr, "bench-tunnel: %s: %s\n", dir, strerror(errno));
        exit(2);
    }
    while ((de = readdir(d)) != NULL && n < FRAMES_MAX) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".pgm") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), name_cmp);
    for (i = 0; i < n; i++) {
        char path[1024];
        struct err e;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (nframes < max && scan_image_load(path, &frames[nframes], &e) == 0)
            nframes++;
        free(names[i]);
    }
    if (nframes == 0) {
        fprintf(stderr, "bench-tunnel: no PGM frames in %s (bench/gen-labels.sh)\n", dir);
        exit(2);
    }
}

static double plain_loop(void)
{
    struct scan_pipeline *p;
    struct scan_result r;
    struct err e;
    double t0;
    size_t i;

    if (scan_pipeline_new(NULL, &p, &e) < 0) {
        fprintf(stderr, "bench-tunnel: %s\n", e.msg);
        exit(2);
    }
    t0 = now_s();
    for (i = 0; i < nframes; i++) {
        struct scan_frame f = scan_image_frame(&frames[i]);
        scan_pipeline_decode(p, &f, &r, &e);
    }
    t0 = now_s() - t0;
    scan_pipeline_free(p);
    return (double)nframes / t0;
}

/* --- the tunnel ------------------------------------------------------------ */

struct run {
    uv_loop_t loop;
    uv_timer_t tick, watchdog;
    struct scan_cameras *cams;
    size_t results;
    double t0, t_last, late_max_ms;
    uint64_t last_tick_ns;
    _Atomic bool writer_done;
};

static void *writer_main(void *arg)
{
    struct run *r = arg;
    int fd = open(fifo, O_WRONLY);
    size_t i;

    if (fd < 0) {
        perror("bench-tunnel: fifo");
        exit(2);
    }
    r->t0 = now_s();
    for (i = 0; i < nframes; i++) {
        char head[64];
        int hl = snprintf(head, sizeof(head), "P5\n%d %d\n255\n", frames[i].w, frames[i].h);
        size_t len = (size_t)frames[i].w * (size_t)frames[i].h, off = 0;

        if (write(fd, head, (size_t)hl) != hl)
            exit(2);
        while (off < len) {
            ssize_t n = write(fd, frames[i].data + off, len - off);
            if (n <= 0)
                exit(2);
            off += (size_t)n;
        }
    }
    close(fd);
    r->writer_done = true;
    return NULL;
}

static void read_cb(void *arg, const struct scan_cam_read *rd)
{
    struct run *r = arg;

    (void)rd;
    r->results++;
    r->t_last = now_s();
}

/* The loop's own work: a 1 ms timer whose lateness says whether the loop
 * was ever kept busy. Ends the run when every frame is decoded or dropped. */
static void tick_cb(uv_timer_t *t)
{
    struct run *r = t->data;
    uint64_t now = uv_hrtime();
    struct scan_cam_stats st;

    if (r->last_tick_ns != 0) {
        double late = (double)(now - r->last_tick_ns) / 1e6 - 1.0;
        if (late > r->late_max_ms)
            r->late_max_ms = late;
    }
    r->last_tick_ns = now;
    scan_cameras_stats(r->cams, 0, &st);
    if (r->writer_done && r->results + st.dropped >= nframes) {
        uv_timer_stop(&r->tick);
        uv_timer_stop(&r->watchdog);
        uv_stop(t->loop); /* the cameras' handle stays until they are stopped */
    }
}

static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "bench-tunnel: a run did not finish in 600 s\n");
    exit(2);
}

/* One run; returns frames/s (results over the time from the first byte
 * written to the last result) and fills st. */
static double tunnel(unsigned workers, unsigned queue, struct scan_cam_stats *st, double *late_ms)
{
    struct scan_camera_cfg cam = {.id = "CAM-BENCH", .location = "SCAN01", .kind = SCAN_CAM_STREAM};
    struct scan_cameras_cfg cfg = {
        .cams = &cam, .n = 1, .workers = workers, .queue = queue, .keep = 1};
    struct run r;
    pthread_t w;
    struct err e;

    memset(&r, 0, sizeof(r));
    snprintf(cam.path, sizeof(cam.path), "%s", fifo);
    scan_pipeline_config_default(&cfg.pipeline);
    uv_loop_init(&r.loop);
    if (scan_cameras_start(&r.loop, &cfg, read_cb, &r, &r.cams, &e) < 0) {
        fprintf(stderr, "bench-tunnel: %s\n", e.msg);
        exit(2);
    }
    uv_timer_init(&r.loop, &r.tick);
    uv_timer_init(&r.loop, &r.watchdog);
    r.tick.data = &r;
    uv_timer_start(&r.tick, tick_cb, 1, 1);
    uv_timer_start(&r.watchdog, watchdog_cb, 600000, 0);
    pthread_create(&w, NULL, writer_main, &r);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    pthread_join(w, NULL);
    scan_cameras_stats(r.cams, 0, st);
    scan_cameras_stop(r.cams);
    uv_close((uv_handle_t *)&r.tick, NULL);
    uv_close((uv_handle_t *)&r.watchdog, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    *late_ms = r.late_max_ms;
    return (double)r.results / (r.t_last - r.t0);
}

int main(int argc, char **argv)
{
    size_t max = 300;
    struct scan_cam_stats s1, s2, so;
    double plain, one, two, late1, late2, lateo;
    int ok1, ok2, oko;

    if (argc == 4 && strcmp(argv[1], "-n") == 0) {
        max = (size_t)strtoul(argv[2], NULL, 10);
        argv += 2;
        argc -= 2;
    }
    if (argc != 2 || max == 0 || max > FRAMES_MAX) {
        fprintf(stderr, "usage: bench-tunnel [-n FRAMES (1..%d)] DIR\n", FRAMES_MAX);
        return 2;
    }
    load(argv[1], max);
    snprintf(fifo, sizeof(fifo), "/tmp/bench-tunnel-%d.fifo", (int)getpid());
    unlink(fifo);
    if (mkfifo(fifo, 0600) < 0) {
        perror("bench-tunnel: mkfifo");
        return 2;
    }
    plain = plain_loop();
    one = tunnel(1, (unsigned)nframes, &s1, &late1);
    two = tunnel(2, (unsigned)nframes, &s2, &late2);
    (void)tunnel(1, 4, &so, &lateo);
    unlink(fifo);

    printf("%zu frames (%dx%d first), budget 100 ms, one camera (a PNM stream)\n", nframes,
           frames[0].w, frames[0].h);
    printf("plain loop      %7.1f frames/s\n", plain);
    printf("tunnel 1 worker %7.1f frames/s  ratio %.2f  dropped %llu  loop late max %.1f ms\n", one,
           one / plain, (unsigned long long)s1.dropped, late1);
    printf("tunnel 2 workers %6.1f frames/s  ratio %.2f  dropped %llu  loop late max %.1f ms\n",
           two, two / plain, (unsigned long long)s2.dropped, late2);
    printf("overload 1 worker, queue 4: decoded %llu, dropped %llu of %zu, loop late max %.1f ms\n",
           (unsigned long long)(so.read + so.noread + so.several), (unsigned long long)so.dropped,
           nframes, lateo);
    ok1 = one >= 0.9 * plain;
    ok2 = two >= 1.5 * one;
    oko = so.dropped > 0 && so.read + so.noread + so.several + so.dropped == nframes &&
          so.frames == nframes;
    printf("goal: tunnel with 1 worker at least 0.9 of the plain loop: %s\n",
           ok1 ? "met" : "NOT met");
    printf("goal: 2 workers at least 1.5x of 1 worker (2 cores): %s\n", ok2 ? "met" : "NOT met");
    printf("goal: overload: frames dropped and counted, every frame accounted for: %s\n",
           oko ? "met" : "NOT met");
    for (size_t i = 0; i < nframes; i++)
        scan_image_release(&frames[i]);
    return 0;
}

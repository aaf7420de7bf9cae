/*
 * cameras.c - the scan tunnel's threads (cameras.h): a thread per camera
 * takes frames (cam_v4l2.c, or the directory and stream readers here) and
 * puts them on one bounded queue; decoder threads empty it; the loop thread
 * gets the results through a uv_async.
 *
 * DESIGN. One mutex guards the queue, the done list and the sources'
 * counters; a frame moves source -> queue -> decoder -> done -> loop and
 * is owned by exactly one of them at a time. The queue drops its oldest
 * frame when full: a late frame of the parcel in front is worth less than
 * the frame just taken of the parcel that is still to be decided.
 */
#include "scanners/cameras.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "scanners/cam_source.h"

#define KEEP_MAX 64       /* unread frames kept per camera, at most */
#define DIR_BATCH 64      /* files taken per look at a directory */
#define DIR_LIST_MAX 4096 /* names sorted per look (a backlog: the oldest of these) */
#define RETRY_MS 1000     /* a source that is not there is tried again after this */

struct job {
    struct job *next;
    size_t cam;
    int64_t at_us;
    struct scan_image img;
    struct scan_result res;
    struct scan_noread why;
    double ms;
};

struct cam {
    struct scan_cameras *all;
    struct scan_camera_cfg cfg;
    pthread_t thread;
    bool started;
    struct scan_cam_stats st; /* frames, bad, dropped, open: under all->mu; the rest: loop */
    double ms_sum;
    struct scan_cam_frame *kept[KEEP_MAX]; /* unread frames, oldest first (loop) */
    size_t nkept;
};

struct scan_cameras {
    uv_loop_t *loop;
    uv_async_t async;
    scan_cam_read_cb cb;
    void *arg;
    struct scan_pipeline_config pipeline;
    unsigned keep, poll_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    struct job **queue; /* ring of cap */
    size_t cap, head, n;
    struct job *done, *done_tail; /* decoded, for the loop */
    size_t ndone;

    pthread_t *workers;
    unsigned nworkers, nstarted;
    struct cam cams[SCAN_CAMERA_MAX];
    size_t ncams;
};

int64_t cam_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void job_free(struct job *j)
{
    if (j == NULL)
        return;
    scan_image_release(&j->img);
    free(j);
}

/* --- the sources' side (cam_source.h) --------------------------------------- */

bool cam_stopping(struct cam *c)
{
    bool s;

    pthread_mutex_lock(&c->all->mu);
    s = c->all->stopping;
    pthread_mutex_unlock(&c->all->mu);
    return s;
}

void cam_sleep_ms(struct cam *c, unsigned ms)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->all->mu);
    while (!c->all->stopping && pthread_cond_timedwait(&c->all->cv, &c->all->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&c->all->mu);
}

const struct scan_camera_cfg *cam_cfg(const struct cam *c)
{
    return &c->cfg;
}

void cam_set_open(struct cam *c, bool open)
{
    pthread_mutex_lock(&c->all->mu);
    c->st.open = open;
    pthread_mutex_unlock(&c->all->mu);
}

void cam_count_bad(struct cam *c)
{
    pthread_mutex_lock(&c->all->mu);
    c->st.bad++;
    pthread_mutex_unlock(&c->all->mu);
}

int cam_put(struct cam *c, struct scan_image *img, int64_t at_us)
{
    struct scan_cameras *all = c->all;
    struct job *j = calloc(1, sizeof(*j)), *old = NULL;

    if (j == NULL)
        return -ENOMEM;
    j->cam = (size_t)(c - all->cams);
    j->at_us = at_us;
    j->img = *img; /* the frame moves into the job */
    memset(img, 0, sizeof(*img));
    pthread_mutex_lock(&all->mu);
    c->st.frames++;
    if (all->n == all->cap) {
        old = all->queue[all->head];
        all->head = (all->head + 1) % all->cap;
        all->n--;
        all->cams[old->cam].st.dropped++;
    }
    all->queue[(all->head + all->n) % all->cap] = j;
    all->n++;
    pthread_cond_broadcast(&all->cv);
    pthread_mutex_unlock(&all->mu);
    job_free(old);
    return 0;
}

/* --- a directory ------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name the directory source takes: not hidden (a file being written is
 * named so, then renamed), not a temporary or a refused one. */
static bool frame_name(const char *n)
{
    size_t len = strlen(n);

    return n[0] != '.' &&
           !(len > 4 && (strcmp(n + len - 4, ".tmp") == 0 || strcmp(n + len - 4, ".bad") == 0));
}

/* Takes one image file: a frame with its modification time as trigger
 * time (the camera wrote it then), or refused (renamed NAME.bad, so it is
 * looked at once and kept for whoever set the camera up). Returns 1 taken
 * or refused, 0 not a file (left), -errno when the file cannot be removed
 * (the directory is not wcsd's to write: nothing is taken from it then,
 * or every look would take the same file again). */
static int dir_take(struct cam *c, const char *dir, const char *name)
{
    char path[SCAN_PATH_MAX + 300], bad[sizeof(path) + 4];
    struct scan_image img = {0};
    struct stat sb;
    struct err e;
    int64_t at, now = cam_now_us();
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
        return 0;
    at = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
    rc = scan_image_load(path, &img, &e);
    if (rc < 0) {
        snprintf(bad, sizeof(bad), "%s.bad", path);
        if (rename(path, bad) < 0 && unlink(path) < 0) {
            scan_image_release(&img);
            return -errno;
        }
        log_warnx("camera %s: %s: not an image, kept as %s.bad: %s", c->cfg.id, path, name, e.msg);
        cam_count_bad(c);
        scan_image_release(&img);
        return 1;
    }
    if (unlink(path) < 0) {
        scan_image_release(&img);
        return -errno;
    }
    cam_put(c, &img, at < now ? at : now);
    scan_image_release(&img);
    return 1;
}

/* Up to max frame names of dir, the oldest (smallest) first, into names
 * (malloc'd; the caller frees them): -1 when dir cannot be read. */
static int dir_list(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0, seen = 0, i;
    char **all;

    if (d == NULL)
        return -1;
    all = malloc(DIR_LIST_MAX * sizeof(*all));
    while (all != NULL && seen < DIR_LIST_MAX && (de = readdir(d)) != NULL)
        if (frame_name(de->d_name) && (all[seen] = strdup(de->d_name)) != NULL)
            seen++;
    closedir(d);
    if (all == NULL)
        return 0;
    /* Cameras name their files by time or count: the oldest first, of a
     * backlog too (up to DIR_LIST_MAX names a look). */
    qsort(all, seen, sizeof(all[0]), name_cmp);
    for (i = 0; i < seen; i++) {
        if (n < max)
            names[n++] = all[i];
        else
            free(all[i]);
    }
    free(all);
    return (int)n;
}

static void dir_run(struct cam *c)
{
    const char *dir = c->cfg.path;
    bool warned = false;

    while (!cam_stopping(c)) {
        char *names[DIR_BATCH];
        int n = dir_list(dir, names, DIR_BATCH), i, taken = 0, rc = 0;

        if (n < 0)
            rc = -errno;
        for (i = 0; i < n; i++) {
            if (rc == 0 && !cam_stopping(c)) {
                int r = dir_take(c, dir, names[i]);
                if (r < 0)
                    rc = r;
                else
                    taken += r;
            }
            free(names[i]);
        }
        if (rc < 0) {
            if (!warned)
                log_warnx("camera %s: directory %s: %s%s; trying again every %d ms", c->cfg.id, dir,
                          strerror(-rc),
                          n >= 0 ? " (taken files must be removed: wcsd's user needs write"
                                   " access)"
                                 : "",
                          RETRY_MS);
            warned = true;
            cam_set_open(c, false);
            cam_sleep_ms(c, RETRY_MS);
            continue;
        }
        warned = false;
        cam_set_open(c, true);
        if (taken < DIR_BATCH)
            cam_sleep_ms(c, c->all->poll_ms);
    }
}

static void *source_main(void *arg)
{
    struct cam *c = arg;

    switch (c->cfg.kind) {
    case SCAN_CAM_DIR:
        dir_run(c);
        break;
    case SCAN_CAM_STREAM:
        cam_stream_run(c);
        break;
    case SCAN_CAM_V4L2:
        cam_v4l2_run(c);
        break;
    }
    cam_set_open(c, false);
    return NULL;
}

/* --- the decoders ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
    struct scan_cameras *all = arg;
    struct scan_pipeline *p = NULL;
    struct err e;

    if (scan_pipeline_new(&all->pipeline, &p, &e) < 0) {
        log_warnx("cameras: a decoder could not start: %s", e.msg);
        return NULL;
    }
    for (;;) {
        struct job *j, *old = NULL;
        struct scan_frame f;

        pthread_mutex_lock(&all->mu);
        while (all->n == 0 && !all->stopping)
            pthread_cond_wait(&all->cv, &all->mu);
        if (all->stopping) {
            pthread_mutex_unlock(&all->mu);
            break;
        }
        j = all->queue[all->head];
        all->head = (all->head + 1) % all->cap;
        all->n--;
        pthread_mutex_unlock(&all->mu);

        f = scan_image_frame(&j->img);
        if (scan_pipeline_decode(p, &f, &j->res, &e) < 0)
            log_warnx("camera %s: frame not decoded: %s", all->cams[j->cam].cfg.id, e.msg);
        if (j->res.n != 1)
            scan_noread_classify(&f, &j->res, &j->why);
        j->ms = j->res.ms;

        pthread_mutex_lock(&all->mu);
        /* Results wait for the loop in a bounded list too: a loop not
         * running yet (wcsd starting) or busy must not fill the memory. */
        if (all->ndone == all->cap) {
            old = all->done;
            all->done = old->next;
            if (all->done == NULL)
                all->done_tail = NULL;
            all->ndone--;
            all->cams[old->cam].st.dropped++;
        }
        if (all->done_tail != NULL)
            all->done_tail->next = j;
        else
            all->done = j;
        all->done_tail = j;
        all->ndone++;
        pthread_mutex_unlock(&all->mu);
        job_free(old);
        uv_async_send(&all->async);
    }
    scan_pipeline_free(p);
    return NULL;
}

/* --- the loop's side ------------------------------------------------------- */

static void keep_frame(struct cam *c, struct job *j)
{
    struct scan_cam_frame *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return;
    f->img = j->img; /* the image moves into the kept frame */
    memset(&j->img, 0, sizeof(j->img));
    f->at_us = j->at_us;
    f->why = j->why;
    snprintf(f->camera, sizeof(f->camera), "%s", c->cfg.id);
    if (c->nkept == c->all->keep) {
        scan_cam_frames_free(&c->kept[0], 1);
        memmove(&c->kept[0], &c->kept[1], (c->nkept - 1) * sizeof(c->kept[0]));
        c->nkept--;
    }
    c->kept[c->nkept++] = f;
}

static void async_cb(uv_async_t *h)
{
    struct scan_cameras *all = h->data;
    struct job *j, *next;

    pthread_mutex_lock(&all->mu);
    j = all->done;
    all->done = all->done_tail = NULL;
    all->ndone = 0;
    pthread_mutex_unlock(&all->mu);
    for (; j != NULL; j = next) {
        struct cam *c = &all->cams[j->cam];
        struct scan_cam_read r = {.camera = c->cfg.id,
                                  .location = c->cfg.location,
                                  .at_us = j->at_us,
                                  .result = &j->res,
                                  .why = j->res.n == 1 ? NULL : &j->why};

        next = j->next;
        c->ms_sum += j->ms;
        if (j->res.n == 1)
            c->st.read++;
        else if (j->res.n == 0)
            c->st.noread++;
        else
            c->st.several++;
        all->cb(all->arg, &r);
        if (j->res.n == 0)
            keep_frame(c, j);
        job_free(j);
    }
}

static void stop_threads(struct scan_cameras *all)
{
    size_t i;

    pthread_mutex_lock(&all->mu);
    all->stopping = true;
    pthread_cond_broadcast(&all->cv);
    pthread_mutex_unlock(&all->mu);
    for (i = 0; i < all->ncams; i++)
        if (all->cams[i].started)
            pthread_join(all->cams[i].thread, NULL);
    for (i = 0; i < all->nstarted; i++)
        pthread_join(all->workers[i], NULL);
}

static void cameras_free(struct scan_cameras *all)
{
    struct job *j, *next;
    size_t i;

    for (i = 0; i < all->n; i++)
        job_free(all->queue[(all->head + i) % all->cap]);
    for (j = all->done; j != NULL; j = next) {
        next = j->next;
        job_free(j);
    }
    for (i = 0; i < all->ncams; i++)
        scan_cam_frames_free(all->cams[i].kept, all->cams[i].nkept);
    pthread_mutex_destroy(&all->mu);
    pthread_cond_destroy(&all->cv);
    free(all->queue);
    free(all->workers);
    free(all);
}

static void closed_cb(uv_handle_t *h)
{
    cameras_free(h->data);
}

int scan_cameras_start(uv_loop_t *loop, const struct scan_cameras_cfg *cfg, scan_cam_read_cb cb,
                       void *arg, struct scan_cameras **out, struct err *e)
{
    struct scan_cameras *all;
    struct scan_pipeline *probe;
    pthread_condattr_t ca;
    size_t i;
    int rc;

    *out = NULL;
    if (cfg->n > SCAN_CAMERA_MAX)
        return err_set(e, ERR_CONFIG, "cameras: more than %d", SCAN_CAMERA_MAX);
    /* A pipeline setting the decoders would refuse is refused here, once. */
    rc = scan_pipeline_new(&cfg->pipeline, &probe, e);
    if (rc < 0)
        return rc;
    scan_pipeline_free(probe);
    all = calloc(1, sizeof(*all));
    if (all == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    all->loop = loop;
    all->cb = cb;
    all->arg = arg;
    all->pipeline = cfg->pipeline;
    all->nworkers = cfg->workers ? cfg->workers : 1;
    all->cap = cfg->queue ? cfg->queue : 2 * all->nworkers;
    all->keep = cfg->keep ? (cfg->keep < KEEP_MAX ? cfg->keep : KEEP_MAX) : 8;
    all->poll_ms = cfg->poll_ms ? cfg->poll_ms : 20;
    all->queue = calloc(all->cap, sizeof(*all->queue));
    all->workers = calloc(all->nworkers, sizeof(*all->workers));
    if (all->queue == NULL || all->workers == NULL) {
        free(all->queue);
        free(all->workers);
        free(all);
        return err_set(e, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&all->mu, NULL);
    pthread_condattr_init(&ca);
    /* cam_sleep_ms's deadlines: a stepped wall clock must not stall a camera. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&all->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = uv_async_init(loop, &all->async, async_cb);
    if (rc < 0) {
        cameras_free(all);
        return err_set(e, rc, "cameras: %s", uv_strerror(rc));
    }
    all->async.data = all;
    for (i = 0; i < cfg->n; i++) {
        all->cams[i].all = all;
        all->cams[i].cfg = cfg->cams[i];
    }
    all->ncams = cfg->n;
    for (i = 0; i < all->nworkers && rc == 0; i++) {
        rc = -pthread_create(&all->workers[i], NULL, worker_main, all);
        if (rc == 0)
            all->nstarted++;
    }
    for (i = 0; i < all->ncams && rc == 0; i++) {
        rc = -pthread_create(&all->cams[i].thread, NULL, source_main, &all->cams[i]);
        all->cams[i].started = rc == 0;
    }
    if (rc < 0) {
        stop_threads(all);
        uv_close((uv_handle_t *)&all->async, closed_cb);
        return err_set(e, rc, "cameras: threads: %s", strerror(-rc));
    }
    *out = all;
    return 0;
}

void scan_cameras_stop(struct scan_cameras *all)
{
    if (all == NULL)
        return;
    stop_threads(all);
    uv_close((uv_handle_t *)&all->async, closed_cb);
}

size_t scan_cameras_take(struct scan_cameras *all, const char *location, int64_t from_us,
                         int64_t to_us, struct scan_cam_frame **out, size_t max)
{
    size_t n = 0, ncams = 0, share, i, k, w;

    for (i = 0; i < all->ncams; i++)
        ncams += strcmp(all->cams[i].cfg.location, location) == 0;
    /* Every camera gets its share (the label may be on any side); a share
     * left unused by one goes to the next. */
    share = ncams > 0 ? (max + ncams - 1) / ncams : 0;
    for (i = 0; i < all->ncams; i++) {
        struct cam *c = &all->cams[i];
        size_t taken = 0, want = share < max - n ? share : max - n;

        if (strcmp(c->cfg.location, location) != 0)
            continue;
        ncams--;
        /* The newest frames of the window first (the parcel nearest the
         * decision point), every frame of the window leaves the ring: the
         * window is this parcel's, never the next one's. */
        for (k = c->nkept; k-- > 0;) {
            struct scan_cam_frame *f = c->kept[k];

            if (f->at_us < from_us || f->at_us > to_us)
                continue;
            if (taken < want) {
                out[n++] = f;
                taken++;
            } else {
                scan_cam_frames_free(&c->kept[k], 1);
            }
            c->kept[k] = NULL;
        }
        for (k = 0, w = 0; k < c->nkept; k++)
            if (c->kept[k] != NULL)
                c->kept[w++] = c->kept[k];
        c->nkept = w;
        if (ncams > 0 && taken < want)
            share += (want - taken + ncams - 1) / ncams;
    }
    /* Oldest first across the cameras. */
    for (i = 1; i < n; i++)
        for (k = i; k > 0 && out[k - 1]->at_us > out[k]->at_us; k--) {
            struct scan_cam_frame *t = out[k];
            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    return n;
}

void scan_cam_frames_free(struct scan_cam_frame **f, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (f[i] == NULL)
            continue;
        scan_image_release(&f[i]->img);
        free(f[i]);
        f[i] = NULL;
    }
}

size_t scan_cameras_count(const struct scan_cameras *all)
{
    return all != NULL ? all->ncams : 0;
}

const struct scan_camera_cfg *scan_cameras_cfg(const struct scan_cameras *all, size_t i)
{
    return &all->cams[i].cfg;
}

void scan_cameras_stats(struct scan_cameras *all, size_t i, struct scan_cam_stats *out)
{
    struct cam *c = &all->cams[i];
    uint64_t decoded;

    pthread_mutex_lock(&all->mu);
    *out = c->st;
    pthread_mutex_unlock(&all->mu);
    decoded = c->st.read + c->st.noread + c->st.several;
    out->decode_ms = decoded ? c->ms_sum / (double)decoded : 0.0;
}

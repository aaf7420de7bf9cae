/*
 * video_coding.c - no-read parcels recorded and their keyed codes brought
 * back (video_coding.h).
 *
 * DESIGN. The loop hands jobs (a no-read with its frames, a resolution) to
 * the thread through a mutex-guarded list; the thread writes the frames to
 * the archive first (the images are what an operator needs, the disk is
 * local), then the rows, in order; a row the database did not take stays
 * at the head of the list. Keys flow the other way: the thread fetches the
 * rows keyed after the last keyed_seq it saw and hands them to the loop
 * through a uv_async; the loop keeps them in a small table by tracking
 * number, for an hour (a parcel comes round in minutes; tracking numbers
 * come back on other parcels later).
 */
#include "wcs/daemon/video_coding.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "scanners/archive.h"
#include "wcs/store/noreads.h"
#include "wcs/store/store.h"

#define WAITING_MAX 10000 /* jobs kept through a database outage */
#define KEYED_MAX 4096    /* keys remembered */
#define KEYED_TTL_US (3600ll * 1000000)
#define FETCH_EVERY_MS 3000 /* keys fetched at least this often */
#define WAKE_MS 200

enum job_kind { JOB_NOREAD, JOB_RESOLVED };

struct job {
    struct job *next;
    enum job_kind kind;
    struct wcs_noread row;
    struct scan_cam_frame *frames[WCS_NOREAD_IMAGES_MAX];
    size_t nframes;
};

struct keyed {
    char tracking[21];
    char code[33]; /* "" = marked unreadable */
    int64_t at_us; /* when it was keyed */
    bool used;     /* a decision was made on it (counted once) */
};

struct wcs_video_coding {
    uv_async_t async;
    char node[16];
    char *conninfo;
    struct scan_cameras *cameras;
    struct scan_archive *archive;
    bool have_cameras;

    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    struct job *jobs, *jobs_tail; /* loop -> thread */
    size_t njobs;
    struct keyed in[256]; /* thread -> loop */
    size_t nin;
    struct wcs_video_coding_stats st; /* under mu */

    struct keyed keyed[KEYED_MAX]; /* loop only: a ring, newest last */
    size_t nkeyed, keyed_head;
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void job_free(struct job *j)
{
    scan_cam_frames_free(j->frames, j->nframes);
    free(j);
}

/* --- the thread ----------------------------------------------------------- */

/* The cause that tells an operator most, of all the parcel's frames. */
static const char *parcel_cause(struct job *j)
{
    static const enum scan_noread_cause rank[] = {SCAN_NOREAD_CHECK_DIGIT,  SCAN_NOREAD_SEVERAL,
                                                  SCAN_NOREAD_LOW_CONTRAST, SCAN_NOREAD_TOO_SMALL,
                                                  SCAN_NOREAD_NOT_DECODED,  SCAN_NOREAD_NO_REGION};
    size_t r, i;

    for (r = 0; r < sizeof(rank) / sizeof(rank[0]); r++)
        for (i = 0; i < j->nframes; i++)
            if (j->frames[i]->why.cause == rank[r])
                return scan_noread_cause_name(rank[r]);
    return NULL;
}

/* Writes the job's frames to the archive (names into its row), then frees them. */
static void archive_frames(struct wcs_video_coding *v, struct job *j)
{
    const char *cause = parcel_cause(j);
    size_t i;

    snprintf(j->row.cause, sizeof(j->row.cause), "%s",
             cause != NULL     ? cause
             : v->have_cameras ? "no_frame"
                               : "no_camera");
    for (i = 0; i < j->nframes && v->archive != NULL; i++) {
        struct scan_cam_frame *f = j->frames[i];
        struct scan_frame view = scan_image_frame(&f->img);
        struct scan_archive_meta m = {.at_us = f->at_us,
                                      .location = j->row.location,
                                      .source = f->camera,
                                      .tracking = j->row.tracking,
                                      .why = &f->why};
        char name[SCAN_ARCHIVE_NAME_MAX];
        struct err e;

        if (scan_archive_put(v->archive, &view, &m, name, &e) < 0) {
            log_warnx("no-read %s: image of %s not kept: %s", j->row.tracking, f->camera, e.msg);
            continue;
        }
        snprintf(j->row.images[j->row.nimages], sizeof(j->row.images[0]), "%s", name);
        snprintf(j->row.cameras[j->row.nimages], sizeof(j->row.cameras[0]), "%s", f->camera);
        j->row.nimages++;
    }
    pthread_mutex_lock(&v->mu);
    v->st.images += j->row.nimages;
    pthread_mutex_unlock(&v->mu);
    scan_cam_frames_free(j->frames, j->nframes);
    j->nframes = 0;
}

static int job_write(struct wcs_video_coding *v, PGconn *c, struct job *j, struct err *e)
{
    int64_t id;
    int rc;

    if (j->kind == JOB_RESOLVED)
        return wcs_db_noread_resolved(c, v->node, j->row.tracking, j->row.resolved_to, e);
    rc = wcs_db_noread_add(c, &j->row, &id, e);
    if (rc == 0 && id > 0) {
        pthread_mutex_lock(&v->mu);
        v->st.noreads++;
        pthread_mutex_unlock(&v->mu);
        log_info("no-read %lld: tracking %s at %s, %zu image(s), %s", (long long)id,
                 j->row.tracking, j->row.location, j->row.nimages, j->row.cause);
    }
    return rc;
}

struct fetch {
    struct wcs_video_coding *v;
    int64_t seq;
    bool any;
};

static int key_cb(void *arg, const struct wcs_noread *n)
{
    struct fetch *f = arg;
    struct wcs_video_coding *v = f->v;
    bool full;

    pthread_mutex_lock(&v->mu);
    full = v->nin == sizeof(v->in) / sizeof(v->in[0]);
    if (!full) {
        struct keyed *k = &v->in[v->nin++];

        snprintf(k->tracking, sizeof(k->tracking), "%s", n->tracking);
        snprintf(k->code, sizeof(k->code), "%s", strcmp(n->state, "keyed") == 0 ? n->code : "");
        k->at_us = n->keyed_at_us;
        k->used = false;
        f->seq = n->keyed_seq; /* taken: the next fetch starts after it */
        f->any = true;
    }
    pthread_mutex_unlock(&v->mu);
    /* Full: the loop has not taken the last ones yet; this and the rest
     * are fetched again next time. */
    return full;
}

static bool notified(PGconn *c)
{
    PGnotify *n;
    bool any = false;

    PQconsumeInput(c);
    while ((n = PQnotifies(c)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

static PGconn *connect_db(struct wcs_video_coding *v, struct err *e)
{
    PGconn *c = NULL;

    if (wcs_db_connect(v->conninfo, &c, e) < 0)
        return NULL;
    PQclear(PQexec(c, "LISTEN wcs_noreads"));
    return c;
}

/* The deadline ms from now on the condition's clock (CLOCK_MONOTONIC: a
 * stepped wall clock neither stalls nor hurries the thread). */
static struct timespec deadline(unsigned ms)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Waits up to ms for a job (any_job) or only for the stop; true when stopping. */
static bool wait_ms(struct wcs_video_coding *v, unsigned ms, bool any_job)
{
    struct timespec until = deadline(ms);
    bool stopping;

    pthread_mutex_lock(&v->mu);
    while (!v->stopping && !(any_job && v->jobs != NULL) &&
           pthread_cond_timedwait(&v->cv, &v->mu, &until) == 0)
        ;
    stopping = v->stopping;
    pthread_mutex_unlock(&v->mu);
    return stopping;
}

/* Writes the jobs whose images are kept, in order; a failed one stays
 * first. 0 or the failure (e set). */
static int write_jobs(struct wcs_video_coding *v, PGconn *c, struct err *e)
{
    for (;;) {
        struct job *j;
        int rc;

        pthread_mutex_lock(&v->mu);
        j = v->jobs;
        pthread_mutex_unlock(&v->mu);
        if (j == NULL || j->nframes > 0)
            return 0;
        rc = job_write(v, c, j, e);
        if (rc < 0)
            return rc;
        pthread_mutex_lock(&v->mu);
        v->jobs = j->next;
        if (v->jobs == NULL)
            v->jobs_tail = NULL;
        v->njobs--;
        pthread_mutex_unlock(&v->mu);
        job_free(j);
    }
}

/* Expires the line's pending rows an hour old, then fetches the keys
 * after the last one seen. 0 or ERR_DB. */
static int none_cb(void *arg, const struct wcs_noread *n)
{
    (void)arg;
    (void)n;
    return 1;
}

static int fetch_keys(struct wcs_video_coding *v, PGconn *c, struct fetch *f, struct err *e)
{
    size_t pending = 0;
    int rc = wcs_db_noreads_expire(c, v->node, NULL, e);

    f->any = false;
    if (rc == 0)
        rc = wcs_db_noread_keys_since(c, v->node, f->seq, 256, key_cb, f, e);
    /* How many wait for an operator: the console's badge. */
    if (rc == 0)
        rc = wcs_db_noreads_list(c, "pending", v->node, 1, none_cb, NULL, &pending, e);
    if (rc == 0) {
        pthread_mutex_lock(&v->mu);
        v->st.pending = pending;
        pthread_mutex_unlock(&v->mu);
    }
    if (rc == 0 && f->any)
        uv_async_send(&v->async);
    return rc;
}

static void *thread_main(void *arg)
{
    struct wcs_video_coding *v = arg;
    struct fetch f = {.v = v, .seq = 0};
    PGconn *c = NULL;
    int64_t last_fetch = 0;
    unsigned backoff_ms = 0; /* after a failure: waits growing to 8 s */

    while (!wait_ms(v, WAKE_MS, true)) {
        struct job *j;
        size_t n, i;
        struct err e;
        int rc = 0;

        pthread_mutex_lock(&v->mu);
        j = v->jobs;
        n = v->njobs;
        pthread_mutex_unlock(&v->mu);
        /* The images first: they need no database. The loop only appends,
         * so the first n jobs and their links are the thread's to read. */
        for (i = 0; i < n; i++, j = i < n ? j->next : NULL)
            if (j->nframes > 0)
                archive_frames(v, j);
        if (c == NULL || PQstatus(c) != CONNECTION_OK) {
            PQfinish(c);
            c = connect_db(v, &e);
            rc = c != NULL ? 0 : ERR_DB;
            last_fetch = 0;
        }
        if (rc == 0)
            rc = write_jobs(v, c, &e);
        if (rc == 0 && (notified(c) || now_us() - last_fetch > FETCH_EVERY_MS * 1000ll)) {
            rc = fetch_keys(v, c, &f, &e);
            last_fetch = now_us();
        }
        if (rc == 0) {
            if (backoff_ms > 0)
                log_info("video coding: the database takes no-reads again");
            backoff_ms = 0;
            continue;
        }
        /* A refusal or an outage: once in the log, then waits growing to
         * 8 s between tries (no reconnect storm, no log flood). */
        if (backoff_ms == 0)
            log_warnx("video coding: %s; no-reads wait, trying again", e.msg);
        backoff_ms = backoff_ms == 0 ? 500 : backoff_ms < 8000 ? backoff_ms * 2 : 8000;
        PQfinish(c);
        c = NULL;
        if (wait_ms(v, backoff_ms, false))
            break;
    }
    PQfinish(c);
    return NULL;
}

/* --- the loop's side -------------------------------------------------------- */

static void remember(struct wcs_video_coding *v, const struct keyed *k)
{
    size_t i;

    for (i = 0; i < v->nkeyed; i++) {
        struct keyed *old = &v->keyed[(v->keyed_head + i) % KEYED_MAX];

        if (strcmp(old->tracking, k->tracking) == 0) {
            *old = *k;
            return;
        }
    }
    if (v->nkeyed == KEYED_MAX) {
        v->keyed_head = (v->keyed_head + 1) % KEYED_MAX;
        v->nkeyed--;
    }
    v->keyed[(v->keyed_head + v->nkeyed++) % KEYED_MAX] = *k;
}

static void async_cb(uv_async_t *h)
{
    struct wcs_video_coding *v = h->data;
    struct keyed in[sizeof(v->in) / sizeof(v->in[0])];
    size_t n, i;

    pthread_mutex_lock(&v->mu);
    n = v->nin;
    memcpy(in, v->in, n * sizeof(in[0]));
    v->nin = 0;
    pthread_mutex_unlock(&v->mu);
    for (i = 0; i < n; i++) {
        remember(v, &in[i]);
        log_info("no-read tracking %s: %s", in[i].tracking,
                 in[i].code[0] ? in[i].code : "marked unreadable");
    }
}

/* Hands j to the thread; past WAITING_MAX (a long database outage) the new
 * job is dropped and counted: the thread may be working on the old ones. */
static void push(struct wcs_video_coding *v, struct job *j)
{
    bool full;

    pthread_mutex_lock(&v->mu);
    full = v->njobs >= WAITING_MAX;
    if (full) {
        v->st.dropped++;
    } else {
        if (v->jobs != NULL)
            v->jobs_tail->next = j;
        else
            v->jobs = j;
        v->jobs_tail = j;
        v->njobs++;
        pthread_cond_signal(&v->cv);
    }
    pthread_mutex_unlock(&v->mu);
    if (full) {
        log_warnx("video coding: %d no-reads wait for the database: tracking %s not recorded",
                  WAITING_MAX, j->row.tracking);
        job_free(j);
    }
}

void wcs_video_coding_noread(struct wcs_video_coding *v, const char *tracking, const char *location,
                             int64_t from_us, int64_t to_us, int64_t at_us, bool record)
{
    struct job *j;

    if (!record) {
        if (v->cameras != NULL)
            scan_cameras_take(v->cameras, location, from_us, to_us, NULL, 0);
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->kind = JOB_NOREAD;
    snprintf(j->row.node, sizeof(j->row.node), "%s", v->node);
    snprintf(j->row.tracking, sizeof(j->row.tracking), "%s", tracking);
    snprintf(j->row.location, sizeof(j->row.location), "%s", location);
    j->row.at_us = at_us;
    if (v->cameras != NULL)
        j->nframes = scan_cameras_take(v->cameras, location, from_us, to_us, j->frames,
                                       WCS_NOREAD_IMAGES_MAX);
    /* A job without frames is archived already (nothing to write). */
    if (j->nframes == 0)
        snprintf(j->row.cause, sizeof(j->row.cause), "%s",
                 v->have_cameras ? "no_frame" : "no_camera");
    push(v, j);
}

/* tracking's key of the last hour, NULL when none. */
static struct keyed *find_keyed(struct wcs_video_coding *v, const char *tracking)
{
    int64_t oldest = now_us() - KEYED_TTL_US;
    size_t i;

    for (i = v->nkeyed; i-- > 0;) {
        struct keyed *k = &v->keyed[(v->keyed_head + i) % KEYED_MAX];

        if (strcmp(k->tracking, tracking) == 0)
            return k->at_us >= oldest ? k : NULL;
    }
    return NULL;
}

const char *wcs_video_coding_keyed(struct wcs_video_coding *v, const char *tracking)
{
    const struct keyed *k = find_keyed(v, tracking);

    return k != NULL ? k->code : NULL;
}

void wcs_video_coding_resolved(struct wcs_video_coding *v, const char *tracking,
                               const char *destination)
{
    struct keyed *k = find_keyed(v, tracking);
    struct job *j;

    /* Once per parcel: it may come round again (its chute full). */
    if (k == NULL || k->used)
        return;
    k->used = true;
    pthread_mutex_lock(&v->mu);
    v->st.keyed_used++;
    pthread_mutex_unlock(&v->mu);
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->kind = JOB_RESOLVED;
    snprintf(j->row.tracking, sizeof(j->row.tracking), "%s", tracking);
    snprintf(j->row.resolved_to, sizeof(j->row.resolved_to), "%s", destination);
    push(v, j);
}

void wcs_video_coding_stats(struct wcs_video_coding *v, struct wcs_video_coding_stats *out)
{
    pthread_mutex_lock(&v->mu);
    *out = v->st;
    out->waiting = v->njobs;
    pthread_mutex_unlock(&v->mu);
    out->keys = v->nkeyed;
}

static void vc_free(struct wcs_video_coding *v)
{
    struct job *j, *next;
    size_t n = 0;

    for (j = v->jobs; j != NULL; j = next) {
        next = j->next;
        n += j->kind == JOB_NOREAD;
        job_free(j);
    }
    if (n > 0)
        log_warnx("video coding: %zu no-read(s) not recorded at stop (the database was away)", n);
    scan_archive_close(v->archive);
    if (v->conninfo != NULL)
        explicit_bzero(v->conninfo, strlen(v->conninfo));
    free(v->conninfo);
    pthread_mutex_destroy(&v->mu);
    pthread_cond_destroy(&v->cv);
    free(v);
}

static void closed_cb(uv_handle_t *h)
{
    vc_free(h->data);
}

int wcs_video_coding_start(uv_loop_t *loop, const struct wcs_config *cfg, const char *conninfo,
                           struct scan_cameras *cameras, struct wcs_video_coding **out,
                           struct err *e)
{
    struct wcs_video_coding *v = calloc(1, sizeof(*v));
    int rc;

    *out = NULL;
    if (v == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    pthread_mutex_init(&v->mu, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&v->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    snprintf(v->node, sizeof(v->node), "%s", cfg->node);
    v->cameras = cameras;
    v->have_cameras = cfg->cameras.nsources > 0;
    v->conninfo = strdup(conninfo);
    if (v->conninfo == NULL) {
        vc_free(v);
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (cfg->cameras.noread_dir[0] != '\0') {
        struct scan_archive_config ac = {.dir = cfg->cameras.noread_dir,
                                         .max_bytes =
                                             (uint64_t)cfg->cameras.noread_max_mb * 1024 * 1024,
                                         .max_entries = (unsigned)cfg->cameras.noread_max};

        rc = scan_archive_open(&ac, &v->archive, e);
        if (rc < 0) {
            vc_free(v);
            return err_wrap(e, rc, "cameras.noread_dir");
        }
    }
    rc = uv_async_init(loop, &v->async, async_cb);
    if (rc < 0) {
        vc_free(v);
        return err_set(e, rc, "video coding: %s", uv_strerror(rc));
    }
    v->async.data = v;
    rc = -pthread_create(&v->thread, NULL, thread_main, v);
    if (rc < 0) {
        uv_close((uv_handle_t *)&v->async, closed_cb);
        return err_set(e, rc, "video coding: thread: %s", strerror(-rc));
    }
    v->started = true;
    *out = v;
    return 0;
}

void wcs_video_coding_stop(struct wcs_video_coding *v)
{
    if (v == NULL)
        return;
    pthread_mutex_lock(&v->mu);
    v->stopping = true;
    pthread_cond_broadcast(&v->cv);
    pthread_mutex_unlock(&v->mu);
    if (v->started)
        pthread_join(v->thread, NULL);
    uv_close((uv_handle_t *)&v->async, closed_cb);
}

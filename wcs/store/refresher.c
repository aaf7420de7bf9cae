/*
 * refresher.c - the LISTEN/NOTIFY thread that feeds parcel and sort-plan
 * changes to wcsd's loop (see refresher.h for the design).
 */
#include "wcs/store/events.h"
#include "wcs/store/refresher.h"
#include "wcs/store/tracking.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "wcs/store/declarations.h"
#include "wcs/store/store.h"

struct wcs_refresher {
    pthread_t thread;
    char *conninfo;
    int64_t rev;
    int plan_version;
    unsigned resync_s;
    void (*notify_cb)(void *arg);
    void *notify_arg;
    int wake_fd;                  /* eventfd: stop request */
    atomic_int stopping;
    atomic_int connected;
    atomic_llong customs_alarms;  /* open alarms of the customs worker; -1 unknown */
    atomic_llong manifests_refused; /* manifests the broker refused in the last day; -1 unknown */
    time_t alarms_counted;        /* when they were last counted (monotonic s), thread only */
    time_t resynced;              /* last catch-up without notifications (monotonic s) */
    time_t published;             /* tracking events last published (monotonic s) */
    time_t partitioned;           /* the logs' partitions last looked after (monotonic s) */
    int retention_days;
    pthread_mutex_t mu;           /* guards head/tail */
    struct wcs_refresh_batch *head, *tail;
    struct wcs_refresh_batch *filling; /* batch being built by the thread */
};

void wcs_refresh_batch_free(struct wcs_refresh_batch *b)
{
    if (b == NULL)
        return;
    free(b->parcels);
    free(b->ncodes);
    free(b->codes);
    wcs_plan_free(b->plan);
    free(b);
}

static struct wcs_refresh_batch *batch_new(size_t cap)
{
    struct wcs_refresh_batch *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    if (cap > 0) {
        b->parcels = calloc(cap, sizeof(*b->parcels));
        b->ncodes = calloc(cap, sizeof(*b->ncodes));
        b->codes = calloc(cap, sizeof(*b->codes));
        if (!b->parcels || !b->ncodes || !b->codes) {
            wcs_refresh_batch_free(b);
            return NULL;
        }
    }
    return b;
}

static void queue_batch(struct wcs_refresher *r, struct wcs_refresh_batch *b)
{
    pthread_mutex_lock(&r->mu);
    if (r->tail)
        r->tail->next = b;
    else
        r->head = b;
    r->tail = b;
    pthread_mutex_unlock(&r->mu);
    if (r->notify_cb)
        r->notify_cb(r->notify_arg);
}

struct wcs_refresh_batch *wcs_refresher_take(struct wcs_refresher *r)
{
    struct wcs_refresh_batch *b;

    pthread_mutex_lock(&r->mu);
    b = r->head;
    if (b) {
        r->head = b->next;
        if (r->head == NULL)
            r->tail = NULL;
        b->next = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    return b;
}

int wcs_refresher_connected(struct wcs_refresher *r)
{
    return atomic_load(&r->connected);
}

long long wcs_refresher_manifests_refused(struct wcs_refresher *r)
{
    return atomic_load(&r->manifests_refused);
}

long long wcs_refresher_customs_alarms(struct wcs_refresher *r)
{
    return atomic_load(&r->customs_alarms);
}

static int collect_parcel_cb(void *arg, const struct wcs_parcel *p, const char *const *codes,
                             size_t ncodes)
{
    struct wcs_refresher *r = arg;
    struct wcs_refresh_batch *b = r->filling;
    size_t i;

    if (b == NULL || b->n == WCS_REFRESH_BATCH_MAX) {
        if (b != NULL)
            queue_batch(r, b);
        b = r->filling = batch_new(WCS_REFRESH_BATCH_MAX);
        if (b == NULL)
            return -ENOMEM;
    }
    b->parcels[b->n] = *p;
    if (ncodes > WCS_MAX_IDS)
        ncodes = WCS_MAX_IDS;
    for (i = 0; i < ncodes; i++)
        snprintf(b->codes[b->n][i], sizeof(b->codes[b->n][i]), "%s", codes[i]);
    b->ncodes[b->n] = (uint8_t)ncodes;
    b->n++;
    return 0;
}

/* Fetches parcels changed since r->rev and queues them. */
static int catch_up_parcels(struct wcs_refresher *r, PGconn *c)
{
    struct err e;
    int64_t max_rev = r->rev;
    int rc;

    r->filling = NULL;
    rc = wcs_db_parcels_since(c, r->rev, collect_parcel_cb, r, &max_rev, &e);
    if (r->filling != NULL) {
        if (rc == 0) {
            r->filling->max_rev = max_rev;
            queue_batch(r, r->filling);
        } else {
            wcs_refresh_batch_free(r->filling);
        }
        r->filling = NULL;
    }
    if (rc < 0) {
        log_warnx("parcel refresh failed: %s", e.msg);
        return rc;
    }
    if (max_rev > r->rev)
        log_debug("parcels refreshed up to rev %lld", (long long)max_rev);
    r->rev = max_rev;
    return 0;
}

/* Loads the active plan when its version differs from the one we have. */
static int catch_up_plan(struct wcs_refresher *r, PGconn *c)
{
    struct wcs_refresh_batch *b;
    struct wcs_plan *plan = NULL;
    struct err e;
    int version = 0, rc;

    rc = wcs_db_plan_active_version(c, &version, &e);
    if (rc < 0) {
        log_warnx("sort plan check failed: %s", e.msg);
        return rc;
    }
    if (version == 0 || version == r->plan_version)
        return 0;
    rc = wcs_db_plan_load(c, version, &plan, &version, &e);
    if (rc < 0) {
        log_warnx("sort plan v%d cannot be loaded: %s", version, e.msg);
        return rc;
    }
    b = batch_new(0);
    if (b == NULL) {
        wcs_plan_free(plan);
        return -ENOMEM;
    }
    b->plan = plan;
    b->plan_version = version;
    b->max_rev = r->rev;
    r->plan_version = version;
    queue_batch(r, b);
    return 0;
}

/* "CH017 emptied" or "CH017 emptied WCS02" -> a batch telling the loop the
 * chute is empty again (line: whose chute; none: the only line's). */
static void chute_note(struct wcs_refresher *r, const char *payload)
{
    static const char emptied[] = " emptied";
    struct wcs_refresh_batch *b;
    char chute[21];
    size_t n = strcspn(payload, " ");
    const char *line = payload + n + sizeof(emptied) - 1;

    if (n == 0 || n >= sizeof(chute) || strncmp(payload + n, emptied, sizeof(emptied) - 1) != 0 ||
        (*line != '\0' && (*line != ' ' || strlen(line + 1) == 0 ||
                           strlen(line + 1) >= sizeof(b->line_emptied)))) {
        log_warnx("ignoring chute notification \"%.40s\"", payload);
        return;
    }
    memcpy(chute, payload, n);
    chute[n] = '\0';
    b = batch_new(0);
    if (b == NULL)
        return;
    memcpy(b->chute_emptied, chute, n + 1);
    snprintf(b->line_emptied, sizeof(b->line_emptied), "%s", *line == ' ' ? line + 1 : "");
    b->max_rev = r->rev;
    queue_batch(r, b);
}

static time_t monotonic_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Counts the customs worker's open alarms for the API; a database without
 * the table (not migrated yet) leaves the count unknown. */
static void count_customs_alarms(struct wcs_refresher *r, PGconn *c)
{
    long long n;
    struct err e;

    atomic_store(&r->customs_alarms, wcs_db_customs_alarms_open(c, &n, &e) == 0 ? n : -1);
    atomic_store(&r->manifests_refused, wcs_db_manifests_refused(c, &n, &e) == 0 ? n : -1);
    r->alarms_counted = monotonic_s();
}

/* A user disabled, deleted or given a new password or role: a batch telling
 * the loop to end the user's sessions ("*": everyone's, after a time when
 * notifications may have been missed). */
static void user_note(struct wcs_refresher *r, const char *name)
{
    struct wcs_refresh_batch *b;
    struct err e;

    if (strcmp(name, "*") != 0 && wcs_user_name_check(name, &e) < 0) {
        log_warnx("ignoring user notification \"%.40s\"", name);
        return;
    }
    b = batch_new(0);
    if (b == NULL) {
        log_warnx("user %s changed: no memory to tell the loop", name);
        return;
    }
    snprintf(b->user_changed, sizeof(b->user_changed), "%s", name);
    b->max_rev = r->rev;
    queue_batch(r, b);
}

static PGconn *connect_and_listen(struct wcs_refresher *r)
{
    static const char *const listen_sql[] = {
        "LISTEN " WCS_CHANNEL_PARCELS, "LISTEN " WCS_CHANNEL_SORTPLAN, "LISTEN " WCS_CHANNEL_CHUTES,
        "LISTEN " WCS_CHANNEL_CUSTOMS_ALARMS, "LISTEN " WCS_CHANNEL_USERS};
    const size_t nlisten = sizeof(listen_sql) / sizeof(listen_sql[0]);
    unsigned backoff_ms = 100;
    PGconn *c = NULL;
    struct err e;
    size_t i;

    while (!atomic_load(&r->stopping)) {
        if (wcs_db_connect(r->conninfo, &c, &e) == 0) {
            for (i = 0; i < nlisten; i++) {
                PGresult *res = PQexec(c, listen_sql[i]);
                int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
                PQclear(res);
                if (!ok)
                    break;
            }
            if (i == nlisten)
                return c;
            log_warnx("LISTEN failed: %s", PQerrorMessage(c));
            PQfinish(c);
            c = NULL;
        } else {
            log_warnx("refresher cannot connect (retry in %u ms): %s", backoff_ms, e.msg);
        }
        {
            struct pollfd pfd = {.fd = r->wake_fd, .events = POLLIN};
            poll(&pfd, 1, (int)backoff_ms);
        }
        if (backoff_ms < 5000)
            backoff_ms *= 2;
    }
    return NULL;
}

/* The tracking events the database wrote are numbered into the feed
 * (tracking.h) every TRACKING_PUBLISH_S by this thread, so a feed nobody
 * reads for a day does not leave a day's events to number at its next read. */
#define TRACKING_PUBLISH_S 2

static void publish_tracking(struct wcs_refresher *r, PGconn *c)
{
    struct err e;
    int64_t last;
    bool more = true;

    r->published = monotonic_s();
    /* Batch by batch, so a stop waits for one statement at most. */
    while (more && !atomic_load(&r->stopping))
        if (wcs_db_tracking_publish_some(c, false, &last, &more, &e) < 0) {
            log_warnx("%s", e.msg);
            return;
        }
}

/* The event and telegram logs' day partitions (migration 0019): the week
 * ahead made, and with events.retention_days the days past it dropped. At
 * start and every hour, by this thread, off the line's path. */
#define PARTITIONS_EVERY_S 3600

static void look_after_partitions(struct wcs_refresher *r, PGconn *c)
{
    struct err e;

    r->partitioned = monotonic_s();
    if (wcs_db_log_partitions(c, 1, 7, r->retention_days, NULL, NULL, &e) < 0)
        log_warnx("%s", e.msg);
}

static void *refresher_main(void *arg)
{
    struct wcs_refresher *r = arg;
    PGconn *c = NULL;
    int reconnected = 0;

    log_set_tag("refresh");
    while (!atomic_load(&r->stopping)) {
        struct pollfd pfd[2];
        int want_parcels = 0, want_plan = 0, want_alarms = 0, n;
        PGnotify *note;

        if (c == NULL) {
            c = connect_and_listen(r);
            if (c == NULL)
                break;
            atomic_store(&r->connected, 1);
            /* Anything may have changed while we were not listening. */
            if (catch_up_parcels(r, c) < 0 || catch_up_plan(r, c) < 0)
                goto reconnect;
            count_customs_alarms(r, c);
            /* Users may have changed unheard: sessions are not trusted past it. */
            if (reconnected)
                user_note(r, "*");
            reconnected = 1;
        }
        pfd[0].fd = PQsocket(c);
        pfd[0].events = POLLIN;
        pfd[1].fd = r->wake_fd;
        pfd[1].events = POLLIN;
        n = poll(pfd, 2, TRACKING_PUBLISH_S * 1000);
        if (n < 0 && errno != EINTR) {
            log_warn("poll");
            break;
        }
        if (atomic_load(&r->stopping))
            break;
        if (n == 0 && monotonic_s() - r->resynced >= (time_t)r->resync_s) {
            want_parcels = want_plan = want_alarms = 1;
            r->resynced = monotonic_s();
        } else if (n > 0 && pfd[0].revents) {
            if (!PQconsumeInput(c)) {
                log_warnx("refresher connection lost: %s", PQerrorMessage(c));
                goto reconnect;
            }
            while ((note = PQnotifies(c)) != NULL) {
                if (strcmp(note->relname, WCS_CHANNEL_PARCELS) == 0)
                    want_parcels = 1;
                else if (strcmp(note->relname, WCS_CHANNEL_SORTPLAN) == 0)
                    want_plan = 1;
                else if (strcmp(note->relname, WCS_CHANNEL_CHUTES) == 0)
                    chute_note(r, note->extra);
                else if (strcmp(note->relname, WCS_CHANNEL_CUSTOMS_ALARMS) == 0)
                    want_alarms = 1;
                else if (strcmp(note->relname, WCS_CHANNEL_USERS) == 0)
                    user_note(r, note->extra);
                PQfreemem(note);
            }
        }
        if (want_parcels && catch_up_parcels(r, c) < 0)
            goto reconnect;
        if (want_plan && catch_up_plan(r, c) < 0)
            goto reconnect;
        /* Also every resync_s on a busy line (parcel notifications keep the
         * poll from timing out): a refused manifest's 24 h pass unnotified. */
        if (want_alarms || monotonic_s() - r->alarms_counted >= (time_t)r->resync_s)
            count_customs_alarms(r, c);
        if (monotonic_s() - r->published >= TRACKING_PUBLISH_S)
            publish_tracking(r, c);
        if (r->partitioned == 0 || monotonic_s() - r->partitioned >= PARTITIONS_EVERY_S)
            look_after_partitions(r, c);
        continue;
    reconnect:
        atomic_store(&r->connected, 0);
        PQfinish(c);
        c = NULL;
    }
    atomic_store(&r->connected, 0);
    if (c)
        PQfinish(c);
    return NULL;
}

int wcs_refresher_start(const struct wcs_refresher_opts *opts, struct wcs_refresher **out,
                        struct err *e)
{
    struct wcs_refresher *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL)
        return err_set(e, -ENOMEM, "refresher: out of memory");
    r->conninfo = strdup(opts->conninfo);
    r->rev = opts->since_rev;
    r->plan_version = opts->plan_version;
    r->resync_s = opts->resync_s ? opts->resync_s : 60;
    r->retention_days = opts->retention_days;
    r->resynced = monotonic_s();
    r->notify_cb = opts->notify_cb;
    r->notify_arg = opts->notify_arg;
    r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    atomic_store(&r->customs_alarms, -1);
    pthread_mutex_init(&r->mu, NULL);
    if (r->conninfo == NULL || r->wake_fd < 0) {
        rc = err_set(e, r->wake_fd < 0 ? -errno : -ENOMEM, "refresher: cannot set up");
        goto fail;
    }
    rc = pthread_create(&r->thread, NULL, refresher_main, r);
    if (rc != 0) {
        rc = err_set(e, -rc, "refresher: cannot start thread");
        goto fail;
    }
    *out = r;
    return 0;
fail:
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    pthread_mutex_destroy(&r->mu);
    free(r->conninfo);
    free(r);
    return rc;
}

void wcs_refresher_stop(struct wcs_refresher *r)
{
    struct wcs_refresh_batch *b;
    uint64_t one = 1;

    if (r == NULL)
        return;
    atomic_store(&r->stopping, 1);
    if (write(r->wake_fd, &one, sizeof(one)) < 0)
        log_warn("refresher wake");
    pthread_join(r->thread, NULL);
    while ((b = wcs_refresher_take(r)) != NULL)
        wcs_refresh_batch_free(b);
    close(r->wake_fd);
    pthread_mutex_destroy(&r->mu);
    /* The conninfo may hold a password: wipe it before freeing. */
    memset(r->conninfo, 0, strlen(r->conninfo));
    free(r->conninfo);
    free(r);
}

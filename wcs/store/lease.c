/*
 * lease.c - the lease keeper (lease.h): a thread with its own connection
 * that renews the lease while this wcsd is active, or tries to take it
 * while it is the standby.
 *
 * DESIGN. The role and the local expiry are atomics: the loop thread asks
 * wcs_lease_may_act() for every telegram, without a lock. The expiry is
 * measured on CLOCK_BOOTTIME from the moment a renewal was *sent*, so it
 * can only be earlier than the database's (which counts from when the
 * statement ran). A failed call drops the connection; the next attempt
 * reconnects (libpq's multi-host conninfo finds a promoted primary).
 */
#include "wcs/store/lease.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "wcs/store/store.h"

#define LEASE_MS_MIN 300

struct wcs_lease {
    struct wcs_lease_opts o;       /* conninfo and node point to ours: */
    char *conninfo;
    char node[16];
    char holder[WCS_LEASE_HOLDER_MAX + 1];
    PGconn *conn;                  /* the keeper's; NULL while down */
    pthread_t thread;
    int wake[2];                   /* a pipe: wcs_lease_stop() wakes the thread */
    _Atomic int role;
    _Atomic int64_t token;
    _Atomic uint64_t valid_until_ns; /* CLOCK_BOOTTIME */
    _Atomic bool standby_waiting;
    _Atomic int64_t active_since_us;
    _Atomic bool stopping;
    pthread_mutex_t mu;            /* guards line */
    struct wcs_line_status line;   /* the line's row, as last read */
};

static uint64_t boot_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int ensure_conn(struct wcs_lease *l, struct err *e)
{
    PGresult *r;

    if (l->conn != NULL && PQstatus(l->conn) == CONNECTION_OK)
        return 0;
    if (l->conn != NULL)
        PQfinish(l->conn);
    l->conn = NULL;
    if (wcs_db_connect(l->o.conninfo, &l->conn, e) < 0)
        return e->code;
    /* A call that hangs longer than a lease is worth nothing. */
    if (wcs_db_bound_calls(l->conn, l->o.lease_ms, l->o.lease_ms, e) < 0)
        return e->code;
    r = PQexec(l->conn, "LISTEN wcs_lines");
    PQclear(r);
    return 0;
}

static void drop_conn(struct wcs_lease *l)
{
    PQfinish(l->conn);
    l->conn = NULL;
}

static int line_cb(void *arg, const struct wcs_line_status *row)
{
    struct wcs_lease *l = arg;

    pthread_mutex_lock(&l->mu);
    l->line = *row;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

/* The line's row for the status pages (who is active, since when, the last
 * takeover); a failure only leaves the last one read. */
static void read_line(struct wcs_lease *l)
{
    struct err e = {0};

    if (l->conn != NULL && wcs_db_lines(l->conn, l->o.node, line_cb, l, &e) < 0)
        log_debug("line %s: %s", l->o.node, e.msg);
}

/* Whether holder is a process of this host that no longer runs. */
static bool holder_gone(const struct wcs_lease *l, const char *holder)
{
    const char *colon = strrchr(holder, ':');
    size_t host_len = strcspn(l->holder, ":");
    char *end;
    long pid;

    if (colon == NULL || (size_t)(colon - holder) != host_len ||
        strncmp(holder, l->holder, host_len) != 0 || strcmp(holder, l->holder) == 0)
        return false;
    pid = strtol(colon + 1, &end, 10);
    return *end == '\0' && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* One try at the lease (standby). Returns 0 (role may now be active),
 * ERR_CONFLICT (node_id: fatal) or another error (try again). */
static int try_acquire(struct wcs_lease *l, struct err *e)
{
    uint64_t sent = boot_ns();
    int64_t token = 0;
    char gone[WCS_LEASE_HOLDER_MAX + 1] = "";
    int rc = ensure_conn(l, e);

    if (rc == 0) {
        read_line(l);
        pthread_mutex_lock(&l->mu);
        if (l->line.held && holder_gone(l, l->line.holder))
            snprintf(gone, sizeof(gone), "%s", l->line.holder);
        pthread_mutex_unlock(&l->mu);
        if (gone[0] != '\0')
            log_info("line %s: the lease's holder %s no longer runs: taking the lease at once",
                     l->o.node, gone);
        rc = wcs_db_lease_acquire(l->conn, l->o.node, l->o.node_id, l->holder, l->o.lease_ms,
                                  gone[0] != '\0' ? gone : NULL, &token, e);
    }
    if (rc < 0) {
        if (rc != ERR_CONFLICT)
            drop_conn(l);
        return rc;
    }
    if (token > 0) {
        atomic_store(&l->valid_until_ns, sent + (uint64_t)l->o.lease_ms * 1000000u);
        atomic_store(&l->token, token);
        atomic_store(&l->active_since_us, wall_us());
        atomic_store(&l->role, WCS_LEASE_ACTIVE);
    }
    read_line(l);
    return 0;
}

static void renew(struct wcs_lease *l)
{
    uint64_t sent = boot_ns();
    bool held = false, standby = false;
    struct err e = {0};
    int rc = ensure_conn(l, &e);

    if (rc == 0)
        rc = wcs_db_lease_renew(l->conn, l->o.node, atomic_load(&l->token), l->o.lease_ms, &held,
                                &standby, &e);
    if (rc < 0) {
        log_warnx("lease of line %s not renewed: %s", l->o.node, e.msg);
        drop_conn(l);
        return;
    }
    if (!held) {
        log_error("lease of line %s lost: another wcsd took it over (token %lld is stale)",
                  l->o.node, (long long)atomic_load(&l->token));
        atomic_store(&l->role, WCS_LEASE_LOST);
        return;
    }
    atomic_store(&l->standby_waiting, standby);
    atomic_store(&l->valid_until_ns, sent + (uint64_t)l->o.lease_ms * 1000000u);
    read_line(l);
}

/* Sleeps up to ms, or until a notification on the keeper's connection or a
 * wake-up from wcs_lease_stop(). */
static void wait_for(struct wcs_lease *l, unsigned ms)
{
    struct pollfd pfd[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    PGnotify *n;

    if (l->conn != NULL)
        pfd[1].fd = PQsocket(l->conn);
    if (poll(pfd, 2, (int)ms) > 0 && pfd[1].revents != 0 && l->conn != NULL) {
        if (!PQconsumeInput(l->conn))
            drop_conn(l);
        else
            while ((n = PQnotifies(l->conn)) != NULL)
                PQfreemem(n);
    }
}

static void *keeper_main(void *arg)
{
    struct wcs_lease *l = arg;
    struct err e = {0};
    int was = atomic_load(&l->role), now;

    log_set_tag("lease");
    while (!atomic_load(&l->stopping)) {
        if (was == WCS_LEASE_ACTIVE) {
            wait_for(l, l->o.lease_ms / 3);
            if (!atomic_load(&l->stopping))
                renew(l);
        } else {
            /* A release is notified: the standby takes the lease at once. */
            wait_for(l, l->o.lease_ms / 6);
            if (!atomic_load(&l->stopping) && try_acquire(l, &e) < 0)
                log_warnx("line %s: lease not taken: %s", l->o.node, e.msg);
        }
        now = atomic_load(&l->role);
        if (now != was && l->o.changed_cb != NULL)
            l->o.changed_cb(l->o.changed_arg);
        if (now == WCS_LEASE_LOST)
            break;
        was = now;
    }
    return NULL;
}

static void lease_free(struct wcs_lease *l)
{
    if (l->conn != NULL)
        PQfinish(l->conn);
    if (l->wake[0] >= 0)
        close(l->wake[0]);
    if (l->wake[1] >= 0)
        close(l->wake[1]);
    if (l->conninfo != NULL)
        explicit_bzero(l->conninfo, strlen(l->conninfo));
    free(l->conninfo);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int wcs_lease_start(const struct wcs_lease_opts *o, struct wcs_lease **out, struct err *e)
{
    struct wcs_lease *l = calloc(1, sizeof(*l));
    char host[64];
    int rc;

    *out = NULL;
    if (l == NULL)
        return err_set(e, -ENOMEM, "lease: out of memory");
    l->o = *o;
    l->wake[0] = l->wake[1] = -1;
    pthread_mutex_init(&l->mu, NULL);
    if (l->o.lease_ms == 0)
        l->o.lease_ms = WCS_LEASE_MS_DEFAULT;
    if (l->o.lease_ms < LEASE_MS_MIN)
        l->o.lease_ms = LEASE_MS_MIN;
    l->conninfo = strdup(o->conninfo);
    l->o.conninfo = l->conninfo;
    snprintf(l->node, sizeof(l->node), "%s", o->node);
    l->o.node = l->node;
    if (l->conninfo == NULL || pipe(l->wake) < 0) {
        lease_free(l);
        return err_set(e, -ENOMEM, "lease: out of memory");
    }
    if (getenv("WCS_HOLDER_HOST") != NULL && getenv("WCS_HOLDER_HOST")[0] != '\0')
        snprintf(host, sizeof(host), "%s", getenv("WCS_HOLDER_HOST"));
    else if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(l->holder, sizeof(l->holder), "%s:%ld", host, (long)getpid());
    atomic_store(&l->role, WCS_LEASE_STANDBY);
    rc = try_acquire(l, e);
    if (rc < 0) {
        err_wrap(e, rc, "line %s", o->node);
        lease_free(l);
        return rc;
    }
    rc = pthread_create(&l->thread, NULL, keeper_main, l);
    if (rc != 0) {
        lease_free(l);
        return err_set(e, -rc, "lease: thread: %s", strerror(rc));
    }
    *out = l;
    return 0;
}

void wcs_lease_view(struct wcs_lease *l, struct wcs_lease_view *out)
{
    memset(out, 0, sizeof(*out));
    out->role = (enum wcs_lease_role)atomic_load(&l->role);
    out->token = atomic_load(&l->token);
    out->active_since_us = out->role == WCS_LEASE_ACTIVE ? atomic_load(&l->active_since_us) : 0;
    out->standby_waiting = atomic_load(&l->standby_waiting);
    snprintf(out->holder, sizeof(out->holder), "%s", l->holder);
    pthread_mutex_lock(&l->mu);
    out->line = l->line;
    pthread_mutex_unlock(&l->mu);
}

bool wcs_lease_may_act(struct wcs_lease *l)
{
    if (atomic_load_explicit(&l->role, memory_order_acquire) != WCS_LEASE_ACTIVE)
        return false;
    return boot_ns() < atomic_load_explicit(&l->valid_until_ns, memory_order_relaxed) ||
           !atomic_load_explicit(&l->standby_waiting, memory_order_relaxed);
}

void wcs_lease_stop(struct wcs_lease *l)
{
    struct err e = {0};

    if (l == NULL)
        return;
    atomic_store(&l->stopping, true);
    if (write(l->wake[1], "x", 1) < 0)
        log_warnx("lease: wake-up: %s", strerror(errno));
    pthread_join(l->thread, NULL);
    if (atomic_load(&l->role) == WCS_LEASE_ACTIVE) {
        if (ensure_conn(l, &e) == 0 &&
            wcs_db_lease_release(l->conn, l->o.node, atomic_load(&l->token), &e) == 0)
            log_info("lease of line %s released", l->o.node);
        else
            log_warnx("lease of line %s not released (it lapses by itself): %s", l->o.node,
                      e.msg);
    }
    lease_free(l);
}

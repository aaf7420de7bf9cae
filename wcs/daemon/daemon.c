/*
 * daemon.c - wcsd's start-up, loop and shutdown (see daemon.h).
 *
 * DESIGN: start-up is synchronous and may be slow (connect, migrate, load
 * 1M parcels); once the loop runs, only memory is touched on it. Changes
 * arrive from the refresher thread as whole batches through an async handle,
 * so a plan swap or a parcel update is applied between two decisions, never
 * during one. The daemon owns the parts and wires them; each part gets only
 * the parts it uses (the PLC stations: the sorter and the writer; the HTTP
 * API: what it shows), never this struct.
 */
#include "wcs/daemon/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "common/cpu.h"
#include "common/log.h"
#include "common/service.h"
#include "conveyor/correlate.h"
#include "scanners/cameras.h"
#include "scanners/usb.h"
#include "wcs/daemon/video_coding.h"
#include "wcs/config/secrets.h"
#include "wcs/core/sorter.h"
#include "wcs/daemon/console.h"
#include "wcs/daemon/http_api.h"
#include "wcs/daemon/plc.h"
#include "wcs/daemon/printing.h"
#include "wcs/store/events.h"
#include "wcs/store/lease.h"
#include "wcs/store/refresher.h"
#include "wcs/store/store.h"

/* Longest start-up waits for a crash's spool to reach the database (about
 * 3 million records at the measured drain rate, docs/events.md). */
#define SPOOL_DRAIN_WAIT_MS 60000
/* Reloads (SIGHUP) whose replaced token sets are kept until wcsd stops. */
#define WCS_RELOADS_MAX 64

/* What the HTTP API reads from files at start; the secrets stay in memory
 * (wiped when freed) so that nothing is read again while wcsd runs. */
struct http_files {
    struct wcs_tokens tokens;
    char *cert, *key; /* PEM text, NULL without TLS */
    size_t cert_len, key_len;
};

struct wcsd {
    struct wcs_config cfg;
    char conninfo[1024];       /* holds the password when configured: never logged */
    uv_loop_t loop;
    uv_signal_t sigterm, sigint, sighup;
    struct wcs_tokens retired[WCS_RELOADS_MAX]; /* token sets replaced by reloads */
    int nretired;
    uv_timer_t watchdog;       /* feeds systemd's watchdog from the loop (when asked) */
    bool watchdog_on;
    uv_async_t refresh_async;  /* the refresher queued a batch */
    uv_async_t durable_async;  /* the writer made more records durable */
    uv_async_t lease_async;    /* the lease keeper: this wcsd's role changed */
    uv_timer_t lease_timer;    /* watches the lease's local expiry */
    struct wcs_lease *lease;   /* the line's lease: active or standby */
    bool line_open;            /* the PLC links are open (this wcsd is active) */
    bool lease_lost;           /* stopped because another wcsd has the line */
    pthread_mutex_t durable_mu; /* guards durable_open against the store and lease threads */
    bool durable_open;         /* durable_async and lease_async may be sent to */
    struct wcs_sorter *sorter; /* registry + plan + engine */
    int64_t parcel_rev;        /* highest parcel rev applied */
    struct wcs_event_writer *writer;
    struct wcs_refresher *refresher;
    struct wcs_plcs *plcs;     /* the PLC stations and the WCS's scans */
    struct scan_usb *usb;      /* the WCS's own scanners (USB, tty), NULL when none */
    struct scan_cameras *cameras; /* the scan tunnel's cameras, NULL when none */
    struct wcs_video_coding *video; /* no-read parcels and their keyed codes */
    struct wcs_http *http;
    struct wcs_console *console; /* the console's live state, with the HTTP API */
    struct wcs_printers *printers; /* label printers at the line */
    int http_port;             /* bound port, 0 when disabled */
    struct http_files files;   /* tokens, TLS certificate and key: secrets, never logged */
    uint64_t started_us;       /* uv_hrtime()/1000 at start */
    int loop_cpu;              /* the loop's CPU, CPU_NONE when not pinned */
    bool stopping;
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Records a system event (start, stop, plan swap); never blocks. */
static void system_event(struct wcsd *d, const char *detail)
{
    struct wcs_event ev;

    if (d->writer == NULL || !d->line_open || d->lease_lost)
        return; /* a standby writes nothing: the line's log is the active's */
    memset(&ev, 0, sizeof(ev));
    ev.at_us = now_us();
    ev.kind = WCS_EVENT_SYSTEM;
    snprintf(ev.source, sizeof(ev.source), "%s", d->cfg.node);
    snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
    if (wcs_event_writer_push(d->writer, &ev) < 0)
        log_warnx("event queue full: system event \"%s\" not recorded", detail);
}

static int connect_with_wait(struct wcsd *d, PGconn **c, struct err *e)
{
    unsigned backoff_ms = 250;
    uint64_t deadline = uv_hrtime() + (uint64_t)d->cfg.db_connect_wait_s * 1000000000ull;
    int rc;

    for (;;) {
        rc = wcs_db_connect(d->conninfo, c, e);
        if (rc == 0)
            return 0;
        if (d->cfg.db_connect_wait_s == 0 || uv_hrtime() >= deadline)
            return err_wrap(e, rc, "database unreachable");
        log_warnx("database unreachable, retrying in %u ms: %s", backoff_ms, e->msg);
        usleep(backoff_ms * 1000);
        if (backoff_ms < 8000)
            backoff_ms *= 2;
    }
}

static int load_parcel_cb(void *arg, const struct wcs_parcel *p, const char *const *codes,
                          size_t ncodes)
{
    struct wcsd *d = arg;

    return wcs_sorter_put_parcel(d->sorter, p, codes, ncodes, NULL);
}

static void install_plan(struct wcsd *d, struct wcs_plan *plan, int version)
{
    char detail[96];

    wcs_sorter_set_plan(d->sorter, plan, version);
    log_info("sort plan v%d active: %zu chutes, %zu routes, %zu rules", version,
             wcs_plan_nchutes(plan), wcs_plan_nroutes(plan), wcs_plan_nrules(plan));
    snprintf(detail, sizeof(detail), "sort plan v%d activated", version);
    system_event(d, detail);
}

/* Applies every batch the refresher has queued (loop thread). */
static void apply_refresh(struct wcsd *d)
{
    struct wcs_refresh_batch *b;
    size_t i, k;

    while ((b = wcs_refresher_take(d->refresher)) != NULL) {
        for (i = 0; i < b->n; i++) {
            const char *codes[WCS_MAX_IDS];
            struct err e;

            for (k = 0; k < b->ncodes[i]; k++)
                codes[k] = b->codes[i][k];
            if (wcs_sorter_put_parcel(d->sorter, &b->parcels[i], codes, b->ncodes[i], &e) < 0)
                log_warnx("parcel %s not indexed: %s", codes[0], e.msg);
        }
        if (b->max_rev > d->parcel_rev)
            d->parcel_rev = b->max_rev;
        if (b->n > 0)
            log_info("%zu parcel(s) updated from the database (rev %lld, %zu indexed)", b->n,
                     (long long)d->parcel_rev,
                     wcs_registry_count(wcs_sorter_registry(d->sorter)));
        if (b->plan != NULL) {
            install_plan(d, b->plan, b->plan_version);
            b->plan = NULL;
        }
        if (b->chute_emptied[0] != '\0' &&
            (b->line_emptied[0] == '\0' || strcmp(b->line_emptied, d->cfg.node) == 0)) {
            char detail[64];

            /* A bag was closed: the chute takes parcels again, load from 0. */
            if (wcs_engine_chute_emptied(wcs_sorter_engine(d->sorter), b->chute_emptied) < 0) {
                log_warnx("bag closed at %s, which the active sort plan does not have",
                          b->chute_emptied);
            } else {
                log_info("chute %s emptied (bag closed)", b->chute_emptied);
                snprintf(detail, sizeof(detail), "chute %s emptied", b->chute_emptied);
                system_event(d, detail);
                /* Its label, on its route's printer (whoever closed it). */
                wcs_printers_print_async(d->printers, &d->loop, d->conninfo, b->chute_emptied);
            }
        }
        if (b->user_changed[0] != '\0' && d->http != NULL) {
            /* "*": the refresher (re)connected and may have missed changes. */
            bool all = strcmp(b->user_changed, "*") == 0;
            size_t n = wcs_http_end_sessions(d->http, all ? NULL : b->user_changed);

            if (n > 0 || !all)
                log_info("%s%s changed: %zu console session(s) ended", all ? "users" : "user ",
                         all ? "" : b->user_changed, n);
        }
        wcs_refresh_batch_free(b);
    }
}

static void refresh_async_cb(uv_async_t *h)
{
    apply_refresh(h->data);
}

/* Called on the refresher thread: only wakes the loop. */
static void refresh_notify_cb(void *arg)
{
    struct wcsd *d = arg;

    uv_async_send(&d->refresh_async);
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

/* A code read by one of the WCS's own scanners: into the read windows. */
static void usb_scan_cb(const struct scan_event *ev, void *arg)
{
    struct wcsd *d = arg;
    struct conv_scan s;
    struct err e;

    memset(&s, 0, sizeof(s));
    snprintf(s.location, sizeof(s.location), "%s", ev->location);
    snprintf(s.code, sizeof(s.code), "%.*s", (int)ev->len, ev->code);
    snprintf(s.source, sizeof(s.source), "%s", ev->scanner_id);
    snprintf(s.symbology, sizeof(s.symbology), "%s", ev->symbology);
    s.at_us = ev->at_us;
    if (wcs_plcs_scan(d->plcs, &s, &e) < 0)
        log_warnx("scanner %s: %s", ev->scanner_id, e.msg);
}

/* A frame of a tunnel camera decoded: its codes into the read windows, at
 * the frame's trigger time. */
static void camera_read_cb(void *arg, const struct scan_cam_read *r)
{
    struct wcsd *d = arg;
    size_t i;

    for (i = 0; i < r->result->n; i++) {
        const struct scan_symbol *sym = &r->result->sym[i];
        struct conv_scan s;
        struct err e;

        memset(&s, 0, sizeof(s));
        snprintf(s.location, sizeof(s.location), "%s", r->location);
        snprintf(s.code, sizeof(s.code), "%s", sym->text);
        snprintf(s.source, sizeof(s.source), "%s", r->camera);
        snprintf(s.symbology, sizeof(s.symbology), "%s",
                 strcmp(sym->type, "CODE-128") == 0 ? "]C0" : "");
        s.at_us = r->at_us;
        if (wcs_plcs_scan(d->plcs, &s, &e) < 0)
            log_warnx("camera %s: %s", r->camera, e.msg);
    }
}

/* The tunnel's cameras (cameras: in the config), and the no-reads' video
 * coding, which runs without cameras too (a no-read from the PLC's own
 * reader is keyed in the same way, without images). */
static int start_cameras(struct wcsd *d, struct err *e)
{
    const struct wcs_cameras_config *cc = &d->cfg.cameras;
    struct scan_cameras_cfg c;
    int rc;

    if (cc->nsources > 0) {
        memset(&c, 0, sizeof(c));
        c.cams = cc->sources;
        c.n = (size_t)cc->nsources;
        c.workers = (unsigned)cc->workers;
        c.queue = (unsigned)cc->queue;
        c.keep = (unsigned)cc->keep_frames;
        scan_pipeline_config_default(&c.pipeline);
        c.pipeline.budget_ms = (unsigned)cc->budget_ms;
        if (cc->kinds[0] && scan_kinds_parse(cc->kinds, &c.pipeline.kinds, e) < 0)
            return err_wrap(e, ERR_CONFIG, "%s: cameras.kinds", d->cfg.path);
        if (cc->symbologies[0] &&
            scan_symbology_parse(cc->symbologies, &c.pipeline.symbologies, e) < 0)
            return err_wrap(e, ERR_CONFIG, "%s: cameras.symbologies", d->cfg.path);
        rc = scan_cameras_start(&d->loop, &c, camera_read_cb, d, &d->cameras, e);
        if (rc < 0)
            return rc;
    }
    rc = wcs_video_coding_start(&d->loop, &d->cfg, d->conninfo, d->cameras, &d->video, e);
    if (rc < 0)
        return rc;
    wcs_plcs_set_video_coding(d->plcs, d->video);
    return 0;
}

/* Closes every handle on the loop so uv_run returns (loop thread). */
static void close_loop_handles(struct wcsd *d)
{
    d->stopping = true;
    wcs_http_stop(d->http);
    d->http = NULL;
    if (d->plcs != NULL)
        wcs_plcs_set_figures(d->plcs, NULL); /* they live in the console */
    wcs_console_stop(d->console);
    d->console = NULL;
    if (d->usb != NULL)
        scan_usb_stop(d->usb, NULL, NULL);
    d->usb = NULL;
    if (d->plcs != NULL)
        wcs_plcs_set_video_coding(d->plcs, NULL);
    wcs_video_coding_stop(d->video);
    d->video = NULL;
    scan_cameras_stop(d->cameras);
    d->cameras = NULL;
    wcs_plcs_stop(d->plcs);
    d->plcs = NULL;
    pthread_mutex_lock(&d->durable_mu);
    d->durable_open = false;
    pthread_mutex_unlock(&d->durable_mu);
    uv_close((uv_handle_t *)&d->durable_async, close_cb);
    uv_close((uv_handle_t *)&d->lease_async, close_cb);
    uv_close((uv_handle_t *)&d->lease_timer, close_cb);
    uv_close((uv_handle_t *)&d->sigterm, close_cb);
    uv_close((uv_handle_t *)&d->sigint, close_cb);
    uv_close((uv_handle_t *)&d->sighup, close_cb);
    uv_close((uv_handle_t *)&d->refresh_async, close_cb);
    if (d->watchdog_on) {
        d->watchdog_on = false;
        uv_close((uv_handle_t *)&d->watchdog, close_cb);
    }
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct wcsd *d = h->data;

    if (d->stopping)
        return;
    log_info("signal %d: stopping", signum);
    svc_stopping();
    close_loop_handles(d);
}

/* The keys a reload applies (log_level, http.tokens_file's tokens); the
 * others name what wcsd built at start and take effect at the next. */
static void reload_notes(const struct wcs_config *old, const struct wcs_config *nc)
{
    static const char later[] = "changed: takes effect at the next start";

    if (strcmp(old->node, nc->node) != 0)
        log_warnx("reload: node %s", later);
    if (strcmp(old->db_conninfo, nc->db_conninfo) != 0 ||
        strcmp(old->db_password_file, nc->db_password_file) != 0)
        log_warnx("reload: database %s", later);
    if (strcmp(old->http_listen, nc->http_listen) != 0 || old->http_port != nc->http_port ||
        strcmp(old->http_tls_cert, nc->http_tls_cert) != 0 ||
        strcmp(old->http_tls_key, nc->http_tls_key) != 0)
        log_warnx("reload: http.listen, port or TLS %s", later);
    if (old->nplcs != nc->nplcs || memcmp(old->plcs, nc->plcs, sizeof(old->plcs)) != 0)
        log_warnx("reload: plcs %s", later);
    if (old->nscanners != nc->nscanners ||
        memcmp(old->scanners, nc->scanners, sizeof(old->scanners)) != 0)
        log_warnx("reload: scanners %s", later);
    if (memcmp(&old->cameras, &nc->cameras, sizeof(old->cameras)) != 0)
        log_warnx("reload: cameras %s", later);
    if (old->nprinters != nc->nprinters ||
        memcmp(old->printers, nc->printers, sizeof(old->printers)) != 0)
        log_warnx("reload: label_printers %s", later);
}

/* SIGHUP (systemctl reload wcsd): the config file read again; its log
 * level and the API's tokens applied at once, the running decisions and
 * links untouched. A file that does not load changes nothing. */
static void reload(struct wcsd *d)
{
    struct wcs_config *nc = calloc(1, sizeof(*nc));
    struct wcs_tokens t = {NULL, 0};
    struct diag dg = DIAG_INIT;
    struct err e = {0};
    size_t i;

    svc_reloading();
    if (nc == NULL) {
        log_warnx("reload: out of memory: the running config kept");
        goto out;
    }
    if (wcs_config_load(d->cfg.path, nc, &dg, &e) < 0 ||
        (nc->http_tokens_file[0] != '\0' &&
         wcs_tokens_load(nc->http_tokens_file, "http.tokens_file", &t, &dg, &e) < 0)) {
        for (i = 0; i < dg.n; i++)
            log_warnx("reload: %s", dg.msgs[i]);
        log_warnx("reload: %s: the running config kept", e.msg);
        goto out;
    }
    if (d->nretired == WCS_RELOADS_MAX) {
        wcs_tokens_free(&t);
        log_warnx("reload: %d reloads since start: restart wcsd to read its tokens again",
                  WCS_RELOADS_MAX);
        goto out;
    }
    reload_notes(&d->cfg, nc);
    /* The API reads d->files.tokens: the new set takes its place, and the
     * old one, wiped, stays for requests in flight that name a token. */
    wcs_tokens_retire(&d->files.tokens);
    d->retired[d->nretired++] = d->files.tokens;
    d->files.tokens = t;
    d->cfg.log_level = nc->log_level;
    log_set_level(nc->log_level);
    log_info("reload: %s read again: log_level %s, %zu API token(s)", d->cfg.path,
             log_level_name(nc->log_level), t.n);
out:
    diag_free(&dg);
    free(nc);
    svc_ready(NULL);
}

static void sighup_cb(uv_signal_t *h, int signum)
{
    (void)signum;
    reload(h->data);
}

/* systemd's watchdog is fed from the loop itself: a loop that hangs (the
 * hot path stopped) stops feeding it, and systemd restarts wcsd. */
static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    svc_watchdog();
}

static void durable_async_cb(uv_async_t *h)
{
    struct wcsd *d = h->data;

    if (d->plcs != NULL)
        wcs_plcs_durable(d->plcs);
}

/* Called on the store thread when more records are durable: wake the loop,
 * unless it is shutting down (the async handle may be closed then). */
static void durable_cb(void *arg)
{
    struct wcsd *d = arg;

    pthread_mutex_lock(&d->durable_mu);
    if (d->durable_open)
        uv_async_send(&d->durable_async);
    pthread_mutex_unlock(&d->durable_mu);
}

/* --- the line's lease: active or standby ------------------------------------ */

/* This wcsd may no longer act for its line: another holds (or may hold) the
 * lease. It stops at once, exit status 1, so that systemd starts it again:
 * then it is the standby. */
static void lose_line(struct wcsd *d, const char *why)
{
    if (d->stopping)
        return;
    d->lease_lost = true;
    log_error("line %s: %s: stopping (restarted, this wcsd waits as the standby)", d->cfg.node,
              why);
    svc_stopping();
    close_loop_handles(d);
}

static void lease_timer_cb(uv_timer_t *t)
{
    struct wcsd *d = t->data;

    if (d->line_open && !wcs_lease_may_act(d->lease))
        lose_line(d, "lease lapsed (not renewed for ha.lease_ms) while a standby waits");
}

static void drain_old_spool(struct wcsd *d);

/* This wcsd holds the line's lease: its writer proves the token in every
 * batch, what an earlier run of it spooled goes in first, and the PLC
 * links open with the last hour of telegrams and the last seconds of scans
 * read back (c, or a connection of its own when NULL), so the PLC finds the
 * line as the previous active left it. */
static int open_line(struct wcsd *d, PGconn *c, struct err *e)
{
    struct wcs_lease_view v;
    PGconn *own = NULL;
    char detail[WCS_LEASE_HOLDER_MAX + 96];
    unsigned period = d->cfg.ha_lease_ms / 10;
    int rc;

    wcs_lease_view(d->lease, &v);
    rc = wcs_event_writer_fence(d->writer, v.token, e);
    if (rc < 0)
        return rc;
    d->line_open = true;
    drain_old_spool(d);
    if (c == NULL && (rc = wcs_db_connect(d->conninfo, &own, e)) < 0)
        return rc;
    rc = wcs_plcs_open(d->plcs, &d->loop, &d->cfg, c != NULL ? c : own, e);
    PQfinish(own);
    if (rc < 0)
        return rc;
    uv_timer_start(&d->lease_timer, lease_timer_cb, period, period > 0 ? period : 1);
    if (v.line.last_takeover_from[0] != '\0' && v.line.token == v.token)
        snprintf(detail, sizeof(detail), "line %s active (token %lld), taken over from %s",
                 d->cfg.node, (long long)v.token, v.line.last_takeover_from);
    else
        snprintf(detail, sizeof(detail), "line %s active (token %lld)", d->cfg.node,
                 (long long)v.token);
    log_info("%s", detail);
    system_event(d, detail);
    return 0;
}

/* The keeper's thread saw the role change (took the lease, or lost it). */
static void lease_async_cb(uv_async_t *h)
{
    struct wcsd *d = h->data;
    struct wcs_lease_view v;
    struct err e = {0};

    if (d->stopping)
        return;
    wcs_lease_view(d->lease, &v);
    if (v.role == WCS_LEASE_LOST) {
        lose_line(d, "another wcsd took the line's lease");
    } else if (v.role == WCS_LEASE_ACTIVE && !d->line_open) {
        log_info("line %s: lease taken (the active %s stopped renewing it): opening the PLC "
                 "links",
                 d->cfg.node, v.line.last_takeover_from[0] ? v.line.last_takeover_from : "-");
        if (open_line(d, NULL, &e) < 0)
            lose_line(d, e.msg);
    }
}

/* Called on the keeper's thread: only wakes the loop, unless it is shutting
 * down (the async handle may be closed then). */
static void lease_changed_cb(void *arg)
{
    struct wcsd *d = arg;

    pthread_mutex_lock(&d->durable_mu);
    if (d->durable_open)
        uv_async_send(&d->lease_async);
    pthread_mutex_unlock(&d->durable_mu);
}

/* The loop's own handles: wake-ups from the two threads and the signals.
 * On a failure the handles already made are closed (the caller runs the
 * loop to finish that) and e says which failed. */
static int loop_handles_init(struct wcsd *d, struct err *e)
{
    uv_handle_t *made[] = {(uv_handle_t *)&d->refresh_async, (uv_handle_t *)&d->durable_async,
                           (uv_handle_t *)&d->lease_async,   (uv_handle_t *)&d->lease_timer,
                           (uv_handle_t *)&d->sigterm,       (uv_handle_t *)&d->sigint,
                           (uv_handle_t *)&d->sighup};
    size_t n = 0;
    int rc;

    if ((rc = uv_async_init(&d->loop, &d->refresh_async, refresh_async_cb)) < 0 ||
        (n++, rc = uv_async_init(&d->loop, &d->durable_async, durable_async_cb)) < 0 ||
        (n++, rc = uv_async_init(&d->loop, &d->lease_async, lease_async_cb)) < 0 ||
        (n++, rc = uv_timer_init(&d->loop, &d->lease_timer)) < 0 ||
        (n++, rc = uv_signal_init(&d->loop, &d->sigterm)) < 0 ||
        (n++, rc = uv_signal_init(&d->loop, &d->sigint)) < 0 ||
        (n++, rc = uv_signal_init(&d->loop, &d->sighup)) < 0)
        goto fail;
    n++;
    d->refresh_async.data = d->durable_async.data = d->lease_async.data = d;
    d->lease_timer.data = d;
    d->sigterm.data = d->sigint.data = d->sighup.data = d;
    if ((rc = uv_signal_start(&d->sigterm, signal_cb, SIGTERM)) < 0 ||
        (rc = uv_signal_start(&d->sigint, signal_cb, SIGINT)) < 0 ||
        (rc = uv_signal_start(&d->sighup, sighup_cb, SIGHUP)) < 0)
        goto fail;
    d->durable_open = true;
    return 0;
fail:
    while (n > 0)
        uv_close(made[--n], close_cb);
    return err_set(e, rc, "event loop handles: %s", uv_strerror(rc));
}

/* A spool left by a crash may hold telegrams that the PLC will resend
 * (updates it never got an ACK_ for, though they were durable). They must
 * be in the database before the PLC stations read the last hour of
 * telegrams, or such a resend would be applied a second time instead of
 * answered DUPLIC__. New records are written only after the spool, so
 * flushing one marks the end of the drain. Bounded: past the bound the
 * stations start anyway, with a warning. */
static void drain_old_spool(struct wcsd *d)
{
    struct wcs_event_writer_stats ws;

    wcs_event_writer_stats(d->writer, &ws);
    if (ws.spool_records == 0)
        return;
    system_event(d, "event spool of an earlier run drained before the PLC links start");
    if (wcs_event_writer_flush(d->writer, SPOOL_DRAIN_WAIT_MS) < 0)
        log_warnx("event spool not drained within %d s: a PLC resend of an update still in "
                  "the spool may be applied twice",
                  SPOOL_DRAIN_WAIT_MS / 1000);
}

/* Chooses the loop's CPU (loop.cpu) and keeps this thread, and so every
 * thread started from now on (writer, refresher, libuv's pool), off it; the
 * loop thread itself moves there once they are started (pin_loop()). A CPU
 * that cannot be used is a warning: wcsd runs unpinned. */
static void reserve_loop_cpu(struct wcsd *d)
{
    unsigned long long irqs = 0;
    struct err e;
    int cpu = d->cfg.loop_cpu;

    d->loop_cpu = CPU_NONE;
    if (cpu == CPU_NONE)
        return;
    if (cpu == CPU_AUTO && cpu_quietest(&cpu, &irqs, &e) < 0) {
        log_warnx("loop.cpu auto: %s; the loop is not pinned", e.msg);
        return;
    }
    if (cpu_avoid(cpu, &e) < 0) {
        log_warnx("loop.cpu %d: %s; the loop is not pinned", cpu, e.msg);
        return;
    }
    d->loop_cpu = cpu;
    if (d->cfg.loop_cpu == CPU_AUTO)
        log_info("loop.cpu auto: CPU %d (%llu device interrupts since boot, the fewest)", cpu,
                 irqs);
}

static void pool_noop(uv_work_t *w)
{
    (void)w;
}

static void pool_noop_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

static void pin_loop(struct wcsd *d)
{
    static uv_work_t start_pool;
    struct err e;

    if (d->loop_cpu == CPU_NONE)
        return;
    /* libuv starts its pool's threads at the first work queued, and a
     * thread inherits its creator's CPUs: queued from here, before the pin,
     * they stay off the loop's CPU (logins' password hashes run there). */
    uv_queue_work(&d->loop, &start_pool, pool_noop, pool_noop_done);
    if (cpu_pin_thread(d->loop_cpu, &e) < 0) {
        log_warnx("loop.cpu %d: %s; the loop is not pinned", d->loop_cpu, e.msg);
        d->loop_cpu = CPU_NONE;
        return;
    }
    log_info("event loop pinned to CPU %d, wcsd's other threads kept off it", d->loop_cpu);
}

static void http_files_free(struct http_files *f)
{
    wcs_tokens_free(&f->tokens);
    wcs_secret_free(f->cert, f->cert_len);
    wcs_secret_free(f->key, f->key_len);
    f->cert = f->key = NULL;
}

/* Reads http.tokens_file, http.tls_cert and http.tls_key (the key and the
 * tokens must not be open to others). Problems of the tokens file's lines go
 * to d; on failure nothing is kept. */
static int http_files_load(const struct wcs_config *cfg, struct http_files *f, struct diag *d,
                           struct err *e)
{
    int rc = 0;

    memset(f, 0, sizeof(*f));
    if (cfg->http_tokens_file[0] != '\0')
        rc = wcs_tokens_load(cfg->http_tokens_file, "http.tokens_file", &f->tokens, d, e);
    if (rc == 0 && cfg->http_tls_cert[0] != '\0')
        rc = wcs_secret_file_read(cfg->http_tls_cert, "http.tls_cert", false, &f->cert,
                                  &f->cert_len, e);
    if (rc == 0 && cfg->http_tls_key[0] != '\0')
        rc = wcs_secret_file_read(cfg->http_tls_key, "http.tls_key", true, &f->key, &f->key_len, e);
    if (rc < 0)
        http_files_free(f);
    return rc;
}

int wcsd_check_files(const struct wcs_config *cfg, struct diag *d, struct err *e)
{
    struct http_files f;
    int rc = http_files_load(cfg, &f, d, e);

    if (rc == 0)
        http_files_free(&f);
    return rc;
}

static void console_publish_cb(void *arg, enum wcs_console_doc which, const char *doc)
{
    struct wcsd *d = arg;

    wcs_http_publish(d->http, (int)which, doc);
}

/* The console's live state (alarms, figures, the line) comes with the API. */
static int start_console(struct wcsd *d, PGconn *c, struct err *e)
{
    struct wcs_console_sources src = {
        .cfg = &d->cfg,
        .sorter = d->sorter,
        .plcs = d->plcs,
        .writer = d->writer,
        .refresher = d->refresher,
        .usb = d->usb,
        .cameras = d->cameras,
        .video = d->video,
        .conninfo = d->conninfo,
        .lease = d->lease,
        .publish_cb = console_publish_cb,
        .publish_arg = d,
    };
    int rc;

    d->printers = wcs_printers_new(&d->cfg);
    if (d->printers == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    src.printers = d->printers; /* made just now */
    if (d->cfg.http_listen[0] == '\0')
        return 0;
    rc = wcs_console_start(&d->loop, &src, c, &d->console, e);
    if (rc == 0)
        wcs_plcs_set_figures(d->plcs, wcs_console_figures(d->console));
    return rc;
}

static int start_http(struct wcsd *d, struct err *e)
{
    struct wcs_http_sources src = {
        .node = d->cfg.node,
        .started_us = d->started_us,
        .sorter = d->sorter,
        .parcel_rev = &d->parcel_rev,
        .plcs = d->plcs,
        .writer = d->writer,
        .refresher = d->refresher,
        .usb = d->usb,
        .cameras = d->cameras,
        .video = d->video,
        .noread_dir = d->cfg.cameras.noread_dir,
        .conninfo = d->conninfo,
        .console = d->console,
        .printers = d->printers,
        .lease = d->lease,
    };
    struct wcs_http_opts o = {
        .addr = d->cfg.http_listen,
        .port = d->cfg.http_port,
        .tokens = &d->files.tokens,
        .tls_cert = d->files.cert,
        .tls_key = d->files.key,
        .scan_rate = (unsigned)d->cfg.http_scan_rate,
        .scan_burst = (unsigned)d->cfg.http_scan_burst,
        .conns_per_client = (unsigned)d->cfg.http_conns_per_client,
    };

    if (d->cfg.http_listen[0] == '\0')
        return 0;
    if (d->cfg.http_tokens_file[0] == '\0')
        log_warnx("http: no http.tokens_file: every /v1 request and /metrics will be refused "
                  "(401)");
    else if (d->files.tokens.n == 0)
        log_warnx("http: %s holds no token: every /v1 request and /metrics will be refused "
                  "(401)",
                  d->cfg.http_tokens_file);
    return wcs_http_start(&d->loop, &src, &o, &d->http, &d->http_port, e);
}

int wcsd_init(const struct wcs_config *cfg, struct wcsd **out, struct err *e)
{
    struct wcsd *d = calloc(1, sizeof(*d));
    struct wcs_refresher_opts ro;
    struct wcs_event_writer_opts wo;
    struct wcs_lease_opts lo;
    struct wcs_lease_view lv;
    struct wcs_plan *plan = NULL;
    PGconn *c = NULL;
    double t0 = (double)uv_hrtime() / 1e9;
    int rc, applied = 0, version = 0;

    if (d == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    pthread_mutex_init(&d->durable_mu, NULL);
    d->cfg = *cfg;
    d->started_us = uv_hrtime() / 1000;
    /* libuv's pool (read when it starts): logins' hashes, the console's
     * reads and actions (4 at most) and the alarms' store share it, so a
     * console busy with slow reads cannot hold up a login. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    reserve_loop_cpu(d);
    /* The HTTP API's files first: a key open to others stops wcsd before it
     * touches the database. */
    if (cfg->http_listen[0] != '\0') {
        struct diag dg = DIAG_INIT;

        rc = http_files_load(cfg, &d->files, &dg, e);
        diag_print(&dg, stderr);
        diag_free(&dg);
        if (rc < 0)
            goto fail;
    }
    rc = wcs_config_db_conninfo(cfg, d->conninfo, sizeof(d->conninfo), e);
    if (rc < 0)
        goto fail;
    rc = connect_with_wait(d, &c, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_migrate(c, &applied, e);
    if (rc < 0)
        goto fail;
    if (applied > 0)
        log_info("applied %d schema migration(s)", applied);

    d->sorter = wcs_sorter_new(cfg->registry_expected);
    if (d->sorter == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = wcs_db_plan_load(c, 0, &plan, &version, e);
    if (rc == ERR_NOTFOUND) {
        log_warnx("no active sort plan: requests go nowhere until one is activated "
                  "(wcsctl sortplan load FILE --activate)");
        version = 0;
    } else if (rc < 0) {
        goto fail;
    }
    /* Writers of parcels serialise on an advisory lock while they take revs
     * (store), so revs become visible in order and "rev > high-water mark"
     * never skips a change committed during this load. */
    rc = wcs_db_parcels_since(c, 0, load_parcel_cb, d, &d->parcel_rev, e);
    if (rc < 0)
        goto fail;

    rc = uv_loop_init(&d->loop);
    if (rc < 0) {
        err_set(e, rc, "cannot create the event loop: %s", uv_strerror(rc));
        goto fail;
    }
    rc = loop_handles_init(d, e);
    if (rc < 0) {
        uv_run(&d->loop, UV_RUN_DEFAULT);
        uv_loop_close(&d->loop);
        goto fail;
    }

    if (cfg->events_flush_interval_ms > 0)
        log_warnx("%s: events.flush_interval_ms is obsolete and ignored: the event writer "
                  "commits at once and batches only under load; remove the key",
                  cfg->path);
    wo = cfg->events;
    wo.spool_path = cfg->spool_path[0] ? cfg->spool_path : NULL;
    wo.spool_max_bytes = cfg->spool_max_bytes;
    wo.durable_cb = durable_cb;
    wo.durable_arg = d;
    wo.fence_node = cfg->node; /* writes nothing until this wcsd holds the line's lease */
    rc = wcs_event_writer_start(d->conninfo, &wo, &d->writer, e);
    if (rc < 0)
        goto fail_loop;
    if (plan != NULL)
        install_plan(d, plan, version);
    plan = NULL;

    memset(&ro, 0, sizeof(ro));
    ro.conninfo = d->conninfo;
    ro.since_rev = d->parcel_rev;
    ro.plan_version = wcs_sorter_plan_version(d->sorter);
    ro.resync_s = cfg->registry_resync_s;
    ro.retention_days = cfg->events_retention_days;
    ro.notify_cb = refresh_notify_cb;
    ro.notify_arg = d;
    rc = wcs_refresher_start(&ro, &d->refresher, e);
    if (rc < 0)
        goto fail_loop;
    memset(&lo, 0, sizeof(lo));
    lo.conninfo = d->conninfo;
    lo.node = cfg->node;
    lo.node_id = cfg->events.node_id;
    lo.lease_ms = (unsigned)cfg->ha_lease_ms;
    lo.changed_cb = lease_changed_cb;
    lo.changed_arg = d;
    rc = wcs_lease_start(&lo, &d->lease, e);
    if (rc < 0)
        goto fail_loop;
    rc = wcs_plcs_new(&d->cfg, d->sorter, d->writer, d->lease, &d->plcs, e);
    if (rc < 0)
        goto fail_loop;
    if (cfg->nscanners > 0) {
        rc = scan_usb_start(&d->loop, d->cfg.scanners, (size_t)cfg->nscanners, usb_scan_cb, d,
                            &d->usb, e);
        if (rc < 0)
            goto fail_loop;
    }
    rc = start_cameras(d, e);
    if (rc < 0)
        goto fail_loop;
    rc = start_console(d, c, e);
    if (rc == 0)
        rc = start_http(d, e);
    if (rc < 0)
        goto fail_loop;
    wcs_lease_view(d->lease, &lv);
    if (lv.role == WCS_LEASE_ACTIVE) {
        rc = open_line(d, c, e);
        if (rc < 0)
            goto fail_loop;
    } else {
        log_info("line %s: standby: %s holds the lease; this wcsd takes over when it lapses "
                 "(ha.lease_ms %d)",
                 cfg->node, lv.line.holder, cfg->ha_lease_ms);
    }
    PQfinish(c);
    c = NULL;
    pin_loop(d);
    if (svc_watchdog_interval_us() > 0 && uv_timer_init(&d->loop, &d->watchdog) == 0) {
        uint64_t ms = svc_watchdog_interval_us() / 1000;

        d->watchdog_on = true;
        uv_timer_start(&d->watchdog, watchdog_cb, 0, ms > 0 ? ms : 1);
    }
    system_event(d, "wcsd started");
    log_info("ready: node %s, plan v%d, %zu parcels indexed (registry %.1f MiB), %s %s:%d, "
             "%d PLC link(s), %d scanner(s), started in %.2f s, %s",
             cfg->node, wcs_sorter_plan_version(d->sorter),
             wcs_registry_count(wcs_sorter_registry(d->sorter)),
             (double)wcs_registry_memory(wcs_sorter_registry(d->sorter)) / (1024.0 * 1024.0),
             d->files.cert != NULL ? "https" : "http", cfg->http_listen[0] ? cfg->http_listen : "-",
             d->http_port, (int)wcs_plcs_count(d->plcs), cfg->nscanners,
             (double)uv_hrtime() / 1e9 - t0, d->line_open ? "active" : "standby");
    {
        char status[160];

        snprintf(status, sizeof(status), "node %s, plan v%d, %zu parcels, %d PLC link(s), %s",
                 cfg->node, wcs_sorter_plan_version(d->sorter),
                 wcs_registry_count(wcs_sorter_registry(d->sorter)), (int)wcs_plcs_count(d->plcs),
                 d->line_open ? "active" : "standby");
        svc_ready(status);
    }
    *out = d;
    return 0;

fail_loop:
    /* Handles exist: close them and let the loop run their callbacks. */
    PQfinish(c);
    wcs_plan_free(plan);
    plan = NULL;
    close_loop_handles(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    wcs_refresher_stop(d->refresher);
    d->refresher = NULL;
    wcsd_free(d);
    return rc;
fail:
    if (c)
        PQfinish(c);
    wcs_plan_free(plan);
    wcsd_free(d);
    return rc;
}

int wcsd_run(struct wcsd *d)
{
    int rc;

    uv_run(&d->loop, UV_RUN_DEFAULT);
    wcs_refresher_stop(d->refresher);
    d->refresher = NULL;
    system_event(d, "wcsd stopped");
    wcs_event_writer_stop(d->writer);
    d->writer = NULL;
    /* After the last write: the standby may take the line at once. */
    wcs_lease_stop(d->lease);
    d->lease = NULL;
    rc = uv_loop_close(&d->loop);
    if (rc != 0)
        log_warnx("event loop closed with handles still open: %s", uv_strerror(rc));
    log_info("stopped");
    return rc == 0 && !d->lease_lost ? 0 : -1;
}

void wcsd_free(struct wcsd *d)
{
    if (d == NULL)
        return;
    wcs_refresher_stop(d->refresher);
    wcs_event_writer_stop(d->writer);
    wcs_lease_stop(d->lease);
    wcs_sorter_free(d->sorter);
    wcs_printers_free(d->printers);
    pthread_mutex_destroy(&d->durable_mu);
    http_files_free(&d->files);
    while (d->nretired > 0)
        wcs_tokens_free(&d->retired[--d->nretired]);
    explicit_bzero(d->conninfo, sizeof(d->conninfo));
    free(d);
}

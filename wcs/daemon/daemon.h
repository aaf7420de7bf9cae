/*
 * daemon.h - wcsd's state and life cycle: one libuv loop owning the hot path
 * (registry, engine, decisions), a store thread (event writer), a refresher
 * thread (LISTEN/NOTIFY), and the operator HTTP API served on the loop.
 *
 * Data flows one way: refresher -> loop (registry, plan) ; loop -> writer
 * (events). The loop never waits on the database.
 */
#ifndef WCS_DAEMON_H
#define WCS_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <uv.h>

#include "common/err.h"
#include "wcs/config/config.h"
#include "wcs/core/engine.h"
#include "wcs/store/events.h"
#include "wcs/store/refresher.h"
#include "wcs/core/registry.h"

struct wcs_http;
struct wcs_plc;
struct conv_correlator;
struct scan_usb;

struct wcsd_counters {
    uint64_t decisions;        /* committed decisions */
    uint64_t dry_runs;         /* decisions asked for by operators (nothing changed) */
    uint64_t parcels_applied;  /* parcel records applied from the refresher */
    uint64_t plan_swaps;       /* plans installed since start */
};

struct wcsd {
    struct wcs_config cfg;
    char conninfo[1024];       /* holds the password when configured: never logged */
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    uv_async_t refresh_async;  /* the refresher queued a batch */
    struct wcs_registry *registry;
    struct wcs_engine *engine;
    struct wcs_plan *plan;     /* installed plan (owned) */
    int plan_version;          /* 0 none */
    int64_t parcel_rev;        /* highest parcel rev applied */
    struct wcs_event_writer *writer;
    struct wcs_refresher *refresher;
    struct wcs_http *http;
    int http_port;             /* bound port, 0 when disabled */
    uv_async_t durable_async;  /* the writer made more records durable */
    pthread_mutex_t durable_mu; /* guards durable_open against the store thread */
    bool durable_open;         /* durable_async may be sent to */
    struct conv_correlator *scans; /* recent WCS scans by location */
    struct wcs_plc *plcs[WCS_PLC_MAX];
    int nplcs;
    struct scan_usb *usb;      /* the WCS's own scanners (USB, tty), NULL when none */
    uint64_t started_us;       /* uv_hrtime()/1000 at start */
    struct wcsd_counters counters;
    bool stopping;
};

/*
 * Connects (retrying with back-off for cfg->db_connect_wait_s seconds),
 * migrates, loads the active plan and every parcel, starts the writer, the
 * refresher and the HTTP API. Returns 0 with *out ready to run, or an error
 * with e saying why (the database unreachable, a broken plan...).
 */
int wcsd_init(const struct wcs_config *cfg, struct wcsd **out, struct err *e);

/* Runs the loop until SIGTERM/SIGINT, then shuts down in order: HTTP, refresher,
 * writer (drained). Returns 0 on a clean stop. */
int wcsd_run(struct wcsd *d);

/* Frees everything; d must not be running. */
void wcsd_free(struct wcsd *d);

/*
 * Decides for the codes read (validated here with scan_code_check, resolved
 * in the registry) and the measurements in *m (reads/nreads ignored; NULL =
 * none). commit=false is a dry run. Loop thread only.
 * Returns 0 or ERR_STATE (no plan active).
 */
int wcsd_decide(struct wcsd *d, const char *const *codes, size_t ncodes,
                const struct wcs_decide_input *m, bool commit, struct wcs_decision *out,
                struct err *e);

/* Applies every batch the refresher has queued (loop thread). */
void wcsd_apply_refresh(struct wcsd *d);

#endif

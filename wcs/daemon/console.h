/*
 * console.h - the operator console's live state in wcsd: once a second it
 * looks at the line (PLC links, line state, chutes, scanners, the event
 * writer, the database, customs), settles the alarms, keeps them in
 * PostgreSQL (on libuv's pool: the loop never waits), and renders the
 * line, the alarms and the shift's figures as JSON for every console
 * attached (docs/console.md "Live"). All of it is built once per period
 * whatever the number of consoles, from memory. Loop thread only.
 */
#ifndef WCS_CONSOLE_H
#define WCS_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <uv.h>

#include "common/err.h"
#include "wcs/config/config.h"
#include "wcs/core/alarms.h"
#include "wcs/core/figures.h"

struct scan_usb;
struct wcs_event_writer;
struct wcs_plcs;
struct wcs_refresher;
struct wcs_sorter;
struct wcs_printers;

enum wcs_console_doc { WCS_DOC_LINE = 0, WCS_DOC_ALARMS, WCS_DOC_FIGURES, WCS_DOC_COUNT };

/* What the console reads; none owned, each outlives the console. */
struct scan_cameras;
struct wcs_video_coding;

struct wcs_console_sources {
    const struct wcs_config *cfg;
    struct wcs_sorter *sorter;
    struct wcs_plcs *plcs;
    struct wcs_event_writer *writer;
    struct wcs_refresher *refresher; /* may be NULL */
    struct scan_usb *usb;            /* may be NULL */
    struct scan_cameras *cameras;    /* the scan tunnel's; may be NULL */
    struct wcs_video_coding *video;  /* no-reads waiting for a code; may be NULL */
    const char *conninfo;            /* for keeping alarms (holds a secret) */
    struct wcs_printers *printers;   /* label printers (their failures alarm); may be NULL */
    struct wcs_lease *lease;         /* the line's lease: this wcsd active or standby */
    /* Called on the loop when a document was rendered anew (the HTTP
     * server sends it to its streams); doc is JSON text. */
    void (*publish_cb)(void *arg, enum wcs_console_doc which, const char *doc);
    void *publish_arg;
};

struct wcs_console;
struct wcs_lease;

/* This wcsd's part in its line, for GET /v1/status and the console's line
 * document: {"role": "active"|"standby", "this": "host:pid", "active":
 * holder or null, "active_since": RFC 3339 or null, "token", "standby":
 * the waiting one or null, "takeovers", "last_takeover": {"at", "from"} or
 * null}. Loop thread (reads the keeper's last view). */
json_t *wcs_console_ha_json(struct wcs_lease *l);

/* Loads the alarms kept before (the last day's, from c) and the chutes
 * operators disabled (into the sorter's engine), and starts the 1 s
 * timer. Returns 0 or -ENOMEM; a database error is logged, not fatal. */
int wcs_console_start(uv_loop_t *loop, const struct wcs_console_sources *src, PGconn *db,
                      struct wcs_console **out, struct err *e);
/* Stops the timer; the memory goes once the timer is closed and the last
 * store job has ended. */
void wcs_console_stop(struct wcs_console *c);

/* The shift's figures, counted by the PLC stations' decisions. */
struct wcs_figures *wcs_console_figures(struct wcs_console *c);

/* The document last rendered (JSON text, valid until the next render). */
const char *wcs_console_doc(struct wcs_console *c, enum wcs_console_doc which);

/* A user acknowledges alarm id: 0 (*json the alarm), ERR_NOTFOUND,
 * ERR_STATE (already; *json the alarm as it is). */
int wcs_console_ack(struct wcs_console *c, const char *id, const char *user, char **json);

/* Alarms open now. */
size_t wcs_console_alarms_open(struct wcs_console *c);

/* The alarms as Prometheus samples (docs/operations.md "Monitoring"), every
 * one labelled line="node": wcs_alarms_open_by_kind{kind} for every kind
 * (0 when none), and wcs_alarm_active{kind,subject,severity} 1 for each open
 * alarm, with wcs_alarm_active_seconds, how long it has been open. */
void wcs_console_alarm_metrics(struct wcs_console *c, FILE *f, const char *node);

/* The JSON of plan chute i as the line document shows it. */
char *wcs_console_chute_json(struct wcs_console *c, const char *chute);

/* Renders and publishes everything now (after an operator's change). */
void wcs_console_refresh(struct wcs_console *c);

#endif

/*
 * console.c - the console's live state (console.h).
 *
 * DESIGN: one timer a second. Each tick observes the alarm conditions,
 * settles them (wcs/core/alarms.c) and renders the line document; the
 * alarms document is rendered only when the alarms changed, the figures
 * every FIGURES_EVERY ticks. Each rendered document is published once,
 * whatever the number of consoles (the HTTP server copies the text to its
 * streams). Alarms that changed are written to PostgreSQL by one job at a
 * time on libuv's pool with the console's own connection; a failed write
 * leaves them unstored, so the next tick tries again: a database outage
 * delays the record, never loses it while wcsd runs.
 */
#include "wcs/daemon/console.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"
#include "conveyor/station.h"
#include "scanners/cameras.h"
#include "scanners/usb.h"
#include "wcs/core/sorter.h"
#include "wcs/daemon/plc.h"
#include "wcs/daemon/printing.h"
#include "wcs/daemon/video_coding.h"
#include "wcs/store/console_store.h"
#include "wcs/store/events.h"
#include "wcs/store/refresher.h"

#define TICK_MS 1000
#define FIGURES_EVERY 5        /* ticks between figures documents */
#define READ_RATE_MIN_SORTED 20 /* decisions a minute before the read rate can alarm */
#define STORE_BATCH 64         /* alarms written by one job */

struct store_job {
    uv_work_t work;
    struct wcs_console *c;
    struct wcs_alarm alarms[STORE_BATCH];
    size_t n;
    bool ok;
};

struct wcs_console {
    struct wcs_console_sources src;
    uv_timer_t timer;
    struct wcs_alarms *alarms;
    struct wcs_figures figures;
    char *doc[WCS_DOC_COUNT];
    uint64_t alarms_seen;       /* wcs_alarms_changes() when last rendered */
    unsigned ticks;
    PGconn *db;                 /* the store jobs' connection (pool thread) */
    bool storing;               /* a store job runs */
    bool stopping, timer_closed;
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void random_cb(uint8_t out[8], void *arg)
{
    (void)arg;
    if (getrandom(out, 8, 0) != 8) { /* never on Linux for 8 bytes; still an id */
        int64_t t = now_us();
        memcpy(out, &t, 8);
    }
}

/* --- the documents ---------------------------------------------------------- */

/* j's compact text (j is released); NULL without memory. */
static char *json_body_of(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return text;
}

static json_t *ms_or_null(int64_t us)
{
    return us ? json_integer((json_int_t)(us / 1000)) : json_null();
}

static json_t *alarm_json(const struct wcs_alarm *a)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "id", a->id, "kind",
                          wcs_alarm_kind_name((enum wcs_alarm_kind)a->kind), "subject",
                          a->subject, "severity",
                          wcs_alarm_severity_name((enum wcs_alarm_severity)a->severity), "text",
                          a->text, "raised_at", (json_int_t)(a->raised_us / 1000));

    json_object_set_new(j, "cleared_at", ms_or_null(a->cleared_us));
    json_object_set_new(j, "acked_by", a->acked_us ? json_string(a->acked_by) : json_null());
    json_object_set_new(j, "acked_at", ms_or_null(a->acked_us));
    return j;
}

static const char *special_of(const struct wcs_plan *plan, size_t chute)
{
    int s, k, n;

    for (s = 0; s < WCS_SPECIAL_COUNT; s++) {
        const uint16_t *cs = wcs_plan_special(plan, (enum wcs_special)s, &n);
        for (k = 0; k < n; k++)
            if (cs[k] == chute)
                return wcs_plan_special_name((enum wcs_special)s);
    }
    return NULL;
}

static const struct wcs_plan_route *route_of_chute(const struct wcs_plan *plan, size_t chute)
{
    size_t r;
    int k;

    for (r = 0; r < wcs_plan_nroutes(plan); r++) {
        const struct wcs_plan_route *rt = wcs_plan_route(plan, r);
        for (k = 0; k < rt->nchutes; k++)
            if (rt->chutes[k] == chute)
                return rt;
    }
    return NULL;
}

static json_t *chute_json(struct wcs_console *c, const struct wcs_plan *plan, size_t i)
{
    const struct wcs_chute_status *st = wcs_engine_chute(wcs_sorter_engine(c->src.sorter), i);
    const struct wcs_plan_route *rt = route_of_chute(plan, i);
    const char *special = special_of(plan, i);

    return json_pack("{s:s,s:s,s:s,s:I,s:i,s:s?,s:s?,s:s?}", "id", st->id, "description",
                     wcs_plan_chute(plan, i)->description, "state", wcs_chute_status_name(st),
                     "load", (json_int_t)st->load, "capacity", c->src.cfg->chute_capacity,
                     "route", rt ? rt->id : NULL, "route_description",
                     rt ? rt->description : NULL, "special", special);
}

char *wcs_console_chute_json(struct wcs_console *c, const char *chute)
{
    const struct wcs_plan *plan = wcs_sorter_plan(c->src.sorter);
    int i = plan ? wcs_plan_chute_find(plan, chute) : -1;

    if (i < 0 || wcs_engine_chute(wcs_sorter_engine(c->src.sorter), (size_t)i) == NULL)
        return NULL;
    return json_body_of(chute_json(c, plan, (size_t)i));
}

/* Decisions and no-reads a minute, over the last full minute and the one
 * running (so the figure moves every second, and is not half a minute's
 * at the start of one). */
static void last_minute(struct wcs_console *c, int64_t now, uint32_t *sorted, uint32_t *noread)
{
    const struct wcs_figures_minute *m0 = wcs_figures_minute(&c->figures, now, 0);
    const struct wcs_figures_minute *m1 = wcs_figures_minute(&c->figures, now, 1);
    double span_s = 60.0 + (double)(now % 60000000) / 1e6;

    *sorted = (uint32_t)(((m0 ? m0->sorted : 0) + (m1 ? m1->sorted : 0)) * 60.0 / span_s + 0.5);
    *noread = (uint32_t)(((m0 ? m0->noread : 0) + (m1 ? m1->noread : 0)) * 60.0 / span_s + 0.5);
}

static json_t *plcs_json(struct wcs_console *c)
{
    json_t *a = json_array();
    int i, k;

    for (i = 0; i < c->src.cfg->nplcs; i++) {
        const struct wcs_plc_config *pc = &c->src.cfg->plcs[i];
        const struct conv_station *st =
            (size_t)i < wcs_plcs_count(c->src.plcs) ? wcs_plcs_station(c->src.plcs, (size_t)i)
                                                    : NULL;
        char state[9] = "UNKNOWN";
        json_t *locs = json_array();

        if (st != NULL) {
            snprintf(state, sizeof(state), "%s", conv_station_line_state(st));
            for (k = (int)strlen(state); k > 0 && state[k - 1] == '_'; k--)
                state[k - 1] = '\0';
        }
        for (k = 0; k < pc->nlocations; k++)
            json_array_append_new(locs, json_string(pc->locations[k]));
        json_array_append_new(
            a, json_pack("{s:s,s:b,s:s,s:i,s:I,s:o}", "id", pc->id, "connected",
                         st ? conv_station_connected(st) : 0, "line_state", state, "speed_mm_s",
                         st ? conv_station_speed(st) : -1, "in_flight",
                         (json_int_t)(st ? conv_station_in_flight(st) : 0), "locations", locs));
    }
    return a;
}

static json_t *scanners_json(struct wcs_console *c)
{
    struct scan_usb_status st[WCS_SCANNER_MAX];
    size_t i, n = c->src.usb ? scan_usb_status(c->src.usb, st, WCS_SCANNER_MAX) : 0;
    json_t *a = json_array();

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "id", st[i].id, "location",
                                           st[i].location, "connected", st[i].connected));
    /* The tunnel's cameras are the line's scanners too: connected = open. */
    for (i = 0; i < scan_cameras_count(c->src.cameras); i++) {
        const struct scan_camera_cfg *cam = scan_cameras_cfg(c->src.cameras, i);
        struct scan_cam_stats cs;

        scan_cameras_stats(c->src.cameras, i, &cs);
        json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "id", cam->id, "location",
                                           cam->location, "connected", cs.open));
    }
    return a;
}

static bool database_up(struct wcs_console *c)
{
    return c->src.refresher == NULL || wcs_refresher_connected(c->src.refresher);
}

static long long customs_alarms(struct wcs_console *c)
{
    return c->src.refresher ? wcs_refresher_customs_alarms(c->src.refresher) : -1;
}

/* RFC 3339 UTC of Unix microseconds, or JSON null for 0. */
static json_t *utc_json(int64_t us)
{
    char buf[32];
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    if (us == 0 || gmtime_r(&t, &tm) == NULL)
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static json_t *text_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

json_t *wcs_console_ha_json(struct wcs_lease *l)
{
    struct wcs_lease_view v;
    const struct wcs_line_status *ln = &v.line;

    if (l == NULL)
        return json_null();
    wcs_lease_view(l, &v);
    return json_pack("{s:s,s:s,s:o,s:o,s:I,s:o,s:I,s:o}", "role",
                     v.role == WCS_LEASE_ACTIVE ? "active"
                     : v.role == WCS_LEASE_LOST ? "lost"
                                                : "standby",
                     "this", v.holder, "active", ln->held ? text_or_null(ln->holder) : json_null(),
                     "active_since", ln->held ? utc_json(ln->active_since_us) : json_null(),
                     "token", (json_int_t)ln->token, "standby", text_or_null(ln->standby),
                     "takeovers", (json_int_t)ln->takeovers, "last_takeover",
                     ln->takeovers > 0 ? json_pack("{s:o,s:s}", "at",
                                                   utc_json(ln->last_takeover_us), "from",
                                                   ln->last_takeover_from)
                                       : json_null());
}

static json_t *line_json(struct wcs_console *c, int64_t now)
{
    const struct wcs_plan *plan = wcs_sorter_plan(c->src.sorter);
    struct wcs_event_writer_stats ws;
    struct wcs_sorter_stats ss;
    json_t *chutes = json_array(), *j;
    uint32_t sorted, noread;
    size_t i, n = plan ? wcs_plan_nchutes(plan) : 0;

    memset(&ws, 0, sizeof(ws));
    if (c->src.writer)
        wcs_event_writer_stats(c->src.writer, &ws);
    wcs_sorter_get_stats(c->src.sorter, &ss);
    for (i = 0; i < n && wcs_engine_chute(wcs_sorter_engine(c->src.sorter), i); i++)
        json_array_append_new(chutes, chute_json(c, plan, i));
    last_minute(c, now, &sorted, &noread);
    j = json_pack("{s:I,s:s,s:i,s:s,s:o,s:o,s:o}", "at", (json_int_t)(now / 1000), "node",
                  c->src.cfg->node, "plan_version", wcs_sorter_plan_version(c->src.sorter),
                  "default_exit", plan ? wcs_plan_default_exit(plan) : "", "plcs",
                  plcs_json(c), "scanners", scanners_json(c), "chutes", chutes);
    json_object_set_new(j, "ha", wcs_console_ha_json(c->src.lease));
    if (c->src.video != NULL) {
        struct wcs_video_coding_stats vs;

        wcs_video_coding_stats(c->src.video, &vs);
        json_object_set_new(j, "noreads_pending", json_integer((json_int_t)vs.pending));
    }
    json_object_set_new(
        j, "now",
        json_pack("{s:I,s:o,s:I,s:I,s:I,s:b,s:I,s:I}", "sorted_last_min", (json_int_t)sorted,
                  "read_rate", sorted ? json_real(1.0 - (double)noread / sorted) : json_null(),
                  "decisions", (json_int_t)ss.decisions, "queued", (json_int_t)ws.queued,
                  "spooled", (json_int_t)ws.spool_records, "database", database_up(c),
                  "customs_alarms", (json_int_t)customs_alarms(c), "alarms_open",
                  (json_int_t)wcs_alarms_open(c->alarms)));
    return j;
}

static json_t *alarms_json(struct wcs_console *c)
{
    size_t i, n;
    const struct wcs_alarm *l = wcs_alarms_list(c->alarms, &n);
    json_t *a = json_array();

    for (i = 0; i < n; i++)
        json_array_append_new(a, alarm_json(&l[i]));
    return json_pack("{s:o}", "alarms", a);
}

static json_t *figures_json(struct wcs_console *c, int64_t now)
{
    const struct wcs_plan *plan = wcs_sorter_plan(c->src.sorter);
    struct wcs_event_writer_stats ws;
    json_t *minutes = json_array(), *routes = json_array();
    unsigned back;
    size_t r;
    int k;

    for (back = WCS_FIGURES_MINUTES; back-- > 0;) {
        const struct wcs_figures_minute *m = wcs_figures_minute(&c->figures, now, back);
        json_t *rejects;

        if (m == NULL)
            continue;
        rejects = json_object();
        for (k = 1; k < CONV_REASON_COUNT; k++)
            if (m->by_reason[k])
                json_object_set_new(rejects, conv_reason_code((enum conv_reason)k),
                                    json_integer(m->by_reason[k]));
        json_array_append_new(
            minutes, json_pack("{s:I,s:I,s:I,s:I,s:o}", "t", (json_int_t)(m->minute * 60000),
                               "sorted", (json_int_t)m->sorted, "noread", (json_int_t)m->noread,
                               "recirculated", (json_int_t)m->recirculated, "rejects", rejects));
    }
    for (r = 0; plan && r < wcs_plan_nroutes(plan) && r < WCS_FIGURES_ROUTES; r++)
        if (c->figures.routes_plan == wcs_sorter_plan_version(c->src.sorter))
            json_array_append_new(routes,
                                  json_pack("{s:s,s:I}", "route", wcs_plan_route(plan, r)->id,
                                            "parcels", (json_int_t)c->figures.routes[r]));
    memset(&ws, 0, sizeof(ws));
    if (c->src.writer)
        wcs_event_writer_stats(c->src.writer, &ws);
    return json_pack(
        "{s:o,s:{s:f,s:f,s:f,s:f},s:o,s:{s:I,s:I,s:I},s:b,s:I}", "minutes", minutes,
        "latency_us", "p50", wcs_figures_latency_ns(&c->figures, 0.5) / 1000, "p90",
        wcs_figures_latency_ns(&c->figures, 0.9) / 1000, "p99",
        wcs_figures_latency_ns(&c->figures, 0.99) / 1000, "p999",
        wcs_figures_latency_ns(&c->figures, 0.999) / 1000, "routes", routes, "events", "queued",
        (json_int_t)ws.queued, "spooled", (json_int_t)ws.spool_records, "written",
        (json_int_t)ws.written, "database", database_up(c), "customs_alarms",
        (json_int_t)customs_alarms(c));
}

static void publish(struct wcs_console *c, enum wcs_console_doc which, json_t *j)
{
    char *text = json_body_of(j);

    if (text == NULL)
        return;
    free(c->doc[which]);
    c->doc[which] = text;
    if (c->src.publish_cb)
        c->src.publish_cb(c->src.publish_arg, which, text);
}

/* --- alarms ------------------------------------------------------------------ */

static void observe(struct wcs_console *c, int64_t now)
{
    const struct wcs_plan *plan = wcs_sorter_plan(c->src.sorter);
    struct wcs_engine *eng = wcs_sorter_engine(c->src.sorter);
    struct scan_usb_status us[WCS_SCANNER_MAX];
    struct wcs_event_writer_stats ws;
    char text[WCS_ALARM_TEXT_MAX + 1];
    uint32_t sorted, noread;
    size_t i, n;
    long long ca;

    for (i = 0; i < wcs_plcs_count(c->src.plcs); i++) {
        const struct conv_station *st = wcs_plcs_station(c->src.plcs, i);
        const char *ls = conv_station_line_state(st);

        if (!conv_station_connected(st)) {
            snprintf(text, sizeof(text), "PLC %s is not connected", conv_station_name(st));
            wcs_alarms_observe(c->alarms, WCS_ALARM_PLC_LINK_DOWN, conv_station_name(st), text);
        }
        if (strncmp(ls, "ESTOP", 5) == 0) {
            snprintf(text, sizeof(text), "emergency stop on %s", conv_station_name(st));
            wcs_alarms_observe(c->alarms, WCS_ALARM_LINE_ESTOP, conv_station_name(st), text);
        } else if (strncmp(ls, "STOPPED", 7) == 0 || strncmp(ls, "FAULT", 5) == 0) {
            snprintf(text, sizeof(text), "line of %s %s", conv_station_name(st),
                     ls[0] == 'F' ? "in fault" : "stopped");
            wcs_alarms_observe(c->alarms, WCS_ALARM_LINE_STOPPED, conv_station_name(st), text);
        }
    }
    n = plan ? wcs_plan_nchutes(plan) : 0;
    for (i = 0; i < n; i++) {
        const struct wcs_chute_status *st = wcs_engine_chute(eng, i);
        if (st == NULL)
            break;
        if (st->state == WCS_CHUTE_FULL) {
            snprintf(text, sizeof(text), "chute %s full (%u parcels): close its bag", st->id,
                     (unsigned)st->load);
            wcs_alarms_observe(c->alarms, WCS_ALARM_CHUTE_FULL, st->id, text);
        }
    }
    last_minute(c, now, &sorted, &noread);
    if (sorted >= READ_RATE_MIN_SORTED &&
        (double)(sorted - noread) * 100 < (double)c->src.cfg->read_rate_min_pct * sorted) {
        snprintf(text, sizeof(text), "read rate %.1f%% over the last minute (alarm under %d%%)",
                 100.0 * (sorted - noread) / sorted, c->src.cfg->read_rate_min_pct);
        wcs_alarms_observe(c->alarms, WCS_ALARM_READ_RATE_LOW, "", text);
    }
    n = c->src.usb ? scan_usb_status(c->src.usb, us, WCS_SCANNER_MAX) : 0;
    for (i = 0; i < n; i++)
        if (!us[i].connected) {
            snprintf(text, sizeof(text), "scanner %.31s at %.31s is not connected", us[i].id,
                     us[i].location);
            wcs_alarms_observe(c->alarms, WCS_ALARM_SCANNER_UNPLUGGED, us[i].id, text);
        }
    for (i = 0; i < scan_cameras_count(c->src.cameras); i++) {
        const struct scan_camera_cfg *cam = scan_cameras_cfg(c->src.cameras, i);
        struct scan_cam_stats cs;

        scan_cameras_stats(c->src.cameras, i, &cs);
        if (!cs.open) {
            snprintf(text, sizeof(text), "camera %.31s at %.31s is not open (%.40s)", cam->id,
                     cam->location, cam->path);
            wcs_alarms_observe(c->alarms, WCS_ALARM_SCANNER_UNPLUGGED, cam->id, text);
        }
    }
    memset(&ws, 0, sizeof(ws));
    if (c->src.writer)
        wcs_event_writer_stats(c->src.writer, &ws);
    if (ws.spool_alarm) {
        snprintf(text, sizeof(text), "event spool filling: %llu records, %llu bytes",
                 (unsigned long long)ws.spool_records, (unsigned long long)ws.spool_bytes);
        wcs_alarms_observe(c->alarms, WCS_ALARM_SPOOL_FILLING, "", text);
    }
    if (!database_up(c))
        wcs_alarms_observe(c->alarms, WCS_ALARM_DATABASE_DOWN, "",
                           "PostgreSQL cannot be reached: events go to the spool");
    ca = customs_alarms(c);
    if (ca > 0) {
        snprintf(text, sizeof(text), "%lld customs worker alarm(s) open (Customs page)", ca);
        wcs_alarms_observe(c->alarms, WCS_ALARM_CUSTOMS_FAILING, "", text);
    }
    for (i = 0; i < wcs_printers_count(c->src.printers); i++) {
        char why[160];

        if (wcs_printers_failed(c->src.printers, i, why, sizeof(why))) {
            const struct wcs_printer_config *pc = wcs_printers_config(c->src.printers, i);

            char where[64];

            snprintf(where, sizeof(where), "%.40s:%d", pc->host, pc->port);
            if (snprintf(text, sizeof(text), "label printer %s (%s) did not print %s", pc->id,
                         where, why) >= (int)sizeof(text))
                text[sizeof(text) - 2] = '~'; /* cut: the log has all of it */
            wcs_alarms_observe(c->alarms, WCS_ALARM_PRINTER_DOWN, pc->id, text);
        }
    }
    ca = c->src.refresher ? wcs_refresher_manifests_refused(c->src.refresher) : -1;
    if (ca > 0) {
        snprintf(text, sizeof(text),
                 "the broker refused %lld dispatch manifest(s) in the last 24 h (Bags & dispatches)",
                 ca);
        wcs_alarms_observe(c->alarms, WCS_ALARM_MANIFEST_REFUSED, "", text);
    }
}

static void store_work_cb(uv_work_t *w)
{
    struct store_job *j = w->data;
    struct wcs_console *c = j->c;
    struct err e;
    size_t i;

    j->ok = false;
    if (c->db == NULL || PQstatus(c->db) != CONNECTION_OK) {
        if (c->db != NULL)
            PQfinish(c->db);
        c->db = NULL;
        if (wcs_db_connect(c->src.conninfo, &c->db, &e) < 0 ||
            wcs_db_bound_calls(c->db, 3000, 1000, &e) < 0) {
            PQfinish(c->db);
            c->db = NULL;
            return;
        }
    }
    for (i = 0; i < j->n; i++)
        if (wcs_db_alarm_put(c->db, c->src.cfg->node, &j->alarms[i], &e) < 0) {
            log_debug("console: alarm %s not kept yet: %s", j->alarms[i].id, e.msg);
            return;
        }
    j->ok = true;
}

static void console_free(struct wcs_console *c);

static void store_done_cb(uv_work_t *w, int status)
{
    struct store_job *j = w->data;
    struct wcs_console *c = j->c;
    size_t i;

    (void)status;
    c->storing = false;
    if (j->ok)
        for (i = 0; i < j->n; i++)
            wcs_alarms_stored(c->alarms, j->alarms[i].id, j->alarms[i].version);
    free(j);
    if (c->stopping && c->timer_closed)
        console_free(c);
}

static void store_alarms(struct wcs_console *c)
{
    struct store_job *j;

    if (c->storing || c->src.conninfo == NULL)
        return;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->n = wcs_alarms_unstored(c->alarms, j->alarms, STORE_BATCH);
    if (j->n == 0) {
        free(j);
        return;
    }
    j->c = c;
    j->work.data = j;
    if (uv_queue_work(c->timer.loop, &j->work, store_work_cb, store_done_cb) < 0) {
        free(j);
        return;
    }
    c->storing = true;
}

static void render(struct wcs_console *c, bool figures)
{
    int64_t now = now_us();

    publish(c, WCS_DOC_LINE, line_json(c, now));
    if (wcs_alarms_changes(c->alarms) != c->alarms_seen || c->doc[WCS_DOC_ALARMS] == NULL) {
        c->alarms_seen = wcs_alarms_changes(c->alarms);
        publish(c, WCS_DOC_ALARMS, alarms_json(c));
    }
    if (figures || c->doc[WCS_DOC_FIGURES] == NULL)
        publish(c, WCS_DOC_FIGURES, figures_json(c, now));
}

static void tick_cb(uv_timer_t *t)
{
    struct wcs_console *c = t->data;
    int64_t now = now_us();
    size_t changed;

    observe(c, now);
    changed = wcs_alarms_settle(c->alarms, now, random_cb, NULL);
    if (changed > 0) {
        size_t i, n;
        const struct wcs_alarm *l = wcs_alarms_list(c->alarms, &n);
        for (i = 0; i < n; i++)
            if (l[i].raised_us == now)
                log_warnx("alarm %s: %s %s: %s", l[i].id,
                          wcs_alarm_kind_name((enum wcs_alarm_kind)l[i].kind), l[i].subject,
                          l[i].text);
    }
    store_alarms(c);
    render(c, ++c->ticks % FIGURES_EVERY == 0);
}

void wcs_console_refresh(struct wcs_console *c)
{
    render(c, false);
}

int wcs_console_ack(struct wcs_console *c, const char *id, const char *user, char **json)
{
    const struct wcs_alarm *a = NULL;
    int rc = wcs_alarms_ack(c->alarms, id, user, now_us(), &a);

    *json = NULL;
    if (a != NULL)
        *json = json_body_of(alarm_json(a));
    if (rc == 0) {
        store_alarms(c);
        render(c, false);
    }
    return rc;
}

/* --- start / stop ---------------------------------------------------------- */

static int restore_cb(void *arg, const struct wcs_alarm *a)
{
    wcs_alarms_restore(arg, a);
    return 0;
}

static int hold_cb(void *arg, const char *chute, const char *held_by)
{
    struct wcs_console *c = arg;

    if (wcs_engine_set_chute_held(wcs_sorter_engine(c->src.sorter), chute, true) == 0)
        log_info("console: chute %s stays disabled (by %s)", chute, held_by);
    return 0;
}

int wcs_console_start(uv_loop_t *loop, const struct wcs_console_sources *src, PGconn *db,
                      struct wcs_console **out, struct err *e)
{
    struct wcs_console *c = calloc(1, sizeof(*c));
    unsigned delay[WCS_ALARM_KIND_COUNT];
    struct err dbe;
    int k;

    if (c == NULL)
        return err_set(e, -ENOMEM, "console: out of memory");
    c->src = *src;
    for (k = 0; k < WCS_ALARM_KIND_COUNT; k++)
        delay[k] = wcs_alarm_default_delay_s((enum wcs_alarm_kind)k);
    delay[WCS_ALARM_PLC_LINK_DOWN] = (unsigned)src->cfg->alarm_delay_s[0];
    delay[WCS_ALARM_CHUTE_FULL] = (unsigned)src->cfg->alarm_delay_s[1];
    delay[WCS_ALARM_LINE_STOPPED] = (unsigned)src->cfg->alarm_delay_s[2];
    delay[WCS_ALARM_READ_RATE_LOW] = (unsigned)src->cfg->alarm_delay_s[3];
    delay[WCS_ALARM_SCANNER_UNPLUGGED] = (unsigned)src->cfg->alarm_delay_s[4];
    delay[WCS_ALARM_DATABASE_DOWN] = (unsigned)src->cfg->alarm_delay_s[5];
    c->alarms = wcs_alarms_new(delay);
    if (c->alarms == NULL) {
        free(c);
        return err_set(e, -ENOMEM, "console: out of memory");
    }
    wcs_figures_init(&c->figures);
    if (db != NULL) {
        if (wcs_db_alarms_recent(db, src->cfg->node, now_us() - WCS_ALARM_KEEP_US, restore_cb,
                                 c->alarms, &dbe) < 0)
            log_warnx("console: earlier alarms not loaded: %s", dbe.msg);
        if (wcs_db_chute_holds(db, src->cfg->node, hold_cb, c, &dbe) < 0)
            log_warnx("console: disabled chutes not loaded: %s", dbe.msg);
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, tick_cb, TICK_MS, TICK_MS);
    render(c, true);
    *out = c;
    return 0;
}

size_t wcs_console_alarms_open(struct wcs_console *c)
{
    return wcs_alarms_open(c->alarms);
}

/* A label value as the exposition format wants it: \\, \" and \n escaped. */
static void label_value(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
}

void wcs_console_alarm_metrics(struct wcs_console *c, FILE *f, const char *node)
{
    size_t counts[WCS_ALARM_KIND_COUNT] = {0}, n, i;
    const struct wcs_alarm *al = wcs_alarms_list(c->alarms, &n);
    int64_t now = now_us();
    int k;

    for (i = 0; i < n; i++)
        if (al[i].cleared_us == 0 && al[i].kind < WCS_ALARM_KIND_COUNT)
            counts[al[i].kind]++;
    fputs("# TYPE wcs_alarms_open_by_kind gauge\n", f);
    for (k = 0; k < WCS_ALARM_KIND_COUNT; k++)
        fprintf(f, "wcs_alarms_open_by_kind{line=\"%s\",kind=\"%s\"} %zu\n", node,
                wcs_alarm_kind_name((enum wcs_alarm_kind)k), counts[k]);
    fputs("# TYPE wcs_alarm_active gauge\n# TYPE wcs_alarm_active_seconds gauge\n", f);
    for (i = 0; i < n; i++) {
        const char *metric[2] = {"wcs_alarm_active", "wcs_alarm_active_seconds"};
        int m;

        if (al[i].cleared_us != 0)
            continue;
        for (m = 0; m < 2; m++) {
            fprintf(f, "%s{line=\"%s\",kind=\"%s\",subject=\"", metric[m], node,
                    wcs_alarm_kind_name((enum wcs_alarm_kind)al[i].kind));
            label_value(f, al[i].subject);
            fprintf(f, "\",severity=\"%s\"} ",
                    wcs_alarm_severity_name((enum wcs_alarm_severity)al[i].severity));
            if (m == 0)
                fputs("1\n", f);
            else
                fprintf(f, "%.3f\n", (double)(now - al[i].raised_us) / 1e6);
        }
    }
}

struct wcs_figures *wcs_console_figures(struct wcs_console *c)
{
    return &c->figures;
}

const char *wcs_console_doc(struct wcs_console *c, enum wcs_console_doc which)
{
    return (unsigned)which < WCS_DOC_COUNT ? c->doc[which] : NULL;
}

static void console_free(struct wcs_console *c)
{
    int k;

    for (k = 0; k < WCS_DOC_COUNT; k++)
        free(c->doc[k]);
    if (c->db != NULL)
        PQfinish(c->db);
    wcs_alarms_free(c->alarms);
    free(c);
}

static void timer_closed_cb(uv_handle_t *h)
{
    struct wcs_console *c = h->data;

    c->timer_closed = true;
    if (!c->storing)
        console_free(c);
}

void wcs_console_stop(struct wcs_console *c)
{
    if (c == NULL)
        return;
    c->stopping = true;
    c->src.publish_cb = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
}

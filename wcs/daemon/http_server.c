/*
 * http_server.c - wcsd's operator HTTP API on the daemon's loop (see http_api.h):
 * the server, its guard (routes, tokens, sessions, rates) and the machine
 * API; the console's routes are in http_console.c.
 *
 * DESIGN: every request is decided on MHD's first call for it, when its
 * headers are in and its body is not: the route says what it needs (nothing,
 * a token that may read, one that may post scans), http_guard.c says
 * whether the token allows it, and a POST /v1/scans over its client's rate
 * is refused before a byte of its body is read. A refusal is answered on
 * that first call (MHD then closes the connection); a request let in is
 * answered on its last call, once all of it is in, so its connection can
 * be kept alive for the next. Refusals are counted for /metrics and logged
 * with the client's address and the token's name (never its secret), at
 * most REFUSAL_LOG_BURST lines at once and one a second after that, so a
 * flood cannot flood the log. Text from the network reaches the log only
 * after it was checked or made printable.
 */
#include "wcs/daemon/http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "conveyor/correlate.h"
#include "scanners/cameras.h"
#include "scanners/usb.h"
#include "wcs/daemon/video_coding.h"
#include "wcs/core/sorter.h"
#include "wcs/core/why.h"
#include "wcs/daemon/console.h"
#include "wcs/daemon/http_guard.h"
#include "wcs/daemon/http_internal.h"
#include "wcs/daemon/login.h"
#include "wcs/daemon/plc.h"
#include "wcs/daemon/scan_body.h"
#include "wcs/daemon/sessions.h"
#include "wcs/store/refresher.h"

#define CONNECTIONS_MAX 64   /* open connections, all clients together */
#define RATE_CLIENTS 256     /* client addresses whose scan rate is tracked */
#define REFUSAL_LOG_BURST 20 /* refusals logged at once, then one a second */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define LOGIN_RATE 1         /* login attempts a second per client address ... */
#define LOGIN_BURST 5        /* ... and at most this many at once */
#define LOGIN_NAME_BURST 10  /* attempts on one user name at once, from anywhere */
#define LOGINS_RUNNING_MAX 8 /* logins being checked at once; more: 503 */
#define SESSION_COOKIE "wcs_session"
#define CSRF_HEADER "X-CSRF-Token"

static const char *const refusal_names[REFUSED_COUNT] = {
    [REFUSED_UNAUTHORIZED] = "unauthorized", [REFUSED_FORBIDDEN] = "forbidden",
    [REFUSED_RATE] = "rate_limited",         [REFUSED_LOCATION] = "unknown_location",
    [REFUSED_OVERLOADED] = "overloaded",
};

static void arm_timer(struct wcs_http *h);

void run_mhd(struct wcs_http *h)
{
    MHD_run(h->mhd);
    arm_timer(h);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run_mhd(p->data);
}

static void timer_cb(uv_timer_t *t)
{
    run_mhd(t->data);
}

void http_kick(struct wcs_http *h)
{
    if (!h->stopping)
        uv_timer_start(&h->timer, timer_cb, 0, 0);
}

static void arm_timer(struct wcs_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
        uv_timer_start(&h->timer, timer_cb, ms, 0);
    else
        uv_timer_stop(&h->timer);
}

/* Queues body (freed by MHD) with its type and, when hname is not NULL, one
 * more header. */
enum MHD_Result reply_hdr(struct MHD_Connection *conn, unsigned status, const char *type,
                                 char *body, const char *hname, const char *hvalue)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (body == NULL)
        return MHD_NO;
    r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result reply_doc(struct MHD_Connection *conn, unsigned status, const char *type,
                          char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body)
{
    return reply_hdr(conn, status, type, body, NULL, NULL);
}

char *json_body(json_t *j)
{
    char *body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return body;
}

enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    return reply(conn, status, "application/json", json_body(j));
}

json_t *error_json(const char *code, const char *message)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
}

enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                   const char *message)
{
    return reply_json(conn, status, error_json(code, message));
}

/* An error answer with one more header (WWW-Authenticate, Retry-After). */
enum MHD_Result reply_error_hdr(struct MHD_Connection *conn, unsigned status,
                                       const char *code, const char *message, const char *hname,
                                       const char *hvalue)
{
    return reply_hdr(conn, status, "application/json", json_body(error_json(code, message)), hname,
                     hvalue);
}

static json_t *parcel_json(const struct wcs_parcel *p)
{
    char postal[12] = "", service[WCS_SERVICE_MAX + 1];

    if (p->postal != WCS_POSTAL_NONE)
        snprintf(postal, sizeof(postal), "%06u", p->postal);
    memcpy(service, p->service, WCS_SERVICE_MAX);
    service[WCS_SERVICE_MAX] = '\0';
    return json_pack("{s:I,s:s,s:s#,s:s,s:i,s:i,s:i,s:i,s:s}", "id", (json_int_t)p->id,
                     "postal_code", postal, "country", p->country, (size_t)2, "service", service,
                     "weight_g", (int)p->weight_g, "length_mm", (int)p->length_mm, "width_mm",
                     (int)p->width_mm, "height_mm", (int)p->height_mm, "customs",
                     cust_status_name((enum cust_status)p->customs));
}

static json_t *plcs_json(const struct wcs_plcs *plcs)
{
    json_t *a = json_array();
    size_t k;

    for (k = 0; k < wcs_plcs_count(plcs); k++) {
        const struct conv_station *p = wcs_plcs_station(plcs, k);
        struct conv_station_stats ps;

        conv_station_get_stats(p, &ps);
        json_array_append_new(
            a, json_pack("{s:s,s:b,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "id",
                         conv_station_name(p), "connected", conv_station_connected(p), "port",
                         conv_station_port(p), "line_state", conv_station_line_state(p),
                         "in_flight", (json_int_t)conv_station_in_flight(p), "requests",
                         (json_int_t)ps.requests, "repeated", (json_int_t)ps.repeated,
                         "recirculations", (json_int_t)ps.recirculations, "answers",
                         (json_int_t)ps.answers, "late", (json_int_t)ps.late, "updates",
                         (json_int_t)ps.updates, "duplicates", (json_int_t)ps.duplicates,
                         "acks", (json_int_t)ps.acks, "log_dropped", (json_int_t)ps.log_dropped,
                         "ambiguous", (json_int_t)ps.ambiguous));
    }
    return a;
}

static enum MHD_Result handle_status(struct wcs_http *h, struct MHD_Connection *conn)
{
    const struct wcs_http_sources *src = &h->src;
    struct wcs_sorter *sorter = src->sorter;
    const struct wcs_plan *plan = wcs_sorter_plan(sorter);
    const struct wcs_registry *reg = wcs_sorter_registry(sorter);
    struct wcs_event_writer_stats ws;
    struct wcs_sorter_stats ss;
    json_t *chutes = json_array(), *j;
    size_t i, n = plan ? wcs_plan_nchutes(plan) : 0;

    memset(&ws, 0, sizeof(ws));
    if (src->writer)
        wcs_event_writer_stats(src->writer, &ws);
    wcs_sorter_get_stats(sorter, &ss);
    for (i = 0; i < n; i++) {
        const struct wcs_chute_status *cs = wcs_engine_chute(wcs_sorter_engine(sorter), i);
        json_array_append_new(chutes, json_pack("{s:s,s:s,s:i}", "id", cs->id, "state",
                                                wcs_chute_state_name(cs->state), "load",
                                                (int)cs->load));
    }
    j = json_pack("{s:s,s:b,s:i,s:s,s:I,s:I,s:I,s:b,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
                  "s:b},s:I,s:I,s:f,s:o,s:o}",
                  "node", src->node, "ready", 1, "plan_version", wcs_sorter_plan_version(sorter),
                  "plan_source", plan ? wcs_plan_source(plan) : "", "parcels",
                  (json_int_t)wcs_registry_count(reg), "registry_bytes",
                  (json_int_t)wcs_registry_memory(reg), "parcel_rev",
                  (json_int_t)*src->parcel_rev, "refresher_connected",
                  src->refresher ? wcs_refresher_connected(src->refresher) : 0,
                  "customs_alarms",
                  (json_int_t)(src->refresher ? wcs_refresher_customs_alarms(src->refresher) : -1),
                  "events",
                  "pushed", (json_int_t)ws.pushed, "written", (json_int_t)ws.written, "queued",
                  (json_int_t)ws.queued, "dropped", (json_int_t)ws.dropped, "db_errors",
                  (json_int_t)ws.db_errors, "durable", (json_int_t)ws.durable, "spooled",
                  (json_int_t)ws.spooled, "drained", (json_int_t)ws.drained, "spool_records",
                  (json_int_t)ws.spool_records, "spool_bytes", (json_int_t)ws.spool_bytes,
                  "spool_alarm", ws.spool_alarm, "decisions", (json_int_t)ss.decisions,
                  "dry_runs", (json_int_t)ss.dry_runs, "uptime_s",
                  (double)(uv_hrtime() / 1000 - src->started_us) / 1e6, "chutes", chutes,
                  "plcs", plcs_json(src->plcs));
    json_object_set_new(j, "ha", wcs_console_ha_json(src->lease));
    return reply_json(conn, MHD_HTTP_OK, j);
}

struct decide_args {
    const char *codes[CONV_READS_MAX];
    size_t ncodes;
    struct wcs_decide_input m;
    char bad[96];
};

static int parse_uint(const char *v, unsigned max, unsigned *out)
{
    char *end;
    unsigned long n;

    if (v == NULL || *v == '\0')
        return -1;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (*end != '\0' || errno != 0 || n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static enum MHD_Result decide_arg_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct decide_args *a = cls;
    unsigned n = 0;

    (void)kind;
    if (strcmp(key, "code") == 0) {
        if (value != NULL && *value != '\0' && a->ncodes < CONV_READS_MAX)
            a->codes[a->ncodes++] = value;
        return MHD_YES;
    }
    if (strcmp(key, "weight_g") == 0 && parse_uint(value, 10000000, &n) == 0)
        a->m.weight_g = n;
    else if (strcmp(key, "length_mm") == 0 && parse_uint(value, 65535, &n) == 0)
        a->m.length_mm = (uint16_t)n;
    else if (strcmp(key, "width_mm") == 0 && parse_uint(value, 65535, &n) == 0)
        a->m.width_mm = (uint16_t)n;
    else if (strcmp(key, "height_mm") == 0 && parse_uint(value, 65535, &n) == 0)
        a->m.height_mm = (uint16_t)n;
    else if (strcmp(key, "recirc") == 0 && parse_uint(value, 1000, &n) == 0)
        a->m.recirculations = n;
    else
        snprintf(a->bad, sizeof(a->bad), "%s: bad or unknown parameter", key);
    return MHD_YES;
}

static enum MHD_Result handle_decide(struct wcs_http *h, struct MHD_Connection *conn)
{
    struct wcs_sorter *sorter = h->src.sorter;
    struct decide_args a;
    struct wcs_decision dec;
    struct err e;
    json_t *j, *codes;
    size_t i;

    memset(&a, 0, sizeof(a));
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, decide_arg_cb, &a);
    if (a.bad[0])
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", a.bad);
    if (wcs_sorter_decide(sorter, a.codes, a.ncodes, &a.m, false, &dec, &e) < 0)
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no_plan", e.msg);
    codes = json_array();
    for (i = 0; i < a.ncodes; i++)
        json_array_append_new(codes, json_string(a.codes[i]));
    j = json_pack("{s:o,s:s,s:s,s:i}", "codes", codes, "destination", dec.destination, "reason",
                  conv_reason_code(dec.reason), "plan_version", wcs_sorter_plan_version(sorter));
    json_object_set_new(j, "route",
                        dec.route >= 0 ? json_string(wcs_sorter_route_id(sorter, dec.route))
                                       : json_null());
    json_object_set_new(j, "decided_code",
                        dec.read >= 0 ? json_string(a.codes[dec.read]) : json_null());
    json_object_set_new(j, "parcel", dec.parcel ? parcel_json(dec.parcel) : json_null());
    json_object_set_new(j, "why", wcs_decision_why(wcs_sorter_plan(sorter),
                                                   wcs_sorter_engine(sorter), &dec));
    return reply_json(conn, MHD_HTTP_OK, j);
}

static enum MHD_Result handle_parcel(struct wcs_http *h, struct MHD_Connection *conn,
                                     const char *code)
{
    const struct wcs_parcel *p = wcs_sorter_find(h->src.sorter, code);

    if (p == NULL)
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
                           "no pre-advice for this code in wcsd's index");
    return reply_json(conn, MHD_HTTP_OK, parcel_json(p));
}

static enum MHD_Result refuse(const struct req *rq, enum refusal why, const char *message,
                              const char *hvalue);

/* Checks every scan of the body (one bad item refuses the request), then
 * keeps them all or answers an error: never 2xx for a scan not kept. */
static enum MHD_Result handle_scans(const struct req *rq, struct request_state *b)
{
    struct wcs_http *h = rq->h;
    struct MHD_Connection *conn = rq->conn;
    struct conv_scan scans[WCS_SCANS_PER_REQUEST];
    struct timespec ts;
    struct err e;
    char msg[256];
    size_t i, n, accepted = 0;
    int rc;

    /* Its bytes past the cap were not kept (access_cb). */
    if (b->too_large)
        return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body over 64 KiB");
    rc = wcs_scan_body_parse(b->data, b->len, scans, &n, &e);
    if (rc == ERR_FULL)
        return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_many", e.msg);
    if (rc < 0)
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", e.msg);
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Check everything first: a bad item refuses the whole request. */
    for (i = 0; i < n; i++) {
        if (!wcs_plcs_scan_location_known(h->src.plcs, scans[i].location)) {
            snprintf(msg, sizeof(msg),
                     "scan %zu: location %s is not a configured scan location "
                     "(plcs[].locations, scanners[].location, cameras.sources[].location)",
                     i, scans[i].location);
            return refuse(rq, REFUSED_LOCATION, msg, NULL);
        }
    }
    if (!wcs_plcs_scan_room(h->src.plcs, n))
        return refuse(rq, REFUSED_OVERLOADED,
                      "the event log has no room for scans now (PLC records go first)", NULL);
    for (i = 0; i < n; i++) {
        struct conv_scan *s = &scans[i];

        if (s->source[0] == '\0')
            snprintf(s->source, sizeof(s->source), "http");
        /* Minus its stated age: a scan posted late is placed when it was
         * read, outside the read windows of parcels it does not belong to. */
        s->at_us += (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        if (wcs_plcs_scan(h->src.plcs, s, &e) < 0) {
            log_warnx("%s", e.msg);
            snprintf(msg, sizeof(msg), "scan %zu not kept: %.200s", i, e.msg);
            break;
        }
        accepted++;
    }
    if (accepted < n) {
        json_t *j = error_json("not_kept", msg);
        json_object_set_new(j, "accepted", json_integer((json_int_t)accepted));
        return reply_hdr(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", json_body(j),
                         MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    return reply_json(conn, MHD_HTTP_ACCEPTED, json_pack("{s:I}", "accepted", (json_int_t)accepted));
}

static json_t *scanners_json(struct scan_usb *usb)
{
    struct scan_usb_status st[WCS_SCANNER_MAX];
    json_t *a = json_array();
    size_t i, n = usb ? scan_usb_status(usb, st, WCS_SCANNER_MAX) : 0;

    for (i = 0; i < n; i++) {
        char vidpid[16];
        snprintf(vidpid, sizeof(vidpid), "%04X:%04X", st[i].vid, st[i].pid);
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "id", st[i].id,
                         "location", st[i].location, "kind", scan_source_kind_name(st[i].kind),
                         "connected", st[i].connected, "device", st[i].vid ? vidpid : "",
                         "last_read_us", (json_int_t)st[i].last_read_us, "reads",
                         (json_int_t)st[i].reads, "errors", (json_int_t)st[i].errors, "attaches",
                         (json_int_t)st[i].attaches, "detaches", (json_int_t)st[i].detaches,
                         "last_code", st[i].last_code));
    }
    return a;
}

/* The tunnel's cameras and the no-reads' video coding, for /v1/scanners. */
static void add_cameras(json_t *doc, const struct wcs_http_sources *src)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < scan_cameras_count(src->cameras); i++) {
        const struct scan_camera_cfg *c = scan_cameras_cfg(src->cameras, i);
        struct scan_cam_stats st;

        scan_cameras_stats(src->cameras, i, &st);
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "id", c->id,
                         "location", c->location, "kind", scan_camera_kind_name(c->kind), "path",
                         c->path, "open", st.open, "frames", (json_int_t)st.frames, "read",
                         (json_int_t)st.read, "noread", (json_int_t)st.noread, "several",
                         (json_int_t)st.several, "bad", (json_int_t)st.bad, "dropped",
                         (json_int_t)st.dropped, "decode_ms", st.decode_ms));
    }
    json_object_set_new(doc, "cameras", a);
    if (src->video != NULL) {
        struct wcs_video_coding_stats v;

        wcs_video_coding_stats(src->video, &v);
        json_object_set_new(doc, "video_coding",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "noreads",
                                      (json_int_t)v.noreads, "images", (json_int_t)v.images,
                                      "dropped", (json_int_t)v.dropped, "waiting",
                                      (json_int_t)v.waiting, "keys", (json_int_t)v.keys,
                                      "keyed_used", (json_int_t)v.keyed_used, "pending",
                                      (json_int_t)v.pending));
    }
}

/* Per camera: frames, no-reads, drops; the no-reads recorded. */
static void camera_metrics(FILE *f, const struct wcs_http_sources *src)
{
    size_t i;

    if (scan_cameras_count(src->cameras) > 0)
        fprintf(f, "# TYPE wcs_camera_frames_total counter\n"
                   "# TYPE wcs_camera_noread_frames_total counter\n"
                   "# TYPE wcs_camera_dropped_total counter\n");
    for (i = 0; i < scan_cameras_count(src->cameras); i++) {
        const struct scan_camera_cfg *c = scan_cameras_cfg(src->cameras, i);
        struct scan_cam_stats st;

        scan_cameras_stats(src->cameras, i, &st);
        fprintf(f,
                "wcs_camera_frames_total{line=\"%s\",camera=\"%s\"} %llu\n"
                "wcs_camera_noread_frames_total{line=\"%s\",camera=\"%s\"} %llu\n"
                "wcs_camera_dropped_total{line=\"%s\",camera=\"%s\"} %llu\n",
                src->node, c->id, (unsigned long long)st.frames, src->node, c->id,
                (unsigned long long)st.noread, src->node, c->id, (unsigned long long)st.dropped);
    }
    if (src->video != NULL) {
        struct wcs_video_coding_stats v;

        wcs_video_coding_stats(src->video, &v);
        fprintf(f,
                "# TYPE wcs_noreads_recorded_total counter\n"
                "wcs_noreads_recorded_total{line=\"%s\"} %llu\n"
                "# TYPE wcs_noreads_waiting gauge\nwcs_noreads_waiting{line=\"%s\"} %zu\n"
                "# TYPE wcs_noreads_keyed_used_total counter\n"
                "wcs_noreads_keyed_used_total{line=\"%s\"} %llu\n",
                src->node, (unsigned long long)v.noreads, src->node, v.waiting, src->node,
                (unsigned long long)v.keyed_used);
    }
}

static enum MHD_Result handle_metrics(struct wcs_http *h, struct MHD_Connection *conn)
{
    const struct wcs_http_sources *src = &h->src;
    const struct wcs_registry *reg = wcs_sorter_registry(src->sorter);
    struct wcs_event_writer_stats ws;
    struct wcs_sorter_stats ss;
    char *body = NULL;
    size_t len = 0;
    FILE *f;
    int i;

    memset(&ws, 0, sizeof(ws));
    if (src->writer)
        wcs_event_writer_stats(src->writer, &ws);
    wcs_sorter_get_stats(src->sorter, &ss);
    f = open_memstream(&body, &len);
    if (f == NULL)
        return MHD_NO;
    /* Every sample is labelled with its line (the node id): one Prometheus
     * watches every line of the hub (docs/operations.md "Monitoring"). */
#define L "{line=\"%s\"}"
    fprintf(f,
            "# TYPE wcs_parcels_indexed gauge\nwcs_parcels_indexed" L " %zu\n"
            "# TYPE wcs_registry_bytes gauge\nwcs_registry_bytes" L " %zu\n"
            "# TYPE wcs_plan_version gauge\nwcs_plan_version" L " %d\n"
            "# TYPE wcs_decisions_total counter\nwcs_decisions_total" L " %llu\n"
            "# TYPE wcs_dry_runs_total counter\nwcs_dry_runs_total" L " %llu\n"
            "# TYPE wcs_events_pushed_total counter\nwcs_events_pushed_total" L " %llu\n"
            "# TYPE wcs_events_written_total counter\nwcs_events_written_total" L " %llu\n"
            "# TYPE wcs_events_dropped_total counter\nwcs_events_dropped_total" L " %llu\n"
            "# TYPE wcs_events_queued gauge\nwcs_events_queued" L " %zu\n"
            "# TYPE wcs_refresher_connected gauge\nwcs_refresher_connected" L " %d\n"
            "# TYPE wcs_customs_alarms_open gauge\nwcs_customs_alarms_open" L " %lld\n"
            "# TYPE wcs_uptime_seconds gauge\nwcs_uptime_seconds" L " %.3f\n"
            "# TYPE wcs_http_refused_total counter\n",
            src->node, wcs_registry_count(reg), src->node, wcs_registry_memory(reg), src->node,
            wcs_sorter_plan_version(src->sorter), src->node, (unsigned long long)ss.decisions,
            src->node, (unsigned long long)ss.dry_runs, src->node, (unsigned long long)ws.pushed,
            src->node, (unsigned long long)ws.written, src->node, (unsigned long long)ws.dropped,
            src->node, ws.queued, src->node,
            src->refresher ? wcs_refresher_connected(src->refresher) : 0, src->node,
            src->refresher ? wcs_refresher_customs_alarms(src->refresher) : -1LL, src->node,
            (double)(uv_hrtime() / 1000 - src->started_us) / 1e6);
    for (i = 0; i < REFUSED_COUNT; i++)
        fprintf(f, "wcs_http_refused_total{line=\"%s\",reason=\"%s\"} %llu\n", src->node,
                refusal_names[i], (unsigned long long)h->refused[i]);
    fprintf(f,
            "# TYPE wcs_console_streams gauge\nwcs_console_streams" L " %d\n"
            "# TYPE wcs_alarms_open gauge\nwcs_alarms_open" L " %lld\n",
            src->node, h->nstreams, src->node,
            src->console ? (long long)wcs_console_alarms_open(src->console) : -1LL);
    if (src->lease != NULL) {
        struct wcs_lease_view v;

        /* Who is active: the takeovers are the line's (its lease's row),
         * the same from the active and the standby. */
        wcs_lease_view(src->lease, &v);
        fprintf(f,
                "# TYPE wcs_line_active gauge\nwcs_line_active" L " %d\n"
                "# TYPE wcs_line_takeovers_total counter\nwcs_line_takeovers_total" L " %ld\n",
                src->node, wcs_lease_may_act(src->lease) ? 1 : 0, src->node, v.line.takeovers);
    }
#undef L
    camera_metrics(f, src);
    if (src->console != NULL)
        wcs_console_alarm_metrics(src->console, f, src->node);
    if (fclose(f) != 0) {
        free(body);
        return MHD_NO;
    }
    return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", body);
}

/* --- guarding: routes, tokens, rates, refusals --------------------------------- */

/* Copies text from the network for the log: at most len - 1 characters,
 * anything but printable ASCII as '?'. */
static void printable(char *dst, size_t len, const char *src)
{
    size_t i;

    for (i = 0; src != NULL && src[i] != '\0' && i + 1 < len; i++)
        dst[i] = (unsigned char)src[i] >= 0x20 && (unsigned char)src[i] <= 0x7E ? src[i] : '?';
    dst[i] = '\0';
}

static const struct {
    unsigned status;
    const char *code;
    const char *hname, *hvalue; /* a header the refusal carries, or NULL */
} refusal_reply[REFUSED_COUNT] = {
    [REFUSED_UNAUTHORIZED] = {MHD_HTTP_UNAUTHORIZED, "unauthorized",
                              MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"wcsd\""},
    [REFUSED_FORBIDDEN] = {MHD_HTTP_FORBIDDEN, "forbidden", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                           "Bearer realm=\"wcsd\", error=\"insufficient_scope\""},
    [REFUSED_RATE] = {MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", MHD_HTTP_HEADER_RETRY_AFTER, "1"},
    [REFUSED_LOCATION] = {MHD_HTTP_UNPROCESSABLE_CONTENT, "unknown_location", NULL, NULL},
    [REFUSED_OVERLOADED] = {MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", MHD_HTTP_HEADER_RETRY_AFTER,
                            "1"},
};

/* Counts, logs (within the log budget) and answers a refusal; hvalue, when
 * not NULL, replaces the header value of the table. */
/* Counts a refusal for /metrics and logs it (within the log's budget). */
static void count_refusal(const struct req *rq, enum refusal why, const char *message)
{
    struct wcs_http *h = rq->h;
    char method[16], url[96], more[64] = "";

    h->refused[why]++;
    if (wcs_rate_take(h->log_budget, 0, uv_hrtime() / 1000, NULL) == 0) {
        printable(method, sizeof(method), rq->method);
        printable(url, sizeof(url), rq->url);
        if (h->log_suppressed > 0)
            snprintf(more, sizeof(more), " (and %llu refusal(s) not logged before)",
                     (unsigned long long)h->log_suppressed);
        h->log_suppressed = 0;
        log_warnx("http: %u to %s %s from %s%s%s: %s%s", refusal_reply[why].status, method, url,
                  rq->addr, rq->who ? ", token " : rq->user ? ", user " : "",
                  rq->who ? rq->who->name : rq->user ? rq->user : "", message, more);
    } else {
        h->log_suppressed++;
    }
}

static enum MHD_Result refuse(const struct req *rq, enum refusal why, const char *message,
                              const char *hvalue)
{
    count_refusal(rq, why, message);
    return reply_error_hdr(rq->conn, refusal_reply[why].status, refusal_reply[why].code, message,
                           refusal_reply[why].hname, hvalue ? hvalue : refusal_reply[why].hvalue);
}

enum route {
    R_HEALTH,
    R_STATUS,
    R_DECIDE,
    R_PARCEL,
    R_SCANS,
    R_SCANNERS,
    R_METRICS,
    R_LOGIN,
    R_LOGOUT,
    R_SESSION,
    R_CONSOLE, /* http_console.c's */
    R_METHOD,
    R_NOT_FOUND
};

/* Where a request goes and what it needs. */
static enum route route_of(const char *method, const char *url, enum wcs_http_need *need)
{
    bool get = strcmp(method, "GET") == 0;

    *need = WCS_HTTP_ANY;
    if (strcmp(url, "/health") == 0) {
        *need = WCS_HTTP_OPEN;
        return get ? R_HEALTH : R_METHOD;
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/scans") == 0) {
        *need = WCS_HTTP_SCAN;
        return R_SCANS;
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/login") == 0) {
        *need = WCS_HTTP_OPEN;
        return R_LOGIN;
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/logout") == 0)
        return R_LOGOUT; /* a session's (any) */
    if (get && strcmp(url, "/v1/session") == 0)
        return R_SESSION; /* a session's (any) */
    if (!get)
        return R_METHOD;
    *need = WCS_HTTP_READ;
    if (strcmp(url, "/v1/status") == 0)
        return R_STATUS;
    if (strcmp(url, "/v1/decide") == 0)
        return R_DECIDE;
    if (strncmp(url, "/v1/parcels/", 12) == 0 && url[12] != '\0')
        return R_PARCEL;
    if (strcmp(url, "/v1/scanners") == 0)
        return R_SCANNERS;
    if (strcmp(url, "/metrics") == 0)
        return R_METRICS;
    *need = WCS_HTTP_ANY;
    return R_NOT_FOUND;
}

/* The client's IPv4 address as a number (0 if unknown) and as text. */
static uint32_t client_addr(struct MHD_Connection *conn, char *text, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr_in *sin;

    snprintf(text, len, "?");
    if (ci == NULL || ci->client_addr == NULL || ci->client_addr->sa_family != AF_INET)
        return 0;
    sin = (const struct sockaddr_in *)(const void *)ci->client_addr;
    inet_ntop(AF_INET, &sin->sin_addr, text, (socklen_t)len);
    return ntohl(sin->sin_addr.s_addr);
}

static const struct wcs_tokens no_tokens = {NULL, 0};

/* The live session a request's cookie names; none when it carries a bearer
 * token (a machine's request is decided by its token alone). */
static const struct wcs_session *session_of(struct wcs_http *h, struct MHD_Connection *conn,
                                            const char *auth)
{
    const char *cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    char id[WCS_SESSION_TEXT];

    if (auth != NULL || cookie == NULL || !wcs_cookie_value(cookie, SESSION_COOKIE, id, sizeof(id)))
        return NULL;
    return wcs_session_find(h->sessions, id, uv_hrtime() / 1000);
}

/* Whether a session's user may do what the request needs; a POST also needs
 * the session's CSRF token in X-CSRF-Token (another site's page can make a
 * browser send the cookie, never read the token). why says why not. */
static bool session_may(const struct req *rq, const struct wcs_session *s, enum wcs_http_need need,
                        char *why, size_t len)
{
    const char *csrf;
    struct token_secret want, got;
    bool same;

    if (s == NULL) {
        snprintf(why, len, "not logged in");
        return false;
    }
    if (need == WCS_HTTP_SCAN && s->role < WCS_USER_OPERATOR) {
        snprintf(why, len, "role %s may not post scans", wcs_user_role_name(s->role));
        return false;
    }
    if (strcmp(rq->method, "GET") == 0)
        return true;
    csrf = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, CSRF_HEADER);
    if (csrf == NULL || strlen(csrf) > TOKEN_SECRET_MAX) {
        snprintf(why, len, "a session's POST needs its " CSRF_HEADER);
        return false;
    }
    token_secret_set(&want, s->csrf, strlen(s->csrf));
    token_secret_set(&got, csrf, strlen(csrf));
    same = token_secret_equal(&want, &got);
    token_secret_wipe(&want);
    token_secret_wipe(&got);
    if (!same)
        snprintf(why, len, "wrong " CSRF_HEADER);
    return same;
}

/* An operator event (the audit) from the API: who did what. */
void audit(struct wcs_http *h, const char *user, const char *fmt, ...)
{
    struct wcs_event ev;
    va_list ap;

    if (h->src.writer == NULL)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.kind = WCS_EVENT_OPERATOR;
    snprintf(ev.source, sizeof(ev.source), "%s", user);
    va_start(ap, fmt);
    vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
    va_end(ap);
    if (wcs_event_writer_push(h->src.writer, &ev) < 0)
        log_warnx("http: operator event of %s not recorded: %s", user, ev.detail);
}

/* --- POST /v1/login, /v1/logout --------------------------------------------- */

static void http_free(struct wcs_http *h);
static void count_refusal(const struct req *rq, enum refusal why, const char *message);

/* A user name as a key of the per-name login limit (FNV-1a). */
static uint32_t name_key(const char *name)
{
    uint32_t k = 2166136261u;

    for (; *name != '\0'; name++)
        k = (k ^ (unsigned char)*name) * 16777619u;
    return k;
}

static void login_work_cb(uv_work_t *w)
{
    struct login_job *j = w->data;

    wcs_login_check(j->h->src.conninfo, &j->login, &j->result);
}

/* The check's answer, back on the loop: a session and its cookie, or a
 * refusal that does not say whether the user exists. */
static void login_done_cb(uv_work_t *w, int status)
{
    struct login_job *j = w->data;
    struct wcs_http *h = j->h;
    struct request_state *b = j->b;
    char id[WCS_SESSION_TEXT];
    const struct wcs_session *s;

    struct login_job **pp;

    (void)status;
    h->logins_running--;
    for (pp = &h->jobs; *pp != NULL; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    /* A user changed while the password was checked (disabled, new
     * password) may have been this one: the check's answer is stale. */
    if (j->result.ok && j->users_gen != h->users_gen) {
        j->result.ok = false;
        j->result.db_error = true;
    }
    if (b != NULL) {
        b->login = NULL;
        s = j->result.ok ? wcs_session_start(h->sessions, j->login.user, j->result.role,
                                             j->result.language, uv_hrtime() / 1000, id)
                         : NULL;
        if (j->result.ok && s == NULL)
            j->result.db_error = true; /* no random bytes: not the user's fault */
        if (s != NULL) {
            b->login_status = MHD_HTTP_OK;
            b->login_body = json_body(json_pack(
                "{s:s,s:s,s:s,s:s}", "user", s->user, "role", wcs_user_role_name(s->role),
                "language", s->language, "csrf", s->csrf));
            snprintf(b->login_cookie, sizeof(b->login_cookie),
                     SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", id,
                     (long long)(WCS_SESSION_LIFE_US / 1000000), h->tls ? "; Secure" : "");
            explicit_bzero(id, sizeof(id));
            audit(h, j->login.user, "login from %s", b->addr);
        } else if (j->result.db_error) {
            b->login_status = MHD_HTTP_SERVICE_UNAVAILABLE;
            b->login_body = json_body(error_json("unavailable", "the database cannot be asked now"));
        } else {
            /* A name nobody has may be a password typed in the wrong field:
             * it is neither logged nor kept. */
            const char *who = j->result.exists ? j->login.user : "?";
            struct req rq = {h, j->conn, "POST", "/v1/login", NULL, b->addr, who};

            b->login_status = MHD_HTTP_UNAUTHORIZED;
            b->login_body = json_body(error_json("login_failed", "wrong user name or password"));
            wcs_rate_take(h->login_name_limit, name_key(j->login.user), uv_hrtime() / 1000, NULL);
            audit(h, who, "login refused from %s", b->addr);
            count_refusal(&rq, REFUSED_UNAUTHORIZED, "wrong user name or password");
        }
        MHD_resume_connection(j->conn);
        run_mhd(h);
    }
    explicit_bzero(j, sizeof(*j));
    free(j);
    http_release(h);
}

static enum MHD_Result handle_login(struct wcs_http *h, struct MHD_Connection *conn,
                                    struct request_state *b)
{
    struct login_job *j;
    unsigned retry_s = 1;
    struct err e;

    if (b->login_status != 0) { /* the check ran: its answer (MHD frees the body) */
        char *body = b->login_body;

        b->login_body = NULL;
        return reply_hdr(conn, b->login_status, "application/json", body,
                         b->login_cookie[0] ? "Set-Cookie" : NULL, b->login_cookie);
    }
    if (b->too_large)
        return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body over 4 KiB");
    if (h->logins_running >= LOGINS_RUNNING_MAX)
        return reply_error_hdr(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                               "too many logins being checked: try again", "Retry-After", "1");
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return MHD_NO;
    if (wcs_login_body_parse(b->data, b->len, &j->login, &e) < 0) {
        free(j);
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", e.msg);
    }
    explicit_bzero(b->data, b->len);
    /* One name guessed at from many addresses is limited too: its failed
     * logins are counted (login_done_cb), so its own user still gets in
     * between them. */
    if (wcs_rate_peek(h->login_name_limit, name_key(j->login.user), uv_hrtime() / 1000,
                      &retry_s) < 0) {
        char retry[16];
        struct req rq = {h, conn, "POST", "/v1/login", NULL, b->addr, "?"};

        explicit_bzero(j, sizeof(*j));
        free(j);
        snprintf(retry, sizeof(retry), "%u", retry_s);
        return refuse(&rq, REFUSED_RATE, "too many failed logins for one user name: wait", retry);
    }
    j->h = h;
    j->conn = conn;
    j->b = b;
    j->work.data = j;
    if (uv_queue_work(h->poll.loop, &j->work, login_work_cb, login_done_cb) < 0) {
        explicit_bzero(j, sizeof(*j));
        free(j);
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "try again");
    }
    b->login = j;
    j->users_gen = h->users_gen;
    j->next = h->jobs;
    h->jobs = j;
    h->logins_running++;
    b->login_body = NULL;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

/* GET /v1/session: who is logged in, and the session's CSRF token (a page
 * loaded again has the cookie, not the token). */
static enum MHD_Result handle_session(struct wcs_http *h, struct MHD_Connection *conn,
                                      struct request_state *b)
{
    const struct wcs_session *s = wcs_session_find(h->sessions, b->session, uv_hrtime() / 1000);

    if (s == NULL)
        return reply_error(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized", "not logged in");
    return reply_json(conn, MHD_HTTP_OK,
                      json_pack("{s:s,s:s,s:s,s:s}", "user", s->user, "role",
                                wcs_user_role_name(s->role), "language", s->language, "csrf",
                                s->csrf));
}

static enum MHD_Result handle_logout(struct wcs_http *h, struct MHD_Connection *conn,
                                     struct request_state *b)
{
    if (wcs_session_end(h->sessions, b->session))
        audit(h, b->user, "logout from %s", b->addr);
    return reply_hdr(conn, MHD_HTTP_OK, "application/json", strdup("{}"), "Set-Cookie",
                     SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

/* MHD's first call for a request: its headers are in, its body is not.
 * Refuses it at once, or lets it in (*req_cls) to be answered on its last. */
static enum MHD_Result first_call(struct wcs_http *h, struct MHD_Connection *conn, const char *url,
                                  const char *method, void **req_cls)
{
    char addr[INET_ADDRSTRLEN], why[160], retry[16];
    struct req rq = {h, conn, method, url, NULL, addr, NULL};
    const char *auth =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    enum wcs_http_need need;
    char carg[CONSOLE_ARG_MAX];
    int min_role;
    enum console_route croute = console_route_of(method, url, carg, &min_role);
    enum route route = croute != C_NONE ? R_CONSOLE : route_of(method, url, &need);
    uint32_t client = client_addr(conn, addr, sizeof(addr));
    struct request_state *b;
    /* A login is decided by its body alone: a stale cookie must not stop it. */
    const struct wcs_session *sess = route == R_LOGIN ? NULL : session_of(h, conn, auth);
    unsigned retry_s = 1;
    /* A console action (or the users' list) is a person's: a session's. */
    bool personal = route == R_CONSOLE && min_role >= 0;

    if (route == R_CONSOLE)
        need = croute == C_PAGE       ? WCS_HTTP_OPEN
               : croute == C_TRACKING ? WCS_HTTP_TRACK
                                      : WCS_HTTP_READ;
    if (sess != NULL || route == R_LOGOUT || route == R_SESSION || personal) {
        rq.user = sess ? sess->user : NULL;
        if (!session_may(&rq, sess, need, why, sizeof(why)))
            return refuse(&rq, sess ? REFUSED_FORBIDDEN : REFUSED_UNAUTHORIZED,
                          personal && sess == NULL ? "a console action needs a user's session"
                                                   : why,
                          NULL);
        if (personal && (int)sess->role < min_role) {
            snprintf(why, sizeof(why), "role %s may not do this (%s or above)",
                     wcs_user_role_name(sess->role),
                     wcs_user_role_name((enum wcs_user_role)min_role));
            return refuse(&rq, REFUSED_FORBIDDEN, why, NULL);
        }
    } else switch (wcs_http_authorize(h->tokens ? h->tokens : &no_tokens, auth, need, &rq.who)) {
    case WCS_HTTP_UNAUTHORIZED:
        return refuse(&rq, REFUSED_UNAUTHORIZED,
                      auth == NULL ? "a bearer token is required (Authorization: Bearer ...)"
                                   : "not a valid bearer token",
                      NULL);
    case WCS_HTTP_FORBIDDEN:
        snprintf(why, sizeof(why), "role %s may not %s", wcs_role_name(rq.who->role),
                 need == WCS_HTTP_SCAN    ? "post scans"
                 : need == WCS_HTTP_TRACK ? "follow the tracking feed"
                                          : "read (GET /v1/..., /metrics)");
        return refuse(&rq, REFUSED_FORBIDDEN, why, NULL);
    case WCS_HTTP_ALLOW:
        break;
    }
    /* The line's actions are the active wcsd's: a standby's engine and PLC
     * links are idle, and what it changed would not reach the active one. */
    if (personal && strcmp(method, "POST") == 0 && croute != C_LANGUAGE && h->src.lease != NULL &&
        !wcs_lease_may_act(h->src.lease))
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "standby",
                           "this wcsd is the line's standby: act on the active one "
                           "(GET /v1/status: ha.active)");
    /* A login must say it is JSON: a form on another site cannot, without
     * the browser asking first (CORS), so it cannot log a victim's browser
     * into its own account. */
    if (route == R_LOGIN) {
        const char *type =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

        if (type == NULL || strncasecmp(type, "application/json", 16) != 0)
            return reply_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                               "a login is Content-Type: application/json");
    }
    if (route == R_LOGIN &&
        wcs_rate_take(h->login_limit, client, uv_hrtime() / 1000, &retry_s) < 0) {
        snprintf(retry, sizeof(retry), "%u", retry_s);
        return refuse(&rq, REFUSED_RATE, "too many logins from this address: wait", retry);
    }
    /* POST /v1/scans: over its client's rate it is refused before its body is read. */
    if (route == R_SCANS &&
        wcs_rate_take(h->scan_limit, client, uv_hrtime() / 1000, &retry_s) < 0) {
        snprintf(why, sizeof(why), "over http.scan_rate: %u requests a second per client address",
                 h->scan_rate);
        snprintf(retry, sizeof(retry), "%u", retry_s);
        return refuse(&rq, REFUSED_RATE, why, retry);
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return MHD_NO;
    b->route = (int)route;
    b->console = (int)croute;
    memcpy(b->arg, carg, sizeof(b->arg));
    b->role = sess ? (int)sess->role : -1;
    b->who = rq.who;
    if (sess != NULL) {
        snprintf(b->user, sizeof(b->user), "%s", sess->user);
        memcpy(b->session, sess->id.text, sizeof(b->session) - 1);
    }
    snprintf(b->addr, sizeof(b->addr), "%s", addr);
    *req_cls = b;
    return MHD_YES;
}

/* The answer to a request let in, once all of it is in. */
static enum MHD_Result answer(struct wcs_http *h, struct MHD_Connection *conn, const char *url,
                              const char *method, struct request_state *b)
{
    struct req rq = {h, conn, method, url, b->who, b->addr, b->user[0] ? b->user : NULL};

    switch ((enum route)b->route) {
    case R_HEALTH:
        return reply(conn, MHD_HTTP_OK, "text/plain", strdup("ready\n"));
    case R_STATUS:
        return handle_status(h, conn);
    case R_DECIDE:
        return handle_decide(h, conn);
    case R_PARCEL:
        return handle_parcel(h, conn, url + 12);
    case R_SCANNERS: {
        json_t *doc = json_pack("{s:o}", "scanners", scanners_json(h->src.usb));

        add_cameras(doc, &h->src);
        return reply_json(conn, MHD_HTTP_OK, doc);
    }
    case R_METRICS:
        return handle_metrics(h, conn);
    case R_METHOD:
        return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method",
                           "only GET (and POST /v1/scans) is served");
    case R_NOT_FOUND:
        break;
    case R_SCANS:
        return handle_scans(&rq, b);
    case R_LOGIN:
        return handle_login(h, conn, b);
    case R_LOGOUT:
        return handle_logout(h, conn, b);
    case R_SESSION:
        return handle_session(h, conn, b);
    case R_CONSOLE:
        return console_answer(h, conn, b);
    }
    return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such resource");
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    struct wcs_http *h = cls;
    struct request_state *b = *req_cls;

    (void)version;
    if (b == NULL)
        return first_call(h, conn, url, method, req_cls);
    if (*upload_data_size == 0)
        return answer(h, conn, url, method, b);
    /* A body: kept for POST /v1/scans (64 KiB at most) and /v1/login (4
     * KiB), dropped for the rest. */
    if ((b->route != R_SCANS && b->route != R_LOGIN && b->route != R_CONSOLE) ||
        b->len + *upload_data_size >
            (b->route == R_SCANS ? (size_t)WCS_SCAN_BODY_MAX : (size_t)WCS_LOGIN_BODY_MAX)) {
        b->too_large = b->route == R_SCANS || b->route == R_LOGIN || b->route == R_CONSOLE;
    } else {
        char *p = realloc(b->data, b->len + *upload_data_size + 1);
        if (p == NULL)
            return MHD_NO;
        memcpy(p + b->len, upload_data, *upload_data_size);
        b->data = p;
        b->len += *upload_data_size;
        p[b->len] = '\0';
    }
    *upload_data_size = 0;
    return MHD_YES;
}

static void request_completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    struct request_state *b = *req_cls;
    struct wcs_http *h = cls;

    (void)conn;
    (void)toe;
    if (b != NULL) {
        if (b->login != NULL) /* the server stops while its check runs */
            b->login->b = NULL;
        console_request_done(h, b);
        if (b->data != NULL)
            explicit_bzero(b->data, b->len);
        free(b->data);
        free(b->login_body);
        explicit_bzero(b, sizeof(*b));
        free(b);
        *req_cls = NULL;
    }
}

/* libmicrohttpd's own messages: while it starts they say why it cannot
 * (a port in use, a certificate or key GnuTLS refuses), so they are
 * warnings; once it runs they are about single connections (a client over
 * its connection limit, a broken request) and a flood of them must not
 * flood the log, so they are debug. Made printable: they may quote a client. */
static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
    struct wcs_http *h = cls;
    char text[256], clean[256];
    size_t n;

    if (!log_enabled(h->started ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN))
        return;
    vsnprintf(text, sizeof(text), fmt, ap);
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    printable(clean, sizeof(clean), text);
    if (h->started)
        log_debug("http: %s", clean);
    else
        log_warnx("http: %s", clean);
}

static void http_free(struct wcs_http *h)
{
    wcs_rate_free(h->scan_limit);
    wcs_rate_free(h->log_budget);
    wcs_rate_free(h->login_limit);
    wcs_rate_free(h->login_name_limit);
    wcs_sessions_free(h->sessions);
    console_free(h);
    free(h);
}

int wcs_http_start(uv_loop_t *loop, const struct wcs_http_sources *src,
                   const struct wcs_http_opts *o, struct wcs_http **out, int *bound_port,
                   struct err *e)
{
    struct wcs_http *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

    if (h == NULL)
        return err_set(e, -ENOMEM, "http: out of memory");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1) {
        free(h);
        return err_set(e, ERR_CONFIG, "http.listen: %s is not an IPv4 address", o->addr);
    }
    h->tls = o->tls_cert != NULL;
    if (h->tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        free(h);
        return err_set(e, ERR_CONFIG, "http.tls_cert: this libmicrohttpd has no TLS support");
    }
    if (h->tls)
        flags |= MHD_USE_TLS;
    h->src = *src;
    h->tokens = o->tokens;
    h->scan_rate = o->scan_rate;
    h->scan_limit = wcs_rate_new(o->scan_rate, o->scan_burst, RATE_CLIENTS);
    h->log_budget = wcs_rate_new(1, REFUSAL_LOG_BURST, 1);
    h->login_limit = wcs_rate_new(LOGIN_RATE, LOGIN_BURST, RATE_CLIENTS);
    h->login_name_limit = wcs_rate_new(LOGIN_RATE, LOGIN_NAME_BURST, RATE_CLIENTS);
    h->sessions = wcs_sessions_new();
    if (console_init(h) < 0) {
        free(h);
        return err_set(e, -ENOMEM, "http: cannot make a mutex");
    }
    if (wcs_login_prepare(e) < 0) {
        http_free(h);
        return -ENOMEM;
    }
    if (h->scan_limit == NULL || h->log_budget == NULL || h->login_limit == NULL ||
        h->login_name_limit == NULL || h->sessions == NULL) {
        http_free(h);
        return err_set(e, -ENOMEM, "http: out of memory");
    }
    /* The logger first (MHD's rule), the TLS options last: without TLS the
     * first of them is the end. */
    h->mhd = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, access_cb, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb,
        h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->conns_per_client, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed_cb, h, h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
        o->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, o->tls_key, MHD_OPTION_HTTPS_PRIORITIES,
        TLS_PRIORITIES, MHD_OPTION_END);
    if (h->mhd == NULL) {
        http_free(h);
        return err_set(e, -EADDRINUSE, "http: cannot listen on %s:%d%s", o->addr, o->port,
                       o->tls_cert ? " with TLS (the log above says why)" : "");
    }
    h->started = true;
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : o->port;
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(loop, &h->poll, info->epoll_fd);
    uv_timer_init(loop, &h->timer);
    h->poll.data = h->timer.data = h;
    h->open_handles = 2;
    uv_poll_start(&h->poll, UV_READABLE, poll_cb);
    arm_timer(h);
    *out = h;
    return 0;
}

size_t wcs_http_end_sessions(struct wcs_http *h, const char *user)
{
    h->users_gen++;
    return wcs_sessions_end_user(h->sessions, user);
}

void http_release(struct wcs_http *h)
{
    if (h->stopping && h->open_handles == 0 && h->logins_running == 0 && console_idle(h))
        http_free(h);
}

static void handle_closed_cb(uv_handle_t *hd)
{
    struct wcs_http *h = hd->data;

    h->open_handles--;
    http_release(h);
}

void wcs_http_stop(struct wcs_http *h)
{
    if (h == NULL)
        return;
    h->stopping = true;
    uv_poll_stop(&h->poll);
    uv_close((uv_handle_t *)&h->poll, handle_closed_cb);
    uv_close((uv_handle_t *)&h->timer, handle_closed_cb);
    /* A login still checked on the pool holds its connection suspended,
     * which MHD_stop_daemon() refuses (it aborts): resumed, MHD closes it and
     * request_completed_cb() cuts it from its job; the check's end then frees
     * only itself (and h, the last of all). */
    for (struct login_job *j = h->jobs; j != NULL; j = j->next)
        if (j->b != NULL)
            MHD_resume_connection(j->conn);
    console_stop(h);
    MHD_stop_daemon(h->mhd);
    h->mhd = NULL;
}

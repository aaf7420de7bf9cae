/*
 * http_api.c - wcsd's operator HTTP API on the daemon's loop (see http_api.h).
 */
#include "wcs/daemon/http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "conveyor/correlate.h"
#include "scanners/usb.h"
#include "wcs/core/sorter.h"
#include "wcs/daemon/plc.h"
#include "wcs/store/refresher.h"

#define POST_BODY_MAX 65536

/* Body of a POST being received. */
struct post_body {
    char *data;
    size_t len;
    int too_large;
};

struct wcs_http {
    struct wcs_http_sources src;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;     /* MHD's epoll fd */
    uv_timer_t timer;   /* MHD's own timeouts */
    int open_handles;
};

static void arm_timer(struct wcs_http *h);

static void run_mhd(struct wcs_http *h)
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

static void arm_timer(struct wcs_http *h)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
        uv_timer_start(&h->timer, timer_cb, ms, 0);
    else
        uv_timer_stop(&h->timer);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
    char *body = json_dumps(j, JSON_COMPACT);

    json_decref(j);
    if (body == NULL)
        return MHD_NO;
    return reply(conn, status, "application/json", body);
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                   const char *message)
{
    return reply_json(conn, status,
                      json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
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
            a, json_pack("{s:s,s:b,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "id",
                         conv_station_name(p), "connected", conv_station_connected(p), "port",
                         conv_station_port(p), "line_state", conv_station_line_state(p),
                         "in_flight", (json_int_t)conv_station_in_flight(p), "requests",
                         (json_int_t)ps.requests, "repeated", (json_int_t)ps.repeated,
                         "recirculations", (json_int_t)ps.recirculations, "answers",
                         (json_int_t)ps.answers, "late", (json_int_t)ps.late, "updates",
                         (json_int_t)ps.updates, "duplicates", (json_int_t)ps.duplicates,
                         "acks", (json_int_t)ps.acks, "log_dropped", (json_int_t)ps.log_dropped));
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
    j = json_pack("{s:s,s:b,s:i,s:s,s:I,s:I,s:I,s:b,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b},"
                  "s:I,s:I,s:f,s:o,s:o}",
                  "node", src->node, "ready", 1, "plan_version", wcs_sorter_plan_version(sorter),
                  "plan_source", plan ? wcs_plan_source(plan) : "", "parcels",
                  (json_int_t)wcs_registry_count(reg), "registry_bytes",
                  (json_int_t)wcs_registry_memory(reg), "parcel_rev",
                  (json_int_t)*src->parcel_rev, "refresher_connected",
                  src->refresher ? wcs_refresher_connected(src->refresher) : 0, "events",
                  "pushed", (json_int_t)ws.pushed, "written", (json_int_t)ws.written, "queued",
                  (json_int_t)ws.queued, "dropped", (json_int_t)ws.dropped, "db_errors",
                  (json_int_t)ws.db_errors, "durable", (json_int_t)ws.durable, "spooled",
                  (json_int_t)ws.spooled, "drained", (json_int_t)ws.drained, "spool_records",
                  (json_int_t)ws.spool_records, "spool_bytes", (json_int_t)ws.spool_bytes,
                  "spool_alarm", ws.spool_alarm, "decisions", (json_int_t)ss.decisions,
                  "dry_runs", (json_int_t)ss.dry_runs, "uptime_s",
                  (double)(uv_hrtime() / 1000 - src->started_us) / 1e6, "chutes", chutes,
                  "plcs", plcs_json(src->plcs));
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

/* One scan object of a POST /v1/scans body into s; a message in why. */
static int scan_from_json(json_t *o, struct conv_scan *s, char *why, size_t len)
{
    static const char *const keys[] = {"location", "code", "source", "symbology"};
    char *dst[] = {s->location, s->code, s->source, s->symbology};
    size_t cap[] = {sizeof(s->location), sizeof(s->code), sizeof(s->source),
                    sizeof(s->symbology)};
    size_t i;

    if (!json_is_object(o)) {
        snprintf(why, len, "not an object");
        return -1;
    }
    memset(s, 0, sizeof(*s));
    for (i = 0; i < 4; i++) {
        json_t *v = json_object_get(o, keys[i]);
        const char *str = json_string_value(v);

        if (v == NULL && i >= 2)
            continue;
        if (str == NULL || strlen(str) == 0 || strlen(str) >= cap[i]) {
            snprintf(why, len, "%s: a string of 1 to %zu characters is required", keys[i],
                     cap[i] - 1);
            return -1;
        }
        memcpy(dst[i], str, strlen(str) + 1);
    }
    return 0;
}

static enum MHD_Result handle_scans(struct wcs_http *h, struct MHD_Connection *conn,
                                    struct post_body *b)
{
    json_error_t je;
    json_t *root, *items;
    struct conv_scan s;
    struct timespec ts;
    char why[160], msg[200];
    size_t i, accepted = 0;

    if (b->too_large)
        return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body over 64 KiB");
    root = json_loadb(b->data ? b->data : "", b->len, 0, &je);
    if (root == NULL) {
        snprintf(msg, sizeof(msg), "body is not JSON: line %d: %s", je.line, je.text);
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
    }
    items = json_is_array(root) ? root : NULL;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Validate everything first: a bad item refuses the whole request. */
    for (i = 0; i < (items ? json_array_size(items) : 1); i++) {
        if (scan_from_json(items ? json_array_get(items, i) : root, &s, why, sizeof(why)) < 0) {
            snprintf(msg, sizeof(msg), "scan %zu: %s", i, why);
            json_decref(root);
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
        }
    }
    for (i = 0; i < (items ? json_array_size(items) : 1); i++) {
        struct err e;

        scan_from_json(items ? json_array_get(items, i) : root, &s, why, sizeof(why));
        if (s.source[0] == '\0')
            snprintf(s.source, sizeof(s.source), "http");
        s.at_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        if (wcs_plcs_scan(h->src.plcs, &s, &e) == 0)
            accepted++;
        else
            log_warnx("%s", e.msg);
    }
    json_decref(root);
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

static enum MHD_Result handle_metrics(struct wcs_http *h, struct MHD_Connection *conn)
{
    const struct wcs_http_sources *src = &h->src;
    const struct wcs_registry *reg = wcs_sorter_registry(src->sorter);
    struct wcs_event_writer_stats ws;
    struct wcs_sorter_stats ss;
    char *body = NULL;

    memset(&ws, 0, sizeof(ws));
    if (src->writer)
        wcs_event_writer_stats(src->writer, &ws);
    wcs_sorter_get_stats(src->sorter, &ss);
    if (asprintf(&body,
                 "# TYPE wcs_parcels_indexed gauge\nwcs_parcels_indexed %zu\n"
                 "# TYPE wcs_registry_bytes gauge\nwcs_registry_bytes %zu\n"
                 "# TYPE wcs_plan_version gauge\nwcs_plan_version %d\n"
                 "# TYPE wcs_decisions_total counter\nwcs_decisions_total %llu\n"
                 "# TYPE wcs_dry_runs_total counter\nwcs_dry_runs_total %llu\n"
                 "# TYPE wcs_events_pushed_total counter\nwcs_events_pushed_total %llu\n"
                 "# TYPE wcs_events_written_total counter\nwcs_events_written_total %llu\n"
                 "# TYPE wcs_events_dropped_total counter\nwcs_events_dropped_total %llu\n"
                 "# TYPE wcs_events_queued gauge\nwcs_events_queued %zu\n"
                 "# TYPE wcs_refresher_connected gauge\nwcs_refresher_connected %d\n",
                 wcs_registry_count(reg), wcs_registry_memory(reg),
                 wcs_sorter_plan_version(src->sorter), (unsigned long long)ss.decisions,
                 (unsigned long long)ss.dry_runs, (unsigned long long)ws.pushed,
                 (unsigned long long)ws.written, (unsigned long long)ws.dropped, ws.queued,
                 src->refresher ? wcs_refresher_connected(src->refresher) : 0) < 0)
        return MHD_NO;
    return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", body);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    struct wcs_http *h = cls;

    (void)version;
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/scans") == 0) {
        struct post_body *b = *req_cls;

        if (b == NULL) {
            b = calloc(1, sizeof(*b));
            if (b == NULL)
                return MHD_NO;
            *req_cls = b;
            return MHD_YES;
        }
        if (*upload_data_size > 0) {
            if (b->len + *upload_data_size > POST_BODY_MAX) {
                b->too_large = 1;
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
        return handle_scans(h, conn, b);
    }
    if (strcmp(method, "GET") != 0)
        return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "only GET (and POST /v1/scans) is served");
    if (strcmp(url, "/health") == 0)
        return reply(conn, MHD_HTTP_OK, "text/plain", strdup("ready\n"));
    if (strcmp(url, "/v1/status") == 0)
        return handle_status(h, conn);
    if (strcmp(url, "/v1/decide") == 0)
        return handle_decide(h, conn);
    if (strncmp(url, "/v1/parcels/", 12) == 0 && url[12] != '\0')
        return handle_parcel(h, conn, url + 12);
    if (strcmp(url, "/metrics") == 0)
        return handle_metrics(h, conn);
    if (strcmp(url, "/v1/scanners") == 0)
        return reply_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "scanners", scanners_json(h->src.usb)));
    return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such resource");
}

static void request_completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    struct post_body *b = *req_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (b != NULL) {
        free(b->data);
        free(b);
        *req_cls = NULL;
    }
}

int wcs_http_start(uv_loop_t *loop, const struct wcs_http_sources *src, const char *addr,
                   int port, struct wcs_http **out, int *bound_port, struct err *e)
{
    struct wcs_http *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    if (h == NULL)
        return err_set(e, -ENOMEM, "http: out of memory");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        free(h);
        return err_set(e, ERR_CONFIG, "http.listen: %s is not an IPv4 address", addr);
    }
    h->src = *src;
    h->mhd = MHD_start_daemon(MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, access_cb, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                              MHD_OPTION_NOTIFY_COMPLETED, request_completed_cb, NULL,
                              MHD_OPTION_END);
    if (h->mhd == NULL) {
        free(h);
        return err_set(e, -EADDRINUSE, "http: cannot listen on %s:%d", addr, port);
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
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

static void handle_closed_cb(uv_handle_t *hd)
{
    struct wcs_http *h = hd->data;

    if (--h->open_handles == 0)
        free(h);
}

void wcs_http_stop(struct wcs_http *h)
{
    if (h == NULL)
        return;
    uv_poll_stop(&h->poll);
    uv_close((uv_handle_t *)&h->poll, handle_closed_cb);
    uv_close((uv_handle_t *)&h->timer, handle_closed_cb);
    MHD_stop_daemon(h->mhd);
    h->mhd = NULL;
}

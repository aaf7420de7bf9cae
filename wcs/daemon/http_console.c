/*
 * http_console.c - the operator console's side of wcsd's HTTP server: its
 * pages, the live stream, the reads and the actions (docs/console.md).
 *
 * DESIGN: three kinds of answer. Pages and the live documents come from
 * memory. A stream (GET /v1/stream, Server-Sent Events) is a response
 * whose reader suspends its connection when it has nothing to send;
 * wcs_http_publish() appends the new document to every stream and resumes
 * it, so each document is built once for all consoles and no console ever
 * asks the database. Reads of records (a parcel's trace, bags, plans...)
 * and actions on them run as jobs on libuv's pool, each with a connection
 * from a small cache, while their request is suspended; the loop never
 * waits on PostgreSQL. Every action needs a user's session (the audit
 * names a person), the role its table gives, and is recorded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "conveyor/correlate.h"
#include "scanners/archive.h"
#include "wcs/core/label.h"
#include "wcs/core/password.h"
#include "wcs/core/sorter.h"
#include "wcs/core/why.h"
#include "wcs/daemon/console.h"
#include "wcs/daemon/console_assets.h"
#include "wcs/daemon/http_internal.h"
#include "wcs/daemon/plc.h"
#include "wcs/daemon/printing.h"
#include "wcs/render/label_pdf.h"
#include "wcs/store/actions.h"
#include "wcs/store/bags.h"
#include "wcs/store/console_store.h"
#include "wcs/store/declarations.h"
#include "wcs/store/noreads.h"
#include "wcs/store/tracking.h"
#include "wcs/store/users.h"

#define STREAMS_MAX 32           /* open streams, all clients together */
#define STREAM_BUFFER_MAX (1 << 20) /* unsent bytes a stream may hold; more: it is closed */
#define JOBS_RUNNING_MAX 4       /* console jobs on the pool at once (of its 8
                                  * threads: logins and alarms keep the rest) ... */
#define JOBS_MAX 64              /* ... and waiting their turn; more: 503 */
#define DB_IDLE_MAX 4
#define JOB_STATEMENT_MS 5000
#define JOB_LOCK_MS 2000

/* --- pages ------------------------------------------------------------------ */

static enum MHD_Result answer_page(struct MHD_Connection *conn, const char *name)
{
    const struct wcs_console_asset *a;
    struct MHD_Response *r;
    enum MHD_Result ret;

    for (a = wcs_console_assets; a->name != NULL; a++)
        if (strcmp(a->name, name) == 0)
            break;
    if (a->name == NULL)
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such page");
    r = MHD_create_response_from_buffer(a->len, (void *)(uintptr_t)a->data,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    /* The console's own files only: no script, style or frame from elsewhere. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* --- streams ---------------------------------------------------------------- */

struct stream_client {
    struct stream_client *next;
    struct wcs_http *h;
    struct MHD_Connection *conn;
    char *buf;          /* unsent event text */
    size_t len, off, cap;
    bool suspended;
    bool closing;       /* too slow, its session ended, or the server stops */
    char session[WCS_SESSION_TEXT]; /* its session, "" for a token's stream */
};

static const char *const doc_events[WCS_DOC_COUNT] = {
    [WCS_DOC_LINE] = "line", [WCS_DOC_ALARMS] = "alarms", [WCS_DOC_FIGURES] = "figures"};

/* Appends one event to s's buffer; a stream over its bound is closed. */
static void stream_append(struct stream_client *s, const char *event, const char *data)
{
    /* "event: " E "\ndata: " D "\n\n" and snprintf's NUL */
    size_t need = strlen(event) + strlen(data) + 17;

    if (s->closing)
        return;
    if (s->off > 0) { /* what was sent goes: the bound is on what is not */
        memmove(s->buf, s->buf + s->off, s->len - s->off);
        s->len -= s->off;
        s->off = 0;
    }
    if (s->len + need > STREAM_BUFFER_MAX) {
        log_warnx("http: a console stream is 1 MiB behind (a stuck browser?): closed");
        s->closing = true;
        return;
    }
    if (s->len + need > s->cap) {
        size_t cap = (s->len + need) * 2;
        char *p = realloc(s->buf, cap);
        if (p == NULL) {
            s->closing = true;
            return;
        }
        s->buf = p;
        s->cap = cap;
    }
    s->len += (size_t)snprintf(s->buf + s->len, s->cap - s->len, "event: %s\ndata: %s\n\n", event,
                               data);
}

static void stream_wake(struct stream_client *s)
{
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

static ssize_t stream_read_cb(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream_client *s = cls;
    size_t n;

    (void)pos;
    if (s->closing)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->off == s->len) {
        /* Nothing to send: sleep until wcs_http_publish() has some. */
        s->suspended = true;
        MHD_suspend_connection(s->conn);
        return 0;
    }
    n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void stream_free_cb(void *cls)
{
    struct stream_client *s = cls;
    struct stream_client **pp;

    if (s->h != NULL) {
        for (pp = &s->h->streams; *pp != NULL; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                s->h->nstreams--;
                break;
            }
    }
    free(s->buf);
    free(s);
}

static enum MHD_Result answer_stream(struct wcs_http *h, struct MHD_Connection *conn,
                                     const struct request_state *b)
{
    struct stream_client *s;
    struct MHD_Response *r;
    enum MHD_Result ret;
    int k;

    if (h->src.console == NULL)
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no console in this wcsd");
    if (h->nstreams >= STREAMS_MAX)
        return reply_error_hdr(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                               "too many consoles attached: try again", "Retry-After", "5");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MHD_NO;
    s->h = h;
    s->conn = conn;
    memcpy(s->session, b->session, sizeof(s->session));
    stream_append(s, "hello", "{\"retry_ms\":2000}");
    for (k = 0; k < WCS_DOC_COUNT; k++) {
        const char *doc = wcs_console_doc(h->src.console, (enum wcs_console_doc)k);
        if (doc != NULL)
            stream_append(s, doc_events[k], doc);
    }
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read_cb, s,
                                          stream_free_cb);
    if (r == NULL) {
        free(s->buf);
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    s->next = h->streams;
    h->streams = s;
    h->nstreams++;
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

void wcs_http_publish(struct wcs_http *h, int which, const char *doc)
{
    struct stream_client *s;

    if (h == NULL || h->stopping || (unsigned)which >= WCS_DOC_COUNT || h->streams == NULL)
        return;
    for (s = h->streams; s != NULL; s = s->next) {
        /* A session that ended (logout, its user changed, its 12 hours)
         * ends its stream; an open console keeps its session from idling. */
        if (s->session[0] != '\0' &&
            wcs_session_find(h->sessions, s->session, uv_hrtime() / 1000) == NULL)
            s->closing = true;
        stream_append(s, doc_events[which], doc);
        stream_wake(s);
    }
    /* Not MHD_run here: a document may be published from inside one of
     * MHD's callbacks (an alarm acknowledged), and MHD is not reentrant. */
    http_kick(h);
}

/* --- jobs on the pool ------------------------------------------------------- */

struct http_job {
    uv_work_t work;
    struct http_job *next;       /* the server's running jobs */
    struct wcs_http *h;
    struct MHD_Connection *conn; /* suspended meanwhile */
    struct request_state *b;     /* NULL when the request ended meanwhile */
    bool on_pool;                /* queued to the pool; false: waiting its turn */
    char format[8];              /* GET /v1/bags/ID/label: pdf or zpl */
    int printer;                 /* POST /v1/bags/ID/print: the printer, -1 none ... */
    char print_error[160];       /* ... and why it did not print, "" it did */
    enum console_route route;
    char arg[CONSOLE_ARG_MAX];
    char user[WCS_USER_NAME_MAX + 1];
    json_t *in;                  /* the request's JSON body, or NULL */
    unsigned status;             /* the answer ... */
    char *body;                  /* ... (JSON text, or a document of body_len bytes) */
    size_t body_len;             /* 0: strlen(body) */
    const char *type;            /* NULL: application/json */
};

static PGconn *db_take(struct wcs_http *h, struct err *e)
{
    PGconn *c = NULL;

    uv_mutex_lock(&h->db_mu);
    if (h->db_nidle > 0)
        c = h->db_idle[--h->db_nidle];
    uv_mutex_unlock(&h->db_mu);
    if (c != NULL && PQstatus(c) == CONNECTION_OK)
        return c;
    PQfinish(c);
    c = NULL;
    if (wcs_db_connect(h->src.conninfo, &c, e) < 0 ||
        wcs_db_bound_calls(c, JOB_STATEMENT_MS, JOB_LOCK_MS, e) < 0) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void db_give(struct wcs_http *h, PGconn *c, bool ok)
{
    if (ok && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
        uv_mutex_lock(&h->db_mu);
        if (h->db_nidle < DB_IDLE_MAX) {
            h->db_idle[h->db_nidle++] = c;
            c = NULL;
        }
        uv_mutex_unlock(&h->db_mu);
    }
    PQfinish(c);
}

static void job_answer(struct http_job *j, unsigned status, json_t *body)
{
    j->status = status;
    j->body = json_body(body);
}

static void job_error(struct http_job *j, int rc, const struct err *e)
{
    static const struct {
        int rc;
        unsigned status;
        const char *code;
    } map[] = {
        {ERR_NOTFOUND, MHD_HTTP_NOT_FOUND, "not_found"},
        {ERR_STATE, MHD_HTTP_CONFLICT, "conflict"},
        {ERR_CONFLICT, MHD_HTTP_CONFLICT, "conflict"},
        {ERR_INVALID, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].rc == rc) {
            job_answer(j, map[i].status, error_json(map[i].code, e->msg));
            return;
        }
    /* A database error's text may name the server: it goes to the log only. */
    log_warnx("http: console %s for %s: %s", j->arg, j->user, e->msg);
    job_answer(j, MHD_HTTP_SERVICE_UNAVAILABLE,
               error_json("unavailable", "the database cannot be asked now"));
}

static const char *in_string(const struct http_job *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j->in, key));

    return v != NULL && *v != '\0' ? v : NULL;
}

/* "YYYY-MM-DD HH:MM:SS" (UTC) as milliseconds since the epoch; 0 if not. */
static long long utc_ms(const char *text)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = text ? strptime(text, "%Y-%m-%d %H:%M:%S", &tm) : NULL;
    return end != NULL && *end == '\0' ? (long long)timegm(&tm) * 1000 : 0;
}

static int problem_cb(void *arg, const struct wcs_customs_problem *p)
{
    json_t *detail = p->detail ? json_loads(p->detail, 0, NULL) : NULL;

    return json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:o,s:I}", "kind", p->kind, "ref",
                                                 p->ref, "text", p->text ? p->text : "", "detail",
                                                 detail ? detail : json_null(), "at",
                                                 (json_int_t)utc_ms(p->at)));
}

static bool number_arg(const char *v, size_t digits, long long max, long long *out);

static int noread_cb(void *arg, const struct wcs_noread *n)
{
    return json_array_append_new(arg, wcs_noread_json(n));
}

static void view(struct http_job *j, PGconn *c, enum wcs_console_view v, const char *arg,
                 struct err *e)
{
    char *text = NULL;
    int rc = wcs_db_console_view(c, v, arg, &text, e);

    if (rc < 0) {
        job_error(j, rc, e);
        return;
    }
    j->status = MHD_HTTP_OK;
    j->body = text;
}

static bool job_bad(struct http_job *j, const char *message)
{
    job_answer(j, MHD_HTTP_BAD_REQUEST, error_json("bad_request", message));
    return false;
}

/* The reads that are one view of the store each (console_store.h). */
static const struct {
    enum console_route route;
    enum wcs_console_view view;
    bool with_arg; /* the path's id is the view's argument */
} views[] = {
    {C_CHUTE, WCS_VIEW_CHUTE, true},   {C_TRACE, WCS_VIEW_TRACE, true},
    {C_BAGS, WCS_VIEW_BAGS, false},    {C_DISPATCHES, WCS_VIEW_DISPATCHES, false},
    {C_PLANS, WCS_VIEW_PLANS, false},  {C_USERS, WCS_VIEW_USERS, false},
};

/* Runs a job's statements; false when the connection should not be kept. */
static bool job_run(struct http_job *j, PGconn *c)
{
    struct wcs_bag_closed bag;
    struct err e;
    bool warned = false;
    char hours[16], id[WCS_MANIFEST_ID_MAX];
    int rc = 0;

    size_t k;

    for (k = 0; k < sizeof(views) / sizeof(views[0]); k++)
        if (views[k].route == j->route) {
            view(j, c, views[k].view, views[k].with_arg ? j->arg : NULL, &e);
            return true;
        }
    switch (j->route) {
    case C_AUDIT: {
        long n = strtol(j->arg[0] ? j->arg : "24", NULL, 10);
        snprintf(hours, sizeof(hours), "%ld", n < 1 ? 1 : n > 24 * 31 ? 24 * 31 : n);
        view(j, c, WCS_VIEW_AUDIT, hours, &e);
        break;
    }
    case C_TRACKING: {
        long long after = 0;
        int limit = 0, count;
        int64_t next;

        sscanf(j->arg, "%lld %d", &after, &limit);
        rc = wcs_db_tracking_page(c, WCS_BAG_ORIGIN_OFFICE, after, limit, NULL, &j->body, &count,
                                  &next, &e);
        if (rc == 0)
            j->status = MHD_HTTP_OK;
        if (rc == ERR_INVALID) {
            job_answer(j, MHD_HTTP_BAD_REQUEST, error_json("bad_cursor", e.msg));
            rc = 0;
        }
        break;
    }
    case C_NOREADS: {
        char state[16] = "";
        unsigned limit = 50;
        size_t pending = 0;
        json_t *a = json_array();

        sscanf(j->arg, "%15s %u", state, &limit);
        rc = wcs_db_noreads_list(c, strcmp(state, "all") == 0 ? NULL : state, j->h->src.node,
                                 limit, noread_cb, a, &pending, &e);
        if (rc < 0)
            json_decref(a); /* answered below */
        else
            job_answer(j, MHD_HTTP_OK,
                       json_pack("{s:o,s:I}", "noreads", a, "pending", (json_int_t)pending));
        break;
    }
    case C_NOREAD:
    case C_NOREAD_KEY: {
        struct wcs_noread n;
        json_t *unreadable = json_object_get(j->in, "unreadable");
        char *end;
        long long nid = strtoll(j->arg, &end, 10);

        if (*end != '\0' || nid < 1)
            return job_bad(j, "a no-read id is a number");
        if (j->route == C_NOREAD_KEY && (in_string(j, "code") == NULL) == !json_is_true(unreadable))
            return job_bad(j, "either code (the parcel's code) or unreadable: true");
        rc = j->route == C_NOREAD
                 ? wcs_db_noread_get(c, nid, &n, &e)
                 : wcs_act_noread_key(c, j->user, nid, in_string(j, "code"), &n, &warned, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:o}", "noread", wcs_noread_json(&n)));
        break;
    }
    case C_PROBLEMS: {
        json_t *a = json_array();
        rc = wcs_db_customs_problems(c, NULL, problem_cb, a, &e);
        if (rc < 0)
            json_decref(a); /* answered below */
        else
            job_answer(j, MHD_HTTP_OK, json_pack("{s:o}", "problems", a));
        break;
    }
    case C_CHUTE_CLOSE: {
        json_t *w = json_object_get(j->in, "weight_g");
        int weight = -1;
        if (w != NULL && (!json_is_integer(w) || json_integer_value(w) < 0 ||
                          json_integer_value(w) > 999949))
            return job_bad(j, "weight_g: grams, 0-999949");
        if (w != NULL)
            weight = (int)json_integer_value(w);
        rc = wcs_act_bag_close(c, j->user, j->h->src.node, j->arg, weight, &bag, &warned, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK,
                       json_pack("{s:s,s:s,s:i,s:i,s:i}", "bag_id", bag.bag_id, "route",
                                 bag.route, "parcels", bag.parcels, "weight_g", bag.weight_g,
                                 "unknown", bag.unknown));
        break;
    }
    case C_CHUTE_DISABLE:
    case C_CHUTE_ENABLE:
        rc = wcs_db_chute_hold(c, j->h->src.node, j->arg, j->route == C_CHUTE_DISABLE, j->user,
                               &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_object()); /* the chute: on the loop */
        break;
    case C_BAG_LABEL: {
        struct wcs_bag_label l;
        bool zpl = strcmp(j->format, "zpl") == 0;

        rc = wcs_db_bag_label(c, j->arg, &l, &e);
        if (rc == 0)
            rc = zpl ? wcs_label_zpl(&l, &j->body, &j->body_len, &e)
                     : wcs_label_pdf(&l, (unsigned char **)&j->body, &j->body_len, &e);
        if (rc == 0) {
            j->status = MHD_HTTP_OK;
            j->type = zpl ? "text/plain; charset=utf-8" : "application/pdf";
        }
        break;
    }
    case C_BAG_PRINT: {
        char printed[32];

        rc = wcs_print_bag(j->h->src.printers, c, j->arg, NULL, &j->printer, printed, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:s,s:s}", "bag_id", printed, "printer",
                                                 wcs_printers_config(j->h->src.printers,
                                                                     (size_t)j->printer)->id));
        if (rc == ERR_HTTP) { /* the printer's fault, not the database's */
            snprintf(j->print_error, sizeof(j->print_error), "%.159s", e.msg);
            job_answer(j, MHD_HTTP_BAD_GATEWAY, error_json("printer_failed", e.msg));
            rc = 0;
        }
        break;
    }
    case C_PLAN_ACTIVATE: {
        char *end;
        long v = strtol(j->arg, &end, 10);
        if (*end != '\0' || v < 1 || v > 1000000000)
            return job_bad(j, "a plan version is a number");
        rc = wcs_act_plan_activate(c, j->user, (int)v, &warned, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:i}", "active", (int)v));
        break;
    }
    case C_DISPATCH_OPEN:
        if (in_string(j, "route") == NULL || in_string(j, "transport") == NULL ||
            in_string(j, "departure") == NULL)
            return job_bad(j, "route, transport and departure are needed");
        rc = wcs_act_dispatch_open(c, j->user, in_string(j, "route"), in_string(j, "transport"),
                                   in_string(j, "crossing") ? in_string(j, "crossing") : "",
                                   in_string(j, "departure"),
                                   in_string(j, "carrier") ? in_string(j, "carrier") : "", id,
                                   &warned, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:s}", "id", id));
        break;
    case C_DISPATCH_ADD: {
        json_t *bags = json_object_get(j->in, "bags");
        const char *ids[64];
        size_t i, n = json_array_size(bags);
        if (n == 0 || n > 64)
            return job_bad(j, "bags: a list of 1 to 64 bag ids");
        for (i = 0; i < n; i++)
            if ((ids[i] = json_string_value(json_array_get(bags, i))) == NULL)
                return job_bad(j, "bags: a list of bag ids (text)");
        rc = wcs_act_dispatch_add(c, j->user, j->arg, ids, n, &warned, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:I}", "added", (json_int_t)n));
        break;
    }
    case C_DISPATCH_CLOSE:
        rc = wcs_act_dispatch_close(c, j->user, j->arg, &warned, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:s}", "closed", j->arg));
        break;
    case C_USER_ADD: {
        const char *name = in_string(j, "name"), *role = in_string(j, "role"),
                   *pw = in_string(j, "password");
        char hash[WCS_PASSWORD_HASH_MAX];
        enum wcs_user_role r;
        if (name == NULL || role == NULL || pw == NULL)
            return job_bad(j, "name, role and password are needed");
        rc = wcs_user_name_check(name, &e);
        if (rc == 0)
            rc = wcs_user_role_parse(role, &r, &e);
        if (rc == 0)
            rc = wcs_password_check(pw, strlen(pw), &e);
        if (rc == 0)
            rc = wcs_password_hash(pw, strlen(pw), hash, &e);
        if (rc == 0)
            rc = wcs_db_user_add(c, name, r, hash, j->user, &e);
        explicit_bzero(hash, sizeof(hash));
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:s,s:s}", "name", name, "role", role));
        break;
    }
    case C_USER_DISABLE:
    case C_USER_ENABLE:
        rc = wcs_db_user_set_disabled(c, j->arg, j->route == C_USER_DISABLE, j->user, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:s}", "name", j->arg));
        break;
    case C_LANGUAGE: {
        const char *lang = in_string(j, "language");
        if (lang == NULL)
            return job_bad(j, "language: en or zh");
        rc = wcs_db_user_set_language(c, j->user, lang, &e);
        if (rc == 0)
            job_answer(j, MHD_HTTP_OK, json_pack("{s:s}", "language", lang));
        break;
    }
    default:
        job_answer(j, MHD_HTTP_NOT_FOUND, error_json("not_found", "no such resource"));
        break;
    }
    if (rc < 0)
        job_error(j, rc, &e);
    if (warned)
        log_warnx("http: %s's action done, its operator event not recorded: %s", j->user, e.msg);
    return rc != ERR_DB;
}

/* A no-read's image: from the archive's disk, no database. */
static void noread_image(struct http_job *j)
{
    struct err e;
    int rc;

    if (j->h->src.noread_dir == NULL || j->h->src.noread_dir[0] == '\0') {
        job_answer(j, MHD_HTTP_NOT_FOUND,
                   error_json("not_found", "no images are kept (cameras.noread_dir)"));
        return;
    }
    rc = scan_archive_png(j->h->src.noread_dir, j->arg, (unsigned char **)&j->body, &j->body_len,
                          &e);
    if (rc == 0) {
        j->status = MHD_HTTP_OK;
        j->type = "image/png";
    } else if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        job_error(j, ERR_NOTFOUND, &e);
    } else {
        log_warnx("http: %s", e.msg);
        job_answer(j, MHD_HTTP_INTERNAL_SERVER_ERROR, error_json("unreadable", e.msg));
    }
}

static void job_work_cb(uv_work_t *w)
{
    struct http_job *j = w->data;
    struct err e;
    PGconn *c;

    if (j->route == C_NOREAD_IMAGE) {
        noread_image(j);
        return;
    }
    c = db_take(j->h, &e);

    if (c == NULL) {
        log_warnx("http: console: %s", e.msg);
        job_answer(j, MHD_HTTP_SERVICE_UNAVAILABLE,
                   error_json("unavailable", "the database cannot be asked now"));
        return;
    }
    db_give(j->h, c, job_run(j, c));
}

/* A parcel's trace gets where wcsd would send it now and why (a dry run
 * from memory: the record says where it went, this says why). */
static void add_why(struct wcs_http *h, struct http_job *j)
{
    struct wcs_sorter *sorter = h->src.sorter;
    const char *codes[1] = {j->arg};
    struct wcs_decide_input m;
    struct wcs_decision dec;
    struct err e;
    json_t *t = json_loads(j->body, 0, NULL);

    memset(&m, 0, sizeof(m));
    /* A tracking number (a parcel nothing read) is no code to decide on. */
    if (strlen(j->arg) == 10 && strspn(j->arg, "0123456789") == 10) {
        json_decref(t);
        return;
    }
    if (t == NULL || wcs_sorter_decide(sorter, codes, 1, &m, false, &dec, &e) < 0) {
        json_decref(t);
        return;
    }
    json_object_set_new(t, "why", wcs_decision_why(wcs_sorter_plan(sorter),
                                                   wcs_sorter_engine(sorter), &dec));
    json_object_set_new(t, "decision_now",
                        json_pack("{s:s,s:s,s:i}", "destination", dec.destination, "reason",
                                  conv_reason_code(dec.reason), "plan_version",
                                  wcs_sorter_plan_version(sorter)));
    free(j->body);
    j->body = json_body(t);
}

/* A chute's records get the chute as the line shows it now. */
static void add_chute(struct wcs_http *h, struct http_job *j)
{
    char *chute = h->src.console ? wcs_console_chute_json(h->src.console, j->arg) : NULL;
    json_t *t = json_loads(j->body, 0, NULL);

    if (t == NULL) {
        free(chute);
        return;
    }
    json_object_set_new(t, "chute", chute ? json_loads(chute, 0, NULL) : json_null());
    free(chute);
    free(j->body);
    j->body = json_body(t);
}

/* Applies a done job to wcsd's memory (on the loop): a chute's hold, a
 * session's language; a trace gets its why. */
static void job_apply(struct wcs_http *h, struct http_job *j)
{
    struct wcs_console *con = h->src.console;
    char *chute;

    if (j->status != MHD_HTTP_OK && j->route != C_BAG_PRINT)
        return;
    if (j->route == C_TRACE)
        add_why(h, j);
    if (j->route == C_CHUTE)
        add_chute(h, j);
    if (j->route == C_CHUTE_DISABLE || j->route == C_CHUTE_ENABLE) {
        wcs_engine_set_chute_held(wcs_sorter_engine(h->src.sorter), j->arg,
                                  j->route == C_CHUTE_DISABLE);
        log_info("chute %s %s by %s", j->arg, j->route == C_CHUTE_DISABLE ? "disabled" : "enabled",
                 j->user);
        chute = con ? wcs_console_chute_json(con, j->arg) : NULL;
        free(j->body);
        j->body = NULL;
        if (chute != NULL) {
            size_t n = strlen(chute) + 16;
            j->body = malloc(n);
            if (j->body != NULL)
                snprintf(j->body, n, "{\"chute\":%s}", chute);
        }
        free(chute);
        if (con)
            wcs_console_refresh(con);
    }
    if (j->route == C_BAG_PRINT && j->printer >= 0 && j->body != NULL) {
        bool ok = j->status == MHD_HTTP_OK;

        wcs_printers_result(h->src.printers, j->printer, ok, j->arg, j->print_error);
        if (ok)
            audit(h, j->user, "bag %s label printed on %s", j->arg,
                  wcs_printers_config(h->src.printers, (size_t)j->printer)->id);
        if (con)
            wcs_console_refresh(con);
    }
    if (j->route == C_LANGUAGE) {
        const char *lang = in_string(j, "language");
        if (lang != NULL && j->b != NULL)
            wcs_session_set_language(h->sessions, j->b->session, lang);
    }
}

static void job_free(struct http_job *j)
{
    json_decref(j->in);
    free(j->body);
    free(j);
}

static void job_unlink(struct wcs_http *h, struct http_job *j)
{
    struct http_job **pp;

    for (pp = &h->cjobs; *pp != NULL; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            h->cjobs_count--;
            return;
        }
}

static void job_done_cb(uv_work_t *w, int status);

/* Puts the oldest waiting jobs on the pool while there is room; a waiting
 * job whose request ended meanwhile goes without running; when the server
 * stops, every waiting job goes. */
static void jobs_next(struct wcs_http *h)
{
    struct http_job *j = h->cjobs, *next;

    for (; j != NULL && (h->stopping || h->cjobs_running < JOBS_RUNNING_MAX); j = next) {
        next = j->next;
        if (j->on_pool)
            continue;
        if (j->b == NULL || h->stopping) {
            if (j->b != NULL)
                j->b->job = NULL;
            job_unlink(h, j);
            job_free(j);
            continue;
        }
        if (uv_queue_work(h->poll.loop, &j->work, job_work_cb, job_done_cb) < 0) {
            j->status = MHD_HTTP_SERVICE_UNAVAILABLE; /* answered as a job that failed */
            j->body = json_body(error_json("unavailable", "try again"));
            job_unlink(h, j);
            j->b->job = NULL;
            j->b->job_status = j->status;
            j->b->job_body = j->body;
            j->body = NULL;
            MHD_resume_connection(j->conn);
            job_free(j);
            continue;
        }
        j->on_pool = true;
        h->cjobs_running++;
    }
}

static void job_done_cb(uv_work_t *w, int status)
{
    struct http_job *j = w->data;
    struct wcs_http *h = j->h;

    (void)status;
    h->cjobs_running--;
    job_unlink(h, j);
    if (j->b != NULL) {
        job_apply(h, j);
        j->b->job = NULL;
        j->b->job_status = j->status ? j->status : MHD_HTTP_INTERNAL_SERVER_ERROR;
        j->b->job_body = j->body ? j->body : strdup("{}");
        j->b->job_len = j->body && j->body_len ? j->body_len : 0;
        j->b->job_type = j->type;
        j->body = NULL;
        MHD_resume_connection(j->conn);
        run_mhd(h);
    }
    job_free(j);
    jobs_next(h);
    if (h->stopping && console_idle(h))
        http_release(h);
}

static enum MHD_Result start_job(struct wcs_http *h, struct MHD_Connection *conn,
                                 struct request_state *b)
{
    struct http_job *j;
    json_error_t jerr;

    if (h->src.conninfo == NULL)
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no database in this wcsd");
    if (h->cjobs_count >= JOBS_MAX)
        return reply_error_hdr(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                               "too many console requests at once: try again", "Retry-After",
                               "1");
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return MHD_NO;
    if (b->len > 0) {
        j->in = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr);
        explicit_bzero(b->data, b->len); /* a new user's password */
        if (!json_is_object(j->in)) {
            json_decref(j->in);
            free(j);
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                               "the body is a JSON object");
        }
    }
    j->h = h;
    j->conn = conn;
    j->b = b;
    j->route = (enum console_route)b->console;
    j->printer = -1;
    memcpy(j->arg, b->arg, sizeof(j->arg));
    if (j->route == C_BAG_LABEL) {
        const char *f = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
        if (f != NULL && strcmp(f, "pdf") != 0 && strcmp(f, "zpl") != 0) {
            json_decref(j->in);
            free(j);
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", "format: pdf or zpl");
        }
        snprintf(j->format, sizeof(j->format), "%s", f ? f : "pdf");
    }
    memcpy(j->user, b->user[0] ? b->user : (b->who ? b->who->name : "?"), sizeof(j->user) - 1);
    j->work.data = j;
    b->job = j;
    { /* at the end: the oldest waits least */
        struct http_job **pp = &h->cjobs;
        while (*pp != NULL)
            pp = &(*pp)->next;
        *pp = j;
    }
    h->cjobs_count++;
    MHD_suspend_connection(conn);
    jobs_next(h);
    return MHD_YES;
}

/* --- actions on the loop ------------------------------------------------------ */

static enum MHD_Result answer_ack(struct wcs_http *h, struct MHD_Connection *conn,
                                  struct request_state *b)
{
    char *alarm = NULL, *body;
    int rc = wcs_console_ack(h->src.console, b->arg, b->user, &alarm);
    size_t n;

    if (rc == ERR_NOTFOUND)
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such alarm");
    if (rc == 0)
        audit(h, b->user, "alarm %s acknowledged", b->arg);
    n = (alarm ? strlen(alarm) : 4) + 16;
    body = malloc(n);
    if (body != NULL)
        snprintf(body, n, "{\"alarm\":%s}", alarm ? alarm : "null");
    free(alarm);
    return reply(conn, MHD_HTTP_OK, "application/json", body);
}

/* A code an operator keyed in for a parcel at a scan point: a scan of the
 * user, decided like any other. */
static enum MHD_Result answer_keyin(struct wcs_http *h, struct MHD_Connection *conn,
                                    struct request_state *b)
{
    json_t *in = b->len ? json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char *loc = json_string_value(json_object_get(in, "location"));
    const char *code = json_string_value(json_object_get(in, "code"));
    struct conv_scan s;
    struct timespec ts;
    struct err e;
    enum MHD_Result ret;

    memset(&s, 0, sizeof(s));
    if (loc == NULL || code == NULL || strlen(loc) >= sizeof(s.location) || *code == '\0' ||
        strlen(code) >= sizeof(s.code) ||
        strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(code)) {
        json_decref(in);
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                           "location (a scan point) and code (A-Z 0-9) are needed");
    }
    if (!wcs_plcs_scan_location_known(h->src.plcs, loc)) {
        json_decref(in);
        return reply_error(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "unknown_location",
                           "not a configured scan location");
    }
    snprintf(s.location, sizeof(s.location), "%s", loc);
    snprintf(s.code, sizeof(s.code), "%s", code);
    snprintf(s.source, sizeof(s.source), "keyin:%.14s", b->user);
    clock_gettime(CLOCK_REALTIME, &ts);
    s.at_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (wcs_plcs_scan(h->src.plcs, &s, &e) < 0) {
        ret = reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not_kept", e.msg);
    } else {
        audit(h, b->user, "key-in %s at %s", s.code, s.location);
        ret = reply_json(conn, MHD_HTTP_ACCEPTED, json_pack("{s:i}", "accepted", 1));
    }
    json_decref(in);
    return ret;
}

/* --- the answer ---------------------------------------------------------------- */

static bool chute_known(struct wcs_http *h, const char *chute)
{
    const struct wcs_plan *plan = wcs_sorter_plan(h->src.sorter);

    return plan != NULL && wcs_plan_chute_find(plan, chute) >= 0;
}

/* Whether v is a number of 1 to digits decimal digits at most max. */
static bool number_arg(const char *v, size_t digits, long long max, long long *out)
{
    size_t n = v ? strlen(v) : 0;

    if (n == 0 || n > digits || strspn(v, "0123456789") != n)
        return false;
    *out = strtoll(v, NULL, 10);
    return *out <= max;
}

/* GET /v1/tracking/events?after=CURSOR&limit=N: checks the arguments, then
 * reads the page on the pool (the feed publishes first: a write). */
static enum MHD_Result answer_tracking(struct wcs_http *h, struct MHD_Connection *conn,
                                       struct request_state *b)
{
    const char *after = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    long long a = 0, l = 100;

    if (after != NULL && !number_arg(after, 18, INT64_MAX, &a))
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_cursor",
                           "after: a cursor from this feed (the decimal \"cursor\" or \"next\")");
    if (limit != NULL && (!number_arg(limit, 4, WCS_TRACKING_LIMIT_MAX, &l) || l < 1))
        return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                           "limit: 1 to 1000 events");
    snprintf(b->arg, sizeof(b->arg), "%lld %lld", a, l);
    return start_job(h, conn, b);
}

enum MHD_Result console_answer(struct wcs_http *h, struct MHD_Connection *conn,
                               struct request_state *b)
{
    const char *doc;

    if (b->job_status != 0) { /* its job ran: its answer (MHD frees the body) */
        char *body = b->job_body;

        b->job_body = NULL;
        if (b->job_type != NULL && body != NULL)
            return reply_doc(conn, b->job_status, b->job_type, body,
                             b->job_len ? b->job_len : strlen(body));
        return reply(conn, b->job_status, "application/json", body);
    }
    if (b->too_large)
        return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body over 4 KiB");
    switch ((enum console_route)b->console) {
    case C_PAGE:
        return answer_page(conn, b->arg);
    case C_STREAM:
        return answer_stream(h, conn, b);
    case C_ALARMS:
        doc = h->src.console ? wcs_console_doc(h->src.console, WCS_DOC_ALARMS) : NULL;
        return doc ? reply(conn, MHD_HTTP_OK, "application/json", strdup(doc))
                   : reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no console");
    case C_ALARM_ACK:
        if (h->src.console == NULL)
            return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no console");
        return answer_ack(h, conn, b);
    case C_KEYIN:
        return answer_keyin(h, conn, b);
    case C_CHUTE:
    case C_CHUTE_CLOSE:
    case C_CHUTE_DISABLE:
    case C_CHUTE_ENABLE:
        /* Only a chute of the active plan: nothing else is held, recorded or logged. */
        if (!chute_known(h, b->arg))
            return reply_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
                               "no such chute in the active sort plan");
        return start_job(h, conn, b);
    case C_TRACKING:
        return answer_tracking(h, conn, b);
    case C_NOREADS: {
        const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
        const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
        long long n = 50;

        if (state == NULL)
            state = "pending";
        if (strcmp(state, "pending") != 0 && strcmp(state, "keyed") != 0 &&
            strcmp(state, "unreadable") != 0 && strcmp(state, "expired") != 0 &&
            strcmp(state, "all") != 0)
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
                               "state: pending, keyed, unreadable, expired or all");
        if (limit != NULL && !number_arg(limit, 4, 1000, &n))
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", "limit: 1 to 1000");
        snprintf(b->arg, sizeof(b->arg), "%s %lld", state, n < 1 ? 1 : n);
        return start_job(h, conn, b);
    }
    case C_AUDIT: {
        const char *hours = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "hours");
        if (hours != NULL && (strlen(hours) == 0 || strlen(hours) > 4 ||
                              strspn(hours, "0123456789") != strlen(hours)))
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, "bad_request", "hours: 1 to 744");
        snprintf(b->arg, sizeof(b->arg), "%s", hours ? hours : "24");
        return start_job(h, conn, b);
    }
    default:
        return start_job(h, conn, b);
    }
}

void console_request_done(struct wcs_http *h, struct request_state *b)
{
    (void)h;
    if (b->job != NULL)
        b->job->b = NULL;
    free(b->job_body);
}

int console_init(struct wcs_http *h)
{
    return uv_mutex_init(&h->db_mu);
}

void console_stop(struct wcs_http *h)
{
    struct stream_client *s;
    struct http_job *j;

    for (s = h->streams; s != NULL; s = s->next) {
        s->closing = true;
        stream_wake(s);
    }
    for (j = h->cjobs; j != NULL; j = j->next)
        if (j->b != NULL)
            MHD_resume_connection(j->conn);
}

bool console_idle(const struct wcs_http *h)
{
    return h->cjobs_running == 0 && h->cjobs == NULL;
}

void console_free(struct wcs_http *h)
{
    int i;

    for (i = 0; i < h->db_nidle; i++)
        PQfinish(h->db_idle[i]);
    h->db_nidle = 0;
    uv_mutex_destroy(&h->db_mu);
}

/*
 * server.c - wcs-brokersim: the HTTP side (libmicrohttpd, one thread per
 * connection, 127.0.0.1 only). Routes broker API v1 requests, checks the
 * bearer token and the Idempotency-Key, injects the configured faults and
 * answers from store.c.
 *
 * DESIGN: faults that stand for "the broker never got it" (reset, 429, 5xx)
 * are drawn before any processing; faults that stand for "the broker did it
 * but the answer got lost" (--reset-after, --malformed) are drawn after the
 * response was stored, so a client that retries with the same key must get
 * the stored response and the broker must not accept twice. The store's
 * lock is held from the idempotency lookup to the remember, so concurrent
 * requests with one key are processed once. Faults that stand for "the
 * broker answers wrongly" (--swap-results, --wrong-ids, --oversize) change
 * the answer on its way out, after it was stored as the broker made it.
 * --answer-status stands for a wrong server or a proxy: it answers before
 * auth and processing, and nothing is stored.
 */
#include "customs/brokersim/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "common/log.h"

struct bsim_server {
    struct MHD_Daemon *mhd;
    const struct bsim_opts *o;
    struct bsim_store *st;
    unsigned port;  /* the bound port, for --answer-status's Location */
};

struct req {
    char *data;    /* request body, NUL-terminated */
    size_t len;    /* bytes */
    int too_large; /* body exceeded --max-body */
};

/* An answer being built: status and JSON text (owned). */
struct answer {
    unsigned status;
    char *body;
};

static int set_answer(struct answer *a, unsigned status, json_t *j)
{
    a->status = status;
    a->body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return a->body != NULL ? 0 : -ENOMEM;
}

static int set_error(struct answer *a, unsigned status, const char *code, const char *msg)
{
    return set_answer(a, status,
                      json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

static enum MHD_Result send_typed(struct MHD_Connection *conn, unsigned status, const char *type,
                                  const char *body, size_t len, const char *hdr, const char *val)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (hdr != NULL)
        MHD_add_response_header(r, hdr, val);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *body,
                                 size_t len, const char *hdr, const char *val)
{
    return send_typed(conn, status, "application/json", body, len, hdr, val);
}

static enum MHD_Result send_answer(struct MHD_Connection *conn, struct answer *a)
{
    enum MHD_Result ret;

    if (a->body == NULL)
        return MHD_NO;
    ret = send_text(conn, a->status, a->body, strlen(a->body), NULL, NULL);
    free(a->body);
    a->body = NULL;
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *msg)
{
    struct answer a = {0, NULL};

    if (set_error(&a, status, code, msg) < 0)
        return MHD_NO;
    return send_answer(conn, &a);
}

static int draw(struct bsim_server *s, double p)
{
    return p > 0 && cust_bsim_random(s->st) < p;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- POST /v1/declarations ----------------------------------------------- */

static int process_declarations(struct bsim_server *s, const char *key, const json_t *body,
                                struct answer *a)
{
    const json_t *decls = json_object_get(body, "declarations");
    json_t *results, *errors = NULL;
    size_t i;

    if (!json_is_object(body) || !json_is_array(decls))
        return set_error(a, 422, "invalid", "the body must be {\"declarations\": [...]}");
    if (json_array_size(decls) == 0)
        return set_error(a, 422, "invalid", "declarations is empty");
    if (json_array_size(decls) > BSIM_MAX_BATCH)
        return set_error(a, 413, "batch_too_large", "at most 500 declarations per request");
    results = json_array();
    if (results == NULL)
        return -ENOMEM;
    for (i = 0; i < json_array_size(decls); i++) {
        const json_t *d = json_array_get(decls, i);
        const json_t *pid = json_is_object(d) ? json_object_get(d, "parcel_id") : NULL;
        json_t *r;
        char ref[16];
        int n;

        errors = json_array();
        if (errors == NULL)
            goto nomem;
        n = cust_bsim_validate(d, errors);
        if (n < 0)
            goto nomem;
        r = json_pack("{s:O?}", "parcel_id", json_is_string(pid) ? pid : NULL);
        if (r == NULL)
            goto nomem;
        if (json_object_get(r, "parcel_id") == NULL)
            json_object_set_new(r, "parcel_id", json_null());
        if (n == 0) {
            if (cust_bsim_accept(s->st, json_string_value(pid), key, ref, sizeof(ref)) < 0) {
                json_decref(r);
                goto nomem;
            }
            json_object_set_new(r, "status", json_string("accepted"));
            json_object_set_new(r, "broker_ref", json_string(ref));
        } else {
            json_object_set_new(r, "status", json_string("rejected"));
        }
        json_object_set_new(r, "errors", errors);
        errors = NULL;
        if (json_array_append_new(results, r) < 0)
            goto nomem;
    }
    return set_answer(a, 200, json_pack("{s:o}", "results", results));
nomem:
    json_decref(errors);
    json_decref(results);
    return -ENOMEM;
}

/* ---- POST /v1/manifests ------------------------------------------------- */

static int process_manifest(struct bsim_server *s, const json_t *body, struct answer *a)
{
    const json_t *mid = json_object_get(body, "manifest_id");
    const json_t *bags = json_object_get(body, "bags");
    json_t *unknown;
    char ref[16];
    size_t i, k;

    if (!json_is_object(body) || !json_is_string(mid) || !json_is_array(bags))
        return set_error(a, 422, "invalid", "the body must carry manifest_id and bags");
    for (i = 0; i < json_array_size(bags); i++) {
        const json_t *p = json_object_get(json_array_get(bags, i), "parcels");
        if (!json_is_array(p))
            return set_error(a, 422, "invalid", "each bag must carry a parcels array");
        for (k = 0; k < json_array_size(p); k++)
            if (!json_is_string(json_array_get(p, k)))
                return set_error(a, 422, "invalid", "parcel ids must be strings");
    }
    unknown = json_array();
    if (unknown == NULL)
        return -ENOMEM;
    for (i = 0; i < json_array_size(bags); i++) {
        const json_t *p = json_object_get(json_array_get(bags, i), "parcels");
        for (k = 0; k < json_array_size(p); k++) {
            json_t *id = json_array_get(p, k);
            if (!cust_bsim_is_accepted(s->st, json_string_value(id)) &&
                json_array_append(unknown, id) < 0) {
                json_decref(unknown);
                return -ENOMEM;
            }
        }
    }
    cust_bsim_manifest(s->st, json_string_value(mid), ref, sizeof(ref));
    return set_answer(a, 200,
                      json_pack("{s:O,s:s,s:s,s:o}", "manifest_id", mid, "status", "received",
                                "broker_ref", ref, "unknown_parcels", unknown));
}

/* Runs a POST under the idempotency rules; fills a. Lock taken here. */
static int handle_post(struct bsim_server *s, struct MHD_Connection *conn, const char *url,
                       const struct req *rq, struct answer *a)
{
    const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
    const struct bsim_reply *stored;
    json_error_t je;
    json_t *body;
    int rc;

    if (key == NULL || key[0] == '\0')
        return set_error(a, 400, "missing_idempotency_key", "Idempotency-Key is required");
    if (strlen(key) > BSIM_MAX_KEY)
        return set_error(a, 400, "bad_idempotency_key", "Idempotency-Key is over 64 characters");
    if (rq->too_large)
        return set_error(a, 413, "too_large", "request body is too large");
    cust_bsim_store_lock(s->st);
    rc = cust_bsim_idem_lookup(s->st, url, key, rq->data ? rq->data : "", rq->len, &stored);
    if (rc == ERR_CONFLICT) {
        cust_bsim_store_unlock(s->st);
        return set_error(a, 409, "idempotency_conflict",
                         "this Idempotency-Key was used with another body");
    }
    if (stored != NULL) {
        a->status = stored->status;
        a->body = strdup(stored->body);
        cust_bsim_store_unlock(s->st);
        return a->body != NULL ? 0 : -ENOMEM;
    }
    body = json_loadb(rq->data ? rq->data : "", rq->len, 0, &je);
    if (body == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "malformed JSON at line %d column %d: %s", je.line,
                 je.column, je.text);
        rc = set_error(a, 400, "malformed", msg);
    } else if (strcmp(url, "/v1/declarations") == 0) {
        rc = process_declarations(s, key, body, a);
    } else {
        rc = process_manifest(s, body, a);
    }
    json_decref(body);
    if (rc == 0)
        rc = cust_bsim_idem_remember(s->st, url, key, rq->data ? rq->data : "", rq->len,
                                     a->status, a->body);
    cust_bsim_store_unlock(s->st);
    return rc;
}

/* ---- GET /v1/events -------------------------------------------------------- */

static int parse_u64(const char *s, unsigned long long *out)
{
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0' ? 0 : -1;
}

static int handle_events(struct bsim_server *s, struct MHD_Connection *conn, struct answer *a)
{
    const char *after = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    unsigned long long av = 0, lv = 100;
    json_t *j;

    if (after != NULL && after[0] != '\0' && parse_u64(after, &av) < 0)
        return set_error(a, 400, "bad_cursor", "after is not a cursor of this broker");
    if (limit != NULL && (parse_u64(limit, &lv) < 0 || lv < 1 || lv > 1000))
        return set_error(a, 400, "bad_limit", "limit must be 1..1000");
    cust_bsim_store_lock(s->st);
    j = cust_bsim_events(s->st, av, (unsigned)lv);
    cust_bsim_store_unlock(s->st);
    if (j == NULL)
        return -ENOMEM;
    return set_answer(a, 200, j);
}

/* ---- answers changed on their way out --------------------------------------- */

/* --answer-status: what a wrong server, or a proxy in front of the broker,
 * might answer to any request: the broker's error body (or an HTML page),
 * and for a 3xx a Location to the same path over https on this host. */
static enum MHD_Result send_status(struct bsim_server *s, struct MHD_Connection *conn,
                                   const char *url)
{
    unsigned st = s->o->answer_status;
    char loc[256] = "", page[128], msg[64];
    const char *hdr = NULL;
    struct answer a = {0, NULL};
    enum MHD_Result ret;

    if (st >= 300 && st <= 399) {
        snprintf(loc, sizeof(loc), "https://127.0.0.1:%u%s", s->port, url);
        hdr = MHD_HTTP_HEADER_LOCATION;
    }
    if (s->o->answer_status_text) {
        snprintf(page, sizeof(page), "<html><body><h1>%u</h1></body></html>\n", st);
        return send_typed(conn, st, "text/html", page, strlen(page), hdr, loc);
    }
    snprintf(msg, sizeof(msg), "injected HTTP %u", st);
    if (set_error(&a, st, "injected_status", msg) < 0)
        return MHD_NO;
    ret = send_typed(conn, st, "application/json", a.body, strlen(a.body), hdr, loc);
    free(a.body);
    return ret;
}

/* --swap-results, --wrong-ids: the stored answer a changed: the results in
 * reverse order; the last result for another parcel (the first result's,
 * or one never declared when there is one result), a manifest's answer for
 * another manifest. Returns 0 or -ENOMEM. */
static int alter_answer(struct answer *a, int swap, int wrong)
{
    json_t *j = json_loads(a->body, 0, NULL), *res = json_object_get(j, "results");
    const char *mid = json_string_value(json_object_get(j, "manifest_id"));
    size_t i, n = json_array_size(res);
    char other[160];
    int rc = -ENOMEM;

    if (j == NULL)
        return -ENOMEM; /* our own JSON text: only memory can fail */
    if (swap && n > 1) {
        json_t *rev = json_array();

        for (i = n; rev != NULL && i > 0; i--)
            if (json_array_append(rev, json_array_get(res, i - 1)) < 0)
                goto out;
        if (rev == NULL || json_object_set_new(j, "results", rev) < 0)
            goto out;
        res = rev;
    }
    if (wrong && n > 0) {
        json_t *first = json_object_get(json_array_get(res, 0), "parcel_id");

        if (json_object_set_new(json_array_get(res, n - 1), "parcel_id",
                                n > 1 ? json_incref(first) : json_string("RR000000000CN")) < 0)
            goto out;
    } else if (wrong && mid != NULL) {
        snprintf(other, sizeof(other), "WRONG-%.128s", mid);
        if (json_object_set_new(j, "manifest_id", json_string(other)) < 0)
            goto out;
    }
    free(a->body);
    a->body = json_dumps(j, JSON_COMPACT);
    rc = a->body != NULL ? 0 : -ENOMEM;
out:
    json_decref(j);
    return rc;
}

/* --oversize: the answer's JSON, then BSIM_OVERSIZE_PAD blanks (still
 * JSON), in chunks of unknown total size, as a broker or proxy gone wrong
 * might stream it. */
struct pad {
    char *body;
    size_t len;   /* of body */
    size_t total; /* len + BSIM_OVERSIZE_PAD */
};

static ssize_t pad_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct pad *p = cls;
    size_t n = 0, k;

    if (pos >= p->total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (pos < p->len) {
        n = p->len - (size_t)pos < max ? p->len - (size_t)pos : max;
        memcpy(buf, p->body + pos, n);
    }
    k = p->total - (size_t)pos - n < max - n ? p->total - (size_t)pos - n : max - n;
    memset(buf + n, ' ', k);
    return (ssize_t)(n + k);
}

static void pad_free(void *cls)
{
    struct pad *p = cls;

    free(p->body);
    free(p);
}

static enum MHD_Result send_oversize(struct MHD_Connection *conn, struct answer *a)
{
    struct pad *p = malloc(sizeof(*p));
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (p == NULL) {
        free(a->body);
        return MHD_NO;
    }
    p->body = a->body;
    p->len = strlen(a->body);
    p->total = p->len + BSIM_OVERSIZE_PAD;
    a->body = NULL;
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, pad_cb, p, pad_free);
    if (r == NULL) {
        pad_free(p);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, a->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- dispatch ------------------------------------------------------------ */

/* Authorization: SCHEME TOKEN (v1: "Bearer", rupost: "AccessToken"). */
static int authorized(struct bsim_server *s, struct MHD_Connection *conn, const char *scheme)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    size_t n = strlen(s->o->token), k = strlen(scheme), i;
    unsigned char diff = 0;

    if (h == NULL || strncmp(h, scheme, k) != 0 || h[k] != ' ' || strlen(h + k + 1) != n)
        return 0;
    /* Compare every byte, so the time does not tell how much matched. */
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(h[k + 1 + i] ^ s->o->token[i]);
    return diff == 0;
}

/* A v1 answer a to v1_path in rupost's words, in place. */
static int rp_answer(const char *v1_path, struct answer *a)
{
    char *t = a->body ? cust_bsim_rp_answer(v1_path, a->body) : NULL;

    if (t == NULL)
        return a->body == NULL ? 0 : -ENOMEM;
    free(a->body);
    a->body = t;
    return 0;
}

/* An error answer in the words of the API the request came by (rp: the
 * rupost profile's {"code", "desc"}), with one header when hdr is set. */
static enum MHD_Result api_error(struct MHD_Connection *conn, int rp, unsigned status,
                                 const char *code, const char *msg, const char *hdr,
                                 const char *val)
{
    struct answer a = {0, NULL};
    enum MHD_Result ret;

    if (set_error(&a, status, code, msg) < 0 || (rp && rp_answer("", &a) < 0)) {
        free(a.body);
        return MHD_NO;
    }
    ret = send_text(conn, status, a.body, strlen(a.body), hdr, val);
    free(a.body);
    return ret;
}

static enum MHD_Result handle_admin(struct bsim_server *s, struct MHD_Connection *conn,
                                    const char *url, const char *method)
{
    struct answer a = {0, NULL};
    json_t *j = NULL;

    if (strcmp(method, "GET") != 0)
        return send_error(conn, 405, "method", "admin endpoints are GET only");
    cust_bsim_store_lock(s->st);
    if (strcmp(url, "/admin/accepted") == 0)
        j = cust_bsim_accepted_json(s->st);
    else if (strcmp(url, "/admin/stats") == 0)
        j = cust_bsim_stats_json(s->st);
    cust_bsim_store_unlock(s->st);
    if (j == NULL)
        return send_error(conn, 404, "not_found", "no such admin resource");
    if (set_answer(&a, 200, j) < 0)
        return MHD_NO;
    return send_answer(conn, &a);
}

/* A request of broker API v1 (/v1/...) or of the rupost profile
 * (/1.0/customs/...), which is served as the v1 request it stands for. */
static enum MHD_Result handle_api(struct bsim_server *s, struct MHD_Connection *conn,
                                  const char *url, const char *method, const struct req *rq)
{
    const struct bsim_opts *o = s->o;
    const char *v1 = strncmp(url, "/v1/", 4) == 0 ? url : cust_bsim_rp_path(url);
    int rp = v1 != url;
    struct answer a = {0, NULL};
    struct req rq1 = *rq;
    char ra[16], *rp_body = NULL;
    int rc;

    if (o->latency_ms > 0 || o->jitter_ms > 0)
        sleep_ms(o->latency_ms + (unsigned)(cust_bsim_random(s->st) * (o->jitter_ms + 1)));
    if (draw(s, o->reset)) {
        cust_bsim_count_fault(s->st, BSIM_F_RESET);
        log_info("%s %s -> reset (injected)", method, url);
        return MHD_NO;
    }
    if (draw(s, o->rate_limit)) {
        cust_bsim_count_fault(s->st, BSIM_F_429);
        snprintf(ra, sizeof(ra), "%u", o->retry_after_s);
        log_info("%s %s -> 429 (injected)", method, url);
        return api_error(conn, rp, 429, "rate_limited", "slow down", MHD_HTTP_HEADER_RETRY_AFTER,
                         ra);
    }
    if (draw(s, o->fail_5xx)) {
        cust_bsim_count_fault(s->st, BSIM_F_5XX);
        log_info("%s %s -> 503 (injected)", method, url);
        return api_error(conn, rp, 503, "unavailable", "injected failure, retry later", NULL, NULL);
    }
    if (o->answer_status != 0) {
        cust_bsim_count_fault(s->st, BSIM_F_STATUS);
        log_info("%s %s -> %u (injected)", method, url, o->answer_status);
        return send_status(s, conn, url);
    }
    if (v1 == NULL)
        return api_error(conn, 1, 404, "not_found", "no such resource", NULL, NULL);
    if (!authorized(s, conn, rp ? "AccessToken" : "Bearer")) {
        log_info("%s %s -> 401", method, url);
        return api_error(conn, rp, 401, "unauthorized", "bad or missing bearer token",
                         MHD_HTTP_HEADER_WWW_AUTHENTICATE, rp ? "AccessToken" : "Bearer");
    }
    if (strcmp(v1, "/v1/declarations") == 0 || strcmp(v1, "/v1/manifests") == 0) {
        if (strcmp(method, "POST") != 0)
            return api_error(conn, rp, 405, "method", "POST only", NULL, NULL);
        if (rp && rq->data != NULL && !rq->too_large &&
            (rp_body = cust_bsim_rp_request(v1, rq->data, rq->len)) != NULL) {
            rq1.data = rp_body;
            rq1.len = strlen(rp_body);
        }
        rc = handle_post(s, conn, v1, &rq1, &a);
        free(rp_body);
    } else if (strcmp(v1, "/v1/events") == 0) {
        if (strcmp(method, "GET") != 0)
            return api_error(conn, rp, 405, "method", "GET only", NULL, NULL);
        rc = handle_events(s, conn, &a);
    } else {
        return api_error(conn, rp, 404, "not_found", "no such resource", NULL, NULL);
    }
    if (rc < 0) {
        free(a.body);
        log_warnx("%s %s: out of memory", method, url);
        return api_error(conn, rp, 500, "internal", "out of memory", NULL, NULL);
    }
    log_info("%s %s -> %u", method, url, a.status);
    if (a.status == 200 && draw(s, o->reset_after)) {
        cust_bsim_count_fault(s->st, BSIM_F_RESET_AFTER);
        log_info("%s %s -> reset after processing (injected)", method, url);
        free(a.body);
        return MHD_NO;
    }
    if (a.status == 200 && strcmp(v1, "/v1/events") != 0) {
        int swap = strcmp(v1, "/v1/declarations") == 0 && draw(s, o->swap_results);
        int wrong = draw(s, o->wrong_ids);

        if (swap)
            cust_bsim_count_fault(s->st, BSIM_F_SWAP);
        if (wrong)
            cust_bsim_count_fault(s->st, BSIM_F_WRONG_IDS);
        if (swap || wrong) {
            log_info("%s %s -> 200%s%s (injected)", method, url, swap ? ", results reversed" : "",
                     wrong ? ", wrong ids" : "");
            if (alter_answer(&a, swap, wrong) < 0) {
                free(a.body);
                return api_error(conn, rp, 500, "internal", "out of memory", NULL, NULL);
            }
        }
    }
    if (rp && rp_answer(v1, &a) < 0) {
        free(a.body);
        return api_error(conn, rp, 500, "internal", "out of memory", NULL, NULL);
    }
    if (a.status == 200 && draw(s, o->malformed)) {
        enum MHD_Result ret;
        cust_bsim_count_fault(s->st, BSIM_F_MALFORMED);
        log_info("%s %s -> malformed 200 (injected)", method, url);
        /* Half the JSON text: never parses, looks like a cut transfer. */
        ret = send_text(conn, 200, a.body, strlen(a.body) / 2, NULL, NULL);
        free(a.body);
        return ret;
    }
    if (a.status == 200 && draw(s, o->oversize)) {
        cust_bsim_count_fault(s->st, BSIM_F_OVERSIZE);
        log_info("%s %s -> 200 followed by %u blanks (injected)", method, url, BSIM_OVERSIZE_PAD);
        return send_oversize(conn, &a);
    }
    return send_answer(conn, &a);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    struct bsim_server *s = cls;
    struct req *rq = *req_cls;

    (void)version;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            return MHD_NO;
        *req_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (rq->too_large || rq->len + *upload_data_size > s->o->max_body) {
            rq->too_large = 1;
        } else {
            char *p = realloc(rq->data, rq->len + *upload_data_size + 1);
            if (p == NULL)
                return MHD_NO;
            memcpy(p + rq->len, upload_data, *upload_data_size);
            rq->data = p;
            rq->len += *upload_data_size;
            p[rq->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    cust_bsim_count_request(s->st);
    if (strncmp(url, "/admin/", 7) == 0)
        return handle_admin(s, conn, url, method);
    if (strncmp(url, "/v1/", 4) == 0 || strncmp(url, "/1.0/customs/", 13) == 0)
        return handle_api(s, conn, url, method, rq);
    return send_error(conn, 404, "not_found", "no such resource");
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *req_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (rq != NULL) {
        free(rq->data);
        free(rq);
        *req_cls = NULL;
    }
}

/* libmicrohttpd's own messages ("Application reported internal error" after
 * an injected reset) go to the debug level: they are expected here. */
static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_vemit(LOG_LEVEL_DEBUG, 0, fmt, ap);
}

int cust_bsim_server_start(const struct bsim_opts *o, struct bsim_store *st,
                           struct bsim_server **out, unsigned *port, struct err *e)
{
    struct bsim_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    const union MHD_DaemonInfo *info;

    if (s == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    s->o = o;
    s->st = st;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)o->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                  MHD_USE_POLL | MHD_USE_ERROR_LOG,
                              (uint16_t)o->port, NULL, NULL, access_cb, s, MHD_OPTION_SOCK_ADDR,
                              &sin, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
                              MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_EXTERNAL_LOGGER,
                              mhd_log_cb, NULL, MHD_OPTION_END);
    if (s->mhd == NULL) {
        free(s);
        return err_set(e, -EADDRINUSE, "cannot listen on 127.0.0.1:%u", o->port);
    }
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = info != NULL ? info->port : o->port;
    s->port = *port;
    *out = s;
    return 0;
}

void cust_bsim_server_stop(struct bsim_server *srv)
{
    if (srv == NULL)
        return;
    MHD_stop_daemon(srv->mhd);
    free(srv);
}

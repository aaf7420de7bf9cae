/*
 * outbox.c - the customs submission worker (customs/outbox.h).
 *
 * DESIGN. One process, one thread, one loop around curl_multi_poll(): the
 * worker's only event sources are its HTTP transfers and timers for retries,
 * and its database calls (claim, finish) are short blocking libpq
 * statements, so a libuv loop would add a second event system without
 * serving anything. Each slot holds one claimed batch: its request body is
 * built once from the stored declaration texts and is re-sent byte for byte
 * under the batch's Idempotency-Key on every retry, so the broker processes a
 * batch once however often it is sent, by whichever worker. The slots' easy
 * handles stay with the multi handle's connection cache, so connections to
 * the broker are reused.
 *
 * The decision feed (events_ms > 0) is one more slot in the same loop, with
 * the same easy-handle setup (TLS, timeouts) and Authorization header: a GET
 * from the cursor held in memory, which is the stored one at start and then
 * the "next" of each page stored. A page's events, their effect on parcels
 * and the new cursor are committed together (wcs_customs_feed_store), so a
 * worker killed at any point restarts from the cursor of the last stored
 * event. A page that fails (network, 5xx, an unusable answer, the database)
 * is fetched again from the same cursor after a back-off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/log.h"
#include "customs/outbox.h"
#include "wcs/customs_store.h"
#include "wcs/store.h"

enum slot_state { SLOT_IDLE, SLOT_WAITING, SLOT_INFLIGHT };

struct slot {
    enum slot_state state;
    struct wcs_customs_batch b;
    CURL *easy;
    struct curl_slist *hdr;
    char *body;          /* request body, built once per claim */
    char *resp;          /* response body */
    size_t resp_len;
    long retry_after_s;  /* from a 429's Retry-After, 0 if none */
    int tries;           /* sends of this claim */
    long long due_ms;    /* SLOT_WAITING: when to send again */
};

struct feed {
    struct slot s;       /* s.state: SLOT_IDLE (next due at due_ms) or SLOT_INFLIGHT */
    char *cursor;        /* after=; NULL = from the start */
    long long due_ms;
    int failures;        /* consecutive failed pages, for the back-off */
    char base[1024];     /* ".../v1/events?limit=N" */
};

struct worker {
    const struct cust_worker_opts *o;
    struct feed feed;
    PGconn *db;
    CURLM *multi;
    struct slot *slots;
    char owner[128];
    char url[1024];
    char auth[1024];
    unsigned rng;
    int fatal_rc;
};

void cust_worker_defaults(struct cust_worker_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->batch = 100;
    o->lease_s = 60;
    o->parallel = 2;
    o->max_tries = 8;
    o->poll_ms = 500;
    o->backoff_base_ms = 200;
    o->backoff_max_ms = 20000;
    o->events_limit = 100;
    o->broker_name = "default";
}

int cust_token_read(const char *path, char **out, struct err *e)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    size_t n;

    *out = NULL;
    if (f == NULL)
        return err_set(e, -errno, "token file %s: %s", path, strerror(errno));
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    fclose(f);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t'))
        line[--n] = '\0';
    if (n == 0)
        return err_set(e, ERR_CONFIG, "token file %s: empty first line", path);
    *out = strdup(line);
    memset(line, 0, sizeof(line));
    return *out != NULL ? 0 : err_set(e, -ENOMEM, "token: out of memory");
}

int cust_http_retryable(long s)
{
    return s == 0 || s == 408 || s == 429 || (s >= 500 && s <= 599);
}

long cust_backoff_ms(int tries, long base_ms, long max_ms, double r, long retry_after_s)
{
    long d = base_ms;
    int i;

    for (i = 1; i < tries && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    d = d / 2 + (long)((double)(d - d / 2) * r);
    if (retry_after_s > 0 && d < retry_after_s * 1000)
        d = retry_after_s * 1000;
    return d;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- HTTP ------------------------------------------------------------- */

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct slot *s = ud;
    size_t n = size * nmemb;
    char *p = realloc(s->resp, s->resp_len + n + 1);

    if (p == NULL)
        return 0; /* curl fails the transfer; it is retried */
    memcpy(p + s->resp_len, ptr, n);
    s->resp = p;
    s->resp_len += n;
    p[s->resp_len] = '\0';
    return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct slot *s = ud;
    size_t n = size * nmemb;

    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
        char v[24];
        size_t k = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;

        memcpy(v, ptr + 12, k);
        v[k] = '\0';
        s->retry_after_s = strtol(v, NULL, 10); /* an HTTP date reads as 0: back-off only */
        if (s->retry_after_s < 0 || s->retry_after_s > 3600)
            s->retry_after_s = 0;
    }
    return n;
}

/* Builds {"declarations":[...]} from the stored texts, in batch order. */
static int build_body(struct slot *s)
{
    size_t i, len = 32;
    char *p;

    for (i = 0; i < s->b.n; i++)
        len += strlen(s->b.items[i].body) + 1;
    s->body = malloc(len);
    if (s->body == NULL)
        return -ENOMEM;
    p = s->body;
    p += sprintf(p, "{\"declarations\":[");
    for (i = 0; i < s->b.n; i++)
        p += sprintf(p, "%s%s", i > 0 ? "," : "", s->b.items[i].body);
    sprintf(p, "]}");
    return 0;
}

static int send_slot(struct worker *w, struct slot *s)
{
    char key[128];

    curl_slist_free_all(s->hdr);
    s->hdr = NULL;
    snprintf(key, sizeof(key), "Idempotency-Key: %s", s->b.idem_key);
    s->hdr = curl_slist_append(s->hdr, w->auth);
    if (s->hdr != NULL)
        s->hdr = curl_slist_append(s->hdr, key);
    if (s->hdr != NULL)
        s->hdr = curl_slist_append(s->hdr, "Content-Type: application/json");
    if (s->hdr == NULL)
        return -ENOMEM;
    free(s->resp);
    s->resp = NULL;
    s->resp_len = 0;
    s->retry_after_s = 0;
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdr);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(s->body));
    s->tries++;
    log_info("batch %.8s: sending %zu declarations, attempt %d (claim %d)", s->b.idem_key, s->b.n,
             s->tries, s->b.attempts);
    if (curl_multi_add_handle(w->multi, s->easy) != CURLM_OK)
        return -ENOMEM;
    s->state = SLOT_INFLIGHT;
    return 0;
}

static int slot_init(struct worker *w, struct slot *s)
{
    const struct cust_worker_opts *o = w->o;

    s->easy = curl_easy_init();
    if (s->easy == NULL)
        return -ENOMEM;
    curl_easy_setopt(s->easy, CURLOPT_URL, w->url);
    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, o->insecure_http ? "http,https" : "https");
    curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file != NULL)
        curl_easy_setopt(s->easy, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    return 0;
}

static void slot_clear(struct slot *s)
{
    wcs_customs_batch_free(&s->b);
    free(s->body);
    free(s->resp);
    s->body = NULL;
    s->resp = NULL;
    s->resp_len = 0;
    s->tries = 0;
    s->state = SLOT_IDLE;
}

/* --- results ---------------------------------------------------------- */

/* Stores a 200's results. Returns 0, ERR_PARSE when the answer does not
 * match the batch (retried: the key replays the stored answer), or ERR_DB. */
static int store_results(struct worker *w, struct slot *s, struct err *e)
{
    json_error_t je;
    json_t *root = json_loadb(s->resp != NULL ? s->resp : "", s->resp_len, 0, &je);
    json_t *arr = json_object_get(root, "results");
    struct wcs_customs_result *res = NULL;
    char **errs = NULL;
    size_t i;
    int rc = 0;

    if (!json_is_array(arr) || json_array_size(arr) != s->b.n) {
        json_decref(root);
        return err_set(e, ERR_PARSE, "answer is not one result per declaration");
    }
    res = calloc(s->b.n, sizeof(*res));
    errs = calloc(s->b.n, sizeof(*errs));
    if (res == NULL || errs == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < s->b.n; i++) {
        json_t *r = json_array_get(arr, i);
        const char *st = json_string_value(json_object_get(r, "status"));
        json_t *er = json_object_get(r, "errors");

        res[i].parcel_id = s->b.items[i].parcel_id;
        if (st != NULL && strcmp(st, "accepted") == 0) {
            res[i].status = "accepted";
            res[i].broker_ref = json_string_value(json_object_get(r, "broker_ref"));
        } else if (st != NULL && strcmp(st, "rejected") == 0) {
            res[i].status = "rejected";
            errs[i] = json_dumps(json_is_array(er) ? er : json_array(), JSON_COMPACT);
            res[i].errors_json = errs[i];
        } else {
            rc = err_set(e, ERR_PARSE, "result %zu: unknown status", i);
            goto out;
        }
    }
    rc = wcs_customs_finish(w->db, s->b.batch_key, res, s->b.n, e);
    if (rc == 0)
        log_info("batch %.8s: stored %zu results", s->b.idem_key, s->b.n);
out:
    for (i = 0; errs != NULL && i < s->b.n; i++)
        free(errs[i]);
    free(errs);
    free(res);
    json_decref(root);
    return rc;
}

/* A final refusal of the whole batch (400, 409, 413, 422, ...): every
 * declaration becomes invalid with the broker's error. */
static int store_refusal(struct worker *w, struct slot *s, long status, struct err *e)
{
    json_error_t je;
    json_t *root = json_loadb(s->resp != NULL ? s->resp : "", s->resp_len, 0, &je);
    json_t *er = json_object_get(root, "error");
    json_t *errs = json_pack("[{s:s, s:s, s:s}]", "field", "", "code",
                             json_string_value(json_object_get(er, "code")) ?: "http",
                             "message", json_string_value(json_object_get(er, "message")) ?: "");
    char *txt = errs != NULL ? json_dumps(errs, JSON_COMPACT) : NULL;
    struct wcs_customs_result *res = calloc(s->b.n ? s->b.n : 1, sizeof(*res));
    size_t i;
    int rc;

    if (txt == NULL || res == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    log_warnx("batch %.8s: broker refused the batch with HTTP %ld: %s", s->b.idem_key, status, txt);
    for (i = 0; i < s->b.n; i++) {
        res[i].parcel_id = s->b.items[i].parcel_id;
        res[i].status = "invalid";
        res[i].errors_json = txt;
    }
    rc = wcs_customs_finish(w->db, s->b.batch_key, res, s->b.n, e);
out:
    free(res);
    free(txt);
    json_decref(errs);
    json_decref(root);
    return rc;
}

/* Schedules a retry, or gives the batch back after max_tries. */
static int retry_later(struct worker *w, struct slot *s, const char *why)
{
    struct err e = {0};
    double r = (double)rand_r(&w->rng) / ((double)RAND_MAX + 1.0);
    long d = cust_backoff_ms(s->tries, w->o->backoff_base_ms, w->o->backoff_max_ms, r,
                             s->retry_after_s);

    if (s->tries >= w->o->max_tries) {
        log_warnx("batch %.8s: %s; giving it back after %d tries", s->b.idem_key, why, s->tries);
        if (wcs_customs_release(w->db, s->b.batch_key, w->owner, d, &e) < 0)
            log_warnx("batch %.8s: %s", s->b.idem_key, e.msg); /* the lease runs out anyway */
        slot_clear(s);
        return 0;
    }
    log_info("batch %.8s: %s; retry in %ld ms", s->b.idem_key, why, d);
    s->due_ms = now_ms() + d;
    s->state = SLOT_WAITING;
    return 0;
}

static int on_done(struct worker *w, struct slot *s, CURLcode cc)
{
    struct err e = {0};
    long status = 0;
    char why[ERR_MSG_MAX + 64];
    int rc;

    curl_multi_remove_handle(w->multi, s->easy);
    if (cc != CURLE_OK) {
        snprintf(why, sizeof(why), "network: %s", curl_easy_strerror(cc));
        return retry_later(w, s, why);
    }
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
        rc = store_results(w, s, &e);
        if (rc == ERR_PARSE) {
            snprintf(why, sizeof(why), "unusable answer: %s", e.msg);
            return retry_later(w, s, why);
        }
        if (rc < 0) {
            log_error("batch %.8s: %s", s->b.idem_key, e.msg);
            slot_clear(s); /* the lease runs out and the batch is sent again, same key */
            return rc == ERR_DB ? 0 : rc;
        }
        slot_clear(s);
        return 0;
    }
    if (cust_http_retryable(status)) {
        snprintf(why, sizeof(why), "HTTP %ld", status);
        return retry_later(w, s, why);
    }
    if (status == 401 || status == 403) {
        log_error("broker refused the token (HTTP %ld); stopping", status);
        wcs_customs_release(w->db, s->b.batch_key, w->owner, 0, NULL);
        slot_clear(s);
        w->fatal_rc = ERR_CONFIG;
        return 0;
    }
    rc = store_refusal(w, s, status, &e);
    if (rc < 0)
        log_error("batch %.8s: %s", s->b.idem_key, e.msg);
    slot_clear(s);
    return 0;
}

/* --- decision feed ---------------------------------------------------- */

static int feed_send(struct worker *w)
{
    struct feed *f = &w->feed;
    char url[2048];
    char *esc = NULL;

    if (f->cursor != NULL) {
        esc = curl_easy_escape(f->s.easy, f->cursor, 0);
        if (esc == NULL)
            return -ENOMEM;
    }
    snprintf(url, sizeof(url), "%s%s%s", f->base, esc != NULL ? "&after=" : "",
             esc != NULL ? esc : "");
    curl_free(esc);
    curl_slist_free_all(f->s.hdr);
    f->s.hdr = curl_slist_append(NULL, w->auth);
    if (f->s.hdr == NULL)
        return -ENOMEM;
    free(f->s.resp);
    f->s.resp = NULL;
    f->s.resp_len = 0;
    f->s.retry_after_s = 0;
    curl_easy_setopt(f->s.easy, CURLOPT_URL, url);
    curl_easy_setopt(f->s.easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(f->s.easy, CURLOPT_HTTPHEADER, f->s.hdr);
    if (curl_multi_add_handle(w->multi, f->s.easy) != CURLM_OK)
        return -ENOMEM;
    f->s.state = SLOT_INFLIGHT;
    return 0;
}

static void feed_retry(struct worker *w, const char *why)
{
    struct feed *f = &w->feed;
    double r = (double)rand_r(&w->rng) / ((double)RAND_MAX + 1.0);
    long d;

    f->failures++;
    d = cust_backoff_ms(f->failures, w->o->backoff_base_ms, w->o->backoff_max_ms, r,
                        f->s.retry_after_s);
    log_info("feed: %s; retry in %ld ms", why, d);
    f->due_ms = now_ms() + d;
}

/* Stores a 200's page. Returns 0, ERR_PARSE (the answer is not a page:
 * retried), ERR_DB (retried) or -ENOMEM. */
static int feed_store_page(struct worker *w, size_t *count, struct err *e)
{
    struct feed *f = &w->feed;
    json_error_t je;
    json_t *root = json_loadb(f->s.resp != NULL ? f->s.resp : "", f->s.resp_len, 0, &je);
    json_t *arr = json_object_get(root, "events");
    const char *next = json_string_value(json_object_get(root, "next"));
    struct wcs_customs_event *ev = NULL;
    struct wcs_customs_feed_result res;
    size_t i, n;
    char *nc;
    int rc = 0;

    *count = 0;
    if (!json_is_array(arr) || next == NULL) {
        json_decref(root);
        return err_set(e, ERR_PARSE, "answer has no events array and next cursor");
    }
    n = json_array_size(arr);
    ev = calloc(n > 0 ? n : 1, sizeof(*ev));
    if (ev == NULL) {
        rc = err_set(e, -ENOMEM, "feed: out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_t *x = json_array_get(arr, i), *duty = json_object_get(x, "duty");

        ev[i].cursor = json_string_value(json_object_get(x, "cursor"));
        ev[i].parcel_id = json_string_value(json_object_get(x, "parcel_id"));
        ev[i].type = json_string_value(json_object_get(x, "type"));
        ev[i].reason = json_string_value(json_object_get(x, "reason"));
        ev[i].at = json_string_value(json_object_get(x, "at"));
        if (json_is_object(duty)) {
            ev[i].duty_value = json_integer_value(json_object_get(duty, "value"));
            ev[i].duty_currency = json_string_value(json_object_get(duty, "currency"));
        }
        if (ev[i].cursor == NULL || ev[i].parcel_id == NULL || ev[i].type == NULL) {
            rc = err_set(e, ERR_PARSE, "event %zu: cursor, parcel_id and type are required", i);
            goto out;
        }
    }
    if (n > 0 && strcmp(next, ev[n - 1].cursor) != 0) {
        rc = err_set(e, ERR_PARSE, "next %s is not the last event's cursor", next);
        goto out;
    }
    if (n == 0)
        goto out; /* nothing new: the cursor stays */
    rc = wcs_customs_feed_store(w->db, w->o->broker_name, f->cursor, ev, n, next, &res, e);
    if (rc < 0)
        goto out;
    log_info("feed: stored %zu events (%zu new, %zu applied, %zu unknown parcels), cursor %s", n,
             res.stored, res.applied, res.unknown, next);
    if (res.repeated > 0)
        log_warnx("feed: %zu events were stored already", res.repeated);
    nc = strdup(next);
    if (nc == NULL) {
        rc = err_set(e, -ENOMEM, "feed: out of memory");
        goto out;
    }
    free(f->cursor);
    f->cursor = nc;
    *count = n;
out:
    free(ev);
    json_decref(root);
    return rc;
}

static int feed_done(struct worker *w, CURLcode cc)
{
    struct feed *f = &w->feed;
    struct err e = {0};
    char why[ERR_MSG_MAX + 64];
    long status = 0;
    size_t n;
    int rc;

    curl_multi_remove_handle(w->multi, f->s.easy);
    f->s.state = SLOT_IDLE;
    if (cc != CURLE_OK) {
        snprintf(why, sizeof(why), "network: %s", curl_easy_strerror(cc));
        feed_retry(w, why);
        return 0;
    }
    curl_easy_getinfo(f->s.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401 || status == 403) {
        log_error("broker refused the token (HTTP %ld); stopping", status);
        w->fatal_rc = ERR_CONFIG;
        return 0;
    }
    if (status != 200) {
        /* Not only 408/429/5xx: a 400 (bad_cursor) cannot be skipped over
         * without losing events, so it is logged and tried again, slowly. */
        if (!cust_http_retryable(status))
            log_error("feed: broker answered HTTP %ld from cursor %s", status,
                      f->cursor != NULL ? f->cursor : "(start)");
        snprintf(why, sizeof(why), "HTTP %ld", status);
        feed_retry(w, why);
        return 0;
    }
    rc = feed_store_page(w, &n, &e);
    if (rc == -ENOMEM)
        return rc;
    if (rc == ERR_CONFLICT) {
        /* Another reader stored past our cursor: continue from its cursor. */
        char *cur = NULL;

        log_warnx("feed: %s; reading the stored cursor", e.msg);
        rc = wcs_customs_feed_cursor(w->db, w->o->broker_name, &cur, &e);
        if (rc == -ENOMEM)
            return rc;
        if (rc == 0) {
            free(f->cursor);
            f->cursor = cur;
            f->due_ms = now_ms();
            return 0;
        }
    }
    if (rc < 0) {
        snprintf(why, sizeof(why), "page not stored: %s", e.msg);
        feed_retry(w, why);
        return 0;
    }
    f->failures = 0;
    /* A full page: more are likely due now. */
    f->due_ms = n >= (size_t)w->o->events_limit ? now_ms() : now_ms() + w->o->events_ms;
    return 0;
}

static int feed_open(struct worker *w, struct err *e)
{
    const struct cust_worker_opts *o = w->o;
    int rc;

    if (o->events_limit < 1 || o->events_limit > 1000 || o->broker_name == NULL)
        return err_set(e, ERR_CONFIG, "worker: events limit 1..1000 and a broker name");
    if (o->until_empty)
        return err_set(e, ERR_CONFIG, "worker: the decision feed has no end: no until_empty");
    snprintf(w->feed.base, sizeof(w->feed.base), "%s%sv1/events?limit=%d", o->broker_url,
             o->broker_url[strlen(o->broker_url) - 1] == '/' ? "" : "/", o->events_limit);
    rc = wcs_customs_feed_cursor(w->db, o->broker_name, &w->feed.cursor, e);
    if (rc < 0)
        return rc;
    if (slot_init(w, &w->feed.s) < 0)
        return err_set(e, -ENOMEM, "worker: out of memory");
    log_info("feed: reading %s from cursor %s", w->feed.base,
             w->feed.cursor != NULL ? w->feed.cursor : "(start)");
    return 0;
}

/* --- loop ------------------------------------------------------------- */

static int worker_open(struct worker *w, struct err *e)
{
    const struct cust_worker_opts *o = w->o;
    char host[64];
    int i, rc;

    if (o->conninfo == NULL || o->broker_url == NULL || o->token == NULL)
        return err_set(e, ERR_CONFIG, "worker: database, broker URL and token are required");
    if (o->batch < 1 || o->batch > 500 || o->lease_s < 1 || o->parallel < 1 || o->max_tries < 1)
        return err_set(e, ERR_CONFIG, "worker: batch 1..500, lease, parallel and tries >= 1");
    if (strncmp(o->broker_url, "https://", 8) != 0 &&
        !(o->insecure_http && strncmp(o->broker_url, "http://", 7) == 0))
        return err_set(e, ERR_CONFIG, "worker: broker URL must be https:// (http:// only with insecure_http)");
    snprintf(w->url, sizeof(w->url), "%s%sv1/declarations", o->broker_url,
             o->broker_url[strlen(o->broker_url) - 1] == '/' ? "" : "/");
    if ((size_t)snprintf(w->auth, sizeof(w->auth), "Authorization: Bearer %s", o->token) >=
        sizeof(w->auth))
        return err_set(e, ERR_CONFIG, "worker: token too long");
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(w->owner, sizeof(w->owner), "%s:%ld", host, (long)getpid());
    w->rng = (unsigned)getpid() ^ (unsigned)now_ms();
    rc = wcs_db_connect(o->conninfo, &w->db, e);
    if (rc < 0)
        return rc;
    w->multi = curl_multi_init();
    w->slots = calloc((size_t)o->parallel, sizeof(*w->slots));
    if (w->multi == NULL || w->slots == NULL)
        return err_set(e, -ENOMEM, "worker: out of memory");
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)o->parallel);
    for (i = 0; i < o->parallel; i++)
        if (slot_init(w, &w->slots[i]) < 0)
            return err_set(e, -ENOMEM, "worker: out of memory");
    return o->events_ms > 0 ? feed_open(w, e) : 0;
}

static void worker_close(struct worker *w)
{
    int i;

    for (i = 0; w->slots != NULL && i < w->o->parallel; i++) {
        struct slot *s = &w->slots[i];

        if (s->state == SLOT_INFLIGHT)
            curl_multi_remove_handle(w->multi, s->easy);
        if (s->state != SLOT_IDLE && w->db != NULL)
            wcs_customs_release(w->db, s->b.batch_key, w->owner, 0, NULL);
        slot_clear(s);
        curl_easy_cleanup(s->easy);
        curl_slist_free_all(s->hdr);
    }
    free(w->slots);
    if (w->feed.s.easy != NULL) {
        if (w->feed.s.state == SLOT_INFLIGHT)
            curl_multi_remove_handle(w->multi, w->feed.s.easy);
        curl_easy_cleanup(w->feed.s.easy);
    }
    curl_slist_free_all(w->feed.s.hdr);
    free(w->feed.s.resp);
    free(w->feed.cursor);
    if (w->multi != NULL)
        curl_multi_cleanup(w->multi);
    if (w->db != NULL)
        PQfinish(w->db);
    memset(w->auth, 0, sizeof(w->auth));
}

int cust_worker_run(const struct cust_worker_opts *o, volatile sig_atomic_t *stop, struct err *e)
{
    struct worker w;
    int i, rc, running;

    memset(&w, 0, sizeof(w));
    w.o = o;
    rc = worker_open(&w, e);
    if (rc < 0)
        goto out;
    log_info("worker %s: posting to %s, batch %d, lease %d s", w.owner, w.url, o->batch, o->lease_s);
    while (!*stop && w.fatal_rc == 0) {
        long long t = now_ms(), next = t + o->poll_ms;
        int busy = 0, claimed_none = 0;
        CURLMsg *m;
        int left;

        for (i = 0; i < o->parallel; i++) {
            struct slot *s = &w.slots[i];

            if (s->state == SLOT_IDLE && !claimed_none) {
                rc = wcs_customs_claim(w.db, w.owner, o->lease_s, o->batch, &s->b, e);
                if (rc < 0)
                    goto out;
                if (s->b.n == 0) {
                    claimed_none = 1;
                    wcs_customs_batch_free(&s->b);
                } else if ((rc = build_body(s)) < 0 || (rc = send_slot(&w, s)) < 0) {
                    err_set(e, rc, "worker: out of memory");
                    goto out;
                }
            } else if (s->state == SLOT_WAITING && s->due_ms <= t) {
                rc = send_slot(&w, s);
                if (rc < 0) {
                    err_set(e, rc, "worker: out of memory");
                    goto out;
                }
            }
            if (s->state == SLOT_WAITING && s->due_ms < next)
                next = s->due_ms;
            if (s->state != SLOT_IDLE)
                busy = 1;
        }
        if (o->events_ms > 0 && w.feed.s.state == SLOT_IDLE) {
            if (w.feed.due_ms <= t) {
                rc = feed_send(&w);
                if (rc < 0) {
                    err_set(e, rc, "worker: out of memory");
                    goto out;
                }
            } else if (w.feed.due_ms < next) {
                next = w.feed.due_ms;
            }
        }
        if (!busy && o->until_empty) {
            long long open = 0;

            rc = wcs_customs_open_count(w.db, &open, e);
            if (rc < 0)
                goto out;
            if (open == 0)
                break;
        }
        if (!claimed_none && !busy)
            next = t; /* a slot is free and there may be more work */
        curl_multi_perform(w.multi, &running);
        curl_multi_poll(w.multi, NULL, 0, next > t ? (int)(next - t) : 0, NULL);
        curl_multi_perform(w.multi, &running);
        while ((m = curl_multi_info_read(w.multi, &left)) != NULL) {
            struct slot *s = NULL;

            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            rc = s == &w.feed.s ? feed_done(&w, m->data.result) : on_done(&w, s, m->data.result);
            if (rc < 0) {
                err_set(e, rc, "worker: out of memory");
                goto out;
            }
        }
    }
    rc = w.fatal_rc;
    if (rc < 0)
        err_set(e, rc, "broker refused the token");
out:
    worker_close(&w);
    return rc;
}

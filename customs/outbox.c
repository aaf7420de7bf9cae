/*
 * outbox.c - the customs submission worker (customs/outbox.h).
 *
 * DESIGN. Three threads, each with its own store session (customs/store.h;
 * for wcs, a PostgreSQL connection). The loop thread runs curl_multi_poll()
 * over the HTTP transfers and the retry timers (a libuv loop would add a
 * second event system without serving anything); two store threads run the
 * store work of batches, one job at a time
 * from a queue each: [claim] claims (and builds request bodies), [results]
 * stores answers and gives batches back, so a claim never waits behind a
 * finish. A store thread wakes the loop with curl_multi_wakeup() when a job
 * is done. So while PostgreSQL works no transfer waits, and the next batches
 * are claimed while the current ones are on the wire: there are 2 x parallel
 * slots, at most parallel of them in flight, the others claimed ahead and
 * ready to go.
 *
 * A slot belongs to one thread at a time: to the store thread from the
 * moment its job is queued until the job is handed back, to the loop
 * otherwise; the queue's mutex is the hand-over. A request is only sent
 * from a slot whose claim the store thread has committed (durably), so its
 * batch_key and Idempotency-Key are in the database before the broker can
 * see them. Each slot holds one claimed batch: its request body is built
 * once from the stored texts and is re-sent byte for byte under the batch's
 * Idempotency-Key on every retry, so the broker processes a batch once
 * however often it is sent, by whichever worker. The slots' easy handles
 * stay with the multi handle's connection cache, so connections to the
 * broker are reused.
 *
 * A batch is either declarations (POST /v1/declarations) or one dispatch's
 * manifest (POST /v1/manifests); both follow the same claim, key, lease,
 * retry and takeover rules, and only the URL and the reading of the answer
 * differ.
 *
 * Answers are read by their status (cust_http_classify(), docs/customs.md
 * "Answers"): a 200's results are matched to the batch's declarations by
 * parcel_id, and an answer whose set of ids differs from the batch's is
 * retried like a 5xx, never stored; a 413 splits the batch into two new
 * ones; a status that says the URL or the server is wrong (3xx, 404, 405,
 * an error that is not the broker's) is a configuration fault: the batch
 * goes back unchanged, an alarm is raised in the store and the worker
 * stops. Answers are read up to CUST_ANSWER_MAX bytes; a longer one is cut
 * off and counts as a failed attempt. What a body says is read by the pure
 * functions of customs/answer.c (fuzzed on their own); this file only moves
 * bytes and stores.
 *
 * The decision feed (events_ms > 0) is one more slot in the same loop, with
 * the same easy-handle setup (TLS, timeouts) and Authorization header: a GET
 * from the cursor held in memory, which is the stored one at start and then
 * the "next" of each page stored. A page's events, their effect on parcels
 * and the new cursor are committed together (the store's feed_store), so a
 * worker killed at any point restarts from the cursor of the last stored
 * event. A page that fails (network, 5xx, an unusable answer, the database)
 * is fetched again from the same cursor after a back-off. The feed uses the
 * loop thread's own connection (a page at most every events_ms).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/diag.h"
#include "common/log.h"
#include "common/service.h"
#include "common/secret_file.h"
#include "customs/outbox.h"
#include "customs/profile.h"
#include "customs/store.h"

enum slot_state {
    SLOT_IDLE,     /* no batch */
    SLOT_STORE,    /* the store thread has it: its job is queued or running */
    SLOT_READY,    /* claimed (committed), body built, not sent yet */
    SLOT_WAITING,  /* sent and failed: to be sent again at due_ms */
    SLOT_INFLIGHT, /* on the wire */
};

/* What the store thread is to do with a slot. */
enum job {
    JOB_CLAIM,   /* claim a batch into the slot and build its body */
    JOB_ANSWER,  /* read a 200's answer and store it */
    JOB_REFUSAL, /* store a final refusal (http_status) */
    JOB_RELEASE, /* give the batch back, to be retried after delay_ms (and raise alarm) */
    JOB_SPLIT,   /* split a batch refused as too large into two new ones */
    JOB_COUNT,
};

/* The broker's endpoints, as alarms name them (reference profile v1). */
enum endpoint { EP_DECLARATIONS, EP_MANIFESTS, EP_EVENTS };
/* An endpoint as logs and alarms name it: "POST /v1/declarations"; the
 * path is the profile's (w->ep_name). */

/* An alarm to raise (docs/customs.md "Alarms"); kind NULL: none. */
struct alarm_job {
    const char *kind; /* "config" or "answer" */
    char ref[160];
    long http_status;
    char text[ERR_MSG_MAX];
};

struct slot {
    enum slot_state state;
    struct cust_batch b;
    CURL *easy;
    struct curl_slist *hdr;
    char *body;          /* request body, built once per claim */
    char *resp;          /* response body */
    size_t resp_len;
    long retry_after_s;  /* from a 429's Retry-After, 0 if none */
    int capped;          /* the answer was cut off at CUST_ANSWER_MAX bytes */
    char location[256];  /* a 3xx's Location header, "" if none */
    char bad_answer[256]; /* why this claim's last 200 was unusable, "" if none: alarmed
                           * when the batch is given back after its tries */
    int tries;           /* sends of this claim */
    long long due_ms;    /* SLOT_WAITING: when to send again */
    /* The store thread's job (SLOT_STORE). */
    enum job job;
    long http_status;    /* JOB_REFUSAL: the answer's status (0: nothing could be sent) */
    long delay_ms;       /* JOB_RELEASE: retry delay, ms */
    struct alarm_job alarm; /* JOB_RELEASE: raised after the give-back */
    size_t split_first;     /* JOB_SPLIT: declarations of the first new batch */
    int claim_max;          /* JOB_CLAIM: declarations per new batch */
    int look_old;           /* JOB_CLAIM: look for old batches first (a split's halves) */
    int clear_ep;           /* JOB_ANSWER, JOB_REFUSAL: clear this endpoint's config alarm
                             * once stored (-1: no) */
    int job_rc;          /* the job's outcome, 0 or a negative code */
    struct err job_err;  /* its detail */
    struct store *st;    /* the store thread that runs it */
    struct slot *qnext;  /* in the todo or done queue */
};

struct feed {
    struct slot s;       /* s.state: SLOT_IDLE (next due at due_ms) or SLOT_INFLIGHT */
    char *cursor;        /* after=; NULL = from the start */
    long long due_ms;
    int failures;        /* consecutive failed pages, for the back-off */
    char base[1024];     /* ".../v1/events?limit=N" */
};

/* A store thread and its two queues (mu guards both and quit). */
struct store {
    struct worker *w;
    const char *tag;     /* log tag of the thread */
    pthread_t th;
    int started;
    void *db;            /* the store thread's own store session */
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* todo got a job, or quit */
    struct slot *todo, **todo_tail;
    struct slot *done, **done_tail;
    int quit;            /* stop once todo is empty */
    /* Store thread only: */
    long long old_due_ms; /* next claim to look for old batches first */
    long long n_job[JOB_COUNT];  /* jobs run, per enum job */
    long long ms_job[JOB_COUNT]; /* their time, ms */
};

/* How often a busy worker looks for old batches (a dead worker's, or one
 * given back after its tries): the look scans every open outbox row, and a
 * lease is a minute, so once a second is plenty. */
#define OLD_LOOK_MS 1000

struct worker {
    const struct cust_worker_opts *o;
    struct feed feed;
    /* Two store threads, so a claim never waits behind a finish: st[0]
     * claims, st[1] stores answers and gives batches back. */
    struct store st[2];
    void *db;            /* the loop thread's store session: feed, open count */
    const struct cust_store_ops *ops; /* o->store */
    CURLM *multi;
    struct slot *slots;
    int nslots;          /* 2 x parallel: in flight and claimed ahead */
    int jobs;            /* slots in SLOT_STORE */
    int none_due;        /* the last claim found nothing */
    long long idle_until; /* after an empty claim: no claim before this, ms */
    char owner[128];
    char host[64];       /* this machine, as config alarms name it */
    const struct cust_profile *prof; /* the broker's profile (paths, auth, translation) */
    char ep_name[3][96];     /* per enum endpoint: "POST /v1/declarations" */
    char url[1024];      /* .../v1/declarations */
    char url_manifest[1024]; /* .../v1/manifests */
    char url_pub[1024];      /* the broker URL for logs and alarms: no user, password, query */
    char auth[1024];
    unsigned rng;
    int batch_max;      /* declarations per new batch: o->batch, lowered after a 413 */
    int look_old;       /* the next claim looks for old batches first */
    unsigned clear_due; /* 1 << enum endpoint: the next success there clears its config
                         * alarm (once per process, and again after raising one) */
    int fatal_rc;       /* ERR_CONFIG (token refused), ERR_HTTP (configuration fault) */
    char fatal_msg[ERR_MSG_MAX];
};

void cust_worker_defaults(struct cust_worker_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->batch = 100;
    o->lease_s = 60;
    o->parallel = 8;
    o->max_tries = 8;
    o->poll_ms = 500;
    o->backoff_base_ms = 200;
    o->backoff_max_ms = 20000;
    o->events_limit = 100;
    o->broker_name = "default";
    o->queue = "default";
}

int cust_token_read(const char *path, char **out, struct err *e)
{
    char line[1024];
    int rc = secret_file_first_line(path, "token file", SECRET_FILE_OWNER, line, sizeof(line), e);

    *out = NULL;
    if (rc < 0)
        return rc;
    *out = strdup(line);
    explicit_bzero(line, sizeof(line));
    return *out != NULL ? 0 : err_set(e, -ENOMEM, "token: out of memory");
}

int cust_http_retryable(long s)
{
    return s == 0 || s == 408 || s == 429 || (s >= 500 && s <= 599);
}

enum cust_http_class cust_http_classify(long s, int broker_error)
{
    if (s == 200)
        return CUST_HTTP_OK;
    if (cust_http_retryable(s))
        return CUST_HTTP_RETRY;
    if (s == 401 || s == 403)
        return CUST_HTTP_TOKEN;
    if (s == 413)
        return CUST_HTTP_TOO_LARGE;
    if ((s == 400 || s == 422) && broker_error)
        return CUST_HTTP_REFUSED;
    return CUST_HTTP_CONFIG;
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

/* Collects an answer's body, up to CUST_ANSWER_MAX bytes: the broker's
 * answers are not trusted to be small, and CURLOPT_MAXFILESIZE only helps
 * when the size is announced (not with a chunked answer). Past the cap the
 * transfer is ended (returning less than n fails it with
 * CURLE_WRITE_ERROR) and counts as a failed attempt. */
static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct slot *s = ud;
    size_t n = size * nmemb;
    char *p;

    if (n > CUST_ANSWER_MAX - s->resp_len) {
        s->capped = 1;
        return 0;
    }
    p = realloc(s->resp, s->resp_len + n + 1);
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
    } else if (n > 9 && strncasecmp(ptr, "Location:", 9) == 0) {
        /* Kept to name it in a configuration fault's alarm: never followed. */
        size_t k = n - 9;

        ptr += 9;
        while (k > 0 && (*ptr == ' ' || *ptr == '\t'))
            ptr++, k--;
        while (k > 0 && (ptr[k - 1] == '\r' || ptr[k - 1] == '\n' || ptr[k - 1] == ' '))
            k--;
        if (k > sizeof(s->location) - 1)
            k = sizeof(s->location) - 1;
        memcpy(s->location, ptr, k);
        s->location[k] = '\0';
    }
    return n;
}

/* url (resolved against base when not NULL and url is relative) as logs and
 * alarms may show it: without user name, password, query and fragment, which
 * may carry secrets. */
static void url_public(const char *base, const char *url, char *out, size_t len)
{
    static const CURLUPart drop[] = {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS,
                                     CURLUPART_QUERY, CURLUPART_FRAGMENT};
    CURLU *u = curl_url();
    char *p = NULL;
    size_t i;
    int ok = u != NULL;

    if (ok && base != NULL)
        ok = curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK;
    if (ok)
        ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
    for (i = 0; ok && i < sizeof(drop) / sizeof(drop[0]); i++)
        curl_url_set(u, drop[i], NULL, 0);
    if (ok)
        ok = curl_url_get(u, CURLUPART_URL, &p, 0) == CURLUE_OK;
    snprintf(out, len, "%s", ok ? p : "(a URL that does not parse)");
    curl_free(p);
    curl_url_cleanup(u);
}

/* Whether body is the broker's error answer {"error": {"code": "...",
 * "message": "..."}} (reference profile "Errors"); if so its code and
 * message are copied (cut to size, made printable: they go to logs and
 * alarms). */
static int broker_error(const char *body, size_t len, char *code, size_t clen, char *msg,
                        size_t mlen)
{
    struct cust_broker_error x;

    if (cust_answer_error(body, len, &x, NULL) < 0)
        return 0;
    diag_printable(code, clen, x.code);
    diag_printable(msg, mlen, x.message);
    cust_broker_error_free(&x);
    return 1;
}

/* Builds the request body once per claim: {"declarations":[...]} from the
 * stored texts in batch order, or the stored manifest as it is; then in the
 * broker's profile's form (customs/profile.h). */
static int build_body(struct slot *s, struct err *e)
{
    const struct cust_profile *prof = s->st->w->prof;
    size_t i, len = 32;
    char *p, *ref;
    int rc;

    if (s->b.kind == CUST_BATCH_MANIFEST) {
        s->body = strdup(s->b.items[0].body);
        if (s->body == NULL)
            return err_set(e, -ENOMEM, "worker: out of memory");
        goto translate;
    }
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
translate:
    if (prof->request == NULL)
        return 0;
    ref = s->body;
    rc = prof->request(s->b.kind == CUST_BATCH_MANIFEST ? CUST_REQ_MANIFEST
                                                        : CUST_REQ_DECLARATIONS,
                       ref, &s->body, e);
    free(ref);
    return rc;
}

/* An answer in the broker's profile's form made the reference's, in place,
 * for customs/answer.h to read: a 200's answer to kind, or any other
 * status's error body. An answer that is not the profile's is left as it
 * came: the reader then says what is wrong with it. */
static void answer_translate(const struct worker *w, enum cust_request kind, long status,
                             char **resp, size_t *len)
{
    struct err e;
    char *out = NULL;

    if (w->prof->answer == NULL || *resp == NULL)
        return;
    if (w->prof->answer(kind, status != 200, *resp, *len, &out, &e) < 0) {
        log_warnx("%s profile: HTTP %ld: %s", w->prof->name, status, e.msg);
        return;
    }
    free(*resp);
    *resp = out;
    *len = strlen(out);
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
    s->capped = 0;
    s->location[0] = '\0';
    curl_easy_setopt(s->easy, CURLOPT_URL,
                     s->b.kind == CUST_BATCH_MANIFEST ? w->url_manifest : w->url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdr);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(s->body));
    s->tries++;
    if (s->b.kind == CUST_BATCH_MANIFEST)
        log_info("manifest %s (batch %.8s): sending, attempt %d (claim %d)",
                 s->b.items[0].parcel_id, s->b.idem_key, s->tries, s->b.attempts);
    else
        log_info("batch %.8s: sending %zu declarations, attempt %d (claim %d)", s->b.idem_key,
                 s->b.n, s->tries, s->b.attempts);
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
    /* No signals from libcurl (the worker has threads; SIGPIPE is ignored by
     * the program, wcs/worker/main.c). */
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    /* A redirect is never followed: the declarations would go, with the
     * token, wherever it points; a 3xx is a configuration fault. */
    curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 0L);
    /* An announced body over the cap fails at once; body_cb counts the rest. */
    curl_easy_setopt(s->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CUST_ANSWER_MAX);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    s->clear_ep = -1;
    return 0;
}

static void slot_clear(struct slot *s)
{
    cust_batch_free(&s->b);
    free(s->body);
    free(s->resp);
    s->body = NULL;
    s->resp = NULL;
    s->resp_len = 0;
    s->tries = 0;
    s->bad_answer[0] = '\0';
    s->alarm.kind = NULL;
    s->clear_ep = -1;
    s->state = SLOT_IDLE;
}

/* --- results (store thread) ------------------------------------------- */

/*
 * Stores a 200's results, matched to the batch's declarations by parcel_id
 * (cust_answer_results()): an answer that does not carry every parcel of
 * the batch exactly once and no other stores nothing and is ERR_PARSE,
 * retried like a 5xx (the key replays the broker's stored answer; a broker
 * that keeps answering for other parcels gets the batch given back after
 * its tries, with an alarm). Returns 0, ERR_PARSE, -ENOMEM or ERR_DB.
 */
static int store_results(struct slot *s, struct err *e)
{
    struct cust_results r;
    const char **ids = malloc((s->b.n > 0 ? s->b.n : 1) * sizeof(*ids));
    size_t i;
    int rc;

    if (ids == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    for (i = 0; i < s->b.n; i++)
        ids[i] = s->b.items[i].parcel_id;
    rc = cust_answer_results(s->resp, s->resp_len, ids, s->b.n, &r, e);
    if (rc == 0)
        rc = s->st->w->ops->finish(s->st->db, s->b.batch_key, r.res, r.n, e);
    if (rc == 0)
        log_info("batch %.8s: stored %zu results", s->b.idem_key, r.n);
    cust_results_free(&r);
    free(ids);
    return rc;
}

/*
 * Stores a 200's answer to a manifest. A 200 that is not the answer the
 * reference profile describes (not JSON, no broker_ref string, no
 * unknown_parcels array of strings) is ERR_PARSE and is retried like a 5xx:
 * the broker processed the request and stored its real answer under the
 * key, so asking again reads that answer, while recording an error here
 * would mark a manifest the broker has received as refused. An answer for
 * another manifest_id is ERR_PARSE too. If the broker keeps answering
 * garbage the tries run out, the manifest is given back and stays open,
 * with an alarm for an operator, which is the honest state.
 * Returns 0, ERR_PARSE, -ENOMEM or ERR_DB.
 */
static int store_manifest(struct slot *s, struct err *e)
{
    const char *mid = s->b.items[0].parcel_id;
    struct cust_manifest_answer a;
    struct cust_manifest_result res = {0};
    int rc = cust_answer_manifest(s->resp, s->resp_len, mid, &a, e);

    if (rc < 0)
        return rc;
    res.broker_ref = a.broker_ref;
    res.unknown_json = a.unknown_json;
    rc = s->st->w->ops->finish_manifest(s->st->db, s->b.batch_key, mid, &res, e);
    if (rc == 0) {
        char ref[128], unknown[512];

        diag_printable(ref, sizeof(ref), a.broker_ref);
        diag_printable(unknown, sizeof(unknown), a.unknown_json);
        log_info("manifest %s: received by the broker as %s, %zu unknown parcels", mid, ref,
                 a.unknown);
        if (a.unknown > 0)
            log_warnx("manifest %s: the broker has no accepted declaration for %zu parcels: %s",
                      mid, a.unknown, unknown);
    }
    cust_manifest_answer_free(&a);
    return rc;
}

/* The broker's refusal of a manifest (a 400 or 422 with its error body), or
 * a manifest that cannot be sent (http_status 0: its dispatch has no stored
 * body): the dispatch keeps status closed and gets manifest_error. */
static int store_manifest_refusal(struct slot *s, struct err *e)
{
    const char *mid = s->b.items[0].parcel_id;
    struct cust_broker_error x = {0};
    struct cust_manifest_result res = {0};
    struct err why = {0};
    char text[1024], code[128], msg[512];
    int rc;

    if (s->http_status == 0)
        snprintf(text, sizeof(text), "not sent: the dispatch has no stored manifest");
    else if (cust_answer_error(s->resp, s->resp_len, &x, &why) == 0) {
        diag_printable(code, sizeof(code), x.code);
        diag_printable(msg, sizeof(msg), x.message);
        snprintf(text, sizeof(text), "%ld %s: %s", s->http_status, code, msg);
    }
    else
        snprintf(text, sizeof(text), "%ld: %s", s->http_status, why.msg);
    cust_broker_error_free(&x);
    log_warnx("manifest %s: refused: %s", mid, text);
    res.error = text;
    rc = s->st->w->ops->finish_manifest(s->st->db, s->b.batch_key, mid, &res, e);
    return rc;
}

/* The broker's refusal of the whole batch (a 400 or 422 with its error
 * body): every declaration becomes invalid with the broker's error. */
static int store_refusal(struct slot *s, struct err *e)
{
    struct cust_broker_error x;
    json_t *errs;
    char *txt;
    struct cust_result *res;
    size_t i;
    int rc;

    if (s->b.kind == CUST_BATCH_MANIFEST)
        return store_manifest_refusal(s, e);
    cust_answer_error(s->resp, s->resp_len, &x, NULL);
    errs = json_pack("[{s:s, s:s, s:s}]", "field", "", "code", x.code ?: "http", "message",
                     x.message ?: "");
    txt = errs != NULL ? json_dumps(errs, JSON_COMPACT) : NULL;
    res = calloc(s->b.n ? s->b.n : 1, sizeof(*res));
    if (txt == NULL || res == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    log_warnx("batch %.8s: broker refused the batch with HTTP %ld: %s", s->b.idem_key,
              s->http_status, txt);
    for (i = 0; i < s->b.n; i++) {
        res[i].parcel_id = s->b.items[i].parcel_id;
        res[i].status = "invalid";
        res[i].errors_json = txt;
    }
    rc = s->st->w->ops->finish(s->st->db, s->b.batch_key, res, s->b.n, e);
out:
    free(res);
    free(txt);
    json_decref(errs);
    cust_broker_error_free(&x);
    return rc;
}

/* --- alarms ----------------------------------------------------------- */

/* The ref of a configuration alarm: this host and the endpoint, so a worker
 * elsewhere that works does not clear this one's alarm, and this one's
 * first success after a fix does. */
static void config_ref(const struct worker *w, enum endpoint ep, char *out, size_t len)
{
    snprintf(out, len, "%s %s", w->host, w->ep_name[ep]);
}

/* The ref of a batch's answer alarm, as the log names the batch. */
static void answer_ref(const struct slot *s, char *out, size_t len)
{
    if (s->b.kind == CUST_BATCH_MANIFEST)
        snprintf(out, len, "manifest %s", s->b.items[0].parcel_id);
    else
        snprintf(out, len, "batch %.8s", s->b.idem_key);
}

/* Raises a on session (any thread's own). A failure is logged: the worker
 * goes on (or stops) as it would have, the log line is then the alarm. */
static void alarm_raise(struct worker *w, void *session, const struct alarm_job *a)
{
    struct cust_alarm x = {w->o->broker_name, a->kind, a->ref, w->owner, a->http_status, a->text};
    struct err e = {0};

    if (w->ops->alarm_raise(session, &x, &e) < 0)
        log_warnx("alarm %s %s not stored: %s", a->kind, a->ref, e.msg);
}

/* After an answer was stored (store thread): clears what it ends: the
 * endpoint's configuration alarm on its first success (s->clear_ep, which
 * is set to -1 once cleared), and the batch's answer alarm when it was
 * claimed before (only then can it have one). Failures are logged. */
static void alarms_clear(struct worker *w, struct slot *s)
{
    struct err e = {0};
    char ref[160];

    if (s->clear_ep >= 0) {
        config_ref(w, (enum endpoint)s->clear_ep, ref, sizeof(ref));
        if (w->ops->alarm_clear(s->st->db, w->o->broker_name, "config", ref, &e) < 0)
            log_warnx("alarm config %s not cleared: %s", ref, e.msg);
        else
            s->clear_ep = -1;
    }
    if (s->b.attempts > 1) {
        answer_ref(s, ref, sizeof(ref));
        if (w->ops->alarm_clear(s->st->db, w->o->broker_name, "answer", ref, &e) < 0)
            log_warnx("alarm answer %s not cleared: %s", ref, e.msg);
    }
}

/* --- store thread ----------------------------------------------------- */

static void job_run(struct worker *w, struct slot *s)
{
    const struct cust_worker_opts *o = w->o;
    int rc = 0;

    long long t0 = now_ms();

    switch (s->job) {
    case JOB_CLAIM:
        /* Old batches first when the look is due, and whenever no new work
         * is; while looks find old batches, keep looking. A split batch's
         * halves are old batches, looked for at once. */
        if (s->look_old)
            s->st->old_due_ms = 0;
        if (t0 < s->st->old_due_ms) {
            rc = w->ops->claim_new(s->st->db, o->queue, w->owner, o->lease_s, s->claim_max,
                                   &s->b,
                                   &s->job_err);
            if (rc == 0 && s->b.n == 0)
                s->st->old_due_ms = 0;
        }
        if (t0 >= s->st->old_due_ms) {
            rc = w->ops->claim(s->st->db, o->queue, w->owner, o->lease_s, s->claim_max,
                               &s->b, &s->job_err);
            s->st->old_due_ms = rc == 0 && s->b.attempts > 1 ? 0 : t0 + OLD_LOOK_MS;
        }
        if (rc == 0 && s->b.n > 0 && s->b.items[0].body != NULL)
            rc = build_body(s, &s->job_err);
        break;
    case JOB_ANSWER:
        rc = s->b.kind == CUST_BATCH_MANIFEST ? store_manifest(s, &s->job_err)
                                               : store_results(s, &s->job_err);
        if (rc == 0)
            alarms_clear(w, s);
        break;
    case JOB_REFUSAL:
        rc = store_refusal(s, &s->job_err);
        if (rc == 0 && s->http_status != 0)
            alarms_clear(w, s);
        break;
    case JOB_RELEASE:
        rc = w->ops->release(s->st->db, s->b.batch_key, w->owner, s->delay_ms, &s->job_err);
        if (s->alarm.kind != NULL)
            alarm_raise(w, s->st->db, &s->alarm);
        break;
    case JOB_SPLIT:
        rc = w->ops->split(s->st->db, s->b.batch_key, w->owner, s->split_first, &s->job_err);
        break;
    case JOB_COUNT:
        break;
    }
    s->job_rc = rc;
    s->st->n_job[s->job]++;
    s->st->ms_job[s->job] += now_ms() - t0;
}

static void *store_main(void *arg)
{
    struct store *st = arg;
    struct worker *w = st->w;
    struct slot *s;

    log_set_tag(st->tag);
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->todo == NULL && !st->quit)
            pthread_cond_wait(&st->cv, &st->mu);
        s = st->todo;
        if (s == NULL)
            break; /* quit, and every queued job is done */
        st->todo = s->qnext;
        if (st->todo == NULL)
            st->todo_tail = &st->todo;
        pthread_mutex_unlock(&st->mu);
        job_run(w, s);
        pthread_mutex_lock(&st->mu);
        s->qnext = NULL;
        *st->done_tail = s;
        st->done_tail = &s->qnext;
        curl_multi_wakeup(w->multi); /* the loop takes it from the done queue */
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Hands s to the store thread for job j. */
static void job_queue(struct worker *w, struct slot *s, enum job j)
{
    struct store *st = &w->st[j == JOB_CLAIM ? 0 : 1];

    s->job = j;
    s->job_rc = 0;
    err_clear(&s->job_err);
    s->state = SLOT_STORE;
    s->st = st;
    s->qnext = NULL;
    w->jobs++;
    pthread_mutex_lock(&st->mu);
    *st->todo_tail = s;
    st->todo_tail = &s->qnext;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Takes st's done queue (the slots come back to the loop thread). */
static struct slot *jobs_take(struct store *st)
{
    struct slot *list;

    pthread_mutex_lock(&st->mu);
    list = st->done;
    st->done = NULL;
    st->done_tail = &st->done;
    pthread_mutex_unlock(&st->mu);
    return list;
}

/* Queues the storing of an answer from endpoint ep (JOB_ANSWER or
 * JOB_REFUSAL), asking it to clear ep's configuration alarm when this is
 * the first success there. */
static void answer_queue(struct worker *w, struct slot *s, enum endpoint ep, enum job j)
{
    s->clear_ep = -1;
    if (w->clear_due & (1u << ep)) {
        s->clear_ep = (int)ep;
        w->clear_due &= ~(1u << ep);
    }
    job_queue(w, s, j);
}

/* Schedules a retry, or gives the batch back after max_tries: with an
 * alarm when some of this claim's answers were unusable (they name other
 * parcels, are not JSON, are too large), since sending it again later may
 * well get the same. */
static int retry_later(struct worker *w, struct slot *s, const char *why)
{
    double r = (double)rand_r(&w->rng) / ((double)RAND_MAX + 1.0);
    long d = cust_backoff_ms(s->tries, w->o->backoff_base_ms, w->o->backoff_max_ms, r,
                             s->retry_after_s);

    if (s->tries >= w->o->max_tries) {
        s->alarm.kind = NULL;
        if (s->bad_answer[0] != '\0') {
            s->alarm.kind = "answer";
            s->alarm.http_status = 200;
            answer_ref(s, s->alarm.ref, sizeof(s->alarm.ref));
            snprintf(s->alarm.text, sizeof(s->alarm.text),
                     "given back after %d tries: the broker's answers could not be used (the "
                     "last: %s); nothing of it was stored, it is sent again under its key in "
                     "%ld ms",
                     s->tries, s->bad_answer, d);
            log_error("%s: %s", s->alarm.ref, s->alarm.text);
        } else {
            log_warnx("batch %.8s: %s; giving it back after %d tries", s->b.idem_key, why,
                      s->tries);
        }
        s->delay_ms = d;
        job_queue(w, s, JOB_RELEASE);
        return 0;
    }
    log_info("batch %.8s: %s; retry in %ld ms", s->b.idem_key, why, d);
    s->due_ms = now_ms() + d;
    s->state = SLOT_WAITING;
    return 0;
}

/*
 * Stops the worker for a fault of its configuration (rc ERR_HTTP) or of its
 * token (rc ERR_CONFIG), found on the answer in slot s from endpoint ep:
 * text (what the operator reads) is logged and raised as a config alarm,
 * the worker claims nothing more and its loop ends, and every batch it holds
 * is given back unchanged (s's at once, with the alarm; the others when the
 * worker closes). The feed's slot holds no batch: its alarm is raised on
 * the loop's own session. A second fault while stopping only gives its
 * batch back.
 */
static void stop_worker(struct worker *w, struct slot *s, enum endpoint ep, long status, int rc,
                        const char *text)
{
    struct alarm_job a;
    int batch = ep != EP_EVENTS;

    if (w->fatal_rc == 0) {
        w->fatal_rc = rc;
        snprintf(w->fatal_msg, sizeof(w->fatal_msg), "%s", text);
        log_error("%s", text);
        memset(&a, 0, sizeof(a));
        a.kind = "config";
        a.http_status = status;
        config_ref(w, ep, a.ref, sizeof(a.ref));
        snprintf(a.text, sizeof(a.text), "%s", text);
        if (batch)
            s->alarm = a;
        else
            alarm_raise(w, w->db, &a);
    } else if (batch) {
        s->alarm.kind = NULL;
    }
    if (batch) {
        log_info("batch %.8s: given back unchanged", s->b.idem_key);
        s->delay_ms = 0;
        job_queue(w, s, JOB_RELEASE);
    }
}

/* "POST /v1/declarations at URL answered HTTP 404 (not_found: no such
 * resource)": an answer that stops the worker, for its log and alarm. code
 * and msg are the broker's error answer (NULL: the body is not one). */
static void describe_answer(const struct worker *w, const struct slot *s, enum endpoint ep,
                            long status, const char *code, const char *msg, char *out, size_t len)
{
    char what[320];

    if (status >= 300 && status <= 399) {
        char to[512] = "(none)";

        if (s->location[0] != '\0')
            url_public(ep == EP_MANIFESTS ? w->url_manifest
                       : ep == EP_EVENTS  ? w->feed.base
                                          : w->url,
                       s->location, to, sizeof(to));
        snprintf(what, sizeof(what), "a redirect to %.160s, not followed", to);
    } else if (status == 413 && ep == EP_MANIFESTS) {
        snprintf(what, sizeof(what), "a manifest of %zu bytes refused as too large",
                 s->body != NULL ? strlen(s->body) : 0);
    } else if (status == 413 && ep == EP_DECLARATIONS) {
        snprintf(what, sizeof(what), "a single declaration of %zu bytes refused as too large",
                 s->body != NULL ? strlen(s->body) : 0);
    } else if (code != NULL) {
        snprintf(what, sizeof(what), "%.40s: %.120s", code, msg);
    } else {
        snprintf(what, sizeof(what), "%zu bytes that are not the broker's error answer",
                 s->resp_len);
    }
    snprintf(out, len, "%s at %.120s answered HTTP %ld (%s)", w->ep_name[ep], w->url_pub, status,
             what);
}

/* A configuration fault on endpoint ep (CUST_HTTP_CONFIG, or a 413 that
 * cannot be split): nothing about the declarations, everything about where
 * they are sent, so they stay pending and the worker stops. */
static void config_fault(struct worker *w, struct slot *s, enum endpoint ep, long status,
                         const char *code, const char *msg)
{
    char what[512], text[ERR_MSG_MAX];

    describe_answer(w, s, ep, status, code, msg, what, sizeof(what));
    snprintf(text, sizeof(text),
             "configuration fault: %.340s; stopped claiming, batches given back unchanged, "
             "declarations still pending; fix customs.broker_url or the broker, then restart "
             "the worker",
             what);
    stop_worker(w, s, ep, status, ERR_HTTP, text);
}

/* The token refused (401, 403) on endpoint ep. */
static void token_refused(struct worker *w, struct slot *s, enum endpoint ep, long status)
{
    char text[ERR_MSG_MAX];

    snprintf(text, sizeof(text),
             "broker refused the token: %s at %.120s answered HTTP %ld; stopped, batches given "
             "back unchanged; check the token file (customs.token_file)",
             w->ep_name[ep], w->url_pub, status);
    stop_worker(w, s, ep, status, ERR_CONFIG, text);
}

/* A batch the broker refused as too large (413): split in two new batches
 * (the store gives them new keys: the broker processed nothing of this
 * one), and new batches are claimed no larger than the halves. */
static int split_later(struct worker *w, struct slot *s)
{
    size_t first = (s->b.n + 1) / 2;

    if (w->fatal_rc != 0) { /* stopping: given back as it is */
        s->delay_ms = 0;
        job_queue(w, s, JOB_RELEASE);
        return 0;
    }
    log_warnx("batch %.8s: the broker refused %zu declarations (%zu bytes) as too large (HTTP "
              "413); split into batches of %zu and %zu under new keys",
              s->b.idem_key, s->b.n, strlen(s->body), first, s->b.n - first);
    if ((int)first < w->batch_max) {
        w->batch_max = (int)first;
        log_warnx("new batches hold at most %d declarations from now on", w->batch_max);
    }
    s->split_first = first;
    job_queue(w, s, JOB_SPLIT);
    return 0;
}

/* A job handed back. Returns 0, or a code that stops the worker (the
 * database lost on a claim, out of memory) with e set. */
static int job_done(struct worker *w, struct slot *s, struct err *e)
{
    char why[ERR_MSG_MAX + 64];

    w->jobs--;
    if ((s->job == JOB_ANSWER || s->job == JOB_REFUSAL) && s->clear_ep >= 0) {
        w->clear_due |= 1u << s->clear_ep; /* not cleared: the next success will */
        s->clear_ep = -1;
    }
    switch (s->job) {
    case JOB_CLAIM:
        if (s->job_rc < 0) {
            s->state = SLOT_IDLE;
            return err_set(e, s->job_rc, "%s", s->job_err.msg);
        }
        if (s->b.n == 0) {
            s->state = SLOT_IDLE;
            w->none_due = 1;
            w->idle_until = now_ms() + w->o->poll_ms;
            return 0;
        }
        w->none_due = 0;
        s->tries = 0;
        if (s->body == NULL) { /* a manifest with no stored body: cannot be sent */
            s->http_status = 0;
            job_queue(w, s, JOB_REFUSAL);
            return 0;
        }
        s->state = SLOT_READY;
        return 0;
    case JOB_ANSWER:
        if (s->job_rc == ERR_PARSE) {
            s->state = SLOT_WAITING;
            snprintf(s->bad_answer, sizeof(s->bad_answer), "%.200s", s->job_err.msg);
            snprintf(why, sizeof(why), "unusable answer: %s", s->job_err.msg);
            return retry_later(w, s, why);
        }
        if (s->job_rc == -ENOMEM) {
            s->state = SLOT_IDLE;
            return err_set(e, s->job_rc, "worker: out of memory");
        }
        if (s->job_rc < 0) /* the lease runs out and the batch is sent again, same key */
            log_error("batch %.8s: %s", s->b.idem_key, s->job_err.msg);
        slot_clear(s);
        return 0;
    case JOB_REFUSAL:
        if (s->job_rc < 0)
            log_error("batch %.8s: %s", s->b.idem_key, s->job_err.msg);
        slot_clear(s);
        return 0;
    case JOB_RELEASE:
        if (s->job_rc < 0) /* the lease runs out anyway */
            log_warnx("batch %.8s: %s", s->b.idem_key, s->job_err.msg);
        slot_clear(s);
        return 0;
    case JOB_SPLIT:
        if (s->job_rc < 0) /* the lease runs out: sent again, refused again, split again */
            log_warnx("batch %.8s: not split: %s", s->b.idem_key, s->job_err.msg);
        else
            w->look_old = 1; /* claim the halves now */
        w->idle_until = 0;
        slot_clear(s);
        return 0;
    case JOB_COUNT:
        break;
    }
    return 0;
}

static int on_done(struct worker *w, struct slot *s, CURLcode cc)
{
    enum endpoint ep = s->b.kind == CUST_BATCH_MANIFEST ? EP_MANIFESTS : EP_DECLARATIONS;
    char why[ERR_MSG_MAX + 64], code[64] = "", msg[192] = "";
    long status = 0;
    int berr;

    curl_multi_remove_handle(w->multi, s->easy);
    if (cc != CURLE_OK) {
        if (s->capped || cc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(s->bad_answer, sizeof(s->bad_answer), "an answer over %u bytes, cut off",
                     CUST_ANSWER_MAX);
            snprintf(why, sizeof(why), "%s", s->bad_answer);
        } else {
            snprintf(why, sizeof(why), "network: %s", curl_easy_strerror(cc));
        }
        return retry_later(w, s, why);
    }
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    answer_translate(w, ep == EP_MANIFESTS ? CUST_REQ_MANIFEST : CUST_REQ_DECLARATIONS, status,
                     &s->resp, &s->resp_len);
    berr =
        status != 200 && broker_error(s->resp, s->resp_len, code, sizeof(code), msg, sizeof(msg));
    switch (cust_http_classify(status, berr)) {
    case CUST_HTTP_OK:
        answer_queue(w, s, ep, JOB_ANSWER);
        return 0;
    case CUST_HTTP_RETRY:
        snprintf(why, sizeof(why), "HTTP %ld", status);
        return retry_later(w, s, why);
    case CUST_HTTP_TOKEN:
        token_refused(w, s, ep, status);
        return 0;
    case CUST_HTTP_REFUSED:
        s->http_status = status;
        answer_queue(w, s, ep, JOB_REFUSAL);
        return 0;
    case CUST_HTTP_TOO_LARGE:
        if (ep == EP_DECLARATIONS && s->b.n > 1)
            return split_later(w, s);
        break; /* one declaration, or a manifest: nothing to split */
    case CUST_HTTP_CONFIG:
        break;
    }
    config_fault(w, s, ep, status, berr ? code : NULL, msg);
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
    f->s.capped = 0;
    f->s.location[0] = '\0';
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

/* Stores a 200's page (cust_answer_feed()). Returns 0, ERR_PARSE (the
 * answer is not a page: retried), ERR_DB (retried) or -ENOMEM. */
static int feed_store_page(struct worker *w, size_t *count, struct err *e)
{
    struct feed *f = &w->feed;
    struct cust_feed_page page;
    struct cust_feed_result res;
    char *nc, shown[256];
    int rc;

    *count = 0;
    rc = cust_answer_feed(f->s.resp, f->s.resp_len, &page, e);
    if (rc < 0 || page.n == 0)
        goto out; /* nothing new: the cursor stays */
    rc = w->ops->feed_store(w->db, w->o->broker_name, f->cursor, page.ev, page.n, page.next, &res,
                            e);
    if (rc < 0)
        goto out;
    diag_printable(shown, sizeof(shown), page.next);
    log_info("feed: stored %zu events (%zu new, %zu applied, %zu unknown parcels), cursor %s",
             page.n, res.stored, res.applied, res.unknown, shown);
    if (res.repeated > 0)
        log_warnx("feed: %zu events were stored already", res.repeated);
    nc = strdup(page.next);
    if (nc == NULL) {
        rc = err_set(e, -ENOMEM, "feed: out of memory");
        goto out;
    }
    free(f->cursor);
    f->cursor = nc;
    *count = page.n;
out:
    cust_feed_page_free(&page);
    return rc;
}

static int feed_done(struct worker *w, CURLcode cc)
{
    struct feed *f = &w->feed;
    struct err e = {0};
    char why[ERR_MSG_MAX + 64], code[64] = "", msg[192] = "", shown[256];
    long status = 0;
    size_t n;
    int rc, berr;

    curl_multi_remove_handle(w->multi, f->s.easy);
    f->s.state = SLOT_IDLE;
    if (cc != CURLE_OK) {
        if (f->s.capped || cc == CURLE_FILESIZE_EXCEEDED)
            snprintf(why, sizeof(why), "an answer over %u bytes, cut off", CUST_ANSWER_MAX);
        else
            snprintf(why, sizeof(why), "network: %s", curl_easy_strerror(cc));
        feed_retry(w, why);
        return 0;
    }
    curl_easy_getinfo(f->s.easy, CURLINFO_RESPONSE_CODE, &status);
    answer_translate(w, CUST_REQ_EVENTS, status, &f->s.resp, &f->s.resp_len);
    berr = status != 200 &&
           broker_error(f->s.resp, f->s.resp_len, code, sizeof(code), msg, sizeof(msg));
    switch (cust_http_classify(status, berr)) {
    case CUST_HTTP_OK:
        break;
    case CUST_HTTP_RETRY:
        snprintf(why, sizeof(why), "HTTP %ld", status);
        feed_retry(w, why);
        return 0;
    case CUST_HTTP_TOKEN:
        token_refused(w, &f->s, EP_EVENTS, status);
        return 0;
    case CUST_HTTP_REFUSED:
        /* The broker's own 400/422 (bad_cursor): the page cannot be skipped
         * over without losing events, so it is logged and tried again,
         * slowly. */
        diag_printable(shown, sizeof(shown), f->cursor != NULL ? f->cursor : "(start)");
        log_error("feed: broker answered HTTP %ld (%s: %s) from cursor %s", status, code, msg,
                  shown);
        snprintf(why, sizeof(why), "HTTP %ld", status);
        feed_retry(w, why);
        return 0;
    case CUST_HTTP_TOO_LARGE: /* to a GET: not the broker */
    case CUST_HTTP_CONFIG:
        /* A 404 is not "no events": the feed is not where it is looked for. */
        config_fault(w, &f->s, EP_EVENTS, status, berr ? code : NULL, msg);
        return 0;
    }
    rc = feed_store_page(w, &n, &e);
    if (rc == -ENOMEM)
        return rc;
    if (rc == ERR_CONFLICT) {
        /* Another reader stored past our cursor: continue from its cursor. */
        char *cur = NULL;

        log_warnx("feed: %s; reading the stored cursor", e.msg);
        rc = w->ops->feed_cursor(w->db, w->o->broker_name, &cur, &e);
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
    if (w->clear_due & (1u << EP_EVENTS)) {
        /* The feed's first page: its configuration alarm (if any) ends. */
        char ref[160];

        config_ref(w, EP_EVENTS, ref, sizeof(ref));
        if (w->ops->alarm_clear(w->db, w->o->broker_name, "config", ref, &e) < 0)
            log_warnx("alarm config %s not cleared: %s", ref, e.msg);
        else
            w->clear_due &= ~(1u << EP_EVENTS);
    }
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
    snprintf(w->feed.base, sizeof(w->feed.base), "%s%s?limit=%d", o->broker_url,
             w->prof->path[CUST_REQ_EVENTS] + (o->broker_url[strlen(o->broker_url) - 1] == '/'),
             o->events_limit);
    rc = w->ops->feed_cursor(w->db, o->broker_name, &w->feed.cursor, e);
    if (rc < 0)
        return rc;
    if (slot_init(w, &w->feed.s) < 0)
        return err_set(e, -ENOMEM, "worker: out of memory");
    log_info("feed: reading %s at %s, %d a page, from cursor %s", w->ep_name[EP_EVENTS], w->url_pub,
             o->events_limit, w->feed.cursor != NULL ? w->feed.cursor : "(start)");
    return 0;
}

/* --- loop ------------------------------------------------------------- */

static int store_start(struct worker *w, struct store *st, const char *tag, struct err *e)
{
    int rc;

    st->w = w;
    st->tag = tag;
    st->todo_tail = &st->todo;
    st->done_tail = &st->done;
    rc = w->ops->open(w->o->store_arg, &st->db, e);
    if (rc < 0)
        return rc;
    if (pthread_mutex_init(&st->mu, NULL) != 0 || pthread_cond_init(&st->cv, NULL) != 0)
        return err_set(e, -ENOMEM, "worker: store thread: out of memory");
    rc = pthread_create(&st->th, NULL, store_main, st);
    if (rc != 0)
        return err_set(e, -rc, "worker: store thread: %s", strerror(rc));
    st->started = 1;
    return 0;
}

/* Lets a store thread finish its queued jobs, then joins it; its slots are
 * the loop thread's again. */
static void store_stop(struct store *st)
{
    struct slot *s, *next;

    if (!st->started)
        return;
    pthread_mutex_lock(&st->mu);
    st->quit = 1;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->th, NULL);
    st->started = 0;
    if (st->n_job[JOB_CLAIM] > 0)
        log_info("%s: %lld claims in %lld ms", st->tag, st->n_job[JOB_CLAIM],
                 st->ms_job[JOB_CLAIM]);
    else
        log_info("%s: %lld answers stored in %lld ms, %lld refusals, %lld given back", st->tag,
                 st->n_job[JOB_ANSWER], st->ms_job[JOB_ANSWER], st->n_job[JOB_REFUSAL],
                 st->n_job[JOB_RELEASE]);
    for (s = jobs_take(st); s != NULL; s = next) {
        next = s->qnext;
        /* Stored or given back already: nothing more to give back. */
        if (s->job == JOB_RELEASE || (s->job != JOB_CLAIM && s->job_rc == 0))
            slot_clear(s);
        else
            s->state = SLOT_READY;
    }
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
}

static int worker_open(struct worker *w, struct err *e)
{
    const struct cust_worker_opts *o = w->o;
    int skip;
    char host[64];
    int i, rc;

    if (o->store == NULL || o->broker_url == NULL || o->token == NULL || o->broker_name == NULL ||
        o->queue == NULL)
        return err_set(e, ERR_CONFIG,
                       "worker: store, broker URL, token and broker name are required");
    if (o->batch < 1 || o->batch > 500 || o->lease_s < 1 || o->parallel < 1 || o->max_tries < 1 ||
        o->parallel > 64)
        return err_set(e, ERR_CONFIG, "worker: batch 1..500, parallel 1..64, lease and tries >= 1");
    if (strncmp(o->broker_url, "https://", 8) != 0 &&
        !(o->insecure_http && strncmp(o->broker_url, "http://", 7) == 0))
        return err_set(e, ERR_CONFIG, "worker: broker URL must be https:// (http:// only with insecure_http)");
    w->prof = o->profile != NULL ? o->profile : &cust_profile_reference;
    /* the profile's paths start with '/' */
    skip = o->broker_url[strlen(o->broker_url) - 1] == '/';
    snprintf(w->url, sizeof(w->url), "%s%s", o->broker_url,
             w->prof->path[CUST_REQ_DECLARATIONS] + skip);
    snprintf(w->url_manifest, sizeof(w->url_manifest), "%s%s", o->broker_url,
             w->prof->path[CUST_REQ_MANIFEST] + skip);
    snprintf(w->ep_name[EP_DECLARATIONS], sizeof(w->ep_name[0]), "POST %s",
             w->prof->path[CUST_REQ_DECLARATIONS]);
    snprintf(w->ep_name[EP_MANIFESTS], sizeof(w->ep_name[0]), "POST %s",
             w->prof->path[CUST_REQ_MANIFEST]);
    snprintf(w->ep_name[EP_EVENTS], sizeof(w->ep_name[0]), "GET %s",
             w->prof->path[CUST_REQ_EVENTS]);
    if ((size_t)snprintf(w->auth, sizeof(w->auth), "Authorization: %s %s",
                         w->prof->auth_scheme, o->token) >= sizeof(w->auth))
        return err_set(e, ERR_CONFIG, "worker: token too long");
    url_public(NULL, o->broker_url, w->url_pub, sizeof(w->url_pub));
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(w->host, sizeof(w->host), "%s", host);
    snprintf(w->owner, sizeof(w->owner), "%s:%ld", host, (long)getpid());
    w->batch_max = o->batch;
    /* The first success at each endpoint clears its configuration alarm, if
     * an earlier run of this host raised one. */
    w->clear_due = (1u << EP_DECLARATIONS) | (1u << EP_MANIFESTS) | (1u << EP_EVENTS);
    w->rng = (unsigned)getpid() ^ (unsigned)now_ms();
    w->ops = o->store;
    rc = w->ops->open(o->store_arg, &w->db, e);
    if (rc < 0)
        return rc;
    w->multi = curl_multi_init();
    w->nslots = 2 * o->parallel;
    w->slots = calloc((size_t)w->nslots, sizeof(*w->slots));
    if (w->multi == NULL || w->slots == NULL)
        return err_set(e, -ENOMEM, "worker: out of memory");
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)o->parallel + 1);
    for (i = 0; i < w->nslots; i++)
        if (slot_init(w, &w->slots[i]) < 0)
            return err_set(e, -ENOMEM, "worker: out of memory");
    rc = store_start(w, &w->st[0], "claim", e);
    if (rc == 0)
        rc = store_start(w, &w->st[1], "results", e);
    if (rc < 0)
        return rc;
    return o->events_ms > 0 ? feed_open(w, e) : 0;
}

static void worker_close(struct worker *w)
{
    int i, given = 0;

    store_stop(&w->st[0]);
    store_stop(&w->st[1]);
    for (i = 0; w->slots != NULL && i < w->nslots; i++) {
        struct slot *s = &w->slots[i];

        if (s->state == SLOT_INFLIGHT)
            curl_multi_remove_handle(w->multi, s->easy);
        /* Batches held are given back at once, unchanged, under their keys
         * (SIGTERM, a refused token, a configuration fault). */
        if (s->state != SLOT_IDLE && s->b.batch_key != NULL && w->st[1].db != NULL &&
            w->ops->release(w->st[1].db, s->b.batch_key, w->owner, 0, NULL) == 0)
            given++;
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
    for (i = 0; i < 2; i++)
        if (w->st[i].db != NULL)
            w->ops->close(w->st[i].db);
    if (w->db != NULL)
        w->ops->close(w->db);
    memset(w->auth, 0, sizeof(w->auth));
    if (given > 0)
        log_info("%d more batches given back unchanged", given);
}

/* One turn's slot work: hand back finished jobs, send what may be sent
 * (retries due first, then claimed batches, up to parallel on the wire),
 * claim ahead into idle slots. *next is lowered to the next timer. */
static int slots_turn(struct worker *w, long long t, long long *next, struct err *e)
{
    const struct cust_worker_opts *o = w->o;
    struct slot *s, *list;
    int i, rc, inflight = 0;

    for (i = 0; i < 2; i++)
        for (list = jobs_take(&w->st[i]); list != NULL; list = s) {
            struct slot *x = list;

            s = x->qnext;
            rc = job_done(w, x, e);
            if (rc < 0)
                return rc;
        }
    for (i = 0; i < w->nslots; i++)
        inflight += w->slots[i].state == SLOT_INFLIGHT;
    for (i = 0; i < w->nslots && inflight < o->parallel; i++) {
        s = &w->slots[i];
        if (s->state == SLOT_WAITING && s->due_ms <= t) {
            if (send_slot(w, s) < 0)
                return err_set(e, -ENOMEM, "worker: out of memory");
            inflight++;
        }
    }
    for (i = 0; i < w->nslots && inflight < o->parallel; i++) {
        s = &w->slots[i];
        if (s->state == SLOT_READY) {
            if (send_slot(w, s) < 0)
                return err_set(e, -ENOMEM, "worker: out of memory");
            inflight++;
        }
    }
    for (i = 0; i < w->nslots; i++) {
        s = &w->slots[i];
        if (s->state == SLOT_IDLE && w->fatal_rc == 0) {
            if (w->idle_until <= t) {
                s->claim_max = w->batch_max;
                s->look_old = w->look_old;
                w->look_old = 0;
                job_queue(w, s, JOB_CLAIM);
            } else if (w->idle_until < *next)
                *next = w->idle_until;
        }
        if (s->state == SLOT_WAITING && s->due_ms < *next)
            *next = s->due_ms;
    }
    return 0;
}

int cust_worker_run(const struct cust_worker_opts *o, volatile sig_atomic_t *stop, struct err *e)
{
    struct worker w;
    long long wd_ms, wd_last = 0;
    int i, rc, running;

    memset(&w, 0, sizeof(w));
    w.o = o;
    rc = worker_open(&w, e);
    if (rc < 0)
        goto out;
    log_info("worker %s: posting to %s (%s profile: %s, %s), batch %d, lease %d s, %d in flight",
             w.owner, w.url_pub, w.prof->name, w.ep_name[EP_DECLARATIONS], w.ep_name[EP_MANIFESTS],
             o->batch, o->lease_s, o->parallel);
    /* Under systemd (Type=notify): ready now, and the watchdog fed from
     * this loop, so a worker whose loop hangs is restarted. */
    svc_ready(w.prof->name);
    wd_ms = (long long)(svc_watchdog_interval_us() / 1000);
    while (!*stop && w.fatal_rc == 0) {
        long long t = now_ms(), next = t + o->poll_ms;
        CURLMsg *m;
        int left, idle = 1;

        if (wd_ms > 0 && t - wd_last >= wd_ms) {
            svc_watchdog();
            wd_last = t;
        }
        if (wd_ms > 0 && wd_last + wd_ms < next)
            next = wd_last + wd_ms;

        rc = slots_turn(&w, t, &next, e);
        if (rc < 0)
            goto out;
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
        for (i = 0; i < w.nslots; i++)
            idle = idle && w.slots[i].state == SLOT_IDLE;
        if (idle && w.jobs == 0 && w.none_due && o->until_empty) {
            long long open = 0;

            rc = w.ops->open_count(w.db, o->queue, &open, e);
            if (rc < 0)
                goto out;
            if (open == 0)
                break;
        }
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
        err_set(e, rc, "%s", w.fatal_msg);
out:
    svc_stopping();
    worker_close(&w);
    return rc;
}

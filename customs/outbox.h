/*
 * outbox.h - the customs submission worker: takes batches of declarations
 * and dispatch manifests from the customs outbox (a store the application
 * hands in as an ops table, customs/store.h) and
 * posts them to the broker's POST /v1/declarations and POST /v1/manifests
 * (reference profile v1) over libcurl multi, storing each declaration's
 * result and each manifest's answer (docs/customs.md "Submission"); and,
 * when asked, reads the broker's decision feed GET /v1/events into the store
 * over the same HTTP setup (docs/customs.md "Decision feed").
 */
#ifndef WCS_CUSTOMS_OUTBOX_H
#define WCS_CUSTOMS_OUTBOX_H

#include <signal.h>

#include "common/err.h"
#include "customs/answer.h" /* CUST_ANSWER_MAX */
#include "customs/profile.h"
#include "customs/store.h"

/* What an answer's HTTP status means (docs/customs.md "Answers"). */
enum cust_http_class {
    CUST_HTTP_OK,        /* 200: read the answer */
    CUST_HTTP_RETRY,     /* no answer (0), 408, 429, 5xx: send again, same key, after a back-off */
    CUST_HTTP_TOKEN,     /* 401, 403: the token is refused: stop */
    CUST_HTTP_REFUSED,   /* 400 or 422 carrying the broker's error body: the content is refused */
    CUST_HTTP_TOO_LARGE, /* 413: the request is too large (a batch is split) */
    CUST_HTTP_CONFIG,    /* anything else (1xx, 2xx but 200, 3xx, 404, 405, 409, other 4xx, a
                          * 400/422 without the broker's error body): a configuration fault */
};

struct cust_worker_opts {
    const struct cust_store_ops *store; /* the outbox and the feed's cursor */
    const void *store_arg;  /* store->open()'s argument (wcs: a conninfo) */
    const char *broker_url; /* base URL, e.g. "https://broker.example/" (no /v1) */
    const char *token;      /* bearer token (never logged) */
    const char *ca_file;    /* CA bundle for TLS verification; NULL = system store */
    int insecure_http;      /* allow http:// (local emulator only) */
    int batch;              /* declarations per request, 1..500 */
    int lease_s;            /* lease of a claimed batch, seconds */
    int parallel;           /* batches in flight at once, 1..64; as many more are claimed ahead */
    int max_tries;          /* sends of one batch per claim before giving it back */
    int until_empty;        /* return once the outbox has no unfinished row */
    int poll_ms;            /* idle wait between looks at the outbox, ms */
    long backoff_base_ms;   /* first retry delay (before jitter), ms */
    long backoff_max_ms;    /* retry delay cap, ms */
    int events_ms;          /* > 0: also read the decision feed, polling every events_ms */
    int events_limit;       /* events per feed request, 1..1000 */
    const char *broker_name; /* key of the feed's stored cursor (customs_feed_cursor) and
                              * of the worker's alarms */
    const char *queue;       /* the outbox rows it takes: the broker the import and the
                              * dispatch close chose ("default": the customs: keys' one) */
    const struct cust_profile *profile; /* its API (customs/profile.h); NULL = reference */
};

/* Fills o with the defaults (batch 100, lease 60 s, parallel 8, 8 tries,
 * poll 500 ms, back-off 200 ms .. 20 s, no decision feed, 100 events per
 * page, broker name and queue "default", the reference profile); the
 * caller sets the store, URL and token. */
void cust_worker_defaults(struct cust_worker_opts *o);

/*
 * Reads a bearer token: the first line of path, trailing blanks dropped
 * (secret_file_first_line(), SECRET_FILE_OWNER: a file its group or others
 * may read is refused). *out gets a malloc'd string (caller frees). Returns
 * 0, -errno, or ERR_CONFIG (the message says why, never the token).
 */
int cust_token_read(const char *path, char **out, struct err *e);

/*
 * Runs the worker until *stop becomes non-zero (a signal handler sets it) or,
 * with until_empty, until every outbox row is finished. With events_ms > 0
 * it also reads the decision feed from the stored cursor, storing each page
 * with the store's feed_store() (until_empty is then refused: the feed has
 * no end). Store work runs on two threads of its own, each with its own
 * store session (three sessions in all). Returns 0; ERR_CONFIG (bad
 * options, or the broker refused the token: 401/403), ERR_HTTP (the
 * broker's answers show a configuration fault: a redirect, 404, 405, an
 * answer that is not the broker's; see cust_http_classify()), the store's
 * error (e.g. ERR_DB: database lost), or -ENOMEM. On ERR_CONFIG and ERR_HTTP
 * an alarm is raised in the store (alarm_raise), every batch held is given
 * back unchanged and the message in e says what the operator must fix.
 * Other failures of a batch or a feed page are retried with back-off.
 */
int cust_worker_run(const struct cust_worker_opts *o, volatile sig_atomic_t *stop, struct err *e);

/*
 * Whether an answer is to be retried (reference profile "Errors"): network
 * failures (http_status 0), 408, 429 and 5xx are; everything else is final.
 */
int cust_http_retryable(long http_status);

/*
 * What an answer with HTTP status means (reference profile "Errors", and
 * docs/customs.md "Answers"); broker_error: the body is the broker's error
 * answer {"error": {"code": "...", "message": "..."}}. Only a 400 or 422
 * carrying it refuses the request's content: the same status from something
 * else (a proxy, a wrong server) says nothing about the declarations.
 */
enum cust_http_class cust_http_classify(long http_status, int broker_error);

/*
 * Delay before retry number tries (1 = first retry), ms: base * 2^(tries-1)
 * capped at max, then full jitter from the upper half (r in [0,1)), so
 * workers that failed together do not return together. retry_after_s > 0
 * (a 429's Retry-After) is a floor.
 */
long cust_backoff_ms(int tries, long base_ms, long max_ms, double r, long retry_after_s);

#endif

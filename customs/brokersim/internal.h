/*
 * internal.h - wcs-brokersim, the customs broker emulator: the parts shared
 * by its small files. Nothing outside customs/brokersim includes this.
 *
 * Sections: options; declaration validation (pure, validate.c); the store of
 * idempotent responses, accepted declarations, decision events and manifests
 * (store.c, one mutex); the HTTP server (server.c).
 */
#ifndef WCS_CUSTOMS_BROKERSIM_INTERNAL_H
#define WCS_CUSTOMS_BROKERSIM_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

/* ---- options ---------------------------------------------------------- */

/* Broker API v1, POST /v1/declarations: "at most 500 per request". */
#define BSIM_MAX_BATCH 500
/* Broker API v1, conventions: "Idempotency-Key: <opaque, <= 64 chars>". */
#define BSIM_MAX_KEY 64
/* Largest request body read; beyond it the answer is 413 (bytes). The
 * default and the ceiling of --max-body. */
#define BSIM_MAX_BODY (16u * 1024 * 1024)
/* Blanks --oversize sends after the JSON of an answer (bytes): twice the
 * customs worker's cap on answers (customs/answer.h CUST_ANSWER_MAX). */
#define BSIM_OVERSIZE_PAD (8u * 1024 * 1024)

struct bsim_opts {
    unsigned port;              /* TCP port on 127.0.0.1; 0 = any free one */
    char token[256];            /* bearer token read from --token-file */
    const char *state_path;     /* --state: JSON lines journal, or NULL */
    const char *record_path;    /* --record: accepted declarations, or NULL */
    uint64_t seed;              /* --seed: one PRNG for decisions and faults */
    double held_share;          /* --held-share: P(held) per accepted declaration */
    double duty_share;          /* --duty-share: P(duty_due) per released one */
    double reject_share;        /* --reject-share: P(customs "rejected" event) */
    unsigned decision_delay_ms; /* --decision-delay-ms: acceptance -> event (ms) */
    double fail_5xx;            /* --fail-5xx: P(503 without processing) */
    double rate_limit;          /* --rate-limit: P(429 without processing) */
    unsigned retry_after_s;     /* --retry-after: Retry-After of a 429 (s) */
    unsigned latency_ms;        /* --latency-ms: added before every answer (ms) */
    unsigned jitter_ms;         /* --jitter-ms: plus uniform 0..jitter (ms) */
    double reset;               /* --reset: P(close before processing) */
    double reset_after;         /* --reset-after: P(process, then close) */
    double malformed;           /* --malformed: P(200 answer with a broken body) */
    unsigned answer_status;     /* --answer-status: every /v1 request answered with it, 0 off */
    int answer_status_text;     /* --answer-status-text: that answer's body is an HTML page,
                                 * not the broker's error answer */
    size_t max_body;            /* --max-body: larger request bodies are 413 (bytes) */
    double swap_results;        /* --swap-results: P(declarations' results sent in reverse) */
    double wrong_ids;           /* --wrong-ids: P(a 200 sent naming another parcel or manifest) */
    double oversize;            /* --oversize: P(a 200 sent with BSIM_OVERSIZE_PAD blanks
                                 * after it, chunked) */
};

/* ---- validation (validate.c) -------------------------------------------- */

/* Checks one DECLARATION of broker API v1 against the emulator's rules:
 * required fields and their types, parcel_id (S10 with its check digit, or
 * LP/AP + 14 digits), category, recipient.inn (12 digits, both check
 * digits), passport, items (non-empty, hs_code 6-10 digits, quantity >= 1,
 * currency 3 upper-case letters, countries ISO 3166 alpha-2).
 * Appends one {"field","code","message"} object per problem to errors (a
 * JSON array the caller owns). Returns the number of problems appended, or
 * -ENOMEM. Pure: no I/O, no state. */
int cust_bsim_validate(const json_t *decl, json_t *errors);

/* ---- the rupost profile (rupost.c) -------------------------------------- */

/* The broker API v1 path a rupost path stands for ("/1.0/customs/batches"
 * -> "/v1/manifests"), or NULL. */
const char *cust_bsim_rp_path(const char *url);

/* A rupost request body as the v1 body of v1_path (malloc'd), or NULL when
 * it is not a JSON object (then read as it came: the v1 code refuses it). */
char *cust_bsim_rp_request(const char *v1_path, const char *body, size_t len);

/* A v1 answer (or error body) to v1_path in rupost's words (malloc'd), or
 * NULL when it is not JSON. */
char *cust_bsim_rp_answer(const char *v1_path, const char *body);

/* ---- store (store.c) ---------------------------------------------------- */

struct bsim_store;

/* A response kept for an idempotency key. */
struct bsim_reply {
    unsigned status; /* HTTP status */
    char *body;      /* JSON text, NUL-terminated, owned by the store */
};

/* Creates the store; replays state_path (may be NULL, may not exist yet)
 * and opens it and record_path (may be NULL) for appending. Returns 0 or a
 * negative code with detail in e; *out is owned by the caller
 * (cust_bsim_store_free). */
int cust_bsim_store_new(const struct bsim_opts *o, struct bsim_store **out, struct err *e);
void cust_bsim_store_free(struct bsim_store *s);

/* The store's lock: the server holds it across a lookup, the processing and
 * the remember, so two requests with one key cannot both run. */
void cust_bsim_store_lock(struct bsim_store *s);
void cust_bsim_store_unlock(struct bsim_store *s);

/* A uniform double in [0,1) from the seeded PRNG (takes the lock itself;
 * call without holding it). */
double cust_bsim_random(struct bsim_store *s);

/* Looks up (endpoint, key). Returns 0 and sets *found to NULL when unknown;
 * 0 and *found to the stored reply (owned by the store) when the same body
 * was sent before; ERR_CONFLICT when the key came with another body.
 * Lock held. */
int cust_bsim_idem_lookup(struct bsim_store *s, const char *endpoint, const char *key,
                          const char *body, size_t body_len, const struct bsim_reply **found);
/* Keeps the reply for (endpoint, key, body), in memory and in the state
 * journal. Copies everything. Returns 0 or -ENOMEM. Lock held. */
int cust_bsim_idem_remember(struct bsim_store *s, const char *endpoint, const char *key,
                            const char *body, size_t body_len, unsigned status,
                            const char *reply);

/* Records an accepted declaration: gives it the next broker_ref
 * ("BRK-000123", written to ref, ref_len >= 16), decides rejected, held or
 * released (and maybe duty_due) with the seeded PRNG, queues the events due after the
 * decision delay, appends to --record and the journal. Returns 0 or
 * -ENOMEM. Lock held. */
int cust_bsim_accept(struct bsim_store *s, const char *parcel_id, const char *key, char *ref,
                     size_t ref_len);
/* True when parcel_id has an accepted declaration. Lock held. */
int cust_bsim_is_accepted(struct bsim_store *s, const char *parcel_id);
/* Records a manifest, gives it the next "MAN-000001" ref. Returns 0 or
 * -ENOMEM. Lock held. */
int cust_bsim_manifest(struct bsim_store *s, const char *manifest_id, char *ref, size_t ref_len);

/* {"events":[...],"next":"CURSOR"}: up to limit events after the cursor
 * (0 = from the start) that are due now, oldest first. New reference. Lock
 * held. */
json_t *cust_bsim_events(struct bsim_store *s, uint64_t after, unsigned limit);
/* {"count","accepted":[{"parcel_id","key","broker_ref","at"}],
 * "duplicates":[parcel ids accepted more than once]}. Lock held. */
json_t *cust_bsim_accepted_json(struct bsim_store *s);

/* Fault counters (for GET /admin/stats). */
enum bsim_fault { BSIM_F_5XX, BSIM_F_429, BSIM_F_RESET, BSIM_F_RESET_AFTER, BSIM_F_MALFORMED,
                  BSIM_F_STATUS, BSIM_F_SWAP, BSIM_F_WRONG_IDS, BSIM_F_OVERSIZE, BSIM_F_COUNT };
void cust_bsim_count_fault(struct bsim_store *s, enum bsim_fault f);
/* {"requests":N,"faults":{...},"accepted":N,"events":N,"manifests":N}. Lock held. */
json_t *cust_bsim_stats_json(struct bsim_store *s);
void cust_bsim_count_request(struct bsim_store *s);

/* ---- server (server.c) -------------------------------------------------- */

struct bsim_server;

/* Starts the HTTP server on 127.0.0.1 (thread per connection). Returns 0
 * and the bound port in *port, or a negative code with detail in e. */
int cust_bsim_server_start(const struct bsim_opts *o, struct bsim_store *st,
                           struct bsim_server **out, unsigned *port, struct err *e);
/* Stops the server, waiting for its threads; frees it. NULL allowed. */
void cust_bsim_server_stop(struct bsim_server *srv);

#endif

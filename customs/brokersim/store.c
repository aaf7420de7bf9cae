/*
 * store.c - wcs-brokersim: what the emulated broker remembers. Stored
 * responses per idempotency key, accepted declarations (the exactly-once
 * record tests assert on), the decision feed and manifests, all behind one
 * mutex.
 *
 * DESIGN: everything lives in memory for the life of the process. With
 * --state every change is also appended to a JSON-lines journal that is
 * replayed at start, so a restarted emulator keeps its stored responses,
 * broker refs and events (the PRNG restarts from the seed). Request bodies
 * are kept as (length, 64-bit FNV-1a hash): "the same body" means the same
 * bytes, and a hash keeps the journal small and free of arbitrary bytes.
 * Events are due decision_delay_ms after acceptance; since the delay is
 * fixed, the order of acceptance is the order of due times and a cursor is
 * simply the event's sequence number.
 */
#include "customs/brokersim/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define NBUCKETS 65536u

struct idem {
    char *k;           /* endpoint + '\n' + key */
    uint64_t hash;     /* FNV-1a of the body */
    size_t len;        /* body length (bytes) */
    struct bsim_reply reply;
    struct idem *next;
};

struct acc {
    char *parcel_id;
    char *key;
    char ref[16];
    long long at_ms; /* Unix time (ms) */
};

struct pset { /* parcel ids with an accepted declaration: hash -> count */
    char *id;
    unsigned n;
    struct pset *next;
};

struct event {
    uint64_t seq;       /* the cursor */
    char *parcel_id;
    char type[16];      /* released | held | duty_due */
    char reason[64];
    json_int_t duty;    /* minor units, duty_due only */
    long long due_ms;   /* Unix time (ms) at which the event appears */
};

struct bsim_store {
    pthread_mutex_t mu;
    const struct bsim_opts *o;
    uint64_t rng;
    struct idem *idem[NBUCKETS];
    struct pset *parcels[NBUCKETS];
    struct acc *acc;
    size_t nacc, capacc;
    struct event *ev;
    size_t nev, capev;
    unsigned nmanifests;
    unsigned long long requests;
    unsigned long long faults[BSIM_F_COUNT];
    FILE *journal;
    FILE *record;
};

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* 63 bits, so the journal can keep it as a (signed) JSON integer. */
static uint64_t body_hash(const char *p, size_t n)
{
    return fnv(p, n) >> 1;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rfc3339(long long ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&t, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

/* splitmix64: small, seedable, good enough for fault and decision draws. */
static double next_random(struct bsim_store *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ull << 53);
}

double cust_bsim_random(struct bsim_store *s)
{
    double r;

    pthread_mutex_lock(&s->mu);
    r = next_random(s);
    pthread_mutex_unlock(&s->mu);
    return r;
}

void cust_bsim_store_lock(struct bsim_store *s)
{
    pthread_mutex_lock(&s->mu);
}

void cust_bsim_store_unlock(struct bsim_store *s)
{
    pthread_mutex_unlock(&s->mu);
}

/* Appends one JSON line to f and flushes it, so a killed emulator loses
 * nothing it answered. Steals j. */
static void write_line(FILE *f, json_t *j)
{
    if (f == NULL || j == NULL) {
        json_decref(j);
        return;
    }
    if (json_dumpf(j, f, JSON_COMPACT) < 0 || fputc('\n', f) == EOF || fflush(f) != 0)
        log_warn("cannot append to a journal file");
    json_decref(j);
}

/* ---- idempotency ------------------------------------------------------- */

static int idem_put(struct bsim_store *s, const char *k, uint64_t hash, size_t len,
                    unsigned status, const char *reply)
{
    struct idem *i = calloc(1, sizeof(*i));
    unsigned b = (unsigned)(fnv(k, strlen(k)) % NBUCKETS);

    if (i == NULL)
        return -ENOMEM;
    i->k = strdup(k);
    i->reply.body = strdup(reply);
    if (i->k == NULL || i->reply.body == NULL) {
        free(i->k);
        free(i->reply.body);
        free(i);
        return -ENOMEM;
    }
    i->hash = hash;
    i->len = len;
    i->reply.status = status;
    i->next = s->idem[b];
    s->idem[b] = i;
    return 0;
}

static struct idem *idem_get(struct bsim_store *s, const char *k)
{
    struct idem *i;

    for (i = s->idem[fnv(k, strlen(k)) % NBUCKETS]; i != NULL; i = i->next)
        if (strcmp(i->k, k) == 0)
            return i;
    return NULL;
}

static void idem_key(char *buf, size_t len, const char *endpoint, const char *key)
{
    snprintf(buf, len, "%s\n%s", endpoint, key);
}

int cust_bsim_idem_lookup(struct bsim_store *s, const char *endpoint, const char *key,
                          const char *body, size_t body_len, const struct bsim_reply **found)
{
    char k[BSIM_MAX_KEY + 64];
    struct idem *i;

    idem_key(k, sizeof(k), endpoint, key);
    *found = NULL;
    i = idem_get(s, k);
    if (i == NULL)
        return 0;
    if (i->len != body_len || i->hash != body_hash(body, body_len))
        return ERR_CONFLICT;
    *found = &i->reply;
    return 0;
}

int cust_bsim_idem_remember(struct bsim_store *s, const char *endpoint, const char *key,
                            const char *body, size_t body_len, unsigned status,
                            const char *reply)
{
    char k[BSIM_MAX_KEY + 64];
    uint64_t h = body_hash(body, body_len);
    int rc;

    idem_key(k, sizeof(k), endpoint, key);
    rc = idem_put(s, k, h, body_len, status, reply);
    if (rc < 0)
        return rc;
    write_line(s->journal, json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:s}", "t", "idem", "endpoint",
                                     endpoint, "key", key, "hash", (json_int_t)h,
                                     "len", (json_int_t)body_len, "status", (int)status,
                                     "reply", reply));
    return 0;
}

/* ---- accepted declarations and events ---------------------------------- */

static int pset_add(struct bsim_store *s, const char *id)
{
    unsigned b = (unsigned)(fnv(id, strlen(id)) % NBUCKETS);
    struct pset *p;

    for (p = s->parcels[b]; p != NULL; p = p->next)
        if (strcmp(p->id, id) == 0) {
            p->n++;
            return 0;
        }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->id = strdup(id)) == NULL) {
        free(p);
        return -ENOMEM;
    }
    p->n = 1;
    p->next = s->parcels[b];
    s->parcels[b] = p;
    return 0;
}

static unsigned pset_count(struct bsim_store *s, const char *id)
{
    struct pset *p;

    for (p = s->parcels[fnv(id, strlen(id)) % NBUCKETS]; p != NULL; p = p->next)
        if (strcmp(p->id, id) == 0)
            return p->n;
    return 0;
}

int cust_bsim_is_accepted(struct bsim_store *s, const char *parcel_id)
{
    return pset_count(s, parcel_id) > 0;
}

static int acc_add(struct bsim_store *s, const char *parcel_id, const char *key,
                   const char *ref, long long at)
{
    struct acc *a;

    if (s->nacc == s->capacc) {
        size_t cap = s->capacc ? s->capacc * 2 : 256;
        a = realloc(s->acc, cap * sizeof(*a));
        if (a == NULL)
            return -ENOMEM;
        s->acc = a;
        s->capacc = cap;
    }
    a = &s->acc[s->nacc];
    a->parcel_id = strdup(parcel_id);
    a->key = strdup(key);
    if (a->parcel_id == NULL || a->key == NULL) {
        free(a->parcel_id);
        free(a->key);
        return -ENOMEM;
    }
    snprintf(a->ref, sizeof(a->ref), "%s", ref);
    a->at_ms = at;
    s->nacc++;
    return pset_add(s, parcel_id);
}

static int ev_add(struct bsim_store *s, uint64_t seq, const char *parcel_id, const char *type,
                  const char *reason, json_int_t duty, long long due)
{
    struct event *e;

    if (s->nev == s->capev) {
        size_t cap = s->capev ? s->capev * 2 : 256;
        e = realloc(s->ev, cap * sizeof(*e));
        if (e == NULL)
            return -ENOMEM;
        s->ev = e;
        s->capev = cap;
    }
    e = &s->ev[s->nev];
    memset(e, 0, sizeof(*e));
    if ((e->parcel_id = strdup(parcel_id)) == NULL)
        return -ENOMEM;
    e->seq = seq;
    snprintf(e->type, sizeof(e->type), "%s", type);
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
    e->duty = duty;
    e->due_ms = due;
    s->nev++;
    return 0;
}

static int decide(struct bsim_store *s, const char *parcel_id, long long at)
{
    long long due = at + (long long)s->o->decision_delay_ms;
    int rc;

    /* Draw only for shares above 0, so adding a flag at 0 does not shift
     * the seeded sequence of the others. */
    if (s->o->reject_share > 0 && next_random(s) < s->o->reject_share)
        return ev_add(s, s->nev + 1, parcel_id, "rejected",
                      "customs: goods description too vague", 0, due);
    if (next_random(s) < s->o->held_share)
        return ev_add(s, s->nev + 1, parcel_id, "held", "selected for inspection", 0, due);
    rc = ev_add(s, s->nev + 1, parcel_id, "released", "", 0, due);
    if (rc == 0 && s->o->duty_share > 0 && next_random(s) < s->o->duty_share)
        rc = ev_add(s, s->nev + 1, parcel_id, "duty_due", "value above the duty-free threshold",
                    100 + (json_int_t)(next_random(s) * 5000), due);
    return rc;
}

static void journal_event(struct bsim_store *s, const struct event *e)
{
    write_line(s->journal, json_pack("{s:s,s:I,s:s,s:s,s:s,s:I,s:I}", "t", "ev", "seq",
                                     (json_int_t)e->seq, "parcel_id", e->parcel_id, "type",
                                     e->type, "reason", e->reason, "duty", e->duty, "due",
                                     (json_int_t)e->due_ms));
}

int cust_bsim_accept(struct bsim_store *s, const char *parcel_id, const char *key, char *ref,
                     size_t ref_len)
{
    long long at = now_ms();
    size_t first = s->nev, i;
    char when[40];
    int rc;

    snprintf(ref, ref_len, "BRK-%06zu", s->nacc + 1);
    rc = acc_add(s, parcel_id, key, ref, at);
    if (rc < 0)
        return rc;
    rc = decide(s, parcel_id, at);
    if (rc < 0)
        return rc;
    rfc3339(at, when, sizeof(when));
    write_line(s->journal, json_pack("{s:s,s:s,s:s,s:s,s:I}", "t", "acc", "parcel_id", parcel_id,
                                     "key", key, "broker_ref", ref, "at", (json_int_t)at));
    for (i = first; i < s->nev; i++)
        journal_event(s, &s->ev[i]);
    write_line(s->record, json_pack("{s:s,s:s,s:s,s:s}", "parcel_id", parcel_id, "key", key,
                                    "broker_ref", ref, "at", when));
    return 0;
}

int cust_bsim_manifest(struct bsim_store *s, const char *manifest_id, char *ref, size_t ref_len)
{
    s->nmanifests++;
    snprintf(ref, ref_len, "MAN-%06u", s->nmanifests);
    write_line(s->journal,
               json_pack("{s:s,s:s,s:s}", "t", "man", "manifest_id", manifest_id, "ref", ref));
    return 0;
}

json_t *cust_bsim_events(struct bsim_store *s, uint64_t after, unsigned limit)
{
    json_t *arr = json_array(), *out;
    long long now = now_ms();
    uint64_t next = after;
    size_t i;
    char when[40], cur[24];

    if (arr == NULL)
        return NULL;
    /* Event seq N sits at index N - 1. */
    for (i = (size_t)after; i < s->nev && json_array_size(arr) < limit; i++) {
        const struct event *e = &s->ev[i];
        json_t *o;

        if (e->due_ms > now)
            break;
        rfc3339(e->due_ms, when, sizeof(when));
        snprintf(cur, sizeof(cur), "%llu", (unsigned long long)e->seq);
        o = json_pack("{s:s,s:s,s:s,s:s}", "cursor", cur, "parcel_id", e->parcel_id, "type",
                      e->type, "at", when);
        if (o == NULL)
            goto fail;
        if (e->reason[0] != '\0')
            json_object_set_new(o, "reason", json_string(e->reason));
        if (strcmp(e->type, "duty_due") == 0)
            json_object_set_new(o, "duty",
                                json_pack("{s:I,s:s}", "value", e->duty, "currency", "RUB"));
        if (json_array_append_new(arr, o) < 0)
            goto fail;
        next = e->seq;
    }
    snprintf(cur, sizeof(cur), "%llu", (unsigned long long)next);
    out = json_pack("{s:o,s:s}", "events", arr, "next", cur);
    return out;
fail:
    json_decref(arr);
    return NULL;
}

json_t *cust_bsim_accepted_json(struct bsim_store *s)
{
    json_t *arr = json_array(), *dup = json_array();
    size_t i;
    unsigned b;
    char when[40];

    if (arr == NULL || dup == NULL)
        goto fail;
    for (i = 0; i < s->nacc; i++) {
        rfc3339(s->acc[i].at_ms, when, sizeof(when));
        if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "parcel_id",
                                                 s->acc[i].parcel_id, "key", s->acc[i].key,
                                                 "broker_ref", s->acc[i].ref, "at", when)) < 0)
            goto fail;
    }
    for (b = 0; b < NBUCKETS; b++) {
        const struct pset *p;
        for (p = s->parcels[b]; p != NULL; p = p->next)
            if (p->n > 1 && json_array_append_new(dup, json_string(p->id)) < 0)
                goto fail;
    }
    return json_pack("{s:I,s:o,s:o}", "count", (json_int_t)s->nacc, "accepted", arr,
                     "duplicates", dup);
fail:
    json_decref(arr);
    json_decref(dup);
    return NULL;
}

void cust_bsim_count_fault(struct bsim_store *s, enum bsim_fault f)
{
    pthread_mutex_lock(&s->mu);
    s->faults[f]++;
    pthread_mutex_unlock(&s->mu);
}

void cust_bsim_count_request(struct bsim_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->requests++;
    pthread_mutex_unlock(&s->mu);
}

json_t *cust_bsim_stats_json(struct bsim_store *s)
{
    return json_pack("{s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:I,s:I}", "requests",
                     (json_int_t)s->requests, "faults", "fail_5xx",
                     (json_int_t)s->faults[BSIM_F_5XX], "rate_limit",
                     (json_int_t)s->faults[BSIM_F_429], "reset",
                     (json_int_t)s->faults[BSIM_F_RESET], "reset_after",
                     (json_int_t)s->faults[BSIM_F_RESET_AFTER], "malformed",
                     (json_int_t)s->faults[BSIM_F_MALFORMED], "answer_status",
                     (json_int_t)s->faults[BSIM_F_STATUS], "swap_results",
                     (json_int_t)s->faults[BSIM_F_SWAP], "wrong_ids",
                     (json_int_t)s->faults[BSIM_F_WRONG_IDS], "oversize",
                     (json_int_t)s->faults[BSIM_F_OVERSIZE], "accepted", (json_int_t)s->nacc,
                     "events", (json_int_t)s->nev, "manifests", (json_int_t)s->nmanifests);
}

/* ---- journal replay ----------------------------------------------------- */

static int replay_line(struct bsim_store *s, const json_t *j)
{
    const char *t = json_string_value(json_object_get(j, "t"));

    if (t == NULL)
        return ERR_PARSE;
    if (strcmp(t, "idem") == 0) {
        const char *ep = json_string_value(json_object_get(j, "endpoint"));
        const char *key = json_string_value(json_object_get(j, "key"));
        const char *reply = json_string_value(json_object_get(j, "reply"));
        char k[BSIM_MAX_KEY + 64];

        if (ep == NULL || key == NULL || reply == NULL)
            return ERR_PARSE;
        idem_key(k, sizeof(k), ep, key);
        if (idem_put(s, k, (uint64_t)json_integer_value(json_object_get(j, "hash")),
                     (size_t)json_integer_value(json_object_get(j, "len")),
                     (unsigned)json_integer_value(json_object_get(j, "status")), reply) < 0)
            return -ENOMEM;
        return 0;
    }
    if (strcmp(t, "acc") == 0) {
        const char *p = json_string_value(json_object_get(j, "parcel_id"));
        const char *key = json_string_value(json_object_get(j, "key"));
        const char *ref = json_string_value(json_object_get(j, "broker_ref"));

        if (p == NULL || key == NULL || ref == NULL)
            return ERR_PARSE;
        return acc_add(s, p, key, ref, json_integer_value(json_object_get(j, "at")));
    }
    if (strcmp(t, "ev") == 0) {
        const char *p = json_string_value(json_object_get(j, "parcel_id"));
        const char *type = json_string_value(json_object_get(j, "type"));
        const char *reason = json_string_value(json_object_get(j, "reason"));

        if (p == NULL || type == NULL)
            return ERR_PARSE;
        return ev_add(s, (uint64_t)json_integer_value(json_object_get(j, "seq")), p, type,
                      reason ? reason : "", json_integer_value(json_object_get(j, "duty")),
                      json_integer_value(json_object_get(j, "due")));
    }
    if (strcmp(t, "man") == 0) {
        s->nmanifests++;
        return 0;
    }
    return ERR_PARSE;
}

static int replay(struct bsim_store *s, const char *path, struct err *e)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;

    if (f == NULL)
        return errno == ENOENT ? 0 : err_set(e, -errno, "%s: cannot open", path);
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *j;

        lineno++;
        j = json_loads(line, 0, &je);
        if (j == NULL) {
            /* A torn last line after a crash is expected; skip it. */
            log_warnx("%s:%u: skipped: %s", path, lineno, je.text);
            continue;
        }
        rc = replay_line(s, j);
        json_decref(j);
        if (rc < 0) {
            rc = err_set(e, rc, "%s:%u: not a brokersim journal line", path, lineno);
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

int cust_bsim_store_new(const struct bsim_opts *o, struct bsim_store **out, struct err *e)
{
    struct bsim_store *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    s->o = o;
    s->rng = o->seed;
    if (o->state_path != NULL) {
        rc = replay(s, o->state_path, e);
        if (rc < 0)
            goto fail;
        s->journal = fopen(o->state_path, "a");
        if (s->journal == NULL) {
            rc = err_set(e, -errno, "%s: cannot open for appending", o->state_path);
            goto fail;
        }
    }
    if (o->record_path != NULL) {
        s->record = fopen(o->record_path, "a");
        if (s->record == NULL) {
            rc = err_set(e, -errno, "%s: cannot open for appending", o->record_path);
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    cust_bsim_store_free(s);
    return rc;
}

void cust_bsim_store_free(struct bsim_store *s)
{
    unsigned b;
    size_t i;

    if (s == NULL)
        return;
    for (b = 0; b < NBUCKETS; b++) {
        while (s->idem[b] != NULL) {
            struct idem *i1 = s->idem[b];
            s->idem[b] = i1->next;
            free(i1->k);
            free(i1->reply.body);
            free(i1);
        }
        while (s->parcels[b] != NULL) {
            struct pset *p = s->parcels[b];
            s->parcels[b] = p->next;
            free(p->id);
            free(p);
        }
    }
    for (i = 0; i < s->nacc; i++) {
        free(s->acc[i].parcel_id);
        free(s->acc[i].key);
    }
    for (i = 0; i < s->nev; i++)
        free(s->ev[i].parcel_id);
    free(s->acc);
    free(s->ev);
    if (s->journal != NULL)
        fclose(s->journal);
    if (s->record != NULL)
        fclose(s->record);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

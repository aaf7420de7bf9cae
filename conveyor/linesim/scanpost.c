/*
 * scanpost.c - the scan poster's worker thread (see scanpost.h): a bounded
 * queue under a mutex, one libcurl easy handle reused for every POST so the
 * connection to wcsd stays open.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/log.h"
#include "conveyor/linesim/scanpost.h"

struct scan {
    char location[21];
    char code[21];
    int64_t read_us; /* when "read" (queued), CLOCK_MONOTONIC */
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct conv_scanpost {
    char *url;
    char *auth; /* the Authorization header, or NULL */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct scan *q; /* ring of cap entries */
    size_t cap, head, n;
    bool stopping;
    struct conv_scanpost_stats st;
};

/* Discards the answer body; only the status matters. */
static size_t sink_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb;
}

static bool post_one(CURL *h, const struct scan *sc)
{
    /* Its age, so that wcsd places a scan that waited here (wcsd down or
     * slow) at the moment it was read, not when it arrived. */
    json_int_t age_ms = (json_int_t)((mono_us() - sc->read_us) / 1000);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "location", sc->location, "code", sc->code,
                          "source", "linesim", "age_ms", age_ms);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    long status = 0;
    CURLcode rc = CURLE_OUT_OF_MEMORY;

    json_decref(o);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        rc = curl_easy_perform(h);
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    }
    free(body);
    if (rc != CURLE_OK) {
        log_debug("scan post %s: %s", sc->code, curl_easy_strerror(rc));
        return false;
    }
    if (status < 200 || status > 299) {
        log_debug("scan post %s: HTTP %ld", sc->code, status);
        return false;
    }
    return true;
}

static void *worker(void *arg)
{
    struct conv_scanpost *p = arg;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *h = curl_easy_init();

    if (p->auth != NULL)
        hdr = curl_slist_append(hdr, p->auth);

    log_set_tag("scanpost");
    if (h != NULL) {
        curl_easy_setopt(h, CURLOPT_URL, p->url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_cb);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    }
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct scan sc;
        bool ok;

        while (p->n == 0 && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->n == 0)
            break;
        sc = p->q[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        pthread_mutex_unlock(&p->mu);
        ok = h != NULL && post_one(h, &sc);
        pthread_mutex_lock(&p->mu);
        if (ok)
            p->st.posted++;
        else
            p->st.failed++;
    }
    pthread_mutex_unlock(&p->mu);
    if (h != NULL)
        curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    return NULL;
}

/* Frees what start allocated, wiping the token. */
static void scanpost_free(struct conv_scanpost *p)
{
    if (p->auth != NULL)
        explicit_bzero(p->auth, strlen(p->auth));
    free(p->auth);
    free(p->q);
    free(p->url);
    free(p);
}

int conv_scanpost_start(const char *url, const char *auth, size_t queue_max,
                        struct conv_scanpost **out, struct err *e)
{
    struct conv_scanpost *p = calloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    if (p == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    p->cap = queue_max ? queue_max : 1;
    p->q = calloc(p->cap, sizeof(*p->q));
    p->url = strdup(url);
    p->auth = auth != NULL ? strdup(auth) : NULL;
    if (p->q == NULL || p->url == NULL || (auth != NULL && p->auth == NULL)) {
        scanpost_free(p);
        return err_set(e, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    rc = pthread_create(&p->thread, NULL, worker, p);
    if (rc != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        scanpost_free(p);
        return err_set(e, -rc, "scan poster thread: %s", strerror(rc));
    }
    *out = p;
    return 0;
}

int conv_scanpost_push(struct conv_scanpost *p, const char *location, const char *code)
{
    int rc = 0;

    pthread_mutex_lock(&p->mu);
    if (p->n == p->cap) {
        p->st.dropped++;
        rc = ERR_FULL;
    } else {
        struct scan *sc = &p->q[(p->head + p->n) % p->cap];

        snprintf(sc->location, sizeof(sc->location), "%s", location);
        snprintf(sc->code, sizeof(sc->code), "%s", code);
        sc->read_us = mono_us();
        p->n++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void conv_scanpost_get_stats(struct conv_scanpost *p, struct conv_scanpost_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

void conv_scanpost_stop(struct conv_scanpost *p, struct conv_scanpost_stats *final)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    if (final != NULL)
        *final = p->st;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    scanpost_free(p);
}

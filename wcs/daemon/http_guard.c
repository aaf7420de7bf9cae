/*
 * http_guard.c - bearer-token authorisation and per-client request rates of
 * wcsd's HTTP API (see http_guard.h).
 *
 * DESIGN: a bucket holds micro-requests (1,000,000 per request) so that
 * refilling at per_s a second is integer arithmetic on microseconds. The
 * table is a small array searched linearly: it holds at most as many
 * clients as the API has connections, a few dozen.
 */
#include "wcs/daemon/http_guard.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

#define MICRO 1000000ull

enum wcs_http_verdict wcs_http_authorize(const struct wcs_tokens *t, const char *authorization,
                                         enum wcs_http_need need, const struct wcs_token **who)
{
    struct token_secret presented;
    const struct wcs_token *tok;
    const char *s;
    size_t n;

    *who = NULL;
    if (need == WCS_HTTP_OPEN)
        return WCS_HTTP_ALLOW;
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return WCS_HTTP_UNAUTHORIZED;
    s = authorization + 7;
    while (*s == ' ')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (!token_secret_valid(s, n))
        return WCS_HTTP_UNAUTHORIZED;
    token_secret_set(&presented, s, n);
    tok = wcs_tokens_match(t, &presented);
    token_secret_wipe(&presented);
    if (tok == NULL)
        return WCS_HTTP_UNAUTHORIZED;
    *who = tok;
    if ((need == WCS_HTTP_READ && !wcs_role_may_read(tok->role)) ||
        (need == WCS_HTTP_SCAN && !wcs_role_may_scan(tok->role)) ||
        (need == WCS_HTTP_TRACK && !wcs_role_may_track(tok->role)))
        return WCS_HTTP_FORBIDDEN;
    return WCS_HTTP_ALLOW;
}

/* --- per-client rate --------------------------------------------------------- */

struct bucket {
    uint32_t client;
    uint64_t micro;   /* micro-requests in the bucket */
    uint64_t last_us; /* when micro was brought up to date: the last request */
    int used;
};

struct wcs_rate {
    uint64_t per_s;
    uint64_t full;    /* burst * MICRO */
    struct bucket *b; /* [n] */
    size_t n;
};

struct wcs_rate *wcs_rate_new(unsigned per_s, unsigned burst, size_t clients)
{
    struct wcs_rate *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->per_s = per_s ? per_s : 1;
    r->full = (uint64_t)(burst ? burst : 1) * MICRO;
    r->n = clients ? clients : 1;
    r->b = calloc(r->n, sizeof(*r->b));
    if (r->b == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void wcs_rate_free(struct wcs_rate *r)
{
    if (r == NULL)
        return;
    free(r->b);
    free(r);
}

/* Micro-requests in b at now_us (refilled since b->last_us, at most full). */
static uint64_t level(const struct wcs_rate *r, const struct bucket *b, uint64_t now_us)
{
    uint64_t dt = now_us > b->last_us ? now_us - b->last_us : 0;

    /* Past the time a whole bucket takes it is full, and the product cannot overflow. */
    if (dt > r->full / r->per_s || b->micro + dt * r->per_s >= r->full)
        return r->full;
    return b->micro + dt * r->per_s;
}

/* The client's bucket: its own, else a free one, else one that has filled
 * up again (as good as new), else the one least recently used. */
static struct bucket *find(struct wcs_rate *r, uint32_t client, uint64_t now_us)
{
    struct bucket *pick = NULL;
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->b[i].used && r->b[i].client == client)
            return &r->b[i];
    for (i = 0; i < r->n && pick == NULL; i++)
        if (!r->b[i].used || level(r, &r->b[i], now_us) == r->full)
            pick = &r->b[i];
    if (pick == NULL) {
        pick = &r->b[0];
        for (i = 1; i < r->n; i++)
            if (r->b[i].last_us < pick->last_us)
                pick = &r->b[i];
    }
    pick->used = 1;
    pick->client = client;
    pick->micro = r->full;
    pick->last_us = now_us;
    return pick;
}

/* Whether client's bucket holds a token now; consume takes it. */
static int rate_check(struct wcs_rate *r, uint32_t client, uint64_t now_us, unsigned *retry_s,
                      bool consume)
{
    struct bucket *b = find(r, client, now_us);
    uint64_t wait_us;

    b->micro = level(r, b, now_us);
    b->last_us = now_us;
    if (b->micro >= MICRO) {
        if (consume)
            b->micro -= MICRO;
        return 0;
    }
    wait_us = (MICRO - b->micro + r->per_s - 1) / r->per_s;
    if (retry_s != NULL)
        *retry_s = (unsigned)((wait_us + MICRO - 1) / MICRO);
    return ERR_FULL;
}

int wcs_rate_take(struct wcs_rate *r, uint32_t client, uint64_t now_us, unsigned *retry_s)
{
    return rate_check(r, client, now_us, retry_s, true);
}

int wcs_rate_peek(struct wcs_rate *r, uint32_t client, uint64_t now_us, unsigned *retry_s)
{
    return rate_check(r, client, now_us, retry_s, false);
}

/*
 * http_guard.h - what guards wcsd's operator HTTP API, kept apart from the
 * HTTP server so it is tested without one: who may call what (bearer tokens
 * and their roles, wcs/config/secrets.h) and how often (a token bucket per
 * client address). Runs on the loop thread; no locks.
 */
#ifndef WCS_DAEMON_HTTP_GUARD_H
#define WCS_DAEMON_HTTP_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "wcs/config/secrets.h"

/* What a request needs. */
enum wcs_http_need {
    WCS_HTTP_OPEN = 0, /* nothing (GET /health) */
    WCS_HTTP_ANY,      /* any valid token (an unknown path, a wrong method) */
    WCS_HTTP_READ,     /* a token that may read (GET /v1/..., /metrics) */
    WCS_HTTP_SCAN,     /* a token that may post scans (POST /v1/scans) */
    WCS_HTTP_TRACK,    /* a token that may follow the tracking feed */
};

enum wcs_http_verdict {
    WCS_HTTP_ALLOW = 0,
    WCS_HTTP_UNAUTHORIZED, /* no token, not a bearer token, or no such token: 401 */
    WCS_HTTP_FORBIDDEN,    /* a valid token whose role may not do this: 403 */
};

/*
 * Decides a request needing need from its Authorization header (NULL when
 * absent): "Bearer SECRET", the scheme in any case. The secret is compared
 * with every token's (wcs_tokens_match()). *who gets the matching token
 * (also when forbidden), else NULL. With no tokens every request but an
 * open one is unauthorized.
 */
enum wcs_http_verdict wcs_http_authorize(const struct wcs_tokens *t, const char *authorization,
                                         enum wcs_http_need need, const struct wcs_token **who);

/* Requests allowed per client: a token bucket of burst requests, refilled
 * at per_s a second, for each of a bounded number of clients. */
struct wcs_rate;

/* A table for up to clients clients (the least recently seen is forgotten
 * when a new one comes and the table is full). NULL on ENOMEM. */
struct wcs_rate *wcs_rate_new(unsigned per_s, unsigned burst, size_t clients);
void wcs_rate_free(struct wcs_rate *r);

/* Takes one request of client at now_us (any monotonic clock, microseconds).
 * Returns 0 when allowed, or ERR_FULL with *retry_s (may be NULL) set to the
 * whole seconds, at least 1, until one would be. */
int wcs_rate_take(struct wcs_rate *r, uint32_t client, uint64_t now_us, unsigned *retry_s);
/* The same answer without taking the token (it is taken later, if at all). */
int wcs_rate_peek(struct wcs_rate *r, uint32_t client, uint64_t now_us, unsigned *retry_s);

#endif

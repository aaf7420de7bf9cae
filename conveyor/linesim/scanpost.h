/*
 * scanpost.h - posts the emulator's scanner reads to wcsd's scan API
 * (POST /v1/scans, JSON {"location", "code", "source": "linesim", "age_ms"})
 * from a worker thread, so the emulator's event loop never waits for HTTP.
 * age_ms is how long the scan waited in the queue: a scan posted late (wcsd
 * restarting, or refusing scans for a while) keeps the moment it was read.
 *
 * Used for REQ_ telegrams without a PLC barcode (20 '*'): the WCS then pairs
 * the request with what "its own scanners" read at that location (spec
 * "Correlation"), and the emulator plays those scanners.
 */
#ifndef WCS_CONVEYOR_LINESIM_SCANPOST_H
#define WCS_CONVEYOR_LINESIM_SCANPOST_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct conv_scanpost;

struct conv_scanpost_stats {
    uint64_t posted;  /* answered 2xx */
    uint64_t failed;  /* transport error or non-2xx answer */
    uint64_t dropped; /* not queued: the queue was full */
};

/* Starts the worker posting to url (e.g. "http://127.0.0.1:8080/v1/scans")
 * with the request header auth ("Authorization: Bearer ...", copied, wiped
 * at stop; NULL = none); at most queue_max scans wait. curl_global_init()
 * must have run. Returns 0 and *out, -ENOMEM, or -errno from pthread_create. */
int conv_scanpost_start(const char *url, const char *auth, size_t queue_max,
                        struct conv_scanpost **out, struct err *e);

/* Queues one scan (strings copied). Returns 0 or ERR_FULL (counted as
 * dropped). Never blocks on the network. */
int conv_scanpost_push(struct conv_scanpost *p, const char *location, const char *code);

void conv_scanpost_get_stats(struct conv_scanpost *p, struct conv_scanpost_stats *out);

/* Posts what is still queued (each post bounded by a 2 s timeout), stops
 * the worker, stores the final counts in *final (when not NULL) and frees p.
 * A NULL p is ignored. */
void conv_scanpost_stop(struct conv_scanpost *p, struct conv_scanpost_stats *final);

#endif

/*
 * http_api.h - the operator HTTP API of wcsd (libmicrohttpd), served on the
 * daemon's libuv loop: MHD runs in external-epoll mode and libuv polls its
 * epoll fd, so handlers run on the loop thread and read loop-owned state
 * without locks. Handlers only read memory and answer; they never block.
 *
 *   GET /health              200 "ready" once started
 *   GET /v1/status           JSON: plan, registry, counters, writer, chutes
 *   GET /v1/decide?code=C[&code=C2][&weight_g=N][&length_mm=..][&recirc=N]
 *                            JSON dry-run decision (changes nothing)
 *   GET /v1/parcels/CODE     JSON: the parcel as the decision engine sees it
 *   GET /metrics             Prometheus text format
 */
#ifndef WCS_HTTP_API_H
#define WCS_HTTP_API_H

#include "common/err.h"

struct wcsd;
struct wcs_http;

/* Starts listening on addr:port (port 0 = any free port) on d's loop.
 * *bound_port gets the port. Returns 0, -errno or ERR_CONFIG. */
int wcs_http_start(struct wcsd *d, const char *addr, int port, struct wcs_http **out,
                   int *bound_port, struct err *e);

/* Stops accepting, closes connections and the loop handles (asynchronously;
 * the memory goes when the handles' close callbacks have run). */
void wcs_http_stop(struct wcs_http *h);

#endif

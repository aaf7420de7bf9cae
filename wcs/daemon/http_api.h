/*
 * http_api.h - the operator HTTP API of wcsd (libmicrohttpd), served on the
 * daemon's libuv loop: MHD runs in external-epoll mode and libuv polls its
 * epoll fd, so handlers run on the loop thread and read loop-owned state
 * without locks. Handlers only read memory and answer; they never block.
 *
 *   GET  /health             200 "ready" once started (no token needed)
 *   GET  /v1/status          JSON: plan, registry, counters, writer, chutes, PLCs
 *   GET  /v1/decide?code=C[&code=C2][&weight_g=N][&length_mm=..][&recirc=N]
 *                            JSON dry-run decision (changes nothing)
 *   GET  /v1/parcels/CODE    JSON: the parcel as the decision engine sees it
 *   POST /v1/scans           a scan or a JSON array of scans ({location, code,
 *                            source?, symbology?}) from a WCS scanner: 202
 *   GET  /v1/scanners        JSON: the WCS's own scanners, connected or not
 *   GET  /metrics            Prometheus text format
 *
 * Everything but /health needs a bearer token (Authorization: Bearer S) of
 * the tokens file whose role allows it (wcs/config/secrets.h): without one
 * 401, with the wrong role 403. POST /v1/scans is limited per client
 * address (429 with Retry-After), takes scans only for configured scan
 * locations (422) and only while the event writer has room (503); it never
 * answers 2xx for a scan that was not kept. docs/wcsd.md "HTTP API" and
 * docs/security.md have the whole surface.
 *
 * The server reads what it shows through the narrow things it is handed
 * (struct wcs_http_sources), never the daemon's own state.
 */
#ifndef WCS_HTTP_API_H
#define WCS_HTTP_API_H

#include <stdint.h>
#include <uv.h>

#include "common/err.h"
#include "wcs/config/secrets.h"

struct scan_cameras;
struct scan_usb;
struct wcs_video_coding;
struct wcs_event_writer;
struct wcs_http;
struct wcs_plcs;
struct wcs_refresher;
struct wcs_sorter;
struct wcs_console;
struct wcs_printers;
struct wcs_lease;

/* What the API shows and acts on; none owned, each must outlive the
 * server (wcs_http_stop() first). usb and refresher may be NULL. */
struct wcs_http_sources {
    const char *node;                /* this WCS's id */
    uint64_t started_us;             /* uv_hrtime() / 1000 at the daemon's start */
    struct wcs_sorter *sorter;       /* decisions (dry runs), parcels, plan, chutes */
    const int64_t *parcel_rev;       /* highest parcel revision the sorter holds */
    struct wcs_plcs *plcs;           /* PLC stations' status; scans in */
    struct wcs_event_writer *writer; /* its counters */
    struct wcs_refresher *refresher; /* connected or not */
    struct scan_usb *usb;            /* the WCS's own scanners */
    const char *conninfo;            /* the database, for logins' checks (holds a secret) */
    struct wcs_console *console;     /* the console's live state; NULL = no console */
    struct wcs_printers *printers;   /* label printers (reprint); may be NULL */
    struct wcs_lease *lease;         /* the line's lease; a standby takes no action */
    struct scan_cameras *cameras;    /* the scan tunnel's cameras; may be NULL */
    struct wcs_video_coding *video;  /* no-reads' recording; may be NULL */
    const char *noread_dir;          /* the no-read images (cameras.noread_dir), "" none */
};

/* Sends a console document (console.h) to every GET /v1/stream. */
void wcs_http_publish(struct wcs_http *h, int which, const char *doc);

/* How the server listens and whom it lets in; the pointers must outlive
 * the server (wcs_http_stop() first). */
struct wcs_http_opts {
    const char *addr;                /* IPv4 address to listen on */
    int port;                        /* 0 = any free port */
    const struct wcs_tokens *tokens; /* NULL or none: no token is valid */
    const char *tls_cert;            /* PEM certificate (chain); NULL = plain HTTP */
    const char *tls_key;             /* its PEM private key (with tls_cert) */
    unsigned scan_rate;              /* POST /v1/scans per second per client address */
    unsigned scan_burst;             /* ... and at most this many at once */
    unsigned conns_per_client;       /* open connections per client address */
};

/* Starts listening as o says on loop; src is copied. *bound_port gets the
 * port. Returns 0, -errno, ERR_CONFIG (a bad address, TLS without TLS
 * support) or -EADDRINUSE (cannot listen, or the certificate or key is not
 * usable: the log says which). */
int wcs_http_start(uv_loop_t *loop, const struct wcs_http_sources *src,
                   const struct wcs_http_opts *o, struct wcs_http **out, int *bound_port,
                   struct err *e);

/* Ends every console session of user (disabled, new password or role), or
 * all of them when user is NULL; a login being checked meanwhile is not
 * let in. Returns how many. Loop thread. */
size_t wcs_http_end_sessions(struct wcs_http *h, const char *user);

/* Stops accepting, closes connections and the loop handles (asynchronously;
 * the memory goes when the handles' close callbacks have run). */
void wcs_http_stop(struct wcs_http *h);

#endif

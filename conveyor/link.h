/*
 * link.h - a PLC link: one TCP connection to one sorter PLC on a libuv loop.
 *
 * The link owns the socket and the telegram layer of the spec: framing with
 * resync (one ERR_ 00000013 per skipped stretch), ERR_ for refused telegrams
 * without closing, sequence numbers (00001 first on each connection, wrap
 * 99999 -> 00001), LIFE when nothing was sent for life_interval, dead-link
 * detection after 3 x life_interval of silence, and in client mode
 * reconnect with exponential back-off. What the telegrams mean is the
 * caller's business: it gets parsed telegrams through telegram_cb and sends
 * with conv_link_send(). REQ_/UPD_/LOCU/SYSU/ACK_/RES_ go to the caller;
 * LIFE is absorbed (it only proves the peer alive); a received ERR_ is
 * passed up for logging.
 *
 * Server mode: the link listens on host:port and serves one PLC connection
 * at a time; a new connection from the PLC replaces the old one (a PLC that
 * reconnects after a cable pull must not be locked out by a half-dead
 * socket). With an allowlist, a connection from any other host is closed at
 * once, logged with its address, and never replaces the live one.
 * Telegrams whose sender or receiver is not the configured peer and us are
 * refused with ERR_ 00000012.
 */
#ifndef WCS_CONVEYOR_LINK_H
#define WCS_CONVEYOR_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/err.h"
#include "conveyor/peer.h"
#include "conveyor/telegram.h"


enum conv_link_mode { CONV_LINK_SERVER = 0, CONV_LINK_CLIENT };

struct conv_link_config {
    char name[32];                 /* for logs, e.g. "PLC01" */
    char local_id[6];              /* our sender id, e.g. "WCS01" */
    char peer_id[6];               /* the PLC's id, e.g. "PLC01" (receiver of what we send) */
    enum conv_link_mode mode;
    char host[64];                 /* server: address to bind; client: PLC address */
    int port;                      /* server: 0 = any free port (see conv_link_port) */
    size_t telegram_len;           /* L, default CONV_TG_LEN_DEFAULT */
    unsigned life_interval_ms;     /* default 5000 */
    unsigned reconnect_min_ms;     /* client back-off start, default 200 */
    unsigned reconnect_max_ms;     /* client back-off cap, default 10000 */
    struct conv_cidr allow[CONV_PEER_ALLOW_MAX]; /* server: hosts that may connect */
    size_t nallow;                 /* 0 = any host */
};

struct conv_link;

/* Counters since conv_link_start, over all connections. */
struct conv_link_stats {
    uint64_t rx_telegrams;         /* telegrams parsed without refusal, LIFE and ERR_ included */
    uint64_t tx_telegrams;         /* telegrams handed to the socket, our LIFE and ERR_ included
                                    * (conv_link_send_raw bytes are not telegrams) */
    uint64_t rx_refused;           /* telegrams answered with ERR_ (not skipped garbage) */
    uint64_t rx_skipped_bytes;     /* garbage skipped by resync */
    uint64_t connects;             /* connections established (accepted or connected) */
    uint64_t disconnects;          /* established connections lost, for any reason */
    uint64_t dead_links;           /* of those: silent 3 x life_interval, or peer not reading */
    uint64_t connect_failures;     /* client mode: connection attempts that failed */
    uint64_t refused_peers;        /* server mode: connections from hosts not allowed */
};

/* One frame on the wire, for the telegram log (wire_cb). */
struct conv_wire {
    bool outgoing;          /* written by us (else received from the peer) */
    const char *raw;        /* the bytes: L for a telegram, as given for send_raw */
    size_t len;
    enum conv_tg_type type; /* parsed type; CONV_TG_TYPE_COUNT when not a telegram we
                             * could read (raw bytes, a refused frame's unknown type) */
    char type_text[5];      /* the type field as on the wire ("" when unreadable) */
    uint32_t seq;           /* the header's seq, 0 when unreadable */
    bool refused;           /* received and answered with ERR_ */
};

struct conv_link_callbacks {
    /* A telegram parsed from the PLC (not LIFE). raw[0..L-1] is the wire
     * form. Called on the loop thread. */
    void (*telegram_cb)(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                        void *arg);
    /* The connection came up (up = true) or went down. */
    void (*state_cb)(struct conv_link *l, bool up, void *arg);
    /* Optional, for the telegram log: every telegram frame received
     * (accepted, LIFE and refused alike; before telegram_cb, and before a
     * refusal's ERR_ goes out), every stretch of garbage skipped (its first
     * L bytes, refused, type unreadable), and everything written (each
     * telegram, our LIFE and ERR_ included, and conv_link_send_raw bytes as
     * given). */
    void (*wire_cb)(struct conv_link *l, const struct conv_wire *w, void *arg);
};

/* Fills defaults (L 160, LIFE 5 s, back-off 200 ms .. 10 s). */
void conv_link_config_defaults(struct conv_link_config *c);

/* Starts listening (server) or connecting (client). cfg and cbs are
 * copied; arg is passed to every callback. host is a numeric IPv4/IPv6
 * address or a name, resolved once here (synchronously). Returns 0 and sets
 * *out, or -errno (e.g. -EADDRINUSE) or ERR_CONFIG with *out = NULL and no
 * callback ever run; a socket opened before the failure is already closing
 * and is freed by the next loop iteration. Callbacks may call any function
 * of this header, conv_link_stop() included. */
int conv_link_start(uv_loop_t *loop, const struct conv_link_config *cfg,
                    const struct conv_link_callbacks *cbs, void *arg, struct conv_link **out,
                    struct err *e);

/* Sends t (sender, receiver, seq and length are filled in by the link, in
 * t itself; seq is returned in *seq when not NULL). Returns 0, ERR_STATE when
 * not connected, or ERR_INVALID when t cannot be formatted (no seq is used
 * up). Never blocks: the bytes are queued on the socket. If the peer has
 * left more than 4 MiB unread the connection is closed as dead and ERR_FULL
 * returned; a socket error closes it too (-errno). Either way state_cb(false)
 * has run before this returns. */
int conv_link_send(struct conv_link *l, struct conv_telegram *t, uint32_t *seq, struct err *e);

bool conv_link_connected(const struct conv_link *l);
int conv_link_port(const struct conv_link *l);   /* bound port in server mode */
const struct conv_link_config *conv_link_config(const struct conv_link *l);
void conv_link_get_stats(const struct conv_link *l, struct conv_link_stats *out);

/* --- fault injection (the line emulator plays a misbehaving PLC) --- */

/* Writes raw bytes as they are (garbage, a truncated telegram, a telegram
 * with a wrong length field); no seq is used and tx_telegrams is not
 * counted. Returns 0 or ERR_STATE when not connected (or, as for
 * conv_link_send, ERR_FULL / -errno when the connection is lost). */
int conv_link_send_raw(struct conv_link *l, const char *bytes, size_t len, struct err *e);
/* Closes the current connection as a cable pull would: counted in
 * disconnects, state_cb(false); client mode then reconnects with back-off,
 * server mode waits for the peer. No-op when not connected. */
void conv_link_drop(struct conv_link *l);
/* Stops reading for ms milliseconds (a slow reader): the peer's writes back
 * up in the socket. The dead-link timer is suspended meanwhile (the silence
 * is ours) and restarts in full when reading resumes. A second call while
 * paused restarts the pause. No-op when not connected. */
void conv_link_pause_read(struct conv_link *l, unsigned ms);

/* Closes sockets and timers; close_cb (may be NULL) runs once everything is
 * closed, after which the link is freed (l must not be used after this
 * call). Unsent bytes are dropped, state_cb is not called, stats are not
 * counted. Calling it again before close_cb has run is ignored. */
void conv_link_stop(struct conv_link *l, void (*close_cb)(void *arg), void *arg);

#endif

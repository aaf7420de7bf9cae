/*
 * link.c - the PLC link: one TCP connection to one sorter PLC on a libuv loop
 * (the I/O shell around the pure codec in telegram.c and framer.c).
 *
 * DESIGN
 * A struct conv_link lives as long as the caller wants the PLC; it owns the
 * listening socket (server mode) or the reconnect timer (client mode). Each
 * TCP connection is a separate struct conn with its own socket and timers,
 * because closing in libuv is asynchronous: when a new PLC connection
 * replaces the old one, the old conn finishes closing on its own while the
 * new one already runs. A conn frees itself when its last handle is closed;
 * the link frees itself (and runs the caller's close_cb) when its own handles
 * and every conn it created are gone.
 *
 * Per connection: the framer turns reads into telegrams; a refused telegram
 * or skipped garbage is answered with ERR_ and never closes the link (spec
 * "Transport"). The sequence counter restarts at 00001. Three timers: life
 * (restarted by every write; fires -> LIFE), dead (restarted by every read;
 * fires after 3 x life_interval -> the link is dead and closed) and pause
 * (fault injection: resumes reading). Writes go through uv_write with one
 * owned buffer per request; libuv writes at once when it can and queues the
 * rest, and when more than CONV_LINK_QUEUE_MAX bytes wait the peer is treated
 * as dead rather than letting memory grow.
 *
 * Callbacks may call back into the link (send, drop, stop) from any
 * callback; every loop that calls out re-checks that its conn is still live.
 */
#include "conveyor/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"

/* Pending outgoing bytes above which the peer counts as dead: at L = 160
 * this is some 26000 telegrams, far more than a live PLC ever lags behind. */
#define CONV_LINK_QUEUE_MAX (4u * 1024u * 1024u)
/* Read buffer per connection; a read never needs more than one buffer. */
#define CONV_LINK_READ_BUF 65536
/* Dead link after this many life intervals of silence (spec "LIFE"). */
#define CONV_LINK_DEAD_FACTOR 3u

struct conn {
    struct conv_link *link;
    uv_tcp_t tcp;
    uv_timer_t life_timer;  /* fires when nothing was sent for life_interval */
    uv_timer_t dead_timer;  /* fires when nothing was received for 3 x life_interval */
    uv_timer_t pause_timer; /* ends a conv_link_pause_read() */
    uv_connect_t connect_req;
    int open_handles;  /* handles not yet closed; the conn is freed at 0 */
    bool up;           /* connected and reading/writing */
    bool closing;      /* uv_close() was called on the handles */
    bool paused;       /* reading stopped by conv_link_pause_read() */
    uint32_t seq_last; /* last seq sent on this connection, 0 = none yet */
    struct conv_framer framer;
    char rbuf[CONV_LINK_READ_BUF];
};

struct wreq {
    uv_write_t req;
    size_t len;
    char data[]; /* the bytes being written, owned until the write callback */
};

struct conv_link {
    uv_loop_t *loop;
    struct conv_link_config cfg;
    struct conv_link_callbacks cbs;
    void *arg;

    struct sockaddr_storage addr; /* server: bind address; client: the PLC */
    uv_tcp_t listener;            /* server mode only */
    uv_timer_t reconnect_timer;   /* client mode only */
    bool has_listener, has_reconnect_timer;
    int port; /* bound port (server) or PLC port (client) */

    struct conn *conn;   /* the current connection (or attempt), NULL if none */
    unsigned backoff_ms; /* next reconnect delay before jitter */
    uint64_t rng;        /* xorshift state for the back-off jitter */

    struct conv_link_stats stats;

    int refs; /* own open handles + live conns; freed at 0 when stopping */
    bool stopping;
    void (*close_cb)(void *arg);
    void *close_arg;
};

static void conn_close(struct conn *c);
static void conn_lost(struct conn *c, bool dead, const char *why);
static void schedule_reconnect(struct conv_link *l);

/* --- helpers ----------------------------------------------------------- */

static void link_unref(struct conv_link *l)
{
    if (--l->refs > 0 || !l->stopping)
        return;
    void (*cb)(void *) = l->close_cb;
    void *arg = l->close_arg;
    free(l);
    if (cb)
        cb(arg);
}

static void link_handle_closed(uv_handle_t *h)
{
    link_unref(h->data);
}

static uint32_t rng_next(struct conv_link *l)
{
    /* xorshift64: a private generator so the jitter does not disturb rand()
     * users elsewhere in the process. */
    uint64_t x = l->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    l->rng = x;
    return (uint32_t)(x >> 32);
}

static void now_tg_time(char out[15])
{
    conv_tg_time((int64_t)time(NULL), out);
}

/* --- connection teardown ------------------------------------------------ */

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct conv_link *l = c->link;
    free(c);
    link_unref(l);
}

/* Closes the conn's handles; it frees itself once they are all closed.
 * Pending writes are cancelled by libuv (write_done sees UV_ECANCELED). */
static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->up = false;
    if (c->link->conn == c)
        c->link->conn = NULL;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->life_timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->dead_timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->pause_timer, conn_handle_closed);
}

/* The connection is gone (EOF, socket error, dead peer, cable pull or a
 * replacing connection): count it, tell the caller, and in client mode
 * schedule the reconnect. The caller's state_cb runs last, so it may call
 * anything on the link, including conv_link_stop(). */
static void conn_lost(struct conn *c, bool dead, const char *why)
{
    struct conv_link *l = c->link;
    bool was_up = c->up;
    if (c->closing)
        return;
    conn_close(c);
    if (!was_up)
        return;
    l->stats.disconnects++;
    if (dead)
        l->stats.dead_links++;
    if (dead)
        log_warnx("%s: link dead: %s", l->cfg.name, why);
    else
        log_info("%s: disconnected: %s", l->cfg.name, why);
    if (l->cfg.mode == CONV_LINK_CLIENT && !l->stopping)
        schedule_reconnect(l);
    if (l->cbs.state_cb && !l->stopping)
        l->cbs.state_cb(l, false, l->arg);
}

/* --- writing ----------------------------------------------------------- */

static void life_cb(uv_timer_t *t);

static void write_done(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    free(req); /* the struct wreq starts with its uv_write_t */
    if (status < 0 && status != UV_ECANCELED)
        conn_lost(c, false, uv_strerror(status));
}

/* Queues len bytes on the connection; never blocks (libuv writes at once
 * what the socket takes and keeps the rest). Returns 0, -ENOMEM, a libuv
 * error, or ERR_FULL when the peer has stopped reading; on the last two the
 * connection is closed as lost. t is the telegram the bytes are (NULL for
 * raw bytes); it counts in tx_telegrams once libuv has taken it. */
static int conn_write(struct conn *c, const char *bytes, size_t len, const struct conv_telegram *t,
                      struct err *e)
{
    struct conv_link *l = c->link;
    struct wreq *w = malloc(sizeof(*w) + len);
    if (!w)
        return err_set(e, -ENOMEM, "%s: out of memory for a %zu-byte write", l->cfg.name, len);
    memcpy(w->data, bytes, len);
    w->len = len;
    w->req.data = c;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_done);
    if (rc < 0) {
        free(w);
        err_set(e, rc, "%s: write: %s", l->cfg.name, uv_strerror(rc));
        conn_lost(c, false, uv_strerror(rc));
        return rc;
    }
    if (t)
        l->stats.tx_telegrams++;
    if (l->cbs.wire_cb) {
        struct conv_wire wire = {.outgoing = true, .raw = bytes, .len = len,
                                 .type = t ? t->type : CONV_TG_TYPE_COUNT,
                                 .seq = t ? t->seq : 0};

        if (t)
            memcpy(wire.type_text, conv_tg_type_name(t->type), 4);
        l->cbs.wire_cb(l, &wire, l->arg);
    }
    if (c->closing) /* wire_cb dropped or stopped the link */
        return 0;
    size_t pending = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    if (pending > CONV_LINK_QUEUE_MAX) {
        err_set(e, ERR_FULL, "%s: %zu bytes unsent, peer not reading", l->cfg.name, pending);
        conn_lost(c, true, "outgoing queue over 4 MiB, peer not reading");
        return ERR_FULL;
    }
    /* Something went out: LIFE is due only after another quiet interval. */
    uv_timer_start(&c->life_timer, life_cb, l->cfg.life_interval_ms, 0);
    return 0;
}

/* Fills the header fields the link owns, formats t and writes it. The seq
 * is taken only when formatting succeeded, so a bad telegram from the
 * caller leaves no gap in the sequence. */
static int conn_send_tg(struct conn *c, struct conv_telegram *t, uint32_t *seq, struct err *e)
{
    struct conv_link *l = c->link;
    char buf[CONV_TG_LEN_MAX];
    uint32_t next = c->seq_last == 0 ? 1 : conv_tg_seq_next(c->seq_last);

    t->length = (uint32_t)l->cfg.telegram_len;
    memcpy(t->sender, l->cfg.local_id, sizeof(t->sender));
    memcpy(t->receiver, l->cfg.peer_id, sizeof(t->receiver));
    t->seq = next;
    int rc = conv_tg_format(t, l->cfg.telegram_len, buf, e);
    if (rc < 0)
        return rc == ERR_INVALID ? rc
                                 : err_set(e, ERR_INVALID, "%s: cannot format %s", l->cfg.name,
                                           conv_tg_type_name(t->type));
    c->seq_last = next;
    if (seq)
        *seq = next;
    return conn_write(c, buf, l->cfg.telegram_len, t, e);
}

static void life_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    struct conv_telegram tg;
    struct err e;

    memset(&tg, 0, sizeof(tg));
    tg.type = CONV_TG_LIFE;
    now_tg_time(tg.u.life.time);
    if (conn_send_tg(c, &tg, NULL, &e) < 0)
        log_warnx("%s: LIFE not sent: %s", c->link->cfg.name, e.msg);
}

/* Replaces what the ERR_ text/type fields cannot carry (the formatter
 * refuses '*' inside text, anything outside 0x20-0x7E, and a false sync). */
static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '*' || *s == '#')
            *s = '?';
}

/* Answers a refused telegram or a skipped stretch with ERR_ (spec "ERR_");
 * why == NULL means bad sync: refused type and seq absent. */
static void send_err(struct conn *c, const struct conv_tg_refusal *why, size_t skipped)
{
    struct conv_link *l = c->link;
    struct conv_telegram tg;
    struct err e;

    memset(&tg, 0, sizeof(tg));
    tg.type = CONV_TG_ERR;
    now_tg_time(tg.u.err.time);
    if (why) {
        snprintf(tg.u.err.code, sizeof(tg.u.err.code), "%s", why->code);
        snprintf(tg.u.err.refused_type, sizeof(tg.u.err.refused_type), "%s", why->type);
        snprintf(tg.u.err.text, sizeof(tg.u.err.text), "%s", why->text);
        sanitize(tg.u.err.refused_type);
        sanitize(tg.u.err.text);
        /* What could be read of the refused telegram is named; the codec
         * writes an empty type or a seq of 0 as absent ('*'). */
        tg.u.err.has_refused = why->type[0] != '\0' || why->has_seq;
        tg.u.err.refused_seq = why->has_seq ? why->seq : 0;
    } else {
        snprintf(tg.u.err.code, sizeof(tg.u.err.code), "%s", CONV_ERR_BAD_SYNC);
        snprintf(tg.u.err.text, sizeof(tg.u.err.text), "skipped %zu bytes of garbage", skipped);
    }
    if (conn_send_tg(c, &tg, NULL, &e) < 0)
        log_warnx("%s: ERR_ %s not sent: %s", l->cfg.name, tg.u.err.code, e.msg);
}

/* --- reading ----------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void dead_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    conn_lost(c, true, "nothing received for 3 x life interval");
}

static void restart_dead_timer(struct conn *c)
{
    uv_timer_start(&c->dead_timer, dead_cb,
                   (uint64_t)c->link->cfg.life_interval_ms * CONV_LINK_DEAD_FACTOR, 0);
}

/* A telegram that parsed but is not for this link: sender and receiver must
 * be the configured peer and us (spec "Header"), or it is refused with
 * ERR_ 00000012 like any bad field. Returns 0 or ERR_PARSE with why and e. */
static int check_ids(const struct conv_link *l, const struct conv_telegram *t,
                     struct conv_tg_refusal *why, struct err *e)
{
    const char *field = NULL, *got = NULL, *want = NULL;

    if (strcmp(t->sender, l->cfg.peer_id) != 0)
        field = "sender", got = t->sender, want = l->cfg.peer_id;
    else if (strcmp(t->receiver, l->cfg.local_id) != 0)
        field = "receiver", got = t->receiver, want = l->cfg.local_id;
    else
        return 0;
    memset(why, 0, sizeof(*why));
    memcpy(why->code, CONV_ERR_BAD_FIELD, sizeof(why->code));
    memcpy(why->type, conv_tg_type_name(t->type), 4);
    why->seq = t->seq;
    why->has_seq = true;
    snprintf(why->text, sizeof(why->text), "%s %s, expected %s", field, got, want);
    sanitize(why->text);
    return err_set(e, ERR_PARSE, "telegram %s seq %05u: %s", why->type, (unsigned)t->seq,
                   why->text);
}

/* One complete frame of L bytes from the framer: parsed, reported to the
 * wire log, then refused with ERR_ or handed up. */
static void on_frame(struct conn *c, const char *frame)
{
    struct conv_link *l = c->link;
    size_t L = l->cfg.telegram_len;
    struct conv_telegram tg;
    struct conv_tg_refusal why;
    struct err e;
    int rc;

    memset(&why, 0, sizeof(why));
    err_clear(&e);
    rc = conv_tg_parse(frame, L, L, &tg, &why, &e);
    if (rc == 0)
        rc = check_ids(l, &tg, &why, &e);
    if (l->cbs.wire_cb) {
        struct conv_wire wire = {.outgoing = false, .raw = frame, .len = L,
                                 .type = rc == 0 ? tg.type : CONV_TG_TYPE_COUNT,
                                 .seq = rc == 0 ? tg.seq : why.seq, .refused = rc < 0};

        snprintf(wire.type_text, sizeof(wire.type_text), "%s",
                 rc == 0 ? conv_tg_type_name(tg.type) : why.type);
        l->cbs.wire_cb(l, &wire, l->arg);
        if (c->closing)
            return;
    }
    if (rc < 0) {
        l->stats.rx_refused++;
        log_warnx("%s: refused telegram (ERR_ %s): %s", l->cfg.name, why.code, e.msg);
        /* An ERR_ is not answered with one: two peers that refuse each
         * other (ids configured wrong) would trade ERR_s for ever. */
        if (strcmp(why.type, "ERR_") != 0)
            send_err(c, &why, 0);
        return;
    }
    l->stats.rx_telegrams++;
    if (tg.type == CONV_TG_LIFE)
        return; /* it already refreshed the dead timer as received bytes */
    if (l->cbs.telegram_cb)
        l->cbs.telegram_cb(l, &tg, frame, l->arg);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    struct conv_link *l = c->link;

    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        conn_lost(c, false, nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread));
        return;
    }
    restart_dead_timer(c);

    /* Every byte of this buffer is consumed even if reading was paused from
     * a callback meanwhile: they are out of the socket already. */
    const char *p = buf->base;
    size_t left = (size_t)nread;
    while (!c->closing) {
        size_t used = 0, skipped = 0;
        const char *frame = NULL;
        enum conv_frame_kind k = conv_framer_next(&c->framer, p, left, &used, &frame, &skipped);
        p += used;
        left -= used;
        if (k == CONV_FRAME_TELEGRAM) {
            on_frame(c, frame);
        } else if (k == CONV_FRAME_SKIPPED) {
            l->stats.rx_skipped_bytes += skipped;
            log_warnx("%s: skipped %zu bytes of garbage (ERR_ %s)", l->cfg.name, skipped,
                      CONV_ERR_BAD_SYNC);
            if (l->cbs.wire_cb) {
                /* Logged as it came (its first L bytes), refused. */
                struct conv_wire wire = {.outgoing = false, .raw = frame,
                                         .len = skipped < l->cfg.telegram_len
                                                    ? skipped : l->cfg.telegram_len,
                                         .type = CONV_TG_TYPE_COUNT, .refused = true};

                l->cbs.wire_cb(l, &wire, l->arg);
                if (c->closing)
                    break;
            }
            send_err(c, NULL, skipped);
        } else if (left == 0) {
            break;
        }
    }
}

/* The connection is established (accepted or connected): start reading and
 * both liveness timers, and tell the caller. */
static void conn_up(struct conn *c)
{
    struct conv_link *l = c->link;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (rc < 0) {
        log_warnx("%s: read start: %s", l->cfg.name, uv_strerror(rc));
        conn_close(c);
        if (l->cfg.mode == CONV_LINK_CLIENT && !l->stopping)
            schedule_reconnect(l);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1); /* one telegram per segment: REQ_ answers are latency bound */
    c->up = true;
    l->stats.connects++;
    l->backoff_ms = l->cfg.reconnect_min_ms;
    uv_timer_start(&c->life_timer, life_cb, l->cfg.life_interval_ms, 0);
    restart_dead_timer(c);
    log_info("%s: connected", l->cfg.name);
    if (l->cbs.state_cb)
        l->cbs.state_cb(l, true, l->arg);
}

/* Allocates a conn with its four handles initialised. */
static struct conn *conn_new(struct conv_link *l)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->link = l;
    int rc = uv_tcp_init(l->loop, &c->tcp);
    if (rc < 0) {
        free(c);
        return NULL;
    }
    uv_timer_init(l->loop, &c->life_timer);
    uv_timer_init(l->loop, &c->dead_timer);
    uv_timer_init(l->loop, &c->pause_timer);
    c->tcp.data = c->life_timer.data = c->dead_timer.data = c->pause_timer.data = c;
    c->connect_req.data = c;
    c->open_handles = 4;
    conv_framer_init(&c->framer, l->cfg.telegram_len);
    l->refs++;
    return c;
}

/* --- server mode --------------------------------------------------------- */

/* Whether the host at the other end of c may be the PLC (an empty allowlist
 * lets any host in); a refusal is counted and logged with the address. */
static bool peer_allowed(struct conv_link *l, struct conn *c)
{
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    char text[INET6_ADDRSTRLEN];
    size_t i;

    if (l->cfg.nallow == 0)
        return true;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
        for (i = 0; i < l->cfg.nallow; i++)
            if (conv_cidr_match(&l->cfg.allow[i], (const struct sockaddr *)&sa))
                return true;
        conv_peer_text((const struct sockaddr *)&sa, text, sizeof(text));
    } else {
        snprintf(text, sizeof(text), "?");
    }
    l->stats.refused_peers++;
    log_warnx("%s: refused a connection from %s: not in the PLC's allow list", l->cfg.name, text);
    return false;
}

static void accept_cb(uv_stream_t *server, int status)
{
    struct conv_link *l = server->data;
    if (status < 0) {
        log_warnx("%s: accept: %s", l->cfg.name, uv_strerror(status));
        return;
    }
    if (l->stopping)
        return;
    struct conn *c = conn_new(l);
    if (!c) {
        log_warnx("%s: accept: out of memory", l->cfg.name);
        return;
    }
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc < 0) {
        log_warnx("%s: accept: %s", l->cfg.name, uv_strerror(rc));
        conn_close(c);
        return;
    }
    if (!peer_allowed(l, c)) {
        conn_close(c); /* before it can replace the live connection */
        return;
    }
    /* A PLC that reconnects after a cable pull must not be locked out by
     * the half-dead socket it left behind: the new connection wins. */
    if (l->conn) {
        conn_lost(l->conn, false, "replaced by a new connection");
        if (l->stopping) { /* state_cb stopped the link */
            conn_close(c);
            return;
        }
    }
    l->conn = c;
    conn_up(c);
}

/* --- client mode --------------------------------------------------------- */

static void connect_cb(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    struct conv_link *l = c->link;
    if (status == UV_ECANCELED || c->closing)
        return;
    if (status < 0) {
        l->stats.connect_failures++;
        log_debug("%s: connect: %s", l->cfg.name, uv_strerror(status));
        conn_close(c);
        if (!l->stopping)
            schedule_reconnect(l);
        return;
    }
    conn_up(c);
}

static void start_connect(struct conv_link *l)
{
    struct conn *c = conn_new(l);
    if (!c) {
        log_warnx("%s: connect: out of memory", l->cfg.name);
        schedule_reconnect(l);
        return;
    }
    l->conn = c;
    int rc =
        uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&l->addr, connect_cb);
    if (rc < 0) {
        l->stats.connect_failures++;
        log_debug("%s: connect: %s", l->cfg.name, uv_strerror(rc));
        conn_close(c);
        schedule_reconnect(l);
    }
}

static void reconnect_cb(uv_timer_t *t)
{
    struct conv_link *l = t->data;
    if (!l->stopping && !l->conn)
        start_connect(l);
}

/* Arms the reconnect timer: the current back-off +-20% (so many WCS links
 * restarted together do not hit a PLC switch in step), then doubles the
 * back-off up to the cap. conn_up() resets it to the minimum. */
static void schedule_reconnect(struct conv_link *l)
{
    uint64_t delay = (uint64_t)l->backoff_ms * (80 + rng_next(l) % 41) / 100;
    if (delay == 0)
        delay = 1;
    uint64_t next = (uint64_t)l->backoff_ms * 2;
    l->backoff_ms = next > l->cfg.reconnect_max_ms ? l->cfg.reconnect_max_ms : (unsigned)next;
    log_debug("%s: reconnect in %llu ms", l->cfg.name, (unsigned long long)delay);
    uv_timer_start(&l->reconnect_timer, reconnect_cb, delay, 0);
}

/* --- public interface ---------------------------------------------------- */

void conv_link_config_defaults(struct conv_link_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "PLC01");
    snprintf(c->local_id, sizeof(c->local_id), "WCS01");
    snprintf(c->peer_id, sizeof(c->peer_id), "PLC01");
    c->mode = CONV_LINK_SERVER;
    snprintf(c->host, sizeof(c->host), "0.0.0.0");
    c->port = 0;
    c->telegram_len = CONV_TG_LEN_DEFAULT;
    c->life_interval_ms = 5000;
    c->reconnect_min_ms = 200;
    c->reconnect_max_ms = 10000;
}

static int check_id(const char *id, size_t cap, const char *what, struct err *e)
{
    size_t n = strnlen(id, cap);
    if (n == 0 || n >= cap)
        return err_set(e, ERR_CONFIG, "%s: must be 1 to %zu characters", what, cap - 1);
    for (size_t i = 0; i < n; i++)
        if (id[i] <= 0x20 || id[i] > 0x7e || id[i] == '*')
            return err_set(e, ERR_CONFIG, "%s: \"%.*s\": printable characters other than '*' only",
                           what, (int)n, id);
    return 0;
}

/* Resolves host:port once, at start: numeric addresses directly, names
 * through a synchronous getaddrinfo (startup may block; reconnects reuse
 * the result and never do). */
static int resolve(uv_loop_t *loop, const char *host, int port, struct sockaddr_storage *out,
                   struct err *e)
{
    memset(out, 0, sizeof(*out));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0)
        return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    uv_getaddrinfo_t req;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(loop, &req, NULL, host, NULL, &hints);
    if (rc < 0 || !req.addrinfo)
        return err_set(e, ERR_CONFIG, "host \"%s\": %s", host,
                       rc < 0 ? uv_strerror(rc) : "no address");
    memcpy(out, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
    if (out->ss_family == AF_INET)
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
    return 0;
}

static int check_config(const struct conv_link_config *c, struct err *e)
{
    int rc;
    if ((rc = check_id(c->local_id, sizeof(c->local_id), "local_id", e)) < 0)
        return rc;
    if ((rc = check_id(c->peer_id, sizeof(c->peer_id), "peer_id", e)) < 0)
        return rc;
    if (c->mode != CONV_LINK_SERVER && c->mode != CONV_LINK_CLIENT)
        return err_set(e, ERR_CONFIG, "mode: %d is neither server nor client", (int)c->mode);
    if (strnlen(c->host, sizeof(c->host)) == sizeof(c->host) || c->host[0] == '\0')
        return err_set(e, ERR_CONFIG, "host: empty or too long");
    if (c->port < 0 || c->port > 65535 || (c->mode == CONV_LINK_CLIENT && c->port == 0))
        return err_set(e, ERR_CONFIG, "port: %d out of range", c->port);
    if (c->telegram_len < CONV_TG_LEN_MIN || c->telegram_len > CONV_TG_LEN_MAX)
        return err_set(e, ERR_CONFIG, "telegram_len: %zu, must be %d to %d", c->telegram_len,
                       CONV_TG_LEN_MIN, CONV_TG_LEN_MAX);
    if (c->life_interval_ms == 0)
        return err_set(e, ERR_CONFIG, "life_interval_ms: must be above 0");
    if (c->nallow > CONV_PEER_ALLOW_MAX)
        return err_set(e, ERR_CONFIG, "allow: %zu entries, at most %d", c->nallow,
                       CONV_PEER_ALLOW_MAX);
    if (c->reconnect_min_ms == 0 || c->reconnect_max_ms < c->reconnect_min_ms)
        return err_set(e, ERR_CONFIG, "reconnect: need 0 < min (%u) <= max (%u)",
                       c->reconnect_min_ms, c->reconnect_max_ms);
    return 0;
}

static int start_server(struct conv_link *l, struct err *e)
{
    int rc = uv_tcp_init(l->loop, &l->listener);
    if (rc < 0)
        return err_set(e, rc, "%s: socket: %s", l->cfg.name, uv_strerror(rc));
    l->listener.data = l;
    l->has_listener = true;
    l->refs++;
    rc = uv_tcp_bind(&l->listener, (const struct sockaddr *)&l->addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->listener, 8, accept_cb);
    if (rc < 0)
        return err_set(e, rc, "%s: listen on %s:%d: %s", l->cfg.name, l->cfg.host, l->cfg.port,
                       uv_strerror(rc));
    struct sockaddr_storage sa;
    int salen = sizeof(sa);
    rc = uv_tcp_getsockname(&l->listener, (struct sockaddr *)&sa, &salen);
    if (rc < 0)
        return err_set(e, rc, "%s: getsockname: %s", l->cfg.name, uv_strerror(rc));
    l->port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    log_info("%s: listening on %s:%d", l->cfg.name, l->cfg.host, l->port);
    return 0;
}

int conv_link_start(uv_loop_t *loop, const struct conv_link_config *cfg,
                    const struct conv_link_callbacks *cbs, void *arg, struct conv_link **out,
                    struct err *e)
{
    int rc;
    *out = NULL;
    if ((rc = check_config(cfg, e)) < 0)
        return rc;
    struct conv_link *l = calloc(1, sizeof(*l));
    if (!l)
        return err_set(e, -ENOMEM, "%s: out of memory", cfg->name);
    l->loop = loop;
    l->cfg = *cfg;
    l->cfg.name[sizeof(l->cfg.name) - 1] = '\0';
    if (cbs)
        l->cbs = *cbs;
    l->arg = arg;
    l->port = cfg->port;
    l->backoff_ms = cfg->reconnect_min_ms;
    l->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)l;
    if (l->rng == 0)
        l->rng = 0x9e3779b97f4a7c15ull;
    if ((rc = resolve(loop, cfg->host, cfg->port, &l->addr, e)) < 0) {
        free(l);
        return rc;
    }
    if (cfg->mode == CONV_LINK_SERVER) {
        rc = start_server(l, e);
    } else {
        uv_timer_init(loop, &l->reconnect_timer);
        l->reconnect_timer.data = l;
        l->has_reconnect_timer = true;
        l->refs++;
        start_connect(l);
    }
    if (rc < 0) {
        /* Close what was opened; the link frees itself in the close
         * callback on the next loop iteration and no close_cb runs. */
        conv_link_stop(l, NULL, NULL);
        return rc;
    }
    *out = l;
    return 0;
}

int conv_link_send(struct conv_link *l, struct conv_telegram *t, uint32_t *seq, struct err *e)
{
    if (l->stopping || !l->conn || !l->conn->up)
        return err_set(e, ERR_STATE, "%s: not connected", l->cfg.name);
    return conn_send_tg(l->conn, t, seq, e);
}

bool conv_link_connected(const struct conv_link *l)
{
    return !l->stopping && l->conn && l->conn->up;
}

int conv_link_port(const struct conv_link *l)
{
    return l->port;
}

const struct conv_link_config *conv_link_config(const struct conv_link *l)
{
    return &l->cfg;
}

void conv_link_get_stats(const struct conv_link *l, struct conv_link_stats *out)
{
    *out = l->stats;
}

int conv_link_send_raw(struct conv_link *l, const char *bytes, size_t len, struct err *e)
{
    if (l->stopping || !l->conn || !l->conn->up)
        return err_set(e, ERR_STATE, "%s: not connected", l->cfg.name);
    if (len == 0)
        return 0;
    return conn_write(l->conn, bytes, len, NULL, e);
}

void conv_link_drop(struct conv_link *l)
{
    if (!l->stopping && l->conn && l->conn->up)
        conn_lost(l->conn, false, "dropped (fault injection)");
}

static void pause_done_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->closing || !c->paused)
        return;
    c->paused = false;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (rc < 0) {
        conn_lost(c, false, uv_strerror(rc));
        return;
    }
    /* The silence was ours: the peer gets a full dead-link period again. */
    restart_dead_timer(c);
}

void conv_link_pause_read(struct conv_link *l, unsigned ms)
{
    struct conn *c = l->conn;
    if (l->stopping || !c || !c->up)
        return;
    if (!c->paused) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_timer_stop(&c->dead_timer);
        c->paused = true;
    }
    uv_timer_start(&c->pause_timer, pause_done_cb, ms, 0);
}

void conv_link_stop(struct conv_link *l, void (*close_cb)(void *arg), void *arg)
{
    if (l->stopping)
        return;
    l->stopping = true;
    l->close_cb = close_cb;
    l->close_arg = arg;
    /* Hold a reference so the link cannot be freed while we close its
     * parts, even if every close completed synchronously. */
    l->refs++;
    if (l->conn)
        conn_close(l->conn);
    if (l->has_listener)
        uv_close((uv_handle_t *)&l->listener, link_handle_closed);
    if (l->has_reconnect_timer)
        uv_close((uv_handle_t *)&l->reconnect_timer, link_handle_closed);
    link_unref(l);
}

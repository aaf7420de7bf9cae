/*
 * station.c - the PLC protocol's session rules on one link (see station.h).
 *
 * DESIGN. The link delivers parsed telegrams on the loop. A REQ_ is answered
 * at once from the in-flight table (repeats) or the application's decide op;
 * a REQ_ without a barcode first waits on a timer for the end of its read
 * window, then takes the WCS's scans of the window from the correlator. An
 * UPD_/LOCU/SYSU is applied at once; its ACK_ joins a FIFO with the ticket of
 * its record and leaves it when the application reports that ticket durable.
 * Tickets grow in record order, so the FIFO is in ticket order too. A
 * connection generation number keeps an ACK_ from going out on a newer
 * connection than its telegram came on: after a reconnect the PLC resends
 * what it did not get an ACK_ for, and a resent UPD_ is recognised by the
 * hash of its type and body, kept in its parcel's in-flight entry until the
 * parcel is answered again. LOCU and SYSU need no such memory: they are
 * state reports, applied whenever they come.
 *
 * Log records that no ACK_ waits for (REQ_/RES_ telegrams, decisions) are
 * held until the loop's check phase, after this iteration's answers were
 * written: a record may wake the application's store thread, and on a small
 * machine that wake-up would otherwise compete with the RES_ for the CPU.
 */
#include "conveyor/station.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define TRACKS_CAPACITY 1000000  /* a day of a 40,000/h line */
#define TRACK_RETENTION_US (24ll * 3600 * 1000000) /* spec: tracking unique for 24 h */
#define TRACK_EXPIRE_MS 60000
#define DEFER_MAX 64             /* log records held until the check phase */
#define DROP_WARN_NS 10000000000ull /* one "log overloaded" warning per 10 s */

struct pending_ack {
    struct pending_ack *next;
    uint64_t ticket;             /* durable once the application passes it */
    uint64_t gen;                /* connection it came on */
    enum conv_tg_type acked_type;
    uint32_t acked_seq;
    bool duplicate;
};

#define REPEATS_MAX 4            /* repeats of one REQ_ answered with it */

/* A REQ_ without barcode waiting for the end of its read window. */
struct pending_req {
    uv_timer_t timer;
    struct conv_station *st;
    struct conv_req req;
    uint32_t seq;
    uint32_t repeat_seqs[REPEATS_MAX]; /* the same REQ_ again while waiting */
    size_t nrepeats;
    uint64_t gen;
    int64_t arrival_us;          /* realtime */
    uint64_t arrival_mono_ns;
    struct pending_req *prev, *next;
};

struct deferred_wire {
    struct conv_wire wire;
    char raw[CONV_TG_LEN_MAX];
    int64_t at_us;
};

struct deferred_decision {
    struct conv_req req;
    struct conv_answer answer;
    unsigned recirculations;
    int64_t at_us;
};

struct conv_station {
    uv_loop_t *loop;
    struct conv_station_config cfg;
    struct conv_link *link;
    struct conv_tracks *tracks;
    uint64_t gen;                /* connection generation */
    char line_state[9];
    int speed_mm_s;
    struct pending_ack *acks, *acks_tail;
    struct pending_req *reqs;
    uv_timer_t expire_timer;
    uv_check_t flush_check;
    struct deferred_wire defer_wire[DEFER_MAX];
    size_t ndefer_wire;
    struct deferred_decision defer_dec[DEFER_MAX];
    size_t ndefer_dec;
    struct conv_station_stats stats;
    uint64_t dropped_reported;   /* log_dropped at the last warning */
    uint64_t dropped_warned_ns;
    int closing;                 /* handles still to close */
    void (*close_cb)(void *arg);
    void *close_arg;
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool is_report(enum conv_tg_type t)
{
    return t == CONV_TG_UPD || t == CONV_TG_LOCU || t == CONV_TG_SYSU;
}

/* --- log records ----------------------------------------------------------- */

static uint64_t record(struct conv_station *st, const struct conv_record *r)
{
    uint64_t ticket = st->cfg.ops->record(st->cfg.arg, r);

    if (ticket == 0)
        st->stats.log_dropped++;
    return ticket;
}

/* Hands the deferred records to the application (check phase, and at stop). */
static void flush_deferred(struct conv_station *st)
{
    size_t i;

    for (i = 0; i < st->ndefer_wire; i++) {
        struct conv_record r = {.kind = CONV_RECORD_WIRE, .at_us = st->defer_wire[i].at_us,
                                .wire = &st->defer_wire[i].wire};

        record(st, &r);
    }
    for (i = 0; i < st->ndefer_dec; i++) {
        const struct deferred_decision *d = &st->defer_dec[i];
        struct conv_record r = {.kind = CONV_RECORD_DECISION, .at_us = d->at_us, .req = &d->req,
                                .answer = &d->answer, .recirculations = d->recirculations};

        record(st, &r);
    }
    st->ndefer_wire = st->ndefer_dec = 0;
}

static void flush_check_cb(uv_check_t *h)
{
    struct conv_station *st = h->data;

    if (st->ndefer_wire || st->ndefer_dec)
        flush_deferred(st);
    /* Records the application refuses are never silent: one warning per 10 s. */
    if (st->stats.log_dropped > st->dropped_reported &&
        uv_hrtime() - st->dropped_warned_ns > DROP_WARN_NS) {
        log_warnx("%s: event log overloaded: %llu record(s) not logged (%llu in all); the "
                  "database or disk cannot keep up",
                  st->cfg.link.name,
                  (unsigned long long)(st->stats.log_dropped - st->dropped_reported),
                  (unsigned long long)st->stats.log_dropped);
        st->dropped_reported = st->stats.log_dropped;
        st->dropped_warned_ns = uv_hrtime();
    }
}

static void defer_decision(struct conv_station *st, const struct conv_req *req,
                           const struct conv_answer *a, unsigned recirculations)
{
    struct deferred_decision *d;

    if (st->ndefer_dec == DEFER_MAX)
        flush_deferred(st);
    d = &st->defer_dec[st->ndefer_dec++];
    d->req = *req;
    d->answer = *a;
    d->recirculations = recirculations;
    d->at_us = now_us();
}

static void wire_cb(struct conv_link *l, const struct conv_wire *w, void *arg)
{
    struct conv_station *st = arg;
    struct deferred_wire *d;
    size_t len = w->len < sizeof(d->raw) ? w->len : sizeof(d->raw);

    (void)l;
    /* A received UPD_/LOCU/SYSU is recorded by apply, with its effect: a
     * resend after a restart is recognised by the log, so the log must not
     * hold it without its effect (see on_report()). */
    if (!w->outgoing && !w->refused && is_report(w->type))
        return;
    if (st->ndefer_wire == DEFER_MAX)
        flush_deferred(st);
    d = &st->defer_wire[st->ndefer_wire++];
    d->wire = *w;
    memcpy(d->raw, w->raw, len);
    d->wire.raw = d->raw;
    d->wire.len = len;
    d->at_us = now_us();
}

/* --- sending ------------------------------------------------------------- */

static void send_res(struct conv_station *st, const struct conv_req *req, uint32_t req_seq,
                     const char *code, const char *destination, enum conv_reason reason)
{
    struct conv_telegram t;
    struct err e;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_RES;
    snprintf(t.u.res.tracking, sizeof(t.u.res.tracking), "%s", req->tracking);
    t.u.res.req_seq = req_seq;
    snprintf(t.u.res.location, sizeof(t.u.res.location), "%s", req->location);
    if (code[0] != '\0') {
        t.u.res.barcode_kind = CONV_BARCODE_CODE;
        snprintf(t.u.res.barcode, sizeof(t.u.res.barcode), "%s", code);
    } else {
        t.u.res.barcode_kind = CONV_BARCODE_NOREAD;
    }
    snprintf(t.u.res.destination, sizeof(t.u.res.destination), "%s", destination);
    t.u.res.reason = reason;
    conv_tg_time(now_us() / 1000000, t.u.res.time);
    if (conv_link_send(st->link, &t, NULL, &e) < 0) {
        log_warnx("%s: RES_ for %s not sent: %s", st->cfg.link.name, req->tracking, e.msg);
        return;
    }
    st->stats.answers++;
}

static void send_ack(struct conv_station *st, const struct pending_ack *a)
{
    struct conv_telegram t;
    struct err e;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_ACK;
    t.u.ack.acked_type = a->acked_type;
    t.u.ack.acked_seq = a->acked_seq;
    t.u.ack.duplicate = a->duplicate;
    conv_tg_time(now_us() / 1000000, t.u.ack.time);
    if (conv_link_send(st->link, &t, NULL, &e) < 0) {
        st->stats.acks_dropped++;
        return;
    }
    st->stats.acks++;
}

/* False once the application lost the right to act for the line. */
static bool may_act(const struct conv_station *st)
{
    return st->cfg.ops->may_act == NULL || st->cfg.ops->may_act(st->cfg.arg);
}

void conv_station_durable(struct conv_station *st)
{
    uint64_t durable = st->cfg.ops->durable(st->cfg.arg);
    struct pending_ack *a;

    if (!may_act(st))
        return;
    while ((a = st->acks) != NULL && a->ticket <= durable) {
        st->acks = a->next;
        if (st->acks == NULL)
            st->acks_tail = NULL;
        if (a->gen == st->gen && conv_link_connected(st->link))
            send_ack(st, a);
        else
            st->stats.acks_dropped++;
        free(a);
    }
}

static void queue_ack(struct conv_station *st, uint64_t ticket, const struct conv_telegram *t,
                      bool duplicate)
{
    struct pending_ack *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        st->stats.acks_dropped++;
        return;
    }
    a->ticket = ticket;
    a->gen = st->gen;
    a->acked_type = t->type;
    a->acked_seq = t->seq;
    a->duplicate = duplicate;
    if (st->acks_tail)
        st->acks_tail->next = a;
    else
        st->acks = a;
    st->acks_tail = a;
    conv_station_durable(st);
}

/* --- REQ_ ---------------------------------------------------------------- */

/* Decides and answers a request whose codes are known. */
static void answer(struct conv_station *st, const struct conv_req *req, uint32_t seq,
                   const char *const *codes, size_t ncodes, uint64_t arrival_mono_ns)
{
    struct conv_track *tr = conv_tracks_find(st->tracks, req->tracking);
    struct conv_answer a;
    unsigned recirc = 0;

    if (tr != NULL && tr->state == CONV_TRACK_RECIRC) {
        recirc = (unsigned)tr->recirculations + 1;
        st->stats.recirculations++;
    }
    memset(&a, 0, sizeof(a));
    a.ref = -1;
    st->cfg.ops->decide(st->cfg.arg, req, codes, ncodes < CONV_READS_MAX ? ncodes : CONV_READS_MAX,
                        recirc, &a);
    if (tr == NULL)
        tr = conv_tracks_add(st->tracks, req->tracking, now_us());
    if (tr != NULL) {
        snprintf(tr->location, sizeof(tr->location), "%s", req->location);
        snprintf(tr->code, sizeof(tr->code), "%s", a.code);
        snprintf(tr->destination, sizeof(tr->destination), "%s", a.destination);
        tr->reason = (uint8_t)a.reason;
        tr->state = CONV_TRACK_DECIDED;
        tr->recirculations = (uint16_t)recirc;
        tr->ref = a.ref;
        tr->upd_hash = 0; /* a new round: its events are new */
        tr->last_us = now_us();
    }
    send_res(st, req, seq, a.code, a.destination, a.reason);
    if ((uv_hrtime() - arrival_mono_ns) / 1000000 >= st->cfg.decision_deadline_ms)
        st->stats.late++;
    defer_decision(st, req, &a, recirc);
}

static void pending_req_closed_cb(uv_handle_t *h)
{
    free(h->data);
}

/* True when a scan in r's read window is in the window of another REQ_
 * without barcode at the same location still waiting: nothing tells whose
 * parcel it is (two requests at once, windows wider than the parcels'
 * spacing), and taking it could send r's parcel to the other's chute. */
static bool window_shared(const struct conv_station *st, const struct pending_req *r)
{
    int64_t before = (int64_t)st->cfg.read_window_before_ms * 1000;
    int64_t after = (int64_t)st->cfg.read_window_after_ms * 1000;
    const struct pending_req *o;
    const char *codes[1];

    for (o = st->reqs; o != NULL; o = o->next) {
        int64_t lo, hi;

        if (o == r || o->gen != r->gen || strcmp(o->req.location, r->req.location) != 0)
            continue;
        /* The two windows' overlap, as a window around its middle. */
        lo = (r->arrival_us > o->arrival_us ? r->arrival_us : o->arrival_us) - before;
        hi = (r->arrival_us < o->arrival_us ? r->arrival_us : o->arrival_us) + after;
        if (lo <= hi && conv_corr_collect(st->cfg.scans, r->req.location, lo + (hi - lo) / 2,
                                          (hi - lo) / 2 + 1, (hi - lo) / 2 + 1, codes, 1) > 0)
            return true;
    }
    return false;
}

static void read_window_cb(uv_timer_t *t)
{
    struct pending_req *r = t->data;
    struct conv_station *st = r->st;
    const char *codes[CONV_READS_MAX];
    bool shared = window_shared(st, r);
    size_t n;

    /* Taken even when shared, so the other request cannot have them
     * either: both parcels go to the no-read destination, none to the
     * other's chute. */
    n = conv_corr_take(st->cfg.scans, r->req.location, r->arrival_us,
                       (int64_t)st->cfg.read_window_before_ms * 1000,
                       (int64_t)st->cfg.read_window_after_ms * 1000, codes, CONV_READS_MAX);
    if (shared) {
        st->stats.ambiguous++;
        n = 0;
    }
    if (r->gen == st->gen && conv_link_connected(st->link) && may_act(st)) {
        struct conv_track *tr;
        size_t i;

        answer(st, &r->req, r->seq, codes, n, r->arrival_mono_ns);
        tr = conv_tracks_find(st->tracks, r->req.tracking);
        for (i = 0; tr != NULL && i < r->nrepeats; i++)
            send_res(st, &r->req, r->repeat_seqs[i], tr->code, tr->destination,
                     (enum conv_reason)tr->reason);
    }
    if (r->prev)
        r->prev->next = r->next;
    else
        st->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    uv_close((uv_handle_t *)&r->timer, pending_req_closed_cb);
}

/* The request of tracking at location still in its read window, or NULL. */
static struct pending_req *pending_find(struct conv_station *st, const struct conv_req *req)
{
    struct pending_req *r;

    for (r = st->reqs; r != NULL; r = r->next)
        if (r->gen == st->gen && strcmp(r->req.tracking, req->tracking) == 0 &&
            strcmp(r->req.location, req->location) == 0)
            return r;
    return NULL;
}

static void on_req(struct conv_station *st, const struct conv_telegram *t)
{
    const struct conv_req *req = &t->u.req;
    struct conv_track *tr;
    struct pending_req *r;
    const char *codes[1];

    st->stats.requests++;
    r = pending_find(st, req);
    if (r != NULL && r->nrepeats < REPEATS_MAX) {
        /* Asked again while its read window is open: it gets the one
         * answer of that window, not a decision of its own. */
        st->stats.repeated++;
        r->repeat_seqs[r->nrepeats++] = t->seq;
        return;
    }
    tr = conv_tracks_find(st->tracks, req->tracking);
    if (tr != NULL && tr->state == CONV_TRACK_DECIDED &&
        strcmp(tr->location, req->location) == 0) {
        /* The PLC asked again (lost answer, reconnect): the same answer. */
        st->stats.repeated++;
        send_res(st, req, t->seq, tr->code, tr->destination, (enum conv_reason)tr->reason);
        return;
    }
    if (req->barcode_kind == CONV_BARCODE_CODE) {
        codes[0] = req->barcode;
        answer(st, req, t->seq, codes, 1, uv_hrtime());
        return;
    }
    if (st->cfg.scans == NULL) {
        answer(st, req, t->seq, codes, 0, uv_hrtime());
        return;
    }
    /* No PLC reader, or it read nothing (spec "Correlation"): wait for the
     * WCS scanners' late reads at this location, then decide. */
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        answer(st, req, t->seq, codes, 0, uv_hrtime());
        return;
    }
    r->st = st;
    r->req = *req;
    r->seq = t->seq;
    r->gen = st->gen;
    r->arrival_us = now_us();
    r->arrival_mono_ns = uv_hrtime();
    uv_timer_init(st->loop, &r->timer);
    r->timer.data = r;
    r->next = st->reqs;
    if (st->reqs)
        st->reqs->prev = r;
    st->reqs = r;
    uv_timer_start(&r->timer, read_window_cb, st->cfg.read_window_after_ms, 0);
}

/* --- UPD_, LOCU, SYSU ---------------------------------------------------- */

/* The parcel's in-flight state after a UPD_. An entry unknown (decided
 * before a restart) is made, so a later telegram for it finds a defined
 * state. The application was handed the state before this event. */
static void track_update(struct conv_station *st, struct conv_track *tr, const struct conv_upd *u)
{
    switch (u->event) {
    case CONV_UPD_SORTED:
        if (tr->destination[0] && strcmp(tr->destination, u->location) != 0)
            log_warnx("%s: %s sorted at %s, answered %s", st->cfg.link.name, u->tracking,
                      u->location, tr->destination);
        tr->state = CONV_TRACK_FINAL;
        tr->final_event = (uint8_t)u->event;
        break;
    case CONV_UPD_RECIRC:
    case CONV_UPD_NODIVERT:
        /* It did not reach its destination, and will come round. */
        tr->ref = -1;
        tr->state = CONV_TRACK_RECIRC;
        break;
    default: /* LOST, REJECTED, REMOVED */
        tr->ref = -1;
        tr->state = CONV_TRACK_FINAL;
        tr->final_event = (uint8_t)u->event;
        break;
    }
    tr->last_us = now_us();
}

/* A UPD_ is a resend (spec "ACK_") when it repeats, type and content, the
 * last one applied for its parcel and the parcel was not answered again
 * since: a PLC resending what it got no ACK_ for. The same event after
 * another REQ_ (a second RECIRC__ after another round) is new. */
static bool upd_is_resend(const struct conv_track *tr, uint64_t h)
{
    return tr != NULL && tr->upd_hash == h;
}

/* UPD_: a parcel event, applied once (resends answered DUPLIC__). LOCU and
 * SYSU: state reports, always applied and answered OK (applying one twice
 * changes nothing, and a genuine change must never be taken for a resend). */
static void on_report(struct conv_station *st, const struct conv_telegram *t, const char *raw)
{
    struct conv_track *tr = NULL, before = {0};
    uint64_t h = 0, ticket;
    /* The telegram's log record, as the link's wire_cb reported it. */
    struct conv_wire w = {.outgoing = false,
                          .raw = raw,
                          .len = st->cfg.link.telegram_len,
                          .type = t->type,
                          .seq = t->seq,
                          .refused = false};
    struct conv_record rec = {.kind = CONV_RECORD_WIRE, .at_us = now_us(), .wire = &w};

    snprintf(w.type_text, sizeof(w.type_text), "%s", conv_tg_type_name(t->type));
    if (t->type == CONV_TG_UPD) {
        const struct conv_upd *u = &t->u.upd;

        h = conv_tg_content_hash(raw, st->cfg.link.telegram_len);
        tr = conv_tracks_find(st->tracks, u->tracking);
        if (upd_is_resend(tr, h)) {
            /* Recorded, not applied, answered DUPLIC__ once durable. Its
             * ticket comes after the original's, so that is durable then too. */
            st->stats.duplicates++;
            ticket = st->cfg.ops->apply(st->cfg.arg, t, &rec, NULL, true);
            if (ticket != 0)
                queue_ack(st, ticket, t, true);
            return;
        }
        if (tr == NULL && (tr = conv_tracks_add(st->tracks, u->tracking, now_us())) != NULL &&
            u->barcode_kind == CONV_BARCODE_CODE)
            snprintf(tr->code, sizeof(tr->code), "%s", u->barcode);
        if (tr != NULL)
            before = *tr;
    } else if (t->type == CONV_TG_SYSU) {
        const char *name = conv_line_state_name(t->u.sysu.state);

        if (strcmp(st->line_state, name) != 0)
            log_info("%s: line %s %s, %d mm/s", st->cfg.link.name, t->u.sysu.line, name,
                     t->u.sysu.speed_mm_s);
        snprintf(st->line_state, sizeof(st->line_state), "%s", name);
        st->speed_mm_s = t->u.sysu.speed_mm_s;
    }
    ticket = st->cfg.ops->apply(st->cfg.arg, t, &rec, tr != NULL ? &before : NULL, false);
    if (tr != NULL) {
        track_update(st, tr, &t->u.upd);
        /* Not recorded: no ACK_, so the PLC resends it later, and that
         * resend must be applied then, not taken for a duplicate. */
        tr->upd_hash = ticket != 0 ? h : 0;
    }
    st->stats.updates++;
    if (ticket != 0)
        queue_ack(st, ticket, t, false);
}

/* --- link callbacks ------------------------------------------------------ */

static void telegram_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                        void *arg)
{
    struct conv_station *st = arg;

    (void)l;
    if (!may_act(st)) {
        st->stats.silenced++;
        return;
    }
    switch (t->type) {
    case CONV_TG_REQ:
        on_req(st, t);
        break;
    case CONV_TG_UPD:
    case CONV_TG_LOCU:
    case CONV_TG_SYSU:
        on_report(st, t, raw);
        break;
    case CONV_TG_ERR:
        log_warnx("%s: PLC refused our telegram %s %05u: %s %s", st->cfg.link.name,
                  t->u.err.refused_type, t->u.err.refused_seq, t->u.err.code, t->u.err.text);
        break;
    default:
        log_warnx("%s: unexpected %s from the PLC, ignored", st->cfg.link.name,
                  conv_tg_type_name(t->type));
        break;
    }
}

static void state_cb(struct conv_link *l, bool up, void *arg)
{
    struct conv_station *st = arg;

    (void)l;
    st->gen++;
    log_info("%s: link %s", st->cfg.link.name, up ? "up" : "down");
}

static void expire_cb(uv_timer_t *t)
{
    struct conv_station *st = t->data;

    conv_tracks_expire(st->tracks, now_us(), TRACK_RETENTION_US);
}

/* --- start / stop -------------------------------------------------------- */

static void station_free(struct conv_station *st)
{
    struct pending_ack *a;
    void (*cb)(void *) = st->close_cb;
    void *arg = st->close_arg;

    while ((a = st->acks) != NULL) {
        st->acks = a->next;
        free(a);
    }
    conv_tracks_free(st->tracks);
    free(st);
    if (cb)
        cb(arg);
}

int conv_station_start(uv_loop_t *loop, const struct conv_station_config *cfg,
                       struct conv_station **out, struct err *e)
{
    static const struct conv_link_callbacks cbs = {
        .telegram_cb = telegram_cb, .state_cb = state_cb, .wire_cb = wire_cb};
    struct conv_station *st = calloc(1, sizeof(*st));
    int rc;

    *out = NULL;
    if (st == NULL)
        return err_set(e, -ENOMEM, "%s: out of memory", cfg->link.name);
    st->loop = loop;
    st->cfg = *cfg;
    st->tracks = conv_tracks_new(TRACKS_CAPACITY);
    snprintf(st->line_state, sizeof(st->line_state), "UNKNOWN");
    st->speed_mm_s = -1;
    if (st->tracks == NULL) {
        station_free(st);
        return err_set(e, -ENOMEM, "%s: out of memory", cfg->link.name);
    }
    rc = conv_link_start(loop, &cfg->link, &cbs, st, &st->link, e);
    if (rc < 0) {
        station_free(st);
        return rc;
    }
    uv_timer_init(loop, &st->expire_timer);
    st->expire_timer.data = st;
    uv_timer_start(&st->expire_timer, expire_cb, TRACK_EXPIRE_MS, TRACK_EXPIRE_MS);
    uv_check_init(loop, &st->flush_check);
    st->flush_check.data = st;
    uv_check_start(&st->flush_check, flush_check_cb);
    *out = st;
    return 0;
}

static void part_closed(struct conv_station *st)
{
    if (--st->closing == 0)
        station_free(st);
}

static void link_closed_cb(void *arg)
{
    part_closed(arg);
}

static void handle_closed_cb(uv_handle_t *h)
{
    part_closed(h->data);
}

void conv_station_stop(struct conv_station *st, void (*close_cb)(void *arg), void *arg)
{
    struct pending_req *r;

    flush_deferred(st);
    st->close_cb = close_cb;
    st->close_arg = arg;
    st->closing = 3;
    for (r = st->reqs; r != NULL; r = r->next) {
        uv_timer_stop(&r->timer);
        uv_close((uv_handle_t *)&r->timer, pending_req_closed_cb);
    }
    st->reqs = NULL;
    uv_close((uv_handle_t *)&st->expire_timer, handle_closed_cb);
    uv_close((uv_handle_t *)&st->flush_check, handle_closed_cb);
    conv_link_stop(st->link, link_closed_cb, st);
}

void conv_station_remember(struct conv_station *st, const char *raw, size_t len)
{
    struct conv_telegram t;
    struct conv_tg_refusal why;
    struct conv_track *tr;

    if (len != st->cfg.link.telegram_len || conv_tg_parse(raw, len, len, &t, &why, NULL) < 0)
        return;
    if (t.type == CONV_TG_REQ) {
        /* The parcel was asked for again after its last event. */
        tr = conv_tracks_find(st->tracks, t.u.req.tracking);
        if (tr != NULL)
            tr->upd_hash = 0;
    } else if (t.type == CONV_TG_RES) {
        /* The answer given (by this WCS or the one it took over from): a
         * repeated REQ_ gets it again. */
        const struct conv_res *res = &t.u.res;

        tr = conv_tracks_find(st->tracks, res->tracking);
        if (tr == NULL)
            tr = conv_tracks_add(st->tracks, res->tracking, now_us());
        if (tr == NULL)
            return;
        if (tr->state == CONV_TRACK_RECIRC)
            tr->recirculations++;
        snprintf(tr->location, sizeof(tr->location), "%s", res->location);
        snprintf(tr->code, sizeof(tr->code), "%s",
                 res->barcode_kind == CONV_BARCODE_CODE ? res->barcode : "");
        snprintf(tr->destination, sizeof(tr->destination), "%s", res->destination);
        tr->reason = (uint8_t)res->reason;
        tr->state = CONV_TRACK_DECIDED;
        tr->ref = -1; /* its chute's load was counted by whoever answered */
        tr->upd_hash = 0;
    } else if (t.type == CONV_TG_UPD) {
        tr = conv_tracks_find(st->tracks, t.u.upd.tracking);
        if (tr == NULL)
            tr = conv_tracks_add(st->tracks, t.u.upd.tracking, now_us());
        if (tr == NULL)
            return;
        tr->upd_hash = conv_tg_content_hash(raw, len);
        track_update(st, tr, &t.u.upd);
    }
}

const char *conv_station_name(const struct conv_station *st)
{
    return st->cfg.link.name;
}

bool conv_station_connected(const struct conv_station *st)
{
    return conv_link_connected(st->link);
}

int conv_station_port(const struct conv_station *st)
{
    return conv_link_port(st->link);
}

const char *conv_station_line_state(const struct conv_station *st)
{
    return st->line_state;
}

int conv_station_speed(const struct conv_station *st)
{
    return st->speed_mm_s;
}

size_t conv_station_in_flight(const struct conv_station *st)
{
    return conv_tracks_count(st->tracks);
}

void conv_station_get_stats(const struct conv_station *st, struct conv_station_stats *out)
{
    *out = st->stats;
}

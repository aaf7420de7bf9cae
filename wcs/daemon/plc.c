/*
 * plc.c - what sorter telegrams mean to the WCS (see plc.h).
 *
 * DESIGN: the conveyor link delivers parsed telegrams on the loop. A REQ_ is
 * answered from memory: the in-flight table (wcs/track.h) for repeats and
 * recirculations, the correlator for codes read by WCS scanners, the
 * decision engine for the destination. When the PLC sent no barcode the
 * answer waits for late scans (read_window_after_ms, always below the
 * deadline). UPD_/LOCU/SYSU change state at once, their events go to the
 * writer with a durability ticket, and the ACK_ waits in a FIFO until the
 * writer reports that ticket durable. A connection generation number keeps
 * an ACK_ from going out on a newer connection than the telegram came on
 * (the PLC resends unacknowledged telegrams after a reconnect, and then they
 * are recognised as duplicates by their content hash).
 *
 * Log records that no ACK_ waits for (REQ_/RES_ telegrams, decisions) are
 * held until the loop's check phase, after this iteration's answers were
 * written: a push may wake the store thread, and on a small machine that
 * wake-up would otherwise compete with the RES_ for the CPU.
 */
#include "wcs/daemon/plc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "conveyor/link.h"
#include "conveyor/telegram.h"
#include "wcs/daemon/daemon.h"
#include "wcs/store/store.h"
#include "wcs/core/track.h"

#define TRACKS_CAPACITY 1000000      /* a day of a 40,000/h line */
#define TRACK_RETENTION_US (24ll * 3600 * 1000000)
#define SEEN_CAPACITY 65536          /* resend detection window, telegrams */
#define DEFER_MAX 64                 /* log records held until the loop's check phase */

struct pending_ack {
    struct pending_ack *next;
    uint64_t ticket;                 /* durable once the writer passes it */
    uint64_t gen;                    /* connection it came on */
    enum conv_tg_type acked_type;
    uint32_t acked_seq;
    bool duplicate;
};

struct pending_req {
    uv_timer_t timer;                /* fires at the end of the read window */
    struct wcs_plc *plc;
    struct conv_req req;
    uint32_t seq;
    uint64_t gen;
    int64_t arrival_us;              /* realtime */
    uint64_t arrival_mono_ns;
    struct pending_req *prev, *next;
};

/* Content hashes of recent UPD_/LOCU/SYSU: a ring for age, a table for lookup. */
struct seen_set {
    uint64_t ring[SEEN_CAPACITY];
    size_t head, n;
    uint64_t table[SEEN_CAPACITY * 2]; /* 0 = empty */
};

struct wcs_plc {
    struct wcsd *d;
    const struct wcs_plc_config *cfg;
    struct conv_link *link;
    struct wcs_tracks *tracks;
    uint64_t gen;                    /* connection generation */
    char line_state[9];
    int speed_mm_s;
    struct pending_ack *acks, *acks_tail;
    struct pending_req *reqs;        /* waiting for their read window */
    struct seen_set *seen;
    uv_timer_t expire_timer;
    uv_check_t flush_check;          /* hands deferred log records to the writer */
    struct wcs_telegram_rec defer_tg[DEFER_MAX];
    size_t ndefer_tg;
    struct wcs_event defer_ev[DEFER_MAX];
    size_t ndefer_ev;
    struct wcs_plc_stats stats;
    uint64_t dropped_reported;       /* log_dropped at the last warning */
    uint64_t dropped_warned_ns;      /* when it was given */
    int closing;                     /* handles still to close */
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- resend detection ---------------------------------------------------- */

static uint64_t content_hash(const char *raw, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    /* Type (offset 23) and body (27..L): the header's seq differs on a resend. */
    for (i = CONV_TG_HEADER_LEN - 4; i < len; i++) {
        h ^= (unsigned char)raw[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static int seen_has(const struct seen_set *s, uint64_t h)
{
    size_t i = (size_t)h & (SEEN_CAPACITY * 2 - 1);

    while (s->table[i] != 0) {
        if (s->table[i] == h)
            return 1;
        i = (i + 1) & (SEEN_CAPACITY * 2 - 1);
    }
    return 0;
}

static void seen_table_delete(struct seen_set *s, uint64_t h)
{
    size_t mask = SEEN_CAPACITY * 2 - 1, i = (size_t)h & mask, j;

    while (s->table[i] != h) {
        if (s->table[i] == 0)
            return;
        i = (i + 1) & mask;
    }
    s->table[i] = 0;
    for (j = (i + 1) & mask; s->table[j] != 0; j = (j + 1) & mask) {
        uint64_t v = s->table[j];
        size_t home = (size_t)v & mask;
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            s->table[i] = v;
            s->table[j] = 0;
            i = j;
        }
    }
}

static void seen_add(struct seen_set *s, uint64_t h)
{
    size_t mask = SEEN_CAPACITY * 2 - 1, i;

    if (seen_has(s, h))
        return;
    if (s->n == SEEN_CAPACITY) {
        seen_table_delete(s, s->ring[s->head]);
        s->head = (s->head + 1) % SEEN_CAPACITY;
        s->n--;
    }
    s->ring[(s->head + s->n) % SEEN_CAPACITY] = h;
    s->n++;
    for (i = (size_t)h & mask; s->table[i] != 0; i = (i + 1) & mask)
        ;
    s->table[i] = h;
}

/* --- logging to the event writer ----------------------------------------- */

static uint64_t push_event(struct wcs_plc *p, const struct wcs_event *ev)
{
    uint64_t ticket = 0;

    if (wcs_event_writer_push_t(p->d->writer, ev, &ticket) < 0) {
        p->stats.log_dropped++;
        return 0;
    }
    return ticket;
}

/* Hands the deferred log records to the writer (check phase, and at stop). */
static void flush_deferred(struct wcs_plc *p)
{
    size_t i;

    for (i = 0; i < p->ndefer_tg; i++)
        if (wcs_event_writer_push_telegram(p->d->writer, &p->defer_tg[i], NULL) < 0)
            p->stats.log_dropped++;
    for (i = 0; i < p->ndefer_ev; i++)
        if (wcs_event_writer_push(p->d->writer, &p->defer_ev[i]) < 0)
            p->stats.log_dropped++;
    p->ndefer_tg = p->ndefer_ev = 0;
}

static void flush_check_cb(uv_check_t *h)
{
    struct wcs_plc *p = h->data;

    if (p->ndefer_tg || p->ndefer_ev)
        flush_deferred(p);
    /* The writer refusing records is never silent: one warning per 10 s. */
    if (p->stats.log_dropped > p->dropped_reported &&
        uv_hrtime() - p->dropped_warned_ns > 10000000000ull) {
        log_warnx("%s: event log overloaded: %llu record(s) not logged (%llu in all); the "
                  "database or disk cannot keep up",
                  p->cfg->id, (unsigned long long)(p->stats.log_dropped - p->dropped_reported),
                  (unsigned long long)p->stats.log_dropped);
        p->dropped_reported = p->stats.log_dropped;
        p->dropped_warned_ns = uv_hrtime();
    }
}

/* Logs an event that no ACK_ waits for: deferred to the check phase. */
static void log_event_later(struct wcs_plc *p, const struct wcs_event *ev)
{
    if (p->ndefer_ev == DEFER_MAX)
        flush_deferred(p);
    p->defer_ev[p->ndefer_ev] = *ev;
    p->defer_ev[p->ndefer_ev].at_us = now_us();
    p->ndefer_ev++;
}

static void wire_cb(struct conv_link *l, bool outgoing, const char *raw, size_t len, void *arg)
{
    struct wcs_plc *p = arg;
    struct wcs_telegram_rec rec;
    uint64_t ticket;

    (void)l;
    memset(&rec, 0, sizeof(rec));
    rec.at_us = now_us();
    snprintf(rec.plc, sizeof(rec.plc), "%s", p->cfg->id);
    rec.direction = outgoing ? 'o' : 'i';
    if (len > sizeof(rec.raw) - 1)
        len = sizeof(rec.raw) - 1;
    memcpy(rec.raw, raw, len);
    rec.raw_len = len;
    if (len >= CONV_TG_HEADER_LEN && memcmp(raw, "###", 3) == 0) {
        memcpy(rec.type, raw + 23, 4);
        rec.seq = (uint32_t)strtoul((char[6]){raw[18], raw[19], raw[20], raw[21], raw[22], 0},
                                    NULL, 10);
    }
    /* A received UPD_/LOCU/SYSU is logged at once: its ACK_ waits for this
     * record too, since a resend after a restart is recognised by the log. */
    if (outgoing || (strcmp(rec.type, "UPD_") != 0 && strcmp(rec.type, "LOCU") != 0 &&
                     strcmp(rec.type, "SYSU") != 0)) {
        if (p->ndefer_tg == DEFER_MAX)
            flush_deferred(p);
        p->defer_tg[p->ndefer_tg++] = rec;
        return;
    }
    if (wcs_event_writer_push_telegram(p->d->writer, &rec, &ticket) < 0)
        p->stats.log_dropped++;
}

/* --- sending ------------------------------------------------------------- */

static void send_res(struct wcs_plc *p, const struct conv_req *req, uint32_t req_seq,
                     const char *code, const char *destination, enum conv_reason reason)
{
    struct conv_telegram t;
    struct err e;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_RES;
    snprintf(t.u.res.tracking, sizeof(t.u.res.tracking), "%s", req->tracking);
    t.u.res.req_seq = req_seq;
    snprintf(t.u.res.location, sizeof(t.u.res.location), "%s", req->location);
    if (code != NULL && code[0] != '\0') {
        t.u.res.barcode_kind = CONV_BARCODE_CODE;
        snprintf(t.u.res.barcode, sizeof(t.u.res.barcode), "%s", code);
    } else {
        t.u.res.barcode_kind = CONV_BARCODE_NOREAD;
    }
    snprintf(t.u.res.destination, sizeof(t.u.res.destination), "%s", destination);
    t.u.res.reason = reason;
    conv_tg_time(now_us() / 1000000, t.u.res.time);
    if (conv_link_send(p->link, &t, NULL, &e) < 0) {
        log_warnx("%s: RES_ for %s not sent: %s", p->cfg->id, req->tracking, e.msg);
        return;
    }
    p->stats.answers++;
}

static void send_ack(struct wcs_plc *p, enum conv_tg_type type, uint32_t seq, bool duplicate)
{
    struct conv_telegram t;
    struct err e;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_ACK;
    t.u.ack.acked_type = type;
    t.u.ack.acked_seq = seq;
    t.u.ack.duplicate = duplicate;
    conv_tg_time(now_us() / 1000000, t.u.ack.time);
    if (conv_link_send(p->link, &t, NULL, &e) < 0) {
        p->stats.acks_dropped++;
        return;
    }
    p->stats.acks++;
}

static void queue_ack(struct wcs_plc *p, uint64_t ticket, const struct conv_telegram *t,
                      bool duplicate)
{
    struct pending_ack *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        p->stats.acks_dropped++;
        return;
    }
    a->ticket = ticket;
    a->gen = p->gen;
    a->acked_type = t->type;
    a->acked_seq = t->seq;
    a->duplicate = duplicate;
    if (p->acks_tail)
        p->acks_tail->next = a;
    else
        p->acks = a;
    p->acks_tail = a;
    wcs_plcs_durable(p->d);
}

void wcs_plcs_durable(struct wcsd *d)
{
    uint64_t durable = wcs_event_writer_durable(d->writer);
    int i;

    for (i = 0; i < d->nplcs; i++) {
        struct wcs_plc *p = d->plcs[i];
        struct pending_ack *a;

        while ((a = p->acks) != NULL && a->ticket <= durable) {
            p->acks = a->next;
            if (p->acks == NULL)
                p->acks_tail = NULL;
            if (a->gen == p->gen && conv_link_connected(p->link))
                send_ack(p, a->acked_type, a->acked_seq, a->duplicate);
            else
                p->stats.acks_dropped++;
            free(a);
        }
    }
}

/* --- REQ_ ---------------------------------------------------------------- */

static void decision_event(struct wcs_plc *p, const struct conv_req *req, const char *code,
                           const struct wcs_decision *dec, unsigned recirc)
{
    struct wcs_event ev;
    const struct wcs_plan *plan = p->d->plan;

    memset(&ev, 0, sizeof(ev));
    ev.kind = WCS_EVENT_DECISION;
    snprintf(ev.parcel_code, sizeof(ev.parcel_code), "%s", code ? code : "");
    snprintf(ev.location, sizeof(ev.location), "%s", req->location);
    snprintf(ev.chute, sizeof(ev.chute), "%s", dec->destination ? dec->destination : "");
    snprintf(ev.reason, sizeof(ev.reason), "%s", conv_reason_code(dec->reason));
    snprintf(ev.source, sizeof(ev.source), "%s", p->cfg->id);
    snprintf(ev.detail, sizeof(ev.detail), "tracking %s route %s plan v%d recirc %u",
             req->tracking,
             dec->route >= 0 && plan ? wcs_plan_route(plan, (size_t)dec->route)->id : "-",
             p->d->plan_version, recirc);
    log_event_later(p, &ev);
}

/* Decides and answers a request whose codes are known. */
static void answer(struct wcs_plc *p, const struct conv_req *req, uint32_t seq,
                   const char *const *codes, size_t ncodes, uint64_t arrival_mono_ns)
{
    struct wcs_track *tr = wcs_tracks_find(p->tracks, req->tracking);
    struct wcs_decide_input m;
    struct wcs_decision dec;
    const char *code = NULL;
    unsigned recirc = 0;
    struct err e;

    if (tr != NULL && tr->state == WCS_TRACK_RECIRC) {
        recirc = (unsigned)tr->recirculations + 1;
        p->stats.recirculations++;
    }
    memset(&m, 0, sizeof(m));
    m.weight_g = req->weight_g > 0 ? (uint32_t)req->weight_g : 0;
    m.length_mm = req->length_mm > 0 ? (uint16_t)req->length_mm : 0;
    m.width_mm = req->width_mm > 0 ? (uint16_t)req->width_mm : 0;
    m.height_mm = req->height_mm > 0 ? (uint16_t)req->height_mm : 0;
    m.recirculations = recirc;
    if (wcsd_decide(p->d, codes, ncodes, &m, true, &dec, &e) < 0) {
        /* No plan active: the PLC sends the parcel to its default exit. */
        memset(&dec, 0, sizeof(dec));
        dec.reason = CONV_REASON_TIMEOUT;
        dec.destination = "";
        dec.chute = -1;
        dec.route = -1;
        dec.read = -1;
        log_warnx("%s: %s: %s", p->cfg->id, req->tracking, e.msg);
    }
    if (dec.read >= 0)
        code = codes[dec.read];
    else if (ncodes == 1)
        code = codes[0];
    if (tr == NULL)
        tr = wcs_tracks_add(p->tracks, req->tracking, now_us());
    if (tr != NULL) {
        snprintf(tr->location, sizeof(tr->location), "%s", req->location);
        snprintf(tr->code, sizeof(tr->code), "%s", code ? code : "");
        snprintf(tr->destination, sizeof(tr->destination), "%s", dec.destination);
        tr->reason = (uint8_t)dec.reason;
        tr->state = WCS_TRACK_DECIDED;
        tr->recirculations = (uint16_t)recirc;
        tr->chute = dec.chute;
        tr->last_us = now_us();
    }
    send_res(p, req, seq, dec.parcel || dec.read >= 0 ? code : NULL, dec.destination, dec.reason);
    if ((uv_hrtime() - arrival_mono_ns) / 1000000 >= (uint64_t)p->cfg->decision_deadline_ms)
        p->stats.late++;
    decision_event(p, req, code, &dec, recirc);
}

static void pending_req_closed_cb(uv_handle_t *h)
{
    free(h->data);
}

static void read_window_cb(uv_timer_t *t)
{
    struct pending_req *r = t->data;
    struct wcs_plc *p = r->plc;
    const char *codes[8];
    size_t n;

    n = conv_corr_take(p->d->scans, r->req.location, r->arrival_us,
                          (int64_t)p->cfg->read_window_before_ms * 1000,
                          (int64_t)p->cfg->read_window_after_ms * 1000, codes, 8);
    if (n > 8)
        n = 8;
    if (r->gen == p->gen && conv_link_connected(p->link))
        answer(p, &r->req, r->seq, codes, n, r->arrival_mono_ns);
    if (r->prev)
        r->prev->next = r->next;
    else
        p->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    uv_close((uv_handle_t *)&r->timer, pending_req_closed_cb);
}

static void on_req(struct wcs_plc *p, const struct conv_telegram *t)
{
    const struct conv_req *req = &t->u.req;
    struct wcs_track *tr;
    struct pending_req *r;
    const char *codes[1];

    p->stats.requests++;
    tr = wcs_tracks_find(p->tracks, req->tracking);
    if (tr != NULL && tr->state == WCS_TRACK_DECIDED && strcmp(tr->location, req->location) == 0) {
        /* The PLC asked again (lost answer, reconnect): same answer. */
        p->stats.repeated++;
        send_res(p, req, t->seq, tr->code[0] ? tr->code : NULL, tr->destination,
                 (enum conv_reason)tr->reason);
        return;
    }
    if (req->barcode_kind == CONV_BARCODE_CODE) {
        codes[0] = req->barcode;
        answer(p, req, t->seq, codes, 1, uv_hrtime());
        return;
    }
    if (req->barcode_kind == CONV_BARCODE_NOREAD) {
        answer(p, req, t->seq, codes, 0, uv_hrtime());
        return;
    }
    /* No PLC reader: wait for the WCS scanners' late reads, then decide. */
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        answer(p, req, t->seq, codes, 0, uv_hrtime());
        return;
    }
    r->plc = p;
    r->req = *req;
    r->seq = t->seq;
    r->gen = p->gen;
    r->arrival_us = now_us();
    r->arrival_mono_ns = uv_hrtime();
    uv_timer_init(&p->d->loop, &r->timer);
    r->timer.data = r;
    r->next = p->reqs;
    if (p->reqs)
        p->reqs->prev = r;
    p->reqs = r;
    uv_timer_start(&r->timer, read_window_cb, (uint64_t)p->cfg->read_window_after_ms, 0);
}

/* --- UPD_, LOCU, SYSU ---------------------------------------------------- */

static void apply_upd(struct wcs_plc *p, const struct conv_upd *u, struct wcs_event *ev)
{
    struct wcs_track *tr = wcs_tracks_find(p->tracks, u->tracking);

    if (tr == NULL) {
        /* Unknown tracking (e.g. decided before a restart): record it so a
         * later telegram for it finds a defined state. */
        tr = wcs_tracks_add(p->tracks, u->tracking, now_us());
        if (tr == NULL)
            return;
        if (u->barcode_kind == CONV_BARCODE_CODE)
            snprintf(tr->code, sizeof(tr->code), "%s", u->barcode);
    }
    ev->kind = WCS_EVENT_CONFIRM;
    snprintf(ev->parcel_code, sizeof(ev->parcel_code), "%s",
             tr->code[0] ? tr->code : (u->barcode_kind == CONV_BARCODE_CODE ? u->barcode : ""));
    snprintf(ev->location, sizeof(ev->location), "%s", u->location);
    snprintf(ev->chute, sizeof(ev->chute), "%s", u->event == CONV_UPD_SORTED ? u->location : "");
    snprintf(ev->reason, sizeof(ev->reason), "%s", conv_upd_event_name(u->event));
    snprintf(ev->detail, sizeof(ev->detail), "tracking %s answered %s", u->tracking,
             tr->destination[0] ? tr->destination : "-");
    switch (u->event) {
    case CONV_UPD_SORTED:
        if (tr->destination[0] && strcmp(tr->destination, u->location) != 0)
            log_warnx("%s: %s sorted at %s, answered %s", p->cfg->id, u->tracking, u->location,
                      tr->destination);
        tr->state = WCS_TRACK_FINAL;
        tr->final_event = (uint8_t)u->event;
        break;
    case CONV_UPD_RECIRC:
    case CONV_UPD_NODIVERT:
        /* It did not reach the chute counted for it, and will come round. */
        if (tr->chute >= 0)
            wcs_engine_chute_uncount(p->d->engine, (size_t)tr->chute);
        tr->chute = -1;
        tr->state = WCS_TRACK_RECIRC;
        break;
    default: /* LOST, REJECTED, REMOVED */
        if (tr->chute >= 0)
            wcs_engine_chute_uncount(p->d->engine, (size_t)tr->chute);
        tr->chute = -1;
        tr->state = WCS_TRACK_FINAL;
        tr->final_event = (uint8_t)u->event;
        break;
    }
    tr->last_us = now_us();
}

static void apply_locu(struct wcs_plc *p, const struct conv_locu *l, struct wcs_event *ev)
{
    static const enum wcs_chute_state map[CONV_LOC_COUNT] = {
        [CONV_LOC_ACTIVE] = WCS_CHUTE_ACTIVE, [CONV_LOC_FULL] = WCS_CHUTE_FULL,
        [CONV_LOC_DISABLED] = WCS_CHUTE_DISABLED, [CONV_LOC_FAULT] = WCS_CHUTE_FAULT};

    if (wcs_engine_set_chute_state(p->d->engine, l->location, map[l->state]) < 0)
        log_warnx("%s: LOCU for %s, which the active sort plan does not have", p->cfg->id,
                  l->location);
    ev->kind = WCS_EVENT_SYSTEM;
    snprintf(ev->chute, sizeof(ev->chute), "%s", l->location);
    snprintf(ev->location, sizeof(ev->location), "%s", l->location);
    snprintf(ev->reason, sizeof(ev->reason), "%s", conv_loc_state_name(l->state));
    snprintf(ev->detail, sizeof(ev->detail), "chute state");
}

static void apply_sysu(struct wcs_plc *p, const struct conv_sysu *s, struct wcs_event *ev)
{
    if (strcmp(p->line_state, conv_line_state_name(s->state)) != 0)
        log_info("%s: line %s %s, %d mm/s", p->cfg->id, s->line, conv_line_state_name(s->state),
                 s->speed_mm_s);
    snprintf(p->line_state, sizeof(p->line_state), "%s", conv_line_state_name(s->state));
    p->speed_mm_s = s->speed_mm_s;
    ev->kind = WCS_EVENT_SYSTEM;
    snprintf(ev->location, sizeof(ev->location), "%s", s->line);
    snprintf(ev->reason, sizeof(ev->reason), "%s", conv_line_state_name(s->state));
    snprintf(ev->detail, sizeof(ev->detail), "line state, speed %d mm/s", s->speed_mm_s);
}

static void on_update(struct wcs_plc *p, const struct conv_telegram *t, const char *raw)
{
    uint64_t h = content_hash(raw, conv_link_config(p->link)->telegram_len);
    struct wcs_event ev;
    uint64_t ticket;

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.source, sizeof(ev.source), "%s", p->cfg->id);
    if (seen_has(p->seen, h)) {
        /* A resend: record it, apply nothing, answer DUPLIC__ once durable.
         * Its ticket comes after the original's, so the original is durable
         * by then too. */
        p->stats.duplicates++;
        ev.kind = WCS_EVENT_CONFIRM;
        snprintf(ev.reason, sizeof(ev.reason), "DUPLIC__");
        snprintf(ev.detail, sizeof(ev.detail), "resent %s %05u not applied again",
                 conv_tg_type_name(t->type), t->seq);
        ticket = push_event(p, &ev);
        if (ticket != 0)
            queue_ack(p, ticket, t, true);
        return;
    }
    seen_add(p->seen, h);
    if (t->type == CONV_TG_UPD)
        apply_upd(p, &t->u.upd, &ev);
    else if (t->type == CONV_TG_LOCU)
        apply_locu(p, &t->u.locu, &ev);
    else
        apply_sysu(p, &t->u.sysu, &ev);
    p->stats.updates++;
    ticket = push_event(p, &ev);
    if (ticket == 0) {
        /* Not recorded: no ACK_, so the PLC resends it later. Forget the
         * hash so that resend is applied then. */
        seen_table_delete(p->seen, h);
        return;
    }
    queue_ack(p, ticket, t, false);
}

/* --- link callbacks ------------------------------------------------------ */

static void telegram_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                        void *arg)
{
    struct wcs_plc *p = arg;

    (void)l;
    switch (t->type) {
    case CONV_TG_REQ:
        on_req(p, t);
        break;
    case CONV_TG_UPD:
    case CONV_TG_LOCU:
    case CONV_TG_SYSU:
        on_update(p, t, raw);
        break;
    case CONV_TG_ERR:
        log_warnx("%s: PLC refused our telegram %s %05u: %s %s", p->cfg->id,
                  t->u.err.refused_type, t->u.err.refused_seq, t->u.err.code, t->u.err.text);
        break;
    default:
        log_warnx("%s: unexpected %s from the PLC, ignored", p->cfg->id,
                  conv_tg_type_name(t->type));
        break;
    }
}

static void state_cb(struct conv_link *l, bool up, void *arg)
{
    struct wcs_plc *p = arg;

    (void)l;
    p->gen++;
    log_info("%s: link %s", p->cfg->id, up ? "up" : "down");
}

static void expire_cb(uv_timer_t *t)
{
    struct wcs_plc *p = t->data;

    wcs_tracks_expire(p->tracks, now_us(), TRACK_RETENTION_US);
}

/* --- start / stop -------------------------------------------------------- */

static void plc_free(struct wcs_plc *p)
{
    struct pending_ack *a;

    while ((a = p->acks) != NULL) {
        p->acks = a->next;
        free(a);
    }
    wcs_tracks_free(p->tracks);
    free(p->seen);
    free(p);
}

static int remember_cb(void *arg, const struct wcs_telegram_rec *tg)
{
    struct wcs_plc *p = arg;

    if (tg->direction == 'i' &&
        (strcmp(tg->type, "UPD_") == 0 || strcmp(tg->type, "LOCU") == 0 ||
         strcmp(tg->type, "SYSU") == 0) &&
        tg->raw_len == (size_t)p->cfg->telegram_len)
        seen_add(p->seen, content_hash(tg->raw, tg->raw_len));
    return 0;
}

int wcs_plcs_start(struct wcsd *d, PGconn *c, struct err *e)
{
    int i, rc;

    d->scans = conv_corr_new(256);
    if (d->scans == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    for (i = 0; i < d->cfg.nplcs; i++) {
        const struct wcs_plc_config *pc = &d->cfg.plcs[i];
        struct conv_link_callbacks cbs = {telegram_cb, state_cb, wire_cb};
        struct conv_link_config lc;
        struct wcs_plc *p = calloc(1, sizeof(*p));

        if (p == NULL)
            return err_set(e, -ENOMEM, "out of memory");
        p->d = d;
        p->cfg = pc;
        p->tracks = wcs_tracks_new(TRACKS_CAPACITY);
        p->seen = calloc(1, sizeof(*p->seen));
        snprintf(p->line_state, sizeof(p->line_state), "UNKNOWN");
        p->speed_mm_s = -1;
        if (p->tracks == NULL || p->seen == NULL) {
            plc_free(p);
            return err_set(e, -ENOMEM, "out of memory");
        }
        if (c != NULL &&
            wcs_db_telegrams_list(c, pc->id, now_us() - 3600ll * 1000000, 0, remember_cb, p, e) <
                0) {
            plc_free(p);
            return err_wrap(e, "PLC %s: recent telegrams", pc->id);
        }
        conv_link_config_defaults(&lc);
        snprintf(lc.name, sizeof(lc.name), "%s", pc->id);
        snprintf(lc.local_id, sizeof(lc.local_id), "%s", d->cfg.node);
        snprintf(lc.peer_id, sizeof(lc.peer_id), "%s", pc->id);
        lc.mode = pc->mode == WCS_PLC_CLIENT ? CONV_LINK_CLIENT : CONV_LINK_SERVER;
        snprintf(lc.host, sizeof(lc.host), "%s", pc->host);
        lc.port = pc->port;
        lc.telegram_len = (size_t)pc->telegram_len;
        lc.life_interval_ms = (unsigned)pc->life_interval_ms;
        rc = conv_link_start(&d->loop, &lc, &cbs, p, &p->link, e);
        if (rc < 0) {
            plc_free(p);
            return rc;
        }
        uv_timer_init(&d->loop, &p->expire_timer);
        p->expire_timer.data = p;
        uv_timer_start(&p->expire_timer, expire_cb, 60000, 60000);
        uv_check_init(&d->loop, &p->flush_check);
        p->flush_check.data = p;
        uv_check_start(&p->flush_check, flush_check_cb);
        d->plcs[d->nplcs++] = p;
        log_info("%s: %s %s:%d, L=%d, deadline %d ms", pc->id,
                 pc->mode == WCS_PLC_CLIENT ? "connecting to" : "listening on", pc->host,
                 conv_link_port(p->link), pc->telegram_len, pc->decision_deadline_ms);
    }
    return 0;
}

static void plc_handle_closed(struct wcs_plc *p)
{
    if (--p->closing == 0)
        plc_free(p);
}

static void link_closed_cb(void *arg)
{
    plc_handle_closed(arg);
}

static void timer_closed_cb(uv_handle_t *h)
{
    plc_handle_closed(h->data);
}

void wcs_plcs_stop(struct wcsd *d)
{
    int i;

    for (i = 0; i < d->nplcs; i++) {
        struct wcs_plc *p = d->plcs[i];
        struct pending_req *r;

        flush_deferred(p);
        p->closing = 3;
        for (r = p->reqs; r != NULL; r = r->next) {
            uv_timer_stop(&r->timer);
            uv_close((uv_handle_t *)&r->timer, pending_req_closed_cb);
        }
        p->reqs = NULL;
        uv_close((uv_handle_t *)&p->expire_timer, timer_closed_cb);
        uv_close((uv_handle_t *)&p->flush_check, timer_closed_cb);
        conv_link_stop(p->link, link_closed_cb, p);
        d->plcs[i] = NULL;
    }
    d->nplcs = 0;
}

int wcs_plcs_scan(struct wcsd *d, const struct conv_scan *s, struct err *e)
{
    struct wcs_event ev;
    int rc = conv_corr_add(d->scans, s);

    if (rc < 0)
        return err_set(e, rc, "scan at %s not kept: %s", s->location, err_text(rc));
    memset(&ev, 0, sizeof(ev));
    ev.kind = WCS_EVENT_SCAN;
    ev.at_us = s->at_us;
    snprintf(ev.parcel_code, sizeof(ev.parcel_code), "%s", s->code);
    snprintf(ev.location, sizeof(ev.location), "%s", s->location);
    snprintf(ev.source, sizeof(ev.source), "%s", s->source);
    snprintf(ev.detail, sizeof(ev.detail), "%s", s->symbology);
    if (wcs_event_writer_push(d->writer, &ev) < 0)
        log_warnx("event queue full: scan of %s at %s not logged", s->code, s->location);
    return 0;
}

struct wcs_plc *wcs_plcs_get(struct wcsd *d, int i)
{
    return i >= 0 && i < d->nplcs ? d->plcs[i] : NULL;
}

const char *wcs_plc_id(const struct wcs_plc *p)
{
    return p->cfg->id;
}

bool wcs_plc_connected(const struct wcs_plc *p)
{
    return conv_link_connected(p->link);
}

int wcs_plc_port(const struct wcs_plc *p)
{
    return conv_link_port(p->link);
}

const char *wcs_plc_line_state(const struct wcs_plc *p)
{
    return p->line_state;
}

size_t wcs_plc_in_flight(const struct wcs_plc *p)
{
    return wcs_tracks_count(p->tracks);
}

void wcs_plc_get_stats(const struct wcs_plc *p, struct wcs_plc_stats *out)
{
    *out = p->stats;
}

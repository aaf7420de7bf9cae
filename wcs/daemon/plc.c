/*
 * plc.c - what sorter telegrams mean to the WCS (see plc.h): the ops of
 * wcsd's PLC stations. The session rules (repeats, resends, read windows,
 * ACK_ after durability) are the station's (conveyor/station.c); here each
 * telegram becomes sorter work and events.
 */
#include "wcs/daemon/plc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "wcs/core/figures.h"
#include "wcs/daemon/video_coding.h"
#include "wcs/store/store.h"

#define SCANS_PER_LOCATION 256 /* scans kept per scan point for the read windows */
#define RESEND_MEMORY_US (3600ll * 1000000) /* telegrams read back at start */
#define RECENT_SCANS_US (10ll * 1000000)    /* scans read back at a takeover */

/* One PLC: its station and what its ops need. */
struct plc {
    struct wcs_plcs *all;
    const struct wcs_plc_config *cfg;
    struct conv_station *station;
};

_Static_assert(WCS_SCAN_LOCATIONS_MAX <= CONV_CORR_LOCATIONS_MAX,
               "every configured scan location must get a ring in the correlator");

struct wcs_plcs {
    struct wcs_sorter *sorter;
    struct wcs_event_writer *writer;
    struct wcs_lease *lease;       /* the line's lease: may we answer */
    size_t queue_capacity;         /* the writer's, events */
    struct conv_correlator *scans; /* the WCS's scans by location */
    char locations[WCS_SCAN_LOCATIONS_MAX][21]; /* configured scan locations */
    size_t nlocations;
    struct plc plcs[WCS_PLC_MAX];
    size_t n;
    size_t open;                   /* stations not yet closed */
    struct wcs_figures *figures;   /* the shift's figures, or NULL */
    struct wcs_video_coding *video; /* no-reads and their keyed codes, or NULL */
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Pushes an event; its durability ticket, 0 when the writer refused it. */
static uint64_t push_event(struct plc *p, const struct wcs_event *ev)
{
    uint64_t ticket = 0;

    if (wcs_event_writer_push_t(p->all->writer, ev, &ticket) < 0)
        return 0;
    return ticket;
}

/* The telegram log record of a frame on the wire. */
static void wire_rec(struct plc *p, const struct conv_record *r, struct wcs_telegram_rec *rec)
{
    size_t len = r->wire->len < WCS_TELEGRAM_RAW_MAX ? r->wire->len : WCS_TELEGRAM_RAW_MAX;

    memset(rec, 0, sizeof(*rec));
    rec->at_us = r->at_us;
    snprintf(rec->plc, sizeof(rec->plc), "%s", p->cfg->id);
    rec->direction = r->wire->outgoing ? 'o' : 'i';
    snprintf(rec->type, sizeof(rec->type), "%s", r->wire->type_text);
    rec->seq = r->wire->seq;
    rec->refused = r->wire->refused;
    memcpy(rec->raw, r->wire->raw, len);
    rec->raw_len = len;
}

/* --- decide ---------------------------------------------------------------- */

static void decide_op(void *arg, const struct conv_req *req, const char *const *codes,
                      size_t ncodes, unsigned recirculations, struct conv_answer *out)
{
    struct plc *p = arg;
    struct wcs_sorter *s = p->all->sorter;
    struct wcs_decide_input m;
    struct wcs_decision dec;
    const char *keyed;
    struct err e;
    uint64_t t0;

    /* A parcel that comes round unread gets the code an operator keyed in
     * for it (video coding) as if a scanner had read it. */
    if (ncodes == 0 && recirculations > 0 && p->all->video != NULL &&
        (keyed = wcs_video_coding_keyed(p->all->video, req->tracking)) != NULL && keyed[0]) {
        codes = &keyed;
        ncodes = 1;
    } else {
        keyed = NULL;
    }
    memset(&m, 0, sizeof(m));
    m.weight_g = req->weight_g > 0 ? (uint32_t)req->weight_g : 0;
    m.length_mm = req->length_mm > 0 ? (uint16_t)req->length_mm : 0;
    m.width_mm = req->width_mm > 0 ? (uint16_t)req->width_mm : 0;
    m.height_mm = req->height_mm > 0 ? (uint16_t)req->height_mm : 0;
    m.recirculations = recirculations;
    t0 = uv_hrtime();
    if (wcs_sorter_decide(s, codes, ncodes, &m, true, &dec, &e) < 0) {
        /* No plan active: the PLC sends the parcel to its default exit. */
        log_warnx("%s: %s: %s", p->cfg->id, req->tracking, e.msg);
        out->reason = CONV_REASON_TIMEOUT;
        snprintf(out->note, sizeof(out->note), "no plan active");
        return;
    }
    /* The code decided on goes back in the RES_; with none, a no-read. */
    if (dec.read >= 0)
        snprintf(out->code, sizeof(out->code), "%s", codes[dec.read]);
    else if (dec.parcel != NULL && ncodes == 1)
        snprintf(out->code, sizeof(out->code), "%s", codes[0]);
    snprintf(out->destination, sizeof(out->destination), "%s", dec.destination);
    out->reason = dec.reason;
    out->ref = dec.chute;
    /* The rule that matched, so the parcel's trace says why it went there. */
    if (dec.rule >= 0)
        snprintf(out->note, sizeof(out->note), "route %s plan v%d rule line %d%s",
                 wcs_sorter_route_id(s, dec.route), wcs_sorter_plan_version(s),
                 wcs_plan_rule(wcs_sorter_plan(s), (size_t)dec.rule)->line,
                 dec.fallback ? " fallback" : "");
    else if (ncodes == 0)
        snprintf(out->note, sizeof(out->note), "nothing read at %.20s plan v%d", req->location,
                 wcs_sorter_plan_version(s));
    else
        snprintf(out->note, sizeof(out->note), "route %s plan v%d",
                 wcs_sorter_route_id(s, dec.route), wcs_sorter_plan_version(s));
    if (keyed != NULL) {
        size_t len = strlen(out->note);

        snprintf(out->note + len, sizeof(out->note) - len, " keyed");
        wcs_video_coding_resolved(p->all->video, req->tracking, dec.destination);
    } else if (dec.reason == CONV_REASON_NOREAD && p->all->video != NULL) {
        /* The frames of its read window: decided now, read_window_after_ms
         * after its REQ_. Recorded on its first round; a later round's
         * frames are only cleared away (its row and images exist). */
        int64_t t = now_us();

        wcs_video_coding_noread(
            p->all->video, req->tracking, req->location,
            t - 1000ll * (p->cfg->read_window_before_ms + p->cfg->read_window_after_ms), t, t,
            recirculations == 0);
    }
    if (p->all->figures != NULL)
        wcs_figures_decision(p->all->figures, now_us(), dec.reason, dec.route,
                             wcs_sorter_plan_version(s), recirculations, uv_hrtime() - t0);
}

void wcs_plcs_set_figures(struct wcs_plcs *all, struct wcs_figures *f)
{
    all->figures = f;
}

void wcs_plcs_set_video_coding(struct wcs_plcs *all, struct wcs_video_coding *v)
{
    all->video = v;
}

/* --- apply: UPD_, LOCU, SYSU ---------------------------------------------- */

static void apply_upd(struct plc *p, const struct conv_upd *u, const struct conv_track *tr,
                      struct wcs_event *ev)
{
    const char *code = u->barcode_kind == CONV_BARCODE_CODE ? u->barcode : "";

    ev->kind = WCS_EVENT_CONFIRM;
    snprintf(ev->parcel_code, sizeof(ev->parcel_code), "%s",
             tr != NULL && tr->code[0] ? tr->code : code);
    snprintf(ev->location, sizeof(ev->location), "%s", u->location);
    snprintf(ev->chute, sizeof(ev->chute), "%s", u->event == CONV_UPD_SORTED ? u->location : "");
    snprintf(ev->reason, sizeof(ev->reason), "%s", conv_upd_event_name(u->event));
    snprintf(ev->detail, sizeof(ev->detail), "tracking %s answered %s", u->tracking,
             tr != NULL && tr->destination[0] ? tr->destination : "-");
    /* It did not reach the chute counted for it (it comes round, or is gone). */
    if (u->event != CONV_UPD_SORTED && tr != NULL && tr->ref >= 0)
        wcs_engine_chute_uncount(wcs_sorter_engine(p->all->sorter), (size_t)tr->ref);
}

static void apply_locu(struct plc *p, const struct conv_locu *l, struct wcs_event *ev)
{
    static const enum wcs_chute_state map[CONV_LOC_COUNT] = {
        [CONV_LOC_ACTIVE] = WCS_CHUTE_ACTIVE, [CONV_LOC_FULL] = WCS_CHUTE_FULL,
        [CONV_LOC_DISABLED] = WCS_CHUTE_DISABLED, [CONV_LOC_FAULT] = WCS_CHUTE_FAULT};

    if (wcs_engine_set_chute_state(wcs_sorter_engine(p->all->sorter), l->location,
                                   map[l->state]) < 0)
        log_warnx("%s: LOCU for %s, which the active sort plan does not have", p->cfg->id,
                  l->location);
    ev->kind = WCS_EVENT_SYSTEM;
    snprintf(ev->chute, sizeof(ev->chute), "%s", l->location);
    snprintf(ev->location, sizeof(ev->location), "%s", l->location);
    snprintf(ev->reason, sizeof(ev->reason), "%s", conv_loc_state_name(l->state));
    snprintf(ev->detail, sizeof(ev->detail), "chute state");
}

static void apply_sysu(const struct conv_sysu *s, struct wcs_event *ev)
{
    ev->kind = WCS_EVENT_SYSTEM;
    snprintf(ev->location, sizeof(ev->location), "%s", s->line);
    snprintf(ev->reason, sizeof(ev->reason), "%s", conv_line_state_name(s->state));
    snprintf(ev->detail, sizeof(ev->detail), "line state, speed %d mm/s", s->speed_mm_s);
}

/* Records the received telegram and the event it caused as one group: both
 * durable, or neither (a restart must never find the telegram in the log
 * without its event: the PLC's resend would be answered DUPLIC__ and the
 * event lost). Returns the group's ticket, 0 when the writer refused it. */
static uint64_t apply_op(void *arg, const struct conv_telegram *t, const struct conv_record *wire,
                         const struct conv_track *tr, bool resend)
{
    struct plc *p = arg;
    struct wcs_telegram_rec rec;
    struct wcs_record group[2];
    struct wcs_event ev;
    uint64_t ticket = 0;
    size_t n = 0;

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.source, sizeof(ev.source), "%s", p->cfg->id);
    if (resend) {
        ev.kind = WCS_EVENT_CONFIRM;
        snprintf(ev.reason, sizeof(ev.reason), "DUPLIC__");
        snprintf(ev.detail, sizeof(ev.detail), "resent %s %05u not applied again",
                 conv_tg_type_name(t->type), t->seq);
    } else if (t->type == CONV_TG_UPD) {
        apply_upd(p, &t->u.upd, tr, &ev);
    } else if (t->type == CONV_TG_LOCU) {
        apply_locu(p, &t->u.locu, &ev);
    } else {
        apply_sysu(&t->u.sysu, &ev);
    }
    if (wire != NULL) {
        wire_rec(p, wire, &rec);
        group[n++] = (struct wcs_record){.tg = &rec};
    }
    group[n++] = (struct wcs_record){.ev = &ev};
    if (wcs_event_writer_push_group(p->all->writer, group, n, &ticket) < 0)
        return 0;
    return ticket;
}

/* --- record: the telegram log and decisions -------------------------------- */

static uint64_t record_op(void *arg, const struct conv_record *r)
{
    struct plc *p = arg;
    uint64_t ticket = 0;

    if (r->kind == CONV_RECORD_WIRE) {
        struct wcs_telegram_rec rec;

        wire_rec(p, r, &rec);
        if (wcs_event_writer_push_telegram(p->all->writer, &rec, &ticket) < 0)
            return 0;
        return ticket;
    } else {
        const struct conv_answer *a = r->answer;
        struct wcs_event ev;

        memset(&ev, 0, sizeof(ev));
        ev.kind = WCS_EVENT_DECISION;
        ev.at_us = r->at_us;
        snprintf(ev.parcel_code, sizeof(ev.parcel_code), "%s", a->code);
        snprintf(ev.location, sizeof(ev.location), "%s", r->req->location);
        snprintf(ev.chute, sizeof(ev.chute), "%s", a->destination);
        snprintf(ev.reason, sizeof(ev.reason), "%s", conv_reason_code(a->reason));
        snprintf(ev.source, sizeof(ev.source), "%s", p->cfg->id);
        snprintf(ev.detail, sizeof(ev.detail), "tracking %s %s recirc %u", r->req->tracking,
                 a->note, r->recirculations);
        return push_event(p, &ev);
    }
}

static uint64_t durable_op(void *arg)
{
    struct plc *p = arg;

    return wcs_event_writer_durable(p->all->writer);
}

static bool may_act_op(void *arg)
{
    struct plc *p = arg;

    return p->all->lease == NULL || wcs_lease_may_act(p->all->lease);
}

static const struct conv_station_ops station_ops = {
    .decide = decide_op,
    .apply = apply_op,
    .record = record_op,
    .durable = durable_op,
    .may_act = may_act_op,
};

/* --- start / stop ---------------------------------------------------------- */

static int remember_cb(void *arg, const struct wcs_telegram_rec *tg)
{
    struct plc *p = arg;

    conv_station_remember(p->station, tg->raw, tg->raw_len);
    return 0;
}

static void station_config(const struct wcs_config *cfg, const struct wcs_plc_config *pc,
                           struct conv_station_config *sc)
{
    struct conv_link_config *lc = &sc->link;

    memset(sc, 0, sizeof(*sc));
    conv_link_config_defaults(lc);
    snprintf(lc->name, sizeof(lc->name), "%s", pc->id);
    snprintf(lc->local_id, sizeof(lc->local_id), "%s", cfg->node);
    snprintf(lc->peer_id, sizeof(lc->peer_id), "%s", pc->id);
    lc->mode = pc->mode == WCS_PLC_CLIENT ? CONV_LINK_CLIENT : CONV_LINK_SERVER;
    snprintf(lc->host, sizeof(lc->host), "%s", pc->host);
    lc->port = pc->port;
    lc->telegram_len = (size_t)pc->telegram_len;
    lc->life_interval_ms = (unsigned)pc->life_interval_ms;
    memcpy(lc->allow, pc->allow, sizeof(lc->allow));
    lc->nallow = pc->nallow;
    sc->decision_deadline_ms = (unsigned)pc->decision_deadline_ms;
    sc->read_window_before_ms = (unsigned)pc->read_window_before_ms;
    sc->read_window_after_ms = (unsigned)pc->read_window_after_ms;
    sc->ops = &station_ops;
}

static void add_location(struct wcs_plcs *all, const char *location)
{
    if (all->nlocations == WCS_SCAN_LOCATIONS_MAX || wcs_plcs_scan_location_known(all, location))
        return;
    snprintf(all->locations[all->nlocations++], sizeof(all->locations[0]), "%s", location);
}

/* The configured scan locations (the config loader bounds their number). */
static void scan_locations(struct wcs_plcs *all, const struct wcs_config *cfg)
{
    int i, j;

    for (i = 0; i < cfg->nplcs; i++)
        for (j = 0; j < cfg->plcs[i].nlocations; j++)
            add_location(all, cfg->plcs[i].locations[j]);
    for (i = 0; i < cfg->nscanners; i++)
        add_location(all, cfg->scanners[i].location);
    for (i = 0; i < cfg->cameras.nsources; i++)
        add_location(all, cfg->cameras.sources[i].location);
}

int wcs_plcs_new(const struct wcs_config *cfg, struct wcs_sorter *sorter,
                 struct wcs_event_writer *writer, struct wcs_lease *lease, struct wcs_plcs **out,
                 struct err *e)
{
    struct wcs_plcs *all = calloc(1, sizeof(*all));

    *out = all;
    if (all == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    all->sorter = sorter;
    all->writer = writer;
    all->lease = lease;
    all->queue_capacity = cfg->events.queue_capacity;
    scan_locations(all, cfg);
    all->scans = conv_corr_new(SCANS_PER_LOCATION);
    if (all->scans == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}

static int recent_scan_cb(void *arg, const struct wcs_event *ev)
{
    struct wcs_plcs *all = arg;
    struct conv_scan s;

    if (!wcs_plcs_scan_location_known(all, ev->location))
        return 0;
    memset(&s, 0, sizeof(s));
    snprintf(s.location, sizeof(s.location), "%s", ev->location);
    snprintf(s.code, sizeof(s.code), "%s", ev->parcel_code);
    snprintf(s.source, sizeof(s.source), "%s", ev->source);
    snprintf(s.symbology, sizeof(s.symbology), "%.3s", ev->detail);
    s.at_us = ev->at_us;
    conv_corr_add(all->scans, &s);
    return 0;
}

/* A chute's state as the line's PLC last reported it ("FULL____"). */
static int chute_state_cb(void *arg, const char *chute, const char *reason)
{
    struct wcs_plcs *all = arg;
    enum wcs_chute_state st;
    char name[16];

    snprintf(name, sizeof(name), "%.*s", (int)strcspn(reason, "_"), reason);
    if (wcs_chute_state_parse(name, &st) == 0)
        wcs_engine_set_chute_state(wcs_sorter_engine(all->sorter), chute, st);
    return 0;
}

int wcs_plcs_open(struct wcs_plcs *all, uv_loop_t *loop, const struct wcs_config *cfg, PGconn *c,
                  struct err *e)
{
    int i, rc;

    /* The chutes as the PLC last reported them (to this wcsd or the one
     * before it): a FULL chute stays full across a restart or a takeover. */
    rc = c != NULL ? wcs_db_chute_states(c, cfg->events.node_id, chute_state_cb, all, e) : 0;
    if (rc < 0)
        return err_wrap(e, rc, "chute states");

    /* The line's scans of the last seconds, as the previous active logged
     * them: a request now still finds what was read just before. */
    rc = c != NULL ? wcs_db_recent_scans(c, cfg->events.node_id, now_us() - RECENT_SCANS_US,
                                         recent_scan_cb, all, e)
                   : 0;
    if (rc < 0)
        return err_wrap(e, rc, "recent scans");
    for (i = 0; i < cfg->nplcs; i++) {
        const struct wcs_plc_config *pc = &cfg->plcs[i];
        struct plc *p = &all->plcs[all->n];
        struct conv_station_config sc;

        p->all = all;
        p->cfg = pc;
        station_config(cfg, pc, &sc);
        sc.scans = all->scans;
        sc.arg = p;
        rc = conv_station_start(loop, &sc, &p->station, e);
        if (rc < 0)
            return rc;
        all->n++;
        all->open++;
        rc = c != NULL ? wcs_db_telegrams_list(c, (int)cfg->events.node_id, pc->id,
                                               now_us() - RESEND_MEMORY_US, 0,
                                               remember_cb, p, e)
                       : 0;
        if (rc < 0)
            return err_wrap(e, rc, "PLC %s: recent telegrams", pc->id);
        if (pc->mode == WCS_PLC_SERVER && pc->nallow == 0)
            log_warnx("%s: no plcs[].allow list: any host that reaches port %d can be this PLC "
                      "and push it aside; list the PLC's address",
                      pc->id, conv_station_port(p->station));
        log_info("%s: %s %s:%d, L=%d, deadline %d ms", pc->id,
                 pc->mode == WCS_PLC_CLIENT ? "connecting to" : "listening on", pc->host,
                 conv_station_port(p->station), pc->telegram_len, pc->decision_deadline_ms);
    }
    return 0;
}

static void plcs_free(struct wcs_plcs *all)
{
    conv_corr_free(all->scans);
    free(all);
}

static void station_closed_cb(void *arg)
{
    struct wcs_plcs *all = arg;

    if (--all->open == 0)
        plcs_free(all);
}

void wcs_plcs_stop(struct wcs_plcs *all)
{
    size_t i;

    if (all == NULL)
        return;
    if (all->open == 0) {
        plcs_free(all);
        return;
    }
    for (i = 0; i < all->n; i++)
        conv_station_stop(all->plcs[i].station, station_closed_cb, all);
}

void wcs_plcs_durable(struct wcs_plcs *all)
{
    size_t i;

    for (i = 0; i < all->n; i++)
        conv_station_durable(all->plcs[i].station);
}

bool wcs_plcs_scan_location_known(const struct wcs_plcs *all, const char *location)
{
    size_t i;

    for (i = 0; i < all->nlocations; i++)
        if (strcmp(all->locations[i], location) == 0)
            return true;
    return false;
}

bool wcs_plcs_scan_room(const struct wcs_plcs *all, size_t n)
{
    struct wcs_event_writer_stats ws;

    if (all->writer == NULL)
        return true;
    wcs_event_writer_stats(all->writer, &ws);
    return (all->queue_capacity == 0 || ws.queued + n <= all->queue_capacity / 2) &&
           !ws.spool_alarm;
}

int wcs_plcs_scan(struct wcs_plcs *all, const struct conv_scan *s, struct err *e)
{
    struct wcs_event ev;
    int rc;

    if (!wcs_plcs_scan_location_known(all, s->location))
        return err_set(e, ERR_NOTFOUND, "scan at %s not kept: not a configured scan location",
                       s->location);
    if (!wcs_plcs_scan_room(all, 1))
        return err_set(e, ERR_FULL, "scan at %s not kept: the event log has no room for scans",
                       s->location);
    rc = conv_corr_add(all->scans, s);
    if (rc < 0)
        return err_set(e, rc, "scan at %s not kept: %s", s->location, err_text(rc));
    /* A standby keeps the scans for its read windows (scanners may send to
     * both wcsd of a line); the line's log is the active one's. */
    if (all->lease != NULL && !wcs_lease_may_act(all->lease))
        return 0;
    memset(&ev, 0, sizeof(ev));
    ev.kind = WCS_EVENT_SCAN;
    ev.at_us = s->at_us;
    snprintf(ev.parcel_code, sizeof(ev.parcel_code), "%s", s->code);
    snprintf(ev.location, sizeof(ev.location), "%s", s->location);
    snprintf(ev.source, sizeof(ev.source), "%s", s->source);
    snprintf(ev.detail, sizeof(ev.detail), "%s", s->symbology);
    if (wcs_event_writer_push(all->writer, &ev) < 0)
        log_warnx("event queue full: scan of %s at %s not logged", s->code, s->location);
    return 0;
}

size_t wcs_plcs_count(const struct wcs_plcs *all)
{
    return all != NULL ? all->n : 0;
}

const struct conv_station *wcs_plcs_station(const struct wcs_plcs *all, size_t i)
{
    return i < wcs_plcs_count(all) ? all->plcs[i].station : NULL;
}

/*
 * sim.c - the line emulator's simulation core (see sim.h): parcels, chutes,
 * the event queue of the virtual clock, the outbox of telegrams awaiting
 * ACK_, and the matching of RES_/ACK_ to what was sent.
 *
 * DESIGN. Everything that happens on the line is an event with a virtual due
 * time in a binary heap (ties broken by insertion order, so a run is
 * deterministic). An event that refers to a parcel carries the parcel's
 * generation number; any change of the parcel's state bumps it, so an event
 * made stale (a timeout after the answer came) is recognised and dropped
 * instead of being searched out of the heap. Sequence numbers of the current
 * connection map straight to what was sent with them through a table of
 * CONV_TG_SEQ_MAX + 1 slots: the link's numbering wraps at 99999, so the
 * table never grows.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conveyor/linesim/sim.h"

/* --- references handed to the shell --------------------------------------
 * ref = kind << 56 | pass << 32 | index. */
enum ref_kind { REF_NONE = 0, REF_REQ, REF_OUTBOX, REF_DUP };

static uint64_t ref_make(enum ref_kind k, uint32_t pass, uint32_t idx)
{
    return ((uint64_t)k << 56) | ((uint64_t)(pass & 0xffffff) << 32) | idx;
}
static enum ref_kind ref_kind(uint64_t r)
{
    return (enum ref_kind)(r >> 56);
}
static uint32_t ref_pass(uint64_t r)
{
    return (uint32_t)((r >> 32) & 0xffffff);
}
static uint32_t ref_idx(uint64_t r)
{
    return (uint32_t)r;
}

/* --- parcels ------------------------------------------------------------ */

enum pstate { P_AWAIT = 0, P_TRAVEL, P_FINAL };

struct parcel {
    uint32_t item;        /* index into items */
    uint32_t gen;         /* bumped on every state change (stale events) */
    uint32_t pass;        /* 1 on the first pass, +1 per time round */
    uint8_t state;        /* enum pstate */
    uint8_t final;        /* enum conv_sim_final when P_FINAL */
    bool unreadable;      /* label never reads */
    bool lost, removed;   /* fate on the way to the first exit */
    bool timed_out;       /* this pass went to the default exit for lack of an answer */
    bool force_reject;    /* past max_passes: default exit, REJECTED */
    bool noread_answer;   /* this pass was answered NOREAD__ */
    bool noread_round;    /* it went round once for that (noread_recirc) */
    int32_t target;       /* chute index, -1 = default exit */
    uint64_t scan_us;     /* virtual time of this pass's REQ_ */
    uint64_t req_real_ns; /* real time the first REQ_ of this pass left, 0 = not yet */
    enum conv_barcode bk; /* what this pass's reader saw */
    char bc[CONV_SIM_ID_MAX + 1];
};

/* --- events --------------------------------------------------------------- */

enum ev_kind { EV_INDUCT = 0, EV_TIMEOUT, EV_REPEAT, EV_ARRIVE, EV_RETURN, EV_EMPTY };

struct event {
    uint64_t due_us;
    uint64_t order; /* insertion order: ties run first-in first-out */
    uint32_t kind;
    uint32_t idx; /* parcel or chute index */
    uint32_t gen; /* parcel generation when scheduled */
};

/* --- outbox --------------------------------------------------------------- */

enum ob_state { OB_QUEUED = 0, OB_SENT, OB_UNSENT, OB_ACKED };

struct obentry {
    struct conv_telegram tg;
    uint8_t state;
};

struct chute {
    uint32_t load; /* parcels since last emptied */
    bool full;
    uint64_t sorted;
};

struct conv_sim {
    struct conv_sim_config cfg;
    struct conv_sim_item *items;
    size_t nitems;
    uint64_t now_us;
    uint64_t rng;
    uint64_t interval_us; /* between two inductions */
    bool induction_done;
    bool link_up;

    struct parcel *parcels;
    size_t nparcels, capparcels;
    uint64_t finished;

    struct event *heap;
    size_t nheap, capheap;
    uint64_t order;

    struct chute *chutes;

    struct obentry *ob; /* ob[0..nob-1] hold ids ob_base..ob_base+nob-1 */
    struct conv_sim_acked *acked; /* journal of acknowledged UPD_s */
    size_t nacked, capacked;
    size_t nob, capob;
    uint64_t ob_base;
    size_t unacked;

    struct conv_sim_out *outq;
    size_t outhead, nout, capout;

    uint64_t *seqref; /* [CONV_TG_SEQ_MAX + 1]: ref sent with that seq */

    uint64_t *lat_us; /* REQ_ -> RES_ round trips, microseconds */
    size_t nlat, caplat;

    struct conv_sim_stats st;
};

/* --- small helpers -------------------------------------------------------- */

/* splitmix64: small, fast, and the same sequence on every platform. */
static uint64_t rng_next(struct conv_sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* True with probability p. Always draws once, so the number of draws does
 * not depend on the ratios and runs stay comparable across settings. */
static bool chance(struct conv_sim *s, double p)
{
    double u = (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);

    return u < p;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *np;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    np = realloc(*p, ncap * elem);
    if (np == NULL)
        return -ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

/* Out of memory inside the simulation is a broken invariant of the run,
 * not bad input: the emulator cannot go on telling the truth. */
static void oom(void)
{
    fprintf(stderr, "wcs-linesim: out of memory\n");
    abort();
}

static uint64_t travel_us(const struct conv_sim *s, uint64_t mm)
{
    return mm * 1000000ULL / s->cfg.belt_speed_mm_s;
}

static void copy_id(char *dst, const char *src)
{
    snprintf(dst, CONV_SIM_ID_MAX + 1, "%s", src);
}

static void tg_time(const struct conv_sim *s, char out[15])
{
    conv_tg_time(s->cfg.epoch_unix_s + (int64_t)(s->now_us / 1000000ULL), out);
}

static const char *target_id(const struct conv_sim *s, int32_t target)
{
    return target < 0 ? s->cfg.default_exit : s->cfg.chutes[target].id;
}

/* --- event heap ------------------------------------------------------------ */

static bool ev_before(const struct event *a, const struct event *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->order < b->order);
}

static void schedule(struct conv_sim *s, uint64_t due_us, enum ev_kind kind, uint32_t idx,
                     uint32_t gen)
{
    size_t i;

    if (grow((void **)&s->heap, &s->capheap, s->nheap + 1, sizeof(*s->heap)) < 0)
        oom();
    i = s->nheap++;
    s->heap[i] = (struct event){due_us, s->order++, kind, idx, gen};
    while (i > 0) {
        size_t up = (i - 1) / 2;
        struct event t;

        if (!ev_before(&s->heap[i], &s->heap[up]))
            break;
        t = s->heap[up];
        s->heap[up] = s->heap[i];
        s->heap[i] = t;
        i = up;
    }
}

static struct event heap_pop(struct conv_sim *s)
{
    struct event top = s->heap[0];
    size_t i = 0;

    s->heap[0] = s->heap[--s->nheap];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct event t;

        if (l < s->nheap && ev_before(&s->heap[l], &s->heap[m]))
            m = l;
        if (r < s->nheap && ev_before(&s->heap[r], &s->heap[m]))
            m = r;
        if (m == i)
            break;
        t = s->heap[m];
        s->heap[m] = s->heap[i];
        s->heap[i] = t;
        i = m;
    }
    return top;
}

/* --- outputs and outbox ---------------------------------------------------- */

static struct conv_sim_out *out_push(struct conv_sim *s)
{
    struct conv_sim_out *o;

    if (s->outhead > 0 && s->outhead == s->nout) {
        s->outhead = s->nout = 0;
    } else if (s->outhead > 1024 && s->outhead * 2 > s->nout) {
        memmove(s->outq, s->outq + s->outhead, (s->nout - s->outhead) * sizeof(*s->outq));
        s->nout -= s->outhead;
        s->outhead = 0;
    }
    if (grow((void **)&s->outq, &s->capout, s->nout + 1, sizeof(*s->outq)) < 0)
        oom();
    o = &s->outq[s->nout++];
    memset(o, 0, sizeof(*o));
    return o;
}

static struct obentry *ob_get(struct conv_sim *s, uint64_t id)
{
    if (id < s->ob_base || id - s->ob_base >= s->nob)
        return NULL;
    return &s->ob[id - s->ob_base];
}

/* Drops acknowledged entries from the front so the outbox holds only what
 * still matters (plus acknowledged holes behind an older unacked one). */
static void ob_compact(struct conv_sim *s)
{
    size_t k = 0;

    while (k < s->nob && s->ob[k].state == OB_ACKED)
        k++;
    if (k == 0 || (k < 1024 && k < s->nob))
        return;
    memmove(s->ob, s->ob + k, (s->nob - k) * sizeof(*s->ob));
    s->nob -= k;
    s->ob_base += k;
}

static void ob_queue(struct conv_sim *s, uint64_t id, enum ref_kind k)
{
    struct conv_sim_out *o = out_push(s);
    struct obentry *en = ob_get(s, id);

    o->kind = CONV_SIM_OUT_TELEGRAM;
    o->ref = ref_make(k, 0, (uint32_t)id);
    o->tg = en->tg;
}

/* Adds a telegram that needs an ACK_ and queues it (twice under the
 * duplicate fault, for UPD_ and LOCU). */
static void ob_add(struct conv_sim *s, const struct conv_telegram *tg)
{
    uint64_t id;
    bool dup;

    if (grow((void **)&s->ob, &s->capob, s->nob + 1, sizeof(*s->ob)) < 0)
        oom();
    id = s->ob_base + s->nob;
    s->ob[s->nob].tg = *tg;
    s->ob[s->nob].state = OB_QUEUED;
    s->nob++;
    s->unacked++;
    /* ids are kept in 32 bits of a ref: a run of four billion telegrams is
     * far beyond any emulated shift. */
    ob_queue(s, id, REF_OUTBOX);
    dup = chance(s, s->cfg.dup_ratio);
    if (dup && tg->type != CONV_TG_SYSU) {
        ob_queue(s, id, REF_DUP);
        s->st.faults.duplicated++;
    }
}

static void send_upd(struct conv_sim *s, struct parcel *p, const char *loc, enum conv_upd_event ev)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_UPD;
    snprintf(t.u.upd.tracking, sizeof(t.u.upd.tracking), "%010" PRIu64,
             s->cfg.tracking_base + (uint64_t)(p - s->parcels));
    copy_id(t.u.upd.location, loc);
    t.u.upd.barcode_kind = p->bk;
    if (p->bk == CONV_BARCODE_CODE)
        copy_id(t.u.upd.barcode, p->bc);
    t.u.upd.event = ev;
    tg_time(s, t.u.upd.time);
    ob_add(s, &t);
}

static void send_locu(struct conv_sim *s, size_t c, enum conv_loc_state st)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_LOCU;
    copy_id(t.u.locu.location, s->cfg.chutes[c].id);
    t.u.locu.state = st;
    tg_time(s, t.u.locu.time);
    ob_add(s, &t);
}

static void send_sysu(struct conv_sim *s, enum conv_line_state st)
{
    struct conv_telegram t;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_SYSU;
    copy_id(t.u.sysu.line, s->cfg.line_id);
    t.u.sysu.state = st;
    t.u.sysu.speed_mm_s = (int32_t)s->cfg.belt_speed_mm_s;
    tg_time(s, t.u.sysu.time);
    ob_add(s, &t);
}

static void send_req(struct conv_sim *s, struct parcel *p)
{
    const struct conv_sim_item *it = &s->items[p->item];
    struct conv_sim_out *o = out_push(s);
    struct conv_req *r = &o->tg.u.req;
    uint32_t idx = (uint32_t)(p - s->parcels);

    o->kind = CONV_SIM_OUT_TELEGRAM;
    o->ref = ref_make(REF_REQ, p->pass, idx);
    o->tg.type = CONV_TG_REQ;
    snprintf(r->tracking, sizeof(r->tracking), "%010" PRIu64, s->cfg.tracking_base + idx);
    copy_id(r->location, s->cfg.scan_location);
    r->barcode_kind = p->bk;
    if (p->bk == CONV_BARCODE_CODE)
        copy_id(r->barcode, p->bc);
    r->weight_g = it->weight_g;
    r->length_mm = it->length_mm;
    r->width_mm = it->width_mm;
    r->height_mm = it->height_mm;
    tg_time(s, r->time);
}

/* --- parcel life ------------------------------------------------------------ */

static void finish(struct conv_sim *s, struct parcel *p, enum conv_sim_final f)
{
    p->state = P_FINAL;
    p->final = (uint8_t)f;
    p->gen++;
    s->finished++;
    s->st.final[f]++;
}

/* A corrupted read: one character of the code replaced, as a smudged label
 * or a reflection gives; it breaks the S10 check digit or the prefix. */
static void misread(struct conv_sim *s, char *bc)
{
    size_t n = strlen(bc), i;

    if (n == 0)
        return;
    i = (size_t)(rng_next(s) % n);
    bc[i] = bc[i] == '7' ? '1' : '7';
}

/* The parcel is at the scan point: read its label and ask the WCS. */
static void scan(struct conv_sim *s, struct parcel *p)
{
    const struct conv_sim_item *it = &s->items[p->item];
    bool noread = chance(s, s->cfg.noread_ratio);
    bool bad = chance(s, s->cfg.misread_ratio);
    bool noscan = chance(s, s->cfg.noscan_ratio);
    bool repeat = chance(s, s->cfg.req_repeat_ratio);

    s->st.passes++;
    p->state = P_AWAIT;
    p->gen++;
    p->timed_out = false;
    p->scan_us = s->now_us;
    p->req_real_ns = 0;
    p->target = -1;
    p->bc[0] = '\0';
    if (p->unreadable || noread) {
        p->bk = CONV_BARCODE_NOREAD;
        s->st.noreads++;
    } else {
        p->bk = CONV_BARCODE_CODE;
        copy_id(p->bc, it->code);
        if (bad) {
            misread(s, p->bc);
            s->st.misreads++;
        }
    }
    if (noscan) {
        /* No PLC reader: what the tunnel read goes to the WCS's scan API
         * first, then the REQ_ asks with an absent barcode (spec
         * "Correlation"). A no-read posts nothing. */
        s->st.faults.noscan++;
        if (p->bk == CONV_BARCODE_CODE) {
            struct conv_sim_out *o = out_push(s);

            o->kind = CONV_SIM_OUT_SCAN;
            copy_id(o->location, s->cfg.scan_location);
            copy_id(o->code, p->bc);
            s->st.scans_posted++;
        }
        p->bk = CONV_BARCODE_ABSENT;
    }
    send_req(s, p);
    schedule(s, s->now_us + (uint64_t)s->cfg.plc_timeout_ms * 1000, EV_TIMEOUT,
             (uint32_t)(p - s->parcels), p->gen);
    if (repeat)
        schedule(s, s->now_us + (uint64_t)s->cfg.plc_timeout_ms * 500, EV_REPEAT,
                 (uint32_t)(p - s->parcels), p->gen);
}

static void travel_to(struct conv_sim *s, struct parcel *p, int32_t target)
{
    uint64_t mm = target < 0 ? s->cfg.default_exit_mm : s->cfg.chutes[target].distance_mm;
    uint64_t due = p->scan_us + travel_us(s, mm);

    p->state = P_TRAVEL;
    p->target = target;
    p->gen++;
    schedule(s, due > s->now_us ? due : s->now_us, EV_ARRIVE, (uint32_t)(p - s->parcels), p->gen);
}

/* The parcel went past the exit at from_mm and stays on the loop. */
static void recirculate(struct conv_sim *s, struct parcel *p, uint64_t from_mm)
{
    uint64_t rest = s->cfg.loop_mm > from_mm ? s->cfg.loop_mm - from_mm : 0;

    p->state = P_TRAVEL;
    p->gen++;
    schedule(s, s->now_us + travel_us(s, rest), EV_RETURN, (uint32_t)(p - s->parcels), p->gen);
}

static void induct(struct conv_sim *s)
{
    struct parcel *p;
    uint64_t k = s->st.inducted;

    if (grow((void **)&s->parcels, &s->capparcels, s->nparcels + 1, sizeof(*s->parcels)) < 0)
        oom();
    p = &s->parcels[s->nparcels++];
    memset(p, 0, sizeof(*p));
    p->item = (uint32_t)(k % s->nitems);
    p->pass = 1;
    p->unreadable = chance(s, s->cfg.unreadable_ratio);
    p->lost = chance(s, s->cfg.lost_ratio);
    p->removed = chance(s, s->cfg.removed_ratio);
    s->st.inducted++;
    scan(s, p);

    k = s->st.inducted;
    if ((s->cfg.count && k >= s->cfg.count) || k >= 0xffffffffULL ||
        (s->cfg.duration_ms && k * s->interval_us >= s->cfg.duration_ms * 1000ULL))
        s->induction_done = true;
    else
        schedule(s, k * s->interval_us, EV_INDUCT, 0, 0);
}

static void on_timeout(struct conv_sim *s, struct parcel *p)
{
    /* Spec "Deadline": the PLC never waits longer; the parcel goes to the
     * line's default exit. */
    s->st.plc_timeouts++;
    p->timed_out = true;
    travel_to(s, p, -1);
}

static void on_arrive(struct conv_sim *s, struct parcel *p)
{
    const char *loc = target_id(s, p->target);
    struct conv_sim_chute_config *cc;
    struct chute *ch;

    if (p->lost) {
        send_upd(s, p, loc, CONV_UPD_LOST);
        finish(s, p, CONV_SIM_LOST);
        return;
    }
    if (p->removed) {
        send_upd(s, p, loc, CONV_UPD_REMOVED);
        finish(s, p, CONV_SIM_REMOVED);
        return;
    }
    if (s->cfg.noread_recirc && p->noread_answer && !p->noread_round && !p->force_reject &&
        p->pass < s->cfg.max_passes) {
        /* Round once more instead of the no-read chute (video coding). */
        p->noread_round = true;
        s->st.noread_rounds++;
        send_upd(s, p, loc, CONV_UPD_RECIRC);
        recirculate(s, p, p->target < 0 ? s->cfg.default_exit_mm
                                        : s->cfg.chutes[p->target].distance_mm);
        return;
    }
    if (p->target < 0) {
        if (s->cfg.default_exit_recirc && !p->force_reject && p->pass < s->cfg.max_passes) {
            send_upd(s, p, loc, CONV_UPD_RECIRC);
            recirculate(s, p, s->cfg.default_exit_mm);
            return;
        }
        send_upd(s, p, loc, CONV_UPD_REJECTED);
        finish(s, p, CONV_SIM_REJECTED);
        return;
    }
    cc = &s->cfg.chutes[p->target];
    ch = &s->chutes[p->target];
    if (ch->full) {
        send_upd(s, p, loc, CONV_UPD_RECIRC);
        recirculate(s, p, cc->distance_mm);
        return;
    }
    if (chance(s, s->cfg.divert_fail_ratio)) {
        s->st.divert_failures++;
        send_upd(s, p, loc, CONV_UPD_NODIVERT);
        recirculate(s, p, cc->distance_mm);
        return;
    }
    send_upd(s, p, loc, CONV_UPD_SORTED);
    finish(s, p, CONV_SIM_SORTED);
    ch->sorted++;
    ch->load++;
    if (cc->capacity && ch->load >= cc->capacity) {
        ch->full = true;
        s->st.chute_full_events++;
        send_locu(s, (size_t)p->target, CONV_LOC_FULL);
        schedule(s, s->now_us + (uint64_t)cc->empty_ms * 1000, EV_EMPTY, (uint32_t)p->target, 0);
    }
}

static void on_return(struct conv_sim *s, struct parcel *p)
{
    if (p->pass >= s->cfg.max_passes) {
        /* The PLC's own safety net: a parcel may not circle for ever. */
        p->force_reject = true;
        p->scan_us = s->now_us;
        travel_to(s, p, -1);
        return;
    }
    p->pass++;
    s->st.recirculations++;
    scan(s, p);
}

static void run_event(struct conv_sim *s, const struct event *ev)
{
    struct parcel *p = NULL;

    if (ev->kind == EV_INDUCT) {
        if (!s->induction_done)
            induct(s);
        return;
    }
    if (ev->kind == EV_EMPTY) {
        s->chutes[ev->idx].full = false;
        s->chutes[ev->idx].load = 0;
        s->st.chute_empty_events++;
        send_locu(s, ev->idx, CONV_LOC_ACTIVE);
        return;
    }
    p = &s->parcels[ev->idx];
    if (p->gen != ev->gen || p->state == P_FINAL)
        return; /* stale: the parcel moved on */
    switch (ev->kind) {
    case EV_TIMEOUT:
        if (p->state == P_AWAIT)
            on_timeout(s, p);
        break;
    case EV_REPEAT:
        if (p->state == P_AWAIT) {
            s->st.faults.req_repeated++;
            send_req(s, p);
        }
        break;
    case EV_ARRIVE:
        on_arrive(s, p);
        break;
    case EV_RETURN:
        on_return(s, p);
        break;
    default:
        break;
    }
}

/* --- public API -------------------------------------------------------------- */

void conv_sim_config_defaults(struct conv_sim_config *c)
{
    memset(c, 0, sizeof(*c));
    copy_id(c->line_id, "LINE01");
    copy_id(c->scan_location, "SCAN01");
    copy_id(c->default_exit, "EOL");
    c->default_exit_mm = 60000;
    c->loop_mm = 80000;
    c->belt_speed_mm_s = 2000;
    c->plc_timeout_ms = 150;
    c->max_passes = 10;
    c->rate_per_hour = 3600;
    c->tracking_base = 1000000001ULL;
    c->seed = 1;
}

void conv_sim_config_sample_layout(struct conv_sim_config *c, uint32_t cap, uint32_t empty_ms)
{
    static const char *const specials[] = {
        "SP-NOREAD",   "SP-MULTI",   "SP-UNKNOWN",  "SP-INVALID", "SP-CUSTOMS1",
        "SP-CUSTOMS2", "SP-NOROUTE", "SP-OVERSIZE", "SP-RECIRC",  "SP-FULL"};
    size_t i, n = 0;

    for (i = 1; i <= 40; i++) {
        snprintf(c->chutes[n].id, sizeof(c->chutes[n].id), "CH%03zu", i);
        n++;
    }
    for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
        copy_id(c->chutes[n++].id, specials[i]);
    for (i = 0; i < n; i++) {
        c->chutes[i].distance_mm = (uint32_t)(3000 + 1000 * i);
        c->chutes[i].capacity = cap;
        c->chutes[i].empty_ms = empty_ms;
    }
    c->nchutes = n;
    copy_id(c->default_exit, "EOL");
    c->default_exit_mm = (uint32_t)(3000 + 1000 * n);
    if (c->loop_mm < c->default_exit_mm + 5000)
        c->loop_mm = c->default_exit_mm + 5000;
}

static int check_config(const struct conv_sim_config *c, size_t nitems, struct err *e)
{
    size_t i, j;
    const double *ratios[] = {&c->noread_ratio,      &c->unreadable_ratio, &c->misread_ratio,
                              &c->divert_fail_ratio, &c->lost_ratio,       &c->removed_ratio,
                              &c->noscan_ratio,      &c->dup_ratio,        &c->req_repeat_ratio};

    if (nitems == 0)
        return err_set(e, ERR_CONFIG, "no parcels to induct");
    if (!(c->rate_per_hour > 0) || c->rate_per_hour > 3.6e9)
        return err_set(e, ERR_CONFIG, "rate: %g parcels/h is not in (0, 3.6e9]", c->rate_per_hour);
    if (c->count == 0 && c->duration_ms == 0)
        return err_set(e, ERR_CONFIG, "neither a parcel count nor a duration");
    if (c->belt_speed_mm_s == 0)
        return err_set(e, ERR_CONFIG, "belt speed 0");
    if (c->max_passes == 0)
        return err_set(e, ERR_CONFIG, "max passes 0");
    if (c->tracking_base == 0 || c->tracking_base + (c->count ? c->count : 1) > 9999999999ULL)
        return err_set(e, ERR_CONFIG, "tracking base %" PRIu64 " leaves no room for 10 digits",
                       c->tracking_base);
    for (i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++)
        if (!(*ratios[i] >= 0 && *ratios[i] <= 1))
            return err_set(e, ERR_CONFIG, "a ratio (%g) is outside 0..1", *ratios[i]);
    if (c->loop_mm <= c->default_exit_mm)
        return err_set(e, ERR_CONFIG,
                       "loop %" PRIu32 " mm is not longer than the default "
                       "exit's distance %" PRIu32 " mm",
                       c->loop_mm, c->default_exit_mm);
    if (c->default_exit[0] == '\0' || c->scan_location[0] == '\0' || c->line_id[0] == '\0')
        return err_set(e, ERR_CONFIG, "empty line, scan point or default exit id");
    if (c->nchutes > CONV_SIM_CHUTES_MAX)
        return err_set(e, ERR_CONFIG, "more than %d chutes", CONV_SIM_CHUTES_MAX);
    for (i = 0; i < c->nchutes; i++) {
        if (c->chutes[i].id[0] == '\0')
            return err_set(e, ERR_CONFIG, "chute %zu: empty id", i + 1);
        if (c->chutes[i].distance_mm >= c->loop_mm)
            return err_set(e, ERR_CONFIG, "chute %s: distance %" PRIu32 " mm beyond the loop",
                           c->chutes[i].id, c->chutes[i].distance_mm);
        if (strcmp(c->chutes[i].id, c->default_exit) == 0)
            return err_set(e, ERR_CONFIG, "chute %s: same id as the default exit", c->chutes[i].id);
        for (j = 0; j < i; j++)
            if (strcmp(c->chutes[i].id, c->chutes[j].id) == 0)
                return err_set(e, ERR_CONFIG, "chute %s: declared twice", c->chutes[i].id);
    }
    return 0;
}

int conv_sim_new(const struct conv_sim_config *c, const struct conv_sim_item *items, size_t n,
                 struct conv_sim **out, struct err *e)
{
    struct conv_sim *s;
    int rc;

    *out = NULL;
    rc = check_config(c, n, e);
    if (rc < 0)
        return rc;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    s->cfg = *c;
    s->items = malloc(n * sizeof(*items));
    s->chutes = calloc(c->nchutes ? c->nchutes : 1, sizeof(*s->chutes));
    s->seqref = calloc(CONV_TG_SEQ_MAX + 1, sizeof(*s->seqref));
    if (s->items == NULL || s->chutes == NULL || s->seqref == NULL) {
        conv_sim_free(s);
        return err_set(e, -ENOMEM, "out of memory");
    }
    memcpy(s->items, items, n * sizeof(*items));
    s->nitems = n;
    s->rng = c->seed;
    s->interval_us = (uint64_t)llround(3600e6 / c->rate_per_hour);
    if (s->interval_us == 0)
        s->interval_us = 1;
    schedule(s, 0, EV_INDUCT, 0, 0);
    *out = s;
    return 0;
}

void conv_sim_free(struct conv_sim *s)
{
    if (s == NULL)
        return;
    free(s->items);
    free(s->parcels);
    free(s->heap);
    free(s->chutes);
    free(s->ob);
    free(s->outq);
    free(s->seqref);
    free(s->lat_us);
    free(s->acked);
    free(s);
}

void conv_sim_advance(struct conv_sim *s, uint64_t now_us)
{
    while (s->nheap > 0 && s->heap[0].due_us <= now_us) {
        struct event ev = heap_pop(s);

        if (ev.due_us > s->now_us)
            s->now_us = ev.due_us;
        run_event(s, &ev);
    }
    if (now_us > s->now_us)
        s->now_us = now_us;
}

uint64_t conv_sim_next_due(const struct conv_sim *s)
{
    return s->nheap ? s->heap[0].due_us : UINT64_MAX;
}

uint64_t conv_sim_now(const struct conv_sim *s)
{
    return s->now_us;
}

bool conv_sim_pop(struct conv_sim *s, struct conv_sim_out *out)
{
    if (s->outhead >= s->nout)
        return false;
    *out = s->outq[s->outhead++];
    return true;
}

void conv_sim_sent(struct conv_sim *s, uint64_t ref, uint32_t seq, uint64_t real_ns)
{
    struct obentry *en;
    struct parcel *p;

    if (seq <= CONV_TG_SEQ_MAX)
        s->seqref[seq] = ref;
    switch (ref_kind(ref)) {
    case REF_REQ:
        s->st.tx_by_type[CONV_TG_REQ]++;
        p = ref_idx(ref) < s->nparcels ? &s->parcels[ref_idx(ref)] : NULL;
        if (p && p->pass == ref_pass(ref) && p->req_real_ns == 0)
            p->req_real_ns = real_ns ? real_ns : 1;
        break;
    case REF_OUTBOX:
    case REF_DUP:
        en = ob_get(s, ref_idx(ref));
        if (en == NULL)
            break;
        s->st.tx_by_type[en->tg.type]++;
        if (ref_kind(ref) == REF_OUTBOX && en->state == OB_QUEUED)
            en->state = OB_SENT;
        break;
    default:
        break;
    }
}

void conv_sim_unsent(struct conv_sim *s, uint64_t ref)
{
    struct obentry *en;

    s->st.tx_unsent++;
    if (ref_kind(ref) != REF_OUTBOX)
        return; /* a REQ_ runs into the PLC timeout; a duplicate is just gone */
    en = ob_get(s, ref_idx(ref));
    if (en && en->state == OB_QUEUED)
        en->state = OB_UNSENT;
}

void conv_sim_link_state(struct conv_sim *s, bool up)
{
    size_t i;

    if (!up) {
        /* Sequence numbers restart on every connection (spec "Header"). */
        memset(s->seqref, 0, (CONV_TG_SEQ_MAX + 1) * sizeof(*s->seqref));
        s->link_up = false;
        return;
    }
    s->link_up = true;
    send_sysu(s, CONV_LINE_RUNNING);
    for (i = 0; i + 1 < s->nob; i++) { /* the SYSU just added is last */
        struct obentry *en = &s->ob[i];

        if (en->state == OB_SENT || en->state == OB_UNSENT) {
            if (en->state == OB_SENT)
                s->st.resent++;
            en->state = OB_QUEUED;
            ob_queue(s, s->ob_base + i, REF_OUTBOX);
        }
    }
}

static int on_res(struct conv_sim *s, const struct conv_res *r, uint64_t real_ns, struct err *e)
{
    char *end;
    unsigned long long tr = strtoull(r->tracking, &end, 10);
    struct parcel *p;
    size_t i;
    int32_t target = -1;
    uint64_t ref;

    if (*end != '\0' || r->tracking[0] == '\0' || tr < s->cfg.tracking_base ||
        tr - s->cfg.tracking_base >= s->nparcels || strcmp(r->location, s->cfg.scan_location)) {
        s->st.unmatched_answers++;
        return err_set(e, ERR_INVALID, "RES_ for tracking %s at %s: no such parcel here",
                       r->tracking, r->location);
    }
    p = &s->parcels[tr - s->cfg.tracking_base];
    ref = r->req_seq <= CONV_TG_SEQ_MAX ? s->seqref[r->req_seq] : 0;
    if (ref_kind(ref) != REF_REQ || ref_idx(ref) != tr - s->cfg.tracking_base) {
        s->st.unmatched_answers++;
        return err_set(e, ERR_INVALID,
                       "RES_ for tracking %s: req_seq %05" PRIu32
                       " is not a REQ_ of that parcel on this connection",
                       r->tracking, r->req_seq);
    }
    if (ref_pass(ref) != p->pass) {
        /* An answer to an earlier time round, overtaken by events. */
        s->st.late_answers++;
        return err_set(e, ERR_INVALID, "RES_ for tracking %s: answers an earlier pass",
                       r->tracking);
    }
    if (p->state == P_AWAIT && s->now_us > p->scan_us + (uint64_t)s->cfg.plc_timeout_ms * 1000) {
        /* The clock passed the deadline before this answer was handed in:
         * the PLC has already given up on it. */
        on_timeout(s, p);
    }
    if (p->state != P_AWAIT) {
        /* Late (the PLC gave up) or a second answer to a repeated REQ_. */
        if (p->timed_out)
            s->st.late_answers++;
        else
            s->st.repeat_answers++;
        return err_set(e, ERR_INVALID, "RES_ for tracking %s: not waiting for an answer",
                       r->tracking);
    }
    if ((unsigned)r->reason < CONV_REASON_COUNT)
        s->st.res_by_reason[r->reason]++;
    p->noread_answer = r->reason == CONV_REASON_NOREAD;
    if (p->noread_answer && p->pass == 1 && s->cfg.noread_outputs) {
        struct conv_sim_out *o = out_push(s);

        o->kind = CONV_SIM_OUT_NOREAD;
        copy_id(o->location, s->cfg.scan_location);
        copy_id(o->code, s->items[p->item].code);
        snprintf(o->tracking, sizeof(o->tracking), "%s", r->tracking);
    }
    /* Read by nobody this pass, yet decided on a code (its route, or a
     * customs hold...): the WCS had its code keyed in. */
    if (p->noread_round && r->reason != CONV_REASON_NOREAD && p->bk != CONV_BARCODE_CODE &&
        r->barcode_kind == CONV_BARCODE_CODE)
        s->st.noread_resolved++;
    if (p->req_real_ns && real_ns >= p->req_real_ns) {
        if (grow((void **)&s->lat_us, &s->caplat, s->nlat + 1, sizeof(*s->lat_us)) < 0)
            oom();
        s->lat_us[s->nlat++] = (real_ns - p->req_real_ns) / 1000;
    }
    /* The WCS may have settled the code from its own scanners: UPD_ then
     * carries what it decided on. */
    if (r->barcode_kind == CONV_BARCODE_CODE) {
        p->bk = CONV_BARCODE_CODE;
        copy_id(p->bc, r->barcode);
    }
    if (strcmp(r->destination, s->cfg.default_exit) != 0) {
        for (i = 0; i < s->cfg.nchutes; i++)
            if (strcmp(r->destination, s->cfg.chutes[i].id) == 0)
                break;
        if (i < s->cfg.nchutes) {
            target = (int32_t)i;
            if (s->chutes[i].full)
                s->st.routed_to_full++;
        } else {
            s->st.unknown_destinations++;
        }
    }
    travel_to(s, p, target);
    return 0;
}

static void journal_ack(struct conv_sim *s, const struct conv_upd *u, bool duplicate)
{
    struct conv_sim_acked *a;

    if (grow((void **)&s->acked, &s->capacked, s->nacked + 1, sizeof(*s->acked)) < 0)
        oom();
    a = &s->acked[s->nacked++];
    memcpy(a->tracking, u->tracking, sizeof(a->tracking));
    a->event = u->event;
    copy_id(a->location, u->location);
    a->duplicate = duplicate;
}

int conv_sim_receive(struct conv_sim *s, const struct conv_telegram *t, uint64_t real_ns,
                     struct err *e)
{
    uint64_t ref;
    struct obentry *en;

    if ((unsigned)t->type < CONV_TG_TYPE_COUNT)
        s->st.rx_by_type[t->type]++;
    switch (t->type) {
    case CONV_TG_RES:
        return on_res(s, &t->u.res, real_ns, e);
    case CONV_TG_ACK:
        ref = t->u.ack.acked_seq <= CONV_TG_SEQ_MAX ? s->seqref[t->u.ack.acked_seq] : 0;
        en = (ref_kind(ref) == REF_OUTBOX || ref_kind(ref) == REF_DUP) ? ob_get(s, ref_idx(ref))
                                                                       : NULL;
        if (en == NULL && ref_kind(ref) != REF_NONE && ref_kind(ref) != REF_REQ &&
            ref_idx(ref) < s->ob_base) {
            /* The second copy of something already acknowledged (and since
             * dropped from the outbox): a duplicate or a resend. */
            if (t->u.ack.duplicate)
                s->st.acks_duplicate++;
            else
                s->st.acks_ok++;
            return 0;
        }
        if (en == NULL || en->tg.type != t->u.ack.acked_type) {
            s->st.acks_unmatched++;
            return err_set(e, ERR_INVALID, "ACK_ for %s %05" PRIu32 ": nothing sent with it",
                           conv_tg_type_name(t->u.ack.acked_type), t->u.ack.acked_seq);
        }
        if (t->u.ack.duplicate)
            s->st.acks_duplicate++;
        else
            s->st.acks_ok++;
        if (en->state != OB_ACKED) {
            en->state = OB_ACKED;
            s->unacked--;
            if (en->tg.type == CONV_TG_UPD)
                journal_ack(s, &en->tg.u.upd, t->u.ack.duplicate);
            ob_compact(s);
        }
        return 0;
    case CONV_TG_ERR:
        return 0; /* counted above; the shell logs it */
    default:
        return err_set(e, ERR_INVALID, "%s from the WCS is not expected",
                       conv_tg_type_name(t->type));
    }
}

bool conv_sim_induction_done(const struct conv_sim *s)
{
    return s->induction_done;
}

size_t conv_sim_acked_list(const struct conv_sim *s, const struct conv_sim_acked **out)
{
    *out = s->acked;
    return s->nacked;
}

int conv_sim_fate(const struct conv_sim *s, size_t i, struct conv_sim_fate *out)
{
    const struct parcel *p;

    if (i >= s->nparcels)
        return ERR_NOTFOUND;
    p = &s->parcels[i];
    memset(out, 0, sizeof(*out));
    snprintf(out->tracking, sizeof(out->tracking), "%010" PRIu64, s->cfg.tracking_base + i);
    copy_id(out->code, s->items[p->item].code);
    out->final = p->state == P_FINAL;
    out->state = (enum conv_sim_final)p->final;
    out->passes = p->pass;
    if (out->final && p->final == CONV_SIM_SORTED && p->target >= 0)
        copy_id(out->chute, s->cfg.chutes[p->target].id);
    return 0;
}

uint64_t conv_sim_unfinished(const struct conv_sim *s)
{
    return s->st.inducted - s->finished;
}

size_t conv_sim_unacked(const struct conv_sim *s)
{
    return s->unacked;
}

struct conv_sim_stats *conv_sim_stats(struct conv_sim *s)
{
    return &s->st;
}

uint64_t conv_sim_chute_sorted(const struct conv_sim *s, size_t i)
{
    return i < s->cfg.nchutes ? s->chutes[i].sorted : 0;
}

/* --- report ----------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

uint64_t conv_sim_quantile(const uint64_t *v, size_t n, double q)
{
    size_t rank;

    if (n == 0)
        return 0;
    rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static const char *const final_names[CONV_SIM_FINAL_COUNT] = {[CONV_SIM_SORTED] = "SORTED",
                                                              [CONV_SIM_REJECTED] = "REJECTED",
                                                              [CONV_SIM_LOST] = "LOST",
                                                              [CONV_SIM_REMOVED] = "REMOVED"};

const char *conv_sim_final_name(enum conv_sim_final f)
{
    return (unsigned)f < CONV_SIM_FINAL_COUNT ? final_names[f] : "?";
}

json_t *conv_sim_report(const struct conv_sim *s)
{
    const struct conv_sim_stats *st = &s->st;
    json_t *r = json_object(), *fin = json_object(), *chutes = json_object(),
           *reasons = json_object(), *lat = json_object(), *tg = json_object(), *tx = json_object(),
           *rx = json_object(), *faults = json_object(), *acks = json_object(),
           *line = json_object();
    uint64_t *sorted = NULL, sent = 0, recv = 0;
    size_t i;
    int bad = 0;

    if (!r || !fin || !chutes || !reasons || !lat || !tg || !tx || !rx || !faults || !acks || !line)
        goto fail;
    if (s->nlat) {
        sorted = malloc(s->nlat * sizeof(*sorted));
        if (sorted == NULL)
            goto fail;
        memcpy(sorted, s->lat_us, s->nlat * sizeof(*sorted));
        qsort(sorted, s->nlat, sizeof(*sorted), cmp_u64);
    }
#define SETI(obj, key, v) bad |= json_object_set_new(obj, key, json_integer((json_int_t)(v)))
    SETI(r, "inducted", st->inducted);
    SETI(r, "unfinished", st->inducted - s->finished);
    for (i = 0; i < CONV_SIM_FINAL_COUNT; i++)
        SETI(fin, final_names[i], st->final[i]);
    for (i = 0; i < s->cfg.nchutes; i++)
        SETI(chutes, s->cfg.chutes[i].id, s->chutes[i].sorted);
    for (i = 0; i < CONV_REASON_COUNT; i++)
        SETI(reasons, conv_reason_code((enum conv_reason)i), st->res_by_reason[i]);
    SETI(r, "recirculations", st->recirculations);
    SETI(r, "lost", st->final[CONV_SIM_LOST]);
    SETI(line, "passes", st->passes);
    SETI(line, "noreads", st->noreads);
    SETI(line, "noread_rounds", st->noread_rounds);
    SETI(line, "noread_resolved", st->noread_resolved);
    SETI(line, "misreads", st->misreads);
    SETI(line, "divert_failures", st->divert_failures);
    SETI(line, "plc_timeouts", st->plc_timeouts);
    SETI(line, "late_answers", st->late_answers);
    SETI(line, "unmatched_answers", st->unmatched_answers);
    SETI(line, "repeat_answers", st->repeat_answers);
    SETI(line, "unknown_destinations", st->unknown_destinations);
    SETI(line, "routed_to_full", st->routed_to_full);
    SETI(line, "chute_full_events", st->chute_full_events);
    SETI(line, "chute_empty_events", st->chute_empty_events);
    SETI(line, "virtual_ms", s->now_us / 1000);
    SETI(lat, "count", s->nlat);
    SETI(lat, "p50", conv_sim_quantile(sorted, s->nlat, 0.50));
    SETI(lat, "p99", conv_sim_quantile(sorted, s->nlat, 0.99));
    SETI(lat, "p999", conv_sim_quantile(sorted, s->nlat, 0.999));
    SETI(lat, "max", s->nlat ? sorted[s->nlat - 1] : 0);
    for (i = 0; i < CONV_TG_TYPE_COUNT; i++) {
        const char *name = conv_tg_type_name((enum conv_tg_type)i);

        sent += st->tx_by_type[i];
        recv += st->rx_by_type[i];
        SETI(tx, name, st->tx_by_type[i]);
        SETI(rx, name, st->rx_by_type[i]);
    }
    SETI(tg, "sent", sent);
    SETI(tg, "received", recv);
    SETI(tg, "err_received", st->rx_by_type[CONV_TG_ERR]);
    SETI(tg, "unsent", st->tx_unsent);
    SETI(tg, "resent_after_reconnect", st->resent);
    SETI(tg, "unacked", s->unacked);
    SETI(acks, "ok", st->acks_ok);
    SETI(acks, "duplicate", st->acks_duplicate);
    SETI(acks, "unmatched", st->acks_unmatched);
    SETI(faults, "noscan", st->faults.noscan);
    SETI(faults, "duplicated", st->faults.duplicated);
    SETI(faults, "req_repeated", st->faults.req_repeated);
    SETI(faults, "link_drops", st->faults.link_drops);
    SETI(faults, "garbage", st->faults.garbage);
    SETI(faults, "bad_length", st->faults.bad_length);
    SETI(faults, "slow_reader", st->faults.slow_reader);
    SETI(faults, "scans_posted", st->scans_posted);
#undef SETI
    bad |= json_object_set_new(tg, "sent_by_type", tx);
    bad |= json_object_set_new(tg, "received_by_type", rx);
    bad |= json_object_set_new(r, "final", fin);
    bad |= json_object_set_new(r, "chutes", chutes);
    bad |= json_object_set_new(r, "reasons", reasons);
    bad |= json_object_set_new(r, "latency_us", lat);
    bad |= json_object_set_new(r, "telegrams", tg);
    bad |= json_object_set_new(r, "acks", acks);
    bad |= json_object_set_new(r, "faults", faults);
    bad |= json_object_set_new(r, "line", line);
    free(sorted);
    if (bad) {
        json_decref(r);
        return NULL;
    }
    return r;
fail:
    free(sorted);
    json_decref(r);
    json_decref(fin);
    json_decref(chutes);
    json_decref(reasons);
    json_decref(lat);
    json_decref(tg);
    json_decref(tx);
    json_decref(rx);
    json_decref(faults);
    json_decref(acks);
    json_decref(line);
    return NULL;
}

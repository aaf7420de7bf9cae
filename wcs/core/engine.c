/*
 * engine.c - the decision engine: codes read + registry hits + measurements
 * -> chute and reason, in the order documented in engine.h. Pure: no I/O, no
 * allocation after wcs_engine_new(), no locks.
 *
 * DESIGN. Reads are first reduced to "identities", one per physical parcel
 * seen in the read zone:
 *   - a read whose code resolves to a pre-advised parcel is that parcel
 *     (parcel id), whether or not the code passed scan_code_check(): the
 *     pre-advice is the authority, and shippers do print ids with a wrong
 *     check digit;
 *   - a valid code with no pre-advice is an identity of its own (its bytes);
 *   - an invalid code with no pre-advice is noise (a product EAN, a damaged
 *     label, a bag label) and identifies nothing;
 *   - reads of the same code, or of codes of the same parcel (its S10 and its
 *     LP number), are one identity.
 * Two or more identities are a multi-read. In particular a pre-advised parcel
 * plus a valid code we do not know is a multi-read: the registry holds every
 * id a parcel was advised under, so the unknown code is either a second
 * parcel touching the first or an id the pre-advice has not caught up with;
 * a person has to look in both cases, and a wrong chute costs far more than
 * a manual check (the parcel would travel to the wrong side of Russia).
 *
 * Chute state lives in two fixed arrays of WCS_PLAN_CHUTES_MAX entries (the
 * plan never has more), so installing a plan cannot fail half-way.
 */
#include "wcs/core/engine.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct wcs_engine {
    const struct wcs_plan *plan;
    struct wcs_chute_status *st;   /* state of the plan's chute i */
    struct wcs_chute_status *spare; /* the other buffer, for plan swaps */
    /* Chutes operators disabled, by id: a hold outlives a plan that lacks
     * the chute and comes back with the next one that has it. */
    char (*held)[WCS_CHUTE_ID_MAX + 1];
    size_t nheld;
};

static const char *const state_names[] = {
    [WCS_CHUTE_ACTIVE] = "active",
    [WCS_CHUTE_FULL] = "full",
    [WCS_CHUTE_DISABLED] = "disabled",
    [WCS_CHUTE_FAULT] = "fault",
};

struct wcs_engine *wcs_engine_new(void)
{
    struct wcs_engine *eng = calloc(1, sizeof(*eng));

    if (eng == NULL)
        return NULL;
    eng->st = calloc(WCS_PLAN_CHUTES_MAX, sizeof(*eng->st));
    eng->spare = calloc(WCS_PLAN_CHUTES_MAX, sizeof(*eng->spare));
    eng->held = calloc(WCS_PLAN_CHUTES_MAX, sizeof(*eng->held));
    if (eng->st == NULL || eng->spare == NULL || eng->held == NULL) {
        wcs_engine_free(eng);
        return NULL;
    }
    return eng;
}

void wcs_engine_free(struct wcs_engine *eng)
{
    if (eng == NULL)
        return;
    free(eng->st);
    free(eng->spare);
    free(eng->held);
    free(eng);
}

static size_t nchutes(const struct wcs_engine *eng)
{
    size_t n;

    if (eng->plan == NULL)
        return 0;
    n = wcs_plan_nchutes(eng->plan);
    return n < WCS_PLAN_CHUTES_MAX ? n : WCS_PLAN_CHUTES_MAX;
}

/* Index of chute in the operators' holds, -1 when it is not held. */
static int held_index(const struct wcs_engine *eng, const char *chute)
{
    size_t k;

    for (k = 0; k < eng->nheld; k++)
        if (strcmp(eng->held[k], chute) == 0)
            return (int)k;
    return -1;
}

const struct wcs_plan *wcs_engine_set_plan(struct wcs_engine *eng, const struct wcs_plan *plan)
{
    const struct wcs_plan *old = eng->plan;
    struct wcs_chute_status *t;
    size_t i, n = 0;

    if (plan != NULL) {
        n = wcs_plan_nchutes(plan);
        if (n > WCS_PLAN_CHUTES_MAX)
            n = WCS_PLAN_CHUTES_MAX;
    }
    for (i = 0; i < n; i++) {
        const struct wcs_plan_chute *c = wcs_plan_chute(plan, i);
        int j = old ? wcs_plan_chute_find(old, c->id) : -1;
        if (j >= 0 && (size_t)j < WCS_PLAN_CHUTES_MAX) {
            eng->spare[i] = eng->st[j];
        } else {
            memset(&eng->spare[i], 0, sizeof(eng->spare[i]));
            memcpy(eng->spare[i].id, c->id, sizeof(eng->spare[i].id));
            eng->spare[i].state = WCS_CHUTE_ACTIVE;
            eng->spare[i].held = held_index(eng, c->id) >= 0;
        }
    }
    t = eng->st;
    eng->st = eng->spare;
    eng->spare = t;
    eng->plan = plan;
    return old;
}

const struct wcs_plan *wcs_engine_plan(const struct wcs_engine *eng)
{
    return eng->plan;
}

static int chute_index(const struct wcs_engine *eng, const char *chute)
{
    int i;

    if (eng->plan == NULL || chute == NULL)
        return -1;
    i = wcs_plan_chute_find(eng->plan, chute);
    return i >= 0 && (size_t)i < nchutes(eng) ? i : -1;
}

int wcs_engine_set_chute_state(struct wcs_engine *eng, const char *chute, enum wcs_chute_state st)
{
    int i = chute_index(eng, chute);

    if ((unsigned)st > WCS_CHUTE_FAULT)
        return ERR_INVALID;
    if (i < 0)
        return ERR_NOTFOUND;
    eng->st[i].state = (uint8_t)st;
    return 0;
}

int wcs_engine_set_chute_held(struct wcs_engine *eng, const char *chute, bool held)
{
    int i = chute_index(eng, chute), k = held_index(eng, chute);

    if (held && k < 0 && eng->nheld < WCS_PLAN_CHUTES_MAX && strlen(chute) <= WCS_CHUTE_ID_MAX)
        strcpy(eng->held[eng->nheld++], chute);
    if (!held && k >= 0)
        memcpy(eng->held[k], eng->held[--eng->nheld], sizeof(eng->held[k]));
    if (i < 0)
        return ERR_NOTFOUND;
    eng->st[i].held = held;
    return 0;
}

int wcs_engine_chute_emptied(struct wcs_engine *eng, const char *chute)
{
    int i = chute_index(eng, chute);

    if (i < 0)
        return ERR_NOTFOUND;
    eng->st[i].load = 0;
    if (eng->st[i].state == WCS_CHUTE_FULL)
        eng->st[i].state = WCS_CHUTE_ACTIVE;
    return 0;
}

int wcs_engine_chute_uncount(struct wcs_engine *eng, size_t i)
{
    if (i >= nchutes(eng))
        return ERR_NOTFOUND;
    if (eng->st[i].load > 0)
        eng->st[i].load--;
    return 0;
}

const struct wcs_chute_status *wcs_engine_chute(const struct wcs_engine *eng, size_t i)
{
    return i < nchutes(eng) ? &eng->st[i] : NULL;
}

/* The least-loaded ACTIVE chute of a group; ties go to the one listed first
 * in the group, so the choice is deterministic. -1 when none is ACTIVE. */
static int pick(const struct wcs_engine *eng, const uint16_t *group, int n)
{
    int best = -1, i;
    size_t lim = nchutes(eng);

    for (i = 0; i < n; i++) {
        const struct wcs_chute_status *c;
        if (group[i] >= lim)
            continue;
        c = &eng->st[group[i]];
        if (c->state != WCS_CHUTE_ACTIVE || c->held)
            continue;
        if (best < 0 || c->load < eng->st[best].load)
            best = group[i];
    }
    return best;
}

static void to_chute(const struct wcs_engine *eng, int chute, struct wcs_decision *out)
{
    out->chute = chute;
    out->destination = wcs_plan_chute(eng->plan, (size_t)chute)->id;
}

/* A special destination: its least-loaded active chute, else the default
 * exit (end of line) with the same reason. */
static void special(const struct wcs_engine *eng, enum wcs_special s, enum conv_reason reason,
                    struct wcs_decision *out)
{
    int n, c;
    const uint16_t *g = wcs_plan_special(eng->plan, s, &n);

    out->reason = reason;
    c = pick(eng, g, n);
    if (c >= 0) {
        to_chute(eng, c, out);
    } else {
        out->chute = -1;
        out->destination = wcs_plan_default_exit(eng->plan);
    }
}

static bool same_code(const struct wcs_read *a, const struct wcs_read *b)
{
    return a->len == b->len && memcmp(a->code, b->code, a->len) == 0;
}

/* True when the parcel is over a limit. Each measure is the line's when it
 * measured one (non-zero), else the pre-advice's. Sizes are compared without
 * regard to orientation: longest side against the largest limit, and so on,
 * because pre-advice lists sides in no particular order and a parcel can be
 * turned on the infeed. A zero limit means none. */
static bool oversize(const struct wcs_plan *plan, const struct wcs_decide_input *in,
                     const struct wcs_parcel *p)
{
    uint32_t wmax = wcs_plan_max_weight_g(plan);
    uint32_t w = in->weight_g ? in->weight_g : p->weight_g;
    uint32_t d[3], lim[3], t;
    int i, j;

    if (wmax != 0 && w > wmax)
        return true;
    d[0] = in->length_mm ? in->length_mm : p->length_mm;
    d[1] = in->width_mm ? in->width_mm : p->width_mm;
    d[2] = in->height_mm ? in->height_mm : p->height_mm;
    wcs_plan_max_dims(plan, &lim[0], &lim[1], &lim[2]);
    for (i = 0; i < 3; i++)
        if (lim[i] == 0)
            lim[i] = UINT32_MAX;
    /* Sort both triples, largest first (three elements: a tiny bubble sort). */
    for (i = 0; i < 2; i++) {
        for (j = 0; j < 2 - i; j++) {
            if (d[j] < d[j + 1]) {
                t = d[j], d[j] = d[j + 1], d[j + 1] = t;
            }
            if (lim[j] < lim[j + 1]) {
                t = lim[j], lim[j] = lim[j + 1], lim[j + 1] = t;
            }
        }
    }
    for (i = 0; i < 3; i++)
        if (d[i] > lim[i])
            return true;
    return false;
}

int wcs_engine_decide(struct wcs_engine *eng, const struct wcs_decide_input *in, bool commit,
                      struct wcs_decision *out)
{
    const struct wcs_plan *plan = eng->plan;
    const struct wcs_parcel *p = NULL;
    int id_read = -1, first_read = -1, nread = 0, route, c;
    bool multi = false;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->chute = -1;
    out->route = -1;
    out->read = -1;
    out->rule = -1;
    if (plan == NULL)
        return ERR_STATE;

    /* Reduce the reads to identities (see DESIGN). Empty reads count as
     * nothing read. */
    for (i = 0; i < in->nreads; i++) {
        const struct wcs_read *r = &in->reads[i];
        const struct wcs_read *f;
        if (r->code == NULL || r->len == 0)
            continue;
        nread++;
        if (first_read < 0)
            first_read = (int)i;
        if (r->parcel == NULL && !r->valid)
            continue;
        if (id_read < 0) {
            id_read = (int)i;
            continue;
        }
        f = &in->reads[id_read];
        if (same_code(f, r))
            continue;
        if (f->parcel != NULL && r->parcel != NULL &&
            (f->parcel == r->parcel || f->parcel->id == r->parcel->id))
            continue;
        multi = true;
    }
    if (!multi && id_read >= 0) {
        out->read = id_read;
        out->parcel = p = in->reads[id_read].parcel;
    }

    if (in->recirculations > wcs_plan_recirc_limit(plan)) {
        special(eng, WCS_SPECIAL_RECIRLIM, CONV_REASON_RECIRLIM, out);
        goto done;
    }
    if (nread == 0) {
        special(eng, WCS_SPECIAL_NOREAD, CONV_REASON_NOREAD, out);
        goto done;
    }
    if (multi) {
        special(eng, WCS_SPECIAL_MULTIREAD, CONV_REASON_MULTIRD, out);
        goto done;
    }
    if (id_read < 0) {
        out->read = first_read;
        special(eng, WCS_SPECIAL_INVALID, CONV_REASON_INVALID, out);
        goto done;
    }
    if (p == NULL) {
        special(eng, WCS_SPECIAL_UNKNOWN, CONV_REASON_UNKNOWN, out);
        goto done;
    }
    if (cust_status_holds((enum cust_status)p->customs)) {
        special(eng, WCS_SPECIAL_CUSTHOLD, CONV_REASON_CUSTHOLD, out);
        goto done;
    }
    if (oversize(plan, in, p)) {
        special(eng, WCS_SPECIAL_OVERSIZE, CONV_REASON_OVERSIZE, out);
        goto done;
    }
    route = -1;
    if ((p->country[0] == 'R' || p->country[0] == 'r') &&
        (p->country[1] == 'U' || p->country[1] == 'u') && p->postal != WCS_POSTAL_NONE) {
        char service[WCS_SERVICE_MAX + 1];
        memcpy(service, p->service, WCS_SERVICE_MAX);
        service[WCS_SERVICE_MAX] = '\0';
        out->rule = wcs_plan_match_rule(plan, p->postal, service,
                                        in->weight_g ? in->weight_g : p->weight_g);
        if (out->rule >= 0)
            route = wcs_plan_rule(plan, (size_t)out->rule)->route;
    }
    if (route < 0) {
        special(eng, WCS_SPECIAL_NOROUTE, CONV_REASON_NOROUTE, out);
        goto done;
    }
    {
        const struct wcs_plan_route *r = wcs_plan_route(plan, (size_t)route);
        c = pick(eng, r->chutes, r->nchutes);
        if (c < 0 && r->fallback >= 0) {
            const struct wcs_plan_route *fb = wcs_plan_route(plan, (size_t)r->fallback);
            c = pick(eng, fb->chutes, fb->nchutes);
            if (c >= 0) {
                route = r->fallback;
                out->fallback = true;
            }
        }
        out->route = route; /* for chute_full: the route that matched */
        if (c < 0) {
            special(eng, WCS_SPECIAL_CHFULL, CONV_REASON_CHFULL, out);
            goto done;
        }
        out->reason = CONV_REASON_OK;
        to_chute(eng, c, out);
    }

done:
    if (commit && out->chute >= 0)
        eng->st[out->chute].load++;
    return 0;
}

const char *wcs_chute_state_name(enum wcs_chute_state st)
{
    return (unsigned)st <= WCS_CHUTE_FAULT ? state_names[st] : "?";
}

const char *wcs_chute_status_name(const struct wcs_chute_status *c)
{
    if (c->held)
        return "disabled_operator";
    if (c->state == WCS_CHUTE_DISABLED)
        return "disabled_plc";
    return wcs_chute_state_name((enum wcs_chute_state)c->state);
}

int wcs_chute_state_parse(const char *s, enum wcs_chute_state *out)
{
    int i;

    for (i = 0; i <= WCS_CHUTE_FAULT; i++) {
        if (s != NULL && strcasecmp(s, state_names[i]) == 0) {
            *out = (enum wcs_chute_state)i;
            return 0;
        }
    }
    return ERR_PARSE;
}

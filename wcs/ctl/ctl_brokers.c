/*
 * ctl_brokers.c - the customs broker of a declaration (ctl_brokers.h): by
 * the parcel's service, else by its planned route, which the decision
 * engine finds as wcsd would on the line (a dry run, nothing counted) from
 * the pre-advice: postal code, service, weight.
 */
#include "wcs/ctl/ctl_brokers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/core/engine.h"
#include "wcs/store/store.h"

struct wcsctl_brokers {
    const struct wcs_customs_config *cfg;
    struct wcs_plan *plan;   /* the active plan, when a broker lists routes */
    struct wcs_engine *eng;
};

static int listed(const struct wcs_id_list *l, const char *id)
{
    int i;

    for (i = 0; id != NULL && i < l->n; i++)
        if (strcmp(l->v[i], id) == 0)
            return 1;
    return 0;
}

int wcsctl_brokers_open(PGconn *c, const struct wcs_customs_config *cfg,
                        struct wcsctl_brokers **out)
{
    struct wcsctl_brokers *r;
    struct err e;
    int i, routes = 0;

    *out = NULL;
    if (cfg->nbrokers == 0)
        return 0;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -1;
    r->cfg = cfg;
    for (i = 0; i < cfg->nbrokers; i++)
        routes |= cfg->brokers[i].routes.n > 0;
    if (routes) {
        if (wcs_db_plan_load(c, 0, &r->plan, NULL, &e) < 0) {
            fprintf(stderr, "wcsctl: customs.brokers list routes, but the sort plan: %s\n",
                    e.msg);
            free(r);
            return -1;
        }
        r->eng = wcs_engine_new();
        if (r->eng == NULL) {
            wcsctl_brokers_close(r);
            return -1;
        }
        wcs_engine_set_plan(r->eng, r->plan);
    }
    *out = r;
    return 0;
}

/* The route the plan's rules give the parcel (not its fallback: the
 * broker follows the parcel's destination, not today's chute states). */
static const char *planned_route(struct wcsctl_brokers *r, const struct wcs_preadvice *a)
{
    struct wcs_parcel p;
    struct wcs_read rd;
    struct wcs_decide_input in;
    struct wcs_decision d;

    memset(&p, 0, sizeof(p));
    wcs_parcel_from_preadvice(&p, a);
    p.customs = 0; /* undeclared as yet: no customs hold in the way */
    memset(&rd, 0, sizeof(rd));
    rd.code = a->code;
    rd.len = strlen(a->code);
    rd.valid = true;
    rd.parcel = &p;
    memset(&in, 0, sizeof(in));
    in.reads = &rd;
    in.nreads = 1;
    if (wcs_engine_decide(r->eng, &in, false, &d) < 0 || d.rule < 0)
        return NULL;
    return wcs_plan_route(r->plan, (size_t)wcs_plan_rule(r->plan, (size_t)d.rule)->route)->id;
}

const char *wcsctl_brokers_of(void *arg, const struct wcs_preadvice *a)
{
    struct wcsctl_brokers *r = arg;
    const char *route = NULL;
    int i, routed = 0;

    for (i = 0; i < r->cfg->nbrokers; i++)
        if (listed(&r->cfg->brokers[i].services, a->service))
            return r->cfg->brokers[i].name;
    for (i = 0; i < r->cfg->nbrokers; i++) {
        if (r->cfg->brokers[i].routes.n == 0)
            continue;
        if (!routed) {
            route = planned_route(r, a);
            routed = 1;
        }
        if (listed(&r->cfg->brokers[i].routes, route))
            return r->cfg->brokers[i].name;
    }
    return NULL;
}

void wcsctl_brokers_close(struct wcsctl_brokers *r)
{
    if (r == NULL)
        return;
    wcs_engine_free(r->eng);
    wcs_plan_free(r->plan);
    free(r);
}

/*
 * ctl_brokers.c - the customs broker of a declaration (ctl_brokers.h): by
 * the parcel's service, else by its planned route: the active plan's rule
 * for its postal code, service and weight, matched as the decision engine
 * matches it on the line.
 */
#include "wcs/ctl/ctl_brokers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/core/sortplan.h"
#include "wcs/store/store.h"

struct wcsctl_brokers {
    const struct wcs_customs_config *cfg;
    struct wcs_plan *plan;   /* the active plan, when a broker lists routes */
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
    }
    *out = r;
    return 0;
}

/* The route the plan's rules give the parcel, as the decision engine
 * matches them (postal code, service, weight): its destination, whatever
 * the line then does with it (an oversize parcel, a full chute group). */
static const char *planned_route(struct wcsctl_brokers *r, const struct wcs_preadvice *a)
{
    struct wcs_parcel p;
    int route;

    memset(&p, 0, sizeof(p));
    wcs_parcel_from_preadvice(&p, a);
    route = wcs_plan_match(r->plan, p.postal, a->service, p.weight_g);
    return route >= 0 ? wcs_plan_route(r->plan, (size_t)route)->id : NULL;
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
    wcs_plan_free(r->plan);
    free(r);
}

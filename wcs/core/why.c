/*
 * why.c - a decision explained (why.h).
 */
#include "wcs/core/why.h"

#include <stdint.h>

/* The chutes of a route's group with their state and load. */
static json_t *group_json(const struct wcs_plan *plan, const struct wcs_engine *eng,
                          const struct wcs_plan_route *r, int chosen)
{
    json_t *a = json_array();
    int i;

    for (i = 0; a != NULL && i < r->nchutes; i++) {
        const struct wcs_chute_status *st = wcs_engine_chute(eng, r->chutes[i]);

        json_array_append_new(
            a, json_pack("{s:s,s:s,s:I,s:b}", "chute", wcs_plan_chute(plan, r->chutes[i])->id,
                         "state", wcs_chute_status_name(st), "load",
                         (json_int_t)st->load, "chosen", (int)r->chutes[i] == chosen));
    }
    return a;
}

static json_t *rule_json(const struct wcs_plan_rule *r)
{
    json_t *services = json_array();
    int i;

    for (i = 0; i < r->nservices; i++)
        json_array_append_new(services, json_string(r->services[i]));
    return json_pack("{s:i,s:i,s:i,s:o,s:I,s:o,s:i,s:s}", "line", r->line, "postal_prefix_from",
                     (int)r->prefix_from, "postal_prefix_to", (int)r->prefix_to, "services",
                     services, "weight_min_g", (json_int_t)r->weight_min_g, "weight_max_g",
                     r->weight_max_g == UINT32_MAX ? json_null()
                                                   : json_integer((json_int_t)r->weight_max_g),
                     "priority", r->priority, "description", r->description);
}

json_t *wcs_decision_why(const struct wcs_plan *plan, const struct wcs_engine *eng,
                         const struct wcs_decision *d)
{
    const struct wcs_plan_rule *rule = d->rule >= 0 ? wcs_plan_rule(plan, (size_t)d->rule) : NULL;
    const struct wcs_plan_route *matched =
        rule != NULL ? wcs_plan_route(plan, (size_t)rule->route) : NULL;
    const struct wcs_plan_route *used =
        d->route >= 0 ? wcs_plan_route(plan, (size_t)d->route) : NULL;
    json_t *j = json_object();

    if (j == NULL)
        return NULL;
    json_object_set_new(j, "rule", rule != NULL ? rule_json(rule) : json_null());
    json_object_set_new(j, "route",
                        used != NULL ? json_pack("{s:s,s:s,s:s}", "id", used->id, "mode",
                                                 used->mode, "crossing", used->crossing)
                                     : json_null());
    json_object_set_new(j, "fallback_from",
                        d->fallback && matched != NULL ? json_string(matched->id) : json_null());
    if (matched != NULL)
        json_object_set_new(j, "group", group_json(plan, eng, matched, d->chute));
    if (d->fallback && used != NULL)
        json_object_set_new(j, "fallback_group", group_json(plan, eng, used, d->chute));
    return j;
}

/*
 * why.h - "why this chute": a decision explained from the plan and the
 * chutes' states as the engine saw them (issue 11: the console's parcel
 * search, `wcsctl parcel show CODE --why`). Pure: plan, engine and
 * decision in, JSON out.
 */
#ifndef WCS_WHY_H
#define WCS_WHY_H

#include <jansson.h>

#include "wcs/core/engine.h"

/*
 * The explanation of d, decided by eng on plan (right after the decision,
 * before another changes the chutes):
 *   {"rule": {"line", "postal_prefix_from", "postal_prefix_to", "services",
 *             "weight_min_g", "weight_max_g", "priority", "description"} | null,
 *    "route": {"id", "mode", "crossing"} | null, "fallback_from": route id | null,
 *    "group": [{"chute", "state", "load", "chosen"}...]   the chutes tried, in
 *             the plan's order: the least-loaded active one is chosen,
 *             ties to the first listed,
 *    "fallback_group": [...] when the route's own group had no active chute}
 * NULL on ENOMEM.
 */
json_t *wcs_decision_why(const struct wcs_plan *plan, const struct wcs_engine *eng,
                         const struct wcs_decision *d);

#endif

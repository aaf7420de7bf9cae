/*
 * actions.h - what an operator does to the line's records, each with its
 * operator event (the audit: actor, what, the chute when there is one), the
 * same whether it comes from wcsctl or from the console. The event is
 * written after the change (the change's own function commits it): a
 * failed event is reported in e->msg of a warning return, never undoes
 * the change.
 *
 * Each returns what the store function it wraps returns (bags.h, store.h),
 * and 0 with *warned set when only the event could not be written.
 */
#ifndef WCS_ACTIONS_H
#define WCS_ACTIONS_H

#include <stdbool.h>

#include "wcs/store/bags.h"
#include "wcs/store/noreads.h"
#include "wcs/store/store.h"

int wcs_act_bag_close(PGconn *c, const char *actor, const char *line, const char *chute,
                      int weight_g, struct wcs_bag_closed *out, bool *warned, struct err *e);
int wcs_act_plan_activate(PGconn *c, const char *actor, int version, bool *warned,
                          struct err *e);
int wcs_act_dispatch_open(PGconn *c, const char *actor, const char *route, const char *transport,
                          const char *crossing, const char *departure, const char *carrier,
                          char manifest_id[WCS_MANIFEST_ID_MAX], bool *warned, struct err *e);
int wcs_act_dispatch_add(PGconn *c, const char *actor, const char *manifest_id,
                         const char *const *bag_ids, size_t n, bool *warned, struct err *e);
int wcs_act_dispatch_close(PGconn *c, const char *actor, const char *manifest_id, bool *warned,
                           struct err *e);

/* Keys no-read id in (code, a valid parcel code) or marks it unreadable
 * (code NULL); the event names the parcel's tracking number. */
int wcs_act_noread_key(PGconn *c, const char *actor, int64_t id, const char *code,
                       struct wcs_noread *out, bool *warned, struct err *e);

#endif

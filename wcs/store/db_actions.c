/*
 * db_actions.c - an operator's actions with their audit records (actions.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "wcs/store/actions.h"

/* Records the action done; only a warning when the record fails. */
static int recorded(PGconn *c, const char *actor, const char *chute, bool *warned, struct err *e,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int recorded(PGconn *c, const char *actor, const char *chute, bool *warned, struct err *e,
                    const char *fmt, ...)
{
    char detail[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    *warned = wcs_db_operator_event(c, actor, NULL, chute, detail, e) < 0;
    return 0;
}

int wcs_act_bag_close(PGconn *c, const char *actor, const char *line, const char *chute,
                      int weight_g, struct wcs_bag_closed *out, bool *warned, struct err *e)
{
    int rc = wcs_db_bag_close(c, line, chute, weight_g, out, e);

    *warned = false;
    if (rc < 0)
        return rc;
    return recorded(c, actor, chute, warned, e, "bag close %s: %s %d g %d parcels", chute,
                    out->bag_id, out->weight_g, out->parcels);
}

int wcs_act_plan_activate(PGconn *c, const char *actor, int version, bool *warned,
                          struct err *e)
{
    int rc = wcs_db_plan_activate(c, version, e);

    *warned = false;
    if (rc < 0)
        return rc;
    return recorded(c, actor, NULL, warned, e, "sort plan v%d activated", version);
}

int wcs_act_dispatch_open(PGconn *c, const char *actor, const char *route, const char *transport,
                          const char *crossing, const char *departure, const char *carrier,
                          char manifest_id[WCS_MANIFEST_ID_MAX], bool *warned, struct err *e)
{
    int rc = wcs_db_dispatch_open(c, route, transport, crossing, departure, carrier, manifest_id, e);

    *warned = false;
    if (rc < 0)
        return rc;
    return recorded(c, actor, NULL, warned, e, "dispatch open %s route %s", manifest_id, route);
}

int wcs_act_dispatch_add(PGconn *c, const char *actor, const char *manifest_id,
                         const char *const *bag_ids, size_t n, bool *warned, struct err *e)
{
    int rc = wcs_db_dispatch_add(c, manifest_id, bag_ids, n, e);

    *warned = false;
    if (rc < 0)
        return rc;
    return recorded(c, actor, NULL, warned, e, "dispatch add %s: %zu bag(s)", manifest_id, n);
}

int wcs_act_dispatch_close(PGconn *c, const char *actor, const char *manifest_id, bool *warned,
                           struct err *e)
{
    int rc = wcs_db_dispatch_close(c, manifest_id, e);

    *warned = false;
    if (rc < 0)
        return rc;
    return recorded(c, actor, NULL, warned, e, "dispatch close %s", manifest_id);
}

int wcs_act_noread_key(PGconn *c, const char *actor, int64_t id, const char *code,
                       struct wcs_noread *out, bool *warned, struct err *e)
{
    struct wcs_noread row;
    int rc = wcs_db_noread_key(c, id, code, actor, out != NULL ? out : &row, e);

    *warned = false;
    if (out == NULL)
        out = &row;
    if (rc < 0)
        return rc;
    return recorded(c, actor, NULL, warned, e, "no-read %lld tracking %s %s %s", (long long)id,
                    out->tracking, code != NULL ? "keyed" : "marked unreadable",
                    code != NULL ? code : "");
}

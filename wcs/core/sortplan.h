/*
 * sortplan.h - the sort plan: chutes, routes (each with a chute group),
 * rules mapping Russian postal-code prefixes (first 3 digits), service and
 * weight to a route, special destinations and limits.
 *
 * A plan is built through the builder calls (by the CSV parser and by the
 * database loader alike), then wcs_plan_finish() validates and compiles it.
 * A finished plan is immutable and may be read from any thread; wcsd swaps
 * whole plans, so no decision ever sees half a plan.
 *
 * CSV format (docs/sortplan.md): a header line
 *   kind,id,route,prefix_from,prefix_to,services,weight_min_g,weight_max_g,priority,chutes,value,description,crossing
 * then one row per chute, route, rule, special destination or parameter.
 * `crossing` (last column) is a route's border crossing, so that no other
 * column has to carry it; it is empty for every other kind.
 */
#ifndef WCS_SORTPLAN_H
#define WCS_SORTPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/err.h"

#define WCS_CHUTE_ID_MAX 20  /* chute ids travel in a 20-char telegram field */
#define WCS_ROUTE_ID_MAX 31
#define WCS_GROUP_MAX 32     /* chutes in one group */
#define WCS_RULE_SERVICES_MAX 8
#define WCS_PLAN_CHUTES_MAX 1024 /* chutes in one plan; lets the engine keep
                                  * fixed-size state so a plan swap cannot fail */

/* Special destinations; the CSV names are in parentheses. */
enum wcs_special {
    WCS_SPECIAL_NOREAD = 0, /* (noread) nothing read */
    WCS_SPECIAL_MULTIREAD,  /* (multiread) several distinct parcel codes */
    WCS_SPECIAL_UNKNOWN,    /* (unknown) no pre-advice */
    WCS_SPECIAL_INVALID,    /* (invalid) only invalid codes read */
    WCS_SPECIAL_CUSTHOLD,   /* (customs_hold) customs hold */
    WCS_SPECIAL_NOROUTE,    /* (noroute) no rule matches */
    WCS_SPECIAL_OVERSIZE,   /* (oversize) over size/weight limits */
    WCS_SPECIAL_RECIRLIM,   /* (recirc_limit) recirculation limit reached */
    WCS_SPECIAL_CHFULL,     /* (chute_full) route group and fallback unavailable */
    WCS_SPECIAL_COUNT
};

struct wcs_plan_chute {
    char id[WCS_CHUTE_ID_MAX + 1];
    char description[64];
};

struct wcs_plan_route {
    char id[WCS_ROUTE_ID_MAX + 1];  /* e.g. "RU-ZAB-RAIL" */
    char mode[8];                   /* air | rail | road | river */
    char crossing[48];              /* border crossing, "" for air */
    char description[96];
    uint16_t chutes[WCS_GROUP_MAX]; /* indices into plan chutes */
    int nchutes;
    int fallback;                   /* route index, -1 none */
};

struct wcs_plan_rule {
    int line;                       /* source line, for messages */
    int route;                      /* route index */
    uint16_t prefix_from, prefix_to;/* 3-digit postal prefixes, inclusive */
    char services[WCS_RULE_SERVICES_MAX][9]; /* empty list = any service */
    int nservices;
    uint32_t weight_min_g;          /* inclusive */
    uint32_t weight_max_g;          /* inclusive; UINT32_MAX no bound */
    int priority;                   /* higher wins */
    char description[96];           /* UTF-8, may be "" */
};

struct wcs_plan; /* opaque; read through the accessors below */

/* Builder. Every add call copies its strings. Problems that can be seen in
 * one row are reported by the add call (ERR_INVALID + e); cross-row problems
 * by wcs_plan_finish(). `line` is the source line (0 when none). */
struct wcs_plan *wcs_plan_new(const char *source_name);
void wcs_plan_free(struct wcs_plan *p);
int wcs_plan_add_chute(struct wcs_plan *p, int line, const char *id, const char *description,
                       struct err *e);
/* chutes: ids separated by spaces or ';'. fallback: route id or "" */
int wcs_plan_add_route(struct wcs_plan *p, int line, const char *id, const char *mode,
                       const char *crossing, const char *chutes, const char *fallback,
                       const char *description, struct err *e);
/* services: names separated by spaces or ';', "" any. weight_max_g 0 = unbounded. */
int wcs_plan_add_rule(struct wcs_plan *p, int line, const char *route, int prefix_from,
                      int prefix_to, const char *services, uint32_t weight_min_g,
                      uint32_t weight_max_g, int priority, const char *description, struct err *e);
int wcs_plan_add_special(struct wcs_plan *p, int line, const char *name, const char *chutes,
                         struct err *e);
/* Parameters: default_exit (text), recirc_limit, max_weight_g, max_length_mm,
 * max_width_mm, max_height_mm (numbers). */
int wcs_plan_set_param(struct wcs_plan *p, int line, const char *name, const char *value,
                       struct err *e);

/* Validates the whole plan (unknown chutes, routes with no chute, unknown
 * fallback routes, overlapping rules of equal priority, missing specials,
 * bad parameters), adding one "SOURCE:LINE: field: reason" per problem to d.
 * Compiles the prefix index when valid. Returns 0 or ERR_INVALID. */
int wcs_plan_finish(struct wcs_plan *p, struct diag *d);

/* Parses a whole CSV plan (text of len bytes) into a finished plan. Every
 * problem goes to d as "SOURCE:LINE: field: reason". Returns 0 and *out, or
 * ERR_PARSE/ERR_INVALID with *out NULL. */
int wcs_plan_parse_csv(const char *source_name, const char *text, size_t len,
                       struct wcs_plan **out, struct diag *d);

/* Accessors (valid on a finished plan). */
const char *wcs_plan_source(const struct wcs_plan *p);
size_t wcs_plan_nchutes(const struct wcs_plan *p);
const struct wcs_plan_chute *wcs_plan_chute(const struct wcs_plan *p, size_t i);
int wcs_plan_chute_find(const struct wcs_plan *p, const char *id); /* index or -1 */
size_t wcs_plan_nroutes(const struct wcs_plan *p);
const struct wcs_plan_route *wcs_plan_route(const struct wcs_plan *p, size_t i);
int wcs_plan_route_find(const struct wcs_plan *p, const char *id);
size_t wcs_plan_nrules(const struct wcs_plan *p);
const struct wcs_plan_rule *wcs_plan_rule(const struct wcs_plan *p, size_t i);
/* Chute indices of a special destination; *n gets the count. */
const uint16_t *wcs_plan_special(const struct wcs_plan *p, enum wcs_special s, int *n);
const char *wcs_plan_special_name(enum wcs_special s);
const char *wcs_plan_default_exit(const struct wcs_plan *p);
unsigned wcs_plan_recirc_limit(const struct wcs_plan *p);
/* Limits; 0 = no limit. */
uint32_t wcs_plan_max_weight_g(const struct wcs_plan *p);
void wcs_plan_max_dims(const struct wcs_plan *p, uint32_t *l, uint32_t *w, uint32_t *h);
const char *wcs_plan_param(const struct wcs_plan *p, const char *name); /* raw value or NULL */
size_t wcs_plan_nparams(const struct wcs_plan *p);
void wcs_plan_param_at(const struct wcs_plan *p, size_t i, const char **name, const char **value);

/* The route index for a parcel, or -1 when no rule matches: rules whose
 * prefix range holds postal/1000, service in the rule's list (or list empty;
 * compared ignoring case, NULL matches only empty lists), weight in range;
 * the highest priority wins. postal above 999999 (WCS_POSTAL_NONE) matches
 * nothing. Pure, O(rules at that prefix). */
int wcs_plan_match(const struct wcs_plan *p, uint32_t postal, const char *service,
                   uint32_t weight_g);

/* The same match, answering the rule (its index, for wcs_plan_rule()) that
 * decided instead of its route; -1 when none. */
int wcs_plan_match_rule(const struct wcs_plan *p, uint32_t postal, const char *service,
                        uint32_t weight_g);

#endif

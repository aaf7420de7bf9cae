/*
 * sorter.h - where parcels go: the parcel registry, the active sort plan and
 * the decision engine together, and the one way to decide (codes read ->
 * code check -> registry lookup -> engine). The PLC stations, the operator
 * API's dry runs and the benchmarks all decide through wcs_sorter_decide().
 *
 * Pure and in memory; owned by one thread (wcsd's loop), not thread-safe.
 * Parcels and plans arrive from the store as whole records and are applied
 * between two decisions, never during one.
 */
#ifndef WCS_CORE_SORTER_H
#define WCS_CORE_SORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "wcs/core/engine.h"
#include "wcs/core/parcel.h"
#include "wcs/core/registry.h"
#include "wcs/core/sortplan.h"

struct wcs_sorter_stats {
    uint64_t decisions;       /* committed decisions */
    uint64_t dry_runs;        /* decisions that changed nothing (operators' questions) */
    uint64_t parcels_applied; /* parcel records put since start */
    uint64_t plan_swaps;      /* plans installed since start */
};

struct wcs_sorter;

/* An empty sorter (no plan: every decision is ERR_STATE) sized for about
 * expected_parcels. NULL on ENOMEM. */
struct wcs_sorter *wcs_sorter_new(size_t expected_parcels);
void wcs_sorter_free(struct wcs_sorter *s);

/* Puts a parcel and its codes into the registry (wcs_registry_put()).
 * Returns 0, -ENOMEM or ERR_INVALID. */
int wcs_sorter_put_parcel(struct wcs_sorter *s, const struct wcs_parcel *p,
                          const char *const *codes, size_t ncodes, struct err *e);

/* Installs plan (owned from now on) as version, freeing the one before.
 * Chute states and loads carry over by chute id (wcs_engine_set_plan()). */
void wcs_sorter_set_plan(struct wcs_sorter *s, struct wcs_plan *plan, int version);

/*
 * Decides for the codes read (at most CONV_READS_MAX are looked at; each is
 * checked with scan_code_check() and resolved in the registry) and the
 * measurements and recirculations in *m (its reads/nreads ignored; NULL =
 * none). commit=false is a dry run: nothing changes. *out points into the
 * plan and registry, valid until the next set_plan/put_parcel. Returns 0 or
 * ERR_STATE (no plan active).
 */
int wcs_sorter_decide(struct wcs_sorter *s, const char *const *codes, size_t ncodes,
                      const struct wcs_decide_input *m, bool commit, struct wcs_decision *out,
                      struct err *e);

/* The parcel a code maps to, or NULL (valid until the next put). */
const struct wcs_parcel *wcs_sorter_find(const struct wcs_sorter *s, const char *code);

/* The active plan (NULL none) and its version (0 none). */
const struct wcs_plan *wcs_sorter_plan(const struct wcs_sorter *s);
int wcs_sorter_plan_version(const struct wcs_sorter *s);
/* The route id of route index i of the active plan, "-" for -1 or none. */
const char *wcs_sorter_route_id(const struct wcs_sorter *s, int route);

/* Chute states and loads (the plan's chute order). */
struct wcs_engine *wcs_sorter_engine(struct wcs_sorter *s);
const struct wcs_registry *wcs_sorter_registry(const struct wcs_sorter *s);
void wcs_sorter_get_stats(const struct wcs_sorter *s, struct wcs_sorter_stats *out);

#endif

/*
 * engine.h - the decision engine: which chute a parcel goes to, and why.
 *
 * Pure and in memory: plain data in (the codes read, the parcels they resolve
 * to, measurements, recirculations), a chute and a reason code out. No I/O,
 * no locks; owned by one thread (wcsd's loop). Decision order:
 *   1. recirculations past the plan's limit        -> recirc_limit,  RECIRLIM
 *   2. nothing read                                -> noread,        NOREAD__
 *   3. two or more distinct parcels read           -> multiread,     MULTIRD_
 *   4. only invalid codes read                     -> invalid,       INVALID_
 *   5. no pre-advice for the code                  -> unknown,       UNKNOWN_
 *   6. customs held / blocked                      -> customs_hold,  CUSTHOLD
 *   7. over the weight or size limits              -> oversize,      OVERSIZE
 *   8. no rule matches (or not for Russia)         -> noroute,       NOROUTE_
 *   9. the route's chute group: least-loaded ACTIVE chute, OK______;
 *      whole group unavailable -> the fallback route's group, OK______;
 *      that too -> chute_full, CHFULL__.
 * A special destination whose chutes are all unavailable sends the parcel to
 * the plan's default exit (end-of-line), with the same reason.
 *
 * "Distinct parcels" (step 3): a read resolving to a pre-advised parcel is
 * that parcel (even if its code failed the format check); a valid code
 * without pre-advice is a parcel of its own; an invalid code without
 * pre-advice is ignored; the same code twice, or two codes of one parcel
 * (S10 + LP), are one parcel. So a known parcel plus a valid unknown code is
 * a multi-read. Rationale in engine.c and docs/sortplan.md.
 */
#ifndef WCS_ENGINE_H
#define WCS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "conveyor/conveyor.h"
#include "wcs/core/parcel.h"
#include "wcs/core/sortplan.h"

enum wcs_chute_state { WCS_CHUTE_ACTIVE = 0, WCS_CHUTE_FULL, WCS_CHUTE_DISABLED, WCS_CHUTE_FAULT };

struct wcs_chute_status {
    char id[WCS_CHUTE_ID_MAX + 1];
    uint8_t state;       /* enum wcs_chute_state, as the PLC reports it */
    uint8_t held;        /* disabled by an operator (console), whatever the PLC says */
    uint32_t load;       /* parcels sent there since it was last emptied */
};

/* One code read for the parcel (by a PLC reader or the WCS's own scanners). */
struct wcs_read {
    const char *code;                /* not NUL-terminated necessarily */
    size_t len;
    bool valid;                      /* passed scan_code_check() as a parcel code */
    const struct wcs_parcel *parcel; /* registry lookup, NULL = not pre-advised */
};

struct wcs_decide_input {
    const struct wcs_read *reads;
    size_t nreads;
    uint32_t weight_g;               /* measured on the line, 0 = not measured */
    uint16_t length_mm, width_mm, height_mm; /* measured, 0 = not measured */
    unsigned recirculations;         /* times the parcel already came round */
};

struct wcs_decision {
    enum conv_reason reason;
    int chute;                       /* plan chute index, -1 = default exit */
    const char *destination;         /* chute id or default exit; valid while the plan lives */
    int route;                       /* route sorted to (the fallback when used); for
                                      * chute_full the route that matched; -1 none */
    int read;                        /* index in reads of the code decided on (first read of
                                      * the one parcel; for invalid the first read), -1 none */
    const struct wcs_parcel *parcel; /* parcel decided on (also for recirc_limit when the
                                      * reads name one parcel), NULL none */
    int rule;                        /* plan rule that matched (wcs_plan_rule()), -1 none */
    bool fallback;                   /* the matched route's group was unavailable: route is
                                      * its fallback */
};

struct wcs_engine;

struct wcs_engine *wcs_engine_new(void);
void wcs_engine_free(struct wcs_engine *eng);

/* Installs a finished plan (not owned) and returns the previous one (NULL at
 * first) for the caller to free. Chute states and loads carry over by chute id;
 * chutes new to the plan start ACTIVE with load 0. */
const struct wcs_plan *wcs_engine_set_plan(struct wcs_engine *eng, const struct wcs_plan *plan);
const struct wcs_plan *wcs_engine_plan(const struct wcs_engine *eng);

/* Sets a chute's state; ERR_NOTFOUND when the plan has no such chute. */
int wcs_engine_set_chute_state(struct wcs_engine *eng, const char *chute, enum wcs_chute_state st);
/* An operator disables (held true) or enables a chute: a held chute takes no
 * parcels, whatever state its PLC reports. The hold is kept by id, so it
 * also holds in a later plan (a chute missing from the active plan is held
 * when a plan brings it back). ERR_NOTFOUND when the active plan has no
 * such chute (the hold is kept all the same). */
int wcs_engine_set_chute_held(struct wcs_engine *eng, const char *chute, bool held);
/* The chute was emptied (bag closed): load back to 0, FULL back to ACTIVE. */
int wcs_engine_chute_emptied(struct wcs_engine *eng, const char *chute);
/* A parcel counted in chute i's load did not arrive there (recirculated,
 * divert failed, lost): take it off the load. ERR_NOTFOUND for a bad index. */
int wcs_engine_chute_uncount(struct wcs_engine *eng, size_t i);
/* Status of the plan's chute i (same order as the plan's chutes). */
const struct wcs_chute_status *wcs_engine_chute(const struct wcs_engine *eng, size_t i);

/* Decides. When commit is true the chosen chute's load is counted; a dry run
 * (commit false) changes nothing. Returns 0, or ERR_STATE when no plan is set. */
int wcs_engine_decide(struct wcs_engine *eng, const struct wcs_decide_input *in, bool commit,
                      struct wcs_decision *out);

const char *wcs_chute_state_name(enum wcs_chute_state st);
/* What an operator sees: "active", "full", "disabled_plc", "disabled_operator"
 * (held, whatever the PLC says) or "fault". */
const char *wcs_chute_status_name(const struct wcs_chute_status *c);
int wcs_chute_state_parse(const char *s, enum wcs_chute_state *out);

#endif

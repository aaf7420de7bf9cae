/*
 * figures.h - the shift's figures, kept in memory by wcsd from its own
 * decisions: per minute (sorted, no-reads, recirculated, decisions by
 * reason) for the last WCS_FIGURES_MINUTES minutes, decision latency as a
 * histogram, and parcels per route since the plan was installed. Pure:
 * the caller says what happened and when; counting is a few additions, so
 * the hot path pays nothing it could notice. Loop thread only.
 */
#ifndef WCS_FIGURES_H
#define WCS_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "conveyor/conveyor.h"

#define WCS_FIGURES_MINUTES 240   /* four hours */
#define WCS_FIGURES_ROUTES 256    /* routes counted (a plan has fewer) */
#define WCS_FIGURES_LAT_BUCKETS 176 /* 16 ns to 67 ms */

struct wcs_figures_minute {
    int64_t minute;                          /* minutes since the Unix epoch */
    uint32_t sorted;                         /* decisions */
    uint32_t noread;                         /* of which nothing was read */
    uint32_t recirculated;                   /* of which had come round before */
    uint32_t by_reason[CONV_REASON_COUNT];
};

struct wcs_figures {
    struct wcs_figures_minute ring[WCS_FIGURES_MINUTES];
    size_t last;                             /* ring index of the newest minute */
    uint64_t lat[WCS_FIGURES_LAT_BUCKETS];   /* decision latency histogram */
    uint64_t lat_count;
    uint64_t routes[WCS_FIGURES_ROUTES];     /* parcels per route index ... */
    int routes_plan;                         /* ... of this plan version */
};

void wcs_figures_init(struct wcs_figures *f);

/* One decision at now_us (Unix microseconds): its reason, the route index
 * it went to (-1 none) under plan version plan, whether the parcel had come
 * round before, and how long deciding took in nanoseconds. */
void wcs_figures_decision(struct wcs_figures *f, int64_t now_us, enum conv_reason reason,
                          int route, int plan, unsigned recirculations, uint64_t latency_ns);

/* The minute at now_us - back minutes, or NULL when nothing was counted then. */
const struct wcs_figures_minute *wcs_figures_minute(const struct wcs_figures *f, int64_t now_us,
                                                    unsigned back);

/* The latency below which share (0..1) of decisions fell, in nanoseconds
 * (the bucket's upper bound, within 10%); 0 before any decision. */
double wcs_figures_latency_ns(const struct wcs_figures *f, double share);

#endif

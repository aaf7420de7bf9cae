/*
 * figures.c - the shift's figures (figures.h).
 *
 * Latency buckets grow by 2^(1/8) (about 9%) from 16 ns, so 176 of them
 * reach 67 ms: a percentile is read to within a bucket's width with
 * no sample kept.
 */
#include "wcs/core/figures.h"

#include <math.h>
#include <string.h>

#define LAT_BASE_NS 16.0
#define LAT_STEPS_PER_DOUBLING 8

void wcs_figures_init(struct wcs_figures *f)
{
    memset(f, 0, sizeof(*f));
    f->ring[0].minute = -1;
    f->routes_plan = -1;
}

static size_t lat_bucket(uint64_t ns)
{
    double b;

    if ((double)ns <= LAT_BASE_NS)
        return 0;
    b = ceil(log2((double)ns / LAT_BASE_NS) * LAT_STEPS_PER_DOUBLING);
    return b >= WCS_FIGURES_LAT_BUCKETS ? WCS_FIGURES_LAT_BUCKETS - 1 : (size_t)b;
}

/* The ring's entry for minute, moving the ring on when it is new; minutes
 * in between (no decision) are zero. */
static struct wcs_figures_minute *minute_entry(struct wcs_figures *f, int64_t minute)
{
    struct wcs_figures_minute *m = &f->ring[f->last];
    int64_t gap;

    if (m->minute == minute)
        return m;
    if (m->minute > minute) /* the clock went back: counted in the newest */
        return m;
    gap = m->minute < 0 ? 1 : minute - m->minute;
    if (gap > WCS_FIGURES_MINUTES)
        gap = WCS_FIGURES_MINUTES;
    while (gap-- > 0) {
        f->last = (f->last + 1) % WCS_FIGURES_MINUTES;
        memset(&f->ring[f->last], 0, sizeof(f->ring[f->last]));
        f->ring[f->last].minute = minute - gap;
    }
    return &f->ring[f->last];
}

void wcs_figures_decision(struct wcs_figures *f, int64_t now_us, enum conv_reason reason,
                          int route, int plan, unsigned recirculations, uint64_t latency_ns)
{
    struct wcs_figures_minute *m = minute_entry(f, now_us / 60000000);

    m->sorted++;
    if (reason == CONV_REASON_NOREAD)
        m->noread++;
    if (recirculations > 0)
        m->recirculated++;
    if ((unsigned)reason < CONV_REASON_COUNT)
        m->by_reason[reason]++;
    f->lat[lat_bucket(latency_ns)]++;
    f->lat_count++;
    if (plan != f->routes_plan) {
        memset(f->routes, 0, sizeof(f->routes));
        f->routes_plan = plan;
    }
    if (route >= 0 && route < WCS_FIGURES_ROUTES)
        f->routes[route]++;
}

const struct wcs_figures_minute *wcs_figures_minute(const struct wcs_figures *f, int64_t now_us,
                                                    unsigned back)
{
    int64_t want = now_us / 60000000 - (int64_t)back;
    const struct wcs_figures_minute *newest = &f->ring[f->last];
    int64_t age;

    if (newest->minute < 0 || want > newest->minute)
        return NULL;
    age = newest->minute - want;
    if (age >= WCS_FIGURES_MINUTES)
        return NULL;
    newest = &f->ring[(f->last + WCS_FIGURES_MINUTES - (size_t)age) % WCS_FIGURES_MINUTES];
    return newest->minute == want ? newest : NULL;
}

double wcs_figures_latency_ns(const struct wcs_figures *f, double share)
{
    uint64_t want, seen = 0;
    size_t i;

    if (f->lat_count == 0)
        return 0;
    want = (uint64_t)ceil(share * (double)f->lat_count);
    if (want == 0)
        want = 1;
    for (i = 0; i < WCS_FIGURES_LAT_BUCKETS; i++) {
        seen += f->lat[i];
        if (seen >= want)
            break;
    }
    if (i == WCS_FIGURES_LAT_BUCKETS)
        i--;
    return LAT_BASE_NS * pow(2.0, (double)i / LAT_STEPS_PER_DOUBLING);
}

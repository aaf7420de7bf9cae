/*
 * sorter.c - registry + plan + engine, and decide() (see sorter.h).
 */
#include "wcs/core/sorter.h"

#include <stdlib.h>
#include <string.h>

#include "scanners/scanners.h"

struct wcs_sorter {
    struct wcs_registry *registry;
    struct wcs_engine *engine;
    struct wcs_plan *plan;   /* installed plan (owned), NULL none */
    int plan_version;        /* 0 none */
    struct wcs_sorter_stats stats;
};

struct wcs_sorter *wcs_sorter_new(size_t expected_parcels)
{
    struct wcs_sorter *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->registry = wcs_registry_new(expected_parcels);
    s->engine = wcs_engine_new();
    if (s->registry == NULL || s->engine == NULL) {
        wcs_sorter_free(s);
        return NULL;
    }
    return s;
}

void wcs_sorter_free(struct wcs_sorter *s)
{
    if (s == NULL)
        return;
    wcs_engine_free(s->engine);
    wcs_plan_free(s->plan);
    wcs_registry_free(s->registry);
    free(s);
}

int wcs_sorter_put_parcel(struct wcs_sorter *s, const struct wcs_parcel *p,
                          const char *const *codes, size_t ncodes, struct err *e)
{
    int rc = wcs_registry_put(s->registry, p, codes, ncodes, e);

    if (rc == 0)
        s->stats.parcels_applied++;
    return rc;
}

void wcs_sorter_set_plan(struct wcs_sorter *s, struct wcs_plan *plan, int version)
{
    /* The engine only ever pointed at s->plan, so the old plan is ours to free. */
    (void)wcs_engine_set_plan(s->engine, plan);
    wcs_plan_free(s->plan);
    s->plan = plan;
    s->plan_version = version;
    s->stats.plan_swaps++;
}

int wcs_sorter_decide(struct wcs_sorter *s, const char *const *codes, size_t ncodes,
                      const struct wcs_decide_input *m, bool commit, struct wcs_decision *out,
                      struct err *e)
{
    struct wcs_read reads[CONV_READS_MAX];
    struct wcs_decide_input in;
    size_t i;
    int rc;

    if (s->plan == NULL)
        return err_set(e, ERR_STATE, "no sort plan is active");
    if (ncodes > CONV_READS_MAX)
        ncodes = CONV_READS_MAX;
    for (i = 0; i < ncodes; i++) {
        struct scan_code_info info;
        size_t len = strlen(codes[i]);

        scan_code_check(codes[i], len, &info);
        reads[i].code = codes[i];
        reads[i].len = len;
        reads[i].valid = info.valid && scan_code_is_parcel(info.kind);
        reads[i].parcel = reads[i].valid ? wcs_registry_find(s->registry, codes[i], len) : NULL;
    }
    if (m != NULL)
        in = *m;
    else
        memset(&in, 0, sizeof(in));
    in.reads = reads;
    in.nreads = ncodes;
    rc = wcs_engine_decide(s->engine, &in, commit, out);
    if (rc < 0)
        return err_set(e, rc, "decision failed: %s", err_text(rc));
    if (commit)
        s->stats.decisions++;
    else
        s->stats.dry_runs++;
    return 0;
}

const struct wcs_parcel *wcs_sorter_find(const struct wcs_sorter *s, const char *code)
{
    return wcs_registry_find(s->registry, code, strlen(code));
}

const struct wcs_plan *wcs_sorter_plan(const struct wcs_sorter *s)
{
    return s->plan;
}

int wcs_sorter_plan_version(const struct wcs_sorter *s)
{
    return s->plan_version;
}

const char *wcs_sorter_route_id(const struct wcs_sorter *s, int route)
{
    if (route < 0 || s->plan == NULL || (size_t)route >= wcs_plan_nroutes(s->plan))
        return "-";
    return wcs_plan_route(s->plan, (size_t)route)->id;
}

struct wcs_engine *wcs_sorter_engine(struct wcs_sorter *s)
{
    return s->engine;
}

const struct wcs_registry *wcs_sorter_registry(const struct wcs_sorter *s)
{
    return s->registry;
}

void wcs_sorter_get_stats(const struct wcs_sorter *s, struct wcs_sorter_stats *out)
{
    *out = s->stats;
}

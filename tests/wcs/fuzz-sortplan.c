/*
 * fuzz-sortplan.c - libFuzzer entry point for the sort-plan CSV reader
 * (wcs_plan_parse_csv), docs/fuzzing.md.
 *
 * The input is the file. Beyond "no crash, no sanitizer report", it checks:
 *  - the parse ends in 0 with a plan, or ERR_PARSE/ERR_INVALID with none and
 *    at least one message; every message is one printable line naming the
 *    file;
 *  - a plan that parses is consistent through its accessors: every chute
 *    and route is found again by its id, every index it holds (route
 *    groups, fallbacks, specials, rules) points inside the plan, within the
 *    documented maxima;
 *  - matching postal codes drawn from the input never leaves the plan.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/common/fuzzutil.h"
#include "wcs/core/sortplan.h"

static void check_plan(const struct wcs_plan *p, const uint8_t *data, size_t size)
{
    size_t nc = wcs_plan_nchutes(p), nr = wcs_plan_nroutes(p), i;
    int s, n, k;

    if (nc == 0 || nc > WCS_PLAN_CHUTES_MAX)
        abort();
    for (i = 0; i < nc; i++) {
        const struct wcs_plan_chute *c = wcs_plan_chute(p, i);

        if (strnlen(c->id, sizeof(c->id)) == sizeof(c->id) ||
            wcs_plan_chute_find(p, c->id) != (int)i)
            abort();
    }
    for (i = 0; i < nr; i++) {
        const struct wcs_plan_route *r = wcs_plan_route(p, i);

        if (wcs_plan_route_find(p, r->id) != (int)i)
            abort();
        if (r->nchutes < 0 || r->nchutes > WCS_GROUP_MAX)
            abort();
        for (k = 0; k < r->nchutes; k++)
            if (r->chutes[k] >= nc)
                abort();
        if (r->fallback < -1 || r->fallback >= (int)nr)
            abort();
    }
    for (s = 0; s < WCS_SPECIAL_COUNT; s++) {
        const uint16_t *ch = wcs_plan_special(p, (enum wcs_special)s, &n);

        if (n < 0 || n > WCS_GROUP_MAX)
            abort();
        for (k = 0; k < n; k++)
            if (ch[k] >= nc)
                abort();
    }
    for (i = 0; i < wcs_plan_nrules(p); i++) {
        const struct wcs_plan_rule *r = wcs_plan_rule(p, i);

        if (r->route < 0 || r->route >= (int)nr || r->prefix_from > r->prefix_to ||
            r->prefix_to > 999 || r->nservices < 0 || r->nservices > WCS_RULE_SERVICES_MAX)
            abort();
    }
    /* Postal codes and weights from the input's bytes. */
    for (i = 0; i + 4 <= size && i < 64; i += 4) {
        uint32_t postal = ((uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2]) %
                          1000000u;
        int route = wcs_plan_match(p, postal, (data[i + 3] & 1) ? "EMS" : NULL,
                                   (uint32_t)data[i + 3] * 100u);

        if (route < -1 || route >= (int)nr)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wcs_plan *plan = NULL;
    struct diag d = DIAG_INIT;
    int rc = wcs_plan_parse_csv("fuzz.csv", (const char *)data, size, &plan, &d);

    if (rc == 0) {
        if (plan == NULL)
            abort();
        check_plan(plan, data, size);
        wcs_plan_free(plan);
    } else {
        if ((rc != ERR_PARSE && rc != ERR_INVALID) || plan != NULL || diag_count(&d) == 0)
            abort();
    }
    fuzz_check_diag(&d, "fuzz.csv:");
    diag_free(&d);
    return 0;
}

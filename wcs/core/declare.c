/*
 * declare.c - pre-advice row -> customs declaration (see declare.h).
 *
 * Mapping (docs/customs.md "Declarations from pre-advice"): one item per
 * parcel, as pre-advice carries one; the parcel's weight is the gross weight
 * and, unless net_weight_g is given, the item's net weight too; the declared
 * value is both the item's value and the total; category defaults to
 * sale_of_goods (e-commerce), quantity to 1, origin country to the sender's
 * country. Nothing is invented beyond these defaults: a missing sender,
 * region or description leaves the field absent, and the validator names it.
 */
#include "wcs/core/declare.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "customs/declaration.h"
#include "customs/validate.h"

void wcs_declare_ctx_init(struct wcs_declare_ctx *cx)
{
    time_t now = time(NULL);
    struct tm tm;

    memset(cx, 0, sizeof(*cx));
    if (localtime_r(&now, &tm) == NULL || strftime(cx->today, sizeof(cx->today), "%Y-%m-%d", &tm) == 0)
        snprintf(cx->today, sizeof(cx->today), "1970-01-01");
}

int wcs_preadvice_declared(const struct wcs_preadvice *a)
{
    return strcmp(a->country, "RU") == 0;
}

/* A copy of s, NULL for "" (absent). *oom set when the copy fails. */
static char *opt(const char *s, int *oom)
{
    char *c;

    if (s[0] == '\0')
        return NULL;
    c = strdup(s);
    if (c == NULL)
        *oom = 1;
    return c;
}

static int fill(const struct wcs_preadvice *a, struct cust_decl *d)
{
    struct cust_item *it;
    int oom = 0, i;

    cust_decl_init(d);
    d->parcel_id = opt(a->code, &oom);
    if (a->n_other_ids > 0) {
        d->other_ids = calloc((size_t)a->n_other_ids, sizeof(*d->other_ids));
        if (d->other_ids == NULL)
            return -ENOMEM;
        d->n_other_ids = (size_t)a->n_other_ids;
        for (i = 0; i < a->n_other_ids; i++)
            d->other_ids[i] = opt(a->other_ids[i], &oom);
    }
    d->category = opt(a->category[0] ? a->category : "sale_of_goods", &oom);
    d->sender.name = opt(a->sender_name, &oom);
    d->sender.address = opt(a->sender_address, &oom);
    d->sender.city = opt(a->sender_city, &oom);
    d->sender.postal_code = opt(a->sender_postal_code, &oom);
    d->sender.country = opt(a->sender_country, &oom);
    d->sender.phone = opt(a->sender_phone, &oom);
    d->recipient.name = opt(a->recipient_name, &oom);
    d->recipient.address = opt(a->address, &oom);
    d->recipient.city = opt(a->city, &oom);
    d->recipient.region = opt(a->region, &oom);
    d->recipient.postal_code = opt(a->postal_code, &oom);
    d->recipient.country = opt(a->country, &oom);
    d->recipient.phone = opt(a->phone, &oom);
    if (a->passport_series[0] || a->passport_number[0] || a->passport_issued[0]) {
        d->has_passport = 1;
        d->passport.series = opt(a->passport_series, &oom);
        d->passport.number = opt(a->passport_number, &oom);
        d->passport.issued = opt(a->passport_issued, &oom);
    }
    d->inn = opt(a->inn, &oom);

    it = calloc(1, sizeof(*it));
    if (it == NULL)
        return -ENOMEM;
    d->items = it;
    d->n_items = 1;
    it->description = opt(a->item_description, &oom);
    it->hs_code = opt(a->hs_code, &oom);
    it->quantity = a->quantity >= 1 ? a->quantity : 1;
    it->net_weight_g = a->net_weight_g >= 1 ? a->net_weight_g
                       : a->weight_g >= 1   ? a->weight_g
                                            : CUST_ABSENT;
    it->value = a->declared_value >= 0 ? a->declared_value : CUST_ABSENT;
    it->currency = opt(a->currency, &oom);
    it->origin_country = opt(a->origin_country[0] ? a->origin_country : a->sender_country, &oom);
    d->gross_weight_g = a->weight_g >= 1 ? a->weight_g : CUST_ABSENT;
    d->total_value = it->value;
    d->currency = opt(a->currency, &oom);
    return oom ? -ENOMEM : 0;
}

/* The problems of one severity as a JSON array text; *out NULL when none. */
static int problems_json(const struct cust_problems *p, enum cust_severity sev, char **out)
{
    json_t *arr;
    size_t i;

    *out = NULL;
    arr = json_array();
    if (arr == NULL)
        return -ENOMEM;
    for (i = 0; i < p->n; i++) {
        const struct cust_problem *q = &p->v[i];

        if (q->severity != sev)
            continue;
        if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "field", q->field, "code",
                                                 q->code, "message", q->message)) < 0) {
            json_decref(arr);
            return -ENOMEM;
        }
    }
    if (json_array_size(arr) > 0) {
        *out = json_dumps(arr, JSON_COMPACT);
        if (*out == NULL) {
            json_decref(arr);
            return -ENOMEM;
        }
    }
    json_decref(arr);
    return 0;
}

static void estimate(const struct cust_decl *d, const struct wcs_declare_ctx *cx,
                     struct wcs_declaration *out)
{
    struct cust_duty_result res;
    struct err e = {0, ""};

    if (cx->rules == NULL || cx->rates == NULL) {
        snprintf(out->duty_note, sizeof(out->duty_note), "not estimated: no duty rules configured");
        return;
    }
    if (cust_duty_estimate(cx->rules, cx->rates, d, cx->today, &res, &e) < 0) {
        snprintf(out->duty_note, sizeof(out->duty_note), "not estimated: %s", e.msg);
        return;
    }
    out->duty_known = 1;
    out->duty_cents = res.over_limit ? res.duty_cents : 0;
    snprintf(out->duty_note, sizeof(out->duty_note), "%s", res.reason);
}

int wcs_declaration_build(const struct wcs_preadvice *a, const struct wcs_declare_ctx *cx,
                          struct wcs_declaration *out, struct err *e)
{
    struct cust_problems probs = CUST_PROBLEMS_INIT;
    struct cust_decl d;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = fill(a, &d);
    if (rc == 0) {
        rc = cust_validate(&d, cx->today, &probs);
        out->valid = rc == 0;
        if (rc == ERR_INVALID)
            rc = 0;
    }
    if (rc == 0)
        rc = cust_decl_encode(&d, &out->body, e);
    if (rc == 0)
        rc = problems_json(&probs, CUST_SEV_ERROR, &out->errors);
    if (rc == 0)
        rc = problems_json(&probs, CUST_SEV_WARNING, &out->warnings);
    if (rc == 0)
        estimate(&d, cx, out);
    cust_problems_free(&probs);
    cust_decl_free(&d);
    if (rc < 0) {
        wcs_declaration_free(out);
        return err_set(e, rc, "declaration of %s: out of memory", a->code);
    }
    return 0;
}

void wcs_declaration_free(struct wcs_declaration *d)
{
    free(d->body);
    free(d->errors);
    free(d->warnings);
    memset(d, 0, sizeof(*d));
}

/*
 * rupost.c - wcs-brokersim's second profile: the broker API modelled on
 * Russian Post's international API that the worker's rupost profile speaks
 * (docs/customs.md "Broker profiles"). The emulator serves it at
 * /1.0/customs/... beside broker API v1, on the same store: a rupost
 * request is read into the v1 request it stands for, processed by the same
 * code (idempotency, validation, acceptance, decisions), and the v1 answer
 * written back in rupost's words. Written apart from the worker's
 * translation (customs/rupost.c), from the profile's description, so that
 * the two meet only on the wire.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customs/brokersim/internal.h"
#include "customs/oksm.h"

static const struct {
    const char *rp, *v1;
} paths[] = {
    {"/1.0/customs/declarations", "/v1/declarations"},
    {"/1.0/customs/batches", "/v1/manifests"},
    {"/1.0/customs/events", "/v1/events"},
};

const char *cust_bsim_rp_path(const char *url)
{
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(url, paths[i].rp) == 0)
            return paths[i].v1;
    return NULL;
}

/* rupost word -> v1 word, and back (NULL rp: none). */
static const struct {
    const char *rp, *v1;
} words[] = {
    {"GIFT", "gift"},
    {"DOCUMENT", "documents"},
    {"SALE_OF_GOODS", "sale_of_goods"},
    {"COMMERCIAL_SAMPLE", "commercial_sample"},
    {"OTHER", "other"},
    {"AVIA", "air"},
    {"RAIL", "rail"},
    {"AUTO", "road"},
    {"RIVER", "river"},
};

static json_t *word_v1(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t i;

    for (i = 0; s != NULL && i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(words[i].rp, s) == 0)
            return json_string(words[i].v1);
    return v != NULL ? json_deep_copy(v) : NULL; /* unknown: the validator says so */
}

/* Sets dst[as] to a copy of src[key] when present. */
static void take(json_t *dst, const char *as, const json_t *src, const char *key)
{
    const json_t *v = json_object_get(src, key);

    if (v != NULL)
        json_object_set_new(dst, as, json_deep_copy(v));
}

/* An OKSM number as ISO alpha-2 (an unknown number stays a number: the
 * validator refuses it). */
static void country_v1(json_t *dst, const char *as, const json_t *src, const char *key)
{
    const json_t *v = json_object_get(src, key);
    const char *a2 = json_is_integer(v) ? cust_oksm_alpha2((int)json_integer_value(v)) : NULL;

    if (a2 != NULL)
        json_object_set_new(dst, as, json_string(a2));
    else if (v != NULL)
        json_object_set_new(dst, as, json_deep_copy(v));
}

static json_t *party_v1(const json_t *p)
{
    json_t *o = json_object();
    const json_t *pass = json_object_get(p, "passport");

    take(o, "name", p, "name");
    take(o, "address", p, "address");
    take(o, "city", p, "place");
    take(o, "region", p, "region");
    take(o, "postal_code", p, "index");
    country_v1(o, "country", p, "country-code");
    take(o, "phone", p, "tel");
    take(o, "inn", p, "inn");
    if (json_is_object(pass)) {
        json_t *q = json_object();
        take(q, "series", pass, "series");
        take(q, "number", pass, "number");
        take(q, "issued", pass, "issue-date");
        json_object_set_new(o, "passport", q);
    }
    return o;
}

static json_t *declaration_v1(const json_t *d)
{
    const json_t *cd = json_object_get(d, "customs-declaration"), *e;
    json_t *o = json_object(), *items = json_array(), *cat;
    size_t i;

    take(o, "parcel_id", d, "barcode");
    take(o, "other_ids", d, "other-barcodes");
    cat = word_v1(json_object_get(cd, "entries-type"));
    if (cat != NULL)
        json_object_set_new(o, "category", cat);
    json_object_set_new(o, "sender", party_v1(json_object_get(d, "sender")));
    json_object_set_new(o, "recipient", party_v1(json_object_get(d, "addressee")));
    json_array_foreach(json_object_get(cd, "customs-entries"), i, e) {
        json_t *it = json_object();
        const json_t *tn = json_object_get(e, "tnved-code");
        take(it, "description", e, "description");
        take(it, "description_en", e, "description-en");
        /* TN VED: exactly 10 digits in this profile */
        if (json_is_string(tn) && strlen(json_string_value(tn)) == 10)
            take(it, "hs_code", e, "tnved-code");
        else if (tn != NULL)
            json_object_set_new(it, "hs_code", json_string("bad"));
        take(it, "quantity", e, "amount");
        take(it, "net_weight_g", e, "weight");
        take(it, "value", e, "value");
        take(it, "currency", cd, "currency");
        country_v1(it, "origin_country", e, "country-code");
        take(it, "url", e, "url");
        json_array_append_new(items, it);
    }
    json_object_set_new(o, "items", items);
    take(o, "gross_weight_g", d, "mass");
    take(o, "total_value", d, "declared-value");
    take(o, "currency", cd, "currency");
    return o;
}

static json_t *manifest_v1(const json_t *m)
{
    json_t *o = json_object(), *bags = json_array(), *tr;
    const json_t *b;
    size_t i;

    take(o, "manifest_id", m, "batch-name");
    take(o, "route", m, "route");
    tr = word_v1(json_object_get(m, "transport-type"));
    if (tr != NULL)
        json_object_set_new(o, "transport", tr);
    take(o, "border_crossing", m, "border-crossing");
    take(o, "departure", m, "shipment-date");
    json_array_foreach(json_object_get(m, "bags"), i, b) {
        json_t *x = json_object();
        take(x, "bag_id", b, "bag-barcode");
        take(x, "gross_weight_g", b, "mass");
        take(x, "parcels", b, "barcodes");
        json_array_append_new(bags, x);
    }
    json_object_set_new(o, "bags", bags);
    return o;
}

char *cust_bsim_rp_request(const char *v1_path, const char *body, size_t len)
{
    json_t *in = json_loadb(body, len, 0, NULL), *o, *d;
    size_t i;
    char *text;

    if (!json_is_object(in)) {
        json_decref(in);
        return NULL; /* read as it is: malformed, or not an object */
    }
    if (strcmp(v1_path, "/v1/manifests") == 0) {
        o = manifest_v1(in);
    } else {
        json_t *decls = json_array();
        json_array_foreach(json_object_get(in, "items"), i, d)
            json_array_append_new(decls, declaration_v1(d));
        o = json_is_array(json_object_get(in, "items")) ? json_pack("{s:o}", "declarations", decls)
                                                        : (json_decref(decls), json_object());
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    json_decref(in);
    return text;
}

/* --- answers ------------------------------------------------------------- */

/* A v1 field path in rupost's names: "items[0].hs_code" ->
 * "customs-declaration.customs-entries[0].tnved-code". */
static void field_rp(const char *v1, char *out, size_t len)
{
    static const struct {
        const char *v1, *rp;
    } names[] = {
        {"parcel_id", "barcode"},
        {"other_ids", "other-barcodes"},
        {"category", "customs-declaration.entries-type"},
        {"recipient", "addressee"},
        {"items", "customs-declaration.customs-entries"},
        {"hs_code", "tnved-code"},
        {"quantity", "amount"},
        {"net_weight_g", "weight"},
        {"origin_country", "country-code"},
        {"description_en", "description-en"},
        {"city", "place"},
        {"postal_code", "index"},
        {"country", "country-code"},
        {"phone", "tel"},
        {"issued", "issue-date"},
        {"gross_weight_g", "mass"},
        {"total_value", "declared-value"},
        {"currency", "customs-declaration.currency"},
    };
    const char *p = v1;
    size_t n = 0, i, w;

    out[0] = '\0';
    while (*p != '\0' && n + 1 < len) {
        w = strcspn(p, ".[");
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strlen(names[i].v1) == w && strncmp(p, names[i].v1, w) == 0)
                break;
        n += (size_t)snprintf(out + n, len - n, "%.*s",
                              i < sizeof(names) / sizeof(names[0]) ? (int)strlen(names[i].rp)
                                                                   : (int)w,
                              i < sizeof(names) / sizeof(names[0]) ? names[i].rp : p);
        p += w;
        w = strcspn(p, "abcdefghijklmnopqrstuvwxyz_"); /* ".", "[0].": copied */
        if (n + w >= len)
            break;
        memcpy(out + n, p, w);
        n += w;
        out[n] = '\0';
        p += w;
    }
}

static json_t *upper(const json_t *v)
{
    const char *s = json_string_value(v);
    char buf[64];
    size_t i;

    if (s == NULL || strlen(s) >= sizeof(buf))
        return json_null();
    for (i = 0; s[i]; i++)
        buf[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
    buf[i] = '\0';
    return json_string(buf);
}

static json_t *answer_rp(const char *v1_path, const json_t *a)
{
    const json_t *x, *y;
    size_t i, k;
    char f[256];

    if (json_is_object(json_object_get(a, "error")))
        return json_pack("{s:O?,s:O?}", "code",
                         json_object_get(json_object_get(a, "error"), "code"), "desc",
                         json_object_get(json_object_get(a, "error"), "message"));
    if (strcmp(v1_path, "/v1/declarations") == 0) {
        json_t *orders = json_array();
        json_array_foreach(json_object_get(a, "results"), i, x) {
            json_t *o = json_object(), *errs = json_array();
            take(o, "barcode", x, "parcel_id");
            json_object_set_new(o, "result", upper(json_object_get(x, "status")));
            take(o, "order-id", x, "broker_ref");
            json_array_foreach(json_object_get(x, "errors"), k, y) {
                const char *v1f = json_string_value(json_object_get(y, "field"));
                field_rp(v1f != NULL ? v1f : "", f, sizeof(f));
                json_array_append_new(errs, json_pack("{s:s,s:O?,s:O?}", "field", f, "code",
                                                      json_object_get(y, "code"), "description",
                                                      json_object_get(y, "message")));
            }
            json_object_set_new(o, "errors", errs);
            json_array_append_new(orders, o);
        }
        return json_pack("{s:o}", "orders", orders);
    }
    if (strcmp(v1_path, "/v1/manifests") == 0)
        return json_pack("{s:O?,s:O?,s:O?}", "batch-name", json_object_get(a, "manifest_id"),
                         "batch-id", json_object_get(a, "broker_ref"), "unknown-barcodes",
                         json_object_get(a, "unknown_parcels"));
    {
        json_t *evs = json_array();
        json_array_foreach(json_object_get(a, "events"), i, x) {
            json_t *o = json_object();
            const json_t *duty = json_object_get(x, "duty");
            take(o, "event-id", x, "cursor");
            take(o, "barcode", x, "parcel_id");
            json_object_set_new(o, "operation", upper(json_object_get(x, "type")));
            take(o, "comment", x, "reason");
            if (json_is_object(duty))
                json_object_set_new(o, "duty",
                                    json_pack("{s:O?,s:O?}", "amount",
                                              json_object_get(duty, "value"), "currency",
                                              json_object_get(duty, "currency")));
            take(o, "operation-date", x, "at");
            json_array_append_new(evs, o);
        }
        return json_pack("{s:o,s:O?}", "events", evs, "next", json_object_get(a, "next"));
    }
}

char *cust_bsim_rp_answer(const char *v1_path, const char *body)
{
    json_t *a = json_loads(body, 0, NULL), *o;
    char *text;

    if (a == NULL)
        return NULL;
    o = answer_rp(v1_path, a);
    json_decref(a);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

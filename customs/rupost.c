/*
 * rupost.c - the rupost broker profile (customs/profile.h): a broker whose
 * API is modelled on Russian Post's international API (docs/customs.md
 * "Broker profiles" has its fields). The reference requests the hub keeps
 * are translated into its bodies, and its answers back into the reference
 * answers, field by field:
 *
 *   reference DECLARATION          rupost declaration
 *   parcel_id, other_ids           barcode, other-barcodes
 *   category                       customs-declaration.entries-type: GIFT,
 *                                  DOCUMENT, SALE_OF_GOODS, COMMERCIAL_SAMPLE,
 *                                  OTHER (returned_goods and other)
 *   sender / recipient             sender / addressee: name, address, place
 *                                  (city), region, index (postal code),
 *                                  country-code (OKSM number), tel, inn,
 *                                  passport {series, number, issue-date}
 *   items[]                        customs-declaration.customs-entries[]:
 *                                  description, amount (quantity), tnved-code
 *                                  (the HS code padded to 10 digits), value
 *                                  (minor units: kopecks for RUB), weight
 *                                  (net grams), country-code (origin, OKSM)
 *   currency, total_value          customs-declaration.currency, declared-value
 *   gross_weight_g                 mass (grams)
 *
 * A country with no OKSM number here is left out: the broker refuses the
 * declaration, naming the field, and an operator corrects it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "customs/oksm.h"
#include "customs/profile.h"

static const struct {
    const char *ref, *rp;
} categories[] = {
    {"gift", "GIFT"},
    {"documents", "DOCUMENT"},
    {"sale_of_goods", "SALE_OF_GOODS"},
    {"commercial_sample", "COMMERCIAL_SAMPLE"},
    {"returned_goods", "OTHER"},
    {"other", "OTHER"},
};

static const struct {
    const char *ref, *rp;
} transports[] = {{"air", "AVIA"}, {"rail", "RAIL"}, {"road", "AUTO"}, {"river", "RIVER"}};

/* Copies src[key] into dst[as] when present (any JSON type). */
static void copy(json_t *dst, const char *as, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);

    if (v != NULL && !json_is_null(v))
        json_object_set(dst, as, v);
}

static void country(json_t *dst, const char *as, const json_t *src, const char *key)
{
    int n = cust_oksm_of(json_string_value(json_object_get(src, key)));

    if (n > 0)
        json_object_set_new(dst, as, json_integer(n));
}

static json_t *party(const json_t *p, int addressee)
{
    json_t *o = json_object(), *pass = json_object_get(p, "passport");

    copy(o, "name", p, "name");
    copy(o, "address", p, "address");
    copy(o, "place", p, "city");
    copy(o, "region", p, "region");
    copy(o, "index", p, "postal_code");
    country(o, "country-code", p, "country");
    copy(o, "tel", p, "phone");
    if (addressee) {
        copy(o, "inn", p, "inn");
        if (json_is_object(pass)) {
            json_t *q = json_object();
            copy(q, "series", pass, "series");
            copy(q, "number", pass, "number");
            copy(q, "issue-date", pass, "issued");
            json_object_set_new(o, "passport", q);
        }
    }
    return o;
}

/* The HS code (6-10 digits) as a TN VED code of 10 digits. */
static json_t *tnved(const json_t *hs)
{
    const char *s = json_string_value(hs);
    char code[11] = "0000000000";
    size_t n = s ? strlen(s) : 0;

    if (s == NULL)
        return NULL; /* none, or not a string: the broker names what is missing */
    if (n > 10)
        return json_string(s);
    memcpy(code, s, n);
    return json_string(code);
}

static json_t *entry(const json_t *it)
{
    json_t *o = json_object(), *code = tnved(json_object_get(it, "hs_code"));

    copy(o, "description", it, "description");
    copy(o, "description-en", it, "description_en");
    copy(o, "amount", it, "quantity");
    if (code != NULL)
        json_object_set_new(o, "tnved-code", code);
    copy(o, "value", it, "value");
    copy(o, "weight", it, "net_weight_g");
    country(o, "country-code", it, "origin_country");
    copy(o, "url", it, "url");
    return o;
}

static json_t *declaration(const json_t *d)
{
    const char *cat = json_string_value(json_object_get(d, "category"));
    json_t *o = json_object(), *cd = json_object(), *entries = json_array(), *it;
    size_t i;

    copy(o, "barcode", d, "parcel_id");
    copy(o, "other-barcodes", d, "other_ids");
    json_object_set_new(o, "sender", party(json_object_get(d, "sender"), 0));
    json_object_set_new(o, "addressee", party(json_object_get(d, "recipient"), 1));
    copy(o, "mass", d, "gross_weight_g");
    copy(o, "declared-value", d, "total_value");
    for (i = 0; cat != NULL && i < sizeof(categories) / sizeof(categories[0]); i++)
        if (strcmp(cat, categories[i].ref) == 0)
            json_object_set_new(cd, "entries-type", json_string(categories[i].rp));
    copy(cd, "currency", d, "currency");
    json_array_foreach(json_object_get(d, "items"), i, it)
        json_array_append_new(entries, entry(it));
    json_object_set_new(cd, "customs-entries", entries);
    json_object_set_new(o, "customs-declaration", cd);
    return o;
}

static json_t *manifest(const json_t *m)
{
    const char *tr = json_string_value(json_object_get(m, "transport"));
    json_t *o = json_object(), *bags = json_array(), *b;
    size_t i;

    copy(o, "batch-name", m, "manifest_id");
    copy(o, "route", m, "route");
    for (i = 0; tr != NULL && i < sizeof(transports) / sizeof(transports[0]); i++)
        if (strcmp(tr, transports[i].ref) == 0)
            json_object_set_new(o, "transport-type", json_string(transports[i].rp));
    copy(o, "border-crossing", m, "border_crossing");
    copy(o, "shipment-date", m, "departure");
    json_array_foreach(json_object_get(m, "bags"), i, b) {
        json_t *x = json_object();
        copy(x, "bag-barcode", b, "bag_id");
        copy(x, "mass", b, "gross_weight_g");
        copy(x, "barcodes", b, "parcels");
        json_array_append_new(bags, x);
    }
    json_object_set_new(o, "bags", bags);
    return o;
}

static int dump(json_t *j, char **out, struct err *e)
{
    *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return *out != NULL ? 0 : err_set(e, -ENOMEM, "rupost: out of memory");
}

static int rp_request(enum cust_request kind, const char *ref, char **out, struct err *e)
{
    json_t *in = json_loads(ref, 0, NULL), *o, *d;
    size_t i;
    int rc;

    *out = NULL;
    if (!json_is_object(in)) {
        json_decref(in);
        return err_set(e, ERR_PARSE, "rupost: the request to translate is not a JSON object");
    }
    if (kind == CUST_REQ_MANIFEST) {
        o = manifest(in);
    } else {
        json_t *items = json_array();
        json_array_foreach(json_object_get(in, "declarations"), i, d)
            json_array_append_new(items, declaration(d));
        o = json_pack("{s:o}", "items", items);
    }
    rc = dump(o, out, e);
    json_decref(in);
    return rc;
}

/* --- answers ----------------------------------------------------------- */

static int not_ours(const char *what, struct err *e)
{
    return err_set(e, ERR_PARSE, "the answer is not the rupost profile's %s", what);
}

/* Lower-case copy of a word ("ACCEPTED" -> "accepted"), for the reader to
 * check against the reference's words. */
static json_t *lower(const json_t *v)
{
    const char *s = json_string_value(v);
    char buf[64];
    size_t i;

    if (s == NULL)
        return json_null();
    if (strlen(s) >= sizeof(buf))
        return json_string(s);
    for (i = 0; s[i]; i++)
        buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    buf[i] = '\0';
    return json_string(buf);
}

static json_t *results(const json_t *in)
{
    json_t *res = json_array(), *o, *x;
    size_t i, k;

    json_array_foreach(json_object_get(in, "orders"), i, o) {
        json_t *r = json_object(), *errs = json_array();
        copy(r, "parcel_id", o, "barcode");
        json_object_set_new(r, "status", lower(json_object_get(o, "result")));
        copy(r, "broker_ref", o, "order-id");
        json_array_foreach(json_object_get(o, "errors"), k, x) {
            json_t *y = json_object();
            copy(y, "field", x, "field");
            copy(y, "code", x, "code");
            copy(y, "message", x, "description");
            json_array_append_new(errs, y);
        }
        json_object_set_new(r, "errors", errs);
        json_array_append_new(res, r);
    }
    return json_pack("{s:o}", "results", res);
}

static json_t *manifest_answer(const json_t *in)
{
    json_t *o = json_object();

    copy(o, "manifest_id", in, "batch-name");
    json_object_set_new(o, "status", json_string("received"));
    copy(o, "broker_ref", in, "batch-id");
    copy(o, "unknown_parcels", in, "unknown-barcodes");
    return o;
}

static json_t *events(const json_t *in)
{
    json_t *evs = json_array(), *ev;
    size_t i;

    json_array_foreach(json_object_get(in, "events"), i, ev) {
        json_t *o = json_object(), *duty = json_object_get(ev, "duty");
        copy(o, "cursor", ev, "event-id");
        copy(o, "parcel_id", ev, "barcode");
        json_object_set_new(o, "type", lower(json_object_get(ev, "operation")));
        copy(o, "reason", ev, "comment");
        if (json_is_object(duty))
            json_object_set_new(o, "duty",
                                json_pack("{s:O?,s:O?}", "value", json_object_get(duty, "amount"),
                                          "currency", json_object_get(duty, "currency")));
        copy(o, "at", ev, "operation-date");
        json_array_append_new(evs, o);
    }
    return json_pack("{s:o,s:O?}", "events", evs, "next", json_object_get(in, "next"));
}

static int rp_answer(enum cust_request kind, int error, const char *body, size_t len, char **out,
                     struct err *e)
{
    json_t *in = json_loadb(body, len, 0, NULL), *o = NULL;
    int rc;

    *out = NULL;
    if (error) {
        /* {"code": "...", "desc": "..."}; anything else is left as it came,
         * for the reader to find it is not the broker's error */
        if (json_is_string(json_object_get(in, "code")) &&
            json_is_string(json_object_get(in, "desc")))
            o = json_pack("{s:{s:O,s:O}}", "error", "code", json_object_get(in, "code"),
                          "message", json_object_get(in, "desc"));
        json_decref(in);
        if (o == NULL) {
            *out = strndup(body, len);
            return *out ? 0 : err_set(e, -ENOMEM, "rupost: out of memory");
        }
        return dump(o, out, e);
    }
    if (!json_is_object(in)) {
        json_decref(in);
        return err_set(e, ERR_PARSE, "the answer is not JSON (%zu bytes)", len);
    }
    if (kind == CUST_REQ_DECLARATIONS && json_is_array(json_object_get(in, "orders")))
        o = results(in);
    else if (kind == CUST_REQ_MANIFEST && json_is_string(json_object_get(in, "batch-name")))
        o = manifest_answer(in);
    else if (kind == CUST_REQ_EVENTS && json_is_array(json_object_get(in, "events")))
        o = events(in);
    json_decref(in);
    if (o == NULL)
        return not_ours(kind == CUST_REQ_DECLARATIONS ? "orders answer"
                        : kind == CUST_REQ_MANIFEST   ? "batch answer"
                                                      : "events page",
                        e);
    rc = dump(o, out, e);
    return rc;
}

const struct cust_profile cust_profile_rupost = {
    .name = "rupost",
    .path = {"/1.0/customs/declarations", "/1.0/customs/batches", "/1.0/customs/events"},
    .auth_scheme = "AccessToken",
    .request = rp_request,
    .answer = rp_answer,
};

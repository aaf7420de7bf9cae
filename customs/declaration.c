/*
 * declaration.c - JSON codec of the customs declaration (broker API v1).
 *
 * DESIGN: decoding checks types only and records the JSON path of the first
 * wrongly typed field; presence and content are the validator's business, so
 * that a declaration with ten faults gets ten answers in one round.
 */
#include "customs/declaration.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void cust_decl_init(struct cust_decl *d)
{
    memset(d, 0, sizeof(*d));
    d->gross_weight_g = CUST_ABSENT;
    d->total_value = CUST_ABSENT;
}

static void free_party(struct cust_party *p)
{
    free(p->name);
    free(p->address);
    free(p->city);
    free(p->region);
    free(p->postal_code);
    free(p->country);
    free(p->phone);
}

void cust_decl_free(struct cust_decl *d)
{
    size_t i;

    free(d->parcel_id);
    for (i = 0; i < d->n_other_ids; i++)
        free(d->other_ids[i]);
    free(d->other_ids);
    free(d->category);
    free_party(&d->sender);
    free_party(&d->recipient);
    free(d->passport.series);
    free(d->passport.number);
    free(d->passport.issued);
    free(d->inn);
    for (i = 0; i < d->n_items; i++) {
        struct cust_item *it = &d->items[i];

        free(it->description);
        free(it->description_en);
        free(it->hs_code);
        free(it->currency);
        free(it->origin_country);
        free(it->url);
    }
    free(d->items);
    free(d->currency);
    cust_decl_init(d);
}

/* ---- decoding ---- */

/* Copies the string member key of obj into *out; absent or null leaves NULL.
 * path is the JSON path of obj ("" for the root). */
static int get_str(const json_t *obj, const char *path, const char *key, char **out, struct err *e)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(e, ERR_INVALID, "%s%s%s: expected a string", path, *path ? "." : "", key);
    /* json_string_length keeps an embedded NUL visible; we refuse it rather
     * than silently cutting the text. */
    if (strlen(json_string_value(v)) != json_string_length(v))
        return err_set(e, ERR_INVALID, "%s%s%s: contains a NUL character", path, *path ? "." : "",
                       key);
    *out = strdup(json_string_value(v));
    if (*out == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}

static int get_int(const json_t *obj, const char *path, const char *key, int64_t *out, struct err *e)
{
    json_t *v = json_object_get(obj, key);

    *out = CUST_ABSENT;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return err_set(e, ERR_INVALID, "%s%s%s: expected an integer", path, *path ? "." : "", key);
    /* INT64_MIN is our "absent" marker; no real amount comes near it. */
    if (json_integer_value(v) == INT64_MIN)
        return err_set(e, ERR_INVALID, "%s%s%s: out of range", path, *path ? "." : "", key);
    *out = json_integer_value(v);
    return 0;
}

/* The object member key of obj, NULL when absent or null; ERR_INVALID when it
 * is there and not an object. */
static int get_obj(const json_t *obj, const char *path, const char *key, json_t **out, struct err *e)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return err_set(e, ERR_INVALID, "%s%s%s: expected an object", path, *path ? "." : "", key);
    *out = v;
    return 0;
}

static int decode_party(const json_t *o, const char *path, struct cust_party *p, struct err *e)
{
    int rc;

    if ((rc = get_str(o, path, "name", &p->name, e)) < 0 ||
        (rc = get_str(o, path, "address", &p->address, e)) < 0 ||
        (rc = get_str(o, path, "city", &p->city, e)) < 0 ||
        (rc = get_str(o, path, "region", &p->region, e)) < 0 ||
        (rc = get_str(o, path, "postal_code", &p->postal_code, e)) < 0 ||
        (rc = get_str(o, path, "country", &p->country, e)) < 0 ||
        (rc = get_str(o, path, "phone", &p->phone, e)) < 0)
        return rc;
    return 0;
}

static int decode_item(const json_t *o, const char *path, struct cust_item *it, struct err *e)
{
    int rc;

    if ((rc = get_str(o, path, "description", &it->description, e)) < 0 ||
        (rc = get_str(o, path, "description_en", &it->description_en, e)) < 0 ||
        (rc = get_str(o, path, "hs_code", &it->hs_code, e)) < 0 ||
        (rc = get_int(o, path, "quantity", &it->quantity, e)) < 0 ||
        (rc = get_int(o, path, "net_weight_g", &it->net_weight_g, e)) < 0 ||
        (rc = get_int(o, path, "value", &it->value, e)) < 0 ||
        (rc = get_str(o, path, "currency", &it->currency, e)) < 0 ||
        (rc = get_str(o, path, "origin_country", &it->origin_country, e)) < 0 ||
        (rc = get_str(o, path, "url", &it->url, e)) < 0)
        return rc;
    return 0;
}

static int decode_root(const json_t *root, struct cust_decl *d, struct err *e)
{
    json_t *v, *o;
    size_t i;
    int rc;

    if (!json_is_object(root))
        return err_set(e, ERR_INVALID, "(root): expected an object");
    if ((rc = get_str(root, "", "parcel_id", &d->parcel_id, e)) < 0)
        return rc;
    v = json_object_get(root, "other_ids");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_array(v))
            return err_set(e, ERR_INVALID, "other_ids: expected an array");
        d->other_ids = calloc(json_array_size(v) + 1, sizeof(*d->other_ids));
        if (d->other_ids == NULL)
            return err_set(e, -ENOMEM, "out of memory");
        for (i = 0; i < json_array_size(v); i++) {
            json_t *s = json_array_get(v, i);

            if (!json_is_string(s))
                return err_set(e, ERR_INVALID, "other_ids[%zu]: expected a string", i);
            d->other_ids[i] = strdup(json_string_value(s));
            if (d->other_ids[i] == NULL)
                return err_set(e, -ENOMEM, "out of memory");
            d->n_other_ids = i + 1;
        }
    }
    if ((rc = get_str(root, "", "category", &d->category, e)) < 0)
        return rc;
    if ((rc = get_obj(root, "", "sender", &o, e)) < 0)
        return rc;
    if (o != NULL && (rc = decode_party(o, "sender", &d->sender, e)) < 0)
        return rc;
    if ((rc = get_obj(root, "", "recipient", &o, e)) < 0)
        return rc;
    if (o != NULL) {
        json_t *pp;

        if ((rc = decode_party(o, "recipient", &d->recipient, e)) < 0)
            return rc;
        if ((rc = get_str(o, "recipient", "inn", &d->inn, e)) < 0)
            return rc;
        if ((rc = get_obj(o, "recipient", "passport", &pp, e)) < 0)
            return rc;
        if (pp != NULL) {
            d->has_passport = 1;
            if ((rc = get_str(pp, "recipient.passport", "series", &d->passport.series, e)) < 0 ||
                (rc = get_str(pp, "recipient.passport", "number", &d->passport.number, e)) < 0 ||
                (rc = get_str(pp, "recipient.passport", "issued", &d->passport.issued, e)) < 0)
                return rc;
        }
    }
    v = json_object_get(root, "items");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_array(v))
            return err_set(e, ERR_INVALID, "items: expected an array");
        d->items = calloc(json_array_size(v) + 1, sizeof(*d->items));
        if (d->items == NULL)
            return err_set(e, -ENOMEM, "out of memory");
        for (i = 0; i < json_array_size(v); i++) {
            json_t *it = json_array_get(v, i);
            char path[32];

            snprintf(path, sizeof(path), "items[%zu]", i);
            /* Count the item before filling it so cust_decl_free() sees
             * whatever was allocated when a later field fails. */
            d->n_items = i + 1;
            d->items[i].quantity = d->items[i].net_weight_g = d->items[i].value = CUST_ABSENT;
            if (!json_is_object(it))
                return err_set(e, ERR_INVALID, "%s: expected an object", path);
            if ((rc = decode_item(it, path, &d->items[i], e)) < 0)
                return rc;
        }
    }
    if ((rc = get_int(root, "", "gross_weight_g", &d->gross_weight_g, e)) < 0 ||
        (rc = get_int(root, "", "total_value", &d->total_value, e)) < 0 ||
        (rc = get_str(root, "", "currency", &d->currency, e)) < 0)
        return rc;
    return 0;
}

int cust_decl_decode(const char *buf, size_t len, struct cust_decl *d, struct err *e)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    cust_decl_init(d);
    /* JSON_REJECT_DUPLICATES: two "inn" keys would let the broker and us
     * read different values. */
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return err_set(e, ERR_PARSE, "line %d col %d: %s", jerr.line, jerr.column, jerr.text);
    rc = decode_root(root, d, e);
    json_decref(root);
    return rc;
}

/* ---- encoding ---- */

/* Sets key to a string when s is present; -1 on allocation failure. */
static int put_str(json_t *o, const char *key, const char *s)
{
    if (s == NULL)
        return 0;
    return json_object_set_new(o, key, json_string(s));
}

static int put_int(json_t *o, const char *key, int64_t v)
{
    if (v == CUST_ABSENT)
        return 0;
    return json_object_set_new(o, key, json_integer(v));
}

static json_t *encode_party(const struct cust_party *p, int with_region)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (put_str(o, "name", p->name) < 0 || put_str(o, "address", p->address) < 0 ||
        put_str(o, "city", p->city) < 0 ||
        (with_region && put_str(o, "region", p->region) < 0) ||
        put_str(o, "postal_code", p->postal_code) < 0 || put_str(o, "country", p->country) < 0 ||
        put_str(o, "phone", p->phone) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *encode_root(const struct cust_decl *d)
{
    json_t *root = json_object(), *a, *o, *pp;
    size_t i;

    if (root == NULL)
        return NULL;
    if (put_str(root, "parcel_id", d->parcel_id) < 0)
        goto fail;
    if (d->n_other_ids > 0) {
        if ((a = json_array()) == NULL || json_object_set_new(root, "other_ids", a) < 0)
            goto fail;
        for (i = 0; i < d->n_other_ids; i++)
            if (json_array_append_new(a, json_string(d->other_ids[i])) < 0)
                goto fail;
    }
    if (put_str(root, "category", d->category) < 0)
        goto fail;
    if ((o = encode_party(&d->sender, 0)) == NULL || json_object_set_new(root, "sender", o) < 0)
        goto fail;
    if ((o = encode_party(&d->recipient, 1)) == NULL ||
        json_object_set_new(root, "recipient", o) < 0)
        goto fail;
    if (d->has_passport) {
        if ((pp = json_object()) == NULL || json_object_set_new(o, "passport", pp) < 0 ||
            put_str(pp, "series", d->passport.series) < 0 ||
            put_str(pp, "number", d->passport.number) < 0 ||
            put_str(pp, "issued", d->passport.issued) < 0)
            goto fail;
    }
    if (put_str(o, "inn", d->inn) < 0)
        goto fail;
    if ((a = json_array()) == NULL || json_object_set_new(root, "items", a) < 0)
        goto fail;
    for (i = 0; i < d->n_items; i++) {
        const struct cust_item *it = &d->items[i];

        if ((o = json_object()) == NULL || json_array_append_new(a, o) < 0 ||
            put_str(o, "description", it->description) < 0 ||
            put_str(o, "description_en", it->description_en) < 0 ||
            put_str(o, "hs_code", it->hs_code) < 0 || put_int(o, "quantity", it->quantity) < 0 ||
            put_int(o, "net_weight_g", it->net_weight_g) < 0 ||
            put_int(o, "value", it->value) < 0 || put_str(o, "currency", it->currency) < 0 ||
            put_str(o, "origin_country", it->origin_country) < 0 ||
            put_str(o, "url", it->url) < 0)
            goto fail;
    }
    if (put_int(root, "gross_weight_g", d->gross_weight_g) < 0 ||
        put_int(root, "total_value", d->total_value) < 0 ||
        put_str(root, "currency", d->currency) < 0)
        goto fail;
    return root;
fail:
    json_decref(root);
    return NULL;
}

int cust_decl_encode(const struct cust_decl *d, char **out, struct err *e)
{
    json_t *root = encode_root(d);

    *out = NULL;
    if (root == NULL)
        return err_set(e, -ENOMEM, "out of memory encoding declaration");
    /* JSON_PRESERVE_ORDER keeps the spec's key order, which makes the body
     * stable for idempotency keys and readable in logs; Cyrillic stays UTF-8. */
    *out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(root);
    if (*out == NULL)
        return err_set(e, -ENOMEM, "out of memory encoding declaration");
    return 0;
}

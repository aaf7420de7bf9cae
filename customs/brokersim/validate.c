/*
 * validate.c - wcs-brokersim: the broker's checks of one declaration. Pure:
 * JSON in, a list of {"field","code","message"} problems out. The rules are
 * the emulator's own, basic (see docs/brokersim.md); a real broker checks
 * more, but these are enough to exercise the WCS's handling of per-item
 * rejections. Check digits (S10, INN) are the project's one implementation
 * (scanners/, customs/validate.h).
 */
#include "customs/brokersim/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/iso3166.h"
#include "customs/validate.h"
#include "scanners/scanners.h"

struct vctx {
    json_t *errors;
    int count;
    int nomem;
};

static void problem(struct vctx *v, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct vctx *v, const char *field, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o = json_pack("{s:s,s:s,s:s}", "field", field, "code", code, "message", msg);
    if (o == NULL || json_array_append_new(v->errors, o) < 0)
        v->nomem = 1;
    v->count++;
}

static int all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* The string member name of o, or NULL after recording why not. */
static const char *need_string(struct vctx *v, const json_t *o, const char *prefix,
                               const char *name, int required)
{
    char field[96];
    const json_t *j = json_object_get(o, name);

    snprintf(field, sizeof(field), "%s%s", prefix, name);
    if (j == NULL || json_is_null(j)) {
        if (required)
            problem(v, field, "required", "%s is required", field);
        return NULL;
    }
    if (!json_is_string(j)) {
        problem(v, field, "type", "%s must be a string", field);
        return NULL;
    }
    if (required && json_string_length(j) == 0) {
        problem(v, field, "required", "%s must not be empty", field);
        return NULL;
    }
    return json_string_value(j);
}

/* Integer member >= min; records a problem and returns 0 otherwise. */
static int need_int(struct vctx *v, const json_t *o, const char *prefix, const char *name,
                    json_int_t min, int required)
{
    char field[96];
    const json_t *j = json_object_get(o, name);

    snprintf(field, sizeof(field), "%s%s", prefix, name);
    if (j == NULL || json_is_null(j)) {
        if (required)
            problem(v, field, "required", "%s is required", field);
        return 0;
    }
    if (!json_is_integer(j)) {
        problem(v, field, "type", "%s must be an integer", field);
        return 0;
    }
    if (json_integer_value(j) < min) {
        problem(v, field, "range", "%s must be at least %lld", field, (long long)min);
        return 0;
    }
    return 1;
}

static void check_country(struct vctx *v, const json_t *o, const char *prefix, const char *name,
                          int required)
{
    char field[96];
    const char *s = need_string(v, o, prefix, name, required);

    snprintf(field, sizeof(field), "%s%s", prefix, name);
    if (s != NULL && (strlen(s) != 2 || !iso3166_valid(s[0], s[1])))
        problem(v, field, "format", "%s: '%s' is not an ISO 3166 alpha-2 code", field, s);
}

static void check_currency(struct vctx *v, const json_t *o, const char *prefix)
{
    char field[96];
    const char *s = need_string(v, o, prefix, "currency", 1);

    snprintf(field, sizeof(field), "%scurrency", prefix);
    if (s != NULL && (strlen(s) != 3 || !upper(s[0]) || !upper(s[1]) || !upper(s[2])))
        problem(v, field, "format", "%s: '%s' is not 3 upper-case letters (ISO 4217)", field, s);
}

static void check_parcel_id(struct vctx *v, const json_t *d)
{
    const char *s = need_string(v, d, "", "parcel_id", 1);
    size_t n;

    if (s == NULL)
        return;
    n = strlen(s);
    if (n == 13 && upper(s[0]) && upper(s[1]) && all_digits(s + 2, 9) && upper(s[11]) &&
        upper(s[12])) {
        if (scan_s10_check_digit(s + 2) != s[10] - '0')
            problem(v, "parcel_id", "checksum", "parcel_id %s: S10 check digit is wrong", s);
        return;
    }
    /* Cainiao first-mile numbers: LP or AP + 14 digits. */
    if (n == 16 && (s[0] == 'L' || s[0] == 'A') && s[1] == 'P' && all_digits(s + 2, 14))
        return;
    problem(v, "parcel_id", "format", "parcel_id '%s' is neither an S10 id nor LP/AP + 14 digits",
            s);
}

static void check_category(struct vctx *v, const json_t *d)
{
    static const char *const cats[] = {"gift", "documents", "commercial_sample",
                                       "returned_goods", "sale_of_goods", "other"};
    const char *s = need_string(v, d, "", "category", 1);
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
        if (strcmp(s, cats[i]) == 0)
            return;
    problem(v, "category", "enum", "category '%s' is not one of the allowed values", s);
}

/* The object member name of d, or NULL after recording why not. */
static const json_t *need_object(struct vctx *v, const json_t *d, const char *name, int required)
{
    const json_t *j = json_object_get(d, name);

    if (j == NULL || json_is_null(j)) {
        if (required)
            problem(v, name, "required", "%s is required", name);
        return NULL;
    }
    if (!json_is_object(j)) {
        problem(v, name, "type", "%s must be an object", name);
        return NULL;
    }
    return j;
}

static void check_sender(struct vctx *v, const json_t *d)
{
    const json_t *o = need_object(v, d, "sender", 1);

    if (o == NULL)
        return;
    need_string(v, o, "sender.", "name", 1);
    need_string(v, o, "sender.", "address", 1);
    need_string(v, o, "sender.", "city", 1);
    check_country(v, o, "sender.", "country", 1);
}

static void check_recipient(struct vctx *v, const json_t *d)
{
    const json_t *o = need_object(v, d, "recipient", 1), *pp;
    const char *s;

    if (o == NULL)
        return;
    need_string(v, o, "recipient.", "name", 1);
    need_string(v, o, "recipient.", "address", 1);
    need_string(v, o, "recipient.", "city", 1);
    s = need_string(v, o, "recipient.", "postal_code", 1);
    if (s != NULL && (strlen(s) != 6 || !all_digits(s, 6)))
        problem(v, "recipient.postal_code", "format", "recipient.postal_code '%s' is not 6 digits",
                s);
    check_country(v, o, "recipient.", "country", 1);
    s = need_string(v, o, "recipient.", "inn", 0);
    if (s != NULL) {
        if (strlen(s) != 12 || !all_digits(s, 12))
            problem(v, "recipient.inn", "format", "recipient.inn must be 12 digits");
        else if (!cust_inn_valid(s))
            problem(v, "recipient.inn", "checksum", "recipient.inn %s: check digits are wrong", s);
    }
    pp = json_object_get(o, "passport");
    if (pp != NULL && !json_is_null(pp)) {
        if (!json_is_object(pp)) {
            problem(v, "recipient.passport", "type", "recipient.passport must be an object");
            return;
        }
        s = need_string(v, pp, "recipient.passport.", "series", 1);
        if (s != NULL && (strlen(s) != 4 || !all_digits(s, 4)))
            problem(v, "recipient.passport.series", "format", "passport series must be 4 digits");
        s = need_string(v, pp, "recipient.passport.", "number", 1);
        if (s != NULL && (strlen(s) != 6 || !all_digits(s, 6)))
            problem(v, "recipient.passport.number", "format", "passport number must be 6 digits");
    }
}

static void check_item(struct vctx *v, const json_t *it, size_t i)
{
    char prefix[32], field[64];
    const char *s;

    snprintf(prefix, sizeof(prefix), "items[%zu].", i);
    if (!json_is_object(it)) {
        snprintf(field, sizeof(field), "items[%zu]", i);
        problem(v, field, "type", "%s must be an object", field);
        return;
    }
    need_string(v, it, prefix, "description", 1);
    s = need_string(v, it, prefix, "hs_code", 1);
    if (s != NULL && (strlen(s) < 6 || strlen(s) > 10 || !all_digits(s, strlen(s)))) {
        snprintf(field, sizeof(field), "%shs_code", prefix);
        problem(v, field, "format", "%s '%s' is not 6-10 digits", field, s);
    }
    need_int(v, it, prefix, "quantity", 1, 1);
    need_int(v, it, prefix, "net_weight_g", 0, 1);
    need_int(v, it, prefix, "value", 0, 1);
    check_currency(v, it, prefix);
    check_country(v, it, prefix, "origin_country", 0);
}

int cust_bsim_validate(const json_t *decl, json_t *errors)
{
    struct vctx v = {errors, 0, 0};
    const json_t *items;
    size_t i;

    if (!json_is_object(decl)) {
        problem(&v, "", "type", "a declaration must be an object");
        return v.nomem ? -ENOMEM : v.count;
    }
    check_parcel_id(&v, decl);
    check_category(&v, decl);
    check_sender(&v, decl);
    check_recipient(&v, decl);
    items = json_object_get(decl, "items");
    if (items == NULL || json_is_null(items))
        problem(&v, "items", "required", "items is required");
    else if (!json_is_array(items))
        problem(&v, "items", "type", "items must be an array");
    else if (json_array_size(items) == 0)
        problem(&v, "items", "empty", "items must not be empty");
    else
        for (i = 0; i < json_array_size(items); i++)
            check_item(&v, json_array_get(items, i), i);
    need_int(&v, decl, "", "gross_weight_g", 1, 1);
    need_int(&v, decl, "", "total_value", 0, 1);
    check_currency(&v, decl, "");
    return v.nomem ? -ENOMEM : v.count;
}

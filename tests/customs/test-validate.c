/*
 * test-validate.c - validation rules, as data: each case changes one field of
 * a valid declaration (JSON path, new JSON value or deletion) and names the
 * problem expected: field, code, severity, and how many errors in total.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "customs/currency.h"
#include "customs/declaration.h"
#include "customs/validate.h"

#define TODAY "2026-11-23"

static const char *const valid =
    "{\"parcel_id\": \"RR473124829CN\", \"other_ids\": [\"LP00123456789012\"],"
    " \"category\": \"sale_of_goods\","
    " \"sender\": {\"name\": \"Harbin Shop Ltd\", \"address\": \"1 Zhongyang St\","
    "  \"city\": \"Harbin\", \"postal_code\": \"150000\", \"country\": \"CN\","
    "  \"phone\": \"+8645112345678\"},"
    " \"recipient\": {\"name\": \"Иванов Иван Иванович\", \"address\": \"ул. Ленина, 1\","
    "  \"city\": \"Новосибирск\", \"region\": \"Новосибирская обл.\", \"postal_code\": \"630099\","
    "  \"country\": \"RU\", \"phone\": \"+79131234567\","
    "  \"passport\": {\"series\": \"4509\", \"number\": \"123456\", \"issued\": \"2015-03-01\"},"
    "  \"inn\": \"500100732259\"},"
    " \"items\": [{\"description\": \"Кроссовки беговые Nike\", \"description_en\": \"Running shoes\","
    "  \"hs_code\": \"640411\", \"quantity\": 1, \"net_weight_g\": 800, \"value\": 4500,"
    "  \"currency\": \"CNY\", \"origin_country\": \"CN\", \"url\": \"https://shop.example/1\"},"
    "  {\"description\": \"Чехол для телефона\", \"hs_code\": \"4202320000\", \"quantity\": 2,"
    "  \"net_weight_g\": 60, \"value\": 1500, \"currency\": \"CNY\", \"origin_country\": \"CN\"}],"
    " \"gross_weight_g\": 950, \"total_value\": 6000, \"currency\": \"CNY\"}";

struct vcase {
    const char *path;  /* dotted path of the JSON member to change */
    const char *value; /* new JSON value; NULL deletes the member */
    const char *field; /* expected problem's field; NULL = no problem at all */
    const char *code;
    enum cust_severity sev;
    size_t errors; /* expected error count */
};

static const struct vcase cases[] = {
    {"parcel_id", "\"RR473124829CN\"", NULL, NULL, 0, 0}, /* unchanged: valid */
    {"parcel_id", NULL, "parcel_id", "required", CUST_SEV_ERROR, 1},
    {"category", "\"present\"", "category", "format", CUST_SEV_ERROR, 1},
    {"category", "\"gift\"", NULL, NULL, 0, 0},
    /* recipient name */
    {"recipient.name", "\"Иванов\"", "recipient.name", "format", CUST_SEV_ERROR, 1},
    {"recipient.name", "\"  \"", "recipient.name", "required", CUST_SEV_ERROR, 1},
    {"recipient.name", "\"Ivanov Ivan\"", "recipient.name", "language", CUST_SEV_WARNING, 0},
    {"recipient.name", "\"Иванов Иван Ivanovich\"", "recipient.name", "language", CUST_SEV_WARNING, 0},
    {"recipient.region", NULL, "recipient.region", "required", CUST_SEV_ERROR, 1},
    /* postal code */
    {"recipient.postal_code", "\"63009\"", "recipient.postal_code", "format", CUST_SEV_ERROR, 1},
    {"recipient.postal_code", "\"6300991\"", "recipient.postal_code", "format", CUST_SEV_ERROR, 1},
    {"recipient.postal_code", "\"63009A\"", "recipient.postal_code", "format", CUST_SEV_ERROR, 1},
    {"recipient.postal_code", NULL, "recipient.postal_code", "required", CUST_SEV_ERROR, 1},
    /* phones */
    {"recipient.phone", "\"89131234567\"", "recipient.phone", "format", CUST_SEV_ERROR, 1},
    {"recipient.phone", "\"+7913123456\"", "recipient.phone", "format", CUST_SEV_ERROR, 1},
    {"recipient.phone", "\"+8613912345678\"", "recipient.phone", "format", CUST_SEV_ERROR, 1},
    {"recipient.phone", "\"+7 913 123 45 67\"", "recipient.phone", "format", CUST_SEV_ERROR, 1},
    {"sender.phone", "\"+1234567\"", "sender.phone", "format", CUST_SEV_ERROR, 1},
    {"sender.phone", "\"+1234567890123456\"", "sender.phone", "format", CUST_SEV_ERROR, 1},
    {"sender.phone", "\"+12345678\"", NULL, NULL, 0, 0},
    {"sender.country", "\"XX\"", "sender.country", "format", CUST_SEV_ERROR, 1},
    {"sender.country", "\"cn\"", "sender.country", "format", CUST_SEV_ERROR, 1},
    /* passport */
    {"recipient.passport.series", "\"450\"", "recipient.passport.series", "format", CUST_SEV_ERROR, 1},
    {"recipient.passport.series", "\"45 09\"", "recipient.passport.series", "format", CUST_SEV_ERROR, 1},
    {"recipient.passport.number", "\"12345\"", "recipient.passport.number", "format", CUST_SEV_ERROR, 1},
    {"recipient.passport.number", NULL, "recipient.passport.number", "required", CUST_SEV_ERROR, 1},
    {"recipient.passport.issued", "\"01.03.2015\"", "recipient.passport.issued", "format", CUST_SEV_ERROR, 1},
    {"recipient.passport.issued", "\"2015-02-29\"", "recipient.passport.issued", "format", CUST_SEV_ERROR, 1},
    {"recipient.passport.issued", "\"2016-02-29\"", NULL, NULL, 0, 0},
    {"recipient.passport.issued", "\"2026-11-24\"", "recipient.passport.issued", "range", CUST_SEV_ERROR, 1},
    {"recipient.passport.issued", "\"" TODAY "\"", NULL, NULL, 0, 0},
    {"recipient.passport", NULL, NULL, NULL, 0, 0},
    /* INN */
    {"recipient.inn", "\"500100732258\"", "recipient.inn", "checksum", CUST_SEV_ERROR, 1},
    {"recipient.inn", "\"500100732269\"", "recipient.inn", "checksum", CUST_SEV_ERROR, 1},
    {"recipient.inn", "\"7707083893\"", "recipient.inn", "format", CUST_SEV_ERROR, 1},
    {"recipient.inn", "\"50010073225X\"", "recipient.inn", "format", CUST_SEV_ERROR, 1},
    {"recipient.inn", NULL, NULL, NULL, 0, 0},
    /* items */
    {"items", "[]", "items", "required", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"Подарок\"", "items[0].description", "vague", CUST_SEV_ERROR, 1},
    {"items.0.description", "\" gifts! \"", "items[0].description", "vague", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"ЗАПЧАСТИ\"", "items[0].description", "vague", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"одежда\"", "items[0].description", "vague", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"Аксессуары.\"", "items[0].description", "vague", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"Spare Parts\"", "items[0].description", "vague", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"Одежда детская\"", NULL, NULL, 0, 0},
    {"items.0.description", "\"Running shoes\"", "items[0].description", "language", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"跑鞋\"", "items[0].description", "language", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"Nike Air Max кроссовки\"", "items[0].description", "language", CUST_SEV_ERROR, 1},
    {"items.0.description", "\"\"", "items[0].description", "required", CUST_SEV_ERROR, 1},
    {"items.1.hs_code", "\"42023\"", "items[1].hs_code", "format", CUST_SEV_ERROR, 1},
    {"items.1.hs_code", "\"42023200001\"", "items[1].hs_code", "format", CUST_SEV_ERROR, 1},
    {"items.1.hs_code", "\"4202.32\"", "items[1].hs_code", "format", CUST_SEV_ERROR, 1},
    {"items.1.hs_code", "\"420232\"", NULL, NULL, 0, 0},
    {"items.1.quantity", "0", "items[1].quantity", "range", CUST_SEV_ERROR, 1},
    {"items.1.quantity", NULL, "items[1].quantity", "required", CUST_SEV_ERROR, 1},
    {"items.1.net_weight_g", "0", "items[1].net_weight_g", "range", CUST_SEV_ERROR, 1},
    {"items.1.value", "-1", "items[1].value", "range", CUST_SEV_ERROR, 1},
    {"items.1.currency", "\"XYZ\"", "items[1].currency", "format", CUST_SEV_ERROR, 1},
    {"items.1.currency", "\"cny\"", "items[1].currency", "format", CUST_SEV_ERROR, 1},
    {"items.1.currency", "\"HRK\"", "items[1].currency", "format", CUST_SEV_ERROR, 1},
    {"items.1.origin_country", "\"SU\"", "items[1].origin_country", "format", CUST_SEV_ERROR, 1},
    {"items.0.url", "\"ftp://x\"", "items[0].url", "format", CUST_SEV_ERROR, 1},
    /* totals */
    {"total_value", "6001", "total_value", "mismatch", CUST_SEV_ERROR, 1},
    {"items.1.value", "1400", "total_value", "mismatch", CUST_SEV_ERROR, 1},
    {"items.1.currency", "\"USD\"", NULL, NULL, 0, 0}, /* mixed currencies: no sum check */
    {"total_value", NULL, "total_value", "required", CUST_SEV_ERROR, 1},
    {"gross_weight_g", "859", "gross_weight_g", "mismatch", CUST_SEV_ERROR, 1},
    {"gross_weight_g", "860", NULL, NULL, 0, 0},
    {"gross_weight_g", "0", "gross_weight_g", "range", CUST_SEV_ERROR, 1},
    {"currency", "\"EURO\"", "currency", "format", CUST_SEV_ERROR, 1},
};

/* Applies one change to the parsed valid declaration. Path parts are object
 * keys or array indexes. */
static void apply(json_t *root, const char *path, const char *value)
{
    char buf[128], *save = NULL, *part, *next;
    json_t *cur = root;

    snprintf(buf, sizeof(buf), "%s", path);
    part = strtok_r(buf, ".", &save);
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(part))
                                 : json_object_get(cur, part);
        assert_non_null(cur);
        part = next;
    }
    if (value == NULL) {
        assert_int_equal(json_object_del(cur, part), 0);
    } else {
        json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);

        assert_non_null(v);
        assert_int_equal(json_object_set_new(cur, part, v), 0);
    }
}

static void table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct vcase *c = &cases[i];
        struct cust_problems p = CUST_PROBLEMS_INIT;
        const struct cust_problem *pr;
        struct cust_decl d;
        json_t *root = json_loads(valid, 0, NULL);
        char *text;
        int rc;

        assert_non_null(root);
        apply(root, c->path, c->value);
        text = json_dumps(root, 0);
        assert_int_equal(cust_decl_decode(text, strlen(text), &d, NULL), 0);
        rc = cust_validate(&d, TODAY, &p);
        if (p.errors != c->errors || rc != (c->errors ? ERR_INVALID : 0))
            fail_msg("case %zu (%s = %s): %zu errors (rc %d), expected %zu; first: %s %s %s", i,
                     c->path, c->value ? c->value : "deleted", p.errors, rc, c->errors,
                     p.n ? p.v[0].field : "-", p.n ? p.v[0].code : "-",
                     p.n ? p.v[0].message : "-");
        if (c->field == NULL) {
            if (p.n != 0)
                fail_msg("case %zu (%s): unexpected %s %s: %s", i, c->path, p.v[0].field,
                         p.v[0].code, p.v[0].message);
        } else {
            pr = cust_problems_find(&p, c->field);
            if (pr == NULL || strcmp(pr->code, c->code) != 0 || pr->severity != c->sev)
                fail_msg("case %zu (%s): expected %s %s, got %s", i, c->path, c->field, c->code,
                         pr ? pr->code : "nothing");
            assert_true(pr->message[0] != '\0');
        }
        cust_problems_free(&p);
        cust_decl_free(&d);
        free(text);
        json_decref(root);
    }
}

/* A declaration with many faults gets one problem per field, all of them. */
static void one_per_field(void **state)
{
    static const char *const in =
        "{\"items\": [{\"description\": \"gift\", \"hs_code\": \"1\", \"quantity\": 0,"
        " \"net_weight_g\": 0, \"value\": -5, \"currency\": \"xx\", \"origin_country\": \"ZZ\"}],"
        " \"recipient\": {\"name\": \"Ivan\", \"country\": \"RU\", \"postal_code\": \"1\","
        " \"phone\": \"x\", \"inn\": \"500100732258\"}}";
    struct cust_problems p = CUST_PROBLEMS_INIT;
    struct cust_decl d;

    (void)state;
    assert_int_equal(cust_decl_decode(in, strlen(in), &d, NULL), 0);
    assert_int_equal(cust_validate(&d, TODAY, &p), ERR_INVALID);
    for (size_t i = 0; i < p.n; i++)
        for (size_t j = i + 1; j < p.n; j++)
            assert_string_not_equal(p.v[i].field, p.v[j].field);
    assert_string_equal(cust_problems_find(&p, "items[0].description")->code, "vague");
    assert_string_equal(cust_problems_find(&p, "items[0].hs_code")->code, "format");
    assert_string_equal(cust_problems_find(&p, "items[0].value")->code, "range");
    assert_string_equal(cust_problems_find(&p, "recipient.name")->code, "format");
    assert_string_equal(cust_problems_find(&p, "recipient.inn")->code, "checksum");
    assert_string_equal(cust_problems_find(&p, "sender.name")->code, "required");
    assert_string_equal(cust_problems_find(&p, "parcel_id")->code, "required");
    assert_true(p.errors >= 20);
    assert_int_equal(p.errors, p.n);
    cust_problems_free(&p);
    cust_decl_free(&d);
}

static void inn_and_words(void **state)
{
    static const struct {
        const char *inn;
        int ok;
    } inns[] = {
        {"500100732259", 1}, {"500100732258", 0}, {"500100732249", 0}, {"50010073225", 0},
        {"5001007322590", 0}, {"", 0}, {NULL, 0},
    };
    static const struct {
        const char *text;
        int vague;
    } words[] = {
        {"gift", 1}, {"GIFT", 1}, {"Gifts", 1}, {"parts", 1}, {"accessories", 1},
        {"clothing", 1}, {"подарок", 1}, {"ПОДАРКИ", 1}, {"Запчасти", 1}, {"аксессуары", 1},
        {"Одежда", 1}, {"одежды", 1}, {"запасные  части", 1}, {"подарок для мамы", 0},
        {"Кроссовки", 0}, {"", 0}, {"gift card holder", 0}, {NULL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(inns) / sizeof(inns[0]); i++)
        if (cust_inn_valid(inns[i].inn) != inns[i].ok)
            fail_msg("INN %s", inns[i].inn ? inns[i].inn : "NULL");
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (cust_vague_word(words[i].text) != words[i].vague)
            fail_msg("vague \"%s\"", words[i].text ? words[i].text : "NULL");
}

static void currencies(void **state)
{
    (void)state;
    assert_int_equal(cust_currency_exponent("CNY"), 2);
    assert_int_equal(cust_currency_exponent("EUR"), 2);
    assert_int_equal(cust_currency_exponent("RUB"), 2);
    assert_int_equal(cust_currency_exponent("JPY"), 0);
    assert_int_equal(cust_currency_exponent("KWD"), 3);
    assert_int_equal(cust_currency_exponent("ZWG"), 2);
    assert_int_equal(cust_currency_exponent("AED"), 2);
    assert_int_equal(cust_currency_exponent("XAU"), -1);
    assert_int_equal(cust_currency_exponent("BGN"), -1);
    assert_int_equal(cust_currency_exponent("usd"), -1);
    assert_int_equal(cust_currency_exponent("US"), -1);
    assert_int_equal(cust_currency_exponent(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(one_per_field),
        cmocka_unit_test(inn_and_words),
        cmocka_unit_test(currencies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

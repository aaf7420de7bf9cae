/*
 * test-declaration.c - the declaration JSON codec: the spec's example decodes
 * field by field, encoding gives it back, and each malformed input is refused
 * with the JSON path of the offending field (table-driven).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "customs/declaration.h"

/* The DECLARATION example of broker-api.md, with real values. */
static const char *const example =
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
    " \"items\": [{\"description\": \"Кроссовки беговые\", \"description_en\": \"Running shoes\","
    "  \"hs_code\": \"640411\", \"quantity\": 1, \"net_weight_g\": 800, \"value\": 4500,"
    "  \"currency\": \"CNY\", \"origin_country\": \"CN\", \"url\": \"https://shop.example/1\"}],"
    " \"gross_weight_g\": 950, \"total_value\": 4500, \"currency\": \"CNY\"}";

static void decode_example(void **state)
{
    struct cust_decl d;
    struct err e = {0};

    (void)state;
    assert_int_equal(cust_decl_decode(example, strlen(example), &d, &e), 0);
    assert_string_equal(d.parcel_id, "RR473124829CN");
    assert_int_equal(d.n_other_ids, 1);
    assert_string_equal(d.other_ids[0], "LP00123456789012");
    assert_string_equal(d.category, "sale_of_goods");
    assert_string_equal(d.sender.city, "Harbin");
    assert_null(d.sender.region);
    assert_string_equal(d.recipient.name, "Иванов Иван Иванович");
    assert_string_equal(d.recipient.postal_code, "630099");
    assert_int_equal(d.has_passport, 1);
    assert_string_equal(d.passport.series, "4509");
    assert_string_equal(d.passport.issued, "2015-03-01");
    assert_string_equal(d.inn, "500100732259");
    assert_int_equal(d.n_items, 1);
    assert_string_equal(d.items[0].description, "Кроссовки беговые");
    assert_string_equal(d.items[0].hs_code, "640411");
    assert_int_equal(d.items[0].quantity, 1);
    assert_int_equal(d.items[0].net_weight_g, 800);
    assert_int_equal(d.items[0].value, 4500);
    assert_int_equal(d.gross_weight_g, 950);
    assert_int_equal(d.total_value, 4500);
    assert_string_equal(d.currency, "CNY");
    cust_decl_free(&d);
    assert_null(d.parcel_id);
}

/* Encoding gives the same JSON value back (key for key), and again decodes. */
static void roundtrip(void **state)
{
    struct cust_decl d, d2;
    struct err e = {0};
    char *out = NULL;
    json_t *a, *b;

    (void)state;
    assert_int_equal(cust_decl_decode(example, strlen(example), &d, &e), 0);
    assert_int_equal(cust_decl_encode(&d, &out, &e), 0);
    a = json_loads(example, 0, NULL);
    b = json_loads(out, 0, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(json_equal(a, b));
    /* Spec's key order: parcel_id first. */
    assert_memory_equal(out, "{\"parcel_id\":", 13);
    assert_int_equal(cust_decl_decode(out, strlen(out), &d2, &e), 0);
    assert_string_equal(d2.recipient.name, d.recipient.name);
    json_decref(a);
    json_decref(b);
    free(out);
    cust_decl_free(&d);
    cust_decl_free(&d2);
}

/* Absent optional parts stay absent both ways. */
static void absent_fields(void **state)
{
    static const char *const in = "{\"parcel_id\":\"X\",\"items\":[{\"description\":\"Чай\"}]}";
    struct cust_decl d;
    char *out = NULL;

    (void)state;
    assert_int_equal(cust_decl_decode(in, strlen(in), &d, NULL), 0);
    assert_int_equal(d.has_passport, 0);
    assert_null(d.inn);
    assert_int_equal(d.items[0].quantity, CUST_ABSENT);
    assert_int_equal(d.total_value, CUST_ABSENT);
    assert_int_equal(cust_decl_encode(&d, &out, NULL), 0);
    assert_null(strstr(out, "passport"));
    assert_null(strstr(out, "inn"));
    assert_null(strstr(out, "quantity"));
    assert_null(strstr(out, "total_value"));
    free(out);
    cust_decl_free(&d);
}

static const struct {
    const char *json;
    int rc;
    const char *msg; /* start of e.msg */
} bad[] = {
    {"[]", ERR_INVALID, "(root): expected an object"},
    {"{\"parcel_id\": 5}", ERR_INVALID, "parcel_id: expected a string"},
    {"{\"other_ids\": \"LP1\"}", ERR_INVALID, "other_ids: expected an array"},
    {"{\"other_ids\": [\"a\", 2]}", ERR_INVALID, "other_ids[1]: expected a string"},
    {"{\"sender\": []}", ERR_INVALID, "sender: expected an object"},
    {"{\"sender\": {\"phone\": 7}}", ERR_INVALID, "sender.phone: expected a string"},
    {"{\"recipient\": {\"inn\": 500100732259}}", ERR_INVALID, "recipient.inn: expected a string"},
    {"{\"recipient\": {\"passport\": \"4509 123456\"}}", ERR_INVALID,
     "recipient.passport: expected an object"},
    {"{\"recipient\": {\"passport\": {\"number\": 123456}}}", ERR_INVALID,
     "recipient.passport.number: expected a string"},
    {"{\"items\": {}}", ERR_INVALID, "items: expected an array"},
    {"{\"items\": [{}, {}, {\"hs_code\": 640411}]}", ERR_INVALID,
     "items[2].hs_code: expected a string"},
    {"{\"items\": [{}, 3]}", ERR_INVALID, "items[1]: expected an object"},
    {"{\"items\": [{\"value\": 45.5}]}", ERR_INVALID, "items[0].value: expected an integer"},
    {"{\"items\": [{\"quantity\": \"1\"}]}", ERR_INVALID, "items[0].quantity: expected an integer"},
    {"{\"gross_weight_g\": true}", ERR_INVALID, "gross_weight_g: expected an integer"},
    {"{\"currency\": [\"CNY\"]}", ERR_INVALID, "currency: expected a string"},
    {"{\"parcel_id\": \"a\\u0000b\"}", ERR_PARSE, "line 1"}, /* jansson refuses \u0000 */
    {"{\"inn\": 1, \"inn\": 2}", ERR_PARSE, "line 1"},
    {"{\"parcel_id\": ", ERR_PARSE, "line 1"},
    {"", ERR_PARSE, "line "},
};

static void bad_inputs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cust_decl d;
        struct err e = {0};
        int rc = cust_decl_decode(bad[i].json, strlen(bad[i].json), &d, &e);

        if (rc != bad[i].rc || strncmp(e.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("case %zu %s: rc %d msg \"%s\", expected %d \"%s\"", i, bad[i].json, rc,
                     e.msg, bad[i].rc, bad[i].msg);
        cust_decl_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_example),
        cmocka_unit_test(roundtrip),
        cmocka_unit_test(absent_fields),
        cmocka_unit_test(bad_inputs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

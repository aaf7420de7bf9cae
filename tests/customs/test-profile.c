/*
 * test-profile.c - the broker profiles (customs/profile.h): the reference
 * profile translates nothing; the rupost profile writes a reference
 * declaration and manifest in its own words (categories, OKSM countries,
 * 10-digit TN VED codes, minor units, grams, its auth scheme and paths) and
 * reads its answers back into the reference answers, which the one set of
 * readers (customs/answer.h) then checks as strictly as the reference's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "customs/answer.h"
#include "customs/oksm.h"
#include "customs/profile.h"

static const char DECL[] =
    "{\"declarations\":[{\"parcel_id\":\"RR473124829CN\",\"other_ids\":[\"LP00123456789012\"],"
    "\"category\":\"sale_of_goods\","
    "\"sender\":{\"name\":\"Harbin Trade\",\"address\":\"No. 18\",\"city\":\"Harbin\","
    "\"postal_code\":\"150000\",\"country\":\"CN\",\"phone\":\"+8645100\"},"
    "\"recipient\":{\"name\":\"Иванов Иван Иванович\",\"address\":\"ул. Ленина, 1\","
    "\"city\":\"Новосибирск\",\"region\":\"Новосибирская обл.\",\"postal_code\":\"630099\","
    "\"country\":\"RU\",\"phone\":\"+79131234567\",\"passport\":{\"series\":\"4509\","
    "\"number\":\"123456\",\"issued\":\"2015-03-01\"},\"inn\":\"500100732259\"},"
    "\"items\":[{\"description\":\"Кроссовки беговые\",\"description_en\":\"Running shoes\","
    "\"hs_code\":\"640411\",\"quantity\":2,\"net_weight_g\":800,\"value\":4500,\"currency\":"
    "\"CNY\",\"origin_country\":\"CN\"},{\"description\":\"Шнурки\",\"hs_code\":\"6307909800\","
    "\"quantity\":1,\"net_weight_g\":20,\"value\":100,\"currency\":\"CNY\","
    "\"origin_country\":\"XQ\"}],"
    "\"gross_weight_g\":950,\"total_value\":4600,\"currency\":\"CNY\"},"
    "{\"parcel_id\":\"RR473124830CN\",\"category\":\"returned_goods\",\"sender\":{},"
    "\"recipient\":{},\"items\":[]}]}";

static json_t *translate(enum cust_request kind, const char *ref)
{
    struct err e = {0};
    char *out = NULL;
    json_t *j;

    assert_int_equal(cust_profile_rupost.request(kind, ref, &out, &e), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    free(out);
    return j;
}

static const char *str(const json_t *o, const char *path)
{
    char key[64];
    const char *dot = strchr(path, '.');

    if (dot == NULL)
        return json_string_value(json_object_get(o, path));
    snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
    return str(json_object_get(o, key), dot + 1);
}

static long long num(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void test_profiles_found_by_name(void **state)
{
    (void)state;
    assert_ptr_equal(cust_profile_find("reference"), &cust_profile_reference);
    assert_ptr_equal(cust_profile_find("rupost"), &cust_profile_rupost);
    assert_null(cust_profile_find("cdek"));
    assert_null(cust_profile_reference.request);
    assert_string_equal(cust_profile_reference.auth_scheme, "Bearer");
    assert_string_equal(cust_profile_rupost.auth_scheme, "AccessToken");
    assert_string_equal(cust_profile_rupost.path[CUST_REQ_DECLARATIONS],
                        "/1.0/customs/declarations");
    assert_int_equal(cust_oksm_of("CN"), 156);
    assert_int_equal(cust_oksm_of("RU"), 643);
    assert_int_equal(cust_oksm_of("KZ"), 398);
    assert_int_equal(cust_oksm_of("XQ"), -1);
    assert_string_equal(cust_oksm_alpha2(860), "UZ");
    assert_null(cust_oksm_alpha2(999));
}

/* A declaration in rupost's words, field by field. */
static void test_declaration_in_rupost_words(void **state)
{
    json_t *j = translate(CUST_REQ_DECLARATIONS, DECL), *d, *cd, *e0, *e1;

    (void)state;
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    d = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(str(d, "barcode"), "RR473124829CN");
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "other-barcodes"), 0)),
                        "LP00123456789012");
    assert_int_equal(num(d, "mass"), 950);
    assert_int_equal(num(d, "declared-value"), 4600);
    assert_string_equal(str(d, "addressee.name"), "Иванов Иван Иванович");
    assert_string_equal(str(d, "addressee.place"), "Новосибирск");
    assert_string_equal(str(d, "addressee.index"), "630099");
    assert_int_equal(num(json_object_get(d, "addressee"), "country-code"), 643);
    assert_string_equal(str(d, "addressee.tel"), "+79131234567");
    assert_string_equal(str(d, "addressee.inn"), "500100732259");
    assert_string_equal(str(d, "addressee.passport.issue-date"), "2015-03-01");
    assert_int_equal(num(json_object_get(d, "sender"), "country-code"), 156);
    assert_null(json_object_get(json_object_get(d, "sender"), "inn"));
    cd = json_object_get(d, "customs-declaration");
    assert_string_equal(str(cd, "entries-type"), "SALE_OF_GOODS");
    assert_string_equal(str(cd, "currency"), "CNY");
    e0 = json_array_get(json_object_get(cd, "customs-entries"), 0);
    e1 = json_array_get(json_object_get(cd, "customs-entries"), 1);
    assert_string_equal(str(e0, "tnved-code"), "6404110000"); /* HS 6 -> TN VED 10 */
    assert_string_equal(str(e1, "tnved-code"), "6307909800");
    assert_int_equal(num(e0, "amount"), 2);
    assert_int_equal(num(e0, "value"), 4500); /* minor units of the currency */
    assert_int_equal(num(e0, "weight"), 800); /* grams */
    assert_int_equal(num(e0, "country-code"), 156);
    assert_string_equal(str(e0, "description-en"), "Running shoes");
    /* a country with no OKSM number is left out: the broker names it */
    assert_null(json_object_get(e1, "country-code"));
    /* returned goods have no category of their own there */
    d = json_array_get(json_object_get(j, "items"), 1);
    assert_string_equal(str(d, "customs-declaration.entries-type"), "OTHER");
    json_decref(j);
}

static void test_manifest_in_rupost_words(void **state)
{
    json_t *j = translate(CUST_REQ_MANIFEST,
                          "{\"manifest_id\":\"HRB-20261122-ZAB-001\",\"route\":\"RU-ZAB-RAIL\","
                          "\"transport\":\"rail\",\"border_crossing\":\"Manzhouli-Zabaykalsk\","
                          "\"departure\":\"2026-11-22T18:00:00+08:00\",\"bags\":[{\"bag_id\":"
                          "\"CNHRBARUMOWACUN60012003000183\",\"gross_weight_g\":18250,"
                          "\"parcels\":[\"RR473124829CN\"]}]}"),
           *b;

    (void)state;
    assert_string_equal(str(j, "batch-name"), "HRB-20261122-ZAB-001");
    assert_string_equal(str(j, "transport-type"), "RAIL");
    assert_string_equal(str(j, "border-crossing"), "Manzhouli-Zabaykalsk");
    assert_string_equal(str(j, "shipment-date"), "2026-11-22T18:00:00+08:00");
    b = json_array_get(json_object_get(j, "bags"), 0);
    assert_string_equal(str(b, "bag-barcode"), "CNHRBARUMOWACUN60012003000183");
    assert_int_equal(num(b, "mass"), 18250);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "barcodes"), 0)),
                        "RR473124829CN");
    json_decref(j);
}

static char *answer(enum cust_request kind, int error, const char *body, int want)
{
    struct err e = {0};
    char *out = NULL;

    assert_int_equal(cust_profile_rupost.answer(kind, error, body, strlen(body), &out, &e), want);
    return out;
}

/* rupost's answers read back through the reference readers: matched by
 * barcode whatever their order, statuses in the reference's words. */
static void test_answers_read_back(void **state)
{
    const char *ids[2] = {"RR473124829CN", "RR473124830CN"};
    struct cust_results r;
    struct cust_manifest_answer m;
    struct cust_feed_page p;
    struct cust_broker_error x;
    struct err e = {0};
    char *t;

    (void)state;
    t = answer(CUST_REQ_DECLARATIONS, 0,
               "{\"orders\":[{\"barcode\":\"RR473124830CN\",\"result\":\"REJECTED\",\"errors\":"
               "[{\"field\":\"addressee.inn\",\"code\":\"checksum\",\"description\":\"bad INN\"}]},"
               "{\"barcode\":\"RR473124829CN\",\"result\":\"ACCEPTED\",\"order-id\":\"rp-7\"}]}",
               0);
    assert_int_equal(cust_answer_results(t, strlen(t), ids, 2, &r, &e), 0);
    assert_string_equal(r.res[0].status, "accepted");
    assert_string_equal(r.res[0].broker_ref, "rp-7");
    assert_string_equal(r.res[1].status, "rejected");
    assert_non_null(strstr(r.res[1].errors_json, "bad INN"));
    assert_non_null(strstr(r.res[1].errors_json, "addressee.inn"));
    cust_results_free(&r);
    free(t);
    /* an answer naming a parcel not in the batch is refused as in v1 */
    t = answer(CUST_REQ_DECLARATIONS, 0,
               "{\"orders\":[{\"barcode\":\"RR000000000CN\",\"result\":\"ACCEPTED\","
               "\"order-id\":\"a\"},{\"barcode\":\"RR473124829CN\",\"result\":\"ACCEPTED\","
               "\"order-id\":\"b\"}]}",
               0);
    assert_int_equal(cust_answer_results(t, strlen(t), ids, 2, &r, &e), ERR_PARSE);
    free(t);
    /* a 200 that is not rupost's */
    assert_null(answer(CUST_REQ_DECLARATIONS, 0, "{\"results\":[]}", ERR_PARSE));
    assert_null(answer(CUST_REQ_EVENTS, 0, "<html>", ERR_PARSE));

    t = answer(CUST_REQ_MANIFEST, 0,
               "{\"batch-name\":\"HRB-1\",\"batch-id\":\"rp-b9\",\"unknown-barcodes\":[\"RR1\"]}",
               0);
    assert_int_equal(cust_answer_manifest(t, strlen(t), "HRB-1", &m, &e), 0);
    assert_string_equal(m.broker_ref, "rp-b9");
    assert_int_equal(m.unknown, 1);
    cust_manifest_answer_free(&m);
    free(t);

    t = answer(CUST_REQ_EVENTS, 0,
               "{\"events\":[{\"event-id\":\"3\",\"barcode\":\"RR473124829CN\",\"operation\":"
               "\"HELD\",\"comment\":\"документы\",\"operation-date\":\"2026-11-22T10:00:00Z\"},"
               "{\"event-id\":\"4\",\"barcode\":\"RR473124830CN\",\"operation\":\"DUTY_DUE\","
               "\"duty\":{\"amount\":123400,\"currency\":\"RUB\"}}],\"next\":\"4\"}",
               0);
    assert_int_equal(cust_answer_feed(t, strlen(t), &p, &e), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.ev[0].type, "held");
    assert_string_equal(p.ev[0].reason, "документы");
    assert_string_equal(p.ev[1].type, "duty_due");
    assert_int_equal(p.ev[1].duty_value, 123400);
    assert_string_equal(p.ev[1].duty_currency, "RUB");
    assert_string_equal(p.next, "4");
    cust_feed_page_free(&p);
    free(t);

    /* its error body is the broker's; anything else stays what it is */
    t = answer(CUST_REQ_DECLARATIONS, 1, "{\"code\":\"too_large\",\"desc\":\"500 at most\"}", 0);
    assert_int_equal(cust_answer_error(t, strlen(t), &x, &e), 0);
    assert_string_equal(x.code, "too_large");
    assert_string_equal(x.message, "500 at most");
    cust_broker_error_free(&x);
    free(t);
    t = answer(CUST_REQ_DECLARATIONS, 1, "<html>bad gateway</html>", 0);
    assert_string_equal(t, "<html>bad gateway</html>");
    assert_int_equal(cust_answer_error(t, strlen(t), &x, &e), ERR_PARSE);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiles_found_by_name),
        cmocka_unit_test(test_declaration_in_rupost_words),
        cmocka_unit_test(test_manifest_in_rupost_words),
        cmocka_unit_test(test_answers_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

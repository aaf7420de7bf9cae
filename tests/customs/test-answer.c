/*
 * test-answer.c - the readers of the broker's answers (customs/answer.c):
 * good answers read field by field, and each unusable one refused with the
 * place and the reason (table-driven), the broker's text made printable and
 * answers over CUST_ANSWER_MAX refused unread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "customs/answer.h"

static const char *const ids[] = {"P1", "P2", "P3"};

/* An answer, and how its refusal's message starts. */
struct refusal {
    const char *body;
    const char *why;
};

/* Fails case i unless a reader refused it (rc) as c says, in e. */
static void assert_refused(size_t i, int rc, struct err *e, const struct refusal *c)
{
    if (rc != ERR_PARSE || strncmp(e->msg, c->why, strlen(c->why)) != 0)
        fail_msg("case %zu: \"%s\", not \"%s\"", i, e->msg, c->why);
    err_clear(e);
}

/* Results come in any order and are matched by parcel_id. */
static void results_matched_by_id(void **state)
{
    static const char body[] =
        "{\"results\": [{\"parcel_id\": \"P3\", \"status\": \"rejected\", \"errors\": "
        "[{\"field\": \"recipient.inn\"}]}, {\"parcel_id\": \"P1\", \"status\": \"accepted\", "
        "\"broker_ref\": \"BR-1\"}, {\"parcel_id\": \"P2\", \"status\": \"rejected\"}]}";
    struct cust_results r;
    struct err e = {0};

    (void)state;
    /* Not NUL-terminated: the last brace is not part of the answer. */
    assert_int_equal(cust_answer_results(body, sizeof(body) - 2, ids, 3, &r, &e), ERR_PARSE);
    assert_int_equal(cust_answer_results(body, sizeof(body) - 1, ids, 3, &r, &e), 0);
    assert_int_equal(r.n, 3);
    assert_ptr_equal(r.res[0].parcel_id, ids[0]);
    assert_string_equal(r.res[0].status, "accepted");
    assert_string_equal(r.res[0].broker_ref, "BR-1");
    assert_null(r.res[0].errors_json);
    assert_ptr_equal(r.res[1].parcel_id, ids[1]);
    assert_string_equal(r.res[1].status, "rejected");
    assert_string_equal(r.res[1].errors_json, "[]");
    assert_ptr_equal(r.res[2].parcel_id, ids[2]);
    assert_string_equal(r.res[2].errors_json, "[{\"field\":\"recipient.inn\"}]");
    cust_results_free(&r);
}

static void results_refused(void **state)
{
    static const struct refusal bad[] = {
        {"", "answer is not JSON: "},
        {"{\"results\": [", "answer is not JSON: "},
        {"{\"results\": {}}", "answer has 0 results for 3 declarations"},
        {"{\"results\": [{\"parcel_id\": \"P1\", \"status\": \"accepted\"}]}",
         "answer has 1 results for 3 declarations"},
        {"{\"results\": [{\"status\": \"accepted\"}, {}, {}]}", "result 0 has no parcel_id"},
        {"{\"results\": [{\"parcel_id\": \"P1\", \"status\": \"accepted\"}, {\"parcel_id\": "
         "\"P9\"}, {}]}",
         "result 1 is for parcel P9, which is not in the batch"},
        {"{\"results\": [{\"parcel_id\": \"P2\", \"status\": \"accepted\"}, {\"parcel_id\": "
         "\"P2\"}, {}]}",
         "parcel P2 has two results"},
        {"{\"results\": [{\"parcel_id\": \"P2\", \"status\": \"maybe\"}, {}, {}]}",
         "result 0 (parcel P2): unknown status"},
        /* The broker's text reaches the log only printable. */
        {"{\"results\": [{\"parcel_id\": \"P\\u001b[31m\\n\\u0085\"}, {}, {}]}",
         "result 0 is for parcel P\\x1b[31m\\x0a\\xc2\\x85, which is not in the batch"},
    };
    struct cust_results r;
    struct err e = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(i, cust_answer_results(bad[i].body, strlen(bad[i].body), ids, 3, &r, &e), &e,
                       &bad[i]);
        assert_null(r.res);
        assert_null(r.doc);
    }
}

/* An answer over the cap is refused before it is parsed (the worker's
 * transfer stops there too; the readers do not rely on it). */
static void answer_over_the_cap(void **state)
{
    size_t len = CUST_ANSWER_MAX + 1;
    char *big = malloc(len);
    struct cust_results r;
    struct cust_feed_page p;
    struct cust_manifest_answer a;
    struct cust_broker_error x;
    struct err e = {0};

    (void)state;
    assert_non_null(big);
    memset(big, ' ', len);
    memcpy(big, "{\"events\": [], \"next\": \"1\"}", 27);
    assert_int_equal(cust_answer_feed(big, len - 1, &p, &e), 0);
    cust_feed_page_free(&p);
    assert_int_equal(cust_answer_feed(big, len, &p, &e), ERR_PARSE);
    assert_string_equal(e.msg, "answer is 4194305 bytes, over the cap of 4194304");
    assert_int_equal(cust_answer_results(big, len, ids, 3, &r, &e), ERR_PARSE);
    assert_string_equal(e.msg, "answer is 4194305 bytes, over the cap of 4194304");
    assert_int_equal(cust_answer_manifest(big, len, "HRB-1", &a, &e), ERR_PARSE);
    assert_string_equal(e.msg, "manifest HRB-1: answer is 4194305 bytes, over the cap of 4194304");
    assert_int_equal(cust_answer_error(big, len, &x, &e), ERR_PARSE);
    assert_string_equal(e.msg, "the answer is 4194305 bytes, over the cap of 4194304");
    free(big);
}

static void manifest_answers(void **state)
{
    static const char good[] = "{\"manifest_id\": \"HRB-1\", \"status\": \"received\", "
                               "\"broker_ref\": \"MR-7\", \"unknown_parcels\": [\"RR1\", \"RR2\"]}";
    static const struct refusal bad[] = {
        {"[", "manifest HRB-1: answer is not JSON: "},
        {"{\"broker_ref\": \"MR-7\", \"unknown_parcels\": []}",
         "manifest HRB-1: answer is for manifest (none)"},
        {"{\"manifest_id\": \"WRONG-1\"}", "manifest HRB-1: answer is for manifest WRONG-1"},
        {"{\"manifest_id\": \"HRB-1\", \"broker_ref\": \"\", \"unknown_parcels\": []}",
         "manifest HRB-1: answer lacks broker_ref or unknown_parcels"},
        {"{\"manifest_id\": \"HRB-1\", \"broker_ref\": \"MR-7\"}",
         "manifest HRB-1: answer lacks broker_ref or unknown_parcels"},
        {"{\"manifest_id\": \"HRB-1\", \"broker_ref\": \"MR-7\", \"unknown_parcels\": [\"a\", 1]}",
         "manifest HRB-1: unknown_parcels[1] is not a string"},
    };
    struct cust_manifest_answer a;
    struct err e = {0};
    size_t i;

    (void)state;
    assert_int_equal(cust_answer_manifest(good, strlen(good), "HRB-1", &a, &e), 0);
    assert_string_equal(a.broker_ref, "MR-7");
    assert_string_equal(a.unknown_json, "[\"RR1\",\"RR2\"]");
    assert_int_equal(a.unknown, 2);
    cust_manifest_answer_free(&a);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(i, cust_answer_manifest(bad[i].body, strlen(bad[i].body), "HRB-1", &a, &e),
                       &e, &bad[i]);
        assert_null(a.broker_ref);
    }
}

static void feed_pages(void **state)
{
    static const char good[] =
        "{\"events\": [{\"cursor\": \"7\", \"parcel_id\": \"RR1\", \"type\": \"held\", \"reason\": "
        "\"inspection\", \"at\": \"2026-11-23T10:00:00Z\"}, {\"cursor\": \"8\", \"parcel_id\": "
        "\"RR2\", \"type\": \"duty_due\", \"duty\": {\"value\": 1250, \"currency\": \"RUB\"}}], "
        "\"next\": \"8\"}";
    static const char empty[] = "{\"events\": [], \"next\": \"8\"}";
    static const struct refusal bad[] = {
        {"nope", "answer is not JSON: "},
        {"{\"events\": []}", "answer has no events array and next cursor"},
        {"{\"events\": {}, \"next\": \"1\"}", "answer has no events array and next cursor"},
        {"{\"events\": [{\"cursor\": \"1\", \"parcel_id\": \"RR1\"}], \"next\": \"1\"}",
         "event 0: cursor, parcel_id and type are required"},
        {"{\"events\": [{\"cursor\": \"1\", \"parcel_id\": \"RR1\", \"type\": \"held\"}], "
         "\"next\": \"2\"}",
         "next 2 is not the last event's cursor"},
    };
    struct cust_feed_page p;
    struct err e = {0};
    size_t i;

    (void)state;
    assert_int_equal(cust_answer_feed(good, strlen(good), &p, &e), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.next, "8");
    assert_string_equal(p.ev[0].reason, "inspection");
    assert_string_equal(p.ev[0].at, "2026-11-23T10:00:00Z");
    assert_null(p.ev[0].duty_currency);
    assert_string_equal(p.ev[1].type, "duty_due");
    assert_int_equal(p.ev[1].duty_value, 1250);
    assert_string_equal(p.ev[1].duty_currency, "RUB");
    cust_feed_page_free(&p);
    assert_int_equal(cust_answer_feed(empty, strlen(empty), &p, &e), 0);
    assert_int_equal(p.n, 0);
    assert_string_equal(p.next, "8");
    cust_feed_page_free(&p);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(i, cust_answer_feed(bad[i].body, strlen(bad[i].body), &p, &e), &e, &bad[i]);
        assert_null(p.ev);
    }
}

static void error_bodies(void **state)
{
    static const char good[] = "{\"error\": {\"code\": \"invalid\", \"message\": \"no body\"}}";
    static const char proxy[] = "<html>Bad Request</html>";
    static const char other[] = "{\"error\": \"invalid\"}";
    struct cust_broker_error x;
    struct err e = {0};

    (void)state;
    assert_int_equal(cust_answer_error(good, strlen(good), &x, &e), 0);
    assert_string_equal(x.code, "invalid");
    assert_string_equal(x.message, "no body");
    cust_broker_error_free(&x);
    assert_int_equal(cust_answer_error(proxy, strlen(proxy), &x, &e), ERR_PARSE);
    assert_string_equal(e.msg, "the answer is not JSON (24 bytes)");
    assert_null(x.code);
    assert_int_equal(cust_answer_error(other, strlen(other), &x, &e), ERR_PARSE);
    assert_string_equal(e.msg, "the answer has no error.code and error.message");
    assert_int_equal(cust_answer_error(NULL, 0, &x, NULL), ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(results_matched_by_id),
        cmocka_unit_test(results_refused),
        cmocka_unit_test(answer_over_the_cap),
        cmocka_unit_test(manifest_answers),
        cmocka_unit_test(feed_pages),
        cmocka_unit_test(error_bodies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

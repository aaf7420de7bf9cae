/*
 * test-brokersim.c - wcs-brokersim, the customs broker emulator, as a child
 * process spoken to over HTTP with libcurl: bearer auth, Idempotency-Key
 * rules, per-declaration validation, batch limit, malformed bodies, the
 * decision feed with cursors, manifests, the journal across a restart, and
 * every fault flag observed with a fixed seed in bounded loops (those of
 * the broker boundary, --answer-status, --max-body, --swap-results,
 * --wrong-ids, --oversize, at 1: always).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "tests/common/proc.h"
#include "tests/common/testbroker.h"
#include "tests/common/testutil.h"

#define TOKEN "s3cret-token-h18"

static char dir[64];
static char token_path[128];
static char record_path[128];

static struct tb_sim main_sim;

/* ---- helpers ------------------------------------------------------------ */

static void sim_start(struct tb_sim *s, const char *const extra[])
{
    tb_sim_start(s, BROKERSIM_BIN, token_path, extra);
}

struct resp {
    CURLcode rc;       /* transport result */
    long status;       /* HTTP status, 0 without an answer */
    char *text;        /* body text (owned) */
    size_t len;        /* its length */
    json_t *json;      /* parsed body or NULL */
    char retry_after[16];
    char location[128]; /* Location header, as sent (with its line end) */
    int chunked;       /* Transfer-Encoding: chunked (no length told up front) */
};

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct resp *r = userdata;
    size_t n = size * nmemb;

    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
        size_t k = n - 12 < 15 ? n - 12 : 15;
        memcpy(r->retry_after, ptr + 12, k);
        r->retry_after[k] = '\0';
    } else if (n > 9 && strncasecmp(ptr, "Location:", 9) == 0) {
        size_t k = n - 9 < sizeof(r->location) - 1 ? n - 9 : sizeof(r->location) - 1;
        memcpy(r->location, ptr + 9, k);
        r->location[k] = '\0';
    } else if (n > 18 && strncasecmp(ptr, "Transfer-Encoding:", 18) == 0 &&
               memmem(ptr, n, "chunked", 7) != NULL) {
        r->chunked = 1;
    }
    return n;
}

static void resp_free(struct resp *r)
{
    free(r->text);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* One request with optional token and Idempotency-Key; body NULL means
 * GET. The token goes as the path's profile presents it (v1: Bearer,
 * /1.0/...: rupost's AccessToken), or as given when it holds a blank
 * ("Bearer X"). */
static void req(int port, const char *path, const char *token, const char *key, const char *body,
                struct resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct tu_body b = {NULL, 0};
    char url[256], hdr[256];

    memset(r, 0, sizeof(*r));
    assert_non_null(c);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (token != NULL) {
        snprintf(hdr, sizeof(hdr), "Authorization: %s%s", strchr(token, ' ') ? ""
                                    : strncmp(path, "/1.0/", 5) == 0 ? "AccessToken "
                                                                     : "Bearer ",
                 token);
        h = curl_slist_append(h, hdr);
    }
    if (key != NULL) {
        snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", key);
        h = curl_slist_append(h, hdr);
    }
    if (body != NULL) {
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    r->rc = curl_easy_perform(c);
    if (r->rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->text = b.data != NULL ? b.data : strdup("");
    r->len = b.len;
    r->json = json_loads(r->text, 0, NULL);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static const char *err_code(const struct resp *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
}

/* A valid declaration for parcel_id (LP + 14 digits works without an S10
 * check digit). New reference. */
static json_t *good_decl(const char *parcel_id)
{
    json_t *d = json_loads(
        "{\"category\": \"sale_of_goods\","
        " \"sender\": {\"name\": \"Shop\", \"address\": \"1 Road\", \"city\": \"Harbin\","
        "  \"postal_code\": \"150000\", \"country\": \"CN\"},"
        " \"recipient\": {\"name\": \"Иванов Иван Иванович\", \"address\": \"ул. Ленина 1\","
        "  \"city\": \"Новосибирск\", \"postal_code\": \"630099\", \"country\": \"RU\","
        "  \"inn\": \"500100732259\", \"passport\": {\"series\": \"4509\", \"number\": \"123456\"}},"
        " \"items\": [{\"description\": \"Кроссовки беговые\", \"hs_code\": \"640411\","
        "  \"quantity\": 1, \"net_weight_g\": 800, \"value\": 4500, \"currency\": \"CNY\","
        "  \"origin_country\": \"CN\"}],"
        " \"gross_weight_g\": 950, \"total_value\": 4500, \"currency\": \"CNY\"}",
        0, NULL);

    assert_non_null(d);
    json_object_set_new(d, "parcel_id", json_string(parcel_id));
    return d;
}

/* {"declarations": [...]} as text from a NULL-terminated list (stolen). */
static char *batch(json_t *first, ...)
{
    json_t *arr = json_array(), *d, *o;
    va_list ap;
    char *s;

    va_start(ap, first);
    for (d = first; d != NULL; d = va_arg(ap, json_t *))
        json_array_append_new(arr, d);
    va_end(ap);
    o = json_pack("{s:o}", "declarations", arr);
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

/* How many times parcel_id is in GET /admin/accepted. */
static int accepted_count(int port, const char *parcel_id)
{
    struct resp r;
    json_t *a;
    size_t i;
    int n = 0;

    req(port, "/admin/accepted", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    a = json_object_get(r.json, "accepted");
    assert_true(json_is_array(a));
    for (i = 0; i < json_array_size(a); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(a, i), "parcel_id")),
                   parcel_id) == 0)
            n++;
    resp_free(&r);
    return n;
}

static long long stat_fault(int port, const char *name)
{
    struct resp r;
    long long v;

    req(port, "/admin/stats", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    v = json_integer_value(json_object_get(json_object_get(r.json, "faults"), name));
    resp_free(&r);
    return v;
}

/* ---- tests --------------------------------------------------------------- */

static void test_auth(void **state)
{
    char *body = batch(good_decl("LP00000000000001"), NULL);
    struct resp r;

    (void)state;
    req(main_sim.port, "/v1/declarations", NULL, "auth-1", body, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(err_code(&r), "unauthorized");
    resp_free(&r);
    req(main_sim.port, "/v1/declarations", "wrong-token", "auth-1", body, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    req(main_sim.port, "/v1/events", TOKEN "x", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    assert_int_equal(accepted_count(main_sim.port, "LP00000000000001"), 0);
    free(body);
}

static void test_idempotency_key_required(void **state)
{
    char *body = batch(good_decl("LP00000000000002"), NULL);
    char key[80];
    struct resp r;

    (void)state;
    req(main_sim.port, "/v1/declarations", TOKEN, NULL, body, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(err_code(&r), "missing_idempotency_key");
    resp_free(&r);
    memset(key, 'k', 65);
    key[65] = '\0';
    req(main_sim.port, "/v1/declarations", TOKEN, key, body, &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    key[64] = '\0'; /* 64 characters are allowed */
    req(main_sim.port, "/v1/declarations", TOKEN, key, body, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    free(body);
}

static const json_t *find_error(const json_t *result, const char *field)
{
    const json_t *errs = json_object_get(result, "errors");
    size_t i;

    for (i = 0; i < json_array_size(errs); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(errs, i), "field")), field) ==
            0)
            return json_array_get(errs, i);
    return NULL;
}

static void test_accept_and_reject(void **state)
{
    json_t *bad_inn = good_decl("RR473124829GB"), *bad_item = good_decl("LP00000000000004");
    json_t *bad_s10 = good_decl("RB123456786US"), *no_items = good_decl("LP00000000000005");
    json_t *res, *r0, *r1, *r2, *r3, *r4;
    const json_t *e;
    char *body;
    struct resp r;

    (void)state;
    json_object_set_new(json_object_get(bad_inn, "recipient"), "inn",
                        json_string("500100732258"));
    json_object_set_new(json_array_get(json_object_get(bad_item, "items"), 0), "hs_code",
                        json_string("6404"));
    json_object_set_new(json_array_get(json_object_get(bad_item, "items"), 0), "currency",
                        json_string("cny"));
    json_object_set_new(no_items, "items", json_array());
    json_object_set_new(json_object_get(no_items, "sender"), "country", json_string("XX"));
    body = batch(good_decl("LP00000000000003"), bad_inn, bad_item, bad_s10, no_items, NULL);
    req(main_sim.port, "/v1/declarations", TOKEN, "accept-reject-1", body, &r);
    assert_int_equal(r.status, 200);
    res = json_object_get(r.json, "results");
    assert_int_equal(json_array_size(res), 5);
    r0 = json_array_get(res, 0);
    r1 = json_array_get(res, 1);
    r2 = json_array_get(res, 2);
    r3 = json_array_get(res, 3);
    r4 = json_array_get(res, 4);
    /* One result per declaration, in order. */
    assert_string_equal(json_string_value(json_object_get(r0, "parcel_id")), "LP00000000000003");
    assert_string_equal(json_string_value(json_object_get(r0, "status")), "accepted");
    assert_true(strncmp(json_string_value(json_object_get(r0, "broker_ref")), "BRK-", 4) == 0);
    assert_string_equal(json_string_value(json_object_get(r1, "parcel_id")), "RR473124829GB");
    assert_string_equal(json_string_value(json_object_get(r1, "status")), "rejected");
    e = find_error(r1, "recipient.inn");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "checksum");
    assert_non_null(json_string_value(json_object_get(e, "message")));
    assert_int_equal(json_array_size(json_object_get(r1, "errors")), 1);
    assert_null(json_object_get(r1, "broker_ref"));
    assert_string_equal(json_string_value(json_object_get(r2, "status")), "rejected");
    e = find_error(r2, "items[0].hs_code");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "format");
    assert_non_null(find_error(r2, "items[0].currency"));
    e = find_error(r3, "parcel_id");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "checksum");
    e = find_error(r4, "items");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "empty");
    e = find_error(r4, "sender.country");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "format");
    resp_free(&r);
    assert_int_equal(accepted_count(main_sim.port, "LP00000000000003"), 1);
    assert_int_equal(accepted_count(main_sim.port, "RR473124829GB"), 0);
    free(body);
}

static void test_same_key_replays_other_body_conflicts(void **state)
{
    char *body = batch(good_decl("LP00000000000010"), NULL);
    char *other = batch(good_decl("LP00000000000011"), NULL);
    struct resp a, b, c;

    (void)state;
    req(main_sim.port, "/v1/declarations", TOKEN, "replay-1", body, &a);
    assert_int_equal(a.status, 200);
    req(main_sim.port, "/v1/declarations", TOKEN, "replay-1", body, &b);
    assert_int_equal(b.status, 200);
    assert_string_equal(a.text, b.text);
    assert_int_equal(accepted_count(main_sim.port, "LP00000000000010"), 1);
    req(main_sim.port, "/v1/declarations", TOKEN, "replay-1", other, &c);
    assert_int_equal(c.status, 409);
    assert_string_equal(err_code(&c), "idempotency_conflict");
    assert_int_equal(accepted_count(main_sim.port, "LP00000000000011"), 0);
    resp_free(&a);
    resp_free(&b);
    resp_free(&c);
    free(body);
    free(other);
}

static void batch_of(size_t n, const char *key, long want)
{
    json_t *arr = json_array(), *o;
    char *body;
    struct resp r;
    size_t i;

    /* Invalid declarations: cheap, and nothing gets accepted. */
    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s}", "parcel_id", "XX"));
    o = json_pack("{s:o}", "declarations", arr);
    body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    req(main_sim.port, "/v1/declarations", TOKEN, key, body, &r);
    assert_int_equal(r.status, want);
    if (want == 200)
        assert_int_equal(json_array_size(json_object_get(r.json, "results")), n);
    else
        assert_string_equal(err_code(&r), "batch_too_large");
    resp_free(&r);
    free(body);
}

static void test_batch_limit(void **state)
{
    (void)state;
    batch_of(501, "batch-501", 413);
    batch_of(500, "batch-500", 200);
}

static void test_malformed_and_invalid_body(void **state)
{
    struct resp r;

    (void)state;
    req(main_sim.port, "/v1/declarations", TOKEN, "malformed-1", "{\"declarations\": [", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(err_code(&r), "malformed");
    assert_non_null(json_object_get(json_object_get(r.json, "error"), "message"));
    resp_free(&r);
    req(main_sim.port, "/v1/declarations", TOKEN, "invalid-1", "{\"decl\": []}", &r);
    assert_int_equal(r.status, 422);
    resp_free(&r);
}

static void test_events_feed(void **state)
{
    enum { N = 24 };
    int seen[N] = {0}, duty = 0, held = 0, released = 0, rejected = 0, i, pages = 0;
    char cursor[32] = "", path[96], pid[32], key[32];
    unsigned long long last = 0;
    struct resp r;

    (void)state;
    for (i = 0; i < N; i++) {
        char *body;
        snprintf(pid, sizeof(pid), "LP%014d", 500 + i);
        snprintf(key, sizeof(key), "events-%d", i);
        body = batch(good_decl(pid), NULL);
        req(main_sim.port, "/v1/declarations", TOKEN, key, body, &r);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        free(body);
    }
    /* Page through the whole feed, 5 at a time; bounded. */
    for (;;) {
        json_t *ev;
        size_t k;

        assert_true(++pages < 200);
        snprintf(path, sizeof(path), "/v1/events?after=%s&limit=5", cursor);
        req(main_sim.port, path, TOKEN, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        ev = json_object_get(r.json, "events");
        assert_true(json_is_array(ev));
        assert_true(json_array_size(ev) <= 5);
        if (json_array_size(ev) == 0) {
            /* At the end the cursor stays where it was. */
            if (cursor[0] != '\0')
                assert_string_equal(json_string_value(json_object_get(r.json, "next")), cursor);
            resp_free(&r);
            break;
        }
        for (k = 0; k < json_array_size(ev); k++) {
            const json_t *e = json_array_get(ev, k);
            const char *p = json_string_value(json_object_get(e, "parcel_id"));
            const char *type = json_string_value(json_object_get(e, "type"));
            unsigned long long cur =
                strtoull(json_string_value(json_object_get(e, "cursor")), NULL, 10);

            /* Oldest first, no repeats, no gaps. */
            assert_int_equal(cur, last + 1);
            last = cur;
            assert_non_null(json_string_value(json_object_get(e, "at")));
            if (strncmp(p, "LP00000000000", 13) != 0 || atoi(p + 2) < 500)
                continue; /* accepted by another test */
            if (strcmp(type, "duty_due") == 0) {
                assert_non_null(json_object_get(json_object_get(e, "duty"), "value"));
                duty++;
                continue;
            }
            if (strcmp(type, "held") == 0)
                held++;
            else if (strcmp(type, "released") == 0)
                released++;
            else if (strcmp(type, "rejected") == 0)
                rejected++;
            else
                fail_msg("unexpected event type %s", type);
            seen[atoi(p + 2) - 500]++;
        }
        snprintf(cursor, sizeof(cursor), "%s", json_string_value(json_object_get(r.json, "next")));
        assert_int_equal(strtoull(cursor, NULL, 10), last);
        resp_free(&r);
    }
    for (i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    /* Fixed seed and shares: every kind of decision, and duty_due events. */
    assert_true(held > 0);
    assert_true(rejected > 0);
    assert_true(released > 0);
    assert_true(duty > 0);
    req(main_sim.port, "/v1/events?after=zz", TOKEN, NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
}

/* Eight requests with one key at the same time: one acceptance, eight
 * identical answers (the lock spans lookup, processing and storing). */
static void test_concurrent_same_key(void **state)
{
    enum { K = 8 };
    char *body = batch(good_decl("LP00000000000030"), NULL);
    CURLM *m = curl_multi_init();
    CURL *c[K];
    struct tu_body b[K];
    struct curl_slist *h = NULL;
    char url[128];
    int i, running = 1, loops = 0;

    (void)state;
    assert_non_null(m);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/declarations", main_sim.port);
    h = curl_slist_append(h, "Authorization: Bearer " TOKEN);
    h = curl_slist_append(h, "Idempotency-Key: concurrent-1");
    h = curl_slist_append(h, "Expect:");
    for (i = 0; i < K; i++) {
        b[i].data = NULL;
        b[i].len = 0;
        c[i] = curl_easy_init();
        curl_easy_setopt(c[i], CURLOPT_URL, url);
        curl_easy_setopt(c[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c[i], CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(c[i], CURLOPT_WRITEFUNCTION, tu_body_cb);
        curl_easy_setopt(c[i], CURLOPT_WRITEDATA, &b[i]);
        curl_multi_add_handle(m, c[i]);
    }
    while (running > 0) {
        assert_true(++loops < 100000);
        assert_int_equal(curl_multi_perform(m, &running), CURLM_OK);
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (i = 0; i < K; i++) {
        long status = 0;
        curl_easy_getinfo(c[i], CURLINFO_RESPONSE_CODE, &status);
        assert_int_equal(status, 200);
        assert_non_null(b[i].data);
        assert_string_equal(b[i].data, b[0].data);
    }
    assert_int_equal(accepted_count(main_sim.port, "LP00000000000030"), 1);
    for (i = 0; i < K; i++) {
        curl_multi_remove_handle(m, c[i]);
        curl_easy_cleanup(c[i]);
        free(b[i].data);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
    free(body);
}

static void test_manifest_unknown_parcels(void **state)
{
    char *body = batch(good_decl("LP00000000000020"), NULL);
    const char *man = "{\"manifest_id\": \"HRB-20261122-ZAB-001\", \"route\": \"RU-ZAB-RAIL\","
                      " \"transport\": \"rail\", \"bags\": [{\"bag_id\": \"B1\","
                      " \"gross_weight_g\": 18250, \"parcels\": [\"LP00000000000020\","
                      " \"LP00000000000099\"]}]}";
    struct resp r;
    json_t *u;

    (void)state;
    req(main_sim.port, "/v1/declarations", TOKEN, "man-decl-1", body, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    req(main_sim.port, "/v1/manifests", TOKEN, NULL, man, &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    req(main_sim.port, "/v1/manifests", TOKEN, "man-1", man, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "manifest_id")),
                        "HRB-20261122-ZAB-001");
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "received");
    assert_non_null(json_string_value(json_object_get(r.json, "broker_ref")));
    u = json_object_get(r.json, "unknown_parcels");
    assert_int_equal(json_array_size(u), 1);
    assert_string_equal(json_string_value(json_array_get(u, 0)), "LP00000000000099");
    resp_free(&r);
    free(body);
}

/* The rupost profile's API (/1.0/customs/...) on the same broker: its auth
 * scheme, its words in requests and answers, field errors named its way. */
static void test_rupost_api(void **state)
{
    static const char good[] =
        "{\"items\":[{\"barcode\":\"%s\",\"sender\":{\"name\":\"Harbin Trade\","
        "\"address\":\"No. 18\",\"place\":\"Harbin\",\"index\":\"150000\",\"country-code\":156},"
        "\"addressee\":{\"name\":\"Иванов Иван\",\"address\":\"ул. Ленина, 1\",\"place\":"
        "\"Новосибирск\",\"index\":\"630099\",\"country-code\":643,\"tel\":\"+79131234567\"},"
        "\"mass\":950,\"declared-value\":4500,\"customs-declaration\":{\"entries-type\":"
        "\"SALE_OF_GOODS\",\"currency\":\"CNY\",\"customs-entries\":[{\"description\":"
        "\"Кроссовки\",\"amount\":1,\"tnved-code\":\"%s\",\"value\":4500,\"weight\":"
        "800,\"country-code\":%d}]}}]}";
    char body[2048];
    const char *man = "{\"batch-name\":\"HRB-20261207-ZAB-009\",\"route\":\"RU-ZAB-RAIL\","
                      "\"transport-type\":\"RAIL\",\"bags\":[{\"bag-barcode\":\"B9\",\"mass\":"
                      "900,\"barcodes\":[\"LP00000000000031\",\"LP00000000000098\"]}]}";
    struct resp r;
    json_t *o, *errs;
    char bearer[128];
    size_t i;
    int found = 0;

    (void)state;
    snprintf(body, sizeof(body), good, "LP00000000000031", "6404110000", 156);
    /* v1's scheme is not this API's */
    snprintf(bearer, sizeof(bearer), "Bearer %s", TOKEN);
    req(main_sim.port, "/1.0/customs/declarations", bearer, "rp-1", body, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(json_string_value(json_object_get(r.json, "code")), "unauthorized");
    resp_free(&r);
    req(main_sim.port, "/1.0/customs/declarations", TOKEN, NULL, body, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(json_string_value(json_object_get(r.json, "code")),
                        "missing_idempotency_key");
    assert_non_null(json_string_value(json_object_get(r.json, "desc")));
    resp_free(&r);
    req(main_sim.port, "/1.0/customs/declarations", TOKEN, "rp-1", body, &r);
    assert_int_equal(r.status, 200);
    o = json_array_get(json_object_get(r.json, "orders"), 0);
    assert_string_equal(json_string_value(json_object_get(o, "barcode")), "LP00000000000031");
    assert_string_equal(json_string_value(json_object_get(o, "result")), "ACCEPTED");
    assert_non_null(json_string_value(json_object_get(o, "order-id")));
    resp_free(&r);
    assert_int_equal(accepted_count(main_sim.port, "LP00000000000031"), 1);
    /* a 6-digit code and a country OKSM does not have: refused, named its way */
    snprintf(body, sizeof(body), good, "LP00000000000032", "640411", 999);
    req(main_sim.port, "/1.0/customs/declarations", TOKEN, "rp-2", body, &r);
    assert_int_equal(r.status, 200);
    o = json_array_get(json_object_get(r.json, "orders"), 0);
    assert_string_equal(json_string_value(json_object_get(o, "result")), "REJECTED");
    errs = json_object_get(o, "errors");
    for (i = 0; i < json_array_size(errs); i++) {
        const char *f = json_string_value(json_object_get(json_array_get(errs, i), "field"));
        found |= strcmp(f, "customs-declaration.customs-entries[0].tnved-code") == 0 ? 1 : 0;
        found |= strcmp(f, "customs-declaration.customs-entries[0].country-code") == 0 ? 2 : 0;
    }
    assert_int_equal(found, 3);
    resp_free(&r);
    /* its batches (manifests) and its feed */
    req(main_sim.port, "/1.0/customs/batches", TOKEN, "rp-man-1", man, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "batch-name")),
                        "HRB-20261207-ZAB-009");
    assert_non_null(json_string_value(json_object_get(r.json, "batch-id")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r.json, "unknown-barcodes"), 0)),
        "LP00000000000098");
    resp_free(&r);
    req(main_sim.port, "/1.0/customs/events?limit=1000", TOKEN, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(json_object_get(r.json, "next"));
    o = json_array_get(json_object_get(r.json, "events"), 0);
    if (o != NULL) {
        assert_non_null(json_string_value(json_object_get(o, "event-id")));
        assert_non_null(json_string_value(json_object_get(o, "operation")));
    }
    resp_free(&r);
    req(main_sim.port, "/1.0/customs/nothing", TOKEN, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

/* The token never reaches the log; the record file lists every acceptance. */
static void test_log_and_record(void **state)
{
    FILE *f;
    char line[1024];
    int lines = 0;
    struct resp r;
    long long count;

    (void)state;
    req(main_sim.port, "/admin/accepted", NULL, NULL, NULL, &r);
    count = json_integer_value(json_object_get(r.json, "count"));
    assert_true(count > 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "duplicates")), 0);
    resp_free(&r);
    f = fopen(record_path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(json_string_value(json_object_get(j, "parcel_id")));
        assert_non_null(json_string_value(json_object_get(j, "key")));
        json_decref(j);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, count);
    /* Read what the emulator logged so far. */
    proc_wait_line(&main_sim.p, "no-such-line", 200, line, sizeof(line));
    assert_null(strstr(main_sim.p.log, TOKEN));
}

/* Starts an emulator with one fault flag, sends up to 60 requests. */
static void test_fault_5xx_and_429(void **state)
{
    const char *f5[] = {"--seed", "7", "--fail-5xx", "0.5", "--log-level", "warn", NULL};
    const char *f4[] = {"--seed", "7", "--rate-limit", "0.5", "--retry-after", "3",
                        "--log-level", "warn", NULL};
    struct tb_sim s;
    struct resp r;
    int i, got = 0, ok = 0;

    (void)state;
    sim_start(&s, f5);
    for (i = 0; i < 60 && !(got && ok); i++) {
        req(s.port, "/v1/events", TOKEN, NULL, NULL, &r);
        if (r.status >= 500)
            got = 1;
        else if (r.status == 200)
            ok = 1;
        else
            fail_msg("unexpected status %ld", r.status);
        resp_free(&r);
    }
    assert_true(got && ok);
    assert_true(stat_fault(s.port, "fail_5xx") > 0);
    tb_sim_stop(&s);

    got = 0;
    sim_start(&s, f4);
    for (i = 0; i < 60 && !got; i++) {
        req(s.port, "/v1/events", TOKEN, NULL, NULL, &r);
        if (r.status == 429) {
            got = 1;
            assert_string_equal(r.retry_after, " 3\r\n");
            assert_string_equal(err_code(&r), "rate_limited");
        }
        resp_free(&r);
    }
    assert_true(got);
    tb_sim_stop(&s);
}

static void test_fault_reset_and_malformed(void **state)
{
    const char *fr[] = {"--seed", "7", "--reset", "0.5", "--log-level", "warn", NULL};
    const char *fm[] = {"--seed", "7", "--malformed", "0.5", "--log-level", "warn", NULL};
    struct tb_sim s;
    struct resp r;
    int i, got = 0;

    (void)state;
    sim_start(&s, fr);
    for (i = 0; i < 60 && !got; i++) {
        req(s.port, "/v1/events", TOKEN, NULL, NULL, &r);
        if (r.rc != CURLE_OK) {
            got = 1;
            assert_int_equal(r.status, 0);
        } else {
            assert_int_equal(r.status, 200);
        }
        resp_free(&r);
    }
    assert_true(got);
    assert_true(stat_fault(s.port, "reset") > 0);
    tb_sim_stop(&s);

    got = 0;
    sim_start(&s, fm);
    for (i = 0; i < 60 && !got; i++) {
        req(s.port, "/v1/events", TOKEN, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        if (r.json == NULL)
            got = 1;
        resp_free(&r);
    }
    assert_true(got);
    tb_sim_stop(&s);
}

/* The answer is lost after the broker processed the request (--reset-after,
 * --malformed): retrying with the same key gets the stored answer and the
 * declaration is accepted exactly once. */
static void test_lost_answers_exactly_once(void **state)
{
    const char *fr[] = {"--seed", "11", "--reset-after", "0.6", "--malformed", "0.6",
                        "--log-level", "warn", NULL};
    char *body = batch(good_decl("LP00000000000777"), NULL);
    struct tb_sim s;
    struct resp r;
    int i, lost = 0, done = 0;

    (void)state;
    sim_start(&s, fr);
    for (i = 0; i < 60 && !done; i++) {
        req(s.port, "/v1/declarations", TOKEN, "lost-1", body, &r);
        if (r.rc == CURLE_OK && r.status == 200 && r.json != NULL) {
            done = 1;
            assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(r.json, "results"), 0),
                                    "status")),
                                "accepted");
        } else {
            lost++;
        }
        resp_free(&r);
    }
    assert_true(done);
    assert_true(lost > 0);
    assert_true(stat_fault(s.port, "reset_after") + stat_fault(s.port, "malformed") > 0);
    assert_int_equal(accepted_count(s.port, "LP00000000000777"), 1);
    tb_sim_stop(&s);
    free(body);
}

/* --answer-status: every /v1 request answered with that status before auth
 * and processing, nothing stored: a 3xx points to the same path over https,
 * other statuses carry the broker's error body or, with
 * --answer-status-text, an HTML page. */
static void test_fault_answer_status(void **state)
{
    const char *f302[] = {"--answer-status", "302", "--log-level", "warn", NULL};
    const char *f404[] = {"--answer-status", "404", "--answer-status-text", "--log-level", "warn",
                          NULL};
    char *body = batch(good_decl("LP00000000000300"), NULL), want[128];
    struct tb_sim s;
    struct resp r;

    (void)state;
    sim_start(&s, f302);
    req(s.port, "/v1/declarations", TOKEN, "status-1", body, &r);
    assert_int_equal(r.status, 302);
    snprintf(want, sizeof(want), " https://127.0.0.1:%d/v1/declarations\r\n", s.port);
    assert_string_equal(r.location, want);
    assert_string_equal(err_code(&r), "injected_status");
    resp_free(&r);
    assert_int_equal(accepted_count(s.port, "LP00000000000300"), 0);
    assert_int_equal(stat_fault(s.port, "answer_status"), 1);
    tb_sim_stop(&s);

    sim_start(&s, f404);
    req(s.port, "/v1/events", NULL, NULL, NULL, &r); /* no token: still the injected answer */
    assert_int_equal(r.status, 404);
    assert_null(r.json);
    assert_non_null(strstr(r.text, "<h1>404</h1>"));
    resp_free(&r);
    tb_sim_stop(&s);
    free(body);
}

/* --max-body: a larger body is 413 too_large, not processed and not stored
 * (the same key then goes with a smaller body). */
static void test_fault_max_body(void **state)
{
    const char *fm[] = {"--max-body", "2000", "--log-level", "warn", NULL};
    char *one = batch(good_decl("LP00000000000310"), NULL);
    char *four = batch(good_decl("LP00000000000311"), good_decl("LP00000000000312"),
                       good_decl("LP00000000000313"), good_decl("LP00000000000314"), NULL);
    struct tb_sim s;
    struct resp r;

    (void)state;
    assert_true(strlen(one) < 2000 && strlen(four) > 2000);
    sim_start(&s, fm);
    req(s.port, "/v1/declarations", TOKEN, "max-body-1", four, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(err_code(&r), "too_large");
    resp_free(&r);
    assert_int_equal(accepted_count(s.port, "LP00000000000311"), 0);
    req(s.port, "/v1/declarations", TOKEN, "max-body-1", one, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(accepted_count(s.port, "LP00000000000310"), 1);
    tb_sim_stop(&s);
    free(one);
    free(four);
}

static const char *result_id(const struct resp *r, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(r->json, "results"), i), "parcel_id"));
}

/* --swap-results and --wrong-ids change the stored answer on its way out:
 * results in reverse order (replayed the same way, each parcel accepted
 * once); the last result naming the first's parcel, or a parcel never
 * declared, and a manifest's answer another manifest's id. */
static void test_fault_swap_and_wrong_ids(void **state)
{
    const char *fs[] = {"--swap-results", "1", "--log-level", "warn", NULL};
    const char *fw[] = {"--wrong-ids", "1", "--log-level", "warn", NULL};
    const char *man = "{\"manifest_id\": \"HRB-20261122-ZAB-009\", \"bags\": [{\"bag_id\":"
                      " \"B1\", \"parcels\": [\"LP00000000000320\"]}]}";
    char *three = batch(good_decl("LP00000000000320"), good_decl("LP00000000000321"),
                        good_decl("LP00000000000322"), NULL);
    char *one = batch(good_decl("LP00000000000323"), NULL);
    struct tb_sim s;
    struct resp r;
    int k;

    (void)state;
    sim_start(&s, fs);
    for (k = 0; k < 2; k++) { /* sent, then replayed under its key */
        req(s.port, "/v1/declarations", TOKEN, "swap-1", three, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(result_id(&r, 0), "LP00000000000322");
        assert_string_equal(result_id(&r, 1), "LP00000000000321");
        assert_string_equal(result_id(&r, 2), "LP00000000000320");
        resp_free(&r);
    }
    assert_int_equal(accepted_count(s.port, "LP00000000000320"), 1);
    assert_int_equal(stat_fault(s.port, "swap_results"), 2);
    tb_sim_stop(&s);

    sim_start(&s, fw);
    req(s.port, "/v1/declarations", TOKEN, "wrong-1", three, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(result_id(&r, 0), "LP00000000000320");
    assert_string_equal(result_id(&r, 1), "LP00000000000321");
    assert_string_equal(result_id(&r, 2), "LP00000000000320");
    resp_free(&r);
    req(s.port, "/v1/declarations", TOKEN, "wrong-2", one, &r);
    assert_string_equal(result_id(&r, 0), "RR000000000CN");
    resp_free(&r);
    assert_int_equal(accepted_count(s.port, "LP00000000000323"), 1);
    req(s.port, "/v1/manifests", TOKEN, "wrong-3", man, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "manifest_id")),
                        "WRONG-HRB-20261122-ZAB-009");
    resp_free(&r);
    req(s.port, "/v1/events", TOKEN, NULL, NULL, &r); /* the feed is left alone */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(stat_fault(s.port, "wrong_ids"), 3);
    tb_sim_stop(&s);
    free(three);
    free(one);
}

/* --oversize: a 200 followed by 8 MiB of blanks, chunked: still JSON, just
 * far too long. */
static void test_fault_oversize(void **state)
{
    const char *fo[] = {"--oversize", "1", "--log-level", "warn", NULL};
    struct tb_sim s;
    struct resp r;

    (void)state;
    sim_start(&s, fo);
    req(s.port, "/v1/events", TOKEN, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.chunked);
    assert_true(r.len > 8u * 1024 * 1024);
    assert_non_null(r.json);
    assert_true(json_is_array(json_object_get(r.json, "events")));
    resp_free(&r);
    assert_int_equal(stat_fault(s.port, "oversize"), 1);
    tb_sim_stop(&s);
}

/* Latency: the answer cannot come before the configured delay (a lower
 * bound only, never an upper one). */
static void test_fault_latency(void **state)
{
    const char *fl[] = {"--latency-ms", "150", "--log-level", "warn", NULL};
    struct timespec t0, t1;
    struct tb_sim s;
    struct resp r;
    long long ms;

    (void)state;
    sim_start(&s, fl);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    req(s.port, "/v1/events", TOKEN, NULL, NULL, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 150);
    tb_sim_stop(&s);
}

/* With --state, a restarted emulator keeps stored responses and acceptances. */
static void test_state_survives_restart(void **state)
{
    char state_path[128];
    const char *fs[] = {"--state", state_path, "--log-level", "warn", NULL};
    char *body = batch(good_decl("LP00000000000888"), NULL);
    struct tb_sim s;
    struct resp a, b, c;

    (void)state;
    snprintf(state_path, sizeof(state_path), "%s/state.jsonl", dir);
    sim_start(&s, fs);
    req(s.port, "/v1/declarations", TOKEN, "state-1", body, &a);
    assert_int_equal(a.status, 200);
    tb_sim_stop(&s);
    sim_start(&s, fs);
    req(s.port, "/v1/declarations", TOKEN, "state-1", body, &b);
    assert_int_equal(b.status, 200);
    assert_string_equal(a.text, b.text);
    assert_int_equal(accepted_count(s.port, "LP00000000000888"), 1);
    req(s.port, "/v1/declarations", TOKEN, "state-1", "{\"declarations\": []}", &c);
    assert_int_equal(c.status, 409);
    tb_sim_stop(&s);
    resp_free(&a);
    resp_free(&b);
    resp_free(&c);
    free(body);
}

static int group_setup(void **state)
{
    const char *extra[] = {"--seed", "42", "--held-share", "0.4", "--duty-share", "0.5",
                           "--reject-share", "0.2",
                           "--decision-delay-ms", "0", "--record", record_path, NULL};

    (void)state;
    if (tb_token_dir("test-brokersim", TOKEN, dir, sizeof(dir), token_path, sizeof(token_path)) < 0)
        return -1;
    snprintf(record_path, sizeof(record_path), "%s/accepted.jsonl", dir);
    sim_start(&main_sim, extra);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    if (main_sim.p.pid > 0)
        tb_sim_stop(&main_sim);
    curl_global_cleanup(); /* tb_token_dir()'s; the directory goes whole */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_idempotency_key_required),
        cmocka_unit_test(test_accept_and_reject),
        cmocka_unit_test(test_same_key_replays_other_body_conflicts),
        cmocka_unit_test(test_batch_limit),
        cmocka_unit_test(test_malformed_and_invalid_body),
        cmocka_unit_test(test_events_feed),
        cmocka_unit_test(test_concurrent_same_key),
        cmocka_unit_test(test_manifest_unknown_parcels),
        cmocka_unit_test(test_log_and_record),
        cmocka_unit_test(test_fault_5xx_and_429),
        cmocka_unit_test(test_fault_reset_and_malformed),
        cmocka_unit_test(test_lost_answers_exactly_once),
        cmocka_unit_test(test_fault_answer_status),
        cmocka_unit_test(test_fault_max_body),
        cmocka_unit_test(test_fault_swap_and_wrong_ids),
        cmocka_unit_test(test_fault_oversize),
        cmocka_unit_test(test_fault_latency),
        cmocka_unit_test(test_state_survives_restart),
        cmocka_unit_test(test_rupost_api),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test-customs-e2e.c - customs from pre-advice to the sort decision, on a
 * real PostgreSQL (the "pg" fixture) with wcs-brokersim and
 * wcs-customs-worker as child processes, the emulator failing about a third
 * of ALL requests (submission and decision feed alike: 5xx, 429, resets,
 * lost answers, truncated answers):
 *   - pre-advice imported (declarations built and queued in the import's
 *     transaction), one row invalid;
 *   - one worker, configured by wcsd's YAML, submits and reads the feed;
 *   - every valid declaration is accepted exactly once by the broker, the
 *     invalid one is never sent and its parcel stays blocked;
 *   - every event of the broker's feed is stored once, the cursor is its
 *     last, and each parcel carries its decision (held or released);
 *   - with a second broker of the rupost profile in the config (EMS
 *     parcels by service, those the plan sends by rail by route), the
 *     import gives each declaration its broker and two workers, one per
 *     broker and profile, send each broker its own, exactly once, each to
 *     its own emulator (its own API, its own decision feed numbered from
 *     1 like the other's) under the same faults, and every parcel gets
 *     the decision of its own broker.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "scanners/scanners.h"
#include "tests/common/proc.h"
#include "tests/common/testbroker.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "wcs/store/store.h"

#define TOKEN "e2e-token-5q7"
#define N_PARCELS 60

static char dir[64], token_path[128];
/* The children (tests/common/proc.c kills any a failed assertion leaves). */
static struct tb_sim sim, sim2;
static struct proc worker;

static void s10(int n, char out[16])
{
    char serial[9];

    snprintf(serial, sizeof(serial), "%08d", 31000000 + n);
    snprintf(out, 16, "RR%s%dCN", serial, scan_s10_check_digit(serial));
}

/* GET url (with the token); retried while the emulator's faults answer
 * anything but a 200 with JSON (bounded). */
static json_t *get_json(const char *url)
{
    struct curl_slist *hdr = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
    json_t *j = NULL;
    int k;

    for (k = 0; k < 200 && j == NULL; k++) {
        CURL *h = curl_easy_init();
        struct tu_body b = {NULL, 0};
        long status = 0;

        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tu_body_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
            j = json_loads(b.data != NULL ? b.data : "", 0, NULL);
        curl_easy_cleanup(h);
        free(b.data);
        if (j == NULL)
            usleep(50000);
    }
    curl_slist_free_all(hdr);
    assert_non_null(j);
    return j;
}

/* The pre-advice CSV's header line, for the rows below to follow. */
static void preadvice_header(FILE *f)
{
    assert_non_null(f);
    fputs("code,service,country,postal_code,recipient_name,city,address,region,phone,weight_g,"
          "declared_value,currency,item_description,hs_code,sender_name,sender_address,"
          "sender_city,sender_postal_code,sender_country,sender_phone\n", f);
}

/* Pre-advice CSV of N_PARCELS complete rows; row `bad` has a vague item. */
static void write_preadvice(const char *path, int bad)
{
    FILE *f = fopen(path, "w");
    char code[16];
    int i;

    preadvice_header(f);
    for (i = 0; i < N_PARCELS; i++) {
        s10(i, code);
        fprintf(f,
                "%s,STANDARD,RU,6300%02d,Иванова Анна Петровна,Новосибирск,\"ул. Ленина, д. %d\","
                "Новосибирская обл.,+7913123%04d,%d,%d,CNY,%s,640411,Harbin Beiguo Trade Co.,"
                "No. 18 Hongqi Street,Harbin,150010,CN,+8645186601234\n",
                code, i % 100, i + 1, i, 300 + i, 2000 + 10 * i,
                i == bad ? "Подарок" : "Кроссовки беговые");
    }
    fclose(f);
}

static void decisions_reach_parcels_under_faults(void **state)
{
    static const char *const sim_extra[] = {
        "--seed", "11", "--held-share", "0.4", "--decision-delay-ms", "20",
        "--fail-5xx", "0.12", "--rate-limit", "0.04", "--retry-after", "1", "--reset", "0.05",
        "--reset-after", "0.06", "--malformed", "0.06", "--log-level", "warn", NULL};
    char ci[512], csv[160], url[128], sql[512], bad_code[16];
    json_t *acc, *feed, *evs;
    PGconn *c;
    struct err e = {0};
    size_t i, held = 0, released = 0;
    int k, done = 0;

    (void)state;
    testdb_create("cust_e2e", ci, sizeof(ci));
    assert_int_equal(wcs_db_connect(ci, &c, &e), 0);
    assert_int_equal(wcs_db_migrate(c, NULL, &e), 0);

    snprintf(csv, sizeof(csv), "%s/preadvice.csv", dir);
    write_preadvice(csv, 7);
    s10(7, bad_code);
    tu_wcsctl(ci, 1, "import", csv, NULL); /* 1: the one invalid declaration */
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox"), N_PARCELS - 1);

    tb_sim_start(&sim, BROKERSIM_BIN, token_path, sim_extra);
    snprintf(url, sizeof(url), "%s", sim.url);
    {
        /* The worker takes its settings from wcsd's YAML (the one config
         * loader), one flag on top. */
        char yaml[160], text[2048];
        const char *argv[] = {WORKER_BIN, "--config", yaml, "--events-limit", "9", NULL};

        snprintf(yaml, sizeof(yaml), "%s/wcsd.yaml", dir);
        snprintf(text, sizeof(text),
                 "database:\n  conninfo: \"%s\"\n"
                 "customs:\n  broker_url: %s\n  token_file: %s\n  insecure_http: true\n"
                 "  broker_name: e2e\n  events_ms: 50\n  batch: 7\n",
                 ci, url, token_path);
        tu_write_text(yaml, text);
        proc_start(argv, &worker);
    }
    /* Bounded: every declared parcel decided (the invalid one stays blocked)
     * and every submitted batch's answer stored: a batch whose answer the
     * emulator "lost" is accepted (and decided) at the broker while its
     * retry, which stores the replayed answer, is still to come. */
    for (k = 0; k < 1800 && !done; k++) {
        done = tu_db_count(ci, "SELECT count(*) FROM parcels WHERE customs_status IN"
                               " ('held', 'released')") == N_PARCELS - 1 &&
               tu_db_count(ci, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL") == 0;
        if (!done)
            usleep(100000);
    }
    if (!done)
        fail_msg("not every parcel decided and stored; worker log:\n%s",
                 worker.log ? worker.log : "");

    /* Exactly once at the broker; the invalid one never sent. */
    snprintf(sql, sizeof(sql), "%s/admin/accepted", url);
    acc = get_json(sql);
    assert_int_equal(json_integer_value(json_object_get(acc, "count")), N_PARCELS - 1);
    assert_int_equal(json_array_size(json_object_get(acc, "duplicates")), 0);
    for (i = 0; i < json_array_size(json_object_get(acc, "accepted")); i++)
        assert_string_not_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(acc, "accepted"), i),
                                    "parcel_id")),
                                bad_code);
    json_decref(acc);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE status = 'accepted'"),
                     N_PARCELS - 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM parcels WHERE code = '%s'"
                                     " AND customs_status = 'blocked'", bad_code), 1);

    /* The whole feed stored once, the cursor at its end (bounded wait: the
     * last page may still be on its way). */
    snprintf(sql, sizeof(sql), "%s/v1/events?limit=1000", url);
    feed = get_json(sql);
    evs = json_object_get(feed, "events");
    assert_true(json_array_size(evs) >= (size_t)(N_PARCELS - 1));
    for (k = 0, done = 0; k < 600 && !done; k++) {
        done = tu_db_count(ci, "SELECT count(*) FROM customs_events") ==
                   (long long)json_array_size(evs) &&
               tu_db_count(ci, "SELECT count(*) FROM customs_feed_cursor WHERE broker = 'e2e'"
                               " AND cursor = '%s'",
                           json_string_value(json_object_get(feed, "next"))) == 1;
        if (!done)
            usleep(100000);
    }
    assert_true(done);
    for (i = 0; i < json_array_size(evs); i++) {
        json_t *x = json_array_get(evs, i);
        const char *type = json_string_value(json_object_get(x, "type"));
        const char *pid = json_string_value(json_object_get(x, "parcel_id"));

        assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_events WHERE cursor = '%s'"
                                         " AND parcel_id = '%s' AND type = '%s'",
                                     json_string_value(json_object_get(x, "cursor")), pid, type),
                         1);
        if (strcmp(type, "held") != 0 && strcmp(type, "released") != 0)
            continue;
        held += strcmp(type, "held") == 0;
        released += strcmp(type, "released") == 0;
        assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM parcels WHERE code = '%s'"
                                         " AND customs_status = '%s'", pid, type), 1);
    }
    assert_int_equal(held + released, N_PARCELS - 1);
    assert_true(held > 0 && released > 0);
    json_decref(feed);

    assert_int_equal(proc_stop(&worker, SIGTERM, 20000), 0);
    assert_null(strstr(worker.log, "stored already"));
    assert_null(strstr(worker.log, TOKEN));
    free(worker.log);
    worker.log = NULL;
    /* The emulator did fail requests (which ones depends on timing). */
    snprintf(sql, sizeof(sql), "%s/admin/stats", url);
    {
        json_t *st = get_json(sql), *f = json_object_get(st, "faults"), *v;
        const char *name;
        long long faults = 0;

        json_object_foreach(f, name, v)
            faults += json_integer_value(v);
        print_message("emulator: %lld requests, %lld faults injected\n",
                      (long long)json_integer_value(json_object_get(st, "requests")), faults);
        assert_true(faults > 0);
        json_decref(st);
    }
    tb_sim_stop(&sim);
    PQfinish(c);
    remove(csv);
    snprintf(csv, sizeof(csv), "%s/wcsd.yaml", dir);
    remove(csv);
}

/* Pre-advice for two brokers: row i is EMS to Novosibirsk (i % 3 == 0: the
 * rupost broker by service), ECONOMY to Moscow (1: by rail in the sample
 * plan, the rupost broker by route) or STANDARD to Novosibirsk (2: by air,
 * the default broker). */
static void write_preadvice_two(const char *path, int n)
{
    static const char *const service[] = {"EMS", "ECONOMY", "STANDARD"};
    static const char *const postal[] = {"630090", "101000", "630091"};
    FILE *f = fopen(path, "w");
    char code[16];
    int i;

    preadvice_header(f);
    for (i = 0; i < n; i++) {
        s10(500 + i, code);
        fprintf(f,
                "%s,%s,RU,%s,Петров Пётр Петрович,Город,\"ул. Мира, д. %d\",Область,"
                "+7913765%04d,%d,%d,CNY,Кроссовки беговые,640411,Harbin Beiguo Trade Co.,"
                "No. 18 Hongqi Street,Harbin,150010,CN,+8645186601234\n",
                code, service[i % 3], postal[i % 3], i + 1, i, 400 + i, 3000 + 10 * i);
    }
    fclose(f);
}

static void two_brokers_two_profiles_exactly_once(void **state)
{
    static const char *const sim_extra[] = {
        "--seed", "23", "--held-share", "0.5", "--decision-delay-ms", "20",
        "--fail-5xx", "0.1", "--rate-limit", "0.04", "--retry-after", "1", "--reset", "0.05",
        "--reset-after", "0.06", "--malformed", "0.06", "--log-level", "info", NULL};
    enum { N = 45 };
    char ci[512], csv[160], yaml[160], text[2048], sql[256], plan[512];
    const char *argv_default[] = {WORKER_BIN, "--config", yaml, "--events-limit", "7", NULL};
    const char *argv_rupost[] = {WORKER_BIN, "--config", yaml, "--broker-name", "rupost",
                                 "--events-limit", "7", NULL};
    struct proc rupost;
    json_t *acc;
    struct tb_sim *each[2] = {&sim, &sim2};
    const long long want[2] = {N / 3, 2 * N / 3};
    PGconn *c;
    struct err e = {0};
    int k, done = 0;

    (void)state;
    testdb_create("cust_e2e_two", ci, sizeof(ci));
    assert_int_equal(wcs_db_connect(ci, &c, &e), 0);
    assert_int_equal(wcs_db_migrate(c, NULL, &e), 0);
    testdb_source_path("data/sortplan-sample.csv", plan, sizeof(plan));
    tu_wcsctl(ci, 0, "sortplan", "load", plan, "--activate", NULL);

    tb_sim_start(&sim, BROKERSIM_BIN, token_path, sim_extra);
    tb_sim_start(&sim2, BROKERSIM_BIN, token_path, sim_extra);
    snprintf(yaml, sizeof(yaml), "%s/wcsd.yaml", dir);
    snprintf(text, sizeof(text),
             "database:\n  conninfo: \"%s\"\n"
             "customs:\n  broker_url: %s\n  token_file: %s\n  insecure_http: true\n"
             "  events_ms: 50\n  batch: 4\n"
             "  brokers:\n"
             "    - name: rupost\n      profile: rupost\n      broker_url: %s\n"
             "      token_file: %s\n      insecure_http: true\n"
             "      services: [EMS]\n      routes: [RU-ZAB-RAIL]\n",
             ci, sim.url, token_path, sim2.url, token_path);
    tu_write_text(yaml, text);
    snprintf(csv, sizeof(csv), "%s/preadvice-two.csv", dir);
    write_preadvice_two(csv, N);
    {
        const char *imp[] = {"--config", yaml, "import", csv, NULL};
        struct proc_result r;
        char bin[512];
        const char *argv[8] = {bin};

        testdb_binary_path("bin/wcsctl", bin, sizeof(bin));
        for (k = 0; imp[k] != NULL; k++)
            argv[k + 1] = imp[k];
        proc_run(argv, NULL, 60, &r);
        if (r.status != 0)
            fail_msg("wcsctl import: %d\n%s%s", r.status, r.out, r.err);
        proc_result_free(&r);
    }
    /* each declaration has its broker: two thirds rupost (service, route) */
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE broker = 'rupost'"),
                     2 * N / 3);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox WHERE broker ="
                                     " 'default'"),
                     N / 3);

    proc_start(argv_default, &worker);
    proc_start(argv_rupost, &rupost);
    for (k = 0; k < 1800 && !done; k++) {
        done = tu_db_count(ci, "SELECT count(*) FROM parcels WHERE customs_status IN"
                               " ('held', 'released')") == N &&
               tu_db_count(ci, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL") == 0;
        if (!done)
            usleep(100000);
    }
    if (!done)
        fail_msg("not every parcel decided; default worker:\n%s\nrupost worker:\n%s",
                 worker.log ? worker.log : "", rupost.log ? rupost.log : "");
    /* exactly once at each broker, its own parcels only */
    for (k = 0; k < 2; k++) {
        snprintf(sql, sizeof(sql), "%s/admin/accepted", each[k]->url);
        acc = get_json(sql);
        assert_int_equal(json_integer_value(json_object_get(acc, "count")), want[k]);
        assert_int_equal(json_array_size(json_object_get(acc, "duplicates")), 0);
        json_decref(acc);
    }
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE status = 'accepted'"
                                     " AND broker_ref IS NOT NULL"),
                     N);
    /* both feeds read, each under its broker: the two number their events
     * alike, and every parcel has its own broker's decision */
    for (k = 0, done = 0; k < 300 && !done; k++) {
        done = tu_db_count(ci, "SELECT count(DISTINCT broker) FROM customs_feed_cursor") == 2;
        if (!done)
            usleep(100000);
    }
    assert_true(done);
    assert_true(tu_db_count(ci, "SELECT count(*) FROM customs_events a JOIN customs_events b"
                                " ON a.cursor = b.cursor AND a.broker = 'default'"
                                " AND b.broker = 'rupost'") > 0);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations d JOIN customs_events x"
                                     " ON x.parcel_id = d.parcel_id AND x.broker <> d.broker"),
                     0);
    assert_int_equal(proc_stop(&worker, SIGTERM, 20000), 0);
    assert_int_equal(proc_stop(&rupost, SIGTERM, 20000), 0);
    /* each worker spoke its own profile's API */
    assert_non_null(strstr(rupost.log, "rupost profile: POST /1.0/customs/declarations"));
    assert_null(strstr(worker.log, "/1.0/customs/"));
    assert_null(strstr(rupost.log, TOKEN));
    assert_int_equal(proc_stop(&sim.p, SIGTERM, 20000), 0);
    assert_int_equal(proc_stop(&sim2.p, SIGTERM, 20000), 0);
    assert_null(strstr(sim.p.log, "/1.0/customs/"));
    assert_non_null(strstr(sim.p.log, "POST /v1/declarations -> 200"));
    assert_non_null(strstr(sim2.p.log, "POST /1.0/customs/declarations -> 200"));
    assert_null(strstr(sim2.p.log, "/v1/"));
    for (k = 0; k < 2; k++) {
        free(each[k]->p.log);
        each[k]->p.log = NULL;
    }
    free(worker.log);
    worker.log = NULL;
    free(rupost.log);
    PQfinish(c);
    remove(csv);
    remove(yaml);
}

TB_GROUP_FIXTURE("test-customs-e2e")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decisions_reach_parcels_under_faults),
        cmocka_unit_test(two_brokers_two_profiles_exactly_once),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

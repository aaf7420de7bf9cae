/*
 * test-broker-boundary.c - what wcs-customs-worker believes of the broker's
 * answers (docs/customs.md "Answers", "Alarms"), against wcs-brokersim
 * (child process) with the faults of a broker, a proxy or a wrong URL, on a
 * real PostgreSQL (the "pg" fixture):
 *   - results are matched to declarations by parcel_id: reversed results
 *     are stored each on its own parcel; results naming other parcels (or a
 *     manifest answer for another manifest) are retried, then the batch is
 *     given back unstored with an alarm, cleared once it is stored;
 *   - an answer over the cap (chunked, no length) is a failed attempt;
 *   - a 413 splits the batch into new batches under new keys, down to a
 *     size the broker takes, each declaration accepted once;
 *   - 404 (a wrong URL), a redirect (not followed), a 400 that is not the
 *     broker's, a 413 on one declaration, a 404 on the feed: configuration
 *     faults: the worker exits 3, the declarations stay pending, the batches
 *     go back unchanged, and an alarm shows in `wcsctl customs problems` and
 *     `wcsctl status` until a worker with the right URL gets an answer;
 *     only a 422 with the broker's error body refuses declarations;
 *   - the status classification as data; SIGPIPE does not kill the worker;
 *     a token file others can read is refused.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "customs/outbox.h"
#include "tests/common/proc.h"
#include "tests/common/testbroker.h"
#include "tests/common/testcustoms.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"

#define TOKEN "boundary-token-k42"

static char dir[64];
static char token_path[128];

/* ---- helpers ------------------------------------------------------------ */

static void sim_start(struct tb_sim *s, const char *const extra[])
{
    tb_sim_start(s, BROKERSIM_BIN, token_path, extra);
}

/* Starts the worker on database ci posting to url, with the extra
 * arguments (NULL-terminated, may be NULL). */
static void worker_start(struct proc *p, const char *ci, const char *url,
                         const char *const extra[])
{
    const char *argv[32] = {WORKER_BIN,     "--db",           ci,           "--broker", url,
                            "--token-file", token_path,       "--insecure-http",
                            "--parallel",   "2"};
    size_t n = 10;

    while (extra != NULL && *extra != NULL && n < 31)
        argv[n++] = *extra++;
    argv[n] = NULL;
    proc_start(argv, p);
}

/* Runs the worker (as worker_start()) until a line holding needle, then
 * stops it (SIGTERM, if it has not exited) and asserts its exit status;
 * returns its log (caller frees). */
static char *worker_run(const char *ci, const char *url, const char *const extra[],
                        const char *needle, int want)
{
    char line[1024];
    struct proc p;

    worker_start(&p, ci, url, extra);
    if (proc_wait_line(&p, needle, 120000, line, sizeof(line)) < 0)
        fail_msg("no \"%s\" from the worker:\n%s", needle, p.log ? p.log : "");
    assert_int_equal(proc_stop(&p, SIGTERM, 20000), want);
    return p.log;
}

/* Queues serials 0 .. n-1 (valid declarations). */
static void declare_n(PGconn *c, int n)
{
    char id[32];
    int k;

    for (k = 0; k < n; k++) {
        tc_s10(k, id);
        tc_declare_seed(c, id, NULL);
    }
}

/* Asserts that n declarations are pending, their outbox rows open, claimed
 * once at least (a batch key) and given back (no lease). */
static void assert_pending_given_back(PGconn *c, int n)
{
    assert_int_equal(tc_count(c, "SELECT count(*) FROM declarations WHERE status = 'pending'"), n);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM declarations"), n);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"
                                 " AND batch_key IS NOT NULL AND lease_owner IS NULL"),
                     n);
}

static long long stat_fault(const struct tb_sim *s, const char *name)
{
    json_t *j = tc_admin_json(s, "/admin/stats");
    long long v = json_integer_value(json_object_get(json_object_get(j, "faults"), name));

    json_decref(j);
    return v;
}

static long long open_alarms(PGconn *c, const char *kind)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM customs_alarms WHERE kind = '%s' AND cleared_at IS NULL", kind);
    return tc_count(c, sql);
}

/* ---- the status classification ------------------------------------------ */

static void statuses_classified(void **state)
{
    static const struct {
        long status;
        int broker_error;
        enum cust_http_class want;
    } cases[] = {
        {200, 0, CUST_HTTP_OK},        {0, 0, CUST_HTTP_RETRY},
        {408, 1, CUST_HTTP_RETRY},     {429, 1, CUST_HTTP_RETRY},
        {500, 0, CUST_HTTP_RETRY},     {503, 1, CUST_HTTP_RETRY},
        {401, 1, CUST_HTTP_TOKEN},     {403, 0, CUST_HTTP_TOKEN},
        {400, 1, CUST_HTTP_REFUSED},   {422, 1, CUST_HTTP_REFUSED},
        {400, 0, CUST_HTTP_CONFIG},    {422, 0, CUST_HTTP_CONFIG},
        {413, 1, CUST_HTTP_TOO_LARGE}, {413, 0, CUST_HTTP_TOO_LARGE},
        {404, 1, CUST_HTTP_CONFIG},    {404, 0, CUST_HTTP_CONFIG},
        {405, 1, CUST_HTTP_CONFIG},    {409, 1, CUST_HTTP_CONFIG},
        {410, 0, CUST_HTTP_CONFIG},    {415, 1, CUST_HTTP_CONFIG},
        {301, 0, CUST_HTTP_CONFIG},    {302, 0, CUST_HTTP_CONFIG},
        {307, 0, CUST_HTTP_CONFIG},    {308, 0, CUST_HTTP_CONFIG},
        {201, 0, CUST_HTTP_CONFIG},    {204, 0, CUST_HTTP_CONFIG},
        {100, 0, CUST_HTTP_CONFIG},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (cust_http_classify(cases[i].status, cases[i].broker_error) != cases[i].want)
            fail_msg("HTTP %ld (broker error body %d): class %d, want %d", cases[i].status,
                     cases[i].broker_error,
                     (int)cust_http_classify(cases[i].status, cases[i].broker_error),
                     (int)cases[i].want);
}

/* ---- token file --------------------------------------------------------- */

static void token_file_readable_by_others_refused(void **state)
{
    static const struct {
        mode_t mode;
        int ok;
        const char *who;
    } modes[] = {{0600, 1, NULL},        {0400, 1, NULL},
                 {0640, 0, "its group"}, {0604, 0, "other users"},
                 {0644, 0, "other users"}};
    char path[160], *tok = NULL;
    struct err e = {0};
    struct proc_result r;
    size_t i;

    (void)state;
    snprintf(path, sizeof(path), "%s/mode-token", dir);
    tu_write_text(path, TOKEN "\n");
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_int_equal(chmod(path, modes[i].mode), 0);
        err_clear(&e);
        if (modes[i].ok) {
            assert_int_equal(cust_token_read(path, &tok, &e), 0);
            assert_string_equal(tok, TOKEN);
            free(tok);
            continue;
        }
        assert_int_equal(cust_token_read(path, &tok, &e), ERR_CONFIG);
        assert_null(tok);
        assert_non_null(strstr(e.msg, modes[i].who));
        assert_non_null(strstr(e.msg, "chmod 600"));
        assert_null(strstr(e.msg, TOKEN));
    }
    /* The worker refuses it before anything else, and says why. */
    assert_int_equal(chmod(path, 0644), 0);
    {
        const char *argv[] = {WORKER_BIN, "--db", "dbname=none", "--broker", "http://127.0.0.1:1",
                              "--token-file", path, "--insecure-http", NULL};

        proc_run(argv, NULL, 60, &r);
        assert_int_equal(r.status, 1);
        assert_non_null(strstr(r.err, "is open to other users (mode 0644)"));
        assert_null(strstr(r.err, TOKEN));
        proc_result_free(&r);
    }
    unlink(path);
}

/* ---- answers for the wrong parcels -------------------------------------- */

/* The broker answers in reverse order: each result is stored on the parcel
 * it names (positions would give parcel 0 the rejection of parcel 5 and the
 * others each other's references). */
static void results_matched_by_parcel_id(void **state)
{
    const char *const swap[] = {"--swap-results", "1", "--log-level", "warn", NULL};
    const char *const args[] = {"--batch", "10", "--until-empty", NULL};
    char ci[512], bad[32], sql[256];
    struct tb_sim s;
    char *log;
    PGconn *c = tc_db_fresh("cust_bb_swap", ci, sizeof(ci));

    (void)state;
    declare_n(c, 5);
    tc_s10(5, bad);
    tc_declare_seed(c, bad, "500100732250"); /* check digit wrong: the broker rejects it */
    sim_start(&s, swap);
    log = worker_run(ci, s.url, args, "worker done", 0);
    free(log);
    assert_true(stat_fault(&s, "swap_results") > 0);
    tc_assert_accepted_once(&s, c, 5, 5);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM declarations WHERE parcel_id = '%s' AND status = 'rejected'"
             " AND broker_ref IS NULL AND errors @> '[{\"field\": \"recipient.inn\"}]'",
             bad);
    assert_int_equal(tc_count(c, sql), 1);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"), 0);
    tb_sim_stop(&s);
    PQfinish(c);
}

/* Results naming other parcels (the last one the first's id): retried,
 * then given back unstored with an answer alarm; a worker later getting
 * the right answer stores it and clears the alarm. A manifest answered for
 * another manifest likewise. */
static void wrong_ids_retried_then_alarmed(void **state)
{
    const char *const wrong[] = {"--wrong-ids", "1", "--log-level", "warn", NULL};
    const char *const quiet[] = {"--log-level", "warn", NULL};
    const char *const args[] = {"--batch", "10", "--max-tries", "2", "--until-empty", NULL};
    const char *mid = "HRB-20261122-ZAB-007";
    char ci[512], ci2[512], id[32], body[256], *out;
    struct tb_sim s;
    char *log;
    PGconn *c = tc_db_fresh("cust_bb_wrong", ci, sizeof(ci));
    PGconn *c2 = tc_db_fresh("cust_bb_wrong_manifest", ci2, sizeof(ci2));

    (void)state;
    declare_n(c, 3);
    sim_start(&s, wrong);
    log = worker_run(ci, s.url, args, "given back after 2 tries", 0);
    assert_non_null(strstr(log, "has two results"));
    free(log);
    assert_true(stat_fault(&s, "wrong_ids") >= 2);
    assert_pending_given_back(c, 3);
    assert_int_equal(open_alarms(c, "answer"), 1);
    assert_int_equal(tu_wcsctl_out(ci, &out, "customs", "problems", "--kind", "worker", NULL), 1);
    assert_non_null(strstr(out, "answer: given back after 2 tries"));
    assert_non_null(strstr(out, "batch "));
    free(out);
    tb_sim_stop(&s);

    /* The next worker gets the broker's answer right: stored, alarm gone. */
    sim_start(&s, quiet);
    log = worker_run(ci, s.url, args, "worker done", 0);
    free(log);
    tc_assert_accepted_once(&s, c, 3, 3);
    assert_int_equal(open_alarms(c, "answer"), 0);
    assert_int_equal(tu_wcsctl_out(ci, &out, "customs", "problems", "--kind", "worker", NULL), 0);
    free(out);
    tb_sim_stop(&s);

    /* A manifest answered for another manifest is not stored either. */
    tc_s10(0, id);
    snprintf(body, sizeof(body),
             "{\"manifest_id\":\"%s\",\"bags\":[{\"bag_id\":\"B1\",\"parcels\":[\"%s\"]}]}", mid,
             id);
    tc_queue_manifest(c2, mid, body);
    sim_start(&s, wrong);
    log = worker_run(ci2, s.url, args, "given back after 2 tries", 0);
    assert_non_null(strstr(log, "answer is for manifest WRONG-"));
    free(log);
    assert_int_equal(tc_count(c2, "SELECT count(*) FROM dispatches WHERE status = 'closed'"
                                  " AND manifest_ref IS NULL AND manifest_error IS NULL"),
                     1);
    assert_int_equal(tc_count(c2, "SELECT count(*) FROM customs_alarms WHERE kind = 'answer'"
                                  " AND ref = 'manifest HRB-20261122-ZAB-007'"
                                  " AND cleared_at IS NULL"),
                     1);
    tb_sim_stop(&s);
    PQfinish(c);
    PQfinish(c2);
}

/* An answer far over the cap, chunked (its size unknown until the end): cut
 * off, a failed attempt, never stored. */
static void oversize_answer_is_a_failed_attempt(void **state)
{
    const char *const big[] = {"--oversize", "1", "--log-level", "warn", NULL};
    const char *const args[] = {"--batch", "10", "--max-tries", "2", "--until-empty", NULL};
    char ci[512], want[64];
    struct tb_sim s;
    char *log;
    PGconn *c = tc_db_fresh("cust_bb_oversize", ci, sizeof(ci));

    (void)state;
    declare_n(c, 2);
    sim_start(&s, big);
    log = worker_run(ci, s.url, args, "given back after 2 tries", 0);
    snprintf(want, sizeof(want), "an answer over %u bytes, cut off", CUST_ANSWER_MAX);
    assert_non_null(strstr(log, want));
    free(log);
    assert_true(stat_fault(&s, "oversize") >= 2);
    assert_pending_given_back(c, 2);
    assert_int_equal(open_alarms(c, "answer"), 1);
    tb_sim_stop(&s);
    PQfinish(c);
}

/* ---- 413: split ----------------------------------------------------------- */

/* 20 declarations of about 1 KB in one batch to a broker taking at most
 * 6000 bytes: 20 -> 10 + 10 -> 5 + 5 (+ 5 + 5), under new keys: each
 * accepted once (a key re-sent with other content would be a 409: a
 * configuration fault, exit 3), none invalid. */
static void too_large_batch_split(void **state)
{
    const char *const small[] = {"--max-body", "6000", "--log-level", "warn", NULL};
    const char *const args[] = {"--batch", "20", "--until-empty", NULL};
    char ci[512];
    struct tb_sim s;
    char *log;
    PGconn *c = tc_db_fresh("cust_bb_split", ci, sizeof(ci));

    (void)state;
    declare_n(c, 20);
    sim_start(&s, small);
    log = worker_run(ci, s.url, args, "worker done", 0);
    assert_non_null(strstr(log, "split into batches of 10 and 10 under new keys"));
    assert_non_null(strstr(log, "split into batches of 5 and 5 under new keys"));
    assert_non_null(strstr(log, "at most 5 declarations from now on"));
    free(log);
    tc_assert_accepted_once(&s, c, 20, 20);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM declarations WHERE status <> 'accepted'"), 0);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"), 0);
    tb_sim_stop(&s);
    PQfinish(c);
}

/* ---- configuration faults ------------------------------------------------- */

/* Runs a worker that must stop on a configuration fault (exit 3) whose log
 * names want, with the 3 declarations of c left pending and the alarm
 * shown to operators. */
static void config_fault_run(PGconn *c, const char *ci, const char *url, const char *want)
{
    const char *const args[] = {"--batch", "10", "--until-empty", NULL};
    char *out, *log;

    log = worker_run(ci, url, args, "configuration fault", 3);
    if (strstr(log, want) == NULL)
        fail_msg("no \"%s\" in the worker's log:\n%s", want, log);
    assert_non_null(strstr(log, "given back unchanged"));
    assert_null(strstr(log, TOKEN));
    free(log);
    assert_pending_given_back(c, 3);
    assert_int_equal(open_alarms(c, "config"), 1);
    assert_int_equal(tu_wcsctl_out(ci, &out, "customs", "problems", "--kind", "worker", NULL), 1);
    assert_non_null(strstr(out, "POST /v1/declarations"));
    assert_non_null(strstr(out, want));
    free(out);
    assert_int_equal(tu_wcsctl_out(ci, &out, "--http", "http://127.0.0.1:1", "status", NULL), 1);
    assert_non_null(strstr(out, "customs worker: ALARM"));
    assert_non_null(strstr(out, want));
    free(out);
}

static void config_faults_keep_declarations_pending(void **state)
{
    const char *const quiet[] = {"--log-level", "warn", NULL};
    const char *const redirect[] = {"--answer-status", "302", "--log-level", "warn", NULL};
    const char *const proxy[] = {"--answer-status", "400", "--answer-status-text", "--log-level",
                                 "warn", NULL};
    const char *const tiny[] = {"--max-body", "500", "--log-level", "warn", NULL};
    const char *const feed[] = {"--events", "50", NULL};
    char ci[512], ci2[512], url[128], want[160], *out;
    struct tb_sim s;
    char *log;
    json_t *acc;
    PGconn *c = tc_db_fresh("cust_bb_config", ci, sizeof(ci));
    PGconn *c2 = tc_db_fresh("cust_bb_config_feed", ci2, sizeof(ci2));

    (void)state;
    declare_n(c, 3);
    sim_start(&s, quiet);

    /* A typo in the URL's path: the broker's own 404. */
    snprintf(url, sizeof(url), "%s/typo", s.url);
    config_fault_run(c, ci, url, "answered HTTP 404 (not_found: no such resource)");
    acc = tc_admin_json(&s, "/admin/accepted");
    assert_int_equal(json_integer_value(json_object_get(acc, "count")), 0);
    json_decref(acc);

    /* The feed: a 404 is not "no events". */
    log = worker_run(ci2, url, feed, "configuration fault", 3);
    assert_non_null(strstr(log, "GET /v1/events"));
    free(log);
    assert_int_equal(tc_count(c2, "SELECT count(*) FROM customs_alarms WHERE kind = 'config'"
                                  " AND ref LIKE '% GET /v1/events' AND http_status = 404"
                                  " AND cleared_at IS NULL"),
                     1);
    assert_int_equal(tc_count(c2, "SELECT count(*) FROM customs_feed_cursor"), 0);
    tb_sim_stop(&s);

    /* A redirect: not followed (one request), not a refusal. */
    sim_start(&s, redirect);
    snprintf(want, sizeof(want), "HTTP 302 (a redirect to https://127.0.0.1:%d/v1/declarations",
             s.port);
    config_fault_run(c, ci, s.url, want);
    assert_int_equal(stat_fault(&s, "answer_status"), 1);
    tb_sim_stop(&s);

    /* A 400 that is not the broker's error answer: a proxy, not a refusal. */
    sim_start(&s, proxy);
    config_fault_run(c, ci, s.url, "HTTP 400 (");
    tb_sim_stop(&s);

    /* 413 down to one declaration: no broker refuses 1 KB: a proxy's limit. */
    sim_start(&s, tiny);
    config_fault_run(c, ci, s.url, "a single declaration of");
    tb_sim_stop(&s);
    assert_int_equal(tc_count(c, "SELECT count FROM customs_alarms WHERE kind = 'config'"), 4);

    /* Fixed: the right URL, the declarations accepted, the alarm cleared. */
    sim_start(&s, quiet);
    {
        const char *const args[] = {"--batch", "10", "--until-empty", NULL};

        log = worker_run(ci, s.url, args, "worker done", 0);
        free(log);
    }
    tc_assert_accepted_once(&s, c, 3, 3);
    assert_int_equal(open_alarms(c, "config"), 0);
    assert_int_equal(tu_wcsctl_out(ci, &out, "customs", "problems", "--kind", "worker", NULL), 0);
    free(out);
    assert_int_equal(tu_wcsctl_out(ci, &out, "--http", "http://127.0.0.1:1", "status", NULL), 1); /* 1: no wcsd */
    assert_non_null(strstr(out, "customs worker: no alarm"));
    free(out);
    tb_sim_stop(&s);
    PQfinish(c);
    PQfinish(c2);
}

/* A 422 with the broker's error body does refuse the declarations. */
static void broker_refusal_still_invalid(void **state)
{
    const char *const refuse[] = {"--answer-status", "422", "--log-level", "warn", NULL};
    const char *const args[] = {"--batch", "10", "--until-empty", NULL};
    char ci[512];
    struct tb_sim s;
    char *log;
    PGconn *c = tc_db_fresh("cust_bb_refusal", ci, sizeof(ci));

    (void)state;
    declare_n(c, 2);
    sim_start(&s, refuse);
    log = worker_run(ci, s.url, args, "worker done", 0);
    free(log);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM declarations WHERE status = 'invalid'"
                                 " AND errors @> '[{\"code\": \"injected_status\"}]'"),
                     2);
    assert_int_equal(open_alarms(c, "config"), 0);
    tb_sim_stop(&s);
    PQfinish(c);
}

/* ---- SIGPIPE ------------------------------------------------------------- */

static void sigpipe_does_not_kill_the_worker(void **state)
{
    const char *const quiet[] = {"--log-level", "warn", NULL};
    const char *const args[] = {"--batch", "10", NULL};
    char ci[512], line[512];
    struct tb_sim s;
    struct proc w;
    PGconn *c = tc_db_fresh("cust_bb_sigpipe", ci, sizeof(ci));

    (void)state;
    declare_n(c, 3);
    sim_start(&s, quiet);
    worker_start(&w, ci, s.url, args);
    assert_int_equal(proc_wait_line(&w, "posting to", 60000, line, sizeof(line)), 0);
    assert_int_equal(kill(w.pid, SIGPIPE), 0);
    if (proc_wait_line(&w, "stored 3 results", 60000, line, sizeof(line)) < 0)
        fail_msg("the worker did not go on after SIGPIPE:\n%s", w.log);
    assert_int_equal(proc_stop(&w, SIGTERM, 20000), 0);
    free(w.log);
    tb_sim_stop(&s);
    PQfinish(c);
}

TB_GROUP_FIXTURE("test-broker-boundary")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statuses_classified),
        cmocka_unit_test(token_file_readable_by_others_refused),
        cmocka_unit_test(results_matched_by_parcel_id),
        cmocka_unit_test(wrong_ids_retried_then_alarmed),
        cmocka_unit_test(oversize_answer_is_a_failed_attempt),
        cmocka_unit_test(too_large_batch_split),
        cmocka_unit_test(config_faults_keep_declarations_pending),
        cmocka_unit_test(broker_refusal_still_invalid),
        cmocka_unit_test(sigpipe_does_not_kill_the_worker),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

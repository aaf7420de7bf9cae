/*
 * test-http-api.c - who may use wcsd's operator HTTP API, against a real
 * wcsd on a real PostgreSQL over 127.0.0.1: /health open, everything else
 * 401 without a valid bearer token, 403 for a role that may not (the whole
 * matrix of roles and requests), refusals logged with the client's address
 * and the token's name and never a secret, the refusals in /metrics; wcsctl
 * and wcs-scan carrying their tokens; no tokens file = no token valid; a
 * tokens file or TLS key open to others stops wcsd; TLS with a certificate
 * made at test time (openssl), trusted by libcurl as its CA.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"

#define WRONG_SECRET "0123456789abcdef0123456789abcdef" /* no token's secret */
#define LOG_MS 10000                                    /* bound of a wait for a log line */

static struct twcsd wcsd; /* the daemon under test (tests/common/testwcsd.h) */
static char first_code[64];

/* The sections after `http:`: one PLC whose location takes scans. */
static void config(void)
{
    twcsd_config(&wcsd, "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: 0\n"
                        "    locations: [SCAN01]\n");
}

static int setup(void **state)
{
    (void)state;
    twcsd_prepare(&wcsd, "wcs_test_http_api", NULL);
    twcsd_sample_code(0, first_code, sizeof(first_code));
    config();
    twcsd_start(&wcsd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return twcsd_teardown(&wcsd);
}

/* The status of method path (POST when body is not NULL) sent with token
 * (NULL: none); r (may be NULL) keeps the headers. */
static long call(const char *token, const char *path, const char *body, struct tu_req *r)
{
    struct tu_req mine;
    long code;

    if (r == NULL)
        r = &mine;
    memset(r, 0, sizeof(*r));
    r->port = wcsd.http_port;
    r->path = path;
    r->post = body;
    r->token = token;
    code = tu_http_req(r, NULL);
    free(r->body);
    r->body = NULL;
    return code;
}

/* A scan at SCAN01 of the first sample parcel, as a POST body. */
static const char *scan_body(void)
{
    static char body[128];

    snprintf(body, sizeof(body), "{\"location\": \"SCAN01\", \"code\": \"%s\"}", first_code);
    return body;
}

/* Waits (bounded) for a line of wcsd's log containing needle. */
static void wait_log(const char *needle)
{
    char line[1024];

    if (proc_wait_line(&wcsd.p, needle, LOG_MS, line, sizeof(line)) < 0)
        fail_msg("no log line with \"%s\" (wcsd's log is above)", needle);
}

/* Runs argv to completion: it must exit with status want, print needle
 * (on stdout when out, else stderr) and no token's secret anywhere. */
static void expect(const char *const argv[], int want, int out, const char *needle)
{
    struct proc_result r;
    int i;

    proc_run(argv, NULL, 60, &r);
    if (r.status != want || strstr(out ? r.out : r.err, needle) == NULL)
        fail_msg("%s: exit %d (want %d), \"%s\" wanted\nstdout: %s\nstderr: %s", argv[0], r.status,
                 want, needle, r.out, r.err);
    for (i = 0; i < TWCSD_ROLES; i++) {
        assert_null(strstr(r.out, wcsd.token[i]));
        assert_null(strstr(r.err, wcsd.token[i]));
    }
    proc_result_free(&r);
}

static void test_health_open_everything_else_needs_a_token(void **state)
{
    static const char *const paths[] = {"/v1/status", "/v1/decide?code=RR473124829GB",
                                        "/v1/parcels/RR473124829GB", "/v1/scanners", "/metrics",
                                        "/v1/no-such-thing", "/no-such-thing"};
    struct tu_req r;
    size_t i;

    (void)state;
    assert_int_equal(call(NULL, "/health", NULL, NULL), 200);
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (call(NULL, paths[i], NULL, &r) != 401)
            fail_msg("GET %s without a token: not 401", paths[i]);
        assert_string_equal(r.www_authenticate, "Bearer realm=\"wcsd\"");
        assert_int_equal(call(WRONG_SECRET, paths[i], NULL, NULL), 401);
    }
    /* A scan without a token, or with one nobody has, decides nothing. */
    assert_int_equal(call(NULL, "/v1/scans", scan_body(), NULL), 401);
    assert_int_equal(call(WRONG_SECRET, "/v1/scans", scan_body(), NULL), 401);
    /* The name of a token is not its secret. */
    assert_int_equal(call("test-admin", "/v1/status", NULL, NULL), 401);
}

static void test_refusals_logged_without_secrets(void **state)
{
    json_t *j = NULL;
    struct tu_req r;
    char *m;
    int i;

    (void)state;
    assert_int_equal(call(WRONG_SECRET, "/v1/status", NULL, NULL), 401);
    assert_int_equal(call(wcsd.token[TWCSD_SCANNER], "/metrics", NULL, NULL), 403);
    /* Each refusal says to whom and why: the address, the token's name. */
    wait_log("http: 403 to GET /metrics from 127.0.0.1, token test-scanner: role scanner may "
             "not read");
    assert_non_null(strstr(wcsd.p.log, "http: 401 to GET /v1/status from 127.0.0.1: not a valid "
                                       "bearer token"));
    assert_non_null(strstr(wcsd.p.log, "http: 401 to GET /v1/status from 127.0.0.1: a bearer "
                                       "token is required"));
    /* ...and no secret, presented or known, ever reaches the log. */
    assert_null(strstr(wcsd.p.log, WRONG_SECRET));
    for (i = 0; i < TWCSD_ROLES; i++)
        assert_null(strstr(wcsd.p.log, wcsd.token[i]));
    /* Counted for /metrics. */
    memset(&r, 0, sizeof(r));
    r.port = wcsd.http_port;
    r.path = "/metrics";
    r.token = wcsd.token[TWCSD_MONITOR];
    assert_int_equal(tu_http_req(&r, &j), 200);
    assert_null(j);
    m = strstr(r.body, "wcs_http_refused_total{line=\"WCS01\",reason=\"unauthorized\"} ");
    assert_non_null(m);
    assert_true(atoi(m + strlen("wcs_http_refused_total{line=\"WCS01\",reason=\"unauthorized\"} ")) >= 17);
    m = strstr(r.body, "wcs_http_refused_total{line=\"WCS01\",reason=\"forbidden\"} ");
    assert_non_null(m);
    assert_true(atoi(m + strlen("wcs_http_refused_total{line=\"WCS01\",reason=\"forbidden\"} ")) >= 1);
    free(r.body);
}

static void test_roles(void **state)
{
    static const struct {
        const char *path;
        int post;
        long want[TWCSD_ROLES]; /* admin, operator, monitor, scanner, partner */
    } matrix[] = {
        {"/v1/status", 0, {200, 200, 200, 403, 403}},
        {"/metrics", 0, {200, 200, 200, 403, 403}},
        {"/v1/scanners", 0, {200, 200, 200, 403, 403}},
        {"/v1/decide?code=RR473124829GB", 0, {200, 200, 200, 403, 403}},
        {"/v1/parcels/RR473124829GB", 0, {404, 404, 404, 403, 403}},
        {"/v1/scans", 1, {202, 202, 403, 202, 403}},
        {"/v1/tracking/events?limit=1", 0, {200, 200, 200, 403, 200}},
        {"/v1/bags", 0, {200, 200, 200, 403, 403}},
        {"/v1/no-such-thing", 0, {404, 404, 404, 404, 404}},
    };
    struct tu_req r;
    size_t i;
    int role;

    (void)state;
    for (i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        for (role = 0; role < TWCSD_ROLES; role++) {
            long got =
                call(wcsd.token[role], matrix[i].path, matrix[i].post ? scan_body() : NULL, &r);
            if (got != matrix[i].want[role])
                fail_msg("%s %s with role %d: %ld, want %ld", matrix[i].post ? "POST" : "GET",
                         matrix[i].path, role, got, matrix[i].want[role]);
            if (got == 403)
                assert_non_null(strstr(r.www_authenticate, "error=\"insufficient_scope\""));
        }
    }
}

static void test_clients_carry_their_tokens(void **state)
{
    char url[64], png[256], cmd[512], scan_url[128], bin[512], ctl[512];
    const char *status_none[] = {ctl, "--db", wcsd.conninfo, "--http", url, "status", NULL};
    const char *status_file[] = {ctl, "--db", wcsd.conninfo, "--http", url, "--token-file",
                                 wcsd.token_file[TWCSD_MONITOR], "status", NULL};
    const char *status_cfg[] = {ctl, "--config", wcsd.cfg_path, "--http", url, "status", NULL};
    const char *post_none[] = {bin, "decode", "--post", scan_url, "--location", "SCAN01", png,
                               NULL};
    const char *post_monitor[] = {bin, "decode", "--post", scan_url, "--location", "SCAN01",
                                  "--token-file", wcsd.token_file[TWCSD_MONITOR], png, NULL};

    (void)state;
    testdb_binary_path("bin/wcsctl", ctl, sizeof(ctl));
    testdb_binary_path("bin/wcs-scan", bin, sizeof(bin));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", wcsd.http_port);
    snprintf(scan_url, sizeof(scan_url), "%s/v1/scans", url);
    /* wcsctl without a token: wcsd refuses, and wcsctl says how to give one. */
    expect(status_none, 1, 0, "refused the request (HTTP 401): no valid token: give --token-file");
    /* With --token-file, and with the config's tokens file it can read. */
    expect(status_file, 0, 1, "wcsd: WCS01 ready");
    expect(status_cfg, 0, 1, "wcsd: WCS01 ready");
    /* A camera without a token, or with one that may not post scans. */
    snprintf(png, sizeof(png), "%s/label.png", wcsd.dir);
    snprintf(cmd, sizeof(cmd), "zint -b 20 -d '%s' --scale=2 --whitesp=10 -o '%s' >/dev/null",
             first_code, png);
    if (system(cmd) != 0)
        fail_msg("zint failed: is it installed (scripts/deps.sh)?");
    expect(post_none, 2, 0, "HTTP 401 (no valid token: --token-file)");
    expect(post_monitor, 2, 0, "HTTP 403 (the token's role may not post scans)");
}

/* systemctl reload wcsd: SIGHUP reads the tokens file again, the new set
 * valid at once and a removed token refused; a file that does not load
 * keeps the running set. */
static void test_tokens_reloaded_on_sighup(void **state)
{
    static const char new_secret[] = "reloaded-secret-0123456789abcdef";
    char *saved = tu_read_text(wcsd.tokens_path), text[2048], line[256], *m;

    (void)state;
    assert_int_equal(call(new_secret, "/v1/status", NULL, NULL), 401);
    /* every token but the monitor's, and a new one */
    text[0] = '\0';
    for (m = saved; *m != '\0';) {
        size_t n = strcspn(m, "\n");
        if (strncmp(m, "test-monitor ", 13) != 0)
            snprintf(text + strlen(text), sizeof(text) - strlen(text), "%.*s\n", (int)n, m);
        m += n + (m[n] == '\n');
    }
    snprintf(text + strlen(text), sizeof(text) - strlen(text), "new-monitor monitor %s\n",
             new_secret);
    tu_write_text(wcsd.tokens_path, text);
    assert_int_equal(chmod(wcsd.tokens_path, 0600), 0);
    kill(wcsd.p.pid, SIGHUP);
    assert_int_equal(proc_wait_line(&wcsd.p, "reload: ", 10000, line, sizeof(line)), 0);
    assert_non_null(strstr(line, "read again: log_level info, 5 API token(s)"));
    assert_int_equal(call(new_secret, "/v1/status", NULL, NULL), 200);
    assert_int_equal(call(wcsd.token[TWCSD_MONITOR], "/v1/status", NULL, NULL), 401);
    assert_int_equal(call(wcsd.token[TWCSD_ADMIN], "/v1/status", NULL, NULL), 200);
    /* a tokens file open to others is refused: the running set stays */
    assert_int_equal(chmod(wcsd.tokens_path, 0644), 0);
    kill(wcsd.p.pid, SIGHUP);
    assert_int_equal(proc_wait_line(&wcsd.p, "the running config kept", 10000, line,
                                    sizeof(line)), 0);
    assert_int_equal(call(new_secret, "/v1/status", NULL, NULL), 200);
    /* back as it was */
    tu_write_text(wcsd.tokens_path, saved);
    assert_int_equal(chmod(wcsd.tokens_path, 0600), 0);
    kill(wcsd.p.pid, SIGHUP);
    assert_int_equal(proc_wait_line(&wcsd.p, "API token(s)", 10000, line, sizeof(line)), 0);
    assert_int_equal(call(wcsd.token[TWCSD_MONITOR], "/v1/status", NULL, NULL), 200);
    assert_int_equal(call(new_secret, "/v1/status", NULL, NULL), 401);
    assert_null(strstr(wcsd.p.log, new_secret));
    free(saved);
}

static void test_no_tokens_file_no_token_valid(void **state)
{
    (void)state;
    twcsd_stop(&wcsd);
    wcsd.no_tokens = 1;
    config();
    twcsd_start(&wcsd);
    assert_non_null(strstr(wcsd.p.log, "no http.tokens_file: every /v1 request and /metrics "
                                       "will be refused"));
    assert_int_equal(call(NULL, "/health", NULL, NULL), 200);
    assert_int_equal(call(wcsd.token[TWCSD_ADMIN], "/v1/status", NULL, NULL), 401);
    assert_int_equal(call(wcsd.token[TWCSD_ADMIN], "/metrics", NULL, NULL), 401);
    assert_int_equal(call(wcsd.token[TWCSD_SCANNER], "/v1/scans", scan_body(), NULL), 401);
    twcsd_stop(&wcsd);
    wcsd.no_tokens = 0;
    config();
}

/* wcsd -n and wcsd both refuse the config: exit statuses 2 and 1, each
 * message containing want and no secret. */
static void refused(const char *want)
{
    const char *check[] = {wcsd.bin, "-n", "--config", wcsd.cfg_path, NULL};
    const char *start[] = {wcsd.bin, "--config", wcsd.cfg_path, NULL};

    expect(check, 2, 0, want);
    expect(start, 1, 0, want);
}

static void test_tokens_file_open_to_others_stops_wcsd(void **state)
{
    char want[512], text[1100], saved[1024];
    FILE *f;
    size_t n;

    (void)state;
    assert_int_equal(chmod(wcsd.tokens_path, 0644), 0);
    snprintf(want, sizeof(want), "http.tokens_file: %s is open to other users (mode 0644)",
             wcsd.tokens_path);
    refused(want);
    assert_int_equal(chmod(wcsd.tokens_path, 0600), 0);
    /* A line with a secret too short to be one: the line, never the text. */
    f = fopen(wcsd.tokens_path, "r");
    assert_non_null(f);
    n = fread(saved, 1, sizeof(saved) - 1, f);
    saved[n] = '\0';
    fclose(f);
    snprintf(text, sizeof(text), "%.1024sweak-one admin sesame\n", saved);
    tu_write_text(wcsd.tokens_path, text);
    snprintf(want, sizeof(want),
             "%s:7: secret: 16 to 128 printable ASCII characters without "
             "blanks expected (6 given)",
             wcsd.tokens_path);
    refused(want);
    tu_write_text(wcsd.tokens_path, saved);
}

static void test_tls(void **state)
{
    char cert[200], key[200], cmd[1024], want[512];
    struct tu_req r;
    json_t *j = NULL;

    (void)state;
    snprintf(cert, sizeof(cert), "%s/wcsd.crt", wcsd.dir);
    snprintf(key, sizeof(key), "%s/wcsd.key", wcsd.dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
             key, cert);
    if (system(cmd) != 0)
        fail_msg("openssl could not make a certificate: is it installed (scripts/deps.sh)?");
    assert_int_equal(chmod(key, 0600), 0);
    snprintf(wcsd.http_extra, sizeof(wcsd.http_extra), "  tls_cert: %s\n  tls_key: %s\n", cert,
             key);
    config();
    twcsd_start(&wcsd);
    assert_non_null(strstr(wcsd.ready, "https 127.0.0.1:"));
    /* Over TLS, trusting the certificate: the same API and the same tokens. */
    memset(&r, 0, sizeof(r));
    r.port = wcsd.http_port;
    r.path = "/v1/status";
    r.token = wcsd.token[TWCSD_MONITOR];
    r.ca_file = cert;
    assert_int_equal(tu_http_req(&r, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "node")), "WCS01");
    json_decref(j);
    free(r.body);
    r.token = NULL;
    assert_int_equal(tu_http_req(&r, NULL), 401);
    free(r.body);
    /* Plain HTTP to the TLS port gets no answer. */
    r.ca_file = NULL;
    r.token = wcsd.token[TWCSD_MONITOR];
    r.may_fail = 1;
    assert_int_equal(tu_http_req(&r, NULL), 0);
    free(r.body);
    twcsd_stop(&wcsd);
    /* A key others may read stops wcsd before anything starts. */
    assert_int_equal(chmod(key, 0644), 0);
    snprintf(want, sizeof(want), "http.tls_key: %s is open to other users (mode 0644)", key);
    refused(want);
    wcsd.http_extra[0] = '\0';
    config();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_open_everything_else_needs_a_token),
        cmocka_unit_test(test_refusals_logged_without_secrets),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_clients_carry_their_tokens),
        cmocka_unit_test(test_tokens_reloaded_on_sighup),
        cmocka_unit_test(test_no_tokens_file_no_token_valid),
        cmocka_unit_test(test_tokens_file_open_to_others_stops_wcsd),
        cmocka_unit_test(test_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

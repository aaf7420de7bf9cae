/*
 * testwcsd.c - a real wcsd as a test's child process (testwcsd.h).
 */
#include "tests/common/testwcsd.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "tests/common/testdb.h"
#include "tests/common/testutil.h"

#define PLAN_CSV "data/sortplan-sample.csv"
#define PREADVICE_CSV "data/preadvice-sample.csv"
#define READY_MS 60000 /* a start under ASan on a busy machine */
#define STOP_MS 30000

static bool picked_before(const struct twcsd *w, int n, int port)
{
    int i;

    for (i = 0; i < n; i++)
        if (w->plc_port[i] == port)
            return true;
    return false;
}

/* proc_free_port() picks at random, so two picks may meet: each PLC port is
 * picked again (bounded) until it differs from the ones before it. */
static void pick_plc_ports(struct twcsd *w)
{
    int i, tries;

    for (i = 0; i < TWCSD_PLCS; i++) {
        tries = 0;
        do
            w->plc_port[i] = proc_free_port();
        while (picked_before(w, i, w->plc_port[i]) && ++tries < 100);
    }
}

/* A fresh random secret: 32 hex digits from the kernel's generator. */
static void random_secret(char *buf, size_t len)
{
    unsigned char raw[16];
    FILE *f = fopen("/dev/urandom", "r");
    size_t i;

    assert_non_null(f);
    assert_int_equal(fread(raw, 1, sizeof(raw), f), sizeof(raw));
    fclose(f);
    assert_true(len > 2 * sizeof(raw));
    for (i = 0; i < sizeof(raw); i++)
        snprintf(buf + 2 * i, 3, "%02x", raw[i]);
}

/* The tokens file (one token per role) and one token file per role. */
static void write_tokens(struct twcsd *w)
{
    static const char *const roles[TWCSD_ROLES] = {"admin", "operator", "monitor", "scanner",
                                                     "partner"};
    char text[1024] = "# written by tests/common/testwcsd.c\n", line[128];
    int i;

    for (i = 0; i < TWCSD_ROLES; i++) {
        random_secret(w->token[i], sizeof(w->token[i]));
        snprintf(line, sizeof(line), "test-%s %s %s\n", roles[i], roles[i], w->token[i]);
        strncat(text, line, sizeof(text) - strlen(text) - 1);
        snprintf(w->token_file[i], sizeof(w->token_file[i]), "%s/token-%s", w->dir, roles[i]);
        snprintf(line, sizeof(line), "%s\n", w->token[i]);
        tu_write_text(w->token_file[i], line);
        assert_int_equal(chmod(w->token_file[i], 0600), 0);
    }
    snprintf(w->tokens_path, sizeof(w->tokens_path), "%s/tokens", w->dir);
    tu_write_text(w->tokens_path, text);
    assert_int_equal(chmod(w->tokens_path, 0600), 0);
    tu_http_set_token(w->token[TWCSD_ADMIN]);
}

/* What every wcsd of a test has of its own: paths, directory, tokens, ports. */
static void prepare_own(struct twcsd *w, const char *name)
{
    snprintf(w->dir, sizeof(w->dir), "/tmp/%s-XXXXXX", name);
    if (mkdtemp(w->dir) == NULL)
        fail_msg("mkdtemp %s: %s", w->dir, strerror(errno));
    snprintf(w->cfg_path, sizeof(w->cfg_path), "%s/wcsd.yaml", w->dir);
    write_tokens(w);
    pick_plc_ports(w);
}

static void prepare_paths(struct twcsd *w)
{
    /* libcurl counts its global inits: tests that call it themselves still may. */
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    w->curl_inited = 1;
    testdb_binary_path("bin/wcsd", w->bin, sizeof(w->bin));
    testdb_source_path(PLAN_CSV, w->plan_csv, sizeof(w->plan_csv));
    testdb_source_path(PREADVICE_CSV, w->preadvice_csv, sizeof(w->preadvice_csv));
}

void twcsd_prepare_shared(struct twcsd *w, const struct twcsd *first, const char *name)
{
    memset(w, 0, sizeof(*w));
    prepare_paths(w);
    snprintf(w->conninfo, sizeof(w->conninfo), "%s", first->conninfo);
    prepare_own(w, name);
    /* One set of tokens for the test's wcsd: tu_http() reaches each. */
    snprintf(w->tokens_path, sizeof(w->tokens_path), "%s", first->tokens_path);
    memcpy(w->token, first->token, sizeof(w->token));
    tu_http_set_token(first->token[TWCSD_ADMIN]);
}

void twcsd_prepare(struct twcsd *w, const char *name, const char *cluster)
{
    memset(w, 0, sizeof(*w));
    prepare_paths(w);
    if (cluster != NULL)
        testdb_create_on(cluster, name, w->conninfo, sizeof(w->conninfo));
    else
        testdb_create(name, w->conninfo, sizeof(w->conninfo));
    tu_wcsctl(w->conninfo, 0, "migrate", NULL);
    tu_wcsctl(w->conninfo, 0, "sortplan", "load", w->plan_csv, "--activate", NULL);
    /* exit 1: the sample holds a few invalid declarations (blocked parcels) */
    tu_wcsctl(w->conninfo, 1, "import", w->preadvice_csv, NULL);
    prepare_own(w, name);
}

void twcsd_config(struct twcsd *w, const char *fmt, ...)
{
    char sections[2048], yaml[4096], tokens[300] = "";
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(sections, sizeof(sections), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(sections));
    if (!w->no_tokens)
        snprintf(tokens, sizeof(tokens), "  tokens_file: %s\n", w->tokens_path);
    n = snprintf(yaml, sizeof(yaml),
                 "node: %s\ndatabase:\n  conninfo: \"%s\"\nhttp:\n  listen: 127.0.0.1\n"
                 "  port: 0\n%s%s%s",
                 w->node[0] != '\0' ? w->node : "WCS01", w->conninfo, tokens, w->http_extra,
                 sections);
    assert_true(n >= 0 && (size_t)n < sizeof(yaml));
    tu_write_text(w->cfg_path, yaml);
}

void twcsd_start(struct twcsd *w)
{
    const char *argv[] = {w->bin, "--config", w->cfg_path, NULL};
    const char *at = "http 127.0.0.1:", *tls_at = "https 127.0.0.1:";
    const char *p;

    free(w->p.log); /* the previous run's; proc_start() starts a new one */
    proc_start(argv, &w->p);
    /* proc_wait_line() copies wcsd's log to the test's stderr as it reads. */
    if (proc_wait_line(&w->p, "ready:", READY_MS, w->ready, sizeof(w->ready)) < 0)
        fail_msg("wcsd did not become ready (its log is above)");
    p = strstr(w->ready, at);
    if (p == NULL && (p = strstr(w->ready, tls_at)) != NULL)
        at = tls_at;
    assert_non_null(p);
    w->http_port = atoi(p + strlen(at));
    assert_true(w->http_port > 0);
}

void twcsd_stop(struct twcsd *w)
{
    assert_int_equal(proc_stop(&w->p, SIGTERM, STOP_MS), 0);
}

void twcsd_kill(struct twcsd *w)
{
    if (w->p.pid > 0)
        proc_stop(&w->p, SIGKILL, STOP_MS);
}

int twcsd_listen_port(const struct twcsd *w, const char *plc_id)
{
    char needle[64];
    const char *p;
    int port;

    snprintf(needle, sizeof(needle), "%s: listening on 127.0.0.1:", plc_id);
    p = w->p.log != NULL ? strstr(w->p.log, needle) : NULL;
    if (p == NULL)
        fail_msg("no \"%s\" line in wcsd's log", needle);
    port = atoi(p + strlen(needle));
    assert_true(port > 0);
    return port;
}

void twcsd_sample_code(int i, char *buf, size_t len)
{
    char path[512], line[2048], *comma;
    FILE *f;
    int row;

    testdb_source_path(PREADVICE_CSV, path, sizeof(path));
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    assert_non_null(fgets(line, sizeof(line), f)); /* header */
    for (row = 0; row <= i; row++)
        assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    comma = strchr(line, ',');
    assert_non_null(comma);
    *comma = '\0';
    snprintf(buf, len, "%s", line);
}

int twcsd_teardown(struct twcsd *w)
{
    char cmd[256];
    int rc = 0;

    twcsd_kill(w);
    free(w->p.log);
    w->p.log = NULL;
    if (w->curl_inited)
        curl_global_cleanup();
    w->curl_inited = 0;
    if (w->dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
        rc = system(cmd) == 0 ? 0 : -1;
        w->dir[0] = '\0';
    }
    return rc;
}

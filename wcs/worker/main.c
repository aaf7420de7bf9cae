/*
 * main.c - wcs-customs-worker: the customs submission worker
 * (customs/outbox.h, docs/customs.md "Submission") as a process on the WCS
 * database: its store is wcs_customs_store_ops (wcs/store/customs_store.h)
 * on the conninfo of --db or the config. It sends the outbox's declarations
 * and dispatch manifests to the broker.
 *
 *   wcs-customs-worker [--config wcsd.yaml] --db CONNINFO --broker URL
 *                      --token-file F [--ca-file F]
 *                      [--insecure-http] [--batch N] [--lease-s S]
 *                      [--parallel N] [--max-tries N] [--until-empty]
 *                      [--log-level L]
 *                      [--events MS [--events-limit N]] [--broker-name NAME]
 *                      [--profile reference|rupost]
 *
 * --config reads the database and the `customs:` keys (broker_url, profile,
 * token_file, ca_file, insecure_http, broker_name, events_ms, batch,
 * parallel) from wcsd's YAML through the one config loader (wcs/config/config.h);
 * with --broker-name NAME naming an entry of customs.brokers, that broker's
 * broker_url, profile, token_file, ca_file and insecure_http instead. Flags
 * given on the command line win.
 *
 * A worker sends its broker's outbox rows only (the import and the
 * dispatch close choose the broker: docs/customs.md "Broker profiles"):
 * one worker per broker, each with the broker's profile (--profile).
 *
 * --events MS also reads the broker's decision feed, polling every MS
 * milliseconds (docs/customs.md "Decision feed").
 *
 * Exit status: 0 done (--until-empty, SIGTERM, SIGINT); 1 an error (the
 * config, the token file, the database, or the broker refused the token);
 * 2 usage; 3 a configuration fault at the broker (docs/customs.md
 * "Answers": a redirect, 404, 405, an answer that is not the broker's):
 * an alarm is raised in the database, the declarations stay pending, and
 * restarting without a fix would only fail again (the unit file does not).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/diag.h"
#include "common/log.h"
#include "customs/outbox.h"
#include "wcs/config/config.h"
#include "wcs/store/customs_store.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: wcs-customs-worker [--config wcsd.yaml] --db CONNINFO --broker URL"
                    " --token-file F\n"
                    "       [--ca-file F] [--insecure-http] [--batch N] [--lease-s S]\n"
                    "       [--parallel N] [--max-tries N] [--until-empty] [--log-level L]\n"
                    "       [--events MS [--events-limit N]] [--broker-name NAME]\n"
                    "       [--profile reference|rupost]\n");
}

/* Seeds o (and *token_file) from wcsd's config file: the database (with
 * its password file: conninfo then holds a secret) and the customs keys that
 * are set. Returns 0, or 2 after printing every problem. */
static int from_config(const char *path, const char *broker, struct wcs_config *cfg,
                       char *conninfo, size_t len, const char **db, struct cust_worker_opts *o,
                       const char **token_file)
{
    const struct wcs_broker_config *b = NULL;
    int i;

    struct diag d = DIAG_INIT;
    struct err e = {0};

    if (wcs_config_load(path, cfg, &d, &e) < 0) {
        diag_print(&d, stderr);
        if (d.n == 0)
            fprintf(stderr, "wcs-customs-worker: %s\n", e.msg);
        diag_free(&d);
        return 2;
    }
    diag_free(&d);
    if (wcs_config_db_conninfo(cfg, conninfo, len, &e) < 0) {
        fprintf(stderr, "wcs-customs-worker: %s\n", e.msg);
        return 2;
    }
    *db = conninfo;
    if (cfg->customs.broker_url[0])
        o->broker_url = cfg->customs.broker_url;
    if (cfg->customs.token_file[0])
        *token_file = cfg->customs.token_file;
    if (cfg->customs.ca_file[0])
        o->ca_file = cfg->customs.ca_file;
    if (cfg->customs.insecure_http)
        o->insecure_http = 1;
    if (cfg->customs.broker_name[0])
        o->broker_name = cfg->customs.broker_name;
    if (cfg->customs.events_ms > 0)
        o->events_ms = cfg->customs.events_ms;
    if (cfg->customs.batch > 0)
        o->batch = cfg->customs.batch;
    if (cfg->customs.parallel > 0)
        o->parallel = cfg->customs.parallel;
    if (cfg->customs.profile[0])
        o->profile = cust_profile_find(cfg->customs.profile);
    for (i = 0; broker != NULL && i < cfg->customs.nbrokers; i++)
        if (strcmp(cfg->customs.brokers[i].name, broker) == 0)
            b = &cfg->customs.brokers[i];
    /* A name that is neither the default broker's nor an entry's would make
     * this worker the default broker's under another feed cursor. */
    if (broker != NULL && b == NULL && cfg->customs.nbrokers > 0 &&
        strcmp(broker, cfg->customs.broker_name[0] ? cfg->customs.broker_name : "default") != 0) {
        fprintf(stderr, "wcs-customs-worker: --broker-name %s: %s has no such broker in"
                        " customs.brokers\n", broker, path);
        return 2;
    }
    if (b != NULL) { /* one of customs.brokers: its own URL, profile and token */
        o->broker_name = b->name;
        o->queue = b->name;
        o->broker_url = b->broker_url;
        o->profile = cust_profile_find(b->profile);
        *token_file = b->token_file;
        o->ca_file = b->ca_file[0] ? b->ca_file : NULL;
        o->insecure_http = b->insecure_http;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct wcs_config cfg;
    static char conninfo[1024];
    struct cust_worker_opts o;
    struct err e = {0};
    enum log_level lvl = LOG_LEVEL_INFO;
    const char *token_file = NULL, *db = NULL, *broker = NULL;
    char *token = NULL;
    struct sigaction sa;
    int i, rc;

    /* A peer that closes a connection while a request is written to it
     * must fail that transfer, not kill the worker: libcurl is told not to
     * touch signals (CURLOPT_NOSIGNAL, threads), and OpenSSL writes to
     * sockets without MSG_NOSIGNAL. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    cust_worker_defaults(&o);
    /* The config first, so that any flag, wherever it stands, wins. */
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--broker-name") == 0)
            broker = argv[i + 1];
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0) {
            rc = from_config(argv[i + 1], broker, &cfg, conninfo, sizeof(conninfo), &db, &o,
                             &token_file);
            if (rc != 0)
                return rc;
            break;
        }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;

        if (strcmp(a, "--insecure-http") == 0) {
            o.insecure_http = 1;
            takes = 0;
        } else if (strcmp(a, "--until-empty") == 0) {
            o.until_empty = 1;
            takes = 0;
        } else if (v == NULL) {
            usage();
            return 2;
        } else if (strcmp(a, "--config") == 0) {
            /* read above */
        } else if (strcmp(a, "--db") == 0) {
            db = v;
        } else if (strcmp(a, "--broker") == 0) {
            o.broker_url = v;
        } else if (strcmp(a, "--token-file") == 0) {
            token_file = v;
        } else if (strcmp(a, "--ca-file") == 0) {
            o.ca_file = v;
        } else if (strcmp(a, "--batch") == 0) {
            o.batch = atoi(v);
        } else if (strcmp(a, "--lease-s") == 0) {
            o.lease_s = atoi(v);
        } else if (strcmp(a, "--parallel") == 0) {
            o.parallel = atoi(v);
        } else if (strcmp(a, "--max-tries") == 0) {
            o.max_tries = atoi(v);
        } else if (strcmp(a, "--events") == 0) {
            o.events_ms = atoi(v);
            if (o.events_ms < 1) {
                usage();
                return 2;
            }
        } else if (strcmp(a, "--events-limit") == 0) {
            o.events_limit = atoi(v);
        } else if (strcmp(a, "--broker-name") == 0) {
            o.broker_name = v;
        } else if (strcmp(a, "--profile") == 0) {
            o.profile = cust_profile_find(v);
            if (o.profile == NULL) {
                fprintf(stderr, "wcs-customs-worker: --profile: \"%s\" is not one of "
                                CUST_PROFILE_NAMES "\n", v);
                return 2;
            }
        } else if (strcmp(a, "--log-level") == 0) {
            if (log_level_parse(v, &lvl) < 0) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
        i += takes;
    }
    log_init("wcs-customs-worker", lvl);
    if (token_file == NULL || db == NULL || o.broker_url == NULL) {
        usage();
        return 2;
    }
    rc = cust_token_read(token_file, &token, &e);
    if (rc < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    o.token = token;
    o.store = &wcs_customs_store_ops;
    o.store_arg = db;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("curl_global_init failed");
        return 1;
    }
    rc = cust_worker_run(&o, &stop_flag, &e);
    if (rc < 0)
        log_error("%s", e.msg);
    else
        log_info("worker done");
    memset(token, 0, strlen(token));
    free(token);
    curl_global_cleanup();
    return rc == ERR_HTTP ? 3 : rc < 0 ? 1 : 0;
}

/*
 * main.c - wcs-brokersim: a customs broker emulator serving broker API v1
 * (docs/brokersim.md) on 127.0.0.1 for tests and commissioning, with fault
 * injection. Parses options, starts the store and the server, prints the
 * readiness line and waits for SIGTERM or SIGINT.
 */
#include "customs/brokersim/internal.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wcs-brokersim --token-file FILE [options]\n"
            "  --port N              TCP port on 127.0.0.1 (0 = any free port; default 0)\n"
            "  --token-file FILE     bearer token clients must send (first line)\n"
            "  --state FILE          journal (JSON lines) replayed at start: keeps stored\n"
            "                        responses, refs and events across restarts\n"
            "  --record FILE         append every accepted declaration (JSON lines)\n"
            "  --seed N              PRNG seed for decisions and faults (default 1)\n"
            "  --held-share R        share of accepted declarations held (0..1, default 0.1)\n"
            "  --duty-share R        share of released ones that get duty_due (default 0)\n"
            "  --reject-share R      share of accepted ones customs later rejects (default 0)\n"
            "  --decision-delay-ms N acceptance -> decision event (default 200)\n"
            "  --fail-5xx R          answer 503 without processing\n"
            "  --rate-limit R        answer 429 with Retry-After without processing\n"
            "  --retry-after S       Retry-After of a 429 (default 1)\n"
            "  --latency-ms N        delay every /v1 answer by N ms\n"
            "  --jitter-ms N         plus 0..N ms\n"
            "  --reset R             close the connection without processing or answer\n"
            "  --reset-after R       process, store, then close without an answer\n"
            "  --malformed R         process, store, then answer 200 with a cut JSON body\n"
            "  --answer-status CODE  answer every /v1 request with CODE, unprocessed (a 3xx\n"
            "                        with a Location); the broker's error body unless\n"
            "  --answer-status-text  ... an HTML page is sent instead\n"
            "  --max-body N          answer 413 to request bodies over N bytes (default 16 MiB)\n"
            "  --swap-results R      process, store, answer a declarations 200 in reverse order\n"
            "  --wrong-ids R         process, store, answer a 200 naming another parcel/manifest\n"
            "  --oversize R          process, store, answer a 200 followed by 8 MiB of blanks\n"
            "  --log-level L         error|warn|info|debug (default info)\n");
}

static int parse_share(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && *out >= 0 && *out <= 1 ? 0 : -1;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0' && *out <= max ? 0 : -1;
}

static int read_token(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return -errno;
    if (fgets(buf, (int)len, f) == NULL) {
        fclose(f);
        return ERR_CONFIG;
    }
    fclose(f);
    n = strcspn(buf, "\r\n");
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    return n > 0 ? 0 : ERR_CONFIG;
}

int main(int argc, char **argv)
{
    enum { O_PORT = 256, O_TOKEN, O_STATE, O_RECORD, O_SEED, O_HELD, O_DUTY, O_REJECT, O_DELAY, O_5XX,
           O_RATE, O_RETRY, O_LAT, O_JIT, O_RESET, O_RESET_AFTER, O_MALFORMED, O_STATUS,
           O_STATUS_TEXT, O_MAX_BODY, O_SWAP, O_WRONG_IDS, O_OVERSIZE, O_LOG, O_HELP };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, O_PORT},
        {"token-file", required_argument, NULL, O_TOKEN},
        {"state", required_argument, NULL, O_STATE},
        {"record", required_argument, NULL, O_RECORD},
        {"seed", required_argument, NULL, O_SEED},
        {"held-share", required_argument, NULL, O_HELD},
        {"duty-share", required_argument, NULL, O_DUTY},
        {"reject-share", required_argument, NULL, O_REJECT},
        {"decision-delay-ms", required_argument, NULL, O_DELAY},
        {"fail-5xx", required_argument, NULL, O_5XX},
        {"rate-limit", required_argument, NULL, O_RATE},
        {"retry-after", required_argument, NULL, O_RETRY},
        {"latency-ms", required_argument, NULL, O_LAT},
        {"jitter-ms", required_argument, NULL, O_JIT},
        {"reset", required_argument, NULL, O_RESET},
        {"reset-after", required_argument, NULL, O_RESET_AFTER},
        {"malformed", required_argument, NULL, O_MALFORMED},
        {"answer-status", required_argument, NULL, O_STATUS},
        {"answer-status-text", no_argument, NULL, O_STATUS_TEXT},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"swap-results", required_argument, NULL, O_SWAP},
        {"wrong-ids", required_argument, NULL, O_WRONG_IDS},
        {"oversize", required_argument, NULL, O_OVERSIZE},
        {"log-level", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct bsim_opts o;
    struct bsim_store *st = NULL;
    struct bsim_server *srv = NULL;
    struct err e;
    const char *token_file = NULL;
    unsigned long long v;
    unsigned port = 0;
    enum log_level lvl = LOG_LEVEL_INFO;
    sigset_t set;
    int c, sig, bad = 0;

    memset(&o, 0, sizeof(o));
    err_clear(&e);
    o.seed = 1;
    o.held_share = 0.1;
    o.decision_delay_ms = 200;
    o.retry_after_s = 1;
    o.max_body = BSIM_MAX_BODY;
    log_init("wcs-brokersim", LOG_LEVEL_INFO);
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_PORT: bad |= parse_uint(optarg, 65535, &v); o.port = (unsigned)v; break;
        case O_TOKEN: token_file = optarg; break;
        case O_STATE: o.state_path = optarg; break;
        case O_RECORD: o.record_path = optarg; break;
        case O_SEED: bad |= parse_uint(optarg, UINT64_MAX, &v); o.seed = v; break;
        case O_HELD: bad |= parse_share(optarg, &o.held_share); break;
        case O_DUTY: bad |= parse_share(optarg, &o.duty_share); break;
        case O_REJECT: bad |= parse_share(optarg, &o.reject_share); break;
        case O_DELAY: bad |= parse_uint(optarg, 86400000, &v); o.decision_delay_ms = (unsigned)v; break;
        case O_5XX: bad |= parse_share(optarg, &o.fail_5xx); break;
        case O_RATE: bad |= parse_share(optarg, &o.rate_limit); break;
        case O_RETRY: bad |= parse_uint(optarg, 86400, &v); o.retry_after_s = (unsigned)v; break;
        case O_LAT: bad |= parse_uint(optarg, 600000, &v); o.latency_ms = (unsigned)v; break;
        case O_JIT: bad |= parse_uint(optarg, 600000, &v); o.jitter_ms = (unsigned)v; break;
        case O_RESET: bad |= parse_share(optarg, &o.reset); break;
        case O_RESET_AFTER: bad |= parse_share(optarg, &o.reset_after); break;
        case O_MALFORMED: bad |= parse_share(optarg, &o.malformed); break;
        case O_STATUS:
            if (parse_uint(optarg, 599, &v) < 0 || v < 100)
                bad = -1;
            o.answer_status = bad ? 0 : (unsigned)v;
            break;
        case O_STATUS_TEXT: o.answer_status_text = 1; break;
        case O_MAX_BODY:
            if (parse_uint(optarg, BSIM_MAX_BODY, &v) < 0 || v < 1)
                bad = -1;
            o.max_body = bad ? BSIM_MAX_BODY : (size_t)v;
            break;
        case O_SWAP: bad |= parse_share(optarg, &o.swap_results); break;
        case O_WRONG_IDS: bad |= parse_share(optarg, &o.wrong_ids); break;
        case O_OVERSIZE: bad |= parse_share(optarg, &o.oversize); break;
        case O_LOG: bad |= log_level_parse(optarg, &lvl); break;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "wcs-brokersim: bad value '%s' for an option\n", optarg);
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || token_file == NULL) {
        usage(stderr);
        return 2;
    }
    log_set_level(lvl);
    c = read_token(token_file, o.token, sizeof(o.token));
    if (c < 0)
        fatal("%s: cannot read a token: %s", token_file, err_text(c));
    /* Block the stop signals before any thread starts, so every thread
     * inherits the mask and sigwait() below is the only receiver. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (cust_bsim_store_new(&o, &st, &e) < 0)
        fatal("%s", e.msg);
    if (cust_bsim_server_start(&o, st, &srv, &port, &e) < 0) {
        cust_bsim_store_free(st);
        fatal("%s", e.msg);
    }
    /* stdout for scripts, stderr for tests that capture only stderr. */
    printf("brokersim ready http://127.0.0.1:%u\n", port);
    fflush(stdout);
    fprintf(stderr, "brokersim ready http://127.0.0.1:%u\n", port);
    if (sigwait(&set, &sig) != 0)
        sig = SIGTERM;
    log_info("signal %d: stopping", sig);
    cust_bsim_server_stop(srv);
    cust_bsim_store_free(st);
    return 0;
}

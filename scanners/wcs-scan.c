/*
 * wcs-scan - scanner and camera tool.
 *
 *   wcs-scan decode [--json] [options] FILE...   decode image files through the
 *                                                 camera pipeline
 *   wcs-scan listen [options]                     print scans from a USB or tty
 *                                                 scanner (commissioning)
 *
 * decode --post URL sends every accepted code to wcsd's POST /v1/scans as a
 * read at --location, so camera frames feed the sort decision like USB reads;
 * it carries the bearer token of --token-file (or WCS_TOKEN_FILE), a token
 * of role scanner in wcsd's http.tokens_file.
 * decode prints one line per file: with --json a JSON object
 * {"file", "symbols": [{"type", "text", "kind"}], "pass", "passes", "cause", "ms", "work_ms"}
 * (cause: why no single code was read, "none" when one was; camera.h)
 * (plus "rejected" when misreads were thrown away, "error" when the file
 * could not be read); otherwise "FILE: TEXT (TYPE, kind, pass P, N ms)".
 * Exit status: 0 every file read a code, 1 some did not, 2 usage or file
 * errors (each reported on stderr as "FILE: reason").
 */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "common/token.h"
#include "scanners/archive.h"
#include "scanners/camera.h"
#include "scanners/usb.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wcs-scan decode [--json] [-s SYMBOLOGIES] [-k KINDS] [-b MS] [-p N]\n"
            "                       [--post URL --location ID [--source ID]\n"
            "                        [--token-file F]] FILE...\n"
            "       wcs-scan listen --kind keyboard|pos|tty [--vid XXXX] [--pid XXXX]\n"
            "                       [--serial S] [--layout us|de] [--tab] [--char-timeout-ms MS]\n"
            "                       [--tty PATH] [--id ID] [--location ID] [--json]\n\n"
            "decode options:\n"
            "  -j, --json               one JSON object per file\n"
            "  -s, --symbologies LIST   code128,code39,ean13,i25,qr (default code128)\n"
            "  -k, --kinds LIST         accepted codes: s10,cainiao,rupost,receptacle, or any\n"
            "                           (any decoded text; a known format must be valid)\n"
            "                           (default s10,cainiao,rupost)\n"
            "  -b, --budget-ms MS       stop starting passes after MS per frame (default 100;\n"
            "                           0 = plain pass only)\n"
            "  -p, --max-passes N       at most N passes per frame (default all, %d)\n"
            "      --post URL           send accepted codes to wcsd (http://HOST:PORT/v1/scans)\n"
            "      --location ID        the scan point the camera looks at (with --post)\n"
            "      --source ID          camera id in the scan events (default \"camera\")\n"
            "      --token-file F       wcsd's bearer token (role scanner): the secret alone\n"
            "                           on the first line (default: env WCS_TOKEN_FILE)\n"
            "      --noread-dir DIR     keep the frames that gave no single code, with their\n"
            "                           cause, in DIR (oldest dropped first past the bounds)\n"
            "      --noread-max-mb N    the archive's bound in MiB (default 1024)\n"
            "      --noread-max N       and in frames (default 100000)\n"
            "  -h, --help               this text\n\n"
            "listen prints every scan of the scanner described by the options, and when it\n"
            "is plugged in or pulled out, until Ctrl-C: for commissioning a scan point.\n\n"
            "exit status: 0 every file read a code, 1 some did not, 2 usage or file errors\n",
            scan_pipeline_pass_count());
}

static json_t *symbols_json(const struct scan_symbol *s, size_t n, bool with_reason)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "type", s[i].type, "text", s[i].text, "kind",
                              scan_code_kind_name(s[i].kind));
        if (o && with_reason)
            json_object_set_new(o, "reason", json_string(s[i].reason));
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Prints one JSON line; returns 0 or -1 when jansson runs out of memory. */
/* A no-read's cause (none when read), from the result and the frame. */
static const char *cause_of(const struct scan_image *img, const struct scan_result *r,
                            struct scan_noread *why)
{
    struct scan_frame f = scan_image_frame(img);

    return scan_noread_cause_name(scan_noread_classify(&f, r, why));
}

/* Keeps a frame that gave no single code in the no-read archive. */
static int keep_noread(struct scan_archive *a, const struct scan_image *img,
                       const struct scan_noread *why, const char *location, const char *source)
{
    struct scan_frame f = scan_image_frame(img);
    struct scan_archive_meta m = {.location = location, .source = source, .why = why};
    char name[SCAN_ARCHIVE_NAME_MAX];
    struct timespec ts;
    struct err e;

    clock_gettime(CLOCK_REALTIME, &ts);
    m.at_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (scan_archive_put(a, &f, &m, name, &e) < 0) {
        fprintf(stderr, "wcs-scan: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int print_json(const char *file, const struct scan_result *r, const char *cause,
                      const char *error)
{
    json_t *o = json_object();
    if (!o)
        return -1;
    int bad = json_object_set_new(o, "file", json_string(file));
    if (error) {
        bad |= json_object_set_new(o, "error", json_string(error));
    } else {
        bad |= json_object_set_new(o, "symbols", symbols_json(r->sym, r->n, false));
        if (r->n_rejected)
            bad |= json_object_set_new(o, "rejected",
                                       symbols_json(r->rejected, r->n_rejected, true));
        bad |= json_object_set_new(o, "pass", r->n ? json_string(r->pass_name) : json_null());
        bad |= json_object_set_new(o, "passes", json_integer(r->passes_run));
        bad |= json_object_set_new(o, "cause", json_string(cause));
        bad |= json_object_set_new(o, "ms", json_real((double)(long)(r->ms * 100.0 + 0.5) / 100.0));
        bad |= json_object_set_new(o, "work_ms",
                                   json_real((double)(long)(r->work_ms * 100.0 + 0.5) / 100.0));
    }
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!s)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

static void print_text(const char *file, const struct scan_result *r, const char *cause)
{
    if (r->n == 0) {
        printf("%s: no code, %s (%d passes, %.1f ms)", file, cause, r->passes_run, r->ms);
        for (size_t i = 0; i < r->n_rejected; i++)
            printf("%s rejected %s: %s", i ? ";" : ":", r->rejected[i].text, r->rejected[i].reason);
        printf("\n");
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        printf("%s: %s (%s, %s, pass %s, %.1f ms)\n", file, r->sym[i].text, r->sym[i].type,
               scan_code_kind_name(r->sym[i].kind), r->pass_name, r->ms);
}

/* Where and as whom decode --post sends its codes. */
struct post_target {
    const char *url;
    const char *location, *source;
    char auth[TOKEN_SECRET_MAX + 32]; /* "Authorization: Bearer ...", "" = none */
};

/* POSTs the accepted codes of one frame to wcsd; 0 or -1 (message printed). */
static int post_scans(const struct post_target *t, const char *file, const struct scan_result *r)
{
    json_t *list = json_array();
    struct curl_slist *hdr = NULL;
    char *body;
    CURL *h;
    CURLcode cc;
    long code = 0;
    size_t i;

    for (i = 0; i < r->n; i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "location", t->location, "code",
                                              r->sym[i].text, "source", t->source));
    body = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    h = curl_easy_init();
    if (body == NULL || h == NULL) {
        fprintf(stderr, "%s: out of memory posting the scan\n", file);
        free(body);
        return -1;
    }
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (t->auth[0] != '\0')
        hdr = curl_slist_append(hdr, t->auth);
    curl_easy_setopt(h, CURLOPT_URL, t->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    free(body);
    if (cc != CURLE_OK) {
        fprintf(stderr, "%s: wcsd did not take the scan (%s): %s\n", file, t->url,
                curl_easy_strerror(cc));
        return -1;
    }
    if (code != 202) {
        fprintf(stderr, "%s: wcsd did not take the scan (%s): HTTP %ld%s\n", file, t->url, code,
                code == 401   ? " (no valid token: --token-file)"
                : code == 403 ? " (the token's role may not post scans)"
                              : "");
        return -1;
    }
    return 0;
}

/* The Authorization header from --token-file or WCS_TOKEN_FILE (none when
 * neither is given); 0 or -1 (message printed). */
static int post_token(struct post_target *t, const char *token_file)
{
    char secret[TOKEN_SECRET_MAX + 1];
    struct err e;
    int rc;

    if (token_file == NULL)
        token_file = getenv("WCS_TOKEN_FILE");
    if (token_file == NULL)
        return 0;
    if (token_read_file(token_file, secret, sizeof(secret), &e) < 0) {
        fprintf(stderr, "wcs-scan: --token-file: %s\n", e.msg);
        return -1;
    }
    rc = token_auth_header(secret, t->auth, sizeof(t->auth));
    explicit_bzero(secret, sizeof(secret));
    if (rc < 0)
        fprintf(stderr, "wcs-scan: --token-file: %s: the token is too long\n", token_file);
    return rc < 0 ? -1 : 0;
}

/* A whole number from min to max for option name; -1 (message printed) when
 * it is not one. */
static long number_arg(const char *name, const char *text, unsigned long min, unsigned long max)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);

    if (*text < '0' || *text > '9' || *end || v < min || v > max) {
        fprintf(stderr, "wcs-scan: %s: \"%s\" is not a number from %lu to %lu\n", name, text,
                min, max);
        return -1;
    }
    return (long)v;
}

static int cmd_decode(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"symbologies", required_argument, NULL, 's'},
        {"kinds", required_argument, NULL, 'k'},
        {"budget-ms", required_argument, NULL, 'b'},
        {"max-passes", required_argument, NULL, 'p'},
        {"post", required_argument, NULL, 'P'},
        {"location", required_argument, NULL, 'L'},
        {"source", required_argument, NULL, 'S'},
        {"token-file", required_argument, NULL, 'T'},
        {"noread-dir", required_argument, NULL, 'D'},
        {"noread-max-mb", required_argument, NULL, 'M'},
        {"noread-max", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct scan_pipeline_config cfg;
    struct err e;
    bool json = false;
    struct post_target post = {.url = NULL, .location = NULL, .source = "camera"};
    const char *token_file = NULL;
    struct scan_archive_config acfg = {.dir = NULL, .max_bytes = 0, .max_entries = 0};
    struct scan_archive *archive = NULL;
    int ch;

    scan_pipeline_config_default(&cfg);
    err_clear(&e);
    optind = 1;
    while ((ch = getopt_long(argc, argv, "js:k:b:p:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'P': post.url = optarg; break;
        case 'L': post.location = optarg; break;
        case 'S': post.source = optarg; break;
        case 'T': token_file = optarg; break;
        case 'D': acfg.dir = optarg; break;
        case 'M':
        case 'N': {
            long v = number_arg(ch == 'M' ? "--noread-max-mb" : "--noread-max", optarg, 1, 1000000);
            if (v < 0)
                return 2;
            if (ch == 'M')
                acfg.max_bytes = (uint64_t)v * 1024 * 1024;
            else
                acfg.max_entries = (unsigned)v;
            break;
        }
        case 's':
            if (scan_symbology_parse(optarg, &cfg.symbologies, &e) < 0) {
                fprintf(stderr, "wcs-scan: --symbologies: %s\n", e.msg);
                return 2;
            }
            break;
        case 'k':
            if (scan_kinds_parse(optarg, &cfg.kinds, &e) < 0) {
                fprintf(stderr, "wcs-scan: --kinds: %s\n", e.msg);
                return 2;
            }
            break;
        case 'b':
        case 'p': {
            long v = number_arg(ch == 'b' ? "--budget-ms" : "--max-passes", optarg, 0, 3600000);
            if (v < 0)
                return 2;
            if (ch == 'b')
                cfg.budget_ms = (unsigned)v;
            else
                cfg.max_passes = (unsigned)v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (post.url != NULL &&
        (post.location == NULL || strlen(post.location) > 20 || strlen(post.source) > 20)) {
        fprintf(stderr, "wcs-scan: --post needs --location (1-20 characters; --source too)\n");
        return 2;
    }
    if (post.url != NULL && post_token(&post, token_file) < 0)
        return 2;
    if (acfg.dir != NULL && scan_archive_open(&acfg, &archive, &e) < 0) {
        fprintf(stderr, "wcs-scan: --noread-dir: %s\n", e.msg);
        return 2;
    }
    struct scan_pipeline *p;
    if (scan_pipeline_new(&cfg, &p, &e) < 0) {
        fprintf(stderr, "wcs-scan: %s\n", e.msg);
        scan_archive_close(archive);
        return 2;
    }
    struct scan_image img = {0};
    struct scan_result r;
    int status = 0;
    for (int i = optind; i < argc; i++) {
        const char *file = argv[i];
        err_clear(&e);
        int rc = scan_image_load(file, &img, &e);
        if (rc == 0) {
            struct scan_frame f = scan_image_frame(&img);
            rc = scan_pipeline_decode(p, &f, &r, &e);
        }
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", file, e.msg);
            if (json && print_json(file, NULL, NULL, e.msg) < 0)
                fprintf(stderr, "wcs-scan: out of memory formatting JSON\n");
            status = 2;
            continue;
        }
        struct scan_noread why;
        const char *cause = cause_of(&img, &r, &why);
        if (json) {
            if (print_json(file, &r, cause, NULL) < 0) {
                fprintf(stderr, "%s: out of memory formatting JSON\n", file);
                status = 2;
            }
        } else {
            print_text(file, &r, cause);
        }
        if (r.n == 0 && status == 0)
            status = 1;
        if (post.url != NULL && r.n > 0 && post_scans(&post, file, &r) < 0)
            status = 2;
        if (archive != NULL && r.n != 1 &&
            keep_noread(archive, &img, &why, post.location, post.source) < 0)
            status = 2;
    }
    scan_archive_close(archive);
    explicit_bzero(post.auth, sizeof(post.auth));
    fflush(stdout);
    scan_image_release(&img);
    scan_pipeline_free(p);
    return status;
}

/* --- listen ------------------------------------------------------------ */

struct listen_state {
    bool json;
    struct scan_usb *usb;
    uv_signal_t sigint, sigterm;
    uv_timer_t status_timer;
    bool connected;
};

static void listen_scan_cb(const struct scan_event *ev, void *arg)
{
    struct listen_state *st = arg;
    struct scan_code_info info;
    time_t t = (time_t)(ev->at_us / 1000000);
    struct tm tm;
    char ts[32];

    scan_code_check(ev->code, ev->len, &info);
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    if (st->json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "scanner", ev->scanner_id,
                              "location", ev->location, "kind", scan_source_kind_name(ev->kind),
                              "symbology", ev->symbology, "code", ev->code, "code_kind",
                              scan_code_kind_name(info.kind), "valid", info.valid, "reason",
                              info.reason);
        char *line = json_dumps(j, JSON_COMPACT);
        if (line != NULL)
            printf("%s\n", line);
        free(line);
        json_decref(j);
    } else {
        printf("%s.%03dZ  %s  %s  %s  %s\t%s %s%s%s\n", ts, (int)(ev->at_us / 1000 % 1000),
               ev->scanner_id, ev->location, ev->symbology[0] ? ev->symbology : "-", ev->code,
               scan_code_kind_name(info.kind), info.valid ? "valid" : "invalid",
               info.valid ? "" : ": ", info.reason);
    }
    fflush(stdout);
}

static void listen_status_cb(uv_timer_t *t)
{
    struct listen_state *st = t->data;
    struct scan_usb_status s;

    if (scan_usb_status(st->usb, &s, 1) == 1 && s.connected != st->connected) {
        st->connected = s.connected;
        if (s.kind == SCAN_SRC_TTY)
            fprintf(stderr, "wcs-scan: %s %s\n", s.id, s.connected ? "open" : "absent");
        else
            fprintf(stderr, "wcs-scan: %s %s (%04X:%04X)\n", s.id,
                    s.connected ? "connected" : "unplugged", s.vid, s.pid);
    }
}

static void listen_signal_cb(uv_signal_t *h, int signum)
{
    struct listen_state *st = h->data;

    (void)signum;
    scan_usb_stop(st->usb, NULL, NULL);
    uv_close((uv_handle_t *)&st->sigint, NULL);
    uv_close((uv_handle_t *)&st->sigterm, NULL);
    uv_close((uv_handle_t *)&st->status_timer, NULL);
}

static int parse_hex16(const char *s, uint16_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 16);

    if (strlen(s) != 4 || *end != '\0' || v > 0xFFFF)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* Copies a non-empty argument that fits dst (cap bytes with the NUL); 1 if it does not. */
static int copy_arg(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n == 0 || n >= cap)
        return 1;
    memcpy(dst, src, n + 1);
    return 0;
}

static int cmd_listen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'K'},   {"vid", required_argument, NULL, 'V'},
        {"pid", required_argument, NULL, 'I'},    {"serial", required_argument, NULL, 'N'},
        {"layout", required_argument, NULL, 'l'}, {"tab", no_argument, NULL, 't'},
        {"char-timeout-ms", required_argument, NULL, 'c'},
        {"tty", required_argument, NULL, 'T'},    {"id", required_argument, NULL, 'i'},
        {"location", required_argument, NULL, 'L'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    struct scan_usb_cfg cfg;
    struct listen_state st;
    uv_loop_t loop;
    struct err e;
    int ch, rc;

    memset(&st, 0, sizeof(st));
    scan_usb_cfg_defaults(&cfg);
    snprintf(cfg.id, sizeof(cfg.id), "scanner");
    snprintf(cfg.location, sizeof(cfg.location), "SCAN01");
    cfg.kind = SCAN_SRC_KBD;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'K': bad = scan_source_kind_parse(optarg, &cfg.kind) < 0; break;
        case 'V': bad = parse_hex16(optarg, &cfg.vid) < 0; break;
        case 'I': bad = parse_hex16(optarg, &cfg.pid) < 0; break;
        case 'N': bad = copy_arg(cfg.serial, sizeof(cfg.serial), optarg); break;
        case 'l': bad = scan_layout_parse(optarg, &cfg.layout) < 0; break;
        case 't': cfg.tab_terminates = true; break;
        case 'c': cfg.char_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'T': bad = copy_arg(cfg.tty_path, sizeof(cfg.tty_path), optarg); break;
        case 'i': bad = copy_arg(cfg.id, sizeof(cfg.id), optarg); break;
        case 'L': bad = copy_arg(cfg.location, sizeof(cfg.location), optarg); break;
        case 'j': st.json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "wcs-scan listen: %s: \"%s\" is not valid\n", argv[optind - 1], optarg);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (uv_loop_init(&loop) != 0)
        return 2;
    rc = scan_usb_start(&loop, &cfg, 1, listen_scan_cb, &st, &st.usb, &e);
    if (rc < 0) {
        fprintf(stderr, "wcs-scan listen: %s\n", e.msg);
        uv_loop_close(&loop);
        return 2;
    }
    uv_signal_init(&loop, &st.sigint);
    uv_signal_init(&loop, &st.sigterm);
    st.sigint.data = st.sigterm.data = &st;
    uv_signal_start(&st.sigint, listen_signal_cb, SIGINT);
    uv_signal_start(&st.sigterm, listen_signal_cb, SIGTERM);
    uv_timer_init(&loop, &st.status_timer);
    st.status_timer.data = &st;
    uv_timer_start(&st.status_timer, listen_status_cb, 0, 500);
    fprintf(stderr, "wcs-scan: listening for %s scanner \"%s\" at %s (Ctrl-C stops)\n",
            scan_source_kind_name(cfg.kind), cfg.id, cfg.location);
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    log_init("wcs-scan", LOG_LEVEL_WARN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "decode") == 0)
        return cmd_decode(argc - 1, argv + 1);
    if (strcmp(argv[1], "listen") == 0)
        return cmd_listen(argc - 1, argv + 1);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "wcs-scan: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}

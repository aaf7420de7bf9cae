/*
 * wcs-scan - scanner and camera tool.
 *
 *   wcs-scan decode [--json] [options] FILE...   decode image files through the
 *                                                 camera pipeline
 *   wcs-scan listen                               (USB scanners: not yet)
 *
 * decode prints one line per file: with --json a JSON object
 * {"file", "symbols": [{"type", "text", "kind"}], "pass", "passes", "ms"}
 * (plus "rejected" when misreads were thrown away, "error" when the file
 * could not be read); otherwise "FILE: TEXT (TYPE, kind, pass P, N ms)".
 * Exit status: 0 every file read a code, 1 some did not, 2 usage or file
 * errors (each reported on stderr as "FILE: reason").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "scanners/camera.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wcs-scan decode [--json] [-s SYMBOLOGIES] [-k KINDS] [-b MS] [-p N] FILE...\n"
            "       wcs-scan listen\n\n"
            "decode options:\n"
            "  -j, --json               one JSON object per file\n"
            "  -s, --symbologies LIST   code128,code39,ean13,i25,qr (default code128)\n"
            "  -k, --kinds LIST         accepted codes: s10,cainiao,rupost,receptacle\n"
            "                           (default s10,cainiao,rupost)\n"
            "  -b, --budget-ms MS       stop starting passes after MS per frame (default 100;\n"
            "                           0 = plain pass only)\n"
            "  -p, --max-passes N       at most N passes per frame (default all, %d)\n"
            "  -h, --help               this text\n\n"
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
static int print_json(const char *file, const struct scan_result *r, const char *error)
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
        bad |= json_object_set_new(o, "ms", json_real((double)(long)(r->ms * 100.0 + 0.5) / 100.0));
    }
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!s)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

static void print_text(const char *file, const struct scan_result *r)
{
    if (r->n == 0) {
        printf("%s: no code (%d passes, %.1f ms)", file, r->passes_run, r->ms);
        for (size_t i = 0; i < r->n_rejected; i++)
            printf("%s rejected %s: %s", i ? ";" : ":", r->rejected[i].text, r->rejected[i].reason);
        printf("\n");
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        printf("%s: %s (%s, %s, pass %s, %.1f ms)\n", file, r->sym[i].text, r->sym[i].type,
               scan_code_kind_name(r->sym[i].kind), r->pass_name, r->ms);
}

static int cmd_decode(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"symbologies", required_argument, NULL, 's'},
        {"kinds", required_argument, NULL, 'k'},
        {"budget-ms", required_argument, NULL, 'b'},
        {"max-passes", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct scan_pipeline_config cfg;
    struct err e;
    bool json = false;
    int ch;
    char *end;

    scan_pipeline_config_default(&cfg);
    err_clear(&e);
    optind = 1;
    while ((ch = getopt_long(argc, argv, "js:k:b:p:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
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
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || v > 3600000ul) {
                fprintf(stderr, "wcs-scan: %s: \"%s\" is not a number\n",
                        ch == 'b' ? "--budget-ms" : "--max-passes", optarg);
                return 2;
            }
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
    struct scan_pipeline *p;
    if (scan_pipeline_new(&cfg, &p, &e) < 0) {
        fprintf(stderr, "wcs-scan: %s\n", e.msg);
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
            if (json && print_json(file, NULL, e.msg) < 0)
                fprintf(stderr, "wcs-scan: out of memory formatting JSON\n");
            status = 2;
            continue;
        }
        if (json) {
            if (print_json(file, &r, NULL) < 0) {
                fprintf(stderr, "%s: out of memory formatting JSON\n", file);
                status = 2;
            }
        } else {
            print_text(file, &r);
        }
        if (r.n == 0 && status == 0)
            status = 1;
    }
    fflush(stdout);
    scan_image_release(&img);
    scan_pipeline_free(p);
    return status;
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
    if (strcmp(argv[1], "listen") == 0) {
        fprintf(stderr, "wcs-scan listen: not yet implemented: USB scanner input (HID keyboard, "
                        "HID POS, tty) is still being written; only \"decode\" works for now\n");
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "wcs-scan: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}

/*
 * wcsd.c - the WCS daemon's entry point: parse the command line, load and
 * validate the config, then hand over to daemon.c.
 *
 *   wcsd --config FILE [-n] [-v]
 *   -n  check the config and exit (0 valid, 2 not)
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wcs/config/config.h"
#include "wcs/daemon/daemon.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: wcsd --config FILE [-n] [-v]\n"
               "  -c, --config FILE  YAML configuration (see docs/config.md)\n"
               "  -n, --check        validate the configuration and exit\n"
               "  -v, --verbose      log at debug level\n"
               "  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    struct wcs_config cfg;
    struct diag d = DIAG_INIT;
    struct wcsd *daemon = NULL;
    struct err e;
    int ch, check_only = 0, verbose = 0, rc;

    log_init("wcsd", LOG_LEVEL_INFO);
    /* A PLC that drops its connection must not kill the daemon with SIGPIPE
     * on our next write; the write error is handled by the link instead. */
    signal(SIGPIPE, SIG_IGN);
    while ((ch = getopt_long(argc, argv, "c:nvh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'n':
            check_only = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    err_clear(&e);
    rc = wcs_config_load(path, &cfg, &d, &e);
    diag_print(&d, stderr);
    diag_free(&d);
    if (rc < 0) {
        if (rc != ERR_CONFIG)
            fprintf(stderr, "wcsd: %s\n", e.msg);
        return 2;
    }
    if (check_only) {
        rc = cfg.http_listen[0] != '\0' ? wcsd_check_files(&cfg, &d, &e) : 0;
        diag_print(&d, stderr);
        diag_free(&d);
        if (rc < 0) {
            fprintf(stderr, "wcsd: %s\n", e.msg);
            return 2;
        }
        printf("%s: configuration valid\n", path);
        return 0;
    }
    log_set_level(verbose ? LOG_LEVEL_DEBUG : cfg.log_level);
    log_set_tag("loop");
    rc = wcsd_init(&cfg, &daemon, &e);
    if (rc < 0) {
        log_error("cannot start: %s", e.msg);
        return 1;
    }
    rc = wcsd_run(daemon);
    wcsd_free(daemon);
    return rc == 0 ? 0 : 1;
}

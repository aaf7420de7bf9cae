/*
 * ctl_tracking.c - wcsctl tracking export: the tracking feed's events as
 * JSON lines, one event a line with the same fields as
 * GET /v1/tracking/events, read page by page with the feed's cursor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "wcs/core/bagging.h"
#include "wcs/ctl/ctl.h"
#include "wcs/ctl/ctl_tracking.h"
#include "wcs/store/tracking.h"

static const char USAGE[] = "usage: wcsctl tracking export [--since TIME] [--after CURSOR]"
                            " [--out FILE]\n"
                            "  TIME: 10m, 2h, 1d back, or a time (RFC 3339, a date)\n";

/* Writes a page's events to f, one a line; -1 on a write error (errno),
 * -2 when the page is not JSON. */
static int write_page(FILE *f, const char *page)
{
    json_error_t je;
    json_t *doc = json_loads(page, 0, &je), *ev;
    size_t i;
    int rc = 0;

    if (doc == NULL)
        return -2;
    json_array_foreach(json_object_get(doc, "events"), i, ev)
        if (json_dumpf(ev, f, JSON_COMPACT | JSON_ENSURE_ASCII) < 0 || fputc('\n', f) == EOF)
            rc = -1;
    json_decref(doc);
    return rc;
}

int wcsctl_tracking_export(PGconn *c, int argc, char **argv)
{
    const char *since = NULL, *outpath = NULL;
    char tmp[4096], since_buf[32], *page, *end;
    int64_t since_us;
    long long after = 0, total = 0;
    int64_t next;
    FILE *f = stdout;
    struct err e;
    int i, count, rc = 0;

    for (i = 0; i < argc; i++) {
        if (i + 1 >= argc) {
            fputs(USAGE, stderr);
            return 2;
        }
        if (strcmp(argv[i], "--since") == 0) {
            since = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0) {
            outpath = argv[++i];
        } else if (strcmp(argv[i], "--after") == 0) {
            errno = 0;
            after = strtoll(argv[++i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || errno != 0 || after < 0) {
                fprintf(stderr, "wcsctl: --after: a cursor of the feed (a number)\n");
                return 1;
            }
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    /* 10m, 2h, 2026-11-23T14:00:00 (UTC) as the other commands take them;
     * anything else goes to PostgreSQL, which knows RFC 3339 and dates. */
    if (since != NULL && wcsctl_parse_since(since, &since_us) == 0) {
        time_t t = (time_t)(since_us / 1000000);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(since_buf, sizeof(since_buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        since = since_buf;
    }
    /* A file appears whole or not at all: written aside, renamed at the end. */
    if (outpath != NULL) {
        snprintf(tmp, sizeof(tmp), "%s.part", outpath);
        f = fopen(tmp, "w");
        if (f == NULL) {
            fprintf(stderr, "wcsctl: %s: %s\n", tmp, strerror(errno));
            return 2;
        }
    }
    do {
        rc = wcs_db_tracking_page(c, WCS_BAG_ORIGIN_OFFICE, after, WCS_TRACKING_LIMIT_MAX, since,
                                  &page, &count, &next, &e);
        if (rc < 0)
            break;
        switch (write_page(f, page)) {
        case -1:
            rc = err_set(&e, -EIO, "tracking export: writing: %s", strerror(errno));
            break;
        case -2:
            rc = err_set(&e, ERR_PARSE, "tracking export: a page after cursor %lld is not JSON",
                         after);
            break;
        }
        free(page);
        after = next;
        total += count;
    } while (rc == 0 && count == WCS_TRACKING_LIMIT_MAX);
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = err_set(&e, -EIO, "tracking export: writing: %s", strerror(errno));
    if (outpath != NULL) {
        if (fclose(f) != 0 && rc == 0)
            rc = err_set(&e, -EIO, "tracking export: %s: %s", tmp, strerror(errno));
        if (rc == 0 && rename(tmp, outpath) != 0)
            rc = err_set(&e, -EIO, "tracking export: %s: %s", outpath, strerror(errno));
        if (rc < 0)
            remove(tmp);
    }
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return rc == ERR_INVALID ? 1 : 2;
    }
    fprintf(stderr, "wcsctl: %lld tracking events, last cursor %lld\n", total, after);
    return 0;
}

/*
 * ctl_noreads.c - wcsctl noread list|show|key (ctl_noreads.h). Keying is
 * the console's action (wcs_act_noread_key): the code is checked as any
 * scan, the key is recorded with who keyed it, and the line's wcsd gives
 * the parcel its destination when it comes round.
 */
#include "wcs/ctl/ctl_noreads.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wcs/ctl/ctl.h"
#include "wcs/store/actions.h"

static const char *utc(int64_t us, char *buf, size_t len)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;

    if (us <= 0 || gmtime_r(&s, &tm) == NULL)
        return "-";
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static bool parse_id(const char *s, int64_t *id)
{
    char *end;

    errno = 0;
    *id = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0' && end != s && *id > 0;
}

static void print_json(json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    if (text != NULL)
        printf("%s\n", text);
    free(text);
    json_decref(j);
}

static int list_cb(void *arg, const struct wcs_noread *n)
{
    char at[32];

    if (arg != NULL) { /* --json: one object a line */
        print_json(wcs_noread_json(n));
        return 0;
    }
    printf("%-8lld %-8s %-12s %-10s %-20s %-20s %-10s %-6zu %s\n", (long long)n->id, n->node,
           n->tracking, n->location, utc(n->at_us, at, sizeof(at)), n->cause, n->state, n->nimages,
           n->code[0] ? n->code : "-");
    return 0;
}

int wcsctl_noread_list(PGconn *c, int argc, char **argv)
{
    const char *state = "pending", *line = NULL;
    bool json = false;
    long limit = 50;
    size_t pending = 0;
    struct err e;
    char *end;
    int i;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state = argv[++i];
        } else if (strcmp(argv[i], "--line") == 0 && i + 1 < argc) {
            line = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = strtol(argv[++i], &end, 10);
            if (*end != '\0' || limit < 1 || limit > 1000) {
                fprintf(stderr, "wcsctl: --limit %s: 1 to 1000\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: wcsctl noread list"
                            " [--state pending|keyed|unreadable|expired|all]"
                            " [--line NODE] [--limit N] [--json]\n");
            return 2;
        }
    }
    if (!json)
        printf("%-8s %-8s %-12s %-10s %-20s %-20s %-10s %-6s %s\n", "ID", "LINE", "TRACKING",
               "LOCATION", "AT", "CAUSE", "STATE", "IMAGES", "CODE");
    if (wcs_db_noreads_list(c, strcmp(state, "all") == 0 ? NULL : state, line, (size_t)limit,
                            list_cb, json ? &json : NULL, &pending, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return 2;
    }
    if (!json)
        printf("%zu pending\n", pending);
    return 0;
}

int wcsctl_noread_show(PGconn *c, int argc, char **argv)
{
    const char *dir = wcsctl_noread_dir();
    struct wcs_noread n;
    char t1[32], t2[32];
    struct err e;
    int64_t id;
    size_t i;

    bool json = argc == 2 && strcmp(argv[1], "--json") == 0;

    if ((argc != 1 && !json) || !parse_id(argv[0], &id)) {
        fprintf(stderr, "usage: wcsctl noread show ID [--json]\n");
        return 2;
    }
    if (wcs_db_noread_get(c, id, &n, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return e.code == ERR_NOTFOUND ? 1 : 2;
    }
    if (json) {
        print_json(wcs_noread_json(&n));
        return 0;
    }
    printf("no-read %lld\nline\t%s\ntracking\t%s\nlocation\t%s\nat\t%s\ncause\t%s\nstate\t%s\n",
           (long long)n.id, n.node, n.tracking, n.location, utc(n.at_us, t1, sizeof(t1)), n.cause,
           n.state);
    if (n.keyed_at_us > 0)
        printf("code\t%s\nkeyed by\t%s at %s\n", n.code[0] ? n.code : "- (unreadable)", n.keyed_by,
               utc(n.keyed_at_us, t2, sizeof(t2)));
    if (n.resolved_at_us > 0)
        printf("resolved\t%s to %s\n", utc(n.resolved_at_us, t1, sizeof(t1)), n.resolved_to);
    for (i = 0; i < n.nimages; i++)
        printf("image\t%s\t%s%s%s.pgm\n", n.cameras[i], dir != NULL ? dir : "",
               dir != NULL ? "/" : "", n.images[i]);
    return 0;
}

int wcsctl_noread_key(PGconn *c, int argc, char **argv)
{
    struct wcs_noread n;
    char who[32];
    bool warned = false, unreadable;
    struct err e;
    int64_t id;
    int rc;

    unreadable = argc == 2 && strcmp(argv[1], "--unreadable") == 0;
    if (argc != 2 || !parse_id(argv[0], &id) || (!unreadable && argv[1][0] == '-')) {
        fprintf(stderr, "usage: wcsctl noread key ID CODE | wcsctl noread key ID --unreadable\n");
        return 2;
    }
    wcsctl_actor(who, sizeof(who));
    rc = wcs_act_noread_key(c, who, id, unreadable ? NULL : argv[1], &n, &warned, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return rc == ERR_DB ? 2 : 1;
    }
    printf("no-read %lld\ttracking %s\t%s\n", (long long)n.id, n.tracking,
           unreadable ? "marked unreadable" : n.code);
    if (warned)
        fprintf(stderr, "wcsctl: warning: operator event not recorded: %s\n", e.msg);
    return 0;
}

static int oldest_cb(void *arg, const struct wcs_noread *n)
{
    *(int64_t *)arg = n->at_us;
    return 1;
}

int wcsctl_noread_status(PGconn *c)
{
    int64_t oldest = 0;
    size_t pending = 0;
    char at[32];
    struct err e;

    if (wcs_db_noreads_list(c, "pending", NULL, 1, oldest_cb, &oldest, &pending, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return 2;
    }
    if (pending > 0)
        printf("no-reads: %zu waiting for a code (oldest %s): wcsctl noread list\n", pending,
               utc(oldest, at, sizeof(at)));
    return 0;
}

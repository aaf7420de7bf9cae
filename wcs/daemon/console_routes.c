/*
 * console_routes.c - the console's routes (console_routes.h).
 */
#include "wcs/daemon/console_routes.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "wcs/store/users.h"

/* Copies the path segment at p (up to '/' or the end) into arg; returns
 * the rest, or NULL when it is empty or too long. */
static const char *segment(const char *p, char arg[CONSOLE_ARG_MAX])
{
    size_t i, n = strcspn(p, "/");

    if (n == 0 || n >= CONSOLE_ARG_MAX)
        return NULL;
    /* Printable ASCII, no blank: every id of the line is (chutes, codes,
     * users, manifests), and an id may reach a log line or the audit. */
    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7F)
            return NULL;
    memcpy(arg, p, n);
    arg[n] = '\0';
    return p + n;
}

static const struct {
    const char *prefix;          /* the path up to the id, or all of it */
    const char *suffix;          /* after the id; NULL: no id */
    bool post;
    enum console_route route;
    int min_role;                /* enum wcs_user_role; -1 any reader */
} routes[] = {
    {"/v1/stream", NULL, false, C_STREAM, -1},
    {"/v1/alarms", NULL, false, C_ALARMS, -1},
    {"/v1/alarms/", "/ack", true, C_ALARM_ACK, WCS_USER_OPERATOR},
    {"/v1/chutes/", "", false, C_CHUTE, -1},
    {"/v1/chutes/", "/close-bag", true, C_CHUTE_CLOSE, WCS_USER_OPERATOR},
    {"/v1/chutes/", "/disable", true, C_CHUTE_DISABLE, WCS_USER_OPERATOR},
    {"/v1/chutes/", "/enable", true, C_CHUTE_ENABLE, WCS_USER_OPERATOR},
    {"/v1/parcels/", "/trace", false, C_TRACE, -1},
    {"/v1/keyin", NULL, true, C_KEYIN, WCS_USER_OPERATOR},
    {"/v1/customs/problems", NULL, false, C_PROBLEMS, -1},
    {"/v1/bags", NULL, false, C_BAGS, -1},
    {"/v1/bags/", "/label", false, C_BAG_LABEL, -1},
    {"/v1/bags/", "/print", true, C_BAG_PRINT, WCS_USER_OPERATOR},
    {"/v1/dispatches", NULL, false, C_DISPATCHES, -1},
    {"/v1/dispatches", NULL, true, C_DISPATCH_OPEN, WCS_USER_SUPERVISOR},
    {"/v1/dispatches/", "/bags", true, C_DISPATCH_ADD, WCS_USER_SUPERVISOR},
    {"/v1/dispatches/", "/close", true, C_DISPATCH_CLOSE, WCS_USER_SUPERVISOR},
    {"/v1/plans", NULL, false, C_PLANS, -1},
    {"/v1/plans/", "/activate", true, C_PLAN_ACTIVATE, WCS_USER_SUPERVISOR},
    {"/v1/audit", NULL, false, C_AUDIT, -1},
    {"/v1/users", NULL, false, C_USERS, WCS_USER_ADMIN},
    {"/v1/users", NULL, true, C_USER_ADD, WCS_USER_ADMIN},
    {"/v1/users/", "/disable", true, C_USER_DISABLE, WCS_USER_ADMIN},
    {"/v1/users/", "/enable", true, C_USER_ENABLE, WCS_USER_ADMIN},
    {"/v1/session/language", NULL, true, C_LANGUAGE, WCS_USER_VIEWER},
    {"/v1/tracking/events", NULL, false, C_TRACKING, -1},
    {"/v1/noreads", NULL, false, C_NOREADS, -1},
    {"/v1/noreads/", "", false, C_NOREAD, -1},
    {"/v1/noreads/", "/key", true, C_NOREAD_KEY, WCS_USER_OPERATOR},
    {"/v1/noread-images/", "", false, C_NOREAD_IMAGE, -1},
};

enum console_route console_route_of(const char *method, const char *url,
                                    char arg[CONSOLE_ARG_MAX], int *min_role)
{
    bool post = strcmp(method, "POST") == 0;
    size_t i;

    arg[0] = '\0';
    *min_role = -1;
    if (!post && (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)) {
        snprintf(arg, CONSOLE_ARG_MAX, "index.html");
        return C_PAGE;
    }
    if (!post && strncmp(url, "/ui/", 4) == 0 && segment(url + 4, arg) != NULL &&
        url[4 + strlen(arg)] == '\0')
        return C_PAGE;
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t n = strlen(routes[i].prefix);
        const char *rest;

        if (routes[i].post != post || strncmp(url, routes[i].prefix, n) != 0)
            continue;
        if (routes[i].suffix == NULL) {
            if (url[n] != '\0')
                continue;
        } else {
            rest = segment(url + n, arg);
            if (rest == NULL || strcmp(rest, routes[i].suffix) != 0)
                continue;
        }
        *min_role = routes[i].min_role;
        return routes[i].route;
    }
    arg[0] = '\0';
    return C_NONE;
}


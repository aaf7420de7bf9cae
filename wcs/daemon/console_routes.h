/*
 * console_routes.h - the operator console's routes in wcsd's HTTP API
 * (docs/console.md): which one a request's method and path are, the id the
 * path names and the least role it needs. Pure: text in, route out.
 */
#ifndef WCS_CONSOLE_ROUTES_H
#define WCS_CONSOLE_ROUTES_H

#define CONSOLE_ARG_MAX 64 /* an id in a path: 1 to 63 printable ASCII characters,
                            * no blank, no '/' */

/* The console's routes. */
enum console_route {
    C_NONE = 0,
    C_STREAM,        /* GET  /v1/stream */
    C_ALARMS,        /* GET  /v1/alarms */
    C_ALARM_ACK,     /* POST /v1/alarms/ID/ack */
    C_CHUTE,         /* GET  /v1/chutes/ID */
    C_CHUTE_CLOSE,   /* POST /v1/chutes/ID/close-bag */
    C_CHUTE_DISABLE, /* POST /v1/chutes/ID/disable */
    C_CHUTE_ENABLE,  /* POST /v1/chutes/ID/enable */
    C_TRACE,         /* GET  /v1/parcels/CODE/trace */
    C_KEYIN,         /* POST /v1/keyin */
    C_PROBLEMS,      /* GET  /v1/customs/problems */
    C_BAGS,          /* GET  /v1/bags */
    C_BAG_LABEL,     /* GET  /v1/bags/ID/label[?format=pdf|zpl] */
    C_BAG_PRINT,     /* POST /v1/bags/ID/print */
    C_DISPATCHES,    /* GET  /v1/dispatches */
    C_DISPATCH_OPEN, /* POST /v1/dispatches */
    C_DISPATCH_ADD,  /* POST /v1/dispatches/ID/bags */
    C_DISPATCH_CLOSE,/* POST /v1/dispatches/ID/close */
    C_PLANS,         /* GET  /v1/plans */
    C_PLAN_ACTIVATE, /* POST /v1/plans/N/activate */
    C_AUDIT,         /* GET  /v1/audit */
    C_USERS,         /* GET  /v1/users */
    C_USER_ADD,      /* POST /v1/users */
    C_USER_DISABLE,  /* POST /v1/users/NAME/disable */
    C_USER_ENABLE,   /* POST /v1/users/NAME/enable */
    C_LANGUAGE,      /* POST /v1/session/language */
    C_TRACKING,      /* GET  /v1/tracking/events?after=CURSOR&limit=N */
    C_NOREADS,       /* GET  /v1/noreads[?state=pending|keyed|unreadable|all&limit=N] */
    C_NOREAD,        /* GET  /v1/noreads/ID */
    C_NOREAD_KEY,    /* POST /v1/noreads/ID/key {"code"} or {"unreadable": true} */
    C_NOREAD_IMAGE,  /* GET  /v1/noread-images/NAME: a no-read's image, PNG */
    C_PAGE,          /* GET  / and /ui/NAME: the console's files */
};

/* Which console route url is (C_NONE: none), with its
 * argument (an id from the path) and the least a user's role must be
 * (-1: any reader, a token too). */
enum console_route console_route_of(const char *method, const char *url,
                                    char arg[CONSOLE_ARG_MAX], int *min_role);

#endif

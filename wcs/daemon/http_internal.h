/*
 * http_internal.h - what the files of wcsd's HTTP server share: the
 * server, a request's state, the answer helpers. Not for other modules.
 */
#ifndef WCS_HTTP_INTERNAL_H
#define WCS_HTTP_INTERNAL_H

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "wcs/daemon/console_routes.h"
#include "wcs/daemon/http_api.h"
#include "wcs/daemon/login.h"
#include "wcs/daemon/sessions.h"

struct http_job;
struct stream_client;


/* Why a request was refused, for /metrics (wcs_http_refused_total). */
enum refusal {
    REFUSED_UNAUTHORIZED = 0, /* 401 */
    REFUSED_FORBIDDEN,        /* 403 */
    REFUSED_RATE,             /* 429: over http.scan_rate */
    REFUSED_LOCATION,         /* 422: a scan for a location not configured */
    REFUSED_OVERLOADED,       /* 503: the event writer has no room for scans */
    REFUSED_COUNT
};


/* A request let in on MHD's first call, answered on its last (answering
 * on the first call makes MHD close the connection: refusals do that, so a
 * refused body is never read). */
struct login_job;

struct request_state {
    int route;                   /* enum route */
    const struct wcs_token *who; /* its token */
    char user[WCS_USER_NAME_MAX + 1]; /* or its session's user, "" none */
    char session[WCS_SESSION_TEXT];   /* ... and that session's id */
    char addr[INET_ADDRSTRLEN];  /* its client */
    char *data;                  /* POST /v1/scans, /v1/login: the body so far */
    size_t len;
    int too_large;
    struct login_job *login;     /* POST /v1/login: its check, while it runs */
    unsigned login_status;       /* ... and its answer, once it has run (0 = not yet) */
    char *login_body;
    char login_cookie[160];
    int console;                 /* enum console_route, C_NONE for the rest */
    char arg[CONSOLE_ARG_MAX];   /* ... the id its path names */
    int role;                    /* the session's enum wcs_user_role, -1 a token */
    struct http_job *job;        /* a console job on the pool, while it runs */
    unsigned job_status;         /* ... its answer, once it has run (0 = not yet) */
    char *job_body;
    size_t job_len;              /* ... its length (a document may hold NULs) */
    const char *job_type;        /* ... its Content-Type (static) */
};

/* A login's password check on libuv's pool (login.h). */
struct login_job {
    uv_work_t work;
    struct login_job *next;      /* the server's running jobs */
    uint64_t users_gen;          /* the server's users_gen when it was queued */
    struct wcs_http *h;
    struct MHD_Connection *conn; /* suspended meanwhile */
    struct request_state *b;     /* NULL when the server stopped meanwhile */
    struct wcs_login login;
    struct wcs_login_result result;
};

struct wcs_http {
    struct wcs_http_sources src;
    const struct wcs_tokens *tokens; /* not owned; NULL = none */
    struct MHD_Daemon *mhd;
    uv_poll_t poll;     /* MHD's epoll fd */
    uv_timer_t timer;   /* MHD's own timeouts */
    int open_handles;
    bool tls;                    /* served over TLS (what later work, e.g. Secure cookies, asks) */
    bool started;                /* MHD_start_daemon() returned: its messages go to debug */
    unsigned scan_rate;          /* http.scan_rate, for messages */
    struct wcs_rate *scan_limit; /* POST /v1/scans per client address */
    struct wcs_rate *log_budget; /* refusal log lines */
    uint64_t refused[REFUSED_COUNT]; /* since start */
    uint64_t log_suppressed;         /* refusals not logged since the last one logged */
    struct wcs_sessions *sessions;   /* the console's logins */
    struct wcs_rate *login_limit;    /* POST /v1/login per client address */
    struct wcs_rate *login_name_limit; /* ... and per user name */
    int logins_running;              /* login jobs on the pool: h lives until they end */
    struct login_job *jobs;          /* ... and the jobs themselves */
    uint64_t users_gen;              /* counts users changed (their sessions ended) */
    bool stopping;
    /* The console (http_console.c). */
    struct http_job *cjobs;          /* console jobs, oldest first: h lives until they end */
    int cjobs_count;                 /* ... how many */
    int cjobs_running;               /* ... of which on the pool */
    uv_mutex_t db_mu;                /* the jobs' idle connections */
    PGconn *db_idle[4];
    int db_nidle;
    struct stream_client *streams;   /* GET /v1/stream */
    int nstreams;
};

/* The request being decided: what its refusal and the log line say. */
struct req {
    struct wcs_http *h;
    struct MHD_Connection *conn;
    const char *method, *url;    /* as the client sent them: unchecked text */
    const struct wcs_token *who; /* the token presented, when it is valid */
    const char *addr;            /* the client's address, as text */
    const char *user;            /* the session's user, when it came with one */
};


void run_mhd(struct wcs_http *h);
/* Has MHD run on the loop's next turn: for code that may be called from
 * inside one of MHD's callbacks, where MHD_run must not be called again. */
void http_kick(struct wcs_http *h);
enum MHD_Result reply_hdr(struct MHD_Connection *conn, unsigned status, const char *type,
                          char *body, const char *hname, const char *hvalue);
enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body);
/* A document of len bytes (it may hold NULs); MHD frees body. */
enum MHD_Result reply_doc(struct MHD_Connection *conn, unsigned status, const char *type,
                          char *body, size_t len);
char *json_body(json_t *j);
enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, json_t *j);
json_t *error_json(const char *code, const char *message);
enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                            const char *message);
enum MHD_Result reply_error_hdr(struct MHD_Connection *conn, unsigned status, const char *code,
                                const char *message, const char *hname, const char *hvalue);
/* Frees h once it stopped and nothing of it runs any more. */
void http_release(struct wcs_http *h);
/* An operator event (the audit) from the API: who did what. */
void audit(struct wcs_http *h, const char *user, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers a console request once its body is in. */
enum MHD_Result console_answer(struct wcs_http *h, struct MHD_Connection *conn,
                               struct request_state *b);
/* The server stops: every stream ends, every job is cut from its request. */
void console_stop(struct wcs_http *h);
void console_request_done(struct wcs_http *h, struct request_state *b);
/* Sets up and frees the console's part of h. */
int console_init(struct wcs_http *h);
void console_free(struct wcs_http *h);
/* Whether h may be freed: no job of the console runs. */
bool console_idle(const struct wcs_http *h);

#endif

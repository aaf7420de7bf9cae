/*
 * testutil.h - helpers the integration tests share: files, the wcsctl
 * command line, wcsd's HTTP API, collecting an HTTP body with libcurl and
 * counting rows in the test database.
 * Every helper fails the test (cmocka) on anything unexpected.
 */
#ifndef WCS_TESTUTIL_H
#define WCS_TESTUTIL_H

#include <stddef.h>

#include <jansson.h>

/* Writes text to path (truncated, or created with mode 0600). */
void tu_write_text(const char *path, const char *text);
/* The whole text of path (the caller frees it); fails the test if unreadable. */
char *tu_read_text(const char *path);

/* Runs the built wcsctl with "--db conninfo" and the NULL-terminated
 * arguments; fails the test unless it exits with want_status. */
void tu_wcsctl(const char *conninfo, int want_status, ...) __attribute__((sentinel));

/* The same, returning wcsctl's exit status and its stdout in *out (caller
 * frees). */
int tu_wcsctl_out(const char *conninfo, char **out, ...) __attribute__((sentinel));

/* A request to wcsd's HTTP API (tu_http_req()): in fields, then what came back. */
struct tu_req {
    int port;
    const char *path;
    const char *post;           /* JSON body to POST; NULL = GET */
    const char *token;          /* bearer token's secret; NULL = send none */
    const char *ca_file;        /* https:// trusting this certificate; NULL = http:// */
    int may_fail;               /* a transport error returns 0 instead of failing the test */
    char retry_after[16];       /* out: the Retry-After header, "" when none */
    char www_authenticate[128]; /* out: the WWW-Authenticate header, "" when none */
    char *body;                 /* out: the body as text (caller frees), NULL when none */
};

/* Sends r to 127.0.0.1:r->port; returns the HTTP status (0: a transport
 * error, only with may_fail); *out (may be NULL) gets the parsed JSON body
 * or NULL. */
long tu_http_req(struct tu_req *r, json_t **out);

/* The token tu_http() sends (NULL = none; the string must stay valid).
 * twcsd_prepare() sets its admin token. */
void tu_http_set_token(const char *secret);

/* GET (post NULL) or POST a JSON body to http://127.0.0.1:port/path with the
 * token of tu_http_set_token(). Returns the HTTP status; *out (may be NULL)
 * gets the parsed JSON body or NULL. */
long tu_http(int port, const char *path, const char *post, json_t **out);

/* A response body as tu_body_cb collects it: data (NULL until the first
 * byte arrives, then always NUL-terminated) holds len bytes; the caller
 * frees data. Start from {NULL, 0}. */
struct tu_body {
    char *data;
    size_t len;
};

/* CURLOPT_WRITEFUNCTION appending what curl received to the struct tu_body
 * given as CURLOPT_WRITEDATA. Returns the bytes taken, or 0 when out of
 * memory, which makes curl end the transfer with CURLE_WRITE_ERROR (a
 * cmocka failure cannot unwind through libcurl). */
size_t tu_body_cb(char *ptr, size_t size, size_t nmemb, void *ud);

/* The first column of the first row of a formatted query, as a number. */
long long tu_db_count(const char *conninfo, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

/*
 * secrets.h - the files named by wcsd's config that hold secrets: the
 * operator HTTP API's tokens file (http.tokens_file) and TLS key
 * (http.tls_key), and its TLS certificate, read the same way.
 *
 * A file holding a secret must be a regular file that others (users outside
 * its owner and group) can neither read nor write; wcsd refuses to start
 * otherwise. Secrets never appear in a message: problems name the file, the
 * line and the reason.
 *
 * The tokens file holds one token a line, "NAME ROLE SECRET" separated by
 * blanks; blank lines and lines starting with '#' are ignored. NAME (1-32 of
 * A-Z a-z 0-9 . _ -) is what logs and refusals show; ROLE is scanner,
 * monitor, operator, admin or partner; SECRET is 16 to TOKEN_SECRET_MAX printable
 * ASCII characters without blanks. Names and secrets are unique.
 */
#ifndef WCS_CONFIG_SECRETS_H
#define WCS_CONFIG_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/token.h"

/* What a token may do (docs/wcsd.md "HTTP API"): scanner only posts scans,
 * monitor only reads (GET /v1/..., /metrics), operator and admin do both;
 * partner (a sender's platform) only follows the tracking feed. */
enum wcs_role {
    WCS_ROLE_SCANNER = 0,
    WCS_ROLE_MONITOR,
    WCS_ROLE_OPERATOR,
    WCS_ROLE_ADMIN,
    WCS_ROLE_PARTNER
};

#define WCS_TOKENS_MAX 256        /* tokens in one file */
#define WCS_TOKEN_NAME_MAX 32     /* characters of a token's name */
#define WCS_TOKEN_SECRET_MIN 16   /* characters of a secret, at least */
#define WCS_SECRET_FILE_MAX 65536 /* bytes of a certificate or key file */

struct wcs_token {
    char name[WCS_TOKEN_NAME_MAX + 1];
    enum wcs_role role;
    struct token_secret secret;
};

/* The tokens of a tokens file; {NULL, 0} = none (no machine token valid). */
struct wcs_tokens {
    struct wcs_token *v;
    size_t n;
};

/* "scanner", "monitor", "operator", "admin", "partner"; "?" out of range. */
const char *wcs_role_name(enum wcs_role r);

/* True when a token of role r may read (GET /v1/..., /metrics). */
bool wcs_role_may_read(enum wcs_role r);

/* True when a token of role r may follow the tracking feed
 * (GET /v1/tracking/events): every reader, and partner. */
bool wcs_role_may_track(enum wcs_role r);

/* True when a token of role r may post scans (POST /v1/scans). */
bool wcs_role_may_scan(enum wcs_role r);

/*
 * Reads the tokens file path (the value of config key `key`, for messages)
 * into *t. Every problem of a line goes to d as "PATH:LINE: field: reason".
 * Returns 0; -errno when the file cannot be opened (e says why); ERR_CONFIG
 * when others may read or write it, it is not a regular file, or a line is
 * wrong (e says the first problem, d has them all). On failure *t is empty.
 */
int wcs_tokens_load(const char *path, const char *key, struct wcs_tokens *t, struct diag *d,
                    struct err *e);

/* Wipes the secrets and frees; leaves *t empty. */
void wcs_tokens_free(struct wcs_tokens *t);

/* Wipes the secrets (a wiped secret matches nothing) and keeps the names
 * and roles: a set replaced by a reload stays readable by the requests
 * still in flight, which name their token; freed later with
 * wcs_tokens_free(). */
void wcs_tokens_retire(struct wcs_tokens *t);

/* The token whose secret is presented, or NULL. Compares the presented
 * secret with every token's (no early exit, token_secret_equal()), so the
 * time taken says nothing about which one matched or how nearly. */
const struct wcs_token *wcs_tokens_match(const struct wcs_tokens *t,
                                         const struct token_secret *presented);

/*
 * Reads a whole file of at most WCS_SECRET_FILE_MAX bytes (key names its
 * config key in messages) into a new NUL-terminated buffer *out of *len
 * bytes. With private, the file must not be readable or writable by others.
 * Returns 0, -errno, or ERR_CONFIG (too large, empty, not a regular file,
 * open to others). Free with wcs_secret_free().
 */
int wcs_secret_file_read(const char *path, const char *key, bool private_, char **out, size_t *len,
                         struct err *e);

/* Wipes and frees what wcs_secret_file_read() returned (NULL is a no-op). */
void wcs_secret_free(char *buf, size_t len);

#endif

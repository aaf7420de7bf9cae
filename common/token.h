/*
 * token.h - bearer tokens of wcsd's operator HTTP API, the parts a client
 * and the server share: a client's token file, the Authorization header,
 * the rule for a secret's characters and a comparison whose time does not
 * depend on where two secrets differ.
 *
 * A client's token file (wcs-scan --token-file, wcs-linesim --token-file,
 * wcsctl --token-file, bench-roundtrip --token-file) holds the secret alone
 * on its first line that is neither blank nor a '#' comment. The server's
 * tokens file (NAME ROLE SECRET lines) is read by wcs/config/secrets.h.
 * A secret is never put in an error message or a log line.
 */
#ifndef WCS_COMMON_TOKEN_H
#define WCS_COMMON_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define TOKEN_SECRET_MAX 128 /* characters of a secret, at most */

/* A secret of n characters as the server keeps it: zero-padded to the full
 * size, so that comparing two takes the same steps whatever their length. */
struct token_secret {
    unsigned char text[TOKEN_SECRET_MAX];
    size_t len;
};

/* True when s[0..n) can be a secret: 1 to TOKEN_SECRET_MAX characters of
 * printable ASCII without blanks (0x21-0x7E). */
bool token_secret_valid(const char *s, size_t n);

/* Fills *out from s[0..n) (n <= TOKEN_SECRET_MAX, else the text is cut). */
void token_secret_set(struct token_secret *out, const char *s, size_t n);

/* True when a and b hold the same secret. Always compares every byte of both
 * (no early exit), so the time taken says nothing about the contents. */
bool token_secret_equal(const struct token_secret *a, const struct token_secret *b);

/* Overwrites *s with zeros in a way the compiler keeps. */
void token_secret_wipe(struct token_secret *s);

/*
 * Reads a client's token file into buf (len bytes, at least
 * TOKEN_SECRET_MAX + 1): the secret alone on the first line that is neither
 * blank nor a '#' comment, blanks around it ignored. Returns 0; -errno when
 * the file cannot be read; ERR_CONFIG when it holds no secret or a malformed
 * one ("PATH:LINE: reason", never the secret itself). buf is wiped on failure.
 */
int token_read_file(const char *path, char *buf, size_t len, struct err *e);

/* Writes the request header "Authorization: Bearer SECRET" into buf.
 * Returns 0, or ERR_INVALID when it does not fit in len bytes. */
int token_auth_header(const char *secret, char *buf, size_t len);

#endif

/*
 * password.h - operators' passwords (issue 11: logins): the rule a password
 * must keep, its hash and its check. libsodium's argon2id (crypto_pwhash),
 * salted, slow on purpose: a stolen users table gives no password cheaply.
 * Pure: text in, text out; nothing is logged, and no message quotes a
 * password.
 */
#ifndef WCS_PASSWORD_H
#define WCS_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define WCS_PASSWORD_MIN 10       /* characters (bytes) of a password, at least */
#define WCS_PASSWORD_MAX 128      /* ... and at most */
#define WCS_PASSWORD_HASH_MAX 128 /* bytes of a stored hash with its NUL (crypto_pwhash_STRBYTES) */

/* 0 when pw[0..len) may be a password: WCS_PASSWORD_MIN..MAX bytes, no
 * control character (UTF-8 letters are fine); ERR_INVALID with the rule in e
 * otherwise. */
int wcs_password_check(const char *pw, size_t len, struct err *e);

/* Hashes pw[0..len) (checked as above) into out: an "$argon2id$..." string
 * with its own random salt and cost. Returns 0, ERR_INVALID, or -ENOMEM
 * (the KDF's memory). */
int wcs_password_hash(const char *pw, size_t len, char out[WCS_PASSWORD_HASH_MAX], struct err *e);

/* True when pw[0..len) is the password hash was made from. Takes as long as
 * the hash's cost whatever the answer. */
bool wcs_password_verify(const char *hash, const char *pw, size_t len);

#endif

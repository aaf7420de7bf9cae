/*
 * password.c - hashing and checking operators' passwords (password.h) with
 * libsodium's argon2id.
 */
#include "wcs/core/password.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>

/* libsodium asks for sodium_init() before use; once is enough. */
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void sodium_start(void)
{
    sodium_ok = sodium_init() >= 0;
}

int wcs_password_check(const char *pw, size_t len, struct err *e)
{
    size_t i;

    if (len < WCS_PASSWORD_MIN || len > WCS_PASSWORD_MAX)
        return err_set(e, ERR_INVALID, "password: %d to %d characters", WCS_PASSWORD_MIN,
                       WCS_PASSWORD_MAX);
    for (i = 0; i < len; i++)
        if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7F)
            return err_set(e, ERR_INVALID, "password: no control characters");
    return 0;
}

int wcs_password_hash(const char *pw, size_t len, char out[WCS_PASSWORD_HASH_MAX], struct err *e)
{
    int rc = wcs_password_check(pw, len, e);

    if (rc < 0)
        return rc;
    pthread_once(&sodium_once, sodium_start);
    if (!sodium_ok)
        return err_set(e, -ENOMEM, "password: libsodium did not start");
    /* The "interactive" cost: 64 MiB and a few passes, about 0.1 s here; a
     * login waits that long once, a guesser for every guess. */
    if (crypto_pwhash_str_alg(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return err_set(e, -ENOMEM, "password: out of memory for the hash");
    return 0;
}

bool wcs_password_verify(const char *hash, const char *pw, size_t len)
{
    pthread_once(&sodium_once, sodium_start);
    return sodium_ok && hash != NULL && strncmp(hash, "$argon2id$", 10) == 0 &&
           crypto_pwhash_str_verify(hash, pw, len) == 0;
}

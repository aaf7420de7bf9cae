/*
 * secret_file.h - the one way a secret (a token, a password, a TLS key) is
 * read from a file: the file must be a regular file that those who must not
 * know the secret can neither read nor write, checked on the file opened (not
 * on a name that may change meanwhile). Messages name the file and the
 * setting, never the secret.
 */
#ifndef WCS_COMMON_SECRET_FILE_H
#define WCS_COMMON_SECRET_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

/* Who besides the file's owner may read it. */
enum secret_file_access {
    SECRET_FILE_OWNER, /* nobody (0600, 0400): a credential given to us alone */
    SECRET_FILE_GROUP, /* the owner's group too (0640): a service's group */
    SECRET_FILE_ANY    /* anyone: no secret in it (a certificate that goes with a key) */
};

/*
 * Opens path for reading after checking it: a regular file; unless
 * SECRET_FILE_ANY, no bit for "others" (read or write) and no group write,
 * and with SECRET_FILE_OWNER no group read. Returns the descriptor (O_CLOEXEC; the caller closes it),
 * -errno when it cannot be opened, ERR_CONFIG when it is not private enough:
 * "WHAT: PATH is open to other users (mode 0644): ... chmod 600 PATH".
 */
int secret_file_open(const char *path, const char *what, enum secret_file_access access,
                     struct err *e);

/* The same as a stream: 0 with *out open (the caller fcloses it), or the
 * error of secret_file_open(), *out NULL. */
int secret_file_fopen(const char *path, const char *what, enum secret_file_access access,
                      FILE **out, struct err *e);

/*
 * Reads the first line of a secret file (checked as above) into buf (len
 * bytes), trailing CR, LF and blanks cut. Returns 0; -errno or ERR_CONFIG as
 * above; ERR_CONFIG when the line is empty or does not fit in len - 1 bytes.
 * buf and every copy of the file's bytes are wiped on failure.
 */
int secret_file_first_line(const char *path, const char *what, enum secret_file_access access,
                           char *buf, size_t len, struct err *e);

#endif

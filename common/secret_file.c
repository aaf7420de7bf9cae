/*
 * secret_file.c - opening and reading a secret's file (secret_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_file.h"

int secret_file_open(const char *path, const char *what, enum secret_file_access access,
                     struct err *e)
{
    mode_t bad = access == SECRET_FILE_ANY ? 0
                 : S_IROTH | S_IWOTH | S_IWGRP | (access == SECRET_FILE_OWNER ? S_IRGRP : 0);
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return err_set(e, -errno, "%s: %s: %s", what, path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        close(fd);
        return err_set(e, rc, "%s: %s: %s", what, path, strerror(-rc));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, ERR_CONFIG, "%s: %s: not a regular file", what, path);
    }
    if ((st.st_mode & bad) != 0) {
        close(fd);
        return err_set(e, ERR_CONFIG,
                       "%s: %s is open to %s (mode %04o): it holds a secret; make it %s only "
                       "(chmod %s %s; a secret others may have read is replaced, not kept)",
                       what, path, (st.st_mode & (S_IROTH | S_IWOTH)) ? "other users" : "its group",
                       (unsigned)(st.st_mode & 07777),
                       access == SECRET_FILE_OWNER ? "readable by its owner"
                                                   : "readable by its owner and group",
                       access == SECRET_FILE_OWNER ? "600" : "640", path);
    }
    return fd;
}

int secret_file_fopen(const char *path, const char *what, enum secret_file_access access,
                      FILE **out, struct err *e)
{
    int fd = secret_file_open(path, what, access, e), rc;

    *out = NULL;
    if (fd < 0)
        return fd;
    *out = fdopen(fd, "r");
    if (*out == NULL) {
        rc = -errno;
        close(fd);
        return err_set(e, rc, "%s: %s: %s", what, path, strerror(-rc));
    }
    return 0;
}

int secret_file_first_line(const char *path, const char *what, enum secret_file_access access,
                           char *buf, size_t len, struct err *e)
{
    char line[1024];
    size_t n, max = len - 1 < sizeof(line) - 2 ? len - 1 : sizeof(line) - 2;
    FILE *f;
    int rc;

    if (len == 0)
        return err_set(e, ERR_INVALID, "%s: no room for the secret", what);
    buf[0] = '\0';
    rc = secret_file_fopen(path, what, access, &f, e);
    if (rc < 0)
        return rc;
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    fclose(f);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t'))
        line[--n] = '\0';
    if (n == 0)
        rc = err_set(e, ERR_CONFIG, "%s: %s: its first line is empty", what, path);
    else if (n > max)
        rc = err_set(e, ERR_CONFIG, "%s: %s: its first line is longer than %zu characters", what,
                     path, max);
    else
        memcpy(buf, line, n + 1);
    explicit_bzero(line, sizeof(line));
    if (rc < 0 && len > 0)
        explicit_bzero(buf, len);
    return rc;
}

/*
 * secrets.c - reading the files that hold wcsd's secrets (see secrets.h):
 * the tokens file line by line, certificate and key whole. Every buffer that
 * held a secret is wiped before it is freed or goes out of scope.
 */
#include "wcs/config/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_file.h"

#define LINE_MAX_CHARS 512

static const char *const role_names[] = {
    [WCS_ROLE_SCANNER] = "scanner",
    [WCS_ROLE_MONITOR] = "monitor",
    [WCS_ROLE_OPERATOR] = "operator",
    [WCS_ROLE_ADMIN] = "admin",
    [WCS_ROLE_PARTNER] = "partner",
};

#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

const char *wcs_role_name(enum wcs_role r)
{
    return (size_t)r < NROLES ? role_names[r] : "?";
}

bool wcs_role_may_read(enum wcs_role r)
{
    return r == WCS_ROLE_MONITOR || r == WCS_ROLE_OPERATOR || r == WCS_ROLE_ADMIN;
}

bool wcs_role_may_track(enum wcs_role r)
{
    return wcs_role_may_read(r) || r == WCS_ROLE_PARTNER;
}

bool wcs_role_may_scan(enum wcs_role r)
{
    return r == WCS_ROLE_SCANNER || r == WCS_ROLE_OPERATOR || r == WCS_ROLE_ADMIN;
}

/* --- the tokens file ------------------------------------------------------- */

static bool name_valid(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > WCS_TOKEN_NAME_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int role_parse(const char *s, size_t n, enum wcs_role *out)
{
    size_t i;

    for (i = 0; i < NROLES; i++) {
        if (strlen(role_names[i]) == n && memcmp(role_names[i], s, n) == 0) {
            *out = (enum wcs_role)i;
            return 0;
        }
    }
    return -1;
}

/* Splits line into blank-separated words (at most max; *n gets how many,
 * max + 1 meaning "more"). */
static void split(char *line, char **w, size_t *wl, size_t max, size_t *n)
{
    char *p = line;

    *n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == '\0')
            return;
        if (*n == max) {
            (*n)++;
            return;
        }
        w[*n] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
        wl[*n] = (size_t)(p - w[*n]);
        (*n)++;
    }
}

/* Checks one "NAME ROLE SECRET" line (its words) against the tokens read so
 * far and appends it to t. Problems go to f. */
static void token_line(struct diag_file *f, int lineno, char **w, size_t *wl, size_t nw,
                       struct wcs_tokens *t, int *lines)
{
    struct wcs_token *tok;
    enum wcs_role role;
    size_t i;

    if (nw != 3) {
        diag_report(f, lineno, "(line)", "expected NAME ROLE SECRET, found %s",
                    nw < 3 ? "fewer words" : "more words");
        return;
    }
    if (!name_valid(w[0], wl[0])) {
        diag_report(f, lineno, "name", "1 to %d characters of A-Z a-z 0-9 . _ - expected",
                    WCS_TOKEN_NAME_MAX);
        return;
    }
    if (role_parse(w[1], wl[1], &role) < 0) {
        /* Not quoted: a line with its words out of order may have a secret here. */
        diag_report(f, lineno, "role",
                    "the second word is not scanner, monitor, operator, admin or partner");
        return;
    }
    if (wl[2] < WCS_TOKEN_SECRET_MIN || !token_secret_valid(w[2], wl[2])) {
        diag_report(f, lineno, "secret",
                    "%d to %d printable ASCII characters without blanks expected (%zu given)",
                    WCS_TOKEN_SECRET_MIN, TOKEN_SECRET_MAX, wl[2]);
        return;
    }
    if (t->n == WCS_TOKENS_MAX) {
        diag_report(f, lineno, "(line)", "more than %d tokens", WCS_TOKENS_MAX);
        return;
    }
    tok = &t->v[t->n];
    memset(tok, 0, sizeof(*tok));
    memcpy(tok->name, w[0], wl[0]);
    tok->role = role;
    token_secret_set(&tok->secret, w[2], wl[2]);
    for (i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, tok->name) == 0) {
            diag_report(f, lineno, "name", "%s already used at line %d", tok->name, lines[i]);
            token_secret_wipe(&tok->secret);
            return;
        }
        if (token_secret_equal(&t->v[i].secret, &tok->secret)) {
            diag_report(f, lineno, "secret", "the same secret as token %s at line %d", t->v[i].name,
                        lines[i]);
            token_secret_wipe(&tok->secret);
            return;
        }
    }
    lines[t->n++] = lineno;
}

int wcs_tokens_load(const char *path, const char *key, struct wcs_tokens *t, struct diag *d,
                    struct err *e)
{
    struct diag_file df = {path, d, e, 0};
    char line[LINE_MAX_CHARS + 2], *w[3];
    size_t wl[3], nw;
    int rc, lineno = 0, *lines;
    FILE *f;

    t->v = NULL;
    t->n = 0;
    rc = secret_file_fopen(path, key, SECRET_FILE_GROUP, &f, e);
    if (rc < 0)
        return rc;
    t->v = calloc(WCS_TOKENS_MAX, sizeof(*t->v));
    lines = calloc(WCS_TOKENS_MAX, sizeof(*lines));
    if (t->v == NULL || lines == NULL) {
        fclose(f);
        free(t->v);
        free(lines);
        t->v = NULL;
        return err_set(e, -ENOMEM, "%s: out of memory", key);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            int ch;
            diag_report(&df, lineno, "(line)", "longer than %d characters", LINE_MAX_CHARS);
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        split(line, w, wl, 3, &nw);
        if (nw == 0 || w[0][0] == '#')
            continue;
        token_line(&df, lineno, w, wl, nw, t, lines);
    }
    fclose(f);
    explicit_bzero(line, sizeof(line));
    free(lines);
    if (df.problems > 0) {
        wcs_tokens_free(t);
        return err_wrap(e, ERR_CONFIG, "%s", key);
    }
    return 0;
}

void wcs_tokens_free(struct wcs_tokens *t)
{
    if (t->v != NULL) {
        explicit_bzero(t->v, WCS_TOKENS_MAX * sizeof(*t->v));
        free(t->v);
    }
    t->v = NULL;
    t->n = 0;
}

void wcs_tokens_retire(struct wcs_tokens *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        token_secret_wipe(&t->v[i].secret);
}

const struct wcs_token *wcs_tokens_match(const struct wcs_tokens *t,
                                         const struct token_secret *presented)
{
    const struct wcs_token *found = NULL;
    size_t i;

    for (i = 0; i < t->n; i++) {
        bool eq = token_secret_equal(&t->v[i].secret, presented);
        /* No break: every token is compared whatever matched before. */
        if (eq)
            found = &t->v[i];
    }
    return found;
}

/* --- certificate and key ----------------------------------------------------- */

int wcs_secret_file_read(const char *path, const char *key, bool private_, char **out, size_t *len,
                         struct err *e)
{
    char *buf;
    size_t n = 0;
    ssize_t got;
    int fd, rc;

    *out = NULL;
    *len = 0;
    fd = secret_file_open(path, key, private_ ? SECRET_FILE_GROUP : SECRET_FILE_ANY, e);
    if (fd < 0)
        return fd;
    buf = malloc(WCS_SECRET_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        return err_set(e, -ENOMEM, "%s: out of memory", key);
    }
    while ((got = read(fd, buf + n, WCS_SECRET_FILE_MAX + 1 - n)) > 0) {
        n += (size_t)got;
        if (n > WCS_SECRET_FILE_MAX)
            break;
    }
    rc = got < 0 ? -errno : 0;
    close(fd);
    if (rc < 0)
        rc = err_set(e, rc, "%s: %s: %s", key, path, strerror(-rc));
    else if (n > WCS_SECRET_FILE_MAX)
        rc = err_set(e, ERR_CONFIG, "%s: %s: larger than %d bytes", key, path, WCS_SECRET_FILE_MAX);
    else if (n == 0)
        rc = err_set(e, ERR_CONFIG, "%s: %s: empty", key, path);
    if (rc < 0) {
        wcs_secret_free(buf, WCS_SECRET_FILE_MAX + 1);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

void wcs_secret_free(char *buf, size_t len)
{
    if (buf == NULL)
        return;
    explicit_bzero(buf, len);
    free(buf);
}

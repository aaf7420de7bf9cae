/*
 * fuzz-tokens.c - libFuzzer entry point for the readers of secrets' files
 * (docs/fuzzing.md): wcsd's tokens file (wcs_tokens_load: NAME ROLE SECRET
 * lines) and a client's token file (token_read_file: the secret alone).
 *
 * The input is the file, written to one private file per process (mode
 * 0600, so the mode check passes and the parser is reached). Beyond "no
 * crash", it checks:
 *  - wcs_tokens_load ends in 0 with no message, or ERR_CONFIG with at least
 *    one, each one printable line naming the file; on failure no token is
 *    kept;
 *  - tokens loaded keep the file's rules: at most WCS_TOKENS_MAX, names of
 *    1-32 allowed characters and unique, known roles, secrets of 16-128
 *    printable characters without blanks and unique;
 *  - no message quotes a secret of the file (every run of 16 or more
 *    printable characters without blanks the input holds, but a line's
 *    first word, a token's name, is looked for);
 *  - token_read_file returns a valid secret, or an error with buf wiped.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/fuzzutil.h"
#include "wcs/config/secrets.h"

static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > WCS_TOKEN_NAME_MAX)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void check_tokens(const struct wcs_tokens *t)
{
    size_t i, j;

    if (t->n > WCS_TOKENS_MAX)
        abort();
    for (i = 0; i < t->n; i++) {
        const struct wcs_token *k = &t->v[i];

        if (!name_ok(k->name) || k->role > WCS_ROLE_ADMIN ||
            k->secret.len < WCS_TOKEN_SECRET_MIN || k->secret.len > TOKEN_SECRET_MAX ||
            !token_secret_valid((const char *)k->secret.text, k->secret.len))
            abort();
        for (j = 0; j < i; j++)
            if (strcmp(t->v[j].name, k->name) == 0 ||
                token_secret_equal(&t->v[j].secret, &k->secret))
                abort();
    }
}

/* msg with every occurrence of what (the file's path, the key) blanked out:
 * they are in messages by design. */
static void blank_out(char *msg, const char *what)
{
    size_t n = strlen(what);
    char *p;

    while ((p = strstr(msg, what)) != NULL)
        memset(p, ' ', n);
}

/* True when the word at data[start] is the first on its line: a token's
 * name, which messages show by design. */
static bool first_on_line(const uint8_t *data, size_t start)
{
    while (start > 0 && (data[start - 1] == ' ' || data[start - 1] == '\t'))
        start--;
    return start == 0 || data[start - 1] == '\n';
}

/* Aborts when msg quotes a run of 16 or more secret characters of the
 * input other than a name: the readers must never put a secret in a
 * message. */
static void check_no_secret(const char *msg, const char *path, const uint8_t *data, size_t size)
{
    char skel[ERR_MSG_MAX > DIAG_MSG_MAX ? ERR_MSG_MAX : DIAG_MSG_MAX], word[TOKEN_SECRET_MAX + 1];
    size_t i = 0, start, n;

    snprintf(skel, sizeof(skel), "%s", msg);
    blank_out(skel, path);
    blank_out(skel, "fuzz.tokens_file");
    while (i < size) {
        while (i < size && !token_secret_valid((const char *)data + i, 1))
            i++;
        start = i;
        while (i < size && token_secret_valid((const char *)data + i, 1))
            i++;
        n = i - start;
        if (n < WCS_TOKEN_SECRET_MIN || n > TOKEN_SECRET_MAX || first_on_line(data, start))
            continue;
        memcpy(word, data + start, n);
        word[n] = '\0';
        if (strstr(skel, word) != NULL)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct wcs_tokens t = {0};
    struct diag d = DIAG_INIT;
    struct err e = {0};
    char buf[TOKEN_SECRET_MAX + 1];
    size_t i;
    int fd, rc;

    if (path[0] == '\0')
        snprintf(path, sizeof(path), "/tmp/fuzz-tokens-%d", (int)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
        abort();

    rc = wcs_tokens_load(path, "fuzz.tokens_file", &t, &d, &e);
    if (rc == 0) {
        if (diag_count(&d) != 0)
            abort();
        check_tokens(&t);
    } else if (rc != ERR_CONFIG || diag_count(&d) == 0 || t.n != 0 || t.v != NULL) {
        abort();
    }
    if (getenv("FUZZ_PRINT") != NULL) /* reproducing a crash: what was said */
        diag_print(&d, stderr);
    fuzz_check_diag(&d, path);
    for (i = 0; i < d.n; i++)
        check_no_secret(d.msgs[i], path, data, size);
    if (rc < 0)
        check_no_secret(e.msg, path, data, size);
    wcs_tokens_free(&t);
    diag_free(&d);

    rc = token_read_file(path, buf, sizeof(buf), &e);
    if (rc == 0 && !token_secret_valid(buf, strlen(buf)))
        abort();
    if (rc < 0) {
        if (buf[0] != '\0')
            abort();
        fuzz_check_text(e.msg, sizeof(e.msg));
        check_no_secret(e.msg, path, data, size);
    }
    return 0;
}

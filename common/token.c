/* token.c - bearer tokens shared by wcsd's API clients and server (see token.h). */
#include "common/token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/secret_file.h"

bool token_secret_valid(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > TOKEN_SECRET_MAX)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
            return false;
    return true;
}

void token_secret_set(struct token_secret *out, const char *s, size_t n)
{
    if (n > TOKEN_SECRET_MAX)
        n = TOKEN_SECRET_MAX;
    memset(out->text, 0, sizeof(out->text));
    memcpy(out->text, s, n);
    out->len = n;
}

bool token_secret_equal(const struct token_secret *a, const struct token_secret *b)
{
    /* volatile: the loop must run to the end whatever it has found so far. */
    volatile unsigned char diff = 0;
    size_t i;

    for (i = 0; i < TOKEN_SECRET_MAX; i++)
        diff |= (unsigned char)(a->text[i] ^ b->text[i]);
    diff |= (unsigned char)(a->len != b->len);
    return diff == 0;
}

void token_secret_wipe(struct token_secret *s)
{
    explicit_bzero(s, sizeof(*s));
}

/* The line's one word, blanks around it cut: [*start, *start + *n). Returns
 * the number of words (0, 1, or 2 meaning "more than one"). */
static int one_word(char *line, char **start, size_t *n)
{
    char *p = line, *end;

    while (*p == ' ' || *p == '\t')
        p++;
    end = p;
    while (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
        end++;
    *start = p;
    *n = (size_t)(end - p);
    if (*n == 0)
        return 0;
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    return *end == '\0' ? 1 : 2;
}

int token_read_file(const char *path, char *buf, size_t len, struct err *e)
{
    char line[TOKEN_SECRET_MAX + 64], *word;
    int lineno = 0, words, rc;
    size_t n;
    FILE *f;

    if (len > 0)
        buf[0] = '\0';
    rc = secret_file_fopen(path, "token file", SECRET_FILE_GROUP, &f, e);
    if (rc < 0)
        return rc;
    for (;;) {
        if (fgets(line, sizeof(line), f) == NULL) {
            rc = err_set(e, ERR_CONFIG, "token file: %s: no token in it", path);
            break;
        }
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = err_set(e, ERR_CONFIG, "%s:%d: line longer than %d characters", path, lineno,
                         TOKEN_SECRET_MAX);
            break;
        }
        words = one_word(line, &word, &n);
        if (words == 0 || word[0] == '#')
            continue;
        if (words > 1)
            rc = err_set(e, ERR_CONFIG, "%s:%d: a token file holds the secret alone on its line",
                         path, lineno);
        else if (!token_secret_valid(word, n))
            rc = err_set(e, ERR_CONFIG,
                         "%s:%d: a secret is 1 to %d printable ASCII characters without blanks",
                         path, lineno, TOKEN_SECRET_MAX);
        else if (n + 1 > len)
            rc = err_set(e, ERR_CONFIG, "%s:%d: secret longer than %zu characters", path, lineno,
                         len - 1);
        else {
            memcpy(buf, word, n);
            buf[n] = '\0';
            rc = 0;
        }
        break;
    }
    fclose(f);
    explicit_bzero(line, sizeof(line));
    if (rc < 0 && len > 0)
        explicit_bzero(buf, len);
    return rc;
}

int token_auth_header(const char *secret, char *buf, size_t len)
{
    int n = snprintf(buf, len, "Authorization: Bearer %s", secret);

    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            explicit_bzero(buf, len);
        return ERR_INVALID;
    }
    return 0;
}

/*
 * testbroker.c - wcs-brokersim as a test's child process (testbroker.h).
 */
#include "tests/common/testbroker.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

int tb_token_dir(const char *name, const char *token, char *dir, size_t dir_len,
                 char *token_path, size_t token_len)
{
    size_t n = strlen(token);
    int fd, ok;

    snprintf(dir, dir_len, "/tmp/%s-XXXXXX", name);
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(token_path, token_len, "%s/token", dir);
    fd = open(token_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ok = write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
    close(fd);
    if (ok)
        curl_global_init(CURL_GLOBAL_DEFAULT);
    return ok ? 0 : -1;
}

void tb_token_dir_remove(const char *dir, const char *token_path)
{
    unlink(token_path);
    rmdir(dir);
    curl_global_cleanup();
}

void tb_sim_start(struct tb_sim *s, const char *bin, const char *token_path,
                  const char *const extra[])
{
    const char *argv[40] = {bin, "--token-file", token_path, "--port", "0"};
    size_t n = 5;
    char line[256], *p;

    while (extra != NULL && *extra != NULL && n < 38)
        argv[n++] = *extra++;
    argv[n] = NULL;
    proc_start(argv, &s->p);
    if (proc_wait_line(&s->p, "brokersim ready http://127.0.0.1:", 20000, line, sizeof(line)) < 0)
        fail_msg("brokersim did not become ready:\n%s", s->p.log ? s->p.log : "");
    p = strstr(line, "127.0.0.1:");
    assert_non_null(p);
    s->port = atoi(p + 10);
    assert_true(s->port > 0);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

void tb_sim_stop(struct tb_sim *s)
{
    /* A clean stop on SIGTERM exits 0. */
    assert_int_equal(proc_stop(&s->p, SIGTERM, 20000), 0);
    free(s->p.log);
    s->p.log = NULL;
}

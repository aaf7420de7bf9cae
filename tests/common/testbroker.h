/*
 * testbroker.h - what the customs tests share to run wcs-brokersim as a
 * child process: a private directory with a 0600 bearer-token file, the
 * emulator started on a free port (its ready line parsed) and stopped.
 * Bodies of its answers are collected with tu_body_cb (testutil.h).
 * Every helper fails the test (cmocka) on anything unexpected.
 */
#ifndef WCS_TESTBROKER_H
#define WCS_TESTBROKER_H

#include <stddef.h>

#include "tests/common/proc.h"

struct tb_sim {
    struct proc p;
    int port;
    char url[64]; /* "http://127.0.0.1:PORT" */
};

/* Creates a directory /tmp/<name>-XXXXXX (into dir) holding a file "token"
 * (its path into token_path) with token and a newline, mode 0600, and
 * initialises libcurl. For a cmocka group setup: returns 0 or -1. */
int tb_token_dir(const char *name, const char *token, char *dir, size_t dir_len,
                 char *token_path, size_t token_len);

/* Removes what tb_token_dir() made (the directory must hold nothing else)
 * and cleans libcurl up. */
void tb_token_dir_remove(const char *dir, const char *token_path);

/* The cmocka group set-up and teardown of a test whose static char arrays
 * dir and token_path hold tb_token_dir()'s directory and token file for
 * TOKEN: one definition for every customs test instead of a copy each. */
#define TB_GROUP_FIXTURE(name)                                                                  \
    static int group_setup(void **state)                                                       \
    {                                                                                          \
        (void)state;                                                                           \
        return tb_token_dir(name, TOKEN, dir, sizeof(dir), token_path, sizeof(token_path));    \
    }                                                                                          \
    static int group_teardown(void **state)                                                    \
    {                                                                                          \
        (void)state;                                                                           \
        tb_token_dir_remove(dir, token_path);                                                  \
        return 0;                                                                              \
    }

/* Starts the emulator bin with --token-file token_path --port 0 and the
 * NULL-terminated extra arguments (may be NULL), and waits (bounded) for
 * its ready line. */
void tb_sim_start(struct tb_sim *s, const char *bin, const char *token_path,
                  const char *const extra[]);

/* SIGTERM; asserts the clean exit (status 0). */
void tb_sim_stop(struct tb_sim *s);

#endif

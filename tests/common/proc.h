/*
 * proc.h - helpers for tests that run the project's executables (wcsd,
 * wcsctl) as child processes: run to completion capturing output, or start
 * in the background and wait for a line (a readiness line) with a bound.
 */
#ifndef WCS_TEST_PROC_H
#define WCS_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc_result {
    int status;      /* exit status, or 128 + signal */
    char *out;       /* captured stdout, NUL-terminated (caller frees) */
    char *err;       /* captured stderr */
};

/* Runs argv (argv[0] a path) to completion, optionally with env additions
 * ("K=V", NULL-terminated, may be NULL). Fails the test after timeout_s. */
void proc_run(const char *const argv[], const char *const env[], unsigned timeout_s,
              struct proc_result *r);
void proc_result_free(struct proc_result *r);

struct proc {
    pid_t pid;
    int err_fd;      /* read end of the child's stderr */
    char *log;       /* everything read from stderr so far */
    size_t len;
    size_t pos;      /* where the next proc_wait_line starts looking */
};

/* Starts argv in the background with stderr piped to p->err_fd. */
void proc_start(const char *const argv[], struct proc *p);
/* Reads the child's stderr until a line contains needle (returns 0 and the
 * line in buf) or timeout_ms passes or the child exits (returns -1). */
int proc_wait_line(struct proc *p, const char *needle, unsigned timeout_ms, char *buf, size_t len);
/* Sends sig and waits for the exit (bounded); returns the exit status or -1. */
int proc_stop(struct proc *p, int sig, unsigned timeout_ms);

/* A TCP port free on 127.0.0.1 now, below the kernel's ephemeral range, so a
 * daemon can be restarted on it (see proc.c). Fails the test if none. */
int proc_free_port(void);

#endif

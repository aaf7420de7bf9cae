/* proc.c - child processes for integration tests (see proc.h). */
#include "tests/common/proc.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    char *p = realloc(*buf, *len + n + 1);

    assert_non_null(p);
    memcpy(p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
}

/* execv wants char *const[]; copy so callers can pass string constants. */
static void exec_argv(const char *const argv[])
{
    char *args[64];
    size_t n = 0;

    while (argv[n] != NULL && n < 63)
        n++;
    memcpy(args, argv, n * sizeof(*args));
    args[n] = NULL;
    execv(args[0], args);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

void proc_run(const char *const argv[], const char *const env[], unsigned timeout_s,
              struct proc_result *r)
{
    int out[2], err[2], st = 0;
    size_t olen = 0, elen = 0;
    long long deadline = now_ms() + (long long)timeout_s * 1000;
    pid_t pid;
    int open_fds = 2;

    memset(r, 0, sizeof(*r));
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        close(out[1]);
        close(err[1]);
        if (env)
            for (; *env; env++) {
                char *kv = strdup(*env);
                if (kv != NULL)
                    putenv(kv);
            }
        exec_argv(argv);
    }
    close(out[1]);
    close(err[1]);
    append(&r->out, &olen, "", 0);
    append(&r->err, &elen, "", 0);
    while (open_fds > 0) {
        struct pollfd pfd[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
        char chunk[4096];
        long long left = deadline - now_ms();
        int i;

        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("%s did not finish within %u s; stderr: %s", argv[0], timeout_s, r->err);
        }
        if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
            fail_msg("poll: %s", strerror(errno));
        for (i = 0; i < 2; i++) {
            ssize_t n;
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
                continue;
            n = read(pfd[i].fd, chunk, sizeof(chunk));
            if (n <= 0) {
                close(pfd[i].fd);
                if (i == 0)
                    out[0] = -1;
                else
                    err[0] = -1;
                open_fds--;
            } else if (i == 0) {
                append(&r->out, &olen, chunk, (size_t)n);
            } else {
                append(&r->err, &elen, chunk, (size_t)n);
            }
        }
    }
    waitpid(pid, &st, 0);
    r->status = decode_status(st);
}

void proc_result_free(struct proc_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Children started and not yet stopped: a failed assertion skips the test's
 * own stop, and a child left running would keep ctest waiting on the output
 * it inherited until the test's timeout. They are killed at exit. */
#define LIVE_MAX 64
static pid_t live[LIVE_MAX];

static void kill_live(void)
{
    int i, st;

    for (i = 0; i < LIVE_MAX; i++)
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], &st, 0);
            live[i] = 0;
        }
}

static void live_set(pid_t old, pid_t now)
{
    static int registered;
    int i;

    if (!registered) {
        atexit(kill_live);
        registered = 1;
    }
    for (i = 0; i < LIVE_MAX; i++)
        if (live[i] == old) {
            live[i] = now;
            return;
        }
}

void proc_start(const char *const argv[], struct proc *p)
{
    int err[2];

    memset(p, 0, sizeof(*p));
    assert_int_equal(pipe(err), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(err[1], 2);
        close(err[0]);
        close(err[1]);
        exec_argv(argv);
    }
    close(err[1]);
    live_set(0, p->pid);
    p->err_fd = err[0];
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    append(&p->log, &p->len, "", 0);
}

int proc_wait_line(struct proc *p, const char *needle, unsigned timeout_ms, char *buf, size_t len)
{
    long long deadline = now_ms() + timeout_ms;

    for (;;) {
        char *nl, *start = p->log + p->pos;
        struct pollfd pfd = {p->err_fd, POLLIN, 0};
        char chunk[4096];
        ssize_t n;
        long long left;

        /* Complete lines not looked at yet; the log itself is kept whole. */
        while ((nl = strchr(start, '\n')) != NULL) {
            *nl = '\0';
            if (strstr(start, needle) != NULL) {
                snprintf(buf, len, "%s", start);
                *nl = '\n';
                p->pos = (size_t)(nl + 1 - p->log);
                return 0;
            }
            *nl = '\n';
            start = nl + 1;
            p->pos = (size_t)(start - p->log);
        }
        left = deadline - now_ms();
        if (left <= 0)
            return -1;
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        n = read(p->err_fd, chunk, sizeof(chunk));
        if (n == 0)
            return -1; /* the child closed stderr: exited */
        if (n > 0) {
            fwrite(chunk, 1, (size_t)n, stderr); /* keep the child's log in the test output */
            append(&p->log, &p->len, chunk, (size_t)n);
        }
    }
}

int proc_stop(struct proc *p, int sig, unsigned timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int st;

    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    for (;;) {
        pid_t w = waitpid(p->pid, &st, WNOHANG);
        if (w == p->pid)
            break;
        if (now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            live_set(p->pid, 0);
            p->pid = -1;
            return -1;
        }
        usleep(10000);
    }
    /* Drain what is left for the test log. */
    {
        char chunk[4096];
        ssize_t n;
        while ((n = read(p->err_fd, chunk, sizeof(chunk))) > 0) {
            fwrite(chunk, 1, (size_t)n, stderr);
            append(&p->log, &p->len, chunk, (size_t)n);
        }
    }
    close(p->err_fd);
    live_set(p->pid, 0);
    p->pid = -1;
    return decode_status(st);
}

/*
 * A TCP port free on 127.0.0.1 right now, below the kernel's ephemeral range,
 * so wcsd can be restarted on it: while wcsd is dead, any connect() on the
 * machine (curl, another test, our own PLC reconnecting) may take a free
 * ephemeral port as its local port and make the restart fail with
 * "address already in use". Falls back to any free port.
 */
int proc_free_port(void)
{
    static int seeded;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd, port = 0, lo = 32768, hi = 60999, tries;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    if (f != NULL) {
        if (fscanf(f, "%d %d", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    if (!seeded) {
        srand((unsigned)getpid() ^ (unsigned)now_ms());
        seeded = 1;
    }
    for (tries = 0; tries < 200; tries++) {
        int candidate = tries < 199 && lo > 12000 ? 10000 + rand() % (lo - 11000) : 0;

        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t)candidate);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            len = sizeof(sa);
            assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
            port = ntohs(sa.sin_port);
            close(fd);
            return port;
        }
        close(fd);
    }
    fail_msg("no free TCP port on 127.0.0.1");
    return port;
}

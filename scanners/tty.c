/*
 * tty.c - the tty reader for CDC-ACM and serial scanners: opens a tty in raw
 * mode, watches it with uv_poll and cuts what arrives into lines ended by CR,
 * LF or CRLF. A tty that is missing or goes away (the scanner is unplugged:
 * read() fails with EIO or returns 0, or poll reports a hang-up) is closed
 * and reopened every retry_ms, so a configured /dev/serial/by-id/... link
 * that udev removes and recreates is picked up again without a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "scanners/usb.h"

struct scan_tty {
    uv_loop_t *loop;
    char path[SCAN_PATH_MAX + 1];
    uint32_t retry_ms;
    scan_tty_line_cb line_cb;
    scan_tty_state_cb state_cb;
    void *arg;
    int fd;                       /* -1 while closed */
    uv_poll_t poll;               /* initialised while fd >= 0 */
    bool poll_live;               /* poll handle initialised and not yet closing */
    uv_timer_t retry;
    char line[SCAN_TEXT_MAX + 1];
    size_t len;
    bool too_long;                /* the current line overflowed: dropped at its end */
    bool stopping;
    int closing;                  /* handles whose close callback is pending */
    bool logged_absent;           /* "cannot open" logged once per absence */
    void (*done_cb)(void *arg);
    void *done_arg;
};

static void tty_try_open(struct scan_tty *t);

static void retry_cb(uv_timer_t *tm)
{
    tty_try_open(tm->data);
}

static void handle_closed(uv_handle_t *h)
{
    struct scan_tty *t = h->data;

    if (--t->closing > 0 || !t->stopping)
        return;
    if (t->done_cb)
        t->done_cb(t->done_arg);
    free(t);
}

/* Stops polling and closes the fd. The poll handle is stopped at once by
 * uv_close, so the fd may be closed right after. */
static void tty_close_fd(struct scan_tty *t)
{
    if (t->poll_live) {
        t->poll_live = false;
        t->closing++;
        uv_close((uv_handle_t *)&t->poll, handle_closed);
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    t->len = 0;
    t->too_long = false;
}

static void tty_lost(struct scan_tty *t, int why)
{
    log_warnx("tty %s: lost (%s), reopening every %u ms", t->path, strerror(-why), t->retry_ms);
    tty_close_fd(t);
    uv_timer_start(&t->retry, retry_cb, t->retry_ms, 0);
    if (t->state_cb)
        t->state_cb(t, false, why, t->arg);
}

/* Cuts buf into lines; CR, LF and CRLF all end a line, so an empty line is
 * the second half of a CRLF (or a blank line) and is not reported. */
static void tty_feed(struct scan_tty *t, const char *buf, size_t n)
{
    for (size_t i = 0; i < n && !t->stopping && t->fd >= 0; i++) {
        char c = buf[i];

        if (c == '\r' || c == '\n') {
            if (t->too_long)
                log_warnx("tty %s: line longer than %d characters dropped", t->path,
                          SCAN_TEXT_MAX);
            else if (t->len > 0) {
                t->line[t->len] = '\0';
                t->line_cb(t, t->line, t->len, t->arg);
            }
            t->len = 0;
            t->too_long = false;
        } else if (t->len < SCAN_TEXT_MAX) {
            t->line[t->len++] = c;
        } else {
            t->too_long = true;
        }
    }
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct scan_tty *t = p->data;
    char buf[512];

    (void)events;
    if (status < 0) {
        tty_lost(t, -EIO);
        return;
    }
    for (;;) {
        ssize_t r = read(t->fd, buf, sizeof(buf));

        if (r > 0) {
            tty_feed(t, buf, (size_t)r);
            if (t->fd < 0 || t->stopping)
                return; /* a callback stopped us */
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        /* EOF or EIO: the tty went away (a pty whose master closed, a
         * CDC-ACM device unplugged). */
        tty_lost(t, r == 0 ? -EPIPE : -errno);
        return;
    }
}

static int tty_make_raw(int fd)
{
    struct termios tio;

    if (tcgetattr(fd, &tio) < 0)
        return -errno;
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (cfsetispeed(&tio, B9600) < 0 || cfsetospeed(&tio, B9600) < 0)
        return -errno;
    if (tcsetattr(fd, TCSANOW, &tio) < 0)
        return -errno;
    /* Throw away what was queued before we were reading: it may be half a
     * line from before an unplug. */
    tcflush(fd, TCIFLUSH);
    return 0;
}

static void tty_try_open(struct scan_tty *t)
{
    int rc;

    if (t->stopping || t->fd >= 0)
        return;
    t->fd = open(t->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        if (!t->logged_absent)
            log_warn("tty %s: cannot open, retrying every %u ms", t->path, t->retry_ms);
        t->logged_absent = true;
        uv_timer_start(&t->retry, retry_cb, t->retry_ms, 0);
        return;
    }
    rc = tty_make_raw(t->fd);
    if (rc == 0)
        rc = uv_poll_init(t->loop, &t->poll, t->fd);
    if (rc == 0) {
        t->poll.data = t;
        t->poll_live = true;
        rc = uv_poll_start(&t->poll, UV_READABLE | UV_DISCONNECT, poll_cb);
    }
    if (rc < 0) {
        log_warnx("tty %s: cannot set up (%s), retrying every %u ms", t->path, strerror(-rc),
                  t->retry_ms);
        tty_close_fd(t);
        uv_timer_start(&t->retry, retry_cb, t->retry_ms, 0);
        return;
    }
    t->logged_absent = false;
    log_info("tty %s: open", t->path);
    if (t->state_cb)
        t->state_cb(t, true, 0, t->arg);
}

int scan_tty_start(uv_loop_t *loop, const char *path, uint32_t retry_ms, scan_tty_line_cb line_cb,
                   scan_tty_state_cb state_cb, void *arg, struct scan_tty **out, struct err *e)
{
    struct scan_tty *t;
    int rc;

    if (!path || !*path || strlen(path) > SCAN_PATH_MAX || !line_cb)
        return err_set(e, ERR_CONFIG, "tty: path empty or longer than %d", SCAN_PATH_MAX);
    t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(e, -ENOMEM, "tty %s: out of memory", path);
    t->loop = loop;
    strcpy(t->path, path);
    t->retry_ms = retry_ms ? retry_ms : 1000;
    t->line_cb = line_cb;
    t->state_cb = state_cb;
    t->arg = arg;
    t->fd = -1;
    rc = uv_timer_init(loop, &t->retry);
    if (rc < 0) {
        free(t);
        return err_set(e, rc, "tty %s: timer: %s", path, uv_strerror(rc));
    }
    t->retry.data = t;
    *out = t;
    /* The first open runs from the loop (a zero timer), so state_cb never
     * runs before the caller has *out. */
    uv_timer_start(&t->retry, retry_cb, 0, 0);
    return 0;
}

bool scan_tty_is_open(const struct scan_tty *t)
{
    return t->fd >= 0;
}

void scan_tty_stop(struct scan_tty *t, void (*done_cb)(void *arg), void *arg)
{
    t->stopping = true;
    t->done_cb = done_cb;
    t->done_arg = arg;
    tty_close_fd(t);
    t->closing++;
    uv_close((uv_handle_t *)&t->retry, handle_closed);
}

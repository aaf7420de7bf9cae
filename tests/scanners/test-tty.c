/*
 * test-tty.c - tty scanners (CDC-ACM) on a pseudo-terminal: the reader cuts
 * CR/LF lines into scans, survives the tty going away and picks it up again
 * through the configured path (a symlink, as udev's /dev/serial/by-id links
 * are), both on its own (scan_tty_*) and through scan_usb_start. Every wait
 * has a watchdog.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "common/log.h"
#include "scanners/usb.h"

#define WAIT_MS 10000

struct lines {
    int n;
    char last[SCAN_TEXT_MAX + 1];
    char all[1024];
    int opens, losses;
};

static void line_cb(struct scan_tty *t, const char *line, size_t len, void *arg)
{
    struct lines *l = arg;

    (void)t;
    assert_int_equal(strlen(line), len);
    l->n++;
    snprintf(l->last, sizeof(l->last), "%s", line);
    strncat(l->all, line, sizeof(l->all) - strlen(l->all) - 2);
    strcat(l->all, "|");
}

static void state_cb(struct scan_tty *t, bool open, int err, void *arg)
{
    struct lines *l = arg;

    (void)t;
    if (open)
        l->opens++;
    else {
        l->losses++;
        assert_true(err < 0);
    }
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

static bool wait_for(uv_loop_t *loop, bool (*pred)(void *), void *arg)
{
    uv_timer_t tick;
    uint64_t deadline;
    bool ok;

    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, tick_cb, 2, 2);
    uv_update_time(loop);
    deadline = uv_now(loop) + WAIT_MS;
    while (!(ok = pred(arg)) && uv_now(loop) < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

struct int_wait {
    const int *v;
    int want;
};

static bool int_reached(void *arg)
{
    struct int_wait *w = arg;
    return *w->v >= w->want;
}

#define WAIT_INT(loop, var, n) wait_for((loop), int_reached, &(struct int_wait){&(var), (n)})

static void stopped(void *arg)
{
    *(int *)arg = 1;
}

/* A pty whose slave is reachable as link; returns the master fd. */
static int new_pty(const char *link)
{
    int master, slave;
    char name[128];

    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    close(slave); /* the pty lives while the master is open */
    unlink(link);
    assert_int_equal(symlink(name, link), 0);
    return master;
}

static void put(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_tty_lines_and_reopen(void **state)
{
    uv_loop_t loop;
    struct scan_tty *t = NULL;
    struct lines l = {0};
    char dir[] = "/tmp/wcs-tty-XXXXXX", link[64];
    int master, done = 0;
    struct err e;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof(link), "%s/ttyACM-scanner", dir);
    assert_int_equal(uv_loop_init(&loop), 0);
    /* Not there yet: started anyway, retried. */
    assert_int_equal(scan_tty_start(&loop, link, 20, line_cb, state_cb, &l, &t, &e), 0);
    master = new_pty(link);
    assert_true(WAIT_INT(&loop, l.opens, 1));
    assert_true(scan_tty_is_open(t));

    put(master, "RB123456785GB\r\n");
    assert_true(WAIT_INT(&loop, l.n, 1));
    assert_string_equal(l.last, "RB123456785GB");
    /* CR alone, LF alone, a line split over two writes, a blank line. */
    put(master, "LP00123456789012\rRR473");
    put(master, "124829GB\n\r\n12345678901234\n");
    assert_true(WAIT_INT(&loop, l.n, 4));
    assert_string_equal(l.all, "RB123456785GB|LP00123456789012|RR473124829GB|12345678901234|");

    /* Unplug: the master goes away, the reader sees the hang-up. A half
     * line written before is not glued to the next scan. */
    put(master, "RB9999");
    close(master);
    assert_true(WAIT_INT(&loop, l.losses, 1));
    assert_false(scan_tty_is_open(t));

    /* Plugged back (a new pty behind the same link): reopened, reads again. */
    master = new_pty(link);
    assert_true(WAIT_INT(&loop, l.opens, 2));
    put(master, "RR473124829GB\r\n");
    assert_true(WAIT_INT(&loop, l.n, 5));
    assert_string_equal(l.last, "RR473124829GB");

    scan_tty_stop(t, stopped, &done);
    assert_true(WAIT_INT(&loop, done, 1));
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(master);
    unlink(link);
    rmdir(dir);
}

struct got {
    int n;
    char code[SCAN_TEXT_MAX + 1];
    char id[SCAN_ID_MAX + 1];
    char location[SCAN_ID_MAX + 1];
    char symbology[4];
    enum scan_source_kind kind;
};

static void on_scan(const struct scan_event *ev, void *arg)
{
    struct got *g = arg;

    g->n++;
    snprintf(g->code, sizeof(g->code), "%s", ev->code);
    snprintf(g->id, sizeof(g->id), "%s", ev->scanner_id);
    snprintf(g->location, sizeof(g->location), "%s", ev->location);
    snprintf(g->symbology, sizeof(g->symbology), "%s", ev->symbology);
    g->kind = ev->kind;
}

struct conn_wait {
    struct scan_usb *s;
    bool want;
};

static bool connected_is(void *arg)
{
    struct conn_wait *w = arg;
    struct scan_usb_status st;

    scan_usb_status(w->s, &st, 1);
    return st.connected == w->want;
}

static void test_tty_scanner(void **state)
{
    uv_loop_t loop;
    struct scan_usb_cfg cfg;
    struct scan_usb *s = NULL;
    struct scan_usb_status st;
    struct got got = {0};
    char dir[] = "/tmp/wcs-tty-XXXXXX";
    int master, done = 0;
    struct err e;

    (void)state;
    assert_non_null(mkdtemp(dir));
    scan_usb_cfg_defaults(&cfg);
    snprintf(cfg.id, sizeof(cfg.id), "SC-ACM-03");
    snprintf(cfg.location, sizeof(cfg.location), "MANUAL-3");
    cfg.kind = SCAN_SRC_TTY;
    snprintf(cfg.tty_path, sizeof(cfg.tty_path), "%s/ttyACM0", dir);
    cfg.tty_retry_ms = 20;
    master = new_pty(cfg.tty_path);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(scan_usb_start(&loop, &cfg, 1, on_scan, &got, &s, &e), 0);
    assert_true(wait_for(&loop, connected_is, &(struct conn_wait){s, true}));

    put(master, "RB123456785GB\r\n");
    assert_true(WAIT_INT(&loop, got.n, 1));
    assert_string_equal(got.code, "RB123456785GB");
    assert_string_equal(got.id, "SC-ACM-03");
    assert_string_equal(got.location, "MANUAL-3");
    assert_string_equal(got.symbology, "");
    assert_int_equal(got.kind, SCAN_SRC_TTY);

    /* AIM id prefix (scanner set to send it), and a refused line. */
    put(master, "]C0RR473124829GB\r\nRB12\x01X\r\n");
    assert_true(WAIT_INT(&loop, got.n, 2));
    assert_string_equal(got.code, "RR473124829GB");
    assert_string_equal(got.symbology, "]C0");

    close(master);
    assert_true(wait_for(&loop, connected_is, &(struct conn_wait){s, false}));
    master = new_pty(cfg.tty_path);
    assert_true(wait_for(&loop, connected_is, &(struct conn_wait){s, true}));
    put(master, "LP00123456789012\n");
    assert_true(WAIT_INT(&loop, got.n, 3));
    assert_string_equal(got.code, "LP00123456789012");

    scan_usb_status(s, &st, 1);
    assert_int_equal(st.reads, 3);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.attaches, 2);
    assert_int_equal(st.detaches, 1);
    assert_string_equal(st.last_code, "LP00123456789012");

    scan_usb_stop(s, stopped, &done);
    assert_true(WAIT_INT(&loop, done, 1));
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(master);
    unlink(cfg.tty_path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tty_lines_and_reopen),
        cmocka_unit_test(test_tty_scanner),
    };

    log_init("test-tty", getenv("WCS_TEST_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * printing.c - bag labels printed at the line (printing.h).
 *
 * DESIGN: the configuration is fixed for wcsd's life, so a pool thread may
 * read it; a printer's failed state belongs to the loop and is only changed
 * there (wcs_printers_result). A print is a plain blocking TCP exchange on
 * a pool thread: connect (non-blocking, polled within the timeout), send
 * the ZPL, shut down the write side and close; a printer that takes the
 * bytes has the label.
 */
#include "wcs/daemon/printing.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "wcs/core/label.h"
#include "wcs/store/bags.h"
#include "wcs/store/store.h"

struct printer_state {
    bool failed;
    char why[160];
};

struct wcs_printers {
    const struct wcs_config *cfg;
    struct printer_state st[WCS_PRINTER_MAX];
};

struct wcs_printers *wcs_printers_new(const struct wcs_config *cfg)
{
    struct wcs_printers *p = calloc(1, sizeof(*p));

    if (p != NULL)
        p->cfg = cfg;
    return p;
}

void wcs_printers_free(struct wcs_printers *p)
{
    free(p);
}

size_t wcs_printers_count(const struct wcs_printers *p)
{
    return p != NULL ? (size_t)p->cfg->nprinters : 0;
}

const struct wcs_printer_config *wcs_printers_config(const struct wcs_printers *p, size_t i)
{
    return i < wcs_printers_count(p) ? &p->cfg->printers[i] : NULL;
}

int wcs_printers_for_route(const struct wcs_printers *p, const char *route)
{
    size_t i;
    int r;

    for (i = 0; i < wcs_printers_count(p); i++)
        for (r = 0; r < p->cfg->printers[i].routes.n; r++)
            if (strcmp(p->cfg->printers[i].routes.v[r], route) == 0)
                return (int)i;
    return -1;
}

/* Sends len bytes to host:port over raw TCP within timeout_ms. */
static int send_raw(const char *host, int port, const char *data, size_t len,
                    unsigned timeout_ms, struct err *e)
{
    struct addrinfo hints, *ai = NULL;
    struct pollfd pfd;
    char portbuf[8];
    size_t off = 0;
    int fd = -1, rc, soerr = 0;
    socklen_t sl = sizeof(soerr);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    rc = getaddrinfo(host, portbuf, &hints, &ai);
    if (rc != 0)
        return err_set(e, ERR_HTTP, "%s: %s", host, gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return err_set(e, -errno, "socket: %s", strerror(errno));
    }
    rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS) {
        rc = err_set(e, ERR_HTTP, "%s:%d: %s", host, port, strerror(errno));
        goto out;
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (rc < 0) {
        if (poll(&pfd, 1, (int)timeout_ms) != 1) {
            rc = err_set(e, ERR_HTTP, "%s:%d: no answer within %u ms", host, port, timeout_ms);
            goto out;
        }
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            rc = err_set(e, ERR_HTTP, "%s:%d: %s", host, port, strerror(soerr));
            goto out;
        }
    }
    while (off < len) {
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);

        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            rc = err_set(e, ERR_HTTP, "%s:%d: %s", host, port, strerror(errno));
            goto out;
        }
        if (poll(&pfd, 1, (int)timeout_ms) != 1) {
            rc = err_set(e, ERR_HTTP, "%s:%d: did not take the label within %u ms", host, port,
                         timeout_ms);
            goto out;
        }
    }
    shutdown(fd, SHUT_WR);
    rc = 0;
out:
    close(fd);
    return rc;
}

int wcs_print_bag(const struct wcs_printers *p, PGconn *c, const char *bag_id, const char *chute,
                  int *printer, char bag[32], struct err *e)
{
    const struct wcs_printer_config *pc;
    struct wcs_bag_label l;
    char id[WCS_RECEPTACLE_LEN + 1], *zpl = NULL;
    size_t len;
    int rc;

    *printer = -1;
    bag[0] = '\0';
    if (bag_id == NULL) {
        rc = wcs_db_bag_last_closed(c, p->cfg->node, chute, id, e);
        if (rc < 0)
            return rc;
        bag_id = id;
    }
    rc = wcs_db_bag_label(c, bag_id, &l, e);
    if (rc < 0)
        return rc;
    snprintf(bag, 32, "%s", l.bag_id);
    *printer = wcs_printers_for_route(p, l.route);
    if (*printer < 0)
        return err_set(e, ERR_NOTFOUND, "no label printer for route %s (label_printers)",
                       l.route);
    pc = &p->cfg->printers[*printer];
    rc = wcs_label_zpl(&l, &zpl, &len, e);
    if (rc == 0)
        rc = send_raw(pc->host, pc->port, zpl, len, WCS_PRINT_TIMEOUT_MS, e);
    free(zpl);
    return rc;
}

void wcs_printers_result(struct wcs_printers *p, int i, bool ok, const char *bag, const char *why)
{
    struct printer_state *st;

    if (p == NULL || i < 0 || (size_t)i >= wcs_printers_count(p))
        return;
    st = &p->st[i];
    if (ok) {
        if (st->failed)
            log_info("label printer %s prints again (bag %s)", p->cfg->printers[i].id, bag);
        st->failed = false;
        return;
    }
    st->failed = true;
    snprintf(st->why, sizeof(st->why), "bag %s: %s", bag, why);
    log_warnx("label printer %s: %s", p->cfg->printers[i].id, st->why);
}

bool wcs_printers_failed(const struct wcs_printers *p, size_t i, char *text, size_t len)
{
    if (i >= wcs_printers_count(p) || !p->st[i].failed)
        return false;
    snprintf(text, len, "%s", p->st[i].why);
    return true;
}

struct print_job {
    uv_work_t work;
    struct wcs_printers *p;
    const char *conninfo;
    char chute[24];
    int printer, rc;
    char bag[32];
    struct err e;
};

static void print_work_cb(uv_work_t *w)
{
    struct print_job *j = w->data;
    PGconn *c = NULL;

    j->rc = wcs_db_connect(j->conninfo, &c, &j->e);
    if (j->rc == 0)
        j->rc = wcs_db_bound_calls(c, 5000, 1000, &j->e);
    if (j->rc == 0)
        j->rc = wcs_print_bag(j->p, c, NULL, j->chute, &j->printer, j->bag, &j->e);
    PQfinish(c);
}

static void print_done_cb(uv_work_t *w, int status)
{
    struct print_job *j = w->data;

    (void)status;
    if (j->rc == 0)
        log_info("label of bag %s printed on %s", j->bag, j->p->cfg->printers[j->printer].id);
    if (j->printer >= 0 && (j->rc == 0 || j->rc == ERR_HTTP))
        wcs_printers_result(j->p, j->printer, j->rc == 0, j->bag, j->e.msg);
    else if (j->rc < 0 && j->rc != ERR_NOTFOUND)
        log_warnx("label of chute %s's bag not printed: %s", j->chute, j->e.msg);
    free(j);
}

void wcs_printers_print_async(struct wcs_printers *p, uv_loop_t *loop, const char *conninfo,
                              const char *chute)
{
    struct print_job *j;

    if (wcs_printers_count(p) == 0)
        return;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->p = p;
    j->conninfo = conninfo;
    snprintf(j->chute, sizeof(j->chute), "%s", chute);
    j->printer = -1;
    j->work.data = j;
    if (uv_queue_work(loop, &j->work, print_work_cb, print_done_cb) < 0)
        free(j);
}

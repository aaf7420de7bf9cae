/*
 * cam_stream.c - a camera whose frames come as a stream of PNM images back
 * to back (scanners/pnm_stream.h): a FIFO a capture program writes, or a
 * file. A frame's trigger time is when its last byte arrived. A FIFO is
 * opened again when its writer goes; a file ends the source at its end.
 * A stream that turns out not to be PNM is counted bad and opened again
 * (a broken stream has no way to find the next image's start; its writer
 * gets SIGPIPE and must be restarted by whatever supervises it). The
 * camera is open while a writer sends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "scanners/cam_source.h"
#include "scanners/pnm_stream.h"

#define POLL_MS 100

struct fd_source {
    struct cam *cam;
    int fd;
    bool open; /* a writer sends: a FIFO without one is not a camera yet */
};

/* Reads what the FIFO has, waking every POLL_MS to see whether to stop. */
static int fd_fill(void *arg, unsigned char *buf, size_t cap, size_t *got)
{
    struct fd_source *s = arg;

    while (!cam_stopping(s->cam)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, POLL_MS) == 0)
            continue;
        n = read(s->fd, buf, cap);
        if (n > 0) {
            if (!s->open)
                cam_set_open(s->cam, s->open = true);
            *got = (size_t)n;
            return 1;
        }
        if (n == 0) {
            if (s->open)
                cam_set_open(s->cam, s->open = false);
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -1;
    }
    return -1;
}

void cam_stream_run(struct cam *c)
{
    const struct scan_camera_cfg *cfg = cam_cfg(c);
    struct scan_pnm_reader *r = malloc(sizeof(*r));
    bool warned = false;

    if (r == NULL)
        return;
    while (!cam_stopping(c)) {
        struct fd_source src = {.cam = c};
        struct scan_image img = {0};
        struct stat sb;
        struct err e;
        bool plain;
        int rc;

        /* O_NONBLOCK: opening a FIFO without a writer must not block the stop. */
        src.fd = open(cfg->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (src.fd < 0) {
            if (!warned)
                log_warnx("camera %s: stream %s: %s; trying again every second", cfg->id, cfg->path,
                          strerror(errno));
            warned = true;
            cam_set_open(c, false);
            cam_sleep_ms(c, 1000);
            continue;
        }
        warned = false;
        plain = fstat(src.fd, &sb) == 0 && S_ISREG(sb.st_mode);
        scan_pnm_reader_init(r, fd_fill, &src);
        while ((rc = scan_pnm_next(r, &img, &e)) == 0)
            cam_put(c, &img, cam_now_us());
        if (rc == ERR_PARSE) {
            log_warnx("camera %s: stream %s: %s; opened again", cfg->id, cfg->path, e.msg);
            cam_count_bad(c);
        }
        scan_image_release(&img);
        close(src.fd);
        if (plain) /* a file is read once, to its end or its first bad image */
            break;
        /* The writer went: wait for the next one without spinning. */
        cam_sleep_ms(c, POLL_MS);
    }
    free(r);
}

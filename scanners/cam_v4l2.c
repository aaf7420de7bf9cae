/*
 * cam_v4l2.c - a camera that is a V4L2 capture device, through libv4l2: it
 * converts whatever the device sends (YUYV, MJPEG, Bayer...) to YUV 4:2:0,
 * whose first plane is the grey frame the decoders want, and emulates
 * read() on devices that only stream. The trigger time is when the frame
 * was read. A device that is unplugged or fails is opened again every
 * second.
 */
#include <errno.h>
#include <fcntl.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "scanners/cam_source.h"

#define POLL_MS 200

/* Opens and sets up the device; its fd and frame geometry, or -1 (logged
 * once per outage through *warned). */
static int open_device(struct cam *c, struct v4l2_format *fmt, bool *warned)
{
    const struct scan_camera_cfg *cfg = cam_cfg(c);
    int fd = v4l2_open(cfg->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    const char *why = NULL;

    if (fd < 0) {
        why = strerror(errno);
    } else {
        memset(fmt, 0, sizeof(*fmt));
        fmt->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (v4l2_ioctl(fd, VIDIOC_G_FMT, fmt) < 0) {
            why = "not a capture device (VIDIOC_G_FMT)";
        } else {
            if (cfg->width > 0 && cfg->height > 0) {
                fmt->fmt.pix.width = (unsigned)cfg->width;
                fmt->fmt.pix.height = (unsigned)cfg->height;
            }
            fmt->fmt.pix.pixelformat = V4L2_PIX_FMT_YUV420;
            fmt->fmt.pix.field = V4L2_FIELD_ANY;
            if (v4l2_ioctl(fd, VIDIOC_S_FMT, fmt) < 0 ||
                fmt->fmt.pix.pixelformat != V4L2_PIX_FMT_YUV420)
                why = "cannot give YUV 4:2:0 frames (VIDIOC_S_FMT)";
            else if (fmt->fmt.pix.width == 0 || fmt->fmt.pix.height == 0 ||
                     fmt->fmt.pix.width > SCAN_IMAGE_MAX_SIDE ||
                     fmt->fmt.pix.height > SCAN_IMAGE_MAX_SIDE ||
                     fmt->fmt.pix.sizeimage < fmt->fmt.pix.width * fmt->fmt.pix.height)
                why = "a frame size past the image limits";
        }
    }
    if (why != NULL) {
        if (!*warned)
            log_warnx("camera %s: %s: %s; trying again every second", cfg->id, cfg->path, why);
        *warned = true;
        if (fd >= 0)
            v4l2_close(fd);
        return -1;
    }
    log_info("camera %s: %s: %ux%u", cfg->id, cfg->path, fmt->fmt.pix.width, fmt->fmt.pix.height);
    *warned = false;
    return fd;
}

void cam_v4l2_run(struct cam *c)
{
    const struct scan_camera_cfg *cfg = cam_cfg(c);
    bool warned = false;

    while (!cam_stopping(c)) {
        struct v4l2_format fmt;
        unsigned char *buf;
        int fd = open_device(c, &fmt, &warned);
        size_t w, h, stride;

        if (fd < 0) {
            cam_set_open(c, false);
            cam_sleep_ms(c, 1000);
            continue;
        }
        w = fmt.fmt.pix.width;
        h = fmt.fmt.pix.height;
        stride = fmt.fmt.pix.bytesperline >= w ? fmt.fmt.pix.bytesperline : w;
        buf = malloc(fmt.fmt.pix.sizeimage);
        cam_set_open(c, buf != NULL);
        while (buf != NULL && !cam_stopping(c)) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            struct scan_image img = {0};
            ssize_t n;
            size_t y;

            if (poll(&p, 1, POLL_MS) == 0)
                continue;
            n = v4l2_read(fd, buf, fmt.fmt.pix.sizeimage);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n < (ssize_t)(stride * (h - 1) + w)) {
                log_warnx("camera %s: %s: %s; opened again", cfg->id, cfg->path,
                          n < 0 ? strerror(errno) : "a short frame");
                break;
            }
            if (scan_image_resize(&img, (int)w, (int)h) < 0)
                continue;
            for (y = 0; y < h; y++)
                memcpy(img.data + y * w, buf + y * stride, w);
            cam_put(c, &img, cam_now_us());
            scan_image_release(&img);
        }
        free(buf);
        v4l2_close(fd);
        cam_set_open(c, false);
        cam_sleep_ms(c, 1000);
    }
}

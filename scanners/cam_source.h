/*
 * cam_source.h - what a camera's source thread may do (cameras.c owns the
 * queue): the kinds of source are in files of their own (cameras.c: a
 * directory; cam_stream.c: a PNM stream; cam_v4l2.c: a V4L2 device). Not
 * for other modules.
 */
#ifndef WCS_SCANNERS_CAM_SOURCE_H
#define WCS_SCANNERS_CAM_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "scanners/camera.h"
#include "scanners/source.h"

struct cam;

/* Puts a frame on the decoders' queue (img moves in: left empty), its
 * trigger time at_us; drops the oldest waiting frame when the queue is
 * full. 0 or -ENOMEM. */
int cam_put(struct cam *c, struct scan_image *img, int64_t at_us);

const struct scan_camera_cfg *cam_cfg(const struct cam *c);
bool cam_stopping(struct cam *c);
/* Sleeps ms, or less when the cameras stop. */
void cam_sleep_ms(struct cam *c, unsigned ms);
void cam_set_open(struct cam *c, bool open);
/* A file or image that was no image (the caller logs which and why). */
void cam_count_bad(struct cam *c);
int64_t cam_now_us(void);

/* The source threads' bodies: they return when the cameras stop (or a
 * stream that is a plain file ends). */
void cam_stream_run(struct cam *c);
void cam_v4l2_run(struct cam *c);

#endif

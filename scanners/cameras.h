/*
 * cameras.h - a scan tunnel: cameras around the belt whose frames are
 * decoded on worker threads (issue 14, docs/camera.md "Cameras in wcsd").
 *
 * A camera is a source of grey frames: a V4L2 device (libv4l2), or for
 * commissioning and tests a directory that image files are dropped into or
 * a stream of PNM images (a FIFO or a file). Each source has a thread that
 * takes its frames with their trigger time (when the frame was taken) and
 * puts them on one bounded queue; when the decoders fall behind, the oldest
 * waiting frame is dropped and counted. Worker threads decode the frames
 * (scanners/camera.h: one pipeline each) and hand the results to the loop
 * thread, where the read callback sees every frame's codes. Nothing here
 * knows parcels: the application ties a frame to its parcel by scan point
 * and trigger time (conveyor/correlate.h), as it does a USB scanner's scan.
 *
 * The frames that gave no code are kept in memory (the last few per
 * camera), so that when a parcel turns out a no-read the application can
 * take its frames (scan_cameras_take) and keep their images.
 */
#ifndef WCS_SCANNERS_CAMERAS_H
#define WCS_SCANNERS_CAMERAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "scanners/camera.h"
#include "scanners/source.h"

struct scan_cameras_cfg {
    const struct scan_camera_cfg *cams; /* [n], copied */
    size_t n;
    unsigned workers; /* decoding threads; 0 = 1 */
    unsigned queue;   /* frames waiting for a decoder; 0 = 2 per worker */
    unsigned keep;    /* unread frames kept per camera for scan_cameras_take(); 0 = 8 */
    unsigned poll_ms; /* dir: how often the directory is looked at; 0 = 20 */
    struct scan_pipeline_config pipeline;
};

/* One decoded frame, as the loop thread sees it. */
struct scan_cam_read {
    const char *camera;               /* camera id */
    const char *location;             /* its scan point */
    int64_t at_us;                    /* trigger time, Unix microseconds */
    const struct scan_result *result; /* result->n codes (accepted ones) */
    const struct scan_noread *why;    /* when result->n != 1: why not one code */
};

typedef void (*scan_cam_read_cb)(void *arg, const struct scan_cam_read *r);

/* A frame that gave no code, taken out by scan_cameras_take(). */
struct scan_cam_frame {
    struct scan_image img;
    int64_t at_us;
    char camera[SCAN_ID_MAX + 1];
    struct scan_noread why;
};

struct scan_cam_stats {
    uint64_t frames;  /* frames taken by the source */
    uint64_t read;    /* ... that gave exactly one code */
    uint64_t noread;  /* ... that gave none */
    uint64_t several; /* ... that gave several */
    uint64_t bad;     /* files or stream images that were no image (named in the log) */
    uint64_t dropped; /* frames dropped because the decoders (or the loop) fell behind */
    bool open;        /* the source is open (a device or stream may come and go) */
    double decode_ms; /* mean decode time of its frames */
};

struct scan_cameras;

/*
 * Starts a thread per camera and cfg->workers decoders; read_cb runs on
 * loop's thread for every decoded frame. A source that cannot be opened
 * (no device, no directory yet) is retried every second, not an error.
 * Returns 0, ERR_CONFIG (a pipeline setting), -ENOMEM, or -errno from
 * thread creation; *out NULL on error.
 */
int scan_cameras_start(uv_loop_t *loop, const struct scan_cameras_cfg *cfg, scan_cam_read_cb cb,
                       void *arg, struct scan_cameras **out, struct err *e);

/* Stops the threads (frames still waiting are dropped) and frees c once
 * its loop handle is closed. NULL is a no-op. Loop thread. */
void scan_cameras_stop(struct scan_cameras *c);

/*
 * Takes out the unread frames of the cameras at location whose trigger
 * time is in [from_us, to_us]: at most max of them into out[], oldest
 * first, each camera its share (max / its cameras; the newest of its
 * frames in the window), the caller owning them (scan_cam_frames_free).
 * Every other frame of the window is freed: the window is one parcel's,
 * its frames never go with the next parcel. max 0 takes none and frees
 * the window's. Returns how many. Loop thread.
 */
size_t scan_cameras_take(struct scan_cameras *c, const char *location, int64_t from_us,
                         int64_t to_us, struct scan_cam_frame **out, size_t max);
void scan_cam_frames_free(struct scan_cam_frame **f, size_t n);

/* Cameras and their figures; i < scan_cameras_count(). Loop thread. */
size_t scan_cameras_count(const struct scan_cameras *c);
const struct scan_camera_cfg *scan_cameras_cfg(const struct scan_cameras *c, size_t i);
void scan_cameras_stats(struct scan_cameras *c, size_t i, struct scan_cam_stats *out);

#endif

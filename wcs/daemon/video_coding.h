/*
 * video_coding.h - the line's no-read parcels in wcsd (issue 14,
 * docs/camera.md "Video coding"): each is recorded with the images its
 * cameras took (the no-read archive, cameras.noread_dir) and a row in
 * `noreads`; the codes operators key in come back from the database, so
 * that a parcel that comes round (REQ_ after RECIRC__) is decided on its
 * keyed code.
 *
 * A thread with its own connection writes the images and the rows and
 * fetches the keys (LISTEN wcs_noreads, and every few seconds): the loop
 * thread never waits on the disk or the database. It keeps the rows it
 * could not write yet (a database outage) and writes them later, up to a
 * bound; past it new ones are dropped and counted (their parcels still
 * went to the no-read exit: only their video coding is lost).
 */
#ifndef WCS_DAEMON_VIDEO_CODING_H
#define WCS_DAEMON_VIDEO_CODING_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/err.h"
#include "scanners/cameras.h"
#include "wcs/config/config.h"

struct wcs_video_coding;

struct wcs_video_coding_stats {
    uint64_t noreads;    /* no-read parcels recorded (rows written) */
    uint64_t images;     /* images kept in the archive */
    uint64_t dropped;    /* no-reads not recorded: the queue was full */
    uint64_t keyed_used; /* parcels decided on a keyed code */
    size_t waiting;      /* no-reads waiting for the database */
    size_t keys;         /* keyed codes held for parcels that come round */
    size_t pending;      /* the line's no-reads waiting for a code, as last fetched
                          * (every few seconds): the console's badge */
};

/*
 * Starts on loop: opens the no-read archive (when cfg->cameras.noread_dir
 * is set) and the thread. cameras (may be NULL: none) gives the frames;
 * conninfo is copied (a secret: never logged). Returns 0, -errno (the
 * archive's directory) or -ENOMEM; *out NULL on error.
 */
int wcs_video_coding_start(uv_loop_t *loop, const struct wcs_config *cfg, const char *conninfo,
                           struct scan_cameras *cameras, struct wcs_video_coding **out,
                           struct err *e);

/* Stops the thread (what waits for the database is dropped: logged) and
 * frees v once its handle is closed. NULL is a no-op. Loop thread. */
void wcs_video_coding_stop(struct wcs_video_coding *v);

/* The parcel of tracking was decided a no-read at location at at_us: its
 * cameras' unread frames taken in [from_us, to_us] are kept with it, when
 * record (its first round); else they are only cleared away. Loop thread;
 * never blocks. */
void wcs_video_coding_noread(struct wcs_video_coding *v, const char *tracking, const char *location,
                             int64_t from_us, int64_t to_us, int64_t at_us, bool record);

/* The code keyed in for tracking's parcel, "" when it was marked
 * unreadable, NULL when none was keyed (in the last hour). Loop thread. */
const char *wcs_video_coding_keyed(struct wcs_video_coding *v, const char *tracking);

/* tracking's parcel came round and was decided on its keyed code: it goes
 * to destination (recorded as the no-read's resolution). Loop thread. */
void wcs_video_coding_resolved(struct wcs_video_coding *v, const char *tracking,
                               const char *destination);

/* Loop thread. */
void wcs_video_coding_stats(struct wcs_video_coding *v, struct wcs_video_coding_stats *out);

#endif

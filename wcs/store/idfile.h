/*
 * idfile.h - the event writer's id reservation file (PATH.ids next to the
 * spool): the millisecond below which every id this node handed out lies,
 * written ahead with fdatasync, so that a restart after the clock was
 * stepped back does not hand out an id again (event_ids.c has the design).
 * Used by the store thread only; the spool's lock covers it.
 */
#ifndef WCS_IDFILE_H
#define WCS_IDFILE_H

#include <stdint.h>

#include "common/err.h"

struct wcs_idfile;

/* Opens (creating, mode 0600) the id file at path and reads its
 * reservation into *reserved_ms (0 when the file is new; a file whose two
 * slots are both damaged is logged and read as 0). On success *out is the
 * file, to be closed with wcs_idfile_close(). Returns 0, -errno or
 * -ENOMEM. */
int wcs_idfile_open(const char *path, struct wcs_idfile **out, int64_t *reserved_ms, struct err *e);

/* Records until_ms as the reservation (one slot, pwrite + fdatasync).
 * Returns 0 or -errno (the previous reservation stays valid). */
int wcs_idfile_reserve(struct wcs_idfile *f, int64_t until_ms, struct err *e);

/* The reservation now in force (ms). */
int64_t wcs_idfile_reserved(const struct wcs_idfile *f);

/* Closes and frees f; NULL is a no-op. */
void wcs_idfile_close(struct wcs_idfile *f);

#endif

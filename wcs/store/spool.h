/*
 * spool.h - the event writer's durable local spool: an append-only file of
 * length-prefixed, CRC-checked records, fsync'd per append, read back in
 * order and emptied once everything in it has reached the database.
 *
 * Pure file I/O: the spool knows nothing of events, telegrams or
 * PostgreSQL; a record is an opaque payload of 1..WCS_SPOOL_REC_MAX bytes.
 * One thread uses a spool at a time (the writer's store thread); it has no
 * lock. docs/events.md describes the file format and the guarantees.
 *
 * File format: a sequence of frames, each
 *     u32 len (little-endian, 1..WCS_SPOOL_REC_MAX)
 *     u32 crc (little-endian, CRC-32/ISO-HDLC of the payload)
 *     len bytes of payload
 * and nothing else (no file header: an empty file is an empty spool).
 */
#ifndef WCS_SPOOL_H
#define WCS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define WCS_SPOOL_FRAME_HDR 8         /* len + crc */
#define WCS_SPOOL_REC_MAX (64 * 1024) /* largest payload; larger = corrupt */

struct wcs_spool;

/* What wcs_spool_open() found in an existing file. */
struct wcs_spool_scan {
    uint64_t records;    /* valid records kept */
    uint64_t bytes;      /* their size in the file, frames included */
    uint64_t bad_bytes;  /* bytes from the first bad frame to the end of the
                          * file: a torn last record (crash mid-write) or
                          * corruption; copied to PATH.bad, then cut off */
    uint64_t bad_offset; /* where they started (valid when bad_bytes > 0) */
};

/* CRC-32 (ISO-HDLC, as zlib and PNG: reflected 0xEDB88320, init and final
 * xor 0xFFFFFFFF) of n bytes, continuing from crc (0 to start). */
uint32_t wcs_spool_crc32(uint32_t crc, const void *data, size_t n);

/*
 * Opens the spool file at path, creating it (mode 0600, then fsync of its
 * directory so the new name survives a crash) when missing. Scans an existing
 * file frame by frame: the first frame that is incomplete, has an impossible
 * length or a CRC mismatch ends the valid part; everything from there on is
 * appended to "PATH.bad" (kept for inspection), cut off the spool and
 * fsync'd, and a warning is logged. max_bytes bounds the file (0 = no
 * bound); a file already larger stays readable, but appends are refused
 * until it shrinks. scan (may be NULL) gets what was found. On success *out
 * is the spool, to be closed with wcs_spool_close(). Returns 0, -errno
 * (open, read, write, fsync) or -ENOMEM.
 */
int wcs_spool_open(const char *path, uint64_t max_bytes, struct wcs_spool **out,
                   struct wcs_spool_scan *scan, struct err *e);

/* Closes the file and frees s. NULL is a no-op. Unwritten pending records
 * (wcs_spool_add() without wcs_spool_commit()) are discarded. */
void wcs_spool_close(struct wcs_spool *s);

/* Adds one record (copied) to the pending group that the next
 * wcs_spool_commit() writes. Returns 0, ERR_INVALID (len 0 or above
 * WCS_SPOOL_REC_MAX) or -ENOMEM. Nothing is written yet. */
int wcs_spool_add(struct wcs_spool *s, const void *payload, size_t len, struct err *e);

/* Drops the pending group. */
void wcs_spool_discard(struct wcs_spool *s);

/*
 * Appends the pending group to the file with one write and fdatasync: when
 * this returns 0 every record of the group is durable. All or nothing: when
 * the group does not fit under max_bytes it is refused with ERR_FULL and the
 * file is unchanged; on a write or sync failure the file is cut back to its
 * previous size and -errno is returned. Either way the pending group is
 * dropped, so the caller re-adds it for another try. An empty group is a
 * no-op.
 */
int wcs_spool_commit(struct wcs_spool *s, struct err *e);

/* Called per record by wcs_spool_peek(), in file order; payload is valid
 * only during the call. Non-zero stops the peek before this record (it is
 * not counted). */
typedef int (*wcs_spool_rec_cb)(void *arg, const void *payload, size_t len);

/*
 * Reads up to max_records records from the read position (the start of the
 * file after open, moved on by wcs_spool_consume()), in order, handing each
 * to cb. Does not move the read position: the caller first stores the
 * records elsewhere, then consumes them. *n gets the records delivered.
 * Returns 0, ERR_PARSE (a CRC mismatch or bad length: the file changed
 * under the spool), or -errno.
 */
int wcs_spool_peek(struct wcs_spool *s, size_t max_records, wcs_spool_rec_cb cb, void *arg,
                   size_t *n, struct err *e);

/*
 * Moves the read position past the records of the last wcs_spool_peek().
 * When that reaches the end of the file, the file is truncated to 0 and
 * fsync'd: the spool is empty again. Returns 0 or -errno (truncate, sync);
 * the read position has moved either way.
 */
int wcs_spool_consume(struct wcs_spool *s, struct err *e);

/* Bytes in the file (frames included). */
uint64_t wcs_spool_bytes(const struct wcs_spool *s);
/* Records in the file, read or not. */
uint64_t wcs_spool_records(const struct wcs_spool *s);
/* Records not yet consumed. 0 means the spool is empty. */
uint64_t wcs_spool_unread(const struct wcs_spool *s);

#endif

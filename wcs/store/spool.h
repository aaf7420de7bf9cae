/*
 * spool.h - the event writer's durable local spool: an append-only file of
 * length-prefixed, CRC-checked records, fsync'd per append, read back in
 * order and emptied once everything in it has reached the database.
 *
 * Pure file I/O: the spool knows nothing of events, telegrams or
 * PostgreSQL; a record is an opaque payload of 1..WCS_SPOOL_REC_MAX bytes.
 * One thread uses a spool at a time (the writer's store thread); one process
 * uses a spool file at a time: wcs_spool_open() takes an exclusive flock()
 * on it and fails when another process holds it. docs/events.md describes
 * the file format and the guarantees.
 *
 * File format: a sequence of frames, each
 *     u32 magic (little-endian WCS_SPOOL_MAGIC, the bytes "WSF1")
 *     u32 len   (little-endian, 1..WCS_SPOOL_REC_MAX)
 *     u32 crc   (little-endian, CRC-32/ISO-HDLC of len's 4 bytes, then the
 *                payload)
 *     len bytes of payload
 * and nothing else (no file header: an empty file is an empty spool). The
 * magic lets a reader find the next frame after a corrupt stretch. Files
 * written before the magic (frames u32 len | u32 crc of the payload |
 * payload) are still read, frame by frame; new frames are always appended
 * in the current form.
 */
#ifndef WCS_SPOOL_H
#define WCS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define WCS_SPOOL_MAGIC 0x31465357u  /* "WSF1" in file order */
#define WCS_SPOOL_FRAME_HDR 12        /* magic + len + crc */
#define WCS_SPOOL_REC_MAX (64 * 1024) /* largest payload; larger = corrupt */

struct wcs_spool;

/* What wcs_spool_open() found in an existing file. */
struct wcs_spool_scan {
    uint64_t records;     /* valid records kept */
    uint64_t bytes;       /* their size in the file, frames included */
    uint64_t bad_bytes;   /* bytes that were not part of a valid frame: a torn
                           * last record (crash mid-write) and corrupt
                           * stretches; copied to PATH.bad and removed */
    uint64_t bad_offset;  /* where the first of them started (valid when
                           * bad_bytes > 0) */
    uint64_t bad_stretches; /* how many separate stretches they formed */
};

/* CRC-32 (ISO-HDLC, as zlib and PNG: reflected 0xEDB88320, init and final
 * xor 0xFFFFFFFF) of n bytes, continuing from crc (0 to start). */
uint32_t wcs_spool_crc32(uint32_t crc, const void *data, size_t n);

/*
 * Opens the spool file at path, creating it (mode 0600, then fsync of its
 * directory so the new name survives a crash) when missing, and locks it
 * (flock LOCK_EX | LOCK_NB, held until wcs_spool_close()). Scans an existing
 * file frame by frame. A frame that is incomplete, has an impossible length
 * or a CRC mismatch starts a bad stretch, which ends at the next valid frame
 * (found by its magic, length and CRC) or at the end of the file. Every bad
 * stretch is appended to "PATH.bad" (kept for inspection) and logged with
 * its offset and size; the valid frames after it are kept. A bad stretch at
 * the end (a torn last append) is cut off; bad stretches in the middle are
 * removed by rewriting the valid frames to PATH.tmp, fsync, and a rename
 * over PATH. max_bytes bounds the file (0 = no bound); a file already
 * larger stays readable, but appends are refused until it shrinks. scan
 * (may be NULL) gets what was found. On success *out is the spool, to be
 * closed with wcs_spool_close(). Returns 0, -EBUSY (another process holds
 * the spool), -errno (open, read, write, fsync, rename) or -ENOMEM.
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
 * to cb. Does not move the read position over records: the caller first
 * stores them elsewhere, then consumes them. A bad frame (the file was
 * damaged after it was written) ends the records delivered; when it is at
 * the read position, the bad stretch up to the next valid frame is skipped
 * for good: appended to PATH.bad, logged, counted in
 * wcs_spool_skipped_bytes(), and the read position moves past it, so the
 * records behind it are delivered (in this call) and a drain never stalls on
 * it. *n gets the records delivered. Returns 0 or -errno (read, or saving the
 * bad stretch: nothing skipped then).
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
/* Bytes of bad stretches skipped by wcs_spool_peek() since open (those found
 * at open are in struct wcs_spool_scan). */
uint64_t wcs_spool_skipped_bytes(const struct wcs_spool *s);

#endif

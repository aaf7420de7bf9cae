/*
 * archive.h - the images of no-read frames, kept on a bounded disk for the
 * operators who key their codes in and the engineers who adjust the tunnel
 * (issue 14, docs/camera.md "No-read archive").
 *
 * An archive is a directory of entries, each a frame (NAME.pgm, binary
 * PGM) and what is known of it (NAME.json: {"at", "location", "source",
 * "tracking", "cause", "region": {"blocks", "contrast", "module_px",
 * "angle_deg"}, "image"}). NAME begins with the UTC time to the
 * millisecond, so names sort by age; past max_entries or max_bytes the
 * oldest entries go first. Both files are written under a temporary name
 * and renamed, the image first, so a crash leaves no entry half-written
 * (a stray temporary file is removed at the next open).
 */
#ifndef WCS_SCANNERS_ARCHIVE_H
#define WCS_SCANNERS_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanners/camera.h"

#define SCAN_ARCHIVE_NAME_MAX 80

struct scan_archive_config {
    const char *dir;      /* created (0750) when missing */
    uint64_t max_bytes;   /* images and their JSON together; 0: 1 GiB */
    unsigned max_entries; /* 0: 100,000 */
};

/* What is known of a no-read frame besides its image (strings may be NULL). */
struct scan_archive_meta {
    int64_t at_us;          /* when it was taken, Unix microseconds */
    const char *location;   /* scan point */
    const char *source;     /* camera */
    const char *tracking;   /* the PLC's tracking number, when known */
    const struct scan_noread *why;
};

struct scan_archive;

/* Opens (creating) the archive and counts what is in it. 0, -errno (e names
 * the directory), -ENOMEM. */
int scan_archive_open(const struct scan_archive_config *cfg, struct scan_archive **out,
                      struct err *e);

/* Keeps frame f with m as a new entry (its name in name, "" on failure),
 * then drops the oldest entries past the bounds. 0, -errno, -ENOMEM, or
 * ERR_INVALID (a frame bigger than the whole archive may be). */
int scan_archive_put(struct scan_archive *a, const struct scan_frame *f,
                     const struct scan_archive_meta *m, char name[SCAN_ARCHIVE_NAME_MAX],
                     struct err *e);

/* Entries and bytes now; for status pages and tests. */
unsigned scan_archive_entries(const struct scan_archive *a);
uint64_t scan_archive_bytes(const struct scan_archive *a);

void scan_archive_close(struct scan_archive *a);

/* True for a name an entry can have (scan_archive_put's: digits, 'T', 'Z',
 * '.', '-'), so a name from outside never leaves the archive's directory. */
bool scan_archive_name_ok(const char *name);

/* Entry name's image in the archive at dir, as PNG (what a browser shows):
 * *png (malloc'd, caller frees) of *len bytes. 0, ERR_NOTFOUND (no such
 * entry: dropped as the oldest, or never), ERR_INVALID (a bad name), or
 * the image loader's errors. */
int scan_archive_png(const char *dir, const char *name, unsigned char **png, size_t *len,
                     struct err *e);

#endif

/*
 * noreads.h - the parcels no scanner or camera read, and the codes
 * operators key in for them (video coding; migration 0022, docs/camera.md
 * "Video coding"). wcsd adds a row per no-read parcel; the console and
 * wcsctl list, show and key them (wcs_act_noread_key in actions.h); the
 * line's wcsd fetches the keys (wcs_db_noread_keys_since) and marks a
 * parcel resolved when it came round and got its destination.
 */
#ifndef WCS_NOREADS_H
#define WCS_NOREADS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define WCS_NOREAD_IMAGES_MAX 16 /* images kept per no-read parcel */
#define WCS_NOREAD_NAME_MAX 80   /* an image's archive entry name (scanners/archive.h) */

struct wcs_noread {
    int64_t id;
    char node[16];     /* the line */
    char tracking[21]; /* the PLC's tracking number */
    char location[21]; /* the scan point */
    int64_t at_us;     /* the no-read decision */
    char cause[24];    /* scan_noread_cause_name(), "no_camera" without images */
    size_t nimages;
    char images[WCS_NOREAD_IMAGES_MAX][WCS_NOREAD_NAME_MAX];
    char cameras[WCS_NOREAD_IMAGES_MAX][21];
    char state[12]; /* "pending", "keyed", "unreadable", "expired" (pending for
                     * over an hour: its parcel left the loop) */
    char code[33];  /* keyed: the code */
    char keyed_by[64];
    int64_t keyed_at_us; /* 0 while pending */
    int64_t keyed_seq;
    int64_t resolved_at_us; /* 0 until it came round with its code */
    char resolved_to[21];
};

/* Adds n's row (id, state and keys are ignored) unless the line already
 * has a row for its tracking number from the last hour (a parcel that came
 * round unkeyed). *id gets the new row's id, 0 when there was one. 0 or
 * ERR_DB. */
int wcs_db_noread_add(PGconn *c, const struct wcs_noread *n, int64_t *id, struct err *e);

/* One row. 0, ERR_NOTFOUND or ERR_DB. */
int wcs_db_noread_get(PGconn *c, int64_t id, struct wcs_noread *out, struct err *e);

typedef int (*wcs_noread_cb)(void *arg, const struct wcs_noread *n);

/* Rows in state (NULL or "" = any; "pending", "keyed", "unreadable",
 * "expired") of node (NULL or "" = every line), the
 * oldest first when state is "pending" (the queue), else the newest first;
 * at most limit (1..1000). *pending (may be NULL) gets how many are pending
 * on node. cb's non-zero stops. 0, ERR_INVALID (state) or ERR_DB. */
int wcs_db_noreads_list(PGconn *c, const char *state, const char *node, size_t limit,
                        wcs_noread_cb cb, void *arg, size_t *pending, struct err *e);

/* Keys row id in: code (checked as any scan: a valid parcel code) or,
 * code NULL, unreadable; by user. NOTIFY wcs_noreads (the line's wcsd
 * fetches it); keys are numbered (keyed_seq) in the order they commit.
 * *out (may be NULL) gets the row after. 0, ERR_INVALID (the code, e says
 * why), ERR_NOTFOUND, ERR_CONFLICT (no longer pending: e says who keyed
 * it; or expired: over an hour old) or ERR_DB. */
int wcs_db_noread_key(PGconn *c, int64_t id, const char *code, const char *user,
                      struct wcs_noread *out, struct err *e);

/* Marks node's pending rows older than an hour expired (of tracking
 * only, unless NULL). 0 or ERR_DB. */
int wcs_db_noreads_expire(PGconn *c, const char *node, const char *tracking, struct err *e);

/* The rows of node keyed (or marked unreadable) after keyed_seq after,
 * with a no-read in the last hour, in keyed_seq order, at most limit. */
int wcs_db_noread_keys_since(PGconn *c, const char *node, int64_t after, size_t limit,
                             wcs_noread_cb cb, void *arg, struct err *e);

/* The parcel of node's keyed row for tracking came round and went to
 * destination. 0 or ERR_DB (no such row: 0, nothing changed). */
int wcs_db_noread_resolved(PGconn *c, const char *node, const char *tracking,
                           const char *destination, struct err *e);

/* The URL path of a no-read's image NAME: WCS_NOREAD_IMAGE_PATH NAME (PNG). */
#define WCS_NOREAD_IMAGE_PATH "/v1/noread-images/"

/* n as the API shows it (docs/console.md "Video coding"): {id, line,
 * tracking, location, at, cause, images: [{name, camera, url}], state,
 * code, keyed_by, keyed_at, resolved_at, resolved_to}; times in
 * milliseconds since the epoch, null when not yet. NULL on ENOMEM. */
json_t *wcs_noread_json(const struct wcs_noread *n);

#endif

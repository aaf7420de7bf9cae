/*
 * track.h - parcels in flight on one sorter line, by the PLC's tracking
 * number: what was answered (so a repeated REQ_ gets the same answer), how
 * often the parcel came round, and how it ended.
 *
 * Pure and bounded: entries live in a ring in arrival order with a hash
 * index; the oldest entry leaves when the ring is full or older than the
 * retention (the spec keeps tracking numbers unique for at least 24 h).
 * Owned by one thread (wcsd's loop).
 */
#ifndef WCS_TRACK_H
#define WCS_TRACK_H

#include <stddef.h>
#include <stdint.h>

enum wcs_track_state {
    WCS_TRACK_DECIDED = 0, /* answered; on its way to the destination */
    WCS_TRACK_RECIRC,      /* passed its destination (RECIRC__/NODIVERT): will come round */
    WCS_TRACK_FINAL        /* sorted, rejected, lost or removed */
};

struct wcs_track {
    char tracking[11];
    char location[21];       /* decision point of the last REQ_ */
    char code[33];           /* parcel code decided on, "" none */
    char destination[21];    /* last answer */
    uint8_t reason;          /* enum conv_reason of the last answer */
    uint8_t state;           /* enum wcs_track_state */
    uint8_t final_event;     /* enum conv_upd_event once FINAL */
    uint16_t recirculations; /* times it came round */
    int32_t chute;           /* plan chute index whose load counts it, -1 none */
    int64_t first_us;        /* first REQ_, microseconds */
    int64_t last_us;         /* last change */
};

struct wcs_tracks;

/* capacity: most entries kept (oldest dropped past it). NULL on ENOMEM. */
struct wcs_tracks *wcs_tracks_new(size_t capacity);
void wcs_tracks_free(struct wcs_tracks *t);

/* The entry for tracking, or NULL. Valid until the next add/expire. */
struct wcs_track *wcs_tracks_find(struct wcs_tracks *t, const char *tracking);

/* Adds a zeroed entry for tracking (which must not be present) stamped
 * now_us, dropping the oldest when full. NULL on ENOMEM. */
struct wcs_track *wcs_tracks_add(struct wcs_tracks *t, const char *tracking, int64_t now_us);

/* Drops entries that arrived before now_us - max_age_us; returns how many. */
size_t wcs_tracks_expire(struct wcs_tracks *t, int64_t now_us, int64_t max_age_us);

size_t wcs_tracks_count(const struct wcs_tracks *t);

#endif

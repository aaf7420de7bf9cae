/*
 * track.h - parcels in flight on one sorter line, by the PLC's tracking
 * number: what was answered (so a repeated REQ_ gets the same answer), how
 * often the parcel came round, and how it ended.
 *
 * Pure and bounded: entries live in a ring in arrival order with a hash
 * index; the oldest entry leaves when the ring is full or older than the
 * retention (the spec keeps tracking numbers unique for at least 24 h).
 * Owned by one thread (the loop of the station that keeps it).
 */
#ifndef WCS_CONVEYOR_TRACK_H
#define WCS_CONVEYOR_TRACK_H

#include <stddef.h>
#include <stdint.h>

enum conv_track_state {
    CONV_TRACK_DECIDED = 0, /* answered; on its way to the destination */
    CONV_TRACK_RECIRC,      /* passed its destination (RECIRC__/NODIVERT): will come round */
    CONV_TRACK_FINAL        /* sorted, rejected, lost or removed */
};

struct conv_track {
    char tracking[11];
    char location[21];       /* decision point of the last REQ_ */
    char code[33];           /* parcel code decided on, "" none */
    char destination[21];    /* last answer */
    uint8_t reason;          /* enum conv_reason of the last answer */
    uint8_t state;           /* enum conv_track_state */
    uint8_t final_event;     /* enum conv_upd_event once FINAL */
    uint16_t recirculations; /* times it came round */
    int32_t ref;             /* the application's reference for the answer (wcsd: the
                              * chute whose load counts the parcel), -1 none */
    uint64_t upd_hash;       /* conv_tg_content_hash of the last UPD_ applied since the
                              * last answer, 0 none: a resend repeats it */
    int64_t first_us;        /* first REQ_, microseconds */
    int64_t last_us;         /* last change */
};

struct conv_tracks;

/* capacity: most entries kept (oldest dropped past it). NULL on ENOMEM. */
struct conv_tracks *conv_tracks_new(size_t capacity);
void conv_tracks_free(struct conv_tracks *t);

/* The entry for tracking, or NULL. Valid until the next add/expire. */
struct conv_track *conv_tracks_find(struct conv_tracks *t, const char *tracking);

/* Adds a zeroed entry for tracking (which must not be present) stamped
 * now_us, dropping the oldest when full. NULL on ENOMEM. */
struct conv_track *conv_tracks_add(struct conv_tracks *t, const char *tracking, int64_t now_us);

/* Drops entries that arrived before now_us - max_age_us; returns how many. */
size_t conv_tracks_expire(struct conv_tracks *t, int64_t now_us, int64_t max_age_us);

size_t conv_tracks_count(const struct conv_tracks *t);

#endif

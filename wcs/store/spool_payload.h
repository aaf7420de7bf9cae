/*
 * spool_payload.h - what the event writer puts in a spool frame
 * (wcs/store/spool.h carries opaque payloads): one event or telegram
 * record, or a group of them, little-endian:
 *
 *   event:    'E' id(8) at_us(8) kind(1), then parcel_code, location, chute,
 *             reason, source, detail, each as len(1) + bytes
 *   telegram: 'T' id(8) at_us(8) direction(1) refused(1) seq(4),
 *             plc and type as len(1) + bytes, raw as len(2) + bytes
 *   group:    'G' count(1, 2..WCS_EVENT_GROUP_MAX), then each record as
 *             len(2) + its 'E' or 'T' payload
 *
 * A group (a telegram and the events it causes) is one frame so that
 * neither a torn append nor a damaged stretch of the spool can keep one
 * record of it without the others. Pure: bytes in, records out, and back.
 * docs/events.md "The durable local spool" has the rest.
 */
#ifndef WCS_SPOOL_PAYLOAD_H
#define WCS_SPOOL_PAYLOAD_H

#include <stddef.h>

#include "wcs/store/events.h"

/* A payload's first byte. */
enum wcs_payload_tag {
    WCS_PAYLOAD_EVENT = 'E',
    WCS_PAYLOAD_TELEGRAM = 'T',
    WCS_PAYLOAD_GROUP = 'G',
};

/* Largest payload of one record (a telegram with all fields full), and of
 * a group: its tag, count and each record with a 2-byte length. */
#define WCS_PAYLOAD_MAX (1 + 8 + 8 + 1 + 1 + 4 + 1 + 5 + 1 + 4 + 2 + WCS_TELEGRAM_RAW_MAX)
#define WCS_PAYLOAD_GROUP_MAX (2 + WCS_EVENT_GROUP_MAX * (2 + WCS_PAYLOAD_MAX))

/* Writes ev (tg) as a record at buf (WCS_PAYLOAD_MAX bytes); returns its
 * length. Strings are cut at their buffer's size, raw at raw_len. */
size_t wcs_payload_put_event(unsigned char *buf, const struct wcs_event *ev);
size_t wcs_payload_put_telegram(unsigned char *buf, const struct wcs_telegram_rec *tg);

/* A group being written into buf (WCS_PAYLOAD_GROUP_MAX bytes): each record
 * is put at wcs_payload_group_at() and then counted with
 * wcs_payload_group_add(), at most WCS_EVENT_GROUP_MAX of them. */
struct wcs_payload_group {
    unsigned char *buf;
    size_t len; /* bytes so far: tag, count and the records with their lengths */
};

void wcs_payload_group_start(struct wcs_payload_group *g, unsigned char *buf);
/* Where the next record goes. */
unsigned char *wcs_payload_group_at(const struct wcs_payload_group *g);
/* Counts the record of len bytes just put; returns the group's length. */
size_t wcs_payload_group_add(struct wcs_payload_group *g, size_t len);

/* Records in the payload of len bytes at p: a group's count, else 1 (what
 * wcs_payload_decode() appends when it succeeds, or what it skips). */
size_t wcs_payload_records(const unsigned char *p, size_t len);

/*
 * Decodes the payload of len bytes at p: one record, or a group whole
 * (never a part of one). Events are appended at ev[*nev], telegrams at
 * tg[*ntg], each array with room for WCS_EVENT_GROUP_MAX more; every record
 * appended is within its fields' bounds and passes wcs_event_check() or
 * wcs_telegram_check() with an id. Returns the records appended, or
 * ERR_PARSE with *nev and *ntg as they were: an unknown tag, a field past
 * the payload's end or its buffer, bytes left over, a group whose count or
 * lengths do not add up, or a record that fails its check.
 */
int wcs_payload_decode(const unsigned char *p, size_t len, struct wcs_event *ev, size_t *nev,
                       struct wcs_telegram_rec *tg, size_t *ntg);

#endif

/*
 * spool_payload.c - the event writer's spool payloads (format in
 * wcs/store/spool_payload.h). The decoder reads through a bounds-checked
 * reader: a payload passed its CRC, so it was written so, but by another
 * version or a bug it may still not fit, and then it is refused whole.
 */
#include "wcs/store/spool_payload.h"

#include <string.h>

/* --- writing ------------------------------------------------------------ */

static unsigned char *put_uint(unsigned char *p, uint64_t v, int bytes)
{
    int i;

    for (i = 0; i < bytes; i++)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

static unsigned char *put_str(unsigned char *p, const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    *p++ = (unsigned char)n;
    memcpy(p, s, n);
    return p + n;
}

size_t wcs_payload_put_event(unsigned char *buf, const struct wcs_event *ev)
{
    unsigned char *p = buf;

    *p++ = WCS_PAYLOAD_EVENT;
    p = put_uint(p, (uint64_t)ev->id, 8);
    p = put_uint(p, (uint64_t)ev->at_us, 8);
    *p++ = ev->kind;
    p = put_str(p, ev->parcel_code, sizeof(ev->parcel_code));
    p = put_str(p, ev->location, sizeof(ev->location));
    p = put_str(p, ev->chute, sizeof(ev->chute));
    p = put_str(p, ev->reason, sizeof(ev->reason));
    p = put_str(p, ev->source, sizeof(ev->source));
    p = put_str(p, ev->detail, sizeof(ev->detail));
    return (size_t)(p - buf);
}

size_t wcs_payload_put_telegram(unsigned char *buf, const struct wcs_telegram_rec *tg)
{
    unsigned char *p = buf;

    *p++ = WCS_PAYLOAD_TELEGRAM;
    p = put_uint(p, (uint64_t)tg->id, 8);
    p = put_uint(p, (uint64_t)tg->at_us, 8);
    *p++ = (unsigned char)tg->direction;
    *p++ = tg->refused ? 1 : 0;
    p = put_uint(p, tg->seq, 4);
    p = put_str(p, tg->plc, sizeof(tg->plc));
    p = put_str(p, tg->type, sizeof(tg->type));
    p = put_uint(p, tg->raw_len, 2);
    memcpy(p, tg->raw, tg->raw_len);
    return (size_t)(p - buf) + tg->raw_len;
}

void wcs_payload_group_start(struct wcs_payload_group *g, unsigned char *buf)
{
    g->buf = buf;
    g->buf[0] = WCS_PAYLOAD_GROUP;
    g->buf[1] = 0;
    g->len = 2;
}

unsigned char *wcs_payload_group_at(const struct wcs_payload_group *g)
{
    return g->buf + g->len + 2;
}

size_t wcs_payload_group_add(struct wcs_payload_group *g, size_t len)
{
    put_uint(g->buf + g->len, len, 2);
    g->len += 2 + len;
    g->buf[1]++;
    return g->len;
}

/* --- reading ------------------------------------------------------------ */

/* A bounds-checked reader over one payload: past its end, bad is set and
 * every read gives 0 or "". */
struct rd {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t get_uint(struct rd *r, int bytes)
{
    uint64_t v = 0;
    int i;

    if (r->end - r->p < bytes) {
        r->bad = 1;
        return 0;
    }
    for (i = 0; i < bytes; i++)
        v |= (uint64_t)*r->p++ << (8 * i);
    return v;
}

/* A len(1) + bytes string into dst (size bytes, NUL-terminated). */
static void get_str(struct rd *r, char *dst, size_t size)
{
    size_t n = (size_t)get_uint(r, 1);

    dst[0] = '\0';
    if (r->bad || n >= size || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return;
    }
    memcpy(dst, r->p, n);
    dst[n] = '\0';
    r->p += n;
}

static int get_event(struct rd *r, struct wcs_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->id = (int64_t)get_uint(r, 8);
    ev->at_us = (int64_t)get_uint(r, 8);
    ev->kind = (uint8_t)get_uint(r, 1);
    get_str(r, ev->parcel_code, sizeof(ev->parcel_code));
    get_str(r, ev->location, sizeof(ev->location));
    get_str(r, ev->chute, sizeof(ev->chute));
    get_str(r, ev->reason, sizeof(ev->reason));
    get_str(r, ev->source, sizeof(ev->source));
    get_str(r, ev->detail, sizeof(ev->detail));
    if (r->bad || r->p != r->end || wcs_event_check(ev, 0, NULL) != 0)
        return ERR_PARSE;
    return 0;
}

static int get_telegram(struct rd *r, struct wcs_telegram_rec *tg)
{
    size_t n;

    memset(tg, 0, sizeof(*tg));
    tg->id = (int64_t)get_uint(r, 8);
    tg->at_us = (int64_t)get_uint(r, 8);
    tg->direction = (char)get_uint(r, 1);
    tg->refused = get_uint(r, 1) != 0;
    tg->seq = (uint32_t)get_uint(r, 4);
    get_str(r, tg->plc, sizeof(tg->plc));
    get_str(r, tg->type, sizeof(tg->type));
    n = (size_t)get_uint(r, 2);
    if (r->bad || n > WCS_TELEGRAM_RAW_MAX || (size_t)(r->end - r->p) != n)
        return ERR_PARSE;
    memcpy(tg->raw, r->p, n);
    tg->raw[n] = '\0';
    tg->raw_len = n;
    return wcs_telegram_check(tg, 0, NULL) == 0 ? 0 : ERR_PARSE;
}

/* One 'E' or 'T' record, appended to ev or tg. */
static int decode_record(const unsigned char *p, size_t len, struct wcs_event *ev, size_t *nev,
                         struct wcs_telegram_rec *tg, size_t *ntg)
{
    struct rd r = {p, p + len, 0};
    int tag = (int)get_uint(&r, 1);

    if (tag == WCS_PAYLOAD_EVENT && get_event(&r, &ev[*nev]) == 0) {
        ++*nev;
        return 0;
    }
    if (tag == WCS_PAYLOAD_TELEGRAM && get_telegram(&r, &tg[*ntg]) == 0) {
        ++*ntg;
        return 0;
    }
    return ERR_PARSE;
}

size_t wcs_payload_records(const unsigned char *p, size_t len)
{
    if (len >= 2 && p[0] == WCS_PAYLOAD_GROUP && p[1] >= 1 && p[1] <= WCS_EVENT_GROUP_MAX)
        return p[1];
    return 1;
}

int wcs_payload_decode(const unsigned char *p, size_t len, struct wcs_event *ev, size_t *nev,
                       struct wcs_telegram_rec *tg, size_t *ntg)
{
    const unsigned char *end = p + len;
    size_t count = wcs_payload_records(p, len), nev0 = *nev, ntg0 = *ntg, i, sub;

    if (len == 0)
        return ERR_PARSE;
    if (p[0] != WCS_PAYLOAD_GROUP)
        return decode_record(p, len, ev, nev, tg, ntg) == 0 ? 1 : ERR_PARSE;
    if (len < 2 || p[1] < 1 || p[1] > WCS_EVENT_GROUP_MAX)
        return ERR_PARSE;
    p += 2;
    for (i = 0; i < count; i++) {
        if (end - p < 2)
            break;
        sub = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        if ((size_t)(end - p) < sub || decode_record(p, sub, ev, nev, tg, ntg) < 0)
            break;
        p += sub;
    }
    if (i == count && p == end)
        return (int)count;
    *nev = nev0;
    *ntg = ntg0;
    return ERR_PARSE;
}

/*
 * alarms.c - the line's alarms (alarms.h).
 *
 * DESIGN: an alarm is keyed by (kind, subject). A condition seen for the
 * first time waits as pending until it has held for its kind's delay (a
 * chute full for a moment is the line working; full for a minute is an
 * operator's job), then it is raised with a random id. An open alarm whose
 * condition is not seen in a round is cleared. Closed alarms stay for a
 * day so a shift can see what happened, then they are forgotten here (the
 * database keeps them).
 */
#include "wcs/core/alarms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
    uint8_t kind;
    char subject[WCS_ALARM_SUBJECT_MAX + 1];
    char text[WCS_ALARM_TEXT_MAX + 1];
    int64_t first_us; /* 0 = seen this round for the first time */
    bool seen;
};

struct held {
    struct wcs_alarm al;
    uint32_t stored;  /* version the store has */
    bool seen;
};

struct wcs_alarms {
    unsigned delay_s[WCS_ALARM_KIND_COUNT];
    struct held held[WCS_ALARMS_MAX];
    size_t nheld;
    struct pending pending[WCS_ALARMS_MAX];
    size_t npending;
    uint64_t changes;
    struct wcs_alarm view[WCS_ALARMS_MAX]; /* wcs_alarms_list's answer */
};

static const struct {
    const char *name;
    enum wcs_alarm_severity severity;
    unsigned delay_s;
} kinds[WCS_ALARM_KIND_COUNT] = {
    [WCS_ALARM_PLC_LINK_DOWN] = {"plc_link_down", WCS_ALARM_CRITICAL, 5},
    [WCS_ALARM_CHUTE_FULL] = {"chute_full", WCS_ALARM_WARNING, 30},
    [WCS_ALARM_LINE_STOPPED] = {"line_stopped", WCS_ALARM_WARNING, 10},
    [WCS_ALARM_LINE_ESTOP] = {"line_estop", WCS_ALARM_CRITICAL, 0},
    [WCS_ALARM_READ_RATE_LOW] = {"read_rate_low", WCS_ALARM_WARNING, 60},
    [WCS_ALARM_SCANNER_UNPLUGGED] = {"scanner_unplugged", WCS_ALARM_WARNING, 5},
    [WCS_ALARM_SPOOL_FILLING] = {"spool_filling", WCS_ALARM_CRITICAL, 0},
    [WCS_ALARM_DATABASE_DOWN] = {"database_down", WCS_ALARM_CRITICAL, 10},
    [WCS_ALARM_CUSTOMS_FAILING] = {"customs_failing", WCS_ALARM_WARNING, 0},
    [WCS_ALARM_MANIFEST_REFUSED] = {"manifest_refused", WCS_ALARM_WARNING, 0},
    [WCS_ALARM_PRINTER_DOWN] = {"label_printer_down", WCS_ALARM_WARNING, 0},
};

static const char *const severity_names[] = {"info", "warning", "critical"};

const char *wcs_alarm_kind_name(enum wcs_alarm_kind k)
{
    return (unsigned)k < WCS_ALARM_KIND_COUNT ? kinds[k].name : "?";
}

int wcs_alarm_kind_parse(const char *name, enum wcs_alarm_kind *out)
{
    int k;

    for (k = 0; name != NULL && k < WCS_ALARM_KIND_COUNT; k++)
        if (strcmp(name, kinds[k].name) == 0) {
            *out = (enum wcs_alarm_kind)k;
            return 0;
        }
    return ERR_INVALID;
}

const char *wcs_alarm_severity_name(enum wcs_alarm_severity s)
{
    return (unsigned)s <= WCS_ALARM_CRITICAL ? severity_names[s] : "?";
}

unsigned wcs_alarm_default_delay_s(enum wcs_alarm_kind k)
{
    return (unsigned)k < WCS_ALARM_KIND_COUNT ? kinds[k].delay_s : 0;
}

struct wcs_alarms *wcs_alarms_new(const unsigned *delay_s)
{
    struct wcs_alarms *a = calloc(1, sizeof(*a));
    int k;

    if (a == NULL)
        return NULL;
    for (k = 0; k < WCS_ALARM_KIND_COUNT; k++)
        a->delay_s[k] = delay_s ? delay_s[k] : kinds[k].delay_s;
    return a;
}

void wcs_alarms_free(struct wcs_alarms *a)
{
    free(a);
}

static bool same_key(uint8_t kind, const char *subject, uint8_t k2, const char *s2)
{
    return kind == k2 && strcmp(subject, s2) == 0;
}

static struct held *find_open(struct wcs_alarms *a, enum wcs_alarm_kind kind,
                              const char *subject)
{
    size_t i;

    for (i = 0; i < a->nheld; i++)
        if (a->held[i].al.cleared_us == 0 &&
            same_key(a->held[i].al.kind, a->held[i].al.subject, (uint8_t)kind, subject))
            return &a->held[i];
    return NULL;
}

static void changed(struct wcs_alarms *a, struct held *h)
{
    h->al.version++;
    a->changes++;
}

void wcs_alarms_restore(struct wcs_alarms *a, const struct wcs_alarm *al)
{
    struct held *h;

    if (a->nheld == WCS_ALARMS_MAX || al->kind >= WCS_ALARM_KIND_COUNT)
        return;
    h = &a->held[a->nheld++];
    memset(h, 0, sizeof(*h));
    h->al = *al;
    h->stored = h->al.version;
    /* An open alarm from before the restart is judged again: if its
     * condition still holds it stays open, else the first round clears it. */
    h->seen = false;
    a->changes++;
}

void wcs_alarms_observe(struct wcs_alarms *a, enum wcs_alarm_kind kind, const char *subject,
                        const char *text)
{
    struct held *h;
    struct pending *p;
    size_t i;

    if ((unsigned)kind >= WCS_ALARM_KIND_COUNT)
        return;
    if (subject == NULL)
        subject = "";
    h = find_open(a, kind, subject);
    if (h != NULL) {
        h->seen = true;
        if (strncmp(h->al.text, text, WCS_ALARM_TEXT_MAX) != 0) {
            snprintf(h->al.text, sizeof(h->al.text), "%s", text);
            changed(a, h);
        }
        return;
    }
    for (i = 0; i < a->npending; i++)
        if (same_key(a->pending[i].kind, a->pending[i].subject, (uint8_t)kind, subject))
            break;
    if (i == a->npending) {
        if (a->npending == WCS_ALARMS_MAX)
            return;
        p = &a->pending[a->npending++];
        memset(p, 0, sizeof(*p));
        p->kind = (uint8_t)kind;
        snprintf(p->subject, sizeof(p->subject), "%s", subject);
    }
    p = &a->pending[i];
    p->seen = true;
    snprintf(p->text, sizeof(p->text), "%s", text);
}

/* Room for one more held alarm: the oldest closed one the store has gives
 * way (one not stored yet is never lost; without any, the raise waits). */
static struct held *make_room(struct wcs_alarms *a)
{
    size_t i, oldest = a->nheld;

    if (a->nheld < WCS_ALARMS_MAX)
        return &a->held[a->nheld++];
    for (i = 0; i < a->nheld; i++)
        if (a->held[i].al.cleared_us != 0 && a->held[i].stored == a->held[i].al.version &&
            (oldest == a->nheld || a->held[i].al.cleared_us < a->held[oldest].al.cleared_us))
            oldest = i;
    return oldest < a->nheld ? &a->held[oldest] : NULL;
}

/* Raises p; false when there is no room (p stays pending). */
static bool raise_alarm(struct wcs_alarms *a, const struct pending *p, int64_t now_us,
                        void (*rand_cb)(uint8_t out[8], void *arg), void *arg)
{
    struct held *h = make_room(a);
    uint8_t r[8];
    int i;

    if (h == NULL)
        return false;
    memset(h, 0, sizeof(*h));
    rand_cb(r, arg);
    for (i = 0; i < 8; i++)
        snprintf(h->al.id + 2 * i, 3, "%02x", r[i]);
    h->al.kind = p->kind;
    h->al.severity = (uint8_t)kinds[p->kind].severity;
    memcpy(h->al.subject, p->subject, sizeof(h->al.subject));
    memcpy(h->al.text, p->text, sizeof(h->al.text));
    h->al.raised_us = now_us;
    h->seen = false; /* this round is over: the next must see it again */
    changed(a, h);
    return true;
}

size_t wcs_alarms_settle(struct wcs_alarms *a, int64_t now_us,
                         void (*rand_cb)(uint8_t out[8], void *arg), void *arg)
{
    uint64_t before = a->changes;
    size_t i, j;

    for (i = 0; i < a->nheld; i++) {
        struct held *h = &a->held[i];
        if (h->al.cleared_us == 0 && !h->seen) {
            h->al.cleared_us = now_us;
            changed(a, h);
        }
        h->seen = false;
    }
    for (i = j = 0; i < a->npending; i++) {
        struct pending *p = &a->pending[i];
        if (!p->seen)
            continue; /* gone before it was raised */
        if (p->first_us == 0)
            p->first_us = now_us;
        if (now_us - p->first_us >= (int64_t)a->delay_s[p->kind] * 1000000 &&
            raise_alarm(a, p, now_us, rand_cb, arg))
            continue;
        p->seen = false;
        a->pending[j++] = *p;
    }
    a->npending = j;
    /* Forget what closed more than a day ago (and is in the store). */
    for (i = j = 0; i < a->nheld; i++) {
        struct held *h = &a->held[i];
        if (h->al.cleared_us != 0 && now_us - h->al.cleared_us > WCS_ALARM_KEEP_US &&
            h->stored == h->al.version)
            continue;
        a->held[j++] = *h;
    }
    a->nheld = j;
    return (size_t)(a->changes - before);
}

int wcs_alarms_ack(struct wcs_alarms *a, const char *id, const char *user, int64_t now_us,
                   const struct wcs_alarm **out)
{
    size_t i;

    for (i = 0; i < a->nheld; i++) {
        struct held *h = &a->held[i];
        if (strcmp(h->al.id, id) != 0)
            continue;
        *out = &h->al;
        if (h->al.acked_us != 0)
            return ERR_STATE;
        h->al.acked_us = now_us;
        snprintf(h->al.acked_by, sizeof(h->al.acked_by), "%s", user);
        changed(a, h);
        return 0;
    }
    return ERR_NOTFOUND;
}

size_t wcs_alarms_unstored(const struct wcs_alarms *a, struct wcs_alarm *out, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < a->nheld && n < max; i++)
        if (a->held[i].stored != a->held[i].al.version)
            out[n++] = a->held[i].al;
    return n;
}

void wcs_alarms_stored(struct wcs_alarms *a, const char *id, uint32_t version)
{
    size_t i;

    for (i = 0; i < a->nheld; i++)
        if (strcmp(a->held[i].al.id, id) == 0 && a->held[i].stored < version)
            a->held[i].stored = version;
}

/* Open before closed, then newest first. */
static int newest_first(const void *x, const void *y)
{
    const struct wcs_alarm *p = x, *q = y;

    if ((p->cleared_us == 0) != (q->cleared_us == 0))
        return p->cleared_us == 0 ? -1 : 1;
    return p->raised_us > q->raised_us ? -1 : p->raised_us < q->raised_us;
}

const struct wcs_alarm *wcs_alarms_list(struct wcs_alarms *a, size_t *n)
{
    size_t i;

    for (i = 0; i < a->nheld; i++)
        a->view[i] = a->held[i].al;
    qsort(a->view, a->nheld, sizeof(a->view[0]), newest_first);
    *n = a->nheld;
    return a->view;
}

size_t wcs_alarms_open(const struct wcs_alarms *a)
{
    size_t i, n = 0;

    for (i = 0; i < a->nheld; i++)
        n += a->held[i].al.cleared_us == 0;
    return n;
}

uint64_t wcs_alarms_changes(const struct wcs_alarms *a)
{
    return a->changes;
}

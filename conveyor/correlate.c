/* correlate.c - bounded per-location rings of recent scans (see correlate.h). */
#include "conveyor/correlate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ring {
    char location[21];
    struct conv_scan *scans;  /* [cap] */
    unsigned char *used;      /* [cap] taken by a request */
    size_t head;              /* next slot to write */
    size_t n;                 /* scans held, <= cap */
};

struct conv_correlator {
    size_t cap;
    struct ring rings[CONV_CORR_LOCATIONS_MAX];
    size_t nrings;
};

struct conv_correlator *conv_corr_new(size_t per_location)
{
    struct conv_correlator *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->cap = per_location ? per_location : 256;
    return c;
}

void conv_corr_free(struct conv_correlator *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->nrings; i++) {
        free(c->rings[i].scans);
        free(c->rings[i].used);
    }
    free(c);
}

static const struct ring *find_ring(const struct conv_correlator *c, const char *location)
{
    size_t i;

    for (i = 0; i < c->nrings; i++)
        if (strcmp(c->rings[i].location, location) == 0)
            return &c->rings[i];
    return NULL;
}

int conv_corr_add(struct conv_correlator *c, const struct conv_scan *s)
{
    struct ring *r = NULL;
    size_t i;

    if (s->location[0] == '\0' || s->code[0] == '\0')
        return ERR_INVALID;
    for (i = 0; i < c->nrings; i++)
        if (strcmp(c->rings[i].location, s->location) == 0)
            r = &c->rings[i];
    if (r == NULL) {
        if (c->nrings == CONV_CORR_LOCATIONS_MAX)
            return ERR_FULL;
        r = &c->rings[c->nrings];
        r->scans = calloc(c->cap, sizeof(*r->scans));
        r->used = calloc(c->cap, 1);
        if (r->scans == NULL || r->used == NULL) {
            free(r->scans);
            free(r->used);
            r->scans = NULL;
            r->used = NULL;
            return -ENOMEM;
        }
        memcpy(r->location, s->location, sizeof(r->location));
        r->location[sizeof(r->location) - 1] = '\0';
        c->nrings++;
    }
    r->scans[r->head] = *s;
    r->used[r->head] = 0;
    r->head = (r->head + 1) % c->cap;
    if (r->n < c->cap)
        r->n++;
    return 0;
}

/* Collects (and with take, marks used) the distinct unused codes of the window. */
static size_t window(const struct conv_correlator *c, const char *location, int64_t t_us,
                     int64_t before_us, int64_t after_us, const char **codes, size_t max,
                     int take)
{
    const struct ring *r = find_ring(c, location);
    size_t i, j, distinct = 0;

    if (r == NULL)
        return 0;
    /* Oldest first: the slot after the newest when the ring is full. */
    for (i = 0; i < r->n; i++) {
        size_t slot = (r->head + c->cap - r->n + i) % c->cap;
        const struct conv_scan *s = &r->scans[slot];
        int seen = 0;

        if (r->used[slot] || s->at_us < t_us - before_us || s->at_us > t_us + after_us)
            continue;
        if (take)
            r->used[slot] = 1;
        for (j = 0; j < distinct && j < max; j++)
            if (strcmp(codes[j], s->code) == 0)
                seen = 1;
        if (seen)
            continue;
        if (distinct < max)
            codes[distinct] = s->code;
        distinct++;
    }
    return distinct;
}

size_t conv_corr_collect(const struct conv_correlator *c, const char *location, int64_t t_us,
                         int64_t before_us, int64_t after_us, const char **codes, size_t max)
{
    return window(c, location, t_us, before_us, after_us, codes, max, 0);
}

size_t conv_corr_take(struct conv_correlator *c, const char *location, int64_t t_us,
                      int64_t before_us, int64_t after_us, const char **codes, size_t max)
{
    return window(c, location, t_us, before_us, after_us, codes, max, 1);
}

size_t conv_corr_count(const struct conv_correlator *c, const char *location)
{
    const struct ring *r = find_ring(c, location);

    return r ? r->n : 0;
}

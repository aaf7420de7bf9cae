/*
 * track.c - ring of in-flight parcels with an open-addressing index
 * (linear probing, backward-shift deletion, so no tombstones pile up).
 */
#include "conveyor/track.h"

#include <stdlib.h>
#include <string.h>

struct conv_tracks {
    struct conv_track *ring;  /* [cap] in arrival order from head */
    size_t cap, head, n;
    uint32_t *index;         /* ring slot + 1, 0 = empty; [mask + 1] */
    size_t mask;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

struct conv_tracks *conv_tracks_new(size_t capacity)
{
    struct conv_tracks *t = calloc(1, sizeof(*t));
    size_t slots = 16;

    if (t == NULL)
        return NULL;
    if (capacity < 16)
        capacity = 16;
    while (slots < capacity * 2)
        slots *= 2;
    t->cap = capacity;
    t->ring = calloc(capacity, sizeof(*t->ring));
    t->index = calloc(slots, sizeof(*t->index));
    t->mask = slots - 1;
    if (t->ring == NULL || t->index == NULL) {
        conv_tracks_free(t);
        return NULL;
    }
    return t;
}

void conv_tracks_free(struct conv_tracks *t)
{
    if (t == NULL)
        return;
    free(t->ring);
    free(t->index);
    free(t);
}

static size_t find_slot(const struct conv_tracks *t, const char *tracking)
{
    size_t i = (size_t)hash(tracking) & t->mask;

    while (t->index[i] != 0) {
        if (strcmp(t->ring[t->index[i] - 1].tracking, tracking) == 0)
            return i;
        i = (i + 1) & t->mask;
    }
    return i; /* empty slot where it would go */
}

struct conv_track *conv_tracks_find(struct conv_tracks *t, const char *tracking)
{
    size_t i = find_slot(t, tracking);

    return t->index[i] ? &t->ring[t->index[i] - 1] : NULL;
}

/* Removes index slot i and shifts the following cluster back. */
static void index_delete(struct conv_tracks *t, size_t i)
{
    size_t j = i;

    t->index[i] = 0;
    for (;;) {
        size_t home;

        j = (j + 1) & t->mask;
        if (t->index[j] == 0)
            return;
        home = (size_t)hash(t->ring[t->index[j] - 1].tracking) & t->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            t->index[i] = t->index[j];
            t->index[j] = 0;
            i = j;
        }
    }
}

static void drop_oldest(struct conv_tracks *t)
{
    struct conv_track *old = &t->ring[t->head];

    index_delete(t, find_slot(t, old->tracking));
    memset(old, 0, sizeof(*old));
    t->head = (t->head + 1) % t->cap;
    t->n--;
}

struct conv_track *conv_tracks_add(struct conv_tracks *t, const char *tracking, int64_t now_us)
{
    struct conv_track *e;
    size_t pos, i;

    if (t->n == t->cap)
        drop_oldest(t);
    pos = (t->head + t->n) % t->cap;
    e = &t->ring[pos];
    memset(e, 0, sizeof(*e));
    strncpy(e->tracking, tracking, sizeof(e->tracking) - 1);
    e->ref = -1;
    e->first_us = e->last_us = now_us;
    i = find_slot(t, e->tracking);
    t->index[i] = (uint32_t)pos + 1;
    t->n++;
    return e;
}

size_t conv_tracks_expire(struct conv_tracks *t, int64_t now_us, int64_t max_age_us)
{
    size_t dropped = 0;

    while (t->n > 0 && t->ring[t->head].first_us < now_us - max_age_us) {
        drop_oldest(t);
        dropped++;
    }
    return dropped;
}

size_t conv_tracks_count(const struct conv_tracks *t)
{
    return t->n;
}

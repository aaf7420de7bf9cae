/*
 * registry.h - the in-memory parcel index: every pre-advised parcel, found by
 * any of its codes, for decisions that never touch the database.
 *
 * Owned by one thread (wcsd's loop); not thread-safe. Loaded from PostgreSQL
 * at start and kept fresh by applying batches of changed parcels.
 */
#ifndef WCS_REGISTRY_H
#define WCS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "wcs/core/parcel.h"

struct wcs_registry;

/* Creates an empty registry sized for about expected_parcels; NULL on ENOMEM. */
struct wcs_registry *wcs_registry_new(size_t expected_parcels);
void wcs_registry_free(struct wcs_registry *r);

/*
 * Inserts the parcel, or replaces the one with the same p->id, and maps each
 * of codes[0..ncodes-1] to it. A code already mapped to another parcel id is
 * moved to this one (the database is the authority on ownership).
 * Returns 0, -ENOMEM, or ERR_INVALID (code empty or longer than WCS_CODE_MAX).
 */
int wcs_registry_put(struct wcs_registry *r, const struct wcs_parcel *p,
                     const char *const *codes, size_t ncodes, struct err *e);

/* The parcel a code maps to, or NULL. The pointer is valid until the next put. */
const struct wcs_parcel *wcs_registry_find(const struct wcs_registry *r, const char *code,
                                           size_t len);

/* Parcels held. */
size_t wcs_registry_count(const struct wcs_registry *r);

/* Heap bytes used by the registry (records, codes, hash table). */
size_t wcs_registry_memory(const struct wcs_registry *r);

#endif

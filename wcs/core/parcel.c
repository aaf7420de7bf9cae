/*
 * parcel.c - conversion from the full pre-advice record to the compact
 * record the in-memory registry keeps for sorting decisions.
 *
 * The compact record uses unsigned, narrower fields, so "absent" (-1) and
 * out-of-range values must be mapped rather than cast: a negative weight or
 * dimension becomes 0 ("unknown"), a dimension beyond 65535 mm saturates, and
 * a postal code that is not exactly six digits becomes WCS_POSTAL_NONE.
 */
#include "wcs/core/parcel.h"

#include <string.h>

/* 6-digit postal code as a number, or WCS_POSTAL_NONE when absent or not
 * exactly six ASCII digits (a sort plan only ever matches 6-digit codes). */
static uint32_t postal_value(const char *s)
{
    uint32_t v = 0;
    size_t i;

    for (i = 0; i < 6; i++) {
        if (s[i] < '0' || s[i] > '9')
            return WCS_POSTAL_NONE;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (s[i] != '\0')
        return WCS_POSTAL_NONE;
    return v;
}

static uint32_t clamp_u32(int32_t v)
{
    return v < 0 ? 0 : (uint32_t)v;
}

static uint16_t clamp_u16(int32_t v)
{
    if (v < 0)
        return 0;
    if (v > UINT16_MAX)
        return UINT16_MAX;
    return (uint16_t)v;
}

void wcs_parcel_from_preadvice(struct wcs_parcel *p, const struct wcs_preadvice *a)
{
    size_t n;

    /* p->id belongs to the caller (it comes from the database). */
    p->postal = postal_value(a->postal_code);
    p->weight_g = clamp_u32(a->weight_g);
    p->length_mm = clamp_u16(a->length_mm);
    p->width_mm = clamp_u16(a->width_mm);
    p->height_mm = clamp_u16(a->height_mm);
    p->customs = (uint8_t)a->customs;
    /* Both fixed-width fields are NUL-padded so that bytes after a short
     * value never carry stale memory into comparisons. */
    n = strnlen(a->country, sizeof(p->country));
    memset(p->country, 0, sizeof(p->country));
    memcpy(p->country, a->country, n);
    n = strnlen(a->service, sizeof(p->service));
    memset(p->service, 0, sizeof(p->service));
    memcpy(p->service, a->service, n);
}

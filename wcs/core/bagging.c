/*
 * bagging.c - the pure part of bags and dispatches: UPU receptacle ids, the
 * route -> destination office of exchange table, manifest ids, and the
 * manifest as the broker's JSON body and as CSV. No I/O beyond the FILE the
 * CSV writer is given; wcs/db_bags.c does the SQL.
 */
#include "wcs/core/bagging.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Route -> destination office of exchange. Offices from the UPU code list
 * (russia-bound facts): RUMOWA Moscow, RUOVBA Novosibirsk, RUVVOA
 * Vladivostok. Routes whose region has no office of its own clear where
 * their mail is exchanged: Yekaterinburg via Novosibirsk (plan note, since
 * 2025-03), the Zabaykalsk crossings into Siberia via Novosibirsk, the Amur
 * and Far-East crossings via Vladivostok.
 */
static const struct {
    const char *route;
    const char *office;
} route_offices[] = {
    {"RU-MOW-AIR", "RUMOWA"},   {"RU-OVB-AIR", "RUOVBA"},  {"RU-EKB-AIR", "RUOVBA"},
    {"RU-ZAB-RAIL", "RUOVBA"},  {"RU-ZAB-ROAD", "RUOVBA"}, {"RU-BQS-ROAD", "RUVVOA"},
    {"RU-POG-ROAD", "RUVVOA"},  {"RU-DNG-ROAD", "RUVVOA"}, {"RU-NLL-RAIL", "RUVVOA"},
    {"RU-FYJ-RIVER", "RUVVOA"}, {"RU-KZN-AIR", "RUKZNA"},  {"RU-LED-AIR", "RULEDA"},
};

const char *wcs_bag_dest_office(const char *route)
{
    size_t i;

    if (route == NULL)
        return NULL;
    for (i = 0; i < sizeof(route_offices) / sizeof(route_offices[0]); i++)
        if (strcmp(route_offices[i].route, route) == 0)
            return route_offices[i].office;
    return NULL;
}

char wcs_bag_category(const char *mode)
{
    if (mode == NULL)
        return 0;
    if (strcmp(mode, "air") == 0)
        return 'A';
    if (strcmp(mode, "rail") == 0 || strcmp(mode, "road") == 0 || strcmp(mode, "river") == 0)
        return 'C';
    return 0;
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int office_ok(const char *o)
{
    if (strlen(o) != 6 || !is_upper(o[0]) || !is_upper(o[1]))
        return 0;
    for (int i = 2; i < 6; i++)
        if (!is_upper(o[i]) && !is_digit(o[i]))
            return 0;
    return 1;
}

int wcs_receptacle_format(const struct wcs_receptacle *r, char out[WCS_RECEPTACLE_LEN + 1],
                          struct err *e)
{
    char buf[64];
    int hg;

    out[0] = '\0';
    if (!office_ok(r->origin))
        return err_set(e, ERR_INVALID,
                       "receptacle: origin office \"%s\", expected 6 characters "
                       "such as CNHRBA",
                       r->origin);
    if (!office_ok(r->dest))
        return err_set(e, ERR_INVALID,
                       "receptacle: destination office \"%s\", expected 6 "
                       "characters such as RUMOWA",
                       r->dest);
    if (r->category < 'A' || r->category > 'D')
        return err_set(e, ERR_INVALID, "receptacle: mail category '%c', expected A-D",
                       r->category ? r->category : '?');
    if (strlen(r->subclass) != 2 || !is_upper(r->subclass[0]) || !is_upper(r->subclass[1]))
        return err_set(e, ERR_INVALID, "receptacle: subclass \"%s\", expected 2 letters",
                       r->subclass);
    if (r->year < 0)
        return err_set(e, ERR_INVALID, "receptacle: year %d", r->year);
    if (r->dispatch_no < 1 || r->dispatch_no > 9999)
        return err_set(e, ERR_INVALID, "receptacle: dispatch number %d, expected 1-9999",
                       r->dispatch_no);
    if (r->serial < 1 || r->serial > 999)
        return err_set(e, ERR_INVALID, "receptacle: serial %d, expected 1-999", r->serial);
    if (r->weight_g < 0)
        return err_set(e, ERR_INVALID, "receptacle: weight %d g is negative", r->weight_g);
    /* Nearest hectogram, but never 0 for a bag that weighs something. */
    hg = (int)(((long long)r->weight_g + 50) / 100);
    if (hg == 0 && r->weight_g > 0)
        hg = 1;
    if (hg > 9999)
        return err_set(e, ERR_INVALID, "receptacle: weight %d g exceeds 999.9 kg", r->weight_g);
    /* Every field was range-checked above, so this is exactly 29 characters;
     * the roomy buffer only keeps the compiler's truncation check quiet. */
    snprintf(buf, sizeof(buf), "%.6s%.6s%c%.2s%d%04d%03d%d%d%04d", r->origin, r->dest, r->category,
             r->subclass, r->year % 10, r->dispatch_no, r->serial, r->last ? 1 : 0,
             r->registered ? 1 : 0, hg);
    memcpy(out, buf, WCS_RECEPTACLE_LEN);
    out[WCS_RECEPTACLE_LEN] = '\0';
    return 0;
}

int wcs_departure_check(const char *d, struct err *e)
{
    /* YYYY-MM-DDTHH:MM:SS then Z or +HH:MM / -HH:MM */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i, n = d ? strlen(d) : 0;
    int month, day, hour, min, sec;

    if (n < sizeof(shape))
        goto bad;
    for (i = 0; i < sizeof(shape) - 1; i++)
        if (shape[i] == 'd' ? !is_digit(d[i]) : d[i] != shape[i])
            goto bad;
    if (strcmp(d + 19, "Z") != 0 &&
        !(n == 25 && (d[19] == '+' || d[19] == '-') && is_digit(d[20]) && is_digit(d[21]) &&
          d[22] == ':' && is_digit(d[23]) && is_digit(d[24])))
        goto bad;
    month = atoi(d + 5);
    day = atoi(d + 8);
    hour = atoi(d + 11);
    min = atoi(d + 14);
    sec = atoi(d + 17);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59)
        goto bad;
    return 0;
bad:
    return err_set(e, ERR_INVALID,
                   "departure \"%s\": expected ISO 8601 with an offset, e.g. "
                   "2026-11-22T18:00:00+08:00",
                   d ? d : "");
}

int wcs_manifest_id_prefix(const char *route, const char *departure, char *out, size_t len,
                           struct err *e)
{
    const char *a, *b;
    int rc = wcs_departure_check(departure, e);

    if (rc < 0)
        return rc;
    a = strchr(route, '-');
    b = a ? strchr(a + 1, '-') : NULL;
    if (a == NULL || b == NULL || b - a - 1 < 1 || b - a - 1 > 8)
        return err_set(e, ERR_INVALID, "route \"%s\": expected the shape RU-XXX-MODE", route);
    snprintf(out, len, "HRB-%.4s%.2s%.2s-%.*s", departure, departure + 5, departure + 8,
             (int)(b - a - 1), a + 1);
    return 0;
}

void wcs_manifest_free(struct wcs_manifest *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->nbags; i++)
        free(m->bags[i].parcels);
    free(m->bags);
    m->bags = NULL;
    m->nbags = 0;
    free(m->unknown_parcels);
    m->unknown_parcels = NULL;
}

json_t *wcs_manifest_json(const struct wcs_manifest *m)
{
    json_t *root, *bags;
    size_t i, k;

    root = json_pack("{s:s, s:s, s:s, s:s, s:s}", "manifest_id", m->manifest_id, "route", m->route,
                     "transport", m->transport, "border_crossing", m->border_crossing, "departure",
                     m->departure);
    bags = json_array();
    if (root == NULL || bags == NULL || json_object_set_new(root, "bags", bags) < 0) {
        json_decref(root);
        return NULL;
    }
    for (i = 0; i < m->nbags; i++) {
        const struct wcs_manifest_bag *b = &m->bags[i];
        json_t *parcels = json_array();
        json_t *jb =
            json_pack("{s:s, s:i}", "bag_id", b->bag_id, "gross_weight_g", b->gross_weight_g);

        if (parcels == NULL || jb == NULL || json_object_set_new(jb, "parcels", parcels) < 0 ||
            json_array_append_new(bags, jb) < 0) {
            json_decref(jb);
            json_decref(root);
            return NULL;
        }
        for (k = 0; k < b->nparcels; k++)
            if (json_array_append_new(parcels, json_string(b->parcels[k].code)) < 0) {
                json_decref(root);
                return NULL;
            }
    }
    return root;
}

/* Writes one CSV field (quoted by libcsv when needed), then sep. */
static int put_field(FILE *f, const char *s, char sep)
{
    if (csv_fwrite(f, s, strlen(s)) != 0 || fputc(sep, f) == EOF)
        return -1;
    return 0;
}

int wcs_manifest_csv(const struct wcs_manifest *m, FILE *f, struct err *e)
{
    size_t i, k;
    char w[16], pw[16];

    if (fputs("manifest_id,bag_id,bag_gross_weight_g,parcel,parcel_weight_g\n", f) == EOF)
        goto fail;
    for (i = 0; i < m->nbags; i++) {
        const struct wcs_manifest_bag *b = &m->bags[i];

        snprintf(w, sizeof(w), "%d", b->gross_weight_g);
        for (k = 0; k < b->nparcels; k++) {
            if (b->parcels[k].weight_g >= 0)
                snprintf(pw, sizeof(pw), "%d", b->parcels[k].weight_g);
            else
                pw[0] = '\0';
            if (put_field(f, m->manifest_id, ',') < 0 || put_field(f, b->bag_id, ',') < 0 ||
                put_field(f, w, ',') < 0 || put_field(f, b->parcels[k].code, ',') < 0 ||
                put_field(f, pw, '\n') < 0)
                goto fail;
        }
    }
    return 0;
fail:
    return err_set(e, errno ? -errno : -EIO, "manifest CSV: write failed: %s",
                   strerror(errno ? errno : EIO));
}

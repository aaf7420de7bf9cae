/*
 * label.c - a bag's label: the fields and the ZPL (label.h).
 *
 * DESIGN: the receptacle id is the label's truth: its fields are read back
 * from it (so the printed words and the barcode cannot disagree), the
 * bag's record adds what the id does not carry (exact weight, route,
 * crossing, parcel count). The layout (docs/documents.md) puts, top to
 * bottom: origin and destination offices (codes, cities in Latin and
 * Cyrillic), category and subclass, dispatch number and year, serial and
 * last-receptacle flag, weight, route and crossing, parcel count, the
 * Code 128 barcode of the id with the id in human-readable groups.
 */
#include "wcs/core/label.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct wcs_office offices[] = {
    {"CNHRBA", "Harbin", "Харбин", "哈尔滨"},
    {"RUMOWA", "Moscow", "Москва", "莫斯科"},
    {"RUOVBA", "Novosibirsk", "Новосибирск", "新西伯利亚"},
    {"RUVVOA", "Vladivostok", "Владивосток", "符拉迪沃斯托克"},
    {"RUKZNA", "Kazan", "Казань", "喀山"},
    {"RULEDA", "Saint Petersburg", "Санкт-Петербург", "圣彼得堡"},
};

const struct wcs_office *wcs_office_find(const char *code)
{
    size_t i;

    for (i = 0; code != NULL && i < sizeof(offices) / sizeof(offices[0]); i++)
        if (strcmp(offices[i].code, code) == 0)
            return &offices[i];
    return NULL;
}

const char *wcs_category_name(char category)
{
    switch (category) {
    case 'A': return "priority / air";
    case 'B': return "S.A.L.";
    case 'C': return "surface";
    case 'D': return "priority by surface";
    default: return "?";
    }
}

static int digits(const char *s, size_t n, int *out)
{
    size_t i;
    int v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int wcs_label_year(const struct wcs_bag_label *l)
{
    int y = atoi(l->closed_at);

    return y > 0 && y % 10 == l->r.year % 10 ? y : l->r.year;
}

int wcs_receptacle_parse(const char *id, struct wcs_receptacle *r, struct err *e)
{
    int year, flag_last, flag_reg, hg;
    char again[WCS_RECEPTACLE_LEN + 1];
    size_t i;

    memset(r, 0, sizeof(*r));
    if (id == NULL || strlen(id) != WCS_RECEPTACLE_LEN)
        return err_set(e, ERR_INVALID, "receptacle id: %zu characters, expected %d",
                       id ? strlen(id) : 0, WCS_RECEPTACLE_LEN);
    /* Its alphabet first: the messages below quote parts of it. */
    for (i = 0; i < WCS_RECEPTACLE_LEN; i++)
        if (!((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9')))
            return err_set(e, ERR_INVALID, "receptacle id: position %zu is not A-Z or 0-9",
                           i + 1);
    memcpy(r->origin, id, 6);
    memcpy(r->dest, id + 6, 6);
    r->category = id[12];
    memcpy(r->subclass, id + 13, 2);
    if (digits(id + 15, 1, &year) < 0 || digits(id + 16, 4, &r->dispatch_no) < 0 ||
        digits(id + 20, 3, &r->serial) < 0 || digits(id + 23, 1, &flag_last) < 0 ||
        digits(id + 24, 1, &flag_reg) < 0 || digits(id + 25, 4, &hg) < 0)
        return err_set(e, ERR_INVALID, "receptacle id: positions 16-29 are digits");
    r->year = year;
    r->last = flag_last;
    r->registered = flag_reg;
    r->weight_g = hg * 100;
    /* The rest is checked by formatting it back: the one definition. */
    if (wcs_receptacle_format(r, again, e) < 0)
        return ERR_INVALID;
    if (strcmp(again, id) != 0)
        return err_set(e, ERR_INVALID, "receptacle id: flags at positions 24-25 are 0 or 1");
    return 0;
}

int wcs_label_zpl(const struct wcs_bag_label *l, char **out, size_t *len, struct err *e)
{
    const struct wcs_office *from = wcs_office_find(l->r.origin), *to = wcs_office_find(l->r.dest);
    FILE *f;

    *out = NULL;
    *len = 0;
    if (from == NULL || to == NULL)
        return err_set(e, ERR_INVALID, "label: office %s unknown (label.c's table)",
                       from == NULL ? l->r.origin : l->r.dest);
    f = open_memstream(out, len);
    if (f == NULL)
        return err_set(e, -ENOMEM, "label: out of memory");
    /* 203 dpi: 8 dots a millimetre; 100 x 150 mm is 800 x 1200 dots. ^CI28:
     * the field data is UTF-8 (the printer's font must have Cyrillic). */
    fprintf(f, "^XA\n^CI28\n^PW800\n^LL1200\n^LH0,0\n");
    fprintf(f, "^FO40,40^A0N,36,36^FDFROM %s  %s^FS\n", l->r.origin, from->latin);
    fprintf(f, "^FO40,90^A0N,28,28^FD%s^FS\n", from->cyrillic);
    fprintf(f, "^FO40,150^A0N,60,60^FDTO %s^FS\n", l->r.dest);
    fprintf(f, "^FO40,220^A0N,48,48^FD%s / %s^FS\n", to->latin, to->cyrillic);
    fprintf(f, "^FO40,290^GB720,3,3^FS\n");
    fprintf(f, "^FO40,320^A0N,36,36^FDCAT %c %s  SUBCLASS %s^FS\n", l->r.category,
            wcs_category_name(l->r.category), l->r.subclass);
    fprintf(f, "^FO40,370^A0N,36,36^FDDISPATCH %04d  YEAR %d^FS\n", l->r.dispatch_no,
            wcs_label_year(l));
    fprintf(f, "^FO40,420^A0N,36,36^FDRECEPTACLE %03d%s^FS\n", l->r.serial,
            l->r.last ? "  LAST" : "");
    fprintf(f, "^FO40,470^A0N,36,36^FDWEIGHT %d.%d kg  PARCELS %d^FS\n", l->weight_g / 1000,
            (l->weight_g % 1000) / 100, l->parcels);
    fprintf(f, "^FO40,520^A0N,32,32^FDROUTE %s%s%s^FS\n", l->route, l->crossing[0] ? "  " : "",
            l->crossing);
    fprintf(f, "^FO40,570^A0N,28,28^FDCLOSED %s UTC^FS\n", l->closed_at);
    fprintf(f, "^FO40,620^GB720,3,3^FS\n");
    /* Code 128 of the id, 2-dot modules, 200 dots high, text below. */
    fprintf(f, "^FO40,680^BY2,3,200^BCN,200,Y,N,N^FD%s^FS\n", l->bag_id);
    fprintf(f, "^FO40,1000^A0N,30,30^FD%.6s %.6s %.3s %.1s%.4s %.3s %.2s %.4s^FS\n", l->bag_id,
            l->bag_id + 6, l->bag_id + 12, l->bag_id + 15, l->bag_id + 16, l->bag_id + 20,
            l->bag_id + 23, l->bag_id + 25);
    fprintf(f, "^XZ\n");
    if (fclose(f) != 0) {
        free(*out);
        *out = NULL;
        return err_set(e, -ENOMEM, "label: out of memory");
    }
    return 0;
}

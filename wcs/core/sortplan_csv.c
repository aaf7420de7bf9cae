/*
 * sortplan_csv.c - reads a sort plan from CSV (docs/sortplan.md) into the
 * plan builder. The table reader (common/csv_table.h) does the CSV, the
 * exact header, comments and line numbers; this file maps each kind of row
 * to its builder call and reports "SOURCE:LINE: field: reason".
 */
#include "wcs/core/sortplan.h"

#include <errno.h>
#include <stdint.h>
#include <strings.h>

#include "common/csv_table.h"

enum col {
    COL_KIND, COL_ID, COL_ROUTE, COL_PREFIX_FROM, COL_PREFIX_TO, COL_SERVICES, COL_WEIGHT_MIN,
    COL_WEIGHT_MAX, COL_PRIORITY, COL_CHUTES, COL_VALUE, COL_DESCRIPTION, COL_CROSSING, NCOLS
};

/* The header, exactly (CSV_TABLE_EXACT: every column is there, in order). */
static const struct csv_table_column cols[NCOLS] = {
    {"kind", true},      {"id", true},       {"route", true},        {"prefix_from", true},
    {"prefix_to", true}, {"services", true}, {"weight_min_g", true}, {"weight_max_g", true},
    {"priority", true},  {"chutes", true},   {"value", true},        {"description", true},
    {"crossing", true},
};

#define BIT(c) (1u << (c))

/* Columns each kind may fill; anything else must be empty, so that a value
 * typed into the wrong column is an error instead of being ignored. */
static const struct {
    const char *name;
    unsigned cols;
} kinds[] = {
    {"chute", BIT(COL_ID) | BIT(COL_DESCRIPTION)},
    {"route", BIT(COL_ID) | BIT(COL_ROUTE) | BIT(COL_CHUTES) | BIT(COL_VALUE) |
                  BIT(COL_DESCRIPTION) | BIT(COL_CROSSING)},
    {"rule", BIT(COL_ROUTE) | BIT(COL_PREFIX_FROM) | BIT(COL_PREFIX_TO) | BIT(COL_SERVICES) |
                 BIT(COL_WEIGHT_MIN) | BIT(COL_WEIGHT_MAX) | BIT(COL_PRIORITY) |
                 BIT(COL_DESCRIPTION)},
    {"special", BIT(COL_ID) | BIT(COL_CHUTES) | BIT(COL_DESCRIPTION)},
    {"param", BIT(COL_ID) | BIT(COL_VALUE) | BIT(COL_DESCRIPTION)},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct reader {
    struct wcs_plan *plan;
    struct diag *d;
    int nerr; /* rows the builder refused */
};

static const char *fld(const struct csv_table *t, enum col c)
{
    return csv_table_field(t, c);
}

/* Reports a builder refusal (its message is already "SOURCE:LINE: ...").
 * Returns -ENOMEM to stop the read, else 0. */
static int report(struct reader *rd, int rc, const struct err *e)
{
    if (rc == 0)
        return 0;
    diag_add(rd->d, "%s", e->msg);
    rd->nerr++;
    return rc == -ENOMEM ? rc : 0;
}

/* One data row (the table reader already skipped comments, empty rows and
 * rows wider than the header). */
static int record_cb(struct csv_table *t, void *arg)
{
    struct reader *rd = arg;
    struct err e = {0};
    const char *kind = fld(t, COL_KIND);
    int line = csv_table_line(t);
    size_t k;
    int i, rc;

    for (k = 0; k < NKINDS; k++)
        if (strcasecmp(kind, kinds[k].name) == 0)
            break;
    if (k == NKINDS) {
        csv_table_report(t, COL_KIND,
                         "unknown kind '%s' (expected chute, route, rule, special or param)", kind);
        return 0;
    }
    rc = 0;
    for (i = COL_ID; i < NCOLS; i++) {
        if (!(kinds[k].cols & BIT(i)) && fld(t, (enum col)i)[0] != '\0')
            rc = csv_table_report(t, (size_t)i, "not used by kind %s (must be empty)",
                                  kinds[k].name);
    }
    if (rc < 0)
        return 0;

    switch (k) {
    case 0:
        rc = wcs_plan_add_chute(rd->plan, line, fld(t, COL_ID), fld(t, COL_DESCRIPTION), &e);
        break;
    case 1:
        rc = wcs_plan_add_route(rd->plan, line, fld(t, COL_ID), fld(t, COL_VALUE),
                                fld(t, COL_CROSSING), fld(t, COL_CHUTES), fld(t, COL_ROUTE),
                                fld(t, COL_DESCRIPTION), &e);
        break;
    case 2: {
        long long from, to, wmin, wmax, prio;
        int bad = 0;
        if (fld(t, COL_PREFIX_FROM)[0] == '\0')
            bad = csv_table_report(t, COL_PREFIX_FROM,
                                   "missing (the first 3 digits of the postal code)");
        bad |= csv_table_int(t, COL_PREFIX_FROM, 0, 999999999, 0, &from);
        bad |= csv_table_int(t, COL_PREFIX_TO, 0, 999999999, from, &to);
        bad |= csv_table_int(t, COL_WEIGHT_MIN, 0, UINT32_MAX - 1, 0, &wmin);
        bad |= csv_table_int(t, COL_WEIGHT_MAX, 0, UINT32_MAX - 1, 0, &wmax);
        bad |= csv_table_int(t, COL_PRIORITY, -1000000, 1000000, 0, &prio);
        if (bad)
            return 0;
        rc = wcs_plan_add_rule(rd->plan, line, fld(t, COL_ROUTE), (int)from, (int)to,
                               fld(t, COL_SERVICES), (uint32_t)wmin, (uint32_t)wmax, (int)prio,
                               fld(t, COL_DESCRIPTION), &e);
        break;
    }
    case 3:
        rc = wcs_plan_add_special(rd->plan, line, fld(t, COL_ID), fld(t, COL_CHUTES), &e);
        break;
    default:
        rc = wcs_plan_set_param(rd->plan, line, fld(t, COL_ID), fld(t, COL_VALUE), &e);
        break;
    }
    return report(rd, rc, &e);
}

int wcs_plan_parse_csv(const char *source_name, const char *text, size_t len,
                       struct wcs_plan **out, struct diag *d)
{
    struct reader rd = {0};
    struct diag_file f = {0};
    /* The header is exactly the columns (any case); '#' rows and empty rows
     * are ignored; rows may stop early but not run long; a broken quote
     * stops the read (docs/sortplan.md "File format"). */
    const struct csv_table_spec spec = {
        .cols = cols,
        .ncols = NCOLS,
        .flags = CSV_TABLE_EXACT | CSV_TABLE_ANY_CASE | CSV_TABLE_COMMENTS |
                 CSV_TABLE_SKIP_EMPTY | CSV_TABLE_NOT_WIDER,
        .empty = "missing header line",
        .record_cb = record_cb,
        .arg = &rd,
    };
    struct csv_table *t;
    int rc;

    *out = NULL;
    f.name = source_name && *source_name ? source_name : "sortplan";
    f.d = d;
    rd.d = d;
    rd.plan = wcs_plan_new(f.name);
    if (rd.plan == NULL)
        return -ENOMEM;
    rc = csv_table_new(&spec, &f, &t);
    if (rc == 0) {
        rc = csv_table_read_text(t, text, len);
        csv_table_free(t);
    }
    if (rc < 0) {
        /* ERR_PARSE (header or CSV syntax: the rows mean nothing) or -ENOMEM */
        wcs_plan_free(rd.plan);
        return rc;
    }
    /* Cross-row checks run even after row errors, so the operator sees
     * every problem of the file in one go. */
    rc = wcs_plan_finish(rd.plan, d);
    if (rc == -ENOMEM) {
        wcs_plan_free(rd.plan);
        return rc;
    }
    if (rc < 0 || rd.nerr > 0 || f.problems > 0) {
        wcs_plan_free(rd.plan);
        return ERR_INVALID;
    }
    *out = rd.plan;
    return 0;
}

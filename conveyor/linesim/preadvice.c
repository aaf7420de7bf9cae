/*
 * preadvice.c - the line emulator's input files: the parcels to induct (a
 * pre-advice file, CSV with a header or JSON Lines) and an optional line
 * layout (CSV: id,distance_mm,capacity,empty_ms).
 *
 * The emulator needs only a parcel's code and, when given, its weight and
 * dimensions (they travel in REQ_); every other column is ignored, so any
 * file wcsctl imports is also a valid input here. CSV goes through the
 * table reader (common/csv_table.h), JSON Lines one line at a time through
 * json_loadb; both report "FILE:LINE: field: reason" with physical lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/csv_table.h"
#include "conveyor/linesim/sim.h"

/* Numbers are whole and not negative; absent is -1. */
static void opt_num(struct diag_file *f, int line, const char *col, const char *txt, long long max,
                    int32_t *out)
{
    long long v;

    csv_table_parse_int(f, line, col, txt != NULL ? txt : "", 0, max, -1, &v);
    *out = (int32_t)v;
}

/* Reads a CSV input of the emulator from fp: its columns by name, the ones
 * it does not need ignored (any pre-advice file wcsctl takes is fine). */
static int csv_read(FILE *fp, const struct csv_table_column *cols, size_t ncols,
                    csv_table_record_cb cb, void *arg, struct diag_file *f)
{
    const struct csv_table_spec spec = {
        .cols = cols,
        .ncols = ncols,
        .flags = CSV_TABLE_UNKNOWN_OK,
        .missing = "no column '%s'",
        .record_cb = cb,
        .arg = arg,
    };
    struct csv_table *t;
    int rc = csv_table_new(&spec, f, &t);

    if (rc < 0)
        return err_set(f->e, rc, "%s: out of memory", f->name);
    rc = csv_table_read_file(t, fp);
    csv_table_free(t);
    return rc;
}

/* --- pre-advice --------------------------------------------------------------- */

enum pcol { P_CODE, P_WEIGHT, P_LENGTH, P_WIDTH, P_HEIGHT, P_NCOL };
static const struct csv_table_column pcols[P_NCOL] = {
    {"code", true},      {"weight_g", false},  {"length_mm", false},
    {"width_mm", false}, {"height_mm", false},
};
/* Field widths in REQ_ (spec "REQ_"): weight 6 digits, dimensions 4. */
static const long long pcol_max[P_NCOL] = {0, 999999, 9999, 9999, 9999};

struct items {
    struct conv_sim_item *v;
    size_t n, cap;
    struct diag_file f;
};

static int items_add(struct items *it, int line, const char *vals[P_NCOL])
{
    struct conv_sim_item x;
    int32_t *nums[P_NCOL] = {NULL, &x.weight_g, &x.length_mm, &x.width_mm, &x.height_mm};
    size_t len = vals[P_CODE] ? strlen(vals[P_CODE]) : 0;
    int i;

    memset(&x, 0, sizeof(x));
    if (len == 0 || len > CONV_SIM_ID_MAX) {
        diag_report(&it->f, line, "code", "%s",
                    len == 0 ? "empty" : "longer than 20 characters (REQ_ barcode field)");
        return 0;
    }
    for (i = 0; i < (int)len; i++) {
        unsigned char ch = (unsigned char)vals[P_CODE][i];

        if (ch < 0x21 || ch > 0x7e || ch == '*' || ch == '?') {
            diag_report(&it->f, line, "code", "'%s' has characters a telegram cannot carry",
                        vals[P_CODE]);
            return 0;
        }
    }
    memcpy(x.code, vals[P_CODE], len + 1);
    /* A bad weight or dimension is reported but the parcel is still
     * inducted with the value absent: the emulator stands in for the line's
     * scale, and a real line carries such parcels too. */
    for (i = P_WEIGHT; i < P_NCOL; i++)
        opt_num(&it->f, line, pcols[i].name, vals[i], pcol_max[i], nums[i]);
    if (it->n == it->cap) {
        size_t ncap = it->cap ? it->cap * 2 : 256;
        struct conv_sim_item *nv = realloc(it->v, ncap * sizeof(*nv));

        if (nv == NULL)
            return -ENOMEM;
        it->v = nv;
        it->cap = ncap;
    }
    it->v[it->n++] = x;
    return 0;
}

static int preadvice_record_cb(struct csv_table *t, void *arg)
{
    const char *vals[P_NCOL];
    int k;

    for (k = 0; k < P_NCOL; k++)
        vals[k] = csv_table_field(t, (size_t)k);
    return items_add(arg, csv_table_line(t), vals);
}

static int jsonl_read(FILE *f, struct items *it)
{
    char *buf = NULL, numbuf[P_NCOL][32];
    size_t cap = 0;
    ssize_t len;
    int rc = 0, k, line = 0;

    while ((len = csv_table_getline(&buf, &cap, f, CSV_TABLE_LINE_MAX)) >= 0) {
        json_t *o;
        json_error_t je;
        const char *vals[P_NCOL];

        line++;
        if (len > CSV_TABLE_LINE_MAX) {
            /* Its first bytes were kept, the rest skipped: never held whole. */
            diag_report(&it->f, line, "row", "line longer than %d bytes", CSV_TABLE_LINE_MAX);
            continue;
        }
        if (csv_table_blank(buf, (size_t)len))
            continue;
        o = json_loadb(buf, (size_t)len, 0, &je);
        if (o == NULL || !json_is_object(o)) {
            diag_report(&it->f, line, "row", "%s", o ? "not a JSON object" : je.text);
            json_decref(o);
            continue;
        }
        for (k = 0; k < P_NCOL; k++) {
            json_t *v = json_object_get(o, pcols[k].name);

            vals[k] = NULL;
            if (json_is_string(v)) {
                vals[k] = json_string_value(v);
            } else if (json_is_integer(v)) {
                snprintf(numbuf[k], sizeof(numbuf[k]), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
                vals[k] = numbuf[k];
            } else if (v && !json_is_null(v)) {
                diag_report(&it->f, line, pcols[k].name, "not a string or an integer");
            }
        }
        rc = items_add(it, line, vals);
        json_decref(o);
        if (rc < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = err_set(it->f.e, -errno, "%s: %s", it->f.name, strerror(errno));
    free(buf);
    return rc;
}

static bool is_jsonl(const char *path, FILE *f)
{
    size_t n = strlen(path);
    int c;

    if ((n > 6 && strcmp(path + n - 6, ".jsonl") == 0) ||
        (n > 5 && strcmp(path + n - 5, ".json") == 0))
        return true;
    c = fgetc(f);
    if (c != EOF)
        ungetc(c, f);
    return c == '{';
}

int conv_sim_load_preadvice(const char *path, struct conv_sim_item **items, size_t *n,
                            struct diag *d, struct err *e)
{
    struct items it = {.f = {path, d, e, 0}};
    FILE *f;
    int rc;

    *items = NULL;
    *n = 0;
    f = fopen(path, "r");
    if (f == NULL)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (is_jsonl(path, f))
        rc = jsonl_read(f, &it);
    else
        rc = csv_read(f, pcols, P_NCOL, preadvice_record_cb, &it, &it.f);
    fclose(f);
    if (rc == 0 && it.n == 0)
        rc = err_set(e, ERR_PARSE, "%s: no usable parcel row", path);
    if (rc < 0) {
        free(it.v);
        return rc;
    }
    *items = it.v;
    *n = it.n;
    return 0;
}

/* --- layout ----------------------------------------------------------------- */

enum lcol { L_ID, L_DIST, L_CAP, L_EMPTY, L_NCOL };
static const struct csv_table_column lcols[L_NCOL] = {
    {"id", true}, {"distance_mm", true}, {"capacity", true}, {"empty_ms", true}};

struct layout {
    struct conv_sim_config *c;
    size_t n;
    int problems; /* bad rows */
};

static int layout_record_cb(struct csv_table *t, void *arg)
{
    struct layout *l = arg;
    struct conv_sim_chute_config *ch;
    const char *id = csv_table_field(t, L_ID);
    long long num[L_NCOL];
    int k;
    bool ok = true;

    if (id[0] == '\0' || strlen(id) > CONV_SIM_ID_MAX) {
        csv_table_report(t, L_ID, "%s", id[0] ? "longer than 20 characters" : "empty");
        ok = false;
    }
    for (k = L_DIST; k < L_NCOL; k++) {
        if (csv_table_int(t, (size_t)k, 0, 2000000000, -1, &num[k]) < 0) {
            ok = false;
        } else if (num[k] < 0 && k == L_DIST) {
            csv_table_report(t, L_DIST, "required");
            ok = false;
        }
    }
    if (l->n >= CONV_SIM_CHUTES_MAX) {
        csv_table_report(t, L_ID, "more than %d chutes", CONV_SIM_CHUTES_MAX);
        ok = false;
    }
    if (!ok) {
        l->problems++;
        return 0;
    }
    ch = &l->c->chutes[l->n++];
    snprintf(ch->id, sizeof(ch->id), "%s", id);
    ch->distance_mm = (uint32_t)num[L_DIST];
    ch->capacity = num[L_CAP] < 0 ? 0 : (uint32_t)num[L_CAP];
    ch->empty_ms = num[L_EMPTY] < 0 ? 0 : (uint32_t)num[L_EMPTY];
    return 0;
}

int conv_sim_load_layout(const char *path, struct conv_sim_config *c, struct diag *d, struct err *e)
{
    struct conv_sim_config tmp = *c;
    struct layout l = {.c = &tmp};
    struct diag_file f = {path, d, e, 0};
    FILE *fp;
    int rc;

    fp = fopen(path, "r");
    if (fp == NULL)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    rc = csv_read(fp, lcols, L_NCOL, layout_record_cb, &l, &f);
    fclose(fp);
    if (rc == 0 && l.problems)
        rc = err_set(e, ERR_PARSE, "%s: %d bad row(s)", path, l.problems);
    if (rc == 0 && l.n == 0)
        rc = err_set(e, ERR_PARSE, "%s: no chute", path);
    if (rc < 0)
        return rc;
    tmp.nchutes = l.n;
    *c = tmp;
    return 0;
}

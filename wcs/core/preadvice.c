/*
 * preadvice.c - pre-advice files (CSV with a header, or JSON Lines) read into
 * validated struct wcs_preadvice rows (see preadvice.h).
 *
 * DESIGN. Reading is pure and streaming: the file is read one physical line
 * at a time (csv_table_getline, at most PREADVICE_LINE_MAX bytes kept), each
 * line is fed to the table reader (common/csv_table.h, CSV) or json_loadb
 * (JSON Lines), so memory holds one line, one record and one batch. Line numbers are physical lines; a CSV
 * record whose quoted field spans lines is reported at its first line. Both
 * formats turn a record into the same intermediate form (one text value per
 * column), then one converter fills the struct and one validator checks it,
 * so CSV and JSON rows obey the same rules and produce the same messages:
 * one "FILE:LINE: field: reason" per problem, through the one reporter
 * (common/diag.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/csv_table.h"
#include "wcs/core/preadvice.h"

/* Limits of numeric fields; see import.h. */
#define WEIGHT_MAX_G 1000000      /* a tonne: the sort plan's own weight bound */
#define DIM_MAX_MM 65535          /* the compact parcel record keeps 16 bits */
#define VALUE_MAX 1000000000000LL /* minor units; anything above is a typo */
#define QUANTITY_MAX 100000       /* pieces of one item in one parcel */
/* Longest physical line, bytes: a row with every text column full is a few
 * KiB, so this is far past any real file, and bounds the memory one line can
 * take (a 100 MB JSON line is a bad row, not 100 MB read into memory). A CSV
 * line is bounded the same by the table reader (CSV_TABLE_LINE_MAX, one
 * rule for both formats); a longer JSON line is a bad row and the read goes
 * on, a longer CSV line stops the read (its quoting cannot be followed). */
#define PREADVICE_LINE_MAX CSV_TABLE_LINE_MAX
/* Deepest nesting of a JSON Lines row: a row is an object (1) whose
 * other_ids is an array (2); two more levels let a value of the wrong shape
 * be named by its field. A deeper row is refused before jansson builds it
 * (jansson's own limit is 2048 levels, a tree far larger than any row). */
#define PREADVICE_JSON_DEPTH_MAX 4

enum col {
    C_CODE, C_OTHER_IDS, C_SERVICE, C_COUNTRY, C_POSTAL, C_NAME, C_CITY, C_ADDRESS, C_PHONE,
    C_WEIGHT, C_LENGTH, C_WIDTH, C_HEIGHT, C_VALUE, C_CURRENCY, C_DESC, C_HS,
    /* customs data (optional) */
    C_REGION, C_S_NAME, C_S_ADDRESS, C_S_CITY, C_S_POSTAL, C_S_COUNTRY, C_S_PHONE, C_CATEGORY,
    C_QUANTITY, C_NET_WEIGHT, C_ORIGIN, C_PP_SERIES, C_PP_NUMBER, C_PP_ISSUED, C_INN, NCOL
};

/* Columns a CSV header must name are required; a JSON object must hold
 * the same keys (checked per row as "required" by the validator). */
static const struct csv_table_column cols[NCOL] = {
    [C_CODE] = {"code", true}, [C_OTHER_IDS] = {"other_ids", false},
    [C_SERVICE] = {"service", true}, [C_COUNTRY] = {"country", true},
    [C_POSTAL] = {"postal_code", false}, [C_NAME] = {"recipient_name", false},
    [C_CITY] = {"city", false}, [C_ADDRESS] = {"address", false}, [C_PHONE] = {"phone", false},
    [C_WEIGHT] = {"weight_g", true}, [C_LENGTH] = {"length_mm", false},
    [C_WIDTH] = {"width_mm", false}, [C_HEIGHT] = {"height_mm", false},
    [C_VALUE] = {"declared_value", false}, [C_CURRENCY] = {"currency", false},
    [C_DESC] = {"item_description", false}, [C_HS] = {"hs_code", false},
    [C_REGION] = {"region", false}, [C_S_NAME] = {"sender_name", false},
    [C_S_ADDRESS] = {"sender_address", false}, [C_S_CITY] = {"sender_city", false},
    [C_S_POSTAL] = {"sender_postal_code", false}, [C_S_COUNTRY] = {"sender_country", false},
    [C_S_PHONE] = {"sender_phone", false}, [C_CATEGORY] = {"category", false},
    [C_QUANTITY] = {"quantity", false}, [C_NET_WEIGHT] = {"net_weight_g", false},
    [C_ORIGIN] = {"origin_country", false}, [C_PP_SERIES] = {"passport_series", false},
    [C_PP_NUMBER] = {"passport_number", false}, [C_PP_ISSUED] = {"passport_issued", false},
    [C_INN] = {"inn", false},
};

/* One record as text per column: v[i] NULL when absent. */
struct raw {
    const char *v[NCOL];
    size_t len[NCOL];
};

/* --- validation ------------------------------------------------------- */

struct where {
    struct diag_file *f;
    int line;
    int problems;      /* problems of this row */
    uint64_t reported; /* columns already reported (bit per enum col), so one problem is said once */
};

/* Notes that column c of the row has been reported. */
static void mark(struct where *w, enum col c)
{
    w->problems++;
    w->reported |= UINT64_C(1) << c;
}

static void problem(struct where *w, enum col c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct where *w, enum col c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vreport(w->f, w->line, cols[c].name, fmt, ap);
    va_end(ap);
    mark(w, c);
}

static bool is_upper(char ch)
{
    return ch >= 'A' && ch <= 'Z';
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* Checks UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF) and
 * refuses control characters other than tab and line breaks. Returns NULL or
 * the reason. */
static const char *text_problem(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        unsigned cp;
        size_t k, need;

        if (b < 0x80) {
            if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f)
                return b == 0 ? "contains a NUL byte" : "contains a control character";
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
            cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            cp = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            cp = b & 0x07;
        } else {
            return "not valid UTF-8";
        }
        if (i + need >= n) /* truncated sequence */
            return "not valid UTF-8";
        for (k = 1; k <= need; k++) {
            unsigned char cb = (unsigned char)s[i + k];

            if ((cb & 0xC0) != 0x80)
                return "not valid UTF-8";
            cp = (cp << 6) | (cb & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return "not valid UTF-8";
        i += need + 1;
    }
    return NULL;
}

static void check_code(struct where *w, enum col c, const char *code)
{
    struct scan_code_info info;

    if (scan_code_check(code, strlen(code), &info) < 0)
        problem(w, c, "%s is not a valid parcel code (%s %s)", code,
                scan_code_kind_name(info.kind), info.reason);
    else if (!scan_code_is_parcel(info.kind))
        problem(w, c, "%s is a %s code, not a parcel code", code, scan_code_kind_name(info.kind));
}

/* True when buf holds a NUL within size bytes (a well-formed C string). */
static bool terminated(const char *buf, size_t size)
{
    return memchr(buf, '\0', size) != NULL;
}

#define TEXT_OK(w, c, field)                                                                       \
    do {                                                                                           \
        const char *why_;                                                                          \
        if (!terminated((field), sizeof(field)))                                                   \
            problem((w), (c), "not NUL-terminated");                                               \
        else if ((why_ = text_problem((field), strlen(field))) != NULL)                            \
            problem((w), (c), "%s", why_);                                                         \
    } while (0)

static void validate(const struct wcs_preadvice *a, struct where *w)
{
    size_t i, n;
    int j, k;

#define SKIP(c) (w->reported & (UINT64_C(1) << (c)))
    if (!SKIP(C_CODE)) {
        if (!terminated(a->code, sizeof(a->code)))
            problem(w, C_CODE, "not NUL-terminated");
        else if (a->code[0] == '\0')
            problem(w, C_CODE, "required");
        else
            check_code(w, C_CODE, a->code);
    }
    if (!SKIP(C_OTHER_IDS)) {
        if (a->n_other_ids < 0 || a->n_other_ids > WCS_MAX_IDS - 1) {
            problem(w, C_OTHER_IDS, "%d other ids, at most %d", a->n_other_ids, WCS_MAX_IDS - 1);
        } else {
            for (j = 0; j < a->n_other_ids; j++) {
                const char *id = a->other_ids[j];

                if (!terminated(id, sizeof(a->other_ids[j]))) {
                    problem(w, C_OTHER_IDS, "not NUL-terminated");
                    continue;
                }
                check_code(w, C_OTHER_IDS, id);
                if (strcmp(id, a->code) == 0)
                    problem(w, C_OTHER_IDS, "%s repeats the primary code", id);
                for (k = 0; k < j; k++)
                    if (strcmp(id, a->other_ids[k]) == 0)
                        problem(w, C_OTHER_IDS, "%s is listed twice", id);
            }
        }
    }
    if (!SKIP(C_SERVICE)) {
        n = strnlen(a->service, sizeof(a->service));
        if (n == 0)
            problem(w, C_SERVICE, "required");
        else if (n >= sizeof(a->service))
            problem(w, C_SERVICE, "longer than %d characters", WCS_SERVICE_MAX);
        else
            for (i = 0; i < n; i++)
                if (!is_upper(a->service[i]) && !is_digit(a->service[i]) && a->service[i] != '_') {
                    problem(w, C_SERVICE, "'%s' has characters other than A-Z, 0-9 and _",
                            a->service);
                    break;
                }
    }
    if (!SKIP(C_COUNTRY)) {
        if (a->country[0] == '\0')
            problem(w, C_COUNTRY, "required");
        else if (!is_upper(a->country[0]) || !is_upper(a->country[1]) || a->country[2] != '\0')
            problem(w, C_COUNTRY, "'%.3s' is not 2 upper-case letters (ISO 3166 alpha-2)",
                    a->country);
    }
    if (!SKIP(C_POSTAL)) {
        n = strnlen(a->postal_code, sizeof(a->postal_code));
        if (n >= sizeof(a->postal_code))
            problem(w, C_POSTAL, "not NUL-terminated");
        else if (strcmp(a->country, "RU") == 0 && n == 0)
            problem(w, C_POSTAL, "required for RU");
        else if (strcmp(a->country, "RU") == 0 && (n != 6 || !all_digits(a->postal_code, n)))
            problem(w, C_POSTAL, "'%s' is not a 6-digit Russian postal code", a->postal_code);
        else
            for (i = 0; i < n; i++)
                if (!is_upper(a->postal_code[i]) && !is_digit(a->postal_code[i]) &&
                    a->postal_code[i] != ' ' && a->postal_code[i] != '-') {
                    problem(w, C_POSTAL, "'%s' has characters other than A-Z, 0-9, space and -",
                            a->postal_code);
                    break;
                }
    }
    if (!SKIP(C_NAME))
        TEXT_OK(w, C_NAME, a->recipient_name);
    if (!SKIP(C_CITY))
        TEXT_OK(w, C_CITY, a->city);
    if (!SKIP(C_ADDRESS))
        TEXT_OK(w, C_ADDRESS, a->address);
    if (!SKIP(C_DESC))
        TEXT_OK(w, C_DESC, a->item_description);
    /* Customs columns: text sanity only. Their customs rules (formats,
     * checksums) are the declaration's: a parcel whose declaration breaks
     * them is still registered, and blocked (docs/customs.md). */
    if (!SKIP(C_REGION))
        TEXT_OK(w, C_REGION, a->region);
    if (!SKIP(C_S_NAME))
        TEXT_OK(w, C_S_NAME, a->sender_name);
    if (!SKIP(C_S_ADDRESS))
        TEXT_OK(w, C_S_ADDRESS, a->sender_address);
    if (!SKIP(C_S_CITY))
        TEXT_OK(w, C_S_CITY, a->sender_city);
    if (!SKIP(C_S_POSTAL))
        TEXT_OK(w, C_S_POSTAL, a->sender_postal_code);
    if (!SKIP(C_S_PHONE))
        TEXT_OK(w, C_S_PHONE, a->sender_phone);
    if (!SKIP(C_CATEGORY))
        TEXT_OK(w, C_CATEGORY, a->category);
    if (!SKIP(C_PP_SERIES))
        TEXT_OK(w, C_PP_SERIES, a->passport_series);
    if (!SKIP(C_PP_NUMBER))
        TEXT_OK(w, C_PP_NUMBER, a->passport_number);
    if (!SKIP(C_PP_ISSUED))
        TEXT_OK(w, C_PP_ISSUED, a->passport_issued);
    if (!SKIP(C_INN))
        TEXT_OK(w, C_INN, a->inn);
    if (!SKIP(C_S_COUNTRY))
        TEXT_OK(w, C_S_COUNTRY, a->sender_country);
    if (!SKIP(C_ORIGIN))
        TEXT_OK(w, C_ORIGIN, a->origin_country);
    if (!SKIP(C_QUANTITY) && a->quantity != -1 && (a->quantity < 1 || a->quantity > QUANTITY_MAX))
        problem(w, C_QUANTITY, "%d is outside 1-%d", (int)a->quantity, QUANTITY_MAX);
    if (!SKIP(C_NET_WEIGHT) && a->net_weight_g != -1 &&
        (a->net_weight_g < 1 || a->net_weight_g > WEIGHT_MAX_G))
        problem(w, C_NET_WEIGHT, "%d is outside 1-%d grams", (int)a->net_weight_g, WEIGHT_MAX_G);
    if (!SKIP(C_PHONE)) {
        n = strnlen(a->phone, sizeof(a->phone));
        if (n >= sizeof(a->phone))
            problem(w, C_PHONE, "not NUL-terminated");
        else if (n > 0 && (a->phone[0] != '+' || n < 8 || n > 16 || !all_digits(a->phone + 1, n - 1)))
            problem(w, C_PHONE, "'%s' is not '+' and 7-15 digits (E.164)", a->phone);
    }
    if (!SKIP(C_WEIGHT)) {
        if (a->weight_g == -1)
            problem(w, C_WEIGHT, "required");
        else if (a->weight_g < 1 || a->weight_g > WEIGHT_MAX_G)
            problem(w, C_WEIGHT, "%d is outside 1-%d grams", (int)a->weight_g, WEIGHT_MAX_G);
    }
    if (!SKIP(C_LENGTH) && a->length_mm != -1 && (a->length_mm < 0 || a->length_mm > DIM_MAX_MM))
        problem(w, C_LENGTH, "%d is outside 0-%d mm", (int)a->length_mm, DIM_MAX_MM);
    if (!SKIP(C_WIDTH) && a->width_mm != -1 && (a->width_mm < 0 || a->width_mm > DIM_MAX_MM))
        problem(w, C_WIDTH, "%d is outside 0-%d mm", (int)a->width_mm, DIM_MAX_MM);
    if (!SKIP(C_HEIGHT) && a->height_mm != -1 && (a->height_mm < 0 || a->height_mm > DIM_MAX_MM))
        problem(w, C_HEIGHT, "%d is outside 0-%d mm", (int)a->height_mm, DIM_MAX_MM);
    if (!SKIP(C_VALUE) && a->declared_value != -1 &&
        (a->declared_value < 0 || a->declared_value > VALUE_MAX))
        problem(w, C_VALUE, "%lld is outside 0-%lld", (long long)a->declared_value, VALUE_MAX);
    if (!SKIP(C_CURRENCY)) {
        if (a->currency[0] == '\0') {
            if (a->declared_value != -1 && !SKIP(C_VALUE))
                problem(w, C_CURRENCY, "required with declared_value");
        } else if (!is_upper(a->currency[0]) || !is_upper(a->currency[1]) ||
                   !is_upper(a->currency[2]) || a->currency[3] != '\0') {
            problem(w, C_CURRENCY, "'%.4s' is not 3 upper-case letters (ISO 4217)", a->currency);
        }
    }
    if (!SKIP(C_HS)) {
        n = strnlen(a->hs_code, sizeof(a->hs_code));
        if (n >= sizeof(a->hs_code))
            problem(w, C_HS, "not NUL-terminated");
        else if (n > 0 && (n < 6 || !all_digits(a->hs_code, n)))
            problem(w, C_HS, "'%s' is not 6-10 digits", a->hs_code);
    }
#undef SKIP
}

int wcs_preadvice_validate(const struct wcs_preadvice *a, const char *file, int line,
                           struct diag *d)
{
    struct diag_file f = {file, d, NULL, 0};
    struct where w = {&f, line, 0, 0};

    validate(a, &w);
    return w.problems > 0 ? ERR_INVALID : 0;
}

/* --- raw record -> struct --------------------------------------------- */

/* Copies a text value; too long is a problem, never a silent truncation. */
static void set_text(struct where *w, enum col c, char *dst, size_t size, const char *v,
                     size_t len)
{
    if (csv_table_copy_text(w->f, w->line, cols[c].name, v, len, dst, size) < 0)
        mark(w, c);
}

/* Parses a non-negative whole number; absent gives -1. */
static int64_t set_num(struct where *w, enum col c, const char *v, size_t len, int64_t max)
{
    int64_t x = 0;
    size_t i;

    if (v == NULL || len == 0)
        return -1;
    if (v[0] == '-' && len > 1 && all_digits(v + 1, len - 1)) {
        problem(w, c, "%.*s is negative", (int)len, v);
        return -1;
    }
    if (!all_digits(v, len)) {
        problem(w, c, "'%.*s' is not a whole number", (int)(len > 40 ? 40 : len), v);
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (x > (max - (v[i] - '0')) / 10) {
            problem(w, c, "%.*s is above %lld", (int)(len > 40 ? 40 : len), v, (long long)max);
            return -1;
        }
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* other_ids: codes separated by spaces or ';'. */
static void set_other_ids(struct where *w, struct wcs_preadvice *a, const char *v, size_t len)
{
    size_t i = 0;

    a->n_other_ids = 0;
    if (v == NULL)
        return;
    while (i < len) {
        size_t start, n;

        while (i < len && (v[i] == ' ' || v[i] == ';' || v[i] == '\t'))
            i++;
        if (i >= len)
            break;
        start = i;
        while (i < len && v[i] != ' ' && v[i] != ';' && v[i] != '\t')
            i++;
        n = i - start;
        if (a->n_other_ids == WCS_MAX_IDS - 1) {
            problem(w, C_OTHER_IDS, "more than %d other ids", WCS_MAX_IDS - 1);
            return;
        }
        if (n > WCS_CODE_MAX) {
            problem(w, C_OTHER_IDS, "an id is longer than %d characters", WCS_CODE_MAX);
            return;
        }
        memcpy(a->other_ids[a->n_other_ids], v + start, n);
        a->other_ids[a->n_other_ids][n] = '\0';
        a->n_other_ids++;
    }
}

static void raw_to_row(const struct raw *r, struct where *w, struct wcs_preadvice *a)
{
    memset(a, 0, sizeof(*a));
    set_text(w, C_CODE, a->code, sizeof(a->code), r->v[C_CODE], r->len[C_CODE]);
    set_other_ids(w, a, r->v[C_OTHER_IDS], r->len[C_OTHER_IDS]);
    set_text(w, C_SERVICE, a->service, sizeof(a->service), r->v[C_SERVICE], r->len[C_SERVICE]);
    set_text(w, C_COUNTRY, a->country, sizeof(a->country), r->v[C_COUNTRY], r->len[C_COUNTRY]);
    set_text(w, C_POSTAL, a->postal_code, sizeof(a->postal_code), r->v[C_POSTAL],
             r->len[C_POSTAL]);
    set_text(w, C_NAME, a->recipient_name, sizeof(a->recipient_name), r->v[C_NAME],
             r->len[C_NAME]);
    set_text(w, C_CITY, a->city, sizeof(a->city), r->v[C_CITY], r->len[C_CITY]);
    set_text(w, C_ADDRESS, a->address, sizeof(a->address), r->v[C_ADDRESS], r->len[C_ADDRESS]);
    set_text(w, C_PHONE, a->phone, sizeof(a->phone), r->v[C_PHONE], r->len[C_PHONE]);
    a->weight_g = (int32_t)set_num(w, C_WEIGHT, r->v[C_WEIGHT], r->len[C_WEIGHT], WEIGHT_MAX_G);
    a->length_mm = (int32_t)set_num(w, C_LENGTH, r->v[C_LENGTH], r->len[C_LENGTH], DIM_MAX_MM);
    a->width_mm = (int32_t)set_num(w, C_WIDTH, r->v[C_WIDTH], r->len[C_WIDTH], DIM_MAX_MM);
    a->height_mm = (int32_t)set_num(w, C_HEIGHT, r->v[C_HEIGHT], r->len[C_HEIGHT], DIM_MAX_MM);
    a->declared_value = set_num(w, C_VALUE, r->v[C_VALUE], r->len[C_VALUE], VALUE_MAX);
    set_text(w, C_CURRENCY, a->currency, sizeof(a->currency), r->v[C_CURRENCY],
             r->len[C_CURRENCY]);
    set_text(w, C_DESC, a->item_description, sizeof(a->item_description), r->v[C_DESC],
             r->len[C_DESC]);
    set_text(w, C_HS, a->hs_code, sizeof(a->hs_code), r->v[C_HS], r->len[C_HS]);
    a->customs = CUST_STATUS_NONE;
#define TEXT(c, field) set_text(w, c, a->field, sizeof(a->field), r->v[c], r->len[c])
    TEXT(C_REGION, region);
    TEXT(C_S_NAME, sender_name);
    TEXT(C_S_ADDRESS, sender_address);
    TEXT(C_S_CITY, sender_city);
    TEXT(C_S_POSTAL, sender_postal_code);
    TEXT(C_S_COUNTRY, sender_country);
    TEXT(C_S_PHONE, sender_phone);
    TEXT(C_CATEGORY, category);
    TEXT(C_ORIGIN, origin_country);
    TEXT(C_PP_SERIES, passport_series);
    TEXT(C_PP_NUMBER, passport_number);
    TEXT(C_PP_ISSUED, passport_issued);
    TEXT(C_INN, inn);
#undef TEXT
    a->quantity = (int32_t)set_num(w, C_QUANTITY, r->v[C_QUANTITY], r->len[C_QUANTITY], QUANTITY_MAX);
    a->net_weight_g = (int32_t)set_num(w, C_NET_WEIGHT, r->v[C_NET_WEIGHT], r->len[C_NET_WEIGHT],
                                       WEIGHT_MAX_G);
}

/* --- the reader ------------------------------------------------------- */

struct reader {
    struct diag_file f;      /* the path, d and e */
    wcs_preadvice_cb cb;
    void *arg;
    struct wcs_import_counts *counts;
    int rc;                  /* cb's value when it stopped the read */
};

/* Handles one data record; bad rows are reported and skipped. */
static void take_row(struct reader *rd, const struct raw *raw, int line, uint64_t reported,
                     int problems)
{
    struct wcs_preadvice a;
    struct where w = {&rd->f, line, problems, reported};
    int rc;

    rd->counts->rows++;
    raw_to_row(raw, &w, &a);
    validate(&a, &w);
    if (w.problems > 0) {
        rd->counts->bad++;
        return;
    }
    rd->counts->good++;
    rc = rd->cb(rd->arg, &a, line);
    if (rc != 0)
        rd->rc = rc;
}

static int csv_record_cb(struct csv_table *t, void *arg)
{
    struct reader *rd = arg;
    struct raw raw;
    size_t k;

    memset(&raw, 0, sizeof(raw));
    for (k = 0; k < NCOL; k++) {
        /* An empty CSV field is an absent value. */
        if (csv_table_field_len(t, k) > 0) {
            raw.v[k] = csv_table_field(t, k);
            raw.len[k] = csv_table_field_len(t, k);
        }
    }
    take_row(rd, &raw, csv_table_line(t), 0, 0);
    return rd->rc;
}

/* Reads the CSV whose first line (first_len bytes, -1 at end of file) is
 * already in line. */
static int read_csv(struct reader *rd, FILE *fp, const char *line, ssize_t first_len)
{
    /* Columns by name in any order, unknown ones refused; every record as
     * wide as the header; a record with broken quoting is refused and the
     * read goes on, so one bad row of a million does not stop the import. */
    const struct csv_table_spec spec = {
        .cols = cols,
        .ncols = NCOL,
        .flags = CSV_TABLE_SAME_WIDTH | CSV_TABLE_KEEP_GOING,
        .empty = "missing (empty file)",
        .record_cb = csv_record_cb,
        .arg = rd,
    };
    struct csv_table *t;
    int rc;

    rc = csv_table_new(&spec, &rd->f, &t);
    if (rc < 0)
        return err_set(rd->f.e, rc, "%s: out of memory", rd->f.name);
    if (first_len > PREADVICE_LINE_MAX)
        rc = diag_stop(&rd->f, 1, "header", "line longer than %d bytes", PREADVICE_LINE_MAX);
    else
        rc = first_len >= 0 ? csv_table_feed(t, line, (size_t)first_len) : 0;
    if (rc == 0)
        rc = csv_table_read_file(t, fp);
    rd->counts->rows += csv_table_refused(t);
    rd->counts->bad += csv_table_refused(t);
    csv_table_free(t);
    return rc;
}

/* --- JSON Lines -------------------------------------------------------- */

/* The deepest nesting of arrays and objects in a JSON text, strings skipped,
 * counted only up to max + 1 (it stops there). Broken syntax is jansson's to
 * report: this only looks at brackets. */
static int json_depth(const char *text, size_t len, int max)
{
    int depth = 0, deepest = 0;
    bool in_string = false;
    size_t i;

    for (i = 0; i < len && deepest <= max; i++) {
        char ch = text[i];

        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > deepest)
                deepest = depth;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

static void json_record(struct reader *rd, const char *text, size_t len, int line)
{
    struct where w = {&rd->f, line, 0, 0};
    char nums[NCOL][24];
    char *ids = NULL;
    size_t ids_len = 0;
    struct raw raw;
    json_error_t jerr;
    json_t *o, *v;
    const char *key;
    int k;

    if (json_depth(text, len, PREADVICE_JSON_DEPTH_MAX) > PREADVICE_JSON_DEPTH_MAX) {
        rd->counts->rows++;
        rd->counts->bad++;
        diag_report(&rd->f, line, "row", "JSON nested deeper than %d levels",
                    PREADVICE_JSON_DEPTH_MAX);
        return;
    }
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL) {
        rd->counts->rows++;
        rd->counts->bad++;
        diag_report(&rd->f, line, "row", "invalid JSON at column %d: %s", jerr.column, jerr.text);
        return;
    }
    if (!json_is_object(o)) {
        rd->counts->rows++;
        rd->counts->bad++;
        diag_report(&rd->f, line, "row", "not a JSON object");
        json_decref(o);
        return;
    }
    memset(&raw, 0, sizeof(raw));
    json_object_foreach(o, key, v) {
        char name[65];
        int c = -1;

        for (k = 0; k < NCOL; k++)
            if (strcmp(key, cols[k].name) == 0)
                c = k;
        if (c < 0) {
            snprintf(name, sizeof(name), "%s", key); /* a key may be any length */
            diag_report(&rd->f, line, name, "unknown field");
            w.problems++;
            continue;
        }
        if (json_is_null(v))
            continue;
        if (c == C_OTHER_IDS) {
            size_t i;
            json_t *it;

            if (!json_is_array(v)) {
                problem(&w, C_OTHER_IDS, "must be an array of strings");
                continue;
            }
            free(ids);
            ids = NULL;
            ids_len = 0;
            json_array_foreach(v, i, it) {
                size_t l;
                char *np;

                if (!json_is_string(it)) {
                    problem(&w, C_OTHER_IDS, "must be an array of strings");
                    break;
                }
                l = json_string_length(it);
                np = realloc(ids, ids_len + l + 2);
                if (np == NULL) {
                    problem(&w, C_OTHER_IDS, "out of memory");
                    break;
                }
                ids = np;
                /* Joined by ';' and split again like the CSV column; a
                 * space or ';' inside an id makes it invalid either way. */
                if (ids_len > 0)
                    ids[ids_len++] = ';';
                memcpy(ids + ids_len, json_string_value(it), l);
                ids_len += l;
                ids[ids_len] = '\0';
            }
            raw.v[c] = ids;
            raw.len[c] = ids_len;
        } else if (c == C_WEIGHT || c == C_LENGTH || c == C_WIDTH || c == C_HEIGHT ||
                   c == C_VALUE || c == C_QUANTITY || c == C_NET_WEIGHT) {
            if (!json_is_integer(v)) {
                problem(&w, (enum col)c, "must be a whole number");
                continue;
            }
            raw.len[c] = (size_t)snprintf(nums[c], sizeof(nums[c]), "%" JSON_INTEGER_FORMAT,
                                          json_integer_value(v));
            raw.v[c] = nums[c];
        } else {
            if (!json_is_string(v)) {
                problem(&w, (enum col)c, "must be a string");
                continue;
            }
            raw.v[c] = json_string_value(v);
            raw.len[c] = json_string_length(v);
        }
    }
    take_row(rd, &raw, line, w.reported, w.problems);
    free(ids);
    json_decref(o);
}

static int read_jsonl(struct reader *rd, FILE *fp, char **line, size_t *cap, ssize_t first_len)
{
    ssize_t n = first_len;
    int line_no = 0;

    while (n >= 0 && rd->rc == 0) {
        line_no++;
        if (n > PREADVICE_LINE_MAX) {
            /* Its first bytes were kept, the rest skipped: a bad row. */
            rd->counts->rows++;
            rd->counts->bad++;
            diag_report(&rd->f, line_no, "row", "line longer than %d bytes", PREADVICE_LINE_MAX);
        } else if (!csv_table_blank(*line, (size_t)n)) {
            json_record(rd, *line, (size_t)n, line_no);
        }
        errno = 0;
        n = csv_table_getline(line, cap, fp, PREADVICE_LINE_MAX);
    }
    if (rd->rc == 0 && ferror(fp))
        return err_set(rd->f.e, errno ? -errno : -EIO, "%s: read: %s", rd->f.name,
                       strerror(errno ? errno : EIO));
    return rd->rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int wcs_preadvice_read_stream(FILE *fp, const char *name, wcs_preadvice_cb cb, void *arg,
                              struct wcs_import_counts *counts, struct diag *d, struct err *e)
{
    struct wcs_import_counts tmp;
    struct reader rd;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc, jsonl;

    if (counts == NULL)
        counts = &tmp;
    memset(counts, 0, sizeof(*counts));
    memset(&rd, 0, sizeof(rd));
    rd.f.name = name;
    rd.f.d = d;
    rd.f.e = e;
    rd.cb = cb;
    rd.arg = arg;
    rd.counts = counts;
    errno = 0;
    n = csv_table_getline(&line, &cap, fp, PREADVICE_LINE_MAX);
    if (n < 0 && ferror(fp)) {
        rc = err_set(e, errno ? -errno : -EIO, "%s: read: %s", name, strerror(errno ? errno : EIO));
        goto out;
    }
    jsonl = ends_with(name, ".jsonl") || ends_with(name, ".ndjson") ||
            (n > 0 && (line[0] == '{' || (n > 3 && strncmp(line, "\xEF\xBB\xBF{", 4) == 0)));
    if (jsonl && n > 3 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        memset(line, ' ', 3); /* the BOM is not JSON; blanks keep the columns */
    if (jsonl)
        rc = read_jsonl(&rd, fp, &line, &cap, n);
    else
        rc = read_csv(&rd, fp, line, n);
out:
    free(line);
    return rc;
}

int wcs_preadvice_read_file(const char *path, wcs_preadvice_cb cb, void *arg,
                            struct wcs_import_counts *counts, struct diag *d, struct err *e)
{
    FILE *fp;
    int rc;

    if (counts != NULL)
        memset(counts, 0, sizeof(*counts));
    fp = fopen(path, "r");
    if (fp == NULL)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    rc = wcs_preadvice_read_stream(fp, path, cb, arg, counts, d, e);
    fclose(fp);
    return rc;
}

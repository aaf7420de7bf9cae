/*
 * telegram.c - the sorter PLC telegram codec: parse and format fixed-length
 * printable-ASCII telegrams (docs/plc-protocol.md, spec "Header" and "Types").
 *
 * DESIGN: every telegram type is a table of fixed-width fields (name, width,
 * kind, where the value lives in the struct). One parser and one formatter walk
 * those tables, so the two cannot drift apart, and format(parse(x)) == x holds
 * for every telegram that parses (fuzz-telegram.c checks exactly that). For
 * this to hold the parser is strict: text must be left-aligned ('*' only as
 * trailing padding), a number is all digits or all '*', and the fill after
 * the last field must be all '*'. A strict parser also shows a PLC
 * programmer a layout mistake (a field one character too long, a newer layout
 * with an extra field) at commissioning, as a refusal naming the field,
 * instead of silently dropping data.
 *
 * Pure: no I/O, no allocation, no global state; safe from any thread.
 */
#include "conveyor/telegram.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* --- names ------------------------------------------------------------- */

static const char *const type_names[CONV_TG_TYPE_COUNT] = {
    [CONV_TG_REQ] = "REQ_", [CONV_TG_RES] = "RES_", [CONV_TG_UPD] = "UPD_",
    [CONV_TG_LOCU] = "LOCU", [CONV_TG_SYSU] = "SYSU", [CONV_TG_ACK] = "ACK_",
    [CONV_TG_ERR] = "ERR_", [CONV_TG_LIFE] = "LIFE",
};

static const char *const upd_event_names[CONV_UPD_COUNT] = {
    [CONV_UPD_SORTED] = "SORTED__",   [CONV_UPD_RECIRC] = "RECIRC__",
    [CONV_UPD_NODIVERT] = "NODIVERT", [CONV_UPD_LOST] = "LOST____",
    [CONV_UPD_REJECTED] = "REJECTED", [CONV_UPD_REMOVED] = "REMOVED_",
};

static const char *const loc_state_names[CONV_LOC_COUNT] = {
    [CONV_LOC_ACTIVE] = "ACTIVE__", [CONV_LOC_FULL] = "FULL____",
    [CONV_LOC_DISABLED] = "DISABLED", [CONV_LOC_FAULT] = "FAULT___",
};

static const char *const line_state_names[CONV_LINE_COUNT] = {
    [CONV_LINE_RUNNING] = "RUNNING_", [CONV_LINE_STOPPED] = "STOPPED_",
    [CONV_LINE_ESTOP] = "ESTOP___",   [CONV_LINE_FAULT] = "FAULT___",
};

const char *conv_tg_type_name(enum conv_tg_type t)
{
    if ((unsigned)t >= CONV_TG_TYPE_COUNT)
        return "????";
    return type_names[t];
}

int conv_tg_type_parse(const char *s4, enum conv_tg_type *out)
{
    int i;

    for (i = 0; i < CONV_TG_TYPE_COUNT; i++) {
        if (memcmp(s4, type_names[i], 4) == 0) {
            *out = (enum conv_tg_type)i;
            return 0;
        }
    }
    return ERR_PARSE;
}

const char *conv_upd_event_name(enum conv_upd_event ev)
{
    if ((unsigned)ev >= CONV_UPD_COUNT)
        return "????????";
    return upd_event_names[ev];
}

const char *conv_loc_state_name(enum conv_loc_state s)
{
    if ((unsigned)s >= CONV_LOC_COUNT)
        return "????????";
    return loc_state_names[s];
}

const char *conv_line_state_name(enum conv_line_state s)
{
    if ((unsigned)s >= CONV_LINE_COUNT)
        return "????????";
    return line_state_names[s];
}

uint64_t conv_tg_content_hash(const char *raw, size_t L)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    /* From the type field (offset 23) on: sender, receiver and seq of the
     * header are left out. */
    for (i = CONV_TG_HEADER_LEN - 4; i < L; i++) {
        h ^= (unsigned char)raw[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

uint32_t conv_tg_seq_next(uint32_t seq)
{
    /* Spec "Header": 99999 wraps to 00001; 00000 is never used, so anything
     * out of range (a fresh counter at 0 included) restarts at 1. */
    if (seq >= CONV_TG_SEQ_MAX)
        return 1;
    return seq + 1;
}

void conv_tg_time(int64_t unix_s, char out[15])
{
    /* 9999-12-31 23:59:59 UTC: the last instant 14 digits can hold. */
    const int64_t max_s = 253402300799;
    time_t t;
    struct tm tm;

    if (unix_s < 0)
        unix_s = 0;
    if (unix_s > max_s)
        unix_s = max_s;
    t = (time_t)unix_s;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 15, "%Y%m%d%H%M%S", &tm) != 14)
        memcpy(out, "19700101000000", 15);
}

/* --- field tables ------------------------------------------------------- */

enum fkind {
    F_TEXT,     /* char[width+1], "" = absent */
    F_NUM,      /* int32_t, -1 = absent */
    F_SEQ,      /* uint32_t 1..99999, required (req_seq, acked_seq) */
    F_BARCODE,  /* char[21] at off, enum conv_barcode at off2 */
    F_TIME,     /* char[15], "" = absent */
    F_WORD,     /* enum stored as int, word(0..nwords-1) */
    F_ACKTYPE,  /* enum conv_tg_type restricted to UPD_/LOCU/SYSU */
    F_RESULT,   /* bool: OK______ = false, DUPLIC__ = true */
    F_ERRCODE,  /* char[9], 8 digits, required */
    F_REFTYPE,  /* ERR_ refused_type: char[5], absent allowed */
    F_REFSEQ,   /* ERR_ refused_seq: uint32_t, 0 = absent */
};

struct fdesc {
    const char *name;
    unsigned width;
    enum fkind kind;
    size_t off;                 /* offset of the value in the type's struct */
    size_t off2;                /* F_BARCODE: offset of the enum conv_barcode */
    bool required;              /* F_TEXT: absent is a bad field */
    const char *(*word)(int i); /* F_WORD: the 8-character word of value i */
    int nwords;
};

_Static_assert(sizeof(enum conv_upd_event) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum conv_barcode) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum conv_reason) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum conv_tg_type) == sizeof(int), "enum stored as int");

/* Word lists by index, so one F_WORD kind serves every 8-character enum; the
 * RES_ reasons come from reason.c, which keeps the only copy of those codes. */
static const char *reason_word(int i)
{
    return conv_reason_code((enum conv_reason)i);
}
static const char *event_word(int i)
{
    return upd_event_names[i];
}
static const char *loc_word(int i)
{
    return loc_state_names[i];
}
static const char *line_word(int i)
{
    return line_state_names[i];
}

#define TXT(st, f, w, req) {#f, w, F_TEXT, offsetof(struct st, f), 0, req, NULL, 0}
#define NUM(st, f, w) {#f, w, F_NUM, offsetof(struct st, f), 0, false, NULL, 0}
#define SEQ(st, f) {#f, 5, F_SEQ, offsetof(struct st, f), 0, true, NULL, 0}
#define BAR(st) {"barcode", 20, F_BARCODE, offsetof(struct st, barcode), \
                 offsetof(struct st, barcode_kind), false, NULL, 0}
#define TIM(st) {"time", 14, F_TIME, offsetof(struct st, time), 0, false, NULL, 0}
#define WRD(name, st, f, word, n) {name, 8, F_WORD, offsetof(struct st, f), 0, true, word, n}

/* Spec "REQ_": tracking(10) location(20) barcode(20) weight_g(6) length_mm(4)
 * width_mm(4) height_mm(4) status(8) time(14) = 90. */
static const struct fdesc req_fields[] = {
    TXT(conv_req, tracking, 10, true), TXT(conv_req, location, 20, true), BAR(conv_req),
    NUM(conv_req, weight_g, 6), NUM(conv_req, length_mm, 4), NUM(conv_req, width_mm, 4),
    NUM(conv_req, height_mm, 4), TXT(conv_req, status, 8, false), TIM(conv_req),
};
/* Spec "RES_": tracking(10) req_seq(5) location(20) barcode(20)
 * destination(20) reason(8) time(14) = 97, the longest body. */
static const struct fdesc res_fields[] = {
    TXT(conv_res, tracking, 10, true), SEQ(conv_res, req_seq), TXT(conv_res, location, 20, true),
    BAR(conv_res), TXT(conv_res, destination, 20, false),
    WRD("reason", conv_res, reason, reason_word, CONV_REASON_COUNT), TIM(conv_res),
};
/* Spec "UPD_": tracking(10) location(20) barcode(20) event(8) time(14) = 72. */
static const struct fdesc upd_fields[] = {
    TXT(conv_upd, tracking, 10, true), TXT(conv_upd, location, 20, true), BAR(conv_upd),
    WRD("event", conv_upd, event, event_word, CONV_UPD_COUNT), TIM(conv_upd),
};
/* Spec "LOCU": location(20) state(8) time(14) = 42. */
static const struct fdesc locu_fields[] = {
    TXT(conv_locu, location, 20, true),
    WRD("state", conv_locu, state, loc_word, CONV_LOC_COUNT), TIM(conv_locu),
};
/* Spec "SYSU": line(20) state(8) speed_mm_s(5) time(14) = 47. */
static const struct fdesc sysu_fields[] = {
    TXT(conv_sysu, line, 20, true),
    WRD("state", conv_sysu, state, line_word, CONV_LINE_COUNT),
    NUM(conv_sysu, speed_mm_s, 5), TIM(conv_sysu),
};
/* Spec "ACK_": acked_type(4) acked_seq(5) result(8) time(14) = 31. */
static const struct fdesc ack_fields[] = {
    {"acked_type", 4, F_ACKTYPE, offsetof(struct conv_ack, acked_type), 0, true, NULL, 0},
    SEQ(conv_ack, acked_seq),
    {"result", 8, F_RESULT, offsetof(struct conv_ack, duplicate), 0, true, NULL, 0},
    TIM(conv_ack),
};
/* Spec "ERR_": refused_type(4) refused_seq(5) code(8) text(40) time(14) = 71. */
static const struct fdesc err_fields[] = {
    {"refused_type", 4, F_REFTYPE, offsetof(struct conv_errtg, refused_type), 0, false, NULL, 0},
    {"refused_seq", 5, F_REFSEQ, offsetof(struct conv_errtg, refused_seq), 0, false, NULL, 0},
    {"code", 8, F_ERRCODE, offsetof(struct conv_errtg, code), 0, true, NULL, 0},
    TXT(conv_errtg, text, 40, false), TIM(conv_errtg),
};
/* Spec "LIFE": time(14). */
static const struct fdesc life_fields[] = {TIM(conv_life)};

#define NF(a) (sizeof(a) / sizeof((a)[0]))
static const struct {
    const struct fdesc *f;
    size_t n;
} type_fields[CONV_TG_TYPE_COUNT] = {
    [CONV_TG_REQ] = {req_fields, NF(req_fields)},   [CONV_TG_RES] = {res_fields, NF(res_fields)},
    [CONV_TG_UPD] = {upd_fields, NF(upd_fields)},   [CONV_TG_LOCU] = {locu_fields, NF(locu_fields)},
    [CONV_TG_SYSU] = {sysu_fields, NF(sysu_fields)}, [CONV_TG_ACK] = {ack_fields, NF(ack_fields)},
    [CONV_TG_ERR] = {err_fields, NF(err_fields)},   [CONV_TG_LIFE] = {life_fields, NF(life_fields)},
};

/* Header layout, spec "Header". */
#define OFF_LEN 3
#define OFF_SENDER 8
#define OFF_RECEIVER 13
#define OFF_SEQ 18
#define OFF_TYPE 23

/* --- small helpers ------------------------------------------------------- */

static bool all_of(const char *p, size_t n, char c)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] != c)
            return false;
    return true;
}

static bool all_digits(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static uint32_t digits_value(const char *p, size_t n)
{
    uint32_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v * 10 + (uint32_t)(p[i] - '0');
    return v;
}

static bool printable(char c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* Reads a text field: trailing '*' is padding, a '*' before other text is
 * not left-aligned. out gets w+1 bytes at most. Returns false on a bad text. */
static bool text_get(const char *p, size_t w, char *out)
{
    size_t n = w, i;

    while (n > 0 && p[n - 1] == '*')
        n--;
    for (i = 0; i < n; i++)
        if (p[i] == '*')
            return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* yyyyMMddHHmmss with real calendar ranges (no leap second: PLC clocks do
 * not produce one and a 60 is more likely a programming error). */
static bool time_valid(const char *p)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, s, dim;

    if (!all_digits(p, 14))
        return false;
    y = digits_value(p, 4);
    mo = digits_value(p + 4, 2);
    d = digits_value(p + 6, 2);
    h = digits_value(p + 8, 2);
    mi = digits_value(p + 10, 2);
    s = digits_value(p + 12, 2);
    if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59)
        return false;
    dim = mdays[mo - 1] + (mo == 2 && is_leap(y) ? 1 : 0);
    return d >= 1 && d <= dim;
}

static void put_int(int *dst, int v)
{
    memcpy(dst, &v, sizeof(v));
}

static int get_int(const void *src)
{
    int v;

    memcpy(&v, src, sizeof(v));
    return v;
}

/* --- parse ---------------------------------------------------------------- */

/* Parses one body field at p into base. Returns 0, or -1 with a short reason
 * in why[41] (it goes on the wire in ERR_ text, so no '*' in it). */
static int parse_field(const struct fdesc *fd, const char *p, char *base, char *why)
{
    char *dst = base + fd->off;
    size_t w = fd->width;
    int i;

    switch (fd->kind) {
    case F_TEXT:
        if (!text_get(p, w, dst))
            goto padding;
        if (fd->required && dst[0] == '\0')
            goto missing;
        return 0;
    case F_NUM: {
        int32_t v = -1;
        if (all_of(p, w, '*')) {
            memcpy(dst, &v, sizeof(v));
            return 0;
        }
        if (!all_digits(p, w))
            goto numeric;
        v = (int32_t)digits_value(p, w);
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case F_SEQ:
    case F_REFSEQ: {
        uint32_t v = 0;
        if (all_of(p, w, '*')) {
            if (fd->kind == F_SEQ)
                goto missing;
            memcpy(dst, &v, sizeof(v));
            return 0;
        }
        if (!all_digits(p, w))
            goto numeric;
        v = digits_value(p, w);
        if (v == 0) {
            snprintf(why, 41, "%s 00000 invalid", fd->name);
            return -1;
        }
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case F_BARCODE:
        if (all_of(p, w, '?')) {
            put_int((int *)(void *)(base + fd->off2), CONV_BARCODE_NOREAD);
            dst[0] = '\0';
            return 0;
        }
        if (!text_get(p, w, dst))
            goto padding;
        put_int((int *)(void *)(base + fd->off2),
                dst[0] == '\0' ? CONV_BARCODE_ABSENT : CONV_BARCODE_CODE);
        return 0;
    case F_TIME:
        if (all_of(p, w, '*')) {
            dst[0] = '\0';
            return 0;
        }
        if (!time_valid(p)) {
            snprintf(why, 41, "%s not a valid yyyyMMddHHmmss", fd->name);
            return -1;
        }
        memcpy(dst, p, 14);
        dst[14] = '\0';
        return 0;
    case F_WORD:
        for (i = 0; i < fd->nwords; i++) {
            if (memcmp(p, fd->word(i), w) == 0) {
                put_int((int *)(void *)dst, i);
                return 0;
            }
        }
        goto unknown;
    case F_ACKTYPE: {
        enum conv_tg_type t;
        if (conv_tg_type_parse(p, &t) < 0 ||
            (t != CONV_TG_UPD && t != CONV_TG_LOCU && t != CONV_TG_SYSU))
            goto unknown;
        put_int((int *)(void *)dst, (int)t);
        return 0;
    }
    case F_RESULT: {
        bool dup;
        if (memcmp(p, "OK______", 8) == 0)
            dup = false;
        else if (memcmp(p, "DUPLIC__", 8) == 0)
            dup = true;
        else
            goto unknown;
        memcpy(dst, &dup, sizeof(dup));
        return 0;
    }
    case F_ERRCODE:
        if (!all_digits(p, w))
            goto numeric;
        memcpy(dst, p, w);
        dst[w] = '\0';
        return 0;
    case F_REFTYPE:
        if (!text_get(p, w, dst))
            goto padding;
        return 0;
    }
    snprintf(why, 41, "%s: internal error", fd->name);
    return -1;
padding:
    snprintf(why, 41, "%s not left-aligned", fd->name);
    return -1;
missing:
    snprintf(why, 41, "%s missing", fd->name);
    return -1;
numeric:
    snprintf(why, 41, "%s not numeric", fd->name);
    return -1;
unknown:
    snprintf(why, 41, "%s unknown value", fd->name);
    return -1;
}

/* Name of the field at byte offset off of a telegram of type t (t < 0:
 * type unknown, only the header is named). */
static const char *field_at(int t, size_t off)
{
    size_t pos = CONV_TG_HEADER_LEN, i;

    if (off < OFF_LEN)
        return "sync";
    if (off < OFF_SENDER)
        return "length";
    if (off < OFF_RECEIVER)
        return "sender";
    if (off < OFF_SEQ)
        return "receiver";
    if (off < OFF_TYPE)
        return "seq";
    if (off < CONV_TG_HEADER_LEN)
        return "type";
    if (t < 0)
        return "body";
    for (i = 0; i < type_fields[t].n; i++) {
        pos += type_fields[t].f[i].width;
        if (off < pos)
            return type_fields[t].f[i].name;
    }
    return "fill";
}

/* Offset of the first "###" after the sync, or 0 when there is none. A
 * receiver resyncing mid-stream (spec "Transport") locks onto any "###", so
 * none may follow the real one: not inside a field, nor across two. */
static size_t false_sync(const char *buf, size_t L)
{
    size_t i;

    for (i = 3; i + 3 <= L; i++)
        if (buf[i] == '#' && buf[i + 1] == '#' && buf[i + 2] == '#')
            return i;
    return 0;
}

/* Copies up to n bytes into out as printable text, escaping the rest, so a
 * detail message never carries raw control bytes into a log. */
static void shown(const char *p, size_t n, char *out, size_t outsz)
{
    size_t i, o = 0;

    for (i = 0; i < n && o + 5 < outsz; i++) {
        unsigned char c = (unsigned char)p[i];
        if (printable((char)c) && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

static int refuse(struct conv_tg_refusal *why, struct err *e, const char *code, const char *what,
                  const char *detail)
{
    char seq[8];

    memcpy(why->code, code, 9);
    snprintf(why->text, sizeof(why->text), "%s", what);
    if (why->has_seq)
        snprintf(seq, sizeof(seq), "%05u", (unsigned)(why->seq % 100000));
    else
        memcpy(seq, "?????", 6);
    return err_set(e, ERR_PARSE, "telegram %s seq %s: %s%s%s", why->type[0] ? why->type : "????",
                   seq, what, detail[0] ? ": " : "", detail);
}

int conv_tg_parse(const char *buf, size_t len, size_t L, struct conv_telegram *out,
                  struct conv_tg_refusal *why, struct err *e)
{
    const struct fdesc *fields;
    char whytext[41], detail[256], tmp[32];
    size_t i, pos, nfields;
    enum conv_tg_type type;
    int t;

    memset(why, 0, sizeof(*why));
    memset(out, 0, sizeof(*out));

    /* What we can read of type and seq goes into every refusal, so the ERR_
     * names the telegram it refuses. The type is kept only when it could be
     * written back as an ERR_ refused_type (printable, left-aligned). */
    if (len >= CONV_TG_HEADER_LEN) {
        for (i = 0; i < 4 && printable(buf[OFF_TYPE + i]); i++)
            ;
        if (i == 4 && !text_get(buf + OFF_TYPE, 4, why->type))
            why->type[0] = '\0';
        /* Nor may it carry a '#' into the ERR_ (see false_sync). */
        if (memchr(why->type, '#', sizeof(why->type)) != NULL)
            why->type[0] = '\0';
        if (all_digits(buf + OFF_SEQ, 5) && digits_value(buf + OFF_SEQ, 5) != 0) {
            why->seq = digits_value(buf + OFF_SEQ, 5);
            why->has_seq = true;
        }
    }

    if (L < CONV_TG_LEN_MIN || L > CONV_TG_LEN_MAX || len != L) {
        snprintf(detail, sizeof(detail), "%zu bytes, expected %zu (%d..%d)", len, L,
                 CONV_TG_LEN_MIN, CONV_TG_LEN_MAX);
        return refuse(why, e, CONV_ERR_BAD_LENGTH, "bad telegram length", detail);
    }
    if (memcmp(buf, "###", 3) != 0) {
        shown(buf, 3, detail, sizeof(detail));
        return refuse(why, e, CONV_ERR_BAD_SYNC, "no sync at telegram start", detail);
    }
    /* Spec "Header": a length field other than L is refused with 00000011,
     * the telegram having been read as L characters all the same. */
    if (!all_digits(buf + OFF_LEN, 5) || digits_value(buf + OFF_LEN, 5) != L) {
        shown(buf + OFF_LEN, 5, tmp, sizeof(tmp));
        snprintf(detail, sizeof(detail), "length field %s, expected %05zu", tmp, L);
        return refuse(why, e, CONV_ERR_BAD_LENGTH, "length field not telegram length", detail);
    }
    if (conv_tg_type_parse(buf + OFF_TYPE, &type) < 0) {
        shown(buf + OFF_TYPE, 4, detail, sizeof(detail));
        return refuse(why, e, CONV_ERR_UNKNOWN_TYPE, "unknown type", detail);
    }
    t = (int)type;
    for (i = 0; i < L; i++) {
        if (!printable(buf[i])) {
            snprintf(whytext, sizeof(whytext), "%s bad character", field_at(t, i));
            snprintf(detail, sizeof(detail), "byte 0x%02x at offset %zu, outside 0x20-0x7E",
                     (unsigned char)buf[i], i);
            return refuse(why, e, CONV_ERR_BAD_FIELD, whytext, detail);
        }
    }

    i = false_sync(buf, L);
    if (i != 0) {
        snprintf(whytext, sizeof(whytext), "%s holds a false sync", field_at(t, i));
        snprintf(detail, sizeof(detail), "\"###\" at offset %zu", i);
        return refuse(why, e, CONV_ERR_BAD_FIELD, whytext, detail);
    }

    out->length = (uint32_t)L;
    out->type = type;
    if (!text_get(buf + OFF_SENDER, 5, out->sender))
        return refuse(why, e, CONV_ERR_BAD_FIELD, "sender not left-aligned", "");
    if (out->sender[0] == '\0')
        return refuse(why, e, CONV_ERR_BAD_FIELD, "sender missing", "");
    if (!text_get(buf + OFF_RECEIVER, 5, out->receiver))
        return refuse(why, e, CONV_ERR_BAD_FIELD, "receiver not left-aligned", "");
    if (out->receiver[0] == '\0')
        return refuse(why, e, CONV_ERR_BAD_FIELD, "receiver missing", "");
    if (!all_digits(buf + OFF_SEQ, 5)) {
        shown(buf + OFF_SEQ, 5, detail, sizeof(detail));
        return refuse(why, e, CONV_ERR_BAD_FIELD, "seq not numeric", detail);
    }
    out->seq = digits_value(buf + OFF_SEQ, 5);
    if (out->seq == 0)
        return refuse(why, e, CONV_ERR_BAD_FIELD, "seq 00000 invalid", "seq runs 00001..99999");

    fields = type_fields[t].f;
    nfields = type_fields[t].n;
    pos = CONV_TG_HEADER_LEN;
    for (i = 0; i < nfields; i++) {
        if (parse_field(&fields[i], buf + pos, (char *)&out->u, whytext) < 0) {
            char raw[4 * 40 + 8];

            shown(buf + pos, fields[i].width, raw, sizeof(raw));
            snprintf(detail, sizeof(detail), "\"%s\"", raw);
            return refuse(why, e, CONV_ERR_BAD_FIELD, whytext, detail);
        }
        pos += fields[i].width;
    }
    if (out->type == CONV_TG_ERR)
        out->u.err.has_refused = out->u.err.refused_type[0] != '\0' || out->u.err.refused_seq != 0;
    /* Spec "Header": '*' fill up to L. Anything else there is most likely a
     * field layout mismatch between PLC program and this document. */
    for (i = pos; i < L; i++) {
        if (buf[i] != '*') {
            snprintf(detail, sizeof(detail), "'%c' at offset %zu", buf[i], i);
            return refuse(why, e, CONV_ERR_BAD_FIELD, "fill after last field not filler", detail);
        }
    }
    return 0;
}

/* --- format ---------------------------------------------------------------- */

/* Writes text s into w characters, '*'-padded. Returns 0 or ERR_INVALID. */
static int put_text(char *p, size_t w, const char *s, size_t cap, const char *name, bool required,
                    struct err *e)
{
    size_t n = strnlen(s, cap), i;

    if (n == cap)
        return err_set(e, ERR_INVALID, "%s: not NUL-terminated", name);
    if (n > w)
        return err_set(e, ERR_INVALID, "%s: \"%s\" is %zu characters, the field holds %zu", name,
                       s, n, w);
    if (required && n == 0)
        return err_set(e, ERR_INVALID, "%s: missing (required)", name);
    for (i = 0; i < n; i++) {
        if (!printable(s[i]) || s[i] == '*')
            return err_set(e, ERR_INVALID, "%s: character 0x%02x not allowed in text", name,
                           (unsigned char)s[i]);
    }
    memcpy(p, s, n);
    memset(p + n, '*', w - n);
    return 0;
}

static int put_number(char *p, size_t w, long long v, const char *name, struct err *e)
{
    char tmp[24];
    long long max = 1;
    size_t i;

    for (i = 0; i < w; i++)
        max *= 10;
    if (v < 0 || v >= max)
        return err_set(e, ERR_INVALID, "%s: %lld does not fit %zu digits", name, v, w);
    snprintf(tmp, sizeof(tmp), "%0*lld", (int)w, v);
    memcpy(p, tmp, w);
    return 0;
}

static int format_field(const struct fdesc *fd, char *p, const char *base, struct err *e)
{
    const char *src = base + fd->off;
    size_t w = fd->width;
    int v;

    switch (fd->kind) {
    case F_TEXT:
        return put_text(p, w, src, w + 1, fd->name, fd->required, e);
    case F_NUM: {
        int32_t n;
        memcpy(&n, src, sizeof(n));
        if (n == -1) {
            memset(p, '*', w);
            return 0;
        }
        return put_number(p, w, n, fd->name, e);
    }
    case F_SEQ:
    case F_REFSEQ: {
        uint32_t n;
        memcpy(&n, src, sizeof(n));
        if (n == 0 && fd->kind == F_REFSEQ) {
            memset(p, '*', w);
            return 0;
        }
        if (n == 0 || n > CONV_TG_SEQ_MAX)
            return err_set(e, ERR_INVALID, "%s: %u outside 1..99999", fd->name, (unsigned)n);
        return put_number(p, w, n, fd->name, e);
    }
    case F_BARCODE:
        v = get_int(base + fd->off2);
        if (v == CONV_BARCODE_NOREAD) {
            memset(p, '?', w);
            return 0;
        }
        if (v == CONV_BARCODE_ABSENT) {
            memset(p, '*', w);
            return 0;
        }
        if (v != CONV_BARCODE_CODE)
            return err_set(e, ERR_INVALID, "%s: bad barcode kind %d", fd->name, v);
        if (strnlen(src, w + 1) == w && all_of(src, w, '?'))
            return err_set(e, ERR_INVALID, "%s: 20 '?' is the no-read mark, not a code", fd->name);
        /* An empty code is written as absent (all '*'): the wire has no other
         * way to say it, and parsing gives back CONV_BARCODE_ABSENT. */
        return put_text(p, w, src, w + 1, fd->name, false, e);
    case F_TIME:
        if (strnlen(src, 15) == 0) {
            memset(p, '*', w);
            return 0;
        }
        if (strnlen(src, 15) != 14 || !time_valid(src))
            return err_set(e, ERR_INVALID, "%s: \"%.15s\" is not a valid yyyyMMddHHmmss", fd->name,
                           src);
        memcpy(p, src, 14);
        return 0;
    case F_WORD:
        v = get_int(src);
        if (v < 0 || v >= fd->nwords)
            return err_set(e, ERR_INVALID, "%s: value %d out of range", fd->name, v);
        memcpy(p, fd->word(v), w);
        return 0;
    case F_ACKTYPE:
        v = get_int(src);
        if (v != CONV_TG_UPD && v != CONV_TG_LOCU && v != CONV_TG_SYSU)
            return err_set(e, ERR_INVALID, "%s: only UPD_, LOCU and SYSU are acknowledged",
                           fd->name);
        memcpy(p, type_names[v], 4);
        return 0;
    case F_RESULT: {
        bool dup;
        memcpy(&dup, src, sizeof(dup));
        memcpy(p, dup ? "DUPLIC__" : "OK______", 8);
        return 0;
    }
    case F_ERRCODE:
        if (strnlen(src, 9) != 8 || !all_digits(src, 8))
            return err_set(e, ERR_INVALID, "%s: \"%.9s\" is not 8 digits", fd->name, src);
        memcpy(p, src, 8);
        return 0;
    case F_REFTYPE:
        return put_text(p, w, src, w + 1, fd->name, false, e);
    }
    return err_set(e, ERR_INVALID, "%s: internal error", fd->name);
}

int conv_tg_format(const struct conv_telegram *t, size_t L, char *buf, struct err *e)
{
    const struct fdesc *fields;
    size_t i, pos;
    int rc;

    if (L < CONV_TG_LEN_MIN || L > CONV_TG_LEN_MAX)
        return err_set(e, ERR_INVALID, "telegram length %zu outside %d..%d", L, CONV_TG_LEN_MIN,
                       CONV_TG_LEN_MAX);
    if ((unsigned)t->type >= CONV_TG_TYPE_COUNT)
        return err_set(e, ERR_INVALID, "type: value %d out of range", (int)t->type);
    memset(buf, '*', L);
    memcpy(buf, "###", 3);
    rc = put_number(buf + OFF_LEN, 5, (long long)L, "length", e);
    if (rc < 0)
        return rc;
    rc = put_text(buf + OFF_SENDER, 5, t->sender, sizeof(t->sender), "sender", true, e);
    if (rc < 0)
        return rc;
    rc = put_text(buf + OFF_RECEIVER, 5, t->receiver, sizeof(t->receiver), "receiver", true, e);
    if (rc < 0)
        return rc;
    if (t->seq == 0 || t->seq > CONV_TG_SEQ_MAX)
        return err_set(e, ERR_INVALID, "seq: %u outside 1..99999", (unsigned)t->seq);
    rc = put_number(buf + OFF_SEQ, 5, t->seq, "seq", e);
    if (rc < 0)
        return rc;
    memcpy(buf + OFF_TYPE, type_names[t->type], 4);

    fields = type_fields[t->type].f;
    pos = CONV_TG_HEADER_LEN;
    if (t->type == CONV_TG_ERR && !t->u.err.has_refused) {
        /* Bad sync: refused_type and refused_seq absent whatever they hold. */
        struct conv_errtg copy = t->u.err;
        copy.refused_type[0] = '\0';
        copy.refused_seq = 0;
        for (i = 0; i < type_fields[t->type].n; i++) {
            rc = format_field(&fields[i], buf + pos, (const char *)&copy, e);
            if (rc < 0)
                return err_wrap(e, rc, "%s", type_names[t->type]);
            pos += fields[i].width;
        }
    } else {
        for (i = 0; i < type_fields[t->type].n; i++) {
            rc = format_field(&fields[i], buf + pos, (const char *)&t->u, e);
            if (rc < 0)
                return err_wrap(e, rc, "%s", type_names[t->type]);
            pos += fields[i].width;
        }
    }
    /* Spec "ACK_": no "###" after the sync, in a field or across two. */
    i = false_sync(buf, L);
    if (i != 0)
        return err_set(e, ERR_INVALID, "%s: %s: \"###\" at offset %zu would be a false sync",
                       type_names[t->type], field_at((int)t->type, i), i);
    return 0;
}

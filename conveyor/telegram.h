/*
 * telegram.h - the sorter PLC telegram codec (pure: bytes in, fields out).
 *
 * Wire format (docs/plc-protocol.md): fixed-length printable-ASCII
 * telegrams of L characters (config, default 160): a 27-character header
 * ("###", length 5, sender 5, receiver 5, seq 5, type 4) and fixed-width body
 * fields; text left-aligned and right-padded with '*', a field of all '*' is
 * absent, numbers zero-padded decimal, a barcode of 20 '?' is a no-read,
 * times yyyyMMddHHmmss; '*' fill up to L.
 *
 * The framer turns a byte stream into telegrams of L bytes, resynchronising
 * on "###" after garbage and reporting each skipped stretch once.
 */
#ifndef WCS_CONVEYOR_TELEGRAM_H
#define WCS_CONVEYOR_TELEGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "conveyor/conveyor.h"

#define CONV_TG_LEN_DEFAULT 160
#define CONV_TG_LEN_MIN 128     /* header 27 + the longest body (RES_, 97) = 124 fits */
#define CONV_TG_LEN_MAX 1024
#define CONV_TG_HEADER_LEN 27
#define CONV_TG_SEQ_MAX 99999   /* wraps to 1 */

enum conv_tg_type {
    CONV_TG_REQ = 0, /* REQ_ PLC -> WCS destination request */
    CONV_TG_RES,     /* RES_ WCS -> PLC destination answer */
    CONV_TG_UPD,     /* UPD_ PLC -> WCS parcel event */
    CONV_TG_LOCU,    /* LOCU PLC -> WCS location (chute) state */
    CONV_TG_SYSU,    /* SYSU PLC -> WCS line state */
    CONV_TG_ACK,     /* ACK_ WCS -> PLC receipt of UPD_/LOCU/SYSU */
    CONV_TG_ERR,     /* ERR_ either way: telegram refused */
    CONV_TG_LIFE,    /* LIFE either way: heartbeat */
    CONV_TG_TYPE_COUNT
};

/* ERR_ codes (spec "ERR_"). */
#define CONV_ERR_UNKNOWN_TYPE "00000010"
#define CONV_ERR_BAD_LENGTH "00000011"
#define CONV_ERR_BAD_FIELD "00000012"
#define CONV_ERR_BAD_SYNC "00000013"

enum conv_upd_event { CONV_UPD_SORTED = 0, CONV_UPD_RECIRC, CONV_UPD_NODIVERT, CONV_UPD_LOST,
                      CONV_UPD_REJECTED, CONV_UPD_REMOVED, CONV_UPD_COUNT };
enum conv_loc_state { CONV_LOC_ACTIVE = 0, CONV_LOC_FULL, CONV_LOC_DISABLED, CONV_LOC_FAULT,
                      CONV_LOC_COUNT };
enum conv_line_state { CONV_LINE_RUNNING = 0, CONV_LINE_STOPPED, CONV_LINE_ESTOP, CONV_LINE_FAULT,
                       CONV_LINE_COUNT };
enum conv_barcode { CONV_BARCODE_CODE = 0, /* a code was read: see barcode[] */
                    CONV_BARCODE_NOREAD,   /* 20 '?': the reader read nothing */
                    CONV_BARCODE_ABSENT }; /* 20 '*': no PLC reader, WCS scanners correlate */

/* Text fields are NUL-terminated with the padding removed; "" = absent.
 * Numbers are -1 when absent. Times are the 14 digits or "" when absent.
 * Required (absent is a bad field, both ways): the header's sender,
 * receiver and seq; tracking and location of REQ_/RES_/UPD_; location of
 * LOCU; line of SYSU; every 8-character word (event, state, reason, result),
 * acked_type/acked_seq, req_seq and the ERR_ code. Everything else,
 * times included, may be absent. */
struct conv_req {
    char tracking[11];
    char location[21];
    enum conv_barcode barcode_kind;
    char barcode[21];
    int32_t weight_g;                 /* 6 digits */
    int32_t length_mm, width_mm, height_mm; /* 4 digits each */
    char status[9];                   /* "" or a PLC fault code */
    char time[15];
};

struct conv_res {
    char tracking[11];
    uint32_t req_seq;
    char location[21];
    enum conv_barcode barcode_kind;   /* NOREAD for a no-read answer */
    char barcode[21];
    char destination[21];
    enum conv_reason reason;
    char time[15];
};

struct conv_upd {
    char tracking[11];
    char location[21];
    enum conv_barcode barcode_kind;
    char barcode[21];
    enum conv_upd_event event;
    char time[15];
};

struct conv_locu {
    char location[21];
    enum conv_loc_state state;
    char time[15];
};

struct conv_sysu {
    char line[21];
    enum conv_line_state state;
    int32_t speed_mm_s;               /* 5 digits, -1 absent */
    char time[15];
};

struct conv_ack {
    enum conv_tg_type acked_type;
    uint32_t acked_seq;
    bool duplicate;                   /* result DUPLIC__ instead of OK______ */
    char time[15];
};

struct conv_errtg {
    bool has_refused;                 /* false: refused_type/seq absent (bad sync);
                                       * parse sets it when either is present */
    char refused_type[5];             /* as received, may be unknown text; "" absent */
    uint32_t refused_seq;             /* 1..99999; 0 = absent (seq was unreadable) */
    char code[9];                     /* 8 digits: CONV_ERR_* or a PLC's own code */
    char text[41];
    char time[15];
};

struct conv_life {
    char time[15];
};

struct conv_telegram {
    uint32_t length;                  /* the header's length field */
    char sender[6];
    char receiver[6];
    uint32_t seq;                     /* 1..99999 */
    enum conv_tg_type type;
    union {
        struct conv_req req;
        struct conv_res res;
        struct conv_upd upd;
        struct conv_locu locu;
        struct conv_sysu sysu;
        struct conv_ack ack;
        struct conv_errtg err;
        struct conv_life life;
    } u;
};

/* Why a telegram was refused, for the ERR_ answer. Every field can be copied
 * as is into a struct conv_errtg (has_refused = true, refused_seq = has_seq ?
 * seq : 0) and that ERR_ always formats: type holds only printable text
 * without '*' or '#', text never contains '*' or '#'. */
struct conv_tg_refusal {
    char code[9];           /* CONV_ERR_UNKNOWN_TYPE / BAD_LENGTH / BAD_FIELD
                             * (BAD_SYNC only if buf does not start with "###") */
    char type[5];           /* the type field as received ("" if unreadable) */
    uint32_t seq;           /* the seq as received, 0 if unreadable */
    bool has_seq;
    char text[41];          /* short reason for the ERR_ text field, naming the
                             * field: "weight_g not numeric", "seq 00000 invalid" */
};

/*
 * Parses one telegram of exactly len == L bytes (buf[0..2] == "###"),
 * L in CONV_TG_LEN_MIN..CONV_TG_LEN_MAX. Returns 0 and fills *out; or
 * ERR_PARSE and fills *why (never NULL) with the ERR_ code to answer and e
 * (may be NULL) with a detailed, printable message ("telegram REQ_ seq
 * 00042: length field not telegram length: length field 00150, expected
 * 00160"). Checked in this order, the first failure decides the code:
 * len/L (00000011), sync (00000013), length field (00000011), type
 * (00000010), bytes outside 0x20-0x7E anywhere (00000012, naming the field),
 * "###" anywhere after the sync (00000012: a false sync), header fields,
 * body fields in order, then the fill (all 00000012).
 * Strict on purpose, so that format(parse(x)) == x for every x that parses:
 * text must be left-aligned ('*' only as trailing padding), a number is all
 * digits or all '*', times are real calendar times (month 01-12, day valid
 * for the month, leap years, hour 00-23, minute and second 00-59), seq and
 * req_seq/acked_seq/refused_seq are never 00000, and everything after the
 * last field must be '*' (a PLC whose layout differs from the document is
 * told which offset is wrong instead of having data dropped).
 */
int conv_tg_parse(const char *buf, size_t len, size_t L, struct conv_telegram *out,
                  struct conv_tg_refusal *why, struct err *e);

/*
 * Formats t into buf[0..L-1] (no NUL added): the length field is written as
 * L (t->length is ignored), text fields padded with '*', absent numbers as
 * '*'. Returns 0, or ERR_INVALID when L is out of range, a field does not
 * fit its width, holds a character outside 0x20-0x7E or '*' inside text, a
 * required field is missing, a number or seq is out of range, a time is not
 * a valid yyyyMMddHHmmss, an enum is out of range, or "###" would appear
 * after the sync, inside a field or across two (a PLC resyncing would lock
 * onto it; e says which field, "UPD_: event: value 6 out of range"). buf may
 * be partly written on error.
 * A barcode of kind CODE with an empty text is written as absent; a code of
 * 20 '?' is refused (that is the no-read mark). An ERR_ with has_refused
 * false writes refused_type and refused_seq absent whatever they hold.
 */
int conv_tg_format(const struct conv_telegram *t, size_t L, char *buf, struct err *e);

/* "REQ_", "RES_", ...; conv_tg_type_parse returns 0 or ERR_PARSE. */
const char *conv_tg_type_name(enum conv_tg_type t);
int conv_tg_type_parse(const char *s4, enum conv_tg_type *out);
const char *conv_upd_event_name(enum conv_upd_event e);     /* "SORTED__" ... */
const char *conv_loc_state_name(enum conv_loc_state s);     /* "ACTIVE__" ... */
const char *conv_line_state_name(enum conv_line_state s);   /* "RUNNING_" ... */

/* A 64-bit hash (FNV-1a, never 0) of a telegram's type and body, the bytes
 * raw[23..L-1]: what a resend repeats (spec "Resends"), while its header's
 * sequence number differs. raw holds L >= CONV_TG_HEADER_LEN bytes. */
uint64_t conv_tg_content_hash(const char *raw, size_t L);

/* Next sequence number after seq: +1, 99999 wraps to 1. */
uint32_t conv_tg_seq_next(uint32_t seq);

/* Formats a Unix time (seconds, UTC) as yyyyMMddHHmmss into out[15]
 * (NUL-terminated). Clamped to 1970-01-01 .. 9999-12-31 23:59:59. */
void conv_tg_time(int64_t unix_s, char out[15]);

/* --- framing ---------------------------------------------------------- */

/*
 * Splits a TCP byte stream into telegrams. Pure: feed bytes, take results.
 * A telegram starts at "###" followed by a byte other than '#' (in a run of
 * '#' only the last three are the sync); from there exactly L bytes are taken
 * whatever they hold. Bytes that cannot start a sync are garbage: a stretch
 * of garbage is reported once, when the sync that ends it is confirmed, or
 * each time it reaches L bytes while garbage keeps coming (so the answer,
 * one ERR_ per report, never exceeds the garbage in volume). A pending "#"
 * or "##" at the end of a read waits for the next read. One framer per
 * connection; re-init it on reconnect.
 */
struct conv_framer {
    size_t L;                       /* telegram length */
    char buf[CONV_TG_LEN_MAX];
    size_t have;                    /* bytes in buf */
    size_t skipping;                /* bytes skipped in the current garbage stretch */
    char garbage[CONV_TG_LEN_MAX];  /* its first bytes, for the telegram log */
    size_t glen;                    /* bytes in garbage, at most L */
};

enum conv_frame_kind {
    CONV_FRAME_NONE = 0,   /* need more bytes */
    CONV_FRAME_TELEGRAM,   /* frame[0..L-1] is a telegram starting with "###" */
    CONV_FRAME_SKIPPED     /* a stretch of `skipped` garbage bytes ended (send one ERR_) */
};

/* Resets f for a new connection. L outside CONV_TG_LEN_MIN..MAX is clamped
 * into that range (the config validates L; this only keeps buf[] safe). */
void conv_framer_init(struct conv_framer *f, size_t L);

/*
 * Consumes bytes from data[0..len-1] and reports the next result. *used gets
 * how many bytes were consumed; call again with the rest until it returns
 * CONV_FRAME_NONE with *used == len. For CONV_FRAME_TELEGRAM, frame points at
 * L bytes valid until the next call; for CONV_FRAME_SKIPPED, *skipped is the
 * stretch length and frame points at its first min(*skipped, L) bytes (valid
 * until the next call), so the garbage can be logged as it came. Partial and
 * coalesced reads both work. frame and skipped are set (NULL/0) on every
 * return.
 */
enum conv_frame_kind conv_framer_next(struct conv_framer *f, const char *data, size_t len,
                                      size_t *used, const char **frame, size_t *skipped);

#endif

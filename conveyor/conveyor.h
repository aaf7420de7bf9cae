/*
 * conveyor.h - public interface of the conveyor (sorter PLC) module.
 *
 * This part: the reason codes a destination answer (RES_) carries, as defined
 * by the PLC telegram specification (docs/plc-protocol.md, section "RES_"),
 * and how many codes a decision considers. The application's decision engine
 * produces the reasons; the telegram codec writes them. The rest of the
 * module: telegram.h (codec, framer), correlate.h (WCS scans by location),
 * track.h (parcels in flight), link.h (a PLC link on libuv), station.h (the
 * protocol's session rules on a link), linesim/ (the line emulator).
 */
#ifndef WCS_CONVEYOR_H
#define WCS_CONVEYOR_H

#include <stddef.h>

/* Most codes one decision considers for a parcel (a PLC barcode, or the WCS
 * scans of its read window): two distinct parcel codes already make a
 * multi-read, so more tell nothing new. */
#define CONV_READS_MAX 8

/* Width of the reason field in RES_ (8 characters, underscores included). */
#define CONV_REASON_LEN 8

enum conv_reason {
    CONV_REASON_OK = 0,   /* OK______ normal route */
    CONV_REASON_NOREAD,   /* NOREAD__ nothing read */
    CONV_REASON_MULTIRD,  /* MULTIRD_ two or more distinct parcel codes */
    CONV_REASON_UNKNOWN,  /* UNKNOWN_ no pre-advice for the code */
    CONV_REASON_NOROUTE,  /* NOROUTE_ no sort-plan rule matches */
    CONV_REASON_CUSTHOLD, /* CUSTHOLD customs hold */
    CONV_REASON_OVERSIZE, /* OVERSIZE over size or weight limits */
    CONV_REASON_CHFULL,   /* CHFULL__ every chute of the route unavailable */
    CONV_REASON_RECIRLIM, /* RECIRLIM recirculation limit reached */
    CONV_REASON_TIMEOUT,  /* TIMEOUT_ no decision within the deadline */
    CONV_REASON_INVALID,  /* INVALID_ code read but not a valid parcel code */
    CONV_REASON_COUNT
};

/* The 8-character wire code (not NUL-terminated in the telegram; the string
 * returned is NUL-terminated). Never NULL for a valid reason. */
const char *conv_reason_code(enum conv_reason r);

/* Parses an 8-character wire code; returns 0 and sets *out, or ERR_PARSE. */
int conv_reason_parse(const char *code, size_t len, enum conv_reason *out);

#endif

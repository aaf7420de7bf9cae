/*
 * diag.h - a list of diagnostics ("plan.csv:12: chute: CH099 is not declared").
 *
 * Validators that can find many problems in one input (a CSV file, a sort
 * plan, a config) add one message per problem here instead of stopping at the
 * first, so the operator fixes them all in one go. The list is bounded; past
 * DIAG_MAX messages it only counts.
 */
#ifndef WCS_COMMON_DIAG_H
#define WCS_COMMON_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

#define DIAG_MAX 1000
/* Longest message kept, in bytes (with its NUL). Every message is one
 * printable line: control characters and bytes that are not UTF-8 are
 * written "\xNN" (messages quote the input they complain about). */
#define DIAG_MSG_MAX 1024

struct diag {
    char **msgs;      /* msgs[0..n-1], each malloc'd */
    size_t n;         /* messages kept */
    size_t cap;       /* allocated slots */
    size_t dropped;   /* messages counted but not kept (past DIAG_MAX) */
};

#define DIAG_INIT {0}

/* Appends a formatted message (made printable, cut at DIAG_MSG_MAX); NULL d
 * is allowed and ignored. */
void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies src into dst (size bytes, NUL-terminated) so that it prints as one
 * harmless line: control characters and bytes that are not valid UTF-8
 * become "\xNN" (a message quotes input: a file or a peer must not be able
 * to move the operator's cursor or break a log line). Never cuts an escape
 * or a UTF-8 sequence in two. diag_add and diag_report do this to every
 * message; a parser that reports through a struct err does it itself. */
void diag_printable(char *dst, size_t size, const char *src);
/* Total messages added, kept or not. */
size_t diag_count(const struct diag *d);
/* Writes every message, one per line, then "... and N more problem(s)" when
 * some were only counted. */
void diag_print(const struct diag *d, FILE *f);
/* Frees all messages and resets d to empty. */
void diag_free(struct diag *d);

/*
 * The one reporter of problems found in an input file: every CSV or JSON
 * Lines reader of the project words its problems "NAME:LINE: field: reason"
 * through it, so a person sees one shape of message whatever the file.
 */
struct diag_file {
    const char *name;   /* the input's name as messages show it */
    struct diag *d;     /* receives every problem; NULL allowed */
    struct err *e;      /* receives the first problem (ERR_PARSE), or the one that
                         * stopped the read (diag_stop); NULL allowed. Also set
                         * when the call then succeeds: read it on failure only */
    size_t problems;    /* problems reported so far */
};

/* Longest reason kept, in bytes: a reason quoting a huge field is cut. The
 * reason and the field are made printable as in diag_add, also in f->e. */
#define DIAG_REASON_MAX 400

/* Reports "NAME:LINE: field: reason" (just "NAME: field: reason" when line
 * <= 0, a problem of the file as a whole) into f->d, and into f->e when it
 * is the first problem. Returns ERR_PARSE. */
int diag_report(struct diag_file *f, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int diag_vreport(struct diag_file *f, int line, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* Like diag_report, for the problem that ends the read: it goes into f->e
 * even after earlier problems, so e always says why the call failed. */
int diag_stop(struct diag_file *f, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

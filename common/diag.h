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

#include <stddef.h>
#include <stdio.h>

#define DIAG_MAX 1000

struct diag {
    char **msgs;      /* msgs[0..n-1], each malloc'd */
    size_t n;         /* messages kept */
    size_t cap;       /* allocated slots */
    size_t dropped;   /* messages counted but not kept (past DIAG_MAX) */
};

#define DIAG_INIT {0}

/* Appends a formatted message; NULL d is allowed and ignored. */
void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Total messages added, kept or not. */
size_t diag_count(const struct diag *d);
/* Writes every message, one per line, then "... and N more problem(s)" when
 * some were only counted. */
void diag_print(const struct diag *d, FILE *f);
/* Frees all messages and resets d to empty. */
void diag_free(struct diag *d);

#endif

/*
 * validate.h - validation of a customs declaration against the rules
 * Russian customs and the broker apply (docs/customs.md lists every code).
 *
 * Every problem is reported, but at most ONE per field, as
 * {field, code, message}, the same triple the broker returns
 * ({"field": "recipient.inn", "code": "checksum", "message": "..."}), so an
 * operator sees our complaints and the broker's in one shape.
 */
#ifndef WCS_CUSTOMS_VALIDATE_H
#define WCS_CUSTOMS_VALIDATE_H

#include <stddef.h>

#include "customs/declaration.h"

enum cust_severity {
    CUST_SEV_ERROR = 0, /* the broker would refuse it: do not submit */
    CUST_SEV_WARNING,   /* probably wrong, submit anyway and let a human look */
};

struct cust_problem {
    char field[48];    /* JSON path: "recipient.inn", "items[2].hs_code" */
    char code[16];     /* "required", "format", "checksum", "vague", "language",
                        * "range", "mismatch" */
    char message[192]; /* human text, may quote the value */
    enum cust_severity severity;
};

struct cust_problems {
    struct cust_problem *v; /* v[0..n-1], malloc'd */
    size_t n;
    size_t cap;
    size_t errors; /* entries with CUST_SEV_ERROR */
};

#define CUST_PROBLEMS_INIT {0}

/* Checks d; today ("YYYY-MM-DD") bounds the passport issue date. Appends one
 * problem per faulty field to p (caller frees with cust_problems_free()).
 * Returns 0 when there is no error (warnings allowed), ERR_INVALID when
 * there is at least one error, -ENOMEM. */
int cust_validate(const struct cust_decl *d, const char *today, struct cust_problems *p);

/* The problem for field, or NULL. */
const struct cust_problem *cust_problems_find(const struct cust_problems *p, const char *field);

/* Frees p's entries and resets it to empty. */
void cust_problems_free(struct cust_problems *p);

/* True (1) when inn is 12 digits whose digits 11 and 12 are the check digits
 * of an individual's INN (weights 7,2,4,10,3,5,9,4,6,8 and
 * 3,7,2,4,10,3,5,9,4,6,8, sum mod 11 mod 10). */
int cust_inn_valid(const char *inn);

/* True (1) when text, trimmed and case-folded (Latin and Cyrillic), is one of
 * the vague words customs refuses ("gift", "Подарок", "запчасти", ...). */
int cust_vague_word(const char *text);

#endif

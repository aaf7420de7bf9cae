/*
 * fuzzutil.h - checks the libFuzzer harnesses share (docs/fuzzing.md): an
 * input as a stream, and the contract every diagnostic keeps whatever the
 * input (one printable line, bounded, naming the input). Each failed check
 * abort()s, which libFuzzer reports as a crash with the input that did it.
 */
#ifndef WCS_TESTS_FUZZUTIL_H
#define WCS_TESTS_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/diag.h"

/* libFuzzer looks this symbol up by name; it has no header of ours. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a read-only stream (fmemopen on a copy, which *copy holds
 * until fuzz_close). Never NULL: aborts when it cannot be made. */
FILE *fuzz_open(const uint8_t *data, size_t size, char **copy);
void fuzz_close(FILE *fp, char *copy);

/* Aborts unless s is at most max bytes of valid UTF-8 without control
 * characters (C0, DEL, C1). */
void fuzz_check_text(const char *s, size_t max);

/* Aborts unless every message of d passes fuzz_check_text (DIAG_MSG_MAX)
 * and starts with prefix. */
void fuzz_check_diag(const struct diag *d, const char *prefix);

#endif

/*
 * benchutil.h - what the benchmark programs share: a monotonic clock in
 * seconds and a statement whose failure is said on stderr.
 */
#ifndef WCS_BENCH_BENCHUTIL_H
#define WCS_BENCH_BENCHUTIL_H

#include <libpq-fe.h>

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);

/* Runs sql on c; 0, or -1 after printing "PROG: SQL: the server's message". */
int bench_exec(PGconn *c, const char *prog, const char *sql);

#endif

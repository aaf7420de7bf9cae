/*
 * benchutil.c - the benchmarks' clock and statements (benchutil.h).
 */
#include "bench/benchutil.h"

#include <stdio.h>
#include <time.h>

double bench_now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int bench_exec(PGconn *c, const char *prog, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "%s: %.80s: %s", prog, sql, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

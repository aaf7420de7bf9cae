/* testdb.c - per-test databases on a test PostgreSQL cluster (see testdb.h). */
#include "tests/common/testdb.h"

#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);

    if (v == NULL || v[0] == '\0')
        fail_msg("%s is not set: run the tests through ctest", name);
    return v;
}

void testdb_create(const char *name, char *buf, size_t len)
{
    testdb_create_on(env_or_fail("WCS_TEST_PG"), name, buf, len);
}

void testdb_create_on(const char *cluster, const char *name, char *buf, size_t len)
{
    char admin[512], sql[256];
    PGconn *c;
    PGresult *r;

    snprintf(admin, sizeof(admin), "%s dbname=postgres", cluster);
    c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("test cluster unreachable (%s): %s", admin, PQerrorMessage(c));
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(buf, len, "%s dbname=%s", cluster, name);
}

void testdb_source_path(const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", env_or_fail("WCS_SOURCE_DIR"), rel);
}

void testdb_binary_path(const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", env_or_fail("WCS_BINARY_DIR"), rel);
}

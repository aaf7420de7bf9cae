/*
 * testdb.h - helpers for tests that talk to the real PostgreSQL started by
 * the "pg" ctest fixture (scripts/pg-test.sh) or by the test itself, and to
 * files of the repo.
 */
#ifndef WCS_TESTDB_H
#define WCS_TESTDB_H

#include <stddef.h>

/*
 * Drops and creates database `name` on the test cluster (WCS_TEST_PG), and
 * writes its conninfo into buf. Fails the test (cmocka fail_msg) when the
 * cluster is unreachable: integration tests never skip.
 */
void testdb_create(const char *name, char *buf, size_t len);

/* The same on the cluster whose conninfo base (host, port, user; no dbname)
 * is cluster: for a test that runs a private cluster of its own. */
void testdb_create_on(const char *cluster, const char *name, char *buf, size_t len);

/* Path of a file in the source tree (WCS_SOURCE_DIR) or build tree
 * (WCS_BINARY_DIR), written into buf. */
void testdb_source_path(const char *rel, char *buf, size_t len);
void testdb_binary_path(const char *rel, char *buf, size_t len);

#endif

/*
 * testcustoms.h - what the customs worker's tests share (test-outbox,
 * test-broker-boundary): parcel ids, declarations queued in a fresh
 * migrated database, one-value queries, and wcs-brokersim's admin API.
 * Every helper fails the test (cmocka) on anything unexpected.
 */
#ifndef WCS_TESTCUSTOMS_H
#define WCS_TESTCUSTOMS_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "tests/common/testbroker.h"

/* A UPU S10 id "RR<8 digits><check>CN" for serial n (10000000 + n). */
void tc_s10(int n, char out[32]);

/* Creates database name on the test cluster, migrates it and returns a
 * connection; its conninfo goes into ci. */
PGconn *tc_db_fresh(const char *name, char *ci, size_t len);

/* Declares (wcs_customs_declare) the codec's seed declaration
 * (tests/customs/fuzz/seed-valid.json) with parcel id id; inn, when not
 * NULL, replaces the recipient's INN (a wrong one makes the broker reject
 * it), else the declaration is checked valid first. */
void tc_declare_seed(PGconn *c, const char *id, const char *inn);

/* The first column of the first row of sql: as a number, or as a malloc'd
 * string (caller frees). */
long long tc_count(PGconn *c, const char *sql);
char *tc_text(PGconn *c, const char *sql);

/* A closed dispatch with its manifest queued, as wcs_db_dispatch_close()
 * leaves it, written with SQL directly (for tests of the outbox, not of
 * bags): dispatches.manifest_json = body (NULL: none stored) and a
 * customs_outbox row of kind manifest, in one transaction. */
void tc_queue_manifest(PGconn *c, const char *mid, const char *body);

/* GET path of the emulator's admin API as JSON (admin sees no faults). */
json_t *tc_admin_json(const struct tb_sim *s, const char *path);

/* Asserts that the broker accepted n declarations in all, none twice, and
 * that each of the parcels tc_s10(0 .. mine-1) is among them exactly once
 * and stored as accepted with the reference the broker gave it. */
void tc_assert_accepted_once(const struct tb_sim *s, PGconn *c, int n, int mine);

#endif

/*
 * import.h - pre-advice import: a file read by wcs/core/preadvice.h and its
 * good rows upserted into the store in batches (wcs_db_preadvice_upsert()).
 */
#ifndef WCS_STORE_IMPORT_H
#define WCS_STORE_IMPORT_H

#include <libpq-fe.h>
#include <stddef.h>

#include "common/diag.h"
#include "common/err.h"
#include "wcs/core/preadvice.h"

struct wcs_import_summary {
    struct wcs_import_counts counts;
    size_t inserted, updated, unchanged, rejected;
    size_t decl_queued, decl_blocked, decl_kept; /* see struct wcs_upsert_result */
};

/* Reads path and upserts its good rows through wcs_db_preadvice_upsert()
 * (with cx: declaration date and duty rules; NULL = today, no duty) in
 * batches of 5000 rows, each its own transaction. Returns 0 (bad rows are not
 * an error: see summary and d), or an error when the file cannot be read, its
 * header is broken (nothing stored) or the database fails (the failing batch
 * is not stored, earlier batches are). */
struct wcs_declare_ctx;

int wcs_import_file(PGconn *c, const char *path, const struct wcs_declare_ctx *cx,
                    struct wcs_import_summary *s, struct diag *d, struct err *e);

#endif

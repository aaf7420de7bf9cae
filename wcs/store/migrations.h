/*
 * migrations.h - the schema migrations compiled into the binaries
 * (wcs/migrations/NNNN_name.sql, embedded at build time, in version order).
 */
#ifndef WCS_MIGRATIONS_H
#define WCS_MIGRATIONS_H

struct wcs_migration {
    int version;      /* NNNN of the file name */
    const char *name; /* rest of the file name, without .sql */
    const char *sql;  /* the whole file */
};

extern const struct wcs_migration wcs_migrations[];
extern const int wcs_migrations_count;

#endif

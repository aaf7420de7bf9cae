/*
 * ctl_noreads.h - wcsctl noread list|show|key (ctl_noreads.c): the video
 * coding queue from a terminal, the same rows and rules as the console's
 * (wcs/store/noreads.h). Each takes an open connection and the command's
 * arguments; returns wcsctl's exit code (0 fine, 1 refused or not found,
 * 2 usage or database error).
 */
#ifndef WCS_CTL_NOREADS_H
#define WCS_CTL_NOREADS_H

#include <libpq-fe.h>

/* wcsctl noread list [--state pending|keyed|unreadable|expired|all] [--line NODE] [--limit N]
 * [--json]: a table, or one JSON object a line (the API's form) */
int wcsctl_noread_list(PGconn *c, int argc, char **argv);

/* wcsctl noread show ID [--json]: the row, and its images' files (the
 * config's cameras.noread_dir, when wcsctl has a config) */
int wcsctl_noread_show(PGconn *c, int argc, char **argv);

/* wcsctl noread key ID CODE | wcsctl noread key ID --unreadable */
int wcsctl_noread_key(PGconn *c, int argc, char **argv);

/* For wcsctl status: "no-reads: N waiting for a code (oldest T)" when
 * any; 0, or 2 on a database error (printed). */
int wcsctl_noread_status(PGconn *c);

#endif

/*
 * ctl_users.h - wcsctl's user commands (wcs/ctl/ctl_users.c): the operator
 * console's logins. Each takes an open connection and the command's
 * arguments; returns wcsctl's exit code (0 fine, 1 not found or refused,
 * 2 usage or database error). Every change is an operator event by
 * "wcsctl:OS_USER".
 */
#ifndef WCS_CTL_USERS_H
#define WCS_CTL_USERS_H

#include <libpq-fe.h>

/* wcsctl user add NAME --role R [--password-file F] */
int wcsctl_user_add(PGconn *c, int argc, char **argv);

/* wcsctl user passwd NAME [--password-file F] */
int wcsctl_user_passwd(PGconn *c, int argc, char **argv);

/* wcsctl user disable NAME, wcsctl user enable NAME */
int wcsctl_user_disable(PGconn *c, int argc, char **argv);
int wcsctl_user_enable(PGconn *c, int argc, char **argv);

/* wcsctl user list */
int wcsctl_user_list(PGconn *c, int argc, char **argv);

#endif

/*
 * ctl_users.c - wcsctl user add|passwd|disable|enable|list (ctl_users.h).
 * A password comes from --password-file F (its first line; a file others
 * may read is refused) or, without one, from the terminal, typed twice with
 * the echo off. It is hashed here (argon2id) and wiped; only the hash goes
 * to the database, and nothing prints it. Each change is recorded as an
 * operator event (the audit) in the same transaction.
 */
#include "wcs/ctl/ctl_users.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/secret_file.h"
#include "wcs/ctl/ctl.h"
#include "wcs/core/password.h"
#include "wcs/store/users.h"

/* The terminal as it was, for a signal that ends wcsctl while the echo is
 * off (Ctrl-C at the prompt): the shell must not be left without echo. */
static struct termios saved_tty;
static volatile sig_atomic_t saved_fd = -1;

static void restore_tty_cb(int sig)
{
    if (saved_fd >= 0)
        tcsetattr(saved_fd, TCSAFLUSH, &saved_tty); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line from the terminal with the echo off, its newline cut. */
static int read_hidden(FILE *tty, const char *prompt, char *buf, size_t len)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP};
    struct sigaction sa, old_sa[sizeof(sigs) / sizeof(sigs[0])];
    struct termios quiet;
    int fd = fileno(tty), ok;
    size_t i;

    fprintf(tty, "%s", prompt);
    fflush(tty);
    if (tcgetattr(fd, &saved_tty) < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = restore_tty_cb;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, &old_sa[i]);
    saved_fd = fd;
    quiet = saved_tty;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fd, TCSAFLUSH, &quiet);
    ok = fgets(buf, (int)len, tty) != NULL;
    tcsetattr(fd, TCSAFLUSH, &saved_tty);
    saved_fd = -1;
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &old_sa[i], NULL);
    fputc('\n', tty);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

/* The new password into buf: from path, or typed twice at the terminal. */
static int new_password(const char *path, char *buf, size_t len)
{
    char again[WCS_PASSWORD_MAX + 2];
    struct err e;
    FILE *tty;
    int rc = -1;

    if (path != NULL) {
        if (secret_file_first_line(path, "--password-file", SECRET_FILE_OWNER, buf, len, &e) < 0) {
            fprintf(stderr, "wcsctl: %s\n", e.msg);
            return -1;
        }
        return 0;
    }
    tty = fopen("/dev/tty", "r+");
    if (tty == NULL) {
        fprintf(stderr, "wcsctl: no terminal to ask for the password: give --password-file F\n");
        return -1;
    }
    if (read_hidden(tty, "password: ", buf, len) == 0 &&
        read_hidden(tty, "again: ", again, sizeof(again)) == 0) {
        rc = strcmp(buf, again) == 0 ? 0 : -1;
        if (rc < 0)
            fprintf(stderr, "wcsctl: the two passwords differ\n");
    }
    explicit_bzero(again, sizeof(again));
    fclose(tty);
    return rc;
}

/* The hash of a new password (from path or the terminal), checked. */
static int new_hash(const char *path, char hash[WCS_PASSWORD_HASH_MAX])
{
    char pw[WCS_PASSWORD_MAX + 2];
    struct err e;
    int rc = new_password(path, pw, sizeof(pw));

    if (rc == 0 && (rc = wcs_password_hash(pw, strlen(pw), hash, &e)) < 0)
        fprintf(stderr, "wcsctl: %s\n", e.msg);
    explicit_bzero(pw, sizeof(pw));
    return rc;
}

/* Parses "NAME [--role R] [--password-file F]"; role may be NULL when not
 * accepted. Returns 0 or prints usage and returns -1. */
static int user_args(int argc, char **argv, const char **name, const char **role,
                     const char **file, const char *usage)
{
    struct err e;
    int i;

    *name = NULL;
    *file = NULL;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
            *file = argv[++i];
        else if (role != NULL && strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            *role = argv[++i];
        else if (argv[i][0] != '-' && *name == NULL)
            *name = argv[i];
        else
            goto usage;
    }
    if (*name == NULL || (role != NULL && *role == NULL))
        goto usage;
    if (wcs_user_name_check(*name, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return -1;
    }
    return 0;
usage:
    fprintf(stderr, "usage: wcsctl %s\n", usage);
    return -1;
}

/* wcsctl's exit code for a store call's result, its message printed. */
static int result(int rc, const struct err *e)
{
    if (rc == 0)
        return 0;
    fprintf(stderr, "wcsctl: %s\n", e->msg);
    return rc == ERR_NOTFOUND || rc == ERR_CONFLICT ? 1 : 2;
}

int wcsctl_user_add(PGconn *c, int argc, char **argv)
{
    const char *name, *role_name = NULL, *file;
    char hash[WCS_PASSWORD_HASH_MAX], who[64];
    enum wcs_user_role role;
    struct err e;
    int rc;

    if (user_args(argc, argv, &name, &role_name, &file,
                  "user add NAME --role viewer|operator|supervisor|admin [--password-file F]") < 0)
        return 2;
    if (wcs_user_role_parse(role_name, &role, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return 2;
    }
    if (new_hash(file, hash) < 0)
        return 2;
    wcsctl_actor(who, sizeof(who));
    rc = result(wcs_db_user_add(c, name, role, hash, who, &e), &e);
    if (rc == 0)
        printf("user %s added, role %s\n", name, role_name);
    return rc;
}

int wcsctl_user_passwd(PGconn *c, int argc, char **argv)
{
    const char *name, *file;
    char hash[WCS_PASSWORD_HASH_MAX], who[64];
    struct err e;
    int rc;

    if (user_args(argc, argv, &name, NULL, &file, "user passwd NAME [--password-file F]") < 0)
        return 2;
    if (new_hash(file, hash) < 0)
        return 2;
    wcsctl_actor(who, sizeof(who));
    rc = result(wcs_db_user_set_password(c, name, hash, who, &e), &e);
    if (rc == 0)
        printf("user %s: password changed\n", name);
    return rc;
}

static int set_disabled(PGconn *c, int argc, char **argv, bool disabled)
{
    const char *name, *file;
    char who[64];
    struct err e;
    int rc;

    if (user_args(argc, argv, &name, NULL, &file,
                  disabled ? "user disable NAME" : "user enable NAME") < 0 ||
        file != NULL)
        return 2;
    wcsctl_actor(who, sizeof(who));
    rc = result(wcs_db_user_set_disabled(c, name, disabled, who, &e), &e);
    if (rc == 0)
        printf("user %s %s\n", name, disabled ? "disabled" : "enabled");
    return rc;
}

int wcsctl_user_disable(PGconn *c, int argc, char **argv)
{
    return set_disabled(c, argc, argv, true);
}

int wcsctl_user_enable(PGconn *c, int argc, char **argv)
{
    return set_disabled(c, argc, argv, false);
}

static int list_cb(void *arg, const struct wcs_user *u)
{
    (void)arg;
    printf("%s\t%s\t%s\t%s\tcreated %s\tpassword %s\n", u->name, wcs_user_role_name(u->role),
           u->disabled ? "disabled" : "active", u->language, u->created_at, u->password_at);
    return 0;
}

int wcsctl_user_list(PGconn *c, int argc, char **argv)
{
    struct err e;

    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "usage: wcsctl user list\n");
        return 2;
    }
    return result(wcs_db_users(c, list_cb, NULL, &e), &e);
}

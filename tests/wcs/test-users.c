/*
 * test-users.c - the operator console's users (issue 11): password rules
 * and argon2id hashes (wcs/core/password.c), and wcsctl user
 * add|passwd|disable|enable|list on a real PostgreSQL, each change an
 * operator event, and no password anywhere but as a hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "wcs/core/password.h"

#define PW1 "correct horse battery"
#define PW2 "Tr0ub4dor&3-ЛЕНИН"

static char conninfo[512], wcsctl_bin[512], dir[128], pw1_file[160], pw2_file[160];

static void test_password_rules(void **state)
{
    char h1[WCS_PASSWORD_HASH_MAX], h2[WCS_PASSWORD_HASH_MAX];
    struct err e;

    (void)state;
    assert_int_equal(wcs_password_check("short", 5, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "password: 10 to 128 characters"));
    assert_int_equal(wcs_password_check("tab\tinside-it", 13, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "no control characters"));
    assert_int_equal(wcs_password_hash(PW1, strlen(PW1), h1, &e), 0);
    assert_int_equal(wcs_password_hash(PW1, strlen(PW1), h2, &e), 0);
    assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
    assert_string_not_equal(h1, h2); /* a salt of its own each time */
    assert_null(strstr(h1, PW1));
    assert_true(wcs_password_verify(h1, PW1, strlen(PW1)));
    assert_true(wcs_password_verify(h2, PW1, strlen(PW1)));
    assert_false(wcs_password_verify(h1, PW2, strlen(PW2)));
    assert_false(wcs_password_verify(h1, PW1, strlen(PW1) - 1));
    assert_false(wcs_password_verify("$2y$10$notargon", PW1, strlen(PW1)));
}

/* Runs wcsctl --db conninfo with the NULL-terminated arguments; its exit
 * status, output in r. */
static int ctl(struct proc_result *r, ...) __attribute__((sentinel));
static int ctl(struct proc_result *r, ...)
{
    const char *argv[16] = {wcsctl_bin, "--db", conninfo};
    size_t n = 3;
    va_list ap;

    va_start(ap, r);
    while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    proc_run(argv, NULL, 120, r);
    /* Whatever it said, it never said a password. */
    assert_null(strstr(r->out, PW1));
    assert_null(strstr(r->err, PW1));
    assert_null(strstr(r->out, PW2));
    assert_null(strstr(r->err, PW2));
    return r->status;
}

/* One text value of a query. */
static char *one(PGconn *c, const char *sql, const char *param)
{
    PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, &param, NULL, NULL, 0);
    static char buf[512];

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    snprintf(buf, sizeof(buf), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

static void test_user_commands(void **state)
{
    struct proc_result r;
    char open_file[160];
    PGconn *c;

    (void)state;
    assert_int_equal(ctl(&r, "user", "add", "alice", "--role", "operator", "--password-file", NULL),
                     2);
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "user", "add", "alice", "--role", "operator", "--password-file",
                         pw1_file, NULL),
                     0);
    assert_non_null(strstr(r.out, "user alice added, role operator"));
    proc_result_free(&r);

    c = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    {
        char *hash = one(c, "SELECT password_hash FROM users WHERE name = $1", "alice");
        assert_true(wcs_password_verify(hash, PW1, strlen(PW1)));
        assert_string_equal(one(c, "SELECT role FROM users WHERE name = $1", "alice"), "operator");
    }
    /* The same name again, a bad role, a bad name, a short password, a file
     * others may read: refused, nothing stored. */
    assert_int_equal(ctl(&r, "user", "add", "alice", "--role", "admin", "--password-file", pw1_file,
                         NULL),
                     1);
    assert_non_null(strstr(r.err, "user alice exists already"));
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "user", "add", "bob", "--role", "boss", NULL), 2);
    assert_non_null(strstr(r.err, "role: viewer, operator, supervisor or admin"));
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "user", "add", "Bob!", "--role", "viewer", NULL), 2);
    assert_non_null(strstr(r.err, "user name: 1 to 20 of a-z 0-9 . _ -"));
    proc_result_free(&r);
    snprintf(open_file, sizeof(open_file), "%s/short", dir);
    tu_write_text(open_file, "tooshort\n");
    assert_int_equal(ctl(&r, "user", "add", "bob", "--role", "viewer", "--password-file", open_file,
                         NULL),
                     2);
    assert_non_null(strstr(r.err, "password: 10 to 128 characters"));
    proc_result_free(&r);
    tu_write_text(open_file, PW2 "\n");
    assert_int_equal(chmod(open_file, 0644), 0);
    assert_int_equal(ctl(&r, "user", "add", "bob", "--role", "viewer", "--password-file", open_file,
                         NULL),
                     2);
    assert_non_null(strstr(r.err, "is open to other users (mode 0644)"));
    proc_result_free(&r);
    assert_string_equal(one(c, "SELECT count(*) FROM users WHERE name = $1", "bob"), "0");

    /* passwd, disable, enable, list. */
    assert_int_equal(ctl(&r, "user", "passwd", "alice", "--password-file", pw2_file, NULL), 0);
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "user", "passwd", "nobody", "--password-file", pw2_file, NULL), 1);
    assert_non_null(strstr(r.err, "no user nobody"));
    proc_result_free(&r);
    {
        char *hash = one(c, "SELECT password_hash FROM users WHERE name = $1", "alice");
        assert_true(wcs_password_verify(hash, PW2, strlen(PW2)));
        assert_false(wcs_password_verify(hash, PW1, strlen(PW1)));
    }
    assert_int_equal(ctl(&r, "user", "disable", "alice", NULL), 0);
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "user", "list", NULL), 0);
    assert_non_null(strstr(r.out, "alice\toperator\tdisabled\ten\tcreated "));
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "user", "enable", "alice", NULL), 0);
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "user", "list", NULL), 0);
    assert_non_null(strstr(r.out, "alice\toperator\tactive\t"));
    proc_result_free(&r);

    /* Every change an operator event (the audit), by whom, in order; no
     * secret in it; nothing of the refused ones. */
    assert_string_equal(one(c, "SELECT string_agg(detail, ',' ORDER BY id) FROM events "
                               "WHERE kind = 'operator' AND detail LIKE $1", "user %"),
                        "user add alice operator,user passwd alice,user disable alice,"
                        "user enable alice");
    assert_string_equal(one(c, "SELECT count(*) FROM events WHERE kind = 'operator' AND "
                               "(source NOT LIKE 'wcsctl:%' OR detail LIKE $1)", "%argon2%"), "0");
    PQfinish(c);
    /* The audit view lists them, oldest first, with who. */
    assert_int_equal(ctl(&r, "audit", "--since", "1h", NULL), 0);
    {
        const char *add = strstr(r.out, "user add alice operator");
        const char *en = strstr(r.out, "user enable alice");

        assert_non_null(add);
        assert_non_null(en);
        assert_true(add < en);
        assert_non_null(strstr(r.out, "operator"));
        assert_non_null(strstr(r.out, "wcsctl:"));
    }
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "audit", "--user", "nobody-at-all", NULL), 0);
    assert_null(strstr(r.out, "user add alice"));
    proc_result_free(&r);
    assert_int_equal(ctl(&r, "audit", "--since", "yesterday-ish", NULL), 2);
    proc_result_free(&r);
}

static int setup(void **state)
{
    struct proc_result r;
    const char *migrate[] = {wcsctl_bin, "--db", conninfo, "migrate", NULL};

    (void)state;
    testdb_create("wcs_test_users", conninfo, sizeof(conninfo));
    testdb_binary_path("bin/wcsctl", wcsctl_bin, sizeof(wcsctl_bin));
    snprintf(dir, sizeof(dir), "/tmp/wcs-test-users-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0)
        return -1;
    snprintf(pw1_file, sizeof(pw1_file), "%s/pw1", dir);
    snprintf(pw2_file, sizeof(pw2_file), "%s/pw2", dir);
    tu_write_text(pw1_file, PW1 "\n");
    tu_write_text(pw2_file, PW2 "\n");
    proc_run(migrate, NULL, 120, &r);
    proc_result_free(&r);
    return r.status == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[200];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_rules),
        cmocka_unit_test(test_user_commands),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

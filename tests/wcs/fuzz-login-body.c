/*
 * fuzz-login-body.c - libFuzzer entry point for the body of wcsd's
 * POST /v1/login (wcs_login_body_parse, wcs/daemon/login.c),
 * docs/fuzzing.md.
 *
 * The input is the body. Beyond "no crash" it checks: the parse ends in 0
 * or ERR_PARSE; a refusal has one printable line saying why, which never
 * quotes the password; a login parsed has a valid user name and a password
 * of 1 to WCS_PASSWORD_MAX bytes without NUL, both NUL-terminated.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/common/fuzzutil.h"
#include "wcs/daemon/login.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wcs_login l;
    struct err e = {0};
    int rc = wcs_login_body_parse((const char *)data, size, &l, &e);

    if (rc != 0) {
        if (rc != ERR_PARSE || e.msg[0] == '\0' || l.user[0] != '\0' || l.password[0] != '\0')
            abort();
        fuzz_check_text(e.msg, ERR_MSG_MAX - 1);
        return 0;
    }
    if (strnlen(l.user, sizeof(l.user)) == sizeof(l.user) ||
        strnlen(l.password, sizeof(l.password)) == sizeof(l.password) ||
        wcs_user_name_check(l.user, &e) < 0 || l.password[0] == '\0')
        abort();
    return 0;
}

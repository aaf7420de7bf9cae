/* test-peer.c - addresses and CIDR blocks of the hosts allowed to be a PLC
 * (conveyor/peer.h): parsing, refusals with their reason, matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "conveyor/peer.h"

static struct sockaddr_storage v4(const char *a)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sa->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, a, &sa->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *a)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    sa->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, a, &sa->sin6_addr), 1);
    return ss;
}

static bool matches(const char *rule, struct sockaddr_storage ss)
{
    struct conv_cidr c;
    struct err e;

    if (conv_cidr_parse(rule, &c, &e) != 0)
        fail_msg("%s: %s", rule, e.msg);
    return conv_cidr_match(&c, (const struct sockaddr *)&ss);
}

static void test_match(void **state)
{
    (void)state;
    assert_true(matches("192.168.10.21", v4("192.168.10.21")));
    assert_false(matches("192.168.10.21", v4("192.168.10.22")));
    assert_true(matches("192.168.10.0/24", v4("192.168.10.255")));
    assert_false(matches("192.168.10.0/24", v4("192.168.11.0")));
    assert_true(matches("10.0.0.0/13", v4("10.7.255.255")));
    assert_false(matches("10.0.0.0/13", v4("10.8.0.0")));
    assert_true(matches("0.0.0.0/0", v4("203.0.113.9")));
    assert_true(matches("fd00::/64", v6("fd00::7")));
    assert_false(matches("fd00::/64", v6("fd00:0:0:1::7")));
    assert_true(matches("fd00::7", v6("fd00::7")));
    /* An IPv4 client on a dual-stack socket arrives IPv4-mapped. */
    assert_true(matches("192.168.10.0/24", v6("::ffff:192.168.10.5")));
    assert_false(matches("192.168.10.0/24", v6("::ffff:192.168.11.5")));
    assert_false(matches("fd00::/64", v4("192.168.10.5")));
}

static void test_refusals(void **state)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "is not an IPv4 or IPv6 address"},
        {"plc01.local", "is not an IPv4 or IPv6 address"},
        {"192.168.10.300", "is not an IPv4 or IPv6 address"},
        {"192.168.10.0/33", "prefix /33 is not 0..32"},
        {"fd00::/129", "prefix /129 is not 0..128"},
        {"192.168.10.0/", "prefix after '/' is not a number"},
        {"192.168.10.0/-1", "prefix after '/' is not a number"},
        {"192.168.10.0/24x", "prefix /24x is not 0..32"},
        {"10.0.0.1/8", "has host bits set under /8"},
    };
    struct conv_cidr c;
    struct err e;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        assert_int_equal(conv_cidr_parse(bad[i].text, &c, &e), ERR_PARSE);
        if (strstr(e.msg, bad[i].why) == NULL)
            fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].text, e.msg, bad[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

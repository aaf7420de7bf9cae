/*
 * code.c - parcel-code recognition and validation (pure: no I/O, no state).
 *
 * DESIGN: a code is first classified by its shape alone (length and the
 * character class at each position), so that a mistyped or damaged code is
 * still reported as the format it was meant to be ("S10, check digit 6,
 * expected 5") rather than "unknown". Only then are the rules of that format
 * checked, first failure wins, and the reason names the exact field.
 *
 * Formats and their sources:
 *   - UPU S10 item ids (UPU standard S10): AA 12345678 C BB. Check digit over
 *     the 8-digit serial with weights 8 6 4 2 3 5 9 7, C = 11 - (sum mod 11),
 *     10 -> 0, 11 -> 5. BB is the ISO 3166-1 alpha-2 code of the issuing
 *     country. Service indicators whose first letter is J, K, S, T or W are
 *     reserved by S10 and never assigned, so a code using one is refused.
 *   - Cainiao / AliExpress first-mile numbers: "LP" or "AP" + 14 digits. No
 *     check digit is published, so only the format is checked.
 *   - Russian Post domestic ids: 14 digits = acceptance office index (6),
 *     month counter (2), serial (5), check digit (1). Russian Post does not
 *     publish the check-digit rule in a document we could find. What public
 *     sources agree on is a mod-10 scheme with weights 3,1: three times the sum
 *     of the digits in odd positions (1st, 3rd, ... 13th) plus the sum of the
 *     digits in even positions (2nd ... 12th), check = (10 - sum mod 10) mod 10.
 *     One open-source validator (TrackValidX) computes 10 - sum mod 10 without
 *     the final "mod 10", which would make every id whose sum ends in 0
 *     impossible; we implement the EAN-style "mod 10" form, under which such ids
 *     carry check digit 0. Revisit if Russian Post publishes the rule.
 *   - UPU receptacle ids (UPU S9 / CN 35 label), 29 characters:
 *       0-5   origin office of exchange (ISO country + 4 alphanumerics)
 *       6-11  destination office of exchange (same)
 *       12    mail category A-D
 *       13-14 mail subclass, 2 letters (UN, CN, EM, ...)
 *       15    last digit of the year
 *       16-19 dispatch number 0001-9999
 *       20-22 receptacle serial 001-999
 *       23    highest-receptacle indicator, 1 digit
 *       24    registered/insured indicator, 1 digit
 *       25-28 weight in hectograms
 *
 * Every format requires upper-case letters: scanners and labels always print
 * them, so lower case means the code was retyped or altered on the way.
 */
#include "scanners/scanners.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/iso3166.h"

#define S10_LEN 13
#define CAINIAO_LEN 16
#define RUPOST_LEN 14
#define RECEPTACLE_LEN 29

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_alpha(char c)
{
    return is_upper(c) || is_lower(c);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_alpha(c) || is_digit(c);
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* Index of the first lower-case letter in s[0..n-1], or -1. */
static int first_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_lower(s[i]))
            return (int)i;
    return -1;
}

/* Value of n ASCII digits; the caller has checked they are digits. */
static unsigned digits_value(const char *s, size_t n)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

static int fail(struct scan_code_info *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Marks out invalid with a formatted reason; returns ERR_INVALID. */
static int fail(struct scan_code_info *out, const char *fmt, ...)
{
    va_list ap;

    out->valid = false;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
    return ERR_INVALID;
}

static int pass(struct scan_code_info *out)
{
    out->valid = true;
    out->reason[0] = '\0';
    return 0;
}

/* Shape tests: length and character classes only, case-insensitive. */

static int shape_s10(const char *c, size_t len)
{
    return len == S10_LEN && is_alpha(c[0]) && is_alpha(c[1]) && all_digits(c + 2, 9) &&
           is_alpha(c[11]) && is_alpha(c[12]);
}

/* "2 letters, some digits, 2 letters" of the wrong length: a damaged S10. */
static int shape_s10_like(const char *c, size_t len)
{
    return len >= 8 && len <= 18 && len != S10_LEN && is_alpha(c[0]) && is_alpha(c[1]) &&
           all_digits(c + 2, len - 4) && is_alpha(c[len - 2]) && is_alpha(c[len - 1]);
}

static int cainiao_prefix(const char *c)
{
    return (c[0] == 'L' || c[0] == 'l' || c[0] == 'A' || c[0] == 'a') &&
           (c[1] == 'P' || c[1] == 'p');
}

static int shape_cainiao(const char *c, size_t len)
{
    return len == CAINIAO_LEN && cainiao_prefix(c) && all_digits(c + 2, 14);
}

/* "LP"/"AP" followed only by digits, wrong count: a damaged Cainiao number. */
static int shape_cainiao_like(const char *c, size_t len)
{
    return len >= 8 && len <= 22 && len != CAINIAO_LEN && cainiao_prefix(c) &&
           all_digits(c + 2, len - 2);
}

static int shape_rupost(const char *c, size_t len)
{
    return len == RUPOST_LEN && all_digits(c, len);
}

static int shape_receptacle(const char *c, size_t len)
{
    if (len != RECEPTACLE_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(c[i]))
            return 0;
    /* Both offices of exchange start with a country code. */
    return is_alpha(c[0]) && is_alpha(c[1]) && is_alpha(c[6]) && is_alpha(c[7]);
}

/* Rule checks, one per format; each fills out and returns 0 or ERR_INVALID. */

static int check_s10(const char *c, struct scan_code_info *out)
{
    int lower = first_lower(c, S10_LEN);
    int want, got;

    if (lower >= 0)
        return fail(out, "lowercase letter '%c' at position %d", c[lower], lower + 1);
    if (strchr("JKSTW", c[0]) != NULL)
        return fail(out, "service indicator %c reserved", c[0]);
    if (!iso3166_valid(c[11], c[12]))
        return fail(out, "country %c%c not ISO 3166", c[11], c[12]);
    want = scan_s10_check_digit(c + 2);
    got = c[10] - '0';
    if (got != want)
        return fail(out, "check digit %d, expected %d", got, want);
    return pass(out);
}

static int check_cainiao(const char *c, struct scan_code_info *out)
{
    if (first_lower(c, 2) >= 0)
        return fail(out, "lowercase prefix %c%c", c[0], c[1]);
    return pass(out);
}

static int check_rupost(const char *c, struct scan_code_info *out)
{
    int want = scan_rupost_check_digit(c);
    int got = c[13] - '0';

    if (got != want)
        return fail(out, "check digit %d, expected %d", got, want);
    return pass(out);
}

/* Checks the office of exchange at c[0..5]; which is "origin"/"destination". */
static int check_office(const char *c, const char *which, struct scan_code_info *out)
{
    if (!iso3166_valid(c[0], c[1]))
        return fail(out, "%s office %.6s: country %c%c not ISO 3166", which, c, c[0], c[1]);
    return 0;
}

static int check_receptacle(const char *c, struct scan_code_info *out)
{
    int lower = first_lower(c, RECEPTACLE_LEN);
    int rc;

    if (lower >= 0)
        return fail(out, "lowercase letter '%c' at position %d", c[lower], lower + 1);
    rc = check_office(c, "origin", out);
    if (rc < 0)
        return rc;
    rc = check_office(c + 6, "destination", out);
    if (rc < 0)
        return rc;
    if (c[12] < 'A' || c[12] > 'D')
        return fail(out, "mail category %c, expected A-D", c[12]);
    if (!is_upper(c[13]) || !is_upper(c[14]))
        return fail(out, "mail subclass %.2s, expected 2 letters", c + 13);
    for (int i = 15; i < RECEPTACLE_LEN; i++)
        if (!is_digit(c[i]))
            return fail(out, "position %d '%c', expected a digit", i + 1, c[i]);
    if (digits_value(c + 16, 4) == 0)
        return fail(out, "dispatch number 0000, expected 0001-9999");
    if (digits_value(c + 20, 3) == 0)
        return fail(out, "receptacle serial 000, expected 001-999");
    return pass(out);
}

int scan_code_check(const char *code, size_t len, struct scan_code_info *out)
{
    out->kind = SCAN_CODE_UNKNOWN;
    out->valid = false;
    out->reason[0] = '\0';

    if (code == NULL || len == 0)
        return fail(out, "empty code");
    if (shape_s10(code, len)) {
        out->kind = SCAN_CODE_S10;
        return check_s10(code, out);
    }
    if (shape_cainiao(code, len)) {
        out->kind = SCAN_CODE_CAINIAO;
        return check_cainiao(code, out);
    }
    if (shape_rupost(code, len)) {
        out->kind = SCAN_CODE_RUPOST;
        return check_rupost(code, out);
    }
    if (shape_receptacle(code, len)) {
        out->kind = SCAN_CODE_RECEPTACLE;
        return check_receptacle(code, out);
    }
    if (shape_s10_like(code, len)) {
        out->kind = SCAN_CODE_S10;
        return fail(out, "length %zu, expected %d", len, S10_LEN);
    }
    if (shape_cainiao_like(code, len)) {
        out->kind = SCAN_CODE_CAINIAO;
        return fail(out, "length %zu, expected %d", len, CAINIAO_LEN);
    }
    return fail(out, "no known format (length %zu)", len);
}

bool scan_code_is_parcel(enum scan_code_kind kind)
{
    return kind == SCAN_CODE_S10 || kind == SCAN_CODE_CAINIAO || kind == SCAN_CODE_RUPOST;
}

const char *scan_code_kind_name(enum scan_code_kind kind)
{
    switch (kind) {
    case SCAN_CODE_S10:
        return "s10";
    case SCAN_CODE_CAINIAO:
        return "cainiao";
    case SCAN_CODE_RUPOST:
        return "rupost";
    case SCAN_CODE_RECEPTACLE:
        return "receptacle";
    case SCAN_CODE_UNKNOWN:
        break;
    }
    return "unknown";
}

int scan_s10_check_digit(const char serial[8])
{
    static const int weights[8] = {8, 6, 4, 2, 3, 5, 9, 7};
    int sum = 0, c;

    for (int i = 0; i < 8; i++) {
        if (!is_digit(serial[i]))
            return -1;
        sum += (serial[i] - '0') * weights[i];
    }
    c = 11 - sum % 11;
    if (c == 10)
        return 0;
    if (c == 11)
        return 5;
    return c;
}

int scan_rupost_check_digit(const char digits[13])
{
    int sum = 0;

    for (int i = 0; i < 13; i++) {
        if (!is_digit(digits[i]))
            return -1;
        /* i is 0-based: even i are the odd (1st, 3rd, ...) positions. */
        sum += (digits[i] - '0') * (i % 2 == 0 ? 3 : 1);
    }
    return (10 - sum % 10) % 10;
}

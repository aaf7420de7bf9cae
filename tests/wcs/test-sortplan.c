/*
 * test-sortplan.c - the sort plan: CSV reading, every validation message (as
 * a table of CSV text -> expected message and line), matching, accessors,
 * and the sample plan shipped in data/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/diag.h"
#include "tests/common/testdb.h"
#include "wcs/core/sortplan.h"

#define HEADER                                                                                   \
    "kind,id,route,prefix_from,prefix_to,services,weight_min_g,weight_max_g,priority,chutes,"   \
    "value,description,crossing\n"

/* Lines 1-13. Every case adds its rows from line 14, then (unless it says
 * otherwise) the tail: the ninth special and the default exit. */
#define BASE                                                                                     \
    HEADER                                            /* 1 */                                   \
    "chute,A1,,,,,,,,,,first chute,\n"                /* 2 */                                   \
    "chute,A2,,,,,,,,,,,\n"                           /* 3 */                                   \
    "chute,S1,,,,,,,,,,special chute,\n"              /* 4 */                                   \
    "route,R1,,,,,,,,A1 A2,road,test route,Heihe-Blagoveshchensk\n" /* 5 */                     \
    "special,noread,,,,,,,,S1,,,\n"                   /* 6 */                                   \
    "special,multiread,,,,,,,,S1,,,\n"                /* 7 */                                   \
    "special,unknown,,,,,,,,S1,,,\n"                  /* 8 */                                   \
    "special,invalid,,,,,,,,S1,,,\n"                  /* 9 */                                   \
    "special,customs_hold,,,,,,,,S1,,,\n"             /* 10 */                                  \
    "special,noroute,,,,,,,,S1,,,\n"                  /* 11 */                                  \
    "special,oversize,,,,,,,,S1,,,\n"                 /* 12 */                                  \
    "special,recirc_limit,,,,,,,,S1,,,\n"             /* 13 */
#define TAIL "special,chute_full,,,,,,,,S1,,,\nparam,default_exit,,,,,,,,,EOL,,\n"

static int parse_text(const char *text, struct wcs_plan **out, struct diag *d)
{
    return wcs_plan_parse_csv("t.csv", text, strlen(text), out, d);
}

static int parse_rows(const char *rows, bool tail, struct wcs_plan **out, struct diag *d)
{
    char buf[16384];

    snprintf(buf, sizeof(buf), "%s%s%s", BASE, rows, tail ? TAIL : "");
    return parse_text(buf, out, d);
}

static bool diag_has(const struct diag *d, const char *s)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        if (strstr(d->msgs[i], s) != NULL)
            return true;
    return false;
}

static void dump(const struct diag *d)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        print_message("  diag: %s\n", d->msgs[i]);
}

static void test_base_is_valid(void **state)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    (void)state;

    assert_int_equal(parse_rows("", true, &p, &d), 0);
    dump(&d);
    assert_int_equal(diag_count(&d), 0);
    assert_non_null(p);
    assert_int_equal(wcs_plan_nchutes(p), 3);
    assert_int_equal(wcs_plan_nroutes(p), 1);
    assert_string_equal(wcs_plan_default_exit(p), "EOL");
    assert_int_equal(wcs_plan_recirc_limit(p), 3); /* default when not given */
    assert_int_equal(wcs_plan_max_weight_g(p), 0);
    wcs_plan_free(p);
    diag_free(&d);
}

struct vcase {
    const char *rows;      /* rows from line 14 */
    bool no_tail;          /* leave out the chute_full special and default exit */
    const char *expect;    /* substring of one message, "t.csv:LINE: field: reason" */
};

static const struct vcase vcases[] = {
    /* Row problems (add calls and the CSV layer). */
    {"bogus,x,,,,,,,,,,,\n", false, "t.csv:14: kind: unknown kind 'bogus'"},
    {"rule,,R1,abc,,,,,,,,,\n", false, "t.csv:14: prefix_from: 'abc' is not a whole number"},
    {"rule,,R1,100,1x,,,,,,,,\n", false, "t.csv:14: prefix_to: '1x' is not a whole number"},
    {"rule,,R1,100,,,-5,,,,,,\n", false, "t.csv:14: weight_min_g: '-5' is not a whole number"},
    {"rule,,R1,100,,,,9.5,,,,,\n", false, "t.csv:14: weight_max_g: '9.5' is not a whole number"},
    {"rule,,R1,100,,,,,high,,,,\n", false, "t.csv:14: priority: 'high' is not a whole number"},
    {"rule,,R1,100,,,,,99999999,,,,\n", false, "t.csv:14: priority: '99999999' is too large"},
    {"rule,,R1,,,,,,,,,,\n", false, "t.csv:14: prefix_from: missing"},
    {"chute,CH0123456789012345678,,,,,,,,,,,\n", false,
     "t.csv:14: id: chute id 'CH0123456789012345678' is longer than 20 characters"},
    {"chute,\"A 3\",,,,,,,,,,,\n", false, "t.csv:14: id: chute id 'A 3' has characters other "
                                          "than printable ASCII"},
    {"chute,\xd0\xa7" "1,,,,,,,,,,,\n", false, "t.csv:14: id: chute id"},
    {"chute,A1,,,,,,,,,,,\n", false, "t.csv:14: id: duplicate chute A1 (first at line 2)"},
    {"chute,A3,,,,,,,,,,\xff,\n", false, "t.csv:14: description: not valid UTF-8"},
    {"route,R2,,,,,,,,A1,road,,\xc3\x28\n", false, "t.csv:14: crossing: not valid UTF-8"},
    {"chute,,,,,,,,,,,x,\n", false, "t.csv:14: id: chute id empty"},
    {"route,R2,\"R 9\",,,,,,,A1,road,,\n", false, "t.csv:14: route: fallback route id 'R 9' has "
                                               "characters other than printable ASCII"},
    {"chute,A3,R1,,,,,,,,,,\n", false, "t.csv:14: route: not used by kind chute (must be empty)"},
    {"rule,,R1,100,,,,,,,,,Heihe\n", false, "t.csv:14: crossing: not used by kind rule"},
    {"chute,A3,,,,,,,,,,,,extra\n", false, "t.csv:14: row: 14 fields, the header has 13"},
    {"route,R1,,,,,,,,A1,road,,\n", false, "t.csv:14: id: duplicate route R1 (first at line 5)"},
    {"route,R2,,,,,,,,,road,,\n", false, "t.csv:14: chutes: route R2 has no chute"},
    {"route,R2,,,,,,,,A1,boat,,\n", false, "t.csv:14: value: mode 'boat' is not air, rail, road "
                                         "or river"},
    {"route,R2,,,,,,,,A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 A1 A2 "
     "A1 A2 A1 A2 A1 A2 A1 A2 A1,road,,\n",
     false, "t.csv:14: chutes: more than 32 chutes in the group"},
    {"route,R2,,,,,,,,A1 CH0123456789012345678,road,,\n", false,
     "t.csv:14: chutes: a chute id is longer than 20 characters"},
    {"rule,,R1,1000,,,,,,,,,\n", false, "t.csv:14: prefix_from: 1000 is outside 000-999"},
    {"rule,,R1,100,1000,,,,,,,,\n", false, "t.csv:14: prefix_to: 1000 is outside 000-999"},
    {"rule,,R1,130,120,,,,,,,,\n", false, "t.csv:14: prefix_to: 120 is below prefix_from 130"},
    {"rule,,R1,100,,,200,100,,,,,\n", false, "t.csv:14: weight_max_g: 100 is below "
                                            "weight_min_g 200"},
    {"rule,,R1,100,,A B C D E F G H I,,,,,,,\n", false, "t.csv:14: services: more than 8 "
                                                       "services"},
    {"rule,,R1,100,,VERYLONGNAME,,,,,,,\n", false, "t.csv:14: services: a service name is "
                                                 "longer than 8 characters"},
    {"rule,,R1,100,,EMS/X,,,,,,,\n", false, "t.csv:14: services: service 'EMS/X' has "
                                          "characters"},
    {"rule,,,100,,,,,,,,,\n", false, "t.csv:14: route: route id empty"},
    {"special,boom,,,,,,,,S1,,,\n", false, "t.csv:14: id: unknown special destination 'boom'"},
    {"special,noread,,,,,,,,S1,,,\n", false, "t.csv:14: id: duplicate special destination "
                                           "noread (first at line 6)"},
    {"special,chute_full,,,,,,,,,,,\nparam,default_exit,,,,,,,,,EOL,,\n", true,
     "t.csv:14: chutes: special destination chute_full has no chute"},
    {"param,foo,,,,,,,,,1,,\n", false, "t.csv:14: id: unknown parameter 'foo'"},
    {"param,recirc_limit,,,,,,,,,abc,,\n", false, "t.csv:14: value: recirc_limit 'abc' is not a "
                                               "whole number 0-100"},
    {"param,max_length_mm,,,,,,,,,70000,,\n", false, "t.csv:14: value: max_length_mm '70000' is "
                                                   "not a whole number 0-65535"},
    {"param,max_weight_g,,,,,,,,,,,\n", false, "t.csv:14: value: max_weight_g '' is not"},
    {"param,recirc_limit,,,,,,,,,2,,\nparam,recirc_limit,,,,,,,,,4,,\n", false,
     "t.csv:15: id: parameter recirc_limit already set at line 14"},
    {"special,chute_full,,,,,,,,S1,,,\nparam,default_exit,,,,,,,,,\"E O L\",,\n", true,
     "t.csv:15: value: default exit 'E O L' has characters other than printable ASCII"},
    /* Cross-row problems (wcs_plan_finish). */
    {"route,R2,,,,,,,,A1 A9,road,,\n", false, "t.csv:14: chutes: unknown chute 'A9'"},
    {"route,R2,,,,,,,,A1 A1,road,,\n", false, "t.csv:14: chutes: chute A1 listed twice"},
    {"route,R2,R9,,,,,,,A1,road,,\n", false, "t.csv:14: route: unknown fallback route 'R9'"},
    {"route,R2,R3,,,,,,,A1,road,,\nroute,R3,R2,,,,,,,A2,rail,,\n", false,
     "t.csv:14: route: fallback cycle R2 -> R3 -> R2"},
    {"route,R2,R2,,,,,,,A1,road,,\n", false, "t.csv:14: route: fallback cycle R2 -> R2"},
    {"route,R2,R3,,,,,,,A1,road,,\nroute,R3,R4,,,,,,,A2,rail,,\nroute,R4,R3,,,,,,,A2,air,,\n",
     false, "t.csv:15: route: fallback cycle R3 -> R4 -> R3"},
    {"rule,,R9,100,,,,,,,,,\n", false, "t.csv:14: route: unknown route 'R9'"},
    {"special,chute_full,,,,,,,,S9,,,\nparam,default_exit,,,,,,,,,EOL,,\n", true,
     "t.csv:14: chutes: unknown chute 'S9'"},
    {"rule,,R1,100,120,EMS,,,5,,,,\nrule,,R1,110,130,,,,5,,,,\n", false,
     "t.csv:15: rule: overlaps rule at line 14 with the same priority"},
    {"rule,,R1,100,120,EMS STANDARD,,,,,,,\nrule,,R1,120,120,standard,0,500,,,,,\n", false,
     "t.csv:15: rule: overlaps rule at line 14 with the same priority"},
    {"rule,,R1,100,,,0,1000,,,,,\nrule,,R1,100,,,1000,,,,,,\n", false,
     "t.csv:15: rule: overlaps rule at line 14 with the same priority"},
    {"param,default_exit,,,,,,,,,EOL,,\n", true,
     "t.csv:0: special: missing required special destination chute_full"},
    {"special,chute_full,,,,,,,,S1,,,\n", true,
     "t.csv:0: param: missing required parameter default_exit"},
};

static void test_validation_messages(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
        struct diag d = DIAG_INIT;
        struct wcs_plan *p = (struct wcs_plan *)1;
        int rc = parse_rows(vcases[i].rows, !vcases[i].no_tail, &p, &d);
        if (!diag_has(&d, vcases[i].expect)) {
            print_message("case %zu: expected '%s', got rc %d and:\n", i, vcases[i].expect, rc);
            dump(&d);
            fail();
        }
        assert_int_equal(rc, ERR_INVALID);
        assert_null(p);
        diag_free(&d);
    }
}

/* Rules that cannot meet the same parcel, or differ in priority, are fine. */
static void test_no_overlap(void **state)
{
    static const char *const ok[] = {
        "rule,,R1,100,109,,,,,,,,\nrule,,R1,110,119,,,,,,,,\n",
        "rule,,R1,100,,EMS,,,,,,,\nrule,,R1,100,,ECONOMY,,,,,,,\n",
        "rule,,R1,100,,,0,999,,,,,\nrule,,R1,100,,,1000,,,,,,\n",
        "rule,,R1,100,199,,,,10,,,,\nrule,,R1,150,,,,,0,,,,\n",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct diag d = DIAG_INIT;
        struct wcs_plan *p = NULL;
        int rc = parse_rows(ok[i], true, &p, &d);
        dump(&d);
        assert_int_equal(rc, 0);
        assert_int_equal(diag_count(&d), 0);
        wcs_plan_free(p);
        diag_free(&d);
    }
}

/* Every problem of a file comes out of one call. */
static void test_all_problems_in_one_pass(void **state)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    (void)state;

    assert_int_equal(parse_rows("bogus,,,,,,,,,,,,\n"
                                "rule,,R9,100,,,,,,,,,\n"
                                "route,R2,,,,,,,,A7,rail,,\n",
                                false, &p, &d),
                     ERR_INVALID);
    dump(&d);
    assert_true(diag_has(&d, "t.csv:14: kind:"));
    assert_true(diag_has(&d, "t.csv:15: route: unknown route 'R9'"));
    assert_true(diag_has(&d, "t.csv:16: chutes: unknown chute 'A7'"));
    assert_true(diag_has(&d, "t.csv:0: special: missing required special destination "
                             "chute_full"));
    assert_true(diag_has(&d, "t.csv:0: param: missing required parameter default_exit"));
    assert_int_equal(diag_count(&d), 5);
    diag_free(&d);
}

static void test_syntax_errors(void **state)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    (void)state;

    assert_int_equal(parse_text("kind,id,route\nchute,A1,\n", &p, &d), ERR_PARSE);
    assert_true(diag_has(&d, "t.csv:1: header: column 4 is '', expected 'prefix_from'"));
    assert_null(p);
    diag_free(&d);

    assert_int_equal(parse_text("kind,id,route,prefix_from,prefix_to,services,weight_min_g,"
                                "weight_max_g,priority,chutes,value,description,crossing,x\n",
                                &p, &d),
                     ERR_PARSE);
    assert_true(diag_has(&d, "t.csv:1: header: 14 columns, expected 13"));
    diag_free(&d);

    assert_int_equal(parse_text("# only a comment\n\n", &p, &d), ERR_PARSE);
    assert_true(diag_has(&d, "t.csv:1: header: missing header line"));
    diag_free(&d);

    assert_int_equal(parse_text(HEADER HEADER, &p, &d), ERR_INVALID);
    assert_true(diag_has(&d, "t.csv:2: kind: unknown kind 'kind'"));
    diag_free(&d);

    assert_int_equal(parse_text(HEADER "chute,\"A1,,,\n", &p, &d), ERR_PARSE);
    assert_true(diag_has(&d, ": csv: "));
    diag_free(&d);

    assert_int_equal(parse_text(HEADER "chute,\"A1\"x,,\nchute,A2\n", &p, &d), ERR_PARSE);
    assert_true(diag_has(&d, "t.csv:2: csv: "));
    diag_free(&d);

}

/* Comments, blank lines, a byte order mark, CRLF line ends, quoted fields
 * with commas and line breaks, and short rows are all accepted. */
static void test_format_details(void **state)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    const struct wcs_plan_route *r;
    const struct wcs_plan_chute *c;
    (void)state;

    static const char text[] =
        "\xEF\xBB\xBF# plan for tests\r\n"
        "\r\n" HEADER
        "# a comment, with \"quotes\" in a field\r\n"
        "chute,A1,,,,,,,,,,\"Moscow, bag 1\"\r\n"
        "chute,A2\r\n"
        "chute,S1,,,,,,,,,,\"two\nlines\"\n"
        "route,R1,,,,,,,,A1;A2,RAIL,\"Manzhouli rail\",Manzhouli-Zabaykalsk\n"
        "special,noread,,,,,,,,S1\nspecial,multiread,,,,,,,,S1\nspecial,unknown,,,,,,,,S1\n"
        "special,invalid,,,,,,,,S1\nspecial,customs_hold,,,,,,,,S1\nspecial,noroute,,,,,,,,S1\n"
        "special,oversize,,,,,,,,S1\nspecial,recirc_limit,,,,,,,,S1\n"
        "special,chute_full,,,,,,,,\"S1 ; A2\"\n"
        ",,,,,,,,,,,,\n"
        "param,default_exit,,,,,,,,,EOL\n"
        "param,max_weight_g,,,,,,,,,31500\n"
        "rule,,R1,1,,ems;standard\n"
        "bogus\n";

    assert_int_equal(parse_text(text, &p, &d), ERR_INVALID);
    /* The last line is the only problem, and lines are counted right. */
    dump(&d);
    assert_int_equal(diag_count(&d), 1);
    assert_true(diag_has(&d, "t.csv:23: kind: unknown kind 'bogus'"));
    diag_free(&d);

    assert_int_equal(wcs_plan_parse_csv("t.csv", text, strlen(text) - strlen("bogus\n"), &p, &d), 0);
    dump(&d);
    assert_int_equal(diag_count(&d), 0);
    c = wcs_plan_chute(p, 0);
    assert_string_equal(c->description, "Moscow, bag 1");
    assert_string_equal(wcs_plan_chute(p, 2)->description, "two\nlines");
    r = wcs_plan_route(p, 0);
    assert_string_equal(r->mode, "rail");
    assert_string_equal(r->crossing, "Manzhouli-Zabaykalsk");
    assert_int_equal(r->nchutes, 2);
    assert_int_equal(wcs_plan_rule(p, 0)->prefix_from, 1);
    assert_int_equal(wcs_plan_rule(p, 0)->prefix_to, 1);
    assert_string_equal(wcs_plan_rule(p, 0)->services[0], "EMS");
    assert_string_equal(wcs_plan_rule(p, 0)->services[1], "STANDARD");
    assert_int_equal(wcs_plan_rule(p, 0)->line, 22);
    assert_int_equal(wcs_plan_rule(p, 0)->weight_max_g, UINT32_MAX);
    assert_int_equal(wcs_plan_route(p, 0)->fallback, -1);
    wcs_plan_free(p);
    diag_free(&d);
}

static struct wcs_plan *match_plan(void)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    int rc = parse_rows("chute,B1,,,,,,,,,,,\nchute,C1,,,,,,,,,,,\n"
                        "route,R2,,,,,,,,B1,air,,\n"
                        "route,R3,R1,,,,,,,C1,rail,,\n"
                        "rule,,R1,100,199,,,,0,,,,\n"
                        "rule,,R2,100,129,EMS STANDARD,0,20000,10,,,,\n"
                        "rule,,R3,101,101,ECONOMY,,2999,5,,,,\n"
                        "rule,,R3,630,,,,,-1,,,,\n",
                        true, &p, &d);
    dump(&d);
    assert_int_equal(rc, 0);
    diag_free(&d);
    return p;
}

static void test_match(void **state)
{
    struct wcs_plan *p = match_plan();
    int r1, r2, r3;
    (void)state;

    r1 = wcs_plan_route_find(p, "R1");
    r2 = wcs_plan_route_find(p, "R2");
    r3 = wcs_plan_route_find(p, "R3");
    assert_true(r1 >= 0 && r2 >= 0 && r3 >= 0);
    assert_int_equal(wcs_plan_route_find(p, "R4"), -1);
    assert_int_equal(wcs_plan_route(p, (size_t)r3)->fallback, r1);
    /* Priority wins, service and weight select. */
    assert_int_equal(wcs_plan_match(p, 101000, "EMS", 1000), r2);
    assert_int_equal(wcs_plan_match(p, 101000, "ems", 1000), r2);
    assert_int_equal(wcs_plan_match(p, 101000, "EMS", 20000), r2);
    assert_int_equal(wcs_plan_match(p, 101000, "EMS", 20001), r1);
    assert_int_equal(wcs_plan_match(p, 101000, "ECONOMY", 2999), r3);
    assert_int_equal(wcs_plan_match(p, 101000, "ECONOMY", 3000), r1);
    assert_int_equal(wcs_plan_match(p, 102000, "ECONOMY", 100), r1);
    assert_int_equal(wcs_plan_match(p, 199999, NULL, 0), r1);
    assert_int_equal(wcs_plan_match(p, 630099, "STANDARD", 500), r3);
    /* No rule, out of range, or absent postal code. */
    assert_int_equal(wcs_plan_match(p, 200000, "EMS", 1000), -1);
    assert_int_equal(wcs_plan_match(p, 99999, "EMS", 1000), -1);
    assert_int_equal(wcs_plan_match(p, 1000000, "EMS", 1000), -1);
    assert_int_equal(wcs_plan_match(p, 0xFFFFFFFFu, "EMS", 1000), -1);
    wcs_plan_free(p);
}

static void test_accessors(void **state)
{
    struct wcs_plan *p = match_plan();
    const uint16_t *sp;
    const char *name, *value;
    uint32_t l, w, h;
    int n;
    (void)state;

    assert_string_equal(wcs_plan_source(p), "t.csv");
    assert_int_equal(wcs_plan_chute_find(p, "S1"), 2);
    assert_int_equal(wcs_plan_chute_find(p, "C1"), 4);
    assert_int_equal(wcs_plan_chute_find(p, "Z"), -1);
    sp = wcs_plan_special(p, WCS_SPECIAL_CHFULL, &n);
    assert_int_equal(n, 1);
    assert_int_equal(sp[0], 2);
    assert_string_equal(wcs_plan_special_name(WCS_SPECIAL_CUSTHOLD), "customs_hold");
    assert_string_equal(wcs_plan_special_name(WCS_SPECIAL_RECIRLIM), "recirc_limit");
    assert_string_equal(wcs_plan_param(p, "default_exit"), "EOL");
    assert_null(wcs_plan_param(p, "max_weight_g"));
    assert_int_equal(wcs_plan_nparams(p), 1);
    wcs_plan_param_at(p, 0, &name, &value);
    assert_string_equal(name, "default_exit");
    assert_string_equal(value, "EOL");
    wcs_plan_max_dims(p, &l, &w, &h);
    assert_int_equal(l + w + h, 0);
    assert_string_equal(wcs_plan_route(p, 0)->crossing, "Heihe-Blagoveshchensk");
    assert_string_equal(wcs_plan_route(p, 0)->description, "test route");
    assert_int_equal(wcs_plan_nrules(p), 4);
    wcs_plan_free(p);
}

/* The builder as the database loader uses it: no CSV, line 0, and calls
 * refused once the plan is finished. */
static void test_builder(void **state)
{
    static const char *const sp[] = {"noread", "multiread", "unknown", "invalid", "customs_hold",
                                     "noroute", "oversize", "recirc_limit", "chute_full"};
    struct wcs_plan *p = wcs_plan_new("db:v7");
    struct diag d = DIAG_INIT;
    struct err e = {0};
    char id[32];
    size_t i;
    (void)state;

    assert_non_null(p);
    assert_int_equal(wcs_plan_add_chute(p, 0, "X1", "", &e), 0);
    assert_int_equal(wcs_plan_add_route(p, 0, "R", "air", "", "X1", "", "", &e), 0);
    assert_int_equal(wcs_plan_add_rule(p, 0, "R", 0, 999, "", 0, 0, 0, "all", &e), 0);
    for (i = 0; i < 9; i++)
        assert_int_equal(wcs_plan_add_special(p, 0, sp[i], "X1", &e), 0);
    assert_int_equal(wcs_plan_add_special(p, 0, "noread", "X1", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "db:v7:0: id: duplicate special destination noread"));
    assert_int_equal(wcs_plan_set_param(p, 0, "default_exit", "X1", &e), 0);
    assert_int_equal(wcs_plan_set_param(p, 0, "max_height_mm", "800", &e), 0);
    assert_int_equal(wcs_plan_finish(p, &d), 0);
    assert_int_equal(diag_count(&d), 0);
    assert_int_equal(wcs_plan_match(p, 0, "", 0), 0);
    assert_int_equal(wcs_plan_match(p, 999999, "EMS", 99999), 0);
    assert_int_equal(wcs_plan_add_chute(p, 0, "X2", "", &e), ERR_STATE);
    assert_int_equal(wcs_plan_finish(p, &d), ERR_STATE);
    wcs_plan_free(p);

    /* A plan holds at most WCS_PLAN_CHUTES_MAX chutes. */
    p = wcs_plan_new("big");
    for (i = 0; i < WCS_PLAN_CHUTES_MAX; i++) {
        snprintf(id, sizeof(id), "C%04zu", i);
        assert_int_equal(wcs_plan_add_chute(p, (int)i + 2, id, "", &e), 0);
    }
    assert_int_equal(wcs_plan_add_chute(p, 9999, "C9999", "", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "big:9999: id: more than 1024 chutes"));
    wcs_plan_free(p);
    diag_free(&d);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_sample_plan(void **state)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    char path[4096];
    size_t len, i;
    char *text;
    (void)state;

    testdb_source_path("data/sortplan-sample.csv", path, sizeof(path));
    text = read_file(path, &len);
    assert_int_equal(wcs_plan_parse_csv("sortplan-sample.csv", text, len, &p, &d), 0);
    dump(&d);
    assert_int_equal(diag_count(&d), 0);
    assert_true(wcs_plan_nchutes(p) >= 40);
    for (i = 0; i < wcs_plan_nroutes(p); i++) {
        const struct wcs_plan_route *r = wcs_plan_route(p, i);
        assert_true(r->nchutes >= 2 && r->nchutes <= 6);
    }
#define ROUTE(postal, svc, w) wcs_plan_route(p, (size_t)wcs_plan_match(p, postal, svc, w))->id
    assert_string_equal(ROUTE(630099, "STANDARD", 1200), "RU-OVB-AIR");
    assert_string_equal(ROUTE(690000, "STANDARD", 1200), "RU-POG-ROAD");
    assert_string_equal(ROUTE(101000, "EMS", 800), "RU-MOW-AIR");
    assert_string_equal(ROUTE(101000, "ECONOMY", 800), "RU-ZAB-RAIL");
    assert_string_equal(ROUTE(101000, "STANDARD", 25000), "RU-ZAB-RAIL");
    assert_string_equal(ROUTE(675000, "EMS", 500), "RU-BQS-ROAD");
    assert_string_equal(ROUTE(679000, "ECONOMY", 500), "RU-NLL-RAIL");
    assert_string_equal(ROUTE(620014, "ECONOMY", 1500), "RU-BQS-ROAD");
    assert_string_equal(ROUTE(620014, "EMS", 1500), "RU-EKB-AIR");
    assert_string_equal(ROUTE(236000, "ECONOMY", 1500), "RU-MOW-AIR");
    assert_string_equal(ROUTE(300000, "ECONOMY", 1500), "RU-ZAB-RAIL");
#undef ROUTE
    assert_int_equal(wcs_plan_match(p, 999000, "EMS", 100), -1);
    assert_int_equal(wcs_plan_recirc_limit(p), 3);
    assert_int_equal(wcs_plan_max_weight_g(p), 31500);
    wcs_plan_free(p);
    diag_free(&d);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_is_valid),
        cmocka_unit_test(test_validation_messages),
        cmocka_unit_test(test_no_overlap),
        cmocka_unit_test(test_all_problems_in_one_pass),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_format_details),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_sample_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

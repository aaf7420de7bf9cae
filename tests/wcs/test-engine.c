/*
 * test-engine.c - the decision engine: one test per step of the decision
 * order in wcs/engine.h, the read-reduction rule (multi-read), chute states
 * and load balancing, dry runs, plan swaps, and the sample plan.
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
#include "wcs/core/engine.h"

#define HEADER                                                                                   \
    "kind,id,route,prefix_from,prefix_to,services,weight_min_g,weight_max_g,priority,chutes,"   \
    "value,description,crossing\n"

static const char plan_text[] =
    HEADER
    "chute,A1\nchute,A2\nchute,A3\nchute,B1\nchute,B2\nchute,C1\n"
    "chute,SN\nchute,SM\nchute,SU\nchute,SI\nchute,SC\nchute,SR\nchute,SO\nchute,SL\nchute,SF\n"
    "route,R1,R2,,,,,,,A1 A2 A3,rail,,Manzhouli-Zabaykalsk\n"
    "route,R2,,,,,,,,B1 B2,road,,Manzhouli-Zabaykalsk\n"
    "route,R3,,,,,,,,C1,air\n"
    "special,noread,,,,,,,,SN\nspecial,multiread,,,,,,,,SM\nspecial,unknown,,,,,,,,SU\n"
    "special,invalid,,,,,,,,SI\nspecial,customs_hold,,,,,,,,SC\nspecial,noroute,,,,,,,,SR\n"
    "special,oversize,,,,,,,,SO\nspecial,recirc_limit,,,,,,,,SL\nspecial,chute_full,,,,,,,,SF\n"
    "param,default_exit,,,,,,,,,EOL\nparam,recirc_limit,,,,,,,,,3\n"
    "param,max_weight_g,,,,,,,,,31500\nparam,max_length_mm,,,,,,,,,1200\n"
    "param,max_width_mm,,,,,,,,,800\nparam,max_height_mm,,,,,,,,,800\n"
    "rule,,R1,100,199\n"
    "rule,,R3,600,699,EMS\n"
    "rule,,R3,300,399,,0,1000\n"
    "rule,,R1,300,399,,1001\n";

struct fixture {
    struct wcs_plan *plan;
    struct wcs_engine *eng;
    struct wcs_parcel p1, p2;
};

static struct wcs_plan *parse(const char *text)
{
    struct diag d = DIAG_INIT;
    struct wcs_plan *p = NULL;
    size_t i;
    int rc = wcs_plan_parse_csv("engine.csv", text, strlen(text), &p, &d);

    for (i = 0; i < d.n; i++)
        print_message("diag: %s\n", d.msgs[i]);
    assert_int_equal(rc, 0);
    diag_free(&d);
    return p;
}

static struct wcs_parcel mkparcel(int64_t id, uint32_t postal, const char *service)
{
    struct wcs_parcel p;

    memset(&p, 0, sizeof(p));
    p.id = id;
    p.postal = postal;
    p.weight_g = 800;
    p.length_mm = 300;
    p.width_mm = 200;
    p.height_mm = 100;
    p.customs = CUST_STATUS_RELEASED;
    memcpy(p.country, "RU", 2);
    memcpy(p.service, service, strlen(service) < sizeof(p.service) ? strlen(service)
                                                                    : sizeof(p.service));
    return p;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->plan = parse(plan_text);
    f->eng = wcs_engine_new();
    assert_non_null(f->eng);
    assert_null(wcs_engine_set_plan(f->eng, f->plan));
    f->p1 = mkparcel(1, 101000, "EMS");
    f->p2 = mkparcel(2, 690000, "EMS");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    wcs_engine_free(f->eng);
    wcs_plan_free(f->plan);
    free(f);
    return 0;
}

static struct wcs_read rd(const char *code, bool valid, const struct wcs_parcel *p)
{
    struct wcs_read r = {code, strlen(code), valid, p};
    return r;
}

/* Decides for the reads (committing) and returns the reason. */
static enum conv_reason decide(struct fixture *f, const struct wcs_read *reads, size_t n,
                               struct wcs_decision *out)
{
    struct wcs_decide_input in = {reads, n, 0, 0, 0, 0, 0};

    assert_int_equal(wcs_engine_decide(f->eng, &in, true, out), 0);
    return out->reason;
}

static int chute(struct fixture *f, const char *id)
{
    int i = wcs_plan_chute_find(f->plan, id);
    assert_true(i >= 0);
    return i;
}

/* 9. The normal case: the route's chute, reason OK. */
static void test_ok_route(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decision d;

    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_int_equal(d.route, wcs_plan_route_find(f->plan, "R1"));
    assert_int_equal(d.chute, chute(f, "A1"));
    assert_string_equal(d.destination, "A1");
    assert_int_equal(d.read, 0);
    assert_ptr_equal(d.parcel, &f->p1);
    assert_string_equal(conv_reason_code(d.reason), "OK______");
}

/* 1. Past the recirculation limit, before anything else (even no-read). */
static void test_recirc_limit(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decide_input in = {r, 1, 0, 0, 0, 0, 3};
    struct wcs_decision d;

    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_OK); /* at the limit: still sorted */
    in.recirculations = 4;
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_RECIRLIM);
    assert_string_equal(d.destination, "SL");
    assert_ptr_equal(d.parcel, &f->p1); /* still known, for the event log */
    in.nreads = 0;
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_RECIRLIM);
}

/* 2. Nothing read (no reads, or only empty ones). */
static void test_noread(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("", true, NULL)};
    struct wcs_decision d;

    assert_int_equal(decide(f, NULL, 0, &d), CONV_REASON_NOREAD);
    assert_string_equal(d.destination, "SN");
    assert_int_equal(d.read, -1);
    assert_null(d.parcel);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_NOREAD);
}

/* 3. Two or more distinct parcels. */
static void test_multiread(void **state)
{
    struct fixture *f = *state;
    struct wcs_read two[2] = {rd("RR473124829GB", true, &f->p1), rd("RB123456785GB", true, &f->p2)};
    struct wcs_read unknown2[2] = {rd("RR473124829GB", true, NULL), rd("RB123456785GB", true, NULL)};
    struct wcs_read known_unknown[2] = {rd("LP00123456789012", true, &f->p1),
                                        rd("RB123456785GB", true, NULL)};
    struct wcs_decision d;

    assert_int_equal(decide(f, two, 2, &d), CONV_REASON_MULTIRD);
    assert_string_equal(d.destination, "SM");
    assert_int_equal(d.read, -1);
    assert_null(d.parcel);
    assert_int_equal(decide(f, unknown2, 2, &d), CONV_REASON_MULTIRD);
    /* A known parcel plus a valid code nobody advised: a person must look. */
    assert_int_equal(decide(f, known_unknown, 2, &d), CONV_REASON_MULTIRD);
}

/* ...but the S10 and LP number of one parcel, or one code read twice, are
 * one parcel; an invalid, unknown code beside a parcel is noise. */
static void test_one_parcel_many_reads(void **state)
{
    struct fixture *f = *state;
    struct wcs_parcel copy = f->p1; /* same id, another record pointer */
    struct wcs_read s10_lp[2] = {rd("LP00123456789012", true, &f->p1),
                                 rd("RR473124829GB", true, &copy)};
    struct wcs_read twice[2] = {rd("RR473124829GB", true, NULL), rd("RR473124829GB", true, NULL)};
    struct wcs_read noise[3] = {rd("4006381333931", false, NULL), rd("RR473124829GB", true, &f->p1),
                                rd("RR47312482", false, NULL)};
    struct wcs_read bad_check[1] = {rd("RR473124828GB", false, &f->p1)};
    struct wcs_decision d;

    assert_int_equal(decide(f, s10_lp, 2, &d), CONV_REASON_OK);
    assert_int_equal(d.read, 0);
    assert_ptr_equal(d.parcel, &f->p1);
    assert_int_equal(decide(f, twice, 2, &d), CONV_REASON_UNKNOWN);
    assert_int_equal(decide(f, noise, 3, &d), CONV_REASON_OK);
    assert_int_equal(d.read, 1);
    /* Pre-advised under a code that fails its check digit: the pre-advice wins. */
    assert_int_equal(decide(f, bad_check, 1, &d), CONV_REASON_OK);
}

/* 4. Only invalid codes read. */
static void test_invalid(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[2] = {rd("", false, NULL), rd("RR473124828GB", false, NULL)};
    struct wcs_decision d;

    assert_int_equal(decide(f, r, 2, &d), CONV_REASON_INVALID);
    assert_string_equal(d.destination, "SI");
    assert_int_equal(d.read, 1);
    assert_null(d.parcel);
}

/* 5. A valid code without pre-advice. */
static void test_unknown(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[2] = {rd("XX", false, NULL), rd("RR473124829GB", true, NULL)};
    struct wcs_decision d;

    assert_int_equal(decide(f, r, 2, &d), CONV_REASON_UNKNOWN);
    assert_string_equal(d.destination, "SU");
    assert_int_equal(d.read, 1);
    assert_null(d.parcel);
}

/* 6. Customs held or blocked; pending and none are sorted. */
static void test_customs_hold(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decision d;

    f->p1.customs = CUST_STATUS_HELD;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_CUSTHOLD);
    assert_string_equal(d.destination, "SC");
    assert_ptr_equal(d.parcel, &f->p1);
    f->p1.customs = CUST_STATUS_BLOCKED;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_CUSTHOLD);
    f->p1.customs = CUST_STATUS_PENDING;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    /* Customs comes before oversize. */
    f->p1.customs = CUST_STATUS_HELD;
    f->p1.weight_g = 40000;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_CUSTHOLD);
}

/* 7. Weight and size: measured values when non-zero, else pre-advice;
 * sides compared without regard to orientation. */
static void test_oversize(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decide_input in = {r, 1, 0, 0, 0, 0, 0};
    struct wcs_decision d;

    f->p1.weight_g = 31501;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OVERSIZE);
    assert_string_equal(d.destination, "SO");
    in.weight_g = 31500; /* measured: within the limit, wins over pre-advice */
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_OK);
    f->p1.weight_g = 1000;
    in.weight_g = 32000; /* measured over */
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_OVERSIZE);

    in.weight_g = 0;
    f->p1.length_mm = 700, f->p1.width_mm = 1100, f->p1.height_mm = 300; /* turned: fits */
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_OK);
    f->p1.length_mm = 900, f->p1.width_mm = 900, f->p1.height_mm = 100; /* 900 > 800 */
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_OVERSIZE);
    in.length_mm = 1000, in.width_mm = 500, in.height_mm = 400; /* measured: fits */
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_OK);
    in.length_mm = 1201;
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_OVERSIZE);
}

/* A zero limit is no limit. */
static void test_oversize_no_limits(void **state)
{
    struct fixture *f = *state;
    struct wcs_plan *p;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decision d;
    char text[sizeof(plan_text) + 64];
    char *s;

    /* The same plan with every limit 0. */
    snprintf(text, sizeof(text), "%s", plan_text);
    for (s = strstr(text, "31500"); s != NULL; s = NULL)
        memcpy(s, "00000", 5);
    for (s = strstr(text, ",1200\n"); s != NULL; s = NULL)
        memcpy(s, ",0000\n", 6);
    while ((s = strstr(text, ",800\n")) != NULL)
        memcpy(s, ",000\n", 5);
    p = parse(text);
    assert_int_equal(wcs_plan_max_weight_g(p), 0);
    assert_ptr_equal(wcs_engine_set_plan(f->eng, p), f->plan);
    f->p1.weight_g = 99000;
    f->p1.length_mm = 5000;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_ptr_equal(wcs_engine_set_plan(f->eng, f->plan), p);
    wcs_plan_free(p);
}

/* 8. No rule matches, not for Russia, or no postal code. */
static void test_noroute(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decision d;

    f->p1.postal = 500000;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_NOROUTE);
    assert_string_equal(d.destination, "SR");
    assert_int_equal(d.route, -1);
    f->p1.postal = 101000;
    memcpy(f->p1.country, "KZ", 2);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_NOROUTE);
    memcpy(f->p1.country, "RU", 2);
    f->p1.postal = WCS_POSTAL_NONE;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_NOROUTE);
    /* Service selects: rule 600-699 is for EMS only. */
    f->p2 = mkparcel(2, 690000, "ECONOMY");
    r[0].parcel = &f->p2;
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_NOROUTE);
    memcpy(f->p2.service, "EMS\0\0\0\0\0", 8);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "C1");
}

/* The weight used for matching is the measured one when there is one. */
static void test_match_uses_measured_weight(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decide_input in = {r, 1, 0, 0, 0, 0, 0};
    struct wcs_decision d;

    f->p1.postal = 300100;
    f->p1.weight_g = 900;
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.route, wcs_plan_route_find(f->plan, "R3"));
    in.weight_g = 1500;
    assert_int_equal(wcs_engine_decide(f->eng, &in, true, &d), 0);
    assert_int_equal(d.route, wcs_plan_route_find(f->plan, "R1"));
}

/* 9. Least load among ACTIVE chutes, ties to the first listed; dry runs
 * change nothing. */
static void test_load_balancing(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decide_input in = {r, 1, 0, 0, 0, 0, 0};
    const char *expect[] = {"A1", "A2", "A3", "A1", "A2", "A3"};
    struct wcs_decision d;
    size_t i;

    for (i = 0; i < 6; i++) {
        assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
        assert_string_equal(d.destination, expect[i]);
    }
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "A1"))->load, 2);
    /* Dry runs: the same answer every time, loads untouched. */
    for (i = 0; i < 3; i++) {
        assert_int_equal(wcs_engine_decide(f->eng, &in, false, &d), 0);
        assert_string_equal(d.destination, "A1");
    }
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "A1"))->load, 2);
    /* A FULL chute gets nothing; after emptying it is preferred (load 0). */
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "A1", WCS_CHUTE_FULL), 0);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "A2");
    assert_int_equal(wcs_engine_chute_emptied(f->eng, "A1"), 0);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "A1"))->state, WCS_CHUTE_ACTIVE);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "A1"))->load, 0);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "A1");
    /* Emptying a DISABLED chute resets its load but does not enable it. */
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "A3", WCS_CHUTE_DISABLED), 0);
    assert_int_equal(wcs_engine_chute_emptied(f->eng, "A3"), 0);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "A3"))->state, WCS_CHUTE_DISABLED);
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "NOPE", WCS_CHUTE_FULL), ERR_NOTFOUND);
    assert_int_equal(wcs_engine_chute_emptied(f->eng, "NOPE"), ERR_NOTFOUND);
}

/* 9. Whole group unavailable -> fallback route; that too -> chute_full. */
static void test_fallback_and_chute_full(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decision d;
    int r1 = wcs_plan_route_find(f->plan, "R1"), r2 = wcs_plan_route_find(f->plan, "R2");

    assert_int_equal(wcs_engine_set_chute_state(f->eng, "A1", WCS_CHUTE_FULL), 0);
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "A2", WCS_CHUTE_DISABLED), 0);
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "A3", WCS_CHUTE_FAULT), 0);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "B1");
    assert_int_equal(d.route, r2);
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "B1", WCS_CHUTE_FULL), 0);
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "B2", WCS_CHUTE_FULL), 0);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_CHFULL);
    assert_string_equal(d.destination, "SF");
    assert_int_equal(d.route, r1);
    /* A route without fallback goes straight to chute_full. */
    f->p2 = mkparcel(2, 690000, "EMS");
    r[0].parcel = &f->p2;
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "C1", WCS_CHUTE_DISABLED), 0);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_CHFULL);
    assert_string_equal(conv_reason_code(d.reason), "CHFULL__");
}

/* A special destination with every chute unavailable -> default exit. */
static void test_special_to_default_exit(void **state)
{
    struct fixture *f = *state;
    struct wcs_decision d;

    assert_int_equal(wcs_engine_set_chute_state(f->eng, "SN", WCS_CHUTE_FULL), 0);
    assert_int_equal(decide(f, NULL, 0, &d), CONV_REASON_NOREAD);
    assert_int_equal(d.chute, -1);
    assert_string_equal(d.destination, "EOL");
    /* And chute_full whose own chute is full, likewise. */
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "SF", WCS_CHUTE_FULL), 0);
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "C1", WCS_CHUTE_FULL), 0);
    {
        struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p2)};
        assert_int_equal(decide(f, r, 1, &d), CONV_REASON_CHFULL);
        assert_int_equal(d.chute, -1);
        assert_string_equal(d.destination, "EOL");
    }
}

/* Special destinations balance load like routes and are counted. */
static void test_special_load(void **state)
{
    struct fixture *f = *state;
    struct wcs_decision d;

    assert_int_equal(decide(f, NULL, 0, &d), CONV_REASON_NOREAD);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "SN"))->load, 1);
}

/* Plan swap: states and loads follow chute ids; new chutes start ACTIVE. */
static void test_plan_swap(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decision d;
    struct wcs_plan *p2;
    char text[sizeof(plan_text) + 256];
    int i;

    assert_int_equal(wcs_engine_set_chute_state(f->eng, "A1", WCS_CHUTE_FULL), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK); /* A2, A3, A2 */
    /* The new plan lists chutes in another order and adds A4 to R1. */
    snprintf(text, sizeof(text), "%s", plan_text);
    memcpy(strstr(text, "chute,A1\nchute,A2\n"), "chute,A2\nchute,A1\n", 18);
    memcpy(strstr(text, "A1 A2 A3,"), "A4 A2 A1,", 9);
    strcat(text, "chute,A4\n");
    p2 = parse(text);
    assert_ptr_equal(wcs_engine_set_plan(f->eng, p2), f->plan);
    assert_ptr_equal(wcs_engine_plan(f->eng), p2);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)wcs_plan_chute_find(p2, "A1"))->state,
                     WCS_CHUTE_FULL);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)wcs_plan_chute_find(p2, "A2"))->load, 2);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)wcs_plan_chute_find(p2, "A4"))->load, 0);
    assert_string_equal(wcs_engine_chute(f->eng, (size_t)wcs_plan_chute_find(p2, "A4"))->id, "A4");
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "A4");
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "A4"); /* load 1 < A2's 2 */
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "A4"); /* tie with A2 at 2: A4 is listed first */
    /* Back to the first plan: A3 (declared in both) kept its load, A4 is gone. */
    assert_ptr_equal(wcs_engine_set_plan(f->eng, f->plan), p2);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "A3"))->load, 1);
    assert_int_equal(wcs_engine_chute(f->eng, (size_t)chute(f, "A1"))->state, WCS_CHUTE_FULL);
    assert_null(wcs_engine_chute(f->eng, wcs_plan_nchutes(f->plan)));
    wcs_plan_free(p2);
}

/* An operator's hold: the chute takes nothing whatever the PLC says, shows
 * as disabled_operator, and holds across plans, also for a chute the plan
 * of the moment lacks. */
static void test_operator_hold(void **state)
{
    struct fixture *f = *state;
    struct wcs_read r[1] = {rd("RR473124829GB", true, &f->p1)};
    struct wcs_decision d;
    struct wcs_plan *p2;
    char text[sizeof(plan_text) + 256];
    int i;

    assert_int_equal(wcs_engine_set_chute_held(f->eng, "A1", true), 0);
    assert_string_equal(wcs_chute_status_name(wcs_engine_chute(f->eng, (size_t)chute(f, "A1"))),
                        "disabled_operator");
    /* The PLC says active: still held. */
    assert_int_equal(wcs_engine_set_chute_state(f->eng, "A1", WCS_CHUTE_ACTIVE), 0);
    for (i = 0; i < 4; i++) {
        assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
        assert_string_not_equal(d.destination, "A1");
    }
    /* A chute of no plan yet: the hold waits for it. */
    assert_int_equal(wcs_engine_set_chute_held(f->eng, "A4", true), ERR_NOTFOUND);
    snprintf(text, sizeof(text), "%s", plan_text);
    memcpy(strstr(text, "A1 A2 A3,"), "A4 A2 A1,", 9);
    strcat(text, "chute,A4\n");
    p2 = parse(text);
    wcs_engine_set_plan(f->eng, p2);
    assert_true(wcs_engine_chute(f->eng, (size_t)wcs_plan_chute_find(p2, "A4"))->held);
    assert_true(wcs_engine_chute(f->eng, (size_t)wcs_plan_chute_find(p2, "A1"))->held);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "A2"); /* A4 and A1 held */
    /* Enabled: A1 takes parcels again. */
    assert_int_equal(wcs_engine_set_chute_held(f->eng, "A1", false), 0);
    assert_int_equal(wcs_engine_set_chute_held(f->eng, "A4", false), 0);
    assert_int_equal(decide(f, r, 1, &d), CONV_REASON_OK);
    assert_string_equal(d.destination, "A4"); /* load 0, listed first */
    assert_string_equal(wcs_chute_status_name(wcs_engine_chute(f->eng, (size_t)wcs_plan_chute_find(p2, "A1"))),
                        "active");
    wcs_engine_set_plan(f->eng, f->plan);
    wcs_plan_free(p2);
}

static void test_no_plan(void **state)
{
    struct wcs_engine *eng = wcs_engine_new();
    struct wcs_decide_input in = {NULL, 0, 0, 0, 0, 0, 0};
    struct wcs_decision d;
    enum wcs_chute_state st;
    (void)state;

    assert_int_equal(wcs_engine_decide(eng, &in, true, &d), ERR_STATE);
    assert_int_equal(wcs_engine_set_chute_state(eng, "A1", WCS_CHUTE_FULL), ERR_NOTFOUND);
    assert_null(wcs_engine_chute(eng, 0));
    assert_string_equal(wcs_chute_state_name(WCS_CHUTE_DISABLED), "disabled");
    assert_int_equal(wcs_chute_state_parse("FAULT", &st), 0);
    assert_int_equal(st, WCS_CHUTE_FAULT);
    assert_int_equal(wcs_chute_state_parse("broken", &st), ERR_PARSE);
    wcs_engine_free(eng);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* The shipped sample plan parses cleanly and routes as documented. */
static void test_sample_plan(void **state)
{
    struct wcs_engine *eng = wcs_engine_new();
    struct wcs_plan *plan;
    struct wcs_decision d;
    struct wcs_parcel p;
    struct wcs_read r[1];
    struct wcs_decide_input in = {r, 1, 0, 0, 0, 0, 0};
    char path[4096];
    size_t len, i;
    char *text;
    static const struct {
        uint32_t postal;
        const char *service;
        uint32_t weight_g;
        const char *route;
    } cases[] = {
        {630099, "STANDARD", 1200, "RU-OVB-AIR"}, {690000, "STANDARD", 1200, "RU-POG-ROAD"},
        {101000, "EMS", 800, "RU-MOW-AIR"},       {101000, "ECONOMY", 800, "RU-ZAB-RAIL"},
        {680000, "ECONOMY", 800, "RU-NLL-RAIL"},  {672000, "EMS", 800, "RU-ZAB-ROAD"},
        {677000, "ECONOMY", 800, "RU-BQS-ROAD"},  {190000, "STANDARD", 25000, "RU-ZAB-RAIL"},
    };
    (void)state;

    testdb_source_path("data/sortplan-sample.csv", path, sizeof(path));
    text = read_file(path, &len);
    plan = parse(text);
    free(text);
    wcs_engine_set_plan(eng, plan);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct wcs_plan_route *route;
        int k, in_group = 0;
        p = mkparcel((int64_t)i + 1, cases[i].postal, cases[i].service);
        p.weight_g = cases[i].weight_g;
        r[0] = rd("RR473124829GB", true, &p);
        assert_int_equal(wcs_engine_decide(eng, &in, true, &d), 0);
        assert_int_equal(d.reason, CONV_REASON_OK);
        route = wcs_plan_route(plan, (size_t)d.route);
        assert_string_equal(route->id, cases[i].route);
        for (k = 0; k < route->nchutes; k++)
            in_group |= route->chutes[k] == d.chute;
        assert_true(in_group);
    }
    p = mkparcel(99, 999000, "EMS");
    r[0] = rd("RR473124829GB", true, &p);
    assert_int_equal(wcs_engine_decide(eng, &in, true, &d), 0);
    assert_int_equal(d.reason, CONV_REASON_NOROUTE);
    assert_string_equal(d.destination, "SP-NOROUTE");
    wcs_engine_free(eng);
    wcs_plan_free(plan);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ok_route),
        T(test_recirc_limit),
        T(test_noread),
        T(test_multiread),
        T(test_one_parcel_many_reads),
        T(test_invalid),
        T(test_unknown),
        T(test_customs_hold),
        T(test_oversize),
        T(test_oversize_no_limits),
        T(test_noroute),
        T(test_match_uses_measured_weight),
        T(test_load_balancing),
        T(test_fallback_and_chute_full),
        T(test_special_to_default_exit),
        T(test_special_load),
        T(test_plan_swap),
        T(test_operator_hold),
        cmocka_unit_test(test_no_plan),
        cmocka_unit_test(test_sample_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

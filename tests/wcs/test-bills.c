/*
 * test-bills.c - a dispatch's delivery bill read as a reader would (issue
 * 12): pages of 30 receptacles with the totals carried forward and brought
 * forward, the final totals (pdftotext), the form by transport (CN 38 air,
 * CN 37 surface), the CSV, and an open dispatch refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/common/proc.h"
#include "wcs/core/bill.h"
#include "wcs/render/bill_pdf.h"

#define NBAGS 65

static struct wcs_manifest_bag bags[NBAGS];

/* 65 bags of RU-ZAB-RAIL: bag i weighs 1000 + 10 i g and holds i % 7 + 1 parcels. */
static void sample(struct wcs_manifest *m, const char *transport)
{
    size_t i;

    memset(m, 0, sizeof(*m));
    snprintf(m->manifest_id, sizeof(m->manifest_id), "HRB-20261208-ZAB-001");
    snprintf(m->route, sizeof(m->route), "RU-ZAB-RAIL");
    snprintf(m->transport, sizeof(m->transport), "%s", transport);
    snprintf(m->border_crossing, sizeof(m->border_crossing), "Manzhouli-Zabaykalsk");
    snprintf(m->departure, sizeof(m->departure), "2026-12-08T18:00:00+08:00");
    snprintf(m->carrier, sizeof(m->carrier), "RZD Logistics, Zabaykalsk");
    snprintf(m->status, sizeof(m->status), "closed");
    for (i = 0; i < NBAGS; i++) {
        memset(&bags[i], 0, sizeof(bags[i]));
        snprintf(bags[i].bag_id, sizeof(bags[i].bag_id), "CNHRBARUOVBACUN6%04d%03zu00%04zu", 1,
                 i + 1, (1000 + 10 * i + 50) / 100);
        bags[i].gross_weight_g = (int)(1000 + 10 * i);
        bags[i].nparcels = i % 7 + 1;
    }
    m->bags = bags;
    m->nbags = NBAGS;
}

static void test_pages(void **state)
{
    struct wcs_manifest m;
    struct wcs_bill_page *p;
    size_t n;
    struct err e;

    (void)state;
    sample(&m, "rail");
    assert_int_equal(wcs_bill_pages(&m, 30, &p, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(p[0].n, 30);
    assert_int_equal(p[2].first, 60);
    assert_int_equal(p[2].n, 5);
    assert_int_equal(p[1].brought.receptacles, 30);
    assert_int_equal(p[1].brought.weight_g, p[0].carried.weight_g);
    assert_int_equal(p[2].carried.receptacles, NBAGS);
    /* sum of 1000 + 10 i for i < 65, and of i % 7 + 1 */
    assert_int_equal(p[2].carried.weight_g, 65 * 1000 + 10 * (64 * 65 / 2));
    assert_int_equal(p[2].carried.parcels, 9 * 28 + (1 + 2));
    free(p);
    m.nbags = 0;
    assert_int_equal(wcs_bill_pages(&m, 30, &p, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].n, 0);
    free(p);
    assert_string_equal(wcs_bill_form("air"), "CN 38");
    assert_string_equal(wcs_bill_form("rail"), "CN 37");
    assert_string_equal(wcs_bill_form("road"), "CN 37");
}

static void test_csv(void **state)
{
    struct wcs_manifest m;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct err e;
    int lines = 0;
    char *p;

    (void)state;
    sample(&m, "air");
    assert_int_equal(wcs_bill_csv(&m, f, &e), 0);
    fclose(f);
    for (p = text; *p != '\0'; p++)
        lines += *p == '\n';
    assert_int_equal(lines, NBAGS + 2);
    assert_non_null(strstr(text, "CN 38,HRB-20261208-ZAB-001,RU-ZAB-RAIL,air,"));
    /* the carrier's comma quoted */
    assert_non_null(strstr(text, ",2026-12-08T18:00:00+08:00,\"RZD Logistics, Zabaykalsk\",1,"));
    assert_non_null(strstr(text, ",total,65 receptacles,85800,255\n"));
    free(text);
}

static void test_pdf_read_back(void **state)
{
    struct wcs_manifest m;
    unsigned char *pdf;
    size_t len;
    struct err e;
    char dir[] = "/tmp/wcs-bill-XXXXXX", path[64];
    struct proc_result r;
    FILE *f;

    (void)state;
    sample(&m, "rail");
    assert_int_equal(wcs_bill_pdf(&m, &pdf, &len, &e), 0);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/bill.pdf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(pdf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(pdf);
    {
        const char *argv[] = {"/usr/bin/pdfinfo", path, NULL};
        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "Pages:           3"));
        assert_non_null(strstr(r.out, "595.276 x 841.89 pts (A4)"));
        proc_result_free(&r);
    }
    {
        const char *argv[] = {"/usr/bin/pdftotext", "-layout", path, "-", NULL};
        char want[96];

        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "CN 37 Delivery bill (surface mail)"));
        assert_non_null(strstr(r.out, "page 1 of 3"));
        assert_non_null(strstr(r.out, "Новосибирск"));
        assert_non_null(strstr(r.out, "Manzhouli-Zabaykalsk"));
        assert_non_null(strstr(r.out, "carrier RZD Logistics, Zabaykalsk"));
        /* Page 1 carries 30 receptacles: 30 x 1000 + 10 x (0..29) g = 34,350 g. */
        assert_non_null(strstr(r.out, "Carried forward: 30 receptacle(s)"));
        assert_non_null(strstr(r.out, "34.3"));
        assert_non_null(strstr(r.out, "Brought forward: 60 receptacle(s)"));
        snprintf(want, sizeof(want), "Total: %d receptacle(s)", NBAGS);
        assert_non_null(strstr(r.out, want));
        assert_non_null(strstr(r.out, "85.8")); /* 85,800 g */
        assert_non_null(strstr(r.out, bags[64].bag_id));
        proc_result_free(&r);
    }
    unlink(path);
    rmdir(dir);
    /* An open dispatch has no bill yet. */
    snprintf(m.status, sizeof(m.status), "open");
    assert_int_equal(wcs_bill_pdf(&m, &pdf, &len, &e), ERR_STATE);
    assert_non_null(strstr(e.msg, "still open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_pdf_read_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

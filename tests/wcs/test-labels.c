/*
 * test-labels.c - a bag's label read as a reader would (issue 12): the
 * receptacle id parsed back to its fields (and refused when it does not
 * parse), the ZPL checked field by field, the PDF rasterised (pdftoppm)
 * and its barcode read back with ZBar (zbarimg) to the exact receptacle
 * id, its text extracted (pdftotext) with the cities in Latin and
 * Cyrillic.
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
#include "wcs/core/label.h"
#include "wcs/render/label_pdf.h"

#define ID "CNHRBARUOVBACUN60001001000701"

static void sample(struct wcs_bag_label *l)
{
    struct err e;

    memset(l, 0, sizeof(*l));
    snprintf(l->bag_id, sizeof(l->bag_id), "%s", ID);
    assert_int_equal(wcs_receptacle_parse(ID, &l->r, &e), 0);
    snprintf(l->route, sizeof(l->route), "RU-ZAB-RAIL");
    snprintf(l->mode, sizeof(l->mode), "rail");
    snprintf(l->crossing, sizeof(l->crossing), "Manzhouli-Zabaykalsk");
    snprintf(l->closed_at, sizeof(l->closed_at), "2026-12-07 13:19");
    l->parcels = 140;
    l->weight_g = 70050;
}

static void test_receptacle_parse(void **state)
{
    struct wcs_receptacle r;
    struct err e;

    (void)state;
    assert_int_equal(wcs_receptacle_parse(ID, &r, &e), 0);
    assert_string_equal(r.origin, "CNHRBA");
    assert_string_equal(r.dest, "RUOVBA");
    assert_int_equal(r.category, 'C');
    assert_string_equal(r.subclass, "UN");
    assert_int_equal(r.year, 6);
    assert_int_equal(r.dispatch_no, 1);
    assert_int_equal(r.serial, 1);
    assert_int_equal(r.last, 0);
    assert_int_equal(r.weight_g, 70100);
    assert_int_equal(wcs_receptacle_parse("CNHRBARUOVBACUN6000100100070", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "28 characters"));
    assert_int_equal(wcs_receptacle_parse("CNHRBARUOVBACUN6000100120070X", &r, &e), ERR_INVALID);
    assert_int_equal(wcs_receptacle_parse("CNHRBARUOVBACUN60001001200701", &r, &e), ERR_INVALID);
    assert_int_equal(wcs_receptacle_parse("CNHRBARUOVBAZUN60001001000701", &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "category"));
}

static void test_zpl(void **state)
{
    struct wcs_bag_label l;
    char *zpl;
    size_t len;
    struct err e;

    (void)state;
    sample(&l);
    assert_int_equal(wcs_label_zpl(&l, &zpl, &len, &e), 0);
    assert_int_equal(strlen(zpl), len);
    assert_int_equal(strncmp(zpl, "^XA\n^CI28\n^PW800\n^LL1200\n", 25), 0);
    assert_non_null(strstr(zpl, "^BCN,200,Y,N,N^FD" ID "^FS"));
    assert_non_null(strstr(zpl, "^FDTO RUOVBA^FS"));
    assert_non_null(strstr(zpl, "^FDNovosibirsk / Новосибирск^FS"));
    assert_non_null(strstr(zpl, "^FDCAT C surface  SUBCLASS UN^FS"));
    assert_non_null(strstr(zpl, "^FDDISPATCH 0001  YEAR 2026^FS"));
    assert_non_null(strstr(zpl, "^FDRECEPTACLE 001^FS"));
    assert_non_null(strstr(zpl, "^FDWEIGHT 70.0 kg  PARCELS 140^FS"));
    assert_non_null(strstr(zpl, "^FDROUTE RU-ZAB-RAIL  Manzhouli-Zabaykalsk^FS"));
    assert_int_equal(strcmp(zpl + len - 4, "^XZ\n"), 0);
    free(zpl);
    /* The last receptacle says so. */
    l.r.last = 1;
    assert_int_equal(wcs_label_zpl(&l, &zpl, &len, &e), 0);
    assert_non_null(strstr(zpl, "^FDRECEPTACLE 001  LAST^FS"));
    free(zpl);
    /* An office the table lacks is refused, not printed half. */
    memcpy(l.r.dest, "RUXXXA", 6);
    assert_int_equal(wcs_label_zpl(&l, &zpl, &len, &e), ERR_INVALID);
    assert_null(zpl);
    assert_non_null(strstr(e.msg, "RUXXXA"));
}

static void test_pdf_read_back(void **state)
{
    struct wcs_bag_label l;
    unsigned char *pdf;
    size_t len;
    struct err e;
    char dir[] = "/tmp/wcs-label-XXXXXX", path[64], png[64], stem[64];
    struct proc_result r;
    FILE *f;

    (void)state;
    sample(&l);
    assert_int_equal(wcs_label_pdf(&l, &pdf, &len, &e), 0);
    assert_true(len > 1000);
    assert_memory_equal(pdf, "%PDF-", 5);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/label.pdf", dir);
    snprintf(stem, sizeof(stem), "%s/label", dir);
    snprintf(png, sizeof(png), "%s/label.png", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(pdf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(pdf);
    {   /* 100 x 150 mm: one page of 283 x 425 pt */
        const char *argv[] = {"/usr/bin/pdfinfo", path, NULL};
        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "Pages:           1"));
        assert_non_null(strstr(r.out, "283.465 x 425.197 pts"));
        proc_result_free(&r);
    }
    {   /* The barcode, rasterised at a thermal printer's 203 dpi, read back. */
        const char *argv[] = {"/usr/bin/pdftoppm", "-r", "203", "-png", "-singlefile", path,
                              stem, NULL};
        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
    }
    {
        const char *argv[] = {"/usr/bin/zbarimg", "-q", "--raw", png, NULL};
        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, ID "\n");
        proc_result_free(&r);
    }
    {   /* The words, as pdftotext reads them. */
        const char *argv[] = {"/usr/bin/pdftotext", "-layout", path, "-", NULL};
        proc_run(argv, NULL, 30, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "TO RUOVBA"));
        assert_non_null(strstr(r.out, "Novosibirsk"));
        assert_non_null(strstr(r.out, "Новосибирск"));
        assert_non_null(strstr(r.out, "Харбин"));
        assert_non_null(strstr(r.out, "Receptacle 001"));
        assert_non_null(strstr(r.out, "Weight 70.0 kg"));
        assert_non_null(strstr(r.out, "Parcels 140"));
        assert_non_null(strstr(r.out, "Manzhouli-Zabaykalsk"));
        assert_non_null(strstr(r.out, "CNHRBA RUOVBA CUN 60001 001 00 0701"));
        proc_result_free(&r);
    }
    unlink(path);
    unlink(png);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receptacle_parse),
        cmocka_unit_test(test_zpl),
        cmocka_unit_test(test_pdf_read_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

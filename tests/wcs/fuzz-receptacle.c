/*
 * fuzz-receptacle.c - libFuzzer entry point for a UPU receptacle id read
 * back into its fields (wcs_receptacle_parse, wcs/core/label.c: what a bag
 * label and `wcsctl bag label` take), docs/fuzzing.md.
 *
 * Beyond "no crash" it checks: 0 or ERR_INVALID with one printable line;
 * an id parsed formats back to exactly itself (wcs_receptacle_format), and
 * its label's ZPL is made and carries the id in its barcode field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/fuzzutil.h"
#include "wcs/core/label.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[64], again[WCS_RECEPTACLE_LEN + 1], want[64];
    struct wcs_bag_label l;
    struct err e = {0};
    char *zpl = NULL;
    size_t len;
    int rc;

    if (size >= sizeof(id))
        return 0;
    memcpy(id, data, size);
    id[size] = '\0';
    memset(&l, 0, sizeof(l));
    rc = wcs_receptacle_parse(id, &l.r, &e);
    if (rc != 0) {
        if (rc != ERR_INVALID || e.msg[0] == '\0')
            abort();
        fuzz_check_text(e.msg, ERR_MSG_MAX - 1);
        return 0;
    }
    if (wcs_receptacle_format(&l.r, again, &e) != 0 || strcmp(again, id) != 0)
        abort();
    memcpy(l.bag_id, id, sizeof(l.bag_id));
    rc = wcs_label_zpl(&l, &zpl, &len, &e);
    if (rc == 0) {
        snprintf(want, sizeof(want), "^FD%s^FS", id);
        if (strstr(zpl, want) == NULL || strlen(zpl) != len)
            abort();
    } else if (rc != ERR_INVALID) { /* an office the table lacks */
        abort();
    }
    free(zpl);
    return 0;
}

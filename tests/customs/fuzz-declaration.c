/*
 * fuzz-declaration.c - libFuzzer entry point for cust_decl_decode().
 *
 * Built only with Clang (-fsanitize=fuzzer); see tests/customs/CMakeLists.txt.
 * Beyond "no crash, no sanitizer report": the return code is one of the
 * documented ones with a message when it fails, every decoded declaration can
 * be validated, and its encoding decodes again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "customs/declaration.h"
#include "customs/validate.h"

/* libFuzzer looks this symbol up by name; it has no header of ours. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cust_decl d, d2;
    struct cust_problems p = CUST_PROBLEMS_INIT;
    struct err e = {0};
    char *out = NULL;
    int rc = cust_decl_decode((const char *)data, size, &d, &e);

    if (rc != 0 && rc != ERR_PARSE && rc != ERR_INVALID)
        abort();
    if (rc != 0 && e.msg[0] == '\0')
        abort();
    if (rc == 0) {
        rc = cust_validate(&d, "2026-11-23", &p);
        if (rc != 0 && rc != ERR_INVALID)
            abort();
        if ((rc == ERR_INVALID) != (p.errors > 0))
            abort();
        cust_problems_free(&p);
        if (cust_decl_encode(&d, &out, &e) == 0) {
            if (cust_decl_decode(out, strlen(out), &d2, &e) != 0)
                abort();
            cust_decl_free(&d2);
            free(out);
        }
    }
    cust_decl_free(&d);
    return 0;
}

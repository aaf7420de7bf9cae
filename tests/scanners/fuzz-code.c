/*
 * fuzz-code.c - libFuzzer entry point for scan_code_check().
 *
 * Built only with Clang (-fsanitize=fuzzer); see tests/scanners/CMakeLists.txt.
 * Run: ./fuzz-code -max_len=64 corpus/. Beyond "no crash, no sanitizer
 * report", it checks the contract of scan_code_check(): the return value
 * agrees with out->valid, the reason is empty exactly when valid, and a valid
 * code always has a known kind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanners/scanners.h"

/* libFuzzer looks this symbol up by name; it has no header of ours. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scan_code_info info;
    int rc = scan_code_check((const char *)data, size, &info);

    if (rc != 0 && rc != ERR_INVALID)
        abort();
    if ((rc == 0) != info.valid)
        abort();
    if (memchr(info.reason, '\0', sizeof(info.reason)) == NULL)
        abort();
    if (info.valid && (info.reason[0] != '\0' || info.kind == SCAN_CODE_UNKNOWN))
        abort();
    if (!info.valid && info.reason[0] == '\0')
        abort();
    return 0;
}

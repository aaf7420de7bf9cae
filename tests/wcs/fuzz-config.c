/*
 * fuzz-config.c - libFuzzer entry point for the config loader
 * (wcs_config_load_stream: wcsd.yaml), docs/fuzzing.md.
 *
 * The input is the file. Beyond "no crash, no sanitizer report" (libyaml is
 * not instrumented, the tree building and the validation are), it checks:
 *  - the load ends in 0 with no message, or ERR_CONFIG with at least one;
 *    every message is one printable line naming the file;
 *  - a config that loads keeps its documented bounds: counts within their
 *    maxima, every string NUL-terminated in its buffer, the PLC entries'
 *    ids 5 characters and their ports in range.
 * It never reads the files a config names (password or token files).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/common/fuzzutil.h"
#include "wcs/config/config.h"

#define TERMINATED(s) (strnlen((s), sizeof(s)) < sizeof(s))

static void check_config(const struct wcs_config *c)
{
    int i;

    if (!TERMINATED(c->node) || strlen(c->node) != 5 || !TERMINATED(c->db_conninfo) ||
        c->db_conninfo[0] == '\0' || !TERMINATED(c->db_password_file) ||
        !TERMINATED(c->http_listen) || !TERMINATED(c->spool_path) ||
        !TERMINATED(c->customs.broker_url) || !TERMINATED(c->customs.token_file))
        abort();
    if (c->http_port < 0 || c->http_port > 65535 || c->nplcs < 0 || c->nplcs > WCS_PLC_MAX ||
        c->nscanners < 0 || c->nscanners > WCS_SCANNER_MAX)
        abort();
    for (i = 0; i < c->nplcs; i++) {
        const struct wcs_plc_config *p = &c->plcs[i];

        if (!TERMINATED(p->id) || strlen(p->id) != 5 || p->port < 0 || p->port > 65535 ||
            p->nlocations < 0 || p->nlocations > WCS_PLC_LOCATIONS_MAX ||
            p->nallow > CONV_PEER_ALLOW_MAX || p->telegram_len < 128 || p->telegram_len > 1024)
            abort();
    }
    for (i = 0; i < c->nscanners; i++)
        if (!TERMINATED(c->scanners[i].id) || c->scanners[i].id[0] == '\0')
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wcs_config c; /* large: not on the stack */
    struct diag d = DIAG_INIT;
    struct err e = {0};
    char *copy;
    FILE *fp = fuzz_open(data, size, &copy);
    int rc = wcs_config_load_stream(fp, "fuzz.yaml", &c, &d, &e);

    fuzz_close(fp, copy);
    if (rc == 0) {
        if (diag_count(&d) != 0)
            abort();
        check_config(&c);
    } else if (rc != ERR_CONFIG || diag_count(&d) == 0) {
        abort();
    }
    fuzz_check_diag(&d, "fuzz.yaml:");
    diag_free(&d);
    return 0;
}

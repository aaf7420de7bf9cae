/*
 * fuzz-console-route.c - libFuzzer entry point for the console's routes
 * (console_route_of, wcs/daemon/console_routes.c), docs/fuzzing.md.
 *
 * The input is "METHOD PATH" (the first byte picks GET or POST, the rest
 * is the path, cut at a NUL). Beyond "no crash" it checks: the id taken
 * from a path is NUL-terminated, shorter than CONSOLE_ARG_MAX, printable
 * ASCII without blank or '/', and appears in the path; a POST never lands on a page or the stream;
 * an action (POST) always needs a role; a path that is not the console's
 * gives C_NONE and no id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/fuzzutil.h"
#include "wcs/daemon/console_routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char url[1024], arg[CONSOLE_ARG_MAX];
    const char *method;
    enum console_route r;
    int min_role;
    size_t n;

    if (size == 0)
        return 0;
    method = data[0] & 1 ? "POST" : "GET";
    n = size - 1 < sizeof(url) - 1 ? size - 1 : sizeof(url) - 1;
    memcpy(url, data + 1, n);
    url[n] = '\0';
    memset(arg, 'x', sizeof(arg));
    r = console_route_of(method, url, arg, &min_role);
    if (strnlen(arg, sizeof(arg)) == sizeof(arg) || strchr(arg, '/') != NULL)
        abort();
    for (n = 0; arg[n] != '\0'; n++)
        if ((unsigned char)arg[n] <= 0x20 || (unsigned char)arg[n] >= 0x7F)
            abort();
    if (r == C_NONE && arg[0] != '\0')
        abort();
    if (arg[0] != '\0' && strstr(url, arg) == NULL && strcmp(arg, "index.html") != 0)
        abort();
    if (method[0] == 'P' && (r == C_PAGE || r == C_STREAM || min_role < 0) && r != C_NONE)
        abort();
    return 0;
}

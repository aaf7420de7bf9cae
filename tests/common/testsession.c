/*
 * testsession.c - a console user's requests to a test's wcsd (testsession.h).
 */
#include "tests/common/testsession.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "tests/common/testutil.h"

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
    struct tsess_call *c = arg;
    size_t len = size * n;

    if (len > 12 && strncasecmp(p, "Set-Cookie: ", 12) == 0)
        snprintf(c->set_cookie, sizeof(c->set_cookie), "%.*s", (int)(len - 12), p + 12);
    return len;
}

long tsess_send(const struct twcsd *w, struct tsess_call *c)
{
    char url[256], hdr[128], cookie[128];
    struct curl_slist *h = NULL;
    struct tu_body b = {NULL, 0};
    CURL *k = curl_easy_init();

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", w->http_port, c->path);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, c);
    if (c->body != NULL) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, c->body);
        h = curl_slist_append(h, "Content-Type: application/json");
    }
    if (c->csrf != NULL) {
        snprintf(hdr, sizeof(hdr), "X-CSRF-Token: %s", c->csrf);
        h = curl_slist_append(h, hdr);
    }
    if (c->cookie != NULL) {
        snprintf(cookie, sizeof(cookie), "wcs_session=%s", c->cookie);
        curl_easy_setopt(k, CURLOPT_COOKIE, cookie);
    }
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    c->set_cookie[0] = '\0';
    assert_int_equal(curl_easy_perform(k), CURLE_OK);
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &c->status);
    c->json = b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    curl_slist_free_all(h);
    curl_easy_cleanup(k);
    return c->status;
}

long tsess_login(const struct twcsd *w, const char *user, const char *password, char id[64],
                 char csrf[64])
{
    char body[256];
    struct tsess_call c = {.path = "/v1/login", .body = body};
    long st;

    snprintf(body, sizeof(body), "{\"user\": \"%s\", \"password\": \"%s\"}", user, password);
    st = tsess_send(w, &c);
    if (st == 200) {
        assert_int_equal(strncmp(c.set_cookie, "wcs_session=", 12), 0);
        assert_non_null(strstr(c.set_cookie, "; HttpOnly"));
        assert_non_null(strstr(c.set_cookie, "; SameSite=Strict"));
        assert_null(strstr(c.set_cookie, "Secure")); /* plain HTTP here */
        snprintf(id, 64, "%.*s", (int)strcspn(c.set_cookie + 12, ";"), c.set_cookie + 12);
        snprintf(csrf, 64, "%s", json_string_value(json_object_get(c.json, "csrf")));
        assert_string_equal(json_string_value(json_object_get(c.json, "user")), user);
    }
    json_decref(c.json);
    return st;
}

void tsess_add_user(const struct twcsd *w, const char *name, const char *role)
{
    char pw[256];

    snprintf(pw, sizeof(pw), "%s/pw-%s", w->dir, name);
    tu_write_text(pw, TSESS_PW "\n");
    tu_wcsctl(w->conninfo, 0, "user", "add", name, "--role", role, "--password-file", pw, NULL);
}

long tsess_status(const struct twcsd *w, const char *path, const char *body, const char *cookie,
                  const char *csrf)
{
    struct tsess_call c = {.path = path, .body = body, .cookie = cookie, .csrf = csrf};
    long st = tsess_send(w, &c);

    json_decref(c.json);
    return st;
}


/* testutil.c - shared helpers of the integration tests (see testutil.h). */
#include "tests/common/testutil.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/common/proc.h"
#include "tests/common/testdb.h"

void tu_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        fail_msg("%s: cannot create", path);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Runs the built wcsctl with "--db conninfo" and the arguments of ap into
 * r; args gets them as one line, for messages. */
static void wcsctl_run(const char *conninfo, va_list ap, struct proc_result *r, char *args,
                       size_t args_len)
{
    const char *argv[16];
    char bin[512];
    size_t n = 0;
    const char *a;

    testdb_binary_path("bin/wcsctl", bin, sizeof(bin));
    argv[n++] = bin;
    argv[n++] = "--db";
    argv[n++] = conninfo;
    args[0] = '\0';
    while ((a = va_arg(ap, const char *)) != NULL && n < 15) {
        argv[n++] = a;
        strncat(args, " ", args_len - strlen(args) - 1);
        strncat(args, a, args_len - strlen(args) - 1);
    }
    argv[n] = NULL;
    proc_run(argv, NULL, 120, r);
}

void tu_wcsctl(const char *conninfo, int want_status, ...)
{
    char args[512];
    struct proc_result r;
    va_list ap;

    va_start(ap, want_status);
    wcsctl_run(conninfo, ap, &r, args, sizeof(args));
    va_end(ap);
    if (r.status != want_status)
        fail_msg("wcsctl%s: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.status, want_status,
                 r.out, r.err);
    proc_result_free(&r);
}

int tu_wcsctl_out(const char *conninfo, char **out, ...)
{
    char args[512];
    struct proc_result r;
    va_list ap;
    int status;

    va_start(ap, out);
    wcsctl_run(conninfo, ap, &r, args, sizeof(args));
    va_end(ap);
    *out = r.out;
    r.out = NULL;
    status = r.status;
    proc_result_free(&r);
    return status;
}

size_t tu_body_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct tu_body *b = ud;
    size_t n = size * nmemb;
    char *p = realloc(b->data, b->len + n + 1);

    if (p == NULL)
        return 0;
    memcpy(p + b->len, ptr, n);
    b->len += n;
    p[b->len] = '\0';
    b->data = p;
    return n;
}

long tu_http(int port, const char *path, const char *post, json_t **out)
{
    char url[512];
    struct tu_body b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    CURL *h = curl_easy_init();
    CURLcode cc;
    long code = 0;

    assert_non_null(h);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (post != NULL) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    }
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK)
        fail_msg("%s: %s", url, curl_easy_strerror(cc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (out)
        *out = b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    return code;
}

long long tu_db_count(const char *conninfo, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    PGconn *c;
    PGresult *r;
    long long n;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

/* testutil.c - shared helpers of the integration tests (see testutil.h). */
#include "tests/common/testutil.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "tests/common/proc.h"
#include "tests/common/testdb.h"

void tu_write_text(const char *path, const char *text)
{
    /* 0600 for a new file: some hold secrets, which are refused otherwise. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (f == NULL)
        fail_msg("%s: cannot create", path);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

char *tu_read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    int c;

    if (f == NULL || m == NULL)
        fail_msg("%s: cannot read", path);
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    assert_int_equal(fclose(m), 0);
    return text;
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

static const char *default_token;

void tu_http_set_token(const char *secret)
{
    default_token = secret;
}

/* Keeps the two headers struct tu_req reports. */
static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct tu_req *r = ud;
    size_t n = size * nmemb, k;
    static const struct {
        const char *name;
        size_t off, cap;
    } keep[] = {
        {"Retry-After:", offsetof(struct tu_req, retry_after),
         sizeof(((struct tu_req *)0)->retry_after)},
        {"WWW-Authenticate:", offsetof(struct tu_req, www_authenticate),
         sizeof(((struct tu_req *)0)->www_authenticate)},
    };

    for (k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
        size_t nl = strlen(keep[k].name);
        if (n > nl && strncasecmp(ptr, keep[k].name, nl) == 0) {
            char *dst = (char *)r + keep[k].off;
            const char *v = ptr + nl;
            size_t vl = n - nl;
            while (vl > 0 && *v == ' ')
                v++, vl--;
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
                vl--;
            snprintf(dst, keep[k].cap, "%.*s", (int)vl, v);
        }
    }
    return n;
}

long tu_http_req(struct tu_req *r, json_t **out)
{
    char url[512], auth[256];
    struct tu_body b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    CURL *h = curl_easy_init();
    CURLcode cc;
    long code = 0;

    assert_non_null(h);
    r->retry_after[0] = r->www_authenticate[0] = '\0';
    r->body = NULL;
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", r->ca_file ? "https" : "http", r->port,
             r->path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (r->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
    if (r->token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->token);
        hdr = curl_slist_append(hdr, auth);
    }
    if (r->post != NULL) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->post);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK && !r->may_fail)
        fail_msg("%s: %s", url, curl_easy_strerror(cc));
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (out)
        *out = b.data ? json_loads(b.data, 0, NULL) : NULL;
    r->body = b.data;
    return code;
}

long tu_http(int port, const char *path, const char *post, json_t **out)
{
    struct tu_req r = {.port = port, .path = path, .post = post, .token = default_token};
    long code = tu_http_req(&r, out);

    free(r.body);
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

/*
 * fuzz-broker-answer.c - libFuzzer entry point for the readers of the
 * broker's answers (customs/answer.c), docs/fuzzing.md.
 *
 * The input is "ID ID ...\nBODY": the first line the batch's parcel ids
 * (blank-separated, repeats dropped, the first also the manifest id), the
 * rest the answer's body. Every input is read as each of the four answers
 * (a batch's results, a manifest's answer, a feed page, an error body).
 * Beyond "no crash, no sanitizer report" it checks:
 *  - each reader ends in 0, ERR_PARSE or -ENOMEM; a refusal leaves its
 *    output empty and carries one printable line of at most ERR_MSG_MAX - 1
 *    bytes;
 *  - results: exactly one per id of the batch, res[i] for ids[i], and the
 *    body names each id once and no other; the status is "accepted" or
 *    "rejected", and a rejection's errors are a JSON array;
 *  - a manifest answer has a broker_ref and unknown_parcels as a JSON array
 *    of that many strings;
 *  - a feed page's events all have a cursor, parcel id and type, and next is
 *    the last event's cursor;
 *  - an error answer has a code and a message.
 * Every input is also read as the rupost profile's answer of each kind
 * (customs/profile.h): its translation ends in 0, ERR_PARSE or -ENOMEM, and
 * what it makes is held to the same checks by the same readers.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "customs/answer.h"
#include "customs/profile.h"
#include "tests/common/fuzzutil.h"

#define IDS_MAX 64 /* ids of a batch read from the input, at most */

/* Splits the first line of data into up to IDS_MAX distinct ids (copied
 * into buf, NUL-terminated); returns how many; *body is the rest. */
static size_t read_ids(const uint8_t *data, size_t size, char *buf, const char **ids, size_t *body)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line = nl != NULL ? (size_t)(nl - data) : 0, i = 0, n = 0, k;

    *body = nl != NULL ? line + 1 : 0;
    memcpy(buf, data, line);
    buf[line] = '\0';
    while (i < line && n < IDS_MAX) {
        char *id = buf + i;

        while (i < line && buf[i] != ' ' && buf[i] != '\0')
            i++;
        buf[i++] = '\0';
        for (k = 0; k < n && strcmp(ids[k], id) != 0; k++)
            ;
        if (id[0] != '\0' && k == n)
            ids[n++] = id;
    }
    return n;
}

/* Aborts unless rc is a reader's code and a refusal says why in one line. */
static void check_rc(int rc, const struct err *e)
{
    if (rc != 0 && rc != ERR_PARSE && rc != -ENOMEM)
        abort();
    if (rc != 0 && e->msg[0] == '\0')
        abort();
    if (rc != 0)
        fuzz_check_text(e->msg, ERR_MSG_MAX - 1);
}

/* Aborts unless text is a JSON array of n items (n < 0: any), each a
 * string when strings. */
static void check_array(const char *text, long n, int strings)
{
    json_t *a = json_loads(text, 0, NULL);
    size_t i;

    if (!json_is_array(a) || (n >= 0 && json_array_size(a) != (size_t)n))
        abort();
    for (i = 0; strings && i < json_array_size(a); i++)
        if (!json_is_string(json_array_get(a, i)))
            abort();
    json_decref(a);
}

/* Aborts unless the body's results name each of ids once and nothing else. */
static void check_ids_once(const char *body, size_t len, const char *const *ids, size_t n)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *arr = json_object_get(root, "results");
    int seen[IDS_MAX] = {0};
    size_t i, k;

    if (json_array_size(arr) != n)
        abort();
    for (i = 0; i < n; i++) {
        const char *pid = json_string_value(json_object_get(json_array_get(arr, i), "parcel_id"));

        for (k = 0; pid != NULL && k < n && strcmp(ids[k], pid) != 0; k++)
            ;
        if (pid == NULL || k == n || seen[k]++)
            abort();
    }
    json_decref(root);
}

static void fuzz_results(const char *body, size_t len, const char *const *ids, size_t n)
{
    struct cust_results r;
    struct err e = {0};
    int rc = cust_answer_results(body, len, ids, n, &r, &e);
    size_t i;

    check_rc(rc, &e);
    if (rc != 0) {
        if (r.res != NULL || r.errors != NULL || r.doc != NULL || r.n != 0)
            abort();
        return;
    }
    if (r.n != n)
        abort();
    check_ids_once(body, len, ids, n);
    for (i = 0; i < n; i++) {
        const struct cust_result *x = &r.res[i];

        if (x->parcel_id != ids[i])
            abort();
        if (strcmp(x->status, "accepted") == 0) {
            if (x->errors_json != NULL)
                abort();
        } else if (strcmp(x->status, "rejected") == 0) {
            if (x->broker_ref != NULL || x->errors_json == NULL)
                abort();
            check_array(x->errors_json, -1, 0);
        } else {
            abort();
        }
    }
    cust_results_free(&r);
}

static void fuzz_manifest(const char *body, size_t len, const char *mid)
{
    struct cust_manifest_answer a;
    struct err e = {0};
    int rc = cust_answer_manifest(body, len, mid, &a, &e);

    check_rc(rc, &e);
    if (rc != 0) {
        if (a.broker_ref != NULL || a.unknown_json != NULL)
            abort();
        return;
    }
    if (a.broker_ref == NULL || a.broker_ref[0] == '\0')
        abort();
    check_array(a.unknown_json, (long)a.unknown, 1);
    cust_manifest_answer_free(&a);
}

static void fuzz_feed(const char *body, size_t len)
{
    struct cust_feed_page p;
    struct err e = {0};
    int rc = cust_answer_feed(body, len, &p, &e);
    size_t i;

    check_rc(rc, &e);
    if (rc != 0) {
        if (p.ev != NULL || p.doc != NULL || p.n != 0 || p.next != NULL)
            abort();
        return;
    }
    if (p.next == NULL || (p.n > 0 && strcmp(p.next, p.ev[p.n - 1].cursor) != 0))
        abort();
    for (i = 0; i < p.n; i++)
        if (p.ev[i].cursor == NULL || p.ev[i].parcel_id == NULL || p.ev[i].type == NULL)
            abort();
    cust_feed_page_free(&p);
}

static void fuzz_error(const char *body, size_t len)
{
    struct cust_broker_error x;
    struct err e = {0};
    int rc = cust_answer_error(body, len, &x, &e);

    check_rc(rc, &e);
    if (rc != 0 && (x.code != NULL || x.message != NULL || x.doc != NULL))
        abort();
    if (rc == 0 && (x.code == NULL || x.message == NULL))
        abort();
    cust_broker_error_free(&x);
}

/* body as the rupost profile's answer to kind (or its error body), in the
 * reference's words; NULL when refused. */
static char *rupost(enum cust_request kind, int error, const char *body, size_t len)
{
    struct err e = {0};
    char *out = NULL;
    int rc = cust_profile_rupost.answer(kind, error, body, len, &out, &e);

    check_rc(rc, &e);
    if ((rc == 0) != (out != NULL))
        abort();
    return out;
}

static void fuzz_rupost(const char *body, size_t len, const char *const *ids, size_t n)
{
    char *t;

    if (n > 0 && (t = rupost(CUST_REQ_DECLARATIONS, 0, body, len)) != NULL) {
        fuzz_results(t, strlen(t), ids, n);
        free(t);
    }
    if (n > 0 && (t = rupost(CUST_REQ_MANIFEST, 0, body, len)) != NULL) {
        fuzz_manifest(t, strlen(t), ids[0]);
        free(t);
    }
    if ((t = rupost(CUST_REQ_EVENTS, 0, body, len)) != NULL) {
        fuzz_feed(t, strlen(t));
        free(t);
    }
    if ((t = rupost(CUST_REQ_EVENTS, 1, body, len)) != NULL) {
        fuzz_error(t, strlen(t));
        free(t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *ids[IDS_MAX];
    char *buf = malloc(size + 1);
    size_t body, n;

    if (buf == NULL)
        abort();
    n = read_ids(data, size, buf, ids, &body);
    /* The body without a NUL after it, as curl hands it over. */
    if (n > 0) {
        fuzz_results((const char *)data + body, size - body, ids, n);
        fuzz_manifest((const char *)data + body, size - body, ids[0]);
    }
    fuzz_feed((const char *)data + body, size - body);
    fuzz_error((const char *)data + body, size - body);
    fuzz_rupost((const char *)data + body, size - body, ids, n);
    free(buf);
    return 0;
}

/*
 * answer.c - reading the broker's answers (customs/answer.h): JSON text in,
 * the results, manifest answer, feed page or error it carries out.
 */
#include "customs/answer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/diag.h"

/* Records why an answer cannot be used: ERR_PARSE, the message made one
 * printable line, since it quotes the broker's text. */
static int refuse(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct err *e, const char *fmt, ...)
{
    char raw[ERR_MSG_MAX], clean[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    diag_printable(clean, sizeof(clean), raw);
    return err_set(e, ERR_PARSE, "%s", clean);
}

/* Parses an answer (body may be NULL when len is 0). NULL when it is over
 * CUST_ANSWER_MAX bytes or not JSON, refused in e naming it as what. */
static json_t *load(const char *body, size_t len, const char *what, struct err *e)
{
    json_error_t je;
    json_t *root;

    if (len > CUST_ANSWER_MAX) {
        refuse(e, "%s is %zu bytes, over the cap of %u", what, len, CUST_ANSWER_MAX);
        return NULL;
    }
    root = json_loadb(body != NULL ? body : "", len, 0, &je);
    if (root == NULL)
        refuse(e, "%s is not JSON: %s", what, je.text);
    return root;
}

/* --- results ---------------------------------------------------------- */

/* Orders pointers into the ids by parcel id, and finds a parcel id among them. */
static int id_cmp(const void *a, const void *b)
{
    const char *const *const *x = a, *const *const *y = b;

    return strcmp(**x, **y);
}

static int id_key_cmp(const void *key, const void *el)
{
    const char *const *k = key;
    const char *const *const *id = el;

    return strcmp(*k, **id);
}

/* Fills result j from r, whose status is st; "result i" names it. */
static int result_fill(struct cust_results *out, size_t j, json_t *r, const char *st, size_t i,
                       const char *pid, struct err *e)
{
    json_t *er = json_object_get(r, "errors");
    json_t *none;

    if (st != NULL && strcmp(st, "accepted") == 0) {
        out->res[j].status = "accepted";
        out->res[j].broker_ref = json_string_value(json_object_get(r, "broker_ref"));
        return 0;
    }
    if (st == NULL || strcmp(st, "rejected") != 0)
        return refuse(e, "result %zu (parcel %.40s): unknown status", i, pid);
    out->res[j].status = "rejected";
    none = json_is_array(er) ? NULL : json_array();
    out->errors[j] = json_dumps(none != NULL ? none : er, JSON_COMPACT);
    json_decref(none);
    if (out->errors[j] == NULL)
        return err_set(e, -ENOMEM, "out of memory");
    out->res[j].errors_json = out->errors[j];
    return 0;
}

int cust_answer_results(const char *body, size_t len, const char *const *ids, size_t n,
                        struct cust_results *out, struct err *e)
{
    json_t *root, *arr;
    const char *const **by_id = NULL;
    size_t i;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    root = load(body, len, "answer", e);
    if (root == NULL)
        return ERR_PARSE;
    arr = json_object_get(root, "results");
    out->doc = root;
    out->n = n;
    if (!json_is_array(arr) || json_array_size(arr) != n) {
        rc = refuse(e, "answer has %zu results for %zu declarations", json_array_size(arr), n);
        goto out;
    }
    out->res = calloc(n > 0 ? n : 1, sizeof(*out->res));
    out->errors = calloc(n > 0 ? n : 1, sizeof(*out->errors));
    by_id = malloc((n > 0 ? n : 1) * sizeof(*by_id));
    if (out->res == NULL || out->errors == NULL || by_id == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        by_id[i] = &ids[i];
    qsort(by_id, n, sizeof(*by_id), id_cmp);
    for (i = 0; i < n; i++) {
        json_t *r = json_array_get(arr, i);
        const char *pid = json_string_value(json_object_get(r, "parcel_id"));
        const char *st = json_string_value(json_object_get(r, "status"));
        const char *const *const *hit;
        size_t j;

        if (pid == NULL) {
            rc = refuse(e, "result %zu has no parcel_id", i);
            goto out;
        }
        hit = bsearch(&pid, by_id, n, sizeof(*by_id), id_key_cmp);
        if (hit == NULL) {
            rc = refuse(e, "result %zu is for parcel %.40s, which is not in the batch", i, pid);
            goto out;
        }
        j = (size_t)(*hit - ids);
        if (out->res[j].parcel_id != NULL) {
            rc = refuse(e, "parcel %.40s has two results", pid);
            goto out;
        }
        /* n results, each for a different parcel of the batch: every
         * declaration gets its own. */
        out->res[j].parcel_id = ids[j];
        rc = result_fill(out, j, r, st, i, pid, e);
        if (rc < 0)
            goto out;
    }
out:
    free(by_id);
    if (rc < 0)
        cust_results_free(out);
    return rc;
}

void cust_results_free(struct cust_results *r)
{
    size_t i;

    for (i = 0; r->errors != NULL && i < r->n; i++)
        free(r->errors[i]);
    free(r->errors);
    free(r->res);
    json_decref(r->doc);
    memset(r, 0, sizeof(*r));
}

/* --- manifests -------------------------------------------------------- */

int cust_answer_manifest(const char *body, size_t len, const char *manifest_id,
                         struct cust_manifest_answer *out, struct err *e)
{
    json_t *root, *unk;
    const char *ref, *amid;
    char what[128];
    size_t i;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    snprintf(what, sizeof(what), "manifest %.64s: answer", manifest_id);
    root = load(body, len, what, e);
    if (root == NULL)
        return ERR_PARSE;
    unk = json_object_get(root, "unknown_parcels");
    ref = json_string_value(json_object_get(root, "broker_ref"));
    amid = json_string_value(json_object_get(root, "manifest_id"));
    if (amid == NULL || strcmp(amid, manifest_id) != 0) {
        rc = refuse(e, "manifest %s: answer is for manifest %.64s", manifest_id,
                    amid != NULL ? amid : "(none)");
        goto out;
    }
    if (ref == NULL || ref[0] == '\0' || !json_is_array(unk)) {
        rc = refuse(e, "manifest %s: answer lacks broker_ref or unknown_parcels", manifest_id);
        goto out;
    }
    for (i = 0; i < json_array_size(unk); i++) {
        if (!json_is_string(json_array_get(unk, i))) {
            rc = refuse(e, "manifest %s: unknown_parcels[%zu] is not a string", manifest_id, i);
            goto out;
        }
    }
    out->broker_ref = strdup(ref);
    out->unknown_json = json_dumps(unk, JSON_COMPACT);
    out->unknown = json_array_size(unk);
    if (out->broker_ref == NULL || out->unknown_json == NULL) {
        rc = err_set(e, -ENOMEM, "out of memory");
        cust_manifest_answer_free(out);
    }
out:
    json_decref(root);
    return rc;
}

void cust_manifest_answer_free(struct cust_manifest_answer *a)
{
    free(a->broker_ref);
    free(a->unknown_json);
    memset(a, 0, sizeof(*a));
}

/* --- the decision feed ------------------------------------------------ */

int cust_answer_feed(const char *body, size_t len, struct cust_feed_page *out, struct err *e)
{
    json_t *root, *arr;
    const char *next;
    size_t i, n;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    root = load(body, len, "answer", e);
    if (root == NULL)
        return ERR_PARSE;
    out->doc = root;
    arr = json_object_get(root, "events");
    next = json_string_value(json_object_get(root, "next"));
    n = json_array_size(arr);
    if (!json_is_array(arr) || next == NULL) {
        rc = refuse(e, "answer has no events array and next cursor");
        goto out;
    }
    out->ev = calloc(n > 0 ? n : 1, sizeof(*out->ev));
    if (out->ev == NULL) {
        rc = err_set(e, -ENOMEM, "feed: out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_t *x = json_array_get(arr, i), *duty = json_object_get(x, "duty");
        struct cust_feed_event *ev = &out->ev[i];

        ev->cursor = json_string_value(json_object_get(x, "cursor"));
        ev->parcel_id = json_string_value(json_object_get(x, "parcel_id"));
        ev->type = json_string_value(json_object_get(x, "type"));
        ev->reason = json_string_value(json_object_get(x, "reason"));
        ev->at = json_string_value(json_object_get(x, "at"));
        if (json_is_object(duty)) {
            ev->duty_value = json_integer_value(json_object_get(duty, "value"));
            ev->duty_currency = json_string_value(json_object_get(duty, "currency"));
        }
        if (ev->cursor == NULL || ev->parcel_id == NULL || ev->type == NULL) {
            rc = refuse(e, "event %zu: cursor, parcel_id and type are required", i);
            goto out;
        }
    }
    if (n > 0 && strcmp(next, out->ev[n - 1].cursor) != 0) {
        rc = refuse(e, "next %.64s is not the last event's cursor", next);
        goto out;
    }
    out->n = n;
    out->next = next;
out:
    if (rc < 0)
        cust_feed_page_free(out);
    return rc;
}

void cust_feed_page_free(struct cust_feed_page *p)
{
    free(p->ev);
    json_decref(p->doc);
    memset(p, 0, sizeof(*p));
}

/* --- the broker's error answer ----------------------------------------- */

int cust_answer_error(const char *body, size_t len, struct cust_broker_error *out, struct err *e)
{
    json_t *root, *er;
    const char *code, *msg;

    memset(out, 0, sizeof(*out));
    if (len > CUST_ANSWER_MAX)
        return refuse(e, "the answer is %zu bytes, over the cap of %u", len, CUST_ANSWER_MAX);
    /* What the store keeps of an answer that is not the broker's: its size,
     * not jansson's view of someone else's page. */
    root = json_loadb(body != NULL ? body : "", len, 0, NULL);
    if (root == NULL)
        return refuse(e, "the answer is not JSON (%zu bytes)", len);
    er = json_object_get(root, "error");
    code = json_string_value(json_object_get(er, "code"));
    msg = json_string_value(json_object_get(er, "message"));
    if (code == NULL || msg == NULL) {
        json_decref(root);
        return refuse(e, "the answer has no error.code and error.message");
    }
    out->code = code;
    out->message = msg;
    out->doc = root;
    return 0;
}

void cust_broker_error_free(struct cust_broker_error *x)
{
    json_decref(x->doc);
    memset(x, 0, sizeof(*x));
}

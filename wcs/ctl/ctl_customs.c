/*
 * ctl_customs.c - `wcsctl customs problems` and `wcsctl customs show`: what
 * an operator needs to clear customs problems (docs/customs.md
 * "Operators"). Reads through wcs/declarations.h only.
 */
#include "wcs/ctl/ctl_customs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "wcs/store/declarations.h"

static const char *const problem_kinds[] = {"worker", "invalid", "rejected", "held", "manifest",
                                            "duty",   "warning", NULL};

struct listing {
    int json;
    json_t *arr;
    size_t n, blocking; /* lines; lines an operator must act on */
};

static int known_kind(const char *k)
{
    size_t i;

    for (i = 0; problem_kinds[i] != NULL; i++)
        if (strcmp(problem_kinds[i], k) == 0)
            return 1;
    return 0;
}

/* Prints a JSON array of {field, code, message} (or of strings) indented. */
static void print_detail(const char *detail)
{
    json_t *arr = json_loads(detail, 0, NULL);
    json_t *v;
    size_t i, n;

    if (!json_is_array(arr)) {
        printf("    %s\n", detail);
        json_decref(arr);
        return;
    }
    n = json_array_size(arr);
    if (n > 0 && json_is_string(json_array_get(arr, 0))) {
        /* manifest: the unknown parcel ids */
        printf("    %zu parcel(s) without an accepted declaration:", n);
        json_array_foreach(arr, i, v)
            printf("%s%s", i % 6 == 0 ? "\n      " : " ", json_string_value(v));
        printf("\n");
    } else {
        json_array_foreach(arr, i, v) {
            printf("    %s: %s: %s\n", json_string_value(json_object_get(v, "field")),
                   json_string_value(json_object_get(v, "code")),
                   json_string_value(json_object_get(v, "message")));
        }
    }
    json_decref(arr);
}

static int problem_cb(void *arg, const struct wcs_customs_problem *p)
{
    struct listing *l = arg;

    l->n++;
    if (strcmp(p->kind, "duty") != 0 && strcmp(p->kind, "warning") != 0)
        l->blocking++;
    if (l->json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "kind", p->kind, "ref", p->ref, "at", p->at);
        json_t *det = p->detail ? json_loads(p->detail, 0, NULL) : NULL;

        if (o == NULL)
            return -1;
        if (det != NULL)
            json_object_set_new(o, "detail", det);
        if (p->text != NULL)
            json_object_set_new(o, "text", json_string(p->text));
        return json_array_append_new(l->arr, o) < 0 ? -1 : 0;
    }
    printf("%-8s  %-24s  %s UTC%s%s\n", p->kind, p->ref, p->at, p->text ? "  " : "",
           p->text ? p->text : "");
    if (p->detail != NULL)
        print_detail(p->detail);
    return 0;
}

int wcsctl_customs_problems(PGconn *c, int argc, char **argv)
{
    struct listing l = {0};
    const char *kinds[8] = {NULL};
    char kbuf[128] = "";
    struct err e;
    int i, nk = 0, rc;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            l.json = 1;
        } else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc) {
            char *tok, *save = NULL;

            snprintf(kbuf, sizeof(kbuf), "%s", argv[++i]);
            for (tok = strtok_r(kbuf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
                if (!known_kind(tok) || nk == 7) {
                    fprintf(stderr, "wcsctl: customs problems: --kind %s: not one of worker,"
                                    " invalid, rejected, held, manifest, duty, warning\n", tok);
                    return 2;
                }
                kinds[nk++] = tok;
            }
        } else {
            fprintf(stderr, "usage: wcsctl customs problems [--kind K[,K...]] [--json]\n");
            return 2;
        }
    }
    if (l.json && (l.arr = json_array()) == NULL)
        return 2;
    rc = wcs_db_customs_problems(c, nk ? kinds : NULL, problem_cb, &l, &e);
    if (rc < 0 && rc != -1) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        json_decref(l.arr);
        return 2;
    }
    if (l.json) {
        if (rc == 0)
            rc = json_dumpf(l.arr, stdout, JSON_INDENT(2)) < 0 ? -1 : 0;
        json_decref(l.arr);
        if (rc < 0) {
            fprintf(stderr, "wcsctl: customs problems: out of memory\n");
            return 2;
        }
        printf("\n");
    } else {
        printf("%zu customs problem(s), %zu to act on\n", l.n, l.blocking);
    }
    return l.blocking > 0 ? 1 : 0;
}

static int alarm_cb(void *arg, const struct wcs_customs_alarm *a)
{
    int *n = arg;

    if ((*n)++ == 0)
        printf("customs worker: ALARM (wcsctl customs problems --kind worker; docs/customs.md"
               " \"Alarms\"):\n");
    printf("  %s  %s  broker %s, %lld time%s since %s UTC, last %s UTC by %s\n    %s\n", a->kind,
           a->ref, a->broker, a->count, a->count == 1 ? "" : "s", a->first_at, a->last_at,
           a->owner, a->text);
    return 0;
}

int wcsctl_customs_status(PGconn *c)
{
    struct err e;
    int n = 0;

    if (wcs_db_customs_alarms(c, alarm_cb, &n, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return 2;
    }
    if (n == 0)
        printf("customs worker: no alarm\n");
    return n > 0 ? 1 : 0;
}

int wcsctl_customs_show(PGconn *c, int argc, char **argv)
{
    struct wcs_declaration_row d;
    struct err e;
    json_t *body;
    int rc;

    if (argc != 1) {
        fprintf(stderr, "usage: wcsctl customs show CODE\n");
        return 2;
    }
    rc = wcs_db_declaration_get(c, argv[0], &d, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return rc == ERR_NOTFOUND ? 1 : 2;
    }
    printf("declaration %s  %s  (parcel customs status: %s)\n", d.parcel_id, d.status,
           d.customs_status);
    printf("updated %s UTC\n", d.updated_at);
    if (d.broker_ref)
        printf("broker reference %s\n", d.broker_ref);
    if (d.outbox)
        printf("outbox: %s\n", d.outbox);
    if (d.errors) {
        printf("errors:\n");
        print_detail(d.errors);
    }
    if (d.warnings) {
        printf("warnings:\n");
        print_detail(d.warnings);
    }
    if (d.duty_cents >= 0)
        printf("duty: %s%lld.%02lld EUR: %s\n", d.duty_cents > 0 ? "estimated " : "",
               d.duty_cents / 100, d.duty_cents % 100, d.duty_note ? d.duty_note : "");
    else if (d.duty_note)
        printf("duty: %s\n", d.duty_note);
    if (d.events) {
        json_t *ev = json_loads(d.events, 0, NULL), *v;
        size_t i;

        printf("broker events:\n");
        json_array_foreach(ev, i, v)
            printf("    %s  %s%s%s\n", json_string_value(json_object_get(v, "at")),
                   json_string_value(json_object_get(v, "type")),
                   json_is_string(json_object_get(v, "reason")) ? ": " : "",
                   json_is_string(json_object_get(v, "reason"))
                       ? json_string_value(json_object_get(v, "reason"))
                       : "");
        json_decref(ev);
    }
    body = json_loads(d.body, 0, NULL);
    printf("body:\n");
    if (body != NULL)
        json_dumpf(body, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    else
        printf("%s", d.body);
    printf("\n");
    json_decref(body);
    wcs_declaration_row_free(&d);
    return 0;
}

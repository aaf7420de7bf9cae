/*
 * sortplan.c - the sort plan: builder, validation, compilation, matching and
 * accessors. The CSV reader (sortplan_csv.c) and the database loader both
 * feed the builder, so every check lives here exactly once.
 *
 * DESIGN. Add calls check what one row can show (ids, numbers, ranges) and
 * keep names of other rows (chutes of a route, the route of a rule, fallback)
 * as text, because rows may come in any order. wcs_plan_finish() resolves the
 * names, runs the cross-row checks, reports every problem it finds, and only
 * then compiles: an index of the chutes and routes sorted by id (binary
 * search), and a 1000-entry table from postal prefix to the rules covering
 * it, highest priority first, so a match looks at a handful of rules. A
 * finished plan is never written again, which is what lets wcsd hand it to
 * other threads and swap plans atomically.
 */
#include "wcs/core/sortplan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIXES 1000
#define RECIRC_LIMIT_DEFAULT 3

struct chute_ent {
    struct wcs_plan_chute pub;
    int line;
};

struct route_ent {
    struct wcs_plan_route pub;
    int line;
    char *chutes_src;   /* chute ids as given, resolved by finish */
    char *fallback_src; /* fallback route id or "" */
};

struct rule_ent {
    struct wcs_plan_rule pub;
    char route_src[WCS_ROUTE_ID_MAX + 1];
};

struct special_ent {
    int line;              /* 0 = not given */
    char *chutes_src;
    uint16_t chutes[WCS_GROUP_MAX];
    int n;
};

struct param_ent {
    int line;
    char *name;
    char *value;
};

struct wcs_plan {
    char *source;
    bool finished;

    struct chute_ent *chutes;
    size_t nchutes, cap_chutes;
    struct route_ent *routes;
    size_t nroutes, cap_routes;
    struct rule_ent *rules;
    size_t nrules, cap_rules;
    struct special_ent specials[WCS_SPECIAL_COUNT];
    struct param_ent *params;
    size_t nparams, cap_params;

    /* Compiled by finish. */
    uint16_t *chute_by_id;  /* chute indices sorted by id */
    uint16_t *route_by_id;  /* route indices sorted by id */
    uint32_t prefix_off[PREFIXES + 1]; /* rules of prefix k: prefix_rules[off[k]..off[k+1]) */
    uint32_t *prefix_rules;

    char default_exit[WCS_CHUTE_ID_MAX + 1];
    unsigned recirc_limit;
    uint32_t max_weight_g, max_length_mm, max_width_mm, max_height_mm;
};

static const char *const special_names[WCS_SPECIAL_COUNT] = {
    [WCS_SPECIAL_NOREAD] = "noread",         [WCS_SPECIAL_MULTIREAD] = "multiread",
    [WCS_SPECIAL_UNKNOWN] = "unknown",       [WCS_SPECIAL_INVALID] = "invalid",
    [WCS_SPECIAL_CUSTHOLD] = "customs_hold", [WCS_SPECIAL_NOROUTE] = "noroute",
    [WCS_SPECIAL_OVERSIZE] = "oversize",     [WCS_SPECIAL_RECIRLIM] = "recirc_limit",
    [WCS_SPECIAL_CHFULL] = "chute_full",
};

static const char *const param_names[] = {
    "default_exit", "recirc_limit", "max_weight_g", "max_length_mm", "max_width_mm",
    "max_height_mm",
};
#define NPARAM_NAMES (sizeof(param_names) / sizeof(param_names[0]))

/* --- small helpers ----------------------------------------------------- */

static int vbad(const struct wcs_plan *p, struct err *e, int line, const char *field,
                const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int vbad(const struct wcs_plan *p, struct err *e, int line, const char *field,
                const char *fmt, va_list ap)
{
    char why[400];

    vsnprintf(why, sizeof(why), fmt, ap);
    return err_set(e, ERR_INVALID, "%s:%d: %s: %s", p->source, line, field, why);
}

/* Records one row problem in e and returns ERR_INVALID. */
static int bad(const struct wcs_plan *p, struct err *e, int line, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int bad(const struct wcs_plan *p, struct err *e, int line, const char *field,
               const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vbad(p, e, line, field, fmt, ap);
    va_end(ap);
    return rc;
}

/* Adds one cross-row problem to d and counts it. */
static void problem(const struct wcs_plan *p, struct diag *d, int *nproblems, int line,
                    const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void problem(const struct wcs_plan *p, struct diag *d, int *nproblems, int line,
                    const char *field, const char *fmt, ...)
{
    char why[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    diag_add(d, "%s:%d: %s: %s", p->source, line, field, why);
    (*nproblems)++;
}

/* Grows *arr to hold at least need elements of size el; 0 or -ENOMEM. */
static int grow(void *arr, size_t *cap, size_t need, size_t el)
{
    void **a = arr;
    size_t ncap;
    void *n;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    n = realloc(*a, ncap * el);
    if (n == NULL)
        return -ENOMEM;
    *a = n;
    *cap = ncap;
    return 0;
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

/* True when s is well-formed UTF-8 (PostgreSQL refuses anything else). */
static bool utf8_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    while (*u) {
        int n;
        if (*u < 0x80)
            n = 0;
        else if ((*u & 0xE0) == 0xC0 && *u >= 0xC2)
            n = 1;
        else if ((*u & 0xF0) == 0xE0)
            n = 2;
        else if ((*u & 0xF8) == 0xF0 && *u <= 0xF4)
            n = 3;
        else
            return false;
        u++;
        while (n-- > 0) {
            if ((*u & 0xC0) != 0x80)
                return false;
            u++;
        }
    }
    return true;
}

/* Copies UTF-8 text into dst[size], cutting at a character boundary. */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src ? src : "");

    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* Checks an id (chute, route, exit): 1..max chars of printable ASCII, no
 * space and no ';' because ids are listed separated by those. NULL when
 * fine, else the reason. */
static const char *id_problem(const char *id, size_t max, char *buf, size_t len)
{
    size_t n = strlen(id), i;

    if (n == 0)
        return "empty";
    if (n > max) {
        snprintf(buf, len, "'%.40s' is longer than %zu characters", id, max);
        return buf;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 0x20 || c >= 0x7F || c == ';') {
            snprintf(buf, len, "'%s' has characters other than printable ASCII "
                     "(no spaces, no ';')", id);
            return buf;
        }
    }
    return NULL;
}

/* Splits list (spaces or ';') into at most max tokens of up to toklen-1
 * chars each, stored in toks[max][toklen]. Returns the token count, or -1
 * when there are more than max tokens, or -2 - i when token i is too long. */
static int split_list(const char *list, char *toks, int max, size_t toklen)
{
    int n = 0;
    const char *s = list ? list : "";

    for (;;) {
        size_t len;
        while (*s == ' ' || *s == ';' || *s == '\t')
            s++;
        if (*s == '\0')
            return n;
        len = strcspn(s, " ;\t");
        if (n == max)
            return -1;
        if (len >= toklen)
            return -2 - n;
        memcpy(toks + (size_t)n * toklen, s, len);
        toks[(size_t)n * toklen + len] = '\0';
        n++;
        s += len;
    }
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

/* --- builder ------------------------------------------------------------- */

struct wcs_plan *wcs_plan_new(const char *source_name)
{
    struct wcs_plan *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->source = dupstr(source_name && *source_name ? source_name : "sortplan");
    if (p->source == NULL) {
        free(p);
        return NULL;
    }
    p->recirc_limit = RECIRC_LIMIT_DEFAULT;
    return p;
}

void wcs_plan_free(struct wcs_plan *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->nroutes; i++) {
        free(p->routes[i].chutes_src);
        free(p->routes[i].fallback_src);
    }
    for (i = 0; i < WCS_SPECIAL_COUNT; i++)
        free(p->specials[i].chutes_src);
    for (i = 0; i < p->nparams; i++) {
        free(p->params[i].name);
        free(p->params[i].value);
    }
    free(p->chutes);
    free(p->routes);
    free(p->rules);
    free(p->params);
    free(p->chute_by_id);
    free(p->route_by_id);
    free(p->prefix_rules);
    free(p->source);
    free(p);
}

static int check_open(const struct wcs_plan *p, struct err *e)
{
    if (p == NULL)
        return err_set(e, ERR_STATE, "no plan");
    if (p->finished)
        return err_set(e, ERR_STATE, "%s: plan already finished", p->source);
    return 0;
}

int wcs_plan_add_chute(struct wcs_plan *p, int line, const char *id, const char *description,
                       struct err *e)
{
    char buf[160];
    const char *why;
    struct chute_ent *c;
    size_t i;
    int rc;

    if ((rc = check_open(p, e)) < 0)
        return rc;
    id = id ? id : "";
    if ((why = id_problem(id, WCS_CHUTE_ID_MAX, buf, sizeof(buf))) != NULL)
        return bad(p, e, line, "id", "chute id %s", why);
    if (description && !utf8_ok(description))
        return bad(p, e, line, "description", "not valid UTF-8");
    for (i = 0; i < p->nchutes; i++)
        if (strcmp(p->chutes[i].pub.id, id) == 0)
            return bad(p, e, line, "id", "duplicate chute %s (first at line %d)", id,
                       p->chutes[i].line);
    if (p->nchutes >= WCS_PLAN_CHUTES_MAX)
        return bad(p, e, line, "id", "more than %d chutes", WCS_PLAN_CHUTES_MAX);
    if (grow(&p->chutes, &p->cap_chutes, p->nchutes + 1, sizeof(*p->chutes)) < 0)
        return err_set(e, -ENOMEM, "%s:%d: out of memory", p->source, line);
    c = &p->chutes[p->nchutes++];
    memset(c, 0, sizeof(*c));
    c->line = line;
    copy_text(c->pub.id, sizeof(c->pub.id), id);
    copy_text(c->pub.description, sizeof(c->pub.description), description);
    return 0;
}

int wcs_plan_add_route(struct wcs_plan *p, int line, const char *id, const char *mode,
                       const char *crossing, const char *chutes, const char *fallback,
                       const char *description, struct err *e)
{
    static const char *const modes[] = {"air", "rail", "road", "river"};
    char toks[WCS_GROUP_MAX][WCS_CHUTE_ID_MAX + 1];
    char buf[160];
    const char *why;
    struct route_ent *r;
    size_t i;
    int rc, n, m = -1;

    if ((rc = check_open(p, e)) < 0)
        return rc;
    id = id ? id : "";
    if ((why = id_problem(id, WCS_ROUTE_ID_MAX, buf, sizeof(buf))) != NULL)
        return bad(p, e, line, "id", "route id %s", why);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (mode && strcasecmp(mode, modes[i]) == 0)
            m = (int)i;
    if (m < 0)
        return bad(p, e, line, "value", "mode '%s' is not air, rail, road or river",
                   mode ? mode : "");
    n = split_list(chutes, &toks[0][0], WCS_GROUP_MAX, sizeof(toks[0]));
    if (n == 0)
        return bad(p, e, line, "chutes", "route %s has no chute", id);
    if (n == -1)
        return bad(p, e, line, "chutes", "more than %d chutes in the group", WCS_GROUP_MAX);
    if (n < -1)
        return bad(p, e, line, "chutes", "a chute id is longer than %d characters",
                   WCS_CHUTE_ID_MAX);
    if (fallback && *fallback && id_problem(fallback, WCS_ROUTE_ID_MAX, buf, sizeof(buf)))
        return bad(p, e, line, "route", "fallback route id %s",
                   id_problem(fallback, WCS_ROUTE_ID_MAX, buf, sizeof(buf)));
    if ((crossing && !utf8_ok(crossing)) || (description && !utf8_ok(description)))
        return bad(p, e, line, crossing && !utf8_ok(crossing) ? "crossing" : "description",
                   "not valid UTF-8");
    for (i = 0; i < p->nroutes; i++)
        if (strcmp(p->routes[i].pub.id, id) == 0)
            return bad(p, e, line, "id", "duplicate route %s (first at line %d)", id,
                       p->routes[i].line);
    if (grow(&p->routes, &p->cap_routes, p->nroutes + 1, sizeof(*p->routes)) < 0)
        return err_set(e, -ENOMEM, "%s:%d: out of memory", p->source, line);
    r = &p->routes[p->nroutes];
    memset(r, 0, sizeof(*r));
    r->chutes_src = dupstr(chutes);
    r->fallback_src = dupstr(fallback);
    if (r->chutes_src == NULL || r->fallback_src == NULL) {
        free(r->chutes_src);
        free(r->fallback_src);
        return err_set(e, -ENOMEM, "%s:%d: out of memory", p->source, line);
    }
    r->line = line;
    copy_text(r->pub.id, sizeof(r->pub.id), id);
    copy_text(r->pub.mode, sizeof(r->pub.mode), modes[m]);
    copy_text(r->pub.crossing, sizeof(r->pub.crossing), crossing);
    copy_text(r->pub.description, sizeof(r->pub.description), description);
    r->pub.fallback = -1;
    p->nroutes++;
    return 0;
}

int wcs_plan_add_rule(struct wcs_plan *p, int line, const char *route, int prefix_from,
                      int prefix_to, const char *services, uint32_t weight_min_g,
                      uint32_t weight_max_g, int priority, const char *description, struct err *e)
{
    char toks[WCS_RULE_SERVICES_MAX][9];
    char buf[160];
    const char *why;
    struct rule_ent *r;
    int rc, n, i;

    if ((rc = check_open(p, e)) < 0)
        return rc;
    route = route ? route : "";
    if ((why = id_problem(route, WCS_ROUTE_ID_MAX, buf, sizeof(buf))) != NULL)
        return bad(p, e, line, "route", "route id %s", why);
    if (prefix_from < 0 || prefix_from > 999)
        return bad(p, e, line, "prefix_from", "%d is outside 000-999 (the first 3 digits of "
                   "the postal code)", prefix_from);
    if (prefix_to < 0 || prefix_to > 999)
        return bad(p, e, line, "prefix_to", "%d is outside 000-999 (the first 3 digits of "
                   "the postal code)", prefix_to);
    if (prefix_to < prefix_from)
        return bad(p, e, line, "prefix_to", "%03d is below prefix_from %03d", prefix_to,
                   prefix_from);
    if (weight_max_g != 0 && weight_max_g < weight_min_g)
        return bad(p, e, line, "weight_max_g", "%u is below weight_min_g %u",
                   (unsigned)weight_max_g, (unsigned)weight_min_g);
    n = split_list(services, &toks[0][0], WCS_RULE_SERVICES_MAX, sizeof(toks[0]));
    if (n == -1)
        return bad(p, e, line, "services", "more than %d services", WCS_RULE_SERVICES_MAX);
    if (n < -1)
        return bad(p, e, line, "services", "a service name is longer than 8 characters");
    for (i = 0; i < n; i++) {
        char *c;
        for (c = toks[i]; *c; c++) {
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
            else if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
                       *c == '-'))
                return bad(p, e, line, "services", "service '%s' has characters other than "
                           "letters, digits, '_' and '-'", toks[i]);
        }
    }
    if (description && !utf8_ok(description))
        return bad(p, e, line, "description", "not valid UTF-8");
    if (grow(&p->rules, &p->cap_rules, p->nrules + 1, sizeof(*p->rules)) < 0)
        return err_set(e, -ENOMEM, "%s:%d: out of memory", p->source, line);
    r = &p->rules[p->nrules++];
    memset(r, 0, sizeof(*r));
    r->pub.line = line;
    r->pub.route = -1;
    r->pub.prefix_from = (uint16_t)prefix_from;
    r->pub.prefix_to = (uint16_t)prefix_to;
    for (i = 0; i < n; i++)
        memcpy(r->pub.services[i], toks[i], sizeof(toks[i]));
    r->pub.nservices = n;
    r->pub.weight_min_g = weight_min_g;
    r->pub.weight_max_g = weight_max_g ? weight_max_g : UINT32_MAX;
    r->pub.priority = priority;
    copy_text(r->pub.description, sizeof(r->pub.description), description);
    copy_text(r->route_src, sizeof(r->route_src), route);
    return 0;
}

static int special_parse(const char *name)
{
    int i;

    for (i = 0; i < WCS_SPECIAL_COUNT; i++)
        if (name && strcmp(name, special_names[i]) == 0)
            return i;
    return -1;
}

int wcs_plan_add_special(struct wcs_plan *p, int line, const char *name, const char *chutes,
                         struct err *e)
{
    char toks[WCS_GROUP_MAX][WCS_CHUTE_ID_MAX + 1];
    struct special_ent *s;
    int rc, k, n;

    if ((rc = check_open(p, e)) < 0)
        return rc;
    k = special_parse(name);
    if (k < 0)
        return bad(p, e, line, "id", "unknown special destination '%s' (expected noread, "
                   "multiread, unknown, invalid, customs_hold, noroute, oversize, "
                   "recirc_limit or chute_full)", name ? name : "");
    s = &p->specials[k];
    if (s->line != 0)
        return bad(p, e, line, "id", "duplicate special destination %s (first at line %d)",
                   name, s->line);
    n = split_list(chutes, &toks[0][0], WCS_GROUP_MAX, sizeof(toks[0]));
    if (n == 0)
        return bad(p, e, line, "chutes", "special destination %s has no chute", name);
    if (n == -1)
        return bad(p, e, line, "chutes", "more than %d chutes", WCS_GROUP_MAX);
    if (n < -1)
        return bad(p, e, line, "chutes", "a chute id is longer than %d characters",
                   WCS_CHUTE_ID_MAX);
    s->chutes_src = dupstr(chutes);
    if (s->chutes_src == NULL)
        return err_set(e, -ENOMEM, "%s:%d: out of memory", p->source, line);
    /* Line 0 means "not given", so a row without a line still counts. */
    s->line = line > 0 ? line : -1;
    return 0;
}

int wcs_plan_set_param(struct wcs_plan *p, int line, const char *name, const char *value,
                       struct err *e)
{
    unsigned long v = 0, max = 0;
    struct param_ent *pe;
    char buf[160];
    const char *why;
    size_t i;
    int rc, k = -1;

    if ((rc = check_open(p, e)) < 0)
        return rc;
    value = value ? value : "";
    for (i = 0; i < NPARAM_NAMES; i++)
        if (name && strcmp(name, param_names[i]) == 0)
            k = (int)i;
    if (k < 0)
        return bad(p, e, line, "id", "unknown parameter '%s' (expected default_exit, "
                   "recirc_limit, max_weight_g, max_length_mm, max_width_mm or max_height_mm)",
                   name ? name : "");
    for (i = 0; i < p->nparams; i++)
        if (strcmp(p->params[i].name, name) == 0)
            return bad(p, e, line, "id", "parameter %s already set at line %d", name,
                       p->params[i].line);
    if (k == 0) {
        if ((why = id_problem(value, WCS_CHUTE_ID_MAX, buf, sizeof(buf))) != NULL)
            return bad(p, e, line, "value", "default exit %s", why);
    } else {
        /* Limits: recirculations are counted in a few, weights in grams up to
         * a tonne, sizes in millimetres as the line measures them (16 bits). */
        max = k == 1 ? 100 : k == 2 ? 1000000 : 65535;
        if (parse_uint(value, max, &v) < 0)
            return bad(p, e, line, "value", "%s '%s' is not a whole number 0-%lu", name, value,
                       max);
    }
    if (grow(&p->params, &p->cap_params, p->nparams + 1, sizeof(*p->params)) < 0)
        return err_set(e, -ENOMEM, "%s:%d: out of memory", p->source, line);
    pe = &p->params[p->nparams];
    pe->name = dupstr(name);
    pe->value = dupstr(value);
    if (pe->name == NULL || pe->value == NULL) {
        free(pe->name);
        free(pe->value);
        return err_set(e, -ENOMEM, "%s:%d: out of memory", p->source, line);
    }
    pe->line = line;
    p->nparams++;
    switch (k) {
    case 0: copy_text(p->default_exit, sizeof(p->default_exit), value); break;
    case 1: p->recirc_limit = (unsigned)v; break;
    case 2: p->max_weight_g = (uint32_t)v; break;
    case 3: p->max_length_mm = (uint32_t)v; break;
    case 4: p->max_width_mm = (uint32_t)v; break;
    default: p->max_height_mm = (uint32_t)v; break;
    }
    return 0;
}

/* --- finish: resolve, validate, compile ---------------------------------- */

/* Comparators for qsort_r (glibc's argument order: a, b, the plan). */
static int chute_cmp(const void *a, const void *b, void *arg)
{
    const struct wcs_plan *p = arg;

    return strcmp(p->chutes[*(const uint16_t *)a].pub.id, p->chutes[*(const uint16_t *)b].pub.id);
}

static int route_cmp(const void *a, const void *b, void *arg)
{
    const struct wcs_plan *p = arg;

    return strcmp(p->routes[*(const uint16_t *)a].pub.id, p->routes[*(const uint16_t *)b].pub.id);
}

/* Highest priority first; equal priorities (which cannot overlap) by line,
 * so the order never depends on the sort algorithm. */
static int rule_cmp(const void *a, const void *b, void *arg)
{
    const struct wcs_plan *p = arg;
    const struct wcs_plan_rule *x = &p->rules[*(const uint32_t *)a].pub;
    const struct wcs_plan_rule *y = &p->rules[*(const uint32_t *)b].pub;

    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* Resolves a list of chute ids into idx; reports unknown and repeated ids.
 * Returns the count. */
static int resolve_chutes(const struct wcs_plan *p, struct diag *d, int *np, int line,
                          const char *list, uint16_t *idx)
{
    char toks[WCS_GROUP_MAX][WCS_CHUTE_ID_MAX + 1];
    int n = split_list(list, &toks[0][0], WCS_GROUP_MAX, sizeof(toks[0])), i, j, k = 0;

    for (i = 0; i < n; i++) {
        int c = wcs_plan_chute_find(p, toks[i]);
        bool dup = false;
        if (c < 0) {
            problem(p, d, np, line, "chutes", "unknown chute '%s'", toks[i]);
            continue;
        }
        for (j = 0; j < k; j++)
            dup = dup || idx[j] == c;
        if (dup) {
            problem(p, d, np, line, "chutes", "chute %s listed twice", toks[i]);
            continue;
        }
        idx[k++] = (uint16_t)c;
    }
    return k;
}

static bool services_intersect(const struct wcs_plan_rule *a, const struct wcs_plan_rule *b)
{
    int i, j;

    if (a->nservices == 0 || b->nservices == 0)
        return true;
    for (i = 0; i < a->nservices; i++)
        for (j = 0; j < b->nservices; j++)
            if (strcmp(a->services[i], b->services[j]) == 0)
                return true;
    return false;
}

static void check_fallbacks(const struct wcs_plan *p, struct diag *d, int *np)
{
    size_t i;

    for (i = 0; i < p->nroutes; i++) {
        size_t steps = 0, min = i;
        int r = p->routes[i].pub.fallback;
        char chain[512];
        size_t len;

        /* Walk at most nroutes steps; coming back to i means a cycle. Only
         * the cycle's first route (lowest index) reports it, once. */
        while (r >= 0 && (size_t)r != i && steps++ < p->nroutes)
            r = p->routes[r].pub.fallback;
        if (r < 0 || (size_t)r != i)
            continue;
        for (r = p->routes[i].pub.fallback; (size_t)r != i; r = p->routes[r].pub.fallback)
            if ((size_t)r < min)
                min = (size_t)r;
        if (min != i)
            continue;
        len = (size_t)snprintf(chain, sizeof(chain), "%s", p->routes[i].pub.id);
        r = (int)i;
        do {
            r = p->routes[r].pub.fallback;
            if (len < sizeof(chain))
                len += (size_t)snprintf(chain + len, sizeof(chain) - len, " -> %s",
                                        p->routes[r].pub.id);
        } while ((size_t)r != i);
        problem(p, d, np, p->routes[i].line, "route", "fallback cycle %s", chain);
    }
}

static int compile_prefixes(struct wcs_plan *p)
{
    uint32_t count[PREFIXES] = {0};
    size_t i, total = 0;
    int k;

    for (i = 0; i < p->nrules; i++)
        for (k = p->rules[i].pub.prefix_from; k <= p->rules[i].pub.prefix_to; k++)
            count[k]++;
    for (k = 0; k < PREFIXES; k++) {
        p->prefix_off[k] = (uint32_t)total;
        total += count[k];
    }
    p->prefix_off[PREFIXES] = (uint32_t)total;
    p->prefix_rules = malloc((total ? total : 1) * sizeof(*p->prefix_rules));
    if (p->prefix_rules == NULL)
        return -ENOMEM;
    memset(count, 0, sizeof(count));
    for (i = 0; i < p->nrules; i++)
        for (k = p->rules[i].pub.prefix_from; k <= p->rules[i].pub.prefix_to; k++)
            p->prefix_rules[p->prefix_off[k] + count[k]++] = (uint32_t)i;
    for (k = 0; k < PREFIXES; k++)
        qsort_r(p->prefix_rules + p->prefix_off[k], count[k], sizeof(uint32_t), rule_cmp, p);
    return 0;
}

int wcs_plan_finish(struct wcs_plan *p, struct diag *d)
{
    int np = 0;
    size_t i, j;

    if (p == NULL)
        return ERR_STATE;
    if (p->finished)
        return ERR_STATE;

    /* The id indexes first: resolution below looks names up through them. */
    free(p->chute_by_id);
    free(p->route_by_id);
    p->chute_by_id = malloc((p->nchutes + 1) * sizeof(uint16_t));
    p->route_by_id = malloc((p->nroutes + 1) * sizeof(uint16_t));
    if (p->chute_by_id == NULL || p->route_by_id == NULL) {
        diag_add(d, "%s: out of memory", p->source);
        return -ENOMEM;
    }
    for (i = 0; i < p->nchutes; i++)
        p->chute_by_id[i] = (uint16_t)i;
    for (i = 0; i < p->nroutes; i++)
        p->route_by_id[i] = (uint16_t)i;
    qsort_r(p->chute_by_id, p->nchutes, sizeof(uint16_t), chute_cmp, p);
    qsort_r(p->route_by_id, p->nroutes, sizeof(uint16_t), route_cmp, p);

    for (i = 0; i < p->nroutes; i++) {
        struct route_ent *r = &p->routes[i];
        r->pub.nchutes = resolve_chutes(p, d, &np, r->line, r->chutes_src, r->pub.chutes);
        r->pub.fallback = -1;
        if (r->fallback_src[0] != '\0') {
            r->pub.fallback = wcs_plan_route_find(p, r->fallback_src);
            if (r->pub.fallback < 0)
                problem(p, d, &np, r->line, "route", "unknown fallback route '%s'",
                        r->fallback_src);
        }
    }
    check_fallbacks(p, d, &np);

    for (i = 0; i < p->nrules; i++) {
        struct rule_ent *r = &p->rules[i];
        r->pub.route = wcs_plan_route_find(p, r->route_src);
        if (r->pub.route < 0)
            problem(p, d, &np, r->pub.line, "route", "unknown route '%s'", r->route_src);
    }
    /* Two rules that can both match one parcel must differ in priority, or
     * the plan would depend on row order. Quadratic, but plans hold
     * hundreds of rules and this runs once per load. */
    for (j = 1; j < p->nrules; j++) {
        const struct wcs_plan_rule *b = &p->rules[j].pub;
        for (i = 0; i < j; i++) {
            const struct wcs_plan_rule *a = &p->rules[i].pub;
            if (a->priority != b->priority || a->prefix_to < b->prefix_from ||
                b->prefix_to < a->prefix_from || a->weight_max_g < b->weight_min_g ||
                b->weight_max_g < a->weight_min_g || !services_intersect(a, b))
                continue;
            problem(p, d, &np, b->line, "rule", "overlaps rule at line %d with the same priority",
                    a->line);
        }
    }

    for (i = 0; i < WCS_SPECIAL_COUNT; i++) {
        struct special_ent *s = &p->specials[i];
        if (s->line == 0) {
            problem(p, d, &np, 0, "special", "missing required special destination %s",
                    special_names[i]);
            continue;
        }
        s->n = resolve_chutes(p, d, &np, s->line > 0 ? s->line : 0, s->chutes_src, s->chutes);
    }
    if (p->default_exit[0] == '\0')
        problem(p, d, &np, 0, "param", "missing required parameter default_exit");

    if (np > 0)
        return ERR_INVALID;
    if (compile_prefixes(p) < 0) {
        diag_add(d, "%s: out of memory", p->source);
        return -ENOMEM;
    }
    p->finished = true;
    return 0;
}

/* --- accessors and matching ---------------------------------------------- */

const char *wcs_plan_source(const struct wcs_plan *p)
{
    return p->source;
}

size_t wcs_plan_nchutes(const struct wcs_plan *p)
{
    return p->nchutes;
}

const struct wcs_plan_chute *wcs_plan_chute(const struct wcs_plan *p, size_t i)
{
    return i < p->nchutes ? &p->chutes[i].pub : NULL;
}

int wcs_plan_chute_find(const struct wcs_plan *p, const char *id)
{
    size_t lo = 0, hi = p->nchutes;

    if (p->chute_by_id == NULL || id == NULL)
        return -1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(id, p->chutes[p->chute_by_id[mid]].pub.id);
        if (c == 0)
            return p->chute_by_id[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

size_t wcs_plan_nroutes(const struct wcs_plan *p)
{
    return p->nroutes;
}

const struct wcs_plan_route *wcs_plan_route(const struct wcs_plan *p, size_t i)
{
    return i < p->nroutes ? &p->routes[i].pub : NULL;
}

int wcs_plan_route_find(const struct wcs_plan *p, const char *id)
{
    size_t lo = 0, hi = p->nroutes;

    if (p->route_by_id == NULL || id == NULL)
        return -1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(id, p->routes[p->route_by_id[mid]].pub.id);
        if (c == 0)
            return p->route_by_id[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

size_t wcs_plan_nrules(const struct wcs_plan *p)
{
    return p->nrules;
}

const struct wcs_plan_rule *wcs_plan_rule(const struct wcs_plan *p, size_t i)
{
    return i < p->nrules ? &p->rules[i].pub : NULL;
}

const uint16_t *wcs_plan_special(const struct wcs_plan *p, enum wcs_special s, int *n)
{
    if ((unsigned)s >= WCS_SPECIAL_COUNT) {
        *n = 0;
        return NULL;
    }
    *n = p->specials[s].n;
    return p->specials[s].chutes;
}

const char *wcs_plan_special_name(enum wcs_special s)
{
    return (unsigned)s < WCS_SPECIAL_COUNT ? special_names[s] : "?";
}

const char *wcs_plan_default_exit(const struct wcs_plan *p)
{
    return p->default_exit;
}

unsigned wcs_plan_recirc_limit(const struct wcs_plan *p)
{
    return p->recirc_limit;
}

uint32_t wcs_plan_max_weight_g(const struct wcs_plan *p)
{
    return p->max_weight_g;
}

void wcs_plan_max_dims(const struct wcs_plan *p, uint32_t *l, uint32_t *w, uint32_t *h)
{
    *l = p->max_length_mm;
    *w = p->max_width_mm;
    *h = p->max_height_mm;
}

const char *wcs_plan_param(const struct wcs_plan *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nparams; i++)
        if (strcmp(p->params[i].name, name) == 0)
            return p->params[i].value;
    return NULL;
}

size_t wcs_plan_nparams(const struct wcs_plan *p)
{
    return p->nparams;
}

void wcs_plan_param_at(const struct wcs_plan *p, size_t i, const char **name, const char **value)
{
    if (i >= p->nparams) {
        *name = *value = NULL;
        return;
    }
    *name = p->params[i].name;
    *value = p->params[i].value;
}

int wcs_plan_match_rule(const struct wcs_plan *p, uint32_t postal, const char *service,
                        uint32_t weight_g)
{
    uint32_t k, i;

    if (!p->finished || postal > 999999)
        return -1;
    k = postal / 1000;
    for (i = p->prefix_off[k]; i < p->prefix_off[k + 1]; i++) {
        const struct wcs_plan_rule *r = &p->rules[p->prefix_rules[i]].pub;
        int s;
        if (weight_g < r->weight_min_g || weight_g > r->weight_max_g)
            continue;
        if (r->nservices == 0)
            return (int)p->prefix_rules[i];
        if (service == NULL)
            continue;
        for (s = 0; s < r->nservices; s++)
            if (strcasecmp(service, r->services[s]) == 0)
                return (int)p->prefix_rules[i];
    }
    return -1;
}

int wcs_plan_match(const struct wcs_plan *p, uint32_t postal, const char *service,
                   uint32_t weight_g)
{
    int rule = wcs_plan_match_rule(p, postal, service, weight_g);

    return rule < 0 ? -1 : p->rules[rule].pub.route;
}

/*
 * config.c - the one config loader: libyaml events -> flat list of
 * "section.key" scalars with their lines -> table-driven validation.
 *
 * DESIGN: the file is small and the schema is flat (sections of scalars), so
 * instead of a general YAML tree we flatten mappings into dotted keys while
 * parsing, remember each key's line, and check every key against one table.
 * That table is the single place a new setting is added.
 */
#include "wcs/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum key_type { KEY_STRING, KEY_INT, KEY_SIZE, KEY_LOGLEVEL, KEY_SECTION };

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset;  /* into struct wcs_config */
    size_t size;    /* string buffer size, or integer width */
    long long min, max;
    int required;
};

#define OFF(f) offsetof(struct wcs_config, f)
#define SZ(f) sizeof(((struct wcs_config *)0)->f)

static const struct key_def keys[] = {
    {"node", KEY_STRING, OFF(node), SZ(node), 5, 5, 0},
    {"log_level", KEY_LOGLEVEL, OFF(log_level), 0, 0, 0, 0},
    {"database", KEY_SECTION, 0, 0, 0, 0, 0},
    {"database.conninfo", KEY_STRING, OFF(db_conninfo), SZ(db_conninfo), 1, 511, 1},
    {"database.password_file", KEY_STRING, OFF(db_password_file), SZ(db_password_file), 1, 255, 0},
    {"database.connect_wait_s", KEY_INT, OFF(db_connect_wait_s), SZ(db_connect_wait_s), 0, 86400, 0},
    {"http", KEY_SECTION, 0, 0, 0, 0, 0},
    {"http.listen", KEY_STRING, OFF(http_listen), SZ(http_listen), 0, 63, 0},
    {"http.port", KEY_INT, OFF(http_port), SZ(http_port), 0, 65535, 0},
    {"registry", KEY_SECTION, 0, 0, 0, 0, 0},
    {"registry.expected_parcels", KEY_SIZE, OFF(registry_expected), SZ(registry_expected), 1,
     100000000, 0},
    {"registry.resync_s", KEY_INT, OFF(registry_resync_s), SZ(registry_resync_s), 1, 86400, 0},
    {"events", KEY_SECTION, 0, 0, 0, 0, 0},
    {"events.queue_capacity", KEY_SIZE, OFF(events.queue_capacity), SZ(events.queue_capacity),
     1024, 16777216, 0},
    {"events.batch_max", KEY_SIZE, OFF(events.batch_max), SZ(events.batch_max), 1, 100000, 0},
    {"events.flush_interval_ms", KEY_INT, OFF(events.flush_interval_ms),
     SZ(events.flush_interval_ms), 1, 10000, 0},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void wcs_config_defaults(struct wcs_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->node, "WCS01");
    c->log_level = LOG_LEVEL_INFO;
    c->db_connect_wait_s = 0;
    strcpy(c->http_listen, "127.0.0.1");
    c->http_port = 8080;
    c->registry_expected = 100000;
    c->registry_resync_s = 60;
    c->events.queue_capacity = 65536;
    c->events.batch_max = 2000;
    c->events.flush_interval_ms = 20;
}

static const struct key_def *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Stores one scalar value into c according to k; reports problems to d. */
static void set_value(struct wcs_config *c, const struct key_def *k, const char *val, int line,
                      struct diag *d)
{
    char *base = (char *)c + k->offset, *end;
    long long n;
    size_t len = strlen(val);

    switch (k->type) {
    case KEY_STRING:
        if ((long long)len < k->min || (long long)len > k->max) {
            if (k->min == k->max)
                diag_add(d, "%s:%d: %s: must be exactly %lld characters", c->path, line, k->name,
                         k->min);
            else
                diag_add(d, "%s:%d: %s: must be %lld to %lld characters", c->path, line, k->name,
                         k->min, k->max);
            return;
        }
        memcpy(base, val, len + 1);
        return;
    case KEY_INT:
    case KEY_SIZE:
        errno = 0;
        n = strtoll(val, &end, 10);
        if (len == 0 || *end != '\0' || errno != 0) {
            diag_add(d, "%s:%d: %s: \"%s\" is not a whole number", c->path, line, k->name, val);
            return;
        }
        if (n < k->min || n > k->max) {
            diag_add(d, "%s:%d: %s: %lld is out of range %lld..%lld", c->path, line, k->name, n,
                     k->min, k->max);
            return;
        }
        if (k->size == sizeof(size_t) && k->type == KEY_SIZE)
            *(size_t *)(void *)base = (size_t)n;
        else if (k->size == sizeof(int))
            *(int *)(void *)base = (int)n;
        return;
    case KEY_LOGLEVEL:
        if (log_level_parse(val, &c->log_level) < 0)
            diag_add(d, "%s:%d: %s: \"%s\" is not one of error, warn, info, debug", c->path, line,
                     k->name, val);
        return;
    case KEY_SECTION:
        diag_add(d, "%s:%d: %s: is a section; expected a mapping of keys", c->path, line, k->name);
        return;
    }
}

struct parse_state {
    struct wcs_config *c;
    struct diag *d;
    char prefix[128];     /* current section ("" at top level) */
    int depth;            /* mapping depth */
    int want_key;         /* next scalar is a key */
    char key[128];        /* pending key */
    int key_line;
    int seen[NKEYS];      /* line where each key was set, 0 = not set */
};

static void handle_key_value(struct parse_state *st, const char *value, int line)
{
    char full[256];
    const struct key_def *k;

    snprintf(full, sizeof(full), "%s%s%s", st->prefix, st->prefix[0] ? "." : "", st->key);
    k = find_key(full);
    if (k == NULL) {
        diag_add(st->d, "%s:%d: %s: unknown key", st->c->path, st->key_line, full);
        return;
    }
    if (st->seen[k - keys]) {
        diag_add(st->d, "%s:%d: %s: given twice (first at line %d)", st->c->path, st->key_line,
                 full, st->seen[k - keys]);
        return;
    }
    st->seen[k - keys] = st->key_line;
    set_value(st->c, k, value, line, st->d);
}

int wcs_config_load(const char *path, struct wcs_config *c, struct diag *d, struct err *e)
{
    struct parse_state st;
    yaml_parser_t parser;
    yaml_event_t ev;
    FILE *f;
    size_t i;
    int done = 0, rc = 0, skip_depth = 0;
    size_t before = diag_count(d);

    wcs_config_defaults(c);
    snprintf(c->path, sizeof(c->path), "%s", path);
    f = fopen(path, "r");
    if (f == NULL)
        return err_set(e, -errno, "%s: cannot open: %s", path, strerror(errno));
    memset(&st, 0, sizeof(st));
    st.c = c;
    st.d = d;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return err_set(e, -ENOMEM, "%s: cannot initialise the YAML parser", path);
    }
    yaml_parser_set_input_file(&parser, f);

    while (!done) {
        int line;

        if (!yaml_parser_parse(&parser, &ev)) {
            diag_add(d, "%s:%zu: %s: %s", path, parser.problem_mark.line + 1,
                     parser.context ? parser.context : "syntax",
                     parser.problem ? parser.problem : "invalid YAML");
            break;
        }
        line = (int)ev.start_mark.line + 1;
        if (skip_depth > 0) {
            /* Inside a value we refused (sequence or nested mapping): skip it whole. */
            if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
                skip_depth++;
            else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
                skip_depth--;
            if (skip_depth == 0)
                st.want_key = 1;
            yaml_event_delete(&ev);
            continue;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_MAPPING_START_EVENT:
            if (st.depth == 0) {
                st.depth = 1;
                st.want_key = 1;
            } else if (st.depth == 1 && !st.want_key) {
                const struct key_def *k = find_key(st.key);
                if (k == NULL || k->type != KEY_SECTION) {
                    diag_add(d, "%s:%d: %s: %s", path, st.key_line, st.key,
                             k ? "is a single value, not a section" : "unknown section");
                    skip_depth = 1;
                } else {
                    st.seen[k - keys] = st.key_line;
                    snprintf(st.prefix, sizeof(st.prefix), "%s", st.key);
                    st.depth = 2;
                    st.want_key = 1;
                }
            } else {
                diag_add(d, "%s:%d: %s.%s: nested too deep", path, line, st.prefix, st.key);
                skip_depth = 1;
            }
            break;
        case YAML_MAPPING_END_EVENT:
            if (st.depth == 2) {
                st.prefix[0] = '\0';
                st.depth = 1;
                st.want_key = 1;
            } else {
                st.depth = 0;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
            diag_add(d, "%s:%d: %s%s%s: lists are not accepted here", path, line, st.prefix,
                     st.prefix[0] ? "." : "", st.depth ? st.key : "(top level)");
            skip_depth = 1;
            break;
        case YAML_SCALAR_EVENT: {
            const char *val = (const char *)ev.data.scalar.value;
            if (st.depth == 0) {
                diag_add(d, "%s:%d: (top level): expected a mapping of keys", path, line);
            } else if (st.want_key) {
                snprintf(st.key, sizeof(st.key), "%s", val);
                st.key_line = line;
                st.want_key = 0;
            } else {
                handle_key_value(&st, val, line);
                st.want_key = 1;
            }
            break;
        }
        case YAML_ALIAS_EVENT:
            diag_add(d, "%s:%d: %s: aliases are not accepted", path, line, st.key);
            st.want_key = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(f);

    for (i = 0; i < NKEYS; i++) {
        if (keys[i].required && !st.seen[i])
            diag_add(d, "%s:1: %s: required key missing", path, keys[i].name);
    }
    if (diag_count(d) > before)
        rc = err_set(e, ERR_CONFIG, "%s: %zu problem(s)", path, diag_count(d) - before);
    return rc;
}

int wcs_config_db_conninfo(const struct wcs_config *c, char *buf, size_t len, struct err *e)
{
    char pw[256], esc[600];
    size_t n, i, j = 0;
    FILE *f;

    if (c->db_password_file[0] == '\0') {
        if ((size_t)snprintf(buf, len, "%s", c->db_conninfo) >= len)
            return err_set(e, ERR_CONFIG, "database.conninfo: too long");
        return 0;
    }
    f = fopen(c->db_password_file, "r");
    if (f == NULL)
        return err_set(e, -errno, "database.password_file: cannot open %s: %s",
                       c->db_password_file, strerror(errno));
    n = fread(pw, 1, sizeof(pw) - 1, f);
    fclose(f);
    pw[n] = '\0';
    while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
        pw[--n] = '\0';
    if (n == 0)
        return err_set(e, ERR_CONFIG, "database.password_file: %s is empty", c->db_password_file);
    /* conninfo quoting: single quotes around, backslash before ' and \. */
    for (i = 0; i < n && j < sizeof(esc) - 3; i++) {
        if (pw[i] == '\'' || pw[i] == '\\')
            esc[j++] = '\\';
        esc[j++] = pw[i];
    }
    esc[j] = '\0';
    if ((size_t)snprintf(buf, len, "%s password='%s'", c->db_conninfo, esc) >= len)
        return err_set(e, ERR_CONFIG, "database.conninfo: too long with the password");
    memset(pw, 0, sizeof(pw));
    memset(esc, 0, sizeof(esc));
    return 0;
}

/*
 * sessions.c - login sessions (sessions.h).
 */
#include "wcs/daemon/sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct wcs_sessions {
    struct wcs_session v[WCS_SESSIONS_MAX];
};

struct wcs_sessions *wcs_sessions_new(void)
{
    return calloc(1, sizeof(struct wcs_sessions));
}

void wcs_sessions_free(struct wcs_sessions *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, sizeof(*s));
    free(s);
}

/* 32 random bytes as base64url without padding: 43 characters. */
static bool random_text(char out[WCS_SESSION_TEXT])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[33] = {0};
    size_t i, o = 0;

    if (getrandom(r, 32, 0) != 32)
        return false;
    for (i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];

        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = b64[v >> 6 & 63];
        out[o++] = b64[v & 63];
    }
    out[43] = '\0'; /* 32 bytes are 43 characters; the rest came from padding */
    explicit_bzero(r, sizeof(r));
    return true;
}

static void end(struct wcs_session *x)
{
    explicit_bzero(x, sizeof(*x));
}

const struct wcs_session *wcs_session_start(struct wcs_sessions *s, const char *user,
                                            enum wcs_user_role role, const char *language,
                                            uint64_t now_us, char id[WCS_SESSION_TEXT])
{
    struct wcs_session *x = NULL, *oldest_own = NULL;
    size_t i, own = 0;

    /* One user's logins replace that user's oldest past WCS_SESSIONS_PER_USER,
     * so no one user can push everyone else out. */
    for (i = 0; i < WCS_SESSIONS_MAX; i++)
        if (s->v[i].used && strcmp(s->v[i].user, user) == 0) {
            own++;
            if (oldest_own == NULL || s->v[i].last_us < oldest_own->last_us)
                oldest_own = &s->v[i];
        }
    if (own >= WCS_SESSIONS_PER_USER)
        x = oldest_own;
    for (i = 0; i < WCS_SESSIONS_MAX && x == NULL; i++)
        if (!s->v[i].used)
            x = &s->v[i];
    if (x == NULL) { /* all taken: the one idle longest goes */
        x = &s->v[0];
        for (i = 1; i < WCS_SESSIONS_MAX; i++)
            if (s->v[i].last_us < x->last_us)
                x = &s->v[i];
    }
    end(x);
    if (!random_text(id) || !random_text(x->csrf))
        return NULL;
    snprintf(x->user, sizeof(x->user), "%s", user);
    snprintf(x->language, sizeof(x->language), "%s", language);
    x->role = role;
    token_secret_set(&x->id, id, strlen(id));
    x->created_us = x->last_us = now_us;
    x->used = true;
    return x;
}

/* The slot of id, every slot compared whatever matched. */
static struct wcs_session *slot_of(struct wcs_sessions *s, const char *id)
{
    struct token_secret presented;
    struct wcs_session *found = NULL;
    size_t i, n = strlen(id);

    if (n == 0 || n > TOKEN_SECRET_MAX)
        return NULL;
    token_secret_set(&presented, id, n);
    for (i = 0; i < WCS_SESSIONS_MAX; i++) {
        bool eq = token_secret_equal(&s->v[i].id, &presented);
        if (eq && s->v[i].used)
            found = &s->v[i];
    }
    token_secret_wipe(&presented);
    return found;
}

const struct wcs_session *wcs_session_find(struct wcs_sessions *s, const char *id,
                                           uint64_t now_us)
{
    struct wcs_session *x = slot_of(s, id);

    if (x == NULL)
        return NULL;
    if (now_us - x->last_us > (uint64_t)WCS_SESSION_IDLE_US ||
        now_us - x->created_us > (uint64_t)WCS_SESSION_LIFE_US) {
        end(x);
        return NULL;
    }
    x->last_us = now_us;
    return x;
}

bool wcs_session_end(struct wcs_sessions *s, const char *id)
{
    struct wcs_session *x = slot_of(s, id);

    if (x == NULL)
        return false;
    end(x);
    return true;
}

void wcs_session_set_language(struct wcs_sessions *s, const char *id, const char *language)
{
    struct wcs_session *x = slot_of(s, id);
    size_t i;

    if (x == NULL)
        return;
    for (i = 0; i < WCS_SESSIONS_MAX; i++)
        if (s->v[i].used && strcmp(s->v[i].user, x->user) == 0)
            snprintf(s->v[i].language, sizeof(s->v[i].language), "%s", language);
}

size_t wcs_sessions_end_user(struct wcs_sessions *s, const char *user)
{
    size_t i, n = 0;

    for (i = 0; i < WCS_SESSIONS_MAX; i++)
        if (s->v[i].used && (user == NULL || strcmp(s->v[i].user, user) == 0)) {
            end(&s->v[i]);
            n++;
        }
    return n;
}

bool wcs_cookie_value(const char *header, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    const char *p = header;

    while (p != NULL && *p != '\0') {
        size_t vl;

        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            p += nl + 1;
            vl = strcspn(p, ";");
            if (vl == 0 || vl >= len)
                return false;
            memcpy(out, p, vl);
            out[vl] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

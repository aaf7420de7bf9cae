/*
 * peer.c - addresses and CIDR blocks of the hosts allowed to be a PLC (see
 * peer.h).
 */
#include "conveyor/peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int conv_cidr_parse(const char *text, struct conv_cidr *out, struct err *e)
{
    char addr[CONV_PEER_TEXT_MAX + 1];
    const char *slash;
    unsigned max, bits, i;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (text == NULL || strlen(text) > CONV_PEER_TEXT_MAX)
        return err_set(e, ERR_PARSE, "not an address or CIDR block");
    slash = strchr(text, '/');
    n = slash != NULL ? (size_t)(slash - text) : strlen(text);
    memcpy(addr, text, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return err_set(e, ERR_PARSE, "\"%s\" is not an IPv4 or IPv6 address", addr);
    }
    out->prefix = max;
    if (slash != NULL) {
        char *end;
        long v;

        if (slash[1] < '0' || slash[1] > '9')
            return err_set(e, ERR_PARSE, "prefix after '/' is not a number");
        v = strtol(slash + 1, &end, 10);
        if (*end != '\0' || v < 0 || v > (long)max)
            return err_set(e, ERR_PARSE, "prefix /%s is not 0..%u", slash + 1, max);
        out->prefix = (unsigned)v;
    }
    /* Host bits set under a network prefix are a typo, not a wish. */
    for (i = out->prefix; i < max; i++) {
        bits = out->addr[i / 8] >> (7 - i % 8) & 1u;
        if (bits)
            return err_set(e, ERR_PARSE, "\"%s\" has host bits set under /%u", text, out->prefix);
    }
    return 0;
}

bool conv_cidr_match(const struct conv_cidr *c, const struct sockaddr *sa)
{
    const unsigned char *a;
    unsigned full, rest;

    if (sa->sa_family == AF_INET && c->family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *v6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

        if (c->family == AF_INET6)
            a = v6->s6_addr;
        else if (IN6_IS_ADDR_V4MAPPED(v6))
            a = v6->s6_addr + 12;
        else
            return false;
    } else {
        return false;
    }
    full = c->prefix / 8;
    rest = c->prefix % 8;
    if (memcmp(a, c->addr, full) != 0)
        return false;
    return rest == 0 || ((a[full] ^ c->addr[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

void conv_peer_text(const struct sockaddr *sa, char *out, size_t len)
{
    const void *a = NULL;

    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

/*
 * peer.h - which hosts may be a PLC: single addresses and CIDR blocks, IPv4
 * and IPv6 (pure: text in, a rule out; an address in, a match out). A PLC
 * link in server mode accepts a connection only from a host its allowlist
 * matches (conv_link_config.allow), so a stranger on the network can neither
 * talk to the WCS as the PLC nor push the live PLC connection aside.
 */
#ifndef WCS_CONVEYOR_PEER_H
#define WCS_CONVEYOR_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/err.h"

#define CONV_PEER_TEXT_MAX 63 /* "ffff:...:ffff/128" fits */
#define CONV_PEER_ALLOW_MAX 16 /* entries of an allowlist */

struct conv_cidr {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];  /* network byte order; 4 bytes used for AF_INET */
    unsigned prefix;         /* leading bits that must match: 0..32 or 0..128 */
};

/* Parses "192.168.10.21", "192.168.10.0/24", "fd00::7" or "fd00::/64" into
 * *out. Bits past the prefix must be zero ("10.0.0.1/8" is refused: it
 * reads like a host but means a network). Returns 0, or ERR_PARSE with the
 * reason in e. */
int conv_cidr_parse(const char *text, struct conv_cidr *out, struct err *e);

/* True when the socket address sa (AF_INET or AF_INET6; an IPv4-mapped IPv6
 * address counts as its IPv4 address) lies in c. */
bool conv_cidr_match(const struct conv_cidr *c, const struct sockaddr *sa);

/* Writes sa's address as text into out (for logs). */
void conv_peer_text(const struct sockaddr *sa, char *out, size_t len);

#endif

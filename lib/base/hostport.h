/*
 * hostport.h - parse a listen address "HOST:PORT" where HOST is an IPv4
 * literal ("127.0.0.1", "0.0.0.0") or a bracketed IPv6 literal ("[::1]",
 * "[::]") and PORT is 1..65535.  Host names are refused on purpose: a
 * listen address must not depend on DNS at start.
 */
#ifndef REMEDY_HOSTPORT_H
#define REMEDY_HOSTPORT_H

#include <sys/socket.h>
#include <stddef.h>

/* Returns 0 and fills *ss, or -1 with a message (without the input) in err. */
int	parse_hostport(const char *s, struct sockaddr_storage *ss,
	    char *err, size_t errlen);

#endif

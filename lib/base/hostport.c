/*
 * hostport.c - see hostport.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"

int
parse_hostport(const char *s, struct sockaddr_storage *ss, char *err,
    size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[64];
	const char		*colon, *hs, *he, *p;
	unsigned long		 port;
	char			*end;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty address");
		return -1;
	}
	if (*s == '[') {
		hs = s + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':') {
			snprintf(err, errlen, "expected [IPV6]:PORT");
			return -1;
		}
		colon = he + 1;
	} else {
		hs = s;
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen, "expected HOST:PORT, e.g. "
			    "127.0.0.1:9464");
			return -1;
		}
		he = colon;
	}
	if ((size_t)(he - hs) == 0 || (size_t)(he - hs) >= sizeof(host)) {
		snprintf(err, errlen, "missing or overlong host");
		return -1;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	p = colon + 1;
	if (*p < '0' || *p > '9') {
		snprintf(err, errlen, "port must be a number 1-65535");
		return -1;
	}
	port = strtoul(p, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535) {
		snprintf(err, errlen, "port must be a number 1-65535");
		return -1;
	}
	if (*s == '[') {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "\"%s\" is not an IPv6 address",
			    host);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 address (use "
		    "[ADDR] for IPv6; host names are not accepted)", host);
		return -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	return 0;
}

/*
 * ref.c - image references (ref.h): the grammar of distribution/reference
 * (reference.go, normalize.go) written as small hand parsers.
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] component ( "/" component )*
 *   domain     := host [ ":" port ]
 *   host       := label ( "." label )* | "[" ipv6 "]"
 *   label      := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" [0-9a-fA-F]{32,}
 *   algorithm  := [a-z0-9]+ ( [+._-] [a-z0-9]+ )*
 */
#include <stdio.h>
#include <string.h>

#include "registry/ref.h"

#define DOCKER_DOMAIN		"docker.io"
#define DOCKER_LEGACY		"index.docker.io"
#define DOCKER_API_HOST		"registry-1.docker.io"
#define REF_INPUT_MAX		1024

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alnum(int c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int
is_word(int c)
{
	return is_alnum(c) || c == '_';
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Quote at most 64 bytes of s[0..n) into err after the message prefix. */
static int
fail(char *err, size_t errlen, const char *why, const char *s, size_t n)
{
	if (n > 64)
		snprintf(err, errlen, "invalid reference: %s (\"%.64s...\")",
		    why, s);
	else
		snprintf(err, errlen, "invalid reference: %s (\"%.*s\")", why,
		    (int)n, s);
	return -1;
}

/* One path component of n bytes. */
static int
valid_component(const char *s, size_t n)
{
	size_t	i = 0;

	if (n == 0 || !is_lower_alnum((unsigned char)s[0]))
		return 0;
	while (i < n) {
		while (i < n && is_lower_alnum((unsigned char)s[i]))
			i++;
		if (i == n)
			return 1;
		/* a separator: ".", "_", "__" or one or more "-" */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return 0;
		}
		if (i == n || !is_lower_alnum((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int
valid_label(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || !is_alnum((unsigned char)s[0]) ||
	    !is_alnum((unsigned char)s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* host [":" port], or "[" ipv6 "]" [":" port]. */
static int
valid_domain(const char *s, size_t n)
{
	const char	*colon = NULL, *p, *dot;
	size_t		 hostlen, i;

	if (n == 0)
		return 0;
	if (s[0] == '[') {
		if ((p = memchr(s, ']', n)) == NULL || p == s + 1)
			return 0;
		for (i = 1; s + i < p; i++)
			if (!is_hex((unsigned char)s[i]) && s[i] != ':')
				return 0;
		hostlen = (size_t)(p - s) + 1;
		if (hostlen < n && s[hostlen] != ':')
			return 0;
		if (hostlen < n)
			colon = s + hostlen;
	} else {
		colon = memchr(s, ':', n);
		hostlen = colon ? (size_t)(colon - s) : n;
		for (p = s; p < s + hostlen; p = dot + 1) {
			if ((dot = memchr(p, '.', (size_t)(s + hostlen - p)))
			    == NULL)
				dot = s + hostlen;
			if (!valid_label(p, (size_t)(dot - p)))
				return 0;
			if (dot == s + hostlen)
				break;
		}
	}
	if (colon != NULL) {
		if (colon + 1 == s + n)
			return 0;
		for (p = colon + 1; p < s + n; p++)
			if (*p < '0' || *p > '9')
				return 0;
	}
	return 1;
}

int
imgref_valid_domain(const char *s)
{
	return strlen(s) <= IMGREF_NAME_MAX && valid_domain(s, strlen(s));
}

int
imgref_valid_tag(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > IMGREF_TAG_MAX || !is_word((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_word((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

int
imgref_valid_digest(const char *s)
{
	const char	*colon, *p;
	size_t		 hexlen, i;

	if ((colon = strchr(s, ':')) == NULL || colon == s ||
	    strlen(s) > IMGREF_DIGEST_MAX)
		return 0;
	/* algorithm: components of [a-z0-9]+ joined by one of + . _ - */
	for (p = s; p < colon; p++) {
		if (is_lower_alnum((unsigned char)*p))
			continue;
		if (strchr("+._-", *p) == NULL || p == s || p + 1 == colon ||
		    !is_lower_alnum((unsigned char)p[1]))
			return 0;
	}
	hexlen = strlen(colon + 1);
	if (hexlen < 32)
		return 0;
	for (i = 0; i < hexlen; i++)
		if (!is_hex((unsigned char)colon[1 + i]))
			return 0;
	/* the registered algorithms fix length and case */
	if (colon - s == 6 && strncmp(s, "sha256", 6) == 0) {
		if (hexlen != 64)
			return 0;
	} else if (colon - s == 6 && strncmp(s, "sha512", 6) == 0) {
		if (hexlen != 128)
			return 0;
	} else {
		return 1;
	}
	for (i = 0; i < hexlen; i++)
		if (colon[1 + i] >= 'A' && colon[1 + i] <= 'F')
			return 0;
	return 1;
}

static int
all_hex64(const char *s)
{
	size_t	i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

int
imgref_parse(const char *s, struct imgref *r, char *err, size_t errlen)
{
	const char	*rest, *slash, *at, *colon, *name_end, *p, *end;
	size_t		 n, dlen, plen;
	int		 upper = 0, library = 0;

	memset(r, 0, sizeof(*r));
	n = strnlen(s, REF_INPUT_MAX + 1);
	if (n == 0) {
		snprintf(err, errlen, "invalid reference: empty");
		return -1;
	}
	if (n > REF_INPUT_MAX)
		return fail(err, errlen, "longer than 1024 bytes", s, n);
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return fail(err, errlen, "contains a space, control "
			    "or non-ASCII character", s, n);
	if (all_hex64(s))
		return fail(err, errlen, "a 64-character hexadecimal string "
		    "is an image ID, not a repository name", s, n);

	/* the domain: first component with '.' or ':', "localhost", or
	 * upper case (normalize.go splitDockerDomain) */
	slash = strchr(s, '/');
	if (slash != NULL) {
		for (p = s; p < slash; p++)
			if (*p >= 'A' && *p <= 'Z')
				upper = 1;
	}
	if (slash == NULL || (memchr(s, '.', (size_t)(slash - s)) == NULL &&
	    memchr(s, ':', (size_t)(slash - s)) == NULL &&
	    !((size_t)(slash - s) == 9 && strncmp(s, "localhost", 9) == 0) &&
	    !upper)) {
		snprintf(r->domain, sizeof(r->domain), "%s", DOCKER_DOMAIN);
		rest = s;
	} else {
		dlen = (size_t)(slash - s);
		if (!valid_domain(s, dlen))
			return fail(err, errlen, "the registry host is not "
			    "HOST[:PORT]", s, dlen);
		if (dlen >= sizeof(r->domain))
			return fail(err, errlen, "the registry host is too "
			    "long", s, dlen);
		if (dlen == strlen(DOCKER_LEGACY) &&
		    strncmp(s, DOCKER_LEGACY, dlen) == 0)
			snprintf(r->domain, sizeof(r->domain), "%s",
			    DOCKER_DOMAIN);
		else
			snprintf(r->domain, sizeof(r->domain), "%.*s",
			    (int)dlen, s);
		rest = slash + 1;
	}

	/* digest after the first '@', tag after the last ':' of the name */
	end = rest + strlen(rest);
	if ((at = strchr(rest, '@')) != NULL) {
		if ((size_t)(end - at - 1) >= sizeof(r->digest) ||
		    (snprintf(r->digest, sizeof(r->digest), "%s", at + 1),
		    !imgref_valid_digest(r->digest)))
			return fail(err, errlen, "bad digest (want ALGORITHM:"
			    "HEX, sha256 with 64 lower-case hex digits)",
			    at + 1, (size_t)(end - at - 1));
		end = at;
	}
	name_end = end;
	for (colon = end; colon > rest && colon[-1] != ':' &&
	    colon[-1] != '/'; colon--)
		;
	if (colon > rest && colon[-1] == ':') {
		colon--;
		if ((size_t)(end - colon - 1) > IMGREF_TAG_MAX)
			return fail(err, errlen, "tag longer than 128 "
			    "characters", colon + 1, (size_t)(end - colon - 1));
		snprintf(r->tag, sizeof(r->tag), "%.*s",
		    (int)(end - colon - 1), colon + 1);
		if (!imgref_valid_tag(r->tag))
			return fail(err, errlen, "bad tag (letters, digits, "
			    "'_', '.' and '-', not starting with '.' or '-')",
			    colon + 1, (size_t)(end - colon - 1));
		name_end = colon;
	}

	/* the repository path */
	plen = (size_t)(name_end - rest);
	if (plen == 0)
		return fail(err, errlen, "no repository name", s, n);
	for (p = rest; p < name_end; p++)
		if (*p >= 'A' && *p <= 'Z')
			return fail(err, errlen, "the repository name must be "
			    "lower case", rest, plen);
	for (p = rest; p < name_end; p = slash + 1) {
		if ((slash = memchr(p, '/', (size_t)(name_end - p))) == NULL)
			slash = name_end;
		if (!valid_component(p, (size_t)(slash - p)))
			return fail(err, errlen, "bad repository path "
			    "component (lower-case letters and digits, "
			    "separated by '.', '_', '__' or '-')", rest, plen);
		if (slash == name_end)
			break;
	}
	if (strcmp(r->domain, DOCKER_DOMAIN) == 0 &&
	    memchr(rest, '/', plen) == NULL)
		library = 1;
	if (strlen(r->domain) + 1 + (library ? 8 : 0) + plen >
	    IMGREF_NAME_MAX)
		return fail(err, errlen, "repository name longer than 255 "
		    "characters", s, n);
	snprintf(r->path, sizeof(r->path), "%s%.*s", library ? "library/" : "",
	    (int)plen, rest);
	return 0;
}

int
imgref_name(const struct imgref *r, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "%s/%s", r->domain, r->path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
imgref_format(const struct imgref *r, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "%s/%s%s%s%s%s", r->domain, r->path,
	    r->tag[0] ? ":" : "", r->tag, r->digest[0] ? "@" : "", r->digest);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
imgref_familiar(const struct imgref *r, char *buf, size_t len)
{
	const char	*path = r->path;
	int		 n;

	if (strcmp(r->domain, DOCKER_DOMAIN) != 0)
		return imgref_format(r, buf, len);
	if (strncmp(path, "library/", 8) == 0 && strchr(path + 8, '/') ==
	    NULL)
		path += 8;
	n = snprintf(buf, len, "%s%s%s%s%s", path, r->tag[0] ? ":" : "",
	    r->tag, r->digest[0] ? "@" : "", r->digest);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *
imgref_api_host(const char *domain)
{
	if (strcmp(domain, DOCKER_DOMAIN) == 0)
		return DOCKER_API_HOST;
	return domain;
}

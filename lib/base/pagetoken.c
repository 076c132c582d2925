/*
 * pagetoken.c - see pagetoken.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/pagetoken.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of in, without padding; -1 when it does not fit. */
static int
enc(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t		i, o = 0;
	uint32_t	v;
	int		k, bits;

	if ((n + 2) / 3 * 4 + 1 > outlen)
		return -1;
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		bits = 8;
		if (i + 1 < n) {
			v |= (uint32_t)in[i + 1] << 8;
			bits = 16;
		}
		if (i + 2 < n) {
			v |= in[i + 2];
			bits = 24;
		}
		for (k = 0; k * 6 < bits; k++)
			out[o++] = b64url[(v >> (18 - 6 * k)) & 0x3f];
	}
	out[o] = '\0';
	return 0;
}

/* Decode base64url without padding into out (NUL-terminated); -1 on a
 * character or length that is not base64url. */
static int
dec(const char *in, char *out, size_t outlen)
{
	size_t		n = strlen(in), i, o = 0;
	uint32_t	v = 0;
	const char	*p;
	int		bits = 0;

	if (n % 4 == 1 || n / 4 * 3 + 3 > outlen)
		return -1;
	for (i = 0; i < n; i++) {
		if (in[i] == '\0' || (p = strchr(b64url, in[i])) == NULL)
			return -1;
		v = (v << 6) | (uint32_t)(p - b64url);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (char)((v >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return strlen(out) == o ? 0 : -1;
}

int
pagetoken_encode(const char *cmd, int64_t before, const char *filter,
    char *out, size_t outlen)
{
	json_t	*o;
	char	*s;
	int	 rc = -1;

	if ((o = json_pack("{s:s, s:I, s:s}", "cmd", cmd, "before",
	    (json_int_t)before, "filter", filter ? filter : "")) == NULL)
		return -1;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) != NULL)
		rc = enc((const unsigned char *)s, strlen(s), out, outlen);
	free(s);
	json_decref(o);
	return rc;
}

int
pagetoken_decode(const char *token, const char *cmd, const char *filter,
    int64_t *before, char *err, size_t errlen)
{
	char		 raw[PAGETOKEN_MAX];
	json_t		*o = NULL, *b;
	const char	*c, *f;
	int		 rc = -1;

	if (strlen(token) >= PAGETOKEN_MAX || dec(token, raw, sizeof(raw)) ==
	    -1 || (o = json_loads(raw, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || !json_is_object(o) ||
	    (c = json_string_value(json_object_get(o, "cmd"))) == NULL ||
	    (f = json_string_value(json_object_get(o, "filter"))) == NULL ||
	    !json_is_integer(b = json_object_get(o, "before")) ||
	    json_integer_value(b) <= 0) {
		snprintf(err, errlen, "not a continue token (pass the "
		    "\"continue\" of the previous answer as it is)");
		goto out;
	}
	if (strcmp(c, cmd) != 0) {
		snprintf(err, errlen, "the continue token is one of %.32s, "
		    "not of %s", c, cmd);
		goto out;
	}
	if (strcmp(f, filter ? filter : "") != 0) {
		snprintf(err, errlen, "the continue token was given for other "
		    "filters (%.200s); repeat the first request's filters",
		    *f ? f : "none");
		goto out;
	}
	*before = json_integer_value(b);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/*
 * util.c - see util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fmt_rfc3339(int64_t unix_ms, char *buf, size_t len)
{
	time_t		t = (time_t)(unix_ms / 1000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
parse_duration(const char *s, int64_t *ms)
{
	char		*end;
	long long	 v;
	int64_t		 mult;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0 || v > 100LL * 365 * 86400)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mult = 86400 * 1000;
	else
		return -1;
	*ms = (int64_t)v * mult;
	return 0;
}

int
read_file(const char *path, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", path);
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		n = read(fd, buf + off, max + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		if (off > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes",
			    path, max);
			goto out;
		}
	}
	buf[off] = '\0';
	*out = buf;
	buf = NULL;
	if (outlen)
		*outlen = off;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

json_t *
json_at(json_t *root, const char *dotted)
{
	char		 key[256];
	const char	*p = dotted, *dot;
	size_t		 n;

	while (root != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		root = json_is_object(root) ? json_object_get(root, key) : NULL;
		p += n + (dot != NULL);
	}
	return root;
}

const char *
json_str_at(json_t *root, const char *dotted)
{
	return json_string_value(json_at(root, dotted));
}

json_int_t
json_int_at(json_t *root, const char *dotted, json_int_t def)
{
	json_t *v = json_at(root, dotted);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

struct canon_buf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static int
canon_append(const char *data, size_t n, void *arg)
{
	struct canon_buf	*b = arg;
	size_t			 cap;
	char			*p;

	if (b->failed)
		return -1;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/*
 * Not json_dumps(): when an allocation fails while an object key is
 * written, jansson (2.14) ignores the error and returns text with the key
 * missing.  The canonical form is hashed into the audit chain, so a failure
 * anywhere must fail the whole serialisation.
 */
char *
json_canon(const json_t *v)
{
	struct canon_buf	 b = { NULL, 0, 0, 0 };

	if (json_dump_callback(v, canon_append, &b, JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_ENCODE_ANY) != 0 || b.failed ||
	    b.p == NULL) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *
xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

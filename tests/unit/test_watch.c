/*
 * test_watch.c - the watch stream decoder against a captured API server
 * stream, fed in its real HTTP chunks, byte by byte and in random splits;
 * over-long lines, malformed JSON and the 410 ERROR event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/util.h"
#include "kube/list.h"
#include "kube/watch.h"
#include "t.h"

#define MAXCHUNKS	64
#define EVLOG		4096

struct chunks {
	const char	*p[MAXCHUNKS];
	size_t		 n[MAXCHUNKS];
	int		 count;
};

struct evlog {
	char	 s[EVLOG];
	int	 count;
	int	 stop_after;	/* ask to stop after this many; 0: never */
	long	 code;
	char	 reason[64];
};

static char *
fixture(const char *name, size_t *len)
{
	const char *shared = getenv("REMEDY_SHARED");
	char path[1024], err[256], *buf = NULL;

	if (shared == NULL)
		shared = "/work/shared";
	snprintf(path, sizeof(path), "%s/fixtures/kube-apiserver-v1.20/%s",
	    shared, name);
	if (read_file(path, 1 << 20, &buf, len, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	return buf;
}

/* The body: what follows the blank line that ends the headers. */
static const char *
body_of(const char *raw, size_t len, size_t *blen)
{
	const char *p;

	if ((p = strstr(raw, "\n\r\n")) != NULL)
		p += 3;
	else if ((p = strstr(raw, "\n\n")) != NULL)
		p += 2;
	else
		return NULL;
	*blen = len - (size_t)(p - raw);
	return p;
}

/*
 * Split a chunked body into its chunks (pointers into body).  The size
 * lines of the captured fixture were not updated when the capture was
 * scrubbed (four chunks declare 3 bytes more than they hold), so each
 * chunk ends at its CRLF terminator -- JSON text never holds a raw CR --
 * and the declared size is only checked to be close.  -1: bad framing.
 */
static int
parse_chunked(const char *body, size_t len, struct chunks *c)
{
	const char *p = body, *end = body + len, *t;
	char *e;
	unsigned long n;

	c->count = 0;
	while (p < end) {
		n = strtoul(p, &e, 16);
		if (e == p || e + 2 > end || e[0] != '\r' || e[1] != '\n')
			return -1;
		p = e + 2;
		if (n == 0)
			return 0;
		t = memchr(p, '\r', (size_t)(end - p));
		if (t == NULL || t + 1 >= end || t[1] != '\n' ||
		    c->count == MAXCHUNKS)
			return -1;
		if ((size_t)(t - p) > n || n - (size_t)(t - p) > 3)
			return -1;
		c->p[c->count] = p;
		c->n[c->count++] = (size_t)(t - p);
		p = t + 2;
	}
	return -1;
}

static int
on_event(const char *type, json_t *obj, void *arg)
{
	struct evlog *l = arg;
	size_t n = strlen(l->s);
	const char *name = json_str_at(obj, "metadata.name");
	const char *rv = json_str_at(obj, "metadata.resourceVersion");

	snprintf(l->s + n, sizeof(l->s) - n, "%s %s %s;", type,
	    name ? name : "-", rv ? rv : "-");
	if (strcmp(type, "ERROR") == 0) {
		l->code = (long)json_int_at(obj, "code", 0);
		snprintf(l->reason, sizeof(l->reason), "%s",
		    json_str_at(obj, "reason") ? json_str_at(obj, "reason") :
		    "");
	}
	l->count++;
	return l->stop_after && l->count >= l->stop_after;
}

static const char *expected =
    "MODIFIED p1 353;ADDED p4 354;MODIFIED p2 355;DELETED p2 356;"
    "BOOKMARK - 356;";

/* Feed the concatenated body split at the given cut points. */
static int
feed_split(const char *data, size_t len, const size_t *cuts, int ncuts,
    struct evlog *l)
{
	struct watch_decoder d;
	size_t prev = 0;
	int i, rc = 0;

	watch_decoder_init(&d, 1 << 20);
	for (i = 0; i <= ncuts && rc == 0; i++) {
		size_t at = i < ncuts ? cuts[i] : len;

		rc = watch_decoder_feed(&d, data + prev, at - prev, on_event,
		    l);
		prev = at;
	}
	if (rc == 0 && watch_decoder_pending(&d) != 0)
		rc = -2;
	watch_decoder_clear(&d);
	return rc;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_stream(void)
{
	struct chunks c;
	struct watch_decoder d;
	struct evlog l;
	char *raw, *flat = NULL;
	const char *body;
	size_t len, blen, flen = 0, *cuts = NULL;
	int i, rc, round, ncuts, bad = 0;

	if ((raw = fixture("watch-pods-raw-chunked.http", &len)) == NULL) {
		CHECK(!"fixture watch-pods-raw-chunked.http");
		return;
	}
	body = body_of(raw, len, &blen);
	CHECK(body != NULL);
	if (body == NULL)
		goto out;
	CHECK_INT(parse_chunked(body, blen, &c), 0);
	CHECK_INT(c.count, 5);

	/* the real chunks */
	memset(&l, 0, sizeof(l));
	watch_decoder_init(&d, 1 << 20);
	rc = 0;
	for (i = 0; i < c.count && rc == 0; i++)
		rc = watch_decoder_feed(&d, c.p[i], c.n[i], on_event, &l);
	CHECK_INT(rc, 0);
	CHECK_STR(l.s, expected);
	CHECK_INT(watch_decoder_pending(&d), 0);
	watch_decoder_clear(&d);

	/* the stream without chunk framing, for arbitrary splits */
	for (i = 0; i < c.count; i++)
		flen += c.n[i];
	flat = malloc(flen);
	cuts = calloc(flen, sizeof(*cuts));
	if (flat == NULL || cuts == NULL)
		goto out;
	flen = 0;
	for (i = 0; i < c.count; i++) {
		memcpy(flat + flen, c.p[i], c.n[i]);
		flen += c.n[i];
	}

	/* byte by byte; half a line is held, never decoded */
	memset(&l, 0, sizeof(l));
	watch_decoder_init(&d, 1 << 20);
	rc = 0;
	for (i = 0; i < (int)(c.n[0] / 2) && rc == 0; i++)
		rc = watch_decoder_feed(&d, flat + i, 1, on_event, &l);
	CHECK_INT(l.count, 0);
	CHECK_INT(watch_decoder_pending(&d), c.n[0] / 2);
	for (; i < (int)flen && rc == 0; i++)
		rc = watch_decoder_feed(&d, flat + i, 1, on_event, &l);
	CHECK_INT(rc, 0);
	CHECK_STR(l.s, expected);
	watch_decoder_clear(&d);

	/* random splits, several seeds */
	srand(20261127);
	for (round = 0; round < 200; round++) {
		ncuts = rand() % 40;
		for (i = 0; i < ncuts; i++)
			cuts[i] = (size_t)rand() % flen;
		qsort(cuts, (size_t)ncuts, sizeof(*cuts), cmp_size);
		memset(&l, 0, sizeof(l));
		if (feed_split(flat, flen, cuts, ncuts, &l) != 0 ||
		    strcmp(l.s, expected) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);

	/* the consumer may stop the decoder */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	watch_decoder_init(&d, 1 << 20);
	CHECK_INT(watch_decoder_feed(&d, flat, flen, on_event, &l), 1);
	CHECK_INT(l.count, 2);
	watch_decoder_clear(&d);
out:
	free(cuts);
	free(flat);
	free(raw);
}

static void
test_limits(void)
{
	struct watch_decoder d;
	struct evlog l;
	char line[256], big[300];
	const char *ok = "{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n";
	const char *broken = "{\"type\":\"ADDED\",\"object\":{bad}}\n";
	size_t n;

	/* a line of exactly max bytes (plus '\n') is fine */
	n = strlen(ok) - 1;
	memset(&l, 0, sizeof(l));
	watch_decoder_init(&d, n);
	CHECK_INT(watch_decoder_feed(&d, ok, strlen(ok), on_event, &l), 0);
	CHECK_INT(watch_decoder_feed(&d, ok, strlen(ok), on_event, &l), 0);
	CHECK_INT(l.count, 2);
	CHECK(d.cap <= n + 1);
	watch_decoder_clear(&d);

	/* one byte more is an error, even when fed in small pieces */
	watch_decoder_init(&d, n - 1);
	memset(&l, 0, sizeof(l));
	CHECK_INT(watch_decoder_feed(&d, ok, 10, on_event, &l), 0);
	CHECK_INT(watch_decoder_feed(&d, ok + 10, strlen(ok) - 10, on_event,
	    &l), -1);
	CHECK(strstr(d.err, "longer than") != NULL);
	CHECK_INT(l.count, 0);
	/* the error sticks */
	CHECK_INT(watch_decoder_feed(&d, "\n", 1, on_event, &l), -1);
	watch_decoder_clear(&d);

	/* a run of bytes without newline stops at max + 1 bytes held */
	memset(big, 'x', sizeof(big));
	watch_decoder_init(&d, 100);
	CHECK_INT(watch_decoder_feed(&d, big, sizeof(big), on_event, &l), -1);
	CHECK(strstr(d.err, "longer than 100 bytes") != NULL);
	CHECK(d.cap <= 101);
	watch_decoder_clear(&d);

	/* malformed JSON: the message gives the stream offset */
	memset(&l, 0, sizeof(l));
	watch_decoder_init(&d, 1024);
	snprintf(line, sizeof(line), "%s%s", ok, broken);
	CHECK_INT(watch_decoder_feed(&d, line, strlen(line), on_event, &l),
	    -1);
	CHECK_INT(l.count, 1);
	snprintf(big, sizeof(big), "event starting at byte %zu", strlen(ok));
	CHECK(strstr(d.err, big) != NULL);
	CHECK(strstr(d.err, "malformed JSON at byte") != NULL);
	watch_decoder_clear(&d);

	/* valid JSON that is not an event */
	watch_decoder_init(&d, 1024);
	CHECK_INT(watch_decoder_feed(&d, "\r\n[1,2]\n", 8, on_event, &l),
	    -1);
	CHECK(strstr(d.err, "event at byte 2 lacks") != NULL);
	watch_decoder_clear(&d);

	/* blank lines and CRLF endings are accepted */
	memset(&l, 0, sizeof(l));
	watch_decoder_init(&d, 1024);
	snprintf(line, sizeof(line), "\n \r\n%.*s\r\n", (int)strlen(ok) - 1,
	    ok);
	CHECK_INT(watch_decoder_feed(&d, line, strlen(line), on_event, &l),
	    0);
	CHECK_STR(l.s, "ADDED a 1;");
	watch_decoder_clear(&d);
}

static void
test_too_old(void)
{
	struct watch_decoder d;
	struct evlog l;
	char *raw;
	const char *body;
	size_t len, blen;

	if ((raw = fixture("watch-too-old-rv.http", &len)) == NULL) {
		CHECK(!"fixture watch-too-old-rv.http");
		return;
	}
	body = body_of(raw, len, &blen);
	CHECK(body != NULL);
	if (body != NULL) {
		memset(&l, 0, sizeof(l));
		watch_decoder_init(&d, 4096);
		CHECK_INT(watch_decoder_feed(&d, body, blen, on_event, &l), 0);
		CHECK_INT(l.count, 1);
		CHECK_INT(l.code, 410);
		CHECK_STR(l.reason, "Expired");
		CHECK(strncmp(l.s, "ERROR ", 6) == 0);
		watch_decoder_clear(&d);
	}
	free(raw);
}

/* --- LIST answers, one item at a time (kube/list.h) --- */

struct items {
	size_t	n;
	char	names[8][32];
	int	stop_at;	/* index at which to stop, or -1 */
};

static int
list_item(json_t *item, size_t i, void *arg)
{
	struct items	*it = arg;
	const char	*name = json_str_at(item, "metadata.name");

	if (it->n < 8)
		snprintf(it->names[it->n], sizeof(it->names[0]), "%s",
		    name ? name : "?");
	it->n++;
	return it->stop_at >= 0 && (size_t)it->stop_at == i;
}

static int
scan(const char *doc, struct items *it, json_t **meta, char *err,
    size_t errlen)
{
	memset(it, 0, sizeof(*it));
	it->stop_at = -1;
	err[0] = '\0';
	return kube_list_scan(doc, strlen(doc), list_item, it, meta, err,
	    errlen);
}

static void
test_list(void)
{
	struct items	 it;
	json_t		*meta;
	char		 err[256];
	static const char *const bad[] = {
		"", "[]", "{", "{\"items\":[{\"a\":1}", "{\"items\":[{]}",
		"{\"items\":7}", "{\"items\":[1 2]}", "{\"metadata\":{x}}",
		"{\"kind\" \"List\"}", "{\"kind\":\"L}", "{} x",
		"{\"items\":[],\"items\":[]}", "{\"a\":tru}",
		"{\"items\":[{\"s\":\"\\\"}]}", "{,}", "{\"a\":1,}",
	};
	size_t		 i;

	/* A page as the API server sends it: items in order, metadata
	 * (continue, resourceVersion) wherever it is, odd spacing. */
	CHECK(scan(" {\"kind\":\"PodList\",\"apiVersion\":\"v1\",\n"
	    "\"items\" : [ {\"metadata\":{\"name\":\"a\",\"note\":"
	    "\"} ] \\\" {\"}} ,{\"metadata\":{\"name\":\"b\"},\"n\":[1,"
	    "{\"x\":[]}]}],\"metadata\":{\"resourceVersion\":\"42\","
	    "\"continue\":\"tok\"}}\r\n", &it, &meta, err, sizeof(err)) == 0);
	CHECK_INT(it.n, 2);
	CHECK_STR(it.names[0], "a");
	CHECK_STR(it.names[1], "b");
	CHECK_STR(json_str_at(meta, "resourceVersion"), "42");
	CHECK_STR(json_str_at(meta, "continue"), "tok");
	json_decref(meta);
	/* No items, null items, no metadata. */
	CHECK(scan("{\"items\":null}", &it, &meta, err, sizeof(err)) == 0);
	CHECK(it.n == 0 && meta == NULL);
	CHECK(scan("{}", &it, &meta, err, sizeof(err)) == 0);
	CHECK(it.n == 0 && meta == NULL);
	CHECK(scan("{\"items\":[]}", &it, NULL, err, sizeof(err)) == 0);
	/* The callback stops the scan. */
	memset(&it, 0, sizeof(it));
	it.stop_at = 0;
	CHECK(kube_list_scan("{\"metadata\":{},\"items\":[{},{}]}", 33,
	    list_item, &it, &meta, err, sizeof(err)) == 1);
	CHECK(it.n == 1 && meta == NULL);
	/* Malformed answers: an error naming the byte, nothing leaked. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (scan(bad[i], &it, &meta, err, sizeof(err)) != -1) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
		CHECK(meta == NULL);
		CHECK(strncmp(err, "list answer: ", 13) == 0 &&
		    strstr(err, " at byte ") != NULL);
	}
	CHECK(scan("{\"items\":[{\"a\":1},{\"b\":}]}", &it, &meta, err,
	    sizeof(err)) == -1);
	CHECK(it.n == 1 && strstr(err, "item 1 at byte 24") != NULL);
}

int
main(void)
{
	test_list();
	test_stream();
	test_limits();
	test_too_old();
	return T_DONE();
}

/*
 * watch.c - incremental decoder for the newline-delimited JSON documents of
 * a Kubernetes watch stream.
 *
 * When nothing is held, the complete lines of a piece of input are parsed
 * in place and only its unfinished tail is copied.  Otherwise input is
 * taken in pieces of at most max + 1 bytes; each piece is appended once, searched for '\n' once (d->scanned remembers how far), and every
 * complete line is parsed once.  Only the unfinished tail is moved to the
 * front, and those bytes were appended by the same piece, so the work is
 * linear in the stream length whatever the chunking.  A tail longer than
 * max without a newline is an error: the buffer never exceeds max + 1.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/watch.h"

#define WATCH_MINCAP	4096

void
watch_decoder_init(struct watch_decoder *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max;
}

void
watch_decoder_clear(struct watch_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = d->cap = d->scanned = 0;
}

size_t
watch_decoder_pending(const struct watch_decoder *d)
{
	return d->len;
}

/* Make room for need bytes (need <= max + 1); -1 when out of memory. */
static int
watch_grow(struct watch_decoder *d, size_t need)
{
	size_t cap;
	char *p;

	if (need <= d->cap)
		return 0;
	cap = d->cap ? d->cap : WATCH_MINCAP;
	while (cap < need)
		cap *= 2;
	if (cap > d->max + 1)
		cap = d->max + 1;
	if ((p = realloc(d->buf, cap)) == NULL)
		return -1;
	d->buf = p;
	d->cap = cap;
	return 0;
}

/*
 * Decode one line (without its '\n') that starts at stream offset off.
 * Blank lines are skipped.  Returns 0, 1 when fn asked to stop, -1 with a
 * message naming the stream offset on a malformed document.
 */
static int
watch_line(struct watch_decoder *d, const char *line, size_t n, size_t off,
    watch_event_fn fn, void *arg)
{
	json_error_t jerr;
	json_t *doc, *type, *obj;
	size_t i;
	int rc = -1;

	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' ||
	    line[n - 1] == '\t'))
		n--;
	for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == n)
		return 0;
	if ((doc = json_loadb(line, n, 0, &jerr)) == NULL) {
		snprintf(d->err, sizeof(d->err),
		    "watch stream: malformed JSON at byte %zu (event starting "
		    "at byte %zu): %s", off + (size_t)jerr.position, off,
		    jerr.text);
		return -1;
	}
	type = json_object_get(doc, "type");
	obj = json_object_get(doc, "object");
	if (!json_is_string(type) || !json_is_object(obj)) {
		snprintf(d->err, sizeof(d->err),
		    "watch stream: event at byte %zu lacks a \"type\" string "
		    "or an \"object\" object", off);
		goto out;
	}
	rc = fn(json_string_value(type), obj, arg) ? 1 : 0;
out:
	json_decref(doc);
	return rc;
}

/*
 * Parse every complete line in the buffer, then move the unfinished tail
 * to the front.  Returns like watch_decoder_feed().
 */
static int
watch_lines(struct watch_decoder *d, watch_event_fn fn, void *arg)
{
	size_t start = 0, end;
	char *nl;
	int rc = 0;

	while (d->scanned < d->len) {
		nl = memchr(d->buf + d->scanned, '\n', d->len - d->scanned);
		if (nl == NULL) {
			d->scanned = d->len;
			break;
		}
		end = (size_t)(nl - d->buf);
		rc = watch_line(d, d->buf + start, end - start,
		    d->offset + start, fn, arg);
		start = end + 1;
		d->scanned = start;
		if (rc != 0)
			break;
	}
	if (rc == -1)
		return -1;
	if (start > 0) {
		memmove(d->buf, d->buf + start, d->len - start);
		d->len -= start;
		d->scanned -= start;
		d->offset += start;
	}
	return rc;
}

/*
 * With nothing held, the complete lines of the input are parsed where they
 * are (no copy); only the unfinished tail is kept.  Returns like
 * watch_decoder_feed(); *used tells how much of data was consumed.
 */
static int
watch_direct(struct watch_decoder *d, const char *data, size_t len,
    watch_event_fn fn, void *arg, size_t *used)
{
	const char *nl;
	size_t start = 0, end;
	int rc = 0;

	while (start < len &&
	    (nl = memchr(data + start, '\n', len - start)) != NULL) {
		end = (size_t)(nl - data);
		if (end - start > d->max) {
			snprintf(d->err, sizeof(d->err),
			    "watch stream: event starting at byte %zu is longer "
			    "than %zu bytes", d->offset, d->max);
			return -1;
		}
		rc = watch_line(d, data + start, end - start, d->offset, fn,
		    arg);
		d->offset += end + 1 - start;
		start = end + 1;
		if (rc != 0)
			break;
	}
	*used = start;
	return rc;
}

int
watch_decoder_feed(struct watch_decoder *d, const char *data, size_t len,
    watch_event_fn fn, void *arg)
{
	size_t n, room, used;
	int rc;

	if (d->err[0] != '\0')
		return -1;
	if (d->len == 0 && len > 0) {
		if ((rc = watch_direct(d, data, len, fn, arg, &used)) != 0)
			return rc;
		data += used;
		len -= used;
	}
	while (len > 0) {
		room = d->max + 1 - d->len;
		n = len < room ? len : room;
		if (watch_grow(d, d->len + n) == -1) {
			snprintf(d->err, sizeof(d->err),
			    "watch stream: out of memory at byte %zu",
			    d->offset + d->len);
			return -1;
		}
		memcpy(d->buf + d->len, data, n);
		d->len += n;
		data += n;
		len -= n;
		if ((rc = watch_lines(d, fn, arg)) != 0)
			return rc;
		if (d->len > d->max) {
			snprintf(d->err, sizeof(d->err),
			    "watch stream: event starting at byte %zu is longer "
			    "than %zu bytes", d->offset, d->max);
			return -1;
		}
	}
	return 0;
}

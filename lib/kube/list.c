/*
 * list.c - a LIST answer, one item at a time (see list.h).
 *
 * The scanner only finds where values begin and end: strings (with their
 * escapes), objects and arrays (by depth, outside strings) and scalars.
 * Every value it hands on, and every top-level value it skips, is then
 * parsed by jansson, so what is accepted is valid JSON; the scanner itself
 * never recurses and never reads past len.
 */
#include <stdio.h>
#include <string.h>

#include "kube/list.h"

struct scan {
	const char	*b;
	size_t		 len, pos;
	char		*err;
	size_t		 errlen;
};

static int
fail(struct scan *s, const char *what)
{
	snprintf(s->err, s->errlen, "list answer: %s at byte %zu", what,
	    s->pos);
	return -1;
}

static void
ws(struct scan *s)
{
	while (s->pos < s->len && (s->b[s->pos] == ' ' ||
	    s->b[s->pos] == '\t' || s->b[s->pos] == '\n' ||
	    s->b[s->pos] == '\r'))
		s->pos++;
}

/* At '"': move past the closing quote. */
static int
str_end(struct scan *s)
{
	s->pos++;
	while (s->pos < s->len) {
		if (s->b[s->pos] == '\\')
			s->pos += 2;
		else if (s->b[s->pos++] == '"')
			return 0;
	}
	s->pos = s->len;
	return fail(s, "unterminated string");
}

static int
delim(char c)
{
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' ||
	    c == '\n' || c == '\r';
}

/* At the first byte of a value: move past its last byte. */
static int
value_end(struct scan *s)
{
	size_t	depth = 0;
	char	c;

	if (s->pos >= s->len)
		return fail(s, "value expected");
	c = s->b[s->pos];
	if (c == '"')
		return str_end(s);
	if (c != '{' && c != '[') {
		if (delim(c) || c == ':')
			return fail(s, "value expected");
		while (s->pos < s->len && !delim(s->b[s->pos]))
			s->pos++;
		return 0;
	}
	while (s->pos < s->len) {
		c = s->b[s->pos];
		if (c == '"') {
			if (str_end(s) == -1)
				return -1;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0) {
			s->pos++;
			return 0;
		}
		s->pos++;
	}
	return fail(s, "unterminated object or array");
}

/* Parse b[start..pos) with jansson; NULL with a message on error. */
static json_t *
parse_span(struct scan *s, size_t start, size_t flags, const char *what)
{
	json_error_t	 jerr;
	json_t		*v;

	if ((v = json_loadb(s->b + start, s->pos - start, flags, &jerr)) ==
	    NULL)
		snprintf(s->err, s->errlen, "list answer: %s at byte %zu: %s",
		    what, start + (size_t)(jerr.position > 0 ?
		    jerr.position : 0), jerr.text);
	return v;
}

/*
 * At '[' of "items" (resume: just after element c->index - 1): each
 * element to fn.  With pausing, fn's KUBE_LIST_PAUSE returns 2 with s->pos
 * just after the element it was given.
 */
static int
scan_items(struct scan *s, struct kube_list_cursor *c, kube_list_item_fn fn,
    void *arg, int resume, int pausing)
{
	json_t	*item;
	size_t	 start;
	char	 what[64];
	int	 stop;

	if (resume)
		goto sep;
	c->index = 0;
	s->pos++;
	ws(s);
	if (s->pos < s->len && s->b[s->pos] == ']') {
		s->pos++;
		return 0;
	}
	for (;;) {
		ws(s);
		start = s->pos;
		if (value_end(s) == -1)
			return -1;
		snprintf(what, sizeof(what), "item %zu", c->index);
		if ((item = parse_span(s, start, 0, what)) == NULL)
			return -1;
		stop = fn(item, c->index++, arg);
		json_decref(item);
		if (stop == KUBE_LIST_PAUSE && pausing)
			return 2;
		if (stop)
			return 1;
sep:
		ws(s);
		if (s->pos < s->len && s->b[s->pos] == ',') {
			s->pos++;
			continue;
		}
		if (s->pos < s->len && s->b[s->pos] == ']') {
			s->pos++;
			return 0;
		}
		return fail(s, "',' or ']' expected in items");
	}
}

static int
key_is(struct scan *s, size_t kstart, size_t kend, const char *k)
{
	return kend - kstart == strlen(k) &&
	    memcmp(s->b + kstart, k, kend - kstart) == 0;
}

/*
 * The document from where the cursor stands: the top-level object, its
 * "items" through scan_items().  Pausing: 2 when fn paused, the cursor
 * then says where the next call resumes.
 */
static int
scan_doc(const char *buf, size_t len, struct kube_list_cursor *c,
    kube_list_item_fn fn, void *arg, int pausing, json_t **meta, char *err,
    size_t errlen)
{
	struct scan	 s = { buf, len, c->pos, err, errlen };
	json_t		*v;
	size_t		 kstart, kend, vstart;
	int		 rc;

	if (meta != NULL)
		*meta = NULL;
	if (c->state == 1) {
		rc = scan_items(&s, c, fn, arg, 1, pausing);
		goto items_done;
	}
	if (c->state != 0) {
		snprintf(err, errlen, "list answer: scanned already");
		return -1;
	}
	ws(&s);
	if (s.pos >= s.len || s.b[s.pos] != '{')
		return fail(&s, "not a JSON object");
	s.pos++;
	ws(&s);
	if (s.pos < s.len && s.b[s.pos] == '}') {
		s.pos++;
		goto end;
	}
	for (;;) {
		ws(&s);
		if (s.pos >= s.len || s.b[s.pos] != '"') {
			fail(&s, "object key expected");
			goto bad;
		}
		kstart = s.pos + 1;
		if (str_end(&s) == -1 ||
		    (v = parse_span(&s, kstart - 1, JSON_DECODE_ANY, "key")) ==
		    NULL)
			goto bad;
		json_decref(v);
		kend = s.pos - 1;
		ws(&s);
		if (s.pos >= s.len || s.b[s.pos] != ':') {
			fail(&s, "':' expected");
			goto bad;
		}
		s.pos++;
		ws(&s);
		if (key_is(&s, kstart, kend, "items") && s.pos < s.len &&
		    s.b[s.pos] == '[') {
			if (c->items++) {
				fail(&s, "a second \"items\"");
				goto bad;
			}
			rc = scan_items(&s, c, fn, arg, 0, pausing);
items_done:
			if (rc == 2) {
				c->state = 1;
				c->pos = s.pos;
				return 2;
			}
			c->state = 0;
			if (rc != 0) {
				json_decref(c->meta);
				c->meta = NULL;
				c->state = 2;
				return rc;
			}
		} else {
			vstart = s.pos;
			if (value_end(&s) == -1 ||
			    (v = parse_span(&s, vstart, JSON_DECODE_ANY,
			    "value")) == NULL)
				goto bad;
			if (key_is(&s, kstart, kend, "items") &&
			    !json_is_null(v)) {
				json_decref(v);
				s.pos = vstart;
				fail(&s, "\"items\" is not an array");
				goto bad;
			}
			if (key_is(&s, kstart, kend, "metadata") &&
			    json_is_object(v)) {
				json_decref(c->meta);
				c->meta = v;
			} else
				json_decref(v);
		}
		ws(&s);
		if (s.pos < s.len && s.b[s.pos] == ',') {
			s.pos++;
			continue;
		}
		if (s.pos < s.len && s.b[s.pos] == '}') {
			s.pos++;
			break;
		}
		fail(&s, "',' or '}' expected");
		goto bad;
	}
end:
	ws(&s);
	if (s.pos != s.len) {
		fail(&s, "trailing bytes after the list");
		goto bad;
	}
	c->state = 2;
	if (meta != NULL)
		*meta = c->meta;
	else
		json_decref(c->meta);
	c->meta = NULL;
	return 0;
bad:
	c->state = 2;
	json_decref(c->meta);
	c->meta = NULL;
	return -1;
}

int
kube_list_scan(const char *buf, size_t len, kube_list_item_fn fn, void *arg,
    json_t **meta, char *err, size_t errlen)
{
	struct kube_list_cursor	c;

	kube_list_cursor_init(&c);
	return scan_doc(buf, len, &c, fn, arg, 0, meta, err, errlen);
}

void
kube_list_cursor_init(struct kube_list_cursor *c)
{
	memset(c, 0, sizeof(*c));
}

void
kube_list_cursor_clear(struct kube_list_cursor *c)
{
	json_decref(c->meta);
	kube_list_cursor_init(c);
}

int
kube_list_scan_some(const char *buf, size_t len, struct kube_list_cursor *c,
    kube_list_item_fn fn, void *arg, json_t **meta, char *err, size_t errlen)
{
	return scan_doc(buf, len, c, fn, arg, 1, meta, err, errlen);
}

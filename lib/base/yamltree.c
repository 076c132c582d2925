/*
 * yamltree.c - see yamltree.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/yamltree.h"

int
ytree_init(struct ytree *t, const char *file, int scrub)
{
	memset(t, 0, sizeof(*t));
	if ((t->file = strdup(file ? file : "-")) == NULL)
		return -1;
	t->scrub = scrub;
	return 0;
}

/*
 * Zero the text of every scalar of d, so secrets a kubeconfig carried do
 * not stay behind in freed memory.
 */
static void
scrub_document(yaml_document_t *d)
{
	yaml_node_t	*n;

	for (n = d->nodes.start; n != NULL && n < d->nodes.top; n++) {
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
			explicit_bzero(n->data.scalar.value,
			    n->data.scalar.length);
	}
}

/* Zero the parser's copies of the input before it frees them. */
static void
scrub_parser(yaml_parser_t *p)
{
	if (p->buffer.start != NULL && p->buffer.end > p->buffer.start)
		explicit_bzero(p->buffer.start,
		    (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start != NULL &&
	    p->raw_buffer.end > p->raw_buffer.start)
		explicit_bzero(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
}

/*
 * Append one formatted line to the error list.  At most YTREE_MAX_ERRORS
 * lines are kept and each is cut at YTREE_MAX_MESSAGE bytes; nerrs counts
 * them all.
 */
static void
add_error(struct ytree *t, const yaml_mark_t *m, const char *fmt, va_list ap)
{
	char	 msg[YTREE_MAX_MESSAGE], line[YTREE_MAX_MESSAGE + 64];
	char	*p;
	int	 n;

	t->nerrs++;
	if (t->nerrs > YTREE_MAX_ERRORS)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m != NULL)
		n = snprintf(line, sizeof(line), "%s:%zu:%zu: %s\n", t->file,
		    m->line + 1, m->column + 1, msg);
	else
		n = snprintf(line, sizeof(line), "%s: %s\n", t->file, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if ((p = realloc(t->errs, t->errslen + (size_t)n + 1)) == NULL)
		return;
	memcpy(p + t->errslen, line, (size_t)n + 1);
	t->errs = p;
	t->errslen += (size_t)n;
}

void
ytree_error(struct ytree *t, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	add_error(t, n ? &n->start_mark : NULL, fmt, ap);
	va_end(ap);
}

void
ytree_error_at(struct ytree *t, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	add_error(t, m, fmt, ap);
	va_end(ap);
}

/* Record libyaml's description of why p stopped. */
static void
parser_error(struct ytree *t, yaml_parser_t *p)
{
	const char	*problem = p->problem ? p->problem : "invalid YAML";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		ytree_error(t, NULL, "out of memory while parsing");
		break;
	case YAML_READER_ERROR:
		ytree_error(t, NULL, "%s at byte %zu", problem,
		    p->problem_offset);
		break;
	default:
		if (p->context != NULL)
			ytree_error_at(t, &p->problem_mark, "%s %s (line %zu)",
			    problem, p->context, p->context_mark.line + 1);
		else
			ytree_error_at(t, &p->problem_mark, "%s", problem);
		break;
	}
}

int
ytree_parse(struct ytree *t, const char *buf, size_t len)
{
	yaml_parser_t	 parser;
	yaml_document_t	 extra;
	yaml_node_t	*root;
	int		 rc = -1;

	if (!yaml_parser_initialize(&parser)) {
		ytree_error(t, NULL, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &t->doc)) {
		parser_error(t, &parser);
		goto out;
	}
	t->loaded = 1;
	if (yaml_document_get_root_node(&t->doc) == NULL) {
		rc = 0;
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		parser_error(t, &parser);
		goto out;
	}
	root = yaml_document_get_root_node(&extra);
	if (root != NULL)
		ytree_error(t, root, "more than one YAML document");
	if (t->scrub)
		scrub_document(&extra);
	yaml_document_delete(&extra);
	if (root == NULL)
		rc = 0;
out:
	if (t->scrub)
		scrub_parser(&parser);
	yaml_parser_delete(&parser);
	return rc;
}

void
ytree_clear(struct ytree *t)
{
	if (t->loaded) {
		if (t->scrub)
			scrub_document(&t->doc);
		yaml_document_delete(&t->doc);
	}
	free(t->file);
	free(t->errs);
	memset(t, 0, sizeof(*t));
}

yaml_node_t *
ytree_root(struct ytree *t)
{
	return t->loaded ? yaml_document_get_root_node(&t->doc) : NULL;
}

yaml_node_t *
ytree_node(struct ytree *t, int id)
{
	return t->loaded ? yaml_document_get_node(&t->doc, id) : NULL;
}

char *
ytree_take_errors(struct ytree *t)
{
	char	 more[96], *p;
	int	 n;

	if (t->nerrs > YTREE_MAX_ERRORS) {
		n = snprintf(more, sizeof(more), "%s: %d more errors not "
		    "shown\n", t->file, t->nerrs - YTREE_MAX_ERRORS);
		if (n > 0 && (size_t)n < sizeof(more) &&
		    (p = realloc(t->errs, t->errslen + (size_t)n + 1)) != NULL) {
			memcpy(p + t->errslen, more, (size_t)n + 1);
			t->errs = p;
			t->errslen += (size_t)n;
		}
	}
	p = t->errs;
	t->errs = NULL;
	t->errslen = 0;
	return p;
}

const char *
ytree_kind(const yaml_node_t *n)
{
	if (n == NULL)
		return "nothing";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		return ytree_is_null(n) ? "null" : "a string";
	default:
		return "nothing";
	}
}

int
ytree_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	const char	*v;
	size_t		 i;

	if (n == NULL || n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(v, nulls[i]) == 0)
			return 1;
	return 0;
}

const char *
ytree_str(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE || ytree_is_null(n))
		return NULL;
	return (const char *)n->data.scalar.value;
}

int
ytree_bool(struct ytree *t, const yaml_node_t *n, const char *path,
    const char *s, int yes_no, int *dst)
{
	if (s != NULL && (strcmp(s, "true") == 0 ||
	    (yes_no && strcmp(s, "yes") == 0)))
		*dst = 1;
	else if (s != NULL && (strcmp(s, "false") == 0 ||
	    (yes_no && strcmp(s, "no") == 0)))
		*dst = 0;
	else {
		ytree_error(t, n, "%s: expected true or false, got \"%s\"",
		    path, s ? s : ytree_kind(n));
		return -1;
	}
	return 0;
}

yaml_node_t *
ytree_get(struct ytree *t, yaml_node_t *m, const char *key)
{
	yaml_node_pair_t	*pr;
	yaml_node_t		*k;

	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
	    pr++) {
		k = ytree_node(t, pr->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return ytree_node(t, pr->value);
	}
	return NULL;
}

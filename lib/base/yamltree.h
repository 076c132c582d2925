/*
 * yamltree.h - a parsed YAML document whose nodes keep their file:line:col,
 * and an error list that names them.
 *
 * ytree_parse() loads the first document of a buffer with libyaml's
 * document API; a syntax error, or a second document, is recorded as an
 * error.  ytree_error() appends "FILE:LINE:COL: message\n" (1-based, from
 * the node's start mark) to the error list, up to YTREE_MAX_ERRORS entries;
 * later errors are counted and summarised in one line, so a hostile file
 * cannot grow the list without bound.
 *
 * Nodes are borrowed from the tree and live until ytree_clear().
 */
#ifndef REMEDY_YAMLTREE_H
#define REMEDY_YAMLTREE_H

#include <stddef.h>

#include <yaml.h>

#define YTREE_MAX_ERRORS	64
#define YTREE_MAX_MESSAGE	512	/* one error line, longer is cut */

struct ytree {
	char		*file;		/* name used in messages */
	yaml_document_t	 doc;
	int		 loaded;	/* doc is valid and must be deleted */
	int		 scrub;		/* zero scalar text on clear */
	char		*errs;		/* "file:line:col: msg\n"..., or NULL */
	size_t		 errslen;
	int		 nerrs;		/* every error, also those not kept */
};

/* Prepare t; file is copied. scrub: zero every scalar on ytree_clear(). */
int		 ytree_init(struct ytree *t, const char *file, int scrub);
/*
 * Parse len bytes of buf.  Returns 0, or -1 after recording the syntax
 * error.  An empty document is not an error: ytree_root() returns NULL.
 */
int		 ytree_parse(struct ytree *t, const char *buf, size_t len);
void		 ytree_clear(struct ytree *t);

yaml_node_t	*ytree_root(struct ytree *t);
yaml_node_t	*ytree_node(struct ytree *t, int id);

/* Record an error at node n (NULL: no position). */
void		 ytree_error(struct ytree *t, const yaml_node_t *n,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Record an error at an explicit 0-based mark. */
void		 ytree_error_at(struct ytree *t, const yaml_mark_t *m,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Take the error text (caller frees); NULL when there is none. */
char		*ytree_take_errors(struct ytree *t);

/* "a mapping", "a sequence", "a string" or "null", for messages. */
const char	*ytree_kind(const yaml_node_t *n);
/* A plain scalar spelled "", "~", "null", "Null" or "NULL". */
int		 ytree_is_null(const yaml_node_t *n);
/* The text of a scalar that is not null, else NULL. */
const char	*ytree_str(const yaml_node_t *n);
/*
 * A boolean: "true" -> *dst = 1, "false" -> *dst = 0 (with yes_no also
 * "yes" and "no"), returning 0; anything else (s NULL too) records
 * "PATH: expected true or false, got "S"" at n and returns -1.
 */
int		 ytree_bool(struct ytree *t, const yaml_node_t *n,
		    const char *path, const char *s, int yes_no, int *dst);
/*
 * Value of key in mapping m (first match), or NULL.  Keys that are not
 * scalars are skipped.
 */
yaml_node_t	*ytree_get(struct ytree *t, yaml_node_t *m, const char *key);

#endif

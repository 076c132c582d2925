/*
 * reply.h - a backend's reply: from model text to checked proposals.
 *
 * reply_parse() takes the text a model returned and finds the JSON object
 * in it (a bare object, or one inside a ``` fence, possibly after a line of
 * prose); reply_validate() checks it against proto/diagnosis.schema.json.
 * reply_action() turns one validated action into a proposal: the target
 * must be the incident's root owner, the patch is normalised against the
 * observed object (normalize.h: a JSON Patch with `test` ops on every value
 * it replaces and on /metadata/generation, merge patches included) and must
 * pass the policy wall (policy.h).  Anything that fails is refused with a
 * message naming what and where; nothing invalid becomes a proposal.
 */
#ifndef REMEDY_DIAGNOSE_REPLY_H
#define REMEDY_DIAGNOSE_REPLY_H

#include <stddef.h>

#include <jansson.h>

#include "action/policy.h"
#include "diagnose/diagnose.h"

#define REPLY_MAX_TEXT	(256 * 1024)	/* longer model output is refused */

/* The JSON object in text, or NULL with why in err. New reference. */
json_t	*reply_parse(const char *text, char *err, size_t errlen);
/* 0 when doc matches the reply schema, else -1 with the first problem. */
int	 reply_validate(json_t *doc, char *err, size_t errlen);

struct reply_target {		/* the incident's root owner */
	const char	*kind;
	const char	*ns;
	const char	*name;
	const char	*api_path;	/* the owner's API path */
};

/*
 * Action i of a validated reply doc into p: summary, risk and the
 * normalised patch and changes; root cause, evidence (the reply's) are
 * filled too.  observed is the target as last read.  Returns 0, or -1 with
 * err set (p left cleared).
 */
int	 reply_action(json_t *doc, size_t i, const struct reply_target *,
	    json_t *observed, const struct policy *, struct proposal *p,
	    char *err, size_t errlen);

/* Fill p with the reply's explanation and no patch (for replies with no
 * action, or whose actions were all refused).  -1 on ENOMEM. */
int	 reply_explain(json_t *doc, const struct reply_target *,
	    struct proposal *p);

#endif

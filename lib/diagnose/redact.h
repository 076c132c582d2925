/*
 * redact.h - what leaves the cluster for an LLM goes through here first.
 *
 * redact_text() removes, by pattern: PEM private keys, credentials in URLs
 * (scheme://user:pass@), Bearer/Basic credentials, key=value and key: value
 * pairs whose key names a secret (password, pwd, token, secret, api_key,
 * access_key, client_secret, auth..., credential, cookie, session...), JWTs,
 * well-known token formats (AWS access keys, sk-..., ghp_..., xox?-...,
 * AIza..., glpat-...), connection-string passwords; by entropy: any run of
 * 20 or more token characters that mixes letters and digits, holds 16 or
 * more of them without a separator (- . / _ + =; generated names such as
 * pod-template hashes and UUIDs are short runs between dashes) and has at
 * least 3.5 bits of entropy per character (image digests after "sha256:"
 * are kept); and, when enabled, IPv4 addresses.  Each removal leaves
 * "[redacted:KIND]" so the model knows something was there.
 *
 * Anonymizing: redact_alias() registers a real name (namespace, workload,
 * pod, node) and returns its pseudonym, ROLE-XXXXXXXX where XXXXXXXX is a
 * keyed hash (HMAC-SHA256 under the redactor's key) of the role and the
 * order in which names of that role were registered.  The pseudonyms depend
 * on the incident's shape, not on the real names, so two identical incidents
 * in two namespaces produce the same prompt (and share a cache entry), while
 * nothing in them reveals the real names.  redact_text() replaces every
 * registered name (at name boundaries, longest first); redact_unalias_json()
 * maps pseudonyms in a reply back to the real names.
 *
 * Ownership: the redactor owns its copies of names and pseudonyms.
 */
#ifndef REDACT_H_REMEDY
#define REDACT_H_REMEDY

#include <stddef.h>

#include <jansson.h>

#define REDACT_KEY_LEN		32
#define REDACT_MAX_ALIASES	256
#define REDACT_MAX_TEXT		(1024 * 1024)	/* longer input is cut */

struct redact_alias {
	char	*real;
	char	*pseudo;
	char	*role;
};

struct redactor {
	int			 ips;		/* redact IPv4 addresses */
	int			 anonymize;
	unsigned char		 key[REDACT_KEY_LEN];
	struct redact_alias	*alias;
	size_t			 nalias;
	size_t			 count;		/* removals made so far */
};

void	 redact_init(struct redactor *, int ips, int anonymize,
	    const unsigned char key[REDACT_KEY_LEN]);
void	 redact_clear(struct redactor *);

/* Register real under role ("ns", "workload", "pod", "rs", "node") and
 * return its pseudonym (borrowed), or real itself when anonymize is off or
 * real is empty.  NULL on allocation failure. */
const char *redact_alias(struct redactor *, const char *role,
	    const char *real);

/* A redacted heap copy of s (NULL on allocation failure). */
char	*redact_text(struct redactor *, const char *s);

/* Redact every string (values and object keys' values; keys are kept) of v
 * in place.  -1 on allocation failure. */
int	 redact_json(struct redactor *, json_t *v);

/* Replace pseudonyms by the real names in every string of v, in place. */
int	 redact_unalias_json(const struct redactor *, json_t *v);
/* Same for one heap string: returns a new heap string. */
char	*redact_unalias_text(const struct redactor *, const char *s);

#endif

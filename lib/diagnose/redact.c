/*
 * redact.c - see redact.h.
 *
 * The patterns are matched by hand, in one left-to-right pass: at each
 * position every matcher is tried in order, and the first that matches
 * says which span to remove (the value of "password=x", the userinfo of a
 * URL, a whole token) and where to go on.  No regular expressions: glibc's
 * regexec allocates per call, and this runs over every string sent.  The
 * entropy pass runs next, over what is left, then the pseudonyms.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "diagnose/redact.h"

#define ENTROPY_MIN_LEN		20
#define ENTROPY_MIN_BITS	3.5
#define ENTROPY_MIN_RUN		16	/* characters without a separator */

/* A growing string; oom set on allocation failure. */
struct sbuf {
	char	*p;
	size_t	 n, cap;
	int	 oom;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 64;
		while (ncap < b->n + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* Room for n bytes up front: one allocation for the usual case. */
static void
sb_init(struct sbuf *b, size_t n)
{
	memset(b, 0, sizeof(*b));
	if ((b->p = malloc(n + 1)) == NULL)
		b->oom = 1;
	else {
		b->cap = n + 1;
		b->p[0] = '\0';
	}
}

static char *
sb_take(struct sbuf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	return b->p;
}


static int
keychar(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

static int
valuechar(int c)
{
	return c != '\0' && !isspace(c) && !strchr("\"',;&}", c);
}

/* Case-insensitive: does s[0..n) contain word? */
static int
has_word(const char *s, size_t n, const char *word)
{
	size_t	i, w = strlen(word);

	for (i = 0; i + w <= n; i++)
		if (strncasecmp(s + i, word, w) == 0)
			return 1;
	return 0;
}

/* Key names that say their value is a secret. */
static const char *const secret_keys[] = {
	"passwd", "password", "pwd", "secret", "token", "apikey", "api_key",
	"api-key", "accesskey", "access_key", "access-key", "privatekey",
	"private_key", "private-key", "auth", "credential", "cookie",
	"sessionid", "session_id", "session-id", "signature", "sas",
};

/*
 * One match at s[i] (i is where a match may start).  On a match: *vs..*ve
 * is the span to remove, *end where the pass goes on, *kind the marker's
 * kind; returns 1.
 */
struct span {
	size_t		 vs, ve, end;
	const char	*kind;
};

/* -----BEGIN ... PRIVATE KEY----- up to the END line or the end. */
static int
m_private_key(const char *s, size_t i, struct span *m)
{
	const char	*p = s + i, *q, *e;

	if (strncmp(p, "-----BEGIN ", 11) != 0 ||
	    (q = strstr(p + 11, "-----")) == NULL ||
	    q - p < 22 || strncmp(q - 11, "PRIVATE KEY", 11) != 0)
		return 0;
	if ((e = strstr(q + 5, "-----END ")) != NULL &&
	    (e = strstr(e + 9, "-----")) != NULL)
		e += 5;
	else
		e = p + strlen(p);
	m->vs = i;
	m->ve = m->end = (size_t)(e - s);
	m->kind = "private-key";
	return 1;
}

/* scheme://USERINFO@host: USERINFO goes. */
static int
m_url(const char *s, size_t i, struct span *m)
{
	size_t	j = i, u;

	if (!isalpha((unsigned char)s[i]) || (i > 0 &&
	    (isalnum((unsigned char)s[i - 1]) || strchr("+.-", s[i - 1]))))
		return 0;
	while (isalnum((unsigned char)s[j]) || (s[j] && strchr("+.-", s[j])))
		j++;
	if (strncmp(s + j, "://", 3) != 0)
		return 0;
	u = j + 3;
	for (j = u; s[j] && s[j] != '@' && s[j] != '/' && !isspace(
	    (unsigned char)s[j]) && s[j] != '"' && s[j] != '\''; j++)
		;
	if (s[j] != '@' || j == u)
		return 0;
	m->vs = u;
	m->ve = j;
	m->end = j;
	m->kind = "url-credentials";
	return 1;
}

/* Bearer X, Basic X, token X: X goes. */
static int
m_credential(const char *s, size_t i, struct span *m)
{
	static const char *const words[] = { "bearer", "basic", "token" };
	size_t	w, j, v;

	if (i > 0 && isalpha((unsigned char)s[i - 1]))
		return 0;
	for (w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		j = i + strlen(words[w]);
		if (strncasecmp(s + i, words[w], strlen(words[w])) != 0 ||
		    !isspace((unsigned char)s[j]))
			continue;
		while (isspace((unsigned char)s[j]))
			j++;
		for (v = j; isalnum((unsigned char)s[v]) || (s[v] &&
		    strchr("._~+/=-", s[v])); v++)
			;
		if (v - j < 8)
			continue;
		m->vs = j;
		m->ve = m->end = v;
		m->kind = "credential";
		return 1;
	}
	return 0;
}

/* KEY=VALUE, KEY: VALUE, "KEY": "VALUE" where KEY names a secret. */
static int
m_secret(const char *s, size_t i, struct span *m)
{
	size_t	k, j, v, w;

	if (!keychar((unsigned char)s[i]) || (i > 0 &&
	    keychar((unsigned char)s[i - 1])))
		return 0;
	for (k = i; keychar((unsigned char)s[k]); k++)
		;
	for (w = 0; w < sizeof(secret_keys) / sizeof(secret_keys[0]); w++)
		if (has_word(s + i, k - i, secret_keys[w]))
			break;
	if (w == sizeof(secret_keys) / sizeof(secret_keys[0]))
		return 0;
	j = k;
	if (s[j] == '"' || s[j] == '\'')
		j++;
	while (s[j] == ' ' || s[j] == '\t')
		j++;
	if (s[j] != ':' && s[j] != '=')
		return 0;
	j++;
	while (s[j] == ' ' || s[j] == '\t')
		j++;
	if (s[j] == '"' || s[j] == '\'')
		j++;
	for (v = j; valuechar((unsigned char)s[v]); v++)
		;
	if (v == j || strncmp(s + j, "[redacted:", 10) == 0)
		return 0;
	m->vs = j;
	m->ve = m->end = v;
	m->kind = "secret";
	return 1;
}

static size_t
run_of(const char *s, const char *extra)
{
	size_t	n = 0;

	while (isalnum((unsigned char)s[n]) || (s[n] && strchr(extra, s[n])))
		n++;
	return n;
}

/* eyJ....eyJ....sig */
static int
m_jwt(const char *s, size_t i, struct span *m)
{
	size_t	a, b, c;

	if (strncmp(s + i, "eyJ", 3) != 0 || (i > 0 &&
	    isalnum((unsigned char)s[i - 1])))
		return 0;
	a = run_of(s + i, "_-");
	if (a < 8 || s[i + a] != '.')
		return 0;
	b = run_of(s + i + a + 1, "_-");
	if (b < 5 || s[i + a + 1 + b] != '.')
		return 0;
	c = run_of(s + i + a + b + 2, "_-");
	m->vs = i;
	m->ve = m->end = i + a + b + 2 + c;
	m->kind = "jwt";
	return 1;
}

/* Well-known token formats. */
static int
m_token(const char *s, size_t i, struct span *m)
{
	static const struct {
		const char	*prefix;
		size_t		 min;	/* characters after the prefix */
	} fmts[] = {
		{ "AKIA", 16 }, { "ASIA", 16 },
		{ "sk-", 16 }, { "sk_", 16 }, { "pk-", 16 }, { "pk_", 16 },
		{ "rk-", 16 }, { "rk_", 16 },
		{ "ghp_", 10 }, { "gho_", 10 }, { "ghu_", 10 }, { "ghs_", 10 },
		{ "ghr_", 10 }, { "github_pat_", 10 }, { "glpat-", 10 },
		{ "xoxa-", 10 }, { "xoxb-", 10 }, { "xoxp-", 10 },
		{ "xoxr-", 10 }, { "xoxs-", 10 }, { "AIza", 10 },
	};
	size_t	f, l, n;

	if (i > 0 && isalnum((unsigned char)s[i - 1]))
		return 0;
	for (f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		l = strlen(fmts[f].prefix);
		if (strncmp(s + i, fmts[f].prefix, l) != 0)
			continue;
		n = run_of(s + i + l, "_-");
		if (n < fmts[f].min)
			continue;
		m->vs = i;
		m->ve = m->end = i + l + n;
		m->kind = "token";
		return 1;
	}
	return 0;
}

/* a.b.c.d, 1-3 digits each, not part of a longer dotted number. */
static int
m_ip(const char *s, size_t i, struct span *m)
{
	size_t	j = i, g, d;

	if (i > 0 && (isdigit((unsigned char)s[i - 1]) || s[i - 1] == '.'))
		return 0;
	for (g = 0; g < 4; g++) {
		for (d = 0; isdigit((unsigned char)s[j]); j++)
			d++;
		if (d < 1 || d > 3)
			return 0;
		if (g < 3) {
			if (s[j] != '.')
				return 0;
			j++;
		}
	}
	if (isdigit((unsigned char)s[j]) || (s[j] == '.' &&
	    isdigit((unsigned char)s[j + 1])))
		return 0;
	m->vs = i;
	m->ve = m->end = j;
	m->kind = "ip";
	return 1;
}

typedef int	(*matcher)(const char *, size_t, struct span *);

static const matcher matchers[] = {
	m_private_key, m_url, m_credential, m_secret, m_jwt, m_token,
};

/* One pass of the matchers (and m_ip when ips) over s. */
static char *
apply_patterns(struct redactor *r, const char *s)
{
	struct sbuf	 b;
	struct span	 m;
	size_t		 i = 0, from = 0, k;
	char		 mark[48];
	int		 hit;

	sb_init(&b, strlen(s) + 64);
	while (s[i] != '\0') {
		if (strncmp(s + i, "[redacted:", 10) == 0) {
			const char *e = strchr(s + i, ']');

			i = e ? (size_t)(e - s) + 1 : i + 10;
			continue;
		}
		hit = 0;
		for (k = 0; k < sizeof(matchers) / sizeof(matchers[0]) && !hit;
		    k++)
			hit = matchers[k](s, i, &m);
		if (!hit && r->ips)
			hit = m_ip(s, i, &m);
		if (!hit) {
			i++;
			continue;
		}
		snprintf(mark, sizeof(mark), "[redacted:%s]", m.kind);
		sb_add(&b, s + from, m.vs - from);
		sb_add(&b, mark, strlen(mark));
		from = m.ve;
		i = m.end > i ? m.end : i + 1;
		r->count++;
	}
	sb_add(&b, s + from, strlen(s + from));
	return sb_take(&b);
}

static int
tokchar(int c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=' || c == '_' ||
	    c == '-';
}

/* Shannon entropy in bits per character of s[0..n). */
static double
entropy(const char *s, size_t n)
{
	unsigned	cnt[256] = { 0 };
	double		h = 0, p;
	size_t		i;

	for (i = 0; i < n; i++)
		cnt[(unsigned char)s[i]]++;
	for (i = 0; i < 256; i++) {
		if (cnt[i] == 0)
			continue;
		p = (double)cnt[i] / (double)n;
		h -= p * log2(p);
	}
	return h;
}

/*
 * A token that looks random: long, mixing letters and digits, high
 * entropy.  Words, DNS names, image references and pod names do not pass:
 * they are short per segment or low in entropy.
 */
static int
looks_random(const char *s, size_t n)
{
	size_t	i, digits = 0, alpha = 0, upper = 0, run, longest;

	if (n < ENTROPY_MIN_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (isalpha((unsigned char)s[i])) {
			alpha++;
			if (isupper((unsigned char)s[i]))
				upper++;
		}
	}
	if (digits == 0 || alpha == 0)
		return 0;
	/* Generated names (pod-template hashes, pod suffixes, UUIDs) are
	 * short random runs between dashes; secrets have a long one. */
	for (i = 0, run = 0, longest = 0; i < n; i++) {
		run = strchr("-./_+=", s[i]) ? 0 : run + 1;
		if (run > longest)
			longest = run;
	}
	if (longest < ENTROPY_MIN_RUN)
		return 0;
	return entropy(s, n) >= ENTROPY_MIN_BITS;
}

static char *
apply_entropy(struct redactor *r, const char *s)
{
	struct sbuf	 b;
	const char	*p = s, *q;

	sb_init(&b, strlen(s) + 64);
	while (*p) {
		if (!tokchar((unsigned char)*p)) {
			sb_add(&b, p++, 1);
			continue;
		}
		for (q = p; *q && tokchar((unsigned char)*q); q++)
			;
		if (looks_random(p, (size_t)(q - p)) &&
		    !(p - s >= 7 && strncmp(p - 7, "sha256:", 7) == 0)) {
			sb_add(&b, "[redacted:random]", 17);
			r->count++;
		} else
			sb_add(&b, p, (size_t)(q - p));
		p = q;
	}
	return sb_take(&b);
}

void
redact_init(struct redactor *r, int ips, int anonymize,
    const unsigned char key[REDACT_KEY_LEN])
{
	memset(r, 0, sizeof(*r));
	r->ips = ips;
	r->anonymize = anonymize;
	if (key != NULL)
		memcpy(r->key, key, REDACT_KEY_LEN);
}

void
redact_clear(struct redactor *r)
{
	size_t	i;

	for (i = 0; i < r->nalias; i++) {
		free(r->alias[i].real);
		free(r->alias[i].pseudo);
		free(r->alias[i].role);
	}
	free(r->alias);
	memset(r, 0, sizeof(*r));
}

const char *
redact_alias(struct redactor *r, const char *role, const char *real)
{
	struct redact_alias	*a;
	unsigned char		 mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen = 0;
	char			 msg[96], *pseudo;
	size_t			 i, ord = 0;

	if (!r->anonymize || real == NULL || *real == '\0')
		return real;
	for (i = 0; i < r->nalias; i++) {
		if (strcmp(r->alias[i].real, real) == 0)
			return r->alias[i].pseudo;
		if (strcmp(r->alias[i].role, role) == 0)
			ord++;
	}
	if (r->nalias >= REDACT_MAX_ALIASES)
		return NULL;
	snprintf(msg, sizeof(msg), "%s:%zu", role, ord);
	if (HMAC(EVP_sha256(), r->key, REDACT_KEY_LEN,
	    (const unsigned char *)msg, strlen(msg), mac, &maclen) == NULL)
		return NULL;
	if ((pseudo = malloc(strlen(role) + 10)) == NULL)
		return NULL;
	sprintf(pseudo, "%s-%02x%02x%02x%02x", role, mac[0], mac[1], mac[2],
	    mac[3]);
	if ((a = realloc(r->alias, (r->nalias + 1) * sizeof(*a))) == NULL) {
		free(pseudo);
		return NULL;
	}
	r->alias = a;
	a = &r->alias[r->nalias];
	a->pseudo = pseudo;
	a->real = strdup(real);
	a->role = strdup(role);
	if (a->real == NULL || a->role == NULL) {
		free(a->real);
		free(a->role);
		free(a->pseudo);
		return NULL;
	}
	r->nalias++;
	return pseudo;
}

static int
namechar(int c)
{
	return isalnum(c) || c == '_';
}

/* Replace each from[i] by to[i] at name boundaries, longest from first. */
static char *
replace_names(const char *s, char *const *from, char *const *to, size_t n)
{
	struct sbuf	 b = { 0 };
	const char	*p = s;
	size_t		 i, best, bl, l;

	while (*p) {
		best = n;
		bl = 0;
		if (p == s || !namechar((unsigned char)p[-1]))
			for (i = 0; i < n; i++) {
				l = strlen(from[i]);
				if (l > bl && strncmp(p, from[i], l) == 0 &&
				    !namechar((unsigned char)p[l])) {
					best = i;
					bl = l;
				}
			}
		if (best == n) {
			sb_add(&b, p++, 1);
			continue;
		}
		sb_add(&b, to[best], strlen(to[best]));
		p += bl;
	}
	return sb_take(&b);
}

static char *
swap_aliases(const struct redactor *r, const char *s, int back)
{
	char	**from, **to, *out;
	size_t	  i;

	if (r->nalias == 0)
		return strdup(s);
	from = calloc(r->nalias, sizeof(*from));
	to = calloc(r->nalias, sizeof(*to));
	if (from == NULL || to == NULL) {
		free(from);
		free(to);
		return NULL;
	}
	for (i = 0; i < r->nalias; i++) {
		from[i] = back ? r->alias[i].pseudo : r->alias[i].real;
		to[i] = back ? r->alias[i].real : r->alias[i].pseudo;
	}
	out = replace_names(s, from, to, r->nalias);
	free(from);
	free(to);
	return out;
}

char *
redact_text(struct redactor *r, const char *s)
{
	char	*cur, *next;

	if (strlen(s) > REDACT_MAX_TEXT) {
		if ((cur = strndup(s, REDACT_MAX_TEXT)) == NULL)
			return NULL;
	} else if ((cur = strdup(s)) == NULL)
		return NULL;
	next = apply_patterns(r, cur);
	free(cur);
	if ((cur = next) == NULL)
		return NULL;
	next = apply_entropy(r, cur);
	free(cur);
	if ((cur = next) == NULL)
		return NULL;
	if (r->anonymize) {
		next = swap_aliases(r, cur, 0);
		free(cur);
		cur = next;
	}
	return cur;
}

char *
redact_unalias_text(const struct redactor *r, const char *s)
{
	return swap_aliases(r, s, 1);
}

typedef char *(*str_fn)(void *, const char *);

static char *
do_redact(void *r, const char *s)
{
	return redact_text(r, s);
}

static char *
do_unalias(void *r, const char *s)
{
	return redact_unalias_text(r, s);
}

static int
walk(json_t *v, str_fn fn, void *arg)
{
	json_t		*e;
	const char	*k;
	size_t		 i;
	char		*s;
	int		 rc;

	if (json_is_string(v)) {
		if ((s = fn(arg, json_string_value(v))) == NULL)
			return -1;
		rc = json_string_set(v, s);
		free(s);
		return rc;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (walk(e, fn, arg) == -1)
				return -1;
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			if (walk(e, fn, arg) == -1)
				return -1;
	}
	return 0;
}

int
redact_json(struct redactor *r, json_t *v)
{
	return walk(v, do_redact, r);
}

int
redact_unalias_json(const struct redactor *r, json_t *v)
{
	if (!r->anonymize || r->nalias == 0)
		return 0;
	return walk(v, do_unalias, (void *)r);
}

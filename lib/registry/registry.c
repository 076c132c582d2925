/*
 * registry.c - the OCI Distribution client (registry.h).
 *
 * One struct reg_op per question.  It sends one request at a time through
 * lib/base/http.c; http's done() callback decides what comes next (a token
 * request after a 401, the same request again with the token, the next
 * tags page, a same-origin redirect) or finishes the operation.  Finished
 * operations wait on a list and are delivered from a zero-delay timer, so
 * a callback never runs inside registry_tags()/registry_manifest() or
 * inside libcurl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <uv.h>

#include "base/log.h"
#include "base/util.h"
#include "registry/registry.h"

#define MAX_REDIRECTS	3
#define MAX_CACHE	256
#define MAX_TOKENS	16
#define HDR_MAX		REG_URL_MAX

enum { OP_TAGS, OP_MANIFEST };

struct reg_token {
	char	 key[512];		/* host "|" scope */
	char	 token[REG_TOKEN_MAX];
	int64_t	 expires;		/* mono ms */
};

struct reg_cache_ent {
	char			 key[640];
	int64_t			 expires;
	struct reg_answer	 a;	/* a.tags is a reference we hold */
	struct reg_cache_ent	*next;
};

struct reg_op {
	struct registry		*reg;
	int			 kind, get, done;
	struct imgref		 ref;
	struct reg_budget	*budget;
	reg_cb			 cb;
	void			*arg;
	char			 base[REG_URL_MAX];	/* scheme://host */
	char			 host[256];		/* HOST[:PORT] */
	char			 authkey[256];	/* its auth file entry */
	int			 insecure;
	char			 url[REG_URL_MAX];	/* current main request */
	char			 scope[512];
	char			 token[REG_TOKEN_MAX];
	int			 use_basic, authed, in_token, redirects;
	int			 use_identity;	/* OAuth2 refresh token POST */
	char			 service[256];	/* the challenge's service */
	char			*form;		/* the POST body: a secret */
	size_t			 formlen;
	CURL			*easy;
	struct curl_slist	*hdrs;
	char			*body;
	size_t			 len;
	int			 too_big, hdr_overflow;
	char			 www_auth[HDR_MAX];
	char			 link[HDR_MAX];
	char			 ctype[128];
	char			 dcd[IMGREF_DIGEST_MAX + 1];
	char			 location[HDR_MAX];
	char			 errbuf[CURL_ERROR_SIZE];
	struct reg_answer	 ans;
	struct reg_op		*prev, *next;
};

struct registry {
	struct http			*http;
	const struct registry_config	*cfg;
	uv_timer_t			 kick;
	int				 kick_init;	/* kick needs a close */
	int				 freeing;
	struct reg_op			*ops;
	struct reg_cache_ent		*cache;
	size_t				 ncache;
	struct reg_token		 tokens[MAX_TOKENS];
	unsigned long			 requests;
};

static void	op_send(struct reg_op *, const char *url, int token);

const char *
reg_status_name(enum reg_status s)
{
	static const char *const names[] = { "ok", "tag-unknown",
	    "repository-unknown", "unauthorized", "unreachable", "timeout",
	    "bad-answer", "refused" };

	if ((size_t)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "unknown";
}

unsigned long
registry_requests(const struct registry *reg)
{
	return reg->requests;
}

/* The cache key of op; -1 when it does not fit (such an answer is not
 * cached: a cut key could name another image). */
static int
cache_key(const struct reg_op *op, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%c%d %s/%s:%s@%s", op->kind == OP_TAGS ? 'T' :
	    'M', op->get, op->ref.domain, op->ref.path,
	    op->kind == OP_TAGS ? "" : op->ref.tag,
	    op->kind == OP_TAGS ? "" : op->ref.digest);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* host "|" scope, the key of a bearer token; -1 when it does not fit. */
static int
token_key(char *buf, size_t len, const char *host, const char *scope)
{
	int n;

	n = snprintf(buf, len, "%s|%s", host, scope);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
cache_free_ent(struct reg_cache_ent *e)
{
	json_decref(e->a.tags);
	free(e);
}

/* Keep a final answer that retrying would not change. */
static void
cache_put(struct registry *reg, const struct reg_op *op)
{
	struct reg_cache_ent	*e, **pp;

	if (reg->cfg->cache_ttl_ms <= 0 || op->ans.cached ||
	    (op->ans.status != REG_OK && op->ans.status != REG_TAG_UNKNOWN &&
	    op->ans.status != REG_REPO_UNKNOWN))
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	if (cache_key(op, e->key, sizeof(e->key)) == -1) {
		free(e);
		return;
	}
	e->expires = mono_ms() + reg->cfg->cache_ttl_ms;
	e->a = op->ans;
	json_incref(e->a.tags);
	e->next = reg->cache;
	reg->cache = e;
	if (++reg->ncache > MAX_CACHE) {
		/* drop the oldest: the last of the list */
		for (pp = &reg->cache; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		cache_free_ent(*pp);
		*pp = NULL;
		reg->ncache--;
	}
}

static const struct reg_cache_ent *
cache_get(struct registry *reg, const struct reg_op *op)
{
	struct reg_cache_ent	*e, **pp;
	char			 key[640];
	int64_t			 now = mono_ms();

	if (cache_key(op, key, sizeof(key)) == -1)
		return NULL;
	for (pp = &reg->cache; (e = *pp) != NULL;) {
		if (e->expires <= now) {
			*pp = e->next;
			cache_free_ent(e);
			reg->ncache--;
			continue;
		}
		if (strcmp(e->key, key) == 0)
			return e;
		pp = &e->next;
	}
	return NULL;
}

static const char *
token_get(struct registry *reg, const char *host, const char *scope)
{
	char	key[512];
	size_t	i;

	if (token_key(key, sizeof(key), host, scope) == -1)
		return NULL;
	for (i = 0; i < MAX_TOKENS; i++)
		if (reg->tokens[i].expires > mono_ms() &&
		    strcmp(reg->tokens[i].key, key) == 0)
			return reg->tokens[i].token;
	return NULL;
}

static void
token_put(struct registry *reg, const char *host, const char *scope,
    const char *token, int expires_in)
{
	struct reg_token	*t = &reg->tokens[0];
	char			 key[sizeof(t->key)];
	size_t			 i;

	/* one that does not fit is not kept: asked for again next time */
	if (token_key(key, sizeof(key), host, scope) == -1 ||
	    strlen(token) >= sizeof(t->token))
		return;
	for (i = 1; i < MAX_TOKENS; i++)	/* the one expiring first */
		if (reg->tokens[i].expires < t->expires)
			t = &reg->tokens[i];
	memcpy(t->key, key, sizeof(t->key));
	snprintf(t->token, sizeof(t->token), "%s", token);
	/* renew 10 s early */
	t->expires = mono_ms() + (int64_t)(expires_in > 20 ? expires_in - 10 :
	    expires_in) * 1000;
}

static void
op_release_easy(struct reg_op *op)
{
	if (op->easy != NULL) {
		http_remove(op->reg->http, op->easy);
		curl_easy_cleanup(op->easy);
		op->easy = NULL;
	}
	curl_slist_free_all(op->hdrs);
	op->hdrs = NULL;
	if (op->form != NULL) {
		explicit_bzero(op->form, op->formlen);
		free(op->form);
		op->form = NULL;
		op->formlen = 0;
	}
	free(op->body);
	op->body = NULL;
	op->len = 0;
}

static void
op_free(struct reg_op *op)
{
	op_release_easy(op);
	json_decref(op->ans.tags);
	explicit_bzero(op->token, sizeof(op->token));
	free(op);
}

static void
op_unlink(struct registry *reg, struct reg_op *op)
{
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		reg->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
}

static void
on_kick(uv_timer_t *t)
{
	struct registry	*reg = t->data;
	struct reg_op	*op;

	for (;;) {
		for (op = reg->ops; op != NULL && !op->done; op = op->next)
			;
		if (op == NULL || reg->freeing)
			return;
		op_unlink(reg, op);
		op->cb(&op->ans, op->arg);
		op_free(op);
	}
}

/*
 * Deliver finished operations from the loop.  The timer is set up on first
 * use, so a client that never asked anything holds no handle and
 * registry_free() releases it at once.
 */
static void
kick(struct registry *reg)
{
	if (!reg->kick_init) {
		uv_timer_init(http_loop(reg->http), &reg->kick);
		reg->kick.data = reg;
		reg->kick_init = 1;
	}
	uv_timer_start(&reg->kick, on_kick, 0, 0);
}

/* Finish op with status and a message; delivered from the loop. */
static void
op_finish(struct reg_op *op, enum reg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
op_finish(struct reg_op *op, enum reg_status st, const char *fmt, ...)
{
	va_list	ap;

	op_release_easy(op);
	op->ans.status = st;
	va_start(ap, fmt);
	vsnprintf(op->ans.message, sizeof(op->ans.message), fmt, ap);
	va_end(ap);
	snprintf(op->ans.url, sizeof(op->ans.url), "%s", op->url);
	if (st != REG_OK)
		log_debug("registry: %s: %s", op->url, op->ans.message);
	cache_put(op->reg, op);
	op->done = 1;
	kick(op->reg);
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct reg_op	*op = arg;
	size_t		 len = size * n;
	char		*p;

	if (op->len + len > REG_MAX_RESPONSE) {
		op->too_big = 1;
		return 0;
	}
	if ((p = realloc(op->body, op->len + len + 1)) == NULL)
		return 0;
	op->body = p;
	memcpy(op->body + op->len, data, len);
	op->len += len;
	op->body[op->len] = '\0';
	return len;
}

static void
keep_header(struct reg_op *op, char *dst, size_t dlen, const char *v,
    size_t vlen)
{
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
	    v[vlen - 1] == ' '))
		vlen--;
	if (vlen >= dlen) {
		op->hdr_overflow = 1;
		return;
	}
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	static const struct {
		const char	*name;
		size_t		 off, len;
	} want[] = {
		{ "www-authenticate:", offsetof(struct reg_op, www_auth),
		    HDR_MAX },
		{ "link:", offsetof(struct reg_op, link), HDR_MAX },
		{ "content-type:", offsetof(struct reg_op, ctype), 128 },
		{ "docker-content-digest:", offsetof(struct reg_op, dcd),
		    IMGREF_DIGEST_MAX + 1 },
		{ "location:", offsetof(struct reg_op, location), HDR_MAX },
	};
	struct reg_op	*op = arg;
	size_t		 len = size * n, i, nl;
	const char	*v;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): forget the last */
		op->www_auth[0] = op->link[0] = op->ctype[0] = '\0';
		op->dcd[0] = op->location[0] = '\0';
		op->hdr_overflow = 0;
		return len;
	}
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		nl = strlen(want[i].name);
		if (len < nl || strncasecmp(data, want[i].name, nl) != 0)
			continue;
		for (v = data + nl; v < data + len && *v == ' '; v++)
			;
		keep_header(op, (char *)op + want[i].off, want[i].len, v,
		    (size_t)(data + len - v));
		break;
	}
	return len;
}

/* The credentials of the auth file for the host that asked, if any. */
static int
load_cred(struct reg_op *op, struct reg_cred *c)
{
	char	*buf = NULL, err[256];
	size_t	 len;
	int	 rc;

	if (op->reg->cfg->auth_file == NULL)
		return 0;
	if (read_file(op->reg->cfg->auth_file, 1024 * 1024, &buf, &len, err,
	    sizeof(err)) == -1) {
		log_warnx("registry: %s", err);
		return 0;
	}
	rc = reg_auth_lookup(buf, len, op->authkey, c, err, sizeof(err));
	explicit_bzero(buf, len);
	free(buf);
	if (rc == -1)
		log_warnx("registry: %s: %s", op->reg->cfg->auth_file, err);
	if (rc == 1 && c->identity[0] == '\0' && (c->user[0] == '\0' ||
	    c->pass[0] == '\0')) {
		reg_cred_clear(c);
		rc = 0;
	}
	return rc == 1;
}

/* Same scheme://host as the operation's base, then the URL is ours. */
static int
resolve_url(struct reg_op *op, const char *target, char *out, size_t len)
{
	size_t	blen = strlen(op->base);

	if (target[0] == '/' && target[1] != '/') {
		if ((size_t)snprintf(out, len, "%s%s", op->base, target) >= len)
			return -1;
		return 0;
	}
	if (strncmp(target, op->base, blen) != 0 || (target[blen] != '/' &&
	    target[blen] != '\0'))
		return -1;
	if ((size_t)snprintf(out, len, "%s", target) >= len)
		return -1;
	return 0;
}

static void
digest_of_body(struct reg_op *op)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;
	char		*p;

	if (EVP_Digest(op->body ? op->body : "", op->len, md, &mdlen,
	    EVP_sha256(), NULL) != 1 || mdlen != 32)
		return;
	p = op->ans.digest + snprintf(op->ans.digest, sizeof(op->ans.digest),
	    "sha256:");
	for (i = 0; i < mdlen; i++, p += 2)
		snprintf(p, 3, "%02x", md[i]);
}

/* The registry's error code ("NAME_UNKNOWN") of an error body, or "". */
static void
error_code(const struct reg_op *op, char *code, size_t len)
{
	json_t		*j, *e;
	const char	*s;

	code[0] = '\0';
	if (op->body == NULL || (j = json_loadb(op->body, op->len, 0, NULL)) ==
	    NULL)
		return;
	e = json_array_get(json_object_get(j, "errors"), 0);
	if ((s = json_string_value(json_object_get(e, "code"))) != NULL)
		snprintf(code, len, "%.63s", s);
	json_decref(j);
}

static void
on_token(struct reg_op *op, long code)
{
	char	err[256];
	int	exp;

	op->in_token = 0;
	if (code != 200) {
		op_finish(op, REG_UNAUTHORIZED, "the token server refused "
		    "(HTTP %ld) %s for %s", code, op->use_identity ?
		    "the auth file's identity token" : op->use_basic ?
		    "the auth file's credentials" : "anonymous access",
		    op->scope);
		return;
	}
	if (reg_parse_token(op->body, op->len, op->token, sizeof(op->token),
	    &exp, err, sizeof(err)) == -1) {
		op_finish(op, REG_BAD_ANSWER, "%s", err);
		return;
	}
	token_put(op->reg, op->host, op->scope, op->token, exp);
	op->use_basic = op->use_identity = 0;
	op_send(op, op->url, 0);
}

static void
on_challenge(struct reg_op *op)
{
	struct reg_challenge	 c;
	struct reg_cred		 cred;
	char			 err[256], scheme[8], rhost[256];
	const char		*rest;
	int			 have, basic, ident;

	if (op->authed) {
		op_finish(op, REG_UNAUTHORIZED, "the registry %s refused "
		    "access to %s even after authenticating%s", op->host,
		    op->ref.path, op->use_basic ? " with the auth file's "
		    "credentials" : " (anonymously: no auth file entry)");
		return;
	}
	op->authed = 1;
	if (op->hdr_overflow || op->www_auth[0] == '\0' ||
	    reg_parse_challenge(op->www_auth, &c, err, sizeof(err)) == -1) {
		op_finish(op, REG_BAD_ANSWER, "401 without a usable challenge: "
		    "%s", op->www_auth[0] ? err : "no WWW-Authenticate");
		return;
	}
	have = load_cred(op, &cred);
	basic = have && cred.user[0] != '\0' && cred.pass[0] != '\0';
	ident = have && cred.identity[0] != '\0';
	reg_cred_clear(&cred);
	if (strcmp(c.scheme, "basic") == 0) {
		if (!basic) {
			op_finish(op, REG_UNAUTHORIZED, "the registry %s wants "
			    "a user name and password; the auth file has %s "
			    "for it", op->host, ident ? "only an identitytoken "
			    "(good for token servers only)" : "none");
			return;
		}
		op->use_basic = 1;
		op_send(op, op->url, 0);
		return;
	}
	if (registry_url_split(c.realm, scheme, sizeof(scheme), rhost,
	    sizeof(rhost), &rest) == -1) {
		op_finish(op, REG_BAD_ANSWER, "token realm is not an http(s) "
		    "URL");
		return;
	}
	if (strcmp(scheme, "http") == 0 &&
	    !registry_config_insecure(op->reg->cfg, rhost)) {
		op_finish(op, REG_REFUSED, "token realm %s is plain http and "
		    "not listed in registries.insecure", rhost);
		return;
	}
	if (c.scope[0] != '\0')
		snprintf(op->scope, sizeof(op->scope), "%s", c.scope);
	/* like docker and containerd: an identity token is an OAuth2
	 * refresh token, preferred to a password, POSTed to the realm */
	op->use_identity = ident;
	op->use_basic = basic && !ident;
	if (ident) {
		if (strlen(c.realm) >= REG_URL_MAX ||
		    strlen(c.service) >= sizeof(op->service)) {
			op_finish(op, REG_BAD_ANSWER, "token realm or service "
			    "too long");
			return;
		}
		snprintf(op->service, sizeof(op->service), "%s", c.service);
		op->in_token = 1;
		op_send(op, c.realm, 1);
		return;
	}
	{
		char	*svc, *scope, realm[REG_URL_MAX + 1024];

		svc = curl_easy_escape(NULL, c.service, 0);
		scope = curl_easy_escape(NULL, op->scope, 0);
		if (svc == NULL || scope == NULL || (size_t)snprintf(realm,
		    sizeof(realm), "%s%sservice=%s&scope=%s", c.realm,
		    strchr(c.realm, '?') ? "&" : "?", svc, scope) >=
		    REG_URL_MAX) {
			curl_free(svc);
			curl_free(scope);
			op_finish(op, REG_BAD_ANSWER, "token URL too long");
			return;
		}
		curl_free(svc);
		curl_free(scope);
		op->in_token = 1;
		op_send(op, realm, 1);
	}
}

static void
on_ok(struct reg_op *op)
{
	char	err[256], next[REG_URL_MAX];
	int	rc;

	if (op->kind == OP_MANIFEST) {
		if (op->dcd[0] != '\0' && imgref_valid_digest(op->dcd))
			snprintf(op->ans.digest, sizeof(op->ans.digest), "%s",
			    op->dcd);
		else if (op->get)
			digest_of_body(op);
		if (op->get && reg_parse_manifest(op->body, op->len,
		    op->ctype, &op->ans.manifest, err, sizeof(err)) == -1) {
			op_finish(op, REG_BAD_ANSWER, "%s", err);
			return;
		}
		op_finish(op, REG_OK, "manifest %s exists%s%s",
		    op->ref.digest[0] ? op->ref.digest : op->ref.tag,
		    op->ans.digest[0] ? ", digest " : "", op->ans.digest);
		return;
	}
	op->ans.pages++;
	if (reg_parse_tags(op->body, op->len, op->ref.path, op->ans.tags,
	    (size_t)op->reg->cfg->max_tags, &op->ans.truncated, err,
	    sizeof(err)) == -1) {
		op_finish(op, REG_BAD_ANSWER, "%s", err);
		return;
	}
	if (op->hdr_overflow) {
		op_finish(op, REG_BAD_ANSWER, "Link header too long");
		return;
	}
	rc = op->link[0] ? reg_parse_link_next(op->link, next, sizeof(next),
	    err, sizeof(err)) : 0;
	if (rc == -1) {
		op_finish(op, REG_BAD_ANSWER, "%s", err);
		return;
	}
	if (rc == 0 || op->ans.truncated || op->ans.pages >= REG_MAX_PAGES) {
		if (rc == 1)
			op->ans.truncated = 1;
		op_finish(op, REG_OK, "%zu tags in %d page%s%s",
		    json_array_size(op->ans.tags), op->ans.pages,
		    op->ans.pages == 1 ? "" : "s",
		    op->ans.truncated ? " (stopped at the limit)" : "");
		return;
	}
	if (resolve_url(op, next, op->url, sizeof(op->url)) == -1) {
		op_finish(op, REG_REFUSED, "next page link leads to another "
		    "host; not followed");
		return;
	}
	op_send(op, op->url, 0);
}

static void
on_done(CURL *easy, CURLcode result, void *arg)
{
	struct reg_op	*op = arg;
	long		 code = 0;
	char		 ecode[64];

	(void)easy;
	curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &code);
	op->ans.http_status = (int)code;
	/* the transfer is over: the handle goes, the body stays */
	curl_easy_cleanup(op->easy);
	op->easy = NULL;
	curl_slist_free_all(op->hdrs);
	op->hdrs = NULL;
	if (result != CURLE_OK) {
		if (op->too_big)
			op_finish(op, REG_BAD_ANSWER, "answer larger than %d "
			    "bytes", REG_MAX_RESPONSE);
		else if (result == CURLE_OPERATION_TIMEDOUT)
			op_finish(op, REG_TIMEOUT, "no answer within %lld ms",
			    (long long)op->reg->cfg->timeout_ms);
		else if (result == CURLE_COULDNT_RESOLVE_HOST)
			op_finish(op, REG_UNREACHABLE, "cannot resolve the "
			    "registry host %s", op->host);
		else
			op_finish(op, REG_UNREACHABLE, "%s: %s",
			    curl_easy_strerror(result), op->errbuf);
		return;
	}
	if (op->in_token) {
		on_token(op, code);
		return;
	}
	if (code == 401) {
		on_challenge(op);
		return;
	}
	if (code == 403) {
		op_finish(op, REG_UNAUTHORIZED, "the registry %s denied access "
		    "to %s (HTTP 403)", op->host, op->ref.path);
		return;
	}
	if (code >= 300 && code < 400) {
		if (++op->redirects > MAX_REDIRECTS || op->location[0] == '\0') {
			op_finish(op, REG_BAD_ANSWER, "too many redirects or "
			    "one without Location");
			return;
		}
		if (resolve_url(op, op->location, op->url, sizeof(op->url)) ==
		    -1) {
			op_finish(op, REG_REFUSED, "redirect to another host "
			    "not followed");
			return;
		}
		op_send(op, op->url, 0);
		return;
	}
	if (code == 404) {
		error_code(op, ecode, sizeof(ecode));
		if (strcmp(ecode, "NAME_UNKNOWN") == 0 ||
		    (op->kind == OP_TAGS && ecode[0] == '\0'))
			op_finish(op, REG_REPO_UNKNOWN, "the registry has no "
			    "repository %s", op->ref.path);
		else
			op_finish(op, REG_TAG_UNKNOWN, "the registry has no "
			    "manifest %s in %s", op->ref.digest[0] ?
			    op->ref.digest : op->ref.tag, op->ref.path);
		return;
	}
	if (code == 200) {
		on_ok(op);
		return;
	}
	op_finish(op, REG_BAD_ANSWER, "the registry answered HTTP %ld", code);
}

/* Send one request of op: the main URL, or the token realm. */
/*
 * The body of the OAuth2 token request (the Distribution token spec,
 * "OAuth2 token": grant_type=refresh_token with the auth file's
 * identitytoken, service, scope, client_id), in op->form, which only
 * op_release_easy() frees, zeroed.  Read from the auth file now, so the
 * secret is held no longer than the request.  0, or -1 without one.
 */
static int
oauth_form(struct reg_op *op)
{
	struct reg_cred	 cred;
	char		*tok = NULL, *svc = NULL, *scope = NULL;
	size_t		 n;
	int		 rc = -1;

	memset(&cred, 0, sizeof(cred));
	if (!load_cred(op, &cred) || cred.identity[0] == '\0')
		goto out;
	tok = curl_easy_escape(NULL, cred.identity, 0);
	svc = curl_easy_escape(NULL, op->service, 0);
	scope = curl_easy_escape(NULL, op->scope, 0);
	if (tok == NULL || svc == NULL || scope == NULL)
		goto out;
	n = strlen(tok) + strlen(svc) + strlen(scope) + 96;
	if ((op->form = malloc(n)) == NULL)
		goto out;
	op->formlen = (size_t)snprintf(op->form, n, "grant_type=refresh_token&"
	    "refresh_token=%s&service=%s&scope=%s&client_id=remedy", tok, svc,
	    scope);
	rc = 0;
out:
	if (tok != NULL) {
		explicit_bzero(tok, strlen(tok));
		curl_free(tok);
	}
	curl_free(svc);
	curl_free(scope);
	reg_cred_clear(&cred);
	return rc;
}

static void
op_send(struct reg_op *op, const char *url, int token)
{
	static const char *const accept = "Accept: "
	    "application/vnd.oci.image.index.v1+json, "
	    "application/vnd.docker.distribution.manifest.list.v2+json, "
	    "application/vnd.oci.image.manifest.v1+json, "
	    "application/vnd.docker.distribution.manifest.v2+json";
	struct registry	*reg = op->reg;
	struct reg_cred	 cred;
	char		 auth[REG_TOKEN_MAX + 32];
	const char	*tok;
	CURL		*e;

	op_release_easy(op);
	op->too_big = op->hdr_overflow = 0;
	if (op->budget != NULL && op->budget->left <= 0) {
		op_finish(op, REG_REFUSED, "request budget of this incident "
		    "used up (registries.max_requests_per_incident)");
		return;
	}
	if ((e = curl_easy_init()) == NULL) {
		op_finish(op, REG_BAD_ANSWER, "out of memory");
		return;
	}
	op->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "remedyd");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)reg->cfg->timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)REG_MAX_RESPONSE);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, op);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, op);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, op->errbuf);
	op->errbuf[0] = '\0';
	if (op->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (!token && op->kind == OP_MANIFEST) {
		op->hdrs = curl_slist_append(op->hdrs, accept);
		if (!op->get)
			curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	}
	if (token && op->use_identity && oauth_form(op) == -1) {
		op_finish(op, REG_UNAUTHORIZED, "the auth file's identity "
		    "token for %s could not be read again", op->host);
		return;
	}
	if (!token && !op->use_basic) {
		tok = op->token[0] ? op->token :
		    token_get(reg, op->host, op->scope);
		if (tok != NULL) {
			snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			    tok);
			op->hdrs = curl_slist_append(op->hdrs, auth);
			explicit_bzero(auth, sizeof(auth));
		}
	}
	if (op->use_basic && load_cred(op, &cred) && cred.user[0] != '\0' &&
	    cred.pass[0] != '\0') {
		/* the host that asked (or its token realm) only */
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, cred.user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, cred.pass);
	}
	reg_cred_clear(&cred);
	if (op->form != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, op->form);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)op->formlen);
	}
	if (op->hdrs != NULL)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, op->hdrs);
	/* the URL names no secret: the refresh token travels in the body */
	log_debug("registry: %s %s", op->form != NULL ? "POST" : token ||
	    op->kind != OP_MANIFEST || op->get ? "GET" : "HEAD", url);
	if (op->budget != NULL)
		op->budget->left--;
	op->ans.requests++;
	reg->requests++;
	if (http_add(reg->http, e, on_done, op) == -1) {
		curl_easy_cleanup(e);
		op->easy = NULL;
		op_finish(op, REG_BAD_ANSWER, "cannot start the request");
	}
}

static int
op_start(struct registry *reg, const struct imgref *ref, int kind, int get,
    struct reg_budget *budget, reg_cb cb, void *arg)
{
	const struct reg_cache_ent	*c;
	struct reg_op			*op;
	const char			*mirror, *rest;
	char				 scheme[8];
	int				 n;

	if (reg->freeing || (op = calloc(1, sizeof(*op))) == NULL)
		return -1;
	op->reg = reg;
	op->kind = kind;
	op->get = get;
	op->ref = *ref;
	op->budget = budget;
	op->cb = cb;
	op->arg = arg;
	if ((mirror = registry_config_mirror(reg->cfg, ref->domain)) != NULL) {
		snprintf(op->base, sizeof(op->base), "%s", mirror);
		if (registry_url_split(mirror, scheme, sizeof(scheme), op->host,
		    sizeof(op->host), &rest) == -1) {
			free(op);
			return -1;
		}
		snprintf(op->authkey, sizeof(op->authkey), "%s", op->host);
	} else {
		snprintf(op->host, sizeof(op->host), "%s",
		    imgref_api_host(ref->domain));
		op->insecure = registry_config_insecure(reg->cfg, ref->domain);
		snprintf(op->base, sizeof(op->base), "%s://%s",
		    op->insecure ? "http" : "https", op->host);
		snprintf(op->authkey, sizeof(op->authkey), "%s", ref->domain);
	}
	op->insecure = registry_config_insecure(reg->cfg, op->host) ||
	    op->insecure;
	snprintf(op->scope, sizeof(op->scope), "repository:%s:pull",
	    ref->path);
	/* base is at most 1024 bytes (regconf.c), path 255, tag 128 */
	if (kind == OP_TAGS)
		n = snprintf(op->url, sizeof(op->url), "%.1024s/v2/%s/tags/"
		    "list", op->base, ref->path);
	else
		n = snprintf(op->url, sizeof(op->url), "%.1024s/v2/%s/"
		    "manifests/%s", op->base, ref->path, ref->digest[0] ?
		    ref->digest : ref->tag[0] ? ref->tag : "latest");
	if (n < 0 || (size_t)n >= sizeof(op->url)) {
		free(op);
		return -1;
	}
	if ((op->ans.tags = json_array()) == NULL) {
		free(op);
		return -1;
	}
	op->next = reg->ops;
	if (reg->ops != NULL)
		reg->ops->prev = op;
	reg->ops = op;
	if ((c = cache_get(reg, op)) != NULL) {
		json_decref(op->ans.tags);
		op->ans = c->a;
		json_incref(op->ans.tags);
		op->ans.cached = 1;
		op->ans.requests = 0;
		op->done = 1;
		kick(reg);
		return 0;
	}
	op_send(op, op->url, 0);
	return 0;
}

int
registry_tags(struct registry *reg, const struct imgref *ref,
    struct reg_budget *budget, reg_cb cb, void *arg)
{
	return op_start(reg, ref, OP_TAGS, 1, budget, cb, arg);
}

int
registry_manifest(struct registry *reg, const struct imgref *ref, int get,
    struct reg_budget *budget, reg_cb cb, void *arg)
{
	return op_start(reg, ref, OP_MANIFEST, get ? 1 : 0, budget, cb, arg);
}

void
registry_cancel(struct registry *reg, void *arg)
{
	struct reg_op	*op, *next;

	for (op = reg->ops; op != NULL; op = next) {
		next = op->next;
		if (op->arg != arg)
			continue;
		op_unlink(reg, op);
		op_free(op);
	}
}

struct registry *
registry_new(struct http *http, const struct registry_config *cfg)
{
	struct registry	*reg;

	if ((reg = calloc(1, sizeof(*reg))) == NULL)
		return NULL;
	reg->http = http;
	reg->cfg = cfg;
	return reg;
}

static void
on_kick_closed(uv_handle_t *h)
{
	free(h->data);
}

void
registry_free(struct registry *reg)
{
	struct reg_op		*op;
	struct reg_cache_ent	*e;

	if (reg == NULL || reg->freeing)
		return;
	reg->freeing = 1;
	while ((op = reg->ops) != NULL) {
		op_unlink(reg, op);
		op_free(op);
	}
	while ((e = reg->cache) != NULL) {
		reg->cache = e->next;
		cache_free_ent(e);
	}
	explicit_bzero(reg->tokens, sizeof(reg->tokens));
	if (!reg->kick_init) {
		free(reg);
		return;
	}
	uv_timer_stop(&reg->kick);
	uv_close((uv_handle_t *)&reg->kick, on_kick_closed);
}

/*
 * wire.c - registry answers parsed (wire.h).
 *
 * The challenge grammar is RFC 7235's: a scheme, then comma-separated
 * auth-params name=token or name="quoted-string" (backslash escapes).
 * The Link header is RFC 8288's: <target>; param; param, <target>; ...
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "registry/wire.h"

#define MAX_BODY_JSON	(16 * 1024 * 1024)

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* token characters of RFC 7230 */
static int
is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) !=
	    NULL);
}

/*
 * Read one auth-param value at *pp into buf (quoted or token).  Returns 0,
 * or -1 when it is malformed or longer than len - 1.
 */
static int
read_value(const char **pp, char *buf, size_t len)
{
	const char	*p = *pp;
	size_t		 n = 0;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return -1;
			if (*p == '\\' && p[1] != '\0')
				p++;
			if ((unsigned char)*p < ' ' || n + 1 >= len)
				return -1;
			buf[n++] = *p;
		}
		p++;
	} else {
		while (is_tchar((unsigned char)*p) || *p == '/' || *p == ':' ||
		    *p == '=') {
			if (n + 1 >= len)
				return -1;
			buf[n++] = *p++;
		}
		if (n == 0)
			return -1;
	}
	buf[n] = '\0';
	*pp = p;
	return 0;
}

int
reg_parse_challenge(const char *hdr, struct reg_challenge *c, char *err,
    size_t errlen)
{
	const char	*p = skip_ws(hdr);
	char		 name[32], junk[REG_URL_MAX], *dst;
	size_t		 n = 0, dlen;

	memset(c, 0, sizeof(*c));
	while (is_tchar((unsigned char)*p) && n + 1 < sizeof(c->scheme))
		c->scheme[n++] = (char)tolower((unsigned char)*p++);
	if (n == 0 || (*p != ' ' && *p != '\0')) {
		snprintf(err, errlen, "WWW-Authenticate: no auth scheme");
		return -1;
	}
	if (strcmp(c->scheme, "bearer") != 0 && strcmp(c->scheme, "basic") !=
	    0) {
		snprintf(err, errlen, "WWW-Authenticate: unsupported scheme "
		    "\"%s\" (Bearer and Basic are known)", c->scheme);
		return -1;
	}
	p = skip_ws(p);
	while (*p != '\0') {
		for (n = 0; is_tchar((unsigned char)*p) && *p != '='; p++) {
			if (n + 1 >= sizeof(name)) {
				snprintf(err, errlen, "WWW-Authenticate: "
				    "parameter name too long");
				return -1;
			}
			name[n++] = (char)tolower((unsigned char)*p);
		}
		name[n] = '\0';
		p = skip_ws(p);
		if (n == 0 || *p != '=') {
			snprintf(err, errlen, "WWW-Authenticate: expected "
			    "NAME=VALUE at byte %zu", (size_t)(p - hdr));
			return -1;
		}
		p = skip_ws(p + 1);
		if (strcmp(name, "realm") == 0) {
			dst = c->realm;
			dlen = sizeof(c->realm);
		} else if (strcmp(name, "service") == 0) {
			dst = c->service;
			dlen = sizeof(c->service);
		} else if (strcmp(name, "scope") == 0) {
			dst = c->scope;
			dlen = sizeof(c->scope);
		} else {
			dst = junk;	/* error=, error_description= ... */
			dlen = sizeof(junk);
		}
		if (read_value(&p, dst, dlen) == -1) {
			snprintf(err, errlen, "WWW-Authenticate: bad or too "
			    "long value of %s", name);
			return -1;
		}
		p = skip_ws(p);
		if (*p == ',')
			p = skip_ws(p + 1);
		else if (*p != '\0') {
			snprintf(err, errlen, "WWW-Authenticate: expected ',' "
			    "at byte %zu", (size_t)(p - hdr));
			return -1;
		}
	}
	if (strcmp(c->scheme, "bearer") == 0 && c->realm[0] == '\0') {
		snprintf(err, errlen, "WWW-Authenticate: Bearer without realm");
		return -1;
	}
	if (strcmp(c->scheme, "bearer") == 0 &&
	    strncmp(c->realm, "https://", 8) != 0 &&
	    strncmp(c->realm, "http://", 7) != 0) {
		snprintf(err, errlen, "WWW-Authenticate: realm is not an "
		    "http(s) URL");
		return -1;
	}
	return 0;
}

int
reg_parse_link_next(const char *hdr, char *url, size_t len, char *err,
    size_t errlen)
{
	const char	*p = hdr, *lt, *gt, *q;
	char		 rel[64];
	size_t		 n;
	int		 next;

	for (;;) {
		p = skip_ws(p);
		if (*p == '\0')
			return 0;
		if (*p != '<') {
			snprintf(err, errlen, "Link: expected '<' at byte %zu",
			    (size_t)(p - hdr));
			return -1;
		}
		lt = p + 1;
		if ((gt = strchr(lt, '>')) == NULL) {
			snprintf(err, errlen, "Link: no closing '>'");
			return -1;
		}
		next = 0;
		p = gt + 1;
		for (;;) {
			p = skip_ws(p);
			if (*p != ';')
				break;
			p = skip_ws(p + 1);
			if (strncasecmp(p, "rel", 3) == 0 &&
			    *skip_ws(p + 3) == '=') {
				p = skip_ws(skip_ws(p + 3) + 1);
				if (read_value(&p, rel, sizeof(rel)) == -1) {
					snprintf(err, errlen, "Link: bad rel");
					return -1;
				}
				/* rel may list several types */
				for (q = rel; (q = strstr(q, "next")) != NULL;
				    q += 4)
					if ((q == rel || q[-1] == ' ') &&
					    (q[4] == '\0' || q[4] == ' '))
						next = 1;
				continue;
			}
			/* another parameter: skip NAME[=VALUE] */
			while (*p != '\0' && *p != ';' && *p != ',') {
				if (*p == '"') {
					if (read_value(&p, rel, sizeof(rel))
					    == -1) {
						snprintf(err, errlen, "Link: "
						    "bad parameter");
						return -1;
					}
				} else
					p++;
			}
		}
		if (*p != ',' && *p != '\0') {
			snprintf(err, errlen, "Link: unexpected character at "
			    "byte %zu", (size_t)(p - hdr));
			return -1;
		}
		if (next) {
			n = (size_t)(gt - lt);
			if (n == 0 || n >= len) {
				snprintf(err, errlen, "Link: next target empty "
				    "or too long");
				return -1;
			}
			for (q = lt; q < gt; q++)
				if ((unsigned char)*q <= ' ' ||
				    (unsigned char)*q >= 0x7f) {
					snprintf(err, errlen, "Link: next "
					    "target has a space or control "
					    "character");
					return -1;
				}
			if (*lt != '/' && strncmp(lt, "http://", 7) != 0 &&
			    strncmp(lt, "https://", 8) != 0) {
				snprintf(err, errlen, "Link: next target is "
				    "neither a path nor an http(s) URL");
				return -1;
			}
			memcpy(url, lt, n);
			url[n] = '\0';
			return 1;
		}
		if (*p == ',')
			p++;
	}
}

static json_t *
load(const char *body, size_t len, const char *what, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*j;

	if (len > MAX_BODY_JSON) {
		snprintf(err, errlen, "%s: larger than %d bytes", what,
		    MAX_BODY_JSON);
		return NULL;
	}
	if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(err, errlen, "%s: not JSON: %s at line %d column %d",
		    what, jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "%s: not a JSON object", what);
		json_decref(j);
		return NULL;
	}
	return j;
}

int
reg_parse_tags(const char *body, size_t len, const char *want_path,
    json_t *tags, size_t max, int *truncated, char *err, size_t errlen)
{
	json_t		*j, *name, *list, *t;
	const char	*s;
	size_t		 i;
	int		 rc = -1;

	if ((j = load(body, len, "tags list", err, errlen)) == NULL)
		return -1;
	name = json_object_get(j, "name");
	if (!json_is_string(name)) {
		snprintf(err, errlen, "tags list: \"name\" is not a string");
		goto out;
	}
	if (want_path != NULL && strcmp(json_string_value(name), want_path) !=
	    0) {
		snprintf(err, errlen, "tags list: answers for another "
		    "repository");
		goto out;
	}
	list = json_object_get(j, "tags");
	if (list == NULL || json_is_null(list)) {
		rc = 0;		/* a repository without tags */
		goto out;
	}
	if (!json_is_array(list)) {
		snprintf(err, errlen, "tags list: \"tags\" is not an array");
		goto out;
	}
	json_array_foreach(list, i, t) {
		if ((s = json_string_value(t)) == NULL ||
		    !imgref_valid_tag(s)) {
			snprintf(err, errlen, "tags list: tags[%zu] is not a "
			    "valid tag", i);
			goto out;
		}
		if (json_array_size(tags) >= max) {
			*truncated = 1;
			break;
		}
		if (json_array_append_new(tags, json_string(s)) == -1) {
			snprintf(err, errlen, "tags list: out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST	\
	"application/vnd.docker.distribution.manifest.list.v2+json"

static int
copy_str(json_t *o, const char *key, char *dst, size_t len, int required)
{
	const char	*s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		return required ? -1 : 0;
	if (strlen(s) >= len)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int
reg_parse_manifest(const char *body, size_t len, const char *content_type,
    struct reg_manifest *m, char *err, size_t errlen)
{
	json_t		*j, *list, *d, *plat;
	size_t		 i;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if ((j = load(body, len, "manifest", err, errlen)) == NULL)
		return -1;
	if (copy_str(j, "mediaType", m->media_type, sizeof(m->media_type),
	    0) == -1) {
		snprintf(err, errlen, "manifest: bad mediaType");
		goto out;
	}
	if (m->media_type[0] == '\0' && content_type != NULL)
		snprintf(m->media_type, sizeof(m->media_type), "%.*s",
		    (int)strcspn(content_type, "; "), content_type);
	list = json_object_get(j, "manifests");
	m->is_index = strcmp(m->media_type, MT_OCI_INDEX) == 0 ||
	    strcmp(m->media_type, MT_DOCKER_LIST) == 0 ||
	    (m->media_type[0] == '\0' && list != NULL);
	if (!m->is_index) {
		d = json_object_get(j, "config");
		if (!json_is_object(d) || copy_str(d, "digest",
		    m->config_digest, sizeof(m->config_digest), 1) == -1 ||
		    !imgref_valid_digest(m->config_digest)) {
			snprintf(err, errlen, "manifest: no valid "
			    "config.digest");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (!json_is_array(list)) {
		snprintf(err, errlen, "manifest index: \"manifests\" is not "
		    "an array");
		goto out;
	}
	json_array_foreach(list, i, d) {
		struct reg_platform *p;

		if (m->nplatforms == REG_MAX_PLATFORMS)
			break;
		p = &m->plat[m->nplatforms];
		if (!json_is_object(d) || copy_str(d, "digest", p->digest,
		    sizeof(p->digest), 1) == -1 ||
		    !imgref_valid_digest(p->digest)) {
			snprintf(err, errlen, "manifest index: manifests[%zu] "
			    "has no valid digest", i);
			goto out;
		}
		plat = json_object_get(d, "platform");
		if (plat == NULL)
			continue;	/* an attestation or artifact */
		if (!json_is_object(plat) ||
		    copy_str(plat, "os", p->os, sizeof(p->os), 1) == -1 ||
		    copy_str(plat, "architecture", p->arch, sizeof(p->arch),
		    1) == -1 ||
		    copy_str(plat, "variant", p->variant, sizeof(p->variant),
		    0) == -1) {
			snprintf(err, errlen, "manifest index: manifests[%zu]"
			    ".platform needs os and architecture strings", i);
			goto out;
		}
		if (strcmp(p->os, "unknown") == 0)
			continue;	/* buildkit attestations */
		m->nplatforms++;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
reg_parse_token(const char *body, size_t len, char *token, size_t toklen,
    int *expires_in, char *err, size_t errlen)
{
	json_t		*j, *e;
	const char	*t;
	size_t		 i, n;
	int		 rc = -1;

	if ((j = load(body, len, "token reply", err, errlen)) == NULL)
		return -1;
	if ((t = json_string_value(json_object_get(j, "token"))) == NULL &&
	    (t = json_string_value(json_object_get(j, "access_token"))) ==
	    NULL) {
		snprintf(err, errlen, "token reply: no \"token\" string");
		goto out;
	}
	n = strlen(t);
	if (n == 0 || n >= toklen) {
		snprintf(err, errlen, "token reply: token empty or longer "
		    "than %zu bytes", toklen - 1);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f) {
			snprintf(err, errlen, "token reply: token has a space "
			    "or control character");
			goto out;
		}
	memcpy(token, t, n + 1);
	*expires_in = 60;
	e = json_object_get(j, "expires_in");
	if (json_is_integer(e) && json_integer_value(e) > 0)
		*expires_in = json_integer_value(e) > 3600 ? 3600 :
		    (int)json_integer_value(e);
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* "https://index.docker.io/v1/" -> "docker.io"; "host:5000" stays. */
static void
auth_key_domain(const char *key, char *buf, size_t len)
{
	const char	*p = key;

	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	snprintf(buf, len, "%.*s", (int)strcspn(p, "/"), p);
	if (strcmp(buf, "index.docker.io") == 0 ||
	    strcmp(buf, "registry-1.docker.io") == 0)
		snprintf(buf, len, "docker.io");
}

void
reg_cred_clear(struct reg_cred *c)
{
	/* volatile stores: the compiler may not drop them */
	volatile char	*p = (volatile char *)c;
	size_t		 i;

	for (i = 0; i < sizeof(*c); i++)
		p[i] = 0;
}

int
reg_auth_lookup(const char *json, size_t len, const char *domain,
    struct reg_cred *c, char *err, size_t errlen)
{
	json_t		*j, *auths, *e;
	const char	*key, *a;
	unsigned char	*dec = NULL;
	char		 kd[256], *colon;
	size_t		 alen = 0, pad;
	int		 n, rc = -1;

	memset(c, 0, sizeof(*c));
	if ((j = load(json, len, "auth file", err, errlen)) == NULL)
		return -1;
	auths = json_object_get(j, "auths");
	if (auths == NULL) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(auths)) {
		snprintf(err, errlen, "auth file: \"auths\" is not an object");
		goto out;
	}
	json_object_foreach(auths, key, e) {
		auth_key_domain(key, kd, sizeof(kd));
		if (strcmp(kd, domain) == 0)
			break;
	}
	if (key == NULL) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(e)) {
		snprintf(err, errlen, "auth file: auths.%.64s is not an "
		    "object", key);
		goto out;
	}
	if (copy_str(e, "identitytoken", c->identity, sizeof(c->identity),
	    0) == -1 || copy_str(e, "username", c->user, sizeof(c->user),
	    0) == -1 || copy_str(e, "password", c->pass, sizeof(c->pass),
	    0) == -1) {
		snprintf(err, errlen, "auth file: auths.%.64s: a field is not "
		    "a string or too long", key);
		goto out;
	}
	if ((a = json_string_value(json_object_get(e, "auth"))) != NULL &&
	    *a != '\0') {
		alen = strlen(a);
		if (alen % 4 != 0 || alen > 4 * REG_CRED_MAX ||
		    (dec = calloc(1, alen / 4 * 3 + 1)) == NULL ||
		    (n = EVP_DecodeBlock(dec, (const unsigned char *)a,
		    (int)alen)) < 0) {
			snprintf(err, errlen, "auth file: auths.%.64s.auth is "
			    "not base64", key);
			goto out;
		}
		for (pad = 0; alen > 0 && pad < 2 && a[alen - 1 - pad] == '=';
		    pad++)
			;
		n -= (int)pad;
		dec[n] = '\0';
		if ((colon = strchr((char *)dec, ':')) == NULL ||
		    colon == (char *)dec ||
		    (size_t)(colon - (char *)dec) >= sizeof(c->user) ||
		    strlen(colon + 1) >= sizeof(c->pass) ||
		    strlen((char *)dec) != (size_t)n) {
			snprintf(err, errlen, "auth file: auths.%.64s.auth is "
			    "not base64 of USER:PASSWORD", key);
			goto out;
		}
		*colon = '\0';
		snprintf(c->user, sizeof(c->user), "%s", (char *)dec);
		snprintf(c->pass, sizeof(c->pass), "%s", colon + 1);
	}
	if (c->identity[0] == '\0' && (c->user[0] == '\0' ||
	    c->pass[0] == '\0')) {
		snprintf(err, errlen, "auth file: auths.%.64s has neither "
		    "auth, username and password, nor identitytoken", key);
		goto out;
	}
	rc = 1;
out:
	if (dec != NULL) {
		memset(dec, 0, alen / 4 * 3 + 1);
		free(dec);
	}
	if (rc != 1)
		reg_cred_clear(c);
	json_decref(j);
	return rc;
}

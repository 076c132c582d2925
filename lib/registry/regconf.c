/*
 * regconf.c - the registries: section of remedyd.yaml (regconf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/yamltree.h"
#include "registry/ref.h"
#include "registry/regconf.h"

#define DEFAULT_TIMEOUT_MS	(10 * 1000)
#define DEFAULT_CACHE_TTL_MS	(5 * 60 * 1000)
#define DEFAULT_MAX_REQUESTS	20
#define DEFAULT_MAX_TAGS	10000
#define MAX_URL			1024
#define KEYPATH_MAX		320

void
registry_config_init(struct registry_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->timeout_ms = DEFAULT_TIMEOUT_MS;
	rc->cache_ttl_ms = DEFAULT_CACHE_TTL_MS;
	rc->max_requests = DEFAULT_MAX_REQUESTS;
	rc->max_tags = DEFAULT_MAX_TAGS;
}

static void
clear_mirrors(struct registry_config *rc)
{
	size_t	i;

	for (i = 0; i < rc->nmirrors; i++) {
		free(rc->mirrors[i].domain);
		free(rc->mirrors[i].url);
	}
	rc->nmirrors = 0;
}

static void
clear_insecure(struct registry_config *rc)
{
	size_t	i;

	for (i = 0; i < rc->ninsecure; i++)
		free(rc->insecure[i]);
	rc->ninsecure = 0;
}

void
registry_config_clear(struct registry_config *rc)
{
	clear_mirrors(rc);
	clear_insecure(rc);
	free(rc->auth_file);
	memset(rc, 0, sizeof(*rc));
}

int
registry_url_split(const char *url, char *scheme, size_t slen, char *host,
    size_t hlen, const char **rest)
{
	const char	*p, *h;
	size_t		 n;

	if (strncmp(url, "https://", 8) == 0) {
		snprintf(scheme, slen, "https");
		h = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		snprintf(scheme, slen, "http");
		h = url + 7;
	} else
		return -1;
	n = strcspn(h, "/?#");
	if (n == 0 || n >= hlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (!imgref_valid_domain(host))
		return -1;
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return -1;
	*rest = h + n;
	return 0;
}

static const char *
want_str(struct ytree *t, const char *keypath, yaml_node_t *v)
{
	const char	*s;

	if ((s = ytree_str(v)) == NULL) {
		ytree_error(t, v, "%s: expected a string, got %s", keypath,
		    ytree_kind(v));
		return NULL;
	}
	if (strlen(s) != v->data.scalar.length || *s == '\0') {
		ytree_error(t, v, "%s: must be a non-empty string without NUL "
		    "bytes", keypath);
		return NULL;
	}
	return s;
}

/* registries.mirrors: a mapping of registry domain -> http(s) base URL. */
static void
cfg_mirrors(struct registry_config *rc, struct ytree *t, const char *keypath,
    yaml_node_t *v)
{
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *u;
	const char		*dom, *url, *rest;
	char			 path[KEYPATH_MAX], scheme[8], host[256];
	size_t			 i, len;

	clear_mirrors(rc);
	if (ytree_is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		ytree_error(t, v, "%s: expected a mapping of registry host to "
		    "mirror URL, got %s", keypath, ytree_kind(v));
		return;
	}
	for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	    pr++) {
		k = ytree_node(t, pr->key);
		u = ytree_node(t, pr->value);
		if ((dom = want_str(t, keypath, k)) == NULL)
			continue;
		snprintf(path, sizeof(path), "%s.%.200s", keypath, dom);
		if (!imgref_valid_domain(dom) ||
		    strcmp(dom, "index.docker.io") == 0) {
			ytree_error(t, k, "%s: \"%.200s\" is not a registry "
			    "domain as an image reference names it (HOST[:PORT]"
			    ", docker.io for Docker Hub)", keypath, dom);
			continue;
		}
		for (i = 0; i < rc->nmirrors; i++)
			if (strcmp(rc->mirrors[i].domain, dom) == 0)
				break;
		if (i < rc->nmirrors) {
			ytree_error(t, k, "%s: %s has two mirrors", keypath,
			    dom);
			continue;
		}
		if ((url = want_str(t, path, u)) == NULL)
			continue;
		if (strlen(url) > MAX_URL || registry_url_split(url, scheme,
		    sizeof(scheme), host, sizeof(host), &rest) == -1 ||
		    (*rest != '\0' && strcmp(rest, "/") != 0)) {
			ytree_error(t, u, "%s: expected http://HOST[:PORT] or "
			    "https://HOST[:PORT] (no path)", path);
			continue;
		}
		if (rc->nmirrors == REGCONF_MAX_MIRRORS) {
			ytree_error(t, k, "%s: more than %d mirrors", keypath,
			    REGCONF_MAX_MIRRORS);
			return;
		}
		len = strlen(url);
		if (url[len - 1] == '/')
			len--;
		rc->mirrors[rc->nmirrors].domain = strdup(dom);
		rc->mirrors[rc->nmirrors].url = strndup(url, len);
		rc->mirrors[rc->nmirrors].mark = u->start_mark;
		rc->nmirrors++;
		if (rc->mirrors[rc->nmirrors - 1].domain == NULL ||
		    rc->mirrors[rc->nmirrors - 1].url == NULL)
			ytree_error(t, u, "%s: out of memory", path);
	}
}

/* registries.insecure: a sequence of HOST[:PORT]. */
static void
cfg_insecure(struct registry_config *rc, struct ytree *t,
    const char *keypath, yaml_node_t *v)
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	const char		*s;
	char			 path[KEYPATH_MAX];
	size_t			 i;

	clear_insecure(rc);
	if (ytree_is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		ytree_error(t, v, "%s: expected a sequence of HOST[:PORT], got "
		    "%s", keypath, ytree_kind(v));
		return;
	}
	for (i = 0, it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++, i++) {
		item = ytree_node(t, *it);
		snprintf(path, sizeof(path), "%s[%zu]", keypath, i);
		if ((s = want_str(t, path, item)) == NULL)
			continue;
		if (!imgref_valid_domain(s)) {
			ytree_error(t, item, "%s: \"%.200s\" is not HOST[:PORT]"
			    " (no scheme, no path)", path, s);
			continue;
		}
		if (rc->ninsecure == REGCONF_MAX_INSECURE) {
			ytree_error(t, item, "%s: more than %d hosts", keypath,
			    REGCONF_MAX_INSECURE);
			return;
		}
		if ((rc->insecure[rc->ninsecure] = strdup(s)) == NULL) {
			ytree_error(t, item, "%s: out of memory", path);
			continue;
		}
		rc->ninsecure++;
	}
}

static int
want_int(struct ytree *t, const char *keypath, yaml_node_t *v, long lo,
    long hi, int *out)
{
	const char	*s;
	char		*end;
	long		 n;

	if ((s = want_str(t, keypath, v)) == NULL)
		return -1;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < lo || n > hi) {
		ytree_error(t, v, "%s: \"%.64s\" is not an integer from %ld to "
		    "%ld", keypath, s, lo, hi);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static void
want_duration(struct ytree *t, const char *keypath, yaml_node_t *v,
    int64_t lo, int64_t hi, const char *range, int64_t *out)
{
	const char	*s;
	int64_t		 ms;

	if ((s = want_str(t, keypath, v)) == NULL)
		return;
	if (parse_duration(s, &ms) == -1) {
		ytree_error(t, v, "%s: \"%.64s\" is not a duration (like 250ms, "
		    "10s, 5m)", keypath, s);
		return;
	}
	if (ms < lo || ms > hi) {
		ytree_error(t, v, "%s: must be %s", keypath, range);
		return;
	}
	*out = ms;
}

void
registry_config_key(struct registry_config *rc, struct ytree *t,
    const char *key, const char *keypath, yaml_node_t *v)
{
	const char	*s;

	if (strcmp(key, "enabled") == 0)
		ytree_bool(t, v, keypath, ytree_str(v), 0, &rc->enabled);
	else if (strcmp(key, "mirrors") == 0)
		cfg_mirrors(rc, t, keypath, v);
	else if (strcmp(key, "insecure") == 0)
		cfg_insecure(rc, t, keypath, v);
	else if (strcmp(key, "auth_file") == 0) {
		free(rc->auth_file);
		rc->auth_file = NULL;
		if (ytree_is_null(v) || (s = want_str(t, keypath, v)) == NULL)
			return;
		if (*s != '/') {
			ytree_error(t, v, "%s: must be an absolute path",
			    keypath);
			return;
		}
		if ((rc->auth_file = strdup(s)) == NULL)
			ytree_error(t, v, "%s: out of memory", keypath);
	} else if (strcmp(key, "timeout") == 0)
		want_duration(t, keypath, v, 100, 5 * 60 * 1000,
		    "from 100ms to 5m", &rc->timeout_ms);
	else if (strcmp(key, "cache_ttl") == 0)
		want_duration(t, keypath, v, 0, 24 * 3600 * 1000,
		    "from 0s (no cache) to 24h", &rc->cache_ttl_ms);
	else if (strcmp(key, "max_requests_per_incident") == 0)
		want_int(t, keypath, v, 1, 1000, &rc->max_requests);
	else if (strcmp(key, "max_tags") == 0)
		want_int(t, keypath, v, 1, 1000000, &rc->max_tags);
	else if (strcmp(key, "pin_digest") == 0)
		ytree_bool(t, v, keypath, ytree_str(v), 0, &rc->pin_digest);
	else
		ytree_error(t, v, "unknown key \"%s\" in registries", key);
}

void
registry_config_check(const struct registry_config *rc, struct ytree *t)
{
	char		 scheme[8], host[256];
	const char	*rest;
	size_t		 i;

	for (i = 0; i < rc->nmirrors; i++) {
		if (registry_url_split(rc->mirrors[i].url, scheme,
		    sizeof(scheme), host, sizeof(host), &rest) == -1)
			continue;
		if (strcmp(scheme, "http") == 0 &&
		    !registry_config_insecure(rc, host))
			ytree_error_at(t, &rc->mirrors[i].mark,
			    "registries.mirrors.%s: %s is plain http; list %s "
			    "in registries.insecure to allow it",
			    rc->mirrors[i].domain, rc->mirrors[i].url, host);
	}
}

const char *
registry_config_mirror(const struct registry_config *rc, const char *domain)
{
	size_t	i;

	for (i = 0; i < rc->nmirrors; i++)
		if (strcmp(rc->mirrors[i].domain, domain) == 0)
			return rc->mirrors[i].url;
	return NULL;
}

int
registry_config_insecure(const struct registry_config *rc, const char *host)
{
	size_t	i;

	for (i = 0; i < rc->ninsecure; i++)
		if (strcmp(rc->insecure[i], host) == 0)
			return 1;
	return 0;
}

/*
 * regconf.h - the registries: section of remedyd.yaml.
 *
 *   registries:
 *     enabled: true                 # ask registries at all (default false)
 *     mirrors:                      # registry domain -> base URL
 *       docker.io: http://127.0.0.1:5000
 *     insecure: [127.0.0.1:5000]    # hosts allowed over http / bad TLS
 *     auth_file: /etc/remedyd/registry-auth.json   # docker config.json
 *     timeout: 10s                  # per request
 *     cache_ttl: 5m                 # answers kept this long
 *     max_requests_per_incident: 20
 *     max_tags: 10000               # tags read from one repository
 *     pin_digest: false             # proposed images name their digest
 *
 * A mirror is used instead of the registry itself, the way containerd's
 * hosts.toml maps a registry to a host.  A plain-http mirror must also be
 * listed in insecure: nothing goes over plain http unless the operator
 * said so twice.  The auth file is read when a registry asks for
 * credentials, never a Kubernetes Secret.
 *
 * Strings are heap copies owned by the struct; registry_config_clear()
 * frees them.
 */
#ifndef REMEDY_REGISTRY_REGCONF_H
#define REMEDY_REGISTRY_REGCONF_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

struct ytree;

#define REGCONF_MAX_MIRRORS	32
#define REGCONF_MAX_INSECURE	32

struct registry_mirror {
	char		*domain;	/* "docker.io" */
	char		*url;		/* "http://127.0.0.1:5000", no '/' at end */
	yaml_mark_t	 mark;		/* where it was configured */
};

struct registry_config {
	int			 enabled;	/* default false */
	struct registry_mirror	 mirrors[REGCONF_MAX_MIRRORS];
	size_t			 nmirrors;
	char			*insecure[REGCONF_MAX_INSECURE];
	size_t			 ninsecure;
	char			*auth_file;	/* NULL: none */
	int64_t			 timeout_ms;	/* default 10 s */
	int64_t			 cache_ttl_ms;	/* default 5 min */
	int			 max_requests;	/* per incident, default 20 */
	int			 max_tags;	/* default 10000 */
	int			 pin_digest;	/* tag@digest, default false */
};

void	registry_config_init(struct registry_config *);
void	registry_config_clear(struct registry_config *);
/* registries.KEY; keypath is the full path for messages. */
void	registry_config_key(struct registry_config *, struct ytree *,
	    const char *key, const char *keypath, yaml_node_t *v);
/* Checks across keys (a plain-http mirror not listed as insecure). */
void	registry_config_check(const struct registry_config *, struct ytree *);
/* The mirror URL of domain, or NULL. */
const char *registry_config_mirror(const struct registry_config *,
	    const char *domain);
/* 1 when host ("HOST[:PORT]") is listed in insecure. */
int	registry_config_insecure(const struct registry_config *,
	    const char *host);
/*
 * Split an http(s) URL into scheme ("http"/"https"), HOST[:PORT] and the
 * rest (path, query; "" when none).  Returns 0, or -1 when it is not one.
 */
int	registry_url_split(const char *url, char *scheme, size_t slen,
	    char *host, size_t hlen, const char **rest);

#endif

/*
 * config.c - remedyd's YAML configuration: parse, check, dump.
 *
 * The file is loaded as a libyaml document and walked against a table of
 * sections and keys.  Each key has one handler that checks the node's type
 * and value and names the key path in its message, so an error reads
 * "remedyd.yaml:7:18: kubernetes.namespaces[1]: expected a string, got a
 * mapping".  Parsing goes on after an error; every problem is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <yaml.h>

#include "base/authz.h"
#include "base/hostport.h"
#include "base/util.h"
#include "base/yamltree.h"
#include "conf/config.h"
#include "diagnose/diagconf.h"

#define DEFAULT_STORE_PATH	"/var/lib/remedyd/remedy.db"
#define DEFAULT_CONTROL_SOCKET	"/run/remedyd/remedyd.sock"
#define DEFAULT_BACKEND		"rules"
#define DEFAULT_HOLD_DOWN_MS	(10 * 1000)
#define DEFAULT_VERIFY_MS	(5 * 60 * 1000)
#define DEFAULT_RESOLVE_MS	(5 * 60 * 1000)
#define DEFAULT_SYMPTOM_WAIT_MS	(30 * 1000)
#define DEFAULT_IDLE_MS		(300 * 1000)
#define DEFAULT_MAX_PER_UID	16
#define MAX_PER_UID		1024
#define DEFAULT_AGENT_PENDING	5
#define DEFAULT_AGENT_PER_MIN	10
#define MAX_AGENT_CAP		1000
#define MAX_LIST		64	/* entries in a role or webhook list */
#define MAX_URL			2048
#define KEY_PATH_MAX		64	/* "kubernetes.namespaces[255]" */
#define DUMP_MAX		(4 * CONFIG_MAX_BYTES)

struct cfgctx {
	struct ytree		 t;
	struct remedy_config	*cfg;
};

typedef void (*key_fn)(struct cfgctx *, const char *, yaml_node_t *);

struct cfgkey {
	const char	*name;
	key_fn		 fn;
};

struct section {
	const char		*name;
	const struct cfgkey	*keys;
	size_t			 nkeys;
};

static const struct {
	const char	*name;
	int		 level;
} levels[] = {
	{ "debug",	LOG_DEBUG },
	{ "info",	LOG_INFO },
	{ "notice",	LOG_NOTICE },
	{ "warning",	LOG_WARNING },
	{ "error",	LOG_ERR },
};

static const char *const backends[] = { "rules", "openai", "anthropic",
    "ollama" };

void
config_init(struct remedy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->store_path = strdup(DEFAULT_STORE_PATH);
	cfg->control_socket = strdup(DEFAULT_CONTROL_SOCKET);
	cfg->backend = strdup(DEFAULT_BACKEND);
	cfg->hold_down_ms = DEFAULT_HOLD_DOWN_MS;
	cfg->verify_timeout_ms = DEFAULT_VERIFY_MS;
	cfg->resolve_after_ms = DEFAULT_RESOLVE_MS;
	cfg->symptom_wait_ms = DEFAULT_SYMPTOM_WAIT_MS;
	cfg->pending_ttl_ms = 24 * 3600 * 1000;
	cfg->kube_qps = 5;
	cfg->kube_burst = 10;
	cfg->kube_watch_stall_ms = 120000;
	cfg->kube_discovery_ms = 600000;
	cfg->leader.name = strdup("remedyd");
	cfg->leader.duration_ms = 15000;
	cfg->leader.renew_ms = 10000;
	cfg->leader.retry_ms = 2000;
	if (policy_init_defaults(&cfg->policy) == -1)
		cfg->init_failed = 1;
	diag_config_init(&cfg->diag);
	registry_config_init(&cfg->registries);
	cfg->log_level = LOG_INFO;
	cfg->control_idle_ms = DEFAULT_IDLE_MS;
	cfg->control_max_per_uid = DEFAULT_MAX_PER_UID;
	cfg->control_root_role = AUTHZ_APPROVER;
	cfg->control_agent_pending = DEFAULT_AGENT_PENDING;
	cfg->control_agent_per_min = DEFAULT_AGENT_PER_MIN;
}

static void
free_namespaces(char **ns)
{
	size_t	i;

	if (ns == NULL)
		return;
	for (i = 0; ns[i] != NULL; i++)
		free(ns[i]);
	free(ns);
}

void
config_clear(struct remedy_config *cfg)
{
	free(cfg->path);
	free(cfg->kubeconfig);
	free(cfg->context);
	free(cfg->leader.namespace);
	free(cfg->leader.name);
	free(cfg->leader.identity);
	free_namespaces(cfg->namespaces);
	policy_clear(&cfg->policy);
	diag_config_clear(&cfg->diag);
	registry_config_clear(&cfg->registries);
	free(cfg->store_path);
	free(cfg->control_socket);
	free(cfg->backend);
	free(cfg->control_group);
	free_namespaces(cfg->control_viewers);
	free_namespaces(cfg->control_approvers);
	free_namespaces(cfg->control_proposers);
	free_namespaces(cfg->webhooks);
	free(cfg->http_listen);
	memset(cfg, 0, sizeof(*cfg));
}

/*
 * The text of scalar v for key path, or NULL after recording why it is
 * not a usable string: another node type, null (unless nullok, which
 * returns NULL without an error), empty, or holding a NUL byte.
 */
static const char *
want_string(struct cfgctx *c, const char *path, yaml_node_t *v, int nullok,
    int *isnull)
{
	const char	*s;

	*isnull = 0;
	if (ytree_is_null(v)) {
		*isnull = 1;
		if (!nullok)
			ytree_error(&c->t, v, "%s: expected a string, got null",
			    path);
		return NULL;
	}
	if ((s = ytree_str(v)) == NULL) {
		ytree_error(&c->t, v, "%s: expected a string, got %s", path,
		    ytree_kind(v));
		return NULL;
	}
	if (strlen(s) != v->data.scalar.length) {
		ytree_error(&c->t, v, "%s: contains a NUL byte", path);
		return NULL;
	}
	if (*s == '\0') {
		ytree_error(&c->t, v, "%s: must not be empty", path);
		return NULL;
	}
	return s;
}

/* Replace *dst by a copy of v's text; null clears it when nullok. */
static void
set_string(struct cfgctx *c, const char *path, yaml_node_t *v, char **dst,
    int nullok)
{
	const char	*s;
	char		*copy = NULL;
	int		 isnull;

	s = want_string(c, path, v, nullok, &isnull);
	if (s == NULL && !(isnull && nullok))
		return;
	if (s != NULL && (copy = strdup(s)) == NULL) {
		ytree_error(&c->t, v, "%s: out of memory", path);
		return;
	}
	free(*dst);
	*dst = copy;
}

/* Parse v as a duration for key path into *dst (which must be > 0 when
 * positive is set). */
static void
set_duration(struct cfgctx *c, const char *path, yaml_node_t *v,
    int64_t *dst, int positive)
{
	const char	*s;
	int64_t		 ms;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	if (parse_duration(s, &ms) == -1) {
		ytree_error(&c->t, v, "%s: \"%s\" is not a duration (like "
		    "250ms, 10s, 5m, 2h)", path, s);
		return;
	}
	if (positive && ms == 0) {
		ytree_error(&c->t, v, "%s: must be greater than zero", path);
		return;
	}
	*dst = ms;
}

static void
k_kubeconfig(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_string(c, path, v, &c->cfg->kubeconfig, 1);
}

static void
k_context(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_string(c, path, v, &c->cfg->context, 1);
}

/* kubernetes.qps (> 0, or 0: no limit) and kubernetes.burst (1..10000). */
static void
k_kube_qps(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	const char	*s;
	char		*end;
	double		 q;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	q = strtod(s, &end);
	if (*end != '\0' || !(q >= 0 && q <= 100000)) {
		ytree_error(&c->t, v, "%s: \"%s\" is not a rate from 0 (no "
		    "limit) to 100000 requests a second", path, s);
		return;
	}
	c->cfg->kube_qps = q;
}

static void
k_kube_burst(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	const char	*s;
	char		*end;
	long		 n;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	n = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || n < 1 || n > 10000) {
		ytree_error(&c->t, v, "%s: \"%s\" is not a number from 1 to "
		    "10000", path, s);
		return;
	}
	c->cfg->kube_burst = (int)n;
}

/* kubernetes.watch_stall: whole seconds from 10 s to 1 h (the API server
 * sends a bookmark about every minute on a quiet watch). */
static void
k_watch_stall(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	int64_t ms = -1;

	set_duration(c, path, v, &ms, 1);
	if (ms == -1)
		return;
	if (ms < 10000 || ms > 3600000 || ms % 1000 != 0) {
		ytree_error(&c->t, v, "%s: must be whole seconds from 10s to "
		    "1h", path);
		return;
	}
	c->cfg->kube_watch_stall_ms = ms;
}

/* kubernetes.discovery_interval: how often API discovery runs again (a
 * kind served, gone or at another version), 1 s to 24 h. */
static void
k_discovery_interval(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	int64_t ms = -1;

	set_duration(c, path, v, &ms, 1);
	if (ms == -1)
		return;
	if (ms < 1000 || ms > 86400000) {
		ytree_error(&c->t, v, "%s: must be from 1s to 24h", path);
		return;
	}
	c->cfg->kube_discovery_ms = ms;
}

/*
 * kubernetes.leader_election: {enabled, namespace, name, identity,
 * lease_duration, renew_deadline, retry_period}; the deadline must be
 * shorter than the duration and the retry period shorter than the
 * deadline, as client-go requires.
 */
static void
k_leader_election(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	static const char *const keys[] = { "enabled", "namespace", "name",
	    "identity", "lease_duration", "renew_deadline", "retry_period" };
	char			 kp[KEY_PATH_MAX];
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *val;
	const char		*name, *s;
	size_t			 i;
	int			 isnull;

	if (ytree_is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		ytree_error(&c->t, v, "%s: expected a mapping, got %s", path,
		    ytree_kind(v));
		return;
	}
	for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	    pr++) {
		k = ytree_node(&c->t, pr->key);
		val = ytree_node(&c->t, pr->value);
		if ((name = ytree_str(k)) == NULL) {
			ytree_error(&c->t, k, "%s: expected a string key, got "
			    "%s", path, ytree_kind(k));
			continue;
		}
		for (i = 0; i < NELEM(keys); i++)
			if (strcmp(name, keys[i]) == 0)
				break;
		if (i == NELEM(keys)) {
			ytree_error(&c->t, k, "unknown key \"%s\" in %s", name,
			    path);
			continue;
		}
		snprintf(kp, sizeof(kp), "%s.%s", path, name);
		switch (i) {
		case 0:
			if ((s = want_string(c, kp, val, 0, &isnull)) != NULL)
				ytree_bool(&c->t, val, kp, s, 0,
				    &c->cfg->leader.enabled);
			break;
		case 1:
			set_string(c, kp, val, &c->cfg->leader.namespace, 1);
			break;
		case 2:
			set_string(c, kp, val, &c->cfg->leader.name, 0);
			break;
		case 3:
			set_string(c, kp, val, &c->cfg->leader.identity, 1);
			break;
		case 4:
			set_duration(c, kp, val, &c->cfg->leader.duration_ms,
			    1);
			break;
		case 5:
			set_duration(c, kp, val, &c->cfg->leader.renew_ms, 1);
			break;
		case 6:
			set_duration(c, kp, val, &c->cfg->leader.retry_ms, 1);
			break;
		}
	}
	if (c->cfg->leader.renew_ms >= c->cfg->leader.duration_ms ||
	    c->cfg->leader.retry_ms >= c->cfg->leader.renew_ms)
		ytree_error(&c->t, v, "%s: need retry_period < renew_deadline "
		    "< lease_duration", path);
}

/* A DNS-1123 label: 1..63 of [a-z0-9-], alphanumeric at both ends. */
static int
dns1123_label(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (s[i] == '-' && i != 0 && i != n - 1)
			continue;
		return 0;
	}
	return 1;
}

/* How set_list() checks one list-valued key. */
struct list_spec {
	size_t		  max;		/* most items */
	const char	 *items;	/* noun of the limit message */
	const char	 *unique;	/* "namespace": no duplicates; NULL: allowed */
	int		(*check)(const char *, char *, size_t);
};

/*
 * A sequence of at most spec->max strings, each passing spec->check(); the
 * list replaces *dst (and *count, when given) only when every item is good.
 * The message for a bad item never repeats a webhook URL (it may hold a
 * token): check() writes it.
 */
static void
set_list(struct cfgctx *c, const char *path, yaml_node_t *v, char ***dst,
    size_t *count, const struct list_spec *spec)
{
	char		 ipath[KEY_PATH_MAX], err[256];
	char		**l;
	yaml_node_item_t *it;
	yaml_node_t	*item;
	const char	*s;
	size_t		 n, i, j;
	int		 bad = 0, isnull;

	if (ytree_is_null(v)) {
		free_namespaces(*dst);
		*dst = NULL;
		if (count != NULL)
			*count = 0;
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		ytree_error(&c->t, v, "%s: expected a sequence, got %s", path,
		    ytree_kind(v));
		return;
	}
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > spec->max) {
		ytree_error(&c->t, v, "%s: more than %zu %s", path, spec->max,
		    spec->items);
		return;
	}
	if ((l = calloc(n + 1, sizeof(*l))) == NULL) {
		ytree_error(&c->t, v, "%s: out of memory", path);
		return;
	}
	for (i = 0, it = v->data.sequence.items.start; i < n; i++, it++) {
		item = ytree_node(&c->t, *it);
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if ((s = want_string(c, ipath, item, 0, &isnull)) == NULL) {
			bad = 1;
			continue;
		}
		if (spec->check(s, err, sizeof(err)) == -1) {
			ytree_error(&c->t, item, "%s: %s", ipath, err);
			bad = 1;
			continue;
		}
		for (j = 0; spec->unique != NULL && j < i; j++)
			if (l[j] != NULL && strcmp(l[j], s) == 0)
				break;
		if (spec->unique != NULL && j < i) {
			ytree_error(&c->t, item, "%s: %s \"%s\" is listed twice",
			    ipath, spec->unique, s);
			bad = 1;
			continue;
		}
		if ((l[i] = strdup(s)) == NULL) {
			ytree_error(&c->t, item, "%s: out of memory", ipath);
			bad = 1;
		}
	}
	if (bad) {
		/* holes from skipped items: free every slot, not up to NULL */
		for (i = 0; i < n; i++)
			free(l[i]);
		free(l);
		return;
	}
	free_namespaces(*dst);
	*dst = l;
	if (count != NULL)
		*count = n;
}

static int
check_namespace(const char *s, char *err, size_t errlen)
{
	if (dns1123_label(s))
		return 0;
	snprintf(err, errlen, "\"%s\" is not a valid namespace name (a "
	    "DNS-1123 label: at most 63 lowercase letters, digits or '-')", s);
	return -1;
}

/* kubernetes.namespaces: at most CONFIG_MAX_NAMESPACES distinct labels. */
static void
k_namespaces(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	static const struct list_spec spec = {
		CONFIG_MAX_NAMESPACES, "namespaces", "namespace",
		check_namespace
	};

	set_list(c, path, v, &c->cfg->namespaces, &c->cfg->nnamespaces,
	    &spec);
}

static void
k_store_path(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_string(c, path, v, &c->cfg->store_path, 0);
}

static void
k_control_socket(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_string(c, path, v, &c->cfg->control_socket, 0);
}

static void
k_control_group(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_string(c, path, v, &c->cfg->control_group, 1);
}

static void
k_control_idle(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_duration(c, path, v, &c->cfg->control_idle_ms, 1);
}

static void
k_control_max_per_uid(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	const char	*s;
	char		*end;
	long		 n;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	n = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || n < 1 ||
	    n > MAX_PER_UID) {
		ytree_error(&c->t, v, "%s: \"%s\" is not a number from 1 to "
		    "%d", path, s, MAX_PER_UID);
		return;
	}
	c->cfg->control_max_per_uid = (int)n;
}

static int
check_role_entry(const char *s, char *err, size_t errlen)
{
	return authz_entry_check(s, err, errlen);
}

static int
check_webhook(const char *s, char *err, size_t errlen)
{
	if (strlen(s) > MAX_URL) {
		snprintf(err, errlen, "URL longer than %d bytes", MAX_URL);
		return -1;
	}
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) {
		snprintf(err, errlen, "not an http:// or https:// URL");
		return -1;
	}
	return 0;
}

static const struct list_spec roles_spec = {
	MAX_LIST, "entries", NULL, check_role_entry
};

static void
k_control_viewers(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_list(c, path, v, &c->cfg->control_viewers, NULL, &roles_spec);
}

static void
k_control_approvers(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_list(c, path, v, &c->cfg->control_approvers, NULL, &roles_spec);
}

static void
k_control_proposers(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_list(c, path, v, &c->cfg->control_proposers, NULL, &roles_spec);
}

/* A cap on agent proposals: a number from 1 to MAX_AGENT_CAP. */
static void
set_agent_cap(struct cfgctx *c, const char *path, yaml_node_t *v, int *out)
{
	const char	*s;
	char		*end;
	long		 n;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	n = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || n < 1 ||
	    n > MAX_AGENT_CAP) {
		ytree_error(&c->t, v, "%s: \"%s\" is not a number from 1 to "
		    "%d", path, s, MAX_AGENT_CAP);
		return;
	}
	*out = (int)n;
}

static void
k_control_agent_pending(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_agent_cap(c, path, v, &c->cfg->control_agent_pending);
}

static void
k_control_agent_per_min(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_agent_cap(c, path, v, &c->cfg->control_agent_per_min);
}

static void
k_control_root(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	const char	*s;
	int		 isnull, r;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	if ((r = authz_role_from_name(s)) == -1) {
		ytree_error(&c->t, v, "%s: unknown role \"%s\" (known: "
		    "approver, proposer, viewer, none)", path, s);
		return;
	}
	c->cfg->control_root_role = r;
}

static void
k_control_two_person(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	const char	*s;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) != NULL)
		ytree_bool(&c->t, v, path, s, 1, &c->cfg->control_two_person);
}

static const struct list_spec webhooks_spec = {
	MAX_LIST, "entries", NULL, check_webhook
};

static void
k_webhooks(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_list(c, path, v, &c->cfg->webhooks, NULL, &webhooks_spec);
}

static void
k_backend(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	const char	*s;
	size_t		 i;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	for (i = 0; i < NELEM(backends); i++)
		if (strcmp(s, backends[i]) == 0)
			break;
	if (i == NELEM(backends)) {
		ytree_error(&c->t, v, "%s: unknown backend \"%s\" (known: "
		    "rules, openai, anthropic, ollama)", path, s);
		return;
	}
	set_string(c, path, v, &c->cfg->backend, 0);
}

static void
k_hold_down(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_duration(c, path, v, &c->cfg->hold_down_ms, 0);
}

static void
k_verify_timeout(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_duration(c, path, v, &c->cfg->verify_timeout_ms, 1);
}

static void
k_resolve_after(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_duration(c, path, v, &c->cfg->resolve_after_ms, 0);
}

static void
k_symptom_wait(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_duration(c, path, v, &c->cfg->symptom_wait_ms, 0);
}

static void
k_log_level(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	const char	*s;
	size_t		 i;
	int		 isnull;

	if ((s = want_string(c, path, v, 0, &isnull)) == NULL)
		return;
	for (i = 0; i < NELEM(levels); i++) {
		if (strcmp(s, levels[i].name) == 0) {
			c->cfg->log_level = levels[i].level;
			return;
		}
	}
	ytree_error(&c->t, v, "%s: unknown level \"%s\" (known: debug, info, "
	    "notice, warning, error)", path, s);
}

static const struct cfgkey kubernetes_keys[] = {
	{ "kubeconfig",		k_kubeconfig },
	{ "context",		k_context },
	{ "namespaces",		k_namespaces },
	{ "qps",		k_kube_qps },
	{ "burst",		k_kube_burst },
	{ "watch_stall",	k_watch_stall },
	{ "discovery_interval",	k_discovery_interval },
	{ "leader_election",	k_leader_election },
};
static const struct cfgkey store_keys[] = {
	{ "path",		k_store_path },
};
static const struct cfgkey control_keys[] = {
	{ "socket",		k_control_socket },
	{ "group",		k_control_group },
	{ "idle_timeout",	k_control_idle },
	{ "max_connections_per_uid", k_control_max_per_uid },
	{ "viewers",		k_control_viewers },
	{ "approvers",		k_control_approvers },
	{ "proposers",		k_control_proposers },
	{ "max_agent_pending",	k_control_agent_pending },
	{ "max_agent_proposals_per_minute", k_control_agent_per_min },
	{ "root",		k_control_root },
	{ "two_person",		k_control_two_person },
};
static const struct cfgkey notifications_keys[] = {
	{ "webhooks",		k_webhooks },
};
/* diagnosis.KEY beyond backend and hold_down: diagconf.c owns them. */
static void
k_diag(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	diag_config_key(&c->cfg->diag, &c->t, path + strlen("diagnosis."),
	    path, v);
}

static const struct cfgkey diagnosis_keys[] = {
	{ "backend",		k_backend },
	{ "hold_down",		k_hold_down },
	{ "model",		k_diag },
	{ "endpoint",		k_diag },
	{ "api_key_file",	k_diag },
	{ "api_key_env",	k_diag },
	{ "azure_deployment",	k_diag },
	{ "api_version",	k_diag },
	{ "structured_output",	k_diag },
	{ "timeout",		k_diag },
	{ "max_retries",	k_diag },
	{ "max_tokens",		k_diag },
	{ "max_concurrent",	k_diag },
	{ "max_queued",		k_diag },
	{ "max_calls_per_hour",	k_diag },
	{ "max_tokens_per_day",	k_diag },
	{ "cache_ttl",		k_diag },
	{ "anonymize",		k_diag },
	{ "redact_ips",		k_diag },
	{ "context_bytes",	k_diag },
	{ "log_lines",		k_diag },
	{ "memory_raise_factor", k_diag },
	{ "memory_ceiling",	k_diag },
};
static void
k_pending_ttl(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	set_duration(c, path, v, &c->cfg->pending_ttl_ms, 1);
}

/* policy.KEY: policy.c owns the keys and their checks. */
static void
k_policy(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	policy_config_key(&c->cfg->policy, &c->t, path + strlen("policy."),
	    path, v);
}

static const struct cfgkey actions_keys[] = {
	{ "verify_timeout",	k_verify_timeout },
	{ "pending_ttl",	k_pending_ttl },
};
/* incidents.hold_down is the same setting as diagnosis.hold_down. */
static const struct cfgkey incidents_keys[] = {
	{ "hold_down",		k_hold_down },
	{ "resolve_after",	k_resolve_after },
	{ "symptom_wait",	k_symptom_wait },
};
static const struct cfgkey policy_keys[] = {
	{ "kinds",		k_policy },
	{ "paths",		k_policy },
	{ "namespaces",		k_policy },
	{ "max_operations",	k_policy },
	{ "max_replicas",	k_policy },
	{ "allow_delete",	k_policy },
	{ "allow_forced_rollback", k_policy },
	{ "allow_command_edits", k_policy },
};
static const struct cfgkey log_keys[] = {
	{ "level",		k_log_level },
};

/* http.listen: "HOST:PORT" (hostport.h), or null for no endpoint. */
static void
k_http_listen(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	struct sockaddr_storage	 ss;
	char			 why[128];
	const char		*s;
	int			 isnull;

	s = want_string(c, path, v, 1, &isnull);
	if (s != NULL && parse_hostport(s, &ss, why, sizeof(why)) == -1) {
		ytree_error(&c->t, v, "%s: \"%s\": %s", path, s, why);
		return;
	}
	set_string(c, path, v, &c->cfg->http_listen, 1);
}

static const struct cfgkey http_keys[] = {
	{ "listen",		k_http_listen },
};

/* registries.KEY: registry/regconf.c owns the keys and their checks. */
static void
k_registries(struct cfgctx *c, const char *path, yaml_node_t *v)
{
	registry_config_key(&c->cfg->registries, &c->t,
	    path + strlen("registries."), path, v);
}

static const struct cfgkey registries_keys[] = {
	{ "enabled",		k_registries },
	{ "mirrors",		k_registries },
	{ "insecure",		k_registries },
	{ "auth_file",		k_registries },
	{ "timeout",		k_registries },
	{ "cache_ttl",		k_registries },
	{ "max_requests_per_incident", k_registries },
	{ "max_tags",		k_registries },
	{ "pin_digest",		k_registries },
};

static const struct section sections[] = {
	{ "kubernetes",	kubernetes_keys,	NELEM(kubernetes_keys) },
	{ "store",	store_keys,		NELEM(store_keys) },
	{ "control",	control_keys,		NELEM(control_keys) },
	{ "diagnosis",	diagnosis_keys,		NELEM(diagnosis_keys) },
	{ "actions",	actions_keys,		NELEM(actions_keys) },
	{ "incidents",	incidents_keys,		NELEM(incidents_keys) },
	{ "policy",	policy_keys,		NELEM(policy_keys) },
	{ "log",	log_keys,		NELEM(log_keys) },
	{ "notifications", notifications_keys,	NELEM(notifications_keys) },
	{ "http",	http_keys,		NELEM(http_keys) },
	{ "registries",	registries_keys,	NELEM(registries_keys) },
};

#define MAX_KEYS	32	/* most keys in one table */

/*
 * Walk mapping m against the names in names[0..n) (stride bytes apart,
 * each starting with a const char * name).  where is the key path of m
 * ("" for the top level).  Unknown and duplicate keys are errors; for each
 * known key, visit(c, index, keypath, value) is called.  Both tables
 * walked this way (sections[] and each section's keys) are arrays of
 * structs whose first member is the name, hence names + i * stride.
 */
static void
walk_map(struct cfgctx *c, yaml_node_t *m, const char *where,
    const void *names, size_t stride, size_t n,
    void (*visit)(struct cfgctx *, const void *, size_t, const char *,
    yaml_node_t *), const void *arg)
{
	char			 path[KEY_PATH_MAX];
	yaml_node_t		*seen[MAX_KEYS] = { NULL };
	yaml_node_pair_t	*pr;
	yaml_node_t		*k, *v;
	const char		*name;
	size_t			 i;

	if (ytree_is_null(m))
		return;
	if (m->type != YAML_MAPPING_NODE) {
		if (*where == '\0')
			ytree_error(&c->t, m, "expected a mapping at the top "
			    "level, got %s", ytree_kind(m));
		else
			ytree_error(&c->t, m, "%s: expected a mapping, got %s",
			    where, ytree_kind(m));
		return;
	}
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
	    pr++) {
		k = ytree_node(&c->t, pr->key);
		v = ytree_node(&c->t, pr->value);
		if ((name = ytree_str(k)) == NULL) {
			ytree_error(&c->t, k, "%s%sexpected a string key, got "
			    "%s", where, *where ? ": " : "", ytree_kind(k));
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(name, *(const char *const *)(const void *)
			    ((const char *)names + i * stride)) == 0)
				break;
		if (i == n) {
			if (*where == '\0')
				ytree_error(&c->t, k, "unknown key \"%s\"",
				    name);
			else
				ytree_error(&c->t, k, "unknown key \"%s\" in "
				    "%s", name, where);
			continue;
		}
		if (seen[i] != NULL) {
			ytree_error(&c->t, k, "duplicate key \"%s\"%s%s "
			    "(first on line %zu)", name, *where ? " in " : "",
			    where, seen[i]->start_mark.line + 1);
			continue;
		}
		seen[i] = k;
		if (snprintf(path, sizeof(path), "%s%s%s", where,
		    *where ? "." : "", name) >= (int)sizeof(path)) {
			ytree_error(&c->t, k, "key path too long");
			continue;
		}
		visit(c, arg, i, path, v);
	}
}

static void
visit_key(struct cfgctx *c, const void *arg, size_t i, const char *path,
    yaml_node_t *v)
{
	const struct section	*s = arg;

	s->keys[i].fn(c, path, v);
}

static void
visit_section(struct cfgctx *c, const void *arg, size_t i, const char *path,
    yaml_node_t *v)
{
	const struct section	*s = &sections[i];

	(void)arg;
	walk_map(c, v, path, s->keys, sizeof(s->keys[0]), s->nkeys,
	    visit_key, s);
}

int
config_load(const char *path, struct remedy_config *cfg, char **errs)
{
	struct cfgctx	 c;
	char		 err[512];
	char		*buf = NULL;
	size_t		 len = 0;
	yaml_node_t	*root;
	int		 n;

	*errs = NULL;
	if (ytree_init(&c.t, path, 0) == -1) {
		*errs = strdup("out of memory\n");
		return 1;
	}
	c.cfg = cfg;
	free(cfg->path);
	cfg->path = strdup(path);
	/* config_init() cannot fail: a default it could not copy shows up
	 * here, and is refused rather than run with a missing value. */
	if (cfg->path == NULL || cfg->store_path == NULL ||
	    cfg->control_socket == NULL || cfg->backend == NULL ||
	    cfg->leader.name == NULL || cfg->init_failed) {
		c.t.nerrs = 1;
		c.t.errs = strdup("out of memory\n");
		goto out;
	}
	if (read_file(path, CONFIG_MAX_BYTES, &buf, &len, err,
	    sizeof(err)) == -1) {
		/* read_file's message already names the file */
		c.t.nerrs = 1;
		if ((c.t.errs = malloc(strlen(err) + 2)) != NULL)
			snprintf(c.t.errs, strlen(err) + 2, "%s\n", err);
		goto out;
	}
	if (ytree_parse(&c.t, buf, len) == -1)
		goto out;
	if ((root = ytree_root(&c.t)) != NULL)
		walk_map(&c, root, "", sections, sizeof(sections[0]),
		    NELEM(sections), visit_section, NULL);
	diag_config_check(&cfg->diag, cfg->backend, &c.t);
	registry_config_check(&cfg->registries, &c.t);
out:
	free(buf);
	n = c.t.nerrs;
	*errs = ytree_take_errors(&c.t);
	ytree_clear(&c.t);
	return n;
}

/* Dump buffer: the emitter's write handler appends here, up to DUMP_MAX. */
struct dumpbuf {
	char	*p;
	size_t	 len;
	int	 failed;
};

static int
dump_write(void *arg, unsigned char *data, size_t size)
{
	struct dumpbuf	*b = arg;
	char		*p;

	if (b->len + size > DUMP_MAX ||
	    (p = realloc(b->p, b->len + size + 1)) == NULL) {
		b->failed = 1;
		return 0;
	}
	memcpy(p + b->len, data, size);
	b->len += size;
	p[b->len] = '\0';
	b->p = p;
	return 1;
}

/* Emit s as a scalar; NULL as "~".  Text that would read back as null is
 * quoted. */
static int
emit_scalar(yaml_emitter_t *em, const char *s)
{
	yaml_event_t		 ev;
	yaml_scalar_style_t	 style = YAML_ANY_SCALAR_STYLE;

	if (s == NULL) {
		s = "~";
		style = YAML_PLAIN_SCALAR_STYLE;
	} else if (*s == '\0' || strcmp(s, "~") == 0 ||
	    strcasecmp(s, "null") == 0)
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
	    (yaml_char_t *)(uintptr_t)s, (int)strlen(s), 1, 1, style))
		return 0;
	return yaml_emitter_emit(em, &ev);
}

static int
emit_simple(yaml_emitter_t *em, yaml_event_type_t type)
{
	yaml_event_t	ev;
	int		ok;

	switch (type) {
	case YAML_MAPPING_START_EVENT:
		ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		    YAML_BLOCK_MAPPING_STYLE);
		break;
	case YAML_MAPPING_END_EVENT:
		ok = yaml_mapping_end_event_initialize(&ev);
		break;
	case YAML_SEQUENCE_END_EVENT:
		ok = yaml_sequence_end_event_initialize(&ev);
		break;
	default:
		return 0;
	}
	return ok && yaml_emitter_emit(em, &ev);
}

/* "10s", "5m", "1500ms": the largest unit that divides ms exactly. */
static void
fmt_duration(int64_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 },
	};
	size_t	i;

	for (i = 0; i < NELEM(units); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, len, "%lld%s",
			    (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	}
	if (ms == 0)
		snprintf(buf, len, "0s");
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

static int
emit_pair(yaml_emitter_t *em, const char *key, const char *value)
{
	return emit_scalar(em, key) && emit_scalar(em, value);
}

/* key: [a, b] as a block sequence, or [] when empty. */
static int
emit_list(yaml_emitter_t *em, const char *key, char *const *l)
{
	yaml_event_t	ev;
	size_t		i;

	if (!emit_scalar(em, key) ||
	    !yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	    l && l[0] ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return 0;
	for (i = 0; l != NULL && l[i] != NULL; i++)
		if (!emit_scalar(em, l[i]))
			return 0;
	return emit_simple(em, YAML_SEQUENCE_END_EVENT);
}

/* key: [items...] from a counted array (block style when block is set
 * and the list is not empty). */
static int
emit_nlist(yaml_emitter_t *em, const char *key, char *const *l, size_t n,
    int block)
{
	yaml_event_t	ev;
	size_t		i;

	if (!emit_scalar(em, key) ||
	    !yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	    block && n ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return 0;
	for (i = 0; i < n; i++)
		if (!emit_scalar(em, l[i]))
			return 0;
	return emit_simple(em, YAML_SEQUENCE_END_EVENT);
}

/*
 * The policy section as policy.c reads it back: kinds (the allowed ones),
 * paths per kind, namespaces allow/deny and the limits.
 */
static int
emit_policy(yaml_emitter_t *em, const struct policy *p)
{
	yaml_event_t	ev;
	char		ops[32], reps[32];
	size_t		i;

	snprintf(ops, sizeof(ops), "%d", p->max_operations);
	snprintf(reps, sizeof(reps), "%lld", (long long)p->max_replicas);
	if (!emit_scalar(em, "policy") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_scalar(em, "kinds") ||
	    !yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	    YAML_FLOW_SEQUENCE_STYLE) || !yaml_emitter_emit(em, &ev))
		return 0;
	for (i = 0; i < p->nkinds; i++)
		if (p->kinds[i].allowed && !emit_scalar(em, p->kinds[i].kind))
			return 0;
	if (!emit_simple(em, YAML_SEQUENCE_END_EVENT) ||
	    !emit_scalar(em, "paths") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT))
		return 0;
	for (i = 0; i < p->nkinds; i++) {
		if (p->kinds[i].npaths == 0)
			continue;
		if (!emit_nlist(em, p->kinds[i].kind, p->kinds[i].paths,
		    p->kinds[i].npaths, 1))
			return 0;
	}
	return emit_simple(em, YAML_MAPPING_END_EVENT) &&
	    emit_scalar(em, "namespaces") &&
	    emit_simple(em, YAML_MAPPING_START_EVENT) &&
	    emit_nlist(em, "allow", p->ns_allow, p->nns_allow, 0) &&
	    emit_nlist(em, "deny", p->ns_deny, p->nns_deny, 0) &&
	    emit_simple(em, YAML_MAPPING_END_EVENT) &&
	    emit_pair(em, "max_operations", ops) &&
	    emit_pair(em, "max_replicas", reps) &&
	    emit_pair(em, "allow_delete", p->allow_delete ? "true" : "false") &&
	    emit_pair(em, "allow_forced_rollback", p->allow_forced_rollback ?
	    "true" : "false") &&
	    emit_pair(em, "allow_command_edits", p->allow_command_edits ?
	    "true" : "false") &&
	    emit_simple(em, YAML_MAPPING_END_EVENT);
}

/* The control section's keys after socket. */
static int
emit_control(yaml_emitter_t *em, const struct remedy_config *cfg)
{
	char	idle[32], per[32], apend[32], amin[32];

	fmt_duration(cfg->control_idle_ms, idle, sizeof(idle));
	snprintf(per, sizeof(per), "%d", cfg->control_max_per_uid);
	snprintf(apend, sizeof(apend), "%d", cfg->control_agent_pending);
	snprintf(amin, sizeof(amin), "%d", cfg->control_agent_per_min);
	return emit_pair(em, "group", cfg->control_group) &&
	    emit_pair(em, "idle_timeout", idle) &&
	    emit_pair(em, "max_connections_per_uid", per) &&
	    emit_list(em, "viewers", cfg->control_viewers) &&
	    emit_list(em, "approvers", cfg->control_approvers) &&
	    emit_list(em, "proposers", cfg->control_proposers) &&
	    emit_pair(em, "root", authz_role_name(cfg->control_root_role)) &&
	    emit_pair(em, "two_person", cfg->control_two_person ? "true" :
	    "false") &&
	    emit_pair(em, "max_agent_pending", apend) &&
	    emit_pair(em, "max_agent_proposals_per_minute", amin);
}

static int
emit_diag_pair(void *em, const char *k, const char *v)
{
	return emit_pair(em, k, v);
}

/* kubernetes.qps, burst, watch_stall, discovery_interval and
 * leader_election, for the dump. */
static int
emit_kube_rest(yaml_emitter_t *em, const struct remedy_config *cfg)
{
	char	qps[32], burst[16], ws[32], di[32], d[32], r[32], p[32];

	snprintf(qps, sizeof(qps), "%g", cfg->kube_qps);
	snprintf(burst, sizeof(burst), "%d", cfg->kube_burst);
	fmt_duration(cfg->kube_watch_stall_ms, ws, sizeof(ws));
	fmt_duration(cfg->kube_discovery_ms, di, sizeof(di));
	fmt_duration(cfg->leader.duration_ms, d, sizeof(d));
	fmt_duration(cfg->leader.renew_ms, r, sizeof(r));
	fmt_duration(cfg->leader.retry_ms, p, sizeof(p));
	return emit_pair(em, "qps", qps) && emit_pair(em, "burst", burst) &&
	    emit_pair(em, "watch_stall", ws) &&
	    emit_pair(em, "discovery_interval", di) &&
	    emit_scalar(em, "leader_election") &&
	    emit_simple(em, YAML_MAPPING_START_EVENT) &&
	    emit_pair(em, "enabled", cfg->leader.enabled ? "true" : "false") &&
	    emit_pair(em, "namespace", cfg->leader.namespace) &&
	    emit_pair(em, "name", cfg->leader.name) &&
	    emit_pair(em, "identity", cfg->leader.identity) &&
	    emit_pair(em, "lease_duration", d) &&
	    emit_pair(em, "renew_deadline", r) &&
	    emit_pair(em, "retry_period", p) &&
	    emit_simple(em, YAML_MAPPING_END_EVENT);
}

/* registries: mirrors as a mapping, the rest as scalars. */
static int
emit_registries(yaml_emitter_t *em, const struct registry_config *rc)
{
	char	 timeout[32], ttl[32], n[32], t[32];
	size_t	 i;

	fmt_duration(rc->timeout_ms, timeout, sizeof(timeout));
	fmt_duration(rc->cache_ttl_ms, ttl, sizeof(ttl));
	snprintf(n, sizeof(n), "%d", rc->max_requests);
	snprintf(t, sizeof(t), "%d", rc->max_tags);
	if (!emit_scalar(em, "registries") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "enabled", rc->enabled ? "true" : "false") ||
	    !emit_scalar(em, "mirrors") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT))
		return 0;
	for (i = 0; i < rc->nmirrors; i++)
		if (!emit_pair(em, rc->mirrors[i].domain, rc->mirrors[i].url))
			return 0;
	return emit_simple(em, YAML_MAPPING_END_EVENT) &&
	    emit_nlist(em, "insecure", rc->insecure, rc->ninsecure, 0) &&
	    emit_pair(em, "auth_file", rc->auth_file) &&
	    emit_pair(em, "timeout", timeout) &&
	    emit_pair(em, "cache_ttl", ttl) &&
	    emit_pair(em, "max_requests_per_incident", n) &&
	    emit_pair(em, "max_tags", t) &&
	    emit_pair(em, "pin_digest", rc->pin_digest ? "true" : "false") &&
	    emit_simple(em, YAML_MAPPING_END_EVENT);
}

/*
 * Emit every key in the order of the section table, defaults included,
 * as a block mapping document.
 */
static int
emit_config(yaml_emitter_t *em, const struct remedy_config *cfg)
{
	yaml_event_t	 ev;
	char		 hold[32], verify[32], ttl[32], resolve[32], symptom[32];
	const char	*level = "info";
	size_t		 i;

	for (i = 0; i < NELEM(levels); i++)
		if (levels[i].level == cfg->log_level)
			level = levels[i].name;
	fmt_duration(cfg->hold_down_ms, hold, sizeof(hold));
	fmt_duration(cfg->verify_timeout_ms, verify, sizeof(verify));
	fmt_duration(cfg->pending_ttl_ms, ttl, sizeof(ttl));
	fmt_duration(cfg->resolve_after_ms, resolve, sizeof(resolve));
	fmt_duration(cfg->symptom_wait_ms, symptom, sizeof(symptom));

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(em, &ev))
		return 0;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(em, &ev))
		return 0;
	if (!emit_simple(em, YAML_MAPPING_START_EVENT))
		return 0;

	if (!emit_scalar(em, "kubernetes") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "kubeconfig", cfg->kubeconfig) ||
	    !emit_pair(em, "context", cfg->context) ||
	    !emit_scalar(em, "namespaces"))
		return 0;
	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	    cfg->nnamespaces ? YAML_BLOCK_SEQUENCE_STYLE :
	    YAML_FLOW_SEQUENCE_STYLE) || !yaml_emitter_emit(em, &ev))
		return 0;
	for (i = 0; i < cfg->nnamespaces; i++)
		if (!emit_scalar(em, cfg->namespaces[i]))
			return 0;
	if (!emit_simple(em, YAML_SEQUENCE_END_EVENT) ||
	    !emit_kube_rest(em, cfg) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT))
		return 0;

	if (!emit_scalar(em, "store") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "path", cfg->store_path) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT) ||
	    !emit_scalar(em, "control") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "socket", cfg->control_socket) ||
	    !emit_control(em, cfg) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT) ||
	    !emit_scalar(em, "diagnosis") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "backend", cfg->backend) ||
	    !emit_pair(em, "hold_down", hold) ||
	    !diag_config_dump(&cfg->diag, emit_diag_pair, em) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT) ||
	    !emit_scalar(em, "actions") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "verify_timeout", verify) ||
	    !emit_pair(em, "pending_ttl", ttl) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT) ||
	    !emit_scalar(em, "incidents") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "resolve_after", resolve) ||
	    !emit_pair(em, "symptom_wait", symptom) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT) ||
	    !emit_scalar(em, "log") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "level", level) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT))
		return 0;
	if (!emit_scalar(em, "notifications") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_list(em, "webhooks", cfg->webhooks) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT))
		return 0;
	if (!emit_scalar(em, "http") ||
	    !emit_simple(em, YAML_MAPPING_START_EVENT) ||
	    !emit_pair(em, "listen", cfg->http_listen) ||
	    !emit_simple(em, YAML_MAPPING_END_EVENT))
		return 0;
	if (!emit_policy(em, &cfg->policy) ||
	    !emit_registries(em, &cfg->registries))
		return 0;

	if (!emit_simple(em, YAML_MAPPING_END_EVENT))
		return 0;
	if (!yaml_document_end_event_initialize(&ev, 1) ||
	    !yaml_emitter_emit(em, &ev))
		return 0;
	if (!yaml_stream_end_event_initialize(&ev) ||
	    !yaml_emitter_emit(em, &ev))
		return 0;
	return yaml_emitter_flush(em);
}

char *
config_dump(const struct remedy_config *cfg)
{
	yaml_emitter_t	 em;
	struct dumpbuf	 b = { NULL, 0, 0 };
	char		*ret = NULL;

	if (!yaml_emitter_initialize(&em))
		return NULL;
	yaml_emitter_set_output(&em, dump_write, &b);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1);
	if (!emit_config(&em, cfg) || b.failed)
		goto out;
	ret = b.p;
	b.p = NULL;
out:
	yaml_emitter_delete(&em);
	free(b.p);
	return ret;
}

/*
 * config.h - remedyd's YAML configuration.
 *
 *   kubernetes: { kubeconfig: PATH, context: NAME, namespaces: [demo] }
 *   store:      { path: /var/lib/remedyd/remedy.db }
 *   control:    { socket: /run/remedyd/remedyd.sock, group: remedy,
 *                 idle_timeout: 300s, max_connections_per_uid: 16,
 *                 viewers: [...], approvers: [...], root: approver,
 *                 two_person: false }
 *   notifications: { webhooks: [https://...] }
 *   diagnosis:  { backend: rules, hold_down: 10s }
 *   actions:    { verify_timeout: 5m }
 *   log:        { level: info }
 *   registries: { mirrors: {docker.io: URL}, insecure: [HOST:PORT],
 *                 auth_file: PATH, ... }  (registry/regconf.h)
 *
 * Parsing goes on after an error and reports every problem as
 * "FILE:LINE:COLUMN: message" (line and column 1-based, from libyaml's
 * marks).  Unknown keys are errors, so a typo never passes silently.
 *
 * All strings in struct remedy_config are heap copies owned by it;
 * config_clear() frees them.
 */
#ifndef REMEDY_CONFIG_H
#define REMEDY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "action/policy.h"
#include "diagnose/diagconf.h"
#include "registry/regconf.h"

#define CONFIG_MAX_NAMESPACES	256
#define CONFIG_MAX_BYTES	(1024 * 1024)

struct remedy_config {
	char	*path;			/* the file it came from */
	int	 init_failed;		/* config_init() could not copy a default */

	char	*kubeconfig;		/* NULL: $KUBECONFIG, ~/.kube/config */
	char	*context;		/* NULL: current-context */
	double	 kube_qps;		/* kubernetes.qps, default 5 */
	int	 kube_burst;		/* kubernetes.burst, default 10 */
	int64_t	 kube_watch_stall_ms;	/* kubernetes.watch_stall, 120 s */
	int64_t	 kube_discovery_ms;	/* kubernetes.discovery_interval,
					 * 10 min */
	struct {			/* kubernetes.leader_election */
		int	 enabled;	/* default false */
		char	*namespace;	/* NULL: the context's, else default */
		char	*name;		/* default "remedyd" */
		char	*identity;	/* NULL: HOSTNAME_PID */
		int64_t	 duration_ms;	/* lease_duration, default 15 s */
		int64_t	 renew_ms;	/* renew_deadline, default 10 s */
		int64_t	 retry_ms;	/* retry_period, default 2 s */
	} leader;
	char   **namespaces;		/* NULL-terminated; NULL/empty: all */
	size_t	 nnamespaces;

	char	*store_path;		/* default /var/lib/remedyd/remedy.db */
	char	*control_socket;	/* default /run/remedyd/remedyd.sock */
	char	*control_group;		/* socket file group, NULL: unchanged */
	int64_t	 control_idle_ms;	/* default 300 s */
	int	 control_max_per_uid;	/* connections per uid, default 16 */
	char   **control_viewers;	/* authz.h entries, NULL-terminated */
	char   **control_approvers;	/* authz.h entries, NULL-terminated */
	int	 control_root_role;	/* enum authz_role, default approver */
	int	 control_two_person;	/* risk high needs two approvers */
	char   **control_proposers;	/* authz.h entries, NULL-terminated */
	int	 control_agent_pending;	/* pending agent proposals per
					 * proposer uid, default 5 */
	int	 control_agent_per_min;	/* agent proposals per proposer uid
					 * and minute, default 10 */
	char   **webhooks;		/* notifications.webhooks URLs */

	char	*backend;		/* "rules" (default), "openai",
					 * "anthropic", "ollama" */
	struct diag_config diag;	/* the other diagnosis.* keys */
	int64_t	 hold_down_ms;		/* default 10 s */

	int64_t	 verify_timeout_ms;	/* default 5 min */
	int64_t	 resolve_after_ms;	/* incidents.resolve_after, 5 min */
	int64_t	 symptom_wait_ms;	/* incidents.symptom_wait, 30 s */
	int64_t	 pending_ttl_ms;	/* actions.pending_ttl, default 24 h */
	struct policy policy;		/* policy.*, policy.h */
	int	 log_level;		/* syslog level, default LOG_INFO */
	char	*http_listen;		/* http.listen "HOST:PORT", NULL: off */
	struct registry_config registries; /* registries.*, regconf.h */
};

/* Fill defaults. */
void	config_init(struct remedy_config *);
/*
 * Parse path into cfg (which config_init() prepared).  Returns the number of
 * errors; each was printed as "file:line:col: message\n" into errs (a heap
 * string the caller frees, NULL when there were none).
 */
int	config_load(const char *path, struct remedy_config *cfg, char **errs);
/* Canonical dump (for remedyd -nv), YAML text the caller frees. */
char   *config_dump(const struct remedy_config *);
void	config_clear(struct remedy_config *);

#endif

/*
 * config.h - remedyd's YAML configuration.
 *
 *   kubernetes: { kubeconfig: PATH, context: NAME, namespaces: [demo] }
 *   store:      { path: /var/lib/remedyd/remedy.db }
 *   control:    { socket: /run/remedyd/remedyd.sock }
 *   diagnosis:  { backend: rules, hold_down: 10s }
 *   actions:    { verify_timeout: 5m }
 *   log:        { level: info }
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

#define CONFIG_MAX_NAMESPACES	256
#define CONFIG_MAX_BYTES	(1024 * 1024)

struct remedy_config {
	char	*path;			/* the file it came from */

	char	*kubeconfig;		/* NULL: $KUBECONFIG, ~/.kube/config */
	char	*context;		/* NULL: current-context */
	char   **namespaces;		/* NULL-terminated; NULL/empty: all */
	size_t	 nnamespaces;

	char	*store_path;		/* default /var/lib/remedyd/remedy.db */
	char	*control_socket;	/* default /run/remedyd/remedyd.sock */

	char	*backend;		/* "rules" (default) */
	int64_t	 hold_down_ms;		/* default 10 s */

	int64_t	 verify_timeout_ms;	/* default 5 min */
	int	 log_level;		/* syslog level, default LOG_INFO */
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

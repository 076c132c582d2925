/*
 * service.h - remedyd as a well-run service: the systemd notify protocol
 * (sdnotify.h), the monitoring endpoint (httpd.h), the metrics gathered at
 * scrape time (store rows by state, informer caches), and SIGHUP reload.
 *
 * Reload (service_reload).  The file is parsed into a NEW struct
 * remedy_config.  When it has errors, each is logged as
 * "FILE:LINE:COLUMN: message" and the running configuration is kept
 * untouched.  When it is valid, the keys that apply live are copied into
 * the running configuration (the engine reads them at every use):
 *
 *   log.level, diagnosis.hold_down, actions.verify_timeout,
 *   actions.pending_ttl, http.listen (the endpoint is re-opened; if the new
 *   address cannot be bound the old endpoint stays), control.viewers,
 *   control.proposers, control.approvers, control.root (roles are given
 *   at accept: connections open keep theirs, the next ones get the new
 *   ones), control.max_agent_pending and
 *   control.max_agent_proposals_per_minute (the next proposal)
 *
 * Then reloaded(reloaded_arg) is called, when set, so what borrows those
 * keys (the control socket's struct authz, the commands' caps) can follow
 * before the old values are freed.
 *
 * Every other key (kubernetes.*, store.path, the other control.* keys,
 * diagnosis.backend, policy.*, notifications.*, and any key added later)
 * needs a restart: a
 * change to one is logged by name ("kubernetes.namespaces changed; restart
 * remedyd to apply it") and the running value is kept.  The changed keys
 * are found by comparing canonical dumps (config_dump), so a new key is
 * covered without code here.
 */
#ifndef REMEDY_DAEMON_SERVICE_H
#define REMEDY_DAEMON_SERVICE_H

#include <uv.h>

#include "base/looplag.h"
#include "conf/config.h"
#include "engine.h"
#include "httpd.h"
#include "sdnotify.h"
#include "store/store.h"

struct service {
	uv_loop_t		*loop;
	struct remedy_config	*cfg;		/* the running one */
	struct store		*store;
	struct engine		*engine;
	struct httpd		*httpd;		/* NULL: http.listen unset */
	struct sdnotify		 notify;
	struct looplag		 lag;		/* the loop-lag probe */
	int			 stopping;
	/* After a reload applied the live keys; set after service_start(). */
	void			(*reloaded)(void *arg);
	void			*reloaded_arg;
};

/*
 * Start sd_notify and, when cfg->http_listen is set, the endpoint.
 * Returns -1 with a message in err when the endpoint cannot listen (the
 * daemon should not start half-configured); sd_notify problems are only
 * logged.
 */
int	service_start(struct service *, uv_loop_t *, struct remedy_config *,
	    struct store *, struct engine *, char *err, size_t errlen);
/* SIGHUP: see above.  Returns 0 when the file was valid, -1 otherwise. */
int	service_reload(struct service *, const char *path);
/* SIGTERM/SIGINT: STOPPING=1, /readyz answers 503 from now on. */
void	service_stopping(struct service *, const char *status);
/* Close the endpoint and the notify timers (the loop then finishes). */
void	service_close(struct service *);

#endif

/*
 * leader.c - kubernetes.leader_election for remedyd: one Lease, and the
 * engine acts (diagnoses, applies, recovers) only while this instance
 * holds it.  See lib/kube/lease.h for the algorithm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "engine.h"
#include "kube/lease.h"
#include "leader.h"

static void
on_leader(struct lease *l, int leader, void *arg)
{
	struct engine *e = arg;

	(void)l;
	engine_leader_changed(e, leader);
}

struct lease *
leader_start(uv_loop_t *loop, struct kube_client *kube,
    const struct remedy_config *cfg, const struct kube_config *kc,
    struct engine *e)
{
	struct lease	*l;
	char		 host[256], ident[320];
	const char	*ns;

	if (!cfg->leader.enabled)
		return NULL;
	ns = cfg->leader.namespace ? cfg->leader.namespace :
	    kc->namespace ? kc->namespace : "default";
	if (cfg->leader.identity == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "remedyd");
		host[sizeof(host) - 1] = '\0';
		snprintf(ident, sizeof(ident), "%s_%ld", host, (long)getpid());
	} else
		snprintf(ident, sizeof(ident), "%s", cfg->leader.identity);
	if ((l = lease_new(kube, loop, ns, cfg->leader.name, ident,
	    cfg->leader.duration_ms, cfg->leader.renew_ms,
	    cfg->leader.retry_ms, on_leader, e)) == NULL) {
		log_warnx("leader election: cannot set up lease %s/%s", ns,
		    cfg->leader.name);
		return NULL;
	}
	log_info("leader election: %s standing by for lease %s/%s", ident, ns,
	    cfg->leader.name);
	lease_start(l);
	return l;
}

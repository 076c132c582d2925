/*
 * leader.h - remedyd's leader election (kubernetes.leader_election).
 */
#ifndef REMEDY_DAEMON_LEADER_H
#define REMEDY_DAEMON_LEADER_H

#include <uv.h>

#include "conf/config.h"
#include "engine.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

/* The started lease, or NULL when leader election is off (or could not be
 * set up, which is logged: the engine then acts as a single instance). */
struct lease	*leader_start(uv_loop_t *, struct kube_client *,
		    const struct remedy_config *, const struct kube_config *,
		    struct engine *);

#endif

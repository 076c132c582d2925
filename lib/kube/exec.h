/*
 * exec.h - exec credential plugins (client.authentication.k8s.io/v1 and
 * v1beta1), as kubectl runs them for EKS, GKE, AKS and OIDC logins.
 *
 * The plugin runs without a shell (uv_spawn of command + args), with our
 * environment plus the kubeconfig's env and KUBERNETES_EXEC_INFO (an
 * ExecCredential with spec.interactive false, and spec.cluster when
 * provideClusterInfo is set).  Its stdout must be an ExecCredential of the
 * same apiVersion whose status holds a token or a client certificate and
 * key, optionally with expirationTimestamp.  The credential is cached until
 * that time; kube_exec_invalidate() (after a 401) forces a new run.  A
 * plugin that exits non-zero, prints something else, or runs longer than
 * the timeout (it is then killed) fails with a message naming the command
 * and the reason (its first line of stderr, the installHint).
 */
#ifndef REMEDY_KUBE_EXEC_H
#define REMEDY_KUBE_EXEC_H

#include <stdint.h>

#include <uv.h>

#include "kube/kubeconfig.h"

#define KUBE_EXEC_TIMEOUT_MS	(60 * 1000)
#define KUBE_EXEC_MAX_OUTPUT	(1024 * 1024)

struct kube_cred {
	char		*token;		/* or NULL */
	struct kube_blob cert, key;	/* PEM, or empty */
	int64_t		 expiry_ms;	/* wall clock; 0: never expires */
};

struct kube_exec;

/* Called once per run, from the loop: ok, or err says why not. */
typedef void	(*kube_exec_done_cb)(void *arg, int ok, const char *err);

/* kc (copied) gives the plugin and, for provideClusterInfo, the cluster. */
struct kube_exec *kube_exec_new(uv_loop_t *, const struct kube_config *kc,
		    int64_t timeout_ms, kube_exec_done_cb done, void *arg);
/* Kills a running plugin; memory is released from the close callbacks. */
void		 kube_exec_free(struct kube_exec *);
/* The cached credential while it has not expired, else NULL. */
const struct kube_cred *kube_exec_cred(struct kube_exec *);
/* Start the plugin unless it is running; done() follows. 0, or -1 when it
 * could not even start (done() still follows, from the loop). */
void		 kube_exec_run(struct kube_exec *);
int		 kube_exec_running(const struct kube_exec *);
/* Forget the cached credential (the API server refused it). */
void		 kube_exec_invalidate(struct kube_exec *);
/* How many times the plugin was started (for tests and metrics). */
uint64_t	 kube_exec_runs(const struct kube_exec *);

/* "2026-01-02T03:04:05Z" (fraction and offset allowed) to Unix ms; -1. */
int		 kube_parse_time(const char *s, int64_t *ms);

#endif

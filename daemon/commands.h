/*
 * commands.h - the control commands remedyd answers (proto/control.md),
 * as a table for control_new().  Handlers read and change the store only
 * through store.h; approve tells the applier through ctx->approved().
 * Each entry names the role it needs (authz.h); control.c enforces it.
 */
#ifndef REMEDY_DAEMON_COMMANDS_H
#define REMEDY_DAEMON_COMMANDS_H

#include <stdint.h>

#include "base/notify.h"
#include "control.h"
#include "engine.h"
#include "store/store.h"

struct cmd_ctx {
	struct store	*store;
	int64_t		 started_ms;		/* now_ms() at start */
	/* Non-zero once every informer has synced. */
	int		(*synced)(void *arg);
	/* An action became approved: apply it (called after the commit). */
	void		(*approved)(void *arg, int64_t action_id);
	void		*arg;
	int		 two_person;	/* risk high needs two approvers */
	struct control	*control;	/* watch events go here, or NULL */
	struct notify	*notify;	/* webhooks, or NULL */
	const struct policy *policy;	/* re-checked at approve, or NULL */
	/* An agent's fix into the pipeline (engine_agent_propose), or NULL:
	 * propose is refused. */
	int		(*propose)(void *arg, const struct agent_fix *,
			    agent_done_fn done, void *done_arg, int *code,
			    char *msg, size_t msglen);
	/* The diagnoses running, queued and waiting (engine_diag_counts),
	 * or NULL. */
	void		(*diag_counts)(void *arg, struct engine_diag_counts *);
	int		 agent_pending;	/* control.max_agent_pending */
	int		 agent_per_min;	/* control.max_agent_proposals_per_minute */
};

/* Handlers take a struct cmd_ctx * as their ctx. */
extern const struct control_cmd remedyd_commands[];

/*
 * An action reached state (pending, approved, failed, ...): push it to
 * every watch connection and, for pending and failed, to the webhooks.
 * The engine calls this after the store committed the transition.
 */
void	cmd_action_event(void *cmd_ctx, int64_t action_id, const char *state);
/* control_opts.before: commit the store's batch, so that an answer never
 * shows a row a crash could still take back. */
void	cmd_before(void *cmd_ctx);
/* control_opts.denied: audit a refused request as "denied". */
void	cmd_denied(void *cmd_ctx, const struct control_peer *peer,
	    const char *cmd, json_t *args);

#endif

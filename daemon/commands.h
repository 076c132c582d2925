/*
 * commands.h - the control commands remedyd answers (proto/control.md),
 * as a table for control_new().  Handlers read and change the store only
 * through store.h; approve tells the applier through ctx->approved().
 */
#ifndef REMEDY_DAEMON_COMMANDS_H
#define REMEDY_DAEMON_COMMANDS_H

#include <stdint.h>

#include "control.h"
#include "store.h"

struct cmd_ctx {
	struct store	*store;
	int64_t		 started_ms;		/* now_ms() at start */
	/* Non-zero once every informer has synced. */
	int		(*synced)(void *arg);
	/* An action became approved: apply it (called after the commit). */
	void		(*approved)(void *arg, int64_t action_id);
	void		*arg;
};

/* Handlers take a struct cmd_ctx * as their ctx. */
extern const struct control_cmd remedyd_commands[];

#endif

/*
 * engine.h - remedyd's pipeline: informers -> analyzers -> incidents ->
 * diagnosis -> dry-run -> pending action; and approved action -> PATCH ->
 * verification.
 *
 * The only code path that sends a mutating request for an action is
 * engine_approved() -> apply_start(), and it starts from a row that the
 * store has just moved from approved to applying (DESIGN.md, invariant 2).
 */
#ifndef REMEDY_DAEMON_ENGINE_H
#define REMEDY_DAEMON_ENGINE_H

#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "http.h"
#include "incident.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "store.h"

#define ENGINE_TICK_MS	250

struct verify;

struct engine {
	uv_loop_t		*loop;
	const struct remedy_config *cfg;
	struct store		*store;
	struct kube_client	*kube;

	struct informer	       **pods, **rsets, **deps;	/* one per namespace */
	size_t			 ninf;

	struct incidents	 incs;
	struct verify		*verifying;	/* applied actions being watched */
	uv_timer_t		 tick;
	int			 synced;	/* every informer listed once */
	int			 stopping;
	unsigned		 inflight;	/* dry-runs and applies */
	void			(*drained)(void *);	/* called when stopping
							 * and inflight hits 0 */
	void			*drained_arg;
};

int	engine_start(struct engine *, uv_loop_t *, const struct remedy_config *,
	    struct store *, struct kube_client *);
/* Stop watching; call drained(arg) once no apply or dry-run is in flight
 * (perhaps at once).  Memory is released by engine_free() after the loop
 * has run the close callbacks. */
void	engine_stop(struct engine *, void (*drained)(void *), void *arg);
void	engine_free(struct engine *);

/* struct cmd_ctx callbacks (commands.h). */
int	engine_synced(void *arg);
void	engine_approved(void *arg, int64_t action_id);

#endif

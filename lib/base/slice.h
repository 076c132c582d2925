/*
 * slice.h - bulk work in slices of bounded time, one slice per loop turn.
 *
 * remedyd runs on one libuv loop: a callback that works for a second
 * holds up every timer, the control socket, the HTTP endpoint and the
 * other watches for that second.  Work proportional to the cluster (every
 * cached object evaluated after a sync, the 500 items of a LIST page, the
 * diff a relist delivers) is therefore cut into steps and run through a
 * struct slice: slice_run() does steps until the job says it is done or
 * SLICE_BUDGET_US have passed, then a uv_idle handle runs the next slice
 * on the next loop turn, after the timers and the sockets had theirs (an
 * active idle handle also keeps the loop from blocking in poll meanwhile).
 *
 * The caller provides the storage (slice_init / slice_close); the idle
 * handle is closed with uv_close, so the storage must live until the
 * close callback (slice_close's cb).
 */
#ifndef REMEDY_SLICE_H
#define REMEDY_SLICE_H

#include <stdint.h>

#include <uv.h>

/* Time one slice may take (the loop's other work comes on top). */
#define SLICE_BUDGET_US	4000

/* One step of the job; 1 while more remains, 0 once done.  A step may
 * stop or restart its own slice. */
typedef int	(*slice_step_fn)(void *arg);

struct slice {
	uv_idle_t	 idle;		/* idle.data: the struct slice */
	slice_step_fn	 step;
	void		*arg;
	uint64_t	 budget_ns;
	int		 scheduled;	/* the idle handle is active */
	int		 running;	/* inside slice_run() */
	uint64_t	 slices;	/* slices run, for tests and metrics */
	uint64_t	 steps;
};

void	slice_init(struct slice *, uv_loop_t *, slice_step_fn step,
	    void *arg);
/* The time per slice in microseconds (default SLICE_BUDGET_US). */
void	slice_set_budget(struct slice *, uint64_t us);
/* Run the job from the next loop turn on. */
void	slice_start(struct slice *);
/* Run one slice now; if work remains, the rest runs from the next turn.
 * Returns 1 while work remains, 0 once the job is done. */
int	slice_run(struct slice *);
/* Forget the rest of the job. */
void	slice_stop(struct slice *);
/* True while work is scheduled. */
int	slice_pending(const struct slice *);
/* Stop and close the idle handle; cb (may be NULL) gets &s->idle. */
void	slice_close(struct slice *, uv_close_cb cb);

#endif

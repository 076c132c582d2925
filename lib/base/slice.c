/*
 * slice.c - bulk work in slices of bounded time (see slice.h).
 */
#include <string.h>

#include <uv.h>

#include "base/metrics.h"
#include "base/slice.h"

static void	slice_on_idle(uv_idle_t *);

void
slice_init(struct slice *s, uv_loop_t *loop, slice_step_fn step, void *arg)
{
	memset(s, 0, sizeof(*s));
	uv_idle_init(loop, &s->idle);
	s->idle.data = s;
	s->step = step;
	s->arg = arg;
	s->budget_ns = (uint64_t)SLICE_BUDGET_US * 1000;
}

void
slice_set_budget(struct slice *s, uint64_t us)
{
	s->budget_ns = (us > 0 ? us : SLICE_BUDGET_US) * 1000;
}

void
slice_start(struct slice *s)
{
	if (s->scheduled)
		return;
	s->scheduled = 1;
	uv_idle_start(&s->idle, slice_on_idle);
}

void
slice_stop(struct slice *s)
{
	if (!s->scheduled)
		return;
	s->scheduled = 0;
	uv_idle_stop(&s->idle);
}

int
slice_pending(const struct slice *s)
{
	return s->scheduled;
}

/*
 * Steps until the job is done or the budget is spent.  The clock is read
 * after every step: a step is one object (a few microseconds), and
 * uv_hrtime() costs tens of nanoseconds.  A step that stops the slice
 * (slice_stop from inside) ends the run.
 */
int
slice_run(struct slice *s)
{
	uint64_t	start = uv_hrtime();
	int		more = 1;

	if (s->running)
		return 1;	/* a step called back into its own slice */
	s->running = 1;
	s->scheduled = 1;
	s->slices++;
	while (s->scheduled) {
		s->steps++;
		if ((more = s->step(s->arg)) == 0)
			break;
		if (uv_hrtime() - start >= s->budget_ns)
			break;
	}
	s->running = 0;
	if (!more || !s->scheduled) {
		s->scheduled = 0;
		uv_idle_stop(&s->idle);
		return 0;
	}
	metric_inc(metric_counter("remedy_loop_yields_total",
	    "Times bulk work (a LIST page, an evaluation pass) spent its time "
	    "budget and let the loop turn before going on.", NULL), NULL);
	uv_idle_start(&s->idle, slice_on_idle);
	return 1;
}

static void
slice_on_idle(uv_idle_t *h)
{
	slice_run(h->data);
}

void
slice_close(struct slice *s, uv_close_cb cb)
{
	slice_stop(s);
	uv_close((uv_handle_t *)&s->idle, cb);
}

/*
 * looplag.c - the event loop's lag, measured by a probe timer (looplag.h).
 */
#include <string.h>

#include <uv.h>

#include "base/looplag.h"
#include "base/metrics.h"

/* Seconds: fine below the 20 ms the loop should stay under, coarse above. */
static const double lag_bounds[] = {
	0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
	0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30
};

static void
looplag_fire(uv_timer_t *t)
{
	struct looplag	*l = t->data;
	uint64_t	 now = uv_hrtime();
	uint64_t	 lag = now > l->due_ns ? now - l->due_ns : 0;

	l->last_ns = lag;
	if (lag > l->max_ns)
		l->max_ns = lag;
	l->samples++;
	metric_observe(metric_histogram("remedy_loop_lag_seconds",
	    "How late the event loop ran the loop-lag probe, "
	    "a timer due every 50 ms.", NULL, lag_bounds,
	    sizeof(lag_bounds) / sizeof(lag_bounds[0])), NULL,
	    (double)lag / 1e9);
	metric_set(metric_gauge("remedy_loop_lag_max_seconds",
	    "The largest loop lag seen since the start.", NULL), NULL,
	    (double)l->max_ns / 1e9);
	l->due_ns = now + l->interval_ms * 1000000;
	uv_timer_start(&l->timer, looplag_fire, l->interval_ms, 0);
}

void
looplag_start(struct looplag *l, uv_loop_t *loop, uint64_t interval_ms)
{
	memset(l, 0, sizeof(*l));
	l->interval_ms = interval_ms > 0 ? interval_ms : LOOPLAG_INTERVAL_MS;
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	/* the probe alone must not keep the loop running */
	uv_unref((uv_handle_t *)&l->timer);
	l->started = 1;
	l->due_ns = uv_hrtime() + l->interval_ms * 1000000;
	uv_timer_start(&l->timer, looplag_fire, l->interval_ms, 0);
}

uint64_t
looplag_now_ns(const struct looplag *l)
{
	uint64_t now = uv_hrtime();

	if (!l->started)
		return 0;
	if (now > l->due_ns && now - l->due_ns > l->last_ns)
		return now - l->due_ns;
	return l->last_ns;
}

int
looplag_stuck(const struct looplag *l, uint64_t limit_ms)
{
	if (limit_ms == 0)
		limit_ms = LOOPLAG_STUCK_MS;
	return looplag_now_ns(l) > limit_ms * 1000000;
}

void
looplag_close(struct looplag *l)
{
	if (!l->started)
		return;
	l->started = 0;
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->timer, NULL);
}

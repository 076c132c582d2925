/*
 * looplag.h - how late the event loop runs: a probe timer that measures
 * its own lateness.
 *
 * Every LOOPLAG_INTERVAL_MS the probe's one-shot timer fires; the time
 * between when it was due and when it ran is the loop's lag: how long
 * every other timer, socket and client waited.  Each sample goes to the
 * histogram remedy_loop_lag_seconds, the largest to the gauge
 * remedy_loop_lag_max_seconds.  A loop that does not turn cannot report
 * anything, so looplag_stuck() also counts how overdue the probe is right
 * now: a caller that runs while the probe's timer cannot (a socket that
 * keeps the loop busy, or a check from another handle) sees it.
 *
 * The caller provides the storage; close with looplag_close() and keep
 * the storage until the loop ran the close callback.
 */
#ifndef REMEDY_LOOPLAG_H
#define REMEDY_LOOPLAG_H

#include <stdint.h>

#include <uv.h>

#define LOOPLAG_INTERVAL_MS	50
/* A loop this late counts as stuck (/healthz fails, no WATCHDOG=1). */
#define LOOPLAG_STUCK_MS	5000

struct looplag {
	uv_timer_t	 timer;		/* timer.data: the struct looplag */
	uint64_t	 interval_ms;
	uint64_t	 due_ns;	/* uv_hrtime() the probe is due at */
	uint64_t	 last_ns;	/* lag of the last sample */
	uint64_t	 max_ns;
	uint64_t	 samples;
	int		 started;
};

/* interval_ms 0: LOOPLAG_INTERVAL_MS. */
void	 looplag_start(struct looplag *, uv_loop_t *, uint64_t interval_ms);
/* The lag now: the last sample's, or how overdue the probe is, if more. */
uint64_t looplag_now_ns(const struct looplag *);
/* True when looplag_now_ns() exceeds limit_ms (0: LOOPLAG_STUCK_MS). */
int	 looplag_stuck(const struct looplag *, uint64_t limit_ms);
void	 looplag_close(struct looplag *);

#endif

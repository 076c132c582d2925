/*
 * ratelimit.c - token bucket, see ratelimit.h.  Time comes from the
 * caller, so the arithmetic is testable without sleeping.
 */
#include "kube/ratelimit.h"

void
ratelimit_init(struct ratelimit *rl, double qps, int burst, int64_t now_ms)
{
	rl->qps = qps;
	rl->burst = burst > 0 ? burst : 1;
	rl->tokens = rl->burst;		/* a full bucket at start */
	rl->last_ms = now_ms;
}

int64_t
ratelimit_take(struct ratelimit *rl, int64_t now_ms)
{
	double	need;

	if (rl->qps <= 0)
		return 0;
	if (now_ms > rl->last_ms) {
		rl->tokens += (double)(now_ms - rl->last_ms) * rl->qps / 1000.0;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last_ms = now_ms;
	}
	if (rl->tokens >= 1.0) {
		rl->tokens -= 1.0;
		return 0;
	}
	need = (1.0 - rl->tokens) * 1000.0 / rl->qps;
	return (int64_t)need + 1;
}

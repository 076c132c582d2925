/*
 * ratelimit.h - the client-side token bucket of client-go's
 * flowcontrol.NewTokenBucketRateLimiter: qps tokens a second, at most burst
 * kept; every request (watches included) takes one.  qps <= 0: no limit.
 */
#ifndef REMEDY_KUBE_RATELIMIT_H
#define REMEDY_KUBE_RATELIMIT_H

#include <stdint.h>

#define KUBE_DEFAULT_QPS	5.0
#define KUBE_DEFAULT_BURST	10

struct ratelimit {
	double	qps;
	double	burst;
	double	tokens;
	int64_t	last_ms;	/* monotonic time of the last refill */
};

void	ratelimit_init(struct ratelimit *, double qps, int burst,
	    int64_t now_ms);
/* Take a token: 0, else the milliseconds until one is there (nothing
 * taken). */
int64_t	ratelimit_take(struct ratelimit *, int64_t now_ms);

#endif

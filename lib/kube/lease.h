/*
 * lease.h - leader election on a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection package does it, so that of several remedyd
 * processes exactly one diagnoses and applies.
 *
 * Every retry period the Lease is read.  Missing: it is created with us as
 * holder.  Ours: renewed (PUT with the resourceVersion just read, so a
 * concurrent writer gets 409).  Someone else's: taken over only when its
 * record (holder, renewTime, resourceVersion) has not changed for
 * leaseDurationSeconds of *our* clock (clocks of machines are not
 * compared); leaseTransitions is then incremented.  A leader that cannot
 * renew within the renew deadline stops being leader.  lease_release()
 * writes an empty holder with leaseDurationSeconds 1, so a standby takes
 * over at once after a clean shutdown.
 */
#ifndef REMEDY_KUBE_LEASE_H
#define REMEDY_KUBE_LEASE_H

#include <stdint.h>

#include <uv.h>

#include "kube/client.h"

#define LEASE_DURATION_MS	15000
#define LEASE_RENEW_MS		10000
#define LEASE_RETRY_MS		2000

struct lease;

/* Called on every change: leader 1 (we acquired) or 0 (we lost). */
typedef void	(*lease_cb)(struct lease *, int leader, void *arg);

/* Strings are copied.  Returns NULL when out of memory or a name is bad. */
struct lease	*lease_new(struct kube_client *, uv_loop_t *,
		    const char *namespace, const char *name,
		    const char *identity, int64_t duration_ms,
		    int64_t renew_deadline_ms, int64_t retry_ms, lease_cb cb,
		    void *arg);
void		 lease_start(struct lease *);
int		 lease_is_leader(const struct lease *);
const char	*lease_holder(const struct lease *);	/* last seen, or "" */
/* Give up leadership (if held) and stop; done(arg) follows from the loop
 * once the Lease was written (or that failed). */
void		 lease_release(struct lease *, void (*done)(void *), void *arg);
/* Stop without releasing; memory goes in the timer's close callback. */
void		 lease_free(struct lease *);

#endif

/*
 * lease.c - leader election on a Lease, see lease.h.
 *
 * One timer drives everything: each tick does GET, then (when we may
 * hold the lease) POST or PUT; the next tick is armed when that answer is
 * in, so at most one request is in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "base/log.h"
#include "base/util.h"
#include "kube/client.h"
#include "kube/lease.h"

#define LEASE_PATH_MAX	512

struct lease {
	struct kube_client	*kc;
	uv_timer_t		 timer;
	char			*ns, *name, *identity;
	char			 path[LEASE_PATH_MAX];
	char			 coll[LEASE_PATH_MAX];
	int64_t			 duration_ms, renew_ms, retry_ms;
	lease_cb		 cb;
	void			*arg;

	struct kube_call	*call;
	int			 leader;
	int			 stopped;
	int64_t			 last_renew;	/* mono ms of our last write */
	char			*observed;	/* holder|renewTime|rv seen */
	int64_t			 observed_at;	/* mono ms it changed */
	char			 holder[256];
	char			 rv[128];	/* of our last write or read */
	int64_t			 transitions;
	void			(*released)(void *);
	void			*released_arg;
};

static void	lease_tick(uv_timer_t *);

/* Kubernetes MicroTime: "2006-01-02T15:04:05.000000Z". */
static void
micro_time(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}

static void
lease_set_leader(struct lease *l, int leader)
{
	if (l->leader == leader)
		return;
	l->leader = leader;
	if (leader)
		log_notice("leader election: %s acquired lease %s/%s",
		    l->identity, l->ns, l->name);
	else
		log_notice("leader election: %s is no longer leader of "
		    "lease %s/%s", l->identity, l->ns, l->name);
	if (l->cb != NULL)
		l->cb(l, leader, l->arg);
}

static void
lease_next(struct lease *l, int64_t ms)
{
	if (!l->stopped)
		uv_timer_start(&l->timer, lease_tick, (uint64_t)ms, 0);
}

/* The Lease body we write: holder, times, duration, transitions. */
static char *
lease_body(struct lease *l, const char *holder, int64_t duration_s,
    int64_t transitions, int with_rv, const char *acquire)
{
	char	 now[64];
	json_t	*doc, *md;
	char	*s;

	micro_time(now, sizeof(now));
	doc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:I}}",
	    "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
	    "metadata", "name", l->name, "namespace", l->ns,
	    "spec", "holderIdentity", holder,
	    "leaseDurationSeconds", (json_int_t)duration_s,
	    "acquireTime", acquire ? acquire : now, "renewTime", now,
	    "leaseTransitions", (json_int_t)transitions);
	if (doc == NULL)
		return NULL;
	if (with_rv && l->rv[0] != '\0') {
		md = json_object_get(doc, "metadata");
		json_object_set_new(md, "resourceVersion", json_string(l->rv));
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

static void
lease_rv(struct lease *l, json_t *body)
{
	const char *rv = json_str_at(body, "metadata.resourceVersion");

	if (rv != NULL && strlen(rv) < sizeof(l->rv))
		snprintf(l->rv, sizeof(l->rv), "%s", rv);
}

static void
lease_wrote(const struct kube_resp *r, void *arg)
{
	struct lease *l = arg;

	l->call = NULL;
	if (r->status == 200 || r->status == 201) {
		lease_rv(l, r->body);
		l->last_renew = mono_ms();
		snprintf(l->holder, sizeof(l->holder), "%s", l->identity);
		lease_set_leader(l, 1);
	} else {
		if (r->status != 409)
			log_warnx("leader election: writing lease %s/%s: %s",
			    l->ns, l->name, r->message);
		if (l->leader && mono_ms() - l->last_renew >= l->renew_ms)
			lease_set_leader(l, 0);
	}
	lease_next(l, l->retry_ms);
}

/* Write the Lease with us as holder (create when it does not exist). */
static void
lease_claim(struct lease *l, int create, int64_t transitions,
    const char *acquire)
{
	char *body;

	body = lease_body(l, l->identity, (l->duration_ms + 999) / 1000,
	    transitions, !create, acquire);
	if (body == NULL) {
		lease_next(l, l->retry_ms);
		return;
	}
	l->call = kube_request(l->kc, create ? "POST" : "PUT",
	    create ? l->coll : l->path, "application/json", body, lease_wrote,
	    l);
	free(body);
	if (l->call == NULL)
		lease_next(l, l->retry_ms);
}

static void
lease_read(const struct kube_resp *r, void *arg)
{
	struct lease	*l = arg;
	json_t		*spec;
	const char	*holder, *renew, *acquire;
	char		 obs[512];
	int64_t		 dur_ms, now = mono_ms();

	l->call = NULL;
	if (r->status == 404) {
		lease_claim(l, 1, 0, NULL);
		return;
	}
	if (r->status != 200 || r->body == NULL) {
		log_warnx("leader election: reading lease %s/%s: %s", l->ns,
		    l->name, r->message[0] ? r->message : "no answer");
		if (l->leader && now - l->last_renew >= l->renew_ms)
			lease_set_leader(l, 0);
		lease_next(l, l->retry_ms);
		return;
	}
	lease_rv(l, r->body);
	spec = json_object_get(r->body, "spec");
	holder = json_str_at(spec, "holderIdentity");
	renew = json_str_at(spec, "renewTime");
	acquire = json_str_at(spec, "acquireTime");
	dur_ms = json_int_at(spec, "leaseDurationSeconds", 0) * 1000;
	if (dur_ms <= 0)
		dur_ms = l->duration_ms;
	l->transitions = json_int_at(spec, "leaseTransitions", 0);
	snprintf(l->holder, sizeof(l->holder), "%s", holder ? holder : "");
	snprintf(obs, sizeof(obs), "%s|%s|%s", holder ? holder : "",
	    renew ? renew : "", l->rv);
	if (l->observed == NULL || strcmp(obs, l->observed) != 0) {
		free(l->observed);
		l->observed = strdup(obs);
		l->observed_at = now;
	}
	if (holder != NULL && strcmp(holder, l->identity) == 0) {
		/* ours: renew, keeping acquireTime and transitions */
		lease_claim(l, 0, l->transitions, acquire);
		return;
	}
	if (holder != NULL && holder[0] != '\0' &&
	    now - l->observed_at < dur_ms) {
		/* held by someone alive */
		lease_set_leader(l, 0);
		lease_next(l, l->retry_ms);
		return;
	}
	/* free or expired: take it over */
	if (holder != NULL && holder[0] != '\0')
		log_notice("leader election: lease %s/%s held by %s expired, "
		    "taking over", l->ns, l->name, holder);
	lease_claim(l, 0, l->transitions + 1, NULL);
}

static void
lease_tick(uv_timer_t *t)
{
	struct lease *l = t->data;

	if (l->stopped || l->call != NULL)
		return;
	if (l->leader && mono_ms() - l->last_renew >= l->renew_ms)
		lease_set_leader(l, 0);
	l->call = kube_get(l->kc, l->path, lease_read, l);
	if (l->call == NULL)
		lease_next(l, l->retry_ms);
}

struct lease *
lease_new(struct kube_client *kc, uv_loop_t *loop, const char *ns,
    const char *name, const char *identity, int64_t duration_ms,
    int64_t renew_ms, int64_t retry_ms, lease_cb cb, void *arg)
{
	struct lease *l;

	if (ns == NULL || name == NULL || identity == NULL ||
	    strpbrk(ns, "/?#%") != NULL || strpbrk(name, "/?#%") != NULL ||
	    (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->kc = kc;
	l->ns = strdup(ns);
	l->name = strdup(name);
	l->identity = strdup(identity);
	l->duration_ms = duration_ms > 0 ? duration_ms : LEASE_DURATION_MS;
	l->renew_ms = renew_ms > 0 ? renew_ms : LEASE_RENEW_MS;
	l->retry_ms = retry_ms > 0 ? retry_ms : LEASE_RETRY_MS;
	l->cb = cb;
	l->arg = arg;
	if (l->ns == NULL || l->name == NULL || l->identity == NULL ||
	    snprintf(l->coll, sizeof(l->coll), "/apis/coordination.k8s.io/v1/"
	    "namespaces/%s/leases", ns) >= (int)sizeof(l->coll) ||
	    snprintf(l->path, sizeof(l->path), "%s/%s", l->coll, name) >=
	    (int)sizeof(l->path)) {
		free(l->ns);
		free(l->name);
		free(l->identity);
		free(l);
		return NULL;
	}
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	return l;
}

void
lease_start(struct lease *l)
{
	lease_next(l, 0);
}

int
lease_is_leader(const struct lease *l)
{
	return l != NULL && l->leader && !l->stopped &&
	    mono_ms() - l->last_renew < l->renew_ms;
}

const char *
lease_holder(const struct lease *l)
{
	return l->holder;
}

static void
lease_closed(uv_handle_t *h)
{
	struct lease *l = h->data;

	free(l->observed);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l);
}

static void
lease_released(const struct kube_resp *r, void *arg)
{
	struct lease *l = arg;
	void (*fn)(void *) = l->released;

	l->call = NULL;
	if (r->status == 200)
		log_notice("leader election: released lease %s/%s", l->ns,
		    l->name);
	else
		log_warnx("leader election: releasing lease %s/%s: %s", l->ns,
		    l->name, r->message);
	l->released = NULL;
	if (fn != NULL)
		fn(l->released_arg);
}

static void
lease_release_now(uv_timer_t *t)
{
	struct lease *l = t->data;
	void (*fn)(void *) = l->released;

	l->released = NULL;
	if (fn != NULL)
		fn(l->released_arg);
}

/*
 * Release: read the Lease first (a renewal cancelled in flight may have
 * changed its resourceVersion), and write an empty holder only while it
 * is still ours.
 */
static void
lease_release_read(const struct kube_resp *r, void *arg)
{
	struct lease *l = arg;
	const char *holder;
	char *body;

	l->call = NULL;
	holder = json_str_at(r->body, "spec.holderIdentity");
	if (r->status == 200 && holder != NULL &&
	    strcmp(holder, l->identity) == 0) {
		lease_rv(l, r->body);
		l->transitions = json_int_at(r->body, "spec.leaseTransitions",
		    l->transitions);
		if ((body = lease_body(l, "", 1, l->transitions, 1, NULL)) !=
		    NULL && (l->call = kube_request(l->kc, "PUT", l->path,
		    "application/json", body, lease_released, l)) != NULL) {
			free(body);
			return;
		}
		free(body);
	}
	uv_timer_start(&l->timer, lease_release_now, 0, 0);
}

void
lease_release(struct lease *l, void (*done)(void *), void *arg)
{
	int was = l->leader;

	l->stopped = 1;
	uv_timer_stop(&l->timer);
	kube_cancel(l->call);
	l->call = NULL;
	l->released = done;
	l->released_arg = arg;
	l->leader = 0;
	if (was && (l->call = kube_get(l->kc, l->path, lease_release_read,
	    l)) != NULL)
		return;
	/* nothing to write: report from the loop all the same */
	uv_timer_start(&l->timer, lease_release_now, 0, 0);
}

void
lease_free(struct lease *l)
{
	if (l == NULL)
		return;
	l->stopped = 1;
	kube_cancel(l->call);
	l->call = NULL;
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->timer, lease_closed);
}

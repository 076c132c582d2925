/*
 * apply.c - approved action -> PATCH -> verification, crash recovery, and
 * the pending sweep (expired, superseded).
 *
 * The only code path that sends a mutating request for an action: it starts
 * from a row the store has just moved from approved to applying (DESIGN.md,
 * invariant 2).  The sequence, each step committed before the next:
 *
 *   GET the object -> policy re-check -> approved->applying (commit)
 *   -> PATCH (the approved patch + the remedy.dev/action-id annotation)
 *   -> applied (commit, the answer stored) -> verification
 *
 * Recovery (engine_recover): an action found in applying is resolved
 * against the cluster.  The annotation is written by the same atomic PATCH
 * as the change, so: annotation == our id -> the PATCH landed -> applied;
 * absent and every "test" op still holds -> it did not land -> sent again
 * under the same approval; absent and a test fails -> failed.  Even a PATCH
 * that lands after our GET cannot be applied twice: its own tests (the
 * generation and every replaced value) fail the second time (422).
 *
 * An action with steps (a StatefulSet forced rollback, forced.c) goes on
 * after the PATCH instead of becoming applied: step 1 done (commit), then
 * for each pod step in order: step applying (commit) -> GET the pod -> a
 * pod that is gone, was re-created (another uid), is being deleted or is
 * no longer on the bad revision counts as done without a request;
 * otherwise DELETE with preconditions on its uid and the resourceVersion
 * just read -> step done (commit).  Applied once every step is done.
 * Recovery resumes at the first step not done: step 1 as above (the
 * annotation), a pod step by the same GET, so a pod is deleted at most
 * once and a re-created one never.
 *
 * REMEDY_TEST_CRASH_AT=<point> makes remedyd _exit(137) at that point (the
 * kill -9 sweep in tests/integration/test_crash.py); unset, it is inert:
 *   before-applying  object read, row still approved
 *   after-applying   row committed as applying, nothing sent
 *   after-patch      the API server answered the PATCH, nothing recorded
 *   after-applied    applied committed, verification not started
 *   after-step-1     step 1 (the PATCH) committed done, no pod touched
 *   after-delete     the API server answered a pod's DELETE, not recorded
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action/normalize.h"
#include "action/policy.h"
#include "base/log.h"
#include "base/util.h"
#include "engine_int.h"
#include "kube/objects.h"
#include "store/policy_gate.h"

#define RESOLVE_RETRY_MS	2000	/* recovery GET failed: try again */
#define SWEEP_MS		5000	/* pending TTL / superseded check */
#define VERIFY_STALE_MS		60000	/* past verify_timeout, wait at most
					 * this long for caches to catch up */

/*
 * An applied action whose workload we watch for recovery, or (resolve set)
 * an action found in applying whose recovery GET must be retried at
 * deadline.
 */
struct verify {
	struct verify	*next;
	int64_t		 action_id;
	int64_t		 incident_id;
	char		*kind, *ns, *name;
	int64_t		 generation;	/* generation the PATCH produced */
	int64_t		 deadline;	/* mono ms */
	int		 resolve;
	int		 waited;	/* past the deadline, caches behind */
};

/* An apply or a recovery in flight. */
struct apply {
	struct engine	*e;
	int64_t		 action_id;
	int64_t		 incident_id;
	json_t		*patch;		/* as approved */
	json_t		*sent;		/* as sent: patch + annotation */
	char		*ns, *name, *kind, *api_path;
	int		 recovering;	/* found in applying at start */
	json_t		*steps;		/* every step as stored, or NULL */
	json_t		*answer1;	/* step 1's answer (generation) */
	int		 step;		/* the step in progress, 1-based */
	int		 conflicts;	/* DELETE preconditions failed so far */
};

#define STEP_CONFLICTS_MAX	3	/* re-reads of a pod after a 409 */

static void	steps_next(struct apply *);

static void
crash_point(const char *point)
{
	const char	*want = getenv("REMEDY_TEST_CRASH_AT");

	if (want != NULL && strcmp(want, point) == 0) {
		log_warnx("REMEDY_TEST_CRASH_AT=%s: exiting now", point);
		_exit(137);
	}
}

static void
told(struct engine *e, int64_t id, const char *state)
{
	if (e->on_action != NULL)
		e->on_action(e->on_action_arg, id, state);
}

static void
apply_free(struct apply *a)
{
	json_decref(a->patch);
	json_decref(a->sent);
	json_decref(a->steps);
	json_decref(a->answer1);
	free(a->ns);
	free(a->name);
	free(a->kind);
	free(a->api_path);
	free(a);
}

static void
verify_free(struct verify *v)
{
	free(v->kind);
	free(v->ns);
	free(v->name);
	free(v);
}

static void
verify_add(struct engine *e, int64_t action_id, int64_t incident_id,
    const char *kind, const char *ns, const char *name, int64_t generation,
    int resolve, int64_t delay_ms)
{
	struct verify *v;

	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->kind = strdup(kind)) == NULL ||
	    (v->ns = strdup(ns)) == NULL || (v->name = strdup(name)) == NULL) {
		if (v != NULL) {
			free(v->kind);
			free(v->ns);
		}
		free(v);
		log_warnx("action %lld: out of memory, not %s",
		    (long long)action_id, resolve ? "resolving" : "verifying");
		return;
	}
	v->action_id = action_id;
	v->incident_id = incident_id;
	v->generation = generation;
	v->resolve = resolve;
	v->deadline = mono_ms() + delay_ms;
	v->next = e->verifying;
	e->verifying = v;
}

/* Record applying -> failed, log it, tell the watchers. */
static void
fail_action(struct engine *e, int64_t id, const char *reason, json_t *answer)
{
	if (store_action_failed(e->store, id, reason, answer) != STORE_OK) {
		log_warnx("action %lld: cannot record failure: %s",
		    (long long)id, store_errmsg(e->store));
		return;
	}
	told(e, id, ACTION_FAILED);
	log_warnx("action %lld failed: %s", (long long)id, reason);
}

static void
finish(struct apply *a)
{
	struct engine	*e = a->e;

	apply_free(a);
	e->inflight--;
	engine_check_drained(e);
}

/*
 * A JSON Patch whose "test" op fails is answered 422 Invalid with no
 * field causes (the API server's generic "the server rejected our request
 * due to an error in our request"); a value the API server refuses comes
 * with details.causes naming the field.
 */
static int
precondition_failed(const struct kube_resp *r)
{
	json_t *causes;

	if (r->status != 422 || strcmp(r->reason, "Invalid") != 0)
		return 0;
	causes = json_object_get(json_object_get(r->body, "details"),
	    "causes");
	return json_array_size(causes) == 0;
}

static void
apply_done(const struct kube_resp *r, void *arg)
{
	struct apply	*a = arg;
	struct engine	*e = a->e;
	json_t		*answer = engine_answer_json(r);
	char		 reason[1024];

	crash_point("after-patch");
	if (r->status / 100 == 2 && a->steps != NULL) {
		if (store_action_step_done(e->store, a->action_id, 1,
		    "patched", answer) != STORE_OK) {
			log_warnx("action %lld: patched, but the store failed: "
			    "%s", (long long)a->action_id,
			    store_errmsg(e->store));
			json_decref(answer);
			finish(a);
			return;
		}
		log_notice("action %lld: step 1 of %zu done: %s patched",
		    (long long)a->action_id, json_array_size(a->steps),
		    a->api_path);
		crash_point("after-step-1");
		a->answer1 = answer;
		a->step = 1;
		steps_next(a);
		return;
	} else if (r->status / 100 == 2) {
		if (store_action_applied(e->store, a->action_id, a->sent,
		    answer) != STORE_OK)
			log_warnx("action %lld: applied, but the store failed:"
			    " %s", (long long)a->action_id,
			    store_errmsg(e->store));
		else {
			told(e, a->action_id, ACTION_APPLIED);
			log_notice("action %lld applied to %s/%s",
			    (long long)a->action_id, a->ns, a->name);
		}
		crash_point("after-applied");
		verify_add(e, a->action_id, a->incident_id, a->kind, a->ns,
		    a->name,
		    json_int_at(r->body, "metadata.generation", 0), 0,
		    e->cfg->verify_timeout_ms);
	} else {
		snprintf(reason, sizeof(reason), r->status ?
		    "PATCH rejected by the API server: %ld %s: %s%s" :
		    "PATCH not delivered: %ld%s%s%s", r->status, r->reason,
		    r->message, precondition_failed(r) ? "; a precondition "
		    "failed: the object changed after remedyd read it, so "
		    "nothing was applied" : "");
		fail_action(e, a->action_id, reason, answer);
	}
	json_decref(answer);
	finish(a);
}

/* True when the patch already carries the action-id annotation op (the
 * store stamps every new action's patch when it is proposed). */
static int
patch_stamped(json_t *patch)
{
	json_t	*op;
	size_t	 i;

	json_array_foreach(patch, i, op)
		if (json_is_string(json_object_get(op, "path")) &&
		    strcmp(json_string_value(json_object_get(op, "path")),
		    POLICY_ACTION_ANNOTATION_PATH) == 0)
			return 1;
	return 0;
}

/* Send the approved patch, which carries the action-id stamp, for an action
 * in applying.  An action stored before patches were stamped at proposal
 * gets the stamp now.  Takes a over (freed through finish()). */
static void
send_patch(struct apply *a, json_t *observed)
{
	struct engine	*e = a->e;
	char		*body = NULL;

	a->sent = patch_stamped(a->patch) ? json_incref(a->patch) :
	    normalize_stamp(a->patch, observed, a->action_id);
	if (a->sent == NULL || (body = json_canon(a->sent)) == NULL) {
		fail_action(e, a->action_id, "cannot build the PATCH (out of "
		    "memory, or no metadata to carry the action-id annotation)",
		    NULL);
		finish(a);
		return;
	}
	log_info("action %lld: %s %s", (long long)a->action_id,
	    a->recovering ? "applying again (same approval)" : "applying to",
	    a->api_path);
	if (kube_patch(e->kube, a->api_path, JSON_PATCH, body, 0, apply_done,
	    a) == NULL) {
		fail_action(e, a->action_id, "cannot start the PATCH request",
		    NULL);
		finish(a);
	}
	free(body);
}

/* Defence in depth: the policy may have changed since the approval. */
static int
policy_ok(struct apply *a, char *reason, size_t len)
{
	struct policy_request	r;
	struct policy_verdict	v;

	memset(&r, 0, sizeof(r));
	r.kind = a->kind;
	r.ns = a->ns;
	r.name = a->name;
	r.patch = a->patch;
	if (a->steps != NULL && ((r.steps = json_array()) == NULL ||
	    policy_gate_steps(a->steps, r.steps) == -1)) {
		json_decref(r.steps);
		snprintf(reason, len, "out of memory");
		return 0;
	}
	if (policy_check(&a->e->cfg->policy, &r, &v) == 0) {
		json_decref(r.steps);
		return 1;
	}
	json_decref(r.steps);
	snprintf(reason, len, "refused by the policy (%s): %s", v.rule,
	    v.message);
	return 0;
}

/* The object as it is now, for an approved action about to be applied. */
static void
got_object(const struct kube_resp *r, void *arg)
{
	struct apply	*a = arg;
	struct engine	*e = a->e;
	json_t		*answer;
	char		 reason[1024];
	int		 ok;

	if (e->stopping) {	/* still approved: the next start applies it */
		finish(a);
		return;
	}
	crash_point("before-applying");
	if (store_action_begin_apply(e->store, a->action_id) != STORE_OK) {
		log_warnx("action %lld: cannot start apply: %s",
		    (long long)a->action_id, store_errmsg(e->store));
		finish(a);
		return;
	}
	crash_point("after-applying");
	ok = r->status == 200 && json_is_object(r->body);
	if (!ok)
		snprintf(reason, sizeof(reason), "cannot read %s before "
		    "applying: %ld %s: %s", a->api_path, r->status, r->reason,
		    r->message);
	else
		ok = policy_ok(a, reason, sizeof(reason));
	if (!ok) {
		answer = engine_answer_json(r);
		fail_action(e, a->action_id, reason, answer);
		json_decref(answer);
		finish(a);
		return;
	}
	send_patch(a, r->body);
}

/* --- the steps after the PATCH (a forced rollback) --- */

/* Step n (1-based) of a is in state, as loaded or as moved since. */
static int
step_state_is(struct apply *a, int n, const char *state)
{
	const char *st = json_str_at(json_array_get(a->steps, (size_t)n - 1),
	    "state");

	return st != NULL && strcmp(st, state) == 0;
}

static void
step_set_state(struct apply *a, int n, const char *state)
{
	json_object_set_new(json_array_get(a->steps, (size_t)n - 1), "state",
	    json_string(state));
}

/* Transient: retry the whole resolution a little later (the action stays
 * applying; the step in progress is re-checked by its GET). */
static void
steps_retry(struct apply *a, const char *what, const struct kube_resp *r)
{
	struct engine	*e = a->e;

	log_warnx("action %lld: step %d: %s: %ld %s; retrying",
	    (long long)a->action_id, a->step, what, r->status, r->reason);
	verify_add(e, a->action_id, a->incident_id, a->kind, a->ns, a->name,
	    0, 1, RESOLVE_RETRY_MS);
	finish(a);
}

static int
transient(const struct kube_resp *r)
{
	return r->status == 0 || r->status == 429 || r->status >= 500;
}

/* Record step a->step done with outcome and go on. */
static void
step_finish(struct apply *a, const char *outcome, json_t *answer)
{
	struct engine	*e = a->e;

	if (store_action_step_done(e->store, a->action_id, a->step, outcome,
	    answer) != STORE_OK) {
		log_warnx("action %lld: step %d: cannot record it done: %s",
		    (long long)a->action_id, a->step, store_errmsg(e->store));
		finish(a);
		return;
	}
	step_set_state(a, a->step, ACTION_STEP_DONE);
	log_notice("action %lld: step %d of %zu done: pod %s/%s %s",
	    (long long)a->action_id, a->step, json_array_size(a->steps), a->ns,
	    json_str_at(json_array_get(a->steps, (size_t)a->step - 1), "name"),
	    outcome);
	steps_next(a);
}

static void	step_pod_read(struct apply *);

static void
step_deleted(const struct kube_resp *r, void *arg)
{
	struct apply	*a = arg;
	json_t		*answer;
	char		 reason[1024];

	crash_point("after-delete");
	if (r->status == 409 && ++a->conflicts <= STEP_CONFLICTS_MAX) {
		/* the pod changed after the GET: decide again from scratch */
		step_pod_read(a);
		return;
	}
	if (transient(r)) {
		steps_retry(a, "DELETE not answered", r);
		return;
	}
	answer = engine_answer_json(r);
	if (r->status / 100 == 2)
		step_finish(a, "deleted", answer);
	else if (r->status == 404)
		step_finish(a, "already gone", answer);
	else {
		snprintf(reason, sizeof(reason), "step %d: DELETE of pod %s/%s "
		    "rejected by the API server: %ld %s: %s", a->step, a->ns,
		    json_str_at(json_array_get(a->steps, (size_t)a->step - 1),
		    "name"), r->status, r->reason, r->message);
		fail_action(a->e, a->action_id, reason, answer);
		finish(a);
	}
	json_decref(answer);
}

/* The controller ownerReference's uid of an object, or NULL. */
static const char *
controller_uid(json_t *obj)
{
	json_t	*refs = json_at(obj, "metadata.ownerReferences"), *ref;
	size_t	 i;

	json_array_foreach(refs, i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			return json_str_at(ref, "uid");
	return NULL;
}

/*
 * The pod of a delete-pod step as it is now.  Only the very pod the
 * operator approved (same uid), still on the bad revision and not already
 * going, is deleted, with preconditions on the uid and resourceVersion
 * just read.
 */
static void
step_pod_got(const struct kube_resp *r, void *arg)
{
	struct apply	*a = arg;
	struct engine	*e = a->e;
	json_t		*step = json_array_get(a->steps, (size_t)a->step - 1);
	const char	*want_uid = json_str_at(step, "uid");
	const char	*rev = json_str_at(step, "revision");
	const char	*name = json_str_at(step, "name");
	const char	*uid, *hash, *owner;
	json_t		*answer;
	char		 outcome[512];

	if (e->stopping) {	/* still applying: the next start resumes */
		finish(a);
		return;
	}
	if (transient(r)) {
		steps_retry(a, "cannot read the pod", r);
		return;
	}
	answer = engine_answer_json(r);
	if (r->status == 404) {
		step_finish(a, "already gone", answer);
		goto out;
	}
	if (r->status != 200 || !json_is_object(r->body)) {
		snprintf(outcome, sizeof(outcome), "step %d: cannot read pod "
		    "%s/%s: %ld %s: %s", a->step, a->ns, name, r->status,
		    r->reason, r->message);
		fail_action(e, a->action_id, outcome, answer);
		finish(a);
		goto out;
	}
	uid = json_str_at(r->body, "metadata.uid");
	hash = json_str_at(r->body, "metadata.labels.controller-revision-hash");
	owner = controller_uid(r->body);
	if (uid == NULL || strcmp(uid, want_uid) != 0) {
		snprintf(outcome, sizeof(outcome), "already gone (re-created "
		    "as uid %.64s, not deleted)", uid ? uid : "?");
		step_finish(a, outcome, answer);
	} else if (json_at(r->body, "metadata.deletionTimestamp") != NULL &&
	    !json_is_null(json_at(r->body, "metadata.deletionTimestamp")))
		step_finish(a, "already being deleted", answer);
	else if (hash == NULL || strcmp(hash, rev) != 0) {
		snprintf(outcome, sizeof(outcome), "no longer on revision "
		    "%.64s (now %.64s), not deleted", rev,
		    hash ? hash : "none");
		step_finish(a, outcome, answer);
	} else if (owner == NULL ||
	    strcmp(owner, json_str_at(step, "owner_uid")) != 0) {
		snprintf(outcome, sizeof(outcome), "step %d: pod %s/%s is not "
		    "controlled by %s %s/%s any more; not deleted", a->step,
		    a->ns, name, a->kind, a->ns, a->name);
		fail_action(e, a->action_id, outcome, answer);
		finish(a);
	} else if (engine_pod_delete(e, a->ns, name, uid,
	    json_str_at(r->body, "metadata.resourceVersion"), 0, step_deleted,
	    a) == -1) {
		snprintf(outcome, sizeof(outcome), "step %d: cannot start the "
		    "DELETE of pod %s/%s", a->step, a->ns, name);
		fail_action(e, a->action_id, outcome, NULL);
		finish(a);
	} else
		log_info("action %lld: step %d: deleting pod %s/%s (uid %s, "
		    "revision %s)", (long long)a->action_id, a->step, a->ns,
		    name, uid, rev);
out:
	json_decref(answer);
}

static void
step_pod_read(struct apply *a)
{
	char	path[1024];

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", a->ns,
	    json_str_at(json_array_get(a->steps, (size_t)a->step - 1), "name"));
	if (kube_get(a->e->kube, path, step_pod_got, a) == NULL) {
		log_warnx("action %lld: step %d: cannot start reading %s",
		    (long long)a->action_id, a->step, path);
		verify_add(a->e, a->action_id, a->incident_id, a->kind,
		    a->ns, a->name, 0, 1, RESOLVE_RETRY_MS);
		finish(a);
	}
}

/*
 * The step after a->step: committed applying, then its pod is read.  After
 * the last one the action is applied and verified.
 */
static void
steps_next(struct apply *a)
{
	struct engine	*e = a->e;
	int		 n;

	for (n = a->step + 1; n <= (int)json_array_size(a->steps) &&
	    step_state_is(a, n, ACTION_STEP_DONE); n++)
		;
	if (n > (int)json_array_size(a->steps)) {
		if (store_action_applied(e->store, a->action_id, a->patch,
		    a->answer1) != STORE_OK)
			log_warnx("action %lld: every step done, but the store "
			    "failed: %s", (long long)a->action_id,
			    store_errmsg(e->store));
		else {
			told(e, a->action_id, ACTION_APPLIED);
			log_notice("action %lld applied to %s/%s (%zu steps)",
			    (long long)a->action_id, a->ns, a->name,
			    json_array_size(a->steps));
			crash_point("after-applied");
			verify_add(e, a->action_id, a->incident_id, a->kind,
			    a->ns, a->name, json_int_at(a->answer1,
			    "generation", 0), 0, e->cfg->verify_timeout_ms);
		}
		finish(a);
		return;
	}
	if (e->stopping) {
		finish(a);
		return;
	}
	a->step = n;
	a->conflicts = 0;
	if (step_state_is(a, n, ACTION_STEP_PENDING)) {
		if (store_action_step_begin(e->store, a->action_id, n) !=
		    STORE_OK) {
			log_warnx("action %lld: cannot start step %d: %s",
			    (long long)a->action_id, n, store_errmsg(e->store));
			finish(a);
			return;
		}
		step_set_state(a, n, ACTION_STEP_APPLYING);
	}
	step_pod_read(a);
}

/* The object as it is now, for an action found in applying at start. */
static void
got_object_recovering(const struct kube_resp *r, void *arg)
{
	struct apply	*a = arg;
	struct engine	*e = a->e;
	json_t		*answer = NULL;
	char		 why[512], reason[1024];
	int64_t		 stamped;

	if (e->stopping) {
		finish(a);
		return;
	}
	if (r->status == 0 || r->status == 429 || r->status >= 500) {
		log_warnx("action %lld: cannot read %s to resolve it (%ld %s); "
		    "retrying", (long long)a->action_id, a->api_path, r->status,
		    r->reason);
		verify_add(e, a->action_id, a->incident_id, a->kind, a->ns,
		    a->name, 0, 1,
		    RESOLVE_RETRY_MS);
		finish(a);
		return;
	}
	answer = engine_answer_json(r);
	if (r->status != 200 || !json_is_object(r->body)) {
		snprintf(reason, sizeof(reason), "remedyd stopped while "
		    "applying and %s cannot be read now: %ld %s: %s",
		    a->api_path, r->status, r->reason, r->message);
		fail_action(e, a->action_id, reason, answer);
		goto done;
	}
	if (a->steps != NULL && step_state_is(a, 1, ACTION_STEP_DONE)) {
		/* the PATCH is recorded: resume at the first step not done */
		log_notice("action %lld: step 1 was done before remedyd "
		    "stopped; resuming its steps", (long long)a->action_id);
		a->answer1 = json_incref(json_object_get(json_object_get(
		    json_array_get(a->steps, 0), "result"), "answer"));
		a->step = 1;
		json_decref(answer);
		steps_next(a);
		return;
	}
	stamped = normalize_stamped_id(r->body);
	if (stamped == a->action_id && a->steps != NULL) {
		if (answer != NULL)
			json_object_set_new(answer, "recovered", json_true());
		if (store_action_step_done(e->store, a->action_id, 1,
		    "patched", answer) != STORE_OK) {
			log_warnx("action %lld: cannot record step 1: %s",
			    (long long)a->action_id, store_errmsg(e->store));
			goto done;
		}
		log_notice("action %lld: the PATCH had landed before remedyd "
		    "stopped; step 1 done, resuming its steps",
		    (long long)a->action_id);
		a->answer1 = answer;
		a->step = 1;
		steps_next(a);
		return;
	}
	if (stamped == a->action_id) {
		if (answer != NULL)
			json_object_set_new(answer, "recovered", json_true());
		if (store_action_applied(e->store, a->action_id, NULL,
		    answer) != STORE_OK) {
			log_warnx("action %lld: cannot record applied: %s",
			    (long long)a->action_id, store_errmsg(e->store));
			goto done;
		}
		told(e, a->action_id, ACTION_APPLIED);
		log_notice("action %lld: the PATCH had landed before remedyd "
		    "stopped (annotation %s=%lld); applied",
		    (long long)a->action_id, POLICY_ACTION_ANNOTATION,
		    (long long)stamped);
		verify_add(e, a->action_id, a->incident_id, a->kind, a->ns,
		    a->name,
		    json_int_at(r->body, "metadata.generation", 0), 0,
		    e->cfg->verify_timeout_ms);
		goto done;
	}
	if (normalize_preconditions(r->body, a->patch, why, sizeof(why)) ==
	    -1) {
		snprintf(reason, sizeof(reason), "remedyd stopped while "
		    "applying; the PATCH did not land and its preconditions no "
		    "longer hold: %s", why);
		fail_action(e, a->action_id, reason, answer);
		goto done;
	}
	json_decref(answer);
	send_patch(a, r->body);
	return;
done:
	json_decref(answer);
	finish(a);
}

/* Start reading the object of action id (in state want) with cb. */
static void
start(struct engine *e, int64_t id, const char *want, kube_done_cb cb)
{
	struct store_action	 act;
	struct apply		*a = NULL;

	if (store_action_get(e->store, id, &act) != STORE_OK)
		return;
	if (strcmp(act.state, want) != 0 || e->stopping)
		goto out;
	if (act.api_path == NULL || act.patch == NULL) {
		if (strcmp(want, ACTION_APPLYING) == 0)
			fail_action(e, id, "the action has no target or patch",
			    NULL);
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->ns = strdup(act.namespace)) == NULL ||
	    (a->name = strdup(act.name)) == NULL ||
	    (a->kind = strdup(act.kind)) == NULL ||
	    (a->api_path = strdup(act.api_path)) == NULL) {
		log_warnx("action %lld: out of memory", (long long)id);
		goto out;
	}
	a->e = e;
	a->action_id = id;
	a->incident_id = act.incident_id;
	a->patch = json_incref(act.patch);
	a->steps = act.steps ? json_incref(act.steps) : NULL;
	a->recovering = cb == got_object_recovering;
	if (kube_get(e->kube, act.api_path, cb, a) == NULL) {
		log_warnx("action %lld: cannot start reading %s",
		    (long long)id, act.api_path);
		if (a->recovering)
			verify_add(e, id, act.incident_id, act.kind,
			    act.namespace, act.name, 0, 1, RESOLVE_RETRY_MS);
		goto out;
	}
	e->inflight++;
	a = NULL;
out:
	if (a != NULL)
		apply_free(a);
	store_action_clear(&act);
}

/*
 * Apply an approved action: read the object, move the row to applying
 * (committed before anything is sent), then PATCH exactly the stored patch
 * plus the action-id annotation.  Anything but a row in state approved is
 * left alone.
 */
void
engine_apply(struct engine *e, int64_t id)
{
	start(e, id, ACTION_APPROVED, got_object);
}

static int
incident_has_pods(struct engine *e, int64_t incident_id)
{
	struct incident	*inc;
	size_t		 pos = 0;

	while (incidents_next(&e->incs, &pos, &inc))
		if (inc->store_id == incident_id && incident_pods(inc) > 0)
			return 1;
	return 0;
}

/* The generation a pending patch was computed against, or -1. */
static int64_t
tested_generation(json_t *patch)
{
	json_t		*op;
	const char	*o, *p;
	size_t		 i;

	json_array_foreach(patch, i, op) {
		o = json_string_value(json_object_get(op, "op"));
		p = json_string_value(json_object_get(op, "path"));
		if (o != NULL && p != NULL && strcmp(o, "test") == 0 &&
		    strcmp(p, "/metadata/generation") == 0 &&
		    json_is_integer(json_object_get(op, "value")))
			return json_integer_value(json_object_get(op, "value"));
	}
	return -1;
}

/* The cached metadata of a kind with a generation remedyd can patch. */
static const struct kmeta *
cached_meta(struct engine *e, const char *kind, const char *ns,
    const char *name)
{
	const struct kdeployment	*d;
	const struct kobj		*o;

	if (strcmp(kind, "Deployment") == 0)
		return (d = engine_cache_get(e, e->deps, ns, name)) ? &d->m :
		    NULL;
	if (strcmp(kind, "StatefulSet") == 0 ||
	    strcmp(kind, "DaemonSet") == 0)
		return (o = engine_kind_get(e, kind, ns, name)) ? &o->m : NULL;
	return NULL;
}

/* The target moved to another generation than the patch tests. */
static int
generation_moved(struct engine *e, const struct store_action *act,
    char *why, size_t len)
{
	const struct kmeta	*m;
	int64_t			 gen;

	if ((gen = tested_generation(act->patch)) <= 0 ||
	    (m = cached_meta(e, act->kind, act->namespace, act->name)) ==
	    NULL || m->generation == gen)
		return 0;
	snprintf(why, len, "%s %s/%s changed since the action was proposed "
	    "(generation %lld, now %lld)", act->kind, act->namespace,
	    act->name, (long long)gen, (long long)m->generation);
	return 1;
}

/*
 * A pending action on a bare Pod whose patch tests a uid the Pod under
 * that name no longer has: the Pod was deleted and created again, the
 * patch could only fail.
 */
static int
pod_recreated(struct engine *e, const struct store_action *act, char *why,
    size_t len)
{
	const struct kpod	*p;
	json_t			*op;
	const char		*path, *uid = NULL;
	size_t			 i;

	if (strcmp(act->kind, "Pod") != 0)
		return 0;
	json_array_foreach(act->patch, i, op) {
		path = json_string_value(json_object_get(op, "path"));
		if (path != NULL && strcmp(path, "/metadata/uid") == 0)
			uid = json_string_value(json_object_get(op, "value"));
	}
	if (uid == NULL || (p = engine_cache_get(e, e->pods, act->namespace,
	    act->name)) == NULL || p->m.uid == NULL ||
	    strcmp(p->m.uid, uid) == 0)
		return 0;
	snprintf(why, len, "Pod %s/%s was created again since the action was "
	    "proposed (uid %s, now %s)", act->namespace, act->name, uid,
	    p->m.uid);
	return 1;
}

/*
 * Pending actions past actions.pending_ttl become expired; those whose
 * Deployment, StatefulSet or DaemonSet moved to another generation than
 * their patch tests, or whose bare Pod was created again under its name
 * (so the patch could only fail) become superseded.  One action per step
 * of the sweep's slices: a storm leaves thousands pending, and reading
 * each is tens of microseconds.
 */
static void
sweep_one(struct engine *e, int64_t id)
{
	struct store_action	 act;
	int64_t			 now = now_ms();
	char			 why[512];

	if (store_action_get(e->store, id, &act) != STORE_OK)
		return;
	why[0] = '\0';
	if (strcmp(act.state, ACTION_PENDING) != 0)
		;	/* decided since the sweep listed it */
	else if (now - act.created >= e->cfg->pending_ttl_ms) {
		snprintf(why, sizeof(why), "not decided within "
		    "actions.pending_ttl (%llds)",
		    (long long)(e->cfg->pending_ttl_ms / 1000));
		if (store_action_expire(e->store, act.id, why) == STORE_OK) {
			told(e, act.id, ACTION_EXPIRED);
			log_notice("action %lld expired: %s",
			    (long long)act.id, why);
		}
	} else if (e->synced && (generation_moved(e, &act, why,
	    sizeof(why)) || pod_recreated(e, &act, why, sizeof(why)))) {
		if (store_action_supersede(e->store, act.id, why) ==
		    STORE_OK) {
			told(e, act.id, ACTION_SUPERSEDED);
			log_notice("action %lld superseded: %s",
			    (long long)act.id, why);
		}
	}
	store_action_clear(&act);
}

int
engine_pending_step(void *arg)
{
	struct engine	*e = arg;

	if (e->pend_at < e->pend_n && !e->stopping) {
		sweep_one(e, e->pend_ids[e->pend_at++]);
		return 1;
	}
	free(e->pend_ids);
	e->pend_ids = NULL;
	e->pend_n = e->pend_at = 0;
	return 0;
}

/* Every pods and Deployments informer, and those of the target's kind,
 * follow the cluster (a watch runs from its cache's resourceVersion). */
static int
caches_current(struct engine *e, const char *kind)
{
	size_t i;

	for (i = 0; i < e->ninf; i++)
		if (!informer_current(e->pods[i]) ||
		    !informer_current(e->deps[i]))
			return 0;
	return engine_kind_current(e, kind);
}

static int64_t
kint(const struct kobj *o, const char *path, int64_t dflt)
{
	json_t *v = kobj_at(o, path);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Service ns/name has a ready endpoint. */
static int
service_ready(struct engine *e, const char *ns, const char *name,
    char *detail, size_t len)
{
	const struct kobj	*o;
	json_t			*sel;
	int			 total = 0, ready = 0;

	if ((o = engine_kind_get(e, "Service", ns, name)) == NULL ||
	    !json_is_object(sel = kobj_at(o, "spec.selector")) ||
	    json_object_size(sel) == 0)
		return 0;
	if (engine_service_endpoints(e, ns, name, &total, &ready) == 0) {
		if (ready == 0)
			return 0;
		snprintf(detail, len, "Service %s/%s: %d/%d endpoints ready",
		    ns, name, ready, total);
		return 1;
	}
	engine_selected_pods(e, ns, sel, &total, &ready);
	if (ready == 0)
		return 0;
	snprintf(detail, len, "Service %s/%s: %d/%d selected pods ready (no "
	    "EndpointSlice cached)", ns, name, ready, total);
	return 1;
}

/*
 * Whether the target of v has rolled out the generation the PATCH produced
 * (gen, 0 for a Pod) and is healthy, by kind; detail says what was seen.
 *   Deployment   observedGeneration >= generation, every replica updated
 *                and available (kdeployment_healthy)
 *   StatefulSet  observedGeneration >= generation, currentRevision ==
 *                updateRevision, readyReplicas == replicas
 *   DaemonSet    observedGeneration >= generation, updatedNumberScheduled
 *                == numberAvailable == desiredNumberScheduled
 *   Pod          condition Ready True, not being deleted
 *   Service      a ready endpoint: from its EndpointSlices when any is
 *                cached, else a pod its selector matches with condition
 *                Ready True (as the service analyzer decides)
 */
static int
target_healthy(struct engine *e, const struct verify *v, char *detail,
    size_t len)
{
	const struct kdeployment	*d;
	const struct kobj		*o;
	const struct kpod		*p;
	const char			*cur, *upd;
	int64_t				 want, ready, avail, updated;

	if (strcmp(v->kind, "Deployment") == 0) {
		d = engine_cache_get(e, e->deps, v->ns, v->name);
		if (d == NULL || d->m.generation < v->generation ||
		    !kdeployment_healthy(d))
			return 0;
		snprintf(detail, len, "Deployment %s/%s: %d/%d replicas "
		    "available at generation %lld", v->ns, v->name,
		    d->available, d->replicas, (long long)d->m.generation);
		return 1;
	}
	if (strcmp(v->kind, "StatefulSet") == 0) {
		if ((o = engine_kind_get(e, v->kind, v->ns, v->name)) == NULL ||
		    o->m.generation < v->generation ||
		    kint(o, "status.observedGeneration", 0) < o->m.generation)
			return 0;
		cur = json_string_value(kobj_at(o, "status.currentRevision"));
		upd = json_string_value(kobj_at(o, "status.updateRevision"));
		want = kint(o, "spec.replicas", 1);
		ready = kint(o, "status.readyReplicas", 0);
		if (cur == NULL || upd == NULL || strcmp(cur, upd) != 0 ||
		    ready != want)
			return 0;
		snprintf(detail, len, "StatefulSet %s/%s: %lld/%lld replicas "
		    "ready on revision %s at generation %lld", v->ns, v->name,
		    (long long)ready, (long long)want, upd,
		    (long long)o->m.generation);
		return 1;
	}
	if (strcmp(v->kind, "DaemonSet") == 0) {
		if ((o = engine_kind_get(e, v->kind, v->ns, v->name)) == NULL ||
		    o->m.generation < v->generation ||
		    kint(o, "status.observedGeneration", 0) < o->m.generation)
			return 0;
		want = kint(o, "status.desiredNumberScheduled", 0);
		avail = kint(o, "status.numberAvailable", 0);
		updated = kint(o, "status.updatedNumberScheduled", 0);
		if (updated != want || avail != want)
			return 0;
		snprintf(detail, len, "DaemonSet %s/%s: %lld/%lld pods updated "
		    "and available at generation %lld", v->ns, v->name,
		    (long long)avail, (long long)want,
		    (long long)o->m.generation);
		return 1;
	}
	if (strcmp(v->kind, "Pod") == 0) {
		p = engine_cache_get(e, e->pods, v->ns, v->name);
		if (p == NULL || !p->ready || p->deleting)
			return 0;
		snprintf(detail, len, "Pod %s/%s: Ready", v->ns, v->name);
		return 1;
	}
	if (strcmp(v->kind, "Service") == 0)
		return service_ready(e, v->ns, v->name, detail, len);
	return 0;	/* no health check for this kind: not-recovered */
}

/*
 * An applied action is verified once its target has rolled out the
 * generation the PATCH produced and is healthy (target_healthy()) and no
 * pod of its incident is still broken; past verify_timeout it is not-recovered,
 * and the operator is offered the rollback.  A verdict of not-recovered is
 * never drawn from caches that may be behind: while a pods or Deployments
 * watch is restarting it waits, up to VERIFY_STALE_MS more.
 */
void
engine_verify_tick(struct engine *e, int64_t now)
{
	struct verify		**vp = &e->verifying, *v;
	char			  detail[512];
	int			  done;

	if (now >= e->sweep_at && !e->stopping &&
	    !slice_pending(&e->psweep)) {
		e->sweep_at = now + SWEEP_MS;
		free(e->pend_ids);
		e->pend_n = e->pend_at = 0;
		if ((e->pend_ids = store_action_ids(e->store, ACTION_PENDING,
		    &e->pend_n)) != NULL && e->pend_n > 0)
			slice_run(&e->psweep);
	}
	while ((v = *vp) != NULL) {
		done = 0;
		if (v->resolve) {
			if (now >= v->deadline) {
				*vp = v->next;
				if (!e->stopping)
					start(e, v->action_id, ACTION_APPLYING,
					    got_object_recovering);
				verify_free(v);
				continue;
			}
			vp = &v->next;
			continue;
		}
		if (target_healthy(e, v, detail, sizeof(detail)) &&
		    !incident_has_pods(e, v->incident_id)) {
			if (store_action_verified(e->store, v->action_id,
			    detail) == STORE_OK) {
				told(e, v->action_id, ACTION_VERIFIED);
				log_notice("action %lld verified: %s",
				    (long long)v->action_id, detail);
			}
			done = 1;
		} else if (now >= v->deadline && !caches_current(e, v->kind) &&
		    now < v->deadline + VERIFY_STALE_MS) {
			/* the cache may be behind the cluster: no verdict
			 * from it until the watches run again */
			if (!v->waited)
				log_info("action %lld: verify_timeout passed "
				    "while a pod or Deployment watch is "
				    "restarting; the verdict waits for it",
				    (long long)v->action_id);
			v->waited = 1;
		} else if (now >= v->deadline) {
			snprintf(detail, sizeof(detail), "%s/%s did not "
			    "recover within %llds; to undo the change: "
			    "remedyctl rollback %lld", v->ns, v->name,
			    (long long)(e->cfg->verify_timeout_ms / 1000),
			    (long long)v->action_id);
			if (store_action_not_recovered(e->store, v->action_id,
			    detail) == STORE_OK) {
				told(e, v->action_id, ACTION_NOT_RECOVERED);
				log_warnx("action %lld not recovered: %s",
				    (long long)v->action_id, detail);
			}
			done = 1;
		}
		if (done) {
			*vp = v->next;
			verify_free(v);
		} else
			vp = &v->next;
	}
}

/*
 * Pick up where a previous run stopped: applying actions are resolved
 * against the cluster (see the top of this file); applied ones are
 * verified again; approved ones are applied.
 */
void
engine_recover(struct engine *e)
{
	struct store_action	 act;
	int64_t			*ids;
	size_t			 n, i;

	if ((ids = store_action_ids(e->store, ACTION_APPLYING, &n)) != NULL) {
		for (i = 0; i < n; i++) {
			log_warnx("action %lld was being applied when remedyd "
			    "stopped; resolving it against the cluster",
			    (long long)ids[i]);
			start(e, ids[i], ACTION_APPLYING,
			    got_object_recovering);
		}
		free(ids);
	}
	if ((ids = store_action_ids(e->store, ACTION_APPLIED, &n)) != NULL) {
		for (i = 0; i < n; i++) {
			if (store_action_get(e->store, ids[i], &act) != STORE_OK)
				continue;
			verify_add(e, act.id, act.incident_id, act.kind,
			    act.namespace, act.name, 0, 0,
			    e->cfg->verify_timeout_ms);
			store_action_clear(&act);
		}
		free(ids);
	}
	if ((ids = store_action_ids(e->store, ACTION_APPROVED, &n)) != NULL) {
		for (i = 0; i < n; i++)
			engine_apply(e, ids[i]);
		free(ids);
	}
}

void
engine_verify_free(struct engine *e)
{
	struct verify *v;

	while ((v = e->verifying) != NULL) {
		e->verifying = v->next;
		verify_free(v);
	}
	free(e->pend_ids);
	e->pend_ids = NULL;
	e->pend_n = e->pend_at = 0;
}

/*
 * agent.c - a fix proposed by an agent (the control command propose,
 * spoken by `remedyctl mcp`) goes through exactly the pipeline of
 * remedyd's own diagnoses (diagnosis.c propose()):
 *
 *   1. the incident: the one named, or the open incident whose root owner
 *	is the target; an agent proposes fixes for what remedyd sees broken,
 *	nothing else;
 *   2. the policy wall on the patch as proposed (a JSON Patch), with the
 *	incident's root owner as the owner: a refusal is stored as a refused
 *	action carrying the rule, and the target is never read;
 *   3. a GET of the target, and normalisation against it (normalize.h:
 *	`test` operations on every value replaced and on
 *	/metadata/generation, the inverse, the action-id stamp);
 *   4. the policy wall again, on the normalised patch;
 *   5. when registries.enabled, the registry check of every container
 *	image the patch writes (a HEAD of its manifest, one after the
 *	other): an image the registry does not have refuses the proposal
 *	(rule registry-image-missing, as for remedyd's own fixes), one it
 *	could not confirm is let through with an evidence line saying so;
 *   6. the server-side dry-run (engine_dryrun), then the store: pending,
 *	or refused with the API server's answer.
 *
 * The agent's summary and rationale are stored and shown as data; nothing
 * in them is read for meaning.  The target's namespace and name must be
 * DNS names, so they cannot change the API path they are put in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/normalize.h"
#include "action/policy.h"
#include "action/proposal.h"
#include "action/remedies/remedies.h"
#include "base/log.h"
#include "base/proto.h"
#include "base/util.h"
#include "engine_int.h"
#include "registry/pull.h"
#include "registry/registry.h"

#define AGENT_MAX_DNS	253

/* One proposal in flight: the GET of the target, then the dry-run. */
struct agent_job {
	struct engine		*e;
	struct proposal		 p;	/* p.kind/ns/name point into kind.. */
	char			 kind[64], ns[AGENT_MAX_DNS + 1],
				 name[AGENT_MAX_DNS + 1];
	json_t			*proposed;	/* the patch as the agent sent it */
	int64_t			 incident_id;
	char			 owner_kind[64], owner_ns[AGENT_MAX_DNS + 1],
				 owner_name[AGENT_MAX_DNS + 1];
	char			*proposer, *client, *rationale;
	long			 proposer_uid;
	agent_done_fn		 done;
	void			*arg;
	/* the registry check: the images the patch writes, the next one */
	json_t			*images;
	size_t			 image_at;
	struct reg_budget	 budget;
	struct agent_job	*prev, *next;	/* e->agent_checks */
};

/* A DNS subdomain (RFC 1123): lower-case letters, digits, '-' and '.'. */
static int
dns_name(const char *s)
{
	size_t	i, n = s ? strlen(s) : 0;

	if (n == 0 || n > AGENT_MAX_DNS)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || ((s[i] == '-' || s[i] == '.') && i > 0 &&
		    i < n - 1)))
			return 0;
	return 1;
}

static void
job_free(struct agent_job *j)
{
	proposal_clear(&j->p);
	json_decref(j->proposed);
	json_decref(j->images);
	free(j->proposer);
	free(j->client);
	free(j->rationale);
	free(j);
}

static void
job_origin(const struct agent_job *j, struct engine_origin *o)
{
	o->origin = STORE_ORIGIN_AGENT;
	o->proposer = j->proposer;
	o->proposer_uid = j->proposer_uid;
	o->client = j->client;
	o->rationale = j->rationale;
}

/* The answer, once; frees j. */
static void
job_end(struct agent_job *j, int64_t id, int code, const char *msg)
{
	j->done(j->arg, id, code, msg);
	job_free(j);
}

/* Store the proposal as refused by rule of check (the policy, the
 * registry check); answer with the stored action. */
static void
job_refuse(struct agent_job *j, const char *check, const char *rule,
    const char *message)
{
	struct engine_origin	 o;
	char			 reason[1200];
	int64_t			 id;

	snprintf(reason, sizeof(reason), "refused by %s (%s): %s", check,
	    rule, message);
	job_origin(j, &o);
	if (j->p.patch == NULL && json_is_array(j->proposed))
		j->p.patch = json_incref(j->proposed);
	if (j->p.summary[0] == '\0')
		snprintf(j->p.summary, sizeof(j->p.summary), "agent proposal "
		    "for %s %.200s/%.200s", j->kind, j->ns, j->name);
	id = engine_refuse_as(j->e, &j->p, j->incident_id, rule, reason, &o);
	if (id == 0)
		job_end(j, 0, PROTO_EINTERNAL, "store: cannot store the refused "
		    "proposal");
	else
		job_end(j, id, PROTO_OK, NULL);
}

/* The policy wall: 1 when it refused (and j was answered). */
static int
job_wall(struct agent_job *j, json_t *patch, json_t *result)
{
	struct policy_request	 r;
	struct policy_verdict	 v;

	memset(&r, 0, sizeof(r));
	r.kind = j->kind;
	r.ns = j->ns;
	r.name = j->name;
	r.verb = "patch";
	r.patch = patch;
	r.result = result;
	r.owner_kind = j->owner_kind;
	r.owner_ns = j->owner_ns;
	r.owner_name = j->owner_name;
	if (policy_check(&j->e->cfg->policy, &r, &v) == 0)
		return 0;
	job_refuse(j, "the policy", v.rule, v.message);
	return 1;
}

static void
job_stored(void *arg, int64_t id, const char *state)
{
	struct agent_job	*j = arg;

	if (id == 0)
		job_end(j, 0, PROTO_EINTERNAL, "store: cannot store the "
		    "proposal");
	else
		job_end(j, id, PROTO_OK, NULL);
}

/* The dry-run, and the store; j is answered either way. */
static void
job_dryrun(struct agent_job *j)
{
	struct engine_origin	 o;

	job_origin(j, &o);
	if (engine_dryrun(j->e, &j->p, j->incident_id, "agent", &o,
	    job_stored, j) == -1)
		job_end(j, 0, PROTO_EINTERNAL, "cannot start the dry-run");
	/* else j is answered and freed by job_stored */
}

static void	check_next(struct agent_job *);
static void	check_done(struct agent_job *);

/* The registry's answer about j->images[j->image_at]. */
static void
on_image_checked(const struct reg_answer *a, void *arg)
{
	struct agent_job	*j = arg;
	struct engine		*e = j->e;
	const char		*img = json_string_value(json_array_get(
				    j->images, j->image_at));
	char			 why[1024];

	if (a->status == REG_TAG_UNKNOWN || a->status == REG_REPO_UNKNOWN) {
		snprintf(why, sizeof(why), "the proposed image %s does not "
		    "exist: %s", img, a->message);
		json_array_append_new(j->p.evidence, json_sprintf("registry: "
		    "proposed image %s: %s (%s)", img,
		    reg_status_name(a->status), a->message));
		check_done(j);
		job_refuse(j, "the registry check", "registry-image-missing",
		    why);
		engine_check_drained(e);
		return;
	}
	if (a->status == REG_OK)
		json_array_append_new(j->p.evidence, json_sprintf("registry: "
		    "the proposed image %s exists%s%s", img, a->digest[0] ?
		    ", digest " : "", a->digest));
	else
		json_array_append_new(j->p.evidence, json_sprintf("registry: "
		    "the proposed image %s could not be confirmed: %s (%s)",
		    img, reg_status_name(a->status), a->message));
	j->image_at++;
	check_next(j);
}

/*
 * Ask the registry about the next image, or, when every one was asked
 * about, go on to the dry-run.  While a question is out j is on
 * e->agent_checks and counts in e->inflight, so a stop waits for it or
 * ends it (engine_agent_stop).
 */
static void
check_next(struct agent_job *j)
{
	struct engine	*e = j->e;
	struct imgref	 ref;
	const char	*img;
	char		 err[256];

	while ((img = json_string_value(json_array_get(j->images,
	    j->image_at))) != NULL) {
		if (imgref_parse(img, &ref, err, sizeof(err)) == -1) {
			check_done(j);
			job_refuse(j, "the registry check",
			    "registry-image-invalid", err);
			engine_check_drained(e);
			return;
		}
		if (registry_manifest(engine_registry(e), &ref, 0, &j->budget,
		    on_image_checked, j) == 0) {
			if (j->prev == NULL && e->agent_checks != j) {
				/* the first question: j waits from now on */
				j->next = e->agent_checks;
				if (j->next != NULL)
					j->next->prev = j;
				e->agent_checks = j;
				e->inflight++;
			}
			return;
		}
		j->image_at++;
	}
	check_done(j);
	job_dryrun(j);
	engine_check_drained(e);
}

/* j no longer waits for the registry (if it did). */
static void
check_done(struct agent_job *j)
{
	struct engine	*e = j->e;

	if (j->prev == NULL && e->agent_checks != j)
		return;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		e->agent_checks = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
	e->inflight--;
}

void
engine_agent_stop(struct engine *e)
{
	struct agent_job	*j;

	while ((j = e->agent_checks) != NULL) {
		registry_cancel(engine_registry(e), j);
		check_done(j);
		job_end(j, 0, PROTO_EINTERNAL, "remedyd is stopping");
	}
}

/* The target as read: normalise, the wall again, the registry check,
 * the dry-run. */
static void
job_got(const struct kube_resp *r, void *arg)
{
	struct agent_job	*j = arg;
	struct engine		*e = j->e;
	struct normalized	 nz;
	char			 why[512], msg[1400];

	e->inflight--;
	memset(&nz, 0, sizeof(nz));
	if (r->status == 404) {
		snprintf(msg, sizeof(msg), "%s %s/%s not found", j->kind,
		    j->ns, j->name);
		job_end(j, 0, PROTO_ENOTFOUND, msg);
		goto out;
	}
	if (r->status / 100 != 2 || !json_is_object(r->body)) {
		snprintf(msg, sizeof(msg), "cannot read %s %s/%s: %ld %s: %s",
		    j->kind, j->ns, j->name, r->status, r->reason, r->message);
		job_end(j, 0, PROTO_EINTERNAL, msg);
		goto out;
	}
	if (normalize_proposal(r->body, j->proposed, &nz, why,
	    sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "patch does not apply to %s %s/%s: "
		    "%s", j->kind, j->ns, j->name, why);
		job_end(j, 0, PROTO_EBADREQ, msg);
		goto out;
	}
	j->p.patch = nz.patch;
	j->p.changes = nz.changes;
	j->p.inverse = nz.inverse;
	nz.patch = nz.changes = nz.inverse = NULL;
	/* as propose() does: an object without annotations needs the stamp
	 * as an "add" of the whole map, known only from the object as read */
	if (!json_is_object(json_at(r->body, "metadata.annotations"))) {
		json_t *stamped = normalize_stamp(j->p.patch, r->body, 0);

		if (stamped != NULL) {
			json_decref(j->p.patch);
			j->p.patch = stamped;
		}
	}
	if (job_wall(j, j->p.patch, nz.result))
		goto out;
	j->p.proposed = json_incref(j->proposed);
	if (engine_registry(e) != NULL && !e->stopping) {
		if ((j->images = pull_patch_images(j->p.patch)) == NULL) {
			job_end(j, 0, PROTO_EINTERNAL, "out of memory");
			goto out;
		}
		j->budget.left = e->cfg->registries.max_requests;
		check_next(j);
	} else
		job_dryrun(j);
out:
	normalized_clear(&nz);
	engine_check_drained(e);
}

/*
 * The open incident whose root owner is kind ns/name, or 0: from the
 * engine's incidents in memory (the store's row is read, and its state
 * checked, by the caller), without rendering every open incident.
 */
static int64_t
find_incident(struct engine *e, const char *kind, const char *ns,
    const char *name)
{
	struct incident	*inc;
	size_t		 pos = 0;
	int64_t		 id = 0;

	while (incidents_next(&e->incs, &pos, &inc))
		if (inc->store_id > 0 && strcmp(inc->kind, kind) == 0 &&
		    strcmp(inc->ns, ns) == 0 && strcmp(inc->name, name) == 0 &&
		    (id == 0 || inc->store_id < id))
			id = inc->store_id;
	return id;
}

#define REFUSE(c, ...) do {						\
	*code = (c);							\
	snprintf(msg, msglen, __VA_ARGS__);				\
	goto fail;							\
} while (0)

int
engine_agent_propose(void *engine, const struct agent_fix *f,
    agent_done_fn done, void *arg, int *code, char *msg, size_t msglen)
{
	struct engine		*e = engine;
	struct agent_job	*j = NULL;
	struct store_incident	 inc;
	int			 rc, known;

	memset(&inc, 0, sizeof(inc));
	if (e->stopping)
		REFUSE(PROTO_EINTERNAL, "remedyd is stopping");
	if (!dns_name(f->ns) || !dns_name(f->name))
		REFUSE(PROTO_EBADREQ, "target namespace and name must be DNS "
		    "names (lower-case letters, digits, '-', '.')");
	if ((j = calloc(1, sizeof(*j))) == NULL)
		REFUSE(PROTO_EINTERNAL, "out of memory");
	j->e = e;
	j->done = done;
	j->arg = arg;
	snprintf(j->kind, sizeof(j->kind), "%s", f->kind);
	snprintf(j->ns, sizeof(j->ns), "%s", f->ns);
	snprintf(j->name, sizeof(j->name), "%s", f->name);
	j->p.kind = j->kind;
	j->p.ns = j->ns;
	j->p.name = j->name;
	/* a static string: the proposal outlives the request */
	j->p.risk = strcmp(f->risk, "high") == 0 ? "high" :
	    strcmp(f->risk, "medium") == 0 ? "medium" : "low";
	snprintf(j->p.summary, sizeof(j->p.summary), "%s", f->summary);
	j->proposed = json_incref(f->patch);
	j->proposer_uid = f->origin.proposer_uid;
	if ((j->proposer = strdup(f->origin.proposer)) == NULL ||
	    (f->origin.client != NULL && (j->client =
	    strdup(f->origin.client)) == NULL) ||
	    (f->origin.rationale != NULL && (j->rationale =
	    strdup(f->origin.rationale)) == NULL) ||
	    (j->p.evidence = json_array()) == NULL)
		REFUSE(PROTO_EINTERNAL, "out of memory");

	/* 1. the incident */
	j->incident_id = f->incident_id > 0 ? f->incident_id :
	    find_incident(e, j->kind, j->ns, j->name);
	if (j->incident_id == 0)
		REFUSE(PROTO_ENOTFOUND, "no open incident for %s %s/%s: an "
		    "agent proposes fixes only for incidents remedyd has open "
		    "(remedyctl incidents)", j->kind, j->ns, j->name);
	if ((rc = store_incident_get(e->store, j->incident_id, &inc)) ==
	    STORE_ENOTFOUND)
		REFUSE(PROTO_ENOTFOUND, "incident %lld not found",
		    (long long)j->incident_id);
	if (rc != STORE_OK)
		REFUSE(PROTO_EINTERNAL, "store: %s", store_errmsg(e->store));
	if (inc.state == NULL || strcmp(inc.state, "open") != 0)
		REFUSE(PROTO_EBADSTATE, "incident %lld is %s, not open",
		    (long long)j->incident_id, inc.state ? inc.state : "?");
	snprintf(j->owner_kind, sizeof(j->owner_kind), "%s",
	    inc.kind ? inc.kind : "");
	snprintf(j->owner_ns, sizeof(j->owner_ns), "%s",
	    inc.namespace ? inc.namespace : "");
	snprintf(j->owner_name, sizeof(j->owner_name), "%s",
	    inc.name ? inc.name : "");
	store_incident_clear(&inc);
	/* at the version discovery chose */
	known = remedy_api_path_at(j->kind, engine_kind_path(e, j->kind),
	    j->ns, j->name, j->p.api_path, sizeof(j->p.api_path));
	if (known == -2)
		REFUSE(PROTO_EBADREQ, "target namespace and name are too long");

	/* 2. the wall on the patch as proposed: before anything is read */
	if (json_is_array(j->proposed) && job_wall(j, j->proposed, NULL))
		return 0;
	if (known == -1) {
		/* a kind the wall allows but remedy cannot read */
		job_refuse(j, "the policy", POLICY_RULE_KIND, "remedy does not "
		    "patch this kind");
		return 0;
	}

	/* 3. the target as it is now */
	if (kube_get(e->kube, j->p.api_path, job_got, j) == NULL)
		REFUSE(PROTO_EINTERNAL, "cannot read %s %s/%s", j->kind, j->ns,
		    j->name);
	e->inflight++;
	log_info("agent proposal for %s %s/%s (incident %lld) by %s (uid "
	    "%ld): reading the target", j->kind, j->ns, j->name,
	    (long long)j->incident_id, j->proposer, j->proposer_uid);
	return 0;
fail:
	store_incident_clear(&inc);
	if (j != NULL)
		job_free(j);
	return -1;
}

/*
 * commands.c - the control commands remedyd answers (proto/control.md).
 *
 * Every handler checks its arguments first (names the field that is wrong),
 * then calls the store; store errors are mapped onto protocol codes in one
 * place (store_fail).  The actor of every decision is the peer the control
 * socket identified at accept, never anything the client sent.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/authz.h"
#include "base/log.h"
#include "base/pagetoken.h"
#include "base/proto.h"
#include "base/util.h"
#include "commands.h"
#include "store/policy_gate.h"

#ifndef REMEDY_VERSION
#define REMEDY_VERSION	"unknown"
#endif

#define CMD_MAX_REASON		1024	/* bytes of a reject reason */
#define CMD_MAX_COMMENT		1024	/* bytes of an approve comment */
#define CMD_MAX_NAMESPACE	253	/* a DNS subdomain */
#define CMD_MAX_TIME		64	/* bytes of a "since" string */
#define CMD_MAX_LIMIT		1000000	/* list, incidents: more is "no
					 * limit" */
#define CMD_MAX_SUMMARY		200	/* bytes of an agent's summary */
#define CMD_MAX_PATCH		(32 * 1024)	/* bytes of an agent's patch */
#define CMD_MAX_KIND		63

static const char *const action_states[] = {
	ACTION_PROPOSED, ACTION_PENDING, ACTION_REFUSED, ACTION_APPROVED,
	ACTION_APPLYING, ACTION_APPLIED, ACTION_VERIFIED, ACTION_NOT_RECOVERED,
	ACTION_FAILED, ACTION_REJECTED, ACTION_EXPIRED, ACTION_SUPERSEDED,
};

static const char *const incident_states[] = { "open", "resolved" };
static const char *const risks[] = { "low", "medium", "high" };


#define FAIL(c, ...) do {						\
	*code = (c);							\
	snprintf(msg, msglen, __VA_ARGS__);				\
	goto out;							\
} while (0)

/* A positive integer field; absent is an error only when required. */
static int
arg_id(json_t *args, const char *field, int required, int64_t *id,
    char *msg, size_t msglen)
{
	json_t	*v = json_object_get(args, field);

	*id = 0;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(msg, msglen, "missing field \"%s\"", field);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		snprintf(msg, msglen, "field \"%s\" must be a positive integer",
		    field);
		return -1;
	}
	*id = json_integer_value(v);
	return 0;
}

/*
 * A string field of at most max bytes, without NUL bytes.  *out is NULL
 * when an optional field is absent or null; a required field must be
 * present and non-empty.
 */
static int
arg_str(json_t *args, const char *field, int required, size_t max,
    const char **out, char *msg, size_t msglen)
{
	json_t	*v = json_object_get(args, field);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(msg, msglen, "missing field \"%s\"", field);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(msg, msglen, "field \"%s\" must be a string", field);
		return -1;
	}
	if (json_string_length(v) > max) {
		snprintf(msg, msglen, "field \"%s\" is longer than %zu bytes",
		    field, max);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, msglen, "field \"%s\" contains a NUL byte", field);
		return -1;
	}
	if (required && json_string_length(v) == 0) {
		snprintf(msg, msglen, "field \"%s\" must not be empty", field);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The value must be one of a fixed list; the message lists them. */
static int
arg_enum(const char *field, const char *v, const char *const *list,
    size_t n, char *msg, size_t msglen)
{
	size_t	i, off;
	int	w;

	if (v == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return 0;
	w = snprintf(msg, msglen, "field \"%s\": unknown value \"%.64s\" "
	    "(one of", field, v);
	off = w > 0 ? (size_t)w : 0;
	for (i = 0; i < n && off < msglen; i++) {
		w = snprintf(msg + off, msglen - off, "%s %s", i ? "," : "",
		    list[i]);
		off += w > 0 ? (size_t)w : 0;
	}
	if (off < msglen)
		snprintf(msg + off, msglen - off, ")");
	return -1;
}

/*
 * Map a store error for action id onto a protocol code and message.  For
 * EBADSTATE the action's current state is read back so the message says
 * what it is ("action 3 is applied, not pending").
 */
static void
store_fail(struct cmd_ctx *cx, int rc, int64_t id, const char *want,
    int *code, char *msg, size_t msglen)
{
	struct store_action	a;

	switch (rc) {
	case STORE_ENOTFOUND:
		*code = PROTO_ENOTFOUND;
		snprintf(msg, msglen, "no action %lld", (long long)id);
		break;
	case STORE_EBADSTATE:
		*code = PROTO_EBADSTATE;
		memset(&a, 0, sizeof(a));
		if (store_action_get(cx->store, id, &a) == STORE_OK &&
		    a.state != NULL)
			snprintf(msg, msglen, "action %lld is %s, not %s",
			    (long long)id, a.state, want);
		else
			snprintf(msg, msglen, "action %lld is not %s",
			    (long long)id, want);
		store_action_clear(&a);
		break;
	case STORE_EINVAL:
		*code = PROTO_EBADREQ;
		snprintf(msg, msglen, "%s", store_errmsg(cx->store));
		break;
	default:
		*code = PROTO_EINTERNAL;
		snprintf(msg, msglen, "store: %s", store_errmsg(cx->store));
		break;
	}
}

/*
 * How many approvers action id needs: 2 for risk high under the
 * two-person rule, else 1; a negative store error when it cannot be read.
 */
static int
approvals_required(struct cmd_ctx *cx, int64_t id)
{
	struct store_action	a;
	int			rc, n = 1;

	if (!cx->two_person)
		return 1;
	memset(&a, 0, sizeof(a));
	if ((rc = store_action_get(cx->store, id, &a)) != STORE_OK)
		return rc;
	if (a.risk != NULL && strcmp(a.risk, "high") == 0)
		n = 2;
	store_action_clear(&a);
	return n;
}

/* {"action": full action} for id, or NULL with the error set. */
static json_t *
action_result(struct cmd_ctx *cx, int64_t id, int *code, char *msg,
    size_t msglen)
{
	struct store_action	 a;
	json_t			*v, *d, *res = NULL;
	int			 rc;

	memset(&a, 0, sizeof(a));
	if ((rc = store_action_get(cx->store, id, &a)) != STORE_OK) {
		store_fail(cx, rc, id, "", code, msg, msglen);
		goto out;
	}
	if ((v = store_action_json(&a)) == NULL)
		FAIL(PROTO_EINTERNAL, "cannot render action %lld",
		    (long long)id);
	/* The diagnosis behind it: backend, model, tokens. */
	if ((d = store_diagnosis_json(cx->store, a.incident_id)) != NULL)
		json_object_set_new(v, "diagnosis", d);
	res = json_pack("{s:o}", "action", v);
out:
	store_action_clear(&a);
	return res;
}

/* store_state_counts() into an object of the known states (0 when none). */
static void
count_state(const char *state, int64_t n, void *arg)
{
	if (json_object_get(arg, state) != NULL)
		json_object_set_new(arg, state, json_integer((json_int_t)n));
}

/*
 * What the daemon is doing.  Counts come from one GROUP BY each: status is
 * what a prober asks every few seconds, in a storm too.
 */
static json_t *
cmd_status(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx		*cx = ctx;
	struct engine_diag_counts dc;
	json_t			*res = NULL, *counts = NULL, *incs = NULL;
	size_t			 i;

	if ((counts = json_object()) == NULL ||
	    (incs = json_pack("{s:I}", "open", (json_int_t)0)) == NULL)
		FAIL(PROTO_EINTERNAL, "out of memory");
	for (i = 0; i < NELEM(action_states); i++)
		json_object_set_new(counts, action_states[i], json_integer(0));
	if (store_state_counts(cx->store, "actions", count_state, counts) !=
	    STORE_OK || store_state_counts(cx->store, "incidents",
	    count_state, incs) != STORE_OK)
		FAIL(PROTO_EINTERNAL, "store: %s", store_errmsg(cx->store));
	memset(&dc, 0, sizeof(dc));
	if (cx->diag_counts != NULL)
		cx->diag_counts(cx->arg, &dc);
	res = json_pack("{s:s, s:I, s:I, s:b, s:O, s:O, s:b, s:{s:I, s:s, "
	    "s:s}, s:{s:I, s:I, s:I, s:i, s:i}}",
	    "version", REMEDY_VERSION,
	    "pid", (json_int_t)getpid(),
	    "uptime_s", (json_int_t)((now_ms() - cx->started_ms) / 1000),
	    "synced", cx->synced ? cx->synced(cx->arg) != 0 : 0,
	    "incidents_open", json_object_get(incs, "open"),
	    "actions", counts,
	    "two_person", cx->two_person,
	    "you", "uid", (json_int_t)peer->uid, "user", peer->user,
	    "role", authz_role_name(peer->role),
	    "diagnoses", "running", (json_int_t)dc.running,
	    "queued", (json_int_t)dc.queued,
	    "waiting", (json_int_t)dc.waiting,
	    "max_concurrent", dc.max_concurrent,
	    "max_queued", dc.max_queued);
	if (res == NULL)
		FAIL(PROTO_EINTERNAL, "out of memory");
out:
	json_decref(counts);
	json_decref(incs);
	return res;
}

/*
 * A page of a paged command (list, incidents; proto/control.md "Paging"):
 * the rows in state and namespace (either may be NULL) below the continue
 * token's id, at most limit (0: all, up to the store's cap).  The filters
 * are part of the token, so a token is refused with other filters.
 */
struct page {
	const char	*state, *ns;
	int64_t		 before;
	int64_t		 limit;
	char		 filter[2 * CMD_MAX_NAMESPACE];
};

static int
arg_page(json_t *args, const char *cmd, const char *const *states,
    size_t nstates, struct page *pg, char *msg, size_t msglen)
{
	const char	*tok, *state, *ns;
	char		 err[400];

	memset(pg, 0, sizeof(*pg));
	if (arg_str(args, "state", 0, 32, &state, msg, msglen) == -1 ||
	    arg_enum("state", state, states, nstates, msg, msglen) == -1 ||
	    arg_str(args, "namespace", 0, CMD_MAX_NAMESPACE, &ns, msg,
	    msglen) == -1 ||
	    arg_id(args, "limit", 0, &pg->limit, msg, msglen) == -1 ||
	    arg_str(args, "continue", 0, PAGETOKEN_MAX, &tok, msg,
	    msglen) == -1)
		return -1;
	if (ns != NULL && *ns == '\0')
		ns = NULL;
	pg->state = state;
	pg->ns = ns;
	snprintf(pg->filter, sizeof(pg->filter), "%s%s%s%s",
	    state ? "state=" : "", state ? state : "",
	    state && ns ? "," : "", ns ? "namespace=" : "");
	if (ns != NULL)
		snprintf(pg->filter + strlen(pg->filter), sizeof(pg->filter) -
		    strlen(pg->filter), "%s", ns);
	if (pg->limit > CMD_MAX_LIMIT)
		pg->limit = CMD_MAX_LIMIT;
	if (tok != NULL && *tok != '\0' && pagetoken_decode(tok, cmd,
	    pg->filter, &pg->before, err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "field \"continue\": %s", err);
		return -1;
	}
	return 0;
}

/*
 * The answer {key: page, "total": total, "continue"?}: the page as read
 * (one row past the limit, if there is one; stolen) cut to the limit,
 * with "continue" when a row was left.  NULL on ENOMEM.
 */
static json_t *
page_answer(const char *key, json_t *list, int64_t total, const char *cmd,
    const struct page *pg)
{
	json_t	*res;
	char	 tok[PAGETOKEN_MAX];
	size_t	 n = json_array_size(list);

	if ((res = json_pack("{s:o, s:I}", key, list, "total",
	    (json_int_t)total)) == NULL)
		return NULL;
	if (pg->limit <= 0 || n <= (size_t)pg->limit)
		return res;
	while (n > (size_t)pg->limit)
		json_array_remove(list, --n);
	if (pagetoken_encode(cmd, json_int_at(json_array_get(list, n - 1),
	    "id", 0), pg->filter, tok, sizeof(tok)) == -1 ||
	    json_object_set_new(res, "continue", json_string(tok)) == -1) {
		json_decref(res);
		return NULL;
	}
	return res;
}

static json_t *
cmd_list(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx	*cx = ctx;
	struct page	 pg;
	json_t		*list, *res = NULL;
	int64_t		 total;

	*code = PROTO_EBADREQ;
	if (arg_page(args, "list", action_states, NELEM(action_states), &pg,
	    msg, msglen) == -1)
		goto out;
	if ((total = store_action_count(cx->store, pg.state, pg.ns)) < 0 ||
	    (list = store_action_summaries_page(cx->store, pg.state, pg.ns,
	    pg.before, pg.limit ? (int)pg.limit + 1 : 0)) == NULL)
		FAIL(PROTO_EINTERNAL, "store: %s", store_errmsg(cx->store));
	if ((res = page_answer("actions", list, total, "list", &pg)) == NULL)
		FAIL(PROTO_EINTERNAL, "out of memory");
out:
	return res;
}

static json_t *
cmd_show(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	int64_t	id;

	if (arg_id(args, "id", 1, &id, msg, msglen) == -1) {
		*code = PROTO_EBADREQ;
		return NULL;
	}
	return action_result(ctx, id, code, msg, msglen);
}

/*
 * An action an agent proposed is never approved by the uid that proposed
 * it: a person running an agent under their own uid still needs a second
 * person.  The refusal is audited as "denied" with the reason.  1 when
 * refused (msg set).
 */
static int
own_proposal(struct cmd_ctx *cx, const struct control_peer *peer,
    int64_t id, char *msg, size_t msglen)
{
	struct store_actor	 who = { (long)peer->uid, peer->user };
	struct store_action	 a;
	int			 own;

	memset(&a, 0, sizeof(a));
	if (store_action_get(cx->store, id, &a) != STORE_OK)
		return 0;	/* approve reports it */
	own = a.origin != NULL && strcmp(a.origin, STORE_ORIGIN_AGENT) == 0 &&
	    a.proposer_uid == (long)peer->uid;
	store_action_clear(&a);
	if (!own)
		return 0;
	snprintf(msg, msglen, "permission denied: uid %lu (%s) proposed "
	    "action %lld as an agent and cannot approve it; another approver "
	    "must", (unsigned long)peer->uid, peer->user, (long long)id);
	log_notice("action %lld: %s", (long long)id, msg);
	if (store_audit_denied_why(cx->store, id, &who, "approve",
	    "an approver other than the proposer", "self-approval of an "
	    "agent's proposal") != STORE_OK)
		log_warnx("cannot audit a refused self-approval: %s",
		    store_errmsg(cx->store));
	return 1;
}

/*
 * pending -> approved, as the peer.  The applier is told only after the
 * store committed the transition, so a crash in between leaves an approved
 * row that recovery applies, never an applied action without approval.
 */
static json_t *
cmd_approve(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx		*cx = ctx;
	struct store_actor	 who = { (long)peer->uid, peer->user };
	const char		*comment;
	json_t			*res;
	int64_t			 id;
	int			 rc, required, have = 0;

	if (arg_id(args, "id", 1, &id, msg, msglen) == -1 ||
	    arg_str(args, "comment", 0, CMD_MAX_COMMENT, &comment, msg,
	    msglen) == -1) {
		*code = PROTO_EBADREQ;
		return NULL;
	}
	if (own_proposal(cx, peer, id, msg, msglen)) {
		*code = PROTO_EPERM;
		return NULL;
	}
	if (cx->policy != NULL && (rc = policy_gate_approve(cx->policy,
	    cx->store, id, &who, msg, msglen)) != 0) {
		*code = rc > 0 ? PROTO_EBADSTATE : PROTO_EINTERNAL;
		return NULL;
	}
	if ((required = approvals_required(cx, id)) < 0) {
		store_fail(cx, required, id, ACTION_PENDING, code, msg, msglen);
		return NULL;
	}
	if (required > 1) {
		rc = store_action_add_approval(cx->store, id, &who, comment,
		    required, &have);
		if (rc == STORE_EBADSTATE) {
			/* not pending, or the same approver twice */
			*code = PROTO_EBADSTATE;
			snprintf(msg, msglen, "%s", store_errmsg(cx->store));
			return NULL;
		}
		if (rc != STORE_OK) {
			store_fail(cx, rc, id, ACTION_PENDING, code, msg,
			    msglen);
			return NULL;
		}
		if (have < required) {
			log_notice("action %lld: approval %d of %d by %s "
			    "(uid %lu)", (long long)id, have, required,
			    peer->user, (unsigned long)peer->uid);
			if ((res = action_result(cx, id, code, msg, msglen)) !=
			    NULL)
				json_object_set_new(res, "approvals",
				    json_pack("{s:i, s:i}", "have", have,
				    "required", required));
			return res;
		}
	}
	if ((rc = store_action_approve(cx->store, id, &who, comment)) !=
	    STORE_OK) {
		store_fail(cx, rc, id, ACTION_PENDING, code, msg, msglen);
		return NULL;
	}
	log_notice("action %lld approved by %s (uid %lu)", (long long)id,
	    peer->user, (unsigned long)peer->uid);
	cmd_action_event(cx, id, ACTION_APPROVED);
	if (cx->approved != NULL)
		cx->approved(cx->arg, id);
	if ((res = action_result(cx, id, code, msg, msglen)) != NULL &&
	    required > 1)
		json_object_set_new(res, "approvals", json_pack("{s:i, s:i}",
		    "have", have, "required", required));
	return res;
}

static json_t *
cmd_reject(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx		*cx = ctx;
	struct store_actor	 who = { (long)peer->uid, peer->user };
	const char		*reason;
	int64_t			 id;
	int			 rc;

	if (arg_id(args, "id", 1, &id, msg, msglen) == -1 ||
	    arg_str(args, "reason", 1, CMD_MAX_REASON, &reason, msg,
	    msglen) == -1) {
		*code = PROTO_EBADREQ;
		return NULL;
	}
	if ((rc = store_action_reject(cx->store, id, &who, reason)) !=
	    STORE_OK) {
		store_fail(cx, rc, id, ACTION_PENDING, code, msg, msglen);
		return NULL;
	}
	log_notice("action %lld rejected by %s (uid %lu)", (long long)id,
	    peer->user, (unsigned long)peer->uid);
	cmd_action_event(cx, id, ACTION_REJECTED);
	return action_result(cx, id, code, msg, msglen);
}

/*
 * applied, verified or not-recovered -> a new pending action holding the
 * inverse patch; it is approved like any other.  The result is the new
 * action, with "rollback_of" naming the original.
 */
static json_t *
cmd_rollback(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx		*cx = ctx;
	struct store_actor	 who = { (long)peer->uid, peer->user };
	json_t			*res;
	int64_t			 id, new_id = 0;
	int			 rc;

	if (arg_id(args, "id", 1, &id, msg, msglen) == -1) {
		*code = PROTO_EBADREQ;
		return NULL;
	}
	if ((rc = store_action_rollback(cx->store, id, &who, &new_id)) !=
	    STORE_OK) {
		store_fail(cx, rc, id, "applied, verified or not-recovered",
		    code, msg, msglen);
		return NULL;
	}
	log_notice("action %lld: rollback proposed as action %lld by %s "
	    "(uid %lu)", (long long)id, (long long)new_id, peer->user,
	    (unsigned long)peer->uid);
	cmd_action_event(cx, new_id, ACTION_PENDING);
	if ((res = action_result(cx, new_id, code, msg, msglen)) != NULL)
		json_object_set_new(res, "rollback_of", json_integer(id));
	return res;
}

/* No control characters (terminal escapes among them): an agent's text
 * is shown to the operator as it is.  lines allows newlines and tabs. */
static int
plain_text(const char *s, int lines)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && !(lines && (*s == '\n' ||
		    *s == '\t'))) || *s == 0x7f)
			return 0;
	return 1;
}

/* A propose waiting for the engine: the connection's deferred reply. */
struct propose_wait {
	struct cmd_ctx		*cx;
	struct control_reply	*reply;
};

static void
propose_done(void *arg, int64_t id, int code, const char *msg)
{
	struct propose_wait	*w = arg;
	json_t			*res = NULL;
	char			 m[CMD_MAX_COMMENT];
	int			 c = code;

	m[0] = '\0';
	if (id > 0) {
		res = action_result(w->cx, id, &c, m, sizeof(m));
		if (res != NULL)
			cmd_action_event(w->cx, id, json_str_at(
			    json_object_get(res, "action"), "state"));
	} else
		snprintf(m, sizeof(m), "%s", msg ? msg : "failed");
	control_reply_done(w->reply, res, c, m);
	free(w);
}

/*
 * An agent's fix: checked here (fields, the caps of the proposer), then
 * the engine runs it through normalisation, the policy wall and the
 * dry-run and stores it (agent.c); the reply, deferred until then, is the
 * stored action: pending, or refused with its rule.  The proposer is the
 * peer; the client is what it said in hello.
 */
static json_t *
cmd_propose(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx		*cx = ctx;
	struct store_actor	 who = { (long)peer->uid, peer->user };
	struct agent_fix	 f;
	struct propose_wait	*w = NULL;
	json_t			*target, *patch;
	const char		*rationale;
	char			*canon = NULL;
	int64_t			 pending = 0, recent = 0;

	memset(&f, 0, sizeof(f));
	*code = PROTO_EBADREQ;
	target = json_object_get(args, "target");
	patch = json_object_get(args, "patch");
	if (!json_is_object(target))
		FAIL(PROTO_EBADREQ, "field \"target\" must be an object "
		    "{\"kind\",\"namespace\",\"name\"}");
	if (arg_str(target, "kind", 1, CMD_MAX_KIND, &f.kind, msg,
	    msglen) == -1 ||
	    arg_str(target, "namespace", 1, CMD_MAX_NAMESPACE, &f.ns, msg,
	    msglen) == -1 ||
	    arg_str(target, "name", 1, CMD_MAX_NAMESPACE, &f.name, msg,
	    msglen) == -1 ||
	    arg_id(args, "incident", 0, &f.incident_id, msg, msglen) == -1 ||
	    arg_str(args, "summary", 1, CMD_MAX_SUMMARY, &f.summary, msg,
	    msglen) == -1 ||
	    arg_str(args, "rationale", 1, STORE_MAX_RATIONALE, &rationale,
	    msg, msglen) == -1 ||
	    arg_str(args, "risk", 1, 16, &f.risk, msg, msglen) == -1 ||
	    arg_enum("risk", f.risk, risks, NELEM(risks), msg, msglen) == -1)
		goto out;
	if (!plain_text(f.summary, 0) || !plain_text(rationale, 1))
		FAIL(PROTO_EBADREQ, "field \"%s\" contains control characters",
		    plain_text(f.summary, 0) ? "rationale" : "summary");
	if (!json_is_array(patch) && !json_is_object(patch))
		FAIL(PROTO_EBADREQ, "field \"patch\" must be a JSON Patch "
		    "(array) or a merge patch (object)");
	if ((canon = json_dumps(patch, JSON_COMPACT)) == NULL ||
	    strlen(canon) > CMD_MAX_PATCH)
		FAIL(PROTO_EBADREQ, "field \"patch\" is longer than %d bytes",
		    CMD_MAX_PATCH);
	if (cx->propose == NULL)
		FAIL(PROTO_EINTERNAL, "this remedyd takes no proposals");
	/* the caps, from the store: they hold across restarts */
	if (store_agent_counts(cx->store, (long)peer->uid, now_ms() - 60000,
	    &pending, &recent) != STORE_OK)
		FAIL(PROTO_EINTERNAL, "store: %s", store_errmsg(cx->store));
	if (pending >= cx->agent_pending || recent >= cx->agent_per_min) {
		snprintf(msg, msglen, "permission denied: uid %lu (%s) has %s "
		    "(control.%s %d); wait for a decision",
		    (unsigned long)peer->uid, peer->user, pending >=
		    cx->agent_pending ? "too many pending proposals" :
		    "proposed too often in the last minute", pending >=
		    cx->agent_pending ? "max_agent_pending" :
		    "max_agent_proposals_per_minute", pending >=
		    cx->agent_pending ? cx->agent_pending : cx->agent_per_min);
		*code = PROTO_EPERM;
		if (store_audit_denied_why(cx->store, 0, &who, "propose",
		    "fewer proposals", msg) != STORE_OK)
			log_warnx("cannot audit a capped proposal: %s",
			    store_errmsg(cx->store));
		goto out;
	}
	f.patch = patch;
	f.origin.origin = STORE_ORIGIN_AGENT;
	f.origin.proposer = peer->user;
	f.origin.proposer_uid = (long)peer->uid;
	f.origin.client = peer->client[0] ? peer->client : NULL;
	f.origin.rationale = rationale;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->reply = control_defer(peer)) == NULL)
		FAIL(PROTO_EINTERNAL, "out of memory");
	w->cx = cx;
	if (cx->propose(cx->arg, &f, propose_done, w, code, msg, msglen) ==
	    -1) {
		/* refused at once: answered through the deferred reply, which
		 * control.c sends when this handler returns */
		control_reply_done(w->reply, NULL, *code, msg);
		free(w);
	}
	w = NULL;
	*code = CONTROL_DEFERRED;
out:
	free(w);
	free(canon);
	return NULL;
}

/* Subscribe this connection to action events (control.c does the rest). */
static json_t *
cmd_watch(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	return json_pack("{s:b}", "watching", 1);
}

static json_t *
cmd_incidents(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx	*cx = ctx;
	struct page	 pg;
	json_t		*list, *res = NULL;
	int64_t		 total;

	*code = PROTO_EBADREQ;
	if (arg_page(args, "incidents", incident_states,
	    NELEM(incident_states), &pg, msg, msglen) == -1)
		goto out;
	if ((total = store_incident_count(cx->store, pg.state, pg.ns)) < 0 ||
	    (list = store_incidents_page_json(cx->store, pg.state, pg.ns,
	    pg.before, pg.limit ? (int)pg.limit + 1 : 0)) == NULL)
		FAIL(PROTO_EINTERNAL, "store: %s", store_errmsg(cx->store));
	if ((res = page_answer("incidents", list, total, "incidents",
	    &pg)) == NULL)
		FAIL(PROTO_EINTERNAL, "out of memory");
out:
	return res;
}

/* One incident with its findings, affected objects, counts and the ids of
 * its actions. */
static json_t *
cmd_incident(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx		*cx = ctx;
	struct store_incident	 inc;
	json_t			*o = NULL, *acts = NULL, *res = NULL, *st_v;
	int64_t			 id, *ids = NULL;
	size_t			 i, n;
	int			 rc;

	(void)peer;
	memset(&inc, 0, sizeof(inc));
	*code = PROTO_EBADREQ;
	if (arg_id(args, "id", 1, &id, msg, msglen) == -1)
		goto out;
	if ((rc = store_incident_get(cx->store, id, &inc)) == STORE_ENOTFOUND)
		FAIL(PROTO_ENOTFOUND, "incident %lld not found", (long long)id);
	if (rc != STORE_OK)
		FAIL(PROTO_EINTERNAL, "store: %s", store_errmsg(cx->store));
	ids = store_incident_actions(cx->store, id, NULL, &n);
	if ((o = store_incident_json(&inc)) == NULL ||
	    (acts = json_array()) == NULL)
		FAIL(PROTO_EINTERNAL, "out of memory");
	for (i = 0; i < n; i++)
		json_array_append_new(acts, json_integer(ids[i]));
	json_object_set_new(o, "actions", acts);
	acts = NULL;
	st_v = store_diagnosis_json(cx->store, id);
	json_object_set_new(o, "diagnosis", st_v ? st_v : json_null());
	res = json_pack("{s:o}", "incident", o);
	o = NULL;
out:
	json_decref(o);
	json_decref(acts);
	free(ids);
	store_incident_clear(&inc);
	return res;
}

/*
 * "since" as unix milliseconds (a JSON integer or a string of digits) or
 * RFC 3339 ("2026-11-27T03:00:00Z", fractions and +hh:mm offsets allowed).
 */
static int
parse_since(json_t *v, int64_t *ms, char *msg, size_t msglen)
{
	const char	*s, *p;
	struct tm	 tm;
	long long	 n;
	int		 oh, om, sign, used;
	char		*end;
	time_t		 t;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*ms = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) > CMD_MAX_TIME)
		goto bad;
	s = json_string_value(v);
	if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
		n = strtoll(s, &end, 10);
		if (*end != '\0' || n < 0 || n > INT64_MAX / 2)
			goto bad;
		*ms = n;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	used = 0;
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &used) != 6 || used != 19)
		goto bad;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		goto bad;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = s + used;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((t = timegm(&tm)) == (time_t)-1)
		goto bad;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		/* UTC */
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && p[3] == ':' &&
	    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) &&
	    p[6] == '\0') {
		sign = *p == '-' ? -1 : 1;
		oh = (p[1] - '0') * 10 + (p[2] - '0');
		om = (p[4] - '0') * 10 + (p[5] - '0');
		if (oh > 23 || om > 59)
			goto bad;
		t -= sign * (oh * 3600 + om * 60);
	} else
		goto bad;
	if (t < 0)
		goto bad;
	*ms = (int64_t)t * 1000;
	return 0;
bad:
	snprintf(msg, msglen, "field \"since\" must be RFC 3339 time "
	    "(2026-11-27T03:00:00Z) or unix milliseconds");
	return -1;
}

static json_t *
cmd_audit(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx	*cx = ctx;
	json_t		*since, *rows, *res = NULL;
	int64_t		 action = 0, since_ms = 0;

	*code = PROTO_EBADREQ;
	if (arg_id(args, "action", 0, &action, msg, msglen) == -1)
		goto out;
	since = json_object_get(args, "since");
	if (since != NULL && !json_is_null(since) &&
	    parse_since(since, &since_ms, msg, msglen) == -1)
		goto out;
	if ((rows = store_audit_json(cx->store, action, since_ms)) == NULL)
		FAIL(PROTO_EINTERNAL, "store: %s", store_errmsg(cx->store));
	res = json_pack("{s:o}", "rows", rows);
out:
	return res;
}

static json_t *
cmd_audit_verify(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct cmd_ctx	*cx = ctx;
	int64_t		 rows = 0, bad = 0;
	char		 why[256];
	int		 rc;

	why[0] = '\0';
	rc = store_audit_verify(cx->store, &rows, &bad, why, sizeof(why));
	if (rc == 0)
		return json_pack("{s:b, s:I}", "ok", 1, "rows",
		    (json_int_t)rows);
	if (rc == 1)
		return json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "rows",
		    (json_int_t)rows, "bad_seq", (json_int_t)bad, "why",
		    why[0] ? why : "hash mismatch");
	*code = PROTO_EINTERNAL;
	snprintf(msg, msglen, "store: %s", store_errmsg(cx->store));
	return NULL;
}

void
cmd_action_event(void *ctx, int64_t id, const char *state)
{
	struct cmd_ctx		*cx = ctx;
	struct store_action	 a;
	json_t			*v = NULL;

	cmd_before(cx);		/* nobody is told of an uncommitted row */
	memset(&a, 0, sizeof(a));
	if (store_action_get(cx->store, id, &a) != STORE_OK ||
	    (v = store_action_json(&a)) == NULL) {
		log_warnx("action %lld: cannot read it for watchers: %s",
		    (long long)id, store_errmsg(cx->store));
		goto out;
	}
	if (cx->control != NULL)
		control_broadcast(cx->control, state, v);
	if (cx->notify != NULL && (strcmp(state, ACTION_PENDING) == 0 ||
	    strcmp(state, ACTION_FAILED) == 0))
		notify_action(cx->notify, state, v);
out:
	json_decref(v);
	store_action_clear(&a);
}

void
cmd_before(void *ctx)
{
	struct cmd_ctx	*cx = ctx;

	if (store_batch_pending(cx->store) && store_flush(cx->store) !=
	    STORE_OK)
		log_warnx("%s", store_errmsg(cx->store));
}

void
cmd_denied(void *ctx, const struct control_peer *peer, const char *cmd,
    json_t *args)
{
	struct cmd_ctx		*cx = ctx;
	struct store_actor	 who = { (long)peer->uid, peer->user };
	const struct control_cmd *c;
	json_t			*v = json_object_get(args, "id");
	int64_t			 id = 0;

	if (json_is_integer(v) && json_integer_value(v) > 0)
		id = json_integer_value(v);
	for (c = remedyd_commands; c->name != NULL; c++)
		if (strcmp(c->name, cmd) == 0)
			break;
	if (store_audit_denied_why(cx->store, id, &who, cmd,
	    authz_role_name(c->name ? c->role : AUTHZ_APPROVER),
	    peer->agent && c->name && (c->flags & CONTROL_DECIDES) ?
	    "the connection said hello as an agent" : NULL) != STORE_OK)
		log_warnx("cannot audit a denied %s by uid %lu: %s", cmd,
		    (unsigned long)peer->uid, store_errmsg(cx->store));
}

const struct control_cmd remedyd_commands[] = {
	{ "status",	  cmd_status,		AUTHZ_VIEWER,	0 },
	{ "list",	  cmd_list,		AUTHZ_VIEWER,	0 },
	{ "show",	  cmd_show,		AUTHZ_VIEWER,	0 },
	{ "incidents",	  cmd_incidents,	AUTHZ_VIEWER,	0 },
	{ "incident",	  cmd_incident,		AUTHZ_VIEWER,	0 },
	{ "audit",	  cmd_audit,		AUTHZ_VIEWER,	0 },
	{ "audit-verify", cmd_audit_verify,	AUTHZ_VIEWER,	0 },
	{ "watch",	  cmd_watch,		AUTHZ_VIEWER,	CONTROL_STREAM },
	{ "propose",	  cmd_propose,		AUTHZ_PROPOSER,	0 },
	{ "approve",	  cmd_approve,		AUTHZ_APPROVER,	CONTROL_DECIDES },
	{ "reject",	  cmd_reject,		AUTHZ_APPROVER,	CONTROL_DECIDES },
	{ "rollback",	  cmd_rollback,		AUTHZ_APPROVER,	CONTROL_DECIDES },
	{ NULL,		  NULL,			0,		0 }
};

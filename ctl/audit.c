/*
 * audit.c - remedyctl's audit review: the audit log with its filters
 * (--since, --until, --actor, --event, --action, -n), a one-line summary
 * of each row, JSON Lines for a log pipeline, and "audit show ACTION",
 * one action's story from suggestion to verdict (and its rollback's).
 *
 * The daemon filters by action and --since; the other filters are applied
 * here, to the rows it sent.  -n asks the daemon which actions live in the
 * namespace ("list") and keeps their rows.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/proto.h"
#include "base/util.h"
#include "ctl.h"

#define AUDIT_DETAIL_LEN	80	/* bytes of an unknown row's detail */
#define AUDIT_MAX_ROLLBACKS	8	/* rollbacks told after an action */

/* --- times --- */

/*
 * RFC 3339 ("2026-11-27T03:00:00Z", "...T05:00:00.250+02:00") to unix ms,
 * strictly: the zone is required; -1 when s is not such a time.
 */
static int64_t
rfc3339_ms(const char *s)
{
	struct tm	 tm;
	const char	*p;
	int64_t		 frac = 0, scale = 100;
	int		 used = 0, oh, om;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &used) != 6 || used != 19 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = s + used;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return (int64_t)t * 1000 + frac;
	if ((*p != '+' && *p != '-') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || p[3] != ':' ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]) ||
	    p[6] != '\0')
		return -1;
	oh = (p[1] - '0') * 10 + (p[2] - '0');
	om = (p[4] - '0') * 10 + (p[5] - '0');
	if (oh > 23 || om > 59)
		return -1;
	t -= (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	return (int64_t)t * 1000 + frac;
}

/*
 * --since / --until: RFC 3339, unix ms, or an age ("90s", "15m", "1h",
 * "2d") counted back from now.  Unix ms, or a usage error naming opt.
 */
int64_t
audit_parse_time(const char *opt, const char *s)
{
	char		*end;
	long long	 v;
	int64_t		 ms;

	if (s != NULL && *s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && v >= 0 && end != s) {
			if (*end == '\0')
				return (int64_t)v;
			if (end[1] == '\0' && strchr("smhd", *end) != NULL &&
			    v <= 100LL * 365 * 86400) {
				ms = (int64_t)v * 1000;
				if (*end == 'm')
					ms *= 60;
				else if (*end == 'h')
					ms *= 3600;
				else if (*end == 'd')
					ms *= 86400;
				return now_ms() - ms;
			}
		}
		if ((ms = rfc3339_ms(s)) >= 0)
			return ms;
	}
	ctl_usage_error("audit: %s must be RFC 3339 time "
	    "(2026-11-27T03:00:00Z), unix milliseconds or an age (90s, 15m, "
	    "1h, 2d), not \"%s\"", opt, s ? s : "");
}

/* --- one-line summaries --- */

static const char *
str_or(json_t *o, const char *key, const char *def)
{
	const char	*s = json_str_at(o, key);

	return s != NULL && *s != '\0' ? s : def;
}

/* "200 OK", "422 Invalid: spec.replicas: must be ..." */
static void
answer_text(json_t *ans, char *buf, size_t len)
{
	const char	*reason = str_or(ans, "reason", NULL);
	const char	*msg = str_or(ans, "message", NULL);
	json_int_t	 status = json_int_at(ans, "status", 0);

	if (!json_is_object(ans)) {
		snprintf(buf, len, "no answer");
		return;
	}
	snprintf(buf, len, "%lld%s%s%s%s", (long long)status,
	    reason ? " " : "", reason ? reason : (status / 100 == 2 ? " OK" :
	    ""), msg ? ": " : "", msg ? msg : "");
}

/* A detail we have no words for: its compact JSON, cut. */
static void
raw_detail(json_t *d, char *buf, size_t len)
{
	char	*s;
	size_t	 max = len < AUDIT_DETAIL_LEN + 1 ? len : AUDIT_DETAIL_LEN + 1;

	if ((s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY)) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	if (strlen(s) >= max && max > 4)
		memcpy(s + max - 4, "...", 4);
	snprintf(buf, max, "%s", s);
	free(s);
}

void
audit_row_summary(json_t *row, char *buf, size_t len)
{
	json_t		*d = json_object_get(row, "detail");
	const char	*ev = str_or(row, "event", "?");
	const char	*c = str_or(d, "comment", NULL);
	const char	*model = str_or(d, "proposal.model", NULL);
	char		 ans[512];

	if (strcmp(ev, "suggested") == 0) {
		if (json_int_at(d, "rollback_of", 0) > 0)
			snprintf(buf, len, "rollback of action %lld proposed: %s",
			    (long long)json_int_at(d, "rollback_of", 0),
			    str_or(d, "summary", "-"));
		else if (str_or(d, "proposal.backend", NULL) != NULL)
			snprintf(buf, len, "%s%s%s proposed: %s",
			    str_or(d, "proposal.backend", "?"), model ? "/" :
			    "", model ? model : "", str_or(d, "summary", "-"));
		else
			snprintf(buf, len, "proposed: %s",
			    str_or(d, "summary", "-"));
	} else if (strcmp(ev, "approval") == 0)
		snprintf(buf, len, "approval %lld of %lld%s%s%s",
		    (long long)json_int_at(d, "approvals", 0),
		    (long long)json_int_at(d, "required", 0),
		    c ? ": \"" : "", c ? c : "", c ? "\"" : "");
	else if (strcmp(ev, "approved") == 0)
		snprintf(buf, len, "approved%s%s%s", c ? ": \"" : "",
		    c ? c : "", c ? "\"" : "");
	else if (strcmp(ev, "applying") == 0)
		snprintf(buf, len, "sending the patch");
	else if (strcmp(ev, "applied") == 0) {
		answer_text(json_object_get(d, "answer"), ans, sizeof(ans));
		snprintf(buf, len, "patch of %zu op(s) sent; API server: %s",
		    json_array_size(json_object_get(d, "patch")), ans);
	} else if (strcmp(ev, "failed") == 0) {
		if (json_is_object(json_object_get(d, "answer"))) {
			answer_text(json_object_get(d, "answer"), ans,
			    sizeof(ans));
			snprintf(buf, len, "failed: %s (API server: %s)",
			    str_or(d, "reason", "-"), ans);
		} else
			snprintf(buf, len, "failed: %s", str_or(d, "reason",
			    "-"));
	} else if (strcmp(ev, "verified") == 0)
		snprintf(buf, len, "recovered: %s", str_or(d, "detail", "-"));
	else if (strcmp(ev, "not-recovered") == 0)
		snprintf(buf, len, "not recovered: %s", str_or(d, "detail",
		    "-"));
	else if (strcmp(ev, "rollback-proposed") == 0)
		snprintf(buf, len, "rollback proposed as action %lld",
		    (long long)json_int_at(d, "rollback", 0));
	else if (strcmp(ev, "rolled-back") == 0)
		snprintf(buf, len, "undone by action %lld",
		    (long long)json_int_at(d, "rollback", 0));
	else if (strcmp(ev, "refused") == 0)
		snprintf(buf, len, "refused%s%s%s: %s",
		    str_or(d, "rule", NULL) ? " (" : "",
		    str_or(d, "rule", ""), str_or(d, "rule", NULL) ? ")" : "",
		    str_or(d, "reason", "-"));
	else if (strcmp(ev, "denied") == 0)
		snprintf(buf, len, "denied: %s needs role %s",
		    str_or(d, "command", "?"), str_or(d, "needs", "?"));
	else if (str_or(d, "reason", NULL) != NULL &&
	    json_object_size(d) == 1)
		snprintf(buf, len, "%s: %s", ev, str_or(d, "reason", "-"));
	else
		raw_detail(d, buf, len);
}

/* --- the audit log --- */

/* The ids of the actions in namespace ns, as an object keyed by id. */
static json_t *
namespace_actions(struct ctl *ctl, const char *ns, int *rc)
{
	json_t	*args, *res = NULL, *set, *a;
	size_t	 i;
	char	 key[32];

	if ((args = json_pack("{s:s}", "namespace", ns)) == NULL ||
	    (set = json_object()) == NULL) {
		json_decref(args);
		*rc = CTL_EXIT_REFUSED;
		return NULL;
	}
	*rc = ctl_request(ctl, "list", args, &res);
	json_decref(args);
	if (*rc != CTL_EXIT_OK) {
		json_decref(set);
		return NULL;
	}
	json_array_foreach(json_object_get(res, "actions"), i, a) {
		snprintf(key, sizeof(key), "%lld",
		    (long long)json_int_at(a, "id", 0));
		json_object_set_new(set, key, json_true());
	}
	json_decref(res);
	return set;
}

/* Every row on one line: compact JSON, keys sorted, hash fields kept. */
static int
out_json_lines(FILE *fp, json_t *rows)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(rows, i, r) {
		if (json_dumpf(r, fp, JSON_COMPACT | JSON_SORT_KEYS) == -1)
			return -1;
		fputc('\n', fp);
	}
	return 0;
}

int
ctl_audit_list(struct ctl *ctl, json_t *args)
{
	json_t		*req, *result = NULL, *rows, *r, *ids = NULL, *v;
	const char	*s, *actor, *event;
	int64_t		 until = -1;
	size_t		 i;
	char		 key[32];
	int		 rc = CTL_EXIT_OK;

	/* the daemon's audit takes action and since; the rest is ours */
	if ((req = json_object()) == NULL)
		return CTL_EXIT_REFUSED;
	if ((v = json_object_get(args, "action")) != NULL)
		json_object_set(req, "action", v);
	if ((s = json_string_value(json_object_get(args, "since"))) != NULL)
		json_object_set_new(req, "since", json_integer(
		    audit_parse_time("--since", s)));
	if ((s = json_string_value(json_object_get(args, "until"))) != NULL)
		until = audit_parse_time("--until", s);
	actor = json_string_value(json_object_get(args, "actor"));
	event = json_string_value(json_object_get(args, "event"));
	if ((s = json_string_value(json_object_get(args, "namespace"))) !=
	    NULL && (ids = namespace_actions(ctl, s, &rc)) == NULL)
		goto out;
	if ((rc = ctl_request(ctl, "audit", req, &result)) != CTL_EXIT_OK)
		goto out;
	rows = json_object_get(result, "rows");
	for (i = json_array_size(rows); i-- > 0;) {
		r = json_array_get(rows, i);
		snprintf(key, sizeof(key), "%lld",
		    (long long)json_int_at(r, "action_id", 0));
		if ((until >= 0 && json_int_at(r, "time_ms", 0) > until) ||
		    (actor != NULL && (json_str_at(r, "actor") == NULL ||
		    strcmp(json_str_at(r, "actor"), actor) != 0)) ||
		    (event != NULL && (json_str_at(r, "event") == NULL ||
		    strcmp(json_str_at(r, "event"), event) != 0)) ||
		    (ids != NULL && json_object_get(ids, key) == NULL))
			json_array_remove(rows, i);
	}
	if (ctl->format == CTL_JSON) {
		if (out_json_lines(stdout, rows) == -1)
			rc = CTL_EXIT_REFUSED;
	} else if (!ctl_machine_output(ctl, result, &rc))
		out_audit(stdout, result);
out:
	json_decref(ids);
	json_decref(result);
	json_decref(req);
	return rc;
}

/* --- audit show ACTION --- */

struct story {
	json_t	*action;	/* show's "action" */
	json_t	*rows;		/* its audit rows, oldest first */
};

static void
print_indented(FILE *fp, const char *indent, const char *text)
{
	const char	*p = text, *nl;

	do {
		nl = strchr(p, '\n');
		fprintf(fp, "%s%.*s\n", indent, (int)(nl ? nl - p :
		    (long)strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	} while (p != NULL && *p != '\0');
}

static void
print_json(FILE *fp, const char *indent, json_t *v)
{
	char	*s;

	if ((s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY)) == NULL)
		return;
	print_indented(fp, indent, s);
	free(s);
}

/* A changed field's value: strings bare, anything else compact JSON. */
static char *
value_text(json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* The changes as a diff: "@@ path @@", "- before", "+ after". */
static void
print_diff(FILE *fp, const char *indent, json_t *changes)
{
	json_t		*c, *v;
	char		*s;
	size_t		 i;

	fprintf(fp, "%s--- before\n%s+++ after\n", indent, indent);
	json_array_foreach(changes, i, c) {
		fprintf(fp, "%s@@ %s @@\n", indent, str_or(c, "path", "?"));
		if ((v = json_object_get(c, "before")) != NULL &&
		    (s = value_text(v)) != NULL) {
			fprintf(fp, "%s- %s\n", indent, s);
			free(s);
		}
		if ((v = json_object_get(c, "after")) != NULL &&
		    (s = value_text(v)) != NULL) {
			fprintf(fp, "%s+ %s\n", indent, s);
			free(s);
		}
	}
}

/* "/spec/replicas: 2 -> 3", one per changed field. */
static void
print_fields(FILE *fp, const char *indent, json_t *changes)
{
	json_t	*c, *b, *a;
	char	*bs, *as;
	size_t	 i;

	json_array_foreach(changes, i, c) {
		b = json_object_get(c, "before");
		a = json_object_get(c, "after");
		bs = b ? value_text(b) : strdup("(absent)");
		as = a ? value_text(a) : strdup("(removed)");
		fprintf(fp, "%s%s: %s -> %s\n", indent, str_or(c, "path", "?"),
		    bs ? bs : "?", as ? as : "?");
		free(bs);
		free(as);
	}
}

/* The normalised patch the operator approved: the suggested row's. */
static json_t *
suggested_patch(struct story *st)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(st->rows, i, r)
		if (strcmp(str_or(r, "event", ""), "suggested") == 0)
			return json_object_get(json_object_get(r, "detail"),
			    "patch");
	return json_object_get(st->action, "patch");
}

static void
story_step(FILE *fp, struct story *st, json_t *r)
{
	json_t		*a = st->action, *d = json_object_get(r, "detail");
	json_t		*v;
	const char	*ev = str_or(r, "event", "?"), *model;
	json_int_t	 uid = json_int_at(r, "actor_uid", -1);
	char		 line[1024];
	size_t		 i;

	fprintf(fp, "\n%s  %s  by %s", str_or(r, "time", "-"), ev,
	    str_or(r, "actor", "?"));
	if (uid >= 0)
		fprintf(fp, " (uid %lld)", (long long)uid);
	fprintf(fp, "\n");
	if (strcmp(ev, "suggested") == 0) {
		if (json_int_at(d, "rollback_of", 0) > 0) {
			fprintf(fp, "  Rollback of action %lld: its stored "
			    "inverse patch\n",
			    (long long)json_int_at(d, "rollback_of", 0));
			fprintf(fp, "  Summary:    %s\n", str_or(d, "summary",
			    "-"));
			return;
		}
		model = str_or(d, "proposal.model", NULL);
		fprintf(fp, "  Backend:    %s%s%s\n", str_or(d,
		    "proposal.backend", str_or(a, "backend", "?")),
		    model ? ", model " : "", model ? model : "");
		fprintf(fp, "  Summary:    %s\n", str_or(d, "summary", "-"));
		fprintf(fp, "  Risk:       %s\n", str_or(a, "risk", "-"));
		if (str_or(a, "root_cause", NULL) != NULL) {
			fprintf(fp, "  Root cause:\n");
			print_indented(fp, "    ", str_or(a, "root_cause", ""));
		}
		v = json_object_get(a, "evidence");
		if (json_array_size(v) > 0) {
			fprintf(fp, "  Evidence:\n");
			for (i = 0; i < json_array_size(v); i++) {
				char *s = value_text(json_array_get(v, i));

				if (s != NULL)
					print_indented(fp, "    - ", s);
				free(s);
			}
		}
		v = json_object_get(json_object_get(d, "proposal"), "patch");
		if (v != NULL) {
			fprintf(fp, "  Patch as the backend proposed it (before "
			    "normalisation):\n");
			print_json(fp, "    ", v);
		} else
			fprintf(fp, "  Patch as the backend proposed it: not "
			    "recorded (stored before remedy kept it)\n");
	} else if (strcmp(ev, "approved") == 0 ||
	    strcmp(ev, "approval") == 0) {
		if (strcmp(ev, "approval") == 0)
			fprintf(fp, "  Approval %lld of %lld (two-person rule)\n",
			    (long long)json_int_at(d, "approvals", 0),
			    (long long)json_int_at(d, "required", 0));
		if (str_or(d, "comment", NULL) != NULL)
			fprintf(fp, "  Comment:    %s\n", str_or(d, "comment",
			    ""));
		if (strcmp(ev, "approval") == 0)
			return;
		fprintf(fp, "  The change the operator saw and approved:\n");
		print_diff(fp, "    ", json_object_get(a, "changes"));
		fprintf(fp, "  The patch approved (normalised, with its "
		    "preconditions):\n");
		print_json(fp, "    ", suggested_patch(st));
	} else if (strcmp(ev, "applied") == 0) {
		fprintf(fp, "  Sent:       PATCH %s (application/"
		    "json-patch+json)\n", str_or(a, "api_path", "?"));
		if (json_equal(json_object_get(d, "patch"),
		    suggested_patch(st)))
			fprintf(fp, "    exactly the patch approved\n");
		else
			print_json(fp, "    ", json_object_get(d, "patch"));
		answer_text(json_object_get(d, "answer"), line, sizeof(line));
		fprintf(fp, "  API server: %s\n", line);
		if (json_int_at(d, "answer.generation", 0) > 0 ||
		    str_or(d, "answer.resourceVersion", NULL) != NULL)
			fprintf(fp, "              generation %lld, "
			    "resourceVersion %s\n",
			    (long long)json_int_at(d, "answer.generation", 0),
			    str_or(d, "answer.resourceVersion", "-"));
		fprintf(fp, "  Fields before -> after:\n");
		print_fields(fp, "    ", json_object_get(a, "changes"));
	} else if (strcmp(ev, "failed") == 0) {
		fprintf(fp, "  Reason:     %s\n", str_or(d, "reason", "-"));
		if (json_is_object(json_object_get(d, "answer"))) {
			answer_text(json_object_get(d, "answer"), line,
			    sizeof(line));
			fprintf(fp, "  API server: %s\n", line);
		}
		fprintf(fp, "  Nothing was changed: the object keeps its "
		    "fields\n");
	} else if (strcmp(ev, "verified") == 0 ||
	    strcmp(ev, "not-recovered") == 0) {
		fprintf(fp, "  Verdict:    %s\n", strcmp(ev, "verified") == 0 ?
		    "recovered" : "not recovered");
		fprintf(fp, "  Evidence:   %s\n", str_or(d, "detail", "-"));
	} else if (strcmp(ev, "applying") != 0) {
		audit_row_summary(r, line, sizeof(line));
		fprintf(fp, "  %s\n", line);
	}
}

static void
story_print(FILE *fp, struct story *st)
{
	json_t		*a = st->action, *r;
	size_t		 i;

	fprintf(fp, "Action %lld (%s): %s %s/%s\n",
	    (long long)json_int_at(a, "id", 0), str_or(a, "state", "?"),
	    str_or(a, "kind", "?"), str_or(a, "namespace", "-"),
	    str_or(a, "name", "-"));
	fprintf(fp, "Summary:    %s\n", str_or(a, "summary", "-"));
	fprintf(fp, "Incident:   %lld\n", (long long)json_int_at(a,
	    "incident_id", 0));
	json_array_foreach(st->rows, i, r)
		story_step(fp, st, r);
	if (strcmp(str_or(a, "state", ""), "pending") == 0) {
		fprintf(fp, "\nPending: the change awaiting approval:\n");
		print_diff(fp, "    ", json_object_get(a, "changes"));
		fprintf(fp, "  Review with:  remedyctl show %lld\n"
		    "  Approve with: remedyctl approve %lld\n",
		    (long long)json_int_at(a, "id", 0),
		    (long long)json_int_at(a, "id", 0));
	}
}

/* show + audit --action for one id; 0 or the exit status. */
static int
story_load(struct ctl *ctl, json_int_t id, struct story *st, json_t **keep)
{
	json_t	*args, *res = NULL, *ares = NULL;
	int	 rc;

	if ((args = json_pack("{s:I}", "id", id)) == NULL)
		return CTL_EXIT_REFUSED;
	rc = ctl_request(ctl, "show", args, &res);
	json_decref(args);
	if (rc != CTL_EXIT_OK)
		return rc;
	if ((args = json_pack("{s:I}", "action", id)) == NULL) {
		json_decref(res);
		return CTL_EXIT_REFUSED;
	}
	rc = ctl_request(ctl, "audit", args, &ares);
	json_decref(args);
	if (rc != CTL_EXIT_OK) {
		json_decref(res);
		return rc;
	}
	*keep = json_pack("{s:O, s:O}", "action", json_object_get(res,
	    "action"), "rows", json_object_get(ares, "rows"));
	json_decref(res);
	json_decref(ares);
	if (*keep == NULL)
		return CTL_EXIT_REFUSED;
	st->action = json_object_get(*keep, "action");
	st->rows = json_object_get(*keep, "rows");
	return CTL_EXIT_OK;
}

int
ctl_audit_show(struct ctl *ctl, json_int_t id)
{
	struct story	 st, rb;
	json_t		*doc = NULL, *one = NULL, *rbs, *r;
	size_t		 i;
	int		 rc;

	if ((rc = story_load(ctl, id, &st, &doc)) != CTL_EXIT_OK)
		return rc;
	if ((rbs = json_array()) == NULL ||
	    json_object_set_new(doc, "rollbacks", rbs) == -1) {
		json_decref(doc);
		return CTL_EXIT_REFUSED;
	}
	/* a rollback tells its own story after the action's */
	json_array_foreach(st.rows, i, r) {
		if (strcmp(str_or(r, "event", ""), "rollback-proposed") != 0 ||
		    json_int_at(r, "detail.rollback", 0) <= 0 ||
		    json_array_size(rbs) >= AUDIT_MAX_ROLLBACKS)
			continue;
		if ((rc = story_load(ctl, json_int_at(r, "detail.rollback", 0),
		    &rb, &one)) != CTL_EXIT_OK)
			goto out;
		json_array_append_new(rbs, one);
	}
	if (!ctl_machine_output(ctl, doc, &rc)) {
		story_print(stdout, &st);
		json_array_foreach(rbs, i, one) {
			rb.action = json_object_get(one, "action");
			rb.rows = json_object_get(one, "rows");
			fprintf(stdout, "\nRollback: ");
			story_print(stdout, &rb);
		}
	}
out:
	json_decref(doc);
	return rc;
}

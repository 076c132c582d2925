/*
 * output.c - remedyctl's output formats: JSON, YAML (through libyaml's
 * emitter) and the human tables and blocks.
 *
 * Renderers read the reply defensively: a field that is missing or has
 * another type prints as "-", never crashes.  Columns are as wide as their
 * widest cell, up to OUT_MAX_CELL bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "ctl.h"

#define OUT_MAX_CELL	512	/* bytes of one table cell */
#define OUT_MAX_COLS	8

#define RED	"\033[31m"
#define GREEN	"\033[32m"
#define CYAN	"\033[36m"
#define RESET	"\033[0m"

int
out_json(FILE *fp, const json_t *v)
{
	if (json_dumpf(v, fp, JSON_INDENT(2) | JSON_SORT_KEYS) == -1)
		return -1;
	fputc('\n', fp);
	return 0;
}

/* --- helpers for the human formats --- */

int64_t
parse_rfc3339(const char *s)
{
	struct tm	tm;
	int		used = 0;
	time_t		t;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
	    used != 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t * 1000;
}

/* "45s", "12m", "3h", "2d" since an RFC 3339 time; "-" if unknown. */
static void
fmt_age(const char *when, char *buf, size_t len)
{
	int64_t	ms = parse_rfc3339(when), s;

	if (ms < 0) {
		snprintf(buf, len, "-");
		return;
	}
	s = (now_ms() - ms) / 1000;
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 2 * 3600)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(buf, len, "%lldh", (long long)(s / 3600));
	else
		snprintf(buf, len, "%lldd", (long long)(s / 86400));
}

/* A field as text: strings bare, numbers as digits, anything else "-". */
static const char *
field(json_t *obj, const char *key, char *buf, size_t len)
{
	json_t	*v = json_object_get(obj, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return "-";
}

struct table {
	int	 ncols;
	size_t	 width[OUT_MAX_COLS];
	size_t	 nrows, cap;
	char	**cells;	/* nrows * ncols heap strings */
};

static void
table_init(struct table *t, int ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
}

/* Add one row of ncols cells; each is copied and cut at OUT_MAX_CELL. */
static void
table_row(struct table *t, const char **cells)
{
	char	**nc;
	size_t	  n;
	int	  i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		nc = reallocarray(t->cells, t->cap, (size_t)t->ncols *
		    sizeof(char *));
		if (nc == NULL) {
			fprintf(stderr, "remedyctl: out of memory\n");
			exit(1);
		}
		t->cells = nc;
	}
	for (i = 0; i < t->ncols; i++) {
		n = strnlen(cells[i] ? cells[i] : "-", OUT_MAX_CELL);
		if ((t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
		    strndup(cells[i] ? cells[i] : "-", n)) == NULL) {
			fprintf(stderr, "remedyctl: out of memory\n");
			exit(1);
		}
		if (n > t->width[i])
			t->width[i] = n;
	}
	t->nrows++;
}

/* Print and free: columns separated by two spaces, the last not padded. */
static void
table_print(FILE *fp, struct table *t)
{
	size_t	 r;
	int	 i;
	char	*c;

	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			c = t->cells[r * (size_t)t->ncols + (size_t)i];
			if (i == t->ncols - 1)
				fprintf(fp, "%s\n", c);
			else
				fprintf(fp, "%-*s  ", (int)t->width[i], c);
			free(c);
		}
	}
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/* --- per-command renderers --- */

void
out_status(FILE *fp, json_t *r)
{
	const char	*key;
	json_t		*v, *actions = json_object_get(r, "actions");
	json_int_t	 up = json_int_at(r, "uptime_s", 0);
	int		 any = 0;
	char		 b[32];

	fprintf(fp, "remedyd %s, pid %s, up ", json_str_at(r, "version") ?
	    json_str_at(r, "version") : "?", field(r, "pid", b, sizeof(b)));
	if (up >= 86400)
		fprintf(fp, "%lldd%lldh\n", (long long)(up / 86400),
		    (long long)(up % 86400 / 3600));
	else if (up >= 3600)
		fprintf(fp, "%lldh%lldm\n", (long long)(up / 3600),
		    (long long)(up % 3600 / 60));
	else if (up >= 60)
		fprintf(fp, "%lldm%llds\n", (long long)(up / 60),
		    (long long)(up % 60));
	else
		fprintf(fp, "%llds\n", (long long)up);
	fprintf(fp, "Caches:     %s\n", json_is_true(json_object_get(r,
	    "synced")) ? "synced" : "syncing");
	fprintf(fp, "Incidents:  %lld open\n",
	    (long long)json_int_at(r, "incidents_open", 0));
	fprintf(fp, "Actions:   ");
	json_object_foreach(actions, key, v) {
		if (json_integer_value(v) <= 0)
			continue;
		fprintf(fp, "%s %s %lld", any ? "," : "", key,
		    (long long)json_integer_value(v));
		any = 1;
	}
	fprintf(fp, "%s\n", any ? "" : " none");
	if (json_is_object(json_object_get(r, "diagnoses"))) {
		fprintf(fp, "Diagnoses:  %lld running (at most %lld), %lld "
		    "queued (at most %lld)",
		    (long long)json_int_at(r, "diagnoses.running", 0),
		    (long long)json_int_at(r, "diagnoses.max_concurrent", 0),
		    (long long)json_int_at(r, "diagnoses.queued", 0),
		    (long long)json_int_at(r, "diagnoses.max_queued", 0));
		if (json_int_at(r, "diagnoses.waiting", 0) > 0)
			fprintf(fp, ", %lld waiting for room in the queue",
			    (long long)json_int_at(r, "diagnoses.waiting", 0));
		fprintf(fp, "\n");
	}
	if (json_is_true(json_object_get(r, "two_person")))
		fprintf(fp, "Approvals:  two approvers for risk high\n");
	if (json_str_at(r, "you.user") != NULL)
		fprintf(fp, "You:        %s (uid %lld), role %s\n",
		    json_str_at(r, "you.user"),
		    (long long)json_int_at(r, "you.uid", -1),
		    json_str_at(r, "you.role") ? json_str_at(r, "you.role") :
		    "?");
}

/* One page of several: how to ask for the next. */
static void
more_footer(FILE *fp, json_t *r, json_t *list)
{
	fprintf(fp, "(%zu of %lld shown; --continue %s shows the next page)\n",
	    json_array_size(list), (long long)json_int_at(r, "total", 0),
	    json_str_at(r, "continue"));
}

void
out_list(FILE *fp, json_t *r)
{
	struct table	 t;
	json_t		*a, *list = json_object_get(r, "actions");
	size_t		 i;
	char		 id[32], age[32], target[OUT_MAX_CELL];
	char		 b[32], b2[32], b3[32], agent[OUT_MAX_CELL];
	const char	*row[6];

	if (json_array_size(list) == 0) {
		fprintf(fp, "No actions.\n");
		return;
	}
	table_init(&t, 6);
	row[0] = "ID"; row[1] = "STATE"; row[2] = "AGE";
	row[3] = "NAMESPACE"; row[4] = "TARGET"; row[5] = "SUMMARY";
	table_row(&t, row);
	json_array_foreach(list, i, a) {
		snprintf(id, sizeof(id), "%s", field(a, "id", b, sizeof(b)));
		fmt_age(json_str_at(a, "created"), age, sizeof(age));
		snprintf(target, sizeof(target), "%s/%s",
		    field(a, "kind", b, sizeof(b)),
		    field(a, "name", b2, sizeof(b2)));
		row[0] = id;
		row[1] = field(a, "state", b, sizeof(b));
		row[2] = age;
		row[3] = field(a, "namespace", b2, sizeof(b2));
		row[4] = target;
		row[5] = field(a, "summary", b3, sizeof(b3));
		/* an agent's proposal says so, and whose it is */
		if (json_str_at(a, "origin") != NULL &&
		    strcmp(json_str_at(a, "origin"), "agent") == 0) {
			snprintf(agent, sizeof(agent), "[agent %s] %s",
			    json_str_at(a, "proposer") ?
			    json_str_at(a, "proposer") : "?", row[5]);
			row[5] = agent;
		}
		table_row(&t, row);
	}
	table_print(fp, &t);
	if (json_str_at(r, "continue") != NULL)
		more_footer(fp, r, list);
	else if (json_int_at(r, "total", 0) > (json_int_t)json_array_size(list))
		fprintf(fp, "(the newest %zu of %lld; --all or --limit N shows "
		    "more)\n", json_array_size(list),
		    (long long)json_int_at(r, "total", 0));
}

void
out_incidents(FILE *fp, json_t *r)
{
	struct table	 t;
	json_t		*a, *list = json_object_get(r, "incidents");
	size_t		 i;
	char		 id[32], pods[32], age[32], target[OUT_MAX_CELL];
	char		 b[32], b2[32], b3[32], b4[32], failed[OUT_MAX_CELL];
	const char	*row[8];

	if (json_array_size(list) == 0) {
		fprintf(fp, "No incidents.\n");
		return;
	}
	table_init(&t, 8);
	row[0] = "ID"; row[1] = "STATE"; row[2] = "AGE";
	row[3] = "NAMESPACE"; row[4] = "TARGET"; row[5] = "REASON";
	row[6] = "PODS"; row[7] = "SUMMARY";
	table_row(&t, row);
	json_array_foreach(list, i, a) {
		snprintf(id, sizeof(id), "%s", field(a, "id", b, sizeof(b)));
		snprintf(pods, sizeof(pods), "%s",
		    field(a, "pods", b, sizeof(b)));
		fmt_age(json_str_at(a, "first_seen"), age, sizeof(age));
		snprintf(target, sizeof(target), "%s/%s",
		    field(a, "kind", b, sizeof(b)),
		    field(a, "name", b2, sizeof(b2)));
		row[0] = id;
		row[1] = field(a, "state", b, sizeof(b));
		row[2] = age;
		row[3] = field(a, "namespace", b2, sizeof(b2));
		row[4] = target;
		row[5] = field(a, "reason", b3, sizeof(b3));
		row[6] = pods;
		row[7] = field(a, "summary", b4, sizeof(b4));
		/* A diagnosis that failed says why instead. */
		if (json_str_at(a, "diagnosis.status") != NULL &&
		    strcmp(json_str_at(a, "diagnosis.status"), "failed") == 0) {
			snprintf(failed, sizeof(failed), "diagnosis failed: %s",
			    json_str_at(a, "diagnosis.error") ?
			    json_str_at(a, "diagnosis.error") : "?");
			row[7] = failed;
		}
		table_row(&t, row);
	}
	table_print(fp, &t);
	if (json_str_at(r, "continue") != NULL)
		more_footer(fp, r, list);
}

/* Compact JSON of v cut to max bytes with "..." (a heap string). */
static char *
short_json(json_t *v, size_t max)
{
	char	*s;

	if (v == NULL || json_is_null(v))
		return strdup("-");
	if ((s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY)) == NULL)
		return strdup("-");
	if (strlen(s) > max && max > 3)
		memcpy(s + max - 3, "...", 4);
	return s;
}

void
out_audit(FILE *fp, json_t *r)
{
	struct table	 t;
	json_t		*a, *list = json_object_get(r, "rows");
	size_t		 i;
	char		 seq[32], act[32], actor[OUT_MAX_CELL];
	char		 summary[OUT_MAX_CELL];
	char		 b[32], b2[32];
	const char	*row[6], *name;
	json_int_t	 uid;

	if (json_array_size(list) == 0) {
		fprintf(fp, "No audit rows.\n");
		return;
	}
	table_init(&t, 6);
	row[0] = "SEQ"; row[1] = "TIME"; row[2] = "ACTION";
	row[3] = "EVENT"; row[4] = "ACTOR"; row[5] = "SUMMARY";
	table_row(&t, row);
	json_array_foreach(list, i, a) {
		snprintf(seq, sizeof(seq), "%s", field(a, "seq", b, sizeof(b)));
		snprintf(act, sizeof(act), "%s",
		    field(a, "action_id", b, sizeof(b)));
		name = json_str_at(a, "actor") ? json_str_at(a, "actor") : "-";
		uid = json_int_at(a, "actor_uid", -1);
		if (uid >= 0)
			snprintf(actor, sizeof(actor), "%s(%lld)", name,
			    (long long)uid);
		else
			snprintf(actor, sizeof(actor), "%s", name);
		audit_row_summary(a, summary, sizeof(summary));
		row[0] = seq;
		row[1] = field(a, "time", b, sizeof(b));
		row[2] = act;
		row[3] = field(a, "event", b2, sizeof(b2));
		row[4] = actor;
		row[5] = summary;
		table_row(&t, row);
	}
	table_print(fp, &t);
}

/* --- show --- */

/* Print text with every line prefixed (continuation lines too). */
static void
print_prefixed(FILE *fp, const char *prefix, const char *text,
    const char *color)
{
	const char	*p = text, *nl;

	do {
		nl = strchr(p, '\n');
		fprintf(fp, "%s%s%.*s%s\n", color ? color : "", prefix,
		    (int)(nl ? nl - p : (long)strlen(p)), p, color ? RESET : "");
		p = nl ? nl + 1 : NULL;
	} while (p != NULL && *p != '\0');
}

/* A diff value: strings bare, everything else compact JSON. */
static char *
diff_value(json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/*
 * The changes as a unified diff: one hunk per changed path, "-" the value
 * before (omitted when the field did not exist), "+" the value after
 * (omitted when the patch removes it).
 */
static void
print_changes(FILE *fp, json_t *changes, int color)
{
	json_t		*c, *before, *after;
	const char	*path;
	char		*s;
	size_t		 i;

	fprintf(fp, "%s--- before%s\n", color ? RED : "", color ? RESET : "");
	fprintf(fp, "%s+++ after%s\n", color ? GREEN : "", color ? RESET : "");
	json_array_foreach(changes, i, c) {
		path = json_str_at(c, "path");
		fprintf(fp, "%s@@ %s @@%s\n", color ? CYAN : "",
		    path ? path : "?", color ? RESET : "");
		if ((before = json_object_get(c, "before")) != NULL &&
		    (s = diff_value(before)) != NULL) {
			print_prefixed(fp, "- ", s, color ? RED : NULL);
			free(s);
		}
		if ((after = json_object_get(c, "after")) != NULL &&
		    (s = diff_value(after)) != NULL) {
			print_prefixed(fp, "+ ", s, color ? GREEN : NULL);
			free(s);
		}
	}
}

static void	out_diagnosis(FILE *, json_t *);

/*
 * The steps of a multi-step action, in order:
 *   1. patch /apis/apps/v1/namespaces/demo/statefulsets/db   done: patched
 *   2. delete pod demo/db-1 (uid 5d0c..., only while on revision
 *      db-7f9c)   pending
 */
static void
out_steps(FILE *fp, json_t *steps, const char *ns)
{
	json_t		*st;
	const char	*kind, *state, *outcome;
	size_t		 i;

	if (json_array_size(steps) == 0)
		return;
	fprintf(fp, "\nSteps (applied in order, approved as one action):\n");
	json_array_foreach(steps, i, st) {
		kind = json_str_at(st, "kind");
		state = json_str_at(st, "state");
		outcome = json_str_at(st, "result.outcome");
		fprintf(fp, "  %lld. ", (long long)json_int_at(st, "step",
		    (json_int_t)i + 1));
		if (kind != NULL && strcmp(kind, "patch") == 0)
			fprintf(fp, "patch %s", json_str_at(st, "api_path") ?
			    json_str_at(st, "api_path") : "-");
		else if (kind != NULL && strcmp(kind, "delete-pod") == 0)
			fprintf(fp, "delete pod %s/%s (uid %s, only while on "
			    "revision %s)", ns ? ns : "-",
			    json_str_at(st, "name") ?
			    json_str_at(st, "name") : "-",
			    json_str_at(st, "uid") ? json_str_at(st, "uid") :
			    "-", json_str_at(st, "revision") ?
			    json_str_at(st, "revision") : "-");
		else
			fprintf(fp, "%s", kind ? kind : "?");
		fprintf(fp, "   %s%s%s\n", state ? state : "?",
		    outcome ? ": " : "", outcome ? outcome : "");
	}
}

void
out_show(FILE *fp, json_t *a, int color)
{
	json_t		*v;
	const char	*state = json_str_at(a, "state");
	char		 b[32], b2[32], *s;
	size_t		 i;

	fprintf(fp, "Action %s (%s)\n", field(a, "id", b, sizeof(b)),
	    state ? state : "?");
	fprintf(fp, "Target:     %s %s/%s\n", field(a, "kind", b, sizeof(b)),
	    field(a, "namespace", b2, sizeof(b2)),
	    json_str_at(a, "name") ? json_str_at(a, "name") : "-");
	if (json_str_at(a, "api_path"))
		fprintf(fp, "API path:   %s\n", json_str_at(a, "api_path"));
	fprintf(fp, "Incident:   %s\n", field(a, "incident_id", b, sizeof(b)));
	fprintf(fp, "Backend:    %s", field(a, "backend", b, sizeof(b)));
	fprintf(fp, "   Risk: %s\n", field(a, "risk", b, sizeof(b)));
	fprintf(fp, "Created:    %s\n", field(a, "created", b, sizeof(b)));
	fprintf(fp, "Updated:    %s\n", field(a, "updated", b, sizeof(b)));
	fprintf(fp, "Summary:    %s\n", field(a, "summary", b, sizeof(b)));
	out_diagnosis(fp, json_object_get(a, "diagnosis"));
	if (json_str_at(a, "origin") != NULL &&
	    strcmp(json_str_at(a, "origin"), "agent") == 0) {
		fprintf(fp, "Proposed:   by an agent: %s (uid %lld)%s%s\n",
		    json_str_at(a, "proposer") ? json_str_at(a, "proposer") :
		    "?", (long long)json_int_at(a, "proposer_uid", -1),
		    json_str_at(a, "client") ? " via " : "",
		    json_str_at(a, "client") ? json_str_at(a, "client") : "");
		if (json_str_at(a, "rationale")) {
			fprintf(fp, "\nRationale (the agent's words, data "
			    "only):\n");
			print_prefixed(fp, "  | ", json_str_at(a, "rationale"),
			    NULL);
		}
	}
	if (json_str_at(a, "root_cause")) {
		fprintf(fp, "\nRoot cause:\n");
		print_prefixed(fp, "  ", json_str_at(a, "root_cause"), NULL);
	}
	v = json_object_get(a, "evidence");
	if (json_array_size(v) > 0) {
		fprintf(fp, "\nEvidence:\n");
		for (i = 0; i < json_array_size(v); i++) {
			if ((s = diff_value(json_array_get(v, i))) == NULL)
				continue;
			print_prefixed(fp, "  - ", s, NULL);
			free(s);
		}
	}
	v = json_object_get(a, "changes");
	if (json_array_size(v) > 0) {
		fprintf(fp, "\nChanges:\n");
		print_changes(fp, v, color);
	}
	out_steps(fp, json_object_get(a, "steps"), json_str_at(a, "namespace"));
	v = json_object_get(a, "patch");
	if (v != NULL && !json_is_null(v)) {
		fprintf(fp, "\nPatch:\n");
		json_dumpf(v, fp, JSON_INDENT(2) | JSON_ENCODE_ANY);
		fputc('\n', fp);
	}
	if (json_str_at(a, "reason"))
		fprintf(fp, "\nReason:     %s\n", json_str_at(a, "reason"));
	v = json_object_get(a, "result");
	if (v != NULL && !json_is_null(v) && (s = short_json(v, 4096))) {
		fprintf(fp, "Result:     %s\n", s);
		free(s);
	}
	if (json_str_at(a, "approved_by"))
		fprintf(fp, "Approved by: %s (uid %lld)\n",
		    json_str_at(a, "approved_by"),
		    (long long)json_int_at(a, "approved_uid", -1));
	if (state != NULL && strcmp(state, "pending") == 0) {
		const char *id = field(a, "id", b, sizeof(b));

		fprintf(fp, "\nApprove with: remedyctl approve %s\n", id);
		fprintf(fp, "Reject with:  remedyctl reject %s --reason TEXT\n",
		    id);
	}
}

/* --- watch --- */

/*
 * "2026-11-27T03:12:01Z  pending   3  demo  Deployment/web  Roll back ..."
 * followed, for a pending action, by the command that reviews it.
 */
void
out_event(FILE *fp, json_t *ev, int color)
{
	json_t		*a = json_object_get(ev, "data");
	const char	*event = json_str_at(ev, "event");
	const char	*col = NULL;
	char		 now[40], b[32], b2[32], b3[32];

	fmt_rfc3339(now_ms(), now, sizeof(now));
	if (event != NULL && color) {
		if (strcmp(event, "pending") == 0)
			col = CYAN;
		else if (strcmp(event, "failed") == 0 ||
		    strcmp(event, "rejected") == 0)
			col = RED;
		else
			col = GREEN;
	}
	fprintf(fp, "%s  %s%-9s%s %s  %s  %s/%s  %s\n", now, col ? col : "",
	    event ? event : "-", col ? RESET : "", field(a, "id", b,
	    sizeof(b)), field(a, "namespace", b2, sizeof(b2)),
	    field(a, "kind", b3, sizeof(b3)),
	    json_str_at(a, "name") ? json_str_at(a, "name") : "-",
	    json_str_at(a, "summary") ? json_str_at(a, "summary") : "");
	if (event != NULL && strcmp(event, "pending") == 0)
		fprintf(fp, "    review: remedyctl show %s\n", field(a, "id", b,
		    sizeof(b)));
	fflush(fp);
}

/* "Diagnosis:  ok by openai/gpt-4o-mini, tokens 1234 prompt + 210
 * completion, 1 call", or "diagnosis failed: why". */
static void
out_diagnosis(FILE *fp, json_t *d)
{
	const char	*st = json_str_at(d, "status"), *model;

	if (st == NULL)
		return;
	if (strcmp(st, "failed") == 0) {
		fprintf(fp, "Diagnosis:  diagnosis failed: %s\n",
		    json_str_at(d, "error") ? json_str_at(d, "error") : "?");
		return;
	}
	model = json_str_at(d, "model");
	if (model != NULL && *model == '\0')
		model = NULL;
	if (json_int_at(d, "calls", 0) == 0) {
		/* The offline rules, or a reply served from the cache. */
		fprintf(fp, "Diagnosis:  %s by %s%s%s%s\n", st,
		    json_str_at(d, "backend") ? json_str_at(d, "backend") : "?",
		    model ? "/" : "", model ? model : "",
		    json_is_true(json_object_get(d, "cached")) ?
		    ", from the cache" : "");
		return;
	}
	fprintf(fp, "Diagnosis:  %s by %s%s%s, tokens %lld prompt + %lld "
	    "completion, %lld call(s)%s\n", st,
	    json_str_at(d, "backend") ? json_str_at(d, "backend") : "?",
	    model ? "/" : "", model ? model : "",
	    (long long)json_int_at(d, "tokens.prompt", 0),
	    (long long)json_int_at(d, "tokens.completion", 0),
	    (long long)json_int_at(d, "calls", 0),
	    json_is_true(json_object_get(d, "cached")) ? ", from the cache" :
	    "");
}

/* incidents show ID: the incident, its findings and affected objects. */
void
out_incident(FILE *fp, json_t *a)
{
	static const char *const keys[][2] = {
		{ "Incident:", "id" }, { "State:", "state" },
		{ "Analyzer:", "analyzer" }, { "Reason:", "reason" },
		{ "Namespace:", "namespace" }, { "Kind:", "kind" },
		{ "Name:", "name" }, { "Summary:", "summary" },
		{ "First seen:", "first_seen" }, { "Last seen:", "last_seen" },
		{ "Resolved:", "resolved_at" }, { "Diagnosed:", "diagnosed_at" },
		{ "Pods:", "pods" }, { "Objects:", "objects" },
		{ "Flaps:", "flaps" }, { "Reopened:", "reopens" },
	};
	json_t	*v;
	size_t	 i;
	char	 b[64];

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fprintf(fp, "%-12s%s\n", keys[i][0], field(a, keys[i][1], b,
		    sizeof(b)));
	out_diagnosis(fp, json_object_get(a, "diagnosis"));
	fprintf(fp, "Actions:   ");
	json_array_foreach(json_object_get(a, "actions"), i, v)
		fprintf(fp, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
	fprintf(fp, "%s\n\nFindings:\n", json_array_size(json_object_get(a,
	    "actions")) ? "" : " -");
	json_array_foreach(json_object_get(a, "findings"), i, v)
		fprintf(fp, "  %s\n", json_string_value(v) ?
		    json_string_value(v) : "-");
	fprintf(fp, "\nAffected objects:\n");
	json_array_foreach(json_object_get(a, "affected"), i, v)
		fprintf(fp, "  %s\n", json_string_value(v) ?
		    json_string_value(v) : "-");
	/* What the diagnosis found, with or without a fix. */
	if (json_str_at(a, "diagnosis.summary") != NULL &&
	    *json_str_at(a, "diagnosis.summary") != '\0')
		fprintf(fp, "\nDiagnosis summary:\n  %s\n",
		    json_str_at(a, "diagnosis.summary"));
	if (json_str_at(a, "diagnosis.root_cause") != NULL &&
	    *json_str_at(a, "diagnosis.root_cause") != '\0') {
		fprintf(fp, "\nRoot cause:\n");
		print_prefixed(fp, "  ", json_str_at(a, "diagnosis.root_cause"),
		    NULL);
	}
}

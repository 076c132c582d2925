/*
 * rules.c - the offline diagnosis backend: the evidence (pod status lines,
 * the kubelet's Warning events) and the root cause paragraph of an
 * incident; the fix itself comes from the catalogue in lib/action/remedies/
 * (remedies_build()), which explains in the summary when it has none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"
#include "diagnose/diagnose.h"
#include "registry/pull.h"

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Evidence: the pods' status lines in name order (deterministic output for
 * the operator and the tests), at most INCIDENT_MAX_EVIDENCE of them, and a
 * count of the rest.
 */
static int
evidence_fill(const struct incident *inc, json_t *ev)
{
	const char	**lines, *k;
	void		 *v;
	size_t		  pos = 0, n = 0, i, total = incident_pods(inc);
	int		  rc = -1;

	if ((lines = calloc(total ? total : 1, sizeof(*lines))) == NULL)
		return -1;
	while (hmap_next(&inc->pods, &pos, &k, &v))
		lines[n++] = v;
	qsort(lines, n, sizeof(*lines), cmpstr);
	for (i = 0; i < n && i < INCIDENT_MAX_EVIDENCE; i++)
		if (json_array_append_new(ev, json_string(lines[i])) == -1)
			goto out;
	if (n > INCIDENT_MAX_EVIDENCE) {
		char more[64];

		snprintf(more, sizeof(more), "... and %zu more pods like these",
		    n - INCIDENT_MAX_EVIDENCE);
		if (json_array_append_new(ev, json_string(more)) == -1)
			goto out;
	}
	rc = 0;
out:
	free(lines);
	return rc;
}

/* The first evidence line's message part, for the root cause text. */
static const char *
first_message(json_t *ev)
{
	const char *s = json_string_value(json_array_get(ev, 0)), *p;

	if (s == NULL)
		return "";
	p = strstr(s, "): ");
	return p ? p + 3 : s;
}

/* An Event's count: max(count, series.count, 1) (events.k8s.io rules). */
static json_int_t
event_count(json_t *e)
{
	json_int_t c = json_int_at(e, "count", 0), s;

	s = json_int_at(e, "series.count", 0);
	if (s > c)
		c = s;
	return c > 0 ? c : 1;
}

/*
 * The kubelet's own words on the failed pull: the newest Warning event
 * "Failed to pull image ...".  The pod status of a pod in ImagePullBackOff
 * only says "Back-off pulling image"; the event names the registry's error
 * (not found, unauthorized, ...).  Each distinct Warning message becomes one
 * evidence line with its count.
 */
static const char *
events_fill(json_t *events, json_t *ev)
{
	const char	*msg, *reason, *best = NULL, *obj;
	json_t		*e;
	size_t		 i, n = 0;
	char		 line[1024];

	json_array_foreach(json_object_get(events, "items"), i, e) {
		msg = json_string_value(json_object_get(e, "message"));
		reason = json_string_value(json_object_get(e, "reason"));
		obj = json_str_at(e, "involvedObject.name");
		if (msg == NULL || reason == NULL ||
		    !json_is_string(json_object_get(e, "type")) ||
		    strcmp(json_string_value(json_object_get(e, "type")),
		    "Warning") != 0)
			continue;
		if (strncmp(msg, "Failed to pull image", 20) == 0)
			best = msg;
		if (n++ < INCIDENT_MAX_EVIDENCE / 2) {
			snprintf(line, sizeof(line), "event %s (x%lld) on pod "
			    "%s: %s", reason, (long long)event_count(e),
			    obj ? obj : "?", msg);
			json_array_append_new(ev, json_string(line));
		}
	}
	return best;
}

static int
is_image_reason(const char *r)
{
	static const char *const reasons[] = { "ErrImagePull",
	    "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
	    "RegistryUnavailable" };
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(r, reasons[i]) == 0)
			return 1;
	return 0;
}

/*
 * The log line that most likely says why a crashed process died: the last
 * one naming a fatal condition (fatal, panic, error, exception, ...), else
 * the last non-empty one; control and non-ASCII bytes replaced, cut to
 * LOG_LINE_MAX.  NULL when the log holds no text.
 */
#define LOG_LINE_MAX	300

static int
log_line_telling(const char *s, size_t n)
{
	static const char *const words[] = { "fatal", "panic", "error",
	    "exception", "traceback", "cannot", "failed", "not set",
	    "no such" };
	char	 low[LOG_LINE_MAX + 1];
	size_t	 i;

	if (n > LOG_LINE_MAX)
		n = LOG_LINE_MAX;
	for (i = 0; i < n; i++)
		low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	low[n] = '\0';
	for (i = 0; i < NELEM(words); i++)
		if (strstr(low, words[i]) != NULL)
			return 1;
	return 0;
}

static int	log_last_line(const char *, char *, size_t);

/*
 * A Job that keeps failing: what the log of one of its failed pods says,
 * with the pod, container and exit code, into cause and evidence.
 * Returns 0 (nothing to add is not an error), -1 on allocation failure.
 */
static int
job_log(const struct diag_input *in, json_t *evidence, char *cause,
    size_t clen)
{
	json_t		*st;
	char		 line[LOG_LINE_MAX + 1], ev[LOG_LINE_MAX + 512];
	const char	*pod = json_str_at(in->pod, "metadata.name");
	size_t		 i, n;
	long long	 code = -1;

	if (pod == NULL || in->log_container == NULL ||
	    !log_last_line(in->logs, line, sizeof(line)))
		return 0;
	json_array_foreach(json_at(in->pod, "status.containerStatuses"), i,
	    st)
		if (json_str_at(st, "name") != NULL && strcmp(json_str_at(st,
		    "name"), in->log_container) == 0)
			code = json_int_at(st, "state.terminated.exitCode", -1);
	snprintf(ev, sizeof(ev), "log of failed pod %s, container %s (exit "
	    "code %lld): %s", pod, in->log_container, code, line);
	if (json_array_append_new(evidence, json_string(ev)) == -1)
		return -1;
	n = strlen(cause);
	snprintf(cause + n, clen > n ? clen - n : 0, " The log of failed pod "
	    "%s (container %s, exit code %lld) says: \"%s\".", pod,
	    in->log_container, code, line);
	return 0;
}

static int
log_last_line(const char *logs, char *buf, size_t len)
{
	const char	*p, *start, *end, *best = NULL, *last = NULL;
	size_t		 n = 0, bestn = 0, lastn = 0, i;

	if (logs == NULL)
		return 0;
	for (p = logs; *p; p = *end ? end + 1 : end) {
		start = p;
		if ((end = strchr(p, '\n')) == NULL)
			end = p + strlen(p);
		n = (size_t)(end - start);
		while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == ' ' ||
		    start[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		last = start;
		lastn = n;
		if (log_line_telling(start, n)) {
			best = start;
			bestn = n;
		}
	}
	if (best == NULL) {
		best = last;
		bestn = lastn;
	}
	if (best == NULL || len == 0)
		return 0;
	if (bestn > LOG_LINE_MAX)
		bestn = LOG_LINE_MAX;
	if (bestn >= len)
		bestn = len - 1;
	for (i = 0; i < bestn; i++)
		buf[i] = ((unsigned char)best[i] < 0x20 ||
		    (unsigned char)best[i] >= 0x7f) ? '?' : best[i];
	buf[bestn] = '\0';
	return 1;
}

/* The registry's view (registry/pull.h): the class of the failure and
 * its sentence, appended to the cause; its evidence lines. */
static void
pull_cause(const struct diag_input *in, const char *kubelet, json_t *ev,
    char *cause, size_t clen)
{
	char		 why[1024];
	enum pull_class	 c;
	size_t		 n = strlen(cause);

	c = pull_classify(kubelet, NULL, in->pull, in->pull->node_arch[0] ?
	    in->pull->node_arch : NULL, why, sizeof(why), ev);
	if (c != PULL_UNKNOWN && n < clen)
		snprintf(cause + n, clen - n, " Classified as %s: %s",
		    pull_class_name(c), why);
}

/*
 * A container that cannot start its command: the runtime's StartError
 * ("exec: \"x\": executable file not found in $PATH", exit code 128) or a
 * shell's exit code 127 (command not found) or 126 (found, not
 * executable), in the state or last state of a container of the affected
 * pod.  The explanation says which, and whether the pod template
 * overrides the image's entrypoint (command) or its arguments (args).
 * No patch: what the image contains is not visible from the cluster, and
 * the policy wall refuses command, args and env writes
 * (command-not-allowed).  Returns 1 and fills why when it applies.
 */
#define CMD_TEXT	160

static json_t *
template_container(json_t *owner, const char *name)
{
	static const char *const paths[] = { "spec.template.spec.containers",
	    "spec.jobTemplate.spec.template.spec.containers",
	    "spec.containers" };
	json_t	*c;
	size_t	 i, j;

	for (i = 0; i < NELEM(paths); i++)
		json_array_foreach(json_at(owner, paths[i]), j, c)
			if (json_str_at(c, "name") != NULL &&
			    strcmp(json_str_at(c, "name"), name) == 0)
				return c;
	return NULL;
}

/* ["a", "b"] of a string array, cut to len. */
static void
argv_text(json_t *a, char *buf, size_t len)
{
	json_t	*v;
	size_t	 i, n = 0;

	n += (size_t)snprintf(buf, len, "[");
	json_array_foreach(a, i, v) {
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
		    "%s\"%.60s\"", i ? ", " : "", json_string_value(v) ?
		    json_string_value(v) : "?");
		if (n >= len)
			break;
	}
	if (n < len)
		snprintf(buf + n, len - n, "]");
	else if (len > 5)
		memcpy(buf + len - 5, "...]", 5);
}

static int
command_failed(const struct diag_input *in, char *why, size_t len)
{
	static const char *const states[] = { "lastState.terminated",
	    "state.terminated" };
	json_t		*cs, *t, *c;
	const char	*msg = NULL, *name, *image, *what = NULL;
	char		 cmd[CMD_TEXT], args[CMD_TEXT], over[2 * CMD_TEXT + 160];
	char		 said[256];
	json_int_t	 code = 0;
	size_t		 i, k;

	json_array_foreach(json_at(in->pod, "status.containerStatuses"), i,
	    cs) {
		for (k = 0; k < NELEM(states) && what == NULL; k++) {
			if ((t = json_at(cs, states[k])) == NULL)
				continue;
			code = json_int_at(t, "exitCode", 0);
			msg = json_str_at(t, "message");
			if (msg != NULL && (strstr(msg, "executable file not "
			    "found") != NULL || (strstr(msg, "exec:") != NULL &&
			    strstr(msg, "no such file or directory") != NULL)))
				what = "the runtime cannot find the executable";
			else if (msg != NULL && strstr(msg, "exec:") != NULL &&
			    strstr(msg, "permission denied") != NULL)
				what = "the runtime cannot execute the file "
				    "(permission denied)";
			else if (code == 127)
				what = "exit code 127: a shell found no such "
				    "command";
			else if (code == 126)
				what = "exit code 126: the command was found but "
				    "is not executable";
		}
		if (what != NULL)
			break;
	}
	if (what == NULL || (name = json_str_at(cs, "name")) == NULL)
		return 0;
	c = template_container(in->owner, name);
	if ((image = json_str_at(c, "image")) == NULL)
		image = json_str_at(cs, "image");
	/* runc's own words: "exec: \"x\": executable file not found in
	 * $PATH", without the layers of containerd around them */
	said[0] = '\0';
	if (msg != NULL) {
		const char	*b = strstr(msg, "exec: "), *e;

		if (b == NULL)
			b = msg;
		if ((e = strstr(b, ": unknown")) == NULL)
			e = b + strlen(b);
		snprintf(said, sizeof(said), " (%.*s)", (int)(e - b > 200 ?
		    200 : e - b), b);
	}
	over[0] = '\0';
	if (json_array_size(json_object_get(c, "command")) > 0 ||
	    json_array_size(json_object_get(c, "args")) > 0) {
		argv_text(json_object_get(c, "command"), cmd, sizeof(cmd));
		argv_text(json_object_get(c, "args"), args, sizeof(args));
		snprintf(over, sizeof(over), " The pod template overrides the "
		    "image's %s%s%s: the program it names is not in the image "
		    "at that path or on its PATH, or a script it runs calls "
		    "one that is not.",
		    json_object_get(c, "command") ? "entrypoint with command " :
		    "arguments with args ", json_object_get(c, "command") ?
		    cmd : args, json_object_get(c, "command") &&
		    json_object_get(c, "args") ? " (args too)" : "");
	} else
		snprintf(over, sizeof(over), " The template sets no command "
		    "or args, so the image's own ENTRYPOINT/CMD is what fails: "
		    "the image itself is broken.");
	snprintf(why, len, "Container %s (image %s) cannot start its "
	    "command: %s%s.%s Fix the command or args by hand (remedy "
	    "never writes command, args or env: policy rule "
	    "command-not-allowed)%s", name, image ? image : "?", what, said,
	    over,
	    json_array_size(json_object_get(c, "command")) > 0 ? ", or remove "
	    "the override to run the image's own entrypoint" : "");
	return 1;
}

int
rules_diagnose(const struct diag_input *in, struct proposal *p)
{
	const struct incident	*inc = in->inc;
	char			 cause[4096], why[1200];
	const char		*kubelet, *pulled = NULL;
	int			 rc;

	memset(p, 0, sizeof(*p));
	p->risk = "low";
	p->kind = inc->kind;
	p->ns = inc->ns;
	p->name = inc->name;
	if ((p->evidence = json_array()) == NULL ||
	    evidence_fill(inc, p->evidence) == -1)
		goto fail;
	kubelet = first_message(p->evidence);
	if (in->events != NULL && (pulled = events_fill(in->events,
	    p->evidence)) != NULL)
		kubelet = pulled;

	if (is_image_reason(inc->reason)) {
		snprintf(cause, sizeof(cause),
		    "%zu pod(s) of %s %s/%s cannot start: image \"%s\" cannot "
		    "be pulled (%s). The kubelet reports: %s%s",
		    incident_pods(inc), inc->kind, inc->ns, inc->name,
		    inc->image ? inc->image : "?", inc->reason, kubelet,
		    *kubelet && kubelet[strlen(kubelet) - 1] == '.' ? "" : ".");
		if (in->pull != NULL)
			pull_cause(in, kubelet, p->evidence, cause,
			    sizeof(cause));
		rc = remedies_build(in, p, cause, sizeof(cause));
	} else if (strcmp(inc->reason, "CrashLoopBackOff") == 0 ||
	    strcmp(inc->reason, "ProgressDeadlineExceeded") == 0) {
		char	line[LOG_LINE_MAX + 1], said[LOG_LINE_MAX + 128];

		said[0] = '\0';
		if (strcmp(inc->reason, "CrashLoopBackOff") == 0 &&
		    log_last_line(in->logs, line, sizeof(line))) {
			char ev[LOG_LINE_MAX + 128];

			snprintf(said, sizeof(said), " Its log says: \"%s\".",
			    line);
			snprintf(ev, sizeof(ev), "log of container %s: %s",
			    in->log_container ? in->log_container : "?", line);
			if (json_array_append_new(p->evidence,
			    json_string(ev)) == -1)
				goto fail;
		}
		snprintf(cause, sizeof(cause), "%zu pod(s) of %s %s/%s %s "
		    "(%s). %s%s%s", incident_pods(inc), inc->kind, inc->ns,
		    inc->name, strcmp(inc->reason, "CrashLoopBackOff") == 0 ?
		    "keep crashing after start" : "did not become available "
		    "within the progress deadline", inc->reason, kubelet,
		    *kubelet && kubelet[strlen(kubelet) - 1] == '.' ? "" : ".",
		    said);
		rc = remedies_build(in, p, cause, sizeof(cause));
		if (rc == 0 && command_failed(in, why, sizeof(why))) {
			size_t n = strlen(cause);

			snprintf(cause + n, sizeof(cause) - n, " %s.", why);
			if (p->patch == NULL)
				snprintf(p->summary, sizeof(p->summary),
				    "No automatic fix: %.480s", why);
		}
	} else if (strcmp(inc->reason, "OOMKilled") == 0) {
		snprintf(cause, sizeof(cause), "%zu pod(s) of %s %s/%s were "
		    "killed for running out of memory (OOMKilled).",
		    incident_pods(inc), inc->kind, inc->ns, inc->name);
		rc = remedies_build(in, p, cause, sizeof(cause));
	} else {
		char	pods[48] = "";

		/* a Service, a claim or a Job with no pod of its own is
		 * named alone; the kubelet's words close with one stop */
		if (incident_pods(inc) > 0)
			snprintf(pods, sizeof(pods), "%zu pod(s) of ",
			    incident_pods(inc));
		snprintf(cause, sizeof(cause), "%s%s %s/%s: %s.%s%s%s", pods,
		    inc->kind, inc->ns, inc->name, inc->reason,
		    *kubelet ? " " : "", kubelet, *kubelet &&
		    kubelet[strlen(kubelet) - 1] != '.' ? "." : "");
		if (strcmp(inc->reason, "JobPodsFailing") == 0 &&
		    job_log(in, p->evidence, cause, sizeof(cause)) == -1)
			goto fail;
		rc = remedies_build(in, p, cause, sizeof(cause));
	}
	if (rc == -1)
		goto fail;
	if ((p->root_cause = strdup(cause)) == NULL)
		goto fail;
	return 0;
fail:
	proposal_clear(p);
	return -1;
}

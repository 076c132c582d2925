/*
 * exec.c - run exec credential plugins on the loop (see exec.h).
 *
 * One run is one struct exec_run holding the uv_process_t, the stdout and
 * stderr pipes and the timeout timer.  The run reports when the process
 * has exited and both pipes reached EOF (or at the timeout, after killing
 * the process).  Its memory goes in the last close callback, so
 * kube_exec_free() may be called at any time: a run in progress is only
 * detached and killed.
 */
#define _GNU_SOURCE	/* timegm */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <limits.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <uv.h>

#include "base/log.h"
#include "base/util.h"
#include "kube/exec.h"

#define EXEC_STDERR_MAX		4096
#define EXEC_MSG		512

extern char **environ;

struct exec_run;

struct kube_exec {
	uv_loop_t		*loop;
	struct kube_config	 kc;
	int64_t			 timeout_ms;
	kube_exec_done_cb	 done;
	void			*arg;
	struct kube_cred	 cred;
	int			 have_cred;
	struct exec_run		*run;
	uint64_t		 runs;
};

struct exec_run {
	struct kube_exec	*x;		/* NULL once detached */
	uv_process_t		 proc;
	uv_pipe_t		 out, err;
	uv_timer_t		 timer;
	int			 open;		/* handles not yet closed */
	int			 exited, out_eof, err_eof, reported;
	int			 spawn_failed, timed_out, spawned;
	int			 proc_counted;
	int64_t			 status;
	int			 termsig;
	char			*obuf, *ebuf;
	size_t			 olen, elen;
	int			 overflow;
	char			 msg[EXEC_MSG];
};

static void
cred_clear(struct kube_cred *c)
{
	if (c->token != NULL) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	if (c->cert.data != NULL) {
		explicit_bzero(c->cert.data, c->cert.len);
		free(c->cert.data);
	}
	if (c->key.data != NULL) {
		explicit_bzero(c->key.data, c->key.len);
		free(c->key.data);
	}
	memset(c, 0, sizeof(*c));
}

int
kube_parse_time(const char *s, int64_t *ms)
{
	struct tm	tm;
	int		n = 0, oh = 0, om = 0, frac = 0, digits = 0;
	const char	*p;
	time_t		t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6)
		return -1;
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		while (digits > 0 && digits < 3) {
			frac *= 10;
			digits++;
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return -1;
		if (*p == '-') {
			oh = -oh;
			om = -om;
		}
		p += 6;
	} else
		return -1;
	if (*p != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1
	    || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	*ms = ((int64_t)t - (int64_t)oh * 3600 - (int64_t)om * 60) * 1000 +
	    frac;
	return 0;
}

struct kube_exec *
kube_exec_new(uv_loop_t *loop, const struct kube_config *kc,
    int64_t timeout_ms, kube_exec_done_cb done, void *arg)
{
	struct kube_exec *x;

	if (kc->exec == NULL || (x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	if (kube_config_copy(&x->kc, kc) == -1) {
		free(x);
		return NULL;
	}
	x->loop = loop;
	x->timeout_ms = timeout_ms > 0 ? timeout_ms : KUBE_EXEC_TIMEOUT_MS;
	x->done = done;
	x->arg = arg;
	return x;
}

static void
run_closed(uv_handle_t *h)
{
	struct exec_run *r = h->data;

	if (--r->open > 0)
		return;
	free(r->obuf);
	if (r->ebuf != NULL)
		explicit_bzero(r->ebuf, r->elen);
	free(r->ebuf);
	free(r);
}

static void
run_close(struct exec_run *r, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, run_closed);
}

/* Tear a run down; the process is killed if it still runs. */
static void
run_end(struct exec_run *r)
{
	if (!r->exited && !r->spawn_failed)
		uv_process_kill(&r->proc, SIGKILL);
	uv_timer_stop(&r->timer);
	run_close(r, (uv_handle_t *)&r->timer);
	run_close(r, (uv_handle_t *)&r->out);
	run_close(r, (uv_handle_t *)&r->err);
	/* the process handle is closed once it exited (or never started) */
	if (r->exited || (r->spawn_failed && r->spawned))
		run_close(r, (uv_handle_t *)&r->proc);
	else if (r->spawn_failed && !r->proc_counted) {
		r->proc_counted = 1;	/* never initialised: nothing to close */
		if (--r->open == 0) {
			r->open = 1;
			run_closed((uv_handle_t *)&r->timer);
		}
	}
}

/* The first line of the plugin's stderr, printable, for messages. */
static void
stderr_line(struct exec_run *r, char *out, size_t len)
{
	size_t	i, n;

	out[0] = '\0';
	if (r->elen == 0)
		return;
	n = strcspn(r->ebuf, "\n");
	if (n > 200)
		n = 200;
	snprintf(out, len, ": ");
	for (i = 0; i < n && i + 3 < len; i++)
		out[i + 2] = (r->ebuf[i] >= 32 && r->ebuf[i] < 127) ?
		    r->ebuf[i] : '?';
	out[i + 2] = '\0';
}

static char *
pem_dup(const char *s, struct kube_blob *b)
{
	size_t	n = strlen(s);

	if ((b->data = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(b->data, s, n + 1);
	b->len = n;
	return (char *)b->data;
}

/* Parse the ExecCredential on stdout into x->cred; message in r->msg. */
static int
run_parse(struct kube_exec *x, struct exec_run *r)
{
	struct kube_cred	 c;
	json_error_t		 jerr;
	json_t			*doc;
	const char		*av, *kind, *tok, *cert, *key, *exp;
	const char		*cmd = x->kc.exec->command;
	int			 rc = -1;

	memset(&c, 0, sizeof(c));
	if ((doc = json_loadb(r->obuf ? r->obuf : "", r->olen, 0, &jerr)) ==
	    NULL) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: output is "
		    "not JSON (%s at byte %d)", cmd, jerr.text, jerr.position);
		return -1;
	}
	av = json_str_at(doc, "apiVersion");
	kind = json_str_at(doc, "kind");
	if (kind == NULL || strcmp(kind, "ExecCredential") != 0) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: output is "
		    "not an ExecCredential (kind \"%.32s\")", cmd,
		    kind ? kind : "");
		goto out;
	}
	if (av == NULL || strcmp(av, x->kc.exec->api_version) != 0) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: answered "
		    "apiVersion \"%.64s\", the kubeconfig asks for %s", cmd,
		    av ? av : "", x->kc.exec->api_version);
		goto out;
	}
	tok = json_str_at(doc, "status.token");
	cert = json_str_at(doc, "status.clientCertificateData");
	key = json_str_at(doc, "status.clientKeyData");
	exp = json_str_at(doc, "status.expirationTimestamp");
	if ((tok == NULL || *tok == '\0') && (cert == NULL || key == NULL)) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: status has "
		    "neither a token nor clientCertificateData and "
		    "clientKeyData", cmd);
		goto out;
	}
	if ((cert == NULL) != (key == NULL)) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: "
		    "clientCertificateData and clientKeyData must come "
		    "together", cmd);
		goto out;
	}
	if (tok != NULL && strpbrk(tok, "\r\n") != NULL) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: token holds "
		    "a line break", cmd);
		goto out;
	}
	if (exp != NULL && kube_parse_time(exp, &c.expiry_ms) == -1) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: "
		    "status.expirationTimestamp \"%.40s\" is not RFC 3339",
		    cmd, exp);
		goto out;
	}
	if ((tok != NULL && *tok != '\0' && (c.token = strdup(tok)) == NULL) ||
	    (cert != NULL && (pem_dup(cert, &c.cert) == NULL ||
	    pem_dup(key, &c.key) == NULL))) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: out of "
		    "memory", cmd);
		goto out;
	}
	cred_clear(&x->cred);
	x->cred = c;
	memset(&c, 0, sizeof(c));
	x->have_cred = 1;
	rc = 0;
out:
	cred_clear(&c);
	json_decref(doc);
	return rc;
}

/* Once the process exited and its output is complete: report. */
static void
run_maybe_report(struct exec_run *r)
{
	struct kube_exec	*x = r->x;
	char			 line[240];
	const char		*cmd;
	int			 ok = 0;

	if (r->reported || !(r->spawn_failed || r->timed_out ||
	    (r->exited && r->out_eof && r->err_eof)))
		return;
	r->reported = 1;
	if (x == NULL) {
		run_end(r);
		return;
	}
	cmd = x->kc.exec->command;
	stderr_line(r, line, sizeof(line));
	if (r->spawn_failed)
		;	/* message set at spawn */
	else if (r->timed_out)
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: no answer "
		    "within %lld ms, killed", cmd, (long long)x->timeout_ms);
	else if (r->overflow)
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: output "
		    "larger than %d bytes", cmd, KUBE_EXEC_MAX_OUTPUT);
	else if (r->termsig != 0)
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: killed by "
		    "signal %d%s", cmd, r->termsig, line);
	else if (r->status != 0)
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: exited with "
		    "status %lld%s", cmd, (long long)r->status, line);
	else
		ok = run_parse(x, r) == 0;
	x->run = NULL;
	run_end(r);
	if (!ok)
		log_warnx("%s", r->msg);
	x->done(x->arg, ok, ok ? "" : r->msg);
}

static void
run_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char	scratch[65536];

	(void)h;
	(void)suggested;
	buf->base = scratch;
	buf->len = sizeof(scratch);
}

static int
run_append(char **b, size_t *len, size_t max, const char *p, size_t n)
{
	char	*nb;

	if (*len + n > max)
		return -1;
	if ((nb = realloc(*b, *len + n + 1)) == NULL)
		return -1;
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*b = nb;
	return 0;
}

static void
run_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct exec_run	*r = s->data;
	int		 is_out = s == (uv_stream_t *)&r->out;

	if (n > 0) {
		if (is_out) {
			if (run_append(&r->obuf, &r->olen,
			    KUBE_EXEC_MAX_OUTPUT, buf->base, (size_t)n) == -1)
				r->overflow = 1;
		} else if (r->elen < EXEC_STDERR_MAX)
			(void)run_append(&r->ebuf, &r->elen, EXEC_STDERR_MAX,
			    buf->base, (size_t)n < EXEC_STDERR_MAX - r->elen ?
			    (size_t)n : EXEC_STDERR_MAX - r->elen);
		return;
	}
	if (n == 0)
		return;
	uv_read_stop(s);
	if (is_out)
		r->out_eof = 1;
	else
		r->err_eof = 1;
	run_maybe_report(r);
}

static void
run_exit(uv_process_t *p, int64_t status, int termsig)
{
	struct exec_run *r = p->data;

	r->exited = 1;
	r->status = status;
	r->termsig = termsig;
	if (r->reported)	/* detached or timed out: just close */
		run_close(r, (uv_handle_t *)&r->proc);
	else
		run_maybe_report(r);
}

static void
run_timeout(uv_timer_t *t)
{
	struct exec_run *r = t->data;

	if (!r->spawn_failed)
		r->timed_out = 1;
	run_maybe_report(r);
}

/* KUBERNETES_EXEC_INFO: the ExecCredential the plugin is asked for. */
static char *
exec_info(const struct kube_exec *x)
{
	json_t	*doc, *spec, *cl;
	char	*s, *b64 = NULL;

	doc = json_pack("{s:s, s:s, s:{s:b}}", "apiVersion",
	    x->kc.exec->api_version, "kind", "ExecCredential", "spec",
	    "interactive", 0);
	if (doc == NULL)
		return NULL;
	spec = json_object_get(doc, "spec");
	if (x->kc.exec->provide_cluster_info) {
		cl = json_pack("{s:s, s:b}", "server", x->kc.server,
		    "insecure-skip-tls-verify", x->kc.insecure);
		if (cl != NULL && x->kc.ca.len > 0 && x->kc.ca.len < INT_MAX /
		    2 && (b64 = malloc(4 * ((x->kc.ca.len + 2) / 3) + 1)) !=
		    NULL) {
			EVP_EncodeBlock((unsigned char *)b64, x->kc.ca.data,
			    (int)x->kc.ca.len);
			json_object_set_new(cl, "certificate-authority-data",
			    json_string(b64));
		}
		if (cl != NULL && x->kc.tls_server_name != NULL)
			json_object_set_new(cl, "tls-server-name",
			    json_string(x->kc.tls_server_name));
		if (cl != NULL && x->kc.proxy_url != NULL)
			json_object_set_new(cl, "proxy-url",
			    json_string(x->kc.proxy_url));
		if (cl != NULL)
			json_object_set_new(spec, "cluster", cl);
	}
	free(b64);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

void
kube_exec_run(struct kube_exec *x)
{
	struct exec_run			*r;
	uv_process_options_t		 opt;
	uv_stdio_container_t		 stdio[3];
	const struct kube_exec_config	*ec = x->kc.exec;
	char				**argv = NULL, **env = NULL, *info;
	size_t				 na = 0, ne = 0, nenv = 0, i, j;
	int				 err;

	if (x->run != NULL)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		x->done(x->arg, 0, "exec plugin: out of memory");
		return;
	}
	x->runs++;
	r->x = x;
	x->run = r;
	r->proc.data = r->out.data = r->err.data = r->timer.data = r;
	uv_pipe_init(x->loop, &r->out, 0);
	uv_pipe_init(x->loop, &r->err, 0);
	uv_timer_init(x->loop, &r->timer);
	r->open = 4;

	while (ec->args[na] != NULL)
		na++;
	while (ec->env[ne] != NULL)
		ne++;
	while (environ[nenv] != NULL)
		nenv++;
	info = exec_info(x);
	argv = calloc(na + 2, sizeof(*argv));
	env = calloc(nenv + ne + 2, sizeof(*env));
	if (argv == NULL || env == NULL || info == NULL) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: out of "
		    "memory", ec->command);
		r->spawn_failed = 1;
		goto out;
	}
	argv[0] = ec->command;
	for (i = 0; i < na; i++)
		argv[i + 1] = ec->args[i];
	/* our environment, then the kubeconfig's env, then the info */
	for (i = 0, j = 0; i < nenv; i++)
		if (strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21) != 0)
			env[j++] = environ[i];
	for (i = 0; i < ne; i++)
		env[j++] = ec->env[i];
	{
		size_t n = strlen(info) + 32;
		char *e = malloc(n);

		if (e == NULL) {
			r->spawn_failed = 1;
			goto out;
		}
		snprintf(e, n, "KUBERNETES_EXEC_INFO=%s", info);
		free(info);
		info = e;
	}
	env[j++] = info;
	env[j] = NULL;

	memset(&opt, 0, sizeof(opt));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&r->out;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&r->err;
	opt.exit_cb = run_exit;
	opt.file = ec->command;
	opt.args = argv;
	opt.env = env;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	r->spawned = 1;
	if ((err = uv_spawn(x->loop, &r->proc, &opt)) != 0) {
		snprintf(r->msg, sizeof(r->msg), "exec plugin %s: cannot run "
		    "it: %s%s%s", ec->command, uv_strerror(err),
		    ec->install_hint ? "; " : "",
		    ec->install_hint ? ec->install_hint : "");
		r->spawn_failed = 1;
		goto out;
	}
	uv_read_start((uv_stream_t *)&r->out, run_alloc, run_read);
	uv_read_start((uv_stream_t *)&r->err, run_alloc, run_read);
out:
	if (info != NULL)
		explicit_bzero(info, strlen(info));
	free(info);
	free(argv);
	free(env);
	/* a failed spawn is reported from the loop, like any other end */
	uv_timer_start(&r->timer, run_timeout, r->spawn_failed ? 0 :
	    (uint64_t)x->timeout_ms, 0);
}

const struct kube_cred *
kube_exec_cred(struct kube_exec *x)
{
	if (!x->have_cred)
		return NULL;
	if (x->cred.expiry_ms != 0 && now_ms() >= x->cred.expiry_ms) {
		cred_clear(&x->cred);
		x->have_cred = 0;
		return NULL;
	}
	return &x->cred;
}

int
kube_exec_running(const struct kube_exec *x)
{
	return x->run != NULL;
}

void
kube_exec_invalidate(struct kube_exec *x)
{
	cred_clear(&x->cred);
	x->have_cred = 0;
}

uint64_t
kube_exec_runs(const struct kube_exec *x)
{
	return x->runs;
}

void
kube_exec_free(struct kube_exec *x)
{
	struct exec_run *r;

	if (x == NULL)
		return;
	if ((r = x->run) != NULL) {
		r->x = NULL;
		r->reported = 1;
		run_end(r);
	}
	cred_clear(&x->cred);
	kube_config_clear(&x->kc);
	free(x);
}

/*
 * service.c - see service.h.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "kube/informer.h"
#include "kube/lease.h"
#include "service.h"

#define DUMP_MAX_KEYS	256	/* section.key entries compared on reload */
#define KEY_MAX		96

/* --- readiness and status --- */

/*
 * Live: the loop turns.  The loop-lag probe is not later than
 * LOOPLAG_STUCK_MS (/healthz answers 503 and the systemd watchdog gets
 * no WATCHDOG=1 otherwise).
 */
static int
is_live(void *arg)
{
	struct service *s = arg;

	return !looplag_stuck(&s->lag, 0);
}

static int
is_ready(void *arg)
{
	struct service *s = arg;

	return !s->stopping && s->engine != NULL && engine_synced(s->engine);
}

static const char *
status_text(void *arg, char *buf, size_t len)
{
	struct service	*s = arg;

	if (s->cfg->nnamespaces == 0)
		snprintf(buf, len, "ready: watching all namespaces");
	else
		snprintf(buf, len, "ready: watching %zu namespace%s",
		    s->cfg->nnamespaces, s->cfg->nnamespaces == 1 ? "" : "s");
	return buf;
}

/* --- metrics gathered at scrape time --- */

static const char *const action_states[] = {
	ACTION_PROPOSED, ACTION_PENDING, ACTION_REFUSED, ACTION_APPROVED,
	ACTION_APPLYING, ACTION_APPLIED, ACTION_VERIFIED, ACTION_NOT_RECOVERED,
	ACTION_FAILED, ACTION_REJECTED, ACTION_EXPIRED, ACTION_SUPERSEDED,
	ACTION_ROLLED_BACK,
};

static void
set_state(const char *state, int64_t n, void *arg)
{
	metric_set(arg, METRIC_LABELS(state), (double)n);
}

/* remedy_actions{state} and remedy_incidents{state} from the store. */
static void
collect_store(void *arg)
{
	struct service		*s = arg;
	struct metric		*acts, *incs;
	struct store_counters	 c;
	size_t			 i;

	acts = metric_gauge("remedy_actions", "Actions in the store by state.",
	    "state");
	incs = metric_gauge("remedy_incidents",
	    "Incidents in the store by state.", "state");
	metric_clear_series(acts);
	metric_clear_series(incs);
	/* Known states are always present, at 0 when there are none. */
	for (i = 0; i < sizeof(action_states) / sizeof(action_states[0]); i++)
		metric_set(acts, METRIC_LABELS(action_states[i]), 0);
	metric_set(incs, METRIC_LABELS("open"), 0);
	metric_set(incs, METRIC_LABELS("resolved"), 0);
	if (s->store == NULL)
		return;
	if (store_state_counts(s->store, "actions", set_state, acts) != 0 ||
	    store_state_counts(s->store, "incidents", set_state, incs) != 0)
		log_warnx("metrics: %s", store_errmsg(s->store));
	store_counters(s->store, &c);
	metric_set(metric_counter("remedy_store_transactions_total",
	    "SQLite transactions committed (a loop turn's batched writes are "
	    "one).", NULL), NULL, (double)c.transactions);
	metric_set(metric_counter("remedy_store_writes_total",
	    "Store writes committed (incidents, diagnoses, action "
	    "transitions).", NULL), NULL, (double)c.writes);
	metric_set(metric_counter("remedy_store_lost_writes_total",
	    "Batched writes rolled back by a failed commit.", NULL), NULL,
	    (double)c.lost);
}

/* The diagnosis queue: running, queued and waiting, and their bounds. */
static void
publish_diagnoses(struct engine *e)
{
	struct engine_diag_counts c;

	engine_diag_counts(e, &c);
	metric_set(metric_gauge("remedy_diagnoses_running",
	    "Diagnoses running (at most remedy_diagnoses_running_max).", NULL),
	    NULL, c.running);
	metric_set(metric_gauge("remedy_diagnoses_running_max",
	    "diagnosis.max_concurrent.", NULL), NULL, c.max_concurrent);
	metric_set(metric_gauge("remedy_diagnosis_queue_length",
	    "Diagnoses queued for a running slot.", NULL), NULL, c.queued);
	metric_set(metric_gauge("remedy_diagnosis_queue_max",
	    "diagnosis.max_queued: the queue's capacity.", NULL), NULL,
	    c.max_queued);
	metric_set(metric_gauge("remedy_diagnoses_waiting",
	    "Incidents due for a diagnosis that wait for room in the queue.",
	    NULL), NULL, c.waiting);
}

struct inf_totals {
	size_t		objects;
	int		synced;
	uint64_t	lists, watches, restarts, relists, errors, events;
};

static void
add_informer(struct inf_totals *t, struct informer *inf)
{
	struct informer_stats st;

	if (inf == NULL)
		return;
	informer_stats(inf, &st);
	t->objects += informer_size(inf);
	if (!informer_synced(inf))
		t->synced = 0;
	t->lists += st.lists;
	t->watches += st.watches;
	t->restarts += st.watches > 1 ? st.watches - 1 : 0;
	t->relists += st.relists_410;
	t->errors += st.errors;
	t->events += st.events;
}

static void
publish_informers(const char *resource, struct informer **infs, size_t n)
{
	struct inf_totals	t = { .synced = 1 };
	const char *const	*lv = METRIC_LABELS(resource);
	size_t			i;

	for (i = 0; infs != NULL && i < n; i++)
		add_informer(&t, infs[i]);
	metrics_cache_size(resource, t.objects);
	metrics_informer_synced(resource, n > 0 && t.synced);
	metric_set(metric_counter("remedy_informer_lists_total",
	    "Complete LISTs by resource (the first one and every relist).",
	    "resource"), lv, (double)t.lists);
	metric_set(metric_counter("remedy_informer_watches_total",
	    "WATCH requests started, by resource.", "resource"), lv,
	    (double)t.watches);
	metric_set(metric_counter("remedy_watch_restarts_total",
	    "Watches started again after one ended (any reason), by "
	    "resource.", "resource"), lv, (double)t.restarts);
	metric_set(metric_counter("remedy_informer_relists_total",
	    "Relists after 410 Gone (resourceVersion expired), by resource.",
	    "resource"), lv, (double)t.relists);
	metric_set(metric_counter("remedy_informer_errors_total",
	    "LIST/WATCH failures that caused a backoff, by resource.",
	    "resource"), lv, (double)t.errors);
	metric_set(metric_counter("remedy_informer_events_total",
	    "Watch events received, by resource.", "resource"), lv,
	    (double)t.events);
}

static void
collect_engine(void *arg)
{
	struct service	*s = arg;
	struct engine	*e = s->engine;
	size_t		 k;

	if (e == NULL || e->stopping)
		return;
	/* Without leader election this instance always acts. */
	metrics_leader(e->lease == NULL || lease_is_leader(e->lease));

	publish_informers("pods", e->pods, e->ninf);
	publish_informers("replicasets", e->rsets, e->ninf);
	publish_informers("deployments", e->deps, e->ninf);
	/* The other kinds (engine.h kinf[]): named by their informer type. */
	for (k = 0; k < ENGINE_NKINDS; k++)
		if (e->nkinf[k] > 0 && e->kinf[k] != NULL &&
		    e->kinf[k][0] != NULL)
			publish_informers(informer_name(e->kinf[k][0]),
			    e->kinf[k], e->nkinf[k]);
	engine_publish_kinds(e);
	publish_diagnoses(e);
	metric_set(metric_gauge("remedy_ready",
	    "1 once every informer cache has synced (what /readyz answers).",
	    NULL), NULL, is_ready(s));
}

/*
 * The standard process_* metrics of Prometheus client libraries, from
 * /proc/self: CPU time, resident and virtual memory, descriptors.
 */
static void
collect_process(void *arg)
{
	struct rlimit	 rl;
	struct dirent	*de;
	DIR		*dir;
	FILE		*f;
	char		 buf[1024], *p;
	unsigned long	 utime, stime, vsize;
	long		 rss, tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	int		 nfd = 0;

	if ((f = fopen("/proc/self/stat", "r")) != NULL) {
		/* after the ")" closing comm: state is field 3, utime 14 */
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%lu %lu %*d %*d %*d %*d %*d %*d %*u %lu %ld", &utime, &stime,
		    &vsize, &rss) == 4 && tick > 0) {
			metric_set(metric_counter("process_cpu_seconds_total",
			    "Total user and system CPU time spent in seconds.",
			    NULL), NULL, (double)(utime + stime) / (double)tick);
			metric_set(metric_gauge("process_virtual_memory_bytes",
			    "Virtual memory size in bytes.", NULL), NULL,
			    (double)vsize);
			metric_set(metric_gauge("process_resident_memory_bytes",
			    "Resident memory size in bytes.", NULL), NULL,
			    (double)rss * (double)page);
		}
		fclose(f);
	}
	if ((dir = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (de->d_name[0] != '.')
				nfd++;
		closedir(dir);
		metric_set(metric_gauge("process_open_fds",
		    "Number of open file descriptors.", NULL), NULL,
		    (double)(nfd - 1));	/* less the one reading the dir */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metric_set(metric_gauge("process_max_fds",
		    "Maximum number of open file descriptors.", NULL), NULL,
		    (double)rl.rlim_cur);
	(void)arg;
}

/* --- start / stop --- */

int
service_start(struct service *s, uv_loop_t *loop, struct remedy_config *cfg,
    struct store *st, struct engine *e, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->cfg = cfg;
	s->store = st;
	s->engine = e;
	metric_set(metric_gauge("remedy_build_info",
	    "remedyd's version, always 1.", "version"),
	    METRIC_LABELS(REMEDY_VERSION), 1);
	metric_set(metric_gauge("process_start_time_seconds",
	    "Start time of the process since unix epoch in seconds.", NULL),
	    NULL, (double)time(NULL));
	metrics_add_collector(collect_store, s);
	metrics_add_collector(collect_engine, s);
	metrics_add_collector(collect_process, s);
	looplag_start(&s->lag, loop, 0);
	if (cfg->http_listen != NULL) {
		if ((s->httpd = httpd_new(loop, cfg->http_listen, is_ready, s,
		    err, errlen)) == NULL)
			return -1;
		httpd_set_live(s->httpd, is_live);
		log_info("monitoring endpoint on http://%s (/metrics, "
		    "/healthz, /readyz)", cfg->http_listen);
	}
	sdnotify_start(&s->notify, loop, is_ready, status_text, s);
	s->notify.is_live = is_live;
	return 0;
}

void
service_stopping(struct service *s, const char *status)
{
	s->stopping = 1;
	sdnotify_stopping(&s->notify, status);
}

void
service_close(struct service *s)
{
	metrics_remove_collector(collect_store, s);
	metrics_remove_collector(collect_engine, s);
	metrics_remove_collector(collect_process, s);
	httpd_free(s->httpd);
	s->httpd = NULL;
	sdnotify_close(&s->notify);
	looplag_close(&s->lag);
}

/* --- reload --- */

struct dumpkey {
	char	 key[KEY_MAX];	/* "section.key" */
	char	*val;		/* the value text, continuation lines joined */
};

struct dumpkeys {
	struct dumpkey	k[DUMP_MAX_KEYS];
	size_t		n;
};

static void
dumpkeys_clear(struct dumpkeys *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->k[i].val);
	d->n = 0;
}

/* Append text to *v (heap, may be NULL). */
static void
append(char **v, const char *text, size_t len)
{
	size_t	old = *v ? strlen(*v) : 0;
	char	*n;

	if ((n = realloc(*v, old + len + 2)) == NULL)
		return;
	memcpy(n + old, text, len);
	n[old + len] = '\n';
	n[old + len + 1] = '\0';
	*v = n;
}

/*
 * Split a canonical dump (config_dump: sections at column 0, keys at
 * column 2, anything deeper belongs to the key above) into section.key ->
 * value text.
 */
static void
dumpkeys_parse(const char *dump, struct dumpkeys *d)
{
	char		 section[KEY_MAX] = "";
	const char	*line, *eol, *colon;
	size_t		 len, klen;

	d->n = 0;
	for (line = dump; line != NULL && *line != '\0'; line = eol + 1) {
		if ((eol = strchr(line, '\n')) == NULL)
			eol = line + strlen(line);
		len = (size_t)(eol - line);
		if (len > 0 && line[0] != ' ') {
			colon = memchr(line, ':', len);
			snprintf(section, sizeof(section), "%.*s",
			    (int)(colon ? colon - line : (long)len), line);
		} else if (len > 2 && line[1] == ' ' && line[2] != ' ' &&
		    line[2] != '-' && (colon = memchr(line, ':', len)) != NULL &&
		    d->n < DUMP_MAX_KEYS) {
			klen = (size_t)(colon - line - 2);
			if (klen > KEY_MAX / 2)
				klen = KEY_MAX / 2;
			snprintf(d->k[d->n].key, KEY_MAX, "%.*s.%.*s",
			    KEY_MAX / 2 - 1, section, (int)klen, line + 2);
			d->k[d->n].val = NULL;
			append(&d->k[d->n].val, colon + 1,
			    len - (size_t)(colon + 1 - line));
			d->n++;
		} else if (d->n > 0)
			append(&d->k[d->n - 1].val, line, len);
		if (*eol == '\0')
			break;
	}
}

static const char *
dumpkeys_get(const struct dumpkeys *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->k[i].key, key) == 0)
			return d->k[i].val ? d->k[i].val : "";
	return NULL;
}

/* A value of the dump on one line: a block list as " [a, b]" (its
 * items are the lines "  - item" below the key), else its first line. */
static void
oneline(char *dst, size_t len, const char *v)
{
	const char	*p, *eol;
	size_t		 n;

	eol = strchr(v, '\n');
	if (eol == NULL || strspn(v, " ") != (size_t)(eol - v) ||
	    strncmp(eol + 1, "  - ", 4) != 0) {
		snprintf(dst, len, "%.*s", (int)(eol ? eol - v : (long)strlen(v)),
		    v);
		return;
	}
	snprintf(dst, len, " [");
	for (p = eol + 1; strncmp(p, "  - ", 4) == 0; p = eol + 1) {
		p += 4;
		eol = strchr(p, '\n');
		n = strlen(dst);
		snprintf(dst + n, len - n, "%s%.*s", dst[2] ? ", " : "",
		    (int)(eol ? eol - p : (long)strlen(p)), p);
		if (eol == NULL)
			break;
	}
	n = strlen(dst);
	snprintf(dst + n, len - n, "]");
}

/*
 * Log every key whose value differs between dumps a and b.  restart:
 * these are keys that were not applied.  Returns how many differ.
 */
static int
log_changes(const char *a, const char *b, int restart)
{
	struct dumpkeys	*da, *db;
	const char	*va, *vb;
	char		 shorta[128], shortb[128];
	size_t		 i;
	int		 n = 0;

	da = calloc(1, sizeof(*da));
	db = calloc(1, sizeof(*db));
	if (da == NULL || db == NULL) {
		free(da);
		free(db);
		return 0;
	}
	dumpkeys_parse(a, da);
	dumpkeys_parse(b, db);
	for (i = 0; i < db->n; i++) {
		vb = db->k[i].val ? db->k[i].val : "";
		va = dumpkeys_get(da, db->k[i].key);
		if (va != NULL && strcmp(va, vb) == 0)
			continue;
		n++;
		if (restart) {
			log_warnx("SIGHUP: %s changed; it applies only after a "
			    "restart of remedyd (still using the running "
			    "value)", db->k[i].key);
			continue;
		}
		oneline(shorta, sizeof(shorta), va ? va : "");
		oneline(shortb, sizeof(shortb), vb);
		log_notice("SIGHUP: %s:%s ->%s", db->k[i].key, shorta, shortb);
	}
	dumpkeys_clear(da);
	dumpkeys_clear(db);
	free(da);
	free(db);
	return n;
}

/* Log each "file:line:col: message" line of errs. */
static void
log_errors(const char *errs)
{
	const char	*p, *eol;

	for (p = errs; p != NULL && *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		log_errx("SIGHUP: %.*s", (int)(eol - p), p);
		if (*eol == '\0')
			break;
	}
}

/* Re-open the endpoint on the new address; 0, or -1 keeping the old one. */
static int
reload_http(struct service *s, const char *addr)
{
	struct httpd	*h = NULL;
	char		 err[256];

	if (addr != NULL && (h = httpd_new(s->loop, addr, is_ready, s, err,
	    sizeof(err))) == NULL) {
		log_errx("SIGHUP: %s; keeping the old endpoint", err);
		return -1;
	}
	if (h != NULL)
		httpd_set_live(h, is_live);
	httpd_free(s->httpd);
	s->httpd = h;
	if (addr != NULL)
		log_info("monitoring endpoint on http://%s", addr);
	else
		log_info("monitoring endpoint closed");
	return 0;
}

static void
swap_list(char ***a, char ***b)
{
	char	**t = *a;

	*a = *b;
	*b = t;
}

int
service_reload(struct service *s, const char *path)
{
	struct remedy_config	 n, *cur = s->cfg;
	char			*errs = NULL, *before = NULL, *applied = NULL;
	char			*wanted = NULL, *tmp;
	int			 nerr, rc = -1, http_changed;

	if (s->stopping)
		return -1;
	sdnotify_send(&s->notify, "RELOADING=1\nSTATUS=reloading %s\n", path);
	config_init(&n);
	nerr = config_load(path, &n, &errs);
	if (nerr > 0) {
		log_errors(errs);
		log_errx("SIGHUP: %d error%s in %s; keeping the running "
		    "configuration", nerr, nerr == 1 ? "" : "s", path);
		goto out;
	}
	if ((before = config_dump(cur)) == NULL ||
	    (wanted = config_dump(&n)) == NULL) {
		log_errx("SIGHUP: out of memory; keeping the running "
		    "configuration");
		goto out;
	}

	/* The live keys. */
	http_changed = (cur->http_listen == NULL) != (n.http_listen == NULL) ||
	    (n.http_listen != NULL && strcmp(cur->http_listen,
	    n.http_listen) != 0);
	if (http_changed && reload_http(s, n.http_listen) == 0) {
		tmp = cur->http_listen;
		cur->http_listen = n.http_listen;
		n.http_listen = tmp;
	}
	cur->log_level = n.log_level;
	log_setlevel(n.log_level);
	cur->hold_down_ms = n.hold_down_ms;
	cur->verify_timeout_ms = n.verify_timeout_ms;
	cur->pending_ttl_ms = n.pending_ttl_ms;
	/*
	 * Who has which role, and the agents' caps: for the next connection
	 * and the next proposal.  The old lists are freed with n below, so
	 * reloaded() must point their borrowers at the new ones first.
	 */
	swap_list(&cur->control_viewers, &n.control_viewers);
	swap_list(&cur->control_approvers, &n.control_approvers);
	swap_list(&cur->control_proposers, &n.control_proposers);
	cur->control_root_role = n.control_root_role;
	cur->control_agent_pending = n.control_agent_pending;
	cur->control_agent_per_min = n.control_agent_per_min;
	if (s->reloaded != NULL)
		s->reloaded(s->reloaded_arg);

	if ((applied = config_dump(cur)) != NULL) {
		if (log_changes(before, applied, 0) == 0)
			log_info("SIGHUP: no live key changed");
		log_changes(applied, wanted, 1);
	}
	log_notice("SIGHUP: reloaded %s", path);
	rc = 0;
out:
	/* READY=1 ends RELOADING=1, but only once we were ready before. */
	sdnotify_send(&s->notify, "%sSTATUS=%s\n", s->notify.ready ?
	    "READY=1\n" : "", rc == 0 ? "configuration reloaded" :
	    "reload failed; running on the old configuration");
	free(errs);
	free(before);
	free(applied);
	free(wanted);
	config_clear(&n);
	return rc;
}

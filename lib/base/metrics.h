/*
 * metrics.h - a tiny process-wide registry of Prometheus metrics.
 *
 * Any module bumps counters, sets gauges or observes histogram samples; the
 * daemon's HTTP endpoint (daemon/httpd.c) renders the registry in the
 * Prometheus text exposition format (version 0.0.4) on GET /metrics.
 *
 * Families are registered by name on first use and live until
 * metrics_reset(): calling metric_counter() twice with the same name returns
 * the same family (a later call with another type or other label names
 * returns NULL and logs a warning once).  Callers may keep the returned
 * pointer in a static, or look it up at every use - both are cheap.
 *
 * Label values are passed as a NULL-terminated array; METRIC_LABELS builds
 * one in place:
 *
 *	static struct metric *calls;
 *	if (calls == NULL)
 *		calls = metric_counter("remedy_diagnosis_calls_total",
 *		    "Diagnosis backend calls by backend and outcome.",
 *		    "backend,outcome");
 *	metric_inc(calls, METRIC_LABELS("openai", "ok"));
 *
 * A family without labels takes NULL.  A call with the wrong number of
 * values is ignored (and logged once per family).  Every function accepts a
 * NULL family and does nothing, so a failed registration never crashes the
 * caller.
 *
 * Limits: at most METRICS_MAX_FAMILIES families, METRICS_MAX_SERIES label
 * combinations per family and METRICS_MAX_LABEL_BYTES per label value
 * (longer values are truncated); series beyond the limit are dropped and
 * counted in remedy_metrics_dropped_series_total.  Label values are escaped
 * on output, so any string is safe.
 *
 * Single-threaded, like the rest of remedyd (one libuv loop).
 */
#ifndef REMEDY_METRICS_H
#define REMEDY_METRICS_H

#include <stddef.h>

#define METRICS_MAX_FAMILIES	256
#define METRICS_MAX_SERIES	1000
#define METRICS_MAX_LABELS	8
#define METRICS_MAX_LABEL_BYTES	256

struct metric;

#define METRIC_LABELS(...)	((const char *const[]){ __VA_ARGS__, NULL })

/*
 * Register (or find) a family.  name: [a-zA-Z_:][a-zA-Z0-9_:]*; counters
 * should end in _total.  labels: comma-separated label names ("backend,
 * outcome"), or NULL / "" for none.  Returns NULL on a bad name, a
 * mismatch with an earlier registration, or when the registry is full.
 */
struct metric	*metric_counter(const char *name, const char *help,
		    const char *labels);
struct metric	*metric_gauge(const char *name, const char *help,
		    const char *labels);
/* bounds: ascending upper bounds (le), +Inf is implied; copied. */
struct metric	*metric_histogram(const char *name, const char *help,
		    const char *labels, const double *bounds, size_t nbounds);

/* Counters: add v >= 0 (negative values are ignored). */
void	metric_add(struct metric *, const char *const *lv, double v);
void	metric_inc(struct metric *, const char *const *lv);
/*
 * Gauges: set or add (v may be negative).  metric_set also works on a
 * counter, to mirror a count kept elsewhere (it must never decrease).
 */
void	metric_set(struct metric *, const char *const *lv, double v);
void	metric_gauge_add(struct metric *, const char *const *lv, double v);
/* Gauges: forget every series (before re-filling from a fresh count). */
void	metric_clear_series(struct metric *);
/* Histograms: one sample. */
void	metric_observe(struct metric *, const char *const *lv, double v);

/*
 * Current value of a counter or gauge series (histograms: the sample
 * count); 0 when the series does not exist.  For tests and status output.
 */
double	metric_value(const char *name, const char *const *lv);

/*
 * Collectors run at the start of every metrics_render(), in registration
 * order, to refresh gauges whose truth lives elsewhere (rows in the store,
 * cache sizes).  Removing with the same fn and arg.
 */
typedef void	(*metrics_collector_fn)(void *arg);
int	metrics_add_collector(metrics_collector_fn, void *arg);
void	metrics_remove_collector(metrics_collector_fn, void *arg);

/*
 * Render every family in the Prometheus text format into a heap string
 * (*out, freed by the caller, length in *outlen).  Returns 0, or -1 when
 * out of memory.
 */
int	metrics_render(char **out, size_t *outlen);

/* Free every family and collector (at exit, and between tests). */
void	metrics_reset(void);

/*
 * Well-known metrics, so that every module names them the same way.  Each
 * registers its family on first use.
 *
 * remedy_diagnosis_calls_total{backend,outcome}  outcome "ok" or an error
 *     kind ("timeout", "http", "parse", "schema", "refused", ...)
 * remedy_diagnosis_tokens_total{backend,kind}     kind "prompt"/"completion"
 * remedy_diagnosis_duration_seconds{backend}      histogram
 * remedy_diagnosis_errors_total{backend,reason}   (only when outcome != ok)
 */
void	metrics_diagnosis_call(const char *backend, const char *outcome,
	    double seconds, long prompt_tokens, long completion_tokens);

/*
 * remedy_kube_requests_total{resource,verb,code}: one per API request that
 * got an answer (code: the HTTP status) or none (code "error").  verb:
 * get, list, watch, patch, create, update, delete.
 */
void	metrics_kube_request(const char *resource, const char *verb,
	    int http_code);
/*
 * The same from an HTTP exchange: method ("GET", NULL is GET), the API
 * path with or without its query ("/apis/apps/v1/namespaces/demo/
 * deployments/web?dryRun=All"), watch set for a watch.  The resource is
 * the path's resource (with its subresource, "pods/log"), or
 * "nonresource" for /version and discovery.  Called by the Kubernetes
 * client for every answer (retries included).
 */
void	metrics_kube_api(const char *method, const char *path, int watch,
	    int http_code);

/*
 * The informers' own counters (lists, watches, 410 relists, errors,
 * events) and remedy_watch_restarts_total{resource} are mirrored from
 * informer_stats() by remedyd at every scrape (daemon/service.c), so the
 * informer code needs no calls here.
 */

/* remedy_informer_objects{resource}: objects in the informer cache. */
void	metrics_cache_size(const char *resource, size_t nobjects);

/* remedy_informer_synced{resource}: 1 once the first LIST completed. */
void	metrics_informer_synced(const char *resource, int synced);

/* remedy_leader: 1 while this instance holds the lease (or runs without
 * leader election), 0 otherwise. */
void	metrics_leader(int is_leader);

#endif

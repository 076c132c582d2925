/*
 * metrics.c - the process-wide metrics registry and its Prometheus text
 * rendering.  See metrics.h for the contract.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/metrics.h"

#define NELEMS(a)	(sizeof(a) / sizeof((a)[0]))

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct series {
	char	**lv;		/* nlabels label values */
	double	  value;	/* counter / gauge; histogram sum */
	double	  count;	/* histogram sample count */
	double	 *buckets;	/* histogram: nbounds cumulative counts */
};

struct metric {
	char		 *name;
	char		 *help;
	enum mtype	  type;
	char		 *labelspec;	/* as registered, for the mismatch check */
	char		**labels;
	size_t		  nlabels;
	double		 *bounds;
	size_t		  nbounds;
	struct hmap	  index;	/* joined label values -> series */
	struct series	**series;	/* insertion order, for stable output */
	size_t		  nseries;
	size_t		  capseries;
	int		  warned;
};

struct collector {
	metrics_collector_fn	 fn;
	void			*arg;
};

static struct metric	*families[METRICS_MAX_FAMILIES];
static size_t		 nfamilies;
static struct collector	*collectors;
static size_t		 ncollectors;
static struct metric	*dropped;	/* remedy_metrics_dropped_series_total */

static int
valid_name(const char *s, int colon_ok)
{
	if (s == NULL || *s == '\0')
		return 0;
	if (!(isalpha((unsigned char)*s) || *s == '_' || (colon_ok && *s == ':')))
		return 0;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' ||
		    (colon_ok && *s == ':')))
			return 0;
	return 1;
}

static void
family_free(struct metric *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->nseries; i++) {
		for (j = 0; j < m->nlabels; j++)
			free(m->series[i]->lv[j]);
		free(m->series[i]->lv);
		free(m->series[i]->buckets);
		free(m->series[i]);
	}
	free(m->series);
	hmap_clear(&m->index);
	for (j = 0; j < m->nlabels; j++)
		free(m->labels[j]);
	free(m->labels);
	free(m->bounds);
	free(m->labelspec);
	free(m->name);
	free(m->help);
	free(m);
}

/* Split "a, b,c" into label names; -1 on a bad name or too many. */
static int
parse_labels(struct metric *m, const char *spec)
{
	char *copy, *tok, *save = NULL;
	int rc = -1;

	if (spec == NULL || *spec == '\0')
		return 0;
	if ((copy = strdup(spec)) == NULL)
		return -1;
	if ((m->labels = calloc(METRICS_MAX_LABELS, sizeof(char *))) == NULL)
		goto out;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		tok[strcspn(tok, " ")] = '\0';
		if (!valid_name(tok, 0) || strncmp(tok, "__", 2) == 0 ||
		    strcmp(tok, "le") == 0 || m->nlabels == METRICS_MAX_LABELS)
			goto out;
		if ((m->labels[m->nlabels] = strdup(tok)) == NULL)
			goto out;
		m->nlabels++;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

static struct metric *
find(const char *name)
{
	size_t i;

	for (i = 0; i < nfamilies; i++)
		if (strcmp(families[i]->name, name) == 0)
			return families[i];
	return NULL;
}

static struct metric *
reg(const char *name, const char *help, enum mtype type, const char *labels,
    const double *bounds, size_t nbounds)
{
	struct metric *m;
	const char *spec = labels ? labels : "";
	size_t i;

	if ((m = find(name)) != NULL) {
		if (m->type != type || strcmp(m->labelspec, spec) != 0) {
			if (!m->warned)
				log_warnx("metrics: %s registered again with "
				    "another type or labels", name);
			m->warned = 1;
			return NULL;
		}
		return m;
	}
	if (!valid_name(name, 1)) {
		log_warnx("metrics: invalid metric name \"%s\"", name);
		return NULL;
	}
	if (nfamilies == METRICS_MAX_FAMILIES) {
		log_warnx("metrics: registry full, %s not registered", name);
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->type = type;
	hmap_init(&m->index);
	if ((m->name = strdup(name)) == NULL ||
	    (m->help = strdup(help ? help : "")) == NULL ||
	    (m->labelspec = strdup(spec)) == NULL)
		goto fail;
	if (parse_labels(m, labels) == -1) {
		log_warnx("metrics: %s: invalid label names \"%s\"", name, spec);
		goto fail;
	}
	if (type == M_HISTOGRAM) {
		if (nbounds == 0 ||
		    (m->bounds = calloc(nbounds, sizeof(double))) == NULL)
			goto fail;
		for (i = 0; i < nbounds; i++) {
			if (i > 0 && !(bounds[i] > bounds[i - 1]))
				goto fail;
			m->bounds[i] = bounds[i];
		}
		m->nbounds = nbounds;
	}
	families[nfamilies++] = m;
	return m;
fail:
	family_free(m);
	return NULL;
}

struct metric *
metric_counter(const char *name, const char *help, const char *labels)
{
	return reg(name, help, M_COUNTER, labels, NULL, 0);
}

struct metric *
metric_gauge(const char *name, const char *help, const char *labels)
{
	return reg(name, help, M_GAUGE, labels, NULL, 0);
}

struct metric *
metric_histogram(const char *name, const char *help, const char *labels,
    const double *bounds, size_t nbounds)
{
	return reg(name, help, M_HISTOGRAM, labels, bounds, nbounds);
}

static size_t
count_lv(const char *const *lv)
{
	size_t n = 0;

	if (lv != NULL)
		while (lv[n] != NULL && n <= METRICS_MAX_LABELS)
			n++;
	return n;
}

/*
 * The series for these label values, created when create is set.  Values
 * are truncated to METRICS_MAX_LABEL_BYTES; the key joins them with \x1f.
 */
static struct series *
lookup(struct metric *m, const char *const *lv, int create)
{
	char key[METRICS_MAX_LABELS * (METRICS_MAX_LABEL_BYTES + 1) + 1];
	struct series *s = NULL, **grown;
	size_t i, off = 0, n;

	if (m == NULL)
		return NULL;
	if (count_lv(lv) != m->nlabels) {
		if (!m->warned)
			log_warnx("metrics: %s takes %zu label values, got %zu",
			    m->name, m->nlabels, count_lv(lv));
		m->warned = 1;
		return NULL;
	}
	key[0] = '\0';
	for (i = 0; i < m->nlabels; i++) {
		n = strnlen(lv[i], METRICS_MAX_LABEL_BYTES);
		memcpy(key + off, lv[i], n);
		off += n;
		key[off++] = '\x1f';
	}
	key[off] = '\0';
	if ((s = hmap_get(&m->index, key)) != NULL || !create)
		return s;
	if (m->nseries >= METRICS_MAX_SERIES) {
		if (m != dropped) {
			if (dropped == NULL)
				dropped = metric_counter(
				    "remedy_metrics_dropped_series_total",
				    "Label combinations not recorded because a "
				    "family reached its series limit.",
				    "metric");
			metric_inc(dropped, METRIC_LABELS(m->name));
		}
		return NULL;
	}
	if (m->nseries == m->capseries) {
		n = m->capseries ? m->capseries * 2 : 8;
		if ((grown = realloc(m->series, n * sizeof(*grown))) == NULL)
			return NULL;
		m->series = grown;
		m->capseries = n;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (m->nlabels > 0 &&
	    (s->lv = calloc(m->nlabels, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < m->nlabels; i++)
		if ((s->lv[i] = strndup(lv[i], METRICS_MAX_LABEL_BYTES)) == NULL)
			goto fail;
	if (m->type == M_HISTOGRAM &&
	    (s->buckets = calloc(m->nbounds, sizeof(double))) == NULL)
		goto fail;
	if (hmap_put(&m->index, key, s, NULL) == -1)
		goto fail;
	m->series[m->nseries++] = s;
	return s;
fail:
	if (s->lv != NULL)
		for (i = 0; i < m->nlabels; i++)
			free(s->lv[i]);
	free(s->lv);
	free(s->buckets);
	free(s);
	return NULL;
}

void
metric_add(struct metric *m, const char *const *lv, double v)
{
	struct series *s;

	if (m == NULL || m->type != M_COUNTER || !(v >= 0))
		return;
	if ((s = lookup(m, lv, 1)) != NULL)
		s->value += v;
}

void
metric_inc(struct metric *m, const char *const *lv)
{
	metric_add(m, lv, 1);
}

void
metric_set(struct metric *m, const char *const *lv, double v)
{
	struct series *s;

	if (m == NULL || m->type == M_HISTOGRAM)
		return;
	if ((s = lookup(m, lv, 1)) != NULL)
		s->value = v;
}

void
metric_gauge_add(struct metric *m, const char *const *lv, double v)
{
	struct series *s;

	if (m == NULL || m->type != M_GAUGE)
		return;
	if ((s = lookup(m, lv, 1)) != NULL)
		s->value += v;
}

void
metric_clear_series(struct metric *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->nseries; i++) {
		for (j = 0; j < m->nlabels; j++)
			free(m->series[i]->lv[j]);
		free(m->series[i]->lv);
		free(m->series[i]->buckets);
		free(m->series[i]);
	}
	m->nseries = 0;
	hmap_clear(&m->index);
	hmap_init(&m->index);
}

void
metric_observe(struct metric *m, const char *const *lv, double v)
{
	struct series *s;
	size_t i;

	if (m == NULL || m->type != M_HISTOGRAM || isnan(v))
		return;
	if ((s = lookup(m, lv, 1)) == NULL)
		return;
	for (i = 0; i < m->nbounds; i++)
		if (v <= m->bounds[i])
			s->buckets[i]++;
	s->count++;
	s->value += v;
}

double
metric_value(const char *name, const char *const *lv)
{
	struct metric *m;
	struct series *s;

	if ((m = find(name)) == NULL || (s = lookup(m, lv, 0)) == NULL)
		return 0;
	return m->type == M_HISTOGRAM ? s->count : s->value;
}

int
metrics_add_collector(metrics_collector_fn fn, void *arg)
{
	struct collector *c;

	if ((c = realloc(collectors, (ncollectors + 1) * sizeof(*c))) == NULL)
		return -1;
	collectors = c;
	collectors[ncollectors].fn = fn;
	collectors[ncollectors].arg = arg;
	ncollectors++;
	return 0;
}

void
metrics_remove_collector(metrics_collector_fn fn, void *arg)
{
	size_t i;

	for (i = 0; i < ncollectors; i++)
		if (collectors[i].fn == fn && collectors[i].arg == arg) {
			memmove(&collectors[i], &collectors[i + 1],
			    (ncollectors - i - 1) * sizeof(*collectors));
			ncollectors--;
			return;
		}
}

/* A growing output buffer; err latches the first allocation failure. */
struct obuf {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

static void
ob_put(struct obuf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
ob_str(struct obuf *b, const char *s)
{
	ob_put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
ob_fmt(struct obuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		ob_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

/* HELP text escapes \ and newline; label values also escape ". */
static void
ob_escaped(struct obuf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			ob_str(b, "\\\\");
		else if (*s == '\n')
			ob_str(b, "\\n");
		else if (quote && *s == '"')
			ob_str(b, "\\\"");
		else
			ob_put(b, s, 1);
	}
}

static void
ob_value(struct obuf *b, double v)
{
	if (isnan(v))
		ob_str(b, "NaN");
	else if (isinf(v))
		ob_str(b, v > 0 ? "+Inf" : "-Inf");
	else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		ob_fmt(b, "%lld", (long long)v);
	else
		ob_fmt(b, "%.17g", v);
}

/* {a="x",b="y"[,le="..."]} or nothing when there are no labels. */
static void
ob_labels(struct obuf *b, const struct metric *m, const struct series *s,
    const char *le)
{
	size_t i;

	if (m->nlabels == 0 && le == NULL)
		return;
	ob_str(b, "{");
	for (i = 0; i < m->nlabels; i++) {
		if (i > 0)
			ob_str(b, ",");
		ob_str(b, m->labels[i]);
		ob_str(b, "=\"");
		ob_escaped(b, s->lv[i], 1);
		ob_str(b, "\"");
	}
	if (le != NULL) {
		if (m->nlabels > 0)
			ob_str(b, ",");
		ob_str(b, "le=\"");
		ob_str(b, le);
		ob_str(b, "\"");
	}
	ob_str(b, "}");
}

static void
render_family(struct obuf *b, const struct metric *m)
{
	static const char *tname[] = { "counter", "gauge", "histogram" };
	const struct series *s;
	char le[64];
	size_t i, j;

	ob_str(b, "# HELP ");
	ob_str(b, m->name);
	ob_str(b, " ");
	ob_escaped(b, m->help, 0);
	ob_str(b, "\n# TYPE ");
	ob_str(b, m->name);
	ob_str(b, " ");
	ob_str(b, tname[m->type]);
	ob_str(b, "\n");
	for (i = 0; i < m->nseries; i++) {
		s = m->series[i];
		if (m->type != M_HISTOGRAM) {
			ob_str(b, m->name);
			ob_labels(b, m, s, NULL);
			ob_str(b, " ");
			ob_value(b, s->value);
			ob_str(b, "\n");
			continue;
		}
		for (j = 0; j <= m->nbounds; j++) {
			if (j < m->nbounds)
				snprintf(le, sizeof(le), "%.17g", m->bounds[j]);
			else
				snprintf(le, sizeof(le), "+Inf");
			ob_str(b, m->name);
			ob_str(b, "_bucket");
			ob_labels(b, m, s, le);
			ob_str(b, " ");
			ob_value(b, j < m->nbounds ? s->buckets[j] : s->count);
			ob_str(b, "\n");
		}
		ob_str(b, m->name);
		ob_str(b, "_sum");
		ob_labels(b, m, s, NULL);
		ob_str(b, " ");
		ob_value(b, s->value);
		ob_str(b, "\n");
		ob_str(b, m->name);
		ob_str(b, "_count");
		ob_labels(b, m, s, NULL);
		ob_str(b, " ");
		ob_value(b, s->count);
		ob_str(b, "\n");
	}
}

int
metrics_render(char **out, size_t *outlen)
{
	struct obuf b = { 0 };
	size_t i;

	for (i = 0; i < ncollectors; i++)
		collectors[i].fn(collectors[i].arg);
	ob_str(&b, "");
	for (i = 0; i < nfamilies; i++)
		render_family(&b, families[i]);
	if (b.err) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	if (outlen != NULL)
		*outlen = b.len;
	return 0;
}

void
metrics_reset(void)
{
	size_t i;

	for (i = 0; i < nfamilies; i++)
		family_free(families[i]);
	nfamilies = 0;
	dropped = NULL;
	free(collectors);
	collectors = NULL;
	ncollectors = 0;
}

/*
 * The well-known metrics.  Families are looked up by name every time (a
 * short linear scan) rather than cached in statics, so metrics_reset()
 * never leaves a dangling pointer behind.
 */
static const double latency_bounds[] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120
};

void
metrics_diagnosis_call(const char *backend, const char *outcome,
    double seconds, long prompt_tokens, long completion_tokens)
{
	backend = backend ? backend : "unknown";
	outcome = outcome ? outcome : "ok";
	metric_inc(metric_counter("remedy_diagnosis_calls_total",
	    "Diagnosis backend calls by backend and outcome.",
	    "backend,outcome"), METRIC_LABELS(backend, outcome));
	if (strcmp(outcome, "ok") != 0)
		metric_inc(metric_counter("remedy_diagnosis_errors_total",
		    "Diagnosis backend calls that failed, by reason.",
		    "backend,reason"), METRIC_LABELS(backend, outcome));
	if (seconds >= 0)
		metric_observe(metric_histogram(
		    "remedy_diagnosis_duration_seconds",
		    "Time from request to parsed reply of a diagnosis call.",
		    "backend", latency_bounds, sizeof(latency_bounds) /
		    sizeof(latency_bounds[0])), METRIC_LABELS(backend), seconds);
	if (prompt_tokens > 0)
		metric_add(metric_counter("remedy_diagnosis_tokens_total",
		    "Tokens used by diagnosis calls, by backend and kind.",
		    "backend,kind"), METRIC_LABELS(backend, "prompt"),
		    (double)prompt_tokens);
	if (completion_tokens > 0)
		metric_add(metric_counter("remedy_diagnosis_tokens_total",
		    "Tokens used by diagnosis calls, by backend and kind.",
		    "backend,kind"), METRIC_LABELS(backend, "completion"),
		    (double)completion_tokens);
}

void
metrics_kube_request(const char *resource, const char *verb, int http_code)
{
	char code[16];

	if (http_code > 0)
		snprintf(code, sizeof(code), "%d", http_code);
	else
		snprintf(code, sizeof(code), "error");
	metric_inc(metric_counter("remedy_kube_requests_total",
	    "Kubernetes API requests by resource, verb and HTTP status.",
	    "resource,verb,code"), METRIC_LABELS(resource ? resource : "",
	    verb ? verb : "", code));
}

void
metrics_kube_api(const char *method, const char *path, int watch,
    int http_code)
{
	char		 buf[512], res[160];
	char		*parts[8], *q, *save = NULL, *tok;
	const char	*verb;
	size_t		 n = 0, i;
	int		 named;

	snprintf(buf, sizeof(buf), "%s", path ? path : "");
	if ((q = strchr(buf, '?')) != NULL) {
		if (strstr(q, "watch=1") || strstr(q, "watch=true"))
			watch = 1;
		*q = '\0';
	}
	for (tok = strtok_r(buf, "/", &save); tok != NULL && n < NELEMS(parts);
	    tok = strtok_r(NULL, "/", &save))
		parts[n++] = tok;
	/* /api/v1/... or /apis/GROUP/VERSION/... */
	if (n >= 3 && strcmp(parts[0], "api") == 0)
		i = 2;
	else if (n >= 4 && strcmp(parts[0], "apis") == 0)
		i = 3;
	else
		i = n;
	if (i + 2 < n && strcmp(parts[i], "namespaces") == 0)
		i += 2;
	if (i >= n) {
		snprintf(res, sizeof(res), "nonresource");
		named = 0;
	} else if (i + 2 < n) {
		snprintf(res, sizeof(res), "%.60s/%.60s", parts[i],
		    parts[i + 2]);
		named = 1;
	} else {
		snprintf(res, sizeof(res), "%.60s", parts[i]);
		named = i + 1 < n;
	}
	if (method == NULL || strcmp(method, "GET") == 0)
		verb = watch ? "watch" : named ? "get" : "list";
	else if (strcmp(method, "PATCH") == 0)
		verb = "patch";
	else if (strcmp(method, "POST") == 0)
		verb = "create";
	else if (strcmp(method, "PUT") == 0)
		verb = "update";
	else if (strcmp(method, "DELETE") == 0)
		verb = "delete";
	else
		verb = "other";
	metrics_kube_request(res, verb, http_code);
}

void
metrics_cache_size(const char *resource, size_t nobjects)
{
	metric_set(metric_gauge("remedy_informer_objects",
	    "Objects held in the informer cache, by resource.", "resource"),
	    METRIC_LABELS(resource ? resource : ""), (double)nobjects);
}

void
metrics_informer_synced(const char *resource, int synced)
{
	metric_set(metric_gauge("remedy_informer_synced",
	    "1 once the informer's first LIST completed.", "resource"),
	    METRIC_LABELS(resource ? resource : ""), synced ? 1 : 0);
}

void
metrics_leader(int is_leader)
{
	metric_set(metric_gauge("remedy_leader",
	    "1 while this instance is the leader (or runs without leader "
	    "election).", NULL), NULL, is_leader ? 1 : 0);
}

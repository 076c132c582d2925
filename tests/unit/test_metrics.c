/*
 * test_metrics.c - the metrics registry and its Prometheus text output.
 */
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "t.h"

static char *
render(void)
{
	char *out = NULL;
	size_t len = 0;

	CHECK(metrics_render(&out, &len) == 0);
	CHECK(out != NULL && strlen(out) == len);
	return out;
}

static int ncollect;

static void
collect(void *arg)
{
	ncollect++;
	metric_set(metric_gauge("test_rows", "Rows.", "state"),
	    METRIC_LABELS("pending"), *(double *)arg);
}

static void
test_counter_gauge(void)
{
	struct metric *c, *g;
	char *out;

	c = metric_counter("test_requests_total", "Requests.", "verb, code");
	CHECK(c != NULL);
	/* Same registration returns the same family; another shape fails. */
	CHECK(metric_counter("test_requests_total", "x", "verb, code") == c);
	CHECK(metric_gauge("test_requests_total", "x", "verb, code") == NULL);
	CHECK(metric_counter("test_requests_total", "x", "verb") == NULL);

	metric_inc(c, METRIC_LABELS("get", "200"));
	metric_inc(c, METRIC_LABELS("get", "200"));
	metric_add(c, METRIC_LABELS("patch", "409"), 3);
	metric_add(c, METRIC_LABELS("patch", "409"), -5);	/* ignored */
	metric_inc(c, METRIC_LABELS("only-one"));		/* ignored */
	metric_inc(c, NULL);					/* ignored */
	metric_gauge_add(c, METRIC_LABELS("get", "200"), 100); /* not a gauge */
	CHECK(metric_value("test_requests_total",
	    METRIC_LABELS("get", "200")) == 2);
	CHECK(metric_value("test_requests_total",
	    METRIC_LABELS("patch", "409")) == 3);
	CHECK(metric_value("test_requests_total",
	    METRIC_LABELS("put", "200")) == 0);

	g = metric_gauge("test_up", "Up.", NULL);
	metric_set(g, NULL, 1);
	metric_gauge_add(g, NULL, -0.5);
	CHECK(metric_value("test_up", NULL) == 0.5);

	/* A NULL family is a no-op everywhere. */
	metric_inc(NULL, NULL);
	metric_observe(NULL, NULL, 1);
	CHECK(metric_counter("bad name", "x", NULL) == NULL);
	CHECK(metric_counter("ok_total", "x", "le") == NULL);
	CHECK(metric_counter("ok_total", "x", "__x") == NULL);

	out = render();
	CHECK(strstr(out, "# HELP test_requests_total Requests.\n"
	    "# TYPE test_requests_total counter\n"
	    "test_requests_total{verb=\"get\",code=\"200\"} 2\n"
	    "test_requests_total{verb=\"patch\",code=\"409\"} 3\n") != NULL);
	CHECK(strstr(out, "# TYPE test_up gauge\ntest_up 0.5\n") != NULL);
	free(out);
}

static void
test_escaping(void)
{
	struct metric *c;
	char *out, big[METRICS_MAX_LABEL_BYTES + 50];

	c = metric_counter("test_escape_total", "Help with \\ and\nnewline.",
	    "v");
	metric_inc(c, METRIC_LABELS("a\"b\\c\nd"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	metric_inc(c, METRIC_LABELS(big));
	metric_inc(c, METRIC_LABELS(big));	/* same truncated series */
	out = render();
	CHECK(strstr(out, "# HELP test_escape_total Help with \\\\ and\\n"
	    "newline.\n") != NULL);
	CHECK(strstr(out, "test_escape_total{v=\"a\\\"b\\\\c\\nd\"} 1\n")
	    != NULL);
	big[METRICS_MAX_LABEL_BYTES] = '\0';
	CHECK(metric_value("test_escape_total", METRIC_LABELS(big)) == 2);
	free(out);
}

static void
test_histogram(void)
{
	static const double b[] = { 0.1, 1, 10 };
	static const double bad[] = { 1, 1 };
	struct metric *h;
	char *out;

	CHECK(metric_histogram("test_bad_seconds", "x", NULL, bad, 2) == NULL);
	h = metric_histogram("test_latency_seconds", "Latency.", "backend",
	    b, 3);
	CHECK(h != NULL);
	metric_observe(h, METRIC_LABELS("rules"), 0.05);
	metric_observe(h, METRIC_LABELS("rules"), 0.5);
	metric_observe(h, METRIC_LABELS("rules"), 50);
	CHECK(metric_value("test_latency_seconds", METRIC_LABELS("rules")) == 3);
	out = render();
	CHECK(strstr(out, "# TYPE test_latency_seconds histogram\n"
	    "test_latency_seconds_bucket{backend=\"rules\",le=\"0.10000000000000001\"} 1\n"
	    "test_latency_seconds_bucket{backend=\"rules\",le=\"1\"} 2\n"
	    "test_latency_seconds_bucket{backend=\"rules\",le=\"10\"} 2\n"
	    "test_latency_seconds_bucket{backend=\"rules\",le=\"+Inf\"} 3\n"
	    "test_latency_seconds_sum{backend=\"rules\"} 50.549999999999997\n"
	    "test_latency_seconds_count{backend=\"rules\"} 3\n") != NULL);
	free(out);
}

static void
test_limits_and_collectors(void)
{
	struct metric *c;
	char lv[32], *out;
	double rows = 7;
	int i;

	c = metric_counter("test_many_total", "Many.", "i");
	for (i = 0; i < METRICS_MAX_SERIES + 5; i++) {
		snprintf(lv, sizeof(lv), "%d", i);
		metric_inc(c, METRIC_LABELS(lv));
	}
	CHECK(metric_value("test_many_total", METRIC_LABELS("0")) == 1);
	snprintf(lv, sizeof(lv), "%d", METRICS_MAX_SERIES);
	CHECK(metric_value("test_many_total", METRIC_LABELS(lv)) == 0);
	CHECK(metric_value("remedy_metrics_dropped_series_total",
	    METRIC_LABELS("test_many_total")) == 5);

	CHECK(metrics_add_collector(collect, &rows) == 0);
	out = render();
	CHECK(ncollect == 1);
	CHECK(strstr(out, "test_rows{state=\"pending\"} 7\n") != NULL);
	free(out);
	rows = 3;
	metric_clear_series(metric_gauge("test_rows", "Rows.", "state"));
	CHECK(metric_value("test_rows", METRIC_LABELS("pending")) == 0);
	out = render();
	CHECK(strstr(out, "test_rows{state=\"pending\"} 3\n") != NULL);
	free(out);
	metrics_remove_collector(collect, &rows);
	out = render();
	CHECK(ncollect == 2);
	free(out);
}

static void
test_well_known(void)
{
	char *out;

	metrics_diagnosis_call("openai", "ok", 1.5, 120, 30);
	metrics_diagnosis_call("openai", "timeout", 30, 0, 0);
	metrics_kube_request("pods", "list", 200);
	metrics_kube_request("deployments", "patch", 0);
	metrics_kube_api("GET", "/api/v1/namespaces/demo/pods?watch=1&x=y", 0,
	    200);
	metrics_kube_api(NULL, "/api/v1/namespaces/demo/pods", 0, 200);
	metrics_kube_api("GET", "/api/v1/namespaces/demo/pods/web-1/log", 0,
	    404);
	metrics_kube_api("PATCH",
	    "/apis/apps/v1/namespaces/demo/deployments/web?dryRun=All", 0, 200);
	metrics_kube_api("GET", "/api/v1/nodes", 1, 0);
	metrics_kube_api("GET", "/version", 0, 200);
	metrics_kube_api("PUT", "/apis/coordination.k8s.io/v1/namespaces/"
	    "remedy/leases/remedyd", 0, 409);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("pods", "watch", "200")) == 1);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("pods", "list", "200")) == 2);	/* and above */
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("pods/log", "get", "404")) == 1);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("deployments", "patch", "200")) == 1);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("nodes", "watch", "error")) == 1);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("nonresource", "get", "200")) == 0);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("nonresource", "list", "200")) == 1);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("leases", "update", "409")) == 1);
	metrics_cache_size("pods", 42);
	metrics_informer_synced("pods", 1);
	metrics_leader(1);
	CHECK(metric_value("remedy_diagnosis_calls_total",
	    METRIC_LABELS("openai", "ok")) == 1);
	CHECK(metric_value("remedy_diagnosis_errors_total",
	    METRIC_LABELS("openai", "timeout")) == 1);
	CHECK(metric_value("remedy_diagnosis_tokens_total",
	    METRIC_LABELS("openai", "prompt")) == 120);
	CHECK(metric_value("remedy_diagnosis_duration_seconds",
	    METRIC_LABELS("openai")) == 2);
	CHECK(metric_value("remedy_kube_requests_total",
	    METRIC_LABELS("deployments", "patch", "error")) == 1);
	CHECK(metric_value("remedy_informer_objects",
	    METRIC_LABELS("pods")) == 42);
	CHECK(metric_value("remedy_leader", NULL) == 1);
	out = render();
	CHECK(strstr(out, "remedy_kube_requests_total{resource=\"pods\","
	    "verb=\"list\",code=\"200\"} 2\n") != NULL);
	free(out);
}

int
main(void)
{
	test_counter_gauge();
	test_escaping();
	test_histogram();
	test_limits_and_collectors();
	test_well_known();
	metrics_reset();
	CHECK(metric_value("test_up", NULL) == 0);
	return T_DONE();
}

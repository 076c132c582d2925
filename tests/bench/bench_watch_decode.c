/*
 * bench_watch_decode.c - watch-stream decoding plus pod projection, against
 * the jansson parse-only floor, on the same bytes in the same run.
 *
 * The stream holds REMEDY_BENCH_EVENTS (default 20000) MODIFIED events of
 * realistic pods (about 6 KB of JSON each: labels, annotations,
 * managedFields, env, probes, conditions, container statuses).  The floor
 * is json_loadb() + json_decref() of each line, nothing else; the measured
 * path is watch_decoder_feed() over 16 KiB chunks (as HTTP delivers them)
 * with kobj_pod_project() + free of every object: what an informer does per
 * event before its cache update.  CPU time per event, best of 3 runs.
 *
 * Prints "BENCH {json}" lines for ./scripts/bench (tests/bench/README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "kube/objects.h"
#include "kube/watch.h"

#define CHUNK	16384

static double
cpu_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An annotation as CI systems leave them (about 1.5 KB). */
static char	build_info[1600];
static const char filler[] = "0123456789abcdef pipeline=shop/web ref=main ";

/* One realistic pod event; i varies names, uid and resourceVersion. */
static int
pod_event(char *buf, size_t len, int i)
{
	return snprintf(buf, len,
	    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":"
	    "\"v1\",\"metadata\":{\"name\":\"web-7d9c6b5f4-%05d\",\"generateName\":"
	    "\"web-7d9c6b5f4-\",\"namespace\":\"shop-%d\",\"uid\":"
	    "\"3ba93257-8bbf-4a4c-9381-%012d\",\"resourceVersion\":\"%d\","
	    "\"creationTimestamp\":\"2026-11-27T01:02:39Z\",\"labels\":{\"app\":"
	    "\"web\",\"pod-template-hash\":\"7d9c6b5f4\",\"team\":\"payments\","
	    "\"tier\":\"frontend\",\"version\":\"v2.41.0\"},\"annotations\":{"
	    "\"kubectl.kubernetes.io/restartedAt\":\"2026-11-26T10:00:00Z\","
	    "\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9090\","
	    "\"example.com/build-info\":\"%s\"},"
	    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
	    "\"ReplicaSet\",\"name\":\"web-7d9c6b5f4\",\"uid\":"
	    "\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\",\"controller\":true,"
	    "\"blockOwnerDeletion\":true}],\"managedFields\":[{\"manager\":"
	    "\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":"
	    "\"v1\",\"time\":\"2026-11-27T01:02:39Z\",\"fieldsType\":\"FieldsV1\","
	    "\"fieldsV1\":{\"f:metadata\":{\"f:generateName\":{},\"f:labels\":{"
	    "\".\":{},\"f:app\":{},\"f:pod-template-hash\":{},\"f:team\":{},"
	    "\"f:tier\":{},\"f:version\":{}},\"f:ownerReferences\":{\".\":{},"
	    "\"k:{\\\"uid\\\":\\\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\\\"}\":{}}},"
	    "\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{"
	    "\".\":{},\"f:env\":{},\"f:image\":{},\"f:imagePullPolicy\":{},"
	    "\"f:livenessProbe\":{},\"f:name\":{},\"f:ports\":{},"
	    "\"f:readinessProbe\":{},\"f:resources\":{}}},\"f:dnsPolicy\":{},"
	    "\"f:restartPolicy\":{},\"f:schedulerName\":{}}}},{\"manager\":"
	    "\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":"
	    "\"2026-11-27T01:02:45Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{"
	    "\"f:status\":{\"f:conditions\":{},\"f:containerStatuses\":{},"
	    "\"f:hostIP\":{},\"f:phase\":{},\"f:podIP\":{},\"f:podIPs\":{},"
	    "\"f:startTime\":{}}},\"subresource\":\"status\"}]},\"spec\":{"
	    "\"volumes\":[{\"name\":\"kube-api-access-x7k2p\",\"projected\":{"
	    "\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,"
	    "\"path\":\"token\"}},{\"configMap\":{\"name\":\"kube-root-ca.crt\","
	    "\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}}],"
	    "\"defaultMode\":420}}],\"containers\":[{\"name\":\"web\",\"image\":"
	    "\"registry.example.com/shop/web:v2.41.0\",\"ports\":[{\"name\":"
	    "\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},{\"name\":"
	    "\"metrics\",\"containerPort\":9090,\"protocol\":\"TCP\"}],\"env\":["
	    "{\"name\":\"LOG_LEVEL\",\"value\":\"info\"},{\"name\":\"POD_NAME\","
	    "\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":"
	    "\"metadata.name\"}}},{\"name\":\"DB_HOST\",\"value\":"
	    "\"postgres.shop.svc.cluster.local\"}],\"resources\":{\"limits\":{"
	    "\"cpu\":\"1\",\"memory\":\"512Mi\"},\"requests\":{\"cpu\":\"250m\","
	    "\"memory\":\"256Mi\"}},\"livenessProbe\":{\"httpGet\":{\"path\":"
	    "\"/healthz\",\"port\":8080,\"scheme\":\"HTTP\"},"
	    "\"initialDelaySeconds\":10,\"timeoutSeconds\":1,\"periodSeconds\":10,"
	    "\"successThreshold\":1,\"failureThreshold\":3},\"readinessProbe\":{"
	    "\"httpGet\":{\"path\":\"/ready\",\"port\":8080,\"scheme\":\"HTTP\"},"
	    "\"timeoutSeconds\":1,\"periodSeconds\":5,\"successThreshold\":1,"
	    "\"failureThreshold\":3},\"volumeMounts\":[{\"name\":"
	    "\"kube-api-access-x7k2p\",\"readOnly\":true,\"mountPath\":"
	    "\"/var/run/secrets/kubernetes.io/serviceaccount\"}],"
	    "\"terminationMessagePath\":\"/dev/termination-log\","
	    "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":"
	    "\"IfNotPresent\"}],\"restartPolicy\":\"Always\","
	    "\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\","
	    "\"serviceAccountName\":\"default\",\"serviceAccount\":\"default\","
	    "\"nodeName\":\"node-%d\",\"securityContext\":{},\"schedulerName\":"
	    "\"default-scheduler\",\"tolerations\":[{\"key\":"
	    "\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":"
	    "\"NoExecute\",\"tolerationSeconds\":300},{\"key\":"
	    "\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
	    "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],\"priority\":0,"
	    "\"enableServiceLinks\":true,\"preemptionPolicy\":"
	    "\"PreemptLowerPriority\"},\"status\":{\"phase\":\"Running\","
	    "\"conditions\":[{\"type\":\"Initialized\",\"status\":\"True\","
	    "\"lastProbeTime\":null,\"lastTransitionTime\":"
	    "\"2026-11-27T01:02:39Z\"},{\"type\":\"Ready\",\"status\":\"True\","
	    "\"lastProbeTime\":null,\"lastTransitionTime\":"
	    "\"2026-11-27T01:02:45Z\"},{\"type\":\"ContainersReady\",\"status\":"
	    "\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":"
	    "\"2026-11-27T01:02:45Z\"},{\"type\":\"PodScheduled\",\"status\":"
	    "\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":"
	    "\"2026-11-27T01:02:39Z\"}],\"hostIP\":\"10.0.3.%d\",\"podIP\":"
	    "\"10.244.%d.%d\",\"podIPs\":[{\"ip\":\"10.244.%d.%d\"}],"
	    "\"startTime\":\"2026-11-27T01:02:39Z\",\"containerStatuses\":[{"
	    "\"name\":\"web\",\"state\":{\"running\":{\"startedAt\":"
	    "\"2026-11-27T01:02:44Z\"}},\"lastState\":{},\"ready\":true,"
	    "\"restartCount\":%d,\"image\":"
	    "\"registry.example.com/shop/web:v2.41.0\",\"imageID\":"
	    "\"registry.example.com/shop/web@sha256:"
	    "9f2c0e4b8a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2f1e0d9\","
	    "\"containerID\":\"containerd://"
	    "4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c\","
	    "\"started\":true}],\"qosClass\":\"Burstable\"}}}\n",
	    i, i % 50, i, 1000 + i, build_info, i % 300, i % 250, i % 256, i % 250,
	    i % 256, i % 250, i % 7);
}

struct count {
	size_t	projected;
};

static int
on_event(const char *type, json_t *obj, void *arg)
{
	struct count	*c = arg;
	void		*p;

	if ((p = kobj_pod_project(obj)) != NULL) {
		c->projected++;
		kobj_pod_free(p);
	}
	return 0;
}

static void
bench_line(const char *name, double value, const char *unit,
    const char *ref, double ref_value, const char *goal, int met,
    const char *note)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s, s:f, s:s, s:s, s:f, s:s, s:b, s:s}", "name", name,
	    "value", value, "unit", unit, "reference", ref, "ref_value",
	    ref_value, "goal", goal, "met", met, "note", note);
	if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL) {
		printf("BENCH %s\n", s);
		free(s);
	}
	json_decref(o);
	fflush(stdout);
}

int
main(void)
{
	struct watch_decoder	 d;
	struct count		 c;
	json_error_t		 jerr;
	json_t			*doc;
	const char		*e;
	char			*stream, *p, *nl, note[256];
	size_t			 len = 0, cap, off, n, events = 20000, i;
	double			 t, floor_best = 1e9, dec_best = 1e9, ratio;
	int			 run, k;

	for (i = 0; i + 1 < sizeof(build_info); i++)
		build_info[i] = filler[i % (sizeof(filler) - 1)];
	build_info[sizeof(build_info) - 1] = '\0';
	if ((e = getenv("REMEDY_BENCH_EVENTS")) != NULL && atoi(e) > 0)
		events = (size_t)atoi(e);
	cap = events * 8192;
	if ((stream = malloc(cap)) == NULL)
		return 1;
	for (i = 0; i < events; i++) {
		k = pod_event(stream + len, cap - len, (int)i);
		if (k < 0 || (size_t)k >= cap - len)
			return 1;
		len += (size_t)k;
	}
	fprintf(stderr, "bench_watch_decode: %zu events, %.1f MB, %.0f bytes "
	    "per event\n", events, (double)len / 1e6, (double)len / events);

	for (run = 0; run < 3; run++) {
		/* Floor: parse each line with jansson, nothing else. */
		t = cpu_s();
		for (p = stream; p < stream + len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(stream + len - p));
			if ((doc = json_loadb(p, (size_t)(nl - p), 0, &jerr)) ==
			    NULL)
				return 1;
			json_decref(doc);
		}
		t = cpu_s() - t;
		if (t < floor_best)
			floor_best = t;

		/* Decoder in 16 KiB chunks + projection of every pod. */
		c.projected = 0;
		t = cpu_s();
		watch_decoder_init(&d, 1024 * 1024);
		for (off = 0; off < len; off += n) {
			n = len - off < CHUNK ? len - off : CHUNK;
			if (watch_decoder_feed(&d, stream + off, n, on_event,
			    &c) != 0) {
				fprintf(stderr, "decode: %s\n", d.err);
				return 1;
			}
		}
		watch_decoder_clear(&d);
		t = cpu_s() - t;
		if (c.projected != events)
			return 1;
		if (t < dec_best)
			dec_best = t;
	}
	ratio = dec_best / floor_best;
	snprintf(note, sizeof(note), "%zu pod events of %.0f B in 16 KiB "
	    "chunks, best of 3; %.0f MB/s", events, (double)len / events,
	    (double)len / dec_best / 1e6);
	bench_line("watch decode + pod projection, CPU per event",
	    dec_best / events * 1e6, "us", "jansson parse-only floor",
	    floor_best / events * 1e6, "<= 1.3x floor", ratio <= 1.3, note);
	free(stream);
	return 0;
}

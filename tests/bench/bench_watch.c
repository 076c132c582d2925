/*
 * bench_watch.c - how fast remedyd's client consumes a watch stream, and
 * how much memory 100k cached pods take after a paged LIST.  A benchmark,
 * not a test: it prints figures, each next to a reference measured in the
 * same run on the same bytes.
 *
 *   bench_watch [-e EVENTS] [-p PODS] [-K] [-P]
 *   bench_watch --floor STREAMFILE	(the jansson floor alone)
 *     -e  watch events to stream (default 10000)
 *     -p  pods in the paged LIST for the memory figure (default 100000)
 *     -K  skip kubectl;  -P  skip python3-kubernetes
 *
 * tests/bench/stream_server.py serves the stream (realistic pods, 5-8 KB
 * of JSON each) over plain HTTP and writes the same bytes to a file.  CPU
 * time (user + system, getrusage) is compared for:
 *   - a jansson parse-only pass over the file's lines (the floor);
 *   - remedyd's client: curl on libuv, the watch decoder, the informer and
 *     the real pod projection (lib/kube/objects.c);
 *   - kubectl get pods -A --watch-only -o name (its own rusage);
 *   - python3-kubernetes Watch().stream() (CPU of the loop, measured in the
 *     script with time.process_time(), so the import is not counted).
 * Peak RSS is measured in a fresh child process that lists PODS pods in
 * pages of 500 into an informer with the real pod projection.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "base/http.h"
#include "base/log.h"
#include "base/util.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/objects.h"

extern char **environ;

static char	 dir[64];
static int	 port;
static long	 nevents = 10000, npods = 100000;

static double
cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double
wall_s(void)
{
	return (double)mono_ms() / 1000.0;
}

static pid_t
spawn(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (out != NULL)
		posix_spawn_file_actions_addopen(&fa, 1, out,
		    O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Wait for a child; its CPU seconds into *cpu. Exit status or -1. */
static int
reap(pid_t pid, double *cpu)
{
	struct rusage ru;
	int st;

	if (wait4(pid, &st, 0, &ru) != pid)
		return -1;
	*cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	if (f == NULL)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static char *
dpath(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* --- the floor: jansson parse of every line --- */

static double
floor_pass(const char *buf, size_t len, long *events)
{
	const char *p = buf, *e = buf + len, *nl;
	json_error_t jerr;
	json_t *doc;
	double t0 = cpu_s(RUSAGE_SELF);

	*events = 0;
	while (p < e && (nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		if ((doc = json_loadb(p, (size_t)(nl - p), 0, &jerr)) != NULL)
			(*events)++;
		json_decref(doc);
		p = nl + 1;
	}
	return cpu_s(RUSAGE_SELF) - t0;
}

/* --- remedyd's client --- */

static uv_loop_t loop;
static long seen;

static void
on_pod(struct informer *inf, enum informer_event ev, void *old, void *new_,
    void *arg)
{
	(void)inf;
	(void)old;
	(void)new_;
	(void)arg;
	if (ev != INFORMER_DELETE)
		seen++;
}

static int
client_config(struct kube_config *kc)
{
	char server[64];

	memset(kc, 0, sizeof(*kc));
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
	kc->server = strdup(server);
	kc->token = strdup("bench");
	return kc->server && kc->token ? 0 : -1;
}

static void
stop_loop(uv_timer_t *t)
{
	(void)t;
	uv_stop(&loop);
}

/* Run the loop until cond holds (checked every 20 ms) or 600 s pass. */
static int
run_while(int (*cond)(void))
{
	uv_timer_t tick;
	int64_t until = mono_ms() + 600000;

	uv_timer_init(&loop, &tick);
	while (!cond() && mono_ms() < until) {
		uv_timer_start(&tick, stop_loop, 20, 0);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return cond();
}

static int
all_seen(void)
{
	return seen >= nevents;
}

/* A projection that keeps only the name: the cost of the client alone. */
static void *
name_project(json_t *o)
{
	return xstrdup(json_str_at(o, "metadata.name"));
}

static const struct informer_type name_only = {
	"pods", "/api/v1", "pods", name_project, free
};

static double
remedy_pass(const struct informer_type *t, double *wall)
{
	struct kube_config kc;
	struct http *http;
	struct kube_client *c;
	struct informer *inf;
	char err[256];
	double t0, w0;

	if (client_config(&kc) == -1)
		return -1;
	uv_loop_init(&loop);
	http = http_new(&loop);
	c = kube_client_new(http, &kc, err, sizeof(err));
	kube_client_set_rate(c, 0, 0);
	seen = 0;
	inf = informer_new(c, &loop, t, NULL, on_pod, NULL);
	informer_set_streaming(inf, 0);
	informer_set_watch_buffer(inf, INFORMER_WATCH_BUFFER_LARGE);
	w0 = wall_s();
	t0 = cpu_s(RUSAGE_SELF);
	informer_start(inf);
	run_while(all_seen);
	t0 = cpu_s(RUSAGE_SELF) - t0;
	*wall = wall_s() - w0;
	informer_free(inf);
	kube_client_free(c);
	http_free(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	kube_config_clear(&kc);
	return seen >= nevents ? t0 : -1;
}

/* --- peak RSS after a paged LIST, in a fresh process --- */

static struct informer *rss_inf;

static int
rss_synced(void)
{
	return informer_synced(rss_inf);
}

static long
rss_now_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The high-water mark of this process (VmHWM; unlike ru_maxrss it does not
 * carry the parent's peak across exec). */
static long
rss_peak_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int
rss_child(void)
{
	struct kube_config kc;
	struct http *http;
	struct kube_client *c;
	char err[256];
	long before;

	if (client_config(&kc) == -1)
		return 1;
	uv_loop_init(&loop);
	http = http_new(&loop);
	c = kube_client_new(http, &kc, err, sizeof(err));
	kube_client_set_rate(c, 0, 0);
	before = rss_now_kb();
	rss_inf = informer_new(c, &loop, getenv("BENCH_NAME_ONLY") ?
	    &name_only : &kobj_pods, "big", on_pod, NULL);
	informer_set_streaming(rss_inf, 0);
	informer_set_watch_buffer(rss_inf, INFORMER_WATCH_BUFFER_LARGE);
	informer_start(rss_inf);
	if (!run_while(rss_synced))
		return 1;
	printf("%zu %ld %ld %ld\n", informer_size(rss_inf), before,
	    rss_now_kb(), rss_peak_kb());
	fflush(stdout);
	fflush(stdout);
	_exit(0);	/* the figures are out; no teardown needed */
}

int
main(int argc, char *argv[])
{
	char script[1024], nev[32], npo[32], buf[256], *sbuf = NULL,
	    *argv2[16], kubeconfig[256], err[256], self[1024];
	const char *src = getenv("REMEDY_SRCDIR");
	long floor_events = 0, rss[4];
	double floor_cpu, ours, ours_wall, kcpu = -1, pcpu = -1;
	size_t slen = 0;
	pid_t srv, pid;
	json_t *ready = NULL;
	FILE *f;
	int ch, no_kubectl = 0, no_python = 0, i, rc;
	int64_t until;

	if (argc == 3 && strcmp(argv[1], "--floor") == 0) {
		/* the floor alone, over a stream file another benchmark
		 * served (tests/bench/bench_loop.py) */
		long n = 0;

		if (read_file(argv[2], (size_t)4 << 30, &sbuf, &slen, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		floor_cpu = floor_pass(sbuf, slen, &n);
		free(sbuf);
		printf("floor: %ld events, %.6f s CPU\n", n, floor_cpu);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--rss-child") == 0) {
		port = atoi(argv[2]);
		npods = atol(argv[3]);
		log_init(LOG_WARNING);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		return rss_child();
	}
	while ((ch = getopt(argc, argv, "e:p:KP")) != -1) {
		switch (ch) {
		case 'e':
			nevents = atol(optarg);
			break;
		case 'p':
			npods = atol(optarg);
			break;
		case 'K':
			no_kubectl = 1;
			break;
		case 'P':
			no_python = 1;
			break;
		default:
			fprintf(stderr, "usage: bench_watch [-e EVENTS] "
			    "[-p PODS] [-K] [-P]\n");
			return 2;
		}
	}
	log_init(LOG_WARNING);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (src == NULL)
		src = ".";
	snprintf(dir, sizeof(dir), "/tmp/remedy-bench-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(script, sizeof(script), "%s/tests/bench/stream_server.py",
	    src);
	snprintf(nev, sizeof(nev), "%ld", nevents);
	snprintf(npo, sizeof(npo), "%ld", npods);
	argv2[0] = "python3";
	argv2[1] = script;
	argv2[2] = "--dir";
	argv2[3] = dir;
	argv2[4] = "--events";
	argv2[5] = nev;
	argv2[6] = "--pods";
	argv2[7] = npo;
	argv2[8] = NULL;
	if ((srv = spawn(argv2, NULL)) == -1) {
		fprintf(stderr, "cannot start %s\n", script);
		return 1;
	}
	for (until = mono_ms() + 300000; mono_ms() < until;) {
		if (read_file(dpath("ready"), 4096, &sbuf, &slen, err,
		    sizeof(err)) == 0)
			break;
		if (waitpid(srv, NULL, WNOHANG) == srv) {
			fprintf(stderr, "stream server exited\n");
			return 1;
		}
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	if (sbuf == NULL || (ready = json_loads(sbuf, 0, NULL)) == NULL)
		return 1;
	free(sbuf);
	port = (int)json_integer_value(json_object_get(ready, "port"));
	printf("watch stream: %ld events, %.1f MB; pod JSON %lld-%lld bytes "
	    "(mean %lld)\n", nevents,
	    json_integer_value(json_object_get(ready, "bytes")) / 1e6,
	    json_integer_value(json_object_get(ready, "min_pod")),
	    json_integer_value(json_object_get(ready, "max_pod")),
	    json_integer_value(json_object_get(ready, "avg_pod")));

	/* the floor */
	if (read_file(dpath("stream.json"), (size_t)4 << 30, &sbuf, &slen,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	floor_cpu = floor_pass(sbuf, slen, &floor_events);
	free(sbuf);
	printf("%-44s %8.3f s CPU  %7.2f us/event\n",
	    "jansson parse only (floor)", floor_cpu,
	    floor_cpu * 1e6 / (double)floor_events);

	ours = remedy_pass(&name_only, &ours_wall);
	printf("%-44s %8.3f s CPU  %7.2f us/event  %.2fx floor  (%.2f s "
	    "wall)\n", "remedy client + informer (name only)", ours,
	    ours * 1e6 / (double)nevents, ours / floor_cpu, ours_wall);
	ours = remedy_pass(&kobj_pods, &ours_wall);
	printf("%-44s %8.3f s CPU  %7.2f us/event  %.2fx floor  (%.2f s "
	    "wall)\n", "remedy client + informer + pod projection", ours,
	    ours * 1e6 / (double)nevents, ours / floor_cpu, ours_wall);

	snprintf(kubeconfig, sizeof(kubeconfig), "%s", dpath("kubeconfig"));
	if ((f = fopen(kubeconfig, "w")) != NULL) {
		fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n"
		    "- name: b\n  cluster:\n    server: http://127.0.0.1:%d\n"
		    "users:\n- name: b\n  user:\n    token: bench\n"
		    "contexts:\n- name: b\n  context: {cluster: b, user: b}\n"
		    "current-context: b\n", port);
		fclose(f);
	}
	if (!no_kubectl && system("kubectl version --client >/dev/null "
	    "2>&1") == 0) {
		char *ka[] = { "kubectl", "--kubeconfig", kubeconfig, "get",
		    "pods", "-A", "--watch-only", "-o", "name", NULL };

		if ((pid = spawn(ka, dpath("kubectl.out"))) > 0 &&
		    reap(pid, &kcpu) == 0) {
			i = count_lines(dpath("kubectl.out"));
			printf("%-44s %8.3f s CPU  %7.2f us/event  remedy is "
			    "%.1fx faster%s\n", "kubectl get pods -A "
			    "--watch-only -o name", kcpu, kcpu * 1e6 /
			    (double)nevents, kcpu / ours, i == nevents ? "" :
			    "  (event count differs!)");
		} else
			printf("kubectl: failed\n");
	} else
		printf("kubectl: skipped\n");

	if (!no_python && system("/usr/bin/python3 -c 'import kubernetes' "
	    ">/dev/null 2>&1") == 0) {
		snprintf(buf, sizeof(buf), "%s", dpath("watch.py"));
		if ((f = fopen(buf, "w")) != NULL) {
			fprintf(f, "import time\n"
			    "from kubernetes import client, config, watch\n"
			    "config.load_kube_config('%s')\n"
			    "v1 = client.CoreV1Api()\n"
			    "n = 0\nt0 = time.process_time()\n"
			    "for ev in watch.Watch().stream("
			    "v1.list_pod_for_all_namespaces, "
			    "timeout_seconds=3600, _request_timeout=3600):\n"
			    "    n += 1\n"
			    "print(n, time.process_time() - t0)\n", kubeconfig);
			fclose(f);
		}
		{
			char *pa[] = { "/usr/bin/python3", buf, NULL };
			double total = 0;
			long pn = 0;

			if ((pid = spawn(pa, dpath("python.out"))) > 0 &&
			    reap(pid, &total) == 0 && (f = fopen(
			    dpath("python.out"), "r")) != NULL) {
				if (fscanf(f, "%ld %lf", &pn, &pcpu) != 2)
					pcpu = -1;
				fclose(f);
			}
			if (pcpu > 0)
				printf("%-44s %8.3f s CPU  %7.2f us/event  "
				    "remedy is %.1fx faster%s\n",
				    "python3-kubernetes Watch().stream()",
				    pcpu, pcpu * 1e6 / (double)nevents,
				    pcpu / ours, pn == nevents ? "" :
				    "  (event count differs!)");
			else
				printf("python3-kubernetes: failed\n");
		}
	} else
		printf("python3-kubernetes: skipped (not installed)\n");

	/* peak RSS in a fresh process */
	if ((slen = (size_t)readlink("/proc/self/exe", self,
	    sizeof(self) - 1)) > 0 && slen < sizeof(self)) {
		char ps[16], *ra[] = { self, "--rss-child", ps, npo, NULL };
		double cpu;

		self[slen] = '\0';
		snprintf(ps, sizeof(ps), "%d", port);
		memset(rss, 0, sizeof(rss));
		rc = -1;
		if ((pid = spawn(ra, dpath("rss.out"))) > 0 &&
		    (rc = reap(pid, &cpu)) == 0 &&
		    (f = fopen(dpath("rss.out"), "r")) != NULL) {
			if (fscanf(f, "%ld %ld %ld %ld", &rss[0], &rss[1],
			    &rss[2], &rss[3]) != 4)
				rss[0] = 0;
			fclose(f);
			printf("paged LIST of %ld pods (pages of 500): cached "
			    "%ld; RSS before %.1f MiB, after %.1f MiB, peak "
			    "%.1f MiB; %.0f bytes/pod (after - before); %.2f s "
			    "CPU\n", npods, rss[0], rss[1] / 1024.0,
			    rss[2] / 1024.0, rss[3] / 1024.0,
			    (rss[2] - rss[1]) * 1024.0 / (double)(rss[0] ?
			    rss[0] : 1), cpu);
		} else
			printf("RSS child failed (status %d)\n", rc);
	}

	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	json_decref(ready);
	snprintf(buf, sizeof(buf), "rm -rf '%s'", dir);
	if (system(buf) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	curl_global_cleanup();
	return 0;
}

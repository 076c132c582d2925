/*
 * kubetest.h - what the C tests of lib/kube share: start the test API
 * server (tests/kubeapi/fake_apiserver.py) in a temporary directory and
 * wait for its ready file with a deadline, run the loop until a condition
 * holds, and make blocking side requests as another program would.
 *
 * Include once per test program after t.h; the functions are static.
 */
#ifndef REMEDY_KUBETEST_H
#define REMEDY_KUBETEST_H

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
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

#include "base/util.h"

#define KT_UNUSED	__attribute__((unused))

extern char **environ;

static uv_loop_t	 kt_loop;
static uv_timer_t	 kt_deadline;
static int		 kt_expired;
static char		 kt_dir[64];
static char		 kt_url[128];
static pid_t		 kt_pid = -1;

static void
kt_on_deadline(uv_timer_t *t)
{
	(void)t;
	kt_expired = 1;
}

/* Run the loop until cond(arg) holds or ms pass; returns cond's value. */
static KT_UNUSED int
kt_run_until(int (*cond)(void *), void *arg, int ms)
{
	kt_expired = 0;
	uv_timer_start(&kt_deadline, kt_on_deadline, (uint64_t)ms, 0);
	while (!cond(arg) && !kt_expired)
		uv_run(&kt_loop, UV_RUN_ONCE);
	uv_timer_stop(&kt_deadline);
	return cond(arg);
}

static KT_UNUSED const char *
kt_src(void)
{
	const char *src = getenv("REMEDY_SRCDIR");

	return src != NULL ? src : ".";
}

/* Start the server with extra arguments (NULL-terminated). 0 or -1. */
static KT_UNUSED int
kt_start_server(const char *const *extra)
{
	char script[1024], ready[256], *argv[32], err[256], *buf = NULL;
	json_t *doc;
	size_t len, n = 0;
	int64_t until;
	int rc = -1;

	snprintf(kt_dir, sizeof(kt_dir), "/tmp/remedy-kt-XXXXXX");
	if (mkdtemp(kt_dir) == NULL)
		return -1;
	snprintf(script, sizeof(script), "%s/tests/kubeapi/fake_apiserver.py",
	    kt_src());
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--dir";
	argv[n++] = kt_dir;
	while (extra != NULL && *extra != NULL && n < 30)
		argv[n++] = (char *)(uintptr_t)*extra++;
	argv[n] = NULL;
	if (posix_spawnp(&kt_pid, "python3", NULL, NULL, argv, environ) != 0) {
		fprintf(stderr, "cannot start python3: %s\n", strerror(errno));
		kt_pid = -1;
		return -1;
	}
	snprintf(ready, sizeof(ready), "%s/ready", kt_dir);
	for (until = mono_ms() + 30000; mono_ms() < until;) {
		if (read_file(ready, 4096, &buf, &len, err, sizeof(err)) == 0)
			break;
		if (waitpid(kt_pid, NULL, WNOHANG) == kt_pid) {
			fprintf(stderr, "test API server exited early\n");
			kt_pid = -1;
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	if (buf == NULL) {
		fprintf(stderr, "test API server not ready in 30 s\n");
		return -1;
	}
	if ((doc = json_loads(buf, 0, NULL)) != NULL &&
	    json_str_at(doc, "url") != NULL) {
		snprintf(kt_url, sizeof(kt_url), "%s", json_str_at(doc, "url"));
		rc = 0;
	}
	json_decref(doc);
	free(buf);
	return rc;
}

static KT_UNUSED void
kt_stop_server(void)
{
	char cmd[128];

	if (kt_pid > 0) {
		kill(kt_pid, SIGTERM);
		waitpid(kt_pid, NULL, 0);
		kt_pid = -1;
	}
	if (kt_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kt_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", kt_dir);
	}
}

static size_t
kt_collect(char *p, size_t size, size_t n, void *ud)
{
	char **buf = ud;
	size_t len = size * n, old = *buf ? strlen(*buf) : 0;
	char *nb;

	if ((nb = realloc(*buf, old + len + 1)) == NULL)
		return 0;
	memcpy(nb + old, p, len);
	nb[old + len] = '\0';
	*buf = nb;
	return len;
}

/*
 * A blocking request outside of the loop under test.  Returns the HTTP
 * status; the body (heap, caller frees) into *out when out is set.
 */
static KT_UNUSED long
kt_request(const char *method, const char *path, const char *body,
    char **out)
{
	struct curl_slist *h = NULL;
	char url[1024], ca[256], *junk = NULL;
	long code = 0;
	CURL *e;

	if ((e = curl_easy_init()) == NULL)
		return 0;
	snprintf(url, sizeof(url), "%s%s", kt_url, path);
	snprintf(ca, sizeof(ca), "%s/ca.crt", kt_dir);
	h = curl_slist_append(h, "Authorization: Bearer remedy-test-token");
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "remedy-kubetest/1");
	if (body != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	if (out != NULL)
		*out = NULL;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, kt_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out ? out : &junk);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	free(junk);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return code;
}

/* The JSON answer of a side GET, or NULL. */
static KT_UNUSED json_t *
kt_get_json(const char *path)
{
	char *body = NULL;
	json_t *doc = NULL;

	if (kt_request("GET", path, NULL, &body) == 200 && body != NULL)
		doc = json_loads(body, 0, NULL);
	free(body);
	return doc;
}

#endif

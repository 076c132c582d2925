/*
 * notify.c - webhooks on the shared curl multi (see notify.h).
 *
 * A job is one event for one URL: its body, its attempt count, a retry
 * timer and, while a POST is in flight, the easy handle.  A job is freed
 * only from its timer's close callback, after the easy handle is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/log.h"
#include "base/notify.h"
#include "base/util.h"

#define NOTIFY_MAX_TEXT		2048	/* bytes of the "text" field */
#define NOTIFY_MAX_HOST		128

struct job {
	struct notify	*n;
	struct job	*prev, *next;
	size_t		 url;		/* index into n->urls */
	char		*body;
	int		 attempt;	/* POSTs started */
	CURL		*easy;		/* while in flight */
	struct curl_slist *hdrs;
	uv_timer_t	 timer;		/* timer.data = this */
	int		 closing;
};

struct notify {
	uv_loop_t	*loop;
	struct http	*http;
	char		**urls;
	size_t		 nurls;
	struct job	*jobs;
	int		 njobs;
	int		 freeing;
	uint64_t	 delivered, failed;
};

static void	job_start(struct job *);

/* "hooks.example.com" out of a URL, without user info, path or query. */
static void
url_host(const char *url, char *out, size_t len)
{
	const char	*p = strstr(url, "://"), *end, *at;
	size_t		 n;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL)
		p = at + 1;
	n = (size_t)(end - p);
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static size_t
discard_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

static void
job_release(struct notify *n)
{
	if (n->njobs == 0 && n->freeing) {
		size_t i;

		for (i = 0; i < n->nurls; i++)
			free(n->urls[i]);
		free(n->urls);
		free(n);
	}
}

static void
job_close_cb(uv_handle_t *h)
{
	struct job	*j = h->data;
	struct notify	*n = j->n;

	free(j->body);
	free(j);
	n->njobs--;
	job_release(n);
}

/* Unlink and close; the memory goes in job_close_cb. */
static void
job_end(struct job *j)
{
	struct notify	*n = j->n;

	if (j->closing)
		return;
	j->closing = 1;
	if (j->prev)
		j->prev->next = j->next;
	else
		n->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	if (j->easy != NULL) {
		http_remove(n->http, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	uv_close((uv_handle_t *)&j->timer, job_close_cb);
}

static void
job_timer_cb(uv_timer_t *t)
{
	job_start(t->data);
}

/* Retry after NOTIFY_BACKOFF_MS << (attempt - 1), or give up. */
static void
job_retry(struct job *j, const char *why)
{
	struct notify	*n = j->n;
	char		 host[NOTIFY_MAX_HOST];
	uint64_t	 delay;

	url_host(n->urls[j->url], host, sizeof(host));
	if (j->attempt >= NOTIFY_ATTEMPTS) {
		log_warnx("webhook %zu (%s): giving up after %d attempts: %s",
		    j->url + 1, host, j->attempt, why);
		n->failed++;
		job_end(j);
		return;
	}
	delay = (uint64_t)NOTIFY_BACKOFF_MS << (j->attempt - 1);
	log_info("webhook %zu (%s): %s; retrying in %llu ms", j->url + 1, host,
	    why, (unsigned long long)delay);
	uv_timer_start(&j->timer, job_timer_cb, delay, 0);
}

static void
job_done(CURL *easy, CURLcode result, void *arg)
{
	struct job	*j = arg;
	long		 status = 0;
	char		 why[256];

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	j->easy = NULL;
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	if (result == CURLE_OK && status / 100 == 2) {
		j->n->delivered++;
		job_end(j);
		return;
	}
	if (result != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(result));
	else
		snprintf(why, sizeof(why), "HTTP status %ld", status);
	job_retry(j, why);
}

static void
job_start(struct job *j)
{
	struct notify	*n = j->n;
	CURL		*e;

	j->attempt++;
	if ((e = curl_easy_init()) == NULL ||
	    (j->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL) {
		if (e)
			curl_easy_cleanup(e);
		job_retry(j, "out of memory");
		return;
	}
	curl_easy_setopt(e, CURLOPT_URL, n->urls[j->url]);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	curl_easy_setopt(e, CURLOPT_USERAGENT, "remedyd/" REMEDY_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)NOTIFY_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	j->easy = e;
	if (http_add(n->http, e, job_done, j) == -1) {
		curl_easy_cleanup(e);
		j->easy = NULL;
		curl_slist_free_all(j->hdrs);
		j->hdrs = NULL;
		job_retry(j, "cannot start the request");
	}
}

struct notify *
notify_new(uv_loop_t *loop, struct http *http, char *const *urls)
{
	struct notify	*n;
	size_t		 i, cnt = 0;

	while (urls != NULL && urls[cnt] != NULL)
		cnt++;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->loop = loop;
	n->http = http;
	if ((n->urls = calloc(cnt + 1, sizeof(char *))) == NULL) {
		free(n);
		return NULL;
	}
	for (i = 0; i < cnt; i++) {
		if ((n->urls[i] = strdup(urls[i])) == NULL) {
			while (i > 0)
				free(n->urls[--i]);
			free(n->urls);
			free(n);
			return NULL;
		}
	}
	n->nurls = cnt;
	return n;
}

/* A new reference to a's field, or null. */
static json_t *
field_ref(json_t *a, const char *key)
{
	json_t	*v = json_object_get(a, key);

	return v ? json_incref(v) : json_null();
}

json_t *
notify_payload(const char *event, json_t *a)
{
	json_t		*cmds, *o;
	const char	*s;
	char		 text[NOTIFY_MAX_TEXT], show[64], approve[64];
	char		 reject[96], audit[64];
	json_int_t	 id = json_int_at(a, "id", 0);
	int		 pending = strcmp(event, "pending") == 0;

	snprintf(show, sizeof(show), "remedyctl show %lld", (long long)id);
	snprintf(approve, sizeof(approve), "remedyctl approve %lld",
	    (long long)id);
	snprintf(reject, sizeof(reject), "remedyctl reject %lld --reason "
	    "TEXT", (long long)id);
	snprintf(audit, sizeof(audit), "remedyctl audit --action %lld",
	    (long long)id);
	if (pending)
		snprintf(text, sizeof(text), "remedy: action %lld is pending "
		    "approval (%s %s/%s, risk %s): %s\nReview: `%s`\n"
		    "Approve: `%s`\nReject: `%s`", (long long)id,
		    (s = json_str_at(a, "kind")) ? s : "-",
		    json_str_at(a, "namespace") ? json_str_at(a, "namespace") :
		    "-", json_str_at(a, "name") ? json_str_at(a, "name") : "-",
		    json_str_at(a, "risk") ? json_str_at(a, "risk") : "-",
		    json_str_at(a, "summary") ? json_str_at(a, "summary") : "",
		    show, approve, reject);
	else
		snprintf(text, sizeof(text), "remedy: action %lld failed (%s "
		    "%s/%s): %s\nInspect: `%s`\nAudit: `%s`", (long long)id,
		    (s = json_str_at(a, "kind")) ? s : "-",
		    json_str_at(a, "namespace") ? json_str_at(a, "namespace") :
		    "-", json_str_at(a, "name") ? json_str_at(a, "name") : "-",
		    json_str_at(a, "reason") ? json_str_at(a, "reason") : "-",
		    show, audit);
	if (pending)
		cmds = json_pack("{s:s, s:s, s:s}", "show", show, "approve",
		    approve, "reject", reject);
	else
		cmds = json_pack("{s:s, s:s}", "show", show, "audit", audit);
	o = json_pack("{s:s, s:{s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:o}}", "text", text, "remedy", "event", event, "action_id", id,
	    "namespace", field_ref(a, "namespace"),
	    "kind", field_ref(a, "kind"),
	    "name", field_ref(a, "name"),
	    "risk", field_ref(a, "risk"),
	    "summary", field_ref(a, "summary"),
	    "reason", pending ? json_null() : field_ref(a, "reason"),
	    "commands", cmds ? cmds : json_null());
	return o;
}

void
notify_action(struct notify *n, const char *event, json_t *action)
{
	struct job	*j;
	json_t		*body;
	char		*text;
	size_t		 i;

	if (n == NULL || n->freeing || n->nurls == 0)
		return;
	if ((body = notify_payload(event, action)) == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		log_warnx("webhooks: cannot build the %s message", event);
		return;
	}
	json_decref(body);
	for (i = 0; i < n->nurls; i++) {
		if (n->njobs >= NOTIFY_MAX_JOBS) {
			log_warnx("webhooks: %d deliveries waiting; dropping "
			    "the %s message for action %lld", n->njobs, event,
			    (long long)json_int_at(action, "id", 0));
			n->failed++;
			continue;
		}
		if ((j = calloc(1, sizeof(*j))) == NULL ||
		    (j->body = strdup(text)) == NULL) {
			free(j);
			log_warnx("webhooks: out of memory");
			continue;
		}
		j->n = n;
		j->url = i;
		j->timer.data = j;
		uv_timer_init(n->loop, &j->timer);
		j->next = n->jobs;
		if (n->jobs)
			n->jobs->prev = j;
		n->jobs = j;
		n->njobs++;
		job_start(j);
	}
	free(text);
}

uint64_t
notify_delivered(const struct notify *n)
{
	return n ? n->delivered : 0;
}

uint64_t
notify_failed(const struct notify *n)
{
	return n ? n->failed : 0;
}

void
notify_free(struct notify *n)
{
	if (n == NULL || n->freeing)
		return;
	n->freeing = 1;
	if (n->njobs > 0)
		log_info("webhooks: %d deliveries dropped at shutdown",
		    n->njobs);
	while (n->jobs != NULL)
		job_end(n->jobs);
	job_release(n);
}

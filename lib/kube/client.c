/*
 * client.c - Kubernetes REST calls on the shared curl multi handle.
 *
 * Each call is one easy handle with its own bounded body buffer (or, for
 * watches, a struct watch_decoder).  Nothing here blocks: the call ends in
 * done(), called from the http module outside of libcurl.
 *
 * User code runs inside libcurl only through kube_write() (watch events),
 * and the depth counter kube_depth tells when that is the case: libcurl
 * forbids removing a handle from there, so kube_cancel() then only marks
 * the call, the write or progress callback aborts the transfer, and the
 * call is freed when curl reports it done.
 *
 * A call is built at once but goes out later, from the client's timer:
 * kube_pump() takes queued calls in order, each once its retry delay has
 * passed, a credential is at hand (an exec plugin may have to run first)
 * and the token bucket has a token; only then are the Authorization header
 * and client certificate set and the handle given to the http module.
 * Because nothing is sent from inside kube_get() and friends, a failure
 * always reaches done() from the loop, never before the call returned.
 *
 * Retries (client-go's rest client): 429, and 5xx carrying Retry-After,
 * up to KUBE_MAX_RETRIES times, waiting max(Retry-After, backoff); a GET
 * whose connection broke before any answer, up to 3 times; a 401 once,
 * after re-running the exec plugin or re-reading the token file.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/http.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "kube/client.h"
#include "kube/exec.h"
#include "kube/ratelimit.h"
#include "kube/watch.h"

#ifndef REMEDY_VERSION
#define REMEDY_VERSION	"0"
#endif

#define KUBE_MAX_TOKEN		(64 * 1024)
#define KUBE_MAX_PATH		(64 * 1024)
#define KUBE_SNIPPET		200
#define KUBE_CONNECT_TIMEOUT	10L
#define KUBE_LOWSPEED_TIME	60L
#define KUBE_TIMEOUT		60L
#define KUBE_WATCH_STALL	120L	/* s without a byte on a watch */
#define KUBE_MAX_RETRIES	10
#define KUBE_MAX_RESETS		3
#define KUBE_TOKEN_TTL_MS	(60 * 1000)	/* token file re-read */
#define KUBE_RETRY_CAP_MS	(30 * 1000)

struct kube_client {
	struct http		*http;
	uv_loop_t		*loop;
	struct kube_config	 kc;
	char			*base;		/* URL prefix requests use */
	struct curl_slist	*connect_to;	/* tls-server-name routing */
	struct kube_call	*calls;
	struct kube_call	*qhead, *qtail;	/* waiting to go out */
	uv_timer_t		*timer;		/* runs kube_pump() */
	struct kube_exec	*exec;
	struct ratelimit	 rl[KUBE_NLANES];	/* one bucket a lane */
	char			*tok;		/* token file contents */
	int64_t			 tok_read_ms;	/* 0: read again */
	long			 watch_stall_s;
	int			 no_watchlist;	/* streaming lists refused */
	struct kube_client_stats stats;
	int			 dying;		/* freed when calls drain */
};

struct kube_call {
	struct kube_client	*c;
	CURL			*easy;
	struct curl_slist	*hdrs;
	char			*ctype;
	char			*path;		/* for messages */
	int			 get;		/* GET (retried after a reset) */
	int			 watch;
	int			 raw2xx;	/* a 2xx body is not parsed */
	enum kube_lane		 lane;
	int			 queued, in_http;
	int			 attempts, resets, reauthed;
	int64_t			 not_before;	/* mono ms */
	struct kube_call	*qnext;
	kube_done_cb		 done;
	kube_event_cb		 event;
	void			*arg;
	char			*body;
	size_t			 len, cap;
	int			 overflow;
	struct watch_decoder	 wd;
	int			 wd_error;
	int			 got_bytes;
	int			 cancelled;
	int			 linked;
	char			 errbuf[CURL_ERROR_SIZE];
	char			 msg[KUBE_SNIPPET + 64];
	struct kube_call	*prev, *next;
};

/* How deep we are in libcurl callbacks that run user code. */
static int kube_depth;

static void	kube_pump(struct kube_client *);
static void	kube_schedule(struct kube_client *, int64_t delay_ms);

/*
 * tls-server-name: the URL names tls_server_name (so curl sends it as SNI
 * and checks the certificate against it) and CURLOPT_CONNECT_TO routes the
 * connection to the real host and port.
 */
static int
kube_route(struct kube_client *c, char *err, size_t errlen)
{
	CURLU *u = NULL;
	char *host = NULL, *port = NULL, *url = NULL, *line = NULL;
	size_t n;
	int rc = -1;

	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, c->kc.server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "server \"%s\" is not a valid URL",
		    c->kc.server);
		goto out;
	}
	if (curl_url_set(u, CURLUPART_HOST, c->kc.tls_server_name, 0) !=
	    CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PORT, port, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		snprintf(err, errlen, "tls-server-name \"%s\" is not a valid "
		    "host name", c->kc.tls_server_name);
		goto out;
	}
	n = strlen(c->kc.tls_server_name) + strlen(host) + 2 * strlen(port) +
	    4;
	if ((line = malloc(n)) == NULL)
		goto nomem;
	snprintf(line, n, "%s:%s:%s:%s", c->kc.tls_server_name, port, host,
	    port);
	if ((c->connect_to = curl_slist_append(NULL, line)) == NULL)
		goto nomem;
	/* curl puts a '/' after an empty path: requests add their own */
	n = strlen(url);
	if (n > 0 && url[n - 1] == '/')
		url[n - 1] = '\0';
	if ((c->base = strdup(url)) == NULL)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	free(line);
	curl_free(url);
	curl_free(port);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static void
kube_timer_closed(uv_handle_t *h)
{
	free(h);
}

static void
kube_timer_cb(uv_timer_t *t)
{
	kube_pump(t->data);
}

static void
kube_exec_done(void *arg, int ok, const char *err);

struct kube_client *
kube_client_new(struct http *http, const struct kube_config *kc, char *err,
    size_t errlen)
{
	struct kube_client *c;
	size_t n;

	if (kc->server == NULL || kc->server[0] == '\0') {
		snprintf(err, errlen, "kubeconfig%s%s: no server",
		    kc->source ? " " : "", kc->source ? kc->source : "");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->http = http;
	c->loop = http_loop(http);
	c->watch_stall_s = KUBE_WATCH_STALL;
	kube_client_set_rate(c, KUBE_DEFAULT_QPS, KUBE_DEFAULT_BURST);
	if (kube_config_copy(&c->kc, kc) == -1 ||
	    (c->timer = calloc(1, sizeof(*c->timer))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n = strlen(c->kc.server);
	while (n > 0 && c->kc.server[n - 1] == '/')
		c->kc.server[--n] = '\0';
	if (c->kc.tls_server_name != NULL &&
	    c->kc.tls_server_name[0] != '\0') {
		if (kube_route(c, err, errlen) == -1)
			goto fail;
	} else if ((c->base = strdup(c->kc.server)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (c->kc.exec != NULL && (c->exec = kube_exec_new(c->loop, &c->kc,
	    KUBE_EXEC_TIMEOUT_MS, kube_exec_done, c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	uv_timer_init(c->loop, c->timer);
	c->timer->data = c;
	return c;
fail:
	kube_config_clear(&c->kc);
	free(c->base);
	free(c->timer);
	curl_slist_free_all(c->connect_to);
	free(c);
	return NULL;
}

void
kube_client_set_watchlist_refused(struct kube_client *c)
{
	c->no_watchlist = 1;
}

int
kube_client_watchlist_refused(const struct kube_client *c)
{
	return c->no_watchlist;
}

void
kube_client_set_rate(struct kube_client *c, double qps, int burst)
{
	int64_t now = mono_ms();

	ratelimit_init(&c->rl[KUBE_LANE_ENGINE], qps, burst, now);
	ratelimit_init(&c->rl[KUBE_LANE_INFORMER], qps, burst, now);
	/* discovery: a dozen GETs every few minutes, never a storm */
	ratelimit_init(&c->rl[KUBE_LANE_DISCOVERY], 0, 1, now);
}

void
kube_call_set_lane(struct kube_call *call, enum kube_lane lane)
{
	if (call != NULL && lane >= 0 && lane < KUBE_NLANES)
		call->lane = lane;
}

void
kube_client_set_watch_stall(struct kube_client *c, long seconds)
{
	c->watch_stall_s = seconds > 0 ? seconds : KUBE_WATCH_STALL;
}

void
kube_client_set_exec_timeout(struct kube_client *c, int64_t ms)
{
	struct kube_exec *x;

	if (c->exec == NULL || kube_exec_running(c->exec))
		return;
	if ((x = kube_exec_new(c->loop, &c->kc, ms, kube_exec_done, c)) ==
	    NULL)
		return;
	kube_exec_free(c->exec);
	c->exec = x;
}

void
kube_client_stats(const struct kube_client *c, struct kube_client_stats *st)
{
	*st = c->stats;
	st->exec_runs = c->exec ? kube_exec_runs(c->exec) : 0;
}

static void
kube_client_release(struct kube_client *c)
{
	kube_exec_free(c->exec);
	kube_config_clear(&c->kc);
	if (c->tok != NULL) {
		explicit_bzero(c->tok, strlen(c->tok));
		free(c->tok);
	}
	free(c->base);
	curl_slist_free_all(c->connect_to);
	uv_timer_stop(c->timer);
	uv_close((uv_handle_t *)c->timer, kube_timer_closed);
	free(c);
}

const char *
kube_client_server(const struct kube_client *c)
{
	return c->kc.server;
}

static void
kube_unlink(struct kube_call *call)
{
	struct kube_client *c = call->c;

	if (!call->linked)
		return;
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	call->linked = 0;
}

/* Take a call off the send queue (a singly linked FIFO). */
static void
kube_dequeue(struct kube_call *call)
{
	struct kube_client *c = call->c;
	struct kube_call **pp, *prev = NULL;

	if (!call->queued)
		return;
	for (pp = &c->qhead; *pp != NULL; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp != call)
			continue;
		*pp = call->qnext;
		if (c->qtail == call)
			c->qtail = prev;
		break;
	}
	call->qnext = NULL;
	call->queued = 0;
}

static void
kube_enqueue(struct kube_call *call, int64_t delay_ms)
{
	struct kube_client *c = call->c;

	call->not_before = mono_ms() + delay_ms;
	call->qnext = NULL;
	call->queued = 1;
	if (c->qtail != NULL)
		c->qtail->qnext = call;
	else
		c->qhead = call;
	c->qtail = call;
	kube_schedule(c, delay_ms);
}

/* Run kube_pump() after delay_ms (sooner if it was due sooner). */
static void
kube_schedule(struct kube_client *c, int64_t delay_ms)
{
	uint64_t due;

	if (c->dying)
		return;
	if (delay_ms < 0)
		delay_ms = 0;
	due = uv_now(c->loop) + (uint64_t)delay_ms;
	if (uv_is_active((uv_handle_t *)c->timer) &&
	    uv_timer_get_due_in(c->timer) + uv_now(c->loop) <= due)
		return;
	uv_timer_start(c->timer, kube_timer_cb, (uint64_t)delay_ms, 0);
}

static void
kube_call_free(struct kube_call *call)
{
	struct kube_client *c = call->c;

	kube_dequeue(call);
	kube_unlink(call);
	if (call->easy != NULL)
		curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->hdrs);
	free(call->body);
	free(call->ctype);
	free(call->path);
	watch_decoder_clear(&call->wd);
	free(call);
	if (c->dying && c->calls == NULL)
		kube_client_release(c);
}

long
kube_call_status(const struct kube_call *call)
{
	long code = 0;

	if (call == NULL || call->easy == NULL ||
	    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code) !=
	    CURLE_OK)
		return 0;
	return code;
}

void
kube_cancel(struct kube_call *call)
{
	if (call == NULL || call->cancelled)
		return;
	call->cancelled = 1;
	if (call->in_http && kube_depth > 0)
		return;		/* aborted from its callbacks, freed in done */
	if (call->in_http)
		http_remove(call->c->http, call->easy);
	kube_call_free(call);
}

void
kube_client_free(struct kube_client *c)
{
	struct kube_call *call, *next;

	if (c == NULL)
		return;
	c->dying = 1;
	if (c->calls == NULL) {
		kube_client_release(c);
		return;
	}
	for (call = c->calls; call != NULL; call = next) {
		next = call->next;
		kube_cancel(call);	/* may release c with the last call */
	}
}

/* Append to the body buffer; a body past KUBE_MAX_BODY aborts the call. */
static int
kube_append(struct kube_call *call, const char *p, size_t n)
{
	size_t cap;
	char *b;

	if (call->len + n + 1 > KUBE_MAX_BODY) {
		call->overflow = 1;
		return -1;
	}
	if (call->len + n + 1 > call->cap) {
		cap = call->cap ? call->cap : 4096;
		while (cap < call->len + n + 1)
			cap *= 2;
		if (cap > KUBE_MAX_BODY)
			cap = KUBE_MAX_BODY;
		if ((b = realloc(call->body, cap)) == NULL) {
			call->overflow = 1;
			return -1;
		}
		call->body = b;
		call->cap = cap;
	}
	memcpy(call->body + call->len, p, n);
	call->len += n;
	call->body[call->len] = '\0';
	return 0;
}

static int
kube_watch_event(const char *type, json_t *obj, void *arg)
{
	struct kube_call *call = arg;

	call->event(type, obj, call->arg);
	return call->cancelled;
}

/*
 * CURLOPT_WRITEFUNCTION.  A watch answered 200 streams into the decoder,
 * everything else (including a watch's error Status) into the bounded
 * body.  Returning less than n aborts the transfer; past its byte budget
 * for this loop turn (http_over_budget) the transfer pauses until the next.
 */
static size_t
kube_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct kube_call *call = ud;
	size_t n = size * nmemb;
	long code = 0;
	int rc;

	if (call->cancelled)
		return 0;
	/* a fair share of this loop turn, then the next turn goes on */
	if (http_over_budget(call->c->http, call->easy, n))
		return CURL_WRITEFUNC_PAUSE;
	call->got_bytes = 1;
	if (call->watch) {
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200) {
			kube_depth++;
			rc = watch_decoder_feed(&call->wd, ptr, n,
			    kube_watch_event, call);
			kube_depth--;
			if (rc == -1)
				call->wd_error = 1;
			return rc == 0 && !call->cancelled ? n : 0;
		}
	}
	return kube_append(call, ptr, n) == 0 ? n : 0;
}

/* CURLOPT_XFERINFOFUNCTION: the way a deferred cancel reaches idle calls. */
static int
kube_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct kube_call *call = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return call->cancelled;
}

/* The first bytes of a body, printable, for a message. */
static void
kube_snippet(struct kube_call *call, long status)
{
	size_t i, n = call->len < KUBE_SNIPPET ? call->len : KUBE_SNIPPET;
	char *m;
	int off;

	off = snprintf(call->msg, sizeof(call->msg), "HTTP %ld%s", status,
	    n ? ": " : "");
	m = call->msg + off;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)call->body[i];

		m[i] = (isprint(ch) || ch == ' ') ? (char)ch : '?';
	}
	m[n] = '\0';
}

/* End a call that never reached (or no longer is in) libcurl. */
static void
kube_fail(struct kube_call *call, long status, const char *msg)
{
	struct kube_resp resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	resp.message = msg;
	resp.reason = "";
	resp.raw = "";
	kube_dequeue(call);
	kube_unlink(call);
	call->done(&resp, call->arg);
	kube_call_free(call);
}

/*
 * A 429 names the API Priority and Fairness flow schema and priority level
 * that throttled us (X-Kubernetes-PF-* headers): log them, so an operator
 * can tell which APF configuration to look at.
 */
static void
log_throttled(struct kube_call *call)
{
	struct curl_header	*fs = NULL, *pl = NULL;

	curl_easy_header(call->easy, "X-Kubernetes-PF-FlowSchema-UID", 0,
	    CURLH_HEADER, -1, &fs);
	curl_easy_header(call->easy, "X-Kubernetes-PF-PriorityLevel-UID", 0,
	    CURLH_HEADER, -1, &pl);
	log_notice("%s: throttled by the API server (429; flow schema %s, "
	    "priority level %s)", call->path ? call->path : "request",
	    fs ? fs->value : "-", pl ? pl->value : "-");
}

/*
 * Should this answer be tried again, and after how long?  -1: no.
 * See the top of the file for the rules.
 */
static int64_t
kube_retry_delay(struct kube_call *call, CURLcode result, long status)
{
	struct kube_client *c = call->c;
	curl_off_t ra = 0;
	int64_t backoff;

	if (call->wd_error || call->overflow)
		return -1;
	if (status == 401 && !call->reauthed &&
	    (c->exec != NULL || c->kc.token_file != NULL)) {
		call->reauthed = 1;
		c->stats.reauths++;
		if (c->exec != NULL)
			kube_exec_invalidate(c->exec);
		c->tok_read_ms = 0;
		return 0;
	}
	backoff = 250LL << (call->attempts < 7 ? call->attempts : 7);
	if (result == CURLE_OK && status == 429)
		log_throttled(call);
	if (result == CURLE_OK && (status == 429 || status >= 500)) {
		curl_easy_getinfo(call->easy, CURLINFO_RETRY_AFTER, &ra);
		if (status != 429 && ra <= 0)
			return -1;
		if (call->attempts >= KUBE_MAX_RETRIES)
			return -1;
		call->attempts++;
		if ((int64_t)ra * 1000 > backoff)
			backoff = (int64_t)ra * 1000;
		return backoff > KUBE_RETRY_CAP_MS ? KUBE_RETRY_CAP_MS :
		    backoff;
	}
	/* a broken connection before any answer: only GETs are retried */
	if (result != CURLE_OK && call->get && !call->got_bytes &&
	    call->resets < KUBE_MAX_RESETS &&
	    (result == CURLE_RECV_ERROR || result == CURLE_SEND_ERROR ||
	    result == CURLE_GOT_NOTHING || result == CURLE_COULDNT_CONNECT)) {
		call->resets++;
		return 100LL << call->resets;
	}
	return -1;
}

static void
kube_done(CURL *easy, CURLcode result, void *arg)
{
	struct kube_call *call = arg;
	struct kube_client *c = call->c;
	struct kube_resp resp;
	json_error_t jerr;
	json_t *body = NULL;
	const char *s;
	int64_t delay;

	call->in_http = 0;
	if (call->cancelled) {
		kube_call_free(call);
		return;
	}
	memset(&resp, 0, sizeof(resp));
	resp.message = resp.reason = "";
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
	{
		char *method = NULL;

		/* remedy_kube_requests_total{resource,verb,code} */
		curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_METHOD, &method);
		metrics_kube_api(method, call->path, call->watch,
		    result == CURLE_OK ? (int)resp.status : 0);
	}
	if (!c->dying && (delay = kube_retry_delay(call, result,
	    result == CURLE_OK ? resp.status : 0)) >= 0) {
		c->stats.retries++;
		if (resp.status == 429 || resp.status >= 500)
			log_info("kube %s: HTTP %ld, retry %d in %lld ms",
			    call->path, resp.status, call->attempts,
			    (long long)delay);
		call->len = 0;
		call->overflow = 0;
		call->got_bytes = 0;
		call->errbuf[0] = '\0';
		kube_enqueue(call, delay);
		return;
	}
	resp.raw = call->body ? call->body : "";
	resp.rawlen = call->len;
	if (call->wd_error) {
		resp.message = call->wd.err;
	} else if (call->overflow) {
		snprintf(call->msg, sizeof(call->msg), "response larger than "
		    "%d bytes", KUBE_MAX_BODY);
		resp.message = call->msg;
	} else if (result != CURLE_OK) {
		resp.status = 0;
		resp.message = call->errbuf[0] ? call->errbuf :
		    curl_easy_strerror(result);
		if (result == CURLE_OPERATION_TIMEDOUT && call->watch) {
			snprintf(call->msg, sizeof(call->msg), "watch stalled: "
			    "nothing received for %ld s", c->watch_stall_s);
			resp.message = call->msg;
		}
	} else {
		if (call->len > 0 && !(call->raw2xx && resp.status / 100 == 2))
			body = json_loadb(call->body, call->len, 0, &jerr);
		resp.body = body;
		if (resp.status < 200 || resp.status > 299) {
			if ((s = json_str_at(body, "message")) != NULL)
				resp.message = s;
			else {
				kube_snippet(call, resp.status);
				resp.message = call->msg;
			}
			if ((s = json_str_at(body, "reason")) != NULL)
				resp.reason = s;
		}
	}
	/* the call is over: kube_client_free() from done() must not see it */
	kube_unlink(call);
	call->done(&resp, call->arg);
	json_decref(body);
	kube_call_free(call);
}

/*
 * The bearer token: the exec plugin's, else token_file (re-read when a
 * minute old or after a 401: projected tokens rotate), else the inline
 * one; trimmed, at most KUBE_MAX_TOKEN bytes, refused when it holds
 * control characters (it goes into a header line).  *tok is borrowed.
 */
static int
kube_token(struct kube_client *c, const char **tok, char *err, size_t errlen)
{
	const struct kube_cred *cred;
	char *t = NULL, *p, *e;
	size_t len;
	int64_t now = mono_ms();

	*tok = NULL;
	if (c->exec != NULL) {
		if ((cred = kube_exec_cred(c->exec)) != NULL)
			*tok = cred->token;
		return 0;
	}
	if (c->kc.token_file == NULL || c->kc.token_file[0] == '\0') {
		if (c->kc.token != NULL && c->kc.token[0] != '\0')
			*tok = c->kc.token;
		return 0;
	}
	if (c->tok != NULL && c->tok_read_ms != 0 &&
	    now - c->tok_read_ms < KUBE_TOKEN_TTL_MS) {
		*tok = c->tok;
		return 0;
	}
	if (read_file(c->kc.token_file, KUBE_MAX_TOKEN, &t, &len, err,
	    errlen) == -1)
		return -1;
	for (p = t; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
		;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		e--;
	*e = '\0';
	memmove(t, p, (size_t)(e - p) + 1);
	for (p = t; *p != '\0'; p++) {
		if (iscntrl((unsigned char)*p)) {
			snprintf(err, errlen, "token file %s holds control "
			    "characters", c->kc.token_file);
			explicit_bzero(t, strlen(t));
			free(t);
			return -1;
		}
	}
	if (t[0] == '\0') {
		snprintf(err, errlen, "token file %s is empty",
		    c->kc.token_file);
		free(t);
		return -1;
	}
	if (c->tok != NULL) {
		explicit_bzero(c->tok, strlen(c->tok));
		free(c->tok);
	}
	c->tok = t;
	c->tok_read_ms = now;
	*tok = t;
	return 0;
}

/*
 * Set the per-attempt parts of a call (headers with the current
 * credential, client certificate) and hand it to libcurl.  -1 with a
 * message when that is impossible.
 */
static int
kube_launch(struct kube_call *call, char *err, size_t errlen)
{
	struct kube_client *c = call->c;
	const struct kube_cred *cred = NULL;
	const struct kube_blob *cert, *key;
	struct curl_slist *l = NULL;
	const char *tok;
	char *auth = NULL, ctbuf[256];
	size_t n;
	int rc = -1;

	if (kube_token(c, &tok, err, errlen) == -1)
		return -1;
	if (c->exec != NULL)
		cred = kube_exec_cred(c->exec);
	if ((l = curl_slist_append(l, "Accept: application/json")) == NULL ||
	    (l = curl_slist_append(l, "Expect:")) == NULL)
		goto nomem;
	if (call->ctype != NULL) {
		snprintf(ctbuf, sizeof(ctbuf), "Content-Type: %s", call->ctype);
		if ((l = curl_slist_append(l, ctbuf)) == NULL)
			goto nomem;
	}
	if (tok != NULL) {
		n = strlen(tok) + 32;
		if ((auth = malloc(n)) == NULL)
			goto nomem;
		snprintf(auth, n, "Authorization: Bearer %s", tok);
		l = curl_slist_append(l, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (l == NULL)
			goto nomem;
	}
	curl_slist_free_all(call->hdrs);
	call->hdrs = l;
	l = NULL;
	curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->hdrs);
	cert = cred && cred->cert.len ? &cred->cert : &c->kc.client_cert;
	key = cred && cred->key.len ? &cred->key : &c->kc.client_key;
	if (cert->len > 0 && key->len > 0) {
		struct curl_blob bc = { cert->data, cert->len, CURL_BLOB_COPY };
		struct curl_blob bk = { key->data, key->len, CURL_BLOB_COPY };

		curl_easy_setopt(call->easy, CURLOPT_SSLCERT_BLOB, &bc);
		curl_easy_setopt(call->easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(call->easy, CURLOPT_SSLKEY_BLOB, &bk);
		curl_easy_setopt(call->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	watch_decoder_clear(&call->wd);
	watch_decoder_init(&call->wd, KUBE_MAX_WATCH_LINE);
	call->wd_error = 0;
	if (http_add(c->http, call->easy, kube_done, call) == -1) {
		snprintf(err, errlen, "cannot start the transfer");
		goto out;
	}
	call->in_http = 1;
	c->stats.requests++;
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	curl_slist_free_all(l);
	return rc;
}

/* The exec plugin finished: send the waiting calls, or fail them all. */
static void
kube_exec_done(void *arg, int ok, const char *msg)
{
	struct kube_client *c = arg;
	struct kube_call *call;

	if (ok) {
		kube_schedule(c, 0);
		return;
	}
	while ((call = c->qhead) != NULL && !c->dying)
		kube_fail(call, 0, msg);
}

/*
 * Send what may go now, in order within each lane.  A call that must wait
 * for its lane's token bucket holds back the later calls of that lane only
 * (an informer retry never delays the engine's dry-run); waiting for the
 * credential holds back everything.  A call whose retry delay has not
 * passed is skipped.  Re-arms the timer for what is left.
 */
static void
kube_pump(struct kube_client *c)
{
	struct kube_call *call, *next;
	int64_t now, wait, soonest = -1;
	int blocked[KUBE_NLANES];
	char err[512];

	if (c->dying)
		return;
again:
	now = mono_ms();
	memset(blocked, 0, sizeof(blocked));
	for (call = c->qhead; call != NULL; call = next) {
		next = call->qnext;
		if (blocked[call->lane])
			continue;
		if (call->not_before > now) {
			if (soonest < 0 || call->not_before - now < soonest)
				soonest = call->not_before - now;
			continue;
		}
		if (c->exec != NULL && kube_exec_cred(c->exec) == NULL) {
			kube_exec_run(c->exec);	/* kube_exec_done() goes on */
			return;
		}
		if ((wait = ratelimit_take(&c->rl[call->lane], now)) > 0) {
			c->stats.throttled++;
			soonest = soonest < 0 || wait < soonest ? wait :
			    soonest;
			blocked[call->lane] = 1;
			continue;
		}
		kube_dequeue(call);
		err[0] = '\0';
		if (kube_launch(call, err, sizeof(err)) == -1) {
			log_warnx("kube %s: %s", call->path, err);
			kube_fail(call, 0, err);
			if (c->dying)
				return;
			goto again;	/* done() may have changed the queue */
		}
	}
	if (soonest >= 0)
		uv_timer_start(c->timer, kube_timer_cb, (uint64_t)soonest, 0);
}

/*
 * Build one call and queue it.  method NULL is GET.  Errors are logged and
 * give NULL: the caller's done() is not called.
 */
static struct kube_call *
kube_start(struct kube_client *c, const char *method, const char *path,
    const char *ctype, const char *body, int watch, long bufsize,
    kube_done_cb done, kube_event_cb event, void *arg)
{
	struct kube_call *call = NULL;
	char err[512], *url = NULL;
	size_t n;
	CURL *e;

	err[0] = '\0';
	if (c->dying) {
		snprintf(err, sizeof(err), "client is being freed");
		goto fail;
	}
	if (path == NULL || path[0] != '/' || strlen(path) > KUBE_MAX_PATH) {
		snprintf(err, sizeof(err), "bad request path");
		goto fail;
	}
	if (ctype != NULL && (strchr(ctype, '\r') || strchr(ctype, '\n') ||
	    strlen(ctype) > 200)) {
		snprintf(err, sizeof(err), "bad content type");
		goto fail;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL)
		goto nomem;
	call->c = c;
	call->watch = watch;
	call->get = method == NULL;
	call->done = done;
	call->event = event;
	call->arg = arg;
	watch_decoder_init(&call->wd, KUBE_MAX_WATCH_LINE);
	if ((call->path = strdup(path)) == NULL ||
	    (ctype != NULL && (call->ctype = strdup(ctype)) == NULL))
		goto nomem;
	n = strlen(c->base) + strlen(path) + 1;
	if ((url = malloc(n)) == NULL)
		goto nomem;
	snprintf(url, n, "%s%s", c->base, path);
	if ((call->easy = e = curl_easy_init()) == NULL)
		goto nomem;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "remedyd/" REMEDY_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, KUBE_CONNECT_TIMEOUT);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	/* on a watch, the low-speed limit is the stall detector: a server
	 * sends a BOOKMARK at least every minute or so */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, watch ? c->watch_stall_s :
	    KUBE_LOWSPEED_TIME);
	if (!watch) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT, KUBE_TIMEOUT);
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	} else if (bufsize > 0)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, bufsize);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, kube_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, kube_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, call);
	if (c->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
	if (c->kc.proxy_url != NULL)
		curl_easy_setopt(e, CURLOPT_PROXY, c->kc.proxy_url);
	if (c->kc.ca.len > 0) {
		struct curl_blob b = { c->kc.ca.data, c->kc.ca.len,
		    CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->kc.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (method != NULL)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
	}

	call->next = c->calls;
	if (c->calls != NULL)
		c->calls->prev = call;
	c->calls = call;
	call->linked = 1;
	kube_enqueue(call, 0);
	goto out;
nomem:
	snprintf(err, sizeof(err), "out of memory");
fail:
	log_warnx("kube %s %s: %s", method ? method : "GET",
	    path ? path : "(null)", err);
	if (call != NULL)
		kube_call_free(call);
	call = NULL;
out:
	free(url);
	return call;
}

struct kube_call *
kube_get(struct kube_client *c, const char *path, kube_done_cb done,
    void *arg)
{
	return kube_start(c, NULL, path, NULL, NULL, 0, 0, done, NULL, arg);
}

struct kube_call *
kube_get_raw(struct kube_client *c, const char *path, kube_done_cb done,
    void *arg)
{
	struct kube_call *call;

	if ((call = kube_start(c, NULL, path, NULL, NULL, 0, 0, done, NULL,
	    arg)) != NULL)
		call->raw2xx = 1;
	return call;
}

struct kube_call *
kube_request(struct kube_client *c, const char *method, const char *path,
    const char *content_type, const char *body, kube_done_cb done,
    void *arg)
{
	if (method == NULL || strcmp(method, "GET") == 0)
		return kube_start(c, NULL, path, NULL, NULL, 0, 0, done, NULL,
		    arg);
	return kube_start(c, method, path, body ? content_type : NULL, body,
	    0, 0, done, NULL, arg);
}

struct kube_call *
kube_patch(struct kube_client *c, const char *path, const char *content_type,
    const char *body, int dry_run, kube_done_cb done, void *arg)
{
	struct kube_call *call;
	char *p;
	size_t n;

	if (path == NULL || content_type == NULL || body == NULL) {
		log_warnx("kube PATCH: missing path, content type or body");
		return NULL;
	}
	if (!dry_run)
		return kube_start(c, "PATCH", path, content_type, body, 0, 0,
		    done, NULL, arg);
	n = strlen(path) + 32;
	if ((p = malloc(n)) == NULL)
		return NULL;
	snprintf(p, n, "%s", path);
	if (kube_query_add(p, n, "dryRun", "All") == -1) {
		free(p);
		return NULL;
	}
	call = kube_start(c, "PATCH", p, content_type, body, 0, 0, done, NULL,
	    arg);
	free(p);
	return call;
}

struct kube_call *
kube_watch(struct kube_client *c, const char *path, long bufsize,
    kube_event_cb event, kube_done_cb done, void *arg)
{
	if (event == NULL) {
		log_warnx("kube watch %s: no event callback", path);
		return NULL;
	}
	return kube_start(c, NULL, path, NULL, NULL, 1, bufsize, done, event,
	    arg);
}

/*
 * Append "?k=v" (or "&k=v" when the path has a query) with k and v
 * URL-encoded.  -1, the path unchanged, when it does not fit in len.
 */
int
kube_query_add(char *path, size_t len, const char *k, const char *v)
{
	char *ek = NULL, *ev = NULL;
	size_t n = strlen(path);
	int w, rc = -1;

	if (n >= len)
		return -1;
	if ((ek = curl_easy_escape(NULL, k, 0)) == NULL ||
	    (ev = curl_easy_escape(NULL, v ? v : "", 0)) == NULL)
		goto out;
	w = snprintf(path + n, len - n, "%c%s=%s",
	    strchr(path, '?') ? '&' : '?', ek, ev);
	if (w < 0 || (size_t)w >= len - n) {
		path[n] = '\0';
		goto out;
	}
	rc = 0;
out:
	curl_free(ek);
	curl_free(ev);
	return rc;
}

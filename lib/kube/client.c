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
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http.h"
#include "kube/client.h"
#include "kube/watch.h"
#include "log.h"
#include "util.h"

#ifndef REMEDY_VERSION
#define REMEDY_VERSION	"0"
#endif

#define KUBE_MAX_TOKEN		(64 * 1024)
#define KUBE_MAX_PATH		(64 * 1024)
#define KUBE_SNIPPET		200
#define KUBE_CONNECT_TIMEOUT	10L
#define KUBE_LOWSPEED_TIME	60L
#define KUBE_TIMEOUT		60L

struct kube_client {
	struct http		*http;
	struct kube_config	 kc;
	char			*base;		/* URL prefix requests use */
	struct curl_slist	*connect_to;	/* tls-server-name routing */
	struct kube_call	*calls;
	int			 dying;		/* freed when calls drain */
};

struct kube_call {
	struct kube_client	*c;
	CURL			*easy;
	struct curl_slist	*hdrs;
	int			 watch;
	kube_done_cb		 done;
	kube_event_cb		 event;
	void			*arg;
	char			*body;
	size_t			 len, cap;
	int			 overflow;
	struct watch_decoder	 wd;
	int			 wd_error;
	int			 cancelled;
	int			 linked;
	char			 errbuf[CURL_ERROR_SIZE];
	char			 msg[KUBE_SNIPPET + 64];
	struct kube_call	*prev, *next;
};

/* How deep we are in libcurl callbacks that run user code. */
static int kube_depth;

static void
blob_copy(struct kube_blob *dst, const struct kube_blob *src, int *fail)
{
	dst->data = NULL;
	dst->len = 0;
	if (src->data == NULL || src->len == 0)
		return;
	if ((dst->data = malloc(src->len)) == NULL) {
		*fail = 1;
		return;
	}
	memcpy(dst->data, src->data, src->len);
	dst->len = src->len;
}

static void
blob_wipe(struct kube_blob *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
}

static void
kube_config_wipe(struct kube_config *kc)
{
	free(kc->source);
	free(kc->context);
	free(kc->server);
	free(kc->namespace);
	blob_wipe(&kc->ca);
	blob_wipe(&kc->client_cert);
	blob_wipe(&kc->client_key);
	if (kc->token != NULL)
		explicit_bzero(kc->token, strlen(kc->token));
	free(kc->token);
	free(kc->token_file);
	free(kc->tls_server_name);
	memset(kc, 0, sizeof(*kc));
}

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

struct kube_client *
kube_client_new(struct http *http, const struct kube_config *kc, char *err,
    size_t errlen)
{
	struct kube_client *c;
	size_t n;
	int fail = 0;

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
	c->kc.source = xstrdup(kc->source);
	c->kc.context = xstrdup(kc->context);
	c->kc.server = xstrdup(kc->server);
	c->kc.namespace = xstrdup(kc->namespace);
	c->kc.token = xstrdup(kc->token);
	c->kc.token_file = xstrdup(kc->token_file);
	c->kc.tls_server_name = xstrdup(kc->tls_server_name);
	c->kc.insecure = kc->insecure;
	blob_copy(&c->kc.ca, &kc->ca, &fail);
	blob_copy(&c->kc.client_cert, &kc->client_cert, &fail);
	blob_copy(&c->kc.client_key, &kc->client_key, &fail);
	if (fail || c->kc.server == NULL ||
	    (kc->source && !c->kc.source) || (kc->token && !c->kc.token) ||
	    (kc->token_file && !c->kc.token_file) ||
	    (kc->tls_server_name && !c->kc.tls_server_name)) {
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
	return c;
fail:
	kube_config_wipe(&c->kc);
	free(c->base);
	curl_slist_free_all(c->connect_to);
	free(c);
	return NULL;
}

static void
kube_client_release(struct kube_client *c)
{
	kube_config_wipe(&c->kc);
	free(c->base);
	curl_slist_free_all(c->connect_to);
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

static void
kube_call_free(struct kube_call *call)
{
	struct kube_client *c = call->c;

	kube_unlink(call);
	if (call->easy != NULL)
		curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->hdrs);
	free(call->body);
	watch_decoder_clear(&call->wd);
	free(call);
	if (c->dying && c->calls == NULL)
		kube_client_release(c);
}

void
kube_cancel(struct kube_call *call)
{
	if (call == NULL || call->cancelled)
		return;
	call->cancelled = 1;
	if (kube_depth > 0)
		return;		/* aborted from its callbacks, freed in done */
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
 * body.  Returning less than n aborts the transfer.
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

static void
kube_done(CURL *easy, CURLcode result, void *arg)
{
	struct kube_call *call = arg;
	struct kube_resp resp;
	json_error_t jerr;
	json_t *body = NULL;
	const char *s;

	if (call->cancelled) {
		kube_call_free(call);
		return;
	}
	memset(&resp, 0, sizeof(resp));
	resp.message = resp.reason = "";
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
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
	} else {
		if (call->len > 0)
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
 * The bearer token: token_file re-read at every request (projected tokens
 * rotate), trimmed, at most KUBE_MAX_TOKEN bytes, refused when it holds
 * control characters (it goes into a header line).  The caller wipes it.
 */
static int
kube_token(struct kube_client *c, char **tok, char *err, size_t errlen)
{
	char *t = NULL, *p, *e;
	size_t len;

	*tok = NULL;
	if (c->kc.token_file != NULL && c->kc.token_file[0] != '\0') {
		if (read_file(c->kc.token_file, KUBE_MAX_TOKEN, &t, &len, err,
		    errlen) == -1)
			return -1;
	} else if (c->kc.token != NULL && c->kc.token[0] != '\0') {
		if ((t = strdup(c->kc.token)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	} else
		return 0;
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
			snprintf(err, errlen, "token%s%s holds control "
			    "characters", c->kc.token_file ? " file " : "",
			    c->kc.token_file ? c->kc.token_file : "");
			explicit_bzero(t, strlen(t));
			free(t);
			return -1;
		}
	}
	if (t[0] == '\0') {
		free(t);
		return 0;
	}
	*tok = t;
	return 0;
}

/*
 * Build and start one call.  method NULL is GET.  Errors are logged and
 * give NULL: the caller's done() is not called.
 */
static struct kube_call *
kube_start(struct kube_client *c, const char *method, const char *path,
    const char *ctype, const char *body, int watch, kube_done_cb done,
    kube_event_cb event, void *arg)
{
	struct kube_call *call = NULL;
	struct curl_slist *l;
	char err[512], *url = NULL, *tok = NULL, *auth = NULL, ctbuf[256];
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
	if ((call = calloc(1, sizeof(*call))) == NULL)
		goto nomem;
	call->c = c;
	call->watch = watch;
	call->done = done;
	call->event = event;
	call->arg = arg;
	watch_decoder_init(&call->wd, KUBE_MAX_WATCH_LINE);
	n = strlen(c->base) + strlen(path) + 1;
	if ((url = malloc(n)) == NULL)
		goto nomem;
	snprintf(url, n, "%s%s", c->base, path);
	if ((call->easy = e = curl_easy_init()) == NULL)
		goto nomem;

	if ((l = curl_slist_append(call->hdrs, "Accept: application/json")) ==
	    NULL)
		goto nomem;
	call->hdrs = l;
	if ((l = curl_slist_append(call->hdrs, "Expect:")) == NULL)
		goto nomem;
	call->hdrs = l;
	if (ctype != NULL) {
		if (strchr(ctype, '\r') || strchr(ctype, '\n') ||
		    strlen(ctype) > 200) {
			snprintf(err, sizeof(err), "bad content type");
			goto fail;
		}
		snprintf(ctbuf, sizeof(ctbuf), "Content-Type: %s", ctype);
		if ((l = curl_slist_append(call->hdrs, ctbuf)) == NULL)
			goto nomem;
		call->hdrs = l;
	}
	if (kube_token(c, &tok, err, sizeof(err)) == -1)
		goto fail;
	if (tok != NULL) {
		n = strlen(tok) + 32;
		if ((auth = malloc(n)) == NULL)
			goto nomem;
		snprintf(auth, n, "Authorization: Bearer %s", tok);
		l = curl_slist_append(call->hdrs, auth);
		explicit_bzero(auth, strlen(auth));
		if (l == NULL)
			goto nomem;
		call->hdrs = l;
	}

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "remedyd/" REMEDY_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, KUBE_CONNECT_TIMEOUT);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, KUBE_LOWSPEED_TIME);
	if (!watch) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT, KUBE_TIMEOUT);
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	}
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
	if (c->kc.ca.len > 0) {
		struct curl_blob b = { c->kc.ca.data, c->kc.ca.len,
		    CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->kc.client_cert.len > 0) {
		struct curl_blob b = { c->kc.client_cert.data,
		    c->kc.client_cert.len, CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (c->kc.client_key.len > 0) {
		struct curl_blob b = { c->kc.client_key.data,
		    c->kc.client_key.len, CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
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

	if (http_add(c->http, e, kube_done, call) == -1) {
		snprintf(err, sizeof(err), "cannot start the transfer");
		goto fail;
	}
	call->next = c->calls;
	if (c->calls != NULL)
		c->calls->prev = call;
	c->calls = call;
	call->linked = 1;
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
	if (tok != NULL) {
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	free(auth);
	free(url);
	return call;
}

struct kube_call *
kube_get(struct kube_client *c, const char *path, kube_done_cb done,
    void *arg)
{
	return kube_start(c, NULL, path, NULL, NULL, 0, done, NULL, arg);
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
		return kube_start(c, "PATCH", path, content_type, body, 0,
		    done, NULL, arg);
	n = strlen(path) + 32;
	if ((p = malloc(n)) == NULL)
		return NULL;
	snprintf(p, n, "%s", path);
	if (kube_query_add(p, n, "dryRun", "All") == -1) {
		free(p);
		return NULL;
	}
	call = kube_start(c, "PATCH", p, content_type, body, 0, done, NULL,
	    arg);
	free(p);
	return call;
}

struct kube_call *
kube_watch(struct kube_client *c, const char *path, kube_event_cb event,
    kube_done_cb done, void *arg)
{
	if (event == NULL) {
		log_warnx("kube watch %s: no event callback", path);
		return NULL;
	}
	return kube_start(c, NULL, path, NULL, NULL, 1, done, event, arg);
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

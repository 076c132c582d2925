/*
 * llm.c - see llm.h.
 */
#define _XOPEN_SOURCE 700	/* strptime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "diagnose/llm.h"

struct llm {
	uv_loop_t		*loop;
	struct http		*http;
	struct llm_config	 cfg;
	char			*model, *endpoint, *api_key, *azure, *apiver;
	enum llm_structured	 level;		/* sticky step-down */
	struct llm_call		*calls;
	size_t			 ncalls;
};

struct llm_call {
	uv_timer_t		 timer;		/* first: the close callback
						 * gets the call back */
	struct llm		*l;
	CURL			*easy;
	struct curl_slist	*hdrs;
	char			*body;
	char			*resp;
	size_t			 resplen;
	int			 resp_over;
	int64_t			 retry_after;	/* ms, -1 none */
	char			*system;
	json_t			*messages;
	json_t			*schema;
	llm_done_cb		 done;
	void			*arg;
	int			 attempts;
	enum llm_structured	 level;		/* the attempt's */
	char			 errbuf[CURL_ERROR_SIZE];
	struct llm_call		*prev, *next;
};

const char *
llm_kind_name(enum llm_kind k)
{
	return k == LLM_OPENAI ? "openai" : k == LLM_ANTHROPIC ? "anthropic" :
	    "ollama";
}

int
llm_kind_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "openai") == 0)
		return LLM_OPENAI;
	if (strcmp(s, "anthropic") == 0)
		return LLM_ANTHROPIC;
	if (strcmp(s, "ollama") == 0)
		return LLM_OLLAMA;
	return -1;
}

/* The endpoint without trailing slashes, then suffix, into url. */
static int
join_url(char *url, size_t len, const char *base, const char *suffix)
{
	size_t	n = strlen(base);
	int	w;

	while (n > 0 && base[n - 1] == '/')
		n--;
	w = snprintf(url, len, "%.*s%s", (int)n, base, suffix);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

static int
add_hdr(struct curl_slist **h, const char *name, const char *value)
{
	struct curl_slist	*n;
	char			*line;
	size_t			 len = strlen(name) + strlen(value) + 3;

	if ((line = malloc(len)) == NULL)
		return -1;
	snprintf(line, len, "%s: %s", name, value);
	n = curl_slist_append(*h, line);
	explicit_bzero(line, len);	/* it may hold the key */
	free(line);
	if (n == NULL)
		return -1;
	*h = n;
	return 0;
}

/* The system text, plus the schema when the wire has no structured
 * output for it. */
static char *
system_text(const char *system, json_t *schema, int with_schema)
{
	char	*s, *out;
	size_t	 n;

	if (!with_schema || schema == NULL)
		return strdup(system);
	if ((s = json_dumps(schema, JSON_COMPACT)) == NULL)
		return NULL;
	n = strlen(system) + strlen(s) + 96;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s\nReply with one JSON object, and nothing "
		    "else, that matches this JSON Schema:\n%s", system, s);
	free(s);
	return out;
}

int
llm_request(const struct llm_config *c, enum llm_structured level,
    const char *system, json_t *messages, json_t *schema, char *url,
    size_t urllen, char **body, struct curl_slist **hdrs)
{
	json_t	*req = NULL, *msgs = NULL, *m;
	char	*sys = NULL, path[512];
	size_t	 i;
	int	 rc = -1;

	*body = NULL;
	*hdrs = NULL;
	if (add_hdr(hdrs, "Content-Type", "application/json") == -1 ||
	    add_hdr(hdrs, "Accept", "application/json") == -1)
		goto out;
	switch (c->kind) {
	case LLM_OPENAI:
		if (c->azure_deployment != NULL) {
			snprintf(path, sizeof(path), "/openai/deployments/%s/"
			    "chat/completions?api-version=%s",
			    c->azure_deployment, c->api_version ?
			    c->api_version : "2024-10-21");
			if (c->api_key && add_hdr(hdrs, "api-key",
			    c->api_key) == -1)
				goto out;
		} else {
			snprintf(path, sizeof(path), "/chat/completions");
			if (c->api_key) {
				char	 *v;
				size_t	  n = strlen(c->api_key) + 8;

				if ((v = malloc(n)) == NULL)
					goto out;
				snprintf(v, n, "Bearer %s", c->api_key);
				i = (size_t)add_hdr(hdrs, "Authorization", v);
				explicit_bzero(v, n);
				free(v);
				if (i != 0)
					goto out;
			}
		}
		if (join_url(url, urllen, c->endpoint, path) == -1)
			goto out;
		if ((sys = system_text(system, schema,
		    level == LLM_PROMPTED || level == LLM_JSON_OBJECT)) == NULL)
			goto out;
		msgs = json_pack("[{s:s, s:s}]", "role", "system", "content",
		    sys);
		json_array_foreach(messages, i, m)
			json_array_append(msgs, m);
		req = json_pack("{s:s, s:o, s:i, s:i}", "model", c->model,
		    "messages", msgs, "temperature", 0, "max_tokens",
		    c->max_tokens);
		msgs = NULL;
		if (req == NULL)
			goto out;
		if (level == LLM_JSON_SCHEMA && schema != NULL)
			json_object_set_new(req, "response_format", json_pack(
			    "{s:s, s:{s:s, s:b, s:O}}", "type", "json_schema",
			    "json_schema", "name", "diagnosis", "strict", 0,
			    "schema", schema));
		else if (level == LLM_JSON_OBJECT)
			json_object_set_new(req, "response_format", json_pack(
			    "{s:s}", "type", "json_object"));
		break;
	case LLM_ANTHROPIC:
		if (join_url(url, urllen, c->endpoint, "/v1/messages") == -1 ||
		    add_hdr(hdrs, "anthropic-version", "2023-06-01") == -1 ||
		    (c->api_key && add_hdr(hdrs, "x-api-key",
		    c->api_key) == -1))
			goto out;
		if ((sys = system_text(system, schema, 1)) == NULL)
			goto out;
		req = json_pack("{s:s, s:i, s:s, s:O, s:i}", "model", c->model,
		    "max_tokens", c->max_tokens, "system", sys, "messages",
		    messages, "temperature", 0);
		if (req == NULL)
			goto out;
		break;
	case LLM_OLLAMA:
		if (join_url(url, urllen, c->endpoint, "/api/chat") == -1)
			goto out;
		if ((sys = system_text(system, schema, schema == NULL)) ==
		    NULL)
			goto out;
		msgs = json_pack("[{s:s, s:s}]", "role", "system", "content",
		    sys);
		json_array_foreach(messages, i, m)
			json_array_append(msgs, m);
		req = json_pack("{s:s, s:o, s:b, s:{s:i, s:i}}", "model",
		    c->model, "messages", msgs, "stream", 0, "options",
		    "temperature", 0, "num_predict", c->max_tokens);
		msgs = NULL;
		if (req == NULL)
			goto out;
		if (schema != NULL)
			json_object_set(req, "format", schema);
		if (c->api_key) {
			char	 *v;
			size_t	  n = strlen(c->api_key) + 8;

			if ((v = malloc(n)) == NULL)
				goto out;
			snprintf(v, n, "Bearer %s", c->api_key);
			i = (size_t)add_hdr(hdrs, "Authorization", v);
			explicit_bzero(v, n);
			free(v);
			if (i != 0)
				goto out;
		}
		break;
	}
	if ((*body = json_dumps(req, JSON_COMPACT)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		curl_slist_free_all(*hdrs);
		*hdrs = NULL;
	}
	json_decref(msgs);
	json_decref(req);
	free(sys);
	return rc;
}

static void
set_text(struct llm_result *res, const char *s)
{
	free(res->text);
	res->text = s ? strdup(s) : NULL;
}

int
llm_response(enum llm_kind kind, const char *body, size_t len,
    struct llm_result *res)
{
	json_error_t	 je;
	json_t		*doc, *c;
	const char	*text = NULL, *stop = NULL;
	size_t		 i;
	int		 rc = -1;

	if ((doc = json_loadb(body, len, 0, &je)) == NULL) {
		snprintf(res->err, sizeof(res->err), "the %s answer is not "
		    "JSON: %s at line %d column %d", llm_kind_name(kind),
		    je.text, je.line, je.column);
		return -1;
	}
	switch (kind) {
	case LLM_OPENAI:
		c = json_array_get(json_object_get(doc, "choices"), 0);
		text = json_str_at(c, "message.content");
		stop = json_str_at(c, "finish_reason");
		res->prompt_tokens = json_int_at(doc, "usage.prompt_tokens", 0);
		res->completion_tokens = json_int_at(doc,
		    "usage.completion_tokens", 0);
		res->truncated = stop && strcmp(stop, "length") == 0;
		if (text == NULL && json_str_at(c, "message.refusal"))
			snprintf(res->err, sizeof(res->err), "the model "
			    "refused: %.300s", json_str_at(c,
			    "message.refusal"));
		break;
	case LLM_ANTHROPIC:
		json_array_foreach(json_object_get(doc, "content"), i, c)
			if (json_str_at(c, "type") &&
			    strcmp(json_str_at(c, "type"), "text") == 0) {
				text = json_str_at(c, "text");
				break;
			}
		stop = json_str_at(doc, "stop_reason");
		res->prompt_tokens = json_int_at(doc, "usage.input_tokens", 0);
		res->completion_tokens = json_int_at(doc,
		    "usage.output_tokens", 0);
		res->truncated = stop && strcmp(stop, "max_tokens") == 0;
		break;
	case LLM_OLLAMA:
		text = json_str_at(doc, "message.content");
		stop = json_str_at(doc, "done_reason");
		res->prompt_tokens = json_int_at(doc, "prompt_eval_count", 0);
		res->completion_tokens = json_int_at(doc, "eval_count", 0);
		res->truncated = stop && strcmp(stop, "length") == 0;
		break;
	}
	if (text == NULL) {
		if (res->err[0] == '\0')
			snprintf(res->err, sizeof(res->err), "the %s answer "
			    "holds no reply text", llm_kind_name(kind));
		goto out;
	}
	set_text(res, text);
	if (res->text == NULL) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

int64_t
llm_retry_after(const char *v, int64_t now_unix_ms)
{
	char		*end;
	long		 secs;
	struct tm	 tm;
	time_t		 t;

	if (v == NULL)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		secs = strtol(v, &end, 10);
		if (*end != '\0' && *end != '\r' && *end != '\n' && *end != ' ')
			return -1;
		if (secs < 0)
			return -1;
		return secs > LLM_MAX_RETRY_AFTER_MS / 1000 ?
		    LLM_MAX_RETRY_AFTER_MS : (int64_t)secs * 1000;
	}
	memset(&tm, 0, sizeof(tm));
	if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return -1;
	t = timegm(&tm);
	if ((int64_t)t * 1000 <= now_unix_ms)
		return 0;
	return (int64_t)t * 1000 - now_unix_ms > LLM_MAX_RETRY_AFTER_MS ?
	    LLM_MAX_RETRY_AFTER_MS : (int64_t)t * 1000 - now_unix_ms;
}

/* --- calls --- */

static size_t
on_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct llm_call	*c = arg;
	size_t		 len = size * n;
	char		*p;

	if (c->resplen + len > LLM_MAX_BODY) {
		c->resp_over = 1;
		return 0;
	}
	if ((p = realloc(c->resp, c->resplen + len + 1)) == NULL)
		return 0;
	c->resp = p;
	memcpy(c->resp + c->resplen, ptr, len);
	c->resplen += len;
	c->resp[c->resplen] = '\0';
	return len;
}

static size_t
on_header(char *ptr, size_t size, size_t n, void *arg)
{
	struct llm_call	*c = arg;
	size_t		 len = size * n;
	char		 line[256];

	if (len > 12 && len < sizeof(line) &&
	    strncasecmp(ptr, "retry-after:", 12) == 0) {
		memcpy(line, ptr + 12, len - 12);
		line[len - 12] = '\0';
		c->retry_after = llm_retry_after(line, now_ms());
	}
	return len;
}

static void	attempt(struct llm_call *);

static void
call_closed(uv_handle_t *h)
{
	struct llm_call *c = (struct llm_call *)h;	/* timer is first */

	free(c);
}

/* Unlink and release everything but the struct (freed on close). */
static void
call_release(struct llm_call *c)
{
	struct llm	*l = c->l;

	if (c->prev)
		c->prev->next = c->next;
	else
		l->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->ncalls--;
	if (c->easy != NULL) {
		http_remove(l->http, c->easy);
		curl_easy_cleanup(c->easy);
	}
	curl_slist_free_all(c->hdrs);
	free(c->body);
	free(c->resp);
	free(c->system);
	json_decref(c->messages);
	json_decref(c->schema);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, call_closed);
}

static void
finish(struct llm_call *c, struct llm_result *res)
{
	res->attempts = c->attempts;
	c->done(res, c->arg);
	free(res->text);
	call_release(c);
}

static void
on_timer(uv_timer_t *t)
{
	attempt((struct llm_call *)t);
}

/* An error body's own message, short, for the operator. */
static void
error_message(struct llm_call *c, char *out, size_t len)
{
	json_t		*doc;
	const char	*m = NULL;

	out[0] = '\0';
	if (c->resp == NULL)
		return;
	if ((doc = json_loadb(c->resp, c->resplen, 0, NULL)) != NULL) {
		m = json_str_at(doc, "error.message");
		if (m == NULL)
			m = json_str_at(doc, "error");
		if (m == NULL)
			m = json_str_at(doc, "message");
		if (m != NULL)
			snprintf(out, len, ": %.200s", m);
		json_decref(doc);
	}
}

static void
on_done(CURL *easy, CURLcode result, void *arg)
{
	struct llm_call		*c = arg;
	struct llm		*l = c->l;
	struct llm_result	 res;
	long			 status = 0;
	int64_t			 delay;
	char			 msg[256];

	memset(&res, 0, sizeof(res));
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	c->easy = NULL;
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	res.status = result == CURLE_OK ? status : 0;
	if (result == CURLE_OK && status == 200) {
		if (llm_response(l->cfg.kind, c->resp ? c->resp : "",
		    c->resplen, &res) == 0)
			res.ok = 1;
		finish(c, &res);
		return;
	}
	error_message(c, msg, sizeof(msg));
	/* Structured output not supported here: step down and go again.
	 * Calls sent at the same level before the first refusal came back
	 * go again at the level it chose, without stepping further. */
	if (result == CURLE_OK && status == 400 && l->cfg.kind == LLM_OPENAI &&
	    c->level != LLM_PROMPTED && c->resp != NULL &&
	    (strstr(c->resp, "response_format") != NULL ||
	    strstr(c->resp, "json_schema") != NULL)) {
		if (c->level != l->level) {
			c->attempts--;
			attempt(c);
			return;
		}
		l->level++;
		log_info("llm: %s does not take response_format %s; using %s",
		    l->endpoint, l->level == LLM_JSON_OBJECT ? "json_schema" :
		    "json_object", l->level == LLM_JSON_OBJECT ? "json_object" :
		    "a prompted JSON reply");
		c->attempts--;
		attempt(c);
		return;
	}
	if (result != CURLE_OK)
		snprintf(res.err, sizeof(res.err), "%s: %s",
		    llm_kind_name(l->cfg.kind), c->resp_over ?
		    "answer larger than the limit" : result ==
		    CURLE_OPERATION_TIMEDOUT ? "timed out" : c->errbuf[0] ?
		    c->errbuf : curl_easy_strerror(result));
	else
		snprintf(res.err, sizeof(res.err), "%s: HTTP %ld%s",
		    llm_kind_name(l->cfg.kind), status, msg);
	if ((result != CURLE_OK || status == 429 || status >= 500) &&
	    c->attempts <= l->cfg.max_retries) {
		delay = LLM_BASE_BACKOFF_MS << (c->attempts - 1 < 10 ?
		    c->attempts - 1 : 10);
		if (delay > LLM_MAX_BACKOFF_MS)
			delay = LLM_MAX_BACKOFF_MS;
		if (c->retry_after > delay)
			delay = c->retry_after;
		log_info("llm: attempt %d failed (%s); retrying in %lld ms",
		    c->attempts, res.err, (long long)delay);
		uv_timer_start(&c->timer, on_timer, (uint64_t)delay, 0);
		return;
	}
	if (c->attempts > 1) {
		size_t n = strlen(res.err);

		snprintf(res.err + n, sizeof(res.err) - n, " (after %d "
		    "attempts)", c->attempts);
	}
	finish(c, &res);
}

static void
attempt(struct llm_call *c)
{
	struct llm		*l = c->l;
	struct llm_result	 res;
	char			 url[1024];
	CURL			*e;

	c->attempts++;
	free(c->body);
	c->body = NULL;
	free(c->resp);
	c->resp = NULL;
	c->resplen = 0;
	c->resp_over = 0;
	c->retry_after = -1;
	c->errbuf[0] = '\0';
	memset(&res, 0, sizeof(res));
	c->level = l->level;
	if (llm_request(&l->cfg, l->level, c->system, c->messages, c->schema,
	    url, sizeof(url), &c->body, &c->hdrs) == -1 ||
	    (e = curl_easy_init()) == NULL) {
		snprintf(res.err, sizeof(res.err), "%s: cannot build the "
		    "request", llm_kind_name(l->cfg.kind));
		finish(c, &res);
		return;
	}
	c->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
	curl_easy_setopt(e, CURLOPT_USERAGENT, "remedyd/" REMEDY_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)l->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (http_add(l->http, e, on_done, c) == -1) {
		curl_easy_cleanup(e);
		c->easy = NULL;
		snprintf(res.err, sizeof(res.err), "%s: cannot start the "
		    "request", llm_kind_name(l->cfg.kind));
		finish(c, &res);
	}
}

struct llm *
llm_new(uv_loop_t *loop, struct http *http, const struct llm_config *cfg)
{
	struct llm	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->loop = loop;
	l->http = http;
	l->cfg = *cfg;
	l->model = xstrdup(cfg->model);
	l->endpoint = xstrdup(cfg->endpoint);
	l->api_key = xstrdup(cfg->api_key);
	l->azure = xstrdup(cfg->azure_deployment);
	l->apiver = xstrdup(cfg->api_version);
	if ((cfg->model && !l->model) || (cfg->endpoint && !l->endpoint) ||
	    (cfg->api_key && !l->api_key) || (cfg->azure_deployment &&
	    !l->azure) || (cfg->api_version && !l->apiver)) {
		llm_free(l);
		return NULL;
	}
	l->cfg.model = l->model ? l->model : "";
	l->cfg.endpoint = l->endpoint ? l->endpoint : "";
	l->cfg.api_key = l->api_key;
	l->cfg.azure_deployment = l->azure;
	l->cfg.api_version = l->apiver;
	l->level = cfg->structured;
	return l;
}

void
llm_free(struct llm *l)
{
	if (l == NULL)
		return;
	while (l->calls != NULL)
		call_release(l->calls);
	free(l->model);
	free(l->endpoint);
	if (l->api_key != NULL) {
		explicit_bzero(l->api_key, strlen(l->api_key));
		free(l->api_key);
	}
	free(l->azure);
	free(l->apiver);
	free(l);
}

size_t
llm_active(const struct llm *l)
{
	return l->ncalls;
}

int
llm_chat(struct llm *l, const char *system, json_t *messages,
    json_t *schema, llm_done_cb done, void *arg)
{
	struct llm_call	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	if ((c->system = strdup(system)) == NULL ||
	    (c->messages = json_deep_copy(messages)) == NULL) {
		free(c->system);
		free(c);
		return -1;
	}
	c->schema = json_incref(schema);
	c->l = l;
	c->done = done;
	c->arg = arg;
	uv_timer_init(l->loop, &c->timer);
	c->next = l->calls;
	if (l->calls)
		l->calls->prev = c;
	l->calls = c;
	l->ncalls++;
	attempt(c);
	return 0;
}

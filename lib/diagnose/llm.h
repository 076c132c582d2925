/*
 * llm.h - chat calls to an LLM backend on the shared curl multi handle.
 *
 * Three wire shapes behind one call:
 *   openai     POST {endpoint}/chat/completions, "Authorization: Bearer
 *              KEY"; Azure OpenAI when azure_deployment is set:
 *              POST {endpoint}/openai/deployments/{dep}/chat/completions
 *              ?api-version=V with "api-key: KEY".  Structured output with
 *              response_format json_schema; a 400 that names
 *              response_format/json_schema steps down to json_object, then
 *              to a prompted JSON reply, and the step sticks.
 *   anthropic  POST {endpoint}/v1/messages, x-api-key and
 *              anthropic-version: 2023-06-01 (JSON asked for in the prompt).
 *   ollama     POST {endpoint}/api/chat, stream false, format = the schema.
 *
 * Each call is retried on transport errors, timeouts, 429 and 5xx, at most
 * max_retries times, after max(Retry-After, backoff) where backoff starts at
 * 500 ms and doubles (cap 30 s; Retry-After is capped at 120 s).  The API
 * key goes only into the request header; it is never logged, stored or put
 * in an error message.  Bodies are bounded (LLM_MAX_BODY).
 */
#ifndef REMEDY_DIAGNOSE_LLM_H
#define REMEDY_DIAGNOSE_LLM_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "base/http.h"

#define LLM_MAX_BODY		(4 * 1024 * 1024)
#define LLM_MAX_RETRY_AFTER_MS	(120 * 1000)
#define LLM_MAX_BACKOFF_MS	(30 * 1000)
#define LLM_BASE_BACKOFF_MS	500

enum llm_kind { LLM_OPENAI, LLM_ANTHROPIC, LLM_OLLAMA };
enum llm_structured { LLM_JSON_SCHEMA, LLM_JSON_OBJECT, LLM_PROMPTED };

struct llm_config {
	enum llm_kind	 kind;
	const char	*model;
	const char	*endpoint;	/* base URL, no trailing slash needed */
	const char	*api_key;	/* NULL: none sent */
	const char	*azure_deployment;	/* openai only */
	const char	*api_version;		/* Azure api-version */
	enum llm_structured structured;
	int64_t		 timeout_ms;	/* per attempt */
	int		 max_retries;
	int		 max_tokens;	/* reply limit */
};

struct llm_result {
	int		 ok;
	char		*text;		/* the model's reply text (heap) */
	int64_t		 prompt_tokens;	/* from the usage fields, 0 unknown */
	int64_t		 completion_tokens;
	int		 truncated;	/* stopped at the token limit */
	long		 status;	/* last HTTP status, 0 transport */
	int		 attempts;
	char		 err[512];	/* when !ok */
};

struct llm;

/* Called once per llm_chat(); res valid only during the callback. */
typedef void	(*llm_done_cb)(struct llm_result *res, void *arg);

/* cfg strings are copied. NULL on ENOMEM. */
struct llm	*llm_new(uv_loop_t *, struct http *, const struct llm_config *);
/* Abort every call without callbacks; memory goes in close callbacks. */
void		 llm_free(struct llm *);
size_t		 llm_active(const struct llm *);

/*
 * Start a chat: system text and messages [{role: user|assistant, content}]
 * (borrowed, copied into the request).  schema is the reply schema for
 * structured output (borrowed).  -1 when the call cannot start.
 */
int		 llm_chat(struct llm *, const char *system, json_t *messages,
		    json_t *schema, llm_done_cb done, void *arg);

/* --- exposed for tests --- */

/* The request: URL into url, body (heap) and headers (curl list, caller
 * frees).  -1 on ENOMEM or an endpoint too long. */
int	 llm_request(const struct llm_config *, enum llm_structured,
	    const char *system, json_t *messages, json_t *schema,
	    char *url, size_t urllen, char **body, struct curl_slist **hdrs);
/* Parse a 200 answer of the given kind into res (text, usage,
 * truncated).  -1 with res->err set when the shape is wrong. */
int	 llm_response(enum llm_kind, const char *body, size_t len,
	    struct llm_result *res);
/* Retry-After (seconds or HTTP date) in ms, -1 when absent or bad. */
int64_t	 llm_retry_after(const char *value, int64_t now_unix_ms);
const char *llm_kind_name(enum llm_kind);
/* "openai" | "anthropic" | "ollama" -> kind; -1 otherwise. */
int	 llm_kind_parse(const char *);

#endif

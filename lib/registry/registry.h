/*
 * registry.h - an OCI Distribution client on the event loop.
 *
 * Two questions, both asynchronous through lib/base/http.c (libcurl multi on
 * libuv; nothing blocks):
 *
 *   registry_tags()      GET /v2/NAME/tags/list, following Link rel="next"
 *                        pages, up to registries.max_tags tags;
 *   registry_manifest()  HEAD /v2/NAME/manifests/REF (exists?  digest), or
 *                        GET when the platforms of an index are wanted.
 *
 * Where requests go: the registry's mirror when registries.mirrors names
 * one, else https://DOMAIN (registry-1.docker.io for docker.io), plain
 * http only for hosts listed in registries.insecure.  A 401 with a Bearer
 * challenge is answered by one GET of the realm (https unless the realm's
 * host is listed as insecure) with service and scope, carrying basic
 * credentials from registries.auth_file only when the auth file has an
 * entry for the host that asked (an identitytoken entry: one POST of the
 * realm with the OAuth2 refresh-token grant instead); the token then goes
 * back to that host only.  Redirects and pagination links are followed only within the
 * same scheme://host: nothing reaches a host that is neither configured
 * nor named by the image reference (or, for tokens, its realm).
 *
 * Limits: registries.timeout per request, 4 MiB per response, at most 100
 * tag pages, and a per-incident budget of requests (struct reg_budget,
 * owned by the caller).  Answers that do not change by retrying (found,
 * tag unknown, repository unknown) are kept registries.cache_ttl; a
 * cached answer costs no request.
 *
 * Callbacks always run from the loop, never inside the call that started
 * the operation.  The answer and everything it points to are valid only
 * during the callback.
 */
#ifndef REMEDY_REGISTRY_REGISTRY_H
#define REMEDY_REGISTRY_REGISTRY_H

#include <stddef.h>

#include <jansson.h>

#include "base/http.h"
#include "registry/ref.h"
#include "registry/regconf.h"
#include "registry/wire.h"

#define REG_MAX_RESPONSE	(4 * 1024 * 1024)
#define REG_MAX_PAGES		100

enum reg_status {
	REG_OK = 0,
	REG_TAG_UNKNOWN,	/* the manifest (tag or digest) does not exist */
	REG_REPO_UNKNOWN,	/* NAME_UNKNOWN: no such repository */
	REG_UNAUTHORIZED,	/* 401 after authenticating, or 403 */
	REG_UNREACHABLE,	/* DNS, connect, TLS */
	REG_TIMEOUT,
	REG_BAD_ANSWER,		/* 5xx, garbage, too large */
	REG_REFUSED,		/* by remedy: budget, foreign redirect */
};

struct reg_answer {
	enum reg_status		 status;
	char			 message[512];	/* why, for evidence */
	int			 http_status;	/* last status seen, 0: none */
	char			 url[REG_URL_MAX]; /* the registry asked */
	int			 requests;	/* HTTP requests spent */
	int			 cached;	/* from the cache, none spent */
	/* registry_tags() */
	json_t			*tags;		/* array of strings, borrowed */
	int			 truncated;	/* more than max_tags */
	int			 pages;
	/* registry_manifest() */
	char			 digest[IMGREF_DIGEST_MAX + 1];
	struct reg_manifest	 manifest;	/* GET only */
};

/* Requests one incident may still spend; the caller owns it and keeps
 * it alive until every callback that uses it has run. */
struct reg_budget {
	int	left;
};

typedef void	(*reg_cb)(const struct reg_answer *, void *arg);

struct registry;

/* cfg is borrowed and must outlive the client. */
struct registry	*registry_new(struct http *, const struct registry_config *);
/* Abort every operation without callbacks.  Once an operation was
 * started, the memory goes in a close callback: run the loop once more
 * afterwards. */
void		 registry_free(struct registry *);
/* Returns 0 (cb will be called once) or -1 (out of memory). */
int		 registry_tags(struct registry *, const struct imgref *,
		    struct reg_budget *, reg_cb, void *arg);
int		 registry_manifest(struct registry *, const struct imgref *,
		    int get, struct reg_budget *, reg_cb, void *arg);
/* Drop the operations started with arg, without callbacks. */
void		 registry_cancel(struct registry *, void *arg);
/* "ok", "tag-unknown", "repository-unknown", ... */
const char	*reg_status_name(enum reg_status);
/* Requests sent since registry_new() (tests, metrics). */
unsigned long	 registry_requests(const struct registry *);

#endif

/*
 * client.h - a Kubernetes REST client on the shared curl multi handle.
 *
 * Requests carry "User-Agent: remedyd/VERSION", "Accept: application/json",
 * the bearer token (re-read from token_file when set) and the TLS material
 * from struct kube_config as libcurl blobs.  Connect timeout 10 s; a transfer
 * that moves fewer than 1 byte/s for 60 s (non-watch: also a 60 s total
 * limit) is aborted.  Query values are URL-encoded by the caller helpers.
 *
 * Non-2xx answers are decoded: when the body is a metav1.Status, its message
 * and reason fill resp->message / resp->reason, so users see the API
 * server's own words.  Transport errors give status 0 and curl's message.
 *
 * Watches stream: each complete newline-terminated JSON document is decoded
 * as it arrives (struct watch_decoder, watch.h) and handed to event(); the
 * buffer is bounded (KUBE_MAX_WATCH_LINE).
 */
#ifndef REMEDY_KUBE_CLIENT_H
#define REMEDY_KUBE_CLIENT_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "http.h"
#include "kube/kubeconfig.h"

#define KUBE_MAX_BODY		(64 * 1024 * 1024)	/* one LIST page/answer */
#define KUBE_MAX_WATCH_LINE	(16 * 1024 * 1024)	/* one watch event */

struct kube_client;
struct kube_call;

struct kube_resp {
	long		 status;	/* HTTP status, 0 on transport error */
	json_t		*body;		/* parsed body (borrowed), or NULL */
	const char	*raw;		/* raw body bytes (borrowed) */
	size_t		 rawlen;
	const char	*message;	/* Status.message / curl error / "" */
	const char	*reason;	/* Status.reason ("Conflict") or "" */
};

/* Called once when a call ends (not after kube_cancel()). resp is valid only
 * during the callback. */
typedef void	(*kube_done_cb)(const struct kube_resp *resp, void *arg);
/* One watch event: type "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR",
 * object borrowed for the duration of the callback. */
typedef void	(*kube_event_cb)(const char *type, json_t *object, void *arg);

/* kc is copied. Returns NULL with a message in err. */
struct kube_client *kube_client_new(struct http *, const struct kube_config *kc,
		    char *err, size_t errlen);
/* Cancels every call in flight without callbacks. */
void		 kube_client_free(struct kube_client *);
const char	*kube_client_server(const struct kube_client *);

/* GET path (with query). */
struct kube_call *kube_get(struct kube_client *, const char *path,
		    kube_done_cb done, void *arg);
/* PATCH path with body of the given content type (exactly one Content-Type
 * header).  dry_run adds dryRun=All to the query. */
struct kube_call *kube_patch(struct kube_client *, const char *path,
		    const char *content_type, const char *body, int dry_run,
		    kube_done_cb done, void *arg);
/* Streaming GET for watches; event() per document, done() at the end of the
 * stream (status 200 and no message on a normal close). */
struct kube_call *kube_watch(struct kube_client *, const char *path,
		    kube_event_cb event, kube_done_cb done, void *arg);
/* Abort a call in flight; no callback follows.  Safe from inside event(). */
void		 kube_cancel(struct kube_call *);

/* Append "?k=v" or "&k=v", URL-encoding v, to a path buffer. -1 if it does
 * not fit. */
int		 kube_query_add(char *path, size_t len, const char *k,
		    const char *v);

#endif

/*
 * client.h - a Kubernetes REST client on the shared curl multi handle.
 *
 * Requests carry "User-Agent: remedyd/VERSION", "Accept: application/json",
 * the bearer token (an exec plugin's, cached until it expires; else
 * token_file, re-read when a minute old; else the inline token) and the
 * TLS material from struct kube_config as libcurl blobs; proxy-url is
 * honoured.  Connect timeout 10 s; a request that moves fewer than 1
 * byte/s for 60 s is aborted (non-watch: also a 60 s total limit); a watch
 * that receives nothing for the stall time (120 s; servers send BOOKMARKs
 * about every minute) ends with "watch stalled".  Query values are
 * URL-encoded by the caller helpers.
 *
 * Every request, watches included, takes a token from a client-side
 * bucket (QPS 5, burst 10 by default, as client-go).  Each lane has its
 * own bucket, so the informers' LISTs, WATCHes and their retries never
 * make the engine's own requests (diagnosis GETs, dry-runs, applies,
 * verification, leases) wait: KUBE_LANE_ENGINE (the default) and
 * KUBE_LANE_INFORMER each get kube_client_set_rate()'s qps and burst;
 * KUBE_LANE_DISCOVERY (a dozen GETs every few minutes) is not limited.
 * 429, and 5xx with Retry-After, are retried up to 10 times after max(Retry-After, backoff);
 * a GET whose connection broke before any answer up to 3 times; a 401 once
 * after re-running the exec plugin or re-reading the token file.
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
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "base/http.h"
#include "kube/kubeconfig.h"

#define KUBE_MAX_BODY		(64 * 1024 * 1024)	/* one LIST page/answer */
#define KUBE_MAX_WATCH_LINE	(16 * 1024 * 1024)	/* one watch event */

struct kube_client;
struct kube_call;

enum kube_lane {
	KUBE_LANE_ENGINE,	/* the default */
	KUBE_LANE_INFORMER,
	KUBE_LANE_DISCOVERY,
	KUBE_NLANES
};

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

/* QPS <= 0: no limit.  Sets the engine's and the informers' lanes. */
void		 kube_client_set_rate(struct kube_client *, double qps,
		    int burst);
/* Move a call just made (before the loop runs again) to another lane. */
void		 kube_call_set_lane(struct kube_call *, enum kube_lane);
/*
 * The API server refused a streaming list (WatchList): every informer of
 * this client then lists and watches without asking again, which saves a
 * request per kind at start on servers that predate it.
 */
void		 kube_client_set_watchlist_refused(struct kube_client *);
int		 kube_client_watchlist_refused(const struct kube_client *);
/* Seconds without a byte before a watch counts as stalled. */
void		 kube_client_set_watch_stall(struct kube_client *, long seconds);
/* How long an exec plugin may run (default KUBE_EXEC_TIMEOUT_MS). */
void		 kube_client_set_exec_timeout(struct kube_client *, int64_t ms);

struct kube_client_stats {
	uint64_t	requests;	/* attempts handed to libcurl */
	uint64_t	retries;	/* of those, repeats */
	uint64_t	reauths;	/* 401 answered by a new credential */
	uint64_t	throttled;	/* times a call waited for a token */
	uint64_t	exec_runs;	/* exec plugin runs */
};
void		 kube_client_stats(const struct kube_client *,
		    struct kube_client_stats *);

/* GET path (with query). */
struct kube_call *kube_get(struct kube_client *, const char *path,
		    kube_done_cb done, void *arg);
/* The same, but a 2xx body is left unparsed (resp->body NULL, the bytes in
 * resp->raw): for a LIST the caller scans item by item (kube/list.h).  An
 * error answer is parsed as usual for its Status. */
struct kube_call *kube_get_raw(struct kube_client *, const char *path,
		    kube_done_cb done, void *arg);
/* PATCH path with body of the given content type (exactly one Content-Type
 * header).  dry_run adds dryRun=All to the query. */
struct kube_call *kube_patch(struct kube_client *, const char *path,
		    const char *content_type, const char *body, int dry_run,
		    kube_done_cb done, void *arg);
/* Any method ("GET", "POST", "PUT", "DELETE", ...) with an optional body
 * of the given content type. */
struct kube_call *kube_request(struct kube_client *, const char *method,
		    const char *path, const char *content_type,
		    const char *body, kube_done_cb done, void *arg);
/* Streaming GET for watches; event() per document, done() at the end of the
 * stream (status 200 and no message on a normal close).  bufsize is
 * libcurl's receive buffer for this watch (0: libcurl's default, 16 KiB);
 * a buffer larger than most events lets them arrive whole and parse in
 * place, at the cost of holding it for as long as the watch runs. */
struct kube_call *kube_watch(struct kube_client *, const char *path,
		    long bufsize, kube_event_cb event, kube_done_cb done,
		    void *arg);
/* The HTTP status the server answered the call with so far (its response
 * headers), 0 before they arrived: a watch answered 200 is running even
 * while no event has come. */
long		 kube_call_status(const struct kube_call *);
/* Abort a call in flight; no callback follows.  Safe from inside event(). */
void		 kube_cancel(struct kube_call *);

/* Append "?k=v" or "&k=v", URL-encoding v, to a path buffer. -1 if it does
 * not fit. */
int		 kube_query_add(char *path, size_t len, const char *k,
		    const char *v);

#endif

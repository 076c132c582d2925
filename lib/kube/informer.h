/*
 * informer.h - LIST then WATCH one resource in one namespace (or all), and
 * keep a cache of projections keyed by "namespace/name".
 *
 * Semantics (../shared/notes/kubernetes-api.md §1, client-go reflector):
 *  - a streaming list first (WATCH with sendInitialEvents=true: ADDED
 *    events up to a BOOKMARK annotated k8s.io/initial-events-end, then the
 *    same stream goes on as the watch); a server that refuses it (422, as
 *    servers without the WatchList feature answer) makes the informer use
 *    LIST and WATCH from then on;
 *  - paginated LIST (limit=500, continue) with resourceVersion unset; all
 *    pages share one resourceVersion; an expired continue (410) restarts the
 *    LIST without pagination;
 *  - WATCH from the LIST's resourceVersion with allowWatchBookmarks=true and
 *    timeoutSeconds random in 300..600; BOOKMARKs only move the
 *    resourceVersion; a normal close re-watches at once from the last RV;
 *  - 410 (HTTP status or an ERROR event with code 410) relists; after a relist
 *    objects that vanished are reported as deleted, the rest as updates;
 *  - a LIST page is scanned, and the list's diff against the cache
 *    delivered, in slices of bounded time (base/slice.h), one per loop
 *    turn, so that 150 000 pods never hold the loop for long; the watch
 *    starts once the diff is delivered;
 *  - other failures back off 800 ms doubling to 30 s with jitter, reset after
 *    2 min of health; a watch that ends within 1 s with no event counts as a
 *    failure.
 *
 * The projection function turns an API object into the caller's compact
 * struct (NULL: skip the object); the cache owns projections and frees them
 * with free_fn.  Callbacks see old (NULL for adds) and new (NULL for
 * deletes); both are valid only during the callback.
 */
#ifndef REMEDY_KUBE_INFORMER_H
#define REMEDY_KUBE_INFORMER_H

#include <stdint.h>

#include <jansson.h>

#include "kube/client.h"

struct informer;

enum informer_event { INFORMER_ADD, INFORMER_UPDATE, INFORMER_DELETE };

struct informer_type {
	const char	*name;		/* "pods", for logs and metrics */
	const char	*group_path;	/* "/api/v1" or "/apis/apps/v1" */
	const char	*resource;	/* "pods" */
	void		*(*project)(json_t *obj);
	void		 (*free_fn)(void *proj);
};

typedef void	(*informer_cb)(struct informer *, enum informer_event ev,
		    void *old, void *new_, void *arg);

/* namespace NULL or "": all namespaces. */
struct informer	*informer_new(struct kube_client *, uv_loop_t *,
		    const struct informer_type *, const char *namespace,
		    informer_cb cb, void *arg);
void		 informer_start(struct informer *);
/* LIST page size (default 500). */
void		 informer_set_page_size(struct informer *, unsigned n);
/*
 * libcurl's receive buffer for this informer's watches (default 0:
 * libcurl's 16 KiB).  Every running watch holds its buffer, so only a
 * resource with large objects arriving fast (pods) is worth a big one:
 * INFORMER_WATCH_BUFFER_LARGE lets most pod events arrive whole and parse
 * in place.
 */
#define INFORMER_WATCH_BUFFER_LARGE	(256L * 1024)
void		 informer_set_watch_buffer(struct informer *, long bytes);
/* Failure backoff bounds (default 800 ms .. 30 s). */
void		 informer_set_backoff(struct informer *, int64_t min_ms,
		    int64_t max_ms);
/*
 * Keep only the objects of these n namespaces (the strings are copied): a
 * cluster-wide informer that stands for several namespaced ones.  Objects
 * of other namespaces are dropped before projection, so the cache and
 * informer_get() look the same as with per-namespace informers.  Call
 * before informer_start().  -1: out of memory.
 */
int		 informer_set_namespaces(struct informer *, char *const *ns,
		    size_t n);
/* The HTTP status of the last failed LIST or WATCH (403, 404, ...), or 0
 * when the last attempt succeeded or failed without an answer. */
long		 informer_fail_status(const struct informer *);
/* Try streaming lists (the default) or always LIST. */
void		 informer_set_streaming(struct informer *, int on);
/* True while streaming lists are tried (not refused, not turned off). */
int		 informer_streaming(const struct informer *);
/* One paginated LIST and no watch: the cache is a snapshot (remedyd
 * analyze).  Before informer_start(). */
void		 informer_set_list_only(struct informer *);
/* Stops watching, frees the cache (no callbacks); timers are closed and the
 * memory released from their close callbacks. */
void		 informer_free(struct informer *);

/* True once the first LIST has been delivered. */
int		 informer_synced(const struct informer *);
/* A watch is running from the cache's resourceVersion: the cache follows
 * the cluster within the watch's latency.  False while a list is under
 * way, while the informer waits to retry after a failure (the cache may
 * then be behind), and for a watch just sent until the server answered
 * it 200 or it delivered an event (the server may still refuse it). */
int		 informer_current(const struct informer *);
void		*informer_get(const struct informer *, const char *ns,
		    const char *name);
/* Iterate the cache (see hmap_next).  A position stays good across loop
 * turns while informer_epoch() is unchanged; the epoch moves when the
 * cache is replaced (a list) or grows (its slots move). */
int		 informer_next(const struct informer *, size_t *pos, void **proj);
uint64_t	 informer_epoch(const struct informer *);
size_t		 informer_size(const struct informer *);
const char	*informer_rv(const struct informer *);
/* The type's name ("pods"), for logs and metrics. */
const char	*informer_name(const struct informer *);

struct informer_stats {
	uint64_t	lists, watches, relists_410, errors, events, bookmarks;
	uint64_t	streamed_lists;	/* of lists, by sendInitialEvents */
};
void		 informer_stats(const struct informer *, struct informer_stats *);

#endif

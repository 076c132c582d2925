/*
 * informer.c - LIST then WATCH one resource, keeping a cache of projections.
 *
 * States: a call in flight (LIST page or WATCH) or a pending timer (backoff
 * before the next attempt).  Every transition happens in a done() callback
 * or in the timer callback, i.e. outside of libcurl; watch events only
 * update the cache and note what the end of the stream must lead to.
 *
 * The user's callback may call informer_free(): the informer is then only
 * marked (inf->dying), and the code that called back stops and does the
 * real teardown once the callback has returned.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/slice.h"
#include "base/util.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/list.h"

#define INF_PAGE		"500"
#define INF_PATH		2048
#define INF_MAX_RV		128
#define INF_MAX_CONTINUE	4096
#define INF_KEY			512
#define INF_BACKOFF_MIN		800
#define INF_BACKOFF_MAX		30000
#define INF_HEALTHY_RESET	(2 * 60 * 1000)
#define INF_WATCH_MIN_S		300
#define INF_WATCH_SPAN_S	300
#define INF_SHORT_WATCH		1000

enum inf_next { INF_RELIST, INF_REWATCH };

/* streaming list (WatchList): untried, in use, refused by the server */
enum inf_stream { INF_STREAM_OFF, INF_STREAM_TRY, INF_STREAM_REFUSED };

struct informer {
	struct kube_client		*kc;
	uv_loop_t			*loop;
	const struct informer_type	*t;
	char				*ns;
	informer_cb			 cb;
	void				*arg;

	struct hmap			 cache;
	struct hmap			 listing;	/* pages of a relist */
	struct hmap			 only;		/* namespaces kept;
							 * empty: all */
	long				 fail_status;	/* HTTP status of the
							 * last failed attempt */
	char				 rv[INF_MAX_RV];
	char				*cont;		/* continue token */
	int				 paginate;
	enum inf_stream			 stream;
	char				 page[16];	/* LIST limit */
	long				 watch_buffer;	/* 0: libcurl's */
	int64_t				 backoff_min, backoff_max;
	int				 initial;	/* streaming the list */
	int				 list_only;	/* no watch after the
							 * list */

	struct kube_call		*call;
	int				 call_watch;	/* call is a watch */
	uv_timer_t			 timer;
	enum inf_next			 after_timer;

	int64_t				 backoff_ms;
	int64_t				 last_failure_ms;
	int64_t				 watch_started_ms;
	uint64_t			 watch_events;
	char				 watch_err[256];

	/*
	 * Bulk work runs in slices (base/slice.h): the items of a LIST page
	 * (a copy of the page, scanned with a cursor), then the diff of a
	 * complete list against the old cache, delivered one object a step.
	 */
	struct slice			 slice;
	char				*pagebuf;	/* the page being scanned */
	size_t				 pagelen;
	struct kube_list_cursor		 cursor;
	int				 scanning;
	int				 finishing;	/* 1: deletes, 2: the rest */
	struct hmap			 old;		/* the cache replaced */
	size_t				 fpos;
	uint64_t			 epoch;
	int				 closing;	/* handles still open */

	uint64_t			 rng;
	int				 started;
	int				 synced;
	int				 in_cb;
	int				 dying;
	struct informer_stats		 stats;
};

static void	inf_list(struct informer *);
static void	inf_relist(struct informer *);
static void	inf_watch(struct informer *);
static void	inf_teardown(struct informer *);

static uint64_t
inf_rand(struct informer *inf)
{
	/* xorshift64*: jitter only, no security meaning */
	inf->rng ^= inf->rng >> 12;
	inf->rng ^= inf->rng << 25;
	inf->rng ^= inf->rng >> 27;
	return inf->rng * 2685821657736338717ULL;
}

/* "/api/v1[/namespaces/NS]/pods" into buf; -1 when it does not fit. */
static int
inf_path(const struct informer *inf, char *buf, size_t len)
{
	int n;

	if (inf->ns != NULL)
		n = snprintf(buf, len, "%s/namespaces/%s/%s",
		    inf->t->group_path, inf->ns, inf->t->resource);
	else
		n = snprintf(buf, len, "%s/%s", inf->t->group_path,
		    inf->t->resource);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* "namespace/name" of an object; -1 when it has no name. */
static int
inf_key(json_t *obj, char *buf, size_t len)
{
	const char *ns = json_str_at(obj, "metadata.namespace");
	const char *name = json_str_at(obj, "metadata.name");
	int n;

	if (name == NULL)
		return -1;
	n = snprintf(buf, len, "%s/%s", ns ? ns : "", name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
inf_set_rv(struct informer *inf, json_t *obj, const char *dotted)
{
	const char *rv = json_str_at(obj, dotted);

	if (rv == NULL || rv[0] == '\0')
		return;
	if (strlen(rv) >= sizeof(inf->rv)) {
		log_warnx("informer %s: resourceVersion longer than %zu bytes "
		    "ignored", inf->t->name, sizeof(inf->rv) - 1);
		return;
	}
	memcpy(inf->rv, rv, strlen(rv) + 1);
}

/* Call the user back; returns -1 when the informer must stop (freed). */
static int
inf_deliver(struct informer *inf, enum informer_event ev, void *old,
    void *new_)
{
	inf->in_cb++;
	inf->cb(inf, ev, old, new_, inf->arg);
	inf->in_cb--;
	return inf->dying ? -1 : 0;
}

static void
inf_free_map(struct informer *inf, struct hmap *m)
{
	size_t pos = 0;
	void *v;

	while (hmap_next(m, &pos, NULL, &v))
		inf->t->free_fn(v);
	hmap_clear(m);
}

static void
inf_timer_cb(uv_timer_t *t)
{
	struct informer *inf = t->data;

	if (inf->after_timer == INF_RELIST)
		inf_relist(inf);
	else
		inf_watch(inf);
}

/*
 * A failed attempt: wait 800 ms doubling to 30 s, with jitter of up to
 * the same again, reset once two minutes passed without a failure.
 */
static void
inf_fail(struct informer *inf, enum inf_next next, const char *what,
    const char *msg)
{
	int64_t now = mono_ms(), delay;

	inf->stats.errors++;
	if (inf->backoff_ms == 0 ||
	    now - inf->last_failure_ms >= INF_HEALTHY_RESET)
		inf->backoff_ms = inf->backoff_min;
	inf->last_failure_ms = now;
	delay = inf->backoff_ms +
	    (int64_t)(inf_rand(inf) % (uint64_t)inf->backoff_ms);
	if (delay > inf->backoff_max)
		delay = inf->backoff_max;
	inf->backoff_ms *= 2;
	if (inf->backoff_ms > inf->backoff_max)
		inf->backoff_ms = inf->backoff_max;
	log_warnx("informer %s%s%s: %s failed: %s; retry in %lld ms",
	    inf->t->name, inf->ns ? " in " : "", inf->ns ? inf->ns : "",
	    what, msg && msg[0] ? msg : "unknown error", (long long)delay);
	inf->after_timer = next;
	uv_timer_start(&inf->timer, inf_timer_cb, (uint64_t)delay, 0);
}

static void
inf_start_soon(struct informer *inf, enum inf_next next)
{
	inf->after_timer = next;
	uv_timer_start(&inf->timer, inf_timer_cb, 0, 0);
}

/*
 * The relist is complete: inf->listing becomes the cache.  Objects gone
 * from it are reported deleted, the others added or updated; old
 * projections are freed after their callback.
 */
static int
inf_list_finish(struct informer *inf)
{
	struct hmap old = inf->cache;
	const char *key;
	size_t pos = 0;
	void *v, *o;

	inf->cache = inf->listing;
	hmap_init(&inf->listing);
	inf->epoch++;
	while (hmap_next(&old, &pos, &key, &o)) {
		if (hmap_get(&inf->cache, key) != NULL)
			continue;
		hmap_del(&old, key);
		if (inf_deliver(inf, INFORMER_DELETE, o, NULL) == -1) {
			inf->t->free_fn(o);
			inf_free_map(inf, &old);
			return -1;
		}
		inf->t->free_fn(o);
	}
	pos = 0;
	while (hmap_next(&inf->cache, &pos, &key, &v)) {
		o = hmap_del(&old, key);
		if (inf_deliver(inf, o ? INFORMER_UPDATE : INFORMER_ADD, o, v)
		    == -1) {
			if (o != NULL)
				inf->t->free_fn(o);
			inf_free_map(inf, &old);
			return -1;
		}
		if (o != NULL)
			inf->t->free_fn(o);
	}
	inf_free_map(inf, &old);
	inf->synced = 1;
	return 0;
}

/*
 * The same in slices, for a LIST (no watch runs meanwhile, so the new
 * cache stays put): start here, inf_finish_step() does one object a step,
 * inf_finish_end() follows.
 */
static void
inf_finish_begin(struct informer *inf)
{
	inf->old = inf->cache;
	inf->cache = inf->listing;
	hmap_init(&inf->listing);
	inf->epoch++;
	inf->fpos = 0;
	inf->finishing = 1;
}

static void	inf_finish_end(struct informer *);

/* One object of the diff; 0 once the diff is delivered (or the informer
 * was freed from a callback). */
static int
inf_finish_step(struct informer *inf)
{
	const char *key;
	void *v, *o;
	int dead;

	if (inf->finishing == 1) {
		while (hmap_next(&inf->old, &inf->fpos, &key, &o)) {
			if (hmap_get(&inf->cache, key) != NULL)
				continue;
			hmap_del(&inf->old, key);
			dead = inf_deliver(inf, INFORMER_DELETE, o, NULL);
			inf->t->free_fn(o);
			if (dead) {
				inf_teardown(inf);
				return 0;
			}
			return 1;
		}
		inf->finishing = 2;
		inf->fpos = 0;
	}
	if (hmap_next(&inf->cache, &inf->fpos, &key, &v)) {
		o = hmap_del(&inf->old, key);
		dead = inf_deliver(inf, o ? INFORMER_UPDATE : INFORMER_ADD, o,
		    v);
		if (o != NULL)
			inf->t->free_fn(o);
		if (dead) {
			inf_teardown(inf);
			return 0;
		}
		return 1;
	}
	inf_finish_end(inf);
	return inf->scanning || inf->finishing;
}

/*
 * The projection of obj, or NULL when it is not of interest: the type says
 * so, or the object is in a namespace the informer does not keep (a
 * cluster-wide informer filtered to the configured namespaces drops the
 * others before projecting or caching them).
 */
static void *
inf_project(struct informer *inf, json_t *obj)
{
	const char *ns;

	if (inf->only.len > 0 && ((ns = json_str_at(obj,
	    "metadata.namespace")) == NULL || hmap_get(&inf->only, ns) ==
	    NULL))
		return NULL;
	return inf->t->project(obj);
}

/* One item of a LIST page into inf->listing; 1 (stop) when out of
 * memory, else KUBE_LIST_PAUSE: the slice decides whether to go on. */
static int
inf_list_item(json_t *obj, size_t i, void *arg)
{
	struct informer *inf = arg;
	char key[INF_KEY];
	void *p, *old;

	if (inf_key(obj, key, sizeof(key)) == -1) {
		log_warnx("informer %s: item %zu has no usable name",
		    inf->t->name, i);
		return KUBE_LIST_PAUSE;
	}
	if ((p = inf_project(inf, obj)) == NULL)
		return KUBE_LIST_PAUSE;
	if (hmap_put(&inf->listing, key, p, &old) == -1) {
		inf->t->free_fn(p);
		return 1;
	}
	if (old != NULL)
		inf->t->free_fn(old);
	return KUBE_LIST_PAUSE;
}

static void	inf_page_end(struct informer *, int rc, json_t *meta,
		    const char *err);

/*
 * A LIST page arrived.  Its items are scanned in slices from a copy of
 * the page (the answer is only ours during this callback): at about 100
 * us an item, a page of 500 pods would hold the loop for 50 ms.
 */
static void
inf_list_done(const struct kube_resp *r, void *arg)
{
	struct informer *inf = arg;

	inf->call = NULL;
	if (r->status == 410 && inf->paginate && inf->cont != NULL) {
		/* continue token expired: one unpaginated LIST */
		inf->stats.relists_410++;
		inf_free_map(inf, &inf->listing);
		free(inf->cont);
		inf->cont = NULL;
		inf->paginate = 0;
		inf_list(inf);
		return;
	}
	inf->fail_status = r->status == 200 ? 0 : r->status;
	if (r->status != 200) {
		inf_page_end(inf, -1, NULL, r->message);
		return;
	}
	if ((inf->pagebuf = malloc(r->rawlen + 1)) == NULL) {
		inf_page_end(inf, 1, NULL, NULL);
		return;
	}
	memcpy(inf->pagebuf, r->raw, r->rawlen);
	inf->pagebuf[r->rawlen] = '\0';
	inf->pagelen = r->rawlen;
	kube_list_cursor_init(&inf->cursor);
	inf->scanning = 1;
	slice_run(&inf->slice);
}

/* One item of the page being scanned; 0 once the page is over. */
static int
inf_scan_step(struct informer *inf)
{
	json_t *meta = NULL;
	char err[256];
	int rc;

	rc = kube_list_scan_some(inf->pagebuf, inf->pagelen, &inf->cursor,
	    inf_list_item, inf, &meta, err, sizeof(err));
	if (rc == 2)
		return 1;
	kube_list_cursor_clear(&inf->cursor);
	free(inf->pagebuf);
	inf->pagebuf = NULL;
	inf->scanning = 0;
	inf_page_end(inf, rc, meta, err);
	return inf->scanning || inf->finishing;
}

static int
inf_slice_step(void *arg)
{
	struct informer *inf = arg;

	if (inf->dying)
		return 0;
	if (inf->scanning)
		return inf_scan_step(inf);
	if (inf->finishing)
		return inf_finish_step(inf);
	return 0;
}

/* The page is scanned (rc as kube_list_scan's; -1 with err, or an HTTP
 * failure with its message): the next page, the end of the list, or a
 * retry. */
static void
inf_page_end(struct informer *inf, int rc, json_t *meta, const char *err)
{
	const char *cont;

	if (rc != 0) {
		inf_free_map(inf, &inf->listing);
		free(inf->cont);
		inf->cont = NULL;
		inf_fail(inf, INF_RELIST, "list", rc == 1 ? "out of memory" :
		    err);
		return;
	}
	free(inf->cont);
	inf->cont = NULL;
	cont = json_str_at(meta, "continue");
	if (inf->paginate && cont != NULL && cont[0] != '\0') {
		if (strlen(cont) > INF_MAX_CONTINUE ||
		    (inf->cont = strdup(cont)) == NULL) {
			json_decref(meta);
			inf_free_map(inf, &inf->listing);
			inf_fail(inf, INF_RELIST, "list",
			    "continue token too long");
			return;
		}
		json_decref(meta);
		inf_list(inf);
		return;
	}
	inf->rv[0] = '\0';
	inf_set_rv(inf, meta, "resourceVersion");
	json_decref(meta);
	inf_finish_begin(inf);
}

/* The diff is delivered: the list is the cache, the watch follows. */
static void
inf_finish_end(struct informer *inf)
{
	inf->finishing = 0;
	inf_free_map(inf, &inf->old);
	inf->synced = 1;
	if (!inf->list_only)
		inf_watch(inf);
}

/*
 * Start (or continue) a LIST: the first page starts a relist; later pages
 * carry the continue token.
 */
static void
inf_list(struct informer *inf)
{
	char path[INF_PATH + INF_MAX_CONTINUE * 3];

	if (inf_path(inf, path, sizeof(path)) == -1) {
		inf_fail(inf, INF_RELIST, "list", "path too long");
		return;
	}
	if (inf->cont == NULL)
		inf->stats.lists++;
	if (inf->paginate &&
	    (kube_query_add(path, sizeof(path), "limit", inf->page) == -1 ||
	    (inf->cont != NULL && kube_query_add(path, sizeof(path),
	    "continue", inf->cont) == -1))) {
		inf_fail(inf, INF_RELIST, "list", "path too long");
		return;
	}
	inf->call = kube_get_raw(inf->kc, path, inf_list_done, inf);
	kube_call_set_lane(inf->call, KUBE_LANE_INFORMER);
	inf->call_watch = 0;
	if (inf->call == NULL)
		inf_fail(inf, INF_RELIST, "list", "cannot start the request");
}

static void	inf_watch_list(struct informer *);

/* Forget a page being scanned (a relist or the end starts over). */
static void
inf_scan_drop(struct informer *inf)
{
	kube_list_cursor_clear(&inf->cursor);
	free(inf->pagebuf);
	inf->pagebuf = NULL;
	inf->scanning = 0;
}

/* Begin a relist: a streaming list when allowed, else paginated LIST. */
static void
inf_relist(struct informer *inf)
{
	inf_scan_drop(inf);
	inf_free_map(inf, &inf->listing);
	free(inf->cont);
	inf->cont = NULL;
	inf->paginate = 1;
	if (inf->stream == INF_STREAM_TRY &&
	    kube_client_watchlist_refused(inf->kc))
		inf->stream = INF_STREAM_REFUSED;	/* another one asked */
	if (inf->stream == INF_STREAM_TRY) {
		inf_watch_list(inf);
		return;
	}
	inf_list(inf);
}

/* The BOOKMARK that ends the initial events of a streaming list. */
static int
inf_initial_end(json_t *obj)
{
	json_t *ann = json_at(obj, "metadata.annotations");
	const char *v;

	v = json_string_value(json_object_get(ann,
	    "k8s.io/initial-events-end"));
	return v != NULL && strcmp(v, "true") == 0;
}

/* An event of a streaming list before its end: builds inf->listing. */
static void
inf_initial_event(struct informer *inf, const char *type, json_t *obj,
    const char *key)
{
	void *p, *old = NULL;

	if (strcmp(type, "DELETED") == 0) {
		if ((old = hmap_del(&inf->listing, key)) != NULL)
			inf->t->free_fn(old);
		return;
	}
	if ((p = inf_project(inf, obj)) == NULL) {
		if ((old = hmap_del(&inf->listing, key)) != NULL)
			inf->t->free_fn(old);
		return;
	}
	if (hmap_put(&inf->listing, key, p, &old) == -1) {
		log_warnx("informer %s: out of memory, object %s dropped",
		    inf->t->name, key);
		inf->t->free_fn(p);
		return;
	}
	if (old != NULL)
		inf->t->free_fn(old);
}

/*
 * One watch event.  Runs inside libcurl, where no transfer may be removed:
 * the end of the stream (inf_watch_done) decides what comes next, or,
 * after an ERROR event, the timer does once libcurl has returned.
 */
static void
inf_event(const char *type, json_t *obj, void *arg)
{
	struct informer *inf = arg;
	char key[INF_KEY];
	void *p, *old = NULL;
	size_t cap;
	int dead;

	if (inf->dying)
		return;
	inf->watch_events++;
	inf->stats.events++;
	if (strcmp(type, "BOOKMARK") == 0) {
		inf->stats.bookmarks++;
		inf_set_rv(inf, obj, "metadata.resourceVersion");
		if (inf->initial && inf_initial_end(obj)) {
			/* the streamed list is complete: same as a LIST */
			inf->initial = 0;
			if (inf_list_finish(inf) == -1)
				inf_teardown(inf);
		}
		return;
	}
	if (strcmp(type, "ERROR") == 0) {
		/* the stream is over; the timer leads on, outside libcurl */
		kube_cancel(inf->call);
		inf->call = NULL;
		if (json_int_at(obj, "code", 0) == 410) {
			inf->stats.relists_410++;
			inf->initial = 0;
			inf_start_soon(inf, INF_RELIST);
			return;
		}
		snprintf(inf->watch_err, sizeof(inf->watch_err),
		    "ERROR event %lld: %s",
		    (long long)json_int_at(obj, "code", 0),
		    json_str_at(obj, "message") ?
		    json_str_at(obj, "message") : "no message");
		inf_fail(inf, inf->initial ? INF_RELIST : INF_REWATCH, "watch",
		    inf->watch_err);
		inf->initial = 0;
		return;
	}
	if (inf_key(obj, key, sizeof(key)) == -1) {
		log_warnx("informer %s: %s event without a usable name",
		    inf->t->name, type);
		return;
	}
	if (inf->initial) {
		inf_initial_event(inf, type, obj, key);
		return;
	}
	inf_set_rv(inf, obj, "metadata.resourceVersion");
	if (strcmp(type, "DELETED") == 0) {
		if ((old = hmap_del(&inf->cache, key)) == NULL)
			return;
		dead = inf_deliver(inf, INFORMER_DELETE, old, NULL);
		inf->t->free_fn(old);
		if (dead)
			inf_teardown(inf);
		return;
	}
	if (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0) {
		log_warnx("informer %s: unknown watch event type \"%s\"",
		    inf->t->name, type);
		return;
	}
	if ((p = inf_project(inf, obj)) == NULL) {
		/* no longer of interest: drop what we had */
		if ((old = hmap_del(&inf->cache, key)) == NULL)
			return;
		dead = inf_deliver(inf, INFORMER_DELETE, old, NULL);
		inf->t->free_fn(old);
		if (dead)
			inf_teardown(inf);
		return;
	}
	cap = inf->cache.cap;
	if (hmap_put(&inf->cache, key, p, &old) == -1) {
		log_warnx("informer %s: out of memory, object %s dropped",
		    inf->t->name, key);
		inf->t->free_fn(p);
		return;
	}
	if (inf->cache.cap != cap)
		inf->epoch++;
	dead = inf_deliver(inf, old ? INFORMER_UPDATE : INFORMER_ADD, old, p);
	if (old != NULL)
		inf->t->free_fn(old);
	if (dead)
		inf_teardown(inf);
}

static void
inf_watch_done(const struct kube_resp *r, void *arg)
{
	struct informer *inf = arg;
	int64_t lived = mono_ms() - inf->watch_started_ms;

	inf->call = NULL;
	if (r->status != 200 && r->status != 410 && r->status != 422 &&
	    r->status != 400 && r->status != 415)
		inf->fail_status = r->status;
	if (inf->initial) {
		/* the stream ended before the list was complete */
		inf->initial = 0;
		inf_free_map(inf, &inf->listing);
		if (r->status == 422 || r->status == 400 || r->status == 415) {
			log_info("informer %s: streaming lists refused (HTTP "
			    "%ld: %s); using LIST and WATCH", inf->t->name,
			    r->status, r->message);
			inf->stream = INF_STREAM_REFUSED;
			kube_client_set_watchlist_refused(inf->kc);
			inf_relist(inf);
			return;
		}
		if (r->status == 410) {
			inf->stats.relists_410++;
			inf_relist(inf);
			return;
		}
		inf_fail(inf, INF_RELIST, "streaming list", r->message[0] ?
		    r->message : "the stream ended before the initial events "
		    "did");
		return;
	}
	if (r->status == 410) {
		inf->stats.relists_410++;
		inf_relist(inf);
		return;
	}
	if (r->status != 200 || r->message[0] != '\0') {
		inf_fail(inf, INF_REWATCH, "watch", r->message);
		return;
	}
	if (lived < INF_SHORT_WATCH && inf->watch_events == 0) {
		inf_fail(inf, INF_REWATCH, "watch",
		    "closed within 1 s without an event");
		return;
	}
	inf_watch(inf);
}

/* WATCH from the last resourceVersion seen. */
static void
inf_watch(struct informer *inf)
{
	char path[INF_PATH + INF_MAX_RV * 3 + 128], tmo[16];

	if (inf_path(inf, path, sizeof(path)) == -1)
		return;
	snprintf(tmo, sizeof(tmo), "%u", INF_WATCH_MIN_S +
	    (unsigned)(inf_rand(inf) % (INF_WATCH_SPAN_S + 1)));
	if (kube_query_add(path, sizeof(path), "watch", "1") == -1 ||
	    kube_query_add(path, sizeof(path), "resourceVersion", inf->rv) ==
	    -1 ||
	    kube_query_add(path, sizeof(path), "allowWatchBookmarks", "true")
	    == -1 ||
	    kube_query_add(path, sizeof(path), "timeoutSeconds", tmo) == -1) {
		inf_fail(inf, INF_RELIST, "watch", "path too long");
		return;
	}
	inf->watch_events = 0;
	inf->watch_err[0] = '\0';
	inf->watch_started_ms = mono_ms();
	inf->stats.watches++;
	inf->call = kube_watch(inf->kc, path, inf->watch_buffer, inf_event,
	    inf_watch_done, inf);
	kube_call_set_lane(inf->call, KUBE_LANE_INFORMER);
	inf->call_watch = 1;
	if (inf->call == NULL)
		inf_fail(inf, INF_REWATCH, "watch", "cannot start the request");
}

/*
 * A streaming list: a watch with sendInitialEvents=true from "now"; the
 * ADDED events up to the BOOKMARK annotated k8s.io/initial-events-end
 * build the listing, then the same stream goes on as the watch.  A server
 * that refuses (422 from a server without the WatchList feature, 400)
 * makes this informer use LIST and WATCH from then on.
 */
static void
inf_watch_list(struct informer *inf)
{
	char path[INF_PATH + 256], tmo[16];

	if (inf_path(inf, path, sizeof(path)) == -1) {
		inf_fail(inf, INF_RELIST, "list", "path too long");
		return;
	}
	snprintf(tmo, sizeof(tmo), "%u", INF_WATCH_MIN_S +
	    (unsigned)(inf_rand(inf) % (INF_WATCH_SPAN_S + 1)));
	if (kube_query_add(path, sizeof(path), "watch", "1") == -1 ||
	    kube_query_add(path, sizeof(path), "sendInitialEvents", "true") ==
	    -1 ||
	    kube_query_add(path, sizeof(path), "allowWatchBookmarks", "true")
	    == -1 ||
	    kube_query_add(path, sizeof(path), "resourceVersionMatch",
	    "NotOlderThan") == -1 ||
	    kube_query_add(path, sizeof(path), "resourceVersion", "") == -1 ||
	    kube_query_add(path, sizeof(path), "timeoutSeconds", tmo) == -1) {
		inf_fail(inf, INF_RELIST, "list", "path too long");
		return;
	}
	inf->stats.lists++;
	inf->stats.watches++;
	inf->stats.streamed_lists++;
	inf->initial = 1;
	inf->watch_events = 0;
	inf->watch_err[0] = '\0';
	inf->watch_started_ms = mono_ms();
	inf->call = kube_watch(inf->kc, path, inf->watch_buffer, inf_event,
	    inf_watch_done, inf);
	kube_call_set_lane(inf->call, KUBE_LANE_INFORMER);
	inf->call_watch = 1;
	if (inf->call == NULL) {
		inf->initial = 0;
		inf_fail(inf, INF_RELIST, "list", "cannot start the request");
	}
}

void
informer_set_watch_buffer(struct informer *inf, long bytes)
{
	inf->watch_buffer = bytes > 0 ? bytes : 0;
}

void
informer_set_page_size(struct informer *inf, unsigned n)
{
	snprintf(inf->page, sizeof(inf->page), "%u", n > 0 ? n : 500);
}

void
informer_set_backoff(struct informer *inf, int64_t min_ms, int64_t max_ms)
{
	inf->backoff_min = min_ms > 0 ? min_ms : INF_BACKOFF_MIN;
	inf->backoff_max = max_ms >= inf->backoff_min ? max_ms :
	    inf->backoff_min;
	inf->backoff_ms = 0;
}

void
informer_set_streaming(struct informer *inf, int on)
{
	if (inf->stream != INF_STREAM_REFUSED)
		inf->stream = on ? INF_STREAM_TRY : INF_STREAM_OFF;
}

void
informer_set_list_only(struct informer *inf)
{
	inf->list_only = 1;
	inf->stream = INF_STREAM_OFF;
}

int
informer_streaming(const struct informer *inf)
{
	return inf->stream == INF_STREAM_TRY;
}

struct informer *
informer_new(struct kube_client *kc, uv_loop_t *loop,
    const struct informer_type *t, const char *namespace, informer_cb cb,
    void *arg)
{
	struct informer *inf;

	if ((inf = calloc(1, sizeof(*inf))) == NULL)
		return NULL;
	inf->kc = kc;
	inf->loop = loop;
	inf->t = t;
	inf->cb = cb;
	inf->arg = arg;
	if (namespace != NULL && namespace[0] != '\0' &&
	    (inf->ns = strdup(namespace)) == NULL) {
		free(inf);
		return NULL;
	}
	hmap_init(&inf->cache);
	hmap_init(&inf->listing);
	hmap_init(&inf->only);
	hmap_init(&inf->old);
	inf->stream = INF_STREAM_TRY;
	snprintf(inf->page, sizeof(inf->page), "%s", INF_PAGE);
	inf->backoff_min = INF_BACKOFF_MIN;
	inf->backoff_max = INF_BACKOFF_MAX;
	inf->rng = (uint64_t)mono_ms() ^ (uint64_t)(uintptr_t)inf ^
	    0x9e3779b97f4a7c15ULL;
	if (inf->rng == 0)
		inf->rng = 1;
	uv_timer_init(loop, &inf->timer);
	inf->timer.data = inf;
	slice_init(&inf->slice, loop, inf_slice_step, inf);
	return inf;
}

void
informer_start(struct informer *inf)
{
	if (inf->started || inf->dying)
		return;
	inf->started = 1;
	inf_relist(inf);
}

/* The timer's and the slice's close callbacks: the last one frees. */
static void
inf_closed(uv_handle_t *h)
{
	struct informer *inf = h->data;

	if (--inf->closing == 0)
		free(inf);
}

static void
inf_slice_closed(uv_handle_t *h)
{
	/* the idle handle is the first member of struct slice */
	struct informer *inf = ((struct slice *)(void *)h)->arg;

	if (--inf->closing == 0)
		free(inf);
}

/* Cancel, drop the cache, close the timer; memory goes in the close cb. */
static void
inf_teardown(struct informer *inf)
{
	inf->dying = 1;
	if (inf->call != NULL) {
		kube_cancel(inf->call);
		inf->call = NULL;
	}
	inf_scan_drop(inf);
	inf_free_map(inf, &inf->cache);
	inf_free_map(inf, &inf->listing);
	inf_free_map(inf, &inf->old);
	inf->finishing = 0;
	free(inf->cont);
	inf->cont = NULL;
	free(inf->ns);
	inf->ns = NULL;
	hmap_clear(&inf->only);
	uv_timer_stop(&inf->timer);
	inf->closing = 2;
	uv_close((uv_handle_t *)&inf->timer, inf_closed);
	slice_close(&inf->slice, inf_slice_closed);
}

void
informer_free(struct informer *inf)
{
	if (inf == NULL)
		return;
	if (inf->in_cb > 0) {
		inf->dying = 1;		/* the caller back tears down */
		return;
	}
	if (inf->dying)
		return;
	inf_teardown(inf);
}

int
informer_set_namespaces(struct informer *inf, char *const *ns, size_t n)
{
	size_t i;

	hmap_clear(&inf->only);
	for (i = 0; i < n; i++)
		if (hmap_put(&inf->only, ns[i], inf, NULL) == -1) {
			hmap_clear(&inf->only);
			return -1;
		}
	return 0;
}

long
informer_fail_status(const struct informer *inf)
{
	return inf->fail_status;
}

uint64_t
informer_epoch(const struct informer *inf)
{
	return inf->epoch;
}

int
informer_synced(const struct informer *inf)
{
	return inf->synced;
}

int
informer_current(const struct informer *inf)
{
	/*
	 * A watch just sent is not yet running: the server may still refuse
	 * it, however long a busy server takes to say so.  It counts once the
	 * server answered it 200 (or it delivered an event).
	 */
	return inf->synced && inf->call != NULL && inf->call_watch &&
	    !inf->initial && (inf->watch_events > 0 ||
	    kube_call_status(inf->call) == 200);
}

void *
informer_get(const struct informer *inf, const char *ns, const char *name)
{
	char key[INF_KEY];
	int n;

	n = snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	return hmap_get(&inf->cache, key);
}

int
informer_next(const struct informer *inf, size_t *pos, void **proj)
{
	return hmap_next(&inf->cache, pos, NULL, proj);
}

size_t
informer_size(const struct informer *inf)
{
	return inf->cache.len;
}

const char *
informer_rv(const struct informer *inf)
{
	return inf->rv;
}

const char *
informer_name(const struct informer *inf)
{
	return inf->t->name;
}

void
informer_stats(const struct informer *inf, struct informer_stats *st)
{
	*st = inf->stats;
}

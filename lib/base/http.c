/*
 * http.c - one libcurl multi handle driven by a libuv loop (the pattern of
 * curl's docs/examples/multi-uv.c).
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one
 * uv_poll_t per socket, remembered with curl_multi_assign) and when to
 * call it back (CURLMOPT_TIMERFUNCTION: a one-shot uv_timer; libcurl itself
 * is only called from the uv callbacks).  After every
 * curl_multi_socket_action the finished transfers are drained with
 * curl_multi_info_read and their done() called, outside of libcurl.
 *
 * Re-entrancy: while curl_multi_socket_action runs, libcurl calls the
 * callers' write callbacks, and those may want to start a transfer; libcurl
 * refuses a recursive curl_multi_add_handle, so http_add() then parks the
 * handle and adds it as soon as socket_action returns.  A done() callback
 * may add or remove any transfer, or free the whole struct http.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "base/http.h"
#include "base/log.h"
#include "base/metrics.h"

struct http_xfer {
	struct http		*h;
	CURL			*easy;
	http_done_cb		 done;
	void			*arg;
	int			 parked;	/* waiting for http_flush() */
	int			 paused;	/* by http_over_budget() */
	uint64_t		 turn;		/* of turn_bytes */
	uint64_t		 paused_turn;
	size_t			 turn_bytes;	/* taken in this loop turn */
	struct http_xfer	*prev, *next;
};

struct http_sock {
	uv_poll_t		 poll;		/* first: handle->data unused */
	struct http		*h;
	curl_socket_t		 fd;
	struct http_sock	*prev, *next;
};

struct http {
	uv_loop_t		*loop;
	CURLM			*multi;
	uv_timer_t		 timer;
	uv_check_t		 check;		/* counts loop turns */
	uv_idle_t		 resume;	/* resumes paused transfers */
	uint64_t		 turn;
	size_t			 npaused;
	size_t			 turn_budget;	/* bytes per transfer */
	struct http_xfer	*xfers;
	struct http_sock	*socks;
	size_t			 active;
	int			 in_curl;	/* inside socket_action */
	int			 freeing;
	int			 handles;	/* uv handles not yet closed */
};

static void	http_flush(struct http *);

static void
http_link_xfer(struct http *h, struct http_xfer *x)
{
	x->prev = NULL;
	x->next = h->xfers;
	if (h->xfers != NULL)
		h->xfers->prev = x;
	h->xfers = x;
	h->active++;
}

static void
http_unlink_xfer(struct http *h, struct http_xfer *x)
{
	if (x->paused) {
		x->paused = 0;
		h->npaused--;
	}
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	h->active--;
}

/* The last close callback releases the struct itself. */
static void
http_handle_closed(struct http *h)
{
	if (--h->handles == 0 && h->freeing)
		free(h);
}

static void
http_timer_closed(uv_handle_t *handle)
{
	http_handle_closed(handle->data);
}

static void
http_sock_closed(uv_handle_t *handle)
{
	/* poll is the first member of struct http_sock */
	struct http_sock *s = (struct http_sock *)handle;
	struct http *h = s->h;

	free(s);
	http_handle_closed(h);
}

static void
http_sock_close(struct http *h, struct http_sock *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, http_sock_closed);
}

/*
 * Report every finished transfer.  The message is copied before the easy
 * handle is removed (removal invalidates it), the transfer record is
 * freed before done() runs, so done() may do anything, including
 * http_free(): the loop stops as soon as the multi handle is gone.
 */
static void
http_check_done(struct http *h)
{
	struct http_xfer *x;
	CURLMsg *msg;
	CURL *easy;
	CURLcode result;
	http_done_cb done;
	void *arg;
	char *priv;
	int left;

	while (h->multi != NULL &&
	    (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		result = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = (struct http_xfer *)(void *)priv;
		curl_multi_remove_handle(h->multi, easy);
		if (x == NULL)
			continue;
		done = x->done;
		arg = x->arg;
		http_unlink_xfer(h, x);
		free(x);
		done(easy, result, arg);
	}
}

/* Let curl act on a socket (or on its timeout), then collect the results. */
static void
http_action(struct http *h, curl_socket_t fd, int flags)
{
	int running;

	h->in_curl++;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	h->in_curl--;
	http_flush(h);
	http_check_done(h);
}

static void
http_on_poll(uv_poll_t *poll, int status, int events)
{
	struct http_sock *s = (struct http_sock *)poll;
	int flags = 0;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	http_action(s->h, s->fd, flags);
}

static void
http_on_timer(uv_timer_t *t)
{
	http_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arm the uv timer, never call curl. */
static int
http_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (h->freeing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, http_on_timer, (uint64_t)timeout_ms,
		    0);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: one uv_poll_t per socket curl uses. */
static int
http_socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *sockp)
{
	struct http *h = userp;
	struct http_sock *s = sockp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(h->multi, fd, NULL);
			http_sock_close(h, s);
		}
		return 0;
	}
	if (h->freeing)
		return 0;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			log_warnx("http: out of memory for a socket watcher");
			return -1;
		}
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			log_warnx("http: cannot watch socket %d", (int)fd);
			free(s);
			return -1;
		}
		s->h = h;
		s->fd = fd;
		s->next = h->socks;
		if (h->socks != NULL)
			h->socks->prev = s;
		h->socks = s;
		h->handles++;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, http_on_poll);
	return 0;
}

/* After every poll phase: a new loop turn begins for the byte budget. */
static void
http_on_check(uv_check_t *c)
{
	((struct http *)c->data)->turn++;
}

/*
 * The next turn: resume the transfers paused in an earlier one.  Their
 * write callbacks may run from inside curl_easy_pause() (libcurl hands
 * over what it kept), so this counts as being inside libcurl, and the
 * list is searched again after each one (a callback may end transfers).
 * A transfer that pauses again now waits for the turn after.
 */
static void
http_on_resume(uv_idle_t *idle)
{
	struct http *h = idle->data;
	struct http_xfer *x;

	for (;;) {
		for (x = h->xfers; x != NULL; x = x->next)
			if (x->paused && x->paused_turn < h->turn)
				break;
		if (x == NULL)
			break;
		x->paused = 0;
		h->npaused--;
		h->in_curl++;
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
		h->in_curl--;
		if (h->freeing)
			return;
	}
	if (h->npaused == 0)
		uv_idle_stop(&h->resume);
	http_flush(h);
	http_check_done(h);
}

int
http_over_budget(struct http *h, CURL *easy, size_t n)
{
	struct http_xfer *x;
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if ((x = (struct http_xfer *)(void *)priv) == NULL || x->h != h ||
	    h->turn_budget == 0)
		return 0;
	if (x->turn != h->turn) {
		x->turn = h->turn;
		x->turn_bytes = 0;
	}
	if (x->turn_bytes > 0 && x->turn_bytes + n > h->turn_budget) {
		if (!x->paused) {
			x->paused = 1;
			h->npaused++;
		}
		x->paused_turn = h->turn;
		uv_idle_start(&h->resume, http_on_resume);
		metric_inc(metric_counter("remedy_http_pauses_total",
		    "Times a transfer had its bytes for a loop turn and "
		    "paused until the next.", NULL), NULL);
		return 1;
	}
	x->turn_bytes += n;
	return 0;
}

void
http_set_turn_budget(struct http *h, size_t bytes)
{
	h->turn_budget = bytes;
}

struct http *
http_new(uv_loop_t *loop)
{
	struct http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	if ((h->multi = curl_multi_init()) == NULL) {
		free(h);
		return NULL;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	uv_check_init(loop, &h->check);
	h->check.data = h;
	uv_check_start(&h->check, http_on_check);
	uv_unref((uv_handle_t *)&h->check);
	uv_idle_init(loop, &h->resume);
	h->resume.data = h;
	h->turn_budget = HTTP_TURN_BYTES;
	h->handles = 3;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_fn);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_fn);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

/*
 * Hand the parked transfers to libcurl.  A handle libcurl refuses is
 * finished at once with CURLE_FAILED_INIT so its owner still hears of it.
 */
static void
http_flush(struct http *h)
{
	struct http_xfer *x, *next;
	CURLMcode mc;
	http_done_cb done;
	void *arg;
	CURL *easy;

	if (h->in_curl || h->freeing)
		return;
	for (x = h->xfers; x != NULL; x = next) {
		next = x->next;
		if (!x->parked)
			continue;
		x->parked = 0;
		if ((mc = curl_multi_add_handle(h->multi, x->easy)) ==
		    CURLM_OK)
			continue;
		log_warnx("http: cannot start transfer: %s",
		    curl_multi_strerror(mc));
		done = x->done;
		arg = x->arg;
		easy = x->easy;
		http_unlink_xfer(h, x);
		free(x);
		done(easy, CURLE_FAILED_INIT, arg);
		/* done() may have changed the list: start over */
		if (h->freeing)
			return;
		next = h->xfers;
	}
}

int
http_add(struct http *h, CURL *easy, http_done_cb done, void *arg)
{
	struct http_xfer *x;
	CURLMcode mc;

	if (h->freeing)
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->h = h;
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
	if (h->in_curl) {
		x->parked = 1;
		http_link_xfer(h, x);
		return 0;
	}
	if ((mc = curl_multi_add_handle(h->multi, easy)) != CURLM_OK) {
		log_warnx("http: cannot start transfer: %s",
		    curl_multi_strerror(mc));
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	http_link_xfer(h, x);
	return 0;
}

/*
 * Abort a transfer; no callback follows.  Must not be called from inside
 * a libcurl callback for a transfer already started (libcurl forbids it);
 * a parked one may be dropped at any time.
 */
void
http_remove(struct http *h, CURL *easy)
{
	struct http_xfer *x;
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if ((x = (struct http_xfer *)(void *)priv) == NULL || x->h != h)
		return;
	if (!x->parked && h->multi != NULL)
		curl_multi_remove_handle(h->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	http_unlink_xfer(h, x);
	free(x);
}

uv_loop_t *
http_loop(const struct http *h)
{
	return h->loop;
}

size_t
http_active(const struct http *h)
{
	return h->active;
}

void
http_free(struct http *h)
{
	struct http_xfer *x;

	if (h == NULL || h->freeing)
		return;
	while ((x = h->xfers) != NULL) {
		if (!x->parked)
			curl_multi_remove_handle(h->multi, x->easy);
		curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
		http_unlink_xfer(h, x);
		free(x);
	}
	h->freeing = 1;
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	while (h->socks != NULL)
		http_sock_close(h, h->socks);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, http_timer_closed);
	uv_check_stop(&h->check);
	uv_close((uv_handle_t *)&h->check, http_timer_closed);
	uv_idle_stop(&h->resume);
	uv_close((uv_handle_t *)&h->resume, http_timer_closed);
}

/*
 * http.h - one libcurl multi handle driven by a libuv loop.
 *
 * The glue of curl's docs/examples/multi-uv.c, done carefully: one uv_poll_t
 * per socket remembered with curl_multi_assign, a one-shot uv_timer for
 * curl's timeout (libcurl is never called from inside CURLMOPT_TIMERFUNCTION),
 * curl_multi_info_read drained after every curl_multi_socket_action, handles
 * freed only in their uv_close callbacks.
 *
 * The caller builds the easy handle (URL, headers, write callback, TLS) and
 * hands it over with http_add(); when the transfer ends, done() is called
 * once with curl's result, after the easy handle was removed from the multi
 * handle.  The caller still owns the easy handle and frees it (typically in
 * done()).  http_remove() aborts a transfer without calling done().
 */
#ifndef REMEDY_HTTP_H
#define REMEDY_HTTP_H

#include <stddef.h>

#include <curl/curl.h>
#include <uv.h>

struct http;

typedef void	(*http_done_cb)(CURL *easy, CURLcode result, void *arg);

struct http	*http_new(uv_loop_t *loop);
/*
 * Abort every transfer (without callbacks), clean up the multi handle and
 * close the poll/timer handles; the memory is released from the close
 * callbacks, so run the loop once more afterwards (uv_run UV_RUN_DEFAULT
 * returns when they are done).
 */
void		 http_free(struct http *);
int		 http_add(struct http *, CURL *easy, http_done_cb done, void *arg);
void		 http_remove(struct http *, CURL *easy);
/*
 * Fairness between connections: libcurl reads a socket for as long as it
 * has data (a LIST page of megabytes, a watch that never pauses), and
 * everything it reads goes through the write callback before timers and
 * other sockets get a turn.  A write callback calls http_over_budget()
 * with the bytes it is offered, before taking any: 1 means the transfer
 * has had HTTP_TURN_BYTES in this loop turn (the first call of a turn is
 * always allowed), and the callback must return CURL_WRITEFUNC_PAUSE
 * without consuming; the transfer resumes on the next turn.
 */
#define HTTP_TURN_BYTES	(256 * 1024)
int		 http_over_budget(struct http *, CURL *easy, size_t n);
/* Bytes per transfer per turn (0: no budget). */
void		 http_set_turn_budget(struct http *, size_t bytes);
/* The loop it runs on. */
uv_loop_t	*http_loop(const struct http *);
/* Transfers in flight (for metrics and tests). */
size_t		 http_active(const struct http *);

#endif

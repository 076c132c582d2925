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
/* The loop it runs on. */
uv_loop_t	*http_loop(const struct http *);
/* Transfers in flight (for metrics and tests). */
size_t		 http_active(const struct http *);

#endif

/*
 * httpd.h - remedyd's small HTTP/1.1 endpoint for monitoring.
 *
 *   GET /metrics   the metrics registry (lib/base/metrics.h) in the Prometheus
 *                  text format 0.0.4
 *   GET /healthz   200 "ok" while the event loop runs (liveness); 503
 *                  "event loop stuck" when live(arg) says it lags (see
 *                  lib/base/looplag.h)
 *   GET /readyz    200 "ready" once every informer cache has synced, else
 *                  503 "not ready" (and 503 again while shutting down)
 *
 * HEAD is answered like GET without a body; other methods get 405, other
 * paths 404.  One request per connection (the answer says
 * "Connection: close").  Limits, each with its reason:
 *   HTTPD_MAX_REQUEST	bytes of request line + headers (431 beyond);
 *   HTTPD_MAX_CONNS	connections at once (further ones get 503);
 *   HTTPD_TIMEOUT_MS	to receive the request and send the answer (a slow
 *			client is disconnected).
 * A request body is never read.  Memory of a connection is freed only in
 * the close callback of its last handle.
 */
#ifndef REMEDY_DAEMON_HTTPD_H
#define REMEDY_DAEMON_HTTPD_H

#include <stddef.h>

#include <uv.h>

#define HTTPD_MAX_REQUEST	8192
#define HTTPD_MAX_CONNS		16
#define HTTPD_TIMEOUT_MS	10000

struct httpd;

/*
 * Listen on addr ("127.0.0.1:9464", "[::1]:9464", see hostport.h).
 * ready(arg) answers /readyz.  Returns NULL with a message in err.
 */
struct httpd	*httpd_new(uv_loop_t *, const char *addr,
		    int (*ready)(void *arg), void *arg, char *err,
		    size_t errlen);
/* live(arg) (same arg as ready) answers /healthz; NULL: always live. */
void		 httpd_set_live(struct httpd *, int (*live)(void *arg));
/* The port actually bound (useful with port 0 in tests). */
int		 httpd_port(const struct httpd *);
/* Stop listening and close every connection; memory is released from the
 * close callbacks. */
void		 httpd_free(struct httpd *);

#endif

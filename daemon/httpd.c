/*
 * httpd.c - see httpd.h.
 *
 * Each connection: read into a fixed HTTPD_MAX_REQUEST buffer until the
 * blank line that ends the headers, answer, shut down the write side, close.
 * A timer bounds the whole exchange.  The server object is freed when its
 * listener and every connection have closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"
#include "base/log.h"
#include "base/metrics.h"
#include "httpd.h"

struct hconn {
	uv_tcp_t	 tcp;		/* tcp.data = this */
	uv_timer_t	 timer;		/* timer.data = this */
	uv_write_t	 wreq;
	uv_shutdown_t	 sreq;
	struct httpd	*h;
	struct hconn	*prev, *next;
	char		*out;		/* the answer, while being written */
	char		 in[HTTPD_MAX_REQUEST];
	size_t		 inlen;
	int		 answered;
	int		 closing;
	int		 open_handles;
};

struct httpd {
	uv_loop_t	*loop;
	uv_tcp_t	 listener;
	struct hconn	*conns;
	int		 nconns;
	int		 port;
	int		 listener_open;
	int		 freeing;
	int		 (*ready)(void *);
	int		 (*live)(void *);	/* NULL: always */
	void		*arg;
};

static void
httpd_maybe_release(struct httpd *h)
{
	if (h->freeing && !h->listener_open && h->conns == NULL)
		free(h);
}

static void
on_conn_handle_closed(uv_handle_t *hd)
{
	struct hconn	*c = hd->data;
	struct httpd	*h = c->h;

	if (--c->open_handles > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nconns--;
	free(c->out);
	free(c);
	httpd_maybe_release(h);
}

static void
conn_close(struct hconn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void
on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	conn_close(req->data);
}

static void
on_written(uv_write_t *req, int status)
{
	struct hconn *c = req->data;

	if (status < 0 || c->closing) {
		conn_close(c);
		return;
	}
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
		conn_close(c);
}

static const char *
reason(int code)
{
	switch (code) {
	case 200:	return "OK";
	case 400:	return "Bad Request";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 431:	return "Request Header Fields Too Large";
	case 500:	return "Internal Server Error";
	case 503:	return "Service Unavailable";
	default:	return "Error";
	}
}

/* Count the request by path (known paths only, to bound the labels). */
static void
count(const char *path, int code)
{
	char codes[8];

	if (path == NULL || (strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0))
		path = "other";
	snprintf(codes, sizeof(codes), "%d", code);
	metric_inc(metric_counter("remedy_http_requests_total",
	    "Requests to the monitoring endpoint, by path and status.",
	    "path,code"), METRIC_LABELS(path, codes));
}

/* Queue the answer; body is copied.  head: omit the body (HEAD). */
static void
respond(struct hconn *c, int code, const char *ctype, const char *body,
    size_t blen, int head, const char *extra)
{
	uv_buf_t	buf;
	size_t		hlen, cap;
	int		n;

	if (c->answered || c->closing)
		return;
	c->answered = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	cap = 512 + (head ? 0 : blen);
	if ((c->out = malloc(cap)) == NULL) {
		conn_close(c);
		return;
	}
	n = snprintf(c->out, 512, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "Connection: close\r\n\r\n", code, reason(code), ctype, blen,
	    extra ? extra : "");
	if (n < 0 || n >= 512) {
		conn_close(c);
		return;
	}
	hlen = (size_t)n;
	if (!head && blen > 0)
		memcpy(c->out + hlen, body, blen);
	buf = uv_buf_init(c->out, (unsigned)(hlen + (head ? 0 : blen)));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1,
	    on_written) != 0)
		conn_close(c);
}

static void
respond_text(struct hconn *c, const char *path, int code, const char *text,
    int head, const char *extra)
{
	count(path, code);
	respond(c, code, "text/plain; charset=utf-8", text, strlen(text),
	    head, extra);
}

/*
 * Handle the request in c->in (NUL-terminated, headers complete).  Only
 * the request line matters; headers are not interpreted.
 */
static void
handle(struct hconn *c)
{
	char	*line = c->in, *sp1, *sp2, *eol, *q;
	char	*body = NULL;
	size_t	 blen = 0;
	int	 head;

	eol = strpbrk(line, "\r\n");
	*eol = '\0';
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/') {
		respond_text(c, NULL, 400, "bad request line\n", 0, NULL);
		return;
	}
	*sp1 = *sp2 = '\0';
	if ((q = strchr(sp1 + 1, '?')) != NULL)
		*q = '\0';
	head = strcmp(line, "HEAD") == 0;
	if (!head && strcmp(line, "GET") != 0) {
		respond_text(c, sp1 + 1, 405, "only GET and HEAD\n", 0,
		    "Allow: GET, HEAD\r\n");
		return;
	}
	if (strcmp(sp1 + 1, "/healthz") == 0) {
		if (c->h->live == NULL || c->h->live(c->h->arg))
			respond_text(c, "/healthz", 200, "ok\n", head, NULL);
		else
			respond_text(c, "/healthz", 503, "event loop stuck\n",
			    head, NULL);
	}
	else if (strcmp(sp1 + 1, "/readyz") == 0) {
		if (c->h->ready(c->h->arg))
			respond_text(c, "/readyz", 200, "ready\n", head, NULL);
		else
			respond_text(c, "/readyz", 503, "not ready\n", head,
			    NULL);
	} else if (strcmp(sp1 + 1, "/metrics") == 0) {
		/* Count first, so the scrape includes itself. */
		count("/metrics", 200);
		if (metrics_render(&body, &blen) == -1) {
			respond(c, 500, "text/plain; charset=utf-8",
			    "out of memory\n", 14, head, NULL);
			return;
		}
		respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
		    body, blen, head, NULL);
		free(body);
	} else
		respond_text(c, sp1 + 1, 404, "not found (try /metrics, "
		    "/healthz, /readyz)\n", head, NULL);
}

static void
on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct hconn *c = hd->data;

	/* Keep one byte for the terminating NUL. */
	*buf = uv_buf_init(c->in + c->inlen,
	    (unsigned)(sizeof(c->in) - 1 - c->inlen));
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct hconn *c = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->inlen += (size_t)nread;
	c->in[c->inlen] = '\0';
	if (strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL)
		handle(c);
	else if (c->inlen == sizeof(c->in) - 1)
		respond_text(c, NULL, 431, "request too large\n", 0, NULL);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct httpd	*h = server->data;
	struct hconn	*c;

	if (status < 0) {
		log_warnx("http: accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("http: out of memory accepting a connection");
		return;
	}
	c->h = h;
	uv_tcp_init(h->loop, &c->tcp);
	uv_timer_init(h->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open_handles = 2;
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, HTTPD_TIMEOUT_MS, 0);
	if (h->nconns > HTTPD_MAX_CONNS) {
		respond_text(c, NULL, 503, "too many connections\n", 0, NULL);
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

static void
on_listener_closed(uv_handle_t *hd)
{
	struct httpd *h = hd->data;

	h->listener_open = 0;
	httpd_maybe_release(h);
}

struct httpd *
httpd_new(uv_loop_t *loop, const char *addr, int (*ready)(void *), void *arg,
    char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_storage	 bound;
	struct httpd		*h;
	char			 why[128];
	int			 rc, len = sizeof(bound);

	if (parse_hostport(addr, &ss, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "http.listen \"%s\": %s", addr, why);
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->ready = ready;
	h->arg = arg;
	uv_tcp_init(loop, &h->listener);
	h->listener.data = h;
	h->listener_open = 1;
	if ((rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&h->listener, 16,
	    on_connection)) != 0) {
		snprintf(err, errlen, "http.listen %s: %s", addr,
		    uv_strerror(rc));
		h->freeing = 1;
		uv_close((uv_handle_t *)&h->listener, on_listener_closed);
		return NULL;
	}
	if (uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound,
	    &len) == 0)
		h->port = ntohs(bound.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&bound)->sin6_port :
		    ((struct sockaddr_in *)&bound)->sin_port);
	return h;
}

void
httpd_set_live(struct httpd *h, int (*live)(void *arg))
{
	h->live = live;
}

int
httpd_port(const struct httpd *h)
{
	return h->port;
}

void
httpd_free(struct httpd *h)
{
	struct hconn *c;

	if (h == NULL || h->freeing)
		return;
	h->freeing = 1;
	for (c = h->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}

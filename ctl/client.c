/*
 * client.c - one request, one reply over the control socket.
 *
 * Blocking descriptors driven by poll() against a single deadline, so a
 * daemon that accepts but never answers costs at most CTL_TIMEOUT_MS.  The
 * reply may not exceed PROTO_MAX_REPLY bytes; anything that is not a
 * well-formed reply to our request is reported as unreachable (exit 3).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/proto.h"
#include "base/util.h"
#include "ctl.h"

#define CTL_REQUEST_ID	1

/* Wait until fd is ready for events or the deadline passes. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		r;

	for (;;) {
		if ((left = deadline - mono_ms()) <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		return r == -1 ? -1 : r;
	}
}

static int
send_line(int fd, const char *buf, size_t len, int64_t deadline,
    const char *path, char *err, size_t errlen)
{
	ssize_t	n;
	int	r;

	while (len > 0) {
		if ((r = wait_fd(fd, POLLOUT, deadline)) <= 0) {
			snprintf(err, errlen, "%s: %s", path, r == 0 ?
			    "timed out sending the request to remedyd" :
			    strerror(errno));
			return -1;
		}
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			int e = errno;

			snprintf(err, errlen, "%s: sending the request: %s",
			    path, strerror(e));
			errno = e;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read up to and including the first newline into a heap buffer (*out,
 * NUL-terminated, newline removed).  At most PROTO_MAX_REPLY bytes.
 */
static int
recv_line(int fd, int64_t deadline, char **out, size_t *outlen,
    const char *path, char *err, size_t errlen)
{
	char	*buf = NULL, *nbuf, *nl;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 r, rc = -1;

	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if (cap > PROTO_MAX_REPLY + 1)
				cap = PROTO_MAX_REPLY + 1;
			if (cap - len == 0) {
				snprintf(err, errlen, "%s: reply from remedyd "
				    "is larger than %d bytes", path,
				    PROTO_MAX_REPLY);
				goto out;
			}
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			buf = nbuf;
		}
		if ((r = wait_fd(fd, POLLIN, deadline)) <= 0) {
			snprintf(err, errlen, "%s: %s", path, r == 0 ?
			    "no reply from remedyd within 30 seconds" :
			    strerror(errno));
			goto out;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: reading the reply: %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0) {
			snprintf(err, errlen, "%s: remedyd closed the "
			    "connection without a complete reply", path);
			goto out;
		}
		if ((nl = memchr(buf + len, '\n', (size_t)n)) != NULL) {
			len = (size_t)(nl - buf);
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

static int
ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "cannot connect to %s: socket path "
		    "longer than %zu bytes", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A local stream connect completes or fails at once. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "cannot connect to %s: %s (is remedyd "
		    "running?)", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Check the reply's shape; a refusal yields its code and message. */
static int
ctl_check_reply(json_t *reply, json_t **result, const char *path,
    char *err, size_t errlen)
{
	json_t		*ok, *v;
	const char	*code, *msg;
	int		 c;

	if (!json_is_object(reply)) {
		snprintf(err, errlen, "%s: garbled reply from remedyd (not an "
		    "object)", path);
		return -1;
	}
	v = json_object_get(reply, "v");
	if (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION) {
		snprintf(err, errlen, "%s: remedyd speaks another protocol "
		    "version (this remedyctl speaks %d)", path, PROTO_VERSION);
		return -1;
	}
	v = json_object_get(reply, "id");
	ok = json_object_get(reply, "ok");
	if (!json_is_boolean(ok)) {
		snprintf(err, errlen, "%s: garbled reply from remedyd (no "
		    "\"ok\")", path);
		return -1;
	}
	if (json_is_false(ok)) {
		code = json_str_at(reply, "error.code");
		msg = json_str_at(reply, "error.message");
		c = proto_code_from_name(code);
		if (c <= PROTO_OK)
			c = PROTO_EINTERNAL;
		snprintf(err, errlen, "%s", msg && *msg ? msg :
		    proto_code_text(c));
		return c;
	}
	if (!json_is_integer(v) || json_integer_value(v) != CTL_REQUEST_ID) {
		snprintf(err, errlen, "%s: garbled reply from remedyd (wrong "
		    "id)", path);
		return -1;
	}
	if (!json_is_object(json_object_get(reply, "result"))) {
		snprintf(err, errlen, "%s: garbled reply from remedyd (no "
		    "result)", path);
		return -1;
	}
	*result = json_incref(json_object_get(reply, "result"));
	return 0;
}

/*
 * The daemon may refuse a connection at accept (no role, too many
 * connections) and close it before reading the request, so sending fails
 * with EPIPE; its one-line reason is still waiting to be read.  Returns 1
 * with the line in *in, else 0 (the send error stands).
 */
static int
refused_early(int fd, int64_t deadline, char **in, size_t *inlen,
    const char *path)
{
	char	ignored[CTL_MAX_ERR];

	if (errno != EPIPE && errno != ECONNRESET)
		return 0;
	if (recv_line(fd, deadline, in, inlen, path, ignored,
	    sizeof(ignored)) == -1) {
		*in = NULL;
		return 0;
	}
	return 1;
}

/* One request and its reply on fd; ctl_call()'s return values.  args is
 * stolen. */
static int
exchange(int fd, int64_t deadline, const char *path, const char *cmd,
    json_t *args, json_t **result, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*req, *reply = NULL;
	char		*line = NULL, *in = NULL;
	size_t		 len, inlen;
	int		 rc = -1;

	*result = NULL;
	req = proto_request(CTL_REQUEST_ID, cmd, args);
	if (req == NULL || (line = proto_encode(req, &len)) == NULL) {
		snprintf(err, errlen, "cannot build the request");
		goto out;
	}
	if (len > PROTO_MAX_REQUEST) {
		snprintf(err, errlen, "request of %zu bytes is over the limit "
		    "of %d bytes", len, PROTO_MAX_REQUEST);
		goto out;
	}
	if (send_line(fd, line, len, deadline, path, err, errlen) == -1 &&
	    !refused_early(fd, deadline, &in, &inlen, path))
		goto out;
	if (in == NULL &&
	    recv_line(fd, deadline, &in, &inlen, path, err, errlen) == -1)
		goto out;
	if ((reply = json_loadb(in, inlen, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		snprintf(err, errlen, "%s: garbled reply from remedyd: "
		    "invalid JSON at column %d: %s", path, jerr.column,
		    jerr.text);
		goto out;
	}
	rc = ctl_check_reply(reply, result, path, err, errlen);
out:
	json_decref(req);
	json_decref(reply);
	free(line);
	free(in);
	return rc;
}

int
ctl_call(const char *path, const char *cmd, json_t *args, json_t **result,
    char *err, size_t errlen)
{
	return ctl_call_hello(path, NULL, cmd, args, result, err, errlen);
}

int
ctl_call_hello(const char *path, json_t *hello, const char *cmd,
    json_t *args, json_t **result, char *err, size_t errlen)
{
	json_t		*said = NULL;
	int64_t		 deadline = mono_ms() + CTL_TIMEOUT_MS;
	int		 fd, rc;

	*result = NULL;
	if ((fd = ctl_connect(path, err, errlen)) == -1) {
		json_decref(hello);
		json_decref(args);
		return -1;
	}
	if (hello != NULL && (rc = exchange(fd, deadline, path, "hello", hello,
	    &said, err, errlen)) != 0) {
		json_decref(args);
		close(fd);
		return rc;
	}
	json_decref(said);
	rc = exchange(fd, deadline, path, cmd, args, result, err, errlen);
	close(fd);
	return rc;
}

/*
 * A line reader over a blocking descriptor: lines may arrive several per
 * recv() or split across them.  Each line is at most PROTO_MAX_REPLY bytes.
 */
struct lines {
	char	*buf;
	size_t	 len, cap;
};

/* Next line (NUL-terminated, newline removed) into *out, a heap copy.
 * deadline 0: wait for ever.  Returns 1; 0 when the deadline passed
 * first; -1 with err set. */
static int
lines_next(struct lines *l, int fd, int64_t deadline, char **out,
    const char *path, char *err, size_t errlen)
{
	char	*nl, *nbuf;
	size_t	 n;
	ssize_t	 r;
	int	 w;

	for (;;) {
		if (l->len > 0 &&
		    (nl = memchr(l->buf, '\n', l->len)) != NULL) {
			n = (size_t)(nl - l->buf);
			if ((*out = malloc(n + 1)) == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			memcpy(*out, l->buf, n);
			(*out)[n] = '\0';
			memmove(l->buf, nl + 1, l->len - n - 1);
			l->len -= n + 1;
			return 1;
		}
		if (l->len > PROTO_MAX_REPLY) {
			snprintf(err, errlen, "%s: message from remedyd is "
			    "larger than %d bytes", path, PROTO_MAX_REPLY);
			return -1;
		}
		if (l->cap - l->len < 4096) {
			n = l->cap ? l->cap * 2 : 65536;
			if ((nbuf = realloc(l->buf, n)) == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			l->buf = nbuf;
			l->cap = n;
		}
		if (deadline != 0) {
			if ((w = wait_fd(fd, POLLIN, deadline)) <= 0) {
				snprintf(err, errlen, "%s: %s", path, w == 0 ?
				    "no reply from remedyd within 30 seconds" :
				    strerror(errno));
				return w == 0 ? 0 : -1;
			}
		}
		r = recv(fd, l->buf + l->len, l->cap - l->len, 0);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: reading from remedyd: %s",
			    path, strerror(errno));
			return -1;
		}
		if (r == 0) {
			snprintf(err, errlen, "%s: remedyd closed the "
			    "connection", path);
			return -1;
		}
		l->len += (size_t)r;
	}
}

struct ctl_stream {
	int		 fd;
	const char	*path;
	struct lines	 l;
};

void
ctl_stream_close(struct ctl_stream *st)
{
	if (st == NULL)
		return;
	if (st->fd != -1)
		close(st->fd);
	free(st->l.buf);
	free(st);
}

int
ctl_stream_open(const char *path, json_t *hello, json_t *args,
    struct ctl_stream **out, char *err, size_t errlen)
{
	struct ctl_stream	*st;
	json_error_t		 jerr;
	json_t			*req = NULL, *msg = NULL, *result = NULL;
	char			*line = NULL, *in = NULL;
	size_t			 len;
	int64_t			 deadline = mono_ms() + CTL_TIMEOUT_MS;
	int			 rc = -1;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		json_decref(hello);
		json_decref(args);
		return -1;
	}
	st->path = path;
	if ((st->fd = ctl_connect(path, err, errlen)) == -1) {
		json_decref(hello);
		json_decref(args);
		goto out;
	}
	if (hello != NULL && (rc = exchange(st->fd, deadline, path, "hello",
	    hello, &result, err, errlen)) != 0) {
		json_decref(args);
		goto out;
	}
	json_decref(result);
	result = NULL;
	rc = -1;
	req = proto_request(CTL_REQUEST_ID, "watch", args);
	if (req == NULL || (line = proto_encode(req, &len)) == NULL) {
		snprintf(err, errlen, "cannot build the request");
		goto out;
	}
	if (send_line(st->fd, line, len, deadline, path, err, errlen) == -1 &&
	    !refused_early(st->fd, deadline, &in, &len, path))
		goto out;
	if (in == NULL && lines_next(&st->l, st->fd, deadline, &in, path, err,
	    errlen) != 1)
		goto out;
	if ((msg = json_loads(in, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "%s: garbled reply from remedyd: "
		    "invalid JSON at column %d: %s", path, jerr.column,
		    jerr.text);
		goto out;
	}
	if ((rc = ctl_check_reply(msg, &result, path, err, errlen)) != 0)
		goto out;
	*out = st;
	st = NULL;
out:
	ctl_stream_close(st);
	json_decref(req);
	json_decref(msg);
	json_decref(result);
	free(line);
	free(in);
	return rc;
}

int
ctl_stream_next(struct ctl_stream *st, int64_t deadline, json_t **event,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*msg;
	char		*in = NULL;
	int		 rc;

	*event = NULL;
	if ((rc = lines_next(&st->l, st->fd, deadline, &in, st->path, err,
	    errlen)) != 1)
		return rc;
	if ((msg = json_loads(in, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(msg) || json_str_at(msg, "event") == NULL) {
		snprintf(err, errlen, "%s: garbled event from remedyd",
		    st->path);
		json_decref(msg);
		free(in);
		return -1;
	}
	free(in);
	*event = msg;
	return 1;
}

int
ctl_watch(const char *path, json_t *args, ctl_event_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct ctl_stream	*st;
	json_t			*ev;
	int			 rc;

	if ((rc = ctl_stream_open(path, NULL, args, &st, err, errlen)) != 0)
		return rc;
	while ((rc = ctl_stream_next(st, 0, &ev, err, errlen)) == 1) {
		rc = fn(ev, arg);
		json_decref(ev);
		if (rc != 0) {
			rc = 1;
			break;
		}
	}
	ctl_stream_close(st);
	return rc == 1 ? 0 : -1;
}

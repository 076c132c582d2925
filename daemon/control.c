/*
 * control.c - the control socket server (see control.h, proto/control.md).
 *
 * Limits, each protecting the daemon from one client:
 *   CONTROL_MAX_CONNS	connections at once (control_opts.max_conns);
 *			further ones get an error line and are closed;
 *   CONTROL_MAX_PER_UID	connections of one uid at once (max_per_uid), so
 *			one user cannot take every slot;
 *   PROTO_MAX_REQUEST	bytes of one request line (the input buffer size);
 *   CONTROL_WBUF_HIGH	unsent reply bytes after which we stop reading (and
 *			answering) until they drain below CONTROL_WBUF_LOW;
 *   CONTROL_IDLE_MS	silence after which a connection is closed
 *			(idle_ms; a watching connection is exempt: it is
 *			silent by design, and closed instead when it stops
 *			reading its events);
 *   PROTO_MAX_REPLY	bytes of one reply (a larger one becomes "internal").
 *
 * Accepting.  libuv's uv_listen() gives the connection callback only a
 * status: on EMFILE it has already run its reserve-descriptor trick (accept
 * and drop the waiting clients) and offers no way to stop the listen watcher
 * short of closing the handle, which would unlink the socket.  So the
 * listening socket is ours: created, probed, bound and chmod'ed here, watched
 * with a uv_poll_t, accepted with accept4(SOCK_NONBLOCK | SOCK_CLOEXEC).  On
 * EMFILE/ENFILE the poll handle is stopped and a one-second uv_timer starts
 * it again: waiting clients stay in the backlog instead of being dropped, and
 * the loop does not spin.  Each accepted descriptor is wrapped in a uv_pipe_t.
 *
 * Memory.  A connection (and the server itself) is freed only from the close
 * callback of its last handle, never from inside a callback that may still
 * use it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* struct ucred (SO_PEERCRED), accept4() */
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/authz.h"
#include "base/log.h"
#include "base/proto.h"
#include "control.h"

#define CONTROL_MAX_CONNS	64
#define CONTROL_MAX_PER_UID	16
#define CONTROL_IDLE_MS		(300 * 1000)
#define CONTROL_WBUF_HIGH	(1024 * 1024)
#define CONTROL_WBUF_LOW	(256 * 1024)
#define CONTROL_PAUSE_MS	1000
#define CONTROL_BACKLOG		16
#define CONTROL_MAX_MSG		512	/* bytes of a handler's message */

struct conn {
	uv_pipe_t		 pipe;		/* pipe.data = this */
	uv_timer_t		 idle;		/* idle.data = this */
	struct control		*ctl;
	struct conn		*prev, *next;	/* ctl->conns */
	struct control_peer	 peer;
	char			*in;		/* PROTO_MAX_REQUEST bytes */
	size_t			 inlen;
	size_t			 wqueued;	/* reply bytes not yet written */
	int			 reading;
	int			 eof;		/* the client sent EOF */
	int			 doomed;	/* close once output drained */
	int			 closing;
	int			 open_handles;
	int			 watching;	/* receives broadcasts */
	json_int_t		 watch_id;	/* the watch request's id */
	struct control_reply	*deferred;	/* a request answered later */
	int			 in_handler;	/* a handler is running */
};

/* A request answered later (control_defer); holds a reference to the
 * connection's memory (open_handles) until control_reply_done(). */
struct control_reply {
	struct conn	*c;
	json_int_t	 id;
	/* answered while the handler still ran: conn_request sends it */
	int		 ready;
	json_t		*result;
	int		 code;
	char		 msg[CONTROL_MAX_MSG];
};

/* One queued reply; the bytes follow the struct. */
struct wreq {
	uv_write_t	 req;		/* req.data = the conn */
	size_t		 len;
	char		 buf[];
};

struct control {
	uv_loop_t		*loop;
	uv_poll_t		 lpoll;		/* lpoll.data = this */
	uv_timer_t		 pause;		/* pause.data = this */
	int			 lfd;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct control_cmd *table;
	void			*ctx;
	struct conn		*conns;
	int			 nconns;
	int64_t			 idle_ms;
	int			 max_conns, max_per_uid;
	const struct authz	*authz;
	void			(*denied)(void *, const struct control_peer *,
				    const char *, json_t *);
	void			(*before)(void *);
	int			 open_handles;	/* ours + every conn's */
	int			 freeing;
	unsigned long		 npauses;	/* accept pauses, for tests */
	unsigned long		 nrefused;	/* connections turned away */
};

static void	conn_close(struct conn *);
static void	conn_process(struct conn *);
static void	conn_read_start(struct conn *);

static void
control_release(struct control *ctl)
{
	if (--ctl->open_handles == 0 && ctl->freeing)
		free(ctl);
}

/*
 * Probe path before binding: if someone answers, another daemon owns it and
 * we refuse; a socket nobody listens on (ECONNREFUSED) is a stale leftover
 * and is removed; anything that is not a socket is left alone.
 */
static int
control_probe(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, rc = -1;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket %s exists and is not a "
		    "socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		snprintf(err, errlen, "another remedyd is listening on %s",
		    path);
		goto out;
	}
	if (errno == ECONNREFUSED || errno == ENOENT) {
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove stale socket %s: "
			    "%s", path, strerror(errno));
			goto out;
		}
		log_info("removed stale control socket %s", path);
		rc = 0;
		goto out;
	}
	snprintf(err, errlen, "cannot probe control socket %s: %s", path,
	    strerror(errno));
out:
	close(fd);
	return rc;
}

/* Bind under umask 077 so the socket is never reachable by others, then
 * open it to the group with chmod 0660. */
static int
control_listen_fd(const char *path, const char *group, char *err,
    size_t errlen)
{
	struct group		 gr, *grp = NULL;
	char			 grbuf[16384];
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	old = umask(077);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (group != NULL) {
		if (getgrnam_r(group, &gr, grbuf, sizeof(grbuf), &grp) != 0 ||
		    grp == NULL) {
			snprintf(err, errlen, "control.group: no group \"%s\"",
			    group);
			unlink(path);
			goto fail;
		}
		if (chown(path, (uid_t)-1, gr.gr_gid) == -1) {
			snprintf(err, errlen, "chown %s to group %s: %s", path,
			    group, strerror(errno));
			unlink(path);
			goto fail;
		}
	}
	if (chmod(path, 0660) == -1) {
		snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	if (listen(fd, CONTROL_BACKLOG) == -1) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* The peer's credentials, read once; the user name falls back to the uid. */
static int
conn_peercred(const struct control *ctl, int fd, struct control_peer *peer)
{
	int		 named = 0;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		return -1;
	}
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	peer->pid = cred.pid;
	if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && strlen(pw.pw_name) < sizeof(peer->user)) {
		snprintf(peer->user, sizeof(peer->user), "%s", pw.pw_name);
		named = 1;
	} else
		snprintf(peer->user, sizeof(peer->user), "%lu",
		    (unsigned long)cred.uid);
	peer->role = authz_role(ctl->authz, cred.uid, cred.gid,
	    named ? peer->user : NULL);
	return 0;
}

/* Drop one reference (a handle, or a deferred reply); the last frees. */
static void
conn_unref(struct conn *c)
{
	struct control	*ctl = c->ctl;

	if (--c->open_handles > 0)
		return;
	free(c->in);
	free(c);
	control_release(ctl);
}

static void
conn_close_cb(uv_handle_t *h)
{
	conn_unref(h->data);
}

/* Start closing; the memory goes in conn_close_cb.  Safe to call twice. */
static void
conn_close(struct conn *c)
{
	struct control	*ctl = c->ctl;

	if (c->closing)
		return;
	c->closing = 1;
	log_debug("control: closed connection uid %lu pid %ld",
	    (unsigned long)c->peer.uid, (long)c->peer.pid);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nconns--;
	uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
	uv_close((uv_handle_t *)&c->idle, conn_close_cb);
}

static void
conn_idle_cb(uv_timer_t *t)
{
	struct conn	*c = t->data;

	log_debug("control: uid %lu pid %ld idle for %lld ms, closing",
	    (unsigned long)c->peer.uid, (long)c->peer.pid,
	    (long long)c->ctl->idle_ms);
	conn_close(c);
}

static void
conn_touch(struct conn *c)
{
	if (c->closing)
		return;
	if (c->watching)
		uv_timer_stop(&c->idle);
	else
		uv_timer_start(&c->idle, conn_idle_cb,
		    (uint64_t)c->ctl->idle_ms, 0);
}

/* Close when there is nothing more to say: the client is gone (EOF) or the
 * connection is doomed, and every reply has been written. */
static void
conn_maybe_finish(struct conn *c)
{
	if (c->closing || c->wqueued > 0 || c->deferred != NULL)
		return;
	if (c->doomed || (c->eof && memchr(c->in, '\n', c->inlen) == NULL))
		conn_close(c);
}

static void
conn_write_cb(uv_write_t *req, int status)
{
	struct wreq	*w = (struct wreq *)req;	/* req is first */
	struct conn	*c = req->data;

	c->wqueued -= w->len;
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		log_debug("control: write to pid %ld: %s", (long)c->peer.pid,
		    uv_strerror(status));
		conn_close(c);
		return;
	}
	conn_touch(c);
	if (c->wqueued < CONTROL_WBUF_LOW && !c->doomed) {
		/* Buffered lines waited for the output to drain. */
		conn_process(c);
		if (c->closing)
			return;
		if (!c->eof && c->wqueued <= CONTROL_WBUF_HIGH)
			conn_read_start(c);
	}
	conn_maybe_finish(c);
}

/*
 * Queue one reply.  A reply over PROTO_MAX_REPLY is replaced by an
 * "internal" error so a client never receives more than it accepts.
 */
static void
conn_send(struct conn *c, json_t *msg, json_int_t id)
{
	struct wreq	*w;
	uv_buf_t	 b;
	char		*line;
	size_t		 len;
	int		 r;

	line = proto_encode(msg, &len);
	if (line != NULL && len > PROTO_MAX_REPLY) {
		json_t *err = proto_reply_err(id, PROTO_EINTERNAL,
		    "reply of %zu bytes is over the limit of %d bytes", len,
		    PROTO_MAX_REPLY);
		free(line);
		line = err ? proto_encode(err, &len) : NULL;
		json_decref(err);
	}
	if (line == NULL || (w = malloc(sizeof(*w) + len)) == NULL) {
		log_warnx("control: out of memory for a reply to pid %ld",
		    (long)c->peer.pid);
		free(line);
		conn_close(c);
		return;
	}
	memcpy(w->buf, line, len);
	free(line);
	w->len = len;
	w->req.data = c;
	b = uv_buf_init(w->buf, (unsigned int)len);
	c->wqueued += len;
	if ((r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1,
	    conn_write_cb)) < 0) {
		c->wqueued -= len;
		free(w);
		log_debug("control: write: %s", uv_strerror(r));
		conn_close(c);
	}
}

static const struct control_cmd *
control_lookup(const struct control *ctl, const char *name)
{
	const struct control_cmd	*cmd;

	for (cmd = ctl->table; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	return NULL;
}

/* Printable ASCII without spaces, 1 to max bytes. */
static int
hello_word(json_t *v, size_t max)
{
	const char	*s = json_string_value(v);
	size_t		 i, n;

	if (s == NULL || (n = json_string_length(v)) == 0 || n > max ||
	    strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/*
 * The built-in command hello: {"agent": bool, "client": {"name",
 * "version"}}.  It changes only what the connection says about itself:
 * identity and role stay those of SO_PEERCRED, and "agent" can be set but
 * never cleared, so an agent cannot take back what it said.
 */
static json_t *
conn_hello(struct conn *c, json_t *args, int *code, char *msg,
    size_t msglen)
{
	json_t	*agent = json_object_get(args, "agent");
	json_t	*client = json_object_get(args, "client");
	json_t	*name = json_object_get(client, "name");
	json_t	*version = json_object_get(client, "version");

	*code = PROTO_EBADREQ;
	if (agent != NULL && !json_is_boolean(agent)) {
		snprintf(msg, msglen, "field \"agent\" must be true or false");
		return NULL;
	}
	if (client != NULL && (!json_is_object(client) ||
	    !hello_word(name, 48) || (version != NULL &&
	    !hello_word(version, 32)))) {
		snprintf(msg, msglen, "field \"client\" must be {\"name\", "
		    "\"version\"?}: printable ASCII without spaces, at most "
		    "48 and 32 bytes");
		return NULL;
	}
	if (json_is_true(agent))
		c->peer.agent = 1;
	if (client != NULL)
		snprintf(c->peer.client, sizeof(c->peer.client), "%s%s%s",
		    json_string_value(name), version ? "/" : "",
		    version ? json_string_value(version) : "");
	log_info("control: uid %lu (%s) pid %ld says hello%s%s%s",
	    (unsigned long)c->peer.uid, c->peer.user, (long)c->peer.pid,
	    c->peer.agent ? " as an agent" : "", c->peer.client[0] ? ", " :
	    "", c->peer.client);
	return json_pack("{s:{s:I, s:s, s:s}, s:b, s:s?}", "you", "uid",
	    (json_int_t)c->peer.uid, "user", c->peer.user, "role",
	    authz_role_name(c->peer.role), "agent", c->peer.agent, "client",
	    c->peer.client[0] ? c->peer.client : NULL);
}

/* Parse, dispatch and answer one request line (newline removed). */
static void
conn_request(struct conn *c, const char *line, size_t len)
{
	const struct control_cmd	*cmd;
	json_t				*root = NULL, *args, *result, *reply;
	json_int_t			 id;
	const char			*name;
	char				 msg[CONTROL_MAX_MSG];
	int				 code;

	code = proto_parse_request(line, len, &root, &id, &name, &args, msg,
	    sizeof(msg));
	if (code != PROTO_OK) {
		reply = proto_reply_err(id, code, "%s", msg);
		goto send;
	}
	if (strcmp(name, "hello") == 0) {
		msg[0] = '\0';
		if ((result = conn_hello(c, args, &code, msg, sizeof(msg))) !=
		    NULL)
			reply = proto_reply_ok(id, result);
		else
			reply = proto_reply_err(id, code, "%s", msg);
		goto send;
	}
	if ((cmd = control_lookup(c->ctl, name)) == NULL) {
		reply = proto_reply_err(id, PROTO_EUNKNOWN,
		    "unknown command \"%.64s\"", name);
		goto send;
	}
	/* An agent proposes; whatever its uid may do, it never decides. */
	if (c->peer.agent && (cmd->flags & CONTROL_DECIDES)) {
		log_notice("control: uid %lu (%s) denied %s: the connection "
		    "is an agent's", (unsigned long)c->peer.uid, c->peer.user,
		    cmd->name);
		if (c->ctl->denied != NULL)
			c->ctl->denied(c->ctl->ctx, &c->peer, cmd->name, args);
		reply = proto_reply_err(id, PROTO_EPERM, "permission denied: "
		    "%s is never allowed on an agent's connection (hello "
		    "agent); a human decides", cmd->name);
		goto send;
	}
	/* The one place a privileged verb is refused. */
	if (c->peer.role < cmd->role) {
		log_notice("control: uid %lu (%s) denied %s: role %s, needs %s",
		    (unsigned long)c->peer.uid, c->peer.user, cmd->name,
		    authz_role_name(c->peer.role), authz_role_name(cmd->role));
		if (c->ctl->denied != NULL)
			c->ctl->denied(c->ctl->ctx, &c->peer, cmd->name, args);
		reply = proto_reply_err(id, PROTO_EPERM, "permission denied: "
		    "%s needs role %s", cmd->name, authz_role_name(cmd->role));
		goto send;
	}
	code = PROTO_EINTERNAL;
	msg[0] = '\0';
	if (c->ctl->before != NULL)
		c->ctl->before(c->ctl->ctx);
	c->in_handler = 1;
	result = cmd->fn(c->ctl->ctx, &c->peer, args, &code, msg, sizeof(msg));
	c->in_handler = 0;
	if (result == NULL && code == CONTROL_DEFERRED && c->deferred != NULL) {
		struct control_reply *r = c->deferred;

		if (!r->ready) {
			/* answered later by control_reply_done() */
			r->id = id;
			json_decref(root);
			return;
		}
		/* answered before the handler returned */
		c->deferred = NULL;
		result = r->result;
		code = r->code;
		snprintf(msg, sizeof(msg), "%s", r->msg);
		free(r);
		c->open_handles--;	/* never the last: the handles hold it */
	}
	if (code == CONTROL_DEFERRED)
		code = PROTO_EINTERNAL;	/* deferred without a token */
	if (result != NULL) {
		reply = proto_reply_ok(id, result);
		if (reply != NULL && (cmd->flags & CONTROL_STREAM)) {
			c->watching = 1;
			c->watch_id = id;
		}
	} else {
		if (code == PROTO_OK)
			code = PROTO_EINTERNAL;
		reply = proto_reply_err(id, code, "%s", msg);
	}
send:
	json_decref(root);
	if (reply == NULL) {
		log_warnx("control: out of memory building a reply");
		conn_close(c);
		return;
	}
	conn_send(c, reply, id);
	json_decref(reply);
}

/*
 * Answer the complete lines in the input buffer, in order, while the unsent
 * output is under the high-water mark; what remains stays buffered.  A full
 * buffer without a newline is a line over PROTO_MAX_REQUEST: answer too_big
 * and close once that reply is written.
 */
static void
conn_process(struct conn *c)
{
	char	*nl;
	size_t	 n;

	while (!c->closing && !c->doomed && c->deferred == NULL &&
	    c->wqueued <= CONTROL_WBUF_HIGH) {
		if ((nl = memchr(c->in, '\n', c->inlen)) == NULL)
			break;
		n = (size_t)(nl - c->in);
		conn_request(c, c->in, n);
		memmove(c->in, nl + 1, c->inlen - n - 1);
		c->inlen -= n + 1;
	}
	if (c->closing || c->doomed || c->deferred != NULL)
		return;
	if (c->inlen == PROTO_MAX_REQUEST &&
	    memchr(c->in, '\n', c->inlen) == NULL) {
		json_t *reply = proto_reply_err(0, PROTO_ETOOBIG,
		    "request line over the limit of %d bytes",
		    PROTO_MAX_REQUEST);
		log_debug("control: pid %ld sent a line over %d bytes",
		    (long)c->peer.pid, PROTO_MAX_REQUEST);
		c->doomed = 1;
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = 0;
		if (reply != NULL)
			conn_send(c, reply, 0);
		json_decref(reply);
		conn_maybe_finish(c);
	}
}

static void
conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn	*c = h->data;

	/* Never more than the room left: the buffer is the line limit. */
	*buf = uv_buf_init(c->in + c->inlen,
	    (unsigned int)(PROTO_MAX_REQUEST - c->inlen));
}

static void
conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn	*c = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		uv_read_stop(s);
		c->reading = 0;
		if (nread != UV_EOF) {
			log_debug("control: read from pid %ld: %s",
			    (long)c->peer.pid, uv_strerror((int)nread));
			conn_close(c);
			return;
		}
		c->eof = 1;
		conn_process(c);
		conn_maybe_finish(c);
		return;
	}
	c->inlen += (size_t)nread;
	conn_touch(c);
	conn_process(c);
	if (c->closing)
		return;
	/* Backpressure: stop reading until the replies drain, or while a
	 * request waits for its deferred answer. */
	if (c->reading && (c->wqueued > CONTROL_WBUF_HIGH || c->doomed ||
	    c->deferred != NULL)) {
		uv_read_stop(s);
		c->reading = 0;
	}
}

static void
conn_read_start(struct conn *c)
{
	int	r;

	if (c->reading || c->closing || c->eof || c->doomed ||
	    c->deferred != NULL)
		return;
	if ((r = uv_read_start((uv_stream_t *)&c->pipe, conn_alloc_cb,
	    conn_read_cb)) < 0) {
		log_warnx("control: read start: %s", uv_strerror(r));
		conn_close(c);
		return;
	}
	c->reading = 1;
}

/* Over the connection limit: one error line, best effort, then close. */
static void
control_turn_away(int fd, int code, const char *why)
{
	json_t	*reply;
	char	*line;
	size_t	 len;

	reply = proto_reply_err(0, code, "%s", why);
	if (reply != NULL && (line = proto_encode(reply, &len)) != NULL) {
		(void)send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(line);
	}
	json_decref(reply);
	close(fd);
}

/* Count a refusal; log only the 1st, 2nd, 4th, 8th, ... so a flood of
 * connections cannot flood the log too. */
static int
refusal_logged(struct control *ctl)
{
	ctl->nrefused++;
	return (ctl->nrefused & (ctl->nrefused - 1)) == 0;
}

/* Connections of one uid open now. */
static int
control_count_uid(const struct control *ctl, uid_t uid)
{
	const struct conn	*c;
	int			 n = 0;

	for (c = ctl->conns; c != NULL; c = c->next)
		if (c->peer.uid == uid)
			n++;
	return n;
}

/*
 * Checks at accept, cheapest first: the total cap, the peer's role (a
 * peer with none is refused here, before it can hold a slot), the cap per
 * uid.  Each refusal is one error line and a close.
 */
static void
control_accept_one(struct control *ctl, int fd)
{
	struct control_peer	 peer;
	struct conn		*c;
	char			 why[256];
	int			 r;

	if (ctl->nconns >= ctl->max_conns) {
		if (refusal_logged(ctl))
			log_warnx("control: %d connections open, turning one "
			    "away (%lu so far)", ctl->nconns, ctl->nrefused);
		snprintf(why, sizeof(why), "too many control connections "
		    "(limit %d); try again later", ctl->max_conns);
		control_turn_away(fd, PROTO_EINTERNAL, why);
		return;
	}
	/* Refusals cost no allocation: decide before the buffers exist. */
	memset(&peer, 0, sizeof(peer));
	if (conn_peercred(ctl, fd, &peer) == -1) {
		close(fd);
		return;
	}
	why[0] = '\0';
	if (peer.role == AUTHZ_NONE) {
		log_notice("control: uid %lu (%s) pid %ld has no role; refused",
		    (unsigned long)peer.uid, peer.user, (long)peer.pid);
		snprintf(why, sizeof(why), "permission denied: uid %lu (%s) "
		    "has no role on this remedyd (control.viewers, "
		    "control.approvers)", (unsigned long)peer.uid, peer.user);
		control_turn_away(fd, PROTO_EPERM, why);
		return;
	}
	if (control_count_uid(ctl, peer.uid) >= ctl->max_per_uid) {
		if (refusal_logged(ctl))
			log_warnx("control: uid %lu has %d connections open, "
			    "turning one away (%lu so far)",
			    (unsigned long)peer.uid, ctl->max_per_uid,
			    ctl->nrefused);
		snprintf(why, sizeof(why), "too many control connections for "
		    "uid %lu (limit %d); try again later",
		    (unsigned long)peer.uid, ctl->max_per_uid);
		control_turn_away(fd, PROTO_EINTERNAL, why);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->in = malloc(PROTO_MAX_REQUEST)) == NULL) {
		log_warnx("control: out of memory accepting a connection");
		if (c)
			free(c);
		close(fd);
		return;
	}
	c->peer = peer;
	c->peer.conn = c;
	c->ctl = ctl;
	c->pipe.data = c;
	c->idle.data = c;
	uv_pipe_init(ctl->loop, &c->pipe, 0);
	uv_timer_init(ctl->loop, &c->idle);
	c->open_handles = 2;
	ctl->open_handles++;
	c->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = c;
	ctl->conns = c;
	ctl->nconns++;
	if ((r = uv_pipe_open(&c->pipe, fd)) < 0) {
		log_warnx("control: uv_pipe_open: %s", uv_strerror(r));
		close(fd);
		conn_close(c);
		return;
	}
	log_debug("control: accepted connection uid %lu (%s) pid %ld",
	    (unsigned long)c->peer.uid, c->peer.user, (long)c->peer.pid);
	conn_touch(c);
	conn_read_start(c);
}

static void	control_poll_cb(uv_poll_t *, int, int);

static void
control_pause_cb(uv_timer_t *t)
{
	struct control	*ctl = t->data;

	if (!ctl->freeing)
		uv_poll_start(&ctl->lpoll, UV_READABLE, control_poll_cb);
}

/*
 * Accept everything waiting.  Out of descriptors: stop watching the listener
 * for CONTROL_PAUSE_MS rather than spin on a socket that stays readable.
 */
static void
control_poll_cb(uv_poll_t *p, int status, int events)
{
	struct control	*ctl = p->data;
	int		 fd;

	if (status < 0) {
		log_warnx("control: listener: %s", uv_strerror(status));
		return;
	}
	for (;;) {
		fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("control: accept; pausing for %d ms",
				    CONTROL_PAUSE_MS);
				ctl->npauses++;
				uv_poll_stop(&ctl->lpoll);
				uv_timer_start(&ctl->pause, control_pause_cb,
				    CONTROL_PAUSE_MS, 0);
				return;
			}
			log_warn("control: accept");
			return;
		}
		control_accept_one(ctl, fd);
	}
}

struct control *
control_new(uv_loop_t *loop, const struct control_opts *opts,
    const struct control_cmd *table, void *ctx, char *err, size_t errlen)
{
	struct control	*ctl = NULL;
	const char	*path = opts->path;
	int		 fd = -1, r;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "control socket path is empty");
		goto fail;
	}
	if (strlen(path) >= sizeof(ctl->path)) {
		snprintf(err, errlen, "control socket path %s is longer than "
		    "%zu bytes", path, sizeof(ctl->path) - 1);
		goto fail;
	}
	if (control_probe(path, err, errlen) == -1)
		goto fail;
	if ((fd = control_listen_fd(path, opts->group, err, errlen)) == -1)
		goto fail;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		unlink(path);
		goto fail;
	}
	ctl->loop = loop;
	ctl->lfd = fd;
	ctl->table = table;
	ctl->ctx = ctx;
	ctl->idle_ms = opts->idle_ms > 0 ? opts->idle_ms : CONTROL_IDLE_MS;
	ctl->max_conns = opts->max_conns > 0 ? opts->max_conns :
	    CONTROL_MAX_CONNS;
	ctl->max_per_uid = opts->max_per_uid > 0 ? opts->max_per_uid :
	    CONTROL_MAX_PER_UID;
	ctl->authz = opts->authz;
	ctl->denied = opts->denied;
	ctl->before = opts->before;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	if ((r = uv_poll_init(loop, &ctl->lpoll, fd)) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    uv_strerror(r));
		unlink(path);
		goto fail;
	}
	ctl->lpoll.data = ctl;
	ctl->pause.data = ctl;
	uv_timer_init(loop, &ctl->pause);
	ctl->open_handles = 2;
	uv_poll_start(&ctl->lpoll, UV_READABLE, control_poll_cb);
	log_debug("control: listening on %s", path);
	return ctl;
fail:
	if (fd != -1)
		close(fd);
	free(ctl);
	return NULL;
}

static void
control_lpoll_close_cb(uv_handle_t *h)
{
	struct control	*ctl = h->data;

	/* The descriptor may be closed only once libuv stopped polling it. */
	close(ctl->lfd);
	ctl->lfd = -1;
	control_release(ctl);
}

static void
control_pause_close_cb(uv_handle_t *h)
{
	control_release(h->data);
}

void
control_broadcast(struct control *ctl, const char *event, json_t *data)
{
	struct conn	*c, *next;
	json_t		*msg;

	for (c = ctl->conns; c != NULL; c = next) {
		next = c->next;
		if (!c->watching || c->closing || c->doomed)
			continue;
		if (c->wqueued > CONTROL_WBUF_HIGH) {
			log_warnx("control: uid %lu pid %ld does not read its "
			    "watch events; closing", (unsigned long)c->peer.uid,
			    (long)c->peer.pid);
			conn_close(c);
			continue;
		}
		msg = json_pack("{s:i, s:I, s:s, s:O}", "v", PROTO_VERSION,
		    "id", c->watch_id, "event", event, "data", data);
		if (msg == NULL)
			continue;
		conn_send(c, msg, c->watch_id);
		json_decref(msg);
	}
}

struct control_reply *
control_defer(const struct control_peer *peer)
{
	struct conn		*c = peer->conn;
	struct control_reply	*r;

	if (c == NULL || c->deferred != NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->c = c;
	c->open_handles++;
	c->deferred = r;
	return r;
}

void
control_reply_done(struct control_reply *r, json_t *result, int code,
    const char *msg)
{
	struct conn	*c = r->c;
	json_t		*reply;

	if (c->in_handler && c->deferred == r) {
		r->ready = 1;
		r->result = result;
		r->code = code > 0 ? code : PROTO_EINTERNAL;
		snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "failed");
		return;
	}
	c->deferred = NULL;
	if (c->closing) {
		json_decref(result);
		goto out;
	}
	if (result != NULL)
		reply = proto_reply_ok(r->id, result);
	else
		reply = proto_reply_err(r->id, code > 0 ? code :
		    PROTO_EINTERNAL, "%s", msg ? msg : "failed");
	if (reply == NULL) {
		log_warnx("control: out of memory building a reply");
		conn_close(c);
		goto out;
	}
	conn_send(c, reply, r->id);
	json_decref(reply);
	/* the lines that waited behind it */
	conn_process(c);
	if (!c->closing && c->wqueued <= CONTROL_WBUF_HIGH)
		conn_read_start(c);
	conn_maybe_finish(c);
out:
	free(r);
	conn_unref(c);
}

int
control_nconns(const struct control *ctl)
{
	return ctl->nconns;
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL || ctl->freeing)
		return;
	ctl->freeing = 1;
	unlink(ctl->path);
	while (ctl->conns != NULL)
		conn_close(ctl->conns);
	uv_close((uv_handle_t *)&ctl->lpoll, control_lpoll_close_cb);
	uv_close((uv_handle_t *)&ctl->pause, control_pause_close_cb);
}

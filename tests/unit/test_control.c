/*
 * test_control.c - the control socket server over real Unix sockets.
 *
 * A child process runs a libuv loop with control_new() and a small command
 * table; the parent connects as a client.  The child stops on SIGTERM,
 * calls control_free() and reports through its exit status whether
 * uv_loop_close() found no handle left behind.
 */
#define _GNU_SOURCE		/* control.c needs struct ucred and accept4() */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../daemon/control.c"
#include "../../daemon/commands.c"
#include "store/store.h"
#include "t.h"
#include "base/util.h"

#define DEADLINE_MS	10000

static char	 sockpath[108];
static char	 tmpdir[64];
static char	 dbpath[128];
static char	 approvedpath[128];
static char	 deniedpath[128];
static int	 with_store;	/* the child serves remedyd_commands */
static int	 two_person;	/* ... with the two-person rule */
static struct control_opts child_opts;
static struct authz	 child_authz;

/* --- the child: a daemon with a test table --- */

static json_t *
cmd_echo(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	return json_pack("{s:O, s:I, s:s, s:I}", "args", args,
	    "uid", (json_int_t)peer->uid, "user", peer->user,
	    "pid", (json_int_t)peer->pid);
}

static json_t *
cmd_fail(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	*code = PROTO_ENOTFOUND;
	snprintf(msg, msglen, "no action 42");
	return NULL;
}

/*
 * "hog" uses up every descriptor (under a lowered limit) so the next accept
 * fails with EMFILE; "release" gives them back; "stats" reports how often
 * accepting paused.
 */
#define HOG_LIMIT	256
static int		 hog_fds[HOG_LIMIT];
static int		 nhog;
static struct control	*child_ctl;

static json_t *
cmd_hog(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct rlimit	rl;
	int		fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > HOG_LIMIT) {
		rl.rlim_cur = HOG_LIMIT;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	while (nhog < HOG_LIMIT && (fd = dup(0)) != -1)
		hog_fds[nhog++] = fd;
	return json_pack("{s:i}", "hogged", nhog);
}

static json_t *
cmd_release(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	while (nhog > 0)
		close(hog_fds[--nhog]);
	return json_object();
}

static json_t *
cmd_stats(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	return json_pack("{s:I}", "pauses", (json_int_t)child_ctl->npauses);
}

static json_t *
cmd_watch_test(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	return json_pack("{s:b}", "watching", 1);
}

/* Broadcast args as a "pending" event, args.n times (default once). */
static json_t *
cmd_poke(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	json_int_t	i, n = json_int_at(args, "n", 1);

	for (i = 0; i < n; i++)
		control_broadcast(child_ctl, "pending", args);
	return json_pack("{s:i}", "conns", control_nconns(child_ctl));
}

/*
 * Deferred answers (control_defer): "later" answers args.ms after it was
 * asked (an error when args.fail), from a timer; "at_once" defers and
 * answers before its handler returns.
 */
static uv_loop_t	*child_loop;

struct later {
	uv_timer_t		 t;	/* t.data = this */
	struct control_reply	*r;
	json_int_t		 n;
	int			 fail;
};

static void
later_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
later_fire(uv_timer_t *t)
{
	struct later	*l = t->data;

	if (l->fail)
		control_reply_done(l->r, NULL, PROTO_ENOTFOUND, "gone later");
	else
		control_reply_done(l->r, json_pack("{s:I}", "later", l->n), 0,
		    NULL);
	uv_close((uv_handle_t *)&l->t, later_closed);
}

static json_t *
cmd_later(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct later	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->r = control_defer(peer)) == NULL) {
		free(l);
		snprintf(msg, msglen, "cannot defer");
		return NULL;
	}
	l->n = json_int_at(args, "n", 0);
	l->fail = json_is_true(json_object_get(args, "fail"));
	l->t.data = l;
	uv_timer_init(child_loop, &l->t);
	uv_timer_start(&l->t, later_fire, (uint64_t)json_int_at(args, "ms",
	    100), 0);
	*code = CONTROL_DEFERRED;
	return NULL;
}

static json_t *
cmd_at_once(void *ctx, const struct control_peer *peer, json_t *args,
    int *code, char *msg, size_t msglen)
{
	struct control_reply	*r;

	if ((r = control_defer(peer)) == NULL) {
		snprintf(msg, msglen, "cannot defer");
		return NULL;
	}
	control_reply_done(r, json_pack("{s:b}", "at_once", 1), 0, NULL);
	*code = CONTROL_DEFERRED;
	return NULL;
}

static void
child_denied(void *ctx, const struct control_peer *peer, const char *cmd,
    json_t *args)
{
	FILE	*fp;

	if ((fp = fopen(deniedpath, "a")) != NULL) {
		fprintf(fp, "%s %lu\n", cmd, (unsigned long)peer->uid);
		fclose(fp);
	}
}

static const struct control_cmd test_table[] = {
	{ "echo", cmd_echo, AUTHZ_VIEWER, 0 },
	{ "fail", cmd_fail, AUTHZ_VIEWER, 0 },
	{ "hog", cmd_hog, AUTHZ_VIEWER, 0 },
	{ "release", cmd_release, AUTHZ_VIEWER, 0 },
	{ "stats", cmd_stats, AUTHZ_VIEWER, 0 },
	{ "decide", cmd_echo, AUTHZ_APPROVER, 0 },
	{ "watch", cmd_watch_test, AUTHZ_VIEWER, CONTROL_STREAM },
	{ "poke", cmd_poke, AUTHZ_VIEWER, 0 },
	{ "verdict", cmd_echo, AUTHZ_VIEWER, CONTROL_DECIDES },
	{ "later", cmd_later, AUTHZ_VIEWER, 0 },
	{ "at_once", cmd_at_once, AUTHZ_VIEWER, 0 },
	{ NULL, NULL, 0, 0 }
};

struct child_state {
	struct control	*ctl;
	uv_signal_t	 sig;
};

static int
child_synced(void *arg)
{
	return 1;
}

/* Record every approved id so the parent can check the callback ran. */
static void
child_approved(void *arg, int64_t id)
{
	FILE	*fp;

	if ((fp = fopen(approvedpath, "a")) != NULL) {
		fprintf(fp, "%lld\n", (long long)id);
		fclose(fp);
	}
}

static void
child_sig_cb(uv_signal_t *s, int signum)
{
	struct child_state	*st = s->data;

	control_free(st->ctl);
	st->ctl = NULL;
	uv_close((uv_handle_t *)s, NULL);
}

/*
 * Start the server, then try a second one on the same live path; write the
 * second attempt's error (or "FIRST: why") to the pipe so the parent can
 * check both.  Exit 0 only if the loop closes with no handle left.
 */
static void
child_main(int wfd)
{
	struct child_state	 st;
	struct cmd_ctx		 cx;
	uv_loop_t		 loop;
	struct control		*second;
	const struct control_cmd *table = test_table;
	void			*ctx = NULL;
	char			 err[256], line[300];
	int			 rc;

	uv_loop_init(&loop);
	child_loop = &loop;
	memset(&cx, 0, sizeof(cx));
	if (with_store) {
		if ((cx.store = store_open(dbpath, err, sizeof(err))) == NULL) {
			snprintf(line, sizeof(line), "FIRST: %s\n", err);
			(void)write(wfd, line, strlen(line));
			_exit(13);
		}
		cx.started_ms = now_ms();
		cx.synced = child_synced;
		cx.approved = child_approved;
		cx.two_person = two_person;
		table = remedyd_commands;
		ctx = &cx;
	}
	child_opts.path = sockpath;
	child_opts.denied = with_store ? cmd_denied : child_denied;
	st.ctl = control_new(&loop, &child_opts, table, ctx, err, sizeof(err));
	child_ctl = st.ctl;
	cx.control = st.ctl;
	if (st.ctl == NULL) {
		snprintf(line, sizeof(line), "FIRST: %s\n", err);
		(void)write(wfd, line, strlen(line));
		_exit(10);
	}
	err[0] = '\0';
	second = control_new(&loop, &child_opts, test_table, NULL, err,
	    sizeof(err));
	if (second != NULL) {
		(void)write(wfd, "SECOND STARTED\n", 15);
		_exit(11);
	}
	snprintf(line, sizeof(line), "%s\n", err);
	(void)write(wfd, line, strlen(line));
	close(wfd);
	st.sig.data = &st;
	uv_signal_init(&loop, &st.sig);
	uv_signal_start(&st.sig, child_sig_cb, SIGTERM);
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&loop) == 0 ? 0 : 12;
	if (cx.store != NULL)
		store_close(cx.store);
	_exit(rc);
}

/* --- the parent: a client --- */

static int
client_connect(void)
{
	struct sockaddr_un	sun;
	int			fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Per-connection read buffer so pipelined replies are split correctly. */
struct rbuf {
	char	data[1 << 20];
	size_t	len;
};

static struct rbuf	rb;

/*
 * Read one reply line within the deadline.  Returns the parsed object, or
 * NULL on timeout, EOF or garbage; *closed is set when the server closed.
 */
static json_t *
read_reply(int fd, struct rbuf *r, int *closed)
{
	struct pollfd	 pfd;
	char		*nl;
	json_t		*v;
	ssize_t		 n;
	int64_t		 deadline = mono_ms() + DEADLINE_MS;

	if (closed)
		*closed = 0;
	for (;;) {
		if ((nl = memchr(r->data, '\n', r->len)) != NULL) {
			v = json_loadb(r->data, (size_t)(nl - r->data), 0,
			    NULL);
			r->len -= (size_t)(nl - r->data) + 1;
			memmove(r->data, nl + 1, r->len);
			return v;
		}
		if (mono_ms() >= deadline || r->len == sizeof(r->data))
			return NULL;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - mono_ms())) <= 0)
			continue;
		n = recv(fd, r->data + r->len, sizeof(r->data) - r->len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (closed)
				*closed = 1;
			return NULL;
		}
		r->len += (size_t)n;
	}
}

/* Wait (with the deadline) until the server closes the connection. */
static int
wait_closed(int fd)
{
	struct pollfd	pfd;
	char		buf[4096];
	ssize_t		n;
	int64_t		deadline = mono_ms() + DEADLINE_MS;

	while (mono_ms() < deadline) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - mono_ms())) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return 1;
		if (n == -1 && errno != EINTR)
			return 0;
	}
	return 0;
}

static json_t *
roundtrip(int fd, const char *line)
{
	rb.len = 0;
	if (send_all(fd, line, strlen(line)) == -1)
		return NULL;
	return read_reply(fd, &rb, NULL);
}

static const char *
err_code(json_t *reply)
{
	return json_str_at(reply, "error.code");
}

static const char *
err_msg(json_t *reply)
{
	return json_str_at(reply, "error.message");
}

static pid_t
start_child(char *first_line, size_t len)
{
	int	 p[2];
	pid_t	 pid;
	ssize_t	 n;
	size_t	 off = 0;

	if (pipe(p) == -1)
		abort();
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		close(p[0]);
		child_main(p[1]);
	}
	close(p[1]);
	first_line[0] = '\0';
	while (off + 1 < len &&
	    (n = read(p[0], first_line + off, len - off - 1)) > 0) {
		off += (size_t)n;
		if (memchr(first_line, '\n', off) != NULL)
			break;
	}
	first_line[off] = '\0';
	if (off > 0 && first_line[off - 1] == '\n')
		first_line[off - 1] = '\0';
	close(p[0]);
	return pid;
}

static int
stop_child(pid_t pid)
{
	int	status;

	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A socket file left behind by a process that exited without cleaning up. */
static void
make_stale_socket(void)
{
	struct sockaddr_un	sun;
	pid_t			pid;
	int			fd, status;

	if ((pid = fork()) == 0) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
		_exit(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
		    listen(fd, 1) == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_requests(int fd)
{
	struct passwd	*pw = getpwuid(getuid());
	json_t		*r;

	r = roundtrip(fd, "{\"v\":1,\"id\":1,\"cmd\":\"echo\","
	    "\"args\":{\"x\":\"y\"}}\n");
	CHECK(r != NULL);
	CHECK(json_is_true(json_object_get(r, "ok")));
	CHECK_INT(json_int_at(r, "id", -1), 1);
	CHECK_INT(json_int_at(r, "v", -1), 1);
	CHECK_INT(json_int_at(r, "result.uid", -1), getuid());
	CHECK_INT(json_int_at(r, "result.pid", -1), getpid());
	if (pw != NULL)
		CHECK_STR(json_str_at(r, "result.user"), pw->pw_name);
	CHECK_STR(json_str_at(r, "result.args.x"), "y");
	json_decref(r);

	r = roundtrip(fd, "{\"v\":1,\"id\":2,\"cmd\":\"echo\",}\n");
	CHECK_STR(err_code(r), "bad_request");
	CHECK(err_msg(r) && strncmp(err_msg(r), "invalid JSON at column 28",
	    25) == 0);
	CHECK_INT(json_int_at(r, "id", -1), 0);
	json_decref(r);

	r = roundtrip(fd, "{\"v\":2,\"id\":3,\"cmd\":\"echo\"}\n");
	CHECK_STR(err_code(r), "version");
	CHECK_STR(err_msg(r), "protocol version 2 not supported "
	    "(this daemon speaks 1)");
	CHECK_INT(json_int_at(r, "id", -1), 3);
	json_decref(r);

	r = roundtrip(fd, "{\"v\":1,\"id\":4,\"cmd\":\"frobnicate\"}\n");
	CHECK_STR(err_code(r), "unknown_command");
	CHECK_STR(err_msg(r), "unknown command \"frobnicate\"");
	json_decref(r);

	r = roundtrip(fd, "{\"v\":1,\"id\":5,\"cmd\":\"fail\"}\n");
	CHECK_STR(err_code(r), "not_found");
	CHECK_STR(err_msg(r), "no action 42");
	CHECK(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
}

static void
test_pipelined(int fd)
{
	const char	*three =
	    "{\"v\":1,\"id\":11,\"cmd\":\"echo\",\"args\":{\"n\":1}}\n"
	    "{\"v\":1,\"id\":12,\"cmd\":\"fail\"}\n"
	    "{\"v\":1,\"id\":13,\"cmd\":\"echo\",\"args\":{\"n\":3}}\n";
	json_t		*r;

	rb.len = 0;
	CHECK(send_all(fd, three, strlen(three)) == 0);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 11);
	CHECK_INT(json_int_at(r, "result.args.n", -1), 1);
	json_decref(r);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 12);
	CHECK_STR(err_code(r), "not_found");
	json_decref(r);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 13);
	CHECK_INT(json_int_at(r, "result.args.n", -1), 3);
	json_decref(r);
}

/* A request of exactly PROTO_MAX_REQUEST bytes, newline included. */
static void
test_largest_line(int fd)
{
	const char	*head = "{\"v\":1,\"id\":21,\"cmd\":\"echo\",\"args\":"
	    "{\"pad\":\"";
	char		*buf;
	size_t		 n = strlen(head);
	json_t		*r;

	buf = malloc(PROTO_MAX_REQUEST + 1);
	memcpy(buf, head, n);
	memset(buf + n, 'p', PROTO_MAX_REQUEST - n - 4);
	memcpy(buf + PROTO_MAX_REQUEST - 4, "\"}}\n", 4);
	buf[PROTO_MAX_REQUEST] = '\0';
	r = roundtrip(fd, buf);
	CHECK(json_is_true(json_object_get(r, "ok")));
	CHECK_INT(json_int_at(r, "id", -1), 21);
	CHECK_INT(json_string_length(json_at(r, "result.args.pad")),
	    PROTO_MAX_REQUEST - n - 4);
	json_decref(r);
	free(buf);
}

static void
test_too_big(void)
{
	char	*buf;
	json_t	*r;
	int	 fd, closed;

	CHECK((fd = client_connect()) != -1);
	/* One byte over: 65536 bytes and no newline yet. */
	buf = malloc(PROTO_MAX_REQUEST + 100);
	memset(buf, 'x', PROTO_MAX_REQUEST + 100);
	buf[PROTO_MAX_REQUEST + 99] = '\n';
	rb.len = 0;
	(void)send_all(fd, buf, PROTO_MAX_REQUEST + 100);
	r = read_reply(fd, &rb, &closed);
	CHECK_STR(err_code(r), "too_big");
	CHECK(err_msg(r) && strstr(err_msg(r), "65536") != NULL);
	json_decref(r);
	CHECK(wait_closed(fd));
	close(fd);
	free(buf);
}

/*
 * A client that sends without reading: once CONTROL_WBUF_HIGH bytes of
 * replies are queued the server stops reading, so the client's sends stall
 * well before everything is out; reading the replies lets it go on, and every
 * reply arrives, in order.
 */
static void
test_backpressure(void)
{
	enum { NREQ = 100, PAD = 60000 };
	struct pollfd	 pfd;
	char		*line;
	size_t		 len, off = 0, total, sent = 0, stalled_at = 0;
	int		 fd, next_id = 1, order_ok = 1, r;
	json_t		*reply;
	int64_t		 deadline = mono_ms() + 4 * DEADLINE_MS;

	CHECK((fd = client_connect()) != -1);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	line = malloc(PAD + 100);
	len = (size_t)snprintf(line, PAD + 100, "{\"v\":1,\"id\":0,\"cmd\":"
	    "\"echo\",\"args\":{\"pad\":\"%0*d\"}}\n", PAD, 0);
	total = len * NREQ;
	rb.len = 0;
	/* Phase 1: send only, until the socket stays unwritable. */
	while (sent < total) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			off = (off + (size_t)n) % len;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if ((r = poll(&pfd, 1, 500)) == 0) {
			stalled_at = sent;
			break;
		}
	}
	CHECK(stalled_at > CONTROL_WBUF_HIGH / 2);
	CHECK(stalled_at < total / 2);
	/* Phase 2: read replies and send the rest. */
	while ((sent < total || next_id <= NREQ) && mono_ms() < deadline) {
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && sent < total) {
			ssize_t n = send(fd, line + off, len - off,
			    MSG_NOSIGNAL);
			if (n > 0) {
				sent += (size_t)n;
				off = (off + (size_t)n) % len;
			}
		}
		if (pfd.revents & POLLIN) {
			ssize_t n = recv(fd, rb.data + rb.len,
			    sizeof(rb.data) - rb.len, 0);
			char *nl;
			if (n <= 0)
				break;
			rb.len += (size_t)n;
			while ((nl = memchr(rb.data, '\n', rb.len)) != NULL) {
				reply = json_loadb(rb.data,
				    (size_t)(nl - rb.data), 0, NULL);
				if (!json_is_true(json_object_get(reply, "ok")) ||
				    json_string_length(json_at(reply,
				    "result.args.pad")) != PAD)
					order_ok = 0;
				json_decref(reply);
				next_id++;
				rb.len -= (size_t)(nl - rb.data) + 1;
				memmove(rb.data, nl + 1, rb.len);
			}
		}
	}
	CHECK_INT(sent, total);
	CHECK_INT(next_id - 1, NREQ);
	CHECK(order_ok);
	free(line);
	close(fd);
}

/*
 * Out of descriptors, the server stops accepting for a while instead of
 * spinning or dropping the client: the waiting client is served once
 * descriptors are free again.
 */
static void
test_emfile(void)
{
	json_t	*r;
	int	 a, b, paused = 0;
	int64_t	 deadline;

	CHECK((a = client_connect()) != -1);
	r = roundtrip(a, "{\"v\":1,\"id\":1,\"cmd\":\"hog\"}\n");
	CHECK(json_int_at(r, "result.hogged", 0) > 0);
	json_decref(r);
	/* Queued in the backlog; the server cannot accept it yet. */
	CHECK((b = client_connect()) != -1);
	deadline = mono_ms() + DEADLINE_MS;
	while (!paused && mono_ms() < deadline) {
		r = roundtrip(a, "{\"v\":1,\"id\":2,\"cmd\":\"stats\"}\n");
		paused = json_int_at(r, "result.pauses", 0) > 0;
		json_decref(r);
	}
	CHECK(paused);
	r = roundtrip(a, "{\"v\":1,\"id\":3,\"cmd\":\"release\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = roundtrip(b, "{\"v\":1,\"id\":4,\"cmd\":\"echo\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	CHECK_INT(json_int_at(r, "id", -1), 4);
	json_decref(r);
	/* One pause per second at most: no spinning on the listener. */
	r = roundtrip(a, "{\"v\":1,\"id\":5,\"cmd\":\"stats\"}\n");
	CHECK(json_int_at(r, "result.pauses", 0) <= 3);
	json_decref(r);
	close(a);
	close(b);
}

/* CONTROL_MAX_CONNS clients are served; the next one is turned away. */
static void
test_conn_limit(void)
{
	int	 fds[CONTROL_MAX_CONNS], fd, i, tries, ok = 0, got;
	json_t	*r;

	/* Earlier clients' closes may not have been seen yet: retry. */
	for (i = 0; i < CONTROL_MAX_CONNS; i++) {
		for (tries = 0, got = 0; tries < 200 && !got; tries++) {
			fds[i] = client_connect();
			r = roundtrip(fds[i],
			    "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n");
			got = json_is_true(json_object_get(r, "ok"));
			json_decref(r);
			if (!got) {
				close(fds[i]);
				usleep(10000);
			}
		}
		ok += got;
	}
	CHECK_INT(ok, CONTROL_MAX_CONNS);
	CHECK((fd = client_connect()) != -1);
	rb.len = 0;
	r = read_reply(fd, &rb, NULL);
	CHECK_STR(err_code(r), "internal");
	CHECK(err_msg(r) && strstr(err_msg(r), "too many") != NULL);
	json_decref(r);
	CHECK(wait_closed(fd));
	close(fd);
	for (i = 0; i < CONTROL_MAX_CONNS; i++)
		close(fds[i]);
	/* The slots come back once the server saw the closes. */
	ok = 0;
	for (i = 0; i < 200 && !ok; i++) {
		fd = client_connect();
		r = roundtrip(fd, "{\"v\":1,\"id\":9,\"cmd\":\"echo\"}\n");
		ok = json_is_true(json_object_get(r, "ok"));
		json_decref(r);
		close(fd);
		if (!ok)
			usleep(10000);
	}
	CHECK(ok);
}

/* --- policy: roles, per-uid cap, idle timeout, watch --- */

#define POLICY_IDLE_MS	1000
#define POLICY_PER_UID	3

static char *
slurp(const char *path)
{
	char	*buf = NULL, err[256];
	size_t	 len;

	if (read_file(path, 1 << 20, &buf, &len, err, sizeof(err)) == -1)
		return NULL;
	return buf;
}

/* Run as root with root's role lowered to viewer by the policy. */
static void
test_roles(void)
{
	json_t	*r;
	char	*denied, want[64];
	int	 fd;

	fd = client_connect();
	r = roundtrip(fd, "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = roundtrip(fd, "{\"v\":1,\"id\":2,\"cmd\":\"decide\","
	    "\"args\":{\"id\":3}}\n");
	CHECK_STR(err_code(r), "permission_denied");
	CHECK_STR(err_msg(r), "permission denied: decide needs role approver");
	CHECK_INT(json_int_at(r, "id", -1), 2);
	json_decref(r);
	/* the refusal went through the hook, and the connection lives on */
	r = roundtrip(fd, "{\"v\":1,\"id\":3,\"cmd\":\"echo\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(fd);
	denied = slurp(deniedpath);
	snprintf(want, sizeof(want), "decide %lu\n", (unsigned long)getuid());
	CHECK_STR(denied, want);
	free(denied);
}

static void
test_per_uid(void)
{
	int	 fds[POLICY_PER_UID], fd, i, tries, got;
	json_t	*r;

	for (i = 0; i < POLICY_PER_UID; i++) {
		/* earlier clients' closes may not have been seen yet */
		for (tries = 0, got = 0; tries < 200 && !got; tries++) {
			fds[i] = client_connect();
			r = roundtrip(fds[i],
			    "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n");
			got = json_is_true(json_object_get(r, "ok"));
			json_decref(r);
			if (!got) {
				close(fds[i]);
				usleep(10000);
			}
		}
		CHECK(got);
	}
	CHECK((fd = client_connect()) != -1);
	rb.len = 0;
	r = read_reply(fd, &rb, NULL);
	CHECK_STR(err_code(r), "internal");
	CHECK(err_msg(r) && strstr(err_msg(r), "too many control connections "
	    "for uid") != NULL);
	json_decref(r);
	CHECK(wait_closed(fd));
	close(fd);
	for (i = 0; i < POLICY_PER_UID; i++)
		close(fds[i]);
}

/* A silent connection is closed after the idle timeout, not before. */
static void
test_idle(void)
{
	int64_t	start;
	int	fd, tries;
	json_t	*r = NULL;

	/* wait until the per-uid slots are free again */
	for (tries = 0; tries < 200; tries++) {
		fd = client_connect();
		r = roundtrip(fd, "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n");
		if (json_is_true(json_object_get(r, "ok")))
			break;
		json_decref(r);
		r = NULL;
		close(fd);
		usleep(10000);
	}
	CHECK(r != NULL);
	json_decref(r);
	start = mono_ms();
	CHECK(wait_closed(fd));
	CHECK(mono_ms() - start >= POLICY_IDLE_MS - 50);
	printf("idle connection closed after %lld ms (idle_timeout %d ms)\n",
	    (long long)(mono_ms() - start), POLICY_IDLE_MS);
	close(fd);
}

static void
test_watch(void)
{
	struct rbuf	*wr;
	json_t		*r;
	int		 w, quiet, fd, i, closed = 0;

	wr = calloc(1, sizeof(*wr));
	w = client_connect();
	CHECK(send_all(w, "{\"v\":1,\"id\":77,\"cmd\":\"watch\"}\n",
	    strlen("{\"v\":1,\"id\":77,\"cmd\":\"watch\"}\n")) == 0);
	r = read_reply(w, wr, NULL);
	CHECK(json_is_true(json_at(r, "result.watching")));
	json_decref(r);
	/* a watcher that stops reading */
	quiet = client_connect();
	CHECK(send_all(quiet, "{\"v\":1,\"id\":5,\"cmd\":\"watch\"}\n",
	    strlen("{\"v\":1,\"id\":5,\"cmd\":\"watch\"}\n")) == 0);

	fd = client_connect();
	r = roundtrip(fd, "{\"v\":1,\"id\":1,\"cmd\":\"poke\","
	    "\"args\":{\"x\":1}}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(fd);
	r = read_reply(w, wr, NULL);
	CHECK_INT(json_int_at(r, "v", 0), PROTO_VERSION);
	CHECK_INT(json_int_at(r, "id", 0), 77);
	CHECK_STR(json_str_at(r, "event"), "pending");
	CHECK_INT(json_int_at(r, "data.x", 0), 1);
	json_decref(r);

	/* longer than the idle timeout: a watcher is not idle */
	usleep((POLICY_IDLE_MS + 500) * 1000);
	fd = client_connect();
	r = roundtrip(fd, "{\"v\":1,\"id\":1,\"cmd\":\"poke\","
	    "\"args\":{\"x\":2}}\n");
	json_decref(r);
	close(fd);
	r = read_reply(w, wr, NULL);
	CHECK_INT(json_int_at(r, "data.x", 0), 2);
	json_decref(r);

	/*
	 * Flood: 64 KiB events until the quiet watcher's queue passes the
	 * high-water mark; it is closed, the reading one keeps up.
	 */
	for (i = 0; i < 60; i++) {
		char	*big = malloc(60001);
		json_t	*args, *req;
		char	*line;

		memset(big, 'x', 60000);
		big[60000] = '\0';
		args = json_pack("{s:s, s:i}", "pad", big, "n", 1);
		free(big);
		req = proto_request(1, "poke", args);
		line = proto_encode(req, NULL);
		json_decref(req);
		fd = client_connect();
		r = line ? roundtrip(fd, line) : NULL;
		CHECK(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		close(fd);
		free(line);
		r = read_reply(w, wr, &closed);
		CHECK(r != NULL);
		json_decref(r);
	}
	CHECK(wait_closed(quiet));
	close(quiet);
	close(w);
	free(wr);
}

static void
test_stranger(void)
{
	json_t	*r;
	int	 fd;

	CHECK((fd = client_connect()) != -1);
	rb.len = 0;
	r = read_reply(fd, &rb, NULL);
	CHECK_STR(err_code(r), "permission_denied");
	CHECK(err_msg(r) && strstr(err_msg(r), "has no role on this "
	    "remedyd") != NULL);
	json_decref(r);
	CHECK(wait_closed(fd));
	close(fd);
}

/*
 * hello: the agent flag holds for the rest of the connection (hello
 * cannot clear it) and only there; a deciding command (CONTROL_DECIDES)
 * is refused on it through the denied hook, whatever the role, while
 * reading goes on.  Bad hello arguments are refused by name.
 */
static void
test_hello(void)
{
	char	*denied, want[64];
	json_t	*r;
	int	 fd, other;

	unlink(deniedpath);
	fd = client_connect();
	r = roundtrip(fd, "{\"v\":1,\"id\":1,\"cmd\":\"verdict\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = roundtrip(fd, "{\"v\":1,\"id\":2,\"cmd\":\"hello\",\"args\":"
	    "{\"agent\":true,\"client\":{\"name\":\"tester\","
	    "\"version\":\"1.0\"}}}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	CHECK(json_is_true(json_at(r, "result.agent")));
	CHECK_STR(json_str_at(r, "result.client"), "tester/1.0");
	CHECK_INT(json_int_at(r, "result.you.uid", -1), getuid());
	CHECK_STR(json_str_at(r, "result.you.role"), "approver");
	json_decref(r);
	r = roundtrip(fd, "{\"v\":1,\"id\":3,\"cmd\":\"verdict\","
	    "\"args\":{\"id\":7}}\n");
	CHECK_STR(err_code(r), "permission_denied");
	CHECK(err_msg(r) && strstr(err_msg(r), "never allowed on an agent's "
	    "connection") != NULL);
	CHECK_INT(json_int_at(r, "id", -1), 3);
	json_decref(r);
	r = roundtrip(fd, "{\"v\":1,\"id\":4,\"cmd\":\"echo\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* said once, it stays said */
	r = roundtrip(fd, "{\"v\":1,\"id\":5,\"cmd\":\"hello\",\"args\":"
	    "{\"agent\":false}}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	CHECK(json_is_true(json_at(r, "result.agent")));
	json_decref(r);
	r = roundtrip(fd, "{\"v\":1,\"id\":6,\"cmd\":\"verdict\"}\n");
	CHECK_STR(err_code(r), "permission_denied");
	json_decref(r);
	/* bad arguments, each refused by name; the connection lives on */
	r = roundtrip(fd, "{\"v\":1,\"id\":7,\"cmd\":\"hello\",\"args\":"
	    "{\"agent\":\"yes\"}}\n");
	CHECK_STR(err_code(r), "bad_request");
	CHECK(err_msg(r) && strstr(err_msg(r), "\"agent\"") != NULL);
	json_decref(r);
	r = roundtrip(fd, "{\"v\":1,\"id\":8,\"cmd\":\"hello\",\"args\":"
	    "{\"client\":{\"name\":\"two words\"}}}\n");
	CHECK_STR(err_code(r), "bad_request");
	CHECK(err_msg(r) && strstr(err_msg(r), "\"client\"") != NULL);
	json_decref(r);
	r = roundtrip(fd, "{\"v\":1,\"id\":9,\"cmd\":\"hello\",\"args\":"
	    "{\"client\":{\"name\":\"x\",\"version\":\"\\u001b[2J\"}}}\n");
	CHECK_STR(err_code(r), "bad_request");
	json_decref(r);
	/* another connection of the same uid is not an agent's */
	other = client_connect();
	r = roundtrip(other, "{\"v\":1,\"id\":1,\"cmd\":\"verdict\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(other);
	close(fd);
	denied = slurp(deniedpath);
	snprintf(want, sizeof(want), "verdict %lu\nverdict %lu\n",
	    (unsigned long)getuid(), (unsigned long)getuid());
	CHECK_STR(denied, want);
	free(denied);
	unlink(deniedpath);
}

/*
 * Deferred answers: the lines after a deferred request wait, unanswered,
 * and every reply goes out in request order; an answer given before the
 * handler returned, and an error answer, go out the same way.  A client
 * that sent EOF still gets the deferred answer, then the close; one that
 * went away leaves nothing behind (the child's exit status checks the
 * handles, ASan the memory).
 */
static void
test_deferred(void)
{
	const char	*four =
	    "{\"v\":1,\"id\":1,\"cmd\":\"later\",\"args\":{\"ms\":300,"
	    "\"n\":1}}\n"
	    "{\"v\":1,\"id\":2,\"cmd\":\"echo\",\"args\":{\"n\":2}}\n"
	    "{\"v\":1,\"id\":3,\"cmd\":\"at_once\"}\n"
	    "{\"v\":1,\"id\":4,\"cmd\":\"later\",\"args\":{\"ms\":10,"
	    "\"fail\":true}}\n"
	    "{\"v\":1,\"id\":5,\"cmd\":\"echo\",\"args\":{\"n\":5}}\n";
	const char	*one = "{\"v\":1,\"id\":9,\"cmd\":\"later\","
	    "\"args\":{\"ms\":200,\"n\":9}}\n";
	int64_t		 sent;
	json_t		*r;
	int		 fd, i;

	fd = client_connect();
	rb.len = 0;
	sent = mono_ms();
	CHECK(send_all(fd, four, strlen(four)) == 0);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 1);
	CHECK_INT(json_int_at(r, "result.later", -1), 1);
	json_decref(r);
	r = read_reply(fd, &rb, NULL);
	/* the echo behind it waited for it */
	CHECK(mono_ms() - sent >= 250);
	CHECK_INT(json_int_at(r, "id", -1), 2);
	CHECK_INT(json_int_at(r, "result.args.n", -1), 2);
	json_decref(r);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 3);
	CHECK(json_is_true(json_at(r, "result.at_once")));
	json_decref(r);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 4);
	CHECK_STR(err_code(r), "not_found");
	CHECK_STR(err_msg(r), "gone later");
	json_decref(r);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 5);
	CHECK_INT(json_int_at(r, "result.args.n", -1), 5);
	json_decref(r);
	/* EOF after a deferred request: the answer, then the close */
	CHECK(send_all(fd, one, strlen(one)) == 0);
	CHECK(shutdown(fd, SHUT_WR) == 0);
	r = read_reply(fd, &rb, NULL);
	CHECK_INT(json_int_at(r, "id", -1), 9);
	CHECK_INT(json_int_at(r, "result.later", -1), 9);
	json_decref(r);
	CHECK(wait_closed(fd));
	close(fd);
	/* gone before the answer: dropped; the server goes on */
	for (i = 0; i < 3; i++) {
		fd = client_connect();
		CHECK(send_all(fd, one, strlen(one)) == 0);
		close(fd);
	}
	usleep(300 * 1000);
	fd = client_connect();
	r = roundtrip(fd, "{\"v\":1,\"id\":1,\"cmd\":\"echo\"}\n");
	CHECK(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(fd);
}

/* --- remedyd_commands against a real store --- */

static void
seed_store(void)
{
	struct store_incident	 inc;
	struct store_action	 act;
	struct store		*st;
	char			 err[256];
	int			 i;

	CHECK((st = store_open(dbpath, err, sizeof(err))) != NULL);
	if (st == NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		return;
	}
	memset(&inc, 0, sizeof(inc));
	inc.fingerprint = "image-pull/demo/Deployment/web/ImagePullBackOff";
	inc.analyzer = "image-pull";
	inc.namespace = "demo";
	inc.kind = "Deployment";
	inc.name = "web";
	inc.reason = "ImagePullBackOff";
	inc.summary = "3 pods cannot pull";
	inc.pods = 3;
	CHECK_INT(store_incident_upsert(st, &inc), STORE_OK);
	for (i = 0; i < 2; i++) {
		memset(&act, 0, sizeof(act));
		act.incident_id = inc.id;
		act.namespace = "demo";
		act.kind = "Deployment";
		act.name = "web";
		act.api_path = "/apis/apps/v1/namespaces/demo/deployments/web";
		act.backend = "rules";
		act.risk = "low";
		act.summary = "Roll back";
		act.root_cause = "bad image";
		act.evidence = json_pack("[s]", "ImagePullBackOff");
		act.patch = json_pack("[{s:s, s:s, s:s}]", "op", "replace",
		    "path", "/spec/template/spec/containers/0/image", "value",
		    "nginx:1.25");
		act.changes = json_pack("[{s:s, s:s, s:s}]", "path",
		    "/spec/template/spec/containers/0/image", "before",
		    "nginx:typo", "after", "nginx:1.25");
		CHECK_INT(store_action_propose(st, &act, NULL, NULL), STORE_OK);
		CHECK_INT(act.id, i + 1);
		json_decref(act.evidence);
		json_decref(act.patch);
		json_decref(act.changes);
		free(act.state);
	}
	store_close(st);
}

/* Action 3, risk high, pending. */
static void
seed_high_risk(void)
{
	struct store_action	 act;
	struct store		*st;
	char			 err[256];

	CHECK((st = store_open(dbpath, err, sizeof(err))) != NULL);
	if (st == NULL)
		return;
	memset(&act, 0, sizeof(act));
	act.incident_id = 1;
	act.namespace = "demo";
	act.kind = "Deployment";
	act.name = "web";
	act.api_path = "/apis/apps/v1/namespaces/demo/deployments/web";
	act.backend = "rules";
	act.risk = "high";
	act.summary = "Scale down";
	act.root_cause = "x";
	act.evidence = json_array();
	act.patch = json_array();
	act.changes = json_array();
	CHECK_INT(store_action_propose(st, &act, NULL, NULL), STORE_OK);
	CHECK_INT(act.id, 3);
	json_decref(act.evidence);
	json_decref(act.patch);
	json_decref(act.changes);
	free(act.state);
	store_close(st);
}

static json_t	*cmd(const char *, json_t *);

/*
 * One uid cannot satisfy the two-person rule: its first approval is
 * recorded (the action stays pending), its second is refused.  (Two real
 * approvers: tests/integration/test_ctl_roles.py.)
 */
static void
test_two_person(void)
{
	struct rbuf	*wr = calloc(1, sizeof(*wr));
	json_t		*r, *rows;
	int		 w;

	w = client_connect();
	CHECK(send_all(w, "{\"v\":1,\"id\":9,\"cmd\":\"watch\"}\n",
	    strlen("{\"v\":1,\"id\":9,\"cmd\":\"watch\"}\n")) == 0);
	r = read_reply(w, wr, NULL);
	CHECK(json_is_true(json_at(r, "result.watching")));
	json_decref(r);

	r = cmd("status", NULL);
	CHECK(json_is_true(json_at(r, "result.two_person")));
	CHECK_STR(json_str_at(r, "result.you.role"), "approver");
	json_decref(r);
	r = cmd("approve", json_pack("{s:i, s:s}", "id", 3, "comment",
	    "first"));
	CHECK_STR(json_str_at(r, "result.action.state"), "pending");
	CHECK_INT(json_int_at(r, "result.approvals.have", 0), 1);
	CHECK_INT(json_int_at(r, "result.approvals.required", 0), 2);
	json_decref(r);
	r = cmd("approve", json_pack("{s:i}", "id", 3));
	CHECK_STR(err_code(r), "bad_state");
	CHECK(err_msg(r) && strstr(err_msg(r), "already approved action 3; "
	    "the two-person rule needs a different approver") != NULL);
	json_decref(r);
	r = cmd("audit", json_pack("{s:i}", "action", 3));
	rows = json_at(r, "result.rows");
	CHECK_INT(json_array_size(rows), 2);
	CHECK_STR(json_str_at(json_array_get(rows, 1), "event"), "approval");
	CHECK_INT(json_int_at(json_array_get(rows, 1), "actor_uid", -1),
	    getuid());
	json_decref(r);
	/* a reject reaches the watcher */
	r = cmd("reject", json_pack("{s:i, s:s}", "id", 3, "reason", "no"));
	CHECK_STR(json_str_at(r, "result.action.state"), "rejected");
	json_decref(r);
	r = read_reply(w, wr, NULL);
	CHECK_STR(json_str_at(r, "event"), "rejected");
	CHECK_INT(json_int_at(r, "id", 0), 9);
	CHECK_INT(json_int_at(r, "data.id", 0), 3);
	json_decref(r);
	r = cmd("audit-verify", NULL);
	CHECK(json_is_true(json_at(r, "result.ok")));
	json_decref(r);
	close(w);
	free(wr);
}

static json_t *
cmd(const char *name, json_t *args)
{
	json_t	*req, *r;
	char	*line;
	int	 fd;

	req = proto_request(1, name, args);
	line = proto_encode(req, NULL);
	fd = client_connect();
	r = fd == -1 ? NULL : roundtrip(fd, line);
	if (fd != -1)
		close(fd);
	free(line);
	json_decref(req);
	return r;
}

static void
expect_err(json_t *r, const char *code, const char *msg)
{
	CHECK(json_is_false(json_object_get(r, "ok")));
	CHECK_STR(err_code(r), code);
	if (msg != NULL)
		CHECK_STR(err_msg(r), msg);
	json_decref(r);
}

static void
test_commands(void)
{
	struct passwd	*pw = getpwuid(getuid());
	json_t		*r;
	char		 buf[64], *big;
	FILE		*fp;

	r = cmd("status", NULL);
	CHECK(json_is_true(json_object_get(r, "ok")));
	CHECK_STR(json_str_at(r, "result.version"), REMEDY_VERSION);
	CHECK(json_is_true(json_at(r, "result.synced")));
	CHECK_INT(json_int_at(r, "result.incidents_open", -1), 1);
	CHECK_INT(json_int_at(r, "result.actions.pending", -1), 2);
	CHECK_INT(json_int_at(r, "result.actions.approved", -1), 0);
	CHECK(json_int_at(r, "result.pid", 0) > 0);
	json_decref(r);

	r = cmd("list", NULL);
	CHECK_INT(json_array_size(json_at(r, "result.actions")), 2);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(
	    json_at(r, "result.actions"), 0), "id")), 2);
	json_decref(r);
	/* list's summaries are exactly show's fields of the same name */
	{
		json_t		*l = cmd("list", NULL), *sh, *e, *v;
		const char	*k;

		e = json_array_get(json_at(l, "result.actions"), 1);
		sh = cmd("show", json_pack("{s:i}", "id", 1));
		CHECK_INT(json_object_size(e), 11);
		CHECK_INT(json_int_at(l, "result.total", 0), 2);
		json_object_foreach(e, k, v)
			CHECK(json_equal(v, json_object_get(json_at(sh,
			    "result.action"), k)));
		json_decref(l);
		json_decref(sh);
		l = cmd("list", json_pack("{s:i}", "limit", 1));
		CHECK_INT(json_array_size(json_at(l, "result.actions")), 1);
		CHECK_INT(json_int_at(l, "result.total", 0), 2);
		json_decref(l);
	}
	r = cmd("list", json_pack("{s:s, s:s}", "state", "pending",
	    "namespace", "other"));
	CHECK_INT(json_array_size(json_at(r, "result.actions")), 0);
	json_decref(r);
	r = cmd("list", json_pack("{s:s}", "state", "bogus"));
	CHECK_STR(err_code(r), "bad_request");
	CHECK(err_msg(r) && strncmp(err_msg(r), "field \"state\": unknown "
	    "value \"bogus\" (one of proposed, pending,", 52) == 0);
	json_decref(r);
	expect_err(cmd("list", json_pack("{s:i}", "namespace", 3)),
	    "bad_request", "field \"namespace\" must be a string");

	r = cmd("show", json_pack("{s:i}", "id", 1));
	CHECK_STR(json_str_at(r, "result.action.state"), "pending");
	CHECK_STR(json_str_at(r, "result.action.root_cause"), "bad image");
	json_decref(r);
	expect_err(cmd("show", NULL), "bad_request",
	    "missing field \"id\"");
	expect_err(cmd("show", json_pack("{s:s}", "id", "1")), "bad_request",
	    "field \"id\" must be a positive integer");
	expect_err(cmd("show", json_pack("{s:i}", "id", 0)), "bad_request",
	    "field \"id\" must be a positive integer");
	expect_err(cmd("show", json_pack("{s:i}", "id", 99)), "not_found",
	    "no action 99");

	r = cmd("approve", json_pack("{s:i, s:s}", "id", 1, "comment", "ok"));
	CHECK_STR(json_str_at(r, "result.action.state"), "approved");
	CHECK_INT(json_int_at(r, "result.action.approved_uid", -2), getuid());
	if (pw != NULL)
		CHECK_STR(json_str_at(r, "result.action.approved_by"),
		    pw->pw_name);
	json_decref(r);
	buf[0] = '\0';
	if ((fp = fopen(approvedpath, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) == NULL)
			buf[0] = '\0';
		fclose(fp);
	}
	CHECK_STR(buf, "1\n");
	expect_err(cmd("approve", json_pack("{s:i}", "id", 1)), "bad_state",
	    "action 1 is approved, not pending");
	expect_err(cmd("approve", json_pack("{s:i}", "id", 42)), "not_found",
	    "no action 42");

	expect_err(cmd("reject", json_pack("{s:i}", "id", 2)), "bad_request",
	    "missing field \"reason\"");
	expect_err(cmd("reject", json_pack("{s:i, s:s}", "id", 2, "reason",
	    "")), "bad_request", "field \"reason\" must not be empty");
	big = malloc(1026);
	memset(big, 'r', 1025);
	big[1025] = '\0';
	expect_err(cmd("reject", json_pack("{s:i, s:s}", "id", 2, "reason",
	    big)), "bad_request", "field \"reason\" is longer than 1024 bytes");
	big[1024] = '\0';
	r = cmd("reject", json_pack("{s:i, s:s}", "id", 2, "reason", big));
	CHECK_STR(json_str_at(r, "result.action.state"), "rejected");
	CHECK_STR(json_str_at(r, "result.action.reason"), big);
	json_decref(r);
	free(big);
	expect_err(cmd("reject", json_pack("{s:i, s:s}", "id", 1, "reason",
	    "late")), "bad_state", "action 1 is approved, not pending");

	r = cmd("incidents", NULL);
	CHECK_INT(json_array_size(json_at(r, "result.incidents")), 1);
	json_decref(r);
	r = cmd("incidents", json_pack("{s:s}", "state", "resolved"));
	CHECK_INT(json_array_size(json_at(r, "result.incidents")), 0);
	json_decref(r);
	expect_err(cmd("incidents", json_pack("{s:s}", "state", "closed")),
	    "bad_request", NULL);

	r = cmd("audit", NULL);
	CHECK_INT(json_array_size(json_at(r, "result.rows")), 4);
	json_decref(r);
	r = cmd("audit", json_pack("{s:i}", "action", 1));
	CHECK_INT(json_array_size(json_at(r, "result.rows")), 2);
	json_decref(r);
	r = cmd("audit", json_pack("{s:s}", "since", "2000-01-01T00:00:00Z"));
	CHECK_INT(json_array_size(json_at(r, "result.rows")), 4);
	json_decref(r);
	r = cmd("audit", json_pack("{s:I}", "since",
	    (json_int_t)(now_ms() + 3600 * 1000)));
	CHECK_INT(json_array_size(json_at(r, "result.rows")), 0);
	json_decref(r);
	r = cmd("audit", json_pack("{s:s}", "since",
	    "2999-01-01T01:00:00+01:00"));
	CHECK_INT(json_array_size(json_at(r, "result.rows")), 0);
	json_decref(r);
	expect_err(cmd("audit", json_pack("{s:s}", "since", "yesterday")),
	    "bad_request", NULL);
	expect_err(cmd("audit", json_pack("{s:s}", "since",
	    "2026-13-01T00:00:00Z")), "bad_request", NULL);
	expect_err(cmd("audit", json_pack("{s:i}", "action", -1)),
	    "bad_request", "field \"action\" must be a positive integer");

	r = cmd("audit-verify", NULL);
	CHECK(json_is_true(json_at(r, "result.ok")));
	CHECK_INT(json_int_at(r, "result.rows", -1), 4);
	json_decref(r);
}

int
main(void)
{
	struct stat	 st;
	char		 line[512], want[300];
	pid_t		 pid;
	int		 fd;

	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/remedy-ctl-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sockpath, sizeof(sockpath), "%s/remedyd.sock", tmpdir);

	make_stale_socket();
	CHECK(stat(sockpath, &st) == 0 && S_ISSOCK(st.st_mode));
	snprintf(deniedpath, sizeof(deniedpath), "%s/denied", tmpdir);
	child_opts.max_per_uid = CONTROL_MAX_CONNS;

	pid = start_child(line, sizeof(line));
	snprintf(want, sizeof(want), "another remedyd is listening on %s",
	    sockpath);
	CHECK_STR(line, want);

	CHECK(stat(sockpath, &st) == 0);
	CHECK_INT(st.st_mode & 0777, 0660);

	fd = client_connect();
	CHECK(fd != -1);
	test_requests(fd);
	test_pipelined(fd);
	test_largest_line(fd);
	close(fd);
	test_too_big();
	/* Other clients are unaffected by one that was cut off. */
	fd = client_connect();
	test_requests(fd);
	close(fd);
	test_backpressure();
	test_emfile();
	test_conn_limit();
	test_hello();
	test_deferred();

	CHECK_INT(stop_child(pid), 0);
	CHECK(stat(sockpath, &st) == -1 && errno == ENOENT);

	/* A policy: root is only a viewer, three connections per uid. */
	memset(&child_opts, 0, sizeof(child_opts));
	child_opts.idle_ms = POLICY_IDLE_MS;
	child_opts.max_per_uid = POLICY_PER_UID;
	child_authz.root_role = AUTHZ_VIEWER;
	child_authz.self_uid = (uid_t)-2;
	child_opts.authz = &child_authz;
	pid = start_child(line, sizeof(line));
	test_roles();
	test_per_uid();
	test_idle();
	test_watch();
	CHECK_INT(stop_child(pid), 0);
	/* root without a role: refused at accept */
	child_authz.root_role = AUTHZ_NONE;
	pid = start_child(line, sizeof(line));
	if (getuid() == 0)
		test_stranger();
	CHECK_INT(stop_child(pid), 0);
	memset(&child_opts, 0, sizeof(child_opts));
	unlink(deniedpath);

	/* A path that is not a socket is never removed. */
	fd = open(sockpath, O_CREAT | O_WRONLY, 0600);
	close(fd);
	pid = start_child(line, sizeof(line));
	snprintf(want, sizeof(want), "FIRST: control socket %s exists and is "
	    "not a socket", sockpath);
	CHECK_STR(line, want);
	waitpid(pid, NULL, 0);
	CHECK(stat(sockpath, &st) == 0 && S_ISREG(st.st_mode));
	unlink(sockpath);

	/* The real command table over a real store. */
	snprintf(dbpath, sizeof(dbpath), "%s/store.db", tmpdir);
	snprintf(approvedpath, sizeof(approvedpath), "%s/approved", tmpdir);
	seed_store();
	with_store = 1;
	pid = start_child(line, sizeof(line));
	snprintf(want, sizeof(want), "another remedyd is listening on %s",
	    sockpath);
	CHECK_STR(line, want);
	test_commands();
	CHECK_INT(stop_child(pid), 0);
	seed_high_risk();
	two_person = 1;
	pid = start_child(line, sizeof(line));
	test_two_person();
	CHECK_INT(stop_child(pid), 0);
	unlink(dbpath);
	snprintf(line, sizeof(line), "%s-wal", dbpath);
	unlink(line);
	snprintf(line, sizeof(line), "%s-shm", dbpath);
	unlink(line);
	unlink(approvedpath);
	rmdir(tmpdir);
	return T_DONE();
}

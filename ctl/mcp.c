/*
 * mcp.c - `remedyctl mcp`: the MCP server of lib/base/mcp.c on stdin and
 * stdout, one JSON-RPC message per line.  Each tool call is one control
 * connection that says hello as an agent first, so remedyd records the
 * agent's own peer credentials and refuses it every deciding verb.
 * Nothing but protocol messages goes to stdout; diagnostics go to
 * stderr.  It exits 0 at the end of its input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mcp.h"
#include "base/proto.h"
#include "base/util.h"
#include "base/version.h"
#include "ctl.h"

#define MCP_READ_CHUNK	(64 * 1024)

struct mcp_run {
	const char		*socket;
	struct mcp_server	 srv;
	struct ctl_stream	*watch;		/* wait_for_decision's */
	int			 write_failed;
};

static int
op_call(void *arg, json_t *hello, const char *cmd, json_t *args,
    json_t **result, char *err, size_t errlen)
{
	struct mcp_run	*r = arg;

	return ctl_call_hello(r->socket, hello, cmd, args, result, err,
	    errlen);
}

static int64_t
op_now(void *arg)
{
	(void)arg;
	return mono_ms();
}

static int
op_watch_open(void *arg, json_t *hello, char *err, size_t errlen)
{
	struct mcp_run	*r = arg;

	ctl_stream_close(r->watch);
	r->watch = NULL;
	return ctl_stream_open(r->socket, hello, json_object(), &r->watch, err,
	    errlen);
}

static int
op_watch_next(void *arg, int ms, json_t **event, char *err, size_t errlen)
{
	struct mcp_run	*r = arg;

	return ctl_stream_next(r->watch, mono_ms() + (ms > 0 ? ms : 1), event,
	    err, errlen);
}

static void
op_watch_close(void *arg)
{
	struct mcp_run	*r = arg;

	ctl_stream_close(r->watch);
	r->watch = NULL;
}

static void
send_reply(struct mcp_run *r, json_t *reply)
{
	char	*line;

	if (reply == NULL)
		return;
	line = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (line == NULL || fputs(line, stdout) == EOF ||
	    fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
		r->write_failed = 1;
	free(line);
}

static void
on_line(const char *line, size_t len, void *arg)
{
	struct mcp_run	*r = arg;

	send_reply(r, line == NULL ? mcp_too_big() :
	    mcp_handle(&r->srv, line, len));
}

int
ctl_mcp(const char *socket)
{
	struct mcp_run		 r;
	struct mcp_reader	 rd;
	struct mcp_ops		 ops;
	char			 buf[MCP_READ_CHUNK];
	ssize_t			 n;

	memset(&r, 0, sizeof(r));
	memset(&ops, 0, sizeof(ops));
	r.socket = socket;
	ops.call = op_call;
	ops.now_ms = op_now;
	ops.watch_open = op_watch_open;
	ops.watch_next = op_watch_next;
	ops.watch_close = op_watch_close;
	ops.arg = &r;
	ops.version = remedy_version();
	mcp_init(&r.srv, &ops);
	if (mcp_reader_init(&rd) == -1) {
		fprintf(stderr, "remedyctl mcp: out of memory\n");
		return 1;
	}
	while (!r.write_failed) {
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "remedyctl mcp: stdin: %s\n",
			    strerror(errno));
			break;
		}
		if (n == 0) {
			/* a last line without its newline still counts */
			if (rd.len > 0 && !rd.skipping)
				on_line(rd.buf, rd.len, &r);
			break;
		}
		mcp_reader_feed(&rd, buf, (size_t)n, on_line, &r);
	}
	mcp_reader_clear(&rd);
	if (r.write_failed) {
		fprintf(stderr, "remedyctl mcp: stdout: write failed\n");
		return 1;
	}
	return 0;
}

/*
 * test_mcp.c - wait_for_decision of the MCP server (lib/base/mcp.c)
 * against a scripted remedyd: the states `show` answers, the events the
 * watch stream delivers, and a clock that moves only when the server
 * waits on the stream.
 *
 * What is checked: the stream is opened (after hello as an agent) before
 * the action is first read, so a decision is never missed; the server
 * reads the action again only when an event names it with a state other
 * than pending, or at the deadline, never on a timer; the timeout is
 * kept (default 60 s, at most 600 s); a stream that cannot be opened or
 * breaks is a tool error; the stream is always closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mcp.h"
#include "base/util.h"
#include "t.h"

#define MAX_STEPS	8

static struct {
	const char	*states[MAX_STEPS];	/* show answers, in turn */
	int		 nshow;
	json_t		*events[MAX_STEPS];	/* the stream's, in turn */
	int		 event_at_ms[MAX_STEPS];	/* when each comes */
	int		 nevents, next_event;
	int		 open_rc, next_rc;	/* 0 / -1 */
	int		 opened, closed, nnext;
	int64_t		 clock;
	int		 opened_before_show;
} sc;

static void
script(const char *const *states, int open_rc)
{
	int	i;

	for (i = 0; i < sc.nevents; i++)
		json_decref(sc.events[i]);
	memset(&sc, 0, sizeof(sc));
	for (i = 0; states[i] != NULL && i < MAX_STEPS; i++)
		sc.states[i] = states[i];
	sc.open_rc = open_rc;
}

static void
event(int at_ms, const char *name, int id)
{
	sc.event_at_ms[sc.nevents] = at_ms;
	sc.events[sc.nevents++] = json_pack("{s:i, s:I, s:s, s:{s:i, s:s}}",
	    "v", 1, "id", (json_int_t)1, "event", name, "data", "id", id,
	    "state", name);
}

static int
stub_call(void *arg, json_t *hello, const char *cmd, json_t *args,
    json_t **result, char *err, size_t errlen)
{
	const char	*state;
	int		 n = 0;

	CHECK(json_is_true(json_object_get(hello, "agent")));
	json_decref(hello);
	CHECK_STR(cmd, "show");
	CHECK_INT(json_int_at(args, "id", 0), 7);
	json_decref(args);
	if (sc.nshow == 0)
		sc.opened_before_show = sc.opened;
	/* the scripted states in turn, the last one ever after */
	while (n < MAX_STEPS && sc.states[n] != NULL)
		n++;
	state = n == 0 ? "pending" : sc.states[sc.nshow < n ? sc.nshow : n - 1];
	sc.nshow++;
	*result = json_pack("{s:{s:i, s:s, s:[], s:s?}}", "action", "id", 7,
	    "state", state, "changes", "approved_by", strcmp(state,
	    "pending") != 0 ? "alice" : NULL);
	return 0;
}

static int64_t
stub_now(void *arg)
{
	return sc.clock;
}

static int
stub_watch_open(void *arg, json_t *hello, char *err, size_t errlen)
{
	CHECK(json_is_true(json_object_get(hello, "agent")));
	json_decref(hello);
	sc.opened++;
	if (sc.open_rc != 0)
		snprintf(err, errlen, "cannot connect to /run/remedyd.sock");
	return sc.open_rc;
}

/* The next scripted event if it comes within ms, else the clock runs out
 * the wait. */
static int
stub_watch_next(void *arg, int ms, json_t **ev, char *err, size_t errlen)
{
	int	at;

	sc.nnext++;
	CHECK(ms > 0);
	if (sc.next_rc != 0) {
		snprintf(err, errlen, "remedyd closed the connection");
		return -1;
	}
	if (sc.next_event < sc.nevents &&
	    (at = sc.event_at_ms[sc.next_event]) <= sc.clock + ms) {
		if (at > sc.clock)
			sc.clock = at;
		*ev = json_incref(sc.events[sc.next_event++]);
		return 1;
	}
	sc.clock += ms;
	return 0;
}

static void
stub_watch_close(void *arg)
{
	sc.closed++;
}

static struct mcp_server srv;

/* The text content of a tools/call reply, or "". */
static const char *
text_of(json_t *r)
{
	const char	*t = json_string_value(json_object_get(json_array_get(
			    json_at(r, "result.content"), 0), "text"));

	return t ? t : "";
}

static json_t *
wait_call(const char *arguments)
{
	char	 line[512];
	json_t	*r;

	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"wait_for_decision\",\"arguments\":%s}}", arguments);
	r = mcp_handle(&srv, line, strlen(line));
	CHECK(r != NULL && json_object_get(r, "result") != NULL);
	return r;
}

int
main(void)
{
	static const char *const pending[] = { NULL };
	static const char *const approved[] = { "approved", NULL };
	static const char *const later[] = { "pending", "approved", NULL };
	static const char *const moved[] = { "pending", "expired", NULL };
	struct mcp_ops	 ops;
	json_t		*r;
	const char	*init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":"
	    "\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
	    "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\"}}}";
	const char	*bad = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"wait_for_decision\","
	    "\"arguments\":{\"id\":7,\"timeout\":-1}}}";

	memset(&ops, 0, sizeof(ops));
	ops.call = stub_call;
	ops.now_ms = stub_now;
	ops.watch_open = stub_watch_open;
	ops.watch_next = stub_watch_next;
	ops.watch_close = stub_watch_close;
	ops.version = "test";
	mcp_init(&srv, &ops);
	json_decref(mcp_handle(&srv, init, strlen(init)));

	/* decided before the wait: one read, no waiting */
	script(approved, 0);
	r = wait_call("{\"id\":7}");
	CHECK_STR(json_str_at(r, "result.structuredContent.state"), "approved");
	CHECK(json_is_true(json_at(r, "result.structuredContent.decided")));
	CHECK_STR(json_str_at(r, "result.structuredContent.approved_by"),
	    "alice");
	CHECK_INT(sc.nshow, 1);
	CHECK_INT(sc.nnext, 0);
	CHECK_INT(sc.opened_before_show, 1);
	CHECK_INT(sc.closed, 1);
	json_decref(r);

	/*
	 * Decided at 40 s: events about other actions and "pending" itself
	 * are passed over; the one about action 7 is answered at once, with
	 * the action read again.  Two reads in all: no polling.
	 */
	script(later, 0);
	event(5000, "pending", 8);
	event(10000, "approved", 8);
	event(20000, "pending", 7);
	event(40000, "approved", 7);
	r = wait_call("{\"id\":7,\"timeout\":300}");
	CHECK_STR(json_str_at(r, "result.structuredContent.state"), "approved");
	CHECK(json_is_true(json_at(r, "result.structuredContent.decided")));
	CHECK(json_is_false(json_at(r, "result.isError")));
	CHECK_INT(sc.clock, 40000);
	CHECK_INT(sc.nshow, 2);
	CHECK_INT(sc.nnext, 4);
	CHECK_INT(sc.opened_before_show, 1);
	CHECK_INT(sc.closed, 1);
	json_decref(r);

	/* it moved on without a person (expired): that ends the wait too */
	script(moved, 0);
	event(1000, "expired", 7);
	r = wait_call("{\"id\":7,\"timeout\":5}");
	CHECK_STR(json_str_at(r, "result.structuredContent.state"), "expired");
	CHECK(json_is_true(json_at(r, "result.structuredContent.decided")));
	json_decref(r);

	/* nobody decides: the wait ends at its timeout, read once more */
	script(pending, 0);
	r = wait_call("{\"id\":7,\"timeout\":3}");
	CHECK_STR(json_str_at(r, "result.structuredContent.state"), "pending");
	CHECK(json_is_false(json_at(r, "result.structuredContent.decided")));
	CHECK_INT(sc.clock, 3000);
	CHECK_INT(sc.nshow, 2);
	CHECK_INT(sc.closed, 1);
	json_decref(r);

	/* the default timeout is 60 s, and at most 600 s are waited */
	script(pending, 0);
	json_decref(wait_call("{\"id\":7}"));
	CHECK_INT(sc.clock, 60000);
	script(pending, 0);
	json_decref(wait_call("{\"id\":7,\"timeout\":100000}"));
	CHECK_INT(sc.clock, 600000);

	/* no stream: a tool error naming why, nothing read */
	script(pending, -1);
	r = wait_call("{\"id\":7}");
	CHECK(json_is_true(json_at(r, "result.isError")));
	CHECK_STR(json_str_at(r, "result.structuredContent.error"),
	    "unreachable");
	CHECK(strstr(text_of(r), "cannot connect") != NULL);
	CHECK_INT(sc.nshow, 0);
	json_decref(r);

	/* the stream breaks while waiting: a tool error, the stream closed */
	script(pending, 0);
	sc.next_rc = -1;
	r = wait_call("{\"id\":7,\"timeout\":10}");
	CHECK(json_is_true(json_at(r, "result.isError")));
	CHECK(strstr(text_of(r), "closed the connection") != NULL);
	CHECK_INT(sc.closed, 1);
	json_decref(r);

	/* bad arguments are the caller's error, before any stream */
	script(pending, 0);
	r = mcp_handle(&srv, bad, strlen(bad));
	CHECK_INT(json_int_at(r, "error.code", 0), MCP_EPARAMS);
	CHECK_INT(sc.opened, 0);
	json_decref(r);
	script(pending, 0);
	return T_DONE();
}

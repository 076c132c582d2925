/*
 * fuzz_mcp.c - the MCP server of `remedyctl mcp` (lib/base/mcp.h): the
 * framing and every request, tool calls included, against a stand-in for
 * remedyd that answers every control request with a canned action.
 *
 * Input bytes are fed to the reader in two chunks (split at the first
 * byte's value), so lines cut across reads are exercised.  Every line
 * must get exactly one JSON-RPC reply or, for a notification, none; a
 * reply is an object with "jsonrpc": "2.0" and either a result or an
 * error with an integer code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mcp.h"
#include "fuzz.h"

static int64_t	clock_ms;

static int
stub_call(void *arg, json_t *hello, const char *cmd, json_t *args,
    json_t **result, char *err, size_t errlen)
{
	fuzz_check(json_is_object(hello) &&
	    json_is_true(json_object_get(hello, "agent")));
	fuzz_check(strcmp(cmd, "approve") != 0 && strcmp(cmd, "reject") != 0 &&
	    strcmp(cmd, "rollback") != 0);
	json_decref(hello);
	json_decref(args);
	if (strcmp(cmd, "incident") == 0) {
		snprintf(err, errlen, "incident not found");
		return 5;
	}
	*result = json_pack("{s:{s:i, s:s, s:s, s:[], s:[]}, s:[], s:[]}",
	    "action", "id", 3, "state", strcmp(cmd, "propose") == 0 ?
	    "refused" : "approved", "rule", "path-not-allowed", "changes",
	    "patch", "incidents", "actions");
	return 0;
}

static int64_t
stub_now(void *arg)
{
	return clock_ms;
}

static int
stub_watch_open(void *arg, json_t *hello, char *err, size_t errlen)
{
	fuzz_check(json_is_object(hello) &&
	    json_is_true(json_object_get(hello, "agent")));
	json_decref(hello);
	return 0;
}

/* No event comes: the wait runs out its clock. */
static int
stub_watch_next(void *arg, int ms, json_t **event, char *err,
    size_t errlen)
{
	clock_ms += ms;
	*event = NULL;
	return 0;
}

static void
stub_watch_close(void *arg)
{
}

static void
on_line(const char *line, size_t len, void *arg)
{
	struct mcp_server	*s = arg;
	json_t			*r, *e;

	r = line == NULL ? mcp_too_big() : mcp_handle(s, line, len);
	if (r == NULL)
		return;
	fuzz_check(json_is_object(r));
	fuzz_check(strcmp(json_string_value(json_object_get(r, "jsonrpc")),
	    "2.0") == 0);
	e = json_object_get(r, "error");
	fuzz_check((e != NULL) != (json_object_get(r, "result") != NULL));
	if (e != NULL)
		fuzz_check(json_is_integer(json_object_get(e, "code")) &&
		    json_is_string(json_object_get(e, "message")));
	json_decref(r);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_server	 s;
	struct mcp_reader	 rd;
	struct mcp_ops		 ops;
	size_t			 cut;

	memset(&ops, 0, sizeof(ops));
	ops.call = stub_call;
	ops.now_ms = stub_now;
	ops.watch_open = stub_watch_open;
	ops.watch_next = stub_watch_next;
	ops.watch_close = stub_watch_close;
	ops.version = "fuzz";
	mcp_init(&s, &ops);
	clock_ms = 0;
	if (mcp_reader_init(&rd) == -1)
		return 0;
	cut = size > 0 ? data[0] % (size + 1) : 0;
	fuzz_check(mcp_reader_feed(&rd, (const char *)data, cut, on_line,
	    &s) == cut);
	fuzz_check(mcp_reader_feed(&rd, (const char *)data + cut, size - cut,
	    on_line, &s) == size - cut);
	mcp_reader_clear(&rd);
	return 0;
}

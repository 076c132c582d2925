/*
 * mcp.c - the MCP server of `remedyctl mcp` (see mcp.h).
 *
 * Every message is checked before it is acted on: its size (the reader),
 * JSON without duplicate keys, the JSON-RPC envelope, the protocol
 * revision, then the tool's arguments field by field.  Whatever an agent
 * writes (a rationale, a patch, a summary) is passed to remedyd as data
 * in named fields; remedyd decides what to do with it (normalisation, the
 * policy wall, the dry-run) and a human decides whether it is applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mcp.h"
#include "base/proto.h"
#include "base/util.h"

#define MCP_MAX_ERR		1024
#define MCP_LIST_DEFAULT	50
#define MCP_LIST_MAX		1000

#define META_VERSION	"io.modelcontextprotocol/protocolVersion"
#define META_CAPS	"io.modelcontextprotocol/clientCapabilities"
#define META_INFO	"io.modelcontextprotocol/clientInfo"

static const char instructions[] =
    "remedy watches a Kubernetes cluster and proposes fixes that a human "
    "approves. You may read incidents and actions and propose a fix "
    "(propose_fix) for an open incident; remedy normalises it, checks it "
    "against its policy and dry-runs it, and it waits, pending, until a "
    "human runs `remedyctl approve`. You cannot approve, reject or roll "
    "back anything. wait_for_decision waits for the human's decision.";

/* --- JSON-RPC messages --- */

static json_t *
rpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t	*err = json_pack("{s:i, s:s}", "code", code, "message",
		    message);

	if (err != NULL && data != NULL)
		json_object_set_new(err, "data", data);
	else
		json_decref(data);
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id",
	    id ? id : json_null(), "error", err);
}

static json_t *
rpc_result(json_t *id, json_t *result, int stateless)
{
	if (result == NULL)
		return rpc_error(id, MCP_EINVALID, "out of memory", NULL);
	if (stateless)
		json_object_set_new(result, "resultType",
		    json_string("complete"));
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id,
	    "result", result);
}

json_t *
mcp_too_big(void)
{
	char	msg[128];

	snprintf(msg, sizeof(msg), "Invalid Request: message over %d bytes",
	    MCP_MAX_LINE);
	return rpc_error(NULL, MCP_EINVALID, msg, NULL);
}

/* --- tools --- */

/* One tool's answer: text for content, structured for structuredContent. */
static json_t *
tool_result(json_t *structured, const char *text, int is_error)
{
	char	*dump = NULL;
	json_t	*r;

	if (text == NULL && structured != NULL)
		dump = json_dumps(structured, JSON_INDENT(2) | JSON_SORT_KEYS);
	r = json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text",
	    "text", text ? text : dump ? dump : "", "isError", is_error);
	free(dump);
	if (r != NULL && structured != NULL)
		json_object_set(r, "structuredContent", structured);
	json_decref(structured);
	return r;
}

/* A control request failed: a tool error naming the problem. */
static json_t *
tool_failed(int rc, const char *err)
{
	char	text[MCP_MAX_ERR + 64];

	snprintf(text, sizeof(text), "%s: %s", rc < 0 ? "remedyd unreachable" :
	    proto_code_name(rc), err);
	return tool_result(json_pack("{s:s, s:s}", "error", rc < 0 ?
	    "unreachable" : proto_code_name(rc), "message", err), text, 1);
}

static json_t *
hello_args(struct mcp_server *s)
{
	json_t	*h = json_pack("{s:b}", "agent", 1);

	if (h != NULL && s->client_name[0] != '\0')
		json_object_set_new(h, "client", json_pack("{s:s, s:s?}",
		    "name", s->client_name, "version", s->client_version[0] ?
		    s->client_version : NULL));
	return h;
}

/* Call remedyd; on failure *out is the tool error. */
static int
control(struct mcp_server *s, const char *cmd, json_t *args,
    json_t **result, json_t **out)
{
	char	err[MCP_MAX_ERR];
	int	rc;

	err[0] = '\0';
	rc = s->ops.call(s->ops.arg, hello_args(s), cmd, args, result, err,
	    sizeof(err));
	if (rc != 0)
		*out = tool_failed(rc, err);
	return rc;
}

/*
 * Argument checks: each names the field.  A missing optional field is
 * fine; a wrong type is -32602.
 */
static int
want_id(json_t *a, const char *f, int required, json_int_t *v, char *err,
    size_t errlen)
{
	json_t	*x = json_object_get(a, f);

	*v = 0;
	if (x == NULL && !required)
		return 0;
	if (!json_is_integer(x) || json_integer_value(x) <= 0 ||
	    json_integer_value(x) > INT64_MAX / 2) {
		snprintf(err, errlen, "argument \"%s\" must be a positive "
		    "integer", f);
		return -1;
	}
	*v = json_integer_value(x);
	return 0;
}

static int
want_str(json_t *a, const char *f, int required, const char **v, char *err,
    size_t errlen)
{
	json_t	*x = json_object_get(a, f);

	*v = NULL;
	if (x == NULL && !required)
		return 0;
	if (!json_is_string(x) || json_string_length(x) == 0) {
		snprintf(err, errlen, "argument \"%s\" must be a non-empty "
		    "string", f);
		return -1;
	}
	*v = json_string_value(x);
	return 0;
}

/* Only the fields the schema names. */
static int
known_only(json_t *a, const char *const *fields, char *err, size_t errlen)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	int		 ok;

	json_object_foreach(a, k, v) {
		for (ok = 0, i = 0; fields[i] != NULL; i++)
			if (strcmp(k, fields[i]) == 0)
				ok = 1;
		if (!ok) {
			snprintf(err, errlen, "unknown argument \"%.64s\"", k);
			return -1;
		}
	}
	return 0;
}

typedef json_t *(*tool_fn)(struct mcp_server *, json_t *args, char *err,
    size_t errlen);

static json_t *
t_list_incidents(struct mcp_server *s, json_t *a, char *err, size_t errlen)
{
	static const char *const f[] = { "state", NULL };
	const char	*state;
	json_t		*res = NULL, *out = NULL;

	if (known_only(a, f, err, errlen) == -1 ||
	    want_str(a, "state", 0, &state, err, errlen) == -1)
		return NULL;
	if (control(s, "incidents", json_pack("{s:s?}", "state", state), &res,
	    &out) != 0)
		return out;
	return tool_result(res, NULL, 0);
}

static json_t *
t_get_incident(struct mcp_server *s, json_t *a, char *err, size_t errlen)
{
	static const char *const f[] = { "id", NULL };
	json_int_t	 id;
	json_t		*res = NULL, *out = NULL;

	if (known_only(a, f, err, errlen) == -1 ||
	    want_id(a, "id", 1, &id, err, errlen) == -1)
		return NULL;
	if (control(s, "incident", json_pack("{s:I}", "id", id), &res,
	    &out) != 0)
		return out;
	return tool_result(res, NULL, 0);
}

static json_t *
t_list_actions(struct mcp_server *s, json_t *a, char *err, size_t errlen)
{
	static const char *const f[] = { "state", "namespace", "limit", NULL };
	const char	*state, *ns;
	json_int_t	 limit;
	json_t		*res = NULL, *out = NULL;

	if (known_only(a, f, err, errlen) == -1 ||
	    want_str(a, "state", 0, &state, err, errlen) == -1 ||
	    want_str(a, "namespace", 0, &ns, err, errlen) == -1 ||
	    want_id(a, "limit", 0, &limit, err, errlen) == -1)
		return NULL;
	if (limit == 0)
		limit = MCP_LIST_DEFAULT;
	if (limit > MCP_LIST_MAX)
		limit = MCP_LIST_MAX;
	if (control(s, "list", json_pack("{s:s?, s:s?, s:I}", "state", state,
	    "namespace", ns, "limit", limit), &res, &out) != 0)
		return out;
	return tool_result(res, NULL, 0);
}

/* A new reference to o's member f, or null. */
static json_t *
ref(json_t *o, const char *f)
{
	json_t	*v = json_object_get(o, f);

	return v != NULL ? json_incref(v) : json_null();
}

/* The reviewable view of an action: what an agent needs to follow it. */
static json_t *
action_view(json_t *act)
{
	const char	*state = json_string_value(json_object_get(act,
			    "state"));
	json_t		*v;

	v = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", ref(act, "id"), "state", ref(act, "state"),
	    "target", json_pack("{s:o, s:o, s:o}", "kind", ref(act, "kind"),
	    "namespace", ref(act, "namespace"), "name", ref(act, "name")),
	    "summary", ref(act, "summary"),
	    "diff", json_is_array(json_object_get(act, "changes")) ?
	    ref(act, "changes") : json_array(),
	    "patch", ref(act, "patch"), "rule", ref(act, "rule"),
	    "reason", ref(act, "reason"), "origin", ref(act, "origin"));
	if (v == NULL)
		return NULL;
	/* the verdict once remedyd checked the workload after the apply */
	json_object_set_new(v, "verdict", state != NULL &&
	    (strcmp(state, "verified") == 0 || strcmp(state,
	    "not-recovered") == 0) ? json_string(state) : json_null());
	json_object_set_new(v, "approved_by", ref(act, "approved_by"));
	return v;
}

static json_t *
t_get_action(struct mcp_server *s, json_t *a, char *err, size_t errlen)
{
	static const char *const f[] = { "id", NULL };
	json_int_t	 id;
	json_t		*res = NULL, *out = NULL, *v;

	if (known_only(a, f, err, errlen) == -1 ||
	    want_id(a, "id", 1, &id, err, errlen) == -1)
		return NULL;
	if (control(s, "show", json_pack("{s:I}", "id", id), &res, &out) != 0)
		return out;
	v = action_view(json_object_get(res, "action"));
	json_decref(res);
	return tool_result(v, NULL, 0);
}

static json_t *
t_propose_fix(struct mcp_server *s, json_t *a, char *err, size_t errlen)
{
	static const char *const f[] = { "target", "patch", "rationale",
	    "risk", "summary", "incident", NULL };
	static const char *const tf[] = { "kind", "namespace", "name", NULL };
	const char	*kind, *ns, *name, *rationale, *risk, *summary;
	json_t		*target = json_object_get(a, "target");
	json_t		*patch = json_object_get(a, "patch");
	json_t		*res = NULL, *out = NULL, *v, *args;
	json_int_t	 incident;
	char		 text[MCP_MAX_ERR];
	int		 refused;

	if (known_only(a, f, err, errlen) == -1)
		return NULL;
	if (!json_is_object(target)) {
		snprintf(err, errlen, "argument \"target\" must be an object "
		    "{kind, namespace, name}");
		return NULL;
	}
	if (known_only(target, tf, err, errlen) == -1 ||
	    want_str(target, "kind", 1, &kind, err, errlen) == -1 ||
	    want_str(target, "namespace", 1, &ns, err, errlen) == -1 ||
	    want_str(target, "name", 1, &name, err, errlen) == -1 ||
	    want_str(a, "rationale", 1, &rationale, err, errlen) == -1 ||
	    want_str(a, "risk", 1, &risk, err, errlen) == -1 ||
	    want_str(a, "summary", 0, &summary, err, errlen) == -1 ||
	    want_id(a, "incident", 0, &incident, err, errlen) == -1)
		return NULL;
	if (!json_is_array(patch) && !json_is_object(patch)) {
		snprintf(err, errlen, "argument \"patch\" must be a JSON Patch "
		    "(array) or a merge patch (object)");
		return NULL;
	}
	if (strcmp(risk, "low") != 0 && strcmp(risk, "medium") != 0 &&
	    strcmp(risk, "high") != 0) {
		snprintf(err, errlen, "argument \"risk\" must be low, medium or "
		    "high");
		return NULL;
	}
	if (summary == NULL) {
		snprintf(text, sizeof(text), "Agent proposal for %.63s "
		    "%.253s/%.253s", kind, ns, name);
		summary = text;
	}
	args = json_pack("{s:{s:s, s:s, s:s}, s:O, s:s, s:s, s:s}", "target",
	    "kind", kind, "namespace", ns, "name", name, "patch", patch,
	    "rationale", rationale, "risk", risk, "summary", summary);
	if (args != NULL && incident > 0)
		json_object_set_new(args, "incident", json_integer(incident));
	if (control(s, "propose", args, &res, &out) != 0)
		return out;
	v = action_view(json_object_get(res, "action"));
	json_decref(res);
	refused = v != NULL && json_is_string(json_object_get(v, "state")) &&
	    strcmp(json_string_value(json_object_get(v, "state")),
	    "pending") != 0;
	if (v == NULL)
		return tool_result(NULL, "remedyd answered without an action",
		    1);
	if (refused)
		snprintf(text, sizeof(text), "refused (rule %s): %s",
		    json_string_value(json_object_get(v, "rule")) ?
		    json_string_value(json_object_get(v, "rule")) : "dry-run",
		    json_string_value(json_object_get(v, "reason")) ?
		    json_string_value(json_object_get(v, "reason")) : "?");
	else
		snprintf(text, sizeof(text), "action %lld is pending: a human "
		    "decides with `remedyctl approve %lld` or `remedyctl reject "
		    "%lld`; wait_for_decision waits for it",
		    (long long)json_integer_value(json_object_get(v, "id")),
		    (long long)json_integer_value(json_object_get(v, "id")),
		    (long long)json_integer_value(json_object_get(v, "id")));
	return tool_result(v, text, refused);
}

/*
 * Wait on the watch stream until an event says action id left pending
 * (1), or the deadline passes (0), or the stream fails (-1, *out the tool
 * error).  Events about other actions, and "pending" itself, are passed
 * over.
 */
static int
wait_event(struct mcp_server *s, json_int_t id, int64_t deadline,
    json_t **out)
{
	json_t		*ev;
	const char	*name;
	char		 err[MCP_MAX_ERR];
	int64_t		 left;
	int		 rc, match;

	while ((left = deadline - s->ops.now_ms(s->ops.arg)) > 0) {
		err[0] = '\0';
		ev = NULL;
		rc = s->ops.watch_next(s->ops.arg, (int)left, &ev, err,
		    sizeof(err));
		if (rc < 0) {
			*out = tool_failed(-1, err[0] ? err : "the watch "
			    "stream failed");
			return -1;
		}
		if (rc == 0)
			continue;
		name = json_string_value(json_object_get(ev, "event"));
		match = json_integer_value(json_object_get(json_object_get(ev,
		    "data"), "id")) == id && name != NULL &&
		    strcmp(name, "pending") != 0;
		json_decref(ev);
		if (match)
			return 1;
	}
	return 0;
}

/*
 * The stream is opened before the action is first read, so a decision
 * taken at any moment is seen: either in that read or as an event.  After
 * an event, or at the deadline, the action is read once more and that is
 * the answer.
 */
static json_t *
t_wait_for_decision(struct mcp_server *s, json_t *a, char *err,
    size_t errlen)
{
	static const char *const f[] = { "id", "timeout", NULL };
	json_int_t	 id, timeout;
	json_t		*res = NULL, *out = NULL, *v;
	const char	*state;
	char		 why[MCP_MAX_ERR];
	int64_t		 deadline;
	int		 rc, more = 1;

	if (known_only(a, f, err, errlen) == -1 ||
	    want_id(a, "id", 1, &id, err, errlen) == -1 ||
	    want_id(a, "timeout", 0, &timeout, err, errlen) == -1)
		return NULL;
	if (timeout == 0)
		timeout = 60;
	if (timeout > MCP_MAX_WAIT_S)
		timeout = MCP_MAX_WAIT_S;
	deadline = s->ops.now_ms(s->ops.arg) + timeout * 1000;
	why[0] = '\0';
	if ((rc = s->ops.watch_open(s->ops.arg, hello_args(s), why,
	    sizeof(why))) != 0)
		return tool_failed(rc, why);
	for (;;) {
		if (control(s, "show", json_pack("{s:I}", "id", id), &res,
		    &out) != 0)
			goto out;
		state = json_str_at(res, "action.state");
		if (state == NULL || strcmp(state, "pending") != 0 || !more)
			break;
		json_decref(res);
		res = NULL;
		if ((more = wait_event(s, id, deadline, &out)) == -1)
			goto out;
	}
	v = action_view(json_object_get(res, "action"));
	if (v != NULL)
		json_object_set_new(v, "decided", json_boolean(state != NULL &&
		    strcmp(state, "pending") != 0));
	out = tool_result(v, NULL, 0);
out:
	s->ops.watch_close(s->ops.arg);
	json_decref(res);
	return out;
}

/* --- the tool table, with the schemas tools/list shows --- */

static const char action_out[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"integer\"},\"state\":{\"type\":\"string\"},"
    "\"target\":{\"type\":\"object\"},\"summary\":{\"type\":\"string\"},"
    "\"diff\":{\"type\":\"array\",\"description\":\"[{path, before, after}]\"},"
    "\"patch\":{\"type\":[\"array\",\"null\"]},"
    "\"rule\":{\"type\":[\"string\",\"null\"]},"
    "\"reason\":{\"type\":[\"string\",\"null\"]},"
    "\"origin\":{\"type\":[\"string\",\"null\"]},"
    "\"verdict\":{\"type\":[\"string\",\"null\"]},"
    "\"approved_by\":{\"type\":[\"string\",\"null\"]},"
    "\"decided\":{\"type\":\"boolean\"}},"
    "\"required\":[\"id\",\"state\"]}";

static const struct tool {
	const char	*name;
	const char	*title;
	const char	*description;
	const char	*input;		/* JSON Schema */
	const char	*output;
	tool_fn		 fn;
} tools[] = {
	{ "list_incidents", "List incidents",
	  "The incidents remedyd detected, newest first.",
	  "{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\","
	  "\"enum\":[\"open\",\"resolved\"]}},\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"incidents\":{\"type\":"
	  "\"array\"}},\"required\":[\"incidents\"]}",
	  t_list_incidents },
	{ "get_incident", "Get an incident",
	  "One incident: its findings, affected objects, diagnosis and the "
	  "ids of its actions.",
	  "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\","
	  "\"minimum\":1}},\"required\":[\"id\"],\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"incident\":{\"type\":"
	  "\"object\"}},\"required\":[\"incident\"]}",
	  t_get_incident },
	{ "list_actions", "List actions",
	  "Proposed fixes (actions), newest first, with their state.",
	  "{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\"},"
	  "\"namespace\":{\"type\":\"string\"},\"limit\":{\"type\":\"integer\","
	  "\"minimum\":1,\"maximum\":1000}},\"additionalProperties\":false}",
	  "{\"type\":\"object\",\"properties\":{\"actions\":{\"type\":"
	  "\"array\"},\"total\":{\"type\":\"integer\"}},\"required\":"
	  "[\"actions\"]}",
	  t_list_actions },
	{ "get_action", "Get an action",
	  "One action: its state, diff, the exact patch, the policy rule or "
	  "reason when refused, and the verdict after it was applied.",
	  "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\","
	  "\"minimum\":1}},\"required\":[\"id\"],\"additionalProperties\":false}",
	  action_out, t_get_action },
	{ "propose_fix", "Propose a fix",
	  "Propose a patch to the root owner of an open incident. remedy "
	  "normalises it (test operations), checks it against its policy and "
	  "dry-runs it; it is then pending until a human approves it, or "
	  "refused with the rule that refused it. Nothing is applied by this "
	  "tool.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"target\":{\"type\":\"object\",\"properties\":{"
	  "\"kind\":{\"type\":\"string\"},\"namespace\":{\"type\":\"string\"},"
	  "\"name\":{\"type\":\"string\"}},\"required\":[\"kind\",\"namespace\","
	  "\"name\"],\"additionalProperties\":false},"
	  "\"patch\":{\"type\":[\"array\",\"object\"],\"description\":\"a JSON "
	  "Patch (RFC 6902) or a merge patch (RFC 7386)\"},"
	  "\"rationale\":{\"type\":\"string\",\"maxLength\":4096},"
	  "\"risk\":{\"type\":\"string\",\"enum\":[\"low\",\"medium\",\"high\"]},"
	  "\"summary\":{\"type\":\"string\",\"maxLength\":200},"
	  "\"incident\":{\"type\":\"integer\",\"minimum\":1}},"
	  "\"required\":[\"target\",\"patch\",\"rationale\",\"risk\"],"
	  "\"additionalProperties\":false}",
	  action_out, t_propose_fix },
	{ "wait_for_decision", "Wait for a human's decision",
	  "Wait until a human approved or rejected the action (or it moved "
	  "on), at most timeout seconds (default 60, at most 600).",
	  "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\","
	  "\"minimum\":1},\"timeout\":{\"type\":\"integer\",\"minimum\":1,"
	  "\"maximum\":600}},\"required\":[\"id\"],"
	  "\"additionalProperties\":false}",
	  action_out, t_wait_for_decision },
};

#define NTOOLS	(sizeof(tools) / sizeof(tools[0]))

static json_t *
tools_list(void)
{
	json_t	*arr = json_array();
	size_t	 i;

	for (i = 0; arr != NULL && i < NTOOLS; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:o}",
		    "name", tools[i].name, "title", tools[i].title,
		    "description", tools[i].description,
		    "inputSchema", json_loads(tools[i].input, 0, NULL),
		    "outputSchema", json_loads(tools[i].output, 0, NULL)));
	return json_pack("{s:o}", "tools", arr);
}

/* --- the protocol --- */

static json_t *
capabilities(void)
{
	return json_pack("{s:{s:b}}", "tools", "listChanged", 0);
}

static json_t *
server_info(const struct mcp_server *s)
{
	return json_pack("{s:s, s:s, s:s}", "name", "remedyctl", "title",
	    "remedy (human-approved Kubernetes fixes)", "version",
	    s->ops.version ? s->ops.version : "unknown");
}

/* Keep printable ASCII without spaces (hello accepts nothing else). */
static void
sanitise(char *dst, size_t dstlen, const char *src)
{
	size_t	i, n = 0;

	for (i = 0; src != NULL && src[i] != '\0' && n + 1 < dstlen; i++)
		dst[n++] = src[i] > ' ' && src[i] <= '~' ? src[i] : '_';
	dst[n] = '\0';
}

static void
client_info(struct mcp_server *s, json_t *info)
{
	if (!json_is_object(info))
		return;
	sanitise(s->client_name, sizeof(s->client_name),
	    json_string_value(json_object_get(info, "name")));
	sanitise(s->client_version, sizeof(s->client_version),
	    json_string_value(json_object_get(info, "version")));
}

static json_t *
tools_call(struct mcp_server *s, json_t *id, json_t *params, int stateless)
{
	const char	*name = json_string_value(json_object_get(params,
			    "name"));
	json_t		*args = json_object_get(params, "arguments");
	json_t		*r;
	char		 err[MCP_MAX_ERR], msg[MCP_MAX_ERR + 64];
	size_t		 i;

	if (name == NULL)
		return rpc_error(id, MCP_EPARAMS, "Invalid params: \"name\" "
		    "must be a string", NULL);
	if (args != NULL && !json_is_object(args))
		return rpc_error(id, MCP_EPARAMS, "Invalid params: "
		    "\"arguments\" must be an object", NULL);
	for (i = 0; i < NTOOLS; i++)
		if (strcmp(name, tools[i].name) == 0)
			break;
	if (i == NTOOLS) {
		snprintf(msg, sizeof(msg), "Unknown tool: %.64s (this server "
		    "has no tool that approves, rejects or rolls back)", name);
		return rpc_error(id, MCP_EPARAMS, msg, NULL);
	}
	if (args == NULL)
		args = json_object();
	else
		json_incref(args);
	err[0] = '\0';
	r = tools[i].fn(s, args, err, sizeof(err));
	json_decref(args);
	if (r == NULL) {
		snprintf(msg, sizeof(msg), "Invalid params: %s: %s", name,
		    err[0] ? err : "out of memory");
		return rpc_error(id, MCP_EPARAMS, msg, NULL);
	}
	return rpc_result(id, r, stateless);
}

/* The stateless form's _meta: 1 when it is there and good, 0 when it is
 * absent, -1 with *reply set when it is wrong. */
static int
stateless_meta(struct mcp_server *s, json_t *id, json_t *params,
    json_t **reply)
{
	json_t		*meta = json_object_get(params, "_meta");
	json_t		*v = json_object_get(meta, META_VERSION);
	const char	*ver;

	if (!json_is_object(meta) || v == NULL)
		return 0;
	if ((ver = json_string_value(v)) == NULL ||
	    strcmp(ver, MCP_VERSION_STATELESS) != 0) {
		*reply = rpc_error(id, MCP_EVERSION, "Unsupported protocol "
		    "version", json_pack("{s:[s, s], s:O}", "supported",
		    MCP_VERSION_STATELESS, MCP_VERSION_SESSION, "requested", v));
		return -1;
	}
	if (!json_is_object(json_object_get(meta, META_CAPS))) {
		*reply = rpc_error(id, MCP_EPARAMS, "Invalid params: _meta \""
		    META_CAPS "\" must be an object", NULL);
		return -1;
	}
	client_info(s, json_object_get(meta, META_INFO));
	return 1;
}

static json_t *
initialize(struct mcp_server *s, json_t *id, json_t *params)
{
	const char	*want = json_string_value(json_object_get(params,
			    "protocolVersion"));

	if (want == NULL)
		return rpc_error(id, MCP_EPARAMS, "Invalid params: "
		    "\"protocolVersion\" must be a string", NULL);
	client_info(s, json_object_get(params, "clientInfo"));
	s->initialized = 1;
	/* a version we do not speak: answer with ours, the client decides */
	return rpc_result(id, json_pack("{s:s, s:o, s:o, s:s}",
	    "protocolVersion", MCP_VERSION_SESSION, "capabilities",
	    capabilities(), "serverInfo", server_info(s), "instructions",
	    instructions), 0);
}

json_t *
mcp_handle(struct mcp_server *s, const char *line, size_t len)
{
	json_error_t	 jerr;
	json_t		*msg, *id, *params, *reply = NULL, *jv;
	const char	*method;
	char		 text[256];
	int		 stateless;

	if ((msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(text, sizeof(text), "Parse error at column %d: %s",
		    jerr.column, jerr.text);
		return rpc_error(NULL, MCP_EPARSE, text, NULL);
	}
	if (json_is_array(msg)) {
		reply = rpc_error(NULL, MCP_EINVALID, "Invalid Request: batches "
		    "are not supported", NULL);
		goto out;
	}
	id = json_object_get(msg, "id");
	jv = json_object_get(msg, "jsonrpc");
	method = json_string_value(json_object_get(msg, "method"));
	params = json_object_get(msg, "params");
	if (!json_is_object(msg) || !json_is_string(jv) ||
	    strcmp(json_string_value(jv), "2.0") != 0 || method == NULL ||
	    (id != NULL && !json_is_string(id) && !json_is_integer(id)) ||
	    (params != NULL && !json_is_object(params))) {
		reply = rpc_error(id != NULL && (json_is_string(id) ||
		    json_is_integer(id)) ? id : NULL, MCP_EINVALID,
		    "Invalid Request: a JSON-RPC 2.0 request has \"jsonrpc\": "
		    "\"2.0\", a string \"method\", an integer or string \"id\" "
		    "and object \"params\"", NULL);
		goto out;
	}
	if (id == NULL)
		goto out;	/* a notification: nothing to answer */
	if ((stateless = stateless_meta(s, id, params, &reply)) == -1)
		goto out;
	if (strcmp(method, "initialize") == 0)
		reply = initialize(s, id, params);
	else if (strcmp(method, "server/discover") == 0)
		reply = rpc_result(id, json_pack("{s:[s, s], s:o, s:o, s:s}",
		    "supportedVersions", MCP_VERSION_SESSION,
		    MCP_VERSION_STATELESS, "capabilities", capabilities(),
		    "serverInfo", server_info(s), "instructions",
		    instructions), 1);
	else if (strcmp(method, "ping") == 0)
		reply = rpc_result(id, json_object(), stateless);
	else if (strcmp(method, "tools/list") != 0 &&
	    strcmp(method, "tools/call") != 0) {
		snprintf(text, sizeof(text), "Method not found: %.64s", method);
		reply = rpc_error(id, MCP_EMETHOD, text, NULL);
	} else if (!stateless && !s->initialized)
		reply = rpc_error(id, MCP_EINVALID, "Invalid Request: send "
		    "initialize first (" MCP_VERSION_SESSION "), or _meta \""
		    META_VERSION "\": \"" MCP_VERSION_STATELESS "\"", NULL);
	else if (strcmp(method, "tools/list") == 0)
		reply = rpc_result(id, tools_list(), stateless);
	else
		reply = tools_call(s, id, params, stateless);
out:
	json_decref(msg);
	return reply;
}

void
mcp_init(struct mcp_server *s, const struct mcp_ops *ops)
{
	memset(s, 0, sizeof(*s));
	s->ops = *ops;
}

/* --- framing --- */

int
mcp_reader_init(struct mcp_reader *r)
{
	memset(r, 0, sizeof(*r));
	return (r->buf = malloc(MCP_MAX_LINE)) == NULL ? -1 : 0;
}

void
mcp_reader_clear(struct mcp_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

size_t
mcp_reader_feed(struct mcp_reader *r, const char *data, size_t n,
    void (*fn)(const char *, size_t, void *), void *arg)
{
	const char	*nl;
	size_t		 used = 0, take;

	while (used < n) {
		nl = memchr(data + used, '\n', n - used);
		take = nl ? (size_t)(nl - (data + used)) : n - used;
		if (r->skipping) {
			used += take + (nl ? 1 : 0);
			if (nl)
				r->skipping = 0;
			continue;
		}
		if (r->len + take > MCP_MAX_LINE - 1) {
			/* too big: report once, drop it up to its newline */
			r->len = 0;
			fn(NULL, 0, arg);
			used += take + (nl ? 1 : 0);
			r->skipping = nl == NULL;
			continue;
		}
		memcpy(r->buf + r->len, data + used, take);
		r->len += take;
		used += take;
		if (nl == NULL)
			break;
		used++;
		/* a blank line (or a bare \r) is no message */
		if (r->len > 0 && r->buf[r->len - 1] == '\r')
			r->len--;
		if (r->len > 0)
			fn(r->buf, r->len, arg);
		r->len = 0;
	}
	return used;
}

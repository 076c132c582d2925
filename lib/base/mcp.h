/*
 * mcp.h - the Model Context Protocol server behind `remedyctl mcp`.
 *
 * JSON-RPC 2.0, one message per line on stdin and stdout.  Two protocol
 * revisions are spoken:
 *
 *   2025-11-25	the session form: "initialize" (answered with
 *		protocolVersion, capabilities, serverInfo, instructions),
 *		then "notifications/initialized", "tools/list",
 *		"tools/call", "ping";
 *   2026-07-28	the stateless form: no handshake; every request carries
 *		params._meta with "io.modelcontextprotocol/protocolVersion"
 *		and "io.modelcontextprotocol/clientCapabilities" (and may
 *		carry "io.modelcontextprotocol/clientInfo"); "server/discover"
 *		answers supportedVersions, capabilities, serverInfo and
 *		instructions; every result carries "resultType": "complete".
 *		A version not supported: error -32004 with data.supported.
 *
 * Errors: -32700 parse error, -32600 invalid request (not an object,
 * jsonrpc not "2.0", a bad id, a batch, a line over MCP_MAX_LINE), -32601
 * unknown method, -32602 bad params or an unknown tool.  Tool failures
 * (remedyd refused, could not be reached) are results with isError.
 *
 * The tools read (list_incidents, get_incident, list_actions, get_action),
 * propose (propose_fix) and wait (wait_for_decision: on a watch stream
 * of action events, so it answers as soon as the action leaves pending
 * and costs nothing while it waits).  No tool approves,
 * rejects or rolls back, and every control request is sent after
 * `hello {"agent": true}`, so remedyd refuses those verbs on the
 * connection whatever the uid may do.
 *
 * Everything that talks to remedyd or the clock goes through struct
 * mcp_ops, so the whole server runs in a fuzz target without a daemon.
 */
#ifndef REMEDY_MCP_H
#define REMEDY_MCP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MCP_MAX_LINE		(1024 * 1024)	/* bytes of one message */
#define MCP_VERSION_SESSION	"2025-11-25"
#define MCP_VERSION_STATELESS	"2026-07-28"
#define MCP_MAX_WAIT_S		600	/* wait_for_decision timeout, at most */

#define MCP_EPARSE		(-32700)
#define MCP_EINVALID		(-32600)
#define MCP_EMETHOD		(-32601)
#define MCP_EPARAMS		(-32602)
#define MCP_EVERSION		(-32004)

struct mcp_ops {
	/*
	 * One control request, sent after hello (args stolen; hello holds
	 * the agent flag and the client's name and version).  0 and
	 * *result, >0 a proto_code refusal with its message in err, -1
	 * remedyd unreachable (err says why).
	 */
	int	(*call)(void *arg, json_t *hello, const char *cmd,
		    json_t *args, json_t **result, char *err, size_t errlen);
	int64_t	(*now_ms)(void *arg);		/* a monotonic clock */
	/*
	 * Action events, for wait_for_decision: watch_open sends the
	 * control command watch after hello (hello stolen) and returns as
	 * call does; watch_next waits at most ms for the next event (1 and
	 * *event, a new reference {"event","data"}; 0 none came; -1 the
	 * stream failed, err says why); watch_close ends the stream.
	 */
	int	(*watch_open)(void *arg, json_t *hello, char *err,
		    size_t errlen);
	int	(*watch_next)(void *arg, int ms, json_t **event, char *err,
		    size_t errlen);
	void	(*watch_close)(void *arg);
	void	*arg;
	const char *version;			/* remedyctl's */
};

struct mcp_server {
	struct mcp_ops	 ops;
	int		 initialized;	/* the session form's handshake done */
	char		 client_name[49];	/* from clientInfo, sanitised */
	char		 client_version[33];
};

void	 mcp_init(struct mcp_server *, const struct mcp_ops *);
/*
 * Answer one message (a line without its newline): the reply to send
 * (new reference), or NULL for a notification (nothing to send).
 */
json_t	*mcp_handle(struct mcp_server *, const char *line, size_t len);
/* The reply to a line over MCP_MAX_LINE (its id is unknown). */
json_t	*mcp_too_big(void);

/*
 * Framing: bytes in, whole lines out.  A line over MCP_MAX_LINE is
 * skipped up to its newline and reported once as too big.
 */
struct mcp_reader {
	char	*buf;		/* MCP_MAX_LINE bytes */
	size_t	 len;
	int	 skipping;	/* inside a line that was too big */
};
int	 mcp_reader_init(struct mcp_reader *);
void	 mcp_reader_clear(struct mcp_reader *);
/*
 * Feed n bytes; for each complete line call fn(line, len, arg) (len 0 and
 * line NULL for a line that was too big).  Returns the bytes consumed (all
 * of them).
 */
size_t	 mcp_reader_feed(struct mcp_reader *, const char *data, size_t n,
	    void (*fn)(const char *line, size_t len, void *arg), void *arg);

#endif

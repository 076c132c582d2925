/*
 * ctl.h - remedyctl's modules: the client (client.c) and the output
 * formats and renderers (output.c).
 */
#ifndef REMEDY_CTL_H
#define REMEDY_CTL_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define CTL_DEFAULT_SOCKET	"/run/remedyd/remedyd.sock"
#define CTL_TIMEOUT_MS		30000	/* connect + request + whole reply */
#define CTL_MAX_ERR		1024	/* bytes of an error line */

enum ctl_format {
	CTL_TABLE,
	CTL_JSON,
	CTL_YAML
};

/* What the global options chose. */
struct ctl {
	const char	*socket;
	enum ctl_format	 format;
	int		 color;
};

/*
 * Send one request and wait for its reply (blocking, poll() with one
 * deadline of CTL_TIMEOUT_MS for the whole exchange).  args is stolen.
 * Returns:
 *   0	ok; *result is the reply's result (owned by the caller);
 *   >0	the daemon refused: a proto_code, its message in err;
 *   -1	the daemon could not be reached or answered garbage; err holds one
 *	line that names the socket or the problem.
 */
int	 ctl_call(const char *path, const char *cmd, json_t *args,
	    json_t **result, char *err, size_t errlen);
/* The same, after the request hello with args hello (stolen; NULL: no
 * hello) on the same connection: what `remedyctl mcp` sends, so the
 * daemon knows the connection speaks for an agent.  A refused hello
 * returns its code. */
int	 ctl_call_hello(const char *path, json_t *hello, const char *cmd,
	    json_t *args, json_t **result, char *err, size_t errlen);
/* mcp.c: `remedyctl mcp`, an MCP server on stdin/stdout; exit status. */
int	 ctl_mcp(const char *socket);

/*
 * Stream events: send "watch" (args stolen), then call fn for every event
 * message ({"v","id","event","data"}) until fn returns non-zero (then 0 is
 * returned) or the connection fails (-1, err set).  A refusal of the watch
 * request itself returns its proto_code as ctl_call() does.  After the
 * first reply there is no deadline: events come when they come.
 */
typedef int (*ctl_event_fn)(json_t *event, void *arg);
int	 ctl_watch(const char *path, json_t *args, ctl_event_fn fn, void *arg,
	    char *err, size_t errlen);
/*
 * The same stream read one event at a time: ctl_stream_open sends hello
 * (stolen; NULL: none) and watch (args stolen) and returns as ctl_call()
 * does, *st set on 0; ctl_stream_next waits until deadline (mono_ms();
 * 0: for ever) for the next event message: 1 and *event (the caller's),
 * 0 when the deadline passed first, -1 with err set when the stream
 * failed; ctl_stream_close closes it (NULL is fine).
 */
struct ctl_stream;
int	 ctl_stream_open(const char *path, json_t *hello, json_t *args,
	    struct ctl_stream **st, char *err, size_t errlen);
int	 ctl_stream_next(struct ctl_stream *, int64_t deadline,
	    json_t **event, char *err, size_t errlen);
void	 ctl_stream_close(struct ctl_stream *);

/* remedyctl.c: one request, its error printed as one line; the exit
 * status (0 and *result set on success). */
int	 ctl_request(struct ctl *, const char *cmd, json_t *args,
	    json_t **result);
/* Print result as JSON or YAML when that was asked for: 1 when done. */
int	 ctl_machine_output(struct ctl *, json_t *result, int *rc);
/* A usage error: one line naming the problem, exit 2. */
void	 ctl_usage_error(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));

/* audit.c: the audit log with its filters (args as parsed: action, since,
 * until, actor, event, namespace), one action's story, a row's one-line
 * summary, and --since/--until as unix ms (a usage error naming opt). */
int	 ctl_audit_list(struct ctl *, json_t *args);
int	 ctl_audit_show(struct ctl *, json_int_t id);
void	 audit_row_summary(json_t *row, char *buf, size_t len);
int64_t	 audit_parse_time(const char *opt, const char *s);

/* The result as JSON (indent 2, sorted keys) or YAML, with a newline. */
int	 out_json(FILE *, const json_t *);

/* Human renderers (the "table" format), one per command. */
void	 out_status(FILE *, json_t *result);
void	 out_list(FILE *, json_t *result);
void	 out_show(FILE *, json_t *action, int color);
void	 out_incidents(FILE *, json_t *result);
void	 out_incident(FILE *, json_t *incident);
void	 out_audit(FILE *, json_t *result);
/* One watch event as a line: time, event, id, target, summary. */
void	 out_event(FILE *, json_t *event, int color);

/* "2026-11-27T03:00:00Z" -> unix ms; -1 when not RFC 3339. */
int64_t	 parse_rfc3339(const char *);

#endif

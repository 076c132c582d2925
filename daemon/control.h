/*
 * control.h - the control socket server (remedyd side).
 *
 * A Unix stream socket speaking JSON lines (proto/control.md).  At start it
 * refuses to run when another daemon answers on the path, removes a stale
 * file, binds under umask 077 and chmods 0660.  Accepted sockets are
 * non-blocking and close-on-exec; on EMFILE accepting pauses instead of
 * spinning.  Peer credentials (SO_PEERCRED) are read once at accept; identity
 * fields a client sends are never trusted; the peer's role (authz.h) is
 * fixed at accept, a peer without one is refused there, and a command
 * that needs a higher role is refused with "permission denied: approve
 * needs role approver" through one check.  A request line longer than
 * PROTO_MAX_REQUEST is answered with "too_big" and the connection closed,
 * before anything is parsed.
 */
#ifndef REMEDY_DAEMON_CONTROL_H
#define REMEDY_DAEMON_CONTROL_H

#include <sys/types.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct control;
struct authz;
struct control_reply;

#define CONTROL_MAX_CLIENT	100	/* bytes of "name/version", NUL included */
#define CONTROL_DEFERRED	(-1)	/* *code of a handler that answers
					 * later through control_defer() */
struct control_peer {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
	char	user[64];	/* from getpwuid_r, else the uid as digits */
	int	role;		/* enum authz_role, fixed at accept */
	/*
	 * Set by the built-in command hello (proto/control.md): the
	 * connection speaks for an agent (an MCP client), which never
	 * decides; once set it stays set.  client is "name/version" as the
	 * client gave it (printable ASCII), or "".
	 */
	int	agent;
	char	client[CONTROL_MAX_CLIENT];
	void	*conn;		/* the connection (control.c only) */
};

/*
 * A command handler.  Returns the result object (new reference) or NULL
 * with *code set to a proto_code and msg filled.
 */
typedef json_t *(*control_fn)(void *ctx, const struct control_peer *peer,
		    json_t *args, int *code, char *msg, size_t msglen);

#define CONTROL_STREAM	0x1	/* on success the connection receives
				 * control_broadcast() events */
#define CONTROL_DECIDES	0x2	/* a decision: refused on a connection
				 * that said hello as an agent */

struct control_cmd {
	const char	*name;
	control_fn	 fn;
	int		 role;	/* enum authz_role the peer needs */
	int		 flags;	/* CONTROL_STREAM */
};

/*
 * How the socket is run.  Zero fields take the defaults in control.c.
 * denied, when set, is called for every request refused for lack of a
 * role (after the refusal was decided, before it is sent), so the caller
 * can audit it.  before, when set, is called before every command handler
 * runs (remedyd commits the store's batch there, so that no answer shows
 * a row a crash could still take back).
 */
struct control_opts {
	const char		*path;
	const char		*group;		/* socket file group, or NULL */
	int64_t			 idle_ms;	/* default 300 s */
	int			 max_conns;	/* default 64 */
	int			 max_per_uid;	/* default 16 */
	const struct authz	*authz;		/* NULL: everyone approver */
	void			(*denied)(void *ctx,
				    const struct control_peer *peer,
				    const char *cmd, json_t *args);
	void			(*before)(void *ctx);
};

/* table ends with {NULL, NULL}.  Returns NULL with a message in err. */
struct control	*control_new(uv_loop_t *, const struct control_opts *,
		    const struct control_cmd *table, void *ctx,
		    char *err, size_t errlen);
/*
 * Push one event to every connection that ran a CONTROL_STREAM command:
 * {"v":1,"id":<that request's id>,"event":name,"data":data}.  A watcher
 * whose unsent output is over the high-water mark is closed instead (it
 * does not read; its queue must not grow without bound).  data is
 * borrowed.
 */
void		 control_broadcast(struct control *, const char *event,
		    json_t *data);
/*
 * Answer the request being handled later: a handler calls control_defer()
 * with the peer it was given, returns NULL and sets *code to
 * CONTROL_DEFERRED.  The connection answers nothing more (its next
 * request lines wait, in order) until control_reply_done() is called
 * exactly once with the result (stolen; NULL: an error with code and
 * msg).  If the connection closed meanwhile the answer is dropped; the
 * token stays valid until control_reply_done() either way, so the caller
 * must always call it.  NULL on ENOMEM (answer at once instead).
 */
struct control_reply *control_defer(const struct control_peer *peer);
void		 control_reply_done(struct control_reply *, json_t *result,
		    int code, const char *msg);
/* Connections open now (for tests and status). */
int		 control_nconns(const struct control *);
/* Closes the listener and every connection, unlinks the socket; memory is
 * released from close callbacks. */
void		 control_free(struct control *);

#endif

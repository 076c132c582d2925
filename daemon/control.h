/*
 * control.h - the control socket server (remedyd side).
 *
 * A Unix stream socket speaking JSON lines (proto/control.md).  At start it
 * refuses to run when another daemon answers on the path, removes a stale
 * file, binds under umask 077 and chmods 0660.  Accepted sockets are
 * non-blocking and close-on-exec; on EMFILE accepting pauses instead of
 * spinning.  Peer credentials (SO_PEERCRED) are read once at accept; identity
 * fields a client sends are never trusted.  A request line longer than
 * PROTO_MAX_REQUEST is answered with "too_big" and the connection closed,
 * before anything is parsed.
 */
#ifndef REMEDY_DAEMON_CONTROL_H
#define REMEDY_DAEMON_CONTROL_H

#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

struct control;

struct control_peer {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
	char	user[64];	/* from getpwuid_r, else the uid as digits */
};

/*
 * A command handler.  Returns the result object (new reference) or NULL
 * with *code set to a proto_code and msg filled.
 */
typedef json_t *(*control_fn)(void *ctx, const struct control_peer *peer,
		    json_t *args, int *code, char *msg, size_t msglen);

struct control_cmd {
	const char	*name;
	control_fn	 fn;
};

/* table ends with {NULL, NULL}.  Returns NULL with a message in err. */
struct control	*control_new(uv_loop_t *, const char *path,
		    const struct control_cmd *table, void *ctx,
		    char *err, size_t errlen);
/* Closes the listener and every connection, unlinks the socket; memory is
 * released from close callbacks. */
void		 control_free(struct control *);

#endif

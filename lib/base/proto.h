/*
 * proto.h - the control protocol shared by remedyd and remedyctl.
 *
 * JSON lines over a Unix stream socket (proto/control.md).  A request:
 *   {"v":1,"id":7,"cmd":"approve","args":{"id":3,"comment":"ok"}}
 * a reply:
 *   {"v":1,"id":7,"ok":true,"result":{...}}
 *   {"v":1,"id":7,"ok":false,"error":{"code":"not_found","message":"..."}}
 *
 * Both programs take their error names and default texts from the one table
 * in proto.c, so they print the same words.
 */
#ifndef REMEDY_PROTO_H
#define REMEDY_PROTO_H

#include <stddef.h>

#include <jansson.h>

#define PROTO_VERSION		1
#define PROTO_MAX_REQUEST	(64 * 1024)	/* bytes, newline included */
#define PROTO_MAX_REPLY		(16 * 1024 * 1024)

enum proto_code {
	PROTO_OK = 0,
	PROTO_EBADREQ,		/* "bad_request": not JSON, missing fields */
	PROTO_EVERSION,		/* "version": protocol version mismatch */
	PROTO_ETOOBIG,		/* "too_big": over PROTO_MAX_REQUEST */
	PROTO_EUNKNOWN,		/* "unknown_command" */
	PROTO_ENOTFOUND,	/* "not_found" */
	PROTO_EBADSTATE,	/* "bad_state": transition not allowed */
	PROTO_EPERM,		/* "permission_denied" */
	PROTO_EINTERNAL,	/* "internal" */
	PROTO_NCODES
};

const char	*proto_code_name(int code);	/* "not_found" */
int		 proto_code_from_name(const char *name); /* -1 if unknown */
const char	*proto_code_text(int code);	/* "no such action" */

/*
 * remedyctl exit status for a reply code: 0 ok, 1 refused by the daemon
 * (not found, bad state, bad request), 4 permission denied; 3 is used for
 * "cannot reach the daemon / protocol error" and 2 for usage errors.
 */
#define CTL_EXIT_OK		0
#define CTL_EXIT_REFUSED	1
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_UNREACHABLE	3
#define CTL_EXIT_PERM		4
int		 proto_code_exit(int code);

/* Build messages; args/result references are stolen (may be NULL). */
json_t		*proto_request(json_int_t id, const char *cmd, json_t *args);
json_t		*proto_reply_ok(json_int_t id, json_t *result);
json_t		*proto_reply_err(json_int_t id, int code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Parse one request line (without its newline).  On success returns 0 and
 * sets *root (owned by the caller), *id, *cmd and *args (borrowed from
 * *root; args is an empty object when absent).  On failure returns a
 * proto_code, sets *id when it could be read (else 0), and writes a message
 * that says what was wrong and where (jansson's line/column) into err.
 */
int		 proto_parse_request(const char *line, size_t len,
		    json_t **root, json_int_t *id, const char **cmd,
		    json_t **args, char *err, size_t errlen);

/* Serialise a message as one compact line ending in '\n' (heap string). */
char		*proto_encode(const json_t *msg, size_t *len);

#endif

/*
 * proto.c - the control protocol codec (see proto.h, proto/control.md).
 *
 * The code table below is the only place that names the error codes: the
 * daemon puts the names on the wire and remedyctl maps them back to text and
 * exit status, so both programs always agree.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/proto.h"

#define PROTO_MAX_MESSAGE	1024	/* bytes of an error message */

struct proto_code_info {
	const char	*name;
	const char	*text;
	int		 exit;
};

static const struct proto_code_info proto_codes[PROTO_NCODES] = {
	[PROTO_OK] =		{ "ok", "ok", CTL_EXIT_OK },
	[PROTO_EBADREQ] =	{ "bad_request", "bad request",
				    CTL_EXIT_REFUSED },
	[PROTO_EVERSION] =	{ "version", "protocol version mismatch",
				    CTL_EXIT_REFUSED },
	[PROTO_ETOOBIG] =	{ "too_big", "request too big",
				    CTL_EXIT_REFUSED },
	[PROTO_EUNKNOWN] =	{ "unknown_command", "unknown command",
				    CTL_EXIT_REFUSED },
	[PROTO_ENOTFOUND] =	{ "not_found", "no such action",
				    CTL_EXIT_REFUSED },
	[PROTO_EBADSTATE] =	{ "bad_state",
				    "the action is not in a state that allows this",
				    CTL_EXIT_REFUSED },
	[PROTO_EPERM] =		{ "permission_denied", "permission denied",
				    CTL_EXIT_PERM },
	[PROTO_EINTERNAL] =	{ "internal", "internal error",
				    CTL_EXIT_REFUSED },
};

const char *
proto_code_name(int code)
{
	if (code < 0 || code >= PROTO_NCODES)
		code = PROTO_EINTERNAL;
	return proto_codes[code].name;
}

int
proto_code_from_name(const char *name)
{
	int	i;

	if (name == NULL)
		return -1;
	for (i = 0; i < PROTO_NCODES; i++)
		if (strcmp(proto_codes[i].name, name) == 0)
			return i;
	return -1;
}

const char *
proto_code_text(int code)
{
	if (code < 0 || code >= PROTO_NCODES)
		code = PROTO_EINTERNAL;
	return proto_codes[code].text;
}

/*
 * An unknown code (a newer daemon) is treated as a refusal, never as
 * success.
 */
int
proto_code_exit(int code)
{
	if (code < 0 || code >= PROTO_NCODES)
		return CTL_EXIT_REFUSED;
	return proto_codes[code].exit;
}

json_t *
proto_request(json_int_t id, const char *cmd, json_t *args)
{
	json_t	*msg;

	if (args == NULL)
		args = json_object();
	msg = json_pack("{s:i, s:I, s:s, s:o}", "v", PROTO_VERSION, "id", id,
	    "cmd", cmd ? cmd : "", "args", args);
	return msg;
}

json_t *
proto_reply_ok(json_int_t id, json_t *result)
{
	if (result == NULL)
		result = json_object();
	return json_pack("{s:i, s:I, s:b, s:o}", "v", PROTO_VERSION, "id", id,
	    "ok", 1, "result", result);
}

/*
 * The message is cut at PROTO_MAX_MESSAGE bytes; an empty one is replaced by
 * the code's default text so a reply never carries an empty message.
 */
json_t *
proto_reply_err(json_int_t id, int code, const char *fmt, ...)
{
	char	 msg[PROTO_MAX_MESSAGE];
	va_list	 ap;

	if (code <= PROTO_OK || code >= PROTO_NCODES)
		code = PROTO_EINTERNAL;
	msg[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", proto_code_text(code));
	return json_pack("{s:i, s:I, s:b, s:{s:s, s:s}}", "v", PROTO_VERSION,
	    "id", id, "ok", 0, "error", "code", proto_code_name(code),
	    "message", msg);
}

/*
 * The length is checked before anything is decoded: a line of len bytes
 * travels as len + 1 bytes with its newline, and that may not exceed
 * PROTO_MAX_REQUEST.  Duplicate keys are rejected so that no two readers of
 * the same line can disagree about what it says.
 */
int
proto_parse_request(const char *line, size_t len, json_t **rootp,
    json_int_t *idp, const char **cmdp, json_t **argsp, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root = NULL, *v, *id, *cmd, *args;
	int		 rc = PROTO_EBADREQ;

	*rootp = NULL;
	*idp = 0;
	*cmdp = NULL;
	*argsp = NULL;
	if (len >= PROTO_MAX_REQUEST) {
		snprintf(err, errlen, "request of %zu bytes is over the limit "
		    "of %d bytes", len + 1, PROTO_MAX_REQUEST);
		rc = PROTO_ETOOBIG;
		goto out;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "invalid JSON at column %d: %s",
		    jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "request is not a JSON object");
		goto out;
	}
	if ((id = json_object_get(root, "id")) == NULL) {
		snprintf(err, errlen, "request has no \"id\"");
		goto out;
	}
	if (!json_is_integer(id)) {
		snprintf(err, errlen, "request \"id\" must be an integer");
		goto out;
	}
	*idp = json_integer_value(id);
	if ((v = json_object_get(root, "v")) == NULL) {
		snprintf(err, errlen, "request has no protocol version \"v\"");
		goto out;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "request \"v\" must be an integer");
		goto out;
	}
	if (json_integer_value(v) != PROTO_VERSION) {
		snprintf(err, errlen, "protocol version %" JSON_INTEGER_FORMAT
		    " not supported (this daemon speaks %d)",
		    json_integer_value(v), PROTO_VERSION);
		rc = PROTO_EVERSION;
		goto out;
	}
	if ((cmd = json_object_get(root, "cmd")) == NULL) {
		snprintf(err, errlen, "request has no \"cmd\"");
		goto out;
	}
	if (!json_is_string(cmd) || json_string_length(cmd) == 0) {
		snprintf(err, errlen, "request \"cmd\" must be a non-empty "
		    "string");
		goto out;
	}
	if ((args = json_object_get(root, "args")) == NULL) {
		if (json_object_set_new(root, "args", json_object()) == -1) {
			snprintf(err, errlen, "out of memory");
			rc = PROTO_EINTERNAL;
			goto out;
		}
		args = json_object_get(root, "args");
	} else if (!json_is_object(args)) {
		snprintf(err, errlen, "request \"args\" must be an object");
		goto out;
	}
	*cmdp = json_string_value(cmd);
	*argsp = args;
	*rootp = root;
	root = NULL;
	rc = PROTO_OK;
	if (errlen > 0)
		err[0] = '\0';
out:
	json_decref(root);
	return rc;
}

/*
 * Compact, one line: JSON escapes control characters inside strings, so the
 * only newline is the terminator we add.
 */
char *
proto_encode(const json_t *msg, size_t *lenp)
{
	char	*s, *line = NULL;
	size_t	 n;

	if ((s = json_dumps(msg, JSON_COMPACT)) == NULL)
		goto out;
	n = strlen(s);
	if ((line = malloc(n + 2)) == NULL)
		goto out;
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	if (lenp)
		*lenp = n + 1;
out:
	free(s);
	return line;
}

/*
 * fuzz_proto.c - the control-protocol request decoder (lib/base/proto.h).
 *
 * Any line must be accepted or refused with a known code and a message;
 * an accepted request has a command string and an args object, and its
 * reply encodes as exactly one line.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/proto.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t		*root = NULL, *args = NULL, *reply;
	json_int_t	 id = 0;
	const char	*cmd = NULL;
	char		 err[512], *line;
	size_t		 len;
	int		 code;

	if (size > PROTO_MAX_REQUEST)
		return 0;
	err[0] = '\0';
	code = proto_parse_request((const char *)data, size, &root, &id, &cmd,
	    &args, err, sizeof(err));
	fuzz_check(code >= 0 && code < PROTO_NCODES);
	fuzz_check(proto_code_name(code) != NULL);
	if (code == PROTO_OK) {
		fuzz_check(root != NULL && cmd != NULL && json_is_object(args));
		reply = proto_reply_ok(id, json_pack("{s:s}", "cmd", cmd));
	} else {
		fuzz_check(root == NULL && err[0] != '\0');
		reply = proto_reply_err(id, code, "%s", err);
	}
	if (reply != NULL) {
		if ((line = proto_encode(reply, &len)) != NULL) {
			fuzz_check(len > 0 && line[len - 1] == '\n');
			fuzz_check(memchr(line, '\n', len - 1) == NULL);
			free(line);
		}
		json_decref(reply);
	}
	json_decref(root);
	return 0;
}

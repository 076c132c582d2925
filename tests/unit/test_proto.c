/*
 * test_proto.c - the control protocol codec: every error path of
 * proto_parse_request, the size limit at its exact boundary, the code table,
 * and a build/encode/parse round trip.
 */
#include <stdlib.h>
#include <string.h>

#include "base/proto.h"
#include "t.h"

struct parsed {
	int		 rc;
	json_t		*root;
	json_int_t	 id;
	const char	*cmd;
	json_t		*args;
	char		 err[256];
};

static void
parse(struct parsed *p, const char *line, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->rc = proto_parse_request(line, len, &p->root, &p->id, &p->cmd,
	    &p->args, p->err, sizeof(p->err));
}

static void
parse_str(struct parsed *p, const char *line)
{
	parse(p, line, strlen(line));
}

/* A valid request padded with spaces to exactly len bytes. */
static char *
padded_request(size_t len)
{
	const char	*head = "{\"v\":1,\"id\":5,\"cmd\":\"status\"";
	char		*buf;
	size_t		 n = strlen(head);

	if ((buf = malloc(len + 1)) == NULL)
		abort();
	memcpy(buf, head, n);
	memset(buf + n, ' ', len - n - 1);
	buf[len - 1] = '}';
	buf[len] = '\0';
	return buf;
}

static void
test_size_boundary(void)
{
	struct parsed	 p;
	char		*buf;

	/* 65535 bytes + newline = 65536: the largest accepted line. */
	buf = padded_request(PROTO_MAX_REQUEST - 1);
	parse(&p, buf, PROTO_MAX_REQUEST - 1);
	CHECK_INT(p.rc, PROTO_OK);
	CHECK_INT(p.id, 5);
	CHECK_STR(p.cmd, "status");
	json_decref(p.root);
	free(buf);

	buf = padded_request(PROTO_MAX_REQUEST);
	parse(&p, buf, PROTO_MAX_REQUEST);
	CHECK_INT(p.rc, PROTO_ETOOBIG);
	CHECK(p.root == NULL);
	CHECK(strstr(p.err, "65537 bytes") != NULL);
	CHECK(strstr(p.err, "65536") != NULL);
	free(buf);

	buf = padded_request(PROTO_MAX_REQUEST + 1);
	parse(&p, buf, PROTO_MAX_REQUEST + 1);
	CHECK_INT(p.rc, PROTO_ETOOBIG);
	CHECK(p.root == NULL);
	free(buf);

	/* Not even looked at: garbage over the limit is still too_big. */
	buf = malloc(PROTO_MAX_REQUEST + 10);
	memset(buf, 'x', PROTO_MAX_REQUEST + 10);
	parse(&p, buf, PROTO_MAX_REQUEST + 10);
	CHECK_INT(p.rc, PROTO_ETOOBIG);
	free(buf);
}

static void
test_errors(void)
{
	struct parsed	p;

	parse_str(&p, "{\"v\":1,\"id\":1,\"cmd\":\"status\",}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK(strncmp(p.err, "invalid JSON at column ", 23) == 0);
	CHECK(p.root == NULL);

	parse_str(&p, "{\"v\":1,\"id\":1,\"cmd\":nope}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "invalid JSON at column 24: invalid token near 'nope'");

	parse_str(&p, "");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK(strncmp(p.err, "invalid JSON", 12) == 0);

	parse_str(&p, "{\"v\":1,\"id\":1,\"cmd\":\"a\",\"cmd\":\"b\"}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK(strstr(p.err, "duplicate object key") != NULL);

	parse_str(&p, "[1,2]");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "request is not a JSON object");

	parse_str(&p, "{\"v\":1,\"cmd\":\"status\"}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "request has no \"id\"");

	parse_str(&p, "{\"v\":1,\"id\":\"7\",\"cmd\":\"status\"}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "request \"id\" must be an integer");
	CHECK_INT(p.id, 0);

	parse_str(&p, "{\"id\":9,\"cmd\":\"status\"}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_INT(p.id, 9);
	CHECK_STR(p.err, "request has no protocol version \"v\"");

	parse_str(&p, "{\"v\":\"1\",\"id\":9,\"cmd\":\"status\"}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "request \"v\" must be an integer");

	parse_str(&p, "{\"v\":2,\"id\":9,\"cmd\":\"status\"}");
	CHECK_INT(p.rc, PROTO_EVERSION);
	CHECK_INT(p.id, 9);
	CHECK_STR(p.err, "protocol version 2 not supported "
	    "(this daemon speaks 1)");

	parse_str(&p, "{\"v\":1,\"id\":9}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "request has no \"cmd\"");

	parse_str(&p, "{\"v\":1,\"id\":9,\"cmd\":3}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "request \"cmd\" must be a non-empty string");

	parse_str(&p, "{\"v\":1,\"id\":9,\"cmd\":\"\"}");
	CHECK_INT(p.rc, PROTO_EBADREQ);

	parse_str(&p, "{\"v\":1,\"id\":9,\"cmd\":\"list\",\"args\":[]}");
	CHECK_INT(p.rc, PROTO_EBADREQ);
	CHECK_STR(p.err, "request \"args\" must be an object");
	CHECK(p.root == NULL && p.cmd == NULL && p.args == NULL);

	/* Embedded NUL is not JSON. */
	parse(&p, "{\"v\":1,\0\"id\":1}", 16);
	CHECK_INT(p.rc, PROTO_EBADREQ);
}

static void
test_ok(void)
{
	struct parsed	p;

	parse_str(&p, "{\"v\":1,\"id\":7,\"cmd\":\"approve\","
	    "\"args\":{\"id\":3,\"comment\":\"looks right\"}}");
	CHECK_INT(p.rc, PROTO_OK);
	CHECK_INT(p.id, 7);
	CHECK_STR(p.cmd, "approve");
	CHECK_INT(json_integer_value(json_object_get(p.args, "id")), 3);
	CHECK_STR(json_string_value(json_object_get(p.args, "comment")),
	    "looks right");
	CHECK_STR(p.err, "");
	json_decref(p.root);

	/* args absent: an empty object, owned by root. */
	parse_str(&p, "{\"v\":1,\"id\":8,\"cmd\":\"status\"}");
	CHECK_INT(p.rc, PROTO_OK);
	CHECK(json_is_object(p.args) && json_object_size(p.args) == 0);
	json_decref(p.root);
}

static void
test_codes(void)
{
	int	i;

	CHECK_STR(proto_code_name(PROTO_ENOTFOUND), "not_found");
	CHECK_STR(proto_code_name(PROTO_EUNKNOWN), "unknown_command");
	CHECK_STR(proto_code_name(PROTO_EPERM), "permission_denied");
	CHECK_STR(proto_code_name(999), "internal");
	for (i = 0; i < PROTO_NCODES; i++) {
		CHECK_INT(proto_code_from_name(proto_code_name(i)), i);
		CHECK(proto_code_text(i) != NULL && *proto_code_text(i) != '\0');
	}
	CHECK_INT(proto_code_from_name("nonsense"), -1);
	CHECK_INT(proto_code_from_name(NULL), -1);
	CHECK_INT(proto_code_exit(PROTO_OK), CTL_EXIT_OK);
	CHECK_INT(proto_code_exit(PROTO_ENOTFOUND), CTL_EXIT_REFUSED);
	CHECK_INT(proto_code_exit(PROTO_EBADSTATE), CTL_EXIT_REFUSED);
	CHECK_INT(proto_code_exit(PROTO_EPERM), CTL_EXIT_PERM);
	CHECK_INT(proto_code_exit(-5), CTL_EXIT_REFUSED);
}

static void
test_round_trip(void)
{
	struct parsed	 p;
	json_t		*msg, *back;
	char		*line, *big;
	size_t		 len;

	msg = proto_request(42, "reject", json_pack("{s:i, s:s}", "id", 3,
	    "reason", "line\nbreak \"quoted\""));
	line = proto_encode(msg, &len);
	CHECK(line != NULL);
	CHECK_INT(len, strlen(line));
	CHECK(line[len - 1] == '\n');
	CHECK(memchr(line, '\n', len - 1) == NULL);
	parse(&p, line, len - 1);
	CHECK_INT(p.rc, PROTO_OK);
	CHECK_INT(p.id, 42);
	CHECK_STR(p.cmd, "reject");
	CHECK_STR(json_string_value(json_object_get(p.args, "reason")),
	    "line\nbreak \"quoted\"");
	CHECK(json_equal(p.root, msg));
	json_decref(p.root);
	free(line);
	json_decref(msg);

	msg = proto_reply_ok(3, json_pack("{s:i}", "n", 1));
	line = proto_encode(msg, &len);
	CHECK_STR(line, "{\"v\":1,\"id\":3,\"ok\":true,\"result\":{\"n\":1}}\n");
	free(line);
	json_decref(msg);

	msg = proto_reply_err(4, PROTO_EBADSTATE, "action %d is %s, not %s",
	    3, "applied", "pending");
	line = proto_encode(msg, NULL);
	CHECK_STR(line, "{\"v\":1,\"id\":4,\"ok\":false,\"error\":{\"code\":"
	    "\"bad_state\",\"message\":\"action 3 is applied, not pending\"}}\n");
	back = json_loads(line, 0, NULL);
	CHECK(json_equal(back, msg));
	json_decref(back);
	free(line);
	json_decref(msg);

	/* An empty message becomes the code's text; a long one is cut. */
	msg = proto_reply_err(5, PROTO_ENOTFOUND, "%s", "");
	CHECK_STR(json_string_value(json_object_get(json_object_get(msg, "error"), "message")),
	    "no such action");
	json_decref(msg);
	big = malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	msg = proto_reply_err(6, PROTO_EINTERNAL, "%s", big);
	CHECK_INT(strlen(json_string_value(json_object_get(
	    json_object_get(msg, "error"), "message"))), 1023);
	json_decref(msg);
	free(big);
}

int
main(void)
{
	test_size_boundary();
	test_errors();
	test_ok();
	test_codes();
	test_round_trip();
	return T_DONE();
}

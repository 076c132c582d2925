/*
 * remedyctl - talk to remedyd over its control socket.
 *
 *   remedyctl [-s SOCKET] [-o table|json|yaml] [-h] [--version] COMMAND
 *             [ARGS]
 *
 * The grammar is a table: each command names its positional arguments,
 * its options (each mapped onto one request argument) and its handler.
 * Commands may be abbreviated to any unambiguous prefix.  The global
 * options may stand anywhere on the line, before or after the command
 * ("remedyctl list -o json" and "remedyctl -o json list" are the same).
 *
 * Exit status (proto.h): 0 ok, 1 refused by the daemon, 2 usage error,
 * 3 daemon unreachable or garbled reply, 4 permission denied.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/proto.h"
#include "base/util.h"
#include "base/version.h"
#include "base/yamlout.h"
#include "ctl.h"

#define CTL_MAX_OPTS	8
#define OPT_FLAG	2
#define CTL_LIST_LIMIT	100	/* list: the newest this many unless --all */
#define CTL_LIST_CHUNK	500	/* list --all: actions per request */
#define CTL_INC_CHUNK	100	/* incidents: incidents per request (each
				 * carries its findings and diagnosis) */
#define CTL_MAX_POS	2

struct ctl_opt {
	const char	*lname;		/* "state" for --state */
	char		 sname;		/* 'n' for -n, or 0 */
	const char	*arg;		/* request argument it sets */
	int		 is_id;		/* value must be a positive integer;
					 * OPT_FLAG: takes no value, sets
					 * arg to true */
	const char	*metavar;
	const char	*help;
};

struct ctl_cmd {
	const char	*name;
	int		 min_pos, max_pos;
	const char	*pos_usage;	/* "ID" */
	struct ctl_opt	 opts[CTL_MAX_OPTS];
	int		(*fn)(struct ctl *, const struct ctl_cmd *, int npos,
			    char **pos, json_t *args);
	const char	*help;
};

static int	cmd_help(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);
static int	cmd_status(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);
static int	cmd_list(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);
static int	cmd_show(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);
static int	cmd_decide(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);
static int	cmd_incidents(struct ctl *, const struct ctl_cmd *, int,
		    char **, json_t *);
static int	cmd_audit(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);
static int	cmd_rollback(struct ctl *, const struct ctl_cmd *, int,
		    char **, json_t *);
static int	cmd_watch(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);
static int	cmd_version(struct ctl *, const struct ctl_cmd *, int,
		    char **, json_t *);
static int	cmd_mcp(struct ctl *, const struct ctl_cmd *, int, char **,
		    json_t *);

static const struct ctl_cmd commands[] = {
	{ "status", 0, 0, "", { { NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_status, "show the daemon's version, uptime, cache sync and "
	    "action counts" },
	{ "list", 0, 0, "", {
		{ "state", 0, "state", 0, "STATE",
		    "only actions in this state (pending, applied, ...)" },
		{ "namespace", 'n', "namespace", 0, "NS",
		    "only actions in this namespace" },
		{ "limit", 0, "limit", 1, "N",
		    "the newest N actions (default 100)" },
		{ "continue", 0, "continue", 0, "TOKEN",
		    "the page after the one whose answer gave TOKEN" },
		{ "all", 'a', "all", OPT_FLAG, NULL,
		    "every action (fetched 500 at a time)" },
		{ NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_list, "list proposed actions, newest first (the newest 100 "
	    "unless --limit or --all)" },
	{ "show", 1, 1, "ID", { { NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_show, "show one action: root cause, evidence, the change as a "
	    "diff, and the exact patch" },
	{ "approve", 1, 1, "ID", {
		{ "comment", 0, "comment", 0, "TEXT",
		    "a note recorded in the audit log" },
		{ NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_decide, "approve a pending action; remedyd applies it at once" },
	{ "reject", 1, 1, "ID", {
		{ "reason", 0, "reason", 0, "TEXT",
		    "why (required; recorded in the audit log)" },
		{ NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_decide, "reject a pending action" },
	{ "rollback", 1, 1, "ID", { { NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_rollback, "propose undoing an applied action: a new pending "
	    "action with the inverse patch, approved like any other" },
	{ "incidents", 0, 2, "[show ID]", {
		{ "state", 0, "state", 0, "STATE",
		    "only incidents in this state (open, resolved)" },
		{ "namespace", 'n', "namespace", 0, "NS",
		    "only incidents in this namespace" },
		{ "limit", 0, "limit", 1, "N",
		    "one page: the newest N incidents (default: every one, "
		    "fetched 100 at a time)" },
		{ "continue", 0, "continue", 0, "TOKEN",
		    "the page after the one whose answer gave TOKEN" },
		{ NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_incidents, "list incidents, newest first; \"incidents show "
	    "ID\" shows one: findings, affected objects, counts, actions" },
	{ "audit", 0, 2, "[verify | show ACTION]", {
		{ "action", 0, "action", 1, "ID",
		    "only rows about this action" },
		{ "since", 0, "since", 0, "TIME",
		    "only rows from TIME on (RFC 3339, unix ms, or an age: "
		    "90s, 15m, 1h, 2d)" },
		{ "until", 0, "until", 0, "TIME",
		    "only rows up to TIME (same forms as --since)" },
		{ "actor", 0, "actor", 0, "USER",
		    "only rows by this actor (remedyd, or a user name)" },
		{ "event", 0, "event", 0, "EVENT",
		    "only rows of this event (suggested, approved, applied, ...)" },
		{ "namespace", 'n', "namespace", 0, "NS",
		    "only rows about actions in this namespace" },
		{ NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_audit, "show the audit log, oldest first, one line per row; "
	    "\"audit show ACTION\" tells one action's story; \"audit "
	    "verify\" checks the hash chain" },
	{ "watch", 0, 0, "", { { NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_watch, "stream action events (new pending actions, approvals, "
	    "failures) until interrupted" },
	{ "mcp", 0, 0, "", { { NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_mcp, "serve the Model Context Protocol on stdin/stdout, for "
	    "an AI agent: it may read and propose fixes, never decide "
	    "(docs/agents.md)" },
	{ "version", 0, 0, "", { { NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_version, "show remedyctl's version and the commit it was "
	    "built from (\"status\" shows the daemon's)" },
	{ "help", 0, 1, "[COMMAND]", { { NULL, 0, NULL, 0, NULL, NULL } },
	    cmd_help, "show this help, or one command's" },
};

static const char *progname = "remedyctl";

static void
usage_line(FILE *fp)
{
	fprintf(fp, "usage: %s [-s SOCKET] [-o table|json|yaml] [-h] "
	    "[--version] COMMAND [ARGS]\n", progname);
}

static void
general_help(FILE *fp)
{
	size_t	i;

	usage_line(fp);
	fprintf(fp, "\noptions (before or after the command):\n"
	    "  -s, --socket SOCKET  control socket (default $REMEDY_SOCKET, "
	    "else\n"
	    "                       " CTL_DEFAULT_SOCKET ")\n"
	    "  -o, --output FORMAT  output format: table (default), json, "
	    "yaml\n"
	    "  -h, --help           this help, or after a command its own\n"
	    "      --version        remedyctl's version and commit\n"
	    "\ncommands:\n");
	for (i = 0; i < NELEM(commands); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(fp, "\nCommands may be abbreviated.  \"%s COMMAND --help\" "
	    "describes one.\nNO_COLOR set and not empty turns colour off.\n",
	    progname);
}

static void
command_help(FILE *fp, const struct ctl_cmd *c)
{
	const struct ctl_opt	*o;
	char			 opt[64];

	fprintf(fp, "usage: %s %s", progname, c->name);
	if (*c->pos_usage)
		fprintf(fp, " %s", c->pos_usage);
	for (o = c->opts; o->lname != NULL; o++) {
		if (o->is_id == OPT_FLAG)
			fprintf(fp, " [--%s]", o->lname);
		else if (c->fn == cmd_decide && strcmp(o->lname, "reason") == 0)
			fprintf(fp, " --%s %s", o->lname, o->metavar);
		else
			fprintf(fp, " [--%s %s]", o->lname, o->metavar);
	}
	fprintf(fp, "\n\n%s.\n", c->help);
	if (c->opts[0].lname != NULL)
		fprintf(fp, "\noptions:\n");
	for (o = c->opts; o->lname != NULL; o++) {
		if (o->sname)
			snprintf(opt, sizeof(opt), "-%c, --%s %s", o->sname,
			    o->lname, o->metavar ? o->metavar : "");
		else
			snprintf(opt, sizeof(opt), "--%s %s", o->lname,
			    o->metavar ? o->metavar : "");
		fprintf(fp, "  %-24s %s\n", opt, o->help);
	}
	fprintf(fp, "\nglobal options, here or before the command: -s, --socket "
	    "SOCKET;\n-o, --output table|json|yaml; -h, --help; --version\n");
}

/* A usage error: one line naming the problem, exit 2. */
void
ctl_usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(CTL_EXIT_USAGE);
}

/*
 * An exact name wins; otherwise a prefix must match exactly one command.
 * An ambiguous prefix lists the candidates.
 */
static const struct ctl_cmd *
lookup_command(const char *name)
{
	const struct ctl_cmd	*match = NULL;
	char			 cands[256];
	size_t			 i, n = strlen(name), off = 0;
	int			 nmatch = 0;

	for (i = 0; i < NELEM(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	cands[0] = '\0';
	for (i = 0; n > 0 && i < NELEM(commands); i++) {
		if (strncmp(commands[i].name, name, n) != 0)
			continue;
		match = &commands[i];
		nmatch++;
		if (off < sizeof(cands))
			off += (size_t)snprintf(cands + off,
			    sizeof(cands) - off, "%s%s", nmatch > 1 ? ", " : "",
			    commands[i].name);
	}
	if (nmatch == 1)
		return match;
	if (nmatch > 1)
		ctl_usage_error("ambiguous command \"%s\": %s", name, cands);
	ctl_usage_error("unknown command \"%s\"; \"%s help\" lists them", name,
	    progname);
}

/* A positive integer, or a usage error naming what it was for. */
static json_int_t
parse_id(const struct ctl_cmd *c, const char *what, const char *s)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v <= 0)
		ctl_usage_error("%s: %s must be a positive integer, not \"%s\"",
		    c->name, what, s);
	return (json_int_t)v;
}

static const struct ctl_opt *
find_opt(const struct ctl_cmd *c, const char *lname, size_t len, char sname)
{
	const struct ctl_opt	*o;

	for (o = c->opts; o->lname != NULL; o++) {
		if (sname != 0 && o->sname == sname)
			return o;
		if (sname == 0 && strlen(o->lname) == len &&
		    strncmp(o->lname, lname, len) == 0)
			return o;
	}
	return NULL;
}

static void
print_version(FILE *fp)
{
	fprintf(fp, "%s %s (commit %s)\n", progname, remedy_version(),
	    remedy_commit());
}

static void
set_format(struct ctl *ctl, const char *v)
{
	if (strcmp(v, "table") == 0)
		ctl->format = CTL_TABLE;
	else if (strcmp(v, "json") == 0)
		ctl->format = CTL_JSON;
	else if (strcmp(v, "yaml") == 0)
		ctl->format = CTL_YAML;
	else
		ctl_usage_error("unknown output format \"%s\" (table, json or yaml)",
		    v);
}

/*
 * A global option at argv[*i] (-s, --socket, -o, --output, with the value
 * attached or as the next word; -h, --help; --version).  Returns 1 and
 * advances *i past its value when it was one, 0 when it was not.  c is the
 * command seen so far (NULL before it): -h then describes that command.
 */
static int
global_opt(struct ctl *ctl, const struct ctl_cmd *c, int argc, char **argv,
    int *i)
{
	static const struct { char sname; const char *lname; } g[] = {
		{ 's', "socket" }, { 'o', "output" },
	};
	const char	*a = argv[*i], *val = NULL, *eq;
	size_t		 k, len;
	int		 which = -1;

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		if (c != NULL)
			command_help(stdout, c);
		else
			general_help(stdout);
		exit(CTL_EXIT_OK);
	}
	if (strcmp(a, "--version") == 0) {
		print_version(stdout);
		exit(CTL_EXIT_OK);
	}
	for (k = 0; k < NELEM(g) && which < 0; k++) {
		if (a[0] == '-' && a[1] == g[k].sname) {
			which = (int)k;
			if (a[2] != '\0')
				val = a + 2;		/* -ojson */
		} else if (strncmp(a, "--", 2) == 0) {
			eq = strchr(a + 2, '=');
			len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			if (len == strlen(g[k].lname) &&
			    strncmp(a + 2, g[k].lname, len) == 0) {
				which = (int)k;
				if (eq != NULL)
					val = eq + 1;
			}
		}
	}
	if (which < 0)
		return 0;
	if (val == NULL) {
		if (*i + 1 >= argc)
			ctl_usage_error("option %s needs a value", a);
		val = argv[++*i];
	}
	if (g[which].sname == 's') {
		if (*val == '\0')
			ctl_usage_error("option %s: the socket path is empty", a);
		ctl->socket = val;
	} else
		set_format(ctl, val);
	return 1;
}

/*
 * Split a command's arguments into positionals and options; options set
 * request arguments in args, global options set ctl.  "--help"/"-h" prints
 * the command's help.
 */
static int
parse_command_args(struct ctl *ctl, const struct ctl_cmd *c, int argc,
    char **argv, char **pos, json_t *args)
{
	const struct ctl_opt	*o;
	const char		*a, *val, *eq;
	int			 i, npos = 0, opts_done = 0;

	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if (npos >= c->max_pos)
				ctl_usage_error("%s: unexpected argument \"%s\"",
				    c->name, a);
			pos[npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = 1;
			continue;
		}
		val = NULL;
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			o = find_opt(c, a + 2, eq ? (size_t)(eq - a - 2) :
			    strlen(a + 2), 0);
			if (eq)
				val = eq + 1;
		} else {
			o = a[2] == '\0' ? find_opt(c, NULL, 0, a[1]) : NULL;
		}
		if (o == NULL) {
			if (global_opt(ctl, c, argc, argv, &i))
				continue;
			ctl_usage_error("%s: unknown option %s (\"%s %s --help\" "
			    "lists them)", c->name, a, progname, c->name);
		}
		if (o->is_id == OPT_FLAG) {
			if (val != NULL)
				ctl_usage_error("%s: option --%s takes no value",
				    c->name, o->lname);
			json_object_set_new(args, o->arg, json_true());
			continue;
		}
		if (val == NULL) {
			if (i + 1 >= argc)
				ctl_usage_error("%s: option %s needs a value",
				    c->name, a);
			val = argv[++i];
		}
		if (o->is_id)
			json_object_set_new(args, o->arg,
			    json_integer(parse_id(c, o->metavar, val)));
		else
			json_object_set_new(args, o->arg, json_string(val));
	}
	if (npos < c->min_pos)
		ctl_usage_error("%s: missing %s (usage: %s %s %s)", c->name,
		    c->pos_usage, progname, c->name, c->pos_usage);
	return npos;
}

/*
 * Send one command.  On success *result is set and 0 returned; otherwise
 * the error is printed as one line and the exit status returned.
 */
int
ctl_request(struct ctl *ctl, const char *cmd, json_t *args, json_t **result)
{
	char	err[CTL_MAX_ERR];
	int	rc;

	rc = ctl_call(ctl->socket, cmd, json_incref(args), result, err,
	    sizeof(err));
	if (rc == 0)
		return CTL_EXIT_OK;
	fprintf(stderr, "%s: %s\n", progname, err);
	return rc < 0 ? CTL_EXIT_UNREACHABLE : proto_code_exit(rc);
}

/* Print a result in the chosen machine format; 1 when it was handled. */
int
ctl_machine_output(struct ctl *ctl, json_t *result, int *rc)
{
	char	err[256];

	if (ctl->format == CTL_JSON) {
		if (out_json(stdout, result) == -1)
			*rc = CTL_EXIT_REFUSED;
		return 1;
	}
	if (ctl->format == CTL_YAML) {
		if (yaml_emit_json(stdout, result, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s: %s\n", progname, err);
			*rc = CTL_EXIT_REFUSED;
		}
		return 1;
	}
	return 0;
}

/* The common shape: call, then print with the machine format or fn. */
static int
simple(struct ctl *ctl, const char *cmd, json_t *args,
    void (*fn)(FILE *, json_t *))
{
	json_t	*result = NULL;
	int	 rc;

	if ((rc = ctl_request(ctl, cmd, args, &result)) != CTL_EXIT_OK)
		return rc;
	if (!ctl_machine_output(ctl, result, &rc))
		fn(stdout, result);
	json_decref(result);
	return rc;
}

static int
cmd_help(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	if (npos == 1)
		command_help(stdout, lookup_command(pos[0]));
	else
		general_help(stdout);
	return CTL_EXIT_OK;
}

static int
cmd_status(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	return simple(ctl, "status", args, out_status);
}

/*
 * A paged command (list, incidents; proto/control.md "Paging").  With
 * --limit or --continue, the one page asked for, "continue" included
 * when more remain.  Otherwise every page, chunk rows at a time, merged
 * into one answer (as kubectl's --chunk-size does), so that no single
 * answer holds the daemon's loop for long.
 */
static int
fetch_pages(struct ctl *ctl, const char *cmd, const char *key, json_t *args,
    int chunk, json_t **out)
{
	json_t		*req, *res = NULL, *all = NULL;
	const char	*tok;
	int		 rc;

	*out = NULL;
	if (json_object_get(args, "limit") != NULL ||
	    json_object_get(args, "continue") != NULL)
		return ctl_request(ctl, cmd, args, out);
	if ((req = json_deep_copy(args)) == NULL)
		return CTL_EXIT_REFUSED;
	json_object_set_new(req, "limit", json_integer(chunk));
	for (;;) {
		if ((rc = ctl_request(ctl, cmd, req, &res)) != CTL_EXIT_OK)
			goto out;
		if (all == NULL)
			all = json_incref(res);
		else if (json_array_extend(json_object_get(all, key),
		    json_object_get(res, key)) == -1) {
			rc = CTL_EXIT_REFUSED;
			goto out;
		}
		tok = json_string_value(json_object_get(res, "continue"));
		if (tok == NULL || json_array_size(json_object_get(res,
		    key)) == 0)
			break;
		json_object_set_new(req, "continue", json_string(tok));
		json_decref(res);
		res = NULL;
	}
	json_object_del(all, "continue");
	*out = all;
	all = NULL;
out:
	json_decref(res);
	json_decref(all);
	json_decref(req);
	return rc;
}

/* The newest CTL_LIST_LIMIT unless --limit or --all says otherwise. */
static int
cmd_list(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	json_t	*result = NULL;
	int	 rc;

	if (json_object_get(args, "all") != NULL) {
		if (json_object_get(args, "limit") != NULL)
			ctl_usage_error("list: --all and --limit exclude each other");
		if (json_object_get(args, "continue") != NULL)
			ctl_usage_error("list: --all and --continue exclude "
			    "each other");
		json_object_del(args, "all");
	} else if (json_object_get(args, "limit") == NULL)
		json_object_set_new(args, "limit", json_integer(CTL_LIST_LIMIT));
	if ((rc = fetch_pages(ctl, "list", "actions", args, CTL_LIST_CHUNK,
	    &result)) != CTL_EXIT_OK)
		return rc;
	if (!ctl_machine_output(ctl, result, &rc))
		out_list(stdout, result);
	json_decref(result);
	return rc;
}

static int
cmd_incidents(struct ctl *ctl, const struct ctl_cmd *c, int npos,
    char **pos, json_t *args)
{
	json_t		*result = NULL, *list, *inc;
	const char	*ns, *ins;
	size_t		 i;
	int		 rc;

	if (npos == 0) {
		if ((rc = fetch_pages(ctl, "incidents", "incidents", args,
		    CTL_INC_CHUNK, &result)) != CTL_EXIT_OK)
			return rc;
		/* -n: the daemon filters; one that predates the filter does
		 * not, so the namespace is checked here as well */
		ns = json_string_value(json_object_get(args, "namespace"));
		list = json_object_get(result, "incidents");
		for (i = json_array_size(list); ns != NULL && i-- > 0;) {
			inc = json_array_get(list, i);
			ins = json_str_at(inc, "namespace");
			if (ins == NULL || strcmp(ins, ns) != 0)
				json_array_remove(list, i);
		}
		if (!ctl_machine_output(ctl, result, &rc))
			out_incidents(stdout, result);
		json_decref(result);
		return rc;
	}
	if (npos != 2 || strcmp(pos[0], "show") != 0)
		ctl_usage_error("incidents: expected \"incidents\" or "
		    "\"incidents show ID\"");
	if (json_object_size(args) != 0)
		ctl_usage_error("incidents show takes no filters");
	json_object_set_new(args, "id", json_integer(parse_id(c, "ID",
	    pos[1])));
	if ((rc = ctl_request(ctl, "incident", args, &result)) != CTL_EXIT_OK)
		return rc;
	if (!ctl_machine_output(ctl, result, &rc))
		out_incident(stdout, json_object_get(result, "incident"));
	json_decref(result);
	return rc;
}

static int
cmd_show(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	json_t	*result = NULL;
	int	 rc;

	json_object_set_new(args, "id", json_integer(parse_id(c, "ID",
	    pos[0])));
	if ((rc = ctl_request(ctl, "show", args, &result)) != CTL_EXIT_OK)
		return rc;
	if (!ctl_machine_output(ctl, result, &rc))
		out_show(stdout, json_object_get(result, "action"), ctl->color);
	json_decref(result);
	return rc;
}

/* approve and reject: one line saying what happened. */
static int
cmd_decide(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	json_t		*result = NULL;
	const char	*reason;
	json_int_t	 id;
	int		 approve = strcmp(c->name, "approve") == 0, rc;

	id = parse_id(c, "ID", pos[0]);
	if (!approve) {
		reason = json_string_value(json_object_get(args, "reason"));
		if (reason == NULL || *reason == '\0')
			ctl_usage_error("reject: --reason TEXT is required");
	}
	json_object_set_new(args, "id", json_integer(id));
	if ((rc = ctl_request(ctl, c->name, args, &result)) != CTL_EXIT_OK)
		return rc;
	if (!ctl_machine_output(ctl, result, &rc)) {
		json_int_t have = json_int_at(result, "approvals.have", 0);
		json_int_t need = json_int_at(result, "approvals.required", 0);

		if (approve && have < need)
			printf("action %lld: approval %lld of %lld recorded; "
			    "it needs another approver (two-person rule)\n",
			    (long long)id, (long long)have, (long long)need);
		else if (approve)
			printf("action %lld approved; remedyd applies it now\n",
			    (long long)id);
		else
			printf("action %lld rejected\n", (long long)id);
	}
	json_decref(result);
	return rc;
}

static int
cmd_rollback(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	json_t		*result = NULL;
	json_int_t	 id, nid;
	int		 rc;

	id = parse_id(c, "ID", pos[0]);
	json_object_set_new(args, "id", json_integer(id));
	if ((rc = ctl_request(ctl, "rollback", args, &result)) != CTL_EXIT_OK)
		return rc;
	if (!ctl_machine_output(ctl, result, &rc)) {
		nid = json_int_at(result, "action.id", 0);
		printf("action %lld proposed: rolls back action %lld\n"
		    "review with:  remedyctl show %lld\n"
		    "approve with: remedyctl approve %lld\n", (long long)nid,
		    (long long)id, (long long)nid, (long long)nid);
	}
	json_decref(result);
	return rc;
}

/* One event per line (table), per compact JSON line, or per YAML doc. */
static int
watch_event(json_t *ev, void *arg)
{
	struct ctl	*ctl = arg;
	char		*s, err[256];

	switch (ctl->format) {
	case CTL_JSON:
		if ((s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS)) !=
		    NULL) {
			printf("%s\n", s);
			free(s);
		}
		break;
	case CTL_YAML:
		if (yaml_emit_json(stdout, ev, err, sizeof(err)) == -1)
			fprintf(stderr, "%s: %s\n", progname, err);
		break;
	default:
		out_event(stdout, ev, ctl->color);
		break;
	}
	fflush(stdout);
	return ferror(stdout) ? 1 : 0;
}

static int
cmd_mcp(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	return ctl_mcp(ctl->socket);
}

static int
cmd_watch(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	char	err[CTL_MAX_ERR];
	int	rc;

	if (ctl->format == CTL_TABLE) {
		printf("watching %s for action events (interrupt to stop)\n",
		    ctl->socket);
		fflush(stdout);
	}
	rc = ctl_watch(ctl->socket, json_incref(args), watch_event, ctl,
	    err, sizeof(err));
	if (rc == 0)
		return CTL_EXIT_OK;
	fprintf(stderr, "%s: %s\n", progname, err);
	return rc < 0 ? CTL_EXIT_UNREACHABLE : proto_code_exit(rc);
}

/* The store's reason already names the row; do not say it twice. */
static const char *
strip_row_prefix(const char *why)
{
	const char	*p = why;

	if (strncmp(p, "row ", 4) != 0)
		return why;
	p += 4;
	while (*p >= '0' && *p <= '9')
		p++;
	return strncmp(p, ": ", 2) == 0 ? p + 2 : why;
}

static int
cmd_audit(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	json_t		*result = NULL;
	const char	*why;
	int		 rc;

	if (npos == 0)
		return ctl_audit_list(ctl, args);
	if (strcmp(pos[0], "show") == 0) {
		if (npos != 2)
			ctl_usage_error("audit show: missing ACTION (usage: %s "
			    "audit show ACTION)", progname);
		if (json_object_size(args) != 0)
			ctl_usage_error("audit show takes no filters: it tells "
			    "the whole story of one action");
		return ctl_audit_show(ctl, parse_id(c, "ACTION", pos[1]));
	}
	if (strcmp(pos[0], "verify") != 0)
		ctl_usage_error("audit: unexpected argument \"%s\" (did you mean "
		    "\"audit verify\" or \"audit show ACTION\"?)", pos[0]);
	if (npos != 1)
		ctl_usage_error("audit verify: unexpected argument \"%s\"",
		    pos[1]);
	if (json_object_size(args) != 0)
		ctl_usage_error("audit verify takes no options");
	if ((rc = ctl_request(ctl, "audit-verify", args, &result)) != CTL_EXIT_OK)
		return rc;
	if (!ctl_machine_output(ctl, result, &rc)) {
		if (json_is_true(json_object_get(result, "ok")))
			printf("audit log intact: %lld rows\n",
			    (long long)json_int_at(result, "rows", 0));
		else {
			why = json_str_at(result, "why");
			printf("audit log BROKEN at row %lld: %s\n",
			    (long long)json_int_at(result, "bad_seq", 0),
			    why ? strip_row_prefix(why) : "hash mismatch");
		}
	}
	if (rc == CTL_EXIT_OK && !json_is_true(json_object_get(result, "ok")))
		rc = CTL_EXIT_REFUSED;
	json_decref(result);
	return rc;
}

static int
cmd_version(struct ctl *ctl, const struct ctl_cmd *c, int npos, char **pos,
    json_t *args)
{
	json_t	*v;
	int	 rc = CTL_EXIT_OK;

	if (ctl->format == CTL_TABLE) {
		print_version(stdout);
		return rc;
	}
	v = json_pack("{s:s, s:s, s:s}", "program", progname, "version",
	    remedy_version(), "commit", remedy_commit());
	if (v == NULL)
		return CTL_EXIT_REFUSED;
	ctl_machine_output(ctl, v, &rc);
	json_decref(v);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct ctl		 ctl;
	const struct ctl_cmd	*c = NULL;
	const char		*nc;
	char			*pos[CTL_MAX_POS];
	json_t			*args;
	int			 i, npos, rc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.socket = getenv("REMEDY_SOCKET");
	if (ctl.socket == NULL || *ctl.socket == '\0')
		ctl.socket = CTL_DEFAULT_SOCKET;
	ctl.format = CTL_TABLE;
	/* Global options up to the command; the rest after it. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		if (!global_opt(&ctl, NULL, argc, argv, &i))
			ctl_usage_error("unknown option %s before the command "
			    "(\"%s --help\" lists them)", argv[i], progname);
	}
	if (i >= argc) {
		usage_line(stderr);
		fprintf(stderr, "\"%s help\" lists the commands\n", progname);
		return CTL_EXIT_USAGE;
	}
	c = lookup_command(argv[i]);
	if ((args = json_object()) == NULL) {
		fprintf(stderr, "%s: out of memory\n", progname);
		return CTL_EXIT_REFUSED;
	}
	npos = parse_command_args(&ctl, c, argc - i - 1, argv + i + 1, pos,
	    args);
	nc = getenv("NO_COLOR");
	ctl.color = ctl.format == CTL_TABLE && isatty(STDOUT_FILENO) &&
	    (nc == NULL || *nc == '\0');
	rc = c->fn(&ctl, c, npos, pos, args);
	json_decref(args);
	fflush(stdout);
	if (ferror(stdout)) {
		fprintf(stderr, "%s: writing output failed\n", progname);
		if (rc == CTL_EXIT_OK)
			rc = CTL_EXIT_REFUSED;
	}
	return rc;
}

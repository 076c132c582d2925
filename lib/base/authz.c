/*
 * authz.c - roles from peer credentials (see authz.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/authz.h"

#define AUTHZ_MAX_GROUPS	1024	/* supplementary groups looked at */
#define AUTHZ_PWBUF		16384	/* getgrnam_r buffer */

static const char *const role_names[] = { "none", "viewer", "proposer",
	"approver" };

const char *
authz_role_name(int role)
{
	if (role < AUTHZ_NONE || role > AUTHZ_APPROVER)
		return "none";
	return role_names[role];
}

int
authz_role_from_name(const char *name)
{
	int	i;

	for (i = AUTHZ_NONE; i <= AUTHZ_APPROVER; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

/* A uid written as digits, at most 10 of them, below 2^32 - 1. */
static int
parse_uid(const char *s, uid_t *out)
{
	unsigned long long	v = 0;
	size_t			i, n = strlen(s);

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v >= 0xffffffffULL)
		return -1;
	*out = (uid_t)v;
	return 0;
}

/* A user or group name as useradd(8) accepts it, without the leading
 * sigil: letters, digits, '.', '_', '-', a trailing '$'. */
static int
valid_name(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 32 || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-')
			continue;
		if (s[i] == '$' && i == n - 1)
			continue;
		return 0;
	}
	return 1;
}

int
authz_entry_check(const char *e, char *err, size_t errlen)
{
	uid_t	uid;

	if (strlen(e) >= AUTHZ_MAX_ENTRY) {
		snprintf(err, errlen, "entry longer than %d bytes",
		    AUTHZ_MAX_ENTRY - 1);
		return -1;
	}
	if (e[0] == '#') {
		if (parse_uid(e + 1, &uid) == -1) {
			snprintf(err, errlen, "\"%s\" is not a uid (#1001)", e);
			return -1;
		}
		return 0;
	}
	if (e[0] >= '0' && e[0] <= '9') {
		if (parse_uid(e, &uid) == -1) {
			snprintf(err, errlen, "\"%s\" is not a uid", e);
			return -1;
		}
		return 0;
	}
	if (!valid_name(e[0] == '%' ? e + 1 : e)) {
		snprintf(err, errlen, "\"%s\" is not a user name, %%group or "
		    "uid", e);
		return -1;
	}
	return 0;
}

/* Is the peer (uid, gid, user) a member of the named group? */
static int
in_group(const char *group, gid_t gid, const char *user)
{
	struct group	 gr, *res = NULL;
	gid_t		 groups[AUTHZ_MAX_GROUPS];
	char		*buf;
	int		 n = AUTHZ_MAX_GROUPS, i, found = 0;
	gid_t		 want;

	if ((buf = malloc(AUTHZ_PWBUF)) == NULL)
		return 0;
	if (getgrnam_r(group, &gr, buf, AUTHZ_PWBUF, &res) != 0 ||
	    res == NULL) {
		free(buf);
		return 0;
	}
	want = gr.gr_gid;
	free(buf);
	if (gid == want)
		return 1;
	if (user == NULL)
		return 0;
	/* -1 when the list was cut: the first n entries are still valid */
	if (getgrouplist(user, gid, groups, &n) == -1)
		n = AUTHZ_MAX_GROUPS;
	for (i = 0; i < n && i < AUTHZ_MAX_GROUPS; i++)
		if (groups[i] == want)
			found = 1;
	return found;
}

static int
entry_matches(const char *e, uid_t uid, gid_t gid, const char *user)
{
	uid_t	u;

	if (e[0] == '#')
		return parse_uid(e + 1, &u) == 0 && u == uid;
	if (e[0] >= '0' && e[0] <= '9')
		return parse_uid(e, &u) == 0 && u == uid;
	if (e[0] == '%')
		return in_group(e + 1, gid, user);
	return user != NULL && strcmp(e, user) == 0;
}

static int
list_matches(char *const *list, uid_t uid, gid_t gid, const char *user)
{
	size_t	i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		if (entry_matches(list[i], uid, gid, user))
			return 1;
	return 0;
}

int
authz_role(const struct authz *a, uid_t uid, gid_t gid, const char *user)
{
	if (a == NULL)
		return AUTHZ_APPROVER;
	if (uid == 0)
		return a->root_role;
	if (uid == a->self_uid)
		return AUTHZ_APPROVER;
	if (list_matches(a->approvers, uid, gid, user))
		return AUTHZ_APPROVER;
	if (list_matches(a->proposers, uid, gid, user))
		return AUTHZ_PROPOSER;
	if (list_matches(a->viewers, uid, gid, user))
		return AUTHZ_VIEWER;
	if ((a->viewers == NULL || a->viewers[0] == NULL) &&
	    (a->approvers == NULL || a->approvers[0] == NULL) &&
	    (a->proposers == NULL || a->proposers[0] == NULL))
		return AUTHZ_VIEWER;
	return AUTHZ_NONE;
}

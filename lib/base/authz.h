/*
 * authz.h - who may do what on the control socket, from peer credentials.
 *
 * Three roles: a viewer may read (status, list, show, incidents, audit,
 * watch); a proposer may also propose a fix (propose: an agent, which may
 * never decide); an approver may also decide (approve, reject, rollback)
 * and propose.  Roles are granted in the configuration by entries of the
 * form
 *
 *   alice		a user name
 *   %sre		every member of a group (primary or supplementary,
 *			from the group database)
 *   #1001 or 1001	a numeric uid
 *
 * in control.viewers, control.proposers and control.approvers.  Rules, in
 * order:
 *
 *   1. uid 0 gets control.root (approver unless configured otherwise);
 *   2. the daemon's own uid is an approver: it owns the store and the
 *	socket, so denying it would protect nothing;
 *   3. otherwise the highest role any entry grants;
 *   4. when neither list is configured, everyone who can open the socket
 *	(mode 0660, control.group) is a viewer.
 *
 * Names are looked up when a peer connects, so a change to /etc/group
 * takes effect for the next connection without a restart.
 */
#ifndef REMEDY_AUTHZ_H
#define REMEDY_AUTHZ_H

#include <stddef.h>
#include <sys/types.h>

enum authz_role {
	AUTHZ_NONE = 0,
	AUTHZ_VIEWER = 1,
	AUTHZ_PROPOSER = 2,
	AUTHZ_APPROVER = 3
};

#define AUTHZ_MAX_ENTRY	256	/* bytes of one entry */

/* Borrowed views of the configuration; nothing here is freed. */
struct authz {
	char *const	*viewers;	/* NULL-terminated, or NULL */
	char *const	*approvers;	/* NULL-terminated, or NULL */
	char *const	*proposers;	/* NULL-terminated, or NULL */
	int		 root_role;	/* role of uid 0 */
	uid_t		 self_uid;	/* the daemon's uid */
};

/* "viewer", "proposer", "approver", "none". */
const char	*authz_role_name(int role);
/* The role for a name ("none", "viewer", "proposer", "approver"), or -1. */
int		 authz_role_from_name(const char *name);

/*
 * Check one entry's syntax (not whether the user or group exists: it may
 * be created later).  Returns 0, or -1 with a message in err.
 */
int		 authz_entry_check(const char *entry, char *err, size_t errlen);

/*
 * The role of a peer: uid and gid from SO_PEERCRED, user the name of uid
 * (or NULL when it has none).  a may be NULL: everyone is an approver (a
 * server without an authorization policy, as in tests).
 */
int		 authz_role(const struct authz *a, uid_t uid, gid_t gid,
		    const char *user);

#endif

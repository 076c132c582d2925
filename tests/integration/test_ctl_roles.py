"""Who may approve: roles from peer credentials, as real users.

Runs only as root (it creates users and groups with useradd/groupadd and
runs remedyctl as each of them); otherwise it says so and passes.

- a stranger outside control.group cannot open the socket (mode 0660);
- a member of control.group without a role is refused at connect;
- a viewer can read but not approve: "permission denied: approve needs
  role approver", exit 4, and an audit row "denied" with its uid and name;
- with control.two_person, an action of risk high needs two different
  approvers: the first approval is recorded and leaves it pending, the same
  approver twice is refused, the second approver's approval applies it;
- the audit log names each decision's actor and its chain verifies.
"""
import grp
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYCTL, Cluster, Daemon, parse_ctl_json, pod_ready, wait_action, wait_for, wait_state  # noqa: E402

TAG = "rt%d" % (os.getpid() % 100000)


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, text=True)


class Users:
    """Throw-away users and groups, removed again in close()."""

    def __init__(self):
        self.users, self.groups = [], []

    def group(self, name):
        sh("groupadd", name)
        self.groups.append(name)
        return grp.getgrnam(name).gr_gid

    def user(self, name, groups=()):
        args = ["useradd", "-M", "-N", "-s", "/usr/sbin/nologin"]
        if groups:
            args += ["-G", ",".join(groups)]
        sh(*args, name)
        self.users.append(name)
        return pwd.getpwnam(name).pw_uid

    def close(self):
        for u in self.users:
            subprocess.run(["userdel", u], capture_output=True)
        for g in self.groups:
            subprocess.run(["groupdel", g], capture_output=True)


def ctl_as(user, socket, *args, output="json"):
    """remedyctl as user (uid, primary and supplementary groups)."""
    pw = pwd.getpwnam(user)
    cmd = [REMEDYCTL, "-s", socket] + (["-o", output] if output else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       user=pw.pw_uid, group=pw.pw_gid,
                       extra_groups=os.getgrouplist(user, pw.pw_gid),
                       env={"PATH": "/usr/bin:/bin", "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")})
    out = r.stdout
    if output == "json" and r.returncode == 0:
        out = parse_ctl_json(args, out)
    return r.returncode, out, r.stderr


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "needs root and useradd to create the test users")
class Roles(unittest.TestCase):
    def setUp(self):
        self.ok = False
        self.users = Users()
        self.workdir = tempfile.mkdtemp(prefix="remedy-roles-")
        self.cluster = self.daemon = None

    def tearDown(self):
        rc = self.daemon.stop() if self.daemon else 0
        if self.cluster:
            self.cluster.stop()
        self.users.close()
        if not self.ok and self.daemon:
            print("--- remedyd log ---\n" + self.daemon.log())
            print("--- workdir kept: " + self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.assertEqual(rc, 0)

    def test_roles_and_two_person_rule(self):
        u = self.users
        sock_group = TAG + "s"
        appr_group = TAG + "a"
        u.group(sock_group)
        u.group(appr_group)
        viewer, appr1, appr2 = TAG + "v", TAG + "p1", TAG + "p2"
        norole, stranger = TAG + "n", TAG + "x"
        uid = {}
        uid[viewer] = u.user(viewer, [sock_group])
        uid[appr1] = u.user(appr1, [sock_group, appr_group])   # approver by %group
        uid[appr2] = u.user(appr2, [sock_group])               # approver by #uid
        uid[norole] = u.user(norole, [sock_group])
        uid[stranger] = u.user(stranger)

        os.chmod(self.workdir, 0o711)
        self.cluster = Cluster(self.workdir)
        os.chmod(self.cluster.dir, 0o755)
        control = ("  group: %s\n  viewers: [%s]\n  approvers: ['%%%s', '#%d']\n"
                   "  two_person: true\n" % (sock_group, viewer, appr_group, uid[appr2]))
        self.daemon = d = Daemon(self.workdir, self.cluster, control_extra=control)
        os.chmod(d.dir, 0o711)
        st = os.stat(d.socket)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, grp.getgrnam(sock_group).gr_gid)

        # root is an approver by default and sees its own role
        rc, out, err = d.ctl("status")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["you"]["role"], "approver")

        # a stranger outside the socket's group cannot even connect
        rc, out, err = ctl_as(stranger, d.socket, "status")
        self.assertEqual(rc, 3, err)
        self.assertIn("Permission denied", err)
        # in the group but without a role: refused at connect
        rc, out, err = ctl_as(norole, d.socket, "status")
        self.assertEqual(rc, 4, err)
        self.assertIn("has no role on this remedyd", err)

        aid = wait_action(d, "pending")[0]["id"]
        # the rules backend proposes low-risk rollbacks; this action is made
        # high-risk in the store so the two-person rule applies to it
        db = sqlite3.connect(d.db, timeout=30)
        db.execute("UPDATE actions SET risk = 'high' WHERE id = ?", (aid,))
        db.commit()
        db.close()

        # a viewer reads, but cannot decide
        rc, out, err = ctl_as(viewer, d.socket, "status")
        self.assertEqual((rc, out["you"]["role"], out["you"]["user"]), (0, "viewer", viewer), err)
        rc, out, err = ctl_as(viewer, d.socket, "show", str(aid))
        self.assertEqual((rc, out["action"]["risk"]), (0, "high"), err)
        rc, out, err = ctl_as(viewer, d.socket, "approve", str(aid))
        self.assertEqual(rc, 4)
        self.assertEqual(err.strip(), "remedyctl: permission denied: approve needs role approver")
        rc, out, err = ctl_as(viewer, d.socket, "reject", str(aid), "--reason", "no")
        self.assertEqual(rc, 4)
        self.assertIn("permission denied: reject needs role approver", err)

        # two-person rule
        rc, out, err = ctl_as(appr1, d.socket, "approve", str(aid), "--comment", "first look", output=None)
        self.assertEqual(rc, 0, err)
        self.assertIn("approval 1 of 2 recorded", out)
        rc, out, err = d.ctl("show", str(aid))
        self.assertEqual(out["action"]["state"], "pending")
        rc, out, err = ctl_as(appr1, d.socket, "approve", str(aid))
        self.assertEqual(rc, 1)
        self.assertIn("already approved action %d; the two-person rule needs a different approver" % aid, err)
        rc, out, err = ctl_as(appr2, d.socket, "approve", str(aid), "--comment", "second")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["action"]["state"], "approved")
        self.assertEqual((out["action"]["approved_by"], out["action"]["approved_uid"]), (appr2, uid[appr2]))
        wait_state(d, aid, ("verified",), 90)
        wait_for(lambda: len([p for p in self.cluster.pods() if pod_ready(p)]) == 3, 60, "healthy pods")

        # the audit log names every decision's actor
        rc, out, err = ctl_as(viewer, d.socket, "audit", "--action", str(aid))
        self.assertEqual(rc, 0, err)
        rows = [(r["event"], r["actor"], r["actor_uid"]) for r in out["rows"]]
        self.assertEqual(rows[:5], [
            ("suggested", "remedyd", -1),
            ("denied", viewer, uid[viewer]),
            ("denied", viewer, uid[viewer]),
            ("approval", appr1, uid[appr1]),
            ("approved", appr2, uid[appr2]),
        ], rows)
        self.assertEqual(out["rows"][1]["detail"], {"command": "approve", "needs": "approver"})
        self.assertEqual(out["rows"][3]["detail"]["comment"], "first look")
        self.assertEqual(out["rows"][3]["detail"]["approvals"], 1)
        self.assertEqual(out["rows"][4]["detail"], {"comment": "second"})
        self.assertEqual([r[0] for r in rows[5:]], ["applying", "applied", "verified"])
        rc, out, err = ctl_as(viewer, d.socket, "audit", "verify", output=None)
        self.assertEqual(rc, 0, err)
        self.assertIn("audit log intact", out)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

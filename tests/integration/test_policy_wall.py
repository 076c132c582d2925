"""The policy wall with the real binaries.

- before the dry-run: with Deployment not in policy.kinds, the rules
  backend's rollback is stored as a refused action carrying the rule
  (kind-not-allowed), no dry-run or write reaches the API server, and it
  can never be approved;
- at approve: a pending action whose namespace the policy denies by the
  time the operator approves (remedyd restarted with a stricter policy) is
  refused with the rule (namespace-denied), remedyctl exits 1 naming it,
  `remedyctl show` carries the rule, nothing is written.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_action  # noqa: E402


def restart_with(d, extra, fresh_store=False):
    d.stop()
    with open(d.config, "a") as f:
        f.write(extra)
    if fresh_store:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(d.db + suffix):
                os.unlink(d.db + suffix)
    d.start()


class PolicyWall(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=1, hold_down="1s")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0)

    def test_refused_before_dry_run(self):
        c, d = self.env.cluster, self.env.daemon
        wait_action(d, "pending")
        restart_with(d, "policy:\n  kinds: [StatefulSet]\n", fresh_store=True)
        before = len(c.requests())
        act = wait_action(d, "refused")[0]
        rc, out, err = d.ctl("show", str(act["id"]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["action"]["rule"], "kind-not-allowed")
        self.assertIn("policy.kinds", out["action"]["reason"])
        after = [r for r in c.requests()[before:] if r["method"] == "PATCH"]
        self.assertEqual(after, [], "no dry-run for a refused proposal")
        rc, out, err = d.ctl("approve", str(act["id"]))
        self.assertEqual(rc, 1)
        self.assertEqual(c.remedyd_writes(include_dry_run=False), [])
        self.ok = True

    def test_refused_at_approve(self):
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]
        restart_with(d, "policy:\n  namespaces: { deny: [demo] }\n")
        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("namespace-denied", err)
        rc, out, err = d.ctl("show", str(aid))
        self.assertEqual(out["action"]["state"], "refused")
        self.assertEqual(out["action"]["rule"], "namespace-denied")
        self.assertIn("policy.namespaces.deny", out["action"]["reason"])
        rc, out, err = d.ctl("audit", "--action", str(aid))
        rows = out["rows"]
        self.assertEqual([r["event"] for r in rows], ["suggested", "refused"])
        self.assertEqual(rows[1]["detail"]["rule"], "namespace-denied")
        self.assertEqual(rows[1]["actor_uid"], os.getuid())
        self.assertEqual(c.remedyd_writes(), [])
        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

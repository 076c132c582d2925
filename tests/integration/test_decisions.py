"""Operator decisions and server refusals, with the real binaries.

- reject: the action ends `rejected` with the reason and the rejecting user
  in the audit log, nothing is written, and it can no longer be approved;
- refused: when the API server rejects the dry-run, the proposal is stored as
  `refused` with the server's reason and can never be approved;
- restart: a pending action survives a restart of remedyd, is not proposed a
  second time, and can be approved by the new process.
"""
import os
import pwd
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, pod_ready, wait_action, wait_for, wait_state  # noqa: E402

WEB = "/apis/apps/v1/namespaces/demo/deployments/web"


class Decisions(unittest.TestCase):
    def setUp(self):
        self.env = None
        self.ok = False

    def tearDown(self):
        if self.env:
            rc = self.env.close(self.ok)
            self.assertEqual(rc, 0)

    def start(self, **kw):
        self.env = Env(scenario="broken-rollout", replicas=3, hold_down="1s", **kw)
        return self.env.cluster, self.env.daemon

    def test_reject(self):
        c, d = self.start()
        aid = wait_action(d, "pending")[0]["id"]
        rc, out, err = d.ctl("reject", str(aid))
        self.assertEqual(rc, 2, "reject needs --reason")
        rc, out, err = d.ctl("reject", str(aid), "--reason", "we fix forward instead")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["action"]["state"], "rejected")
        self.assertEqual(out["action"]["reason"], "we fix forward instead")
        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 1)
        self.assertIn("rejected, not pending", err)
        rc, out, err = d.ctl("audit", "--action", str(aid))
        self.assertEqual([r["event"] for r in out["rows"]], ["suggested", "rejected"])
        row = out["rows"][1]
        self.assertEqual((row["actor_uid"], row["actor"]), (os.getuid(), pwd.getpwuid(os.getuid()).pw_name))
        self.assertEqual(row["detail"]["reason"], "we fix forward instead")
        self.assertEqual(c.remedyd_writes(), [])
        self.assertEqual(c.get(WEB)["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27-typo")
        self.ok = True

    def test_refused_by_dry_run(self):
        # The API server's admission refuses the dry-run of remedyd's patch.
        def deny(cluster):
            cluster.test("POST", "/inject", {
                "method": "PATCH", "path": WEB, "dry_run": True, "status": 403,
                "reason": "Forbidden",
                "message": 'deployments.apps "web" is forbidden: denied by policy'})
        c, d = self.start(before_daemon=deny)
        act = wait_action(d, "refused")[0]
        rc, out, err = d.ctl("show", str(act["id"]))
        self.assertIn("403", out["action"]["reason"])
        self.assertIn("denied by policy", out["action"]["reason"])
        rc, text, err = d.ctl("show", str(act["id"]), output=None)
        self.assertIn("denied by policy", text)
        rc, out, err = d.ctl("approve", str(act["id"]))
        self.assertEqual(rc, 1)
        self.assertIn("refused, not pending", err)
        rc, out, err = d.ctl("audit", "--action", str(act["id"]))
        self.assertEqual([r["event"] for r in out["rows"]], ["refused"])
        self.assertEqual(c.remedyd_writes(), [])
        self.ok = True

    def test_pending_survives_restart(self):
        c, d = self.start()
        aid = wait_action(d, "pending")[0]["id"]
        self.assertEqual(d.stop(), 0)
        d.start()
        # The open incident comes back from the store: the new process
        # refills it and does not diagnose it again.
        wait_for(lambda: "1 open incident(s) from the store" in open(d.logpath).read(), 30,
                 "the new process to load the open incident")
        wait_for(lambda: d.ctl("incidents")[1]["incidents"][0]["pods"] == 3, 30,
                 "the pods to rejoin the incident")
        with open(d.logpath) as f:
            self.assertEqual(f.read().count(": diagnosing "), 1, "no second diagnosis")
        rc, out, err = d.ctl("list")
        self.assertEqual([(a["id"], a["state"]) for a in out["actions"]], [(aid, "pending")])
        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 0, err)
        act = wait_state(d, aid, ("verified", "failed", "not-recovered"))
        self.assertEqual(act["state"], "verified", act)
        self.assertEqual(len(c.remedyd_writes()), 1)
        self.assertTrue(all(pod_ready(p) for p in c.pods()))
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

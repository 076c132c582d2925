"""Rollback: approve -> applied -> rollback -> approve -> the object's spec
equals the original, and the original action is rolled-back.

The rollback is a new pending action holding the stored inverse patch with
its own preconditions (the generation the first PATCH produced and each
value it wrote); it is approved like any other.  A second rollback of the
same action, and a rollback of an action that was never applied, are
refused.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_action, wait_state  # noqa: E402

WEB = "/apis/apps/v1/namespaces/demo/deployments/web"


class Rollback(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=2, hold_down="1s",
                       verify_timeout="60s")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0)

    def test_rollback_restores_the_original(self):
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]
        original = c.get(WEB)

        # not applied yet: nothing to roll back
        rc, out, err = d.ctl("rollback", str(aid))
        self.assertEqual(rc, 1)
        self.assertIn("pending", err)

        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 0, err)
        act = wait_state(d, aid, ("verified", "failed", "not-recovered"))
        self.assertEqual(act["state"], "verified", act)
        self.assertTrue(act["inverse"], "the inverse patch was stored")
        fixed = c.get(WEB)
        self.assertNotEqual(fixed["spec"], original["spec"])

        rc, out, err = d.ctl("rollback", str(aid))
        self.assertEqual(rc, 0, err)
        rb = out["action"]
        self.assertEqual(rb["state"], "pending")
        self.assertEqual(rb["rollback_of"], aid)
        self.assertEqual(rb["backend"], "rollback")
        self.assertEqual(rb["patch"][0], {"op": "test", "path": "/metadata/generation",
                                          "value": fixed["metadata"]["generation"]})
        self.assertIn({"op": "test", "path": "/spec/template/spec/containers/0/image",
                       "value": "nginx:1.25"}, rb["patch"])

        # one live rollback per action
        rc, out, err = d.ctl("rollback", str(aid))
        self.assertEqual(rc, 1, "a second rollback while one is live is refused")
        rc, out, err = d.ctl("list")
        self.assertEqual(len([a for a in out["actions"] if a["backend"] == "rollback"]), 1)

        rc, out, err = d.ctl("approve", str(rb["id"]))
        self.assertEqual(rc, 0, err)
        rbact = wait_state(d, rb["id"], ("applied", "verified", "not-recovered", "failed"))
        self.assertIn(rbact["state"], ("applied", "verified", "not-recovered"), rbact)
        orig = wait_state(d, aid, ("rolled-back",), timeout=10)
        self.assertEqual(orig["state"], "rolled-back")

        now = c.get(WEB)
        self.assertEqual(now["spec"], original["spec"], "the spec is the original again")
        self.assertEqual(now["metadata"]["annotations"]["remedy.dev/action-id"], str(rb["id"]))

        writes = [w for w in c.remedyd_writes() if w["method"] == "PATCH"]
        self.assertEqual(len(writes), 2)
        self.assertEqual(json.loads(writes[1]["body"]), rb["patch"], "the rollback's approved patch, as sent")

        rc, out, err = d.ctl("audit", "--action", str(aid))
        ev = [r["event"] for r in out["rows"]]
        self.assertEqual(ev, ["suggested", "approved", "applying", "applied", "verified",
                              "rollback-proposed", "rolled-back"])
        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

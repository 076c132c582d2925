"""A stale approval fails instead of clobbering a newer change.

The Deployment is fixed by someone else after remedyd proposed its rollback
and before the operator approves: the stored patch's `test` operations fail
on the API server (422), the action ends `failed` with the server's reason,
and the other change stays as it was.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_action, wait_state  # noqa: E402

WEB = "/apis/apps/v1/namespaces/demo/deployments/web"


class StaleApproval(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=4, hold_down="1s")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0)

    def test_changed_before_approve(self):
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]

        # Someone else moves the Deployment on to nginx:1.26.
        status, obj = c.api("PATCH", WEB, [
            {"op": "replace", "path": "/spec/template/spec/containers/0/image",
             "value": "nginx:1.26"}], ctype="application/json-patch+json")
        self.assertEqual(status, 200, obj)

        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 0, err)
        act = wait_state(d, aid, ("failed", "applied", "verified"))
        self.assertEqual(act["state"], "failed", act)
        self.assertIn("422", act["reason"])
        self.assertIn("the server rejected our request", act["reason"])

        dep = c.get(WEB)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26",
                         "the newer change was not overwritten")
        writes = c.remedyd_writes()
        self.assertEqual(len(writes), 1)
        self.assertEqual(writes[0]["status"], 422)

        rc, out, err = d.ctl("audit", "--action", str(aid))
        self.assertEqual([r["event"] for r in out["rows"]],
                         ["suggested", "approved", "applying", "failed"])
        self.assertEqual(out["rows"][3]["detail"]["answer"]["status"], 422)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

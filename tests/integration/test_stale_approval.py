"""A stale approval fails instead of clobbering a newer change.

The Deployment is fixed by someone else after remedyd proposed its rollback
and before the operator approves: its generation moves past the one the
stored patch tests, so remedyd marks the pending action `superseded` (the
patch could only fail), an approval is refused, nothing is written, and the
other change stays as it was.  (A change that lands after the approval makes
the stored patch's `test` operations fail on the API server with 422:
tests/integration/test_crash.py, test_changed_while_down_before_applying.)
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

        act = wait_state(d, aid, ("superseded",), timeout=30)
        self.assertIn("changed since the action was proposed", act["reason"])

        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 1)
        self.assertIn("superseded", err)

        dep = c.get(WEB)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26",
                         "the newer change was not overwritten")
        self.assertEqual(c.remedyd_writes(), [])

        rc, out, err = d.ctl("audit", "--action", str(aid))
        self.assertEqual([r["event"] for r in out["rows"]], ["suggested", "superseded"])
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

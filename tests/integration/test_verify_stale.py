"""Verification never calls an action not-recovered from a cache that may
be behind the cluster.

The rollback is approved while remedyd's pods watch is failing (the test
API server answers the pods list/watch with 500 four times, so the pods
informer backs off for 12 s or more).  verify_timeout (2 s) passes
while the informer still holds the old, broken pods: remedyd must wait
for the watch to run again, then find the new pods healthy and record
`verified`, not `not-recovered`.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, pod_ready, wait_action, wait_for, wait_state  # noqa: E402

PODS = "/api/v1/namespaces/demo/pods"


class VerifyStale(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=2, hold_down="1s",
                       verify_timeout="2s")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0)

    def test_verdict_waits_for_the_pods_watch(self):
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]
        c.test("POST", "/inject", {"method": "GET", "path": PODS, "status": 500, "count": 4,
                                   "reason": "InternalError", "message": "pods unavailable"})
        c.test("POST", "/close-watches")
        def full_log():
            with open(d.logpath) as f:
                return f.read()
        wait_for(lambda: "informer pods in demo: watch failed: pods unavailable" in full_log(), 30,
                 "the pods watch to fail")
        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 0, err)
        act = wait_state(d, aid, ("verified", "not-recovered", "failed"), timeout=90)
        self.assertEqual(act["state"], "verified", act)
        self.assertTrue(all(pod_ready(p) for p in c.pods()))
        failed = [r for r in c.requests() if r["path"] == PODS and r["status"] == 500]
        self.assertEqual(len(failed), 4, "the pods informer did fail meanwhile")
        log = full_log()
        self.assertIn("action %d: verify_timeout passed while a pod or Deployment watch is "
                      "restarting; the verdict waits for it" % aid, log)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

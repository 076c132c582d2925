"""Throttling by the API server (429) is retried and logged with the API
Priority and Fairness flow schema and priority level the server named, and
the loop still reaches a pending action."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_action, wait_for  # noqa: E402


class Throttle(unittest.TestCase):
    def setUp(self):
        self.env = None
        self.ok = False

    def tearDown(self):
        if self.env:
            self.assertEqual(self.env.close(self.ok), 0)

    def test_429_logged_and_retried(self):
        def throttle(cluster):
            cluster.test("POST", "/faults", {"once": ["429", "429"]})
        self.env = Env(scenario="broken-rollout", replicas=2, before_daemon=throttle)
        c, d = self.env.cluster, self.env.daemon
        self.assertEqual(c.test("GET", "/faults")["counts"].get("429"), 2)
        wait_for(lambda: "throttled by the API server (429; flow schema fault, "
                 "priority level fault)" in d.log(), 30, "the 429 log line")
        self.assertEqual(len(wait_action(d, "pending")), 1)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Pending TTL: an action nobody decides within actions.pending_ttl becomes
`expired` (audit row "expired" with the reason), cannot be approved, and
nothing is written.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_action, wait_state  # noqa: E402


class Expiry(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=1, hold_down="1s")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0)

    def test_pending_expires(self):
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]
        d.stop()
        with open(d.config) as f:
            text = f.read()
        self.assertIn("actions:\n", text)
        with open(d.config, "w") as f:
            f.write(text.replace("actions:\n", "actions:\n  pending_ttl: 3s\n"))
        d.start()
        t0 = time.monotonic()
        act = wait_state(d, aid, ("expired",), timeout=30)
        self.assertIn("actions.pending_ttl (3s)", act["reason"])
        self.assertLess(time.monotonic() - t0, 20)
        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 1)
        self.assertIn("expired", err)
        rc, out, err = d.ctl("audit", "--action", str(aid))
        self.assertEqual([r["event"] for r in out["rows"]], ["suggested", "expired"])
        self.assertEqual(c.remedyd_writes(), [])
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

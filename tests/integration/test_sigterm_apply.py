"""SIGTERM while an approved action's PATCH is in flight loses nothing.

The test API server holds the PATCH for a few seconds; remedyd gets SIGTERM
while its action is `applying`.  It must wait for the answer (drain), record
`applied` with its audit row, close the store and exit 0.  A new remedyd on
the same store then verifies the action; exactly one PATCH was sent and the
audit chain is intact.
"""
import os
import signal
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Env, pod_ready, wait_action, wait_for, wait_state  # noqa: E402

HOLD_PATCH = 3.0


class SigtermDuringApply(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=3, hold_down="1s")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    def test_sigterm_mid_apply(self):
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]
        dep_path = "/apis/apps/v1/namespaces/demo/deployments/web"
        c.test("POST", "/inject", {"method": "PATCH", "path": dep_path, "dry_run": False,
                                   "delay": HOLD_PATCH, "count": 1})
        rc, out, err = d.ctl("approve", str(aid), "--comment", "sigterm test")
        self.assertEqual(rc, 0, err)
        # The store says applying before the PATCH leaves; SIGTERM goes out
        # once the server holds the PATCH (it does so for HOLD_PATCH seconds).
        wait_state(d, aid, ["applying"], timeout=30)
        wait_for(lambda: any(i.get("delayed") for i in c.test("GET", "/inject")["injections"]),
                 timeout=30, what="the test API server holding the PATCH")
        t_term = time.time()
        d.proc.send_signal(signal.SIGTERM)
        rc = d.proc.wait(60)
        t_exit = time.time()
        self.assertEqual(rc, 0, d.log())

        patches = [r for r in c.remedyd_writes() if r["method"] == "PATCH"]
        self.assertEqual(len(patches), 1, patches)
        self.assertLess(patches[0]["time"], t_term, "the PATCH was in flight at SIGTERM")
        self.assertEqual(patches[0]["status"], 200)
        self.assertGreaterEqual(t_exit, patches[0]["time"] + HOLD_PATCH - 0.1,
                                "remedyd exited before the PATCH was answered")

        # The store, read directly: applied, with its audit row, and the
        # database closed cleanly (no WAL left to replay is not required,
        # but the rows must be there).
        db = sqlite3.connect(d.db)
        try:
            state = db.execute("SELECT state FROM actions WHERE id = ?", (aid,)).fetchone()[0]
            events = [r[0] for r in db.execute(
                "SELECT event FROM audit WHERE action_id = ? ORDER BY seq", (aid,))]
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            db.close()
        self.assertEqual(state, "applied")
        self.assertEqual(events[-2:], ["applying", "applied"], events)

        # A new remedyd on the same store verifies it; nothing is re-sent.
        self.env.daemon = d2 = Daemon(self.env.workdir, c, hold_down="1s")
        act = wait_state(d2, aid, ["verified"], timeout=60)
        self.assertEqual(act["state"], "verified")
        self.assertTrue(all(pod_ready(p) for p in c.pods()))
        self.assertEqual(len([r for r in c.remedyd_writes() if r["method"] == "PATCH"]), 1)
        rc, out, err = d2.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

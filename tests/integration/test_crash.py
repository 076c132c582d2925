"""Kill -9 sweep: remedyd dies at each step of approve -> apply, and the
next start finishes the job exactly once or fails it cleanly.

remedyd is started with REMEDY_TEST_CRASH_AT=<point>, which makes it
_exit(137) at that point of the apply path (daemon/apply.c):

  before-applying  the object was read, the row is still approved
  after-applying   the row is committed as applying, nothing was sent
  after-patch      the API server answered the PATCH, nothing was recorded
  after-applied    applied was committed, verification had not started

After each crash remedyd is started again without the variable.  The test
API server counts the PATCHes: the change lands exactly once (the object
carries the action id in remedy.dev/action-id), the action ends applied or
verified, the store passes PRAGMA integrity_check and the audit chain
verifies.  Two more cases change the object while remedyd is down: the
action then fails cleanly and the other change stays.
"""
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_action, wait_for, wait_state  # noqa: E402

WEB = "/apis/apps/v1/namespaces/demo/deployments/web"
IMAGE = "/spec/template/spec/containers/0/image"
ANNOTATION = "remedy.dev/action-id"


def patches(c, ok_only=True):
    return [w for w in c.remedyd_writes()
            if w["method"] == "PATCH" and (not ok_only or w["status"] // 100 == 2)]


class CrashSweep(unittest.TestCase):
    def setUp(self):
        self.env = None
        self.ok = False

    def tearDown(self):
        os.environ.pop("REMEDY_TEST_CRASH_AT", None)
        if self.env:
            self.env.close(self.ok)

    def crash_at(self, point):
        """A cluster and a remedyd that dies at point; approve; wait for it
        to die with 137.  Returns (cluster, daemon, action id)."""
        os.environ["REMEDY_TEST_CRASH_AT"] = point
        try:
            self.env = Env(scenario="broken-rollout", replicas=1, hold_down="1s",
                           verify_timeout="60s")
        finally:
            os.environ.pop("REMEDY_TEST_CRASH_AT", None)
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]
        rc, out, err = d.ctl("approve", str(aid))
        # the answer may or may not make it out before the exit
        wait_for(lambda: d.proc.poll() is not None, 30, "remedyd to crash at " + point)
        self.assertEqual(d.proc.returncode, 137, d.log())
        self.assertIn("REMEDY_TEST_CRASH_AT=%s" % point, d.log())
        d.logf.close()
        return c, d, aid

    def check_store(self, d):
        db = sqlite3.connect(d.db)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            db.close()
        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out["ok"], out)

    def events(self, d, aid):
        rc, out, err = d.ctl("audit", "--action", str(aid))
        self.assertEqual(rc, 0, err)
        return [r["event"] for r in out["rows"]]

    def test_sweep_applied_once(self):
        for point, before in (("before-applying", 0), ("after-applying", 0),
                              ("after-patch", 1), ("after-applied", 1)):
            with self.subTest(point=point):
                try:
                    self.one_point(point, before)
                finally:
                    if self.env:
                        self.env.close(self.ok)
                    self.env, self.ok = None, False

    def one_point(self, point, before):
        c, d, aid = self.crash_at(point)
        self.assertEqual(len(patches(c)), before, point)
        d.start()
        act = wait_state(d, aid, ("applied", "verified", "failed"), timeout=60)
        self.assertIn(act["state"], ("applied", "verified"), (point, act))
        self.assertEqual(len(patches(c)), 1, "applied exactly once after " + point)
        self.assertEqual(len(patches(c, ok_only=False)), 1, point)
        dep = c.get(WEB)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"],
                         "nginx:1.25")
        self.assertEqual(dep["metadata"]["annotations"][ANNOTATION], str(aid))
        ev = self.events(d, aid)
        self.assertEqual(ev[:4], ["suggested", "approved", "applying", "applied"], point)
        self.assertEqual(ev.count("applied"), 1)
        if point == "after-patch":
            rc, out, err = d.ctl("audit", "--action", str(aid))
            self.assertTrue(out["rows"][3]["detail"]["answer"]["recovered"])
        self.check_store(d)
        self.ok = True

    def change_image(self, c):
        status, obj = c.api("PATCH", WEB, [
            {"op": "replace", "path": IMAGE, "value": "nginx:1.26"}],
            ctype="application/json-patch+json")
        self.assertEqual(status, 200, obj)

    def test_changed_while_down_after_applying(self):
        # applying, nothing sent; someone fixes the object meanwhile: the
        # recovery sees no annotation and a failing precondition -> failed,
        # without sending anything.
        c, d, aid = self.crash_at("after-applying")
        self.change_image(c)
        d.start()
        act = wait_state(d, aid, ("applied", "verified", "failed"), timeout=60)
        self.assertEqual(act["state"], "failed", act)
        self.assertIn("preconditions no longer hold", act["reason"])
        self.assertEqual(patches(c, ok_only=False), [])
        dep = c.get(WEB)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26")
        self.assertNotIn(ANNOTATION, dep["metadata"].get("annotations", {}))
        self.assertEqual(self.events(d, aid), ["suggested", "approved", "applying", "failed"])
        self.check_store(d)
        self.ok = True

    def test_changed_while_down_before_applying(self):
        # still approved: the next start applies it; the API server's test
        # operations refuse the stale patch (422) and the action fails.
        c, d, aid = self.crash_at("before-applying")
        self.change_image(c)
        d.start()
        act = wait_state(d, aid, ("applied", "verified", "failed"), timeout=60)
        self.assertEqual(act["state"], "failed", act)
        self.assertIn("422", act["reason"])
        self.assertIn("a precondition failed: the object changed after remedyd read it",
                      act["reason"])
        self.assertEqual(patches(c), [])
        self.assertEqual(c.get(WEB)["spec"]["template"]["spec"]["containers"][0]["image"],
                         "nginx:1.26")
        self.check_store(d)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

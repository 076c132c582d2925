"""kill -9 of remedyd in the middle of an apply, on a real cluster.

remedyd dies (REMEDY_TEST_CRASH_AT, daemon/apply.c) right after the API
server answered the PATCH and before anything was recorded, and in another
namespace right after `applying` was committed and before the PATCH was
sent.  Started again, it finishes each action exactly once: the API
server's audit log shows one accepted PATCH per action, the Deployment
carries the action id, and the action is verified.
"""
import os
import shutil

import e2e
from e2e import wait


class Crash(e2e.Case):
    namespaces = ("e2e-crash-after-patch", "e2e-crash-after-applying")

    def run_point(self, ns, point):
        e2e.healthy_deployment(ns, replicas=1)
        os.environ["REMEDY_TEST_CRASH_AT"] = point
        try:
            d = self.start_remedyd(namespaces=[ns])
        finally:
            os.environ.pop("REMEDY_TEST_CRASH_AT", None)
        e2e.break_rollout(ns)
        act = self.one_pending()
        self.assert_only_dry_runs(ns)
        d.ctl("approve", str(act["id"]))    # the answer may not make it out
        wait(lambda: d.proc.poll() is not None, 60, "remedyd to die at " + point)
        self.assertEqual(d.proc.returncode, 137, d.log())
        d.logf.close()
        d.start()
        got = e2e.wait_state(d, act["id"], ("verified", "failed", "not-recovered"), timeout=180)
        self.assertEqual(got["state"], "verified", got)
        self.assert_applied_exactly(ns, act)
        dep = e2e.get("deployment", "web", ns)
        self.assertEqual(dep["metadata"]["annotations"]["remedy.dev/action-id"], str(act["id"]))
        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        d.stop()
        self.daemon = None
        shutil.rmtree(d.dir)

    def test_kill_mid_apply(self):
        self.run_point("e2e-crash-after-patch", "after-patch")
        self.run_point("e2e-crash-after-applying", "after-applying")
        self.ok = True


if __name__ == "__main__":
    e2e.main()

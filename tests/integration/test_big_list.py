"""remedyd keeps answering while a large LIST streams in.

The test API server holds 4000 extra pods (about 8 KB of JSON each, so a
page of 500 is about 4 MB) beside a broken rollout, and holds the first
pod LIST for a moment.  While the LIST is under way `remedyctl status`
answers (not synced yet) and /healthz answers 200.  The pages are read
under the per-turn byte budget (remedy_http_pauses_total moves), their
items scanned and the cache evaluated in slices that let the loop turn
(remedy_loop_yields_total moves), the loop-lag probe reports
(remedy_loop_lag_seconds), and the sliced evaluation still finds the
broken rollout: one pending action.  No figure here is a timing.
"""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, wait_action, wait_for  # noqa: E402
from svc import ServiceDaemon, free_port, http_get  # noqa: E402
from test_metrics_endpoint import sample  # noqa: E402

EXTRA_PODS = 4000
HOLD_LIST = 2.0


def pod(i):
    env = [{"name": "SETTING_%02d" % k, "value": "value-%d-%d-%s" % (i, k, "x" * 40)} for k in range(100)]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "bulk-%05d" % i, "namespace": "demo", "labels": {"app": "bulk", "n": str(i % 7)}},
            "spec": {"nodeName": "node-a", "containers": [
                {"name": "app", "image": "registry.example.com/bulk/app:1.%d" % (i % 5), "env": env}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "app", "image": "registry.example.com/bulk/app:1.%d" % (i % 5), "ready": True,
                 "restartCount": 0, "state": {"running": {"startedAt": "2026-12-01T00:00:00Z"}}}]}}


class BigList(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-biglist-")
        self.cluster = Cluster(self.workdir, scenario="broken-rollout", replicas=3)
        self.port = free_port()
        self.daemon = None
        self.ok = False

    def tearDown(self):
        rc = self.daemon.stop() if self.daemon is not None else 0
        self.cluster.stop()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print("--- remedyd log ---\n" + (self.daemon.log() if self.daemon else ""))
            print("--- workdir kept: " + self.workdir)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    def test_status_answers_during_a_large_list(self):
        c = self.cluster
        for first in range(0, EXTRA_PODS, 250):
            c.test("POST", "/objects", {"kind": "List", "apiVersion": "v1",
                                        "items": [pod(i) for i in range(first, first + 250)]})
        c.test("POST", "/inject", {"method": "GET", "path": "/api/v1/namespaces/demo/pods",
                                   "delay": HOLD_LIST, "count": 1})
        d = self.daemon = ServiceDaemon(
            self.workdir, c, hold_down="1s", wait_synced=False,
            extra_config="http:\n  listen: 127.0.0.1:%d\n" % self.port)

        def answered():
            rc, out, _ = d.ctl("status")
            self.assertTrue(d.alive(), d.log())
            return out if rc == 0 else None
        out = wait_for(answered, 30, "remedyctl status to answer")
        self.assertFalse(out["synced"], "the pod LIST is still under way")
        status, _, body = http_get(self.port, "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))

        # every answer on the way to synced comes back
        def synced():
            rc, out, err = d.ctl("status")
            self.assertEqual(rc, 0, err)
            return out["synced"]
        wait_for(synced, 120, "remedyd to sync 4000 pods", interval=0.02)
        pending = wait_action(d, "pending", timeout=60)
        self.assertEqual(len(pending), 1, pending)

        status, _, text = http_get(self.port, "/metrics")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(sample(text, "remedy_informer_objects", {"resource": "pods"}), EXTRA_PODS, text)
        self.assertGreater(sample(text, "remedy_http_pauses_total") or 0, 0,
                           "4 MB pages are read over several loop turns")
        self.assertGreater(sample(text, "remedy_loop_yields_total") or 0, 0,
                           "the pages and the evaluation pass ran in slices")
        self.assertGreater(sample(text, "remedy_loop_lag_seconds_count") or 0, 0, "the probe reports")
        self.assertIsNotNone(sample(text, "remedy_loop_lag_max_seconds"), text)
        status, _, body = http_get(self.port, "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))
        self.ok = True


if __name__ == "__main__":
    unittest.main()

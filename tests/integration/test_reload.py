"""SIGHUP: the configuration is re-read into a new struct and swapped in
only when it is valid.

A broken file is reported with FILE:LINE:COLUMN and remedyd keeps running
on the old configuration (the 1 h hold-down still holds back the broken
rollout's action).  A valid file with a changed live key takes effect: a
1 s hold-down lets the action through, and http.listen opens the monitoring
endpoint.  A changed restart-only key (kubernetes.namespaces) is named in
the log and not applied.  systemd sees RELOADING=1 and READY=1 around it.
"""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, wait_action, wait_for  # noqa: E402
from svc import NotifyReceiver, ServiceDaemon, free_port, http_get  # noqa: E402


class Reload(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-reload-")
        self.cluster = Cluster(self.workdir, scenario="broken-rollout", replicas=2)
        self.notify = NotifyReceiver(os.path.join(self.workdir, "notify.sock"))
        self.daemon = None
        self.ok = False

    def tearDown(self):
        rc = self.daemon.stop() if self.daemon is not None else 0
        self.cluster.stop()
        self.notify.close()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print("--- remedyd log ---\n" + (self.daemon.log() if self.daemon else ""))
            print("--- workdir kept: " + self.workdir)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    def hup_and_wait(self, d, text):
        """SIGHUP, then wait for text and for the READY/STATUS that ends it."""
        n = len(self.notify.with_key("RELOADING", "1"))
        d.hup()
        wait_for(lambda: len(self.notify.with_key("RELOADING", "1")) > n, 20, "RELOADING=1")
        d.wait_log(text)

    def test_reload(self):
        d = self.daemon = ServiceDaemon(self.workdir, self.cluster, hold_down="1h",
                                        env={"NOTIFY_SOCKET": self.notify.path})
        wait_for(lambda: self.notify.with_key("READY", "1"), 30, "READY=1")
        with open(d.config) as f:
            good = f.read()
        self.assertIn("hold_down: 1h", good)

        # 1. A broken file: two errors, both reported with file:line:col.
        d.write_config(good.replace("hold_down: 1h", "hold_down: soon")
                       + "http:\n  listen: nowhere\n")
        self.hup_and_wait(d, "keeping the running configuration")
        log = d.log()
        lines = good.count("\n")
        self.assertIn("SIGHUP: %s:%d:14: diagnosis.hold_down: \"soon\" is not a duration"
                      % (d.config, good.split("\n").index("  hold_down: 1h") + 1), log)
        self.assertIn("SIGHUP: %s:%d:11: http.listen: \"nowhere\"" % (d.config, lines + 2), log)
        self.assertIn("SIGHUP: 2 errors in %s; keeping the running configuration" % d.config, log)
        self.assertTrue(d.alive())
        status = [m for _, m in self.notify.messages() if "reload failed" in m.get("STATUS", "")]
        self.assertEqual(len(status), 1, self.notify.messages())
        self.assertEqual(status[0].get("READY"), "1")
        rc, out, err = d.ctl("list")
        self.assertEqual((rc, out["actions"]), (0, []), "the 1h hold-down still applies")

        # 2. Valid, with live keys changed (and one restart-only key).
        port = free_port()
        d.write_config(good.replace("hold_down: 1h", "hold_down: 1s")
                       .replace("namespaces: [demo]", "namespaces: [demo, other]")
                       + "http:\n  listen: 127.0.0.1:%d\n" % port)
        self.hup_and_wait(d, "SIGHUP: reloaded %s" % d.config)
        log = d.log()
        self.assertIn("SIGHUP: diagnosis.hold_down: 1h -> 1s", log)
        self.assertIn("SIGHUP: http.listen: ~ -> 127.0.0.1:%d" % port, log)
        self.assertIn("SIGHUP: kubernetes.namespaces changed; it applies only after a restart", log)
        pending = wait_action(d, "pending", timeout=30)
        self.assertEqual(len(pending), 1)
        status, _, body = http_get(port, "/readyz")
        self.assertEqual((status, body), (200, "ready\n"))
        # the restart-only key was not applied: still only demo is watched
        reqs = [r["path"] for r in self.cluster.requests() if "/namespaces/other/" in r["path"]]
        self.assertEqual(reqs, [])

        # 3. Reloading the same file again changes nothing live.
        self.hup_and_wait(d, "SIGHUP: no live key changed")
        self.assertEqual(http_get(port, "/healthz")[0], 200)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

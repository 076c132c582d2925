"""remedyd under a fake systemd: the sd_notify protocol on $NOTIFY_SOCKET.

READY=1 goes out only after the informer caches have synced (the first pod
LIST is held back by the test API server, and READY=1 must wait for it);
WATCHDOG=1 pings arrive every WATCHDOG_USEC/2; SIGTERM sends STOPPING=1
before remedyd exits 0.  A WATCHDOG_PID that is not remedyd's turns the
watchdog off, as sd_watchdog_enabled(3) says.  Under journald
(JOURNAL_STREAM) log lines carry "<N>" syslog-level prefixes.
"""
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, wait_for  # noqa: E402
from svc import NotifyReceiver, ServiceDaemon  # noqa: E402

HOLD_LIST = 2.0          # seconds the first pod LIST is held
WATCHDOG_USEC = 400000   # remedyd must ping every 200 ms


class SdNotify(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-sdnotify-")
        self.cluster = Cluster(self.workdir, scenario="healthy", replicas=2)
        self.notify = NotifyReceiver(os.path.join(self.workdir, "notify.sock"))
        self.daemon = None
        self.ok = False

    def tearDown(self):
        if self.daemon is not None and self.daemon.alive():
            self.daemon.stop()
        self.cluster.stop()
        self.notify.close()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print("--- remedyd log ---\n" + (self.daemon.log() if self.daemon else ""))
            print("--- notify messages: %r" % self.notify.messages())
            print("--- workdir kept: " + self.workdir)

    def start(self, env):
        e = {"NOTIFY_SOCKET": self.notify.path}
        e.update(env)
        self.daemon = ServiceDaemon(self.workdir, self.cluster, env=e, wait_synced=False)
        return self.daemon

    def test_ready_watchdog_stopping(self):
        self.cluster.test("POST", "/inject", {"method": "GET", "path": "/api/v1/namespaces/demo/pods",
                                              "delay": HOLD_LIST, "count": 1})
        t0 = time.monotonic()
        d = self.start({"WATCHDOG_USEC": str(WATCHDOG_USEC)})

        ready = wait_for(lambda: self.notify.with_key("READY", "1"), 60, "READY=1")
        t_ready = ready[0][0]
        # The held LIST kept the caches unsynced: no READY=1 before it ended.
        self.assertGreaterEqual(t_ready - t0, HOLD_LIST - 0.1)
        rc, out, err = d.ctl("status")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out["synced"], "READY=1 sent before the caches synced")
        self.assertTrue(ready[0][1].get("STATUS", "").startswith("ready"), ready)
        self.assertEqual(ready[0][1].get("MAINPID"), str(d.proc.pid))
        # Before READY: a STATUS saying what it waits for.
        first = self.notify.messages()[0]
        self.assertLess(first[0], t_ready)
        self.assertIn("waiting", first[1].get("STATUS", ""))
        self.assertEqual(len(self.notify.with_key("READY")), 1, "READY=1 sent once")

        # WATCHDOG=1 every 200 ms: wait for 8 pings, then check the spacing.
        pings = wait_for(lambda: (lambda p: p if len(p) >= 8 else None)(
            self.notify.with_key("WATCHDOG", "1")), 20, "8 WATCHDOG=1 pings")
        times = [t for t, _ in pings]
        gaps = [b - a for a, b in zip(times[1:], times[2:])]
        self.assertLess(sorted(gaps)[len(gaps) // 2], WATCHDOG_USEC / 1e6,
                        "median gap between pings must be under WATCHDOG_USEC: %r" % gaps)

        # SIGTERM: STOPPING=1, then exit 0.
        d.proc.send_signal(signal.SIGTERM)
        rc = d.proc.wait(30)
        d.logf.close()
        self.assertEqual(rc, 0, d.log())
        stopping = wait_for(lambda: self.notify.with_key("STOPPING", "1"), 5, "STOPPING=1")
        self.assertIn("stopping", stopping[0][1].get("STATUS", ""))
        self.ok = True

    def test_watchdog_pid_not_ours(self):
        # Also: under journald (JOURNAL_STREAM set) every log line carries
        # its syslog level as a "<N>" prefix instead of a timestamp.
        d = self.start({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1",
                        "JOURNAL_STREAM": "8:12345"})
        wait_for(lambda: self.notify.with_key("READY", "1"), 60, "READY=1")
        # READY=1 arrived after several 100 ms ready polls; wait as long
        # again as 5 ping intervals and check that no ping came.
        n = len(self.notify.messages())
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            self.assertEqual(self.notify.with_key("WATCHDOG"), [])
            time.sleep(0.05)
        self.assertEqual(len(self.notify.messages()), n)
        self.assertEqual(d.stop(), 0)
        lines = [l for l in d.log().split("\n") if l]
        self.assertTrue(lines)
        bad = [l for l in lines if not re.match(r"^<[0-7]>\S", l)]
        self.assertEqual(bad, [], "lines without a <N> prefix under journald")
        self.assertTrue(any(l.startswith("<6>remedyd ") for l in lines), lines)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

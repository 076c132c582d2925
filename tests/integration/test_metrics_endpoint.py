"""The monitoring endpoint of a running remedyd: /healthz, /readyz,
/metrics (checked by promtool), and its limits.

While the first pod LIST is held by the test API server, /healthz answers
200 and /readyz 503; once the caches synced /readyz answers 200.  After a
broken rollout became a pending action, a real scrape passes
`promtool check metrics` and shows the incident, the action, the informer
caches and the endpoint's own requests.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, wait_action, wait_for  # noqa: E402
from svc import ServiceDaemon, free_port, http_get  # noqa: E402

REPLICAS = 3
HOLD_LIST = 2.0


def sample(text, name, labels=None):
    """The value of one sample in a Prometheus text scrape, or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if got == (labels or {}):
            return float(m.group(4))
    return None


class MetricsEndpoint(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-metrics-")
        self.cluster = Cluster(self.workdir, scenario="broken-rollout", replicas=REPLICAS)
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

    def test_endpoint(self):
        self.cluster.test("POST", "/inject", {"method": "GET", "path": "/api/v1/namespaces/demo/pods",
                                              "delay": HOLD_LIST, "count": 1})
        d = self.daemon = ServiceDaemon(
            self.workdir, self.cluster, hold_down="1s", wait_synced=False,
            extra_config="http:\n  listen: 127.0.0.1:%d\n" % self.port)

        def listening():
            try:
                return http_get(self.port, "/healthz")
            except OSError:
                self.assertTrue(d.alive(), d.log())
                return None
        status, hdrs, body = wait_for(listening, 30, "the endpoint to listen")
        self.assertEqual((status, body), (200, "ok\n"))
        self.assertEqual(hdrs["connection"], "close")
        # The pod LIST is still held: not ready.
        status, _, body = http_get(self.port, "/readyz")
        self.assertEqual((status, body), (503, "not ready\n"))
        rc, out, _ = d.ctl("status")
        self.assertFalse(out["synced"])
        wait_for(lambda: http_get(self.port, "/readyz")[0] == 200, 30, "/readyz 200")
        rc, out, _ = d.ctl("status")
        self.assertTrue(out["synced"])

        wait_action(d, "pending")
        status, hdrs, text = http_get(self.port, "/metrics?x=1")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(int(hdrs["content-length"]), len(text.encode()))

        r = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "promtool: %s%s\n%s" % (r.stdout, r.stderr, text))

        self.assertEqual(sample(text, "remedy_actions", {"state": "pending"}), 1, text)
        self.assertEqual(sample(text, "remedy_actions", {"state": "applied"}), 0, text)
        self.assertEqual(sample(text, "remedy_incidents", {"state": "open"}), 1, text)
        # the old ReplicaSet's pods and the broken new ones
        self.assertGreaterEqual(sample(text, "remedy_informer_objects", {"resource": "pods"}), REPLICAS, text)
        self.assertEqual(sample(text, "remedy_informer_objects", {"resource": "deployments"}), 1, text)
        self.assertEqual(sample(text, "remedy_informer_synced", {"resource": "replicasets"}), 1, text)
        self.assertGreaterEqual(sample(text, "remedy_informer_lists_total", {"resource": "pods"}), 1, text)
        self.assertGreater(sample(text, "remedy_informer_events_total", {"resource": "pods"}), 0, text)
        self.assertEqual(sample(text, "remedy_leader"), 1)
        self.assertGreaterEqual(sample(text, "remedy_kube_requests_total",
                                       {"resource": "deployments", "verb": "patch", "code": "200"}), 1,
                                "the dry-run PATCH is counted")
        self.assertGreaterEqual(sample(text, "remedy_kube_requests_total",
                                       {"resource": "events", "verb": "list", "code": "200"}), 1, text)
        self.assertEqual(sample(text, "remedy_ready"), 1)
        rss = sample(text, "process_resident_memory_bytes")
        self.assertTrue(rss is not None and rss > 1e6, text)
        self.assertGreater(sample(text, "process_open_fds"), 3)
        self.assertGreater(sample(text, "process_cpu_seconds_total"), 0)
        self.assertGreaterEqual(sample(text, "remedy_http_requests_total",
                                       {"path": "/readyz", "code": "503"}), 1, text)
        self.assertGreaterEqual(sample(text, "remedy_http_requests_total",
                                       {"path": "/metrics", "code": "200"}), 1)

        # HEAD, unknown paths, other methods, oversized and garbled requests.
        status, hdrs, body = http_get(self.port, "/healthz", method="HEAD")
        self.assertEqual((status, body, hdrs["content-length"]), (200, "", "3"))
        self.assertEqual(http_get(self.port, "/nope")[0], 404)
        status, hdrs, _ = http_get(self.port, "/metrics", method="POST")
        self.assertEqual((status, hdrs["allow"]), (405, "GET, HEAD"))
        self.assertEqual(self.raw(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")[:12], b"HTTP/1.1 431")
        self.assertEqual(self.raw(b"HELLO\r\n\r\n")[:12], b"HTTP/1.1 400")

        # At most 16 connections: idle ones fill the slots, the next is
        # refused with 503, and once they close the endpoint serves again.
        idle = []
        for _ in range(16):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            idle.append(s)
        wait_for(lambda: self.raw(b"GET /healthz HTTP/1.1\r\n\r\n")[:12] == b"HTTP/1.1 503",
                 10, "503 with 16 connections open")
        for s in idle:
            s.close()
        wait_for(lambda: http_get(self.port, "/healthz")[0] == 200, 10, "200 once they closed")
        self.assertTrue(d.alive())
        self.ok = True

    def raw(self, data):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            s.sendall(data)
            out = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return out
                out += chunk
        except ConnectionResetError:
            return out
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

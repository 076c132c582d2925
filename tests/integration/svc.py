"""Helpers for the service tests (systemd notify, HTTP endpoint, signals).

A fake $NOTIFY_SOCKET (a Python AF_UNIX datagram receiver), a remedyd with
extra configuration and environment, and a tiny HTTP client.  Built on
harness.py; every wait polls with a deadline.
"""
import http.client
import os
import signal
import socket
import subprocess
import threading
import time

from harness import REMEDYD, Daemon, wait_for


class NotifyReceiver:
    """Receives sd_notify datagrams; messages() is a list of (time, dict)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.lock = threading.Lock()
        self._msgs = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = {}
            for line in data.decode().split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            with self.lock:
                self._msgs.append((time.monotonic(), fields))

    def messages(self):
        with self.lock:
            return list(self._msgs)

    def with_key(self, key, value=None):
        return [(t, m) for t, m in self.messages()
                if key in m and (value is None or m[key] == value)]

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path, method="GET", timeout=10):
    """(status, headers dict, body text) of one request to 127.0.0.1:port."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        c.close()


class ServiceDaemon(Daemon):
    """A Daemon with extra configuration text and environment.

    wait_synced=False returns as soon as the process runs (for tests that
    watch readiness themselves)."""

    def __init__(self, workdir, cluster, extra_config="", env=None,
                 wait_synced=True, **kw):
        self.extra_config = extra_config
        self.env = env or {}
        self.wait_synced = wait_synced
        super().__init__(workdir, cluster, **kw)

    def write_config(self, text):
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config)

    def start(self):
        if self.extra_config:
            with open(self.config) as f:
                base = f.read()
            if self.extra_config not in base:
                self.write_config(base + self.extra_config)
        env = dict(os.environ)
        env.update(self.env)
        self.logf = open(self.logpath, "a")
        self.proc = subprocess.Popen([REMEDYD, "-c", self.config],
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env)
        if not self.wait_synced:
            return

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("remedyd exited %s:\n%s" % (self.proc.returncode, self.log()))
            rc, out, _ = self.ctl("status")
            return rc == 0 and out.get("synced")
        wait_for(up, 60, "remedyd to sync its caches")

    def log(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.logpath) as f:
            return f.read()[-8000:]

    def alive(self):
        return self.proc.poll() is None

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def wait_log(self, text, timeout=20):
        return wait_for(lambda: text in self.log(), timeout, "%r in the remedyd log" % text)

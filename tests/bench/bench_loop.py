#!/usr/bin/env python3
"""The event loop at scale: a real remedyd LISTs and watches N pods.

tests/bench/stream_server.py --remedyd serves N realistic pods (pages of
500, as client-go's pager asks) and, once remedyd has synced, a watch
stream of E pod events; ReplicaSets and Deployments are empty.  One real
remedyd (rules backend, http.listen on) runs against it while a prober
sends `remedyctl status` and GET /healthz every 100 ms, one after the
other, and records each round trip.

Figures (per N):
  - loop lag p50/p99 (from remedy_loop_lag_seconds: the upper bound of the
    bucket holding the quantile) and max (remedy_loop_lag_max_seconds);
  - remedyctl status round trip, max (the whole remedyctl process);
  - /healthz round trip, max, and how many answers were not 200;
  - peak RSS (VmHWM);
  - time from remedyd's start until `remedyctl status` says synced;
  - CPU per watch event: remedyd's user + system time from the moment the
    watch stream is released until the informer counted every event,
    divided by E; the reference is the jansson parse-only floor over the
    very same stream bytes (bench_watch --floor), measured in the same run.

    REMEDY_BENCH_LOOP_PODS="50000 150000" (default "150000"),
    REMEDY_BENCH_LOOP_EVENTS (default 10000).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SRC = os.environ.get("REMEDY_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("REMEDY_BUILD", os.path.join(SRC, "build"))
REMEDYD = os.environ.get("REMEDYD", os.path.join(BUILD, "daemon", "remedyd"))
REMEDYCTL = os.environ.get("REMEDYCTL", os.path.join(BUILD, "ctl", "remedyctl"))
BENCH_WATCH = os.path.join(BUILD, "tests", "bench", "bench_watch")
SERVER = os.path.join(SRC, "tests", "bench", "stream_server.py")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.05)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def hwm_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
    return int(m.group(1)) / 1024.0


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        return r.read().decode()


def series(text, name):
    out = {}
    for ln in text.splitlines():
        if ln.startswith(name):
            k, v = ln.rsplit(" ", 1)
            out[k] = float(v)
    return out


def lag_quantile(text, q):
    """Upper bound (ms) of the remedy_loop_lag_seconds bucket holding q."""
    b = []
    for k, v in series(text, "remedy_loop_lag_seconds_bucket").items():
        le = re.search(r'le="([^"]+)"', k).group(1)
        b.append((float("inf") if le == "+Inf" else float(le), v))
    if not b:
        return None, 0      # a remedyd without the probe
    b.sort()
    total = b[-1][1]
    for le, n in b:
        if n >= q * total:
            return le * 1000.0, total
    return float("inf"), total


class Prober(threading.Thread):
    """remedyctl status and GET /healthz, every 100 ms, one at a time."""

    def __init__(self, sock, port):
        super().__init__(daemon=True)
        self.sock, self.port = sock, port
        self.ctl, self.health, self.health_bad = [], [], 0
        self.synced_at = None
        self.stop = False

    def saw(self, status):
        """Each answer of remedyctl status (a subclass looks closer)."""

    def run(self):
        while not self.stop:
            t = time.monotonic()
            r = subprocess.run([REMEDYCTL, "-s", self.sock, "-o", "json", "status"],
                               capture_output=True, text=True, timeout=120)
            dt = time.monotonic() - t
            if r.returncode == 0:
                self.ctl.append(dt)
                st = json.loads(r.stdout)
                if self.synced_at is None and st.get("synced"):
                    self.synced_at = time.monotonic()
                self.saw(st)
            t = time.monotonic()
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port, timeout=120) as h:
                    ok = h.status == 200
            except urllib.error.HTTPError:
                ok = False
            except OSError:
                ok = None   # not listening yet
            if ok is not None:
                self.health.append(time.monotonic() - t)
                self.health_bad += 0 if ok else 1
            time.sleep(0.1)


def start_remedyd(d, port, prober, kube=""):
    """remedyd in directory d against the test server on port (rules
    backend, http.listen set; kube: more kubernetes.* lines), with a
    prober of class prober running -> (process, prober, log, http port,
    start time)."""
    with open(os.path.join(d, "kubeconfig"), "w") as f:
        f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: b\n  cluster:\n"
                "    server: http://127.0.0.1:%d\nusers:\n- name: b\n  user:\n    token: bench\n"
                "contexts:\n- name: b\n  context: {cluster: b, user: b}\ncurrent-context: b\n" % port)
    hport = free_port()
    sock = os.path.join(d, "remedyd.sock")
    with open(os.path.join(d, "remedyd.yaml"), "w") as f:
        f.write("kubernetes:\n  kubeconfig: %s\n%sstore:\n  path: %s\ncontrol:\n  socket: %s\n"
                "http:\n  listen: 127.0.0.1:%d\ndiagnosis:\n  backend: rules\n"
                % (os.path.join(d, "kubeconfig"), kube, os.path.join(d, "remedy.db"), sock, hport))
    t0 = time.monotonic()
    log = open(os.path.join(d, "remedyd.log"), "w")
    rd = subprocess.Popen([REMEDYD, "-c", os.path.join(d, "remedyd.yaml")], stdout=log,
                          stderr=subprocess.STDOUT)
    pr = prober(sock, hport)
    pr.start()
    return rd, pr, log, hport, t0


def run_one(npods, nevents, work):
    d = os.path.join(work, "p%d" % npods)
    os.makedirs(d)
    srv = subprocess.Popen([sys.executable, SERVER, "--dir", d, "--events", str(nevents),
                            "--pods", str(npods), "--remedyd"],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "server.log"), "w"))
    try:
        wait(lambda: os.path.exists(os.path.join(d, "ready")), 600, "the stream server")
        port = json.load(open(os.path.join(d, "ready")))["port"]
        fl = subprocess.run([BENCH_WATCH, "--floor", os.path.join(d, "stream.json")],
                            capture_output=True, text=True, timeout=600)
        m = re.search(r"floor: (\d+) events, ([0-9.]+) s CPU", fl.stdout)
        floor_us = float(m.group(2)) * 1e6 / int(m.group(1))
        rd, pr, log, hport, t0 = start_remedyd(d, port, Prober)
        try:
            wait(lambda: pr.synced_at or rd.poll() is not None, 1800, "remedyd to sync")
            if rd.poll() is not None:
                raise RuntimeError("remedyd exited %s" % rd.returncode)
            sync_s = pr.synced_at - t0
            time.sleep(1.0)
            cpu0 = cpu_s(rd.pid)
            base = sum(series(metrics(hport), 'remedy_informer_events_total{resource="pods"').values())
            open(os.path.join(d, "go"), "w").close()

            def consumed():
                n = sum(series(metrics(hport), 'remedy_informer_events_total{resource="pods"').values())
                return n - base >= nevents
            wait(consumed, 1800, "remedyd to take every watch event")
            cpu1 = cpu_s(rd.pid)
            time.sleep(1.0)
            text = metrics(hport)
            rss = hwm_mib(rd.pid)
        finally:
            pr.stop = True
            pr.join(130)
            if rd.poll() is None:
                rd.send_signal(signal.SIGTERM)
                rd.wait(60)
            log.close()
        p50, samples = lag_quantile(text, 0.50)
        p99, _ = lag_quantile(text, 0.99)
        lmax = [v * 1000.0 for v in series(text, "remedy_loop_lag_max_seconds").values()]
        lmax = lmax[0] if lmax else None
        per_ev = (cpu1 - cpu0) * 1e6 / nevents
        return {"p50": p50, "p99": p99, "max": lmax, "samples": samples,
                "ctl_max": max(pr.ctl) * 1000.0, "ctl_med": sorted(pr.ctl)[len(pr.ctl) // 2] * 1000.0,
                "ctl_n": len(pr.ctl), "health_max": max(pr.health) * 1000.0, "health_bad": pr.health_bad,
                "health_n": len(pr.health), "rss": rss, "sync": sync_s, "per_ev": per_ev,
                "floor": floor_us, "rc": rd.returncode}
    finally:
        srv.terminate()
        srv.wait(30)


def bench(name, value, unit, ref, ref_value, goal, met, note=""):
    print("BENCH " + json.dumps({"name": name, "value": round(value, 3), "unit": unit, "reference": ref,
                                 "ref_value": None if ref_value is None else round(ref_value, 3),
                                 "goal": goal, "met": met, "note": note}))
    sys.stdout.flush()


def lag(r, k, big):
    bench("loop lag p50 at " + k, r["p50"], "ms", "loop lag max", r["max"], "", None,
          "%d probe samples (every 50 ms); bucket upper bound" % r["samples"])
    bench("loop lag p99 at " + k, r["p99"], "ms", "loop lag max", r["max"],
          "<= 20 ms" if big else "", (r["p99"] <= 20) if big else None, "bucket upper bound")
    bench("loop lag max at " + k, r["max"], "ms", "loop lag p50", r["p50"],
          "<= 250 ms" if big else "", (r["max"] <= 250) if big else None)


def main():
    pods = [int(x) for x in os.environ.get("REMEDY_BENCH_LOOP_PODS", "150000").split()]
    nevents = int(os.environ.get("REMEDY_BENCH_LOOP_EVENTS", "10000"))
    work = tempfile.mkdtemp(prefix="remedy-bench-loop-")
    try:
        for n in pods:
            r = run_one(n, nevents, work)
            sys.stderr.write("%d pods: %s\n" % (n, json.dumps(r)))
            k = "%dk pods" % (n // 1000)
            big = n >= 150000
            ref = "remedyctl status median, same run"
            if r["max"] is None:
                sys.stderr.write("no remedy_loop_lag_seconds: loop lag not reported\n")
            else:
                lag(r, k, big)
            bench("remedyctl status max at " + k, r["ctl_max"], "ms", ref, r["ctl_med"],
                  "<= 250 ms" if big else "", (r["ctl_max"] <= 250) if big else None,
                  "%d round trips from start to end" % r["ctl_n"])
            bench("/healthz max at " + k, r["health_max"], "ms", "answers not 200", r["health_bad"],
                  "never fails" if big else "", (r["health_bad"] == 0) if big else None,
                  "%d requests" % r["health_n"])
            bench("remedyd RSS at " + k + " (peak, LIST + watch)", r["rss"], "MiB", None, None,
                  "<= 150 MiB" if big else "", (r["rss"] <= 150) if big else None)
            bench("remedyd sync at " + k, r["sync"], "s", None, None, "", None,
                  "start -> remedyctl status says synced")
            bench("remedyd CPU per watch event at " + k, r["per_ev"], "us",
                  "jansson parse-only floor", r["floor"],
                  "<= 1.3x floor" if big else "", (r["per_ev"] <= 1.3 * r["floor"]) if big else None,
                  "%.2fx floor, %d events" % (r["per_ev"] / r["floor"], nevents))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

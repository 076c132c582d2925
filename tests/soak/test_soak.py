"""Soak: remedyd against the test API server under constant churn and faults.

For REMEDY_SOAK_SECONDS (default 90; longer on demand) the test keeps the
cluster busy: Deployments from a fixed pool of names are created, scaled,
repaired and deleted, and rolled out to an image that does not exist over
a good revision (left alone for a while, so an incident opens, the rules
propose the rollback and the test approves or rejects it with the real
remedyctl; an approved rollback is applied and verified); watches are cut,
the watch history is compacted (410 Expired, relist) and pod list/watch
requests fail with injected 500 and 429 answers; the test API server's
transport faults (tests/kubeapi/faults.py: dropped, stalled and garbled
watches, 410/500 ERROR events, byte-wise chunks, 429/500 answers, expired
continue tokens) run all along, and Events expire after 15 s as on a real
API server (--event-ttl), so the cluster stays the same size.  Once a
second it samples remedyd's resident set size (/proc/PID/status VmRSS) and
open descriptors (/proc/PID/fd).

It reports the least-squares slope of both after the warm-up
(REMEDY_SOAK_WARMUP seconds, default a third of the run: caches, SQLite's
page cache and malloc's arenas reach their working size) and fails when RSS
grows faster than REMEDY_SOAK_RSS_SLOPE_KIB (KiB per minute; default 1024,
and 8192 for an ASan build, whose allocator keeps its own growing
bookkeeping: there LeakSanitizer at exit is the check that counts, and
./scripts/test runs the soak on the plain build too) or when the
descriptors open in the last quarter exceed the most seen in the first half
by more than 4.  The approve path must have been taken: at least one
approval and one rollback PATCH the API server accepted.  remedyd must
still answer, exit 0 on SIGTERM (no leak under LSan) and its audit chain
must verify.

Runs against any build; under ASan the quarantine is kept small
(quarantine_size_mb=0) so freed memory is reused rather than held.
"""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from harness import Env, wait_for  # noqa: E402

SECONDS = float(os.environ.get("REMEDY_SOAK_SECONDS", "90"))
WARMUP = float(os.environ.get("REMEDY_SOAK_WARMUP", str(SECONDS / 3)))
RSS_SLOPE_ENV = os.environ.get("REMEDY_SOAK_RSS_SLOPE_KIB")
FD_MARGIN = 4
POOL = ["soak-%d" % i for i in range(8)]
GOOD = ["nginx:1.25", "nginx:1.26"]
BAD = "nginx:9.99-missing"
BREAK_HOLD = 30.0
MAX_HELD = 4
EVENT_TTL = 15


def deployment(name, image, replicas):
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": "demo", "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "nginx", "image": image}]}}}}


def sample(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def under_asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def slope(points):
    """Least-squares slope of [(t, y)] in units of y per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60.0 * sum((t - mt) * (y - my) for t, y in points) / var


class Soak(unittest.TestCase):
    def setUp(self):
        opts = os.environ.get("ASAN_OPTIONS", "")
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
            "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
        # Incidents resolve soon after their Deployment is repaired, so a
        # Deployment broken again is a new episode: diagnosed again, with a
        # new action to approve or reject.
        self.env = Env(scenario="healthy", replicas=3, hold_down="1s", verify_timeout="20s",
                       extra="incidents:\n  resolve_after: 3s\n")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    def churn_once(self, rnd, c, d, counts, broken):
        what = rnd.random()
        # A Deployment just broken is left alone for BREAK_HOLD seconds, so
        # remedyd can detect it and propose an action (then approved or
        # rejected below) before the churn repairs or deletes it.
        now = time.monotonic()
        free = [n for n in POOL if now - broken.get(n, -BREAK_HOLD) >= BREAK_HOLD]
        if 0.60 <= what < 0.72 and len(free) <= len(POOL) - MAX_HELD:
            what = 0.50     # enough are broken already: scale one instead
        name = rnd.choice(free)
        path = "/apis/apps/v1/namespaces/demo/deployments/" + name
        if what < 0.30:
            c.test("POST", "/objects", deployment(name, rnd.choice(GOOD), rnd.randint(1, 3)))
            counts["apply"] += 1
        elif what < 0.45:
            c.api("DELETE", path)
            counts["delete"] += 1
        elif what < 0.60:
            c.api("PATCH", path, {"spec": {"replicas": rnd.randint(0, 4)}},
                  ctype="application/merge-patch+json")
            counts["scale"] += 1
        elif what < 0.72:
            # A rollout to an image that does not exist, on a Deployment
            # that has a good revision to roll back to (created first if
            # need be): remedyd proposes the rollback, approved or rejected
            # below.
            status, _ = c.api("GET", path)
            if status == 404:
                c.test("POST", "/objects", deployment(name, rnd.choice(GOOD), 2))
                counts["apply"] += 1
            c.api("PATCH", path, {"spec": {"template": {"spec": {"containers": [
                {"name": "nginx", "image": BAD}]}}}}, ctype="application/merge-patch+json")
            broken[name] = now
            counts["break"] += 1
        elif what < 0.80:
            rc, out, _ = d.ctl("list", "--state", "pending")
            if rc == 0:
                for a in out.get("actions", [])[:2]:
                    if rnd.random() < 0.75:
                        d.ctl("approve", str(a["id"]), "--comment", "soak")
                        counts["approve"] += 1
                    else:
                        d.ctl("reject", str(a["id"]), "--reason", "soak")
                        counts["reject"] += 1
        elif what < 0.81:
            c.test("POST", "/close-watches")
            counts["close-watches"] += 1
        elif what < 0.82:
            c.test("POST", "/compact")
            counts["compact"] += 1
        elif what < 0.84:
            # One planned failure at a time: a backlog would keep the pods
            # informer failing for good once its retries slow to 30 s.
            if not any(i["count"] > 0 for i in c.test("GET", "/inject")["injections"]):
                c.test("POST", "/inject", {"method": "GET", "path": "/api/v1/namespaces/demo/pods",
                                           "status": rnd.choice([500, 429]), "count": 1,
                                           "reason": "InternalError", "message": "soak fault"})
                counts["fault"] += 1
        else:
            d.ctl("status")
            d.ctl("incidents")
            d.ctl("audit")
            counts["read"] += 1

    def test_flat(self):
        c, d = self.env.cluster, self.env.daemon
        pid = d.proc.pid
        asan = under_asan(pid)
        rss_slope_max = float(RSS_SLOPE_ENV or (8192 if asan else 1024))
        rnd = random.Random(int(os.environ.get("REMEDY_SOAK_SEED", "9")))
        counts = {k: 0 for k in ("apply", "delete", "scale", "break", "approve", "reject",
                                 "close-watches", "compact", "fault", "read")}
        # Transport faults from the test API server, when it has them
        # (tests/kubeapi/faults.py): cut, broken and slow watches, 410 and
        # 500 ERROR events, garbage lines, 429/500 answers.
        status = 0
        if os.environ.get("REMEDY_SOAK_TRANSPORT_FAULTS", "1") != "0":
            status, _ = c._call("POST", "/_test/faults", {
                "seed": 9, "stall_seconds": 2,
                "watch": {"drop": 0.002, "stall": 0.0005, "gone": 0.001, "error": 0.001,
                          "garbage": 0.001, "bytewise": 0.02},
                "request": {"429": 0.01, "500": 0.01}, "continue_expire": 0.1}, auth=False)
        transport_faults = status == 200
        # Events expire as on a real API server (--event-ttl), so the
        # cluster remedyd mirrors stays the same size under the churn.
        c.test("POST", "/event-ttl", {"seconds": EVENT_TTL})
        samples = []
        broken = {}
        start = time.monotonic()
        next_sample = start
        while time.monotonic() - start < SECONDS:
            self.assertIsNone(d.proc.poll(), "remedyd exited during the soak:\n" + d.log())
            self.churn_once(rnd, c, d, counts, broken)
            now = time.monotonic()
            if now >= next_sample:
                rss, fds = sample(pid)
                samples.append((now - start, rss, fds))
                next_sample = now + 1.0
            time.sleep(0.02)  # pace the churn; what is measured is sampled, not slept on

        fault_counts = {}
        if transport_faults:
            fault_counts = c.test("GET", "/faults").get("counts", {})
            c.test("POST", "/faults", {})

        # Still alive and answering after the churn.
        def answers():
            rc, out, _ = d.ctl("status")
            return rc == 0 and out.get("synced")
        wait_for(answers, 60, "remedyd to answer and be synced after the soak")
        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        rc, out, err = d.ctl("list", "--all")
        states = {}
        for a in (out.get("actions", []) if rc == 0 else []):
            states[a["state"]] = states.get(a["state"], 0) + 1
            if a["state"] in ("failed", "not-recovered", "refused"):
                src, shown, _ = d.ctl("show", str(a["id"]))
                why = shown.get("action", {}).get("reason") if src == 0 else None
                print("soak: action %s %s: %s" % (a["id"], a["state"], why))
        rc, out, err = d.ctl("incidents")
        applied = [r for r in c.remedyd_writes() if r["method"] == "PATCH" and r["status"] == 200]
        print("soak: actions by state %s; incidents %d; rollback PATCHes accepted %d" % (
            states, len(out.get("incidents", [])) if rc == 0 else -1, len(applied)))

        half = [s for s in samples if s[0] >= WARMUP]
        rss_slope = slope([(t, r) for t, r, _ in half])
        fd_slope = slope([(t, f) for t, _, f in half])
        first, last = samples[0], samples[-1]
        print("soak: %.0f s, %d samples, churn %s" % (SECONDS, len(samples), counts))
        print("soak: transport faults injected: %s" % (fault_counts if transport_faults
                                                        else "none (server has no /_test/faults)"))
        print("soak: RSS %d -> %d KiB (max %d), slope after the %.0f s warm-up %.1f KiB/min "
              "(limit %.0f%s)" % (first[1], last[1], max(s[1] for s in samples), WARMUP, rss_slope,
                                   rss_slope_max, ", ASan build" if asan else ""))
        print("soak: fds %d -> %d (max %d), slope after the warm-up %.2f /min"
              % (first[2], last[2], max(s[2] for s in samples), fd_slope))
        quarters = [[r for t, r, _ in samples if SECONDS * q / 4 <= t < SECONDS * (q + 1) / 4]
                    for q in range(4)]
        print("soak: RSS by quarter (mean KiB): %s" % " ".join(
            "%.0f" % (sum(q) / len(q)) if q else "-" for q in quarters))
        self.assertGreaterEqual(len(half), 5, "too few samples to judge")
        self.assertGreater(counts["break"] + counts["apply"], 0)
        self.assertGreater(counts["approve"], 0, "the soak approved nothing")
        self.assertGreater(len(applied), 0, "no approved rollback was applied")
        self.assertLess(rss_slope, rss_slope_max, "remedyd RSS keeps growing")
        # Descriptors come and go with connections, so a slope over a few
        # dozen small integers is noisy: bound the late maximum instead (a
        # leak of one descriptor per fault or watch cut would add dozens).
        early = max(f for t, _, f in samples if t < SECONDS / 2)
        late = max(f for t, _, f in samples if t >= SECONDS * 3 / 4)
        self.assertLessEqual(late, early + FD_MARGIN,
                             "remedyd open descriptors keep growing (slope %.2f/min)" % fd_slope)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

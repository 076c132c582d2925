"""The diagnosis queue through the real remedyd and remedyctl.

24 Deployments are rolled out to an image that does not exist: 24
incidents at once.  remedyd runs one diagnosis at a time
(diagnosis.max_concurrent: 1) with a queue of three (max_queued: 3), and
each diagnosis is slowed by the test API server (every single-pod GET is
held 0.3 s), so the queue is full for a while:

- `remedyctl status` says so ("waiting for room in the queue"), and its
  JSON and the metrics give running <= 1, queued <= 3, waiting > 0;
- no diagnosis is lost: every incident is diagnosed exactly once (one
  "diagnosing" line, one diagnosis, one dry-run and one pending action
  each), and at the end nothing runs, queues or waits;
- stopped while diagnoses wait, remedyd diagnoses after its restart what
  it had not (the store marks an incident diagnosed with its outcome), and
  nothing twice.
"""
import os
import re
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BrokenRollouts, Daemon, wait_for  # noqa: E402
from svc import free_port, http_get  # noqa: E402

DEPS = 24
QUEUE = 3


class Queue(BrokenRollouts):
    rollouts = ["q%02d" % i for i in range(DEPS)]

    def setUp(self):
        super().setUp()
        # every diagnosis reads its pod first: hold each of those reads
        self.cluster.test("POST", "/inject", {"method": "GET", "path": "/api/v1/namespaces/demo/pods/",
                                              "delay": 0.3, "count": 10000})
        self.port = free_port()

    def start(self):
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="1s",
                             diag_extra="  max_concurrent: 1\n  max_queued: %d\n" % QUEUE,
                             extra="http:\n  listen: 127.0.0.1:%d\n" % self.port)
        return self.daemon

    def log(self):
        with open(self.daemon.logpath) as f:
            return f.read()

    def status(self):
        rc, out, err = self.daemon.ctl("status")
        self.assertEqual(rc, 0, err)
        return out["diagnoses"]

    def metrics(self):
        status, _, text = http_get(self.port, "/metrics")
        self.assertEqual(status, 200)
        return {m.group(1): float(m.group(2))
                for m in re.finditer(r"^(remedy_diagnos\w+) (\S+)$", text, re.M)}

    def incidents(self):
        rc, out, err = self.daemon.ctl("incidents")
        self.assertEqual(rc, 0, err)
        return out["incidents"]

    def diagnosed(self):
        return [i for i in self.incidents() if i.get("diagnosis")]

    def dry_runs(self):
        return [r for r in self.cluster.requests() if r["method"] == "PATCH" and r["dry_run"]]

    def test_full_queue_waits_and_loses_nothing(self):
        d = self.start()
        seen = []

        def waiting():
            s = self.status()
            seen.append(s)
            self.assertLessEqual(s["running"], 1, s)
            self.assertLessEqual(s["queued"], QUEUE, s)
            return s if s["waiting"] > 0 else None
        s = wait_for(waiting, 60, "incidents waiting for room in the queue")
        self.assertEqual((s["max_concurrent"], s["max_queued"]), (1, QUEUE))
        rc, out, err = d.ctl("status", output=None)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"Diagnoses:  \d running \(at most 1\), \d queued \(at most 3\), "
                              r"\d+ waiting for room in the queue\n")
        m = self.metrics()
        self.assertEqual(m["remedy_diagnosis_queue_max"], QUEUE)
        self.assertEqual(m["remedy_diagnoses_running_max"], 1)
        self.assertLessEqual(m["remedy_diagnosis_queue_length"], QUEUE)
        self.assertLessEqual(m["remedy_diagnoses_running"], 1)

        def all_done():
            s = self.status()
            seen.append(s)
            self.assertLessEqual(s["queued"], QUEUE, s)
            return len(self.diagnosed()) == DEPS and len(self.pending()) == DEPS
        wait_for(all_done, 120, "every incident diagnosed, one pending action each")
        self.assertTrue(any(s["queued"] == QUEUE for s in seen), seen)
        wait_for(lambda: self.status() == dict(s, running=0, queued=0, waiting=0), 10,
                 "nothing running, queued or waiting")
        self.assertEqual(self.metrics()["remedy_diagnoses_waiting"], 0)
        incs = self.incidents()
        self.assertEqual(len(incs), DEPS)
        log = self.log()
        for i in incs:
            self.assertEqual(log.count("incident %d: diagnosing " % i["id"]), 1, i["name"])
            self.assertEqual(i["diagnosis"]["status"], "ok", i)
        self.assertEqual(len(self.dry_runs()), DEPS, "one dry-run per incident")
        self.ok = True

    def pending(self):
        rc, out, err = self.daemon.ctl("list", "--all")
        self.assertEqual(rc, 0, err)
        return [a for a in out["actions"] if a["state"] == "pending"]

    def test_restart_while_waiting(self):
        d = self.start()
        wait_for(lambda: self.status()["waiting"] > 0 and 0 < len(self.diagnosed()) < DEPS, 60,
                 "some diagnosed, others waiting")
        self.assertEqual(d.stop(), 0)
        # what the store holds as diagnosed when remedyd stopped
        db = sqlite3.connect(d.db)
        done = {r[0] for r in db.execute("SELECT incident_id FROM incident_diagnosis")}
        marked = {r[0] for r in db.execute("SELECT id FROM incidents WHERE diagnosed_at > 0")}
        db.close()
        self.assertEqual(done, marked, "an incident is marked diagnosed with its outcome")
        self.assertLess(len(done), DEPS)
        before = len(self.log())
        d.start()
        wait_for(lambda: len(self.diagnosed()) == DEPS and len(self.pending()) == DEPS, 120,
                 "every incident diagnosed after the restart")
        after = self.log()[before:]
        for iid in done:
            self.assertNotIn("incident %d: diagnosing " % iid, after, "diagnosed again")
        self.assertEqual(len(self.incidents()), DEPS)
        self.assertEqual(len(self.dry_runs()), DEPS, "one dry-run per incident")
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

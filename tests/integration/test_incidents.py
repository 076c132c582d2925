"""Incident lifecycle through the real remedyd: flaps, resolve, reopen,
supersede, and the storm (many broken pods, few incidents, one diagnosis
each, none again after a restart).
"""
import copy
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, Daemon, pod_ready, wait_action, wait_for  # noqa: E402

BROKEN = {"phase": "Running",
          "conditions": [{"type": "Ready", "status": "False"}],
          "containerStatuses": [{"name": "app", "image": "busybox:1.36", "ready": False, "restartCount": 4,
                                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                                 "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]}
HEALTHY = {"phase": "Running",
           "conditions": [{"type": "Ready", "status": "True"}],
           "containerStatuses": [{"name": "app", "image": "busybox:1.36", "ready": True, "restartCount": 4,
                                  "state": {"running": {}}}]}


def pod(status):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "flappy", "namespace": "demo"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "busybox:1.36"}]},
            "status": copy.deepcopy(status)}


class Base(unittest.TestCase):
    scenario = "empty"
    replicas = 0

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-inc-")
        self.cluster = Cluster(self.workdir, scenario=self.scenario, replicas=self.replicas)
        self.daemon = None
        self.ok = False

    def tearDown(self):
        if not self.ok and self.daemon:
            print("--- remedyd log ---\n" + self.full_log()[-8000:])
        rc = self.daemon.stop() if self.daemon else 0
        self.cluster.stop()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print("--- workdir kept: " + self.workdir)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    def incidents(self):
        rc, out, err = self.daemon.ctl("incidents")
        self.assertEqual(rc, 0, err)
        return out["incidents"]

    def incident(self, iid):
        rc, out, err = self.daemon.ctl("incidents", "show", str(iid))
        self.assertEqual(rc, 0, err)
        return out["incident"]

    def full_log(self):
        with open(self.daemon.logpath) as f:
            return f.read()


class Lifecycle(Base):
    def test_flap_resolve_reopen(self):
        c = self.cluster
        self.daemon = d = Daemon(self.workdir, c, hold_down="0s",
                                 extra="incidents:\n  resolve_after: 3s\n")
        c.test("POST", "/objects", pod(BROKEN))
        inc = wait_for(lambda: self.incidents(), 30, "an incident")[0]
        iid = inc["id"]
        self.assertEqual((inc["analyzer"], inc["kind"], inc["name"], inc["reason"], inc["state"]),
                         ("crashloop", "Pod", "flappy", "CrashLoopBackOff", "open"))
        # Recovers: the incident stays open, with no affected object.
        c.test("POST", "/objects", pod(HEALTHY))
        wait_for(lambda: self.incident(iid)["objects"] == 0, 30, "the pod to leave the incident")
        self.assertEqual(self.incident(iid)["state"], "open")
        # Breaks again within resolve_after: the same incident, one flap.
        c.test("POST", "/objects", pod(BROKEN))
        inc = wait_for(lambda: (lambda i: i if i["flaps"] == 1 and i["objects"] == 1 else None)(
            self.incident(iid)), 30, "a flap")
        self.assertEqual(inc["state"], "open")
        self.assertEqual(inc["reopens"], 0)
        self.assertEqual([i["id"] for i in self.incidents()], [iid], "still one incident")
        self.assertEqual(self.full_log().count("incident %d: diagnosing" % iid), 1,
                         "a flap does not diagnose again")
        # Healthy for resolve_after: resolved.
        c.test("POST", "/objects", pod(HEALTHY))
        inc = wait_for(lambda: (lambda i: i if i["state"] == "resolved" else None)(self.incident(iid)),
                       30, "the incident to resolve")
        self.assertIsNotNone(inc["resolved_at"])
        # Breaks after that: the same row reopens, counted, and is diagnosed
        # again (a new episode).
        c.test("POST", "/objects", pod(BROKEN))
        inc = wait_for(lambda: (lambda i: i if i["state"] == "open" else None)(self.incident(iid)),
                       30, "the incident to reopen")
        self.assertEqual(inc["reopens"], 1)
        self.assertEqual(inc["flaps"], 1)
        self.assertEqual(len(self.incidents()), 1)
        wait_for(lambda: self.full_log().count("incident %d: diagnosing" % iid) == 2, 30,
                 "the reopened incident's diagnosis")
        rc, out, err = d.ctl("incidents", output="table")
        self.assertEqual(rc, 0, err)
        self.assertIn("CrashLoopBackOff", out)
        rc, out, err = d.ctl("incidents", "show", str(iid), output="table")
        self.assertEqual(rc, 0, err)
        self.assertIn("Pod/demo/flappy", out)
        self.assertIn("last termination: Error, exit code 1", out)
        rc, out, err = d.ctl("incidents", "show", "999")
        self.assertEqual(rc, 1, out)
        self.assertIn("incident 999 not found", err)
        self.ok = True


class Supersede(Base):
    scenario = "broken-rollout"
    replicas = 3

    def test_resolved_incident_supersedes_pending(self):
        c = self.cluster
        self.daemon = d = Daemon(self.workdir, c, hold_down="0s",
                                 extra="incidents:\n  resolve_after: 2s\n")
        act = wait_action(d, "pending")[0]
        # Someone fixes the cause by hand (the image appears in the registry):
        # the pods recover, the incident resolves, the pending rollback is moot.
        c.test("POST", "/registry", {"add": ["nginx:1.27-typo"]})
        wait_for(lambda: all(pod_ready(p) for p in c.pods()), 30, "the pods to recover")
        wait_for(lambda: self.incidents()[0]["state"] == "resolved", 30, "the incident to resolve")
        rc, out, err = d.ctl("show", str(act["id"]))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["action"]["state"], "superseded")
        rc, out, err = d.ctl("audit", "--action", str(act["id"]))
        self.assertEqual(rc, 0, err)
        self.assertIn("superseded", [r["event"] for r in out["rows"]])
        self.assertEqual(c.remedyd_writes(), [], "nothing written to the cluster")
        self.ok = True


class LateOwner(Base):
    """Pods seen before their ReplicaSet (its watch is failing) are not an
    incident of the ReplicaSet: the incident waits for the owner, then
    belongs to the Deployment, and only that one is stored and diagnosed."""
    scenario = "healthy"
    replicas = 1
    RS = "/apis/apps/v1/namespaces/demo/replicasets"

    def test_pods_before_their_replicaset(self):
        c = self.cluster
        self.daemon = d = Daemon(self.workdir, c, hold_down="1s")
        # The ReplicaSet watch breaks and its next three attempts fail.
        c.test("POST", "/inject", {"method": "GET", "path": self.RS, "status": 500, "count": 3,
                                   "reason": "InternalError", "message": "replicasets unavailable"})
        c.test("POST", "/close-watches")
        c.test("POST", "/objects", {
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "late", "namespace": "demo", "labels": {"app": "late"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "late"}},
                     "template": {"metadata": {"labels": {"app": "late"}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:9.99-none"}]}}}})
        incs = wait_for(lambda: [i for i in self.incidents() if i["reason"] == "ImagePullBackOff"
                                 and i["pods"] == 2], 60, "the image-pull incident")
        self.assertEqual([(i["kind"], i["name"]) for i in incs], [("Deployment", "late")])
        failed = [r for r in c.requests() if r["path"] == self.RS and r["status"] == 500]
        self.assertEqual(len(failed), 3, "the ReplicaSet informer did fail meanwhile")
        log = self.full_log()
        self.assertNotIn("of ReplicaSet demo/late-", log)
        self.assertEqual(log.count(": diagnosing image-pull/demo/Deployment/late/"), 1)
        self.assertNotIn(": diagnosing image-pull/demo/ReplicaSet/", log)
        self.ok = True


class Storm(Base):
    BROKEN_DEPS, PER_DEP, HEALTHY_DEPS = 10, 100, 5

    def test_storm_then_restart(self):
        c = self.cluster
        items = []
        for i in range(self.BROKEN_DEPS + self.HEALTHY_DEPS):
            name = "svc%02d" % i
            n = self.PER_DEP if i < self.BROKEN_DEPS else 2
            items.append({"kind": "Deployment", "apiVersion": "apps/v1",
                          "metadata": {"name": name, "namespace": "demo", "labels": {"app": name}},
                          "spec": {"replicas": n, "selector": {"matchLabels": {"app": name}},
                                   "template": {"metadata": {"labels": {"app": name}},
                                                "spec": {"containers": [{"name": "app",
                                                                         "image": "nginx:1.25"}]}}}})
        c.test("POST", "/objects", {"kind": "List", "items": items})
        # Roll ten of them out to an image that does not exist.
        for it in items[:self.BROKEN_DEPS]:
            it["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27-typo"
        c.test("POST", "/objects", {"kind": "List", "items": items[:self.BROKEN_DEPS]})
        broken = wait_for(lambda: (lambda b: b if len(b) >= self.BROKEN_DEPS * self.PER_DEP else None)(
            [p for p in c.pods() if not pod_ready(p)]), 60, "1000 broken pods")
        self.assertEqual(len(broken), self.BROKEN_DEPS * self.PER_DEP)

        self.daemon = d = Daemon(self.workdir, c, hold_down="1s")
        want = {"svc%02d" % i for i in range(self.BROKEN_DEPS)}
        wait_for(lambda: len([a for a in d.ctl("list")[1]["actions"] if a["state"] == "pending"])
                 == self.BROKEN_DEPS, 90, "one pending action per broken Deployment")
        incs = self.incidents()
        self.assertEqual(len(incs), self.BROKEN_DEPS, [(i["kind"], i["name"], i["reason"]) for i in incs])
        self.assertEqual({i["name"] for i in incs}, want)
        self.assertTrue(all(i["kind"] == "Deployment" and i["reason"] == "ImagePullBackOff"
                            and i["pods"] == self.PER_DEP for i in incs), incs)
        dry = [r for r in c.requests() if r["method"] == "PATCH" and r["dry_run"]]
        self.assertEqual(len(dry), self.BROKEN_DEPS, "one dry-run PATCH per incident")
        self.assertEqual(self.full_log().count(": diagnosing "), self.BROKEN_DEPS)

        # Restart: the open incidents come back from the store; nothing is
        # diagnosed again, nothing new is dry-run.
        self.assertEqual(d.stop(), 0)
        before = len(self.full_log())
        d.start()
        wait_for(lambda: "caches synced" in self.full_log()[before:], 60, "the restarted daemon to sync")
        # Two ticks after the sync every known incident is refilled; wait
        # until the store shows every pod back in its incident.
        wait_for(lambda: all(i["pods"] == self.PER_DEP for i in self.incidents()), 30,
                 "the incidents to be refilled")
        self.assertEqual(len(self.incidents()), self.BROKEN_DEPS)
        self.assertNotIn(": diagnosing ", self.full_log()[before:])
        dry2 = [r for r in c.requests() if r["method"] == "PATCH" and r["dry_run"]]
        self.assertEqual(len(dry2), self.BROKEN_DEPS, "no new dry-run after the restart")
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""The test API server's StatefulSet, DaemonSet and ControllerRevision
behaviour (tests/kubeapi/workloads.py), and what a bare Pod update may
change: held to kube-controller-manager and kube-apiserver v1.20.

Run: python3 -u tests/kubeapi/test_workloads.py
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_apiserver  # noqa: E402

APPS = "/apis/apps/v1/namespaces/demo"
PODS = "/api/v1/namespaces/demo/pods"
JSONPATCH = {"Content-Type": "application/json-patch+json"}
HASH = "controller-revision-hash"


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions", []))


def sts(name, image, replicas=2, policy=None):
    spec = {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "web", "image": image}]}}}
    if policy:
        spec["podManagementPolicy"] = policy
    return {"kind": "StatefulSet", "metadata": {"name": name, "namespace": "demo"}, "spec": spec}


def ds(name, image):
    return {"kind": "DaemonSet", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "agent", "image": image}]}}}}


class Workloads(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fakeapi-wl-")
        cls.h = fake_apiserver.Harness(cls.tmp, "--scenario", "empty")
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pods(self, owner):
        uid = owner["metadata"]["uid"]
        return sorted((p for p in self.h.json("GET", PODS)["items"]
                       if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences", []))),
                      key=lambda p: p["metadata"]["name"])

    def revisions(self, owner):
        uid = owner["metadata"]["uid"]
        return sorted((r for r in self.h.json("GET", APPS + "/controllerrevisions")["items"]
                       if any(o.get("uid") == uid and o.get("controller")
                              for o in r["metadata"].get("ownerReferences", []))),
                      key=lambda r: r["revision"])

    def image_patch(self, path, image, container="0"):
        self.h.json("PATCH", path, [{"op": "replace", "path": "/spec/template/spec/containers/%s/image" % container,
                                     "value": image}], headers=JSONPATCH)

    def sts_settled(self, path):
        s = self.h.json("GET", path)
        st = s.get("status") or {}
        return (st.get("observedGeneration") == s["metadata"]["generation"]
                and st.get("currentRevision") == st.get("updateRevision")
                and st.get("readyReplicas", 0) == s["spec"]["replicas"])

    def test_statefulset_revisions_and_rollout(self):
        self.h.json("POST", "/_test/objects", sts("db", "nginx:1.25"))
        path = APPS + "/statefulsets/db"
        self.h.wait_for("db ready", lambda: self.sts_settled(path))
        s = self.h.json("GET", path)
        revs = self.revisions(s)
        self.assertEqual([r["revision"] for r in revs], [1])
        self.assertEqual(revs[0]["metadata"]["name"], s["status"]["updateRevision"])
        self.assertEqual(revs[0]["metadata"]["name"], "db-" + revs[0]["metadata"]["labels"][HASH])
        self.assertEqual(revs[0]["data"]["spec"]["template"]["$patch"], "replace")
        self.assertEqual(revs[0]["data"]["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25")
        self.assertEqual([p["metadata"]["name"] for p in self.pods(s)], ["db-0", "db-1"])
        for p in self.pods(s):
            self.assertEqual(p["metadata"]["labels"][HASH], revs[0]["metadata"]["name"])
        # a rollout to a tag that does not exist: the highest ordinal is
        # replaced first and stays broken; db-0 keeps the old revision
        self.image_patch(path, "nginx:1.25-typo")
        self.h.wait_for("db-1 on the bad revision", lambda: any(
            p["metadata"]["name"] == "db-1" and not ready(p)
            and p["metadata"]["labels"][HASH] != revs[0]["metadata"]["name"] for p in self.pods(s)))
        s = self.h.json("GET", path)
        self.assertEqual(s["status"]["currentRevision"], revs[0]["metadata"]["name"])
        self.assertNotEqual(s["status"]["updateRevision"], s["status"]["currentRevision"])
        self.assertEqual([r["revision"] for r in self.revisions(s)], [1, 2])
        # OrderedReady: reverting the template does not help, db-1 blocks
        self.image_patch(path, "nginx:1.25")
        s = self.h.json("GET", path)
        revs = self.revisions(s)
        self.assertEqual(revs[-1]["revision"], 3, "the old revision is bumped to max + 1")
        self.assertEqual(s["status"]["updateRevision"], revs[-1]["metadata"]["name"])
        self.h.json("POST", "/_test/registry", {"add": []})   # one more controller pass
        db1 = [p for p in self.pods(s) if p["metadata"]["name"] == "db-1"][0]
        self.assertFalse(ready(db1))
        self.assertNotEqual(db1["metadata"]["labels"][HASH], s["status"]["updateRevision"],
                            "the broken pod stays on the bad revision (forced rollback trap)")
        self.assertFalse(self.sts_settled(path))
        # deleting the stuck pod lets the controller go on
        self.h.json("DELETE", PODS + "/db-1")
        self.h.wait_for("db settled", lambda: self.sts_settled(path))

    def test_statefulset_parallel_recovers(self):
        self.h.json("POST", "/_test/objects", sts("par", "nginx:1.25", policy="Parallel"))
        path = APPS + "/statefulsets/par"
        self.h.wait_for("par ready", lambda: self.sts_settled(path))
        self.image_patch(path, "nginx:1.25-typo")
        self.h.wait_for("par broken", lambda: self.h.json("GET", path)["status"].get("readyReplicas", 0) == 1)
        self.image_patch(path, "nginx:1.25")
        self.h.wait_for("par recovered by itself", lambda: self.sts_settled(path))
        s = self.h.json("GET", path)
        for p in self.pods(s):
            self.assertEqual(p["metadata"]["labels"][HASH], s["status"]["updateRevision"])

    def ds_settled(self, path):
        d = self.h.json("GET", path)
        st = d.get("status") or {}
        return (st.get("observedGeneration") == d["metadata"]["generation"]
                and st.get("updatedNumberScheduled", 0) == st.get("numberAvailable", 0)
                == st.get("desiredNumberScheduled", -1))

    def test_daemonset_rolling_update(self):
        self.h.json("POST", "/_test/objects", ds("agent", "busybox:1.36"))
        path = APPS + "/daemonsets/agent"
        self.h.wait_for("agent ready", lambda: self.ds_settled(path))
        d = self.h.json("GET", path)
        self.assertEqual(d["status"]["desiredNumberScheduled"], 1)
        revs = self.revisions(d)
        self.assertEqual([r["revision"] for r in revs], [1])
        (pod,) = self.pods(d)
        self.assertEqual(pod["metadata"]["labels"][HASH], revs[0]["metadata"]["labels"][HASH])
        self.image_patch(path, "busybox:9.99-missing")
        self.h.wait_for("agent broken", lambda: self.h.json("GET", path)["status"].get("numberUnavailable") == 1)
        d = self.h.json("GET", path)
        self.assertEqual(d["status"]["updatedNumberScheduled"], 1)
        self.assertEqual([r["revision"] for r in self.revisions(d)], [1, 2])
        self.image_patch(path, "busybox:1.36")
        self.h.wait_for("agent recovered", lambda: self.ds_settled(path))
        d = self.h.json("GET", path)
        revs = self.revisions(d)
        self.assertEqual([r["revision"] for r in revs], [2, 3])
        self.assertEqual(revs[-1]["data"]["spec"]["template"]["spec"]["containers"][0]["image"], "busybox:1.36")

    def test_manual_status_is_left_alone(self):
        m = sts("frozen", "nginx:1.25")
        m["status"] = {"replicas": 1, "readyReplicas": 0}
        self.h.json("POST", "/_test/objects", m)
        s = self.h.json("GET", APPS + "/statefulsets/frozen")
        self.assertEqual(self.pods(s), [])
        self.assertEqual(s["status"], {"replicas": 1, "readyReplicas": 0})

    def test_bare_pod_updates(self):
        self.h.json("POST", "/_test/objects", {
            "kind": "Pod", "metadata": {"name": "solo", "namespace": "demo"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "nginx:1.25-typo"}]}})
        path = PODS + "/solo"
        self.h.wait_for("solo broken", lambda: not ready(self.h.json("GET", path))
                        and (self.h.json("GET", path).get("status") or {}).get("containerStatuses"))
        # anything but the mutable fields: 422 as from kube-apiserver
        for op in ({"op": "replace", "path": "/spec/containers/0/name", "value": "x"},
                   {"op": "add", "path": "/spec/containers/0/env", "value": [{"name": "A", "value": "1"}]},
                   {"op": "replace", "path": "/spec/restartPolicy", "value": "Never"},
                   {"op": "remove", "path": "/spec/tolerations/0"}):
            status, _, data = self.h.request("PATCH", path, [op], headers=JSONPATCH)
            self.assertEqual(status, 422, op)
            body = json.loads(data)
            self.assertEqual(body["reason"], "Invalid")
            self.assertIn("pod updates may not change fields other than `spec.containers[*].image`",
                          body["message"])
            self.assertTrue(body["message"].startswith('Pod "solo" is invalid: spec: Forbidden: '), body["message"])
        def patch(op):
            return self.h.request("PATCH", path, [op], headers=JSONPATCH)[0]
        self.assertEqual(patch({"op": "add", "path": "/spec/activeDeadlineSeconds", "value": 600}), 200)
        self.assertEqual(patch({"op": "replace", "path": "/spec/activeDeadlineSeconds", "value": 900}), 422)
        self.assertEqual(patch({"op": "add", "path": "/spec/tolerations/-",
                                "value": {"key": "k", "operator": "Exists"}}), 200)
        # the image: the kubelet pulls the new one in place
        self.assertEqual(patch({"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.25"}), 200)
        self.h.wait_for("solo ready", lambda: ready(self.h.json("GET", path)))


if __name__ == "__main__":
    unittest.main(verbosity=2)

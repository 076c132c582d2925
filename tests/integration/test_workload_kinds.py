"""Every kind a fix may target goes the same way: break -> pending (the API
server's request log shows only dry-runs from remedyd) -> approve ->
healthy -> verified -> `remedyctl rollback` -> approve -> the original spec.

- StatefulSet rolled out to a missing tag: the rules roll it back to the
  previous ControllerRevision's images.  The StatefulSet uses
  podManagementPolicy: Parallel, with which the controller replaces the
  broken pod by itself once the template is reverted; with OrderedReady
  (the default) it would wait for the broken pod forever (the forced
  rollback trap, modelled by the test API server, tests/kubeapi/
  test_workloads.py).
- DaemonSet rolled out to a missing tag: rolled back the same way; its
  rolling update replaces the unavailable pod at once.
- A bare Pod with a mistyped tag: the rules have no revision to roll back
  to, so an LLM backend (tests/llm/fake_llm.py) proposes the image; the
  patch is guarded by a test of /metadata/uid (a Pod has no generation),
  and the kubelet pulls the new image in place.
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "llm"))
from harness import Env, wait_for, wait_action, wait_state  # noqa: E402
import harness  # noqa: E402
import llm_harness as lh  # noqa: E402

APPS = "/apis/apps/v1/namespaces/demo"
PODS = "/api/v1/namespaces/demo/pods"
JSONPATCH = "application/json-patch+json"
IMAGE_PATH = "/spec/template/spec/containers/0/image"
BARE_POD = {"kind": "Pod", "metadata": {"name": "solo", "namespace": "demo"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "nginx:1.25-typo"}]}}


def sts_manifest(name, image):
    return {"kind": "StatefulSet", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": 2, "serviceName": name, "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def ds_manifest(name, image):
    return {"kind": "DaemonSet", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "agent", "image": image}]}}}}


def sts_healthy(s):
    st = s.get("status") or {}
    return (st.get("observedGeneration", 0) >= s["metadata"]["generation"]
            and st.get("currentRevision") == st.get("updateRevision")
            and st.get("readyReplicas", 0) == s["spec"]["replicas"])


def ds_healthy(d):
    st = d.get("status") or {}
    return (st.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and st.get("updatedNumberScheduled", 0) == st.get("numberAvailable", 0)
            == st.get("desiredNumberScheduled", -1) > 0)


def pod_ready(p):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (p.get("status") or {}).get("conditions") or [])


class Kinds(unittest.TestCase):
    def roll_out(self, c, path, image):
        status, body = c.api("PATCH", path, [{"op": "replace", "path": IMAGE_PATH, "value": image}],
                             ctype=JSONPATCH)
        self.assertEqual(status, 200, body)

    def heal_and_roll_back(self, c, d, path, kind, healthy, want_first_test):
        """The common path; returns the approved action."""
        pend = wait_action(d, "pending", timeout=40)
        self.assertEqual(len(pend), 1, pend)
        act = pend[0]
        self.assertEqual((act["kind"], act["namespace"]), (kind, "demo"), act)
        original = c.get(path)
        self.assertFalse(healthy(original))
        # nothing written before the approval: only dry-runs
        self.assertEqual(c.remedyd_writes(), [])
        dry = c.remedyd_writes(include_dry_run=True)
        self.assertTrue(dry and all(w["dry_run"] for w in dry), dry)
        rc, out, err = d.ctl("show", str(act["id"]))
        self.assertEqual(rc, 0, err)
        patch = out["action"]["patch"]
        self.assertEqual(patch[0], want_first_test(original), patch)

        rc, out, err = d.ctl("approve", str(act["id"]))
        self.assertEqual(rc, 0, err)
        done = wait_state(d, act["id"], ("verified", "failed", "not-recovered"))
        self.assertEqual(done["state"], "verified", done)
        fixed = c.get(path)
        self.assertTrue(healthy(fixed), fixed.get("status"))
        writes = c.remedyd_writes()
        self.assertEqual(len(writes), 1, writes)
        self.assertEqual(json.loads(writes[0]["body"])[:len(patch)], patch,
                         "exactly the approved patch was sent")

        rc, out, err = d.ctl("rollback", str(act["id"]))
        self.assertEqual(rc, 0, err)
        rb = out["action"]
        self.assertEqual((rb["state"], rb["kind"]), ("pending", kind))
        rc, out, err = d.ctl("approve", str(rb["id"]))
        self.assertEqual(rc, 0, err)
        wait_state(d, rb["id"], ("applied", "verified", "not-recovered", "failed"))
        orig = wait_state(d, act["id"], ("rolled-back",), timeout=15)
        self.assertEqual(orig["state"], "rolled-back")
        now = c.get(path)
        self.assertEqual(now["spec"], original["spec"], "the spec is the original again")
        rc, out, err = d.ctl("audit", "--action", str(act["id"]))
        self.assertEqual([r["event"] for r in out["rows"]],
                         ["suggested", "approved", "applying", "applied", "verified",
                          "rollback-proposed", "rolled-back"])
        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        return act

    def test_statefulset(self):
        path = APPS + "/statefulsets/db"

        def setup(c):
            c.test("POST", "/objects", sts_manifest("db", "nginx:1.25"))
            wait_for(lambda: sts_healthy(c.get(path)), 20, "db ready")
        env = Env(scenario="empty", hold_down="1s", before_daemon=setup)
        ok = False
        try:
            c, d = env.cluster, env.daemon
            self.roll_out(c, path, "nginx:1.25-typo")
            act = self.heal_and_roll_back(
                c, d, path, "StatefulSet", sts_healthy,
                lambda o: {"op": "test", "path": "/metadata/generation", "value": o["metadata"]["generation"]})
            self.assertIn("Roll back StatefulSet demo/db to revision 1: nginx:1.25-typo -> nginx:1.25",
                          act["summary"])
            ok = True
        finally:
            self.assertEqual(env.close(ok), 0)

    def test_statefulset_ordered_ready_trap(self):
        """OrderedReady: the template rollback alone is applied, but the pod
        already on the bad revision blocks the controller, so the action is
        not-recovered; deleting that pod (the forced rollback) lets the
        StatefulSet heal."""
        path = APPS + "/statefulsets/db"

        def setup(c):
            m = sts_manifest("db", "nginx:1.25")
            del m["spec"]["podManagementPolicy"]     # OrderedReady
            c.test("POST", "/objects", m)
            wait_for(lambda: sts_healthy(c.get(path)), 20, "db ready")
        env = Env(scenario="empty", hold_down="1s", verify_timeout="3s", before_daemon=setup)
        ok = False
        try:
            c, d = env.cluster, env.daemon
            self.roll_out(c, path, "nginx:1.25-typo")
            act = wait_action(d, "pending", timeout=40)[0]
            rc, out, err = d.ctl("show", str(act["id"]))
            self.assertIn("forced rollback", out["action"]["root_cause"])
            rc, out, err = d.ctl("approve", str(act["id"]))
            self.assertEqual(rc, 0, err)
            done = wait_state(d, act["id"], ("verified", "failed", "not-recovered"))
            self.assertEqual(done["state"], "not-recovered", done)
            s = c.get(path)
            self.assertEqual(s["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25")
            stuck = c.get(PODS + "/db-1")
            self.assertNotEqual(stuck["metadata"]["labels"]["controller-revision-hash"],
                                s["status"]["updateRevision"], "db-1 stays on the bad revision")
            self.assertFalse(sts_healthy(s))
            status, body = c.api("DELETE", PODS + "/db-1")
            self.assertEqual(status, 200, body)
            wait_for(lambda: sts_healthy(c.get(path)), 20, "db healthy after the forced rollback")
            ok = True
        finally:
            self.assertEqual(env.close(ok), 0)

    def test_daemonset(self):
        path = APPS + "/daemonsets/agent"

        def setup(c):
            c.test("POST", "/objects", ds_manifest("agent", "busybox:1.36"))
            wait_for(lambda: ds_healthy(c.get(path)), 20, "agent ready")
        env = Env(scenario="empty", hold_down="1s", before_daemon=setup)
        ok = False
        try:
            c, d = env.cluster, env.daemon
            self.roll_out(c, path, "busybox:9.99-missing")
            act = self.heal_and_roll_back(
                c, d, path, "DaemonSet", ds_healthy,
                lambda o: {"op": "test", "path": "/metadata/generation", "value": o["metadata"]["generation"]})
            self.assertIn("Roll back DaemonSet demo/agent to revision 1: busybox:9.99-missing -> busybox:1.36",
                          act["summary"])
            ok = True
        finally:
            self.assertEqual(env.close(ok), 0)

    def bare_pod_env(self, work):
        """A cluster with the broken bare Pod demo/solo, the test LLM server
        and a remedyd using it; returns (cluster, llm, daemon)."""
        cluster = harness.Cluster(work, scenario="empty")
        llm = lh.LlmServer(work)
        cluster.test("POST", "/objects", BARE_POD)
        keyfile = os.path.join(work, "api-key")
        with open(keyfile, "w") as f:
            f.write(lh.API_KEY + "\n")
        daemon = lh.LlmDaemon(work, cluster, {
            "backend": "openai", "model": "test-model", "endpoint": llm.url,
            "api_key_file": keyfile, "timeout": "5s", "log_lines": "0"}, namespaces=["demo"])
        return cluster, llm, daemon

    def end(self, work, ok, cluster, llm, daemon):
        rc = daemon.stop() if daemon else 0
        if llm:
            llm.stop()
        if cluster:
            cluster.stop()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("--- remedyd log ---\n" + (daemon.log() if daemon else ""))
            print("--- workdir kept: " + work)
        self.assertEqual(rc, 0)

    def test_bare_pod_recreated_supersedes(self):
        """A pending action on a bare Pod that is then deleted and created
        again under its name tests the old uid: superseded, never sent."""
        work = tempfile.mkdtemp(prefix="remedy-kinds-")
        cluster = llm = daemon = None
        ok = False
        try:
            cluster, llm, daemon = self.bare_pod_env(work)
            act = wait_action(daemon, "pending", timeout=40)[0]
            status, body = cluster.api("DELETE", PODS + "/solo")
            self.assertEqual(status, 200, body)
            cluster.test("POST", "/objects", BARE_POD)
            done = wait_state(daemon, act["id"], ("superseded",), timeout=30)
            self.assertIn("was created again", done["reason"])
            self.assertEqual(cluster.remedyd_writes(), [])
            ok = True
        finally:
            self.end(work, ok, cluster, llm, daemon)

    def test_bare_pod_with_an_llm_proposal(self):
        path = PODS + "/solo"
        work = tempfile.mkdtemp(prefix="remedy-kinds-")
        cluster = llm = daemon = None
        ok = False
        try:
            cluster, llm, daemon = self.bare_pod_env(work)
            act = self.heal_and_roll_back(
                cluster, daemon, path, "Pod", pod_ready,
                lambda o: {"op": "test", "path": "/metadata/uid", "value": o["metadata"]["uid"]})
            self.assertEqual(act["name"], "solo")
            rc, out, err = daemon.ctl("show", str(act["id"]))
            self.assertIn({"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.25"},
                          out["action"]["patch"])
            ok = True
        finally:
            self.end(work, ok, cluster, llm, daemon)


if __name__ == "__main__":
    unittest.main(verbosity=2)

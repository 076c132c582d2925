"""Scheduling constraints no node meets, end to end through the real
remedyd and remedyctl.

The test API server runs its scheduler (--schedule): pods are bound to a
Node whose labels meet their nodeSelector and whose allocatable covers
their requests, or marked Unschedulable with the scheduler's message.  The
cluster has node-a (disktype=ssd, 4 cpu, 8Gi) and node-b (disktype=hdd,
2 cpu, 4Gi).  remedyd decides from its Node cache:

  - Deployment `web` selects disktype=ssdd (a typo): nodes carry ssd and
    hdd, so the entry becomes ssd, the closest value (risk medium).
    Approved, the pods run on node-a and the action is verified.
  - Deployment `gpu` selects example.com/gpu=a100, a label no node
    carries: the entry is removed (risk high, the root cause says why).
    Approved, the pods run and the action is verified.
  - Deployment `big` requests 16 cpu, more than any node allocates: an
    explanation with the numbers, no action.
  - Deployment `fast` requires (node affinity, one term) disktype In
    [hddd]: the value becomes hdd (risk medium); Deployment `zoned`
    requires topology.kubernetes.io/zone In [eu-1], a label no node
    carries: the expression goes, and with the term left empty the
    required affinity is removed (risk high).  Both approved, scheduled,
    verified.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, pod_ready, wait_action, wait_explained, wait_for, wait_state  # noqa: E402

APPS = "/apis/apps/v1/namespaces/demo"
SEL = "/spec/template/spec/nodeSelector"


def node(name, disk, cpu, mem):
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "disktype": disk}},
            "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": "110"},
                       "capacity": {"cpu": cpu, "memory": mem, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


def deployment(name, selector, cpu="100m", affinity=None):
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"nodeSelector": selector,
                                           "containers": [{
                                               "name": name, "image": "nginx:1.25",
                                               "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}}}}
    if affinity:
        d["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": affinity[0], "operator": "In", "values": [affinity[1]]}]}]}}}
    return d


def app_pods(c, name):
    return [p for p in c.pods() if p["metadata"].get("labels", {}).get("app") == name]


def unscheduled(p):
    return any(x.get("type") == "PodScheduled" and x.get("status") == "False" and
               x.get("reason") == "Unschedulable" for x in p.get("status", {}).get("conditions") or [])


def create(c):
    c.test("POST", "/objects", {"kind": "List", "items": [
        node("node-a", "ssd", "4", "8Gi"), node("node-b", "hdd", "2", "4Gi")]})
    for d in (deployment("web", {"disktype": "ssdd"}),
              deployment("gpu", {"example.com/gpu": "a100"}),
              deployment("big", {}, cpu="16"),
              deployment("fast", {}, affinity=("disktype", "hddd")),
              deployment("zoned", {}, affinity=("topology.kubernetes.io/zone", "eu-1"))):
        status, obj = c.api("POST", APPS + "/deployments", d)
        assert status == 201, obj

    def pending():
        pods = sum((app_pods(c, n) for n in ("web", "gpu", "big", "fast", "zoned")), [])
        return len(pods) == 5 and all(unscheduled(p) for p in pods) and pods
    pods = wait_for(pending, 60, "the five pods to be unschedulable")
    msgs = {p["metadata"]["labels"]["app"]: [x["message"] for x in p["status"]["conditions"]][0]
            for p in pods}
    assert "2 node(s) didn't match Pod's node affinity/selector" in msgs["web"], msgs
    assert "2 Insufficient cpu" in msgs["big"], msgs


class ScheduleFix(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="empty", hold_down="1s", verify_timeout="60s",
                       before_daemon=create, cluster_args=["--schedule"])
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        if self.ok:
            self.assertEqual(rc, 0)

    def test_selector_fixed_from_the_node_cache(self):
        c, d = self.env.cluster, self.env.daemon

        def four():
            acts = wait_action(d, "pending", timeout=60)
            return len(acts) == 4 and {a["name"]: a for a in acts}
        acts = wait_for(four, 60, "four pending actions")

        rc, out, err = d.ctl("show", str(acts["web"]["id"]))
        self.assertEqual(rc, 0, err)
        web = out["action"]
        self.assertEqual(web["risk"], "medium")
        self.assertIn({"op": "test", "path": SEL + "/disktype", "value": "ssdd"}, web["patch"])
        self.assertIn({"op": "replace", "path": SEL + "/disktype", "value": "ssd"}, web["patch"])
        self.assertIn("disktype=ssdd matches no node", web["root_cause"])

        rc, out, err = d.ctl("show", str(acts["gpu"]["id"]))
        self.assertEqual(rc, 0, err)
        gpu = out["action"]
        self.assertEqual(gpu["risk"], "high")
        self.assertIn({"op": "remove", "path": SEL + "/example.com~1gpu"}, gpu["patch"])
        self.assertIn("no node carries label example.com/gpu", gpu["root_cause"])
        self.assertIn("risk high", gpu["root_cause"])
        self.assertEqual(c.remedyd_writes(), [])

        # requests no node can hold: explained with the numbers
        dg = wait_explained(d, "big")["diagnosis"]
        self.assertIn("requests 16000m of cpu", dg["summary"])
        self.assertIn("4000m (node node-a)", dg["summary"])

        req = "/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"
        rc, out, err = d.ctl("show", str(acts["fast"]["id"]))
        fast = out["action"]
        self.assertEqual(fast["risk"], "medium")
        self.assertIn({"path": req + "/nodeSelectorTerms/0/matchExpressions/0/values/0",
                       "before": "hddd", "after": "hdd"}, fast["changes"])
        rc, out, err = d.ctl("show", str(acts["zoned"]["id"]))
        zoned = out["action"]
        self.assertEqual(zoned["risk"], "high")
        self.assertIn({"op": "remove", "path": req}, zoned["patch"])
        self.assertIn("no node carries label topology.kubernetes.io/zone", zoned["root_cause"])

        names = ("web", "gpu", "fast", "zoned")
        for name in names:
            rc, out, err = d.ctl("approve", str(acts[name]["id"]))
            self.assertEqual(rc, 0, err)
        for name in names:
            done = wait_state(d, acts[name]["id"], ("verified", "failed", "not-recovered"), timeout=90)
            self.assertEqual(done["state"], "verified", done)
        web_pods = app_pods(c, "web")
        self.assertTrue(web_pods and all(pod_ready(p) and p["spec"]["nodeName"] == "node-a"
                                         for p in web_pods), web_pods)
        self.assertTrue(all(pod_ready(p) for p in app_pods(c, "gpu")))
        self.assertEqual(c.get(APPS + "/deployments/gpu")["spec"]["template"]["spec"]["nodeSelector"], {})
        fast_pods = app_pods(c, "fast")
        self.assertTrue(fast_pods and all(pod_ready(p) and p["spec"]["nodeName"] == "node-b"
                                          for p in fast_pods), fast_pods)
        self.assertTrue(all(pod_ready(p) for p in app_pods(c, "zoned")))
        self.assertEqual(c.get(APPS + "/deployments/zoned")["spec"]["template"]["spec"]["affinity"],
                         {"nodeAffinity": {}})
        self.ok = True


if __name__ == "__main__":
    unittest.main()

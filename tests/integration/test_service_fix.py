"""Service selector fix, end to end through the real remedyd and remedyctl.

The test API server runs its EndpointSlice controller (--endpointslices):
each Service with a selector gets a slice listing the pods it matches.

Service `checkout` selects app=chekout (a typo): no pod matches, and
Deployment `checkout` is the only workload of the namespace whose pods
serve its targetPort `http` (by name).  remedyd proposes one action on the
Service, risk medium: its selector becomes app=checkout -- and before the
approval the request log holds only its dry-run.  Approved: the slice
lists the Deployment's pods as ready endpoints and the action is verified;
its rollback restores the old selector.

Service `api` targets port 9090, which Deployments `api-blue` and
`api-green` both serve: which one is meant is a judgment call, so its
incident is explained, the two candidates named, and no action stored.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, pod_ready, wait_action, wait_explained, wait_for, wait_state  # noqa: E402

NS = "/api/v1/namespaces/demo"
APPS = "/apis/apps/v1/namespaces/demo"


def deployment(name, app, port):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "nginx:1.25",
                                      "ports": [port]}]}}}}


def service(name, app, target):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": target}]}}


def slice_of(c, name):
    status, lst = c.api("GET", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices"
                        "?labelSelector=kubernetes.io/service-name=" + name)
    assert status == 200, lst
    return lst["items"]


def create(c):
    for d in (deployment("checkout", "checkout", {"name": "http", "containerPort": 8080}),
              deployment("api-blue", "api-blue", {"containerPort": 9090}),
              deployment("api-green", "api-green", {"containerPort": 9090})):
        status, obj = c.api("POST", APPS + "/deployments", d)
        assert status == 201, obj
    for s in (service("checkout", "chekout", "http"), service("api", "apii", 9090)):
        status, obj = c.api("POST", NS + "/services", s)
        assert status == 201, obj

    def running():
        pods = c.pods()
        return len(pods) == 6 and all(pod_ready(p) for p in pods)
    wait_for(running, 60, "the six pods to run and be ready")
    # the controller keeps an empty slice for a Service matching no pod
    wait_for(lambda: [s for s in slice_of(c, "checkout") if s.get("endpoints") == []], 30,
             "the empty EndpointSlice of Service checkout")


class ServiceFix(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="empty", hold_down="1s", verify_timeout="60s",
                       before_daemon=create, cluster_args=["--endpointslices"])
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        if self.ok:
            self.assertEqual(rc, 0)

    def test_selector_pointed_at_the_one_workload(self):
        c, d = self.env.cluster, self.env.daemon
        act = wait_action(d, "pending", timeout=60)[0]
        self.assertEqual((act["kind"], act["name"]), ("Service", "checkout"))
        self.assertEqual(act["risk"], "medium")
        rc, out, err = d.ctl("show", str(act["id"]))
        self.assertEqual(rc, 0, err)
        a = out["action"]
        uid = c.get(NS + "/services/checkout")["metadata"]["uid"]
        self.assertIn({"op": "test", "path": "/metadata/uid", "value": uid}, a["patch"])
        self.assertIn({"op": "test", "path": "/spec/selector/app", "value": "chekout"}, a["patch"])
        self.assertIn({"op": "replace", "path": "/spec/selector/app", "value": "checkout"}, a["patch"])
        self.assertEqual(a["changes"], [{"path": "/spec/selector/app", "before": "chekout",
                                         "after": "checkout"}])
        self.assertIn("Deployment checkout", a["summary"])
        self.assertIn("only workload", a["root_cause"])
        # only the dry-run before the approval
        self.assertEqual(c.remedyd_writes(), [])
        self.assertTrue(c.remedyd_writes(include_dry_run=True))

        # two workloads serve Service api's port: explained, both named
        inc = wait_explained(d, "api")
        self.assertEqual(inc["kind"], "Service")
        dg = inc["diagnosis"]
        self.assertIn("2 workloads", dg["summary"])
        self.assertIn("Deployment api-blue, Deployment api-green", dg["summary"])
        rc, out, err = d.ctl("list")
        self.assertEqual([(x["kind"], x["name"]) for x in out["actions"]], [("Service", "checkout")])

        rc, out, err = d.ctl("approve", str(act["id"]))
        self.assertEqual(rc, 0, err)
        done = wait_state(d, act["id"], ("verified", "failed", "not-recovered"), timeout=90)
        self.assertEqual(done["state"], "verified", done)
        self.assertEqual(c.get(NS + "/services/checkout")["spec"]["selector"], {"app": "checkout"})
        eps = [e for s in slice_of(c, "checkout") for e in s.get("endpoints") or []]
        self.assertEqual(len(eps), 2, eps)
        self.assertTrue(all(e["conditions"]["ready"] for e in eps), eps)
        self.assertEqual({s["ports"][0]["port"] for s in slice_of(c, "checkout")}, {8080})
        self.assertEqual(len([w for w in c.remedyd_writes() if w["method"] == "PATCH"]), 1)

        # the rollback restores the old selector
        rc, out, err = d.ctl("rollback", str(act["id"]))
        self.assertEqual(rc, 0, err)
        rb = out["action"]
        self.assertEqual((rb["state"], rb["rollback_of"]), ("pending", act["id"]))
        self.assertIn({"op": "test", "path": "/spec/selector/app", "value": "checkout"}, rb["patch"])
        self.assertIn({"op": "replace", "path": "/spec/selector/app", "value": "chekout"}, rb["patch"])
        rc, out, err = d.ctl("approve", str(rb["id"]))
        self.assertEqual(rc, 0, err)
        wait_for(lambda: c.get(NS + "/services/checkout")["spec"]["selector"] == {"app": "chekout"},
                 60, "the rollback to restore selector app=chekout")
        self.ok = True


if __name__ == "__main__":
    unittest.main()

"""Probe port fix, end to end through the real remedyd and remedyctl.

Deployment `web` declares containerPort 80 but its readiness probe checks
8080: the test API server's kubelet refuses the probe (nothing serves a
port the container does not declare; tests/kubeapi/fake_apiserver.py,
refused_probe) with the kubelet's Unhealthy event, so its pods run and are
never Ready.  remedyd proposes one action, risk medium: test the probe's
port 8080, replace it with 80 -- and before the approval the request log
holds only its dry-run.  Approved: the pods become Ready, the action is
verified.

Deployment `api` declares two ports (80, 443) with the same probe on 8080:
which port is meant is a guess, so its incident is explained without an
action.

HTTP status: Deployment `shop`'s readiness probe asks GET /ready, a path
the image's web server does not have (the test API server's kubelet
answers "HTTP probe failed with statuscode: 404", IMAGE_HTTP_PATHS), while
its liveness probe asks / on the same port and passes: the readiness
probe takes the path /, approved, Ready, verified.  Deployment `cart`'s
liveness probe asks /healthz and fails too: nothing says which path the
server has, so it is explained with the status code, no action.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, pod_ready, wait_action, wait_for, wait_state  # noqa: E402

APPS = "/apis/apps/v1/namespaces/demo"
PORT = "/spec/template/spec/containers/0/readinessProbe/httpGet/port"


def deployment(name, ports):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": name, "image": "nginx:1.25",
                                      "ports": [{"containerPort": p} for p in ports],
                                      "readinessProbe": {"httpGet": {"path": "/", "port": 8080}}}]}}}}


def app_pods(c, name):
    return [p for p in c.pods() if p["metadata"].get("labels", {}).get("app") == name]


def create(c):
    for name, ports in (("web", [80]), ("api", [80, 443])):
        status, obj = c.api("POST", APPS + "/deployments", deployment(name, ports))
        assert status == 201, obj

    def refused():
        pods = app_pods(c, "web") + app_pods(c, "api")
        return len(pods) == 4 and all(p["status"].get("phase") == "Running" and not pod_ready(p)
                                      for p in pods)
    wait_for(refused, 60, "the pods to run without passing their readiness probe")


def path_deployment(name, live):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": name, "image": "nginx:1.25",
                                      "ports": [{"containerPort": 80}],
                                      "readinessProbe": {"httpGet": {"path": "/ready", "port": 80}},
                                      "livenessProbe": {"httpGet": {"path": live, "port": 80},
                                                        "periodSeconds": 1}}]}}}}


def create_paths(c):
    for name, live in (("shop", "/"), ("cart", "/healthz")):
        status, obj = c.api("POST", APPS + "/deployments", path_deployment(name, live))
        assert status == 201, obj

    def failing():
        pods = app_pods(c, "shop") + app_pods(c, "cart")
        return len(pods) == 4 and all(p["status"].get("phase") == "Running" and not pod_ready(p)
                                      for p in pods)
    wait_for(failing, 60, "the pods to run without passing their readiness probe")


class Case(unittest.TestCase):
    """The test API server with what create_fn makes, and remedyd."""
    create_fn = None

    def setUp(self):
        self.env = Env(scenario="empty", hold_down="1s", verify_timeout="60s",
                       before_daemon=type(self).create_fn)
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        if self.ok:
            self.assertEqual(rc, 0)


class ProbeFix(Case):
    create_fn = create

    def test_probe_pointed_at_the_declared_port(self):
        c, d = self.env.cluster, self.env.daemon
        act = wait_action(d, "pending", timeout=60)[0]
        self.assertEqual((act["kind"], act["name"]), ("Deployment", "web"))
        self.assertEqual(act["risk"], "medium")
        rc, out, err = d.ctl("show", str(act["id"]))
        self.assertEqual(rc, 0, err)
        patch = out["action"]["patch"]
        self.assertIn({"op": "test", "path": PORT, "value": 8080}, patch)
        self.assertIn({"op": "replace", "path": PORT, "value": 80}, patch)
        self.assertEqual(out["action"]["changes"],
                         [{"path": PORT, "before": 8080, "after": 80}])
        self.assertIn("connection refused", out["action"]["root_cause"])
        # only the dry-run before the approval
        self.assertEqual(c.remedyd_writes(), [])
        self.assertTrue(c.remedyd_writes(include_dry_run=True))

        # two declared ports: explained, no action
        def api_explained():
            rc, out, err = d.ctl("incidents")
            for inc in out["incidents"]:
                dg = inc.get("diagnosis") or {}
                if inc["name"] == "api" and dg.get("status") == "explained":
                    return dg
            return None
        dg = wait_for(api_explained, 60, "the api incident to be explained")
        self.assertIn("several ports (80, 443)", dg["summary"])
        rc, out, err = d.ctl("list")
        self.assertEqual([a["name"] for a in out["actions"]], ["web"])

        rc, out, err = d.ctl("approve", str(act["id"]))
        self.assertEqual(rc, 0, err)
        done = wait_state(d, act["id"], ("verified", "failed", "not-recovered"), timeout=90)
        self.assertEqual(done["state"], "verified", done)
        dep = c.get(APPS + "/deployments/web")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
                         ["httpGet"]["port"], 80)
        pods = app_pods(c, "web")
        self.assertTrue(pods and all(pod_ready(p) for p in pods), pods)
        self.assertEqual(len([w for w in c.remedyd_writes() if w["method"] == "PATCH"]), 1)
        self.ok = True


class ProbePath(Case):
    create_fn = create_paths

    def test_path_of_the_passing_probe(self):
        c, d = self.env.cluster, self.env.daemon
        path = "/spec/template/spec/containers/0/readinessProbe/httpGet/path"
        act = wait_action(d, "pending", timeout=60)[0]
        self.assertEqual((act["kind"], act["name"]), ("Deployment", "shop"))
        self.assertEqual(act["risk"], "medium")
        rc, out, err = d.ctl("show", str(act["id"]))
        self.assertEqual(rc, 0, err)
        self.assertIn({"op": "test", "path": path, "value": "/ready"}, out["action"]["patch"])
        self.assertIn({"op": "replace", "path": path, "value": "/"}, out["action"]["patch"])
        self.assertEqual(out["action"]["changes"], [{"path": path, "before": "/ready", "after": "/"}])
        self.assertIn("answers status 404", out["action"]["root_cause"])
        self.assertEqual(c.remedyd_writes(), [])

        def cart_explained():
            rc, out, err = d.ctl("incidents")
            for inc in out["incidents"]:
                dg = inc.get("diagnosis") or {}
                if inc["name"] == "cart" and dg.get("status") == "explained":
                    return dg
            return None
        dg = wait_for(cart_explained, 60, "the cart incident to be explained")
        # both probes fail; the newest event's is explained
        self.assertRegex(dg["summary"], r"probe of container cart asks GET /(ready|healthz) on port 80 "
                                        r"and the server answers an error status")
        rc, out, err = d.ctl("list")
        self.assertEqual([a["name"] for a in out["actions"]], ["shop"])

        rc, out, err = d.ctl("approve", str(act["id"]))
        self.assertEqual(rc, 0, err)
        done = wait_state(d, act["id"], ("verified", "failed", "not-recovered"), timeout=90)
        self.assertEqual(done["state"], "verified", done)
        pods = app_pods(c, "shop")
        self.assertTrue(pods and all(pod_ready(p) for p in pods), pods)
        self.assertEqual(len([w for w in c.remedyd_writes() if w["method"] == "PATCH"]), 1)
        self.ok = True


if __name__ == "__main__":
    unittest.main()

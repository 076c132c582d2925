"""Fixes around the workload, healed on a real cluster.

- A Service whose selector (app=chekout) matches no pod, while one
  Deployment of its namespace runs pods that serve its targetPort by name:
  remedyd proposes that Deployment's labels as the selector; approved, the
  Service gets a ready endpoint and the action is verified.
- A Deployment whose nodeSelector names a host that does not exist (the
  node's own kubernetes.io/hostname with a typo): the real scheduler
  leaves its pod Pending; remedyd, from its Node cache, proposes the value
  the node carries; approved, the pod is scheduled, runs, verified.
- A Deployment whose readiness probe asks GET /ready of a web server that
  answers 404 (the kubelet: "HTTP probe failed with statuscode: 404"),
  while its liveness probe asks / on the same port and passes: remedyd
  proposes the path /; approved, the pods get Ready, verified.
- A Job whose pods exit 3 with "error: cannot reach queue": detected while
  the real Job controller is still retrying (no Failed condition yet), and
  explained with the exit code and that log line, no action.

Before each approval remedyd's only writes are dry-runs; after it, the
API server received exactly the approved patch.
"""
import json

import e2e
from e2e import kubectl, pods, pod_ready, wait

SVC_NS, NODE_NS, PROBE_NS, JOB_NS = ("e2e-around-svc", "e2e-around-node", "e2e-around-probe",
                                     "e2e-around-job")

SVC = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: checkout}
spec:
  replicas: 1
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: nginx:1.25
        ports: [{name: http, containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: checkout}
spec:
  selector: {app: chekout}
  ports: [{port: 80, targetPort: http}]
"""

PINNED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: pinned}
spec:
  replicas: 1
  selector: {matchLabels: {app: pinned}}
  template:
    metadata: {labels: {app: pinned}}
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector: {kubernetes.io/hostname: %(host)s}
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
"""

SHOP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /ready, port: 80}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
"""

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: consume}
spec:
  backoffLimit: 6
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: worker
        image: failer:1.0
"""


class Around(e2e.Case):
    namespaces = (SVC_NS, NODE_NS, PROBE_NS, JOB_NS)

    def test_fixes_around_the_workload(self):
        node = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"][0]
        host = node["metadata"]["labels"]["kubernetes.io/hostname"]
        e2e.apply(SVC, SVC_NS)
        e2e.apply(PINNED % {"host": host + "x"}, NODE_NS)
        e2e.apply(SHOP, PROBE_NS)
        e2e.apply(JOB, JOB_NS)
        self.start_remedyd()

        def pending():
            rc, out, err = self.ctl("list")
            acts = {a["namespace"]: a for a in out["actions"] if a["state"] == "pending"}
            return acts if len(acts) == 3 else None
        acts = wait(pending, 240, "three pending actions")
        shown = {}
        for ns, a in acts.items():
            rc, out, err = self.ctl("show", str(a["id"]))
            self.assertEqual(rc, 0, err)
            shown[ns] = out["action"]
            self.assert_only_dry_runs(ns)

        svc = shown[SVC_NS]
        self.assertEqual((svc["kind"], svc["name"], svc["risk"]), ("Service", "checkout", "medium"))
        self.assertEqual(svc["changes"], [{"path": "/spec/selector/app", "before": "chekout",
                                           "after": "checkout"}])
        pinned = shown[NODE_NS]
        self.assertEqual((pinned["kind"], pinned["name"], pinned["risk"]),
                         ("Deployment", "pinned", "medium"))
        self.assertEqual(pinned["changes"], [{
            "path": "/spec/template/spec/nodeSelector/kubernetes.io~1hostname",
            "before": host + "x", "after": host}])
        self.assertIn("matches no node", pinned["root_cause"])
        shop = shown[PROBE_NS]
        self.assertEqual((shop["kind"], shop["name"], shop["risk"]), ("Deployment", "shop", "medium"))
        self.assertEqual(shop["changes"], [{
            "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/path",
            "before": "/ready", "after": "/"}])
        self.assertIn("statuscode: 404", shop["root_cause"])

        # the failing Job: told while its controller still retries
        def job_explained():
            rc, out, err = self.ctl("incidents")
            for inc in out["incidents"]:
                dg = inc.get("diagnosis") or {}
                if inc["namespace"] == JOB_NS and dg.get("status") == "explained":
                    return inc
            return None
        inc = wait(job_explained, 180, "the failing Job to be explained")
        self.assertEqual((inc["kind"], inc["name"], inc["reason"]), ("Job", "consume", "JobPodsFailing"))
        self.assertIn("exit code 3", inc["diagnosis"]["root_cause"])
        self.assertIn('says: "error: cannot reach queue"', inc["diagnosis"]["root_cause"])
        self.assertIn("immutable", inc["diagnosis"]["summary"])
        jb = json.loads(kubectl("-n", JOB_NS, "get", "job", "consume", "-o", "json").stdout)
        self.assertFalse([c for c in jb["status"].get("conditions") or [] if c["type"] == "Failed"],
                         "detected before the Job controller gave up")
        self.assertEqual(self.audit.writes(JOB_NS), [])

        for ns, act in shown.items():
            self.approve_and_verify(act["id"])
            self.assert_applied_exactly(ns, act)
        ep = json.loads(kubectl("-n", SVC_NS, "get", "endpoints", "checkout", "-o", "json").stdout)
        self.assertTrue([a for s in ep.get("subsets") or [] for a in s.get("addresses") or []], ep)
        ps = [p for p in pods(NODE_NS, "app=pinned") if pod_ready(p)]
        self.assertTrue(ps and all(p["spec"]["nodeName"] == node["metadata"]["name"] for p in ps), ps)
        self.assertTrue([p for p in pods(PROBE_NS, "app=shop") if pod_ready(p)])
        self.ok = True


if __name__ == "__main__":
    e2e.main()

"""Fixes beyond Deployments, healed on a real cluster.

- A StatefulSet (OrderedReady, 2 replicas) rolled out to a missing tag: the
  real StatefulSet controller stops at the broken pod and, after the
  template is reverted, keeps waiting for it (the documented "forced
  rollback" trap).  remedyd proposes ONE action of two steps (the template
  patch, then the deletion of the pod on the bad revision); remedyd is
  killed between the two steps; started again, it finishes: one PATCH and
  one DELETE in the API server's audit log, the rollout completes, the
  action is verified.
- A DaemonSet rolled out to a missing tag: rolled back to its previous
  ControllerRevision, verified.
- A Deployment whose readiness probe aims at port 8080 while its container
  declares and serves 80: the probe's port is patched, the pods become
  Ready, verified.
"""
import os

import e2e
from e2e import kubectl, pods, pod_ready, wait, waiting_reason

STS_NS, DS_NS, PROBE_NS = "e2e-statefulset", "e2e-daemonset", "e2e-probe"

STS = """
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  podManagementPolicy: OrderedReady
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
"""

DS = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: nginx:1.25
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
"""

PROBE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2}
"""


def pending_in(d, ns):
    rc, out, err = d.ctl("list")
    return [a for a in out["actions"] if a["state"] == "pending" and a["namespace"] == ns]


class Workloads(e2e.Case):
    namespaces = (STS_NS, DS_NS, PROBE_NS)

    def show(self, aid):
        rc, out, err = self.ctl("show", str(aid))
        self.assertEqual(rc, 0, err)
        return out["action"]

    def test_statefulset_daemonset_probe(self):
        e2e.apply(STS, STS_NS)
        e2e.apply(DS, DS_NS)
        e2e.apply(PROBE, PROBE_NS)
        kubectl("-n", STS_NS, "rollout", "status", "statefulset/db", "--timeout=180s", timeout=190)
        kubectl("-n", DS_NS, "rollout", "status", "daemonset/agent", "--timeout=120s", timeout=130)
        os.environ["REMEDY_TEST_CRASH_AT"] = "after-step-1"
        try:
            d = self.start_remedyd()
        finally:
            os.environ.pop("REMEDY_TEST_CRASH_AT", None)

        # --- the probe on a port nothing serves ---
        acts = wait(lambda: pending_in(d, PROBE_NS), 180, "a pending probe fix")
        act = self.show(acts[0]["id"])
        self.assertEqual((act["kind"], act["name"]), ("Deployment", "shop"))
        self.assertEqual([(c["path"], c["before"], c["after"]) for c in act["changes"]],
                         [("/spec/template/spec/containers/0/readinessProbe/tcpSocket/port",
                           8080, 80)])
        self.assert_only_dry_runs(PROBE_NS)
        self.approve_and_verify(act["id"])
        self.assert_applied_exactly(PROBE_NS, act)
        self.assertEqual(len([p for p in pods(PROBE_NS, "app=shop") if pod_ready(p)]), 2)

        # --- the DaemonSet rolled out to a missing tag ---
        kubectl("-n", DS_NS, "set", "image", "daemonset/agent", "web=nginx:1.25-typo")
        acts = wait(lambda: pending_in(d, DS_NS), 180, "a pending DaemonSet rollback")
        act = self.show(acts[0]["id"])
        self.assertEqual((act["kind"], act["name"]), ("DaemonSet", "agent"))
        self.assertIn({"path": "/spec/template/spec/containers/0/image",
                       "before": "nginx:1.25-typo", "after": "nginx:1.25"}, act["changes"])
        self.assert_only_dry_runs(DS_NS)
        self.approve_and_verify(act["id"])
        self.assert_applied_exactly(DS_NS, act)

        # --- the StatefulSet: forced rollback, remedyd killed between steps ---
        kubectl("-n", STS_NS, "set", "image", "statefulset/db", "web=nginx:1.25-typo")
        wait(lambda: any(waiting_reason(p) in ("ErrImagePull", "ImagePullBackOff")
                         for p in pods(STS_NS, "app=db")), 120, "db-1's pull failure")
        acts = wait(lambda: pending_in(d, STS_NS), 180, "a pending StatefulSet rollback")
        act = self.show(acts[0]["id"])
        self.assertEqual((act["kind"], act["name"]), ("StatefulSet", "db"))
        steps = act.get("steps") or []
        self.assertEqual([s.get("kind") for s in steps], ["patch", "delete-pod"], steps)
        self.assertEqual(steps[1]["name"], "db-1")
        stuck = e2e.get("pod", "db-1", STS_NS)
        self.assertEqual(steps[1]["uid"], stuck["metadata"]["uid"])
        ws = self.audit.writes(STS_NS)
        self.assertTrue(ws)
        self.assertEqual([e["requestURI"] for e in ws if not e2e.is_dry_run(e)], [])
        self.assertIn("delete", [e["verb"] for e in ws], "the deletion was dry-run too")
        self.assertEqual(e2e.get("pod", "db-1", STS_NS)["metadata"].get("deletionTimestamp"), None,
                         "the dry-run deleted nothing")

        d.ctl("approve", str(act["id"]))
        wait(lambda: d.proc.poll() is not None, 60, "remedyd to die after step 1")
        self.assertEqual(d.proc.returncode, 137, d.log())
        d.logf.close()
        d.start()
        got = e2e.wait_state(d, act["id"], ("verified", "failed", "not-recovered"), timeout=240)
        self.assertEqual(got["state"], "verified", got)
        writes = self.audit.writes(STS_NS, dry_run=False)
        self.assertEqual(sorted((e["verb"], e["objectRef"].get("name")) for e in writes),
                         [("delete", "db-1"), ("patch", "db")])
        for e in writes:
            self.assertEqual(e["responseStatus"]["code"], 200, e["responseStatus"])
        sts = e2e.get("statefulset", "db", STS_NS)
        self.assertEqual(sts["status"]["currentRevision"], sts["status"]["updateRevision"])
        self.assertEqual(sts["status"].get("readyReplicas"), 2)
        rc, out, err = self.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.ok = True


if __name__ == "__main__":
    e2e.main()

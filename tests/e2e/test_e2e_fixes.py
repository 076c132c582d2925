"""The rules backend's Deployment fixes, healed on a real cluster.

OOMKilled: a container that needs 40 MiB under a 32Mi limit is killed by the
kernel's memory cgroup (the kubelet reports OOMKilled, exit code 137);
remedyd proposes a bounded raise of the limit, and after approval the pod
runs and the action is verified.

Crash loop after a rollout: a Deployment of the web server rolled out to an
image whose process exits at start with "FATAL: config: required key
DATABASE_URL is not set"; remedyd reads that line from the previous
container's log (the README's RBAC grants pods/log), names it as the root
cause, and rolls the image back.
"""
import e2e
from e2e import kubectl, pods, pod_ready, wait

OOM_NS, CRASH_NS = "e2e-oom", "e2e-crashloop"

HOG = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: hog}
spec:
  replicas: 1
  selector: {matchLabels: {app: hog}}
  template:
    metadata: {labels: {app: hog}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: hog
        image: memhog:1.0
        args: ["40"]
        resources: {limits: {memory: 32Mi}, requests: {memory: 16Mi}}
"""


class Fixes(e2e.Case):
    namespaces = (OOM_NS, CRASH_NS)

    def test_oom_then_crashloop(self):
        e2e.apply(HOG, OOM_NS)
        e2e.healthy_deployment(CRASH_NS, name="web", replicas=1)
        self.start_remedyd()

        # --- OOMKilled -> memory raise ---
        def oom_pending():
            rc, out, err = self.ctl("list")
            return [a for a in out["actions"] if a["state"] == "pending"
                    and a["namespace"] == OOM_NS]
        acts = wait(oom_pending, 180, "a pending memory raise")
        rc, out, err = self.ctl("show", str(acts[0]["id"]))
        act = out["action"]
        self.assertEqual((act["kind"], act["name"]), ("Deployment", "hog"))
        self.assertIn("OOMKilled", act["root_cause"])
        path = "/spec/template/spec/containers/0/resources/limits/memory"
        self.assertEqual([(c["path"], c["before"]) for c in act["changes"]], [(path, "32Mi")])
        self.assert_only_dry_runs(OOM_NS)
        self.approve_and_verify(act["id"])
        self.assert_applied_exactly(OOM_NS, act)
        hog = [p for p in pods(OOM_NS, "app=hog") if pod_ready(p)]
        self.assertEqual(len(hog), 1)
        lim = hog[0]["spec"]["containers"][0]["resources"]["limits"]["memory"]
        self.assertEqual(lim, act["changes"][0]["after"])

        # --- crash loop after a rollout -> image rollback ---
        kubectl("-n", CRASH_NS, "set", "image", "deployment/web", "web=crasher:1.0")

        def crash_pending():
            rc, out, err = self.ctl("list")
            return [a for a in out["actions"] if a["state"] == "pending"
                    and a["namespace"] == CRASH_NS]
        acts = wait(crash_pending, 180, "a pending rollback of the crash loop")
        rc, out, err = self.ctl("show", str(acts[0]["id"]))
        act = out["action"]
        self.assertIn("DATABASE_URL is not set", act["root_cause"] + "\n".join(act["evidence"]))
        self.assertIn({"path": "/spec/template/spec/containers/0/image",
                       "before": "crasher:1.0", "after": "nginx:1.25"}, act["changes"])
        self.assert_only_dry_runs(CRASH_NS)
        self.approve_and_verify(act["id"])
        self.assert_applied_exactly(CRASH_NS, act)
        self.ok = True


if __name__ == "__main__":
    e2e.main()

"""Every analyzer family a real cluster can produce, each beside a healthy
twin that must stay silent.

Two namespaces hold the same workloads; in e2e-broken each has one fault the
real controllers, scheduler and kubelet turn into the failure remedy must
see, in e2e-healthy the same objects without the fault:

  Deployment cfg    env from a ConfigMap key that does not exist
                    -> CreateContainerConfigError (kubelet)
  Deployment sched  nodeSelector no node matches -> Unschedulable (scheduler)
  Deployment probe  readiness probe on a port nothing listens on
                    -> ReadinessProbeFailed (kubelet's Unhealthy events)
  Deployment api    a process that exits 1 at start -> CrashLoopBackOff
  Job import        a process that exits 3 -> BackoffLimitExceeded (job
                    controller)
  PVC data          a StorageClass that does not exist -> ProvisioningFailed
                    (persistent volume controller)
  Service cart      a selector that matches no pod -> NoMatchingPods
"""
import e2e
from e2e import kubectl, wait

BROKEN, HEALTHY = "e2e-broken", "e2e-healthy"


def manifests(ns, broken):
    key = "DB_URL" if broken else "DATABASE_URL"
    node_sel = "{disktype: ssd}" if broken else "{kubernetes.io/hostname: remedy-node}"
    probe_port = 8080 if broken else 80
    api_image = "crasher:1.0" if broken else "nginx:1.25"
    job_image = "failer:1.0" if broken else "oneshot:1.0"
    svc_sel = "chekout" if broken else "checkout"
    pvc = ("storageClassName: fast-ssd" if broken else
           "storageClassName: ''\n  volumeName: %s-data" % ns)

    def deploy(name, spec, labels=None):
        return """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      terminationGracePeriodSeconds: 1
%s
---""" % (name, labels or name, labels or name, spec)

    return "\n".join([
        """
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {%s: "postgres://db:5432/app"}
---""" % key,
        deploy("cfg", """      containers:
      - name: app
        image: nginx:1.25
        env:
        - name: DATABASE_URL
          valueFrom: {configMapKeyRef: {name: app-config, key: DATABASE_URL}}"""),
        deploy("sched", """      nodeSelector: %s
      containers:
      - {name: app, image: nginx:1.25}""" % node_sel),
        deploy("probe", """      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
        readinessProbe: {tcpSocket: {port: %d}, periodSeconds: 2}""" % probe_port),
        deploy("api", """      containers:
      - {name: api, image: %s}""" % api_image),
        deploy("checkout", """      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]"""),
        """
apiVersion: batch/v1
kind: Job
metadata: {name: import}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: import, image: %s}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  %s
---
apiVersion: v1
kind: Service
metadata: {name: cart}
spec:
  selector: {app: %s}
  ports: [{port: 80, targetPort: 80}]
""" % (job_image, pvc, svc_sel),
    ])


PV = """
apiVersion: v1
kind: PersistentVolume
metadata: {name: %s-data}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ''
  hostPath: {path: /tmp/%s-data}
  claimRef: {namespace: %s, name: data}
"""

EXPECT = {
    ("Deployment", "cfg", "CreateContainerConfigError"),
    ("Deployment", "sched", "Unschedulable"),
    ("Deployment", "probe", "ReadinessProbeFailed"),
    ("Deployment", "api", "CrashLoopBackOff"),
    ("Job", "import", "BackoffLimitExceeded"),
    ("PersistentVolumeClaim", "data", "ProvisioningFailed"),
    ("Service", "cart", "NoMatchingPods"),
}


class Detect(e2e.Case):
    namespaces = (BROKEN, HEALTHY)

    def tearDown(self):
        kubectl("delete", "pv", HEALTHY + "-data", "--wait=false", check=False)
        super().tearDown()

    def test_every_family_and_silent_twins(self):
        e2e.apply(PV % (HEALTHY, HEALTHY, HEALTHY))
        e2e.apply(manifests(HEALTHY, False), HEALTHY)
        # The twins are running before remedyd looks: a Service whose pods
        # are still starting has no ready endpoints for a moment, which is
        # no healthy steady state.
        for dep in ("cfg", "sched", "probe", "api", "checkout"):
            kubectl("-n", HEALTHY, "rollout", "status", "deployment/" + dep,
                    "--timeout=180s", timeout=190)
        e2e.apply(manifests(BROKEN, True), BROKEN)
        d = self.start_remedyd()

        def incidents(ns):
            rc, out, err = d.ctl("incidents")
            self.assertEqual(rc, 0, err)
            return {(i["kind"], i["name"], i["reason"]) for i in out["incidents"]
                    if i["namespace"] == ns and i["state"] != "resolved"}

        wait(lambda: EXPECT <= incidents(BROKEN), 240,
             "an incident for each broken workload (have %s)" % (incidents(BROKEN),))
        # The twins are healthy by now: their pods ran, their job completed
        # and their claim is bound, long before the broken job's second
        # failure.  Not one incident for them; nothing unexpected for the
        # broken namespace either.
        wait(lambda: kubectl("-n", HEALTHY, "get", "job", "import", "-o",
                             "jsonpath={.status.succeeded}").stdout == "1", 60,
             "the healthy job to succeed")
        self.assertEqual(incidents(HEALTHY), set())
        self.assertEqual(incidents(BROKEN), EXPECT)

        # The crash loop's diagnosis read the previous container's log: the
        # README's RBAC grants pods/log.
        rc, out, err = d.ctl("incidents")
        api = [i for i in out["incidents"] if i["namespace"] == BROKEN and i["name"] == "api"][0]

        def explained():
            rc, text, err = d.ctl("incidents", "show", str(api["id"]), output=None)
            self.assertEqual(rc, 0, err)
            return "DATABASE_URL is not set" in text
        wait(explained, 120, "the crash loop's diagnosis to quote the container's log")

        # Nothing was written: the rules backend proposes no fix for these
        # (the probe and crash loop have no previous revision), and no write
        # of remedyd's reached either namespace.
        for ns in self.namespaces:
            self.assertEqual([e["requestURI"] for e in self.audit.writes(ns, dry_run=False)], [])
        self.ok = True


if __name__ == "__main__":
    e2e.main()

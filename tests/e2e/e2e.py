"""The e2e harness: a real Kubernetes cluster (scripts/cluster), a real
remedyd running with the README's RBAC, real remedyctl.

The cluster is started once per ctest run (the e2e.cluster_up fixture) in
REMEDY_E2E_DIR; each test works in namespaces of its own and deletes them.
remedyd authenticates as the ServiceAccount remedy/remedyd that
tests/e2e/setup_rbac.py made with the README's commands, so every e2e test
also proves that those commands grant enough.

Every wait polls a condition with a deadline; processes are stopped by pid.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from harness import Daemon, wait_for, wait_action, wait_state  # noqa: E402,F401

E2E_DIR = os.environ.get("REMEDY_E2E_DIR", "")
REMEDY_SA = "system:serviceaccount:remedy:remedyd"


def load_env():
    env = {}
    path = os.path.join(E2E_DIR, "env")
    if not E2E_DIR or not os.path.exists(path):
        raise unittest.SkipTest("no e2e cluster (REMEDY_E2E_DIR=%r); "
                                "the e2e.cluster_up fixture did not run" % E2E_DIR)
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    return env


ENV = load_env() if E2E_DIR else {}


def kubectl(*args, input=None, check=True, kubeconfig=None, timeout=60):
    """The cluster's own kubectl, as cluster admin unless told otherwise."""
    cmd = [ENV["REMEDY_E2E_KUBECTL"], "--kubeconfig",
           kubeconfig or ENV["KUBECONFIG"]] + list(args)
    r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("kubectl %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def get(kind, name, ns):
    r = kubectl("-n", ns, "get", kind, name, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def apply(text, ns=None):
    args = ["apply", "-f", "-"]
    if ns:
        args = ["-n", ns] + args
    kubectl(*args, input=text)


def pods(ns, selector=None):
    args = ["-n", ns, "get", "pods", "-o", "json"]
    if selector:
        args += ["-l", selector]
    return json.loads(kubectl(*args).stdout)["items"]


def pod_ready(p):
    for c in p.get("status", {}).get("conditions", []):
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def waiting_reason(p):
    for cs in p.get("status", {}).get("containerStatuses", []):
        w = cs.get("state", {}).get("waiting")
        if w:
            return w.get("reason")
    return None


def is_dry_run(e):
    """Was the audited request a dry-run?  The API server decodes a
    DELETE's options from its body when it has one, and then ignores the
    query: `?dryRun=All` with a DeleteOptions body that does not say dryRun
    deletes for real.  Everything else: the query."""
    ro = e.get("requestObject")
    if e.get("verb") in ("delete", "deletecollection") and isinstance(ro, dict) \
            and ro.get("kind") == "DeleteOptions":
        return ro.get("dryRun") == ["All"]
    return "dryRun=All" in e.get("requestURI", "")


class AuditLog:
    """The API server's audit log: what every client asked, as the server
    saw it.  Requests of remedyd's ServiceAccount in a namespace, received
    since the test began (a namespace name may have served an earlier run)."""

    def __init__(self):
        self.path = ENV["REMEDY_E2E_AUDIT_LOG"]
        self.since = datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")

    def events(self):
        out = []
        with open(self.path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a line being written
        return out

    def writes(self, ns, user=REMEDY_SA, dry_run=None):
        """Mutating requests of user in ns (ResponseComplete stage only)."""
        res = []
        for e in self.events():
            if e.get("stage") != "ResponseComplete":
                continue
            if e.get("requestReceivedTimestamp", "") < self.since:
                continue
            if e.get("user", {}).get("username") != user:
                continue
            if e.get("verb") not in ("create", "update", "patch", "delete", "deletecollection"):
                continue
            ref = e.get("objectRef", {})
            if ref.get("namespace") != ns:
                continue
            if ref.get("resource") in ("leases",):
                continue
            dry = is_dry_run(e)
            if dry_run is not None and dry != dry_run:
                continue
            res.append(e)
        return res


class Case(unittest.TestCase):
    """A test with its own namespace(s) and remedyd."""

    namespaces = ()          # created before remedyd starts
    hold_down = "2s"
    verify_timeout = "120s"
    extra = ""

    def setUp(self):
        self.ok = False
        self.workdir = tempfile.mkdtemp(prefix="remedy-e2e-")
        self.audit = AuditLog()
        self.ns = []
        for n in self.namespaces:
            self.make_namespace(n)
        self.daemon = None

    def make_namespace(self, n):
        # a namespace of an earlier run may still be terminating
        wait(lambda: kubectl("get", "namespace", n, check=False).returncode != 0, 180,
             "namespace %s of an earlier run to go" % n)
        kubectl("create", "namespace", n)
        # the README's per-namespace grant (setup_rbac.py recorded it)
        with open(os.path.join(E2E_DIR, "rolebinding.sh")) as f:
            script = f.read()
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script, "rb", n],
                           capture_output=True, text=True,
                           env=dict(os.environ, PATH=os.path.dirname(ENV["REMEDY_E2E_KUBECTL"])
                                    + ":" + os.environ["PATH"],
                                    KUBECONFIG=ENV["KUBECONFIG"]))
        if r.returncode:
            raise AssertionError("rolebinding in %s: %s" % (n, r.stderr))
        self.ns.append(n)

    def start_remedyd(self, namespaces=None, extra=None, hold_down=None, control_extra=""):
        class K:
            kubeconfig = os.path.join(E2E_DIR, "remedyd.kubeconfig")
        self.daemon = Daemon(self.workdir, K, hold_down=hold_down or self.hold_down,
                             verify_timeout=self.verify_timeout,
                             namespaces=tuple(namespaces or self.ns),
                             extra=self.extra if extra is None else extra,
                             control_extra=control_extra)
        return self.daemon

    def tearDown(self):
        rc = 0
        if self.daemon:
            rc = self.daemon.stop()
        if not self.ok:
            if self.daemon:
                print("--- remedyd log ---\n" + self.daemon.log())
            for n in self.ns:
                print("--- kubectl get all,events -n %s ---" % n)
                print(kubectl("-n", n, "get", "all,events", check=False).stdout[-6000:])
            print("--- workdir kept: " + self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        for n in self.ns:
            kubectl("delete", "namespace", n, "--wait=false", check=False)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    # --- helpers ---
    def ctl(self, *args, **kw):
        return self.daemon.ctl(*args, **kw)

    def one_pending(self, timeout=120):
        acts = wait_action(self.daemon, "pending", timeout=timeout)
        self.assertEqual(len(acts), 1, acts)
        rc, out, err = self.ctl("show", str(acts[0]["id"]))
        self.assertEqual(rc, 0, err)
        return out["action"]

    def approve_and_verify(self, aid, timeout=180):
        rc, out, err = self.ctl("approve", str(aid), "--comment", "e2e")
        self.assertEqual(rc, 0, err)
        act = wait_state(self.daemon, aid, ("verified", "failed", "not-recovered"),
                         timeout=timeout)
        self.assertEqual(act["state"], "verified", act)
        return act

    def assert_only_dry_runs(self, ns):
        """Before approval remedyd's only writes carry dryRun=All."""
        ws = self.audit.writes(ns)
        self.assertTrue(ws, "remedyd sent its dry-run")
        self.assertEqual([e["requestURI"] for e in ws if not is_dry_run(e)], [],
                         "a write that was not a dry-run before approval")

    def assert_applied_exactly(self, ns, act):
        """After approval: exactly one write, the approved patch, accepted."""
        ws = self.audit.writes(ns, dry_run=False)
        self.assertEqual(len(ws), 1, [e["requestURI"] for e in ws])
        e = ws[0]
        self.assertEqual(e["verb"], "patch")
        self.assertEqual(e["responseStatus"]["code"], 200, e["responseStatus"])
        self.assertEqual(e.get("requestObject"), act["patch"],
                         "the server received exactly the approved patch")
        return e


DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %(name)s}
spec:
  replicas: %(replicas)d
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: %(image)s
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
"""


def healthy_deployment(ns, name="web", replicas=2, image="nginx:1.25"):
    """A Deployment of the web server, rolled out and available."""
    apply(DEPLOY % {"name": name, "replicas": replicas, "image": image}, ns)
    kubectl("-n", ns, "rollout", "status", "deployment/" + name, "--timeout=120s",
            timeout=130)


def break_rollout(ns, name="web", image="nginx:1.25-typo"):
    """Roll the Deployment out to an image tag the registry does not have
    and wait for the kubelet's pull failure."""
    kubectl("-n", ns, "set", "image", "deployment/" + name, "web=" + image)
    wait(lambda: any(waiting_reason(p) in ("ErrImagePull", "ImagePullBackOff")
                     for p in pods(ns, "app=" + name)), 120, "the kubelet's pull failure")


def wait(cond, timeout, what):
    return wait_for(cond, timeout, what, interval=0.5)


def main():
    unittest.main(verbosity=2)

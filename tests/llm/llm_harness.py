"""Helpers for the diagnosis tests: the test LLM server, a remedyd
configured for an LLM backend, broken workloads with a planted secret
corpus.  Every wait polls with a deadline (harness.wait_for)."""
import json
import os
import signal
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402

FAKE_LLM = os.path.join(HERE, "fake_llm.py")

API_KEY = "sk-remedy-test-KEY-7d3f9a2b4c6e8f0a1b3c5d7e"

# Planted in the test cluster; none of it may reach an LLM, the log or the
# store.  (name, value)
SECRETS = [
    ("env value", "Sup3rS3cretPassw0rd!env"),
    ("secret name", "payments-db-credentials"),
    ("connection string password in args", "pg-Pa55w0rd-9f8e7d"),
    ("api key in an event", "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a"),
    ("github token in an event", "ghp_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78"),
    ("ADO connection string password in an event", "Adm1n!Pass2024xyz"),
    ("bearer token in a log", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA"),
    ("AWS access key id in a log", "AKIAIOSFODNN7EXAMPLE"),
    ("AWS secret key in a log", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("mongodb password in a log", "M0ng0-Secr3t-Pw"),
    ("random token in a log", "9fK2xQ7vL0pR3sT8wY1zB4nM6cV5hJ2g"),
    ("private key in a log", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"),
    ("password in an event", "hunter2-Xy9!"),
]

LOG_TEXT = "\n".join([
    "2026-11-27T03:00:00Z starting api server v2",
    "2026-11-27T03:00:01Z connecting to mongodb://root:M0ng0-Secr3t-Pw@mongo:27017/admin",
    "2026-11-27T03:00:01Z upstream call with Authorization: Bearer "
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA",
    "2026-11-27T03:00:02Z AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "2026-11-27T03:00:02Z aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "2026-11-27T03:00:03Z session established: 9fK2xQ7vL0pR3sT8wY1zB4nM6cV5hJ2g",
    "-----BEGIN PRIVATE KEY-----",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
    "-----END PRIVATE KEY-----",
    "2026-11-27T03:00:04Z panic: cannot open /data/cache: permission denied",
]) + "\n"


class LlmServer:
    def __init__(self, workdir, *extra):
        self.dir = os.path.join(workdir, "llm")
        os.makedirs(self.dir)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([sys.executable, FAKE_LLM, "--dir", self.dir, "--port", "0"] + list(extra),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        ready = os.path.join(self.dir, "ready")

        def is_ready():
            if self.proc.poll() is not None:
                raise AssertionError("test LLM server exited")
            return os.path.exists(ready)
        harness.wait_for(is_ready, 30, "the test LLM server")
        with open(ready) as f:
            self.url = json.load(f)["url"]

    def requests(self):
        with urllib.request.urlopen(self.url + "/_test/requests", timeout=30) as r:
            return json.load(r)["requests"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class LlmDaemon(harness.Daemon):
    """A real remedyd whose diagnosis section is given."""

    def __init__(self, workdir, cluster, diagnosis, namespaces=None, env=None, extra=""):
        self.dir = os.path.join(workdir, "remedyd")
        os.makedirs(self.dir, exist_ok=True)
        self.socket = os.path.join(self.dir, "remedyd.sock")
        self.db = os.path.join(self.dir, "remedy.db")
        self.config = os.path.join(self.dir, "remedyd.yaml")
        self.env = env
        ns = "[%s]" % ", ".join(namespaces) if namespaces else "[]"
        lines = ["kubernetes:", "  kubeconfig: %s" % cluster.kubeconfig, "  namespaces: %s" % ns,
                 "store:", "  path: %s" % self.db, "control:", "  socket: %s" % self.socket,
                 "diagnosis:", "  hold_down: 1s"]
        lines += ["  %s: %s" % (k, v) for k, v in diagnosis.items()]
        lines += ["actions:", "  verify_timeout: 60s", "log:", "  level: debug"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        self.logpath = os.path.join(self.dir, "remedyd.log")
        self.proc = None
        self.start()

    def start(self):
        self.logf = open(self.logpath, "a")
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = subprocess.Popen([harness.REMEDYD, "-v", "-c", self.config],
                                     stdout=self.logf, stderr=subprocess.STDOUT, env=env)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("remedyd exited %s:\n%s" % (self.proc.returncode, self.log()))
            rc, out, _ = self.ctl("status")
            return rc == 0 and out.get("synced")
        harness.wait_for(up, 60, "remedyd to sync its caches")

    def full_log(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.logpath) as f:
            return f.read()

    def incidents(self):
        rc, out, err = self.ctl("incidents")
        assert rc == 0, err
        return out["incidents"]


def deployment(ns, name, image, env=True, args=None):
    c = {"name": "app", "image": image}
    if env:
        c["env"] = [{"name": "DB_PASSWORD", "value": "Sup3rS3cretPassw0rd!env"},
                    {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "payments-db-credentials",
                                                                         "key": "token"}}},
                    {"name": "LOG_LEVEL", "value": "debug"}]
        c["envFrom"] = [{"secretRef": {"name": "payments-db-credentials"}}]
        c["args"] = args or ["--db-url=postgres://admin:pg-Pa55w0rd-9f8e7d@db:5432/app", "--port=8080"]
        c["resources"] = {"limits": {"memory": "256Mi", "cpu": "500m"}, "requests": {"memory": "128Mi"}}
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [c]}}}}


def broken_rollout(cluster, ns, name="web", env=True):
    """Deployment ns/name at nginx:1.25, then rolled out to an image that
    does not exist: its new pods sit in ImagePullBackOff."""
    cluster.test("POST", "/objects", {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns}})
    cluster.test("POST", "/objects", deployment(ns, name, "nginx:1.25", env))

    def rolled():
        d = cluster.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name))
        return d.get("status", {}).get("availableReplicas") == 2
    harness.wait_for(rolled, 30, "%s/%s to roll out" % (ns, name))
    cluster.test("POST", "/objects", deployment(ns, name, "nginx:1.27-typo", env))


def plant_events(cluster, ns):
    """Warning Events with secrets in them, about every pod of ns that
    cannot pull its image."""
    def broken():
        ps = [p for p in cluster.pods(ns)
              if any(((c.get("state") or {}).get("waiting") or {}).get("reason") in
                     ("ErrImagePull", "ImagePullBackOff")
                     for c in (p.get("status") or {}).get("containerStatuses") or [])]
        return ps
    for p in harness.wait_for(broken, 30, "broken pods in %s" % ns):
        pod = p["metadata"]["name"]
        for i, msg in enumerate([
                "Readiness probe failed: GET /health?api_key=sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a returned 401",
                "Error syncing: token ghp_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78 was rejected",
                "db connect failed: Server=db;Database=app;User Id=sa;Password=Adm1n!Pass2024xyz;",
                "config reload: password: hunter2-Xy9! is too weak"]):
            st, _ = cluster.api("POST", "/api/v1/namespaces/%s/events" % ns, {
                "kind": "Event", "apiVersion": "v1",
                "metadata": {"name": "%s.secret%d" % (pod, i), "namespace": ns},
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "uid": p["metadata"]["uid"]},
                "reason": "Unhealthy", "message": msg, "type": "Warning", "count": 3,
                "source": {"component": "kubelet"}})
            assert st in (200, 201), st


def crash_loop(cluster, ns, name="api"):
    """A Deployment whose pods crash-loop, with secrets in their logs."""
    cluster.test("POST", "/objects", {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns}})
    cluster.test("POST", "/objects", deployment(ns, name, "busybox:1.36"))

    def pods_up():
        ps = cluster.pods(ns)
        return ps if len(ps) == 2 and all(harness.pod_ready(p) for p in ps) else None
    for p in harness.wait_for(pods_up, 30, "%s/%s pods" % (ns, name)):
        pn = p["metadata"]["name"]
        st, _ = cluster.api("PATCH", "/api/v1/namespaces/%s/pods/%s" % (ns, pn),
                            {"metadata": {"annotations": {"remedy.test/log": LOG_TEXT}}},
                            ctype="application/merge-patch+json")
        assert st == 200, st
        status = {"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
            {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{
                "name": "app", "ready": False, "restartCount": 4, "image": "busybox:1.36", "imageID": "",
                "started": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff",
                                      "message": "back-off 40s restarting failed container=app"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 2,
                                             "message": "panic: token=hunter2-Xy9!"}}}]}}
        st, _ = cluster.api("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, pn), status,
                            ctype="application/merge-patch+json")
        assert st == 200, st


def leaks(text, extra=()):
    """The planted secrets (and extra strings) that occur in text."""
    return [what for what, s in list(SECRETS) + list(extra) if s in text]

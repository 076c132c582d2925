"""Integration harness: the test API server, a real remedyd, real remedyctl.

Every wait polls a condition with a deadline; nothing sleeps and hopes.
Processes are stopped by the pid we started, never by name.
"""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SRCDIR = os.environ.get("REMEDY_SRCDIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REMEDYD = os.environ.get("REMEDYD", os.path.join(SRCDIR, "build", "daemon", "remedyd"))
REMEDYCTL = os.environ.get("REMEDYCTL", os.path.join(SRCDIR, "build", "ctl", "remedyctl"))
FAKE = os.path.join(SRCDIR, "tests", "kubeapi", "fake_apiserver.py")
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def wait_for(cond, timeout=30.0, what="condition", interval=0.05):
    """Poll cond() until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)



def parse_ctl_json(args, out):
    """remedyctl -o json's output: one JSON document, except the audit log
    (`audit` without verify or show), JSON Lines, one row per line, read
    back here as {"rows": [...]} (the daemon's reply shape)."""
    words = [a for a in args if not a.startswith("-")]
    if args and args[0] == "audit" and not (set(words[1:2]) & {"verify", "show"}):
        return {"rows": [json.loads(line) for line in out.splitlines() if line.strip()]}
    return json.loads(out) if out.strip() else out

class Cluster:
    """The test API server in its own directory."""

    def __init__(self, workdir, scenario="broken-rollout", replicas=3, args=()):
        """args: more options of fake_apiserver.py (--profile v1.20, ...)."""
        self.dir = os.path.join(workdir, "cluster")
        os.makedirs(self.dir)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--dir", self.dir, "--port", "0",
             "--scenario", scenario, "--replicas", str(replicas)] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT)
        ready = os.path.join(self.dir, "ready")

        def is_ready():
            if self.proc.poll() is not None:
                raise AssertionError("test API server exited: %s" % self.server_log())
            return os.path.exists(ready)
        wait_for(is_ready, 60, "the test API server")
        with open(ready) as f:
            self.url = json.load(f)["url"]
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.crt"))

    def server_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-4000:]

    def _call(self, method, path, body=None, ctype="application/json", auth=True):
        headers = {"User-Agent": "remedy-tests/1.0", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = "Bearer remedy-test-token"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw else None)

    def api(self, method, path, body=None, ctype="application/json"):
        """A request through the real API (recorded, as any client)."""
        return self._call(method, path, body, ctype)

    def test(self, method, path, body=None):
        """A /_test/ endpoint (not recorded)."""
        status, obj = self._call(method, "/_test" + path, body, auth=False)
        if status // 100 != 2:
            raise AssertionError("/_test%s: %s %s" % (path, status, obj))
        return obj

    def get(self, path):
        return self.test("GET", "/objects" + path)

    def requests(self):
        return self.test("GET", "/requests")["requests"]

    def remedyd_writes(self, include_dry_run=False):
        """Mutating requests remedyd sent (dry-runs excluded unless asked)."""
        return [r for r in self.requests()
                if r["method"] in MUTATING and r["user_agent"].startswith("remedyd/")
                and (include_dry_run or not r["dry_run"])]

    def pods(self, ns="demo"):
        status, lst = self.api("GET", "/api/v1/namespaces/%s/pods" % ns)
        assert status == 200, lst
        return lst["items"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def deployment(name, image, replicas=1, ns="demo"):
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


class BrokenRollouts(unittest.TestCase):
    """A test on its own test API server with `rollouts` Deployments
    broken by broken_rollouts(), their pods failing when setUp returns;
    self.daemon, once the test starts one, is stopped by tearDown, which
    keeps the work directory and prints remedyd's log unless the test set
    self.ok."""
    rollouts = ()

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-it-")
        self.cluster = c = Cluster(self.workdir, scenario="empty", replicas=0)
        self.daemon = None
        self.ok = False
        broken_rollouts(c, self.rollouts)
        wait_for(lambda: len([p for p in c.pods() if not pod_ready(p)]) >= len(self.rollouts), 60,
                 "%d broken pods" % len(self.rollouts))

    def tearDown(self):
        if not self.ok and self.daemon:
            print("--- remedyd log ---\n" + self.daemon.log())
        rc = self.daemon.stop() if self.daemon else 0
        self.cluster.stop()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print("--- workdir kept: " + self.workdir)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")


def broken_rollouts(cluster, names):
    """Deployments of one pod at nginx:1.25, each rolled out to an image
    that does not exist: one ImagePullBackOff incident each, and a rollback
    for the rules to propose."""
    items = [deployment(n, "nginx:1.25") for n in names]
    cluster.test("POST", "/objects", {"kind": "List", "items": items})
    for it in items:
        it["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27-typo"
    cluster.test("POST", "/objects", {"kind": "List", "items": items})


def pod_ready(p):
    cs = p.get("status", {}).get("containerStatuses", [])
    return p.get("status", {}).get("phase") == "Running" and cs and all(c.get("ready") for c in cs)


class Daemon:
    """A real remedyd with its own config, store and socket."""

    sync_timeout = 60   # seconds start() waits for synced caches

    def __init__(self, workdir, cluster, hold_down="1s", verify_timeout="60s",
                 namespaces=("demo",), extra="", control_extra="", kube_extra="",
                 sync_timeout=60, diag_extra=""):
        self.dir = os.path.join(workdir, "remedyd")
        os.makedirs(self.dir, exist_ok=True)
        self.socket = os.path.join(self.dir, "remedyd.sock")
        self.db = os.path.join(self.dir, "remedy.db")
        self.config = os.path.join(self.dir, "remedyd.yaml")
        with open(self.config, "w") as f:
            f.write(("kubernetes:\n  kubeconfig: %s\n  namespaces: [%s]\n" + kube_extra.replace("%", "%%") +
                     "store:\n  path: %s\n"
                     "control:\n  socket: %s\n" + control_extra.replace("%", "%%") +
                     "diagnosis:\n  backend: rules\n  hold_down: %s\n" + diag_extra.replace("%", "%%") +
                     "actions:\n  verify_timeout: %s\n%s")
                    % (cluster.kubeconfig, ", ".join(namespaces), self.db, self.socket,
                       hold_down, verify_timeout, extra))
        self.logpath = os.path.join(self.dir, "remedyd.log")
        self.proc = None
        self.sync_timeout = sync_timeout
        self.start()

    def start(self):
        self.logf = open(self.logpath, "a")
        self.proc = subprocess.Popen([REMEDYD, "-v", "-c", self.config],
                                     stdout=self.logf, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("remedyd exited %s:\n%s" % (self.proc.returncode, self.log()))
            rc, out, _ = self.ctl("status")
            return rc == 0 and out.get("synced")
        wait_for(up, self.sync_timeout, "remedyd to sync its caches")

    def log(self):
        if not self.logf.closed:  # stop() closes it; the log is still wanted
            self.logf.flush()
        with open(self.logpath) as f:
            return f.read()[-8000:]

    def ctl(self, *args, output="json"):
        cmd = [REMEDYCTL, "-s", self.socket]
        if output:
            cmd += ["-o", output]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)
        out = r.stdout
        if output == "json" and r.returncode == 0:
            out = parse_ctl_json(args, out)
        return r.returncode, out, r.stderr

    def stop(self):
        """SIGTERM; remedyd must exit 0 (and, under ASan, without leaks)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("remedyd did not stop on SIGTERM:\n" + self.log())
        self.logf.close()
        return rc


class Env:
    """A temp directory with a cluster and a daemon; cleaned up on success.

    before_daemon(cluster) runs after the cluster is up and before remedyd
    starts (to plan failures, say)."""

    def __init__(self, scenario="broken-rollout", replicas=3, hold_down="1s",
                 verify_timeout="60s", before_daemon=None, extra="", cluster_args=()):
        self.workdir = tempfile.mkdtemp(prefix="remedy-it-")
        self.daemon = None
        self.cluster = Cluster(self.workdir, scenario=scenario, replicas=replicas,
                               args=cluster_args)
        if before_daemon:
            before_daemon(self.cluster)
        self.daemon = Daemon(self.workdir, self.cluster, hold_down=hold_down,
                             verify_timeout=verify_timeout, extra=extra)

    def close(self, ok):
        rc = 0
        if self.daemon:
            rc = self.daemon.stop()
        self.cluster.stop()
        if not ok:
            print("--- remedyd log ---\n" + (self.daemon.log() if self.daemon else ""))
            print("--- workdir kept: " + self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return rc


def wait_action(d, state, timeout=30):
    def f():
        rc, out, err = d.ctl("list")
        assert rc == 0, err
        acts = [a for a in out["actions"] if a["state"] == state]
        return acts
    return wait_for(f, timeout, "an action in state %s" % state)


def wait_explained(d, name, timeout=60):
    """The incident of object `name` once its diagnosis is an explanation
    (no patch): remedyctl's incident, with "diagnosis"."""
    def f():
        rc, out, err = d.ctl("incidents")
        assert rc == 0, err
        for inc in out["incidents"]:
            if inc["name"] == name and (inc.get("diagnosis") or {}).get("status") == "explained":
                return inc
        return None
    return wait_for(f, timeout, "the incident of %s to be explained" % name)


def wait_state(d, action_id, states, timeout=60):
    def f():
        rc, out, err = d.ctl("show", str(action_id))
        assert rc == 0, err
        return out["action"] if out["action"]["state"] in states else None
    return wait_for(f, timeout, "action %s to reach %s" % (action_id, states))

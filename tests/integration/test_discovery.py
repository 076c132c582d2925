"""API discovery, one watch per kind, and the informers' own rate-limit lane,
driving a real remedyd against the test API server.

- Kubernetes 1.20 (--profile v1.20): every detection scenario of
  tests/scenarios still gives its incidents (CronJob, PodDisruptionBudget,
  HorizontalPodAutoscaler and EndpointSlice read at their beta versions),
  one log line names each kind served at an older version, and remedyd
  never asks for a path the server does not serve (no 404 in the request
  log).
- A kind taken away turns its family off with one line (however many
  discovery rounds follow) and remedy_kind_served drops to 0; put back, it
  is watched again at the next round and detects again.  The HPA moved to
  autoscaling/v1 is read from its other shape.
- Several namespaces with cluster-wide credentials: exactly one watch per
  kind, none per namespace, and objects of other namespaces ignored.
- The engine's own requests have their own rate-limit lane: with one token a
  second and eleven informers failing over and over, the diagnosis and its
  dry-run go out at their own pace (counted from the request log).
- Namespace-scoped credentials (403 on cluster-wide LISTs): one line per
  kind, then one informer per kind and namespace; a kind whose role alone
  is bound per namespace is the only one watched namespace by namespace.
"""
import os
import re
import shutil
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_scenarios  # noqa: E402
from harness import SRCDIR, Cluster, Daemon, wait_for  # noqa: E402
from svc import free_port, http_get  # noqa: E402
from test_metrics_endpoint import sample  # noqa: E402

DOWNGRADED = ("CronJob: served as batch/v1beta1",
              "PodDisruptionBudget: served as policy/v1beta1",
              "HorizontalPodAutoscaler: served as autoscaling/v2beta2",
              "EndpointSlice: served as discovery.k8s.io/v1beta1")
PDB_OFF = ("PodDisruptionBudget: not served by the API server (tried policy/v1, policy/v1beta1); "
           "its analyzers are off")
# the kinds remedyd watches: the core three and engine.c's kinds[]
KINDS = 17


def scenario(name):
    with open(os.path.join(SRCDIR, "tests", "scenarios", name + ".yaml")) as f:
        return yaml.safe_load(f)


def full_log(d):
    if not d.logf.closed:
        d.logf.flush()
    with open(d.logpath) as f:
        return f.read()


def remedyd_requests(cluster):
    return [r for r in cluster.requests() if r["user_agent"].startswith("remedyd/")]


def informer_request(r):
    """A LIST page or a WATCH (streaming list included) of an informer."""
    q = r["query"]
    return r["method"] == "GET" and ("watch=1" in q or "limit=500" in q)


class V120Scenarios(test_scenarios.Scenarios):
    """Every detection scenario on a server that serves what 1.20 serves."""
    SERVER_ARGS = ("--profile", "v1.20")

    def test_scenarios(self):
        super().test_scenarios()
        self.ok = False
        log = full_log(self.daemon)
        for line in DOWNGRADED:
            self.assertEqual(log.count(line), 1, "%r once in the log" % line)
        self.assertNotIn("not served", log)
        reqs = remedyd_requests(self.cluster)
        self.assertEqual([(r["method"], r["path"]) for r in reqs if r["status"] == 404], [],
                         "remedyd asked for paths the server does not serve")
        for unserved in ("/apis/batch/v1/cronjobs", "/apis/policy/v1/", "/apis/autoscaling/v2/",
                         "/apis/discovery.k8s.io/v1/"):
            self.assertEqual([r["path"] for r in reqs if r["path"].startswith(unserved)], [])
        self.ok = True


class Base(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-disc-")
        self.cluster = None
        self.daemon = None
        self.ok = False

    def tearDown(self):
        if not self.ok and self.daemon:
            print("--- remedyd log ---\n" + self.daemon.log())
        rc = self.daemon.stop() if self.daemon else 0
        if self.cluster:
            self.cluster.stop()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print("--- workdir kept: " + self.workdir)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    def load(self, ns, objs, name=None):
        items = [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns}}]
        for o in objs:
            o = test_scenarios.retarget(o, ns)
            if name:
                o["metadata"]["name"] = name
            items.append(o)
        self.cluster.test("POST", "/objects", {"kind": "List", "items": items})

    def incidents(self):
        rc, out, err = self.daemon.ctl("incidents")
        self.assertEqual(rc, 0, err)
        return out["incidents"]

    def wait_incident(self, ns, kind, name, reason, timeout=30):
        def f():
            return [i for i in self.incidents() if (i["namespace"], i["kind"], i["name"], i["reason"])
                    == (ns, kind, name, reason)]
        return wait_for(f, timeout, "incident %s %s/%s %s" % (kind, ns, name, reason))

    def wait_line(self, line, timeout=30):
        wait_for(lambda: line in full_log(self.daemon), timeout, "log line %r" % line)


class KindsComeAndGo(Base):
    def metrics(self):
        status, _, text = http_get(self.port, "/metrics")
        self.assertEqual(status, 200)
        return text if isinstance(text, str) else text.decode()

    def rounds(self):
        return sample(self.metrics(), "remedy_discovery_total", {"result": "ok"}) or 0

    def wait_rounds(self, n):
        start = self.rounds()
        wait_for(lambda: self.rounds() >= start + n, 30, "%d more discovery rounds" % n)

    def test_removed_and_back(self):
        self.cluster = Cluster(self.workdir, scenario="empty", args=("--profile", "v1.20"))
        self.load("demo", scenario("pdb-blocking")["broken"])
        self.load("demo", scenario("hpa-metrics")["broken"])
        self.port = free_port()
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s",
                             kube_extra="  discovery_interval: 1s\n",
                             extra="http:\n  listen: 127.0.0.1:%d\n" % self.port)
        self.wait_incident("demo", "PodDisruptionBudget", "db", "BlocksAllDisruption")
        self.wait_incident("demo", "HorizontalPodAutoscaler", "queue", "MetricsUnavailable")
        m = self.metrics()
        self.assertEqual(sample(m, "remedy_kind_served", {"kind": "PodDisruptionBudget",
                                                          "version": "policy/v1beta1"}), 1)
        self.assertEqual(sample(m, "remedy_kind_served", {"kind": "PodDisruptionBudget",
                                                          "version": "policy/v1"}), 0)

        # the HPA only at autoscaling/v1: its conditions come from the
        # annotation, and a new broken one is detected there
        self.cluster.test("POST", "/served", {"remove": ["horizontalpodautoscalers/v2beta2"]})
        self.wait_line("HorizontalPodAutoscaler: served as autoscaling/v1")
        self.load("demo", scenario("hpa-metrics")["broken"], name="queue-2")
        self.wait_incident("demo", "HorizontalPodAutoscaler", "queue-2", "MetricsUnavailable")
        self.assertTrue(any(informer_request(r) and r["path"] == "/apis/autoscaling/v1/namespaces/demo/"
                            "horizontalpodautoscalers" for r in remedyd_requests(self.cluster)))

        # PDBs gone: one line, however many rounds follow
        self.cluster.test("POST", "/served", {"remove": ["poddisruptionbudgets"]})
        self.wait_line(PDB_OFF)
        self.wait_rounds(3)
        self.assertEqual(full_log(self.daemon).count(PDB_OFF), 1)
        self.assertEqual(sample(self.metrics(), "remedy_kind_served",
                                {"kind": "PodDisruptionBudget", "version": "policy/v1beta1"}), 0)

        # back: watched again at the next round, and detecting
        self.cluster.test("POST", "/served", {"add": ["poddisruptionbudgets"]})
        self.wait_line("PodDisruptionBudget: served as policy/v1beta1")
        self.load("demo", scenario("pdb-blocking")["broken"], name="db-2")
        self.wait_incident("demo", "PodDisruptionBudget", "db-2", "BlocksAllDisruption")
        self.assertEqual(sample(self.metrics(), "remedy_kind_served",
                                {"kind": "PodDisruptionBudget", "version": "policy/v1beta1"}), 1)
        self.assertEqual([(r["method"], r["path"]) for r in remedyd_requests(self.cluster)
                          if r["status"] == 404], [])
        self.ok = True


class GoneBetweenRounds(Base):
    def test_404_turns_the_family_off_without_retries(self):
        """PDBs disappear long before the next discovery round: the first
        404 of their watch turns the family off with one line, and no
        second request for them follows."""
        self.cluster = Cluster(self.workdir, scenario="empty", args=("--profile", "v1.20"))
        self.load("demo", scenario("pdb-blocking")["broken"])
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s", kube_extra="  discovery_interval: 1h\n")
        self.wait_incident("demo", "PodDisruptionBudget", "db", "BlocksAllDisruption")
        self.cluster.test("POST", "/served", {"remove": ["poddisruptionbudgets"]})
        self.cluster.test("POST", "/close-watches")
        line = ("PodDisruptionBudget: policy/v1beta1 answers 404: not served any more; its analyzers are off "
                "until the next API discovery")
        self.wait_line(line)
        pdb = "/apis/policy/v1beta1/namespaces/demo/poddisruptionbudgets"

        def watches_since(seq):
            return {r["path"] for r in remedyd_requests(self.cluster)
                    if r["seq"] > seq and "watch=1" in r["query"]}
        # every other informer watches again three times more (a second or
        # more, past the first retry of a backoff); the PDB one never
        for _ in range(3):
            seq = self.cluster.requests()[-1]["seq"]
            self.cluster.test("POST", "/close-watches")
            wait_for(lambda: len(watches_since(seq)) >= KINDS - 1, 30, "the other informers to watch again")
        reqs = [r for r in remedyd_requests(self.cluster) if r["path"] == pdb]
        self.assertEqual([r["status"] for r in reqs if r["status"] != 200], [404])
        self.assertEqual(full_log(self.daemon).count(line), 1)
        self.ok = True


class DiscoveryFails(Base):
    def test_ready_with_core_kinds_then_the_rest(self):
        """/apis answers 503 three times: remedyd says so, becomes ready
        with pods, ReplicaSets and Deployments, retries with backoff, and
        watches the other kinds once a round succeeds."""
        self.cluster = Cluster(self.workdir, scenario="empty", args=("--profile", "v1.20"))
        self.cluster.test("POST", "/inject", {"method": "GET", "path": "/apis", "exact": True, "status": 503,
                                              "reason": "ServiceUnavailable", "message": "etcd is down",
                                              "count": 3})
        self.load("demo", scenario("pdb-blocking")["broken"])
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s")
        log = full_log(self.daemon)
        self.assertIn("API discovery failed: GET /apis: HTTP 503: etcd is down; next attempt in 1 s "
                      "(until then only Pods, ReplicaSets and Deployments are watched)", log)
        # ready (Daemon() waited for synced) while discovery still fails:
        # its third failure and the success are 1 + 2 + 4 s away
        self.assertNotIn("PodDisruptionBudget: served as", log)
        self.wait_incident("demo", "PodDisruptionBudget", "db", "BlocksAllDisruption")
        log = full_log(self.daemon)
        self.assertIn("next attempt in 2 s", log)
        self.assertIn("next attempt in 4 s", log)
        self.assertEqual(log.count("API discovery failed"), 3)
        self.assertEqual(log.count("PodDisruptionBudget: served as policy/v1beta1"), 1)
        self.ok = True


class Scope(Base):
    NAMESPACES = ("a", "b", "c", "d", "e")

    def test_one_watch_per_kind(self):
        self.cluster = Cluster(self.workdir, scenario="empty")
        broken = scenario("image-pull-deployment")["broken"]
        self.load("a", broken)
        self.load("other", broken)
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s", namespaces=self.NAMESPACES)
        self.wait_incident("a", "Deployment", "web", "ImagePullBackOff")
        self.assertEqual([i for i in self.incidents() if i["namespace"] == "other"], [])
        inf = [r for r in remedyd_requests(self.cluster) if informer_request(r)]
        self.assertEqual([r["path"] for r in inf if "/namespaces/" in r["path"]], [],
                         "informers per namespace with cluster-wide credentials")
        paths = sorted(r["path"] for r in inf)
        self.assertEqual(len(paths), KINDS, "one LIST+WATCH per kind: %s" % paths)
        self.assertEqual(len(set(paths)), KINDS)
        self.assertNotIn("forbidden", full_log(self.daemon))
        # the pods of namespace other never reached the cache
        rc, out, err = self.daemon.ctl("status")
        self.assertEqual(rc, 0, err)
        self.ok = True

    def test_one_kind_namespace_scoped(self):
        """Cluster-wide credentials but for Services: only they go
        namespace by namespace."""
        self.cluster = Cluster(self.workdir, scenario="empty", args=("--forbid-cluster-list", "services"))
        self.load("b", scenario("service-no-pods")["broken"])
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s", namespaces=("a", "b"))
        exp = scenario("service-no-pods")["expect"][0]
        self.wait_incident("b", exp["kind"], exp["name"], exp["reason"])
        log = full_log(self.daemon)
        self.assertEqual(re.findall(r"cluster-wide LIST of (\S+) forbidden", log), ["services"])
        ok = [r["path"] for r in remedyd_requests(self.cluster) if informer_request(r) and r["status"] == 200]
        self.assertIn("/api/v1/namespaces/a/services", ok)
        self.assertIn("/api/v1/namespaces/b/services", ok)
        self.assertEqual([p for p in ok if "/namespaces/" in p and not p.endswith("/services")], [])
        self.assertIn("/api/v1/pods", ok)
        self.ok = True

    def test_namespace_scoped_credentials(self):
        self.cluster = Cluster(self.workdir, scenario="empty",
                               args=("--ns-token", "ns-scoped-token", "--ns-token-namespaces", "a,b"))
        with open(self.cluster.kubeconfig) as f:
            kc = f.read()
        self.assertIn('"remedy-test-token"', kc)
        self.cluster.kubeconfig = os.path.join(self.cluster.dir, "kubeconfig-ns")
        with open(self.cluster.kubeconfig, "w") as f:
            f.write(kc.replace('"remedy-test-token"', '"ns-scoped-token"'))
        self.load("b", scenario("image-pull-deployment")["broken"])
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s", namespaces=("a", "b"))
        self.wait_incident("b", "Deployment", "web", "ImagePullBackOff")
        log = full_log(self.daemon)
        lines = re.findall(r"cluster-wide LIST of (\S+) forbidden: watching the 2 configured "
                           r"namespaces one by one", log)
        self.assertEqual(len(lines), len(set(lines)), "one line per kind: %s" % lines)
        self.assertTrue(set(lines) & {"pods", "replicasets", "deployments"}, lines)
        self.assertTrue({"jobs", "services", "events"} <= set(lines), lines)
        inf = [r for r in remedyd_requests(self.cluster) if informer_request(r)]
        for ns in ("a", "b"):
            for res in ("/api/v1/namespaces/%s/pods", "/apis/apps/v1/namespaces/%s/deployments",
                        "/apis/batch/v1/namespaces/%s/jobs"):
                self.assertIn(res % ns, [r["path"] for r in inf if r["status"] == 200])
        forbidden = [r for r in inf if r["status"] == 403]
        self.assertTrue(forbidden)
        self.assertLessEqual(len(forbidden), KINDS - 1, "at most one cluster-wide try per namespaced kind")
        self.assertTrue(all("/namespaces/" not in r["path"] for r in forbidden))
        self.ok = True


FAILING = ("/api/v1/nodes", "/api/v1/namespaces/demo/services", "/api/v1/namespaces/demo/persistentvolumeclaims",
           "/apis/apps/v1/namespaces/demo/statefulsets", "/apis/apps/v1/namespaces/demo/daemonsets",
           "/apis/batch/v1/namespaces/demo/jobs", "/apis/batch/v1/namespaces/demo/cronjobs",
           "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices",
           "/apis/networking.k8s.io/v1/namespaces/demo/ingresses",
           "/apis/autoscaling/v2/namespaces/demo/horizontalpodautoscalers",
           "/apis/policy/v1/namespaces/demo/poddisruptionbudgets")


def discovery_request(r):
    return r["method"] == "GET" and not r["query"] and re.match(r"^/apis?(/[^/]+){0,2}$", r["path"])


class Lanes(Base):
    def test_dry_run_not_behind_informer_retries(self):
        """One token a second, eleven informers failing and retrying from
        the start: their queue never empties, yet the diagnosis' requests
        and its dry-run go out at the engine's own pace, each followed by
        about one informer request, not by the whole queue."""
        self.cluster = Cluster(self.workdir, scenario="broken-rollout", replicas=3)
        for p in FAILING:
            self.cluster.test("POST", "/inject", {"method": "GET", "path": p, "status": 500,
                                                  "reason": "InternalError", "count": 100000})
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s",
                             kube_extra="  qps: 1\n  burst: 1\n")

        def dry_run():
            return [r for r in remedyd_requests(self.cluster) if r["dry_run"] and r["method"] == "PATCH"]
        wait_for(dry_run, 90, "the dry-run")
        reqs = remedyd_requests(self.cluster)
        d = dry_run()[0]["seq"]
        engine = [r for r in reqs if not informer_request(r) and not discovery_request(r) and r["seq"] <= d]
        self.assertTrue(engine)
        e0 = engine[0]["seq"]
        between = [r for r in reqs if informer_request(r) and e0 < r["seq"] < d]
        failing = [r for r in reqs if informer_request(r) and r["status"] == 500 and r["seq"] < d]
        self.assertGreater(len(failing), len(FAILING), "the informers were retrying")
        self.assertLessEqual(len(between), 2 * len(engine) + 3,
                             "%d informer requests went out between the engine's first request and its "
                             "dry-run (%d engine requests)" % (len(between), len(engine)))
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

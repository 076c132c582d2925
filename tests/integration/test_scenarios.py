"""Detection scenarios as data: tests/scenarios/NAME.yaml.

Each file holds the cluster objects of one failure (`broken`), the objects
of its healthy twin (`healthy`), and the incident(s) remedyd must open for
the broken one (`expect`) -- and none for the twin.  Optional `pod_status`
(and `healthy_pod_status`) lists {selector, status} to give the pods that
the test API server's controllers created a status (the kubelet's view).

Every scenario is loaded into the one test API server at once, the broken
objects into namespace b-NAME and the twin into h-NAME (uids are made
unique per namespace; cluster-scoped objects keep their names, so the files
name their Nodes apart).  Then one real remedyd (all namespaces, hold-down
0) syncs, and the runner reads `remedyctl incidents -o json`:

  - for each scenario, the incidents in b-NAME (and, for cluster-scoped
    kinds, those the scenario expects by name) are exactly the expected
    ones: analyzer, root kind and name, reason, object count when given,
    and a finding line containing `finding`;
  - no incident at all names h-NAME or one of the twin's cluster-scoped
    objects.

All objects are in place before remedyd starts and are evaluated in one
pass when its caches sync, so once every expected incident is stored, any
incident of a healthy twin would have been stored too (same hold-down,
same tick).

Adding a regression case means adding a file.
"""
import copy
import glob
import os
import sys
import tempfile
import shutil
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Cluster, Daemon, wait_for  # noqa: E402

SCENARIOS = os.path.join(SRCDIR, "tests", "scenarios")
CLUSTER_SCOPED = ("Node", "Namespace", "StorageClass")


def load_scenarios():
    out = []
    for path in sorted(glob.glob(os.path.join(SCENARIOS, "*.yaml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        name = os.path.basename(path)[:-5]
        for key in ("description", "broken", "healthy", "expect"):
            if key not in doc:
                raise AssertionError("%s: missing key %r" % (path, key))
        if not doc["expect"]:
            raise AssertionError("%s: expect is empty" % path)
        doc["name"] = name
        out.append(doc)
    return out


def retarget(obj, ns):
    """A copy of obj in namespace ns, its uids made unique to ns."""
    o = copy.deepcopy(obj)

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "uid" and isinstance(x, str):
                    v[k] = "%s-%s" % (ns, x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(o)
    md = o.setdefault("metadata", {})
    if o.get("kind") not in CLUSTER_SCOPED:
        md["namespace"] = ns
    if o.get("kind") == "Event":
        o.setdefault("involvedObject", {})["namespace"] = ns
    return o


def load_into(c, objs, ns, pod_status):
    """Load a scenario's objects into namespace ns of the test API server c,
    then give the pods its controllers created the statuses pod_status
    lists."""
    items = [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns}}]
    items += [retarget(o, ns) for o in objs]
    c.test("POST", "/objects", {"kind": "List", "items": items})
    for ps in pod_status or []:
        status, lst = c.api("GET", "/api/v1/namespaces/%s/pods?labelSelector=%s" % (ns, ps["selector"]))
        if status != 200:
            raise AssertionError("%s: listing pods: %s %s" % (ns, status, lst))
        if not lst["items"]:
            raise AssertionError("%s: no pods match %s" % (ns, ps["selector"]))
        for p in lst["items"]:
            p["kind"], p["apiVersion"] = "Pod", "v1"
            p["status"] = copy.deepcopy(ps["status"])
            c.test("POST", "/objects", p)


def matches(inc, e):
    """Is incident inc (remedyctl's or remedyd analyze's JSON) the expected
    one e (a scenario's expect entry with its namespace)?"""
    if (inc["namespace"], inc["kind"], inc["name"], inc["analyzer"], inc["reason"]) != \
            (e["namespace"], e["kind"], e["name"], e["analyzer"], e["reason"]):
        return False
    if "objects" in e and inc["objects"] != e["objects"]:
        return False
    return any(e["finding"] in line for line in inc.get("findings") or [])


def cluster_names(objs):
    return {(o["kind"], o["metadata"]["name"]) for o in objs if o.get("kind") in CLUSTER_SCOPED}


class Scenarios(unittest.TestCase):
    SERVER_ARGS = ()    # fake_apiserver.py options (test_discovery: --profile v1.20)

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-sc-")
        self.cluster = Cluster(self.workdir, scenario="empty", args=self.SERVER_ARGS)
        self.daemon = None
        self.ok = False

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

    def load(self, objs, ns, pod_status):
        load_into(self.cluster, objs, ns, pod_status)

    def test_scenarios(self):
        scs = load_scenarios()
        self.assertGreaterEqual(len(scs), 20, "at least 20 scenario files")
        for sc in scs:
            self.load(sc["broken"], "b-" + sc["name"], sc.get("pod_status"))
            self.load(sc["healthy"], "h-" + sc["name"], sc.get("healthy_pod_status"))
        self.daemon = Daemon(self.workdir, self.cluster, hold_down="0s", namespaces=(),
                             extra="incidents:\n  resolve_after: 10m\n  symptom_wait: 0s\n")

        def expected_for(sc):
            ns = "b-" + sc["name"]
            return [dict(e, namespace="" if e["kind"] in CLUSTER_SCOPED else ns) for e in sc["expect"]]

        def incidents():
            rc, out, err = self.daemon.ctl("incidents")
            self.assertEqual(rc, 0, err)
            return out["incidents"]

        def all_there():
            incs = incidents()
            for sc in scs:
                for e in expected_for(sc):
                    if not any(matches(i, e) for i in incs):
                        return None
            return incs
        try:
            incs = wait_for(all_there, 90, "every expected incident")
        except AssertionError:
            incs = incidents()
            missing = [(sc["name"], e) for sc in scs for e in expected_for(sc)
                       if not any(matches(i, e) for i in incs)]
            for name, e in missing:
                near = [i for i in incs if i["namespace"] == e["namespace"] and i["name"] == e["name"]]
                print("MISSING %s: %s\n  have: %s" % (name, e, near))
            raise
        for sc in scs:
            with self.subTest(scenario=sc["name"]):
                ns = "b-" + sc["name"]
                exp = expected_for(sc)
                mine = [i for i in incs if i["namespace"] == ns or
                        (i["namespace"] == "" and (i["kind"], i["name"]) in cluster_names(sc["broken"]))]
                self.assertEqual(len(mine), len(exp), "%s: incidents %s" % (
                    sc["name"], [(i["analyzer"], i["kind"], i["name"], i["reason"]) for i in mine]))
                hns = "h-" + sc["name"]
                twin = [i for i in incs if i["namespace"] == hns or
                        (i["namespace"] == "" and (i["kind"], i["name"]) in cluster_names(sc["healthy"]))]
                self.assertEqual(twin, [], "%s: the healthy twin has incidents" % sc["name"])
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

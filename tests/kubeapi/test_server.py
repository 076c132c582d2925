#!/usr/bin/env python3
"""Behaviour of the test API server that remedy's other tests rely on:
the rollout controller and kubelet simulation, patches and dry-run, watch
expiry, pagination, the request log and authentication.

Run: python3 -u tests/kubeapi/test_server.py
"""

import json
import os
import shutil
import ssl
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_apiserver  # noqa: E402

REV = "deployment.kubernetes.io/revision"
DEPLOY = "/apis/apps/v1/namespaces/demo/deployments/web"
RSS = "/apis/apps/v1/namespaces/demo/replicasets"
PODS = "/api/v1/namespaces/demo/pods"
JSONPATCH = {"Content-Type": "application/json-patch+json"}
MERGEPATCH = {"Content-Type": "application/merge-patch+json"}
N = 3


def owned(items, uid):
    return [o for o in items
            if any(r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences", []))]


def waiting_reasons(pod):
    return [((c.get("state") or {}).get("waiting") or {}).get("reason")
            for c in (pod.get("status") or {}).get("containerStatuses") or []]


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions", []))


class ServerCase(unittest.TestCase):
    ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fakeapi-")
        cls.h = fake_apiserver.Harness(cls.tmp, *cls.ARGS)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def rs_by_revision(self):
        d = self.h.json("GET", DEPLOY)
        rss = owned(self.h.json("GET", RSS)["items"], d["metadata"]["uid"])
        return d, {rs["metadata"]["annotations"][REV]: rs for rs in rss}

    def pods_of(self, rs):
        return owned(self.h.json("GET", PODS)["items"], rs["metadata"]["uid"])


class BrokenRollout(ServerCase):
    """Tests run in name order: test_1 looks at the scenario as started,
    test_9 repairs it."""
    ARGS = ("--scenario", "broken-rollout", "--replicas", str(N), "--pull-backoff", "0.2")

    def test_1_scenario_shape(self):
        d, by_rev = self.rs_by_revision()
        self.assertEqual(sorted(by_rev), ["1", "2"])
        self.assertEqual(d["metadata"]["annotations"][REV], "2")
        self.assertEqual(d["metadata"]["generation"], 2)
        self.assertEqual(d["status"]["observedGeneration"], 2)
        r1, r2 = by_rev["1"], by_rev["2"]
        self.assertEqual(r2["metadata"]["name"], "web-" + r2["metadata"]["labels"]["pod-template-hash"])
        self.assertTrue(r2["metadata"]["ownerReferences"][0]["controller"])
        # revision 1 keeps running, revision 2 is scaled up at once but never becomes available
        self.assertEqual(r1["spec"]["replicas"], N)
        self.assertEqual(r1["status"]["readyReplicas"], N)
        self.assertEqual(r2["spec"]["replicas"], N)
        self.assertNotIn("readyReplicas", r2["status"])
        p1, p2 = self.pods_of(r1), self.pods_of(r2)
        self.assertEqual(len(p1), N)
        self.assertEqual(len(p2), N)
        for p in p1:
            self.assertEqual(p["status"]["phase"], "Running")
            self.assertTrue(ready(p))
            self.assertEqual(p["spec"]["nodeName"], "node-a")
            self.assertTrue(p["metadata"]["name"].startswith(r1["metadata"]["name"] + "-"))
        for p in p2:
            self.assertEqual(p["status"]["phase"], "Pending")
            self.assertEqual(waiting_reasons(p), ["ImagePullBackOff"])
            self.assertEqual(p["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
                             'Back-off pulling image "nginx:1.27-typo"')
            self.assertFalse(ready(p))
        # Warning events recorded against each broken pod
        evs = self.h.json("GET", "/api/v1/namespaces/demo/events?fieldSelector=involvedObject.name%3D"
                          + p2[0]["metadata"]["name"])["items"]
        reasons = {e["reason"] for e in evs if e["type"] == "Warning"}
        self.assertEqual(reasons, {"Failed", "BackOff"})
        self.assertTrue(any("failed to pull and unpack image" in e["message"] for e in evs))
        self.assertEqual(d["status"]["updatedReplicas"], N)
        self.assertEqual(d["status"]["availableReplicas"], N)
        self.assertEqual(d["status"]["unavailableReplicas"], N)
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        self.assertEqual(conds["Progressing"]["reason"], "ReplicaSetUpdated")

    def test_2_jsonpatch_test_failure_changes_nothing(self):
        before = self.h.json("GET", DEPLOY)
        patch = [{"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:9.9"},
                 {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"}]
        st = self.h.json("PATCH", DEPLOY, json.dumps(patch), JSONPATCH, expect=422)
        self.assertEqual((st["kind"], st["reason"], st["code"]), ("Status", "Invalid", 422))
        after = self.h.json("GET", DEPLOY)
        self.assertEqual(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"])
        self.assertEqual(after["spec"], before["spec"])

    def test_3_dry_run_stores_nothing(self):
        since = self.h.json("GET", "/_test/requests")["requests"][-1]["seq"]
        before = self.h.json("GET", DEPLOY)
        patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.26"}]
        would = self.h.json("PATCH", DEPLOY + "?dryRun=All", json.dumps(patch), JSONPATCH)
        self.assertEqual(would["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26")
        self.assertEqual(would["metadata"]["generation"], before["metadata"]["generation"] + 1)
        after = self.h.json("GET", DEPLOY)
        self.assertEqual(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"])
        self.assertEqual(after["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27-typo")
        _, by_rev = self.rs_by_revision()
        self.assertEqual(sorted(by_rev), ["1", "2"])
        log = self.h.json("GET", "/_test/requests?since=%d" % since)["requests"]
        patches = [r for r in log if r["method"] == "PATCH"]
        self.assertEqual(len(patches), 1)
        self.assertTrue(patches[0]["dry_run"])
        self.assertEqual(patches[0]["query"], "dryRun=All")
        self.assertEqual(patches[0]["status"], 200)
        self.assertFalse([r for r in log if r["method"] == "GET" and r["dry_run"]])

    def test_3b_delete_options_in_a_body_win_over_the_query(self):
        """As on a real v1.20 server: DeleteOptions sent in a body are the
        whole options, and the query's dryRun is then ignored."""
        pods = self.h.json("GET", PODS)["items"]
        a, b = pods[0]["metadata"], pods[1]["metadata"]
        path = "/api/v1/namespaces/demo/pods/"
        pre = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": a["uid"]}}
        self.h.json("DELETE", path + a["name"] + "?dryRun=All",
                    dict(pre, dryRun=["All"]), {"Content-Type": "application/json"})
        self.h.json("GET", path + a["name"])          # dry-run: still there
        pre["preconditions"]["uid"] = b["uid"]
        self.h.json("DELETE", path + b["name"] + "?dryRun=All", pre,
                    {"Content-Type": "application/json"})
        self.h.json("GET", path + b["name"], expect=404)  # the body said nothing of dryRun
        log = self.h.json("GET", "/_test/requests")["requests"]
        dels = [r["dry_run"] for r in log if r["method"] == "DELETE"]
        self.assertEqual(dels[-2:], [True, False])

    def test_4_validation(self):
        st = self.h.json("PATCH", DEPLOY, json.dumps({"spec": {"replicas": -3}}), MERGEPATCH, expect=422)
        self.assertEqual(st["message"], 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -3: '
                                        'must be greater than or equal to 0')
        self.assertEqual(st["details"]["causes"][0]["field"], "spec.replicas")
        patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": ""}]
        st = self.h.json("PATCH", DEPLOY, json.dumps(patch), JSONPATCH, expect=422)
        self.assertEqual(st["details"]["causes"][0]["field"], "spec.template.spec.containers[0].image")
        stale = {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}}
        st = self.h.json("PATCH", DEPLOY, json.dumps(stale), MERGEPATCH, expect=409)
        self.assertEqual(st["reason"], "Conflict")
        self.assertEqual(self.h.json("GET", DEPLOY)["spec"]["replicas"], N)

    def test_9_restore_image_reuses_revision_1(self):
        _, by_rev = self.rs_by_revision()
        old_name = by_rev["1"]["metadata"]["name"]
        d = self.h.json("GET", DEPLOY)
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": d["metadata"]["resourceVersion"]},
                 {"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27-typo"},
                 {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"}]
        self.h.json("PATCH", DEPLOY, json.dumps(patch), JSONPATCH)

        def settled():
            d, by_rev = self.rs_by_revision()
            if d["metadata"]["annotations"].get(REV) != "3" or "3" not in by_rev:
                return None
            if by_rev["2"]["spec"]["replicas"] != 0 or self.pods_of(by_rev["2"]):
                return None
            return d, by_rev
        d, by_rev = self.h.wait_for("rollback to settle", settled)
        self.assertEqual(sorted(by_rev), ["2", "3"])
        self.assertEqual(by_rev["3"]["metadata"]["name"], old_name)
        pods = self.pods_of(by_rev["3"])
        self.assertEqual(len(pods), N)
        self.assertTrue(all(ready(p) for p in pods))
        self.assertEqual(len(self.h.json("GET", PODS)["items"]), N)
        self.assertEqual(d["status"]["availableReplicas"], N)
        self.assertNotIn("unavailableReplicas", d["status"])
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        self.assertEqual(conds["Progressing"]["reason"], "NewReplicaSetAvailable")
        self.assertEqual(conds["Available"]["status"], "True")


class Protocol(ServerCase):
    ARGS = ("--scenario", "healthy", "--replicas", "5", "--bookmark-interval", "0.2")

    def test_pagination_walks_every_pod_once(self):
        seen, rvs, path, pages = [], set(), PODS + "?limit=2", 0
        while True:
            page = self.h.json("GET", path)
            pages += 1
            rvs.add(page["metadata"]["resourceVersion"])
            seen += [p["metadata"]["name"] for p in page["items"]]
            cont = page["metadata"].get("continue")
            if not cont:
                self.assertNotIn("remainingItemCount", page["metadata"])
                break
            self.assertEqual(len(page["items"]), 2)
            self.assertEqual(page["metadata"]["remainingItemCount"], 5 - len(seen))
            # a write between pages changes neither the snapshot nor the RV
            if pages == 1:
                self.h.json("POST", PODS, {"metadata": {"name": "zz-late"},
                                           "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}},
                            expect=201)
            path = PODS + "?limit=2&continue=" + cont
        self.assertEqual(pages, 3)
        self.assertEqual(len(rvs), 1)
        self.assertEqual(len(seen), 5)
        self.assertEqual(len(set(seen)), 5)
        self.assertEqual(seen, sorted(seen))
        self.h.json("DELETE", PODS + "/zz-late")
        st = self.h.json("GET", PODS + "?limit=2&continue=bm90LWpzb24", expect=400)
        self.assertEqual(st["reason"], "BadRequest")

    def test_watch_after_compact_is_expired(self):
        page1 = self.h.json("GET", PODS + "?limit=2")
        rv = self.h.json("GET", PODS)["metadata"]["resourceVersion"]
        self.h.json("POST", "/_test/compact")
        st = self.h.json("GET", PODS + "?limit=2&continue=" + page1["metadata"]["continue"], expect=410)
        self.assertEqual((st["kind"], st["reason"], st["code"]), ("Status", "Expired", 410))
        c = self.h.conn()
        c.request("GET", PODS + "?watch=1&timeoutSeconds=5&resourceVersion=" + rv,
                  headers={"Authorization": "Bearer " + self.h.token})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        lines = r.read().decode().splitlines()
        c.close()
        self.assertEqual(len(lines), 1)
        ev = json.loads(lines[0])
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["code"], ev["object"]["reason"]), (410, "Expired"))
        self.assertTrue(ev["object"]["message"].startswith("too old resource version: %s (" % rv))
        # a list after the compaction gives an RV that can be watched again
        rv2 = self.h.json("GET", PODS)["metadata"]["resourceVersion"]
        c = self.h.conn()
        c.request("GET", PODS + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=5&resourceVersion=" + rv2,
                  headers={"Authorization": "Bearer " + self.h.token})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.h.json("POST", PODS, {"metadata": {"name": "watched"},
                                   "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}, expect=201)
        self.h.json("DELETE", PODS + "/watched")
        types = []
        while "DELETED" not in types:
            line = r.readline()
            self.assertTrue(line, "watch ended before DELETED")
            ev = json.loads(line)
            if ev["type"] != "BOOKMARK":
                self.assertEqual(ev["object"]["metadata"]["name"], "watched")
            types.append(ev["type"])
        self.assertEqual(types[0], "ADDED")
        self.assertIn("DELETED", types)
        # /_test/close-watches ends the stream normally
        self.h.json("POST", "/_test/close-watches")
        rest = r.read()
        for line in rest.decode().splitlines():
            self.assertIn(json.loads(line)["type"], ("BOOKMARK", "MODIFIED"))
        c.close()

    def test_request_log(self):
        since = self.h.json("GET", "/_test/requests")["requests"][-1]["seq"]
        body = json.dumps({"metadata": {"labels": {"touched": "yes"}}})
        self.h.json("PATCH", DEPLOY, body, MERGEPATCH)
        self.h.json("GET", DEPLOY, ua="remedyd/0.1")
        log = self.h.json("GET", "/_test/requests?since=%d" % since)["requests"]
        self.assertEqual([(r["method"], r["path"]) for r in log], [("PATCH", DEPLOY), ("GET", DEPLOY)])
        self.assertEqual(log[0]["content_type"], "application/merge-patch+json")
        self.assertEqual(log[0]["body"], body)
        self.assertEqual(log[0]["status"], 200)
        self.assertFalse(log[0]["dry_run"])
        self.assertEqual(log[1]["user_agent"], "remedyd/0.1")
        self.assertEqual(log[1]["body"], "")
        self.assertGreater(log[1]["seq"], log[0]["seq"])
        self.assertFalse([r for r in log if r["path"].startswith("/_test/")])

    def test_auth(self):
        status, hdrs, body = self.h.request("GET", "/version", auth=False)
        self.assertEqual(status, 401)
        st = json.loads(body)
        self.assertEqual((st["reason"], st["code"]), ("Unauthorized", 401))
        status, _, _ = self.h.request("GET", "/version", auth=False, headers={"Authorization": "Bearer wrong"})
        self.assertEqual(status, 401)
        status, _, _ = self.h.request("GET", PODS)
        self.assertEqual(status, 200)
        log = self.h.json("GET", "/_test/requests")["requests"]
        self.assertEqual([r["status"] for r in log if r["path"] == "/version"][-2:], [401, 401])

    def test_client_certificate(self):
        # read the material the way a kubeconfig loader would: relative paths against the file's dir
        paths = {}
        with open(os.path.join(self.tmp, "kubeconfig-certs")) as f:
            for line in f:
                key, _, val = line.strip().partition(": ")
                if key in ("certificate-authority", "client-certificate", "client-key", "current-context"):
                    paths[key] = val
        self.assertEqual(paths["current-context"], "fake-certs")
        for k in ("certificate-authority", "client-certificate", "client-key"):
            self.assertFalse(os.path.isabs(paths[k]))
        ctx = ssl.create_default_context(cafile=os.path.join(self.tmp, paths["certificate-authority"]))
        ctx.load_cert_chain(os.path.join(self.tmp, paths["client-certificate"]),
                            os.path.join(self.tmp, paths["client-key"]))
        status, _, body = self.h.request("GET", PODS, auth=False, ctx=ctx)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(len(json.loads(body)["items"]), 5)
        # the token kubeconfig carries the CA inline and the token
        with open(os.path.join(self.tmp, "kubeconfig")) as f:
            text = f.read()
        self.assertIn("certificate-authority-data: ", text)
        self.assertIn('token: "remedy-test-token"', text)
        self.assertIn("server: https://127.0.0.1:%d" % self.h.port, text)

    def test_pod_log(self):
        pod = self.h.json("GET", PODS)["items"][0]["metadata"]["name"]
        status, hdrs, body = self.h.request("GET", PODS + "/" + pod + "/log?tailLines=2")
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain"))
        self.assertEqual(len(body.decode().splitlines()), 2)
        self.h.json("POST", PODS, {"metadata": {"name": "unscheduled"},
                                   "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}, expect=201)
        status, hdrs, body = self.h.request("GET", PODS + "/unscheduled/log")
        self.assertEqual((status, body), (204, b""))
        self.h.json("DELETE", PODS + "/unscheduled")


class LiveRollout(ServerCase):
    ARGS = ("--scenario", "healthy", "--replicas", "2", "--pull-backoff", "0.5")

    def test_pull_backoff_then_registry_fix(self):
        rv = self.h.json("GET", PODS)["metadata"]["resourceVersion"]
        c = self.h.conn()
        c.request("GET", PODS + "?watch=1&timeoutSeconds=10&resourceVersion=" + rv,
                  headers={"Authorization": "Bearer " + self.h.token})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27-typo"}]
        self.h.json("PATCH", DEPLOY, json.dumps(patch), JSONPATCH)
        reasons = {}     # pod -> reasons seen, in order
        while not (len(reasons) == 2 and all(v[-1] == "ImagePullBackOff" for v in reasons.values())):
            line = r.readline()
            self.assertTrue(line, "watch ended before the pulls backed off")
            ev = json.loads(line)
            w = [x for x in waiting_reasons(ev["object"]) if x]
            if w and (not reasons.get(ev["object"]["metadata"]["name"])
                      or reasons[ev["object"]["metadata"]["name"]][-1] != w[0]):
                reasons.setdefault(ev["object"]["metadata"]["name"], []).append(w[0])
        c.close()
        for v in reasons.values():
            self.assertEqual(v, ["ErrImagePull", "ImagePullBackOff"])
        d = self.h.json("GET", DEPLOY)
        self.assertEqual(d["metadata"]["annotations"][REV], "2")
        # the image appears in the registry: the rollout completes, revision 1 is scaled to 0
        self.h.json("POST", "/_test/registry", {"add": ["nginx:1.27-typo"]})

        def done():
            d, by_rev = self.rs_by_revision()
            pods = self.h.json("GET", PODS)["items"]
            return (by_rev["1"]["spec"]["replicas"] == 0 and len(pods) == 2 and all(ready(p) for p in pods)
                    and d["status"].get("availableReplicas") == 2 and d["status"].get("updatedReplicas") == 2)
        self.h.wait_for("rollout to complete", done)

    def test_watch_without_rv_lists_first(self):
        self.h.wait_for("a settled cluster", lambda: all(ready(p) for p in self.h.json("GET", PODS)["items"]))
        names = sorted(p["metadata"]["name"] for p in self.h.json("GET", PODS)["items"])
        for rv in ("", "0"):
            c = self.h.conn()
            c.request("GET", PODS + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv,
                      headers={"Authorization": "Bearer " + self.h.token})
            r = c.getresponse()
            evs = [json.loads(x) for x in r.read().decode().splitlines()]
            c.close()
            # nothing changes meanwhile: exactly one synthetic ADDED per pod
            self.assertEqual([e["type"] for e in evs], ["ADDED"] * len(names))
            self.assertEqual(sorted(e["object"]["metadata"]["name"] for e in evs), names)


class EventTTL(ServerCase):
    ARGS = ("--scenario", "healthy", "--replicas", "1", "--event-ttl", "1.5")

    def test_events_are_deleted_after_the_ttl(self):
        lst = self.h.json("GET", "/api/v1/namespaces/demo/events")
        names = {e["metadata"]["name"] for e in lst["items"]}
        self.assertTrue(names, "the healthy scenario records ScalingReplicaSet events")
        c = self.h.conn(timeout=15)
        c.request("GET", "/api/v1/namespaces/demo/events?watch=1&timeoutSeconds=10&resourceVersion="
                  + lst["metadata"]["resourceVersion"], headers={"Authorization": "Bearer " + self.h.token})
        r = c.getresponse()
        deleted = set()
        while not names <= deleted:
            line = r.readline()
            self.assertTrue(line, "watch ended before every Event expired: %s" % (names - deleted))
            ev = json.loads(line)
            if ev["type"] == "DELETED":
                deleted.add(ev["object"]["metadata"]["name"])
        c.close()
        left = {e["metadata"]["name"] for e in self.h.json("GET", "/api/v1/namespaces/demo/events")["items"]}
        self.assertFalse(names & left)

    def test_ttl_is_checked(self):
        for bad in ({"seconds": 0}, {"seconds": "soon"}, {}):
            self.h.json("POST", "/_test/event-ttl", bad, expect=400)
        self.assertEqual(self.h.json("POST", "/_test/event-ttl", {"seconds": 1.5})["seconds"], 1.5)


class Profile120(ServerCase):
    """--profile v1.20: discovery and paths as a real Kubernetes 1.20."""
    ARGS = ("--profile", "v1.20", "--ns-token", "ns-tok", "--ns-token-namespaces", "demo")

    def test_discovery_documents(self):
        groups = {g["name"]: g for g in self.h.json("GET", "/apis")["groups"]}
        self.assertEqual([v["version"] for v in groups["batch"]["versions"]], ["v1", "v1beta1"])
        self.assertEqual(groups["batch"]["preferredVersion"], {"groupVersion": "batch/v1", "version": "v1"})
        self.assertEqual([v["version"] for v in groups["autoscaling"]["versions"]], ["v1", "v2beta2"])
        self.assertEqual([v["version"] for v in groups["policy"]["versions"]], ["v1beta1"])
        self.assertEqual(groups["discovery.k8s.io"]["preferredVersion"]["version"], "v1beta1")
        rl = self.h.json("GET", "/apis/batch/v1beta1")
        self.assertEqual((rl["kind"], rl["groupVersion"]), ("APIResourceList", "batch/v1beta1"))
        cj = [r for r in rl["resources"] if r["name"] == "cronjobs"][0]
        self.assertEqual((cj["kind"], cj["namespaced"]), ("CronJob", True))
        self.assertIn("watch", cj["verbs"])
        self.assertNotIn("cronjobs", [r["name"] for r in self.h.json("GET", "/apis/batch/v1")["resources"]])
        for path in ("/apis/batch/v1/cronjobs", "/apis/policy/v1/poddisruptionbudgets",
                     "/apis/autoscaling/v2/horizontalpodautoscalers", "/apis/discovery.k8s.io/v1/endpointslices",
                     "/apis/policy/v1"):
            self.assertEqual(self.h.request("GET", path)[0], 404, path)
        for path in ("/apis/batch/v1beta1/cronjobs", "/apis/policy/v1beta1/poddisruptionbudgets",
                     "/apis/autoscaling/v2beta2/horizontalpodautoscalers",
                     "/apis/autoscaling/v1/horizontalpodautoscalers",
                     "/apis/discovery.k8s.io/v1beta1/endpointslices"):
            self.assertEqual(self.h.json("GET", path)["kind"].endswith("List"), True, path)

    def test_hpa_served_at_v1(self):
        hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "demo"},
               "spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                            "type": "Utilization", "averageUtilization": 70}}}]},
               "status": {"currentReplicas": 1, "conditions": [{"type": "ScalingActive", "status": "False"}]}}
        self.h.json("POST", "/_test/objects", hpa, auth=False)
        v2 = self.h.json("GET", "/apis/autoscaling/v2beta2/namespaces/demo/horizontalpodautoscalers/h")
        self.assertEqual(v2["apiVersion"], "autoscaling/v2beta2")
        v1 = self.h.json("GET", "/apis/autoscaling/v1/namespaces/demo/horizontalpodautoscalers/h")
        self.assertEqual(v1["apiVersion"], "autoscaling/v1")
        self.assertEqual(v1["spec"]["targetCPUUtilizationPercentage"], 70)
        self.assertNotIn("metrics", v1["spec"])
        self.assertNotIn("conditions", v1["status"])
        self.assertEqual(json.loads(v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"]),
                         [{"type": "ScalingActive", "status": "False"}])

    def test_served_toggle(self):
        self.h.json("POST", "/_test/served", {"remove": ["poddisruptionbudgets"]}, auth=False)
        try:
            self.assertNotIn("policy", [g["name"] for g in self.h.json("GET", "/apis")["groups"]])
            self.assertEqual(self.h.request("GET", "/apis/policy/v1beta1/poddisruptionbudgets")[0], 404)
        finally:
            self.h.json("POST", "/_test/served", {"add": ["poddisruptionbudgets"]}, auth=False)
        self.assertEqual(self.h.request("GET", "/apis/policy/v1beta1/poddisruptionbudgets")[0], 200)
        self.assertEqual(self.h.request("POST", "/_test/served", {"remove": ["nothing"]}, auth=False)[0], 400)

    def test_namespace_scoped_token(self):
        h = {"Authorization": "Bearer ns-tok"}
        status, _, body = self.h.request("GET", "/api/v1/pods", headers=h)
        self.assertEqual(status, 403)
        st = json.loads(body)
        self.assertEqual(st["reason"], "Forbidden")
        self.assertEqual(st["message"], 'pods is forbidden: User "nsuser" cannot list resource "pods" in API group "" '
                                        'at the cluster scope')
        self.assertEqual(self.h.request("GET", "/api/v1/namespaces/demo/pods", headers=h)[0], 200)
        self.assertEqual(self.h.request("GET", "/api/v1/namespaces/other/pods", headers=h)[0], 403)
        self.assertEqual(self.h.request("GET", "/api/v1/nodes", headers=h)[0], 200)
        ssar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}}}
        out = self.h.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar, headers=h,
                          expect=201)
        self.assertFalse(out["status"]["allowed"])
        ssar["spec"]["resourceAttributes"]["namespace"] = "demo"
        out = self.h.json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar, headers=h,
                          expect=201)
        self.assertTrue(out["status"]["allowed"])


class Lifecycle(unittest.TestCase):
    def test_sigterm_ends_watches_and_exits_zero(self):
        tmp = tempfile.mkdtemp(prefix="fakeapi-")
        try:
            h = fake_apiserver.Harness(tmp, "--port", "0")
            h.start()
            with open(os.path.join(tmp, "ready")) as f:
                info = json.load(f)
            self.assertEqual(info["url"], "https://127.0.0.1:%d" % info["port"])
            c = h.conn(timeout=10)
            c.request("GET", "/api/v1/namespaces/demo/pods?watch=1",
                      headers={"Authorization": "Bearer " + h.token})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            os.kill(h.proc.pid, fake_apiserver.signal.SIGTERM)
            self.assertEqual(h.proc.wait(10), 0)
            h.proc = None
            c.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


    def test_short_history_expires_old_watches(self):
        tmp = tempfile.mkdtemp(prefix="fakeapi-")
        try:
            with fake_apiserver.Harness(tmp, "--history", "5") as h:
                ns = h.json("GET", "/api/v1/namespaces/demo")
                self.assertEqual(ns["status"]["phase"], "Active")
                first = int(ns["metadata"]["resourceVersion"])
                for i in range(8):
                    h.json("POST", "/api/v1/namespaces/demo/events",
                           {"metadata": {"name": "e%d" % i}, "involvedObject": {"kind": "Pod", "name": "x"},
                            "reason": "Test", "message": "m", "type": "Normal"}, expect=201)
                last = int(h.json("GET", "/api/v1/namespaces/demo/events")["metadata"]["resourceVersion"])
                for rv, want in ((first, "ERROR"), (last - 3, None)):
                    c = h.conn()
                    c.request("GET", "/api/v1/namespaces/demo/events?watch=1&timeoutSeconds=1&resourceVersion=%d"
                              % rv, headers={"Authorization": "Bearer " + h.token})
                    evs = [json.loads(x) for x in c.getresponse().read().decode().splitlines()]
                    c.close()
                    if want == "ERROR":
                        self.assertEqual([e["type"] for e in evs], ["ERROR"])
                        self.assertEqual(evs[0]["object"]["code"], 410)
                    else:
                        self.assertEqual([e["type"] for e in evs], ["ADDED"] * 3)
                        self.assertEqual([e["object"]["metadata"]["name"] for e in evs], ["e5", "e6", "e7"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)

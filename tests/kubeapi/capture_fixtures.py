#!/usr/bin/env python3
"""Capture real kube-apiserver answers for the test API server's fixture test.

    python3 tests/kubeapi/capture_fixtures.py CLUSTER_DIR [OUTDIR]

CLUSTER_DIR is a running `scripts/cluster up` directory; OUTDIR defaults to
tests/kubeapi/captures/kube-apiserver-v1.20.  Each capture is one request
made with curl (so the server answers a curl User-Agent, which it
pretty-prints) and written as status line, headers and body, with the Date,
Audit-Id and flow-control uid headers elided -- the format of
../shared/fixtures/kube-apiserver-v1.20.  The requests are the ones
tests/kubeapi/test_fixtures.py sends to the test API server, on the same
objects: pods p1..p3 in namespace pods-ns (never scheduled: they name a
scheduler that does not run, so p1's log answers 204 as a pod that never
ran on a node), Deployment demo/web, Lease demo/remedyd; the 403 is the
token user "restricted", which no role binds.

test_fixtures.py compares the test API server with these captures (and with
../shared's when none are here), so running this script against a real
cluster and the fixture test after it holds the fake to the real server.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "captures", "kube-apiserver-v1.20")
ELIDE = ("date", "audit-id", "x-kubernetes-pf-flowschema-uid", "x-kubernetes-pf-prioritylevel-uid")


class Cluster:
    def __init__(self, d):
        self.dir = d
        self.env = {}
        with open(os.path.join(d, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                self.env[k] = v
        self.api = self.env["REMEDY_E2E_API"]
        self.ca = self.env["REMEDY_E2E_CA"]
        self.tokens = {}
        with open(os.path.join(d, "tokens.csv")) as f:
            for line in f:
                parts = line.strip().split(",")
                self.tokens[parts[1]] = parts[0]

    def curl(self, method, path, body=None, ctype="application/json", token="admin",
             http1=False, raw=False, timeout=60):
        """-> the whole answer as curl -i prints it (bytes)."""
        cmd = ["curl", "-sS", "-i", "--cacert", self.ca, "-X", method, "--max-time", str(timeout)]
        if http1:
            cmd.append("--http1.1")
        if raw:
            cmd.append("--raw")
        if token is not None:
            cmd += ["-H", "Authorization: Bearer " + self.tokens.get(token, token)]
        if body is not None:
            cmd += ["-H", "Content-Type: " + ctype, "--data-binary",
                    body if isinstance(body, str) else json.dumps(body)]
        cmd.append(self.api + path)
        r = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
        if r.returncode != 0:
            sys.exit("capture: curl %s %s: %s" % (method, path, r.stderr.decode().strip()))
        return r.stdout

    def json(self, method, path, body=None, ctype="application/json", expect=(200, 201)):
        out = self.curl(method, path, body, ctype)
        status, _, b = split(out)
        if status not in expect:
            sys.exit("capture: %s %s: HTTP %d: %s" % (method, path, status, b[:300]))
        return json.loads(b) if b else None


def split(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b"\r\n")[0].split()[1])
    return status, head, body


def elide(raw):
    """Elide the headers that change on every request."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = [lines[0]]
    for ln in lines[1:]:
        k, _, _ = ln.partition(b":")
        if k.strip().lower().decode() in ELIDE:
            ln = k + b": <elided>"
        out.append(ln)
    return b"\r\n".join(out) + sep + body


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"run": name}},
            "spec": {"restartPolicy": "Never", "schedulerName": "remedy-capture-none",
                     "containers": [{"name": name, "image": "nginx:1.25"}]}}


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    c = Cluster(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) == 3 else DEFAULT_OUT
    os.makedirs(out, exist_ok=True)
    caps = {}

    def put(name, raw):
        caps[name] = elide(raw)

    # --- objects ---
    for ns in ("pods-ns", "demo"):
        c.curl("DELETE", "/api/v1/namespaces/" + ns)
    for ns in ("pods-ns", "demo"):
        deadline = time.monotonic() + 120
        while split(c.curl("GET", "/api/v1/namespaces/" + ns))[0] != 404:
            if time.monotonic() > deadline:
                sys.exit("capture: namespace %s does not go away" % ns)
            time.sleep(0.5)
        c.json("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    for n in ("p1", "p2", "p3"):
        c.json("POST", "/api/v1/namespaces/pods-ns/pods", pod(n))
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}}
    c.json("POST", "/apis/apps/v1/namespaces/demo/deployments", dep)
    deadline = time.monotonic() + 60
    while not c.json("GET", "/api/v1/namespaces/demo/events")["items"]:
        if time.monotonic() > deadline:
            sys.exit("capture: no Event in namespace demo")
        time.sleep(0.5)

    # --- the captures ---
    put("version", c.curl("GET", "/version"))
    page1 = c.curl("GET", "/api/v1/namespaces/pods-ns/pods?limit=2")
    put("list-pods-page1", page1)
    cont = json.loads(split(page1)[2])["metadata"]["continue"]
    put("list-pods-page2", c.curl("GET", "/api/v1/namespaces/pods-ns/pods?limit=2&continue=" + cont))
    put("list-pods-bad-continue", c.curl("GET", "/api/v1/namespaces/pods-ns/pods?limit=2&continue=gWdhcmJhZ2U"))
    put("list-events", c.curl("GET", "/api/v1/namespaces/demo/events"))
    put("pod-log-no-node", c.curl("GET", "/api/v1/namespaces/pods-ns/pods/p1/log"))

    # a watch over HTTP/1.1 with its chunk framing: MODIFIED, ADDED, DELETED
    c.json("POST", "/api/v1/namespaces/pods-ns/pods", pod("w1"))
    c.json("POST", "/api/v1/namespaces/pods-ns/pods", pod("w2"))
    rv = c.json("GET", "/api/v1/namespaces/pods-ns/pods")["metadata"]["resourceVersion"]
    with tempfile.TemporaryFile() as f:
        w = subprocess.Popen(["curl", "-sS", "-i", "--http1.1", "--raw", "--cacert", c.ca,
                              "-H", "Authorization: Bearer " + c.tokens["admin"],
                              c.api + "/api/v1/namespaces/pods-ns/pods?watch=1&allowWatchBookmarks=true"
                              "&timeoutSeconds=3&resourceVersion=" + rv], stdout=f)
        time.sleep(0.5)
        c.json("PATCH", "/api/v1/namespaces/pods-ns/pods/w1",
               {"metadata": {"labels": {"touched": "yes"}}}, "application/merge-patch+json")
        c.json("POST", "/api/v1/namespaces/pods-ns/pods", pod("w4"))
        c.json("DELETE", "/api/v1/namespaces/pods-ns/pods/w2?gracePeriodSeconds=0")
        if w.wait(30) != 0:
            sys.exit("capture: the watch failed")
        f.seek(0)
        put("watch-pods-raw-chunked", f.read())

    # a watch from a compacted resourceVersion: 200 and one ERROR event
    etcd = c.env["REMEDY_E2E_ETCD"]
    req = urllib.request.Request(etcd + "/v3/kv/range", data=b'{"key":"Lw=="}', method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        rev = json.loads(r.read())["header"]["revision"]
    req = urllib.request.Request(etcd + "/v3/kv/compaction",
                                 data=json.dumps({"revision": rev, "physical": True}).encode(), method="POST")
    urllib.request.urlopen(req, timeout=30).read()
    # The API server's watch cache still holds the compacted history: only a
    # restarted server answers from etcd as a client meets it after one.
    r = subprocess.run([os.path.join(HERE, "..", "..", "scripts", "cluster"), "restart",
                        "apiserver", c.dir], capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        sys.exit("capture: restarting the API server: " + r.stderr.strip())
    deadline = time.monotonic() + 120
    while subprocess.run(["curl", "-sSf", "-o", "/dev/null", "--cacert", c.ca, "--max-time", "5",
                          "-H", "Authorization: Bearer " + c.tokens["admin"], c.api + "/readyz"],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            sys.exit("capture: the API server is not ready after its restart")
        time.sleep(0.5)
    put("watch-too-old-rv", c.curl("GET", "/api/v1/namespaces/pods-ns/pods?watch=1&resourceVersion=1"
                                   "&timeoutSeconds=5"))

    d = "/apis/apps/v1/namespaces/demo/deployments/web"
    ok = [{"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"},
          {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.26"}]
    put("patch-jsonpatch-ok", c.curl("PATCH", d + "?dryRun=All", ok, "application/json-patch+json"))
    bad = [{"op": "test", "path": "/spec/replicas", "value": 7},
           {"op": "replace", "path": "/spec/replicas", "value": 2}]
    put("patch-jsonpatch-test-fails", c.curl("PATCH", d, bad, "application/json-patch+json"))
    put("patch-merge-stale-rv", c.curl("PATCH", d, {"metadata": {"resourceVersion": "1"},
                                                    "spec": {"replicas": 2}},
                                       "application/merge-patch+json"))
    put("patch-invalid-value", c.curl("PATCH", d, {"spec": {"replicas": -3}}, "application/merge-patch+json"))
    put("patch-two-content-types", c.curl("PATCH", d, {"spec": {"replicas": 1}},
                                          "application/merge-patch+json, application/strategic-merge-patch+json"))
    put("get-not-found", c.curl("GET", "/apis/apps/v1/namespaces/demo/deployments/nope"))
    put("unauthorized-401", c.curl("GET", "/version", token="nope"))
    put("forbidden-403", c.curl("PATCH", "/apis/apps/v1/namespaces/default/deployments/x",
                                {"spec": {"replicas": 1}}, "application/merge-patch+json", token="restricted"))

    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "remedyd"},
             "spec": {"holderIdentity": "node-a", "leaseDurationSeconds": 15}}
    put("lease-create", c.curl("POST", "/apis/coordination.k8s.io/v1/namespaces/demo/leases", lease))
    path = "/apis/coordination.k8s.io/v1/namespaces/demo/leases/remedyd"
    cur = c.json("GET", path)
    cur["spec"]["holderIdentity"] = "node-b"
    c.json("PUT", path, cur)
    cur["spec"]["holderIdentity"] = "node-c"
    put("lease-put-stale", c.curl("PUT", path, cur))

    # A DELETE's body wins over its query: ?dryRun=All with DeleteOptions
    # that do not say dryRun deletes for real (the answer carries the
    # deletionTimestamp of a real, graceful deletion).
    p3 = c.json("GET", "/api/v1/namespaces/pods-ns/pods/p3")
    put("delete-body-without-dryrun", c.curl(
        "DELETE", "/api/v1/namespaces/pods-ns/pods/p3?dryRun=All",
        {"kind": "DeleteOptions", "apiVersion": "v1",
         "preconditions": {"uid": p3["metadata"]["uid"]}}))

    for name, raw in caps.items():
        with open(os.path.join(out, name + ".http"), "wb") as f:
            f.write(raw)
    for ns in ("pods-ns", "demo"):
        c.curl("DELETE", "/api/v1/namespaces/" + ns)
    print("capture: %d answers of %s written to %s" % (len(caps), c.api, out))
    # a capture is only useful with the same request in test_fixtures.py
    covered = open(os.path.join(HERE, "test_fixtures.py")).read()
    missing = [n for n in caps if "test_" + n.replace("-", "_") not in covered
               and n != "list-pods-page2"]
    if missing:
        sys.exit("capture: no test in test_fixtures.py for %s" % ", ".join(missing))


if __name__ == "__main__":
    main()

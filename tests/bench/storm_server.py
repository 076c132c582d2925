"""The cluster of the storm benchmark (bench_storm_scale.py), over plain
HTTP: N pods of D Deployments, a rollout of every Deployment to an image
that does not exist, and the API a diagnosis reads.

    python3 storm_server.py --dir DIR --pods 150000 --deployments 2000 \\
        --failing 0.10

Deployment d (namespace team-(d % 40)) is at revision 2 with the bad
image; its ReplicaSet of revision 1 (the good image) runs its healthy
pods, the one of revision 2 owns its failing ones.  The LIST of pods (pages
of ?limit=, as client-go's pager asks) holds the healthy pods, in the
shape stream_server.py gives them (about 6.7 KB of JSON each); ReplicaSets
and Deployments are listed the same way, their status says all is well.
Once DIR/go exists, the first pods WATCH sends one ADDED event per failing
pod (FAILING x N of them, spread over all Deployments, each in
ImagePullBackOff) and stays open; every other watch stays open without a
byte.  Served besides: GET of a pod, a Deployment or a ReplicaSet, the
Events of an object (none), and PATCH of a Deployment with dryRun=All
(200, nothing changed).  DIR/ready gets {"port": N, ...}; DIR/requests.json,
written on SIGTERM, the requests counted by kind.
"""

import argparse
import http.server
import json
import os
import random
import re
import signal
import socketserver
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stream_server import pod as big_pod  # noqa: E402


def enc(o):
    return json.dumps(o, separators=(",", ":")).encode()


def template(obj):
    """A %-format bytes template of obj whose "@@KEY@@" strings become
    %(KEY)s (bytes values, already JSON-safe)."""
    raw = enc(obj).replace(b"%", b"%%")
    return re.sub(rb"@@([A-Z0-9]+)@@", rb"%(\1)s", raw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--deployments", type=int, default=2000)
    ap.add_argument("--failing", type=float, default=0.10)
    a = ap.parse_args()
    rng = random.Random(7)
    ndep = a.deployments
    per = a.pods // ndep
    nfail = int(a.pods * a.failing)

    def uid(kind, d):
        return "%08x-0000-4000-a000-%012x" % (kind, d)

    # Deployment d: pods 0 .. per-1; the last `bad[d]` of them are the
    # failing pods of revision 2, the others run on revision 1.
    bad = [nfail // ndep + (1 if d < nfail % ndep else 0) for d in range(ndep)]

    def ns(d):
        return "team-%d" % (d % 40)

    def image(d, good):
        return "registry.example.com/team/app-%04d:%s" % (d, "v1" if good else "v2-typo")

    def labels(d, h):
        return {"app": "app-%04d" % d, "pod-template-hash": h}

    deps, rsets = [], []
    dep_by_name = {}
    for d in range(ndep):
        name = "app-%04d" % d
        tmpl = {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image(d, False),
                                         "resources": {"limits": {"memory": "512Mi"}}}]}}
        dep = {"kind": "Deployment", "apiVersion": "apps/v1",
               "metadata": {"name": name, "namespace": ns(d), "uid": uid(1, d), "generation": 2,
                            "resourceVersion": "5000", "labels": {"app": name},
                            "annotations": {"deployment.kubernetes.io/revision": "2"}},
               "spec": {"replicas": per, "selector": {"matchLabels": {"app": name}},
                        "template": tmpl},
               "status": {"observedGeneration": 2, "replicas": per, "updatedReplicas": per,
                          "readyReplicas": per, "availableReplicas": per,
                          "conditions": [{"type": "Available", "status": "True",
                                          "reason": "MinimumReplicasAvailable"},
                                         {"type": "Progressing", "status": "True",
                                          "reason": "NewReplicaSetAvailable"}]}}
        deps.append(dep)
        dep_by_name[(ns(d), name)] = enc(dep)
        for rev, h, good, n in ((1, "good%04d" % d, True, per - bad[d]), (2, "bad%04d" % d, False, bad[d])):
            rs = {"kind": "ReplicaSet", "apiVersion": "apps/v1",
                  "metadata": {"name": "%s-%s" % (name, h), "namespace": ns(d), "uid": uid(1 + rev, d),
                               "resourceVersion": "5000", "labels": labels(d, h),
                               "annotations": {"deployment.kubernetes.io/revision": str(rev)},
                               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "name": name, "uid": uid(1, d), "controller": True}]},
                  "spec": {"replicas": n, "selector": {"matchLabels": labels(d, h)},
                           "template": {"metadata": {"labels": labels(d, h)},
                                        "spec": {"containers": [{"name": "app", "image": image(d, good)}]}}},
                  "status": {"replicas": n, "readyReplicas": n if good else 0,
                             "availableReplicas": n if good else 0}}
            rsets.append(enc(rs))

    # a healthy pod: stream_server's shape, its names and owner filled in
    hp = big_pod(0, rng, 1000)
    hp["metadata"].update(name="@@NAME@@", namespace="@@NS@@", uid="@@UID@@",
                          generateName="@@RS@@-", labels={"app": "@@APP@@", "pod-template-hash": "@@HASH@@"})
    hp["metadata"]["ownerReferences"][0].update(name="@@RS@@", uid="@@RSUID@@")
    hp["spec"]["containers"][0]["image"] = "@@IMAGE@@"
    hp["status"]["containerStatuses"][0]["image"] = "@@IMAGE@@"
    healthy_t = template(hp)
    failing_t = template({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "@@NAME@@", "namespace": "@@NS@@", "uid": "@@UID@@", "resourceVersion": "@@RV@@",
                     "generateName": "@@RS@@-", "labels": {"app": "@@APP@@", "pod-template-hash": "@@HASH@@"},
                     "creationTimestamp": "2026-12-05T00:00:00Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "@@RS@@",
                                          "uid": "@@RSUID@@", "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"nodeName": "@@NODE@@", "restartPolicy": "Always",
                 "containers": [{"name": "app", "image": "@@IMAGE@@",
                                 "resources": {"limits": {"memory": "512Mi"}}}]},
        "status": {"phase": "Pending", "startTime": "2026-12-05T00:00:00Z",
                   "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                                  {"type": "PodScheduled", "status": "True"}],
                   "containerStatuses": [{"name": "app", "image": "@@IMAGE@@", "imageID": "", "ready": False,
                                          "restartCount": 0, "started": False,
                                          "state": {"waiting": {"reason": "ImagePullBackOff",
                                                                "message": "Back-off pulling image @@IMAGE@@"}},
                                          "lastState": {}}]}})

    def fill(t, d, k, good, rv=1000):
        h = ("good%04d" if good else "bad%04d") % d
        v = {"NAME": b"app-%04d-%s-%05d" % (d, h.encode(), k), "NS": ns(d).encode(),
             "UID": uid(9, d * 1000 + k).encode(), "RS": b"app-%04d-%s" % (d, h.encode()),
             "RSUID": uid(2 if good else 3, d).encode(), "APP": b"app-%04d" % d, "HASH": h.encode(),
             "IMAGE": image(d, good).encode(), "NODE": b"node-%d" % (k % 500), "RV": str(rv).encode()}
        return t % {key.encode(): val for key, val in v.items()}

    healthy = [(d, k) for d in range(ndep) for k in range(per - bad[d])]
    failing = {}
    events = []
    rv = 10000
    for d in range(ndep):
        for k in range(per - bad[d], per):
            rv += 1
            body = fill(failing_t, d, k, False, rv)
            failing[(ns(d), b"app-%04d-bad%04d-%05d" % (d, d, k))] = body
            events.append(b'{"type":"ADDED","object":' + body + b"}\n")
    rng.shuffle(events)
    stream = b"".join(events)
    del events

    counts = {}
    lock = threading.Lock()

    def count(kind):
        with lock:
            counts[kind] = counts.get(kind, 0) + 1

    def page(items, n, limit, kind):
        """Page n of a list of encoded items (a callable for the pods)."""
        total = len(items)
        part = items[n * limit:(n + 1) * limit]
        if kind == b"Pod":
            part = [fill(healthy_t, d, k, True) for d, k in part]
        meta = {"resourceVersion": "5000"}
        if (n + 1) * limit < total:
            meta["continue"] = "page-%d" % (n + 1)
        return b'{"kind":"%sList","apiVersion":"v1","metadata":' % kind + enc(meta) + \
            b',"items":[' + b",".join(part) + b"]}"

    disc_api = enc({"kind": "APIVersions", "versions": ["v1"]})
    disc_v1 = enc({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "namespaced": True, "kind": "Pod", "verbs": ["get", "list", "watch"]}]})
    disc_apis = enc({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
    version = enc({"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"})
    watches = [0]
    lists = {"/api/v1/pods": (healthy, b"Pod"), "/apis/apps/v1/replicasets": (rsets, b"ReplicaSet"),
             "/apis/apps/v1/deployments": ([enc(x) for x in deps], b"Deployment")}

    def notfound():
        return (b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404,'
                b'"reason":"NotFound","message":"not found"}')

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, body, code=200):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def hang(self, first=b""):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                mv = memoryview(first)
                for off in range(0, len(first), 256 * 1024):
                    piece = mv[off:off + 256 * 1024]
                    self.wfile.write(b"%x\r\n" % len(piece))
                    self.wfile.write(piece)
                    self.wfile.write(b"\r\n")
                self.wfile.flush()
                self.connection.settimeout(None)
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            self.close_connection = True

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
            p = u.path
            if p in ("/api", "/api/v1", "/apis", "/version"):
                return self.send({"/api": disc_api, "/api/v1": disc_v1, "/apis": disc_apis,
                                  "/version": version}[p])
            watch = (q.get("watch") or "").lower() in ("1", "true")
            if p in lists:
                if watch and q.get("sendInitialEvents") == "true":
                    return self.send(b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":422,'
                                     b'"reason":"Invalid","message":"sendInitialEvents is forbidden"}', 422)
                if watch:
                    count("watch")
                    first = False
                    if p == "/api/v1/pods":
                        with lock:
                            watches[0] += 1
                            first = watches[0] == 1
                    if not first:
                        return self.hang()
                    while not os.path.exists(os.path.join(a.dir, "go")):
                        time.sleep(0.05)
                    return self.hang(stream)
                count("list")
                items, kind = lists[p]
                n = int(q["continue"].split("-")[1]) if q.get("continue") else 0
                return self.send(page(items, n, int(q.get("limit") or 500), kind))
            parts = p.strip("/").split("/")
            # /api/v1/namespaces/NS/pods/NAME, .../events
            if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
                count("get pod")
                body = failing.get((parts[3], parts[5].encode()))
                return self.send(body) if body else self.send(notfound(), 404)
            if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "events":
                count("list events")
                return self.send(b'{"kind":"EventList","apiVersion":"v1","metadata":'
                                 b'{"resourceVersion":"5000"},"items":[]}')
            if len(parts) == 7 and parts[:4] == ["apis", "apps", "v1", "namespaces"]:
                count("get " + parts[5])
                if parts[5] == "deployments" and (parts[4], parts[6]) in dep_by_name:
                    return self.send(dep_by_name[(parts[4], parts[6])])
                return self.send(notfound(), 404)
            count("other")
            return self.send(notfound(), 404)

        def do_PATCH(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
            parts = u.path.strip("/").split("/")
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            if len(parts) == 7 and parts[5] == "deployments" and q.get("dryRun") == "All" and \
                    (parts[4], parts[6]) in dep_by_name:
                count("dry-run patch")
                return self.send(dep_by_name[(parts[4], parts[6])])
            count("other")
            return self.send(b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":403,'
                             b'"reason":"Forbidden","message":"only dry-runs here"}', 403)

    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128

    srv = S(("127.0.0.1", 0), H)

    def on_term(*_):
        with open(os.path.join(a.dir, "requests.json"), "w") as f:
            json.dump(counts, f)
        os._exit(0)
    signal.signal(signal.SIGTERM, on_term)
    with open(os.path.join(a.dir, "ready.tmp"), "w") as f:
        json.dump({"port": srv.server_address[1], "pods": len(healthy) + len(failing),
                   "healthy": len(healthy), "failing": len(failing), "deployments": ndep,
                   "replicasets": len(rsets), "stream_bytes": len(stream)}, f)
    os.replace(os.path.join(a.dir, "ready.tmp"), os.path.join(a.dir, "ready"))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

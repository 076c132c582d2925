"""Serve a watch stream and a paged pod LIST for the watch benchmark
(tests/bench/bench_watch.c), over plain HTTP so that the TLS cost is not
part of what is compared.

    python3 stream_server.py --dir DIR --events N --pods M

Pods are built in the shape kube-apiserver v1.2x returns them for a
Deployment's pod (managedFields of kube-controller-manager and kubelet, two
containers with env, probes, resources and mounts, the projected
service-account volume, default tolerations, four conditions, container
statuses), 5-8 KB of JSON each (the env list varies).  DIR/stream.json gets
the exact watch bytes (one JSON document per line) so the client can time a
parse-only pass over the same bytes; DIR/ready gets {"port": N}.

Serves: discovery (/api, /api/v1, /apis, /version) for kubectl; an empty
LIST of /api/v1/pods and a WATCH of it, which sends the N events and ends;
a paged LIST (?limit=) of M pods in namespace "big", for the memory figure.

With --remedyd it is the cluster of the loop benchmark (bench_loop.py):
/api/v1/pods lists the M pods (pages of ?limit=, namespace "big"); the
first pods WATCH waits for the file DIR/go, then sends the N events and
stays open; every later watch, and the ReplicaSets and Deployments (empty
lists), stay open without a byte until the client leaves.
"""

import argparse
import http.server
import json
import os
import random
import socketserver
import sys
import threading
import time
import urllib.parse

HEX = "0123456789abcdef"


def pod(i, rng, rv):
    app = "svc-%d" % (i % 97)
    rs_hash = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(10))
    name = "%s-%s-%05d" % (app, rs_hash[:10], i)
    ns = "team-%d" % (i % 40)
    env = [{"name": "ENV_%02d_%s" % (k, "X" * rng.randint(4, 16)),
            "value": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-./:") for _ in range(rng.randint(10, 60)))}
           for k in range(rng.randint(6, 26))]
    image = "registry.example.com/%s/%s:v1.%d.%d" % (ns, app, i % 30, i % 7)
    sha = "".join(rng.choice(HEX) for _ in range(64))
    cid = "".join(rng.choice(HEX) for _ in range(64))
    uid = "%08x-%04x-4%03x-a%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                           rng.getrandbits(12), rng.getrandbits(48))
    ts = "2026-11-2%dT0%d:%02d:%02dZ" % (i % 7, i % 9, i % 60, (i * 7) % 60)
    probe = {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 5,
             "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    mf_spec = {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}},
                              "f:ownerReferences": {".": {}, "k:{\"uid\":\"%s\"}" % uid: {}}},
               "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:env": {".": {}},
                                                                  "f:image": {}, "f:imagePullPolicy": {},
                                                                  "f:livenessProbe": {".": {}, "f:httpGet": {}},
                                                                  "f:name": {}, "f:ports": {".": {}},
                                                                  "f:resources": {".": {}, "f:limits": {},
                                                                                  "f:requests": {}},
                                                                  "f:terminationMessagePath": {},
                                                                  "f:terminationMessagePolicy": {}},
                                           "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}}},
                          "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
                          "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}
    mf_status = {"f:status": {"f:conditions": {"k:{\"type\":\"ContainersReady\"}": {".": {}, "f:status": {}},
                                               "k:{\"type\":\"Initialized\"}": {".": {}, "f:status": {}},
                                               "k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}}},
                              "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {},
                              "f:podIPs": {".": {}, "k:{\"ip\":\"10.0.0.1\"}": {".": {}, "f:ip": {}}},
                              "f:startTime": {}}}
    cstat = lambda n, img: {"name": n, "state": {"running": {"startedAt": ts}}, "lastState": {}, "ready": True,
                            "restartCount": i % 3, "image": img, "imageID": "%s@sha256:%s" % (img.split(":")[0], sha),
                            "containerID": "containerd://" + cid, "started": True}
    return {
        "metadata": {
            "name": name, "generateName": "%s-%s-" % (app, rs_hash[:10]), "namespace": ns, "uid": uid,
            "resourceVersion": str(rv), "creationTimestamp": ts,
            "labels": {"app": app, "pod-template-hash": rs_hash[:10], "team": ns, "tier": "backend",
                       "version": "v1.%d" % (i % 30)},
            "annotations": {"kubectl.kubernetes.io/restartedAt": ts, "prometheus.io/scrape": "true",
                            "prometheus.io/port": "9090"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "%s-%s" % (app, rs_hash[:10]),
                                 "uid": uid, "controller": True, "blockOwnerDeletion": True}],
            "managedFields": [
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": ts,
                 "fieldsType": "FieldsV1", "fieldsV1": mf_spec},
                {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": ts,
                 "fieldsType": "FieldsV1", "fieldsV1": mf_status, "subresource": "status"}]},
        "spec": {
            "volumes": [{"name": "kube-api-access-%s" % rs_hash[:5], "projected": {"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                              "fieldPath": "metadata.namespace"}}]}}],
                "defaultMode": 420}}],
            "containers": [
                {"name": "app", "image": image, "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                                         {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
                 "env": env, "resources": {"limits": {"cpu": "1", "memory": "512Mi"},
                                           "requests": {"cpu": "100m", "memory": "128Mi"}},
                 "volumeMounts": [{"name": "kube-api-access-%s" % rs_hash[:5], "readOnly": True,
                                   "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                 "livenessProbe": probe, "readinessProbe": probe,
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                 "imagePullPolicy": "IfNotPresent"},
                {"name": "sidecar", "image": "registry.example.com/mesh/proxy:1.19.%d" % (i % 5),
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                 "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "serviceAccount": "default", "nodeName": "node-%d" % (i % 500),
            "securityContext": {}, "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300},
                            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority"},
        "status": {
            "phase": "Running",
            "conditions": [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "hostIP": "10.1.%d.%d" % (i % 250, (i // 250) % 250), "podIP": "10.2.%d.%d" % (i % 250, (i // 7) % 250),
            "podIPs": [{"ip": "10.2.%d.%d" % (i % 250, (i // 7) % 250)}], "startTime": ts,
            "containerStatuses": [cstat("app", image), cstat("sidecar", "registry.example.com/mesh/proxy:1.19.0")],
            "qosClass": "Burstable"}}


def enc(o):
    return json.dumps(o, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--pods", type=int, default=100000)
    ap.add_argument("--pool", type=int, default=2000)
    ap.add_argument("--remedyd", action="store_true")
    a = ap.parse_args()
    rng = random.Random(1)
    # the watch stream: events over a pool of distinct pods
    pool = [pod(i, rng, 1000 + i) for i in range(a.pool)]
    lines = []
    sizes = []
    for e in range(a.events):
        p = pool[e % a.pool]
        p["metadata"]["resourceVersion"] = str(10000 + e)
        # objects in watch events carry kind and apiVersion (list items do not)
        b = enc({"type": "ADDED" if e < a.pool else "MODIFIED",
                 "object": dict({"kind": "Pod", "apiVersion": "v1"}, **p)})
        sizes.append(len(b) - 30)
        lines.append(b + b"\n")
    stream = b"".join(lines)
    with open(os.path.join(a.dir, "stream.json"), "wb") as f:
        f.write(stream)
    # a page template: names and resourceVersions substituted per pod
    page_pods = [enc(pool[k]) for k in range(min(a.pool, 500))]
    npages = (a.pods + 499) // 500

    def page(n):
        items = []
        for k in range(500):
            idx = n * 500 + k
            if idx >= a.pods:
                break
            t = page_pods[k]
            t = t.replace(b'"name":"', b'"name":"x%d-' % idx, 1)
            items.append(t.replace(b'"namespace":"team-', b'"namespace":"big","x":"', 1))
        meta = {"resourceVersion": "5000"}
        if n + 1 < npages:
            meta["continue"] = "page-%d" % (n + 1)
        return b'{"kind":"PodList","apiVersion":"v1","metadata":' + enc(meta) + b',"items":[' + \
            b",".join(items) + b"]}"

    disc_api = enc({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
    disc_v1 = enc({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "Pod",
         "verbs": ["get", "list", "watch"], "shortNames": ["po"]}]})
    disc_apis = enc({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
    version = enc({"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"})

    watches = [0]
    lock = threading.Lock()

    def hang(h):
        """A watch that sends nothing until the client goes away."""
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        h.connection.settimeout(None)
        try:
            while h.connection.recv(4096):
                pass
        except OSError:
            pass
        h.close_connection = True

    def empty(kind):
        return b'{"kind":"%sList","apiVersion":"v1","metadata":{"resourceVersion":"5000"},"items":[]}' % kind

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, body, ctype="application/json", code=200):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
            if u.path == "/api":
                return self.send(disc_api)
            if u.path == "/api/v1":
                return self.send(disc_v1)
            if u.path == "/apis":
                return self.send(disc_apis)
            if u.path == "/version":
                return self.send(version)
            is_watch = (q.get("watch") or "").lower() in ("1", "true")
            if a.remedyd and u.path in ("/apis/apps/v1/replicasets", "/apis/apps/v1/deployments"):
                if is_watch and q.get("sendInitialEvents") == "true":
                    return self.send(b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":422,'
                                     b'"reason":"Invalid","message":"sendInitialEvents is forbidden"}', code=422)
                if is_watch:
                    return hang(self)
                return self.send(empty(b"ReplicaSet" if "replicasets" in u.path else b"Deployment"))
            if a.remedyd and u.path == "/api/v1/pods" and not is_watch:
                n = int(q["continue"].split("-")[1]) if q.get("continue") else 0
                return self.send(page(n))
            if a.remedyd and u.path == "/api/v1/pods" and q.get("sendInitialEvents") != "true":
                with lock:
                    watches[0] += 1
                    first = watches[0] == 1
                if not first:
                    return hang(self)
                while not os.path.exists(os.path.join(a.dir, "go")):
                    time.sleep(0.05)
            if u.path == "/api/v1/namespaces/big/pods" and q.get("limit"):
                n = int(q["continue"].split("-")[1]) if q.get("continue") else 0
                return self.send(page(n))
            if u.path != "/api/v1/pods":
                return self.send(b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404,'
                                 b'"reason":"NotFound","message":"not found"}', code=404)
            if (q.get("watch") or "").lower() in ("1", "true"):
                if q.get("sendInitialEvents") == "true":
                    return self.send(b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":422,'
                                     b'"reason":"Invalid","message":"sendInitialEvents is forbidden"}', code=422)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                mv = memoryview(stream)
                step = 256 * 1024
                try:
                    for off in range(0, len(stream), step):
                        piece = mv[off:off + step]
                        self.wfile.write(b"%x\r\n" % len(piece))
                        self.wfile.write(piece)
                        self.wfile.write(b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True
                return
            return self.send(b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9999"},"items":[]}')

    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = S(("127.0.0.1", 0), H)
    with open(os.path.join(a.dir, "ready.tmp"), "w") as f:
        json.dump({"port": srv.server_address[1], "events": a.events, "bytes": len(stream),
                   "min_pod": min(sizes), "max_pod": max(sizes),
                   "avg_pod": sum(sizes) // len(sizes)}, f)
    os.replace(os.path.join(a.dir, "ready.tmp"), os.path.join(a.dir, "ready"))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

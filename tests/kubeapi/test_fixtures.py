#!/usr/bin/env python3
"""Hold the test API server to real kube-apiserver captures.

For every capture in $REMEDY_SHARED/fixtures/kube-apiserver-v1.20/ this sends
the equivalent request to a fresh fake_apiserver.py and compares status code,
the headers that matter and the body shape.  The captures are parsed (status
line, headers, body, chunk framing), not copied, so the test stays tied to
them; a capture with no equivalent request here fails the test.

Run: python3 -u tests/kubeapi/test_fixtures.py
"""

import json
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import fake_apiserver  # noqa: E402

SHARED = os.environ.get("REMEDY_SHARED") or os.path.join(HERE, "..", "..", "..", "shared")
# The captures tests/kubeapi/capture_fixtures.py refreshed from the real
# cluster (scripts/cluster) when there are any, else the shared ones.
OWN = os.path.join(HERE, "captures", "kube-apiserver-v1.20")
FIXDIR = os.environ.get("REMEDY_FIXTURES") or (
    OWN if os.path.isdir(OWN) else os.path.join(SHARED, "fixtures", "kube-apiserver-v1.20"))
CURL_UA = "curl/7.88.1"
RESTRICTED = "restricted-token"
PODNS = "pods-ns"   # the captures' pods lived alone in their namespace


class Capture:
    """One .http file: status, lower-case headers, body bytes, and for a
    raw chunked capture the list of chunk payloads."""

    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        m = re.search(rb"\r?\n\r?\n", raw)
        head, self.body = raw[:m.start()], raw[m.end():]
        lines = re.split(rb"\r?\n", head)
        parts = lines[0].decode().split()
        self.proto, self.status = parts[0], int(parts[1])
        self.headers = {}
        for ln in lines[1:]:
            k, _, v = ln.decode().partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunks = None
        if self.headers.get("transfer-encoding") == "chunked":
            self.chunks = parse_chunks(self.body, renamed=b'"namespace":"demo"')

    def json(self):
        return json.loads(self.body)


def parse_chunks(data, renamed=None):
    """Decode HTTP/1.1 chunk framing strictly; a size that does not match
    its payload is an error.  Returns the payloads, without the final 0.

    The captures had their namespace renamed to "demo" after capture, which
    left the chunk sizes of the original: with renamed set, a payload may be
    shorter than its size by the same amount per occurrence of renamed, and
    by nothing when renamed does not occur in it."""
    out, pos, shift = [], 0, None
    while True:
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            if data[pos:] != b"\r\n":
                raise ValueError("trailing bytes after the last chunk")
            return out
        if data[pos + size:pos + size + 2] == b"\r\n":
            out.append(data[pos:pos + size])
            pos += size + 2
            continue
        end = data.find(b"\n\r\n", pos) + 1
        n = data.count(renamed, pos, end) if renamed else 0
        if not n or (size - (end - pos)) % n:
            raise ValueError("chunk of size %d not followed by CRLF" % size)
        if shift is None:
            shift = (size - (end - pos)) // n
        if size - (end - pos) != shift * n:
            raise ValueError("chunk of size %d: inconsistent renaming" % size)
        out.append(data[pos:end])
        pos = end + 2


def key_shape(v):
    """The keys of v, recursively (lists by their first element)."""
    if isinstance(v, dict):
        return {k: key_shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [key_shape(v[0])] if v else []
    return None


def strip_managed(obj):
    if isinstance(obj, dict):
        return {k: strip_managed(v) for k, v in obj.items() if k != "managedFields"}
    if isinstance(obj, list):
        return [strip_managed(v) for v in obj]
    return obj


class Fixtures(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(FIXDIR):
            raise unittest.SkipTest("no captures at %s" % FIXDIR)
        cls.tmp = tempfile.mkdtemp(prefix="fakeapi-fix-")
        cls.h = fake_apiserver.Harness(cls.tmp, "--scenario", "empty", "--restricted-token", RESTRICTED,
                                       "--bookmark-interval", "0.3")
        cls.h.start()
        h = cls.h
        h.json("POST", "/api/v1/namespaces", {"metadata": {"name": PODNS}}, expect=201)
        for n in ("p1", "p2", "p3"):
            h.json("POST", "/api/v1/namespaces/%s/pods" % PODNS,
                   {"metadata": {"name": n, "labels": {"run": n}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": n, "image": "nginx:1.25"}]}},
                   expect=201)
        h.json("POST", "/apis/apps/v1/namespaces/demo/deployments", fake_apiserver.deployment_manifest(
            "web", "demo", "nginx:1.25", 1), expect=201)

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers

    def cap(self, name):
        return Capture(os.path.join(FIXDIR, name))

    def req(self, method, path, body=None, headers=None, **kw):
        kw.setdefault("ua", CURL_UA)
        return self.h.request(method, path, body, headers, **kw)

    def check_common(self, cap, got, pretty=True):
        status, hdrs, body = got
        self.assertEqual(status, cap.status, body[:400])
        for h in ("content-type", "cache-control"):
            self.assertEqual(hdrs.get(h), cap.headers.get(h), "header %s" % h)
        if cap.body and cap.headers.get("content-type") == "application/json" and not cap.chunks:
            if pretty:
                self.assertTrue(body.startswith(b"{\n  \""), "curl User-Agent gets an indented body")
            else:
                self.assertNotIn(b"\n", body, "other User-Agents get a compact body")
        return json.loads(body) if body and hdrs.get("content-type") == "application/json" else None

    def check_status(self, cap, got, subst=()):
        """A Status answer: same kind/apiVersion/status/reason/code, same keys
        recursively, same message after substituting names."""
        mine = self.check_common(cap, got)
        want = cap.json()
        for k in ("kind", "apiVersion", "status", "reason", "code"):
            self.assertEqual(mine.get(k), want.get(k), k)
        self.assertEqual(key_shape(mine), key_shape(want))
        msg = mine["message"]
        for a, b in subst:
            msg = re.sub(a, b, msg)
        self.assertEqual(msg, want["message"])
        self.assertEqual(mine.get("details"), want.get("details"))
        return mine

    def pod_path(self, suffix=""):
        return "/api/v1/namespaces/%s/pods%s" % (PODNS, suffix)

    def new_pod(self, name):
        self.h.json("POST", self.pod_path(), {"metadata": {"name": name},
                                              "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}},
                    expect=201)

    # -- every capture has a test

    def test_every_capture_is_covered(self):
        names = sorted(f[:-5] for f in os.listdir(FIXDIR) if f.endswith(".http"))
        self.assertGreater(len(names), 10)
        covered = {n[5:] for n in dir(self) if n.startswith("test_")}
        covered.add("list-pods-page2")      # together with page1
        missing = [n for n in names if n.replace("-", "_") not in covered and n not in covered]
        self.assertEqual(missing, [], "captures without an equivalent request")

    # -- the captures

    def test_version(self):
        cap = self.cap("version.http")
        mine = self.check_common(cap, self.req("GET", "/version"))
        self.assertEqual(key_shape(mine), key_shape(cap.json()))
        self.assertEqual(mine["gitVersion"], cap.json()["gitVersion"])
        got = self.req("GET", "/version", ua="remedyd/0.1")
        self.check_common(cap, got, pretty=False)

    def test_list_pods_page1(self):
        c1, c2 = self.cap("list-pods-page1.http"), self.cap("list-pods-page2.http")
        p1 = self.check_common(c1, self.req("GET", self.pod_path("?limit=2")))
        w1, w2 = c1.json(), c2.json()
        self.assertEqual((p1["kind"], p1["apiVersion"]), (w1["kind"], w1["apiVersion"]))
        self.assertEqual(set(p1["metadata"]), set(w1["metadata"]))
        self.assertEqual(p1["metadata"]["remainingItemCount"], w1["metadata"]["remainingItemCount"])
        self.assertEqual([i["metadata"]["name"] for i in p1["items"]],
                         [i["metadata"]["name"] for i in w1["items"]])
        for mine, want in zip(p1["items"], w1["items"]):
            want = strip_managed(want)
            self.assertEqual(set(mine), set(want))
            self.assertLessEqual(set(want["metadata"]), set(mine["metadata"]))
            self.assertLessEqual(set(want["spec"]), set(mine["spec"]))
            self.assertEqual(key_shape(mine["spec"]["containers"]), key_shape(want["spec"]["containers"]))
        p2 = self.check_common(c2, self.req("GET", self.pod_path("?limit=2&continue=" + p1["metadata"]["continue"])))
        self.assertEqual(set(p2["metadata"]), set(w2["metadata"]))
        self.assertNotIn("continue", p2["metadata"])
        self.assertNotIn("remainingItemCount", p2["metadata"])
        self.assertEqual(w1["metadata"]["resourceVersion"], w2["metadata"]["resourceVersion"])
        self.assertEqual(p1["metadata"]["resourceVersion"], p2["metadata"]["resourceVersion"])
        self.assertEqual([i["metadata"]["name"] for i in p2["items"]],
                         [i["metadata"]["name"] for i in w2["items"]])

    def test_list_pods_bad_continue(self):
        cap = self.cap("list-pods-bad-continue.http")
        # a token whose decoded bytes start with 0x81, like the captured one
        self.check_status(cap, self.req("GET", self.pod_path("?limit=2&continue=gWdhcmJhZ2U")))

    def test_list_events(self):
        cap = self.cap("list-events.http")
        want = strip_managed(cap.json())
        item = dict(want["items"][0])
        md = item["metadata"]
        item["metadata"] = {"name": md["name"]}
        item["involvedObject"] = dict(item["involvedObject"], namespace="demo")
        self.h.json("POST", "/api/v1/namespaces/demo/events", item, expect=201)
        mine = self.check_common(cap, self.req("GET", "/api/v1/namespaces/demo/events"))
        self.assertEqual((mine["kind"], mine["apiVersion"]), (want["kind"], want["apiVersion"]))
        self.assertEqual(set(mine["metadata"]), set(want["metadata"]))
        ev = [i for i in mine["items"] if i["metadata"]["name"] == md["name"]][0]
        self.assertEqual(key_shape(ev), key_shape(want["items"][0]))

    def raw_watch(self, query, during=None):
        """GET a watch over a plain TLS socket and return (status line,
        headers, raw body) so the chunk framing can be checked."""
        sock = socket.create_connection(("127.0.0.1", self.h.port), timeout=15)
        s = self.h.ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: %s\r\nAuthorization: Bearer %s\r\n"
                   "Connection: close\r\n\r\n" % (self.pod_path(query), CURL_UA, self.h.token)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            self.assertTrue(d, "connection closed before the headers")
            buf += d
        if during:
            during()
        while not buf.endswith(b"\r\n0\r\n\r\n") and not buf.endswith(b"\r\n\r\n0\r\n\r\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return lines[0], hdrs, body

    def test_watch_pods_raw_chunked(self):
        cap = self.cap("watch-pods-raw-chunked.http")
        self.assertEqual(cap.proto, "HTTP/1.1")
        want_types = []
        for ch in cap.chunks:       # the capture obeys the framing we check below
            self.assertTrue(ch.endswith(b"\n") and ch.count(b"\n") == 1)
            want_types.append(json.loads(ch)["type"])
        self.new_pod("w1")
        self.new_pod("w2")
        rv = self.h.json("GET", self.pod_path())["metadata"]["resourceVersion"]

        def during():
            self.h.json("PATCH", self.pod_path("/w1"), json.dumps({"metadata": {"labels": {"touched": "yes"}}}),
                        {"Content-Type": "application/merge-patch+json"})
            self.new_pod("w4")
            self.h.json("DELETE", self.pod_path("/w2"))
        status, hdrs, body = self.raw_watch("?watch=1&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion="
                                            + rv, during)
        self.assertEqual(status.split()[:2], ["HTTP/1.1", str(cap.status)])
        for h in ("content-type", "cache-control", "transfer-encoding"):
            self.assertEqual(hdrs.get(h), cap.headers.get(h), h)
        chunks = parse_chunks(body)     # raises unless the stream ended with the 0 chunk
        self.assertTrue(chunks)
        types, objs = [], []
        for ch in chunks:
            self.assertTrue(ch.endswith(b"\n"), "a chunk holds whole lines")
            self.assertEqual(ch.count(b"\n"), 1, "one JSON document per chunk")
            ev = json.loads(ch)
            self.assertEqual(set(ev), {"type", "object"})
            self.assertIn(ev["type"], ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"))
            types.append(ev["type"])
            objs.append(ev)
        self.assertLessEqual(set(want_types), set(types))
        self.assertEqual([t for t in types if t != "BOOKMARK"][:3], ["MODIFIED", "ADDED", "DELETED"])
        for ev in objs:
            o = ev["object"]
            self.assertEqual((o["kind"], o["apiVersion"]), ("Pod", "v1"))
            if ev["type"] == "BOOKMARK":
                self.assertEqual(set(o["metadata"]), {"resourceVersion"})
            else:
                self.assertIn(o["metadata"]["name"], ("w1", "w2", "w4"))
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in objs]
        self.assertEqual(rvs, sorted(rvs))
        self.h.json("DELETE", self.pod_path("/w1"))
        self.h.json("DELETE", self.pod_path("/w4"))

    def test_watch_too_old_rv(self):
        cap = self.cap("watch-too-old-rv.http")
        want = json.loads(cap.body)
        self.h.json("POST", "/_test/compact")
        status, hdrs, body = self.raw_watch("?watch=1&resourceVersion=1&timeoutSeconds=5")
        self.assertEqual(int(status.split()[1]), cap.status)
        for h in ("content-type", "cache-control"):
            self.assertEqual(hdrs.get(h), cap.headers.get(h), h)
        chunks = parse_chunks(body)
        self.assertEqual(len(chunks), 1)
        ev = json.loads(chunks[0])
        self.assertEqual(ev["type"], want["type"])
        self.assertEqual(key_shape(ev), key_shape(want))
        for k in ("kind", "apiVersion", "status", "reason", "code"):
            self.assertEqual(ev["object"][k], want["object"][k])
        num = lambda s: re.sub(r"\d+", "N", s)
        self.assertEqual(num(ev["object"]["message"]), num(want["object"]["message"]))
        self.assertTrue(ev["object"]["message"].startswith("too old resource version: 1 ("))

    def deploy(self, suffix=""):
        return "/apis/apps/v1/namespaces/demo/deployments/web" + suffix

    def test_patch_jsonpatch_ok(self):
        cap = self.cap("patch-jsonpatch-ok.http")
        want = strip_managed(cap.json())
        before = self.h.json("GET", self.deploy())
        ops = [{"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"},
               {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.26"}]
        mine = self.check_common(cap, self.req("PATCH", self.deploy("?dryRun=All"), json.dumps(ops),
                                               {"Content-Type": "application/json-patch+json"}))
        self.assertEqual((mine["kind"], mine["apiVersion"]), (want["kind"], want["apiVersion"]))
        self.assertEqual(set(mine), set(want))
        self.assertLessEqual(set(want["metadata"]), set(mine["metadata"]))
        self.assertEqual(key_shape(mine["spec"]), key_shape(want["spec"]))
        self.assertEqual(mine["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26")
        self.assertEqual(mine["metadata"]["generation"], want["metadata"]["generation"])
        after = self.h.json("GET", self.deploy())
        self.assertEqual(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"])

    def test_patch_jsonpatch_test_fails(self):
        ops = [{"op": "test", "path": "/spec/replicas", "value": 7},
               {"op": "replace", "path": "/spec/replicas", "value": 2}]
        self.check_status(self.cap("patch-jsonpatch-test-fails.http"),
                          self.req("PATCH", self.deploy(), json.dumps(ops),
                                   {"Content-Type": "application/json-patch+json"}))

    def test_patch_merge_stale_rv(self):
        body = json.dumps({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}})
        self.check_status(self.cap("patch-merge-stale-rv.http"),
                          self.req("PATCH", self.deploy(), body, {"Content-Type": "application/merge-patch+json"}))

    def test_patch_invalid_value(self):
        body = json.dumps({"spec": {"replicas": -3}})
        self.check_status(self.cap("patch-invalid-value.http"),
                          self.req("PATCH", self.deploy(), body, {"Content-Type": "application/merge-patch+json"}))

    def test_patch_two_content_types(self):
        body = json.dumps({"spec": {"replicas": 1}})
        ct = "application/merge-patch+json, application/strategic-merge-patch+json"
        self.check_status(self.cap("patch-two-content-types.http"),
                          self.req("PATCH", self.deploy(), body, {"Content-Type": ct}))

    def test_get_not_found(self):
        cap = self.cap("get-not-found.http")
        self.check_status(cap, self.req("GET", "/apis/apps/v1/namespaces/demo/deployments/nope"))
        self.check_common(cap, self.req("GET", "/apis/apps/v1/namespaces/demo/deployments/nope", ua="remedyd/0.1"),
                          pretty=False)

    def test_unauthorized_401(self):
        self.check_status(self.cap("unauthorized-401.http"),
                          self.req("GET", "/version", auth=False, headers={"Authorization": "Bearer nope"}))

    def test_forbidden_403(self):
        self.check_status(self.cap("forbidden-403.http"),
                          self.req("PATCH", "/apis/apps/v1/namespaces/default/deployments/x",
                                   json.dumps({"spec": {"replicas": 1}}),
                                   {"Content-Type": "application/merge-patch+json",
                                    "Authorization": "Bearer " + RESTRICTED}, auth=False))

    def test_pod_log_no_node(self):
        cap = self.cap("pod-log-no-node.http")
        self.assertEqual(cap.body, b"")
        status, hdrs, body = self.req("GET", self.pod_path("/p1/log"))
        self.assertEqual(status, cap.status)
        self.assertEqual(body, b"")
        self.assertEqual(hdrs.get("cache-control"), cap.headers.get("cache-control"))
        self.assertNotIn("content-type", hdrs)
        self.assertIn(hdrs.get("content-length", "0"), ("0",))

    def test_delete_body_without_dryrun(self):
        """`?dryRun=All` with a DeleteOptions body that does not say dryRun:
        the body wins, and the pod is deleted for real."""
        path = self.cap_path = "delete-body-without-dryrun.http"
        if not os.path.exists(os.path.join(FIXDIR, path)):
            self.skipTest("captured by capture_fixtures.py only")
        cap = self.cap(path)
        self.new_pod("d1")
        uid = self.h.json("GET", self.pod_path("/d1"))["metadata"]["uid"]
        mine = self.check_common(cap, self.req(
            "DELETE", self.pod_path("/d1?dryRun=All"),
            json.dumps({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid}}),
            {"Content-Type": "application/json"}))
        want = cap.json()
        self.assertEqual((mine["kind"], mine["apiVersion"]), (want["kind"], want["apiVersion"]))
        self.assertEqual(self.req("GET", self.pod_path("/d1"))[0], 404, "deleted for real")

    def lease_body(self, cap_name="lease-create.http"):
        want = strip_managed(self.cap(cap_name).json())
        return {"apiVersion": want["apiVersion"], "kind": want["kind"],
                "metadata": {"name": want["metadata"]["name"]}, "spec": want["spec"]}

    def test_lease_create(self):
        cap = self.cap("lease-create.http")
        want = strip_managed(cap.json())
        mine = self.check_common(cap, self.req("POST", "/apis/coordination.k8s.io/v1/namespaces/demo/leases",
                                               self.lease_body(), {"Content-Type": "application/json"}))
        self.assertEqual(key_shape(mine), key_shape(want))
        self.assertEqual(mine["spec"], want["spec"])

    def test_lease_put_stale(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/demo/leases/remedyd"
        if self.h.request("GET", path)[0] == 404:
            self.h.json("POST", "/apis/coordination.k8s.io/v1/namespaces/demo/leases", self.lease_body(),
                        expect=201)
        cur = self.h.json("GET", path)
        cur["spec"]["holderIdentity"] = "node-b"
        self.h.json("PUT", path, cur)              # moves the resourceVersion on
        cur["spec"]["holderIdentity"] = "node-c"   # and this copy is now stale
        self.check_status(self.cap("lease-put-stale.http"),
                          self.req("PUT", path, json.dumps(cur), {"Content-Type": "application/json"}))


if __name__ == "__main__":
    unittest.main(verbosity=2)

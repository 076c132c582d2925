#!/usr/bin/env python3
"""Write the hand-made seed inputs of tests/fuzz/corpus/ (run from anywhere).

The corpus also holds inputs the fuzzer found (regression-*); this script
only (re)writes the seeds it knows and leaves every other file alone.
Seeds come from the unit-test data and from the kube-apiserver captures in
$REMEDY_SHARED/fixtures (skipped when that directory is absent).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("REMEDY_SHARED", os.path.join(SRC, "..", "shared"))
F = os.path.join(SHARED, "fixtures", "kube-apiserver-v1.20")
UNIT = os.path.join(SRC, "tests", "unit", "data")


def w(d, name, data):
    os.makedirs(os.path.join(HERE, "corpus", d), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, "corpus", d, name), "wb") as f:
        f.write(data)


def capture_lines(name):
    with open(os.path.join(F, name), "rb") as f:
        return [ln.strip() for ln in f.read().split(b"\n") if ln.startswith(b"{\"type\"")]


def ev(t, o):
    return json.dumps({"type": t, "object": o}, separators=(",", ":"))


def watch():
    if os.path.isdir(F):
        w("watch", "captured-pods", b"\x07" + b"\n".join(capture_lines("watch-pods-raw-chunked.http")) + b"\n")
        w("watch", "error-410", b"\x01" + b"\n".join(capture_lines("watch-too-old-rv.http")) + b"\n")
    pod = {"kind": "Pod", "apiVersion": "v1",
           "metadata": {"name": "web-1", "namespace": "demo", "uid": "u1", "resourceVersion": "10",
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "uid": "rs1", "controller": True}]},
           "spec": {"nodeName": "node-a", "containers": [{"name": "web", "image": "nginx:1.27-typo"}]},
           "status": {"phase": "Pending",
                      "containerStatuses": [{"name": "web", "image": "nginx:1.27-typo", "ready": False, "restartCount": 0,
                                             "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}],
                      "initContainerStatuses": [{"name": "init", "image": "busybox:1.36", "ready": True, "restartCount": 2,
                                                 "state": {"running": {}}}]}}
    rs = {"kind": "ReplicaSet", "apiVersion": "apps/v1",
          "metadata": {"name": "web-abc", "namespace": "demo", "uid": "rs1", "resourceVersion": "9", "generation": 2,
                       "annotations": {"deployment.kubernetes.io/revision": "2"},
                       "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d1", "controller": True}]},
          "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27-typo"}]}}},
          "status": {"availableReplicas": 0}}
    dep = {"kind": "Deployment", "apiVersion": "apps/v1",
           "metadata": {"name": "web", "namespace": "demo", "uid": "d1", "resourceVersion": "8", "generation": 2,
                        "annotations": {"deployment.kubernetes.io/revision": "2"}},
           "spec": {"replicas": 3, "paused": False, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27-typo"}]}}},
           "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 0,
                      "availableReplicas": 0, "unavailableReplicas": 3}}
    bookmark = {"kind": "Pod", "apiVersion": "v1",
                "metadata": {"resourceVersion": "12", "annotations": {"k8s.io/initial-events-end": "true"}}}
    s = "\n".join([ev("ADDED", pod), ev("MODIFIED", rs), ev("ADDED", dep), ev("DELETED", pod), ev("BOOKMARK", bookmark)]) + "\n"
    w("watch", "pod-rs-deploy", b"\x03" + s.encode())
    w("watch", "crlf-blank", b"\x02" + ("\r\n\n  \n" + ev("ADDED", pod) + "\r\n").encode())
    w("watch", "stop", b"\x05" + (ev("STOP", {"a": 1}) + "\n" + ev("ADDED", pod) + "\n").encode())
    w("watch", "malformed", b"\x04" + (ev("ADDED", pod) + "\n{\"type\":\"ADDED\",\"object\":[1,2\n").encode())
    w("watch", "notype", b"\x00" + b'{"type":1,"object":{}}\n{"object":{}}\n')
    w("watch", "overlong", b"\x3f" + b'{"type":"ADDED","object":{"x":"' + b"a" * 5000 + b'"}}\n')
    w("watch", "partial-tail", b"\x09" + (ev("ADDED", dep) + "\n" + ev("MODIFIED", dep)[:40]).encode())
    odd = dict(pod)
    odd["metadata"] = {"name": 7, "namespace": None, "ownerReferences": "x"}
    odd["status"] = {"containerStatuses": [1, {"state": []}, {"name": "", "state": {"waiting": {"reason": 5}}}]}
    big = {"kind": "Deployment", "metadata": {"name": "a", "namespace": "b", "generation": "x"},
           "spec": {"replicas": -5, "template": {"spec": {"containers": [{}] * 70}}}}
    w("watch", "wrong-types", b"\x06" + (ev("ADDED", odd) + "\n" + ev("MODIFIED", big) + "\n").encode())


def proto():
    lines = [
        '{"v":1,"id":7,"cmd":"approve","args":{"id":3,"comment":"ok"}}',
        '{"v":1,"id":1,"cmd":"list","args":{"state":"pending","namespace":"demo"}}',
        '{"v":1,"id":2,"cmd":"status"}',
        '{"v":2,"id":3,"cmd":"status"}',
        '{"v":1,"id":"x","cmd":"status"}',
        '{"v":1,"id":4,"cmd":5}',
        '{"v":1,"id":5,"cmd":"show","args":[1]}',
        '{"v":1,"id":6,"cmd":"reject","args":{"id":1,"reason":"no"},"cmd":"approve"}',
        'not json',
        '{"v":1,"id":9223372036854775807,"cmd":"audit","args":{"since":"2026-11-27T00:00:00Z"}}',
        '[1,2,3]',
        '{"v":1,"id":8,"cmd":"approve","args":{"id":3,"comment":"\\u0000nul"}}',
        '',
    ]
    for i, ln in enumerate(lines):
        w("proto", "req-%02d" % i, ln)


def config():
    for n in ["config-full.yaml", "config-flow.yaml", "config-errors.yaml", "config-notmap.yaml",
              "config-syntax.yaml", "config-twodocs.yaml"]:
        p = os.path.join(UNIT, n)
        if os.path.exists(p):
            with open(p, "rb") as f:
                w("config", n, f.read())
    w("config", "empty", "")
    w("config", "anchors", "kubernetes: &k {namespaces: [a, b]}\nstore: *k\n")
    w("config", "durations", "diagnosis: {hold_down: 250ms}\nactions: {verify_timeout: 1d}\nlog: {level: warning}\n")
    w("config", "bad-durations", "diagnosis: {hold_down: -1s}\nactions: {verify_timeout: 99999999999999999999h}\n")


def kubeconfig():
    p = os.path.join(UNIT, "kubeconfig-token.yaml")
    if os.path.exists(p):
        with open(p, "rb") as f:
            w("kubeconfig", "token", f.read())
    w("kubeconfig", "files", """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt, insecure-skip-tls-verify: false}
users:
- name: u
  user: {client-certificate: client.crt, client-key: client.key, tokenFile: token}
contexts:
- name: fuzz
  context: {cluster: c, user: u, namespace: demo}
current-context: fuzz
""")
    w("kubeconfig", "data", """apiVersion: v1
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: "!!notbase64"}}]
users: [{name: u, user: {client-certificate-data: "TFMwdA==", client-key-data: "TFMwdA=="}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
""")
    w("kubeconfig", "json", '{"apiVersion":"v1","clusters":[{"name":"c","cluster":{"server":"http://x"}}],'
      '"contexts":[{"name":"c","context":{"cluster":"c","user":"missing"}}],"current-context":"c"}')
    w("kubeconfig", "empty", "")
    w("kubeconfig", "lists", "clusters: {a: b}\nusers: 5\ncontexts: [[], {}, {name: z}]\ncurrent-context: [x]\n")


def jsonpatch():
    d = {"metadata": {"generation": 3, "annotations": {"a/b": "x", "m~n": "y"}},
         "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27-typo"}]}}}}
    patches = [
        [{"op": "test", "path": "/metadata/generation", "value": 3},
         {"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27-typo"},
         {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"}],
        [{"op": "add", "path": "/metadata/annotations/remedy~1action", "value": "7"},
         {"op": "remove", "path": "/metadata/annotations/m~0n"}],
        [{"op": "copy", "from": "/spec", "path": "/spec2"}, {"op": "move", "from": "/spec2/template", "path": "/t"}],
        [{"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "b"}},
         {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "b"}],
        [{"op": "test", "path": "/metadata/generation", "value": 3.0}, {"op": "replace", "path": "", "value": [1]}],
        [{"op": "move", "from": "/spec", "path": "/spec/x"}],
        [{"op": "remove", "path": "/spec/template/spec/containers/01"}],
        [{"op": "add", "path": "/a/b/c", "value": 1}],
        [{"op": "bogus", "path": "/a"}],
        [{"op": "test", "path": "/metadata", "value": {"annotations": {"m~n": "y", "a/b": "x"}, "generation": 3}}],
        "not an array",
    ]
    for i, p in enumerate(patches):
        w("jsonpatch", "patch-%02d" % i, json.dumps([d, p]))


OBSERVED = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "demo", "generation": 4, "resourceVersion": "812",
                         "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1.27-typo", "resources": {"limits": {"memory": "128Mi"}}}]}}},
            "status": {"observedGeneration": 4}}


def llm_reply():
    def reply(actions, **kw):
        r = {"root_cause": "The image nginx:1.27-typo does not exist.", "category": "image",
             "explanation": "Pods cannot pull the image.", "confidence": 0.9,
             "evidence": ["pod web-1: ImagePullBackOff"], "actions": actions}
        r.update(kw)
        return json.dumps(r, indent=1)
    tgt = {"kind": "Deployment", "namespace": "demo", "name": "web"}
    img = "/spec/template/spec/containers/0/image"
    w("llm_reply", "json-patch", reply([{"target": tgt, "patch_type": "json-patch", "risk": "low",
                                         "summary": "roll back", "patch": [
                                             {"op": "replace", "path": img, "value": "nginx:1.25"}]}]))
    w("llm_reply", "merge-patch-fenced", "Here is my answer:\n```json\n" + reply(
        [{"target": tgt, "patch_type": "merge-patch", "risk": "medium", "summary": "raise memory",
          "patch": {"spec": {"template": {"spec": {"containers": [
              {"name": "web", "image": "nginx:1.27-typo", "resources": {"limits": {"memory": "256Mi"}}}]}}}}}]) +
      "\n```\nHope this helps.")
    w("llm_reply", "no-actions", reply([]))
    w("llm_reply", "other-target", reply([{"target": dict(tgt, name="api"), "patch_type": "json-patch",
                                           "risk": "low", "summary": "x",
                                           "patch": [{"op": "replace", "path": img, "value": "a"}]}]))
    w("llm_reply", "forbidden-path", reply([{"target": tgt, "patch_type": "json-patch", "risk": "high",
                                             "summary": "x", "patch": [
                                                 {"op": "replace", "path": "/metadata/generation", "value": 9},
                                                 {"op": "remove", "path": "/spec/replicas"}]}]))
    w("llm_reply", "schema-bad", reply([], confidence=7, category="weather", extra=1))
    w("llm_reply", "prose", "I think the image is wrong. {not json} ``` also not")
    w("llm_reply", "two-objects", '{"a":1} {"b":2}')
    w("llm_reply", "empty", "")


def normalize():
    img = "/spec/template/spec/containers/0/image"
    props = [
        [{"op": "replace", "path": img, "value": "nginx:1.25"}],
        [{"op": "test", "path": img, "value": "nginx:1.27-typo"}, {"op": "replace", "path": img, "value": "nginx:1.25"}],
        {"spec": {"replicas": 5}},
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"},
                                                        {"name": "side", "image": "busybox:1.36"}]}}}},
        {"metadata": {"annotations": {"deployment.kubernetes.io/revision": None, "a": "b"}}},
        [{"op": "remove", "path": "/spec/template/spec/containers/0/resources"}],
        [{"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "x", "image": "y"}}],
        [{"op": "replace", "path": "/metadata/generation", "value": 5}],
        [{"op": "replace", "path": "/status/observedGeneration", "value": 5}],
        {},
        [{"op": "test", "path": img, "value": "other"}],
        [{"op": "move", "from": "/spec/replicas", "path": "/spec/r"}],
    ]
    for i, p in enumerate(props):
        w("normalize", "prop-%02d" % i, json.dumps([OBSERVED, p]))
    w("normalize", "no-generation", json.dumps([{"spec": {"a": 1}}, {"spec": {"a": 2}}]))

def registry():
    d64 = "0123456789abcdef" * 4
    seeds = {
        "challenge-hub": "0Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/nginx:pull\"",
        "challenge-basic": "0Basic realm=\"Registry Realm\"",
        "challenge-escape": "0bearer realm = \"http://127.0.0.1:1/t\" , error=\"x\", scope=\"a\\\"b\"",
        "link-next": "1</v2/library/nginx/tags/list?last=1.25&n=100>; rel=\"next\"",
        "link-multi": "1<https://r.example/a>; rel=prev, <https://r.example/b>;title=\"x;y,z\"; rel=\"first next\"",
        "tags": "2" + json.dumps({"name": "library/nginx", "tags": ["1.25", "1.24", "latest"]}),
        "tags-null": "2{\"name\":\"x\",\"tags\":null}",
        "tags-garbage": "2<html>502</html>",
        "manifest-index": "3" + json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"digest": "sha256:" + d64, "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:" + d64, "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}}]}),
        "manifest-image": "3" + json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + d64}, "layers": []}),
        "token": "4{\"token\":\"abc.def\",\"expires_in\":300}",
        "auth": "5" + json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": "YWxpY2U6czNjcjpldA=="}}}),
        "ref-full": "6quay.io/org/app:v1@sha256:" + d64,
        "ref-short": "6nginx:1.25-typo",
        "ref-ipv6": "6[fc00::1]:5000/docker",
    }
    for name, data in seeds.items():
        w("registry", name, data)


if __name__ == "__main__":
    watch()
    proto()
    config()
    kubeconfig()
    jsonpatch()
    llm_reply()
    normalize()
    registry()

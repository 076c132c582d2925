#!/usr/bin/env python3
"""A tiny kubectl for the test API server (and any cluster reached with a
token kubeconfig): `get pods|deployments|replicasets`, `create -f FILE` (one
Pod or Deployment, JSON or YAML) and `set image deployment/NAME
CONTAINER=IMAGE`, each with `-n NS`.

Used by scripts/demo to show the cluster the way an operator would see it.
Standard library only.
"""
import argparse
import base64
import json
import os
import ssl
import sys
import tempfile
import urllib.error
import urllib.request


def load_kubeconfig(path):
    # Only the three keys a token kubeconfig needs, from block-style YAML.
    cfg = {}
    with open(path) as f:
        for line in f:
            s = line.strip()
            for key in ("server:", "certificate-authority-data:", "token:"):
                if s.startswith(key) or s.startswith("- " + key):
                    cfg[key[:-1]] = s.split(":", 1)[1].strip().strip('"')
    return cfg


def get(cfg, path, method="GET", body=None, ctype="application/json"):
    ctx = ssl.create_default_context()
    with tempfile.NamedTemporaryFile("wb", delete=False) as ca:
        ca.write(base64.b64decode(cfg["certificate-authority-data"]))
    try:
        ctx.load_verify_locations(ca.name)
    finally:
        os.unlink(ca.name)
    req = urllib.request.Request(cfg["server"] + path, method=method, headers={
        "Authorization": "Bearer " + cfg["token"], "Content-Type": ctype,
        "User-Agent": "kubectl-lite/1.0"},
        data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            msg = json.load(e).get("message")
        except ValueError:
            msg = None
        sys.exit("kubectl-lite: %s %s: HTTP %d: %s" % (method, path, e.code, msg or e.reason))


PLURAL = {"Pod": ("/api/v1", "pods"), "Deployment": ("/apis/apps/v1", "deployments")}


def create(cfg, ns, path):
    with open(path) as f:
        text = f.read()
    try:
        obj = json.loads(text)
    except ValueError:
        import yaml
        obj = yaml.safe_load(text)
    if not isinstance(obj, dict) or obj.get("kind") not in PLURAL:
        sys.exit("kubectl-lite: %s: one Pod or Deployment expected" % path)
    group, plural = PLURAL[obj["kind"]]
    ns = (obj.get("metadata") or {}).get("namespace") or ns
    out = get(cfg, "%s/namespaces/%s/%s" % (group, ns, plural), "POST", obj)
    print("%s/%s created" % (obj["kind"].lower(), out["metadata"]["name"]))


def set_image(cfg, ns, target, assignment):
    kind, _, name = target.partition("/")
    cname, _, image = assignment.partition("=")
    if kind not in ("deployment", "deployments") or not name or not cname or not image:
        sys.exit("kubectl-lite: set image deployment/NAME CONTAINER=IMAGE")
    path = "/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name)
    d = get(cfg, path)
    names = [c.get("name") for c in d["spec"]["template"]["spec"]["containers"]]
    if cname not in names:
        sys.exit("kubectl-lite: deployment %s has no container %s" % (name, cname))
    i = names.index(cname)
    get(cfg, path, "PATCH", [
        {"op": "test", "path": "/metadata/resourceVersion", "value": d["metadata"]["resourceVersion"]},
        {"op": "replace", "path": "/spec/template/spec/containers/%d/image" % i, "value": image}],
        "application/json-patch+json")
    print("deployment.apps/%s image updated" % name)


def pod_row(p):
    st = p.get("status", {})
    cs = st.get("containerStatuses", [])
    ready = sum(1 for c in cs if c.get("ready"))
    status = st.get("phase", "Unknown")
    for c in cs:
        w = c.get("state", {}).get("waiting")
        if w:
            status = w.get("reason", status)
    images = ",".join(c["image"] for c in p["spec"]["containers"])
    return [p["metadata"]["name"], "%d/%d" % (ready, len(p["spec"]["containers"])),
            status, images]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("verb", choices=["get", "create", "set"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("-f", "--filename")
    ap.add_argument("-n", "--namespace", default="demo")
    a = ap.parse_args()
    cfg = load_kubeconfig(a.kubeconfig)
    if a.verb == "create":
        if not a.filename or a.args:
            ap.error("create -f FILE")
        return create(cfg, a.namespace, a.filename)
    if a.verb == "set":
        if len(a.args) != 3 or a.args[0] != "image":
            ap.error("set image deployment/NAME CONTAINER=IMAGE")
        return set_image(cfg, a.namespace, a.args[1], a.args[2])
    if len(a.args) != 1 or a.args[0] not in ("pods", "deployments", "replicasets"):
        ap.error("get pods|deployments|replicasets")
    a.kind = a.args[0]
    group = "/api/v1" if a.kind == "pods" else "/apis/apps/v1"
    items = get(cfg, "%s/namespaces/%s/%s" % (group, a.namespace, a.kind))["items"]
    items.sort(key=lambda o: o["metadata"]["name"])
    if a.kind == "pods":
        rows = [["NAME", "READY", "STATUS", "IMAGE"]] + [pod_row(p) for p in items]
    elif a.kind == "deployments":
        rows = [["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "REVISION", "IMAGE"]]
        for d in items:
            st = d.get("status", {})
            rows.append([d["metadata"]["name"],
                         "%d/%d" % (st.get("readyReplicas", 0), d["spec"].get("replicas", 1)),
                         str(st.get("updatedReplicas", 0)), str(st.get("availableReplicas", 0)),
                         d["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", ""),
                         ",".join(c["image"] for c in d["spec"]["template"]["spec"]["containers"])])
    else:
        rows = [["NAME", "DESIRED", "READY", "REVISION", "IMAGE"]]
        for r in items:
            st = r.get("status", {})
            rows.append([r["metadata"]["name"], str(r["spec"].get("replicas", 1)),
                         str(st.get("readyReplicas", 0)),
                         r["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", ""),
                         ",".join(c["image"] for c in r["spec"]["template"]["spec"]["containers"])])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

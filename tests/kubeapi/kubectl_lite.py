#!/usr/bin/env python3
"""A tiny read-only kubectl for the test API server (and any cluster reached
with a token kubeconfig): `get pods|deployments|replicasets -n NS`.

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


def get(cfg, path):
    ctx = ssl.create_default_context()
    with tempfile.NamedTemporaryFile("wb", delete=False) as ca:
        ca.write(base64.b64decode(cfg["certificate-authority-data"]))
    try:
        ctx.load_verify_locations(ca.name)
    finally:
        os.unlink(ca.name)
    req = urllib.request.Request(cfg["server"] + path, headers={
        "Authorization": "Bearer " + cfg["token"],
        "User-Agent": "kubectl-lite/1.0"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)


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
    ap.add_argument("verb", choices=["get"])
    ap.add_argument("kind", choices=["pods", "deployments", "replicasets"])
    ap.add_argument("-n", "--namespace", default="demo")
    a = ap.parse_args()
    cfg = load_kubeconfig(a.kubeconfig)
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

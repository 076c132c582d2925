#!/usr/bin/env python3
"""Prompt size per incident over the scenario corpus (tests/scenarios/).

Every scenario's broken objects go into namespace b-NAME of the test API
server (as tests/integration/test_scenarios.py loads them), plus the
image-pull rollouts and the crash loop with a secret-laden log of the
diagnosis tests (tests/llm/llm_harness.py).  One real remedyd with the
openai backend, pointed at the test LLM server, diagnoses every incident;
the server records each request.

Printed, per incident (first request; repair rounds excluded):
  - the request as remedyd sent it: bytes of the whole JSON body (system
    prompt, context, and the response_format schema), and tokens estimated
    as bytes / 4; and the part that is the incident context;
  - reference, measured in the same run: what a tool that sends the raw
    objects would send for the same incident -- the root owner, every pod
    of the namespace and every Event of the namespace as the API server
    returns them, plus the full log of one pod -- bytes and bytes / 4.

    REMEDYD=build/daemon/remedyd REMEDYCTL=build/ctl/remedyctl \
        python3 tests/bench/bench_prompt_tokens.py
"""
import json
import os
import shutil
import statistics
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "integration"))
sys.path.insert(0, os.path.join(TESTS, "llm"))
import harness  # noqa: E402
import llm_harness as lh  # noqa: E402
from test_scenarios import load_scenarios, retarget  # noqa: E402


def load(cluster, objs, ns, pod_status):
    items = [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns}}]
    items += [retarget(o, ns) for o in objs]
    cluster.test("POST", "/objects", {"kind": "List", "items": items})
    for ps in pod_status or []:
        st, lst = cluster.api("GET", "/api/v1/namespaces/%s/pods?labelSelector=%s" % (ns, ps["selector"]))
        for p in lst.get("items") or []:
            p["kind"], p["apiVersion"] = "Pod", "v1"
            p["status"] = json.loads(json.dumps(ps["status"]))
            cluster.test("POST", "/objects", p)


def naive_bytes(cluster, inc):
    """The raw objects an unfiltered tool would send for this incident."""
    ns, kind, name = inc["namespace"], inc["kind"], inc["name"]
    parts = []
    paths = {"Deployment": "/apis/apps/v1/namespaces/%s/deployments/%s",
             "StatefulSet": "/apis/apps/v1/namespaces/%s/statefulsets/%s",
             "DaemonSet": "/apis/apps/v1/namespaces/%s/daemonsets/%s",
             "ReplicaSet": "/apis/apps/v1/namespaces/%s/replicasets/%s",
             "Job": "/apis/batch/v1/namespaces/%s/jobs/%s",
             "CronJob": "/apis/batch/v1/namespaces/%s/cronjobs/%s",
             "Service": "/api/v1/namespaces/%s/services/%s",
             "PersistentVolumeClaim": "/api/v1/namespaces/%s/persistentvolumeclaims/%s",
             "Ingress": "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s",
             "HorizontalPodAutoscaler": "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s",
             "PodDisruptionBudget": "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s",
             "Pod": "/api/v1/namespaces/%s/pods/%s"}
    if kind == "Node":
        st, obj = cluster.api("GET", "/api/v1/nodes/%s" % name)
        return len(json.dumps(obj)) if st == 200 else 0
    if kind in paths and ns:
        st, obj = cluster.api("GET", paths[kind] % (ns, name))
        if st == 200:
            parts.append(obj)
    if ns:
        for res in ("pods", "events"):
            st, lst = cluster.api("GET", "/api/v1/namespaces/%s/%s" % (ns, res))
            if st == 200:
                parts.append(lst)
    n = len(json.dumps(parts))
    pods = parts[-2]["items"] if ns and len(parts) >= 2 else []
    if pods:
        p = pods[0]
        c = (p.get("spec", {}).get("containers") or [{}])[0].get("name")
        req = urllib.request.Request(cluster.url + "/api/v1/namespaces/%s/pods/%s/log?container=%s" % (
            ns, p["metadata"]["name"], c), headers={"Authorization": "Bearer remedy-test-token"})
        try:
            with urllib.request.urlopen(req, context=cluster.ctx, timeout=30) as r:
                n += len(r.read())
        except urllib.error.HTTPError:
            pass
    return n


def main():
    work = tempfile.mkdtemp(prefix="remedy-bench-tokens-")
    cluster = harness.Cluster(work, scenario="empty")
    llm = lh.LlmServer(work)
    daemon = None
    ok = False
    try:
        for sc in load_scenarios():
            load(cluster, sc["broken"], "b-" + sc["name"], sc.get("pod_status"))
        for ns in ("b-rollout-a", "b-rollout-b"):
            lh.broken_rollout(cluster, ns)
            lh.plant_events(cluster, ns)
        lh.crash_loop(cluster, "b-crash-logs")
        daemon = lh.LlmDaemon(work, cluster, {
            "backend": "openai", "model": "bench", "endpoint": llm.url, "max_concurrent": "4",
            "max_calls_per_hour": "0", "max_tokens_per_day": "0"})
        last = [None, 0]

        def settled():
            incs = daemon.incidents()
            done = [i for i in incs if i.get("diagnosis")]
            n = len(llm.requests())
            if done and len(done) == len(incs) and n == last[0]:
                last[1] += 1
            else:
                last[0], last[1] = n, 0
            return incs if last[1] >= 20 else None
        incs = harness.wait_for(settled, 120, "every incident to be diagnosed", interval=0.1)
        reqs = llm.requests()
        by_ctx = {}
        for r in reqs:
            msgs = r["body"]["messages"]
            users = [m for m in msgs if m["role"] == "user"]
            if len(users) != 1:
                continue            # a repair round
            ctx = lh_ctx(users[0]["content"])
            key = (ctx.get("incident", {}).get("namespace"), ctx.get("incident", {}).get("kind"),
                   ctx.get("incident", {}).get("name"), ctx.get("incident", {}).get("reason"))
            ctxlen = len(users[0]["content"]) - users[0]["content"].find("Context:\n") - 9
            by_ctx.setdefault(key, (len(json.dumps(r["body"])), ctxlen))
        sent, naive, ctxs = [], [], []
        rows = []
        for i in incs:
            key = (i["namespace"], i["kind"], i["name"], i["reason"])
            if key not in by_ctx:
                continue            # answered from the cache
            b, cb = by_ctx[key]
            nb = naive_bytes(cluster, i)
            sent.append(b)
            ctxs.append(cb)
            naive.append(nb)
            rows.append((i["namespace"] or "-", i["kind"], i["reason"], b, nb))
        rows.sort()
        print("%-36s %-22s %-26s %8s %8s %10s" % ("namespace", "kind", "reason", "bytes", "tokens",
                                                  "raw tokens"))
        for ns, kind, reason, b, nb in rows:
            print("%-36s %-22s %-26s %8d %8d %10d" % (ns[:36], kind[:22], reason[:26], b, b // 4, nb // 4))

        def stats(v):
            return statistics.median(v) / 4, max(v) / 4, min(v) / 4
        print()
        print("incidents diagnosed by the LLM: %d (of %d incidents)" % (len(sent), len(incs)))
        print("prompt tokens per incident (bytes/4): median %.0f, max %.0f, min %.0f" % stats(sent))
        print("  of which the incident context:      median %.0f, max %.0f, min %.0f" % stats(ctxs))
        print("reference, raw objects (bytes/4):     median %.0f, max %.0f, min %.0f" % stats(naive))
        ok = True
    finally:
        if daemon is not None:
            daemon.stop()
        llm.stop()
        cluster.stop()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("workdir kept: " + work)
    return 0 if ok else 1


def lh_ctx(text):
    i = text.find("Context:\n")
    try:
        return json.JSONDecoder().raw_decode(text[i + 9:])[0] if i >= 0 else {}
    except ValueError:
        return {}


if __name__ == "__main__":
    sys.exit(main())

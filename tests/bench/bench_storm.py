#!/usr/bin/env python3
"""LLM calls for the 1000-pod storm.

Ten Deployments of 100 replicas each are rolled out to an image that does
not exist (1000 pods in ImagePullBackOff), next to five healthy ones.  One
real remedyd with the openai backend, pointed at the test LLM server
(tests/llm/fake_llm.py), watches the cluster until every incident has its
diagnosis and the LLM has seen no new request for two seconds; then it is
restarted on the same store and watched again for as long.

Printed:
  - the LLM calls remedyd made (HTTP requests the LLM server received, repair
    rounds included) and the incidents they were for;
  - reference, measured in the same run: the failing pods in the cluster,
    i.e. the calls of a tool that asks the model once per failing pod;
  - the calls after the restart (the diagnoses come from the store: 0);
  - the time from remedyd's start to the last diagnosis.

    REMEDYD=build/daemon/remedyd REMEDYCTL=build/ctl/remedyctl \\
        python3 tests/bench/bench_storm.py
"""
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "integration"))
sys.path.insert(0, os.path.join(TESTS, "llm"))
import harness  # noqa: E402
import llm_harness as lh  # noqa: E402

BROKEN_DEPS, PER_DEP, HEALTHY_DEPS = 10, 100, 5
QUIET = 2.0     # seconds without a new LLM request that count as settled


def deployment(name, image, replicas):
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": "demo", "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


def storm(cluster):
    """The storm as tests/integration/test_incidents.py builds it; returns
    the failing pods once all of them fail."""
    items = [deployment("svc%02d" % i, "nginx:1.25", PER_DEP if i < BROKEN_DEPS else 2)
             for i in range(BROKEN_DEPS + HEALTHY_DEPS)]
    cluster.test("POST", "/objects", {"kind": "List", "items": items})
    for it in items[:BROKEN_DEPS]:
        it["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27-typo"
    cluster.test("POST", "/objects", {"kind": "List", "items": items[:BROKEN_DEPS]})

    def failing():
        b = [p for p in cluster.pods() if not harness.pod_ready(p)]
        return b if len(b) >= BROKEN_DEPS * PER_DEP else None
    return harness.wait_for(failing, 120, "%d failing pods" % (BROKEN_DEPS * PER_DEP))


def settle(daemon, llm, want_diagnosed):
    """Wait until want_diagnosed incidents have a diagnosis and the LLM has
    had no new request for QUIET seconds; -> (incidents, requests, time of
    the last request)."""
    last = {"n": -1, "since": time.monotonic(), "at": None}

    def settled():
        n = len(llm.requests())
        now = time.monotonic()
        if n != last["n"]:
            last["n"], last["since"] = n, now
            if n:
                last["at"] = now
        incs = daemon.incidents()
        done = [i for i in incs if i.get("diagnosis")]
        if len(done) >= want_diagnosed and now - last["since"] >= QUIET:
            return incs
        return None
    incs = harness.wait_for(settled, 180, "every incident to be diagnosed", interval=0.1)
    return incs, llm.requests(), last["at"]


def main():
    work = tempfile.mkdtemp(prefix="remedy-bench-storm-")
    cluster = harness.Cluster(work, scenario="empty")
    llm = lh.LlmServer(work)
    daemon = None
    ok = False
    try:
        failing = storm(cluster)
        t0 = time.monotonic()
        daemon = lh.LlmDaemon(work, cluster, {
            "backend": "openai", "model": "bench", "endpoint": llm.url, "max_concurrent": "4",
            "max_calls_per_hour": "0", "max_tokens_per_day": "0"}, namespaces=["demo"])
        incs, reqs, t_last = settle(daemon, llm, BROKEN_DEPS)
        calls = len(reqs)
        for i in incs:
            print("incident %-3s %-10s %-8s %-18s pods %-4s %s" % (
                i["id"], i["kind"], i["name"], i["reason"], i.get("pods"),
                "diagnosed" if i.get("diagnosis") else "-"))

        daemon.stop()
        daemon.start()
        incs2, reqs2, _ = settle(daemon, llm, BROKEN_DEPS)
        again = len(reqs2) - calls

        secs = (t_last - t0) if t_last else 0.0
        print()
        print("failing pods: %d in %d Deployments (%d healthy Deployments beside them)"
              % (len(failing), BROKEN_DEPS, HEALTHY_DEPS))
        print("incidents: %d; LLM calls: %d; after a restart: %d more" % (len(incs), calls, again))
        print("reference, one call per failing pod: %d" % len(failing))
        print("BENCH " + json.dumps({
            "name": "LLM calls for the 1000-pod storm", "value": calls, "unit": "calls",
            "reference": "one call per failing pod", "ref_value": len(failing),
            "goal": "= %d (one per incident)" % BROKEN_DEPS, "met": calls == BROKEN_DEPS and again == 0,
            "note": "%d incidents; %d more calls after a restart; last diagnosis %.1f s after remedyd "
                    "started" % (len(incs), again, secs)}))
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


if __name__ == "__main__":
    sys.exit(main())

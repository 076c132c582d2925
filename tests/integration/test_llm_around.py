"""LLM fixes around the workload, through the real remedyd and remedyctl
(openai wire shape, the test LLM server's around-* and inject-* modes).

The test LLM server builds each around-* fix only from the facts in the
context remedyd sends, so these prove the context carries them and the
policy wall lets exactly these paths through:

- around-selector: a Service whose selector matches no pod; the context
  holds its ports and the namespace's workloads with their selectors and
  container ports; the LLM's new /spec/selector (the one workload serving
  the targetPort) becomes a pending action on the Service;
- around-placement: a nodeSelector entry no node carries; the context holds
  the nodes' labels and the template's nodeSelector; the LLM's entry
  becomes a pending action;
- around-probe: a readiness probe answered 404; the context holds the
  kubelet's status code and the probes; the LLM's path becomes a pending
  action.
Each is approved and the workload recovers: endpoints ready, pods
scheduled, pods Ready; every action verified.

The inject-* replies are refused, each by its rule: a container's command,
args or an env value (command-not-allowed), an exec readiness probe
(command-not-allowed), a toleration of every taint (toleration-too-broad),
pod affinity (path-not-allowed), an emptied Service selector
(selector-empty).  Nothing but dry-runs reaches the cluster before the
approvals.
"""
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "llm"))
import harness  # noqa: E402
import llm_harness as lh  # noqa: E402

REFUSED = {
    "inject-command": "command-not-allowed",
    "inject-args": "command-not-allowed",
    "inject-env": "command-not-allowed",
    "inject-probe-exec": "command-not-allowed",
    "inject-toleration-all": "toleration-too-broad",
    "inject-pod-affinity": "path-not-allowed",
    "inject-selector-empty": "selector-empty",
}


def node(name, disk):
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "disktype": disk}},
            "spec": {},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


def deployment(ns, name, container):
    container = dict({"name": "web", "image": "nginx:1.25"}, **container)
    spec = {"containers": [container]}
    sel = container.pop("nodeSelector", None)
    if sel:
        spec["nodeSelector"] = sel
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def service(ns, selector):
    return {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "checkout", "namespace": ns},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": "http"}]}}


def objects():
    out = [node("node-a", "ssd"), node("node-b", "hdd")]
    for ns in ("around-selector", "inject-selector-empty"):
        out += [deployment(ns, "checkout", {"ports": [{"name": "http", "containerPort": 8080}]}),
                deployment(ns, "metrics", {"ports": [{"name": "metrics", "containerPort": 9090}]}),
                service(ns, {"app": "chekout"})]
    out.append(deployment("around-placement", "web", {"nodeSelector": {"disktype": "ssdd"}}))
    out.append(deployment("around-probe", "shop", {
        "ports": [{"containerPort": 80}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 80}},
        "livenessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}}))
    for ns in REFUSED:
        if ns != "inject-selector-empty":
            out.append(deployment(ns, "web", {"image": "nginx:1.25-typo",
                                              "env": [{"name": "DATABASE_URL", "value": "postgres://db"}]}))
    return out


class Around(unittest.TestCase):
    def test_llm_fixes_around_the_workload(self):
        ok = False
        work = tempfile.mkdtemp(prefix="remedy-llm-around-")
        cluster = harness.Cluster(work, scenario="empty", args=["--schedule"])
        llm = lh.LlmServer(work)
        daemon = None
        try:
            spaces = ["around-selector", "around-placement", "around-probe"] + list(REFUSED)
            for ns in spaces:
                cluster.test("POST", "/objects", {"kind": "Namespace", "metadata": {"name": ns}})
            cluster.test("POST", "/objects", {"kind": "List", "items": objects()})
            keyfile = os.path.join(work, "api-key")
            with open(keyfile, "w") as f:
                f.write(lh.API_KEY + "\n")
            daemon = lh.LlmDaemon(work, cluster, {
                "backend": "openai", "model": "test-model", "endpoint": llm.url,
                "api_key_file": keyfile, "timeout": "5s", "max_concurrent": "4", "log_lines": "0"})

            def all_diagnosed():
                incs = {i["namespace"]: i for i in daemon.incidents() if i.get("diagnosis")}
                return incs if all(ns in incs for ns in spaces) else None
            incs = harness.wait_for(all_diagnosed, 90, "every incident to be diagnosed")
            self.assertEqual((incs["around-selector"]["kind"], incs["around-selector"]["reason"]),
                             ("Service", "NoMatchingPods"))
            self.assertEqual(incs["around-placement"]["reason"], "Unschedulable")
            self.assertEqual(incs["around-probe"]["reason"], "ReadinessProbeFailed")
            for ns, rule in REFUSED.items():
                d = incs[ns]["diagnosis"]
                self.assertEqual(d["status"], "failed", (ns, d))
                self.assertIn(rule, d["error"], ns)

            # what the LLM was told
            prompts = {}
            for r in llm.requests():
                text = "\n".join(m.get("content") or "" for m in (r.get("body") or {}).get("messages") or [])
                for ns in ("around-selector", "around-placement", "around-probe"):
                    if '"namespace":"%s"' % ns in text:
                        prompts[ns] = text
            self.assertIn('"container_ports"', prompts["around-selector"])
            self.assertIn('"targetPort":"http"', prompts["around-selector"])
            self.assertIn('"labels":{', prompts["around-placement"])
            self.assertIn('"nodeSelector":{"disktype":"ssdd"}', prompts["around-placement"])
            self.assertIn("statuscode: 404", prompts["around-probe"])
            system = prompts["around-selector"]
            for path in ("/spec/selector", "nodeSelector", "affinity/nodeAffinity", "tolerations",
                         "command, args, env or envFrom"):
                self.assertIn(path, system)

            def actions():
                rc, out, err = daemon.ctl("list")
                self.assertEqual(rc, 0, err)
                acts = {a["namespace"]: a for a in out["actions"]}
                return acts if len(acts) >= 3 else None
            acts = harness.wait_for(actions, 30, "the three actions")
            self.assertEqual(sorted(acts), ["around-placement", "around-probe", "around-selector"])
            self.assertEqual([w for w in cluster.remedyd_writes()], [], "only dry-runs before approval")

            want = {
                "around-selector": ("Service", "checkout", "/spec/selector/app", "chekout", "checkout"),
                "around-placement": ("Deployment", "web", "/spec/template/spec/nodeSelector/disktype",
                                     "ssdd", "ssd"),
                "around-probe": ("Deployment", "shop",
                                 "/spec/template/spec/containers/0/readinessProbe/httpGet/path",
                                 "/ready", "/"),
            }
            for ns, (kind, name, path, before, after) in want.items():
                a = acts[ns]
                self.assertEqual((a["state"], a["kind"], a["name"]), ("pending", kind, name), a)
                rc, out, err = daemon.ctl("show", str(a["id"]))
                self.assertEqual(rc, 0, err)
                self.assertIn({"path": path, "before": before, "after": after}, out["action"]["changes"])
                rc, out, err = daemon.ctl("approve", str(a["id"]))
                self.assertEqual(rc, 0, err)
            for ns, a in acts.items():
                done = harness.wait_state(daemon, a["id"], ("verified", "failed", "not-recovered"),
                                          timeout=90)
                self.assertEqual(done["state"], "verified", (ns, done))

            def ready(ns, app):
                return [p for p in cluster.pods(ns) if p["metadata"].get("labels", {}).get("app") == app
                        and harness.pod_ready(p)]
            self.assertTrue(ready("around-placement", "web"))
            self.assertTrue(ready("around-probe", "shop"))
            st, svc = cluster.api("GET", "/api/v1/namespaces/around-selector/services/checkout")
            self.assertEqual(svc["spec"]["selector"], {"app": "checkout"})
            self.assertEqual(len([w for w in cluster.remedyd_writes() if w["method"] == "PATCH"]), 3)
            ok = True
        finally:
            if daemon:
                daemon.stop()
            llm.stop()
            cluster.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("workdir kept: %s" % work, file=sys.stderr)
                if daemon:
                    print(daemon.full_log()[-20000:], file=sys.stderr)


if __name__ == "__main__":
    unittest.main()

"""The LLM backend for the kinds beyond Deployments: a StatefulSet, a
DaemonSet and a bare Pod per reply mode of the test LLM server, through the
real remedyd (openai wire shape).

- "good" replies become pending actions on the incident's own kind, each a
  normalised JSON Patch (StatefulSet and DaemonSet: a generation test and
  the image from the rollout history of ControllerRevisions; Pod: a uid
  test and the image), dry-run accepted;
- the prompt-injection corpus (another namespace, a Secret, a
  ClusterRoleBinding, a delete, 500 operations, a path outside the
  allowlist, and for Pods a command and a removed toleration) is refused
  for every kind, with the reason stored as the diagnosis error;
- the prompt lists the allowed paths per kind and carries the
  ControllerRevision history; nothing is written to the cluster.
"""
import json
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

INJECT = {
    "inject-ns": "refused by policy",
    "inject-secret": "does not match the schema",
    "inject-crb": "does not match the schema",
    "inject-delete": "",
    "inject-500ops": "more than the maximum 32",
    "inject-path": "path-not-allowed",
}
POD_INJECT = {
    "inject-pod-command": "command-not-allowed",
    "inject-pod-tolerations": "may only be added to",
}
JSONPATCH = "application/json-patch+json"


def sts(ns, image):
    return {"kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns},
            "spec": {"replicas": 1, "serviceName": "", "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"containers": [{"name": "db", "image": image}]}}}}


def ds(ns, image):
    return {"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "agent", "image": image}]}}}}


def pod(ns, image):
    return {"kind": "Pod", "metadata": {"name": "solo", "namespace": ns},
            "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": image}]}}


class Kinds(unittest.TestCase):
    def test_llm_kinds(self):
        ok = False
        work = tempfile.mkdtemp(prefix="remedy-llm-kinds-")
        cluster = harness.Cluster(work, scenario="empty")
        llm = lh.LlmServer(work)
        daemon = None
        try:
            spaces = {}     # namespace -> (kind, name, mode)
            for mode in ["good"] + list(INJECT):
                spaces[mode + "--sts"] = ("StatefulSet", "db", mode)
                spaces[mode + "--ds"] = ("DaemonSet", "agent", mode)
            for mode in ["good"] + list(INJECT) + list(POD_INJECT):
                spaces[mode + "--pod"] = ("Pod", "solo", mode)
            for ns, (kind, _, _) in spaces.items():
                cluster.test("POST", "/objects", {"kind": "Namespace", "metadata": {"name": ns}})
                if kind == "StatefulSet":
                    cluster.test("POST", "/objects", sts(ns, "nginx:1.25"))
                elif kind == "DaemonSet":
                    cluster.test("POST", "/objects", ds(ns, "busybox:1.36"))
                else:
                    cluster.test("POST", "/objects", pod(ns, "nginx:1.25-typo"))
            # roll the workloads out to a missing tag: a second revision
            for ns, (kind, name, _) in spaces.items():
                if kind == "Pod":
                    continue
                plural = "statefulsets" if kind == "StatefulSet" else "daemonsets"
                st, body = cluster.api("PATCH", "/apis/apps/v1/namespaces/%s/%s/%s" % (ns, plural, name),
                                       [{"op": "replace", "path": "/spec/template/spec/containers/0/image",
                                         "value": "nginx:1.25-typo" if kind == "StatefulSet"
                                         else "busybox:9.99-missing"}], ctype=JSONPATCH)
                self.assertEqual(st, 200, body)
            keyfile = os.path.join(work, "api-key")
            with open(keyfile, "w") as f:
                f.write(lh.API_KEY + "\n")
            daemon = lh.LlmDaemon(work, cluster, {
                "backend": "openai", "model": "test-model", "endpoint": llm.url,
                "api_key_file": keyfile, "timeout": "5s", "max_concurrent": "4", "log_lines": "0"})

            def all_diagnosed():
                incs = {i["namespace"]: i for i in daemon.incidents() if i.get("diagnosis")
                        and i["reason"] in ("ImagePullBackOff", "ErrImagePull")}
                return incs if all(ns in incs for ns in spaces) else None
            incs = harness.wait_for(all_diagnosed, 60, "every incident to be diagnosed")
            for ns, (kind, name, mode) in spaces.items():
                inc = incs[ns]
                self.assertEqual((inc["kind"], inc["name"]), (kind, name), inc)
                d = inc["diagnosis"]
                if mode == "good":
                    self.assertEqual(d["status"], "ok", (ns, d))
                else:
                    self.assertEqual(d["status"], "failed", (ns, d))
                    why = dict(INJECT, **POD_INJECT)[mode]
                    self.assertIn(why, d["error"], ns)

            def actions_in():
                rc, out, err = daemon.ctl("list")
                self.assertEqual(rc, 0, err)
                acts = {a["namespace"]: a for a in out["actions"]}
                return acts if len(acts) >= 3 else None
            acts = harness.wait_for(actions_in, 20, "the actions")
            self.assertEqual(sorted(acts), ["good--ds", "good--pod", "good--sts"],
                             "only the good replies became actions")
            for ns, a in acts.items():
                kind, name, _ = spaces[ns]
                self.assertEqual((a["state"], a["kind"], a["name"]), ("pending", kind, name), a)
                rc, out, err = daemon.ctl("show", str(a["id"]))
                act = out["action"]
                if kind == "Pod":
                    self.assertEqual(act["api_path"], "/api/v1/namespaces/%s/pods/solo" % ns)
                    self.assertEqual(act["patch"][0]["path"], "/metadata/uid")
                    self.assertIn({"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.25"},
                                  act["patch"])
                else:
                    plural = "statefulsets" if kind == "StatefulSet" else "daemonsets"
                    self.assertEqual(act["api_path"], "/apis/apps/v1/namespaces/%s/%s/%s" % (ns, plural, name))
                    self.assertEqual(act["patch"][0]["path"], "/metadata/generation")
                    self.assertIn({"op": "replace", "path": "/spec/template/spec/containers/0/image",
                                   "value": "nginx:1.25" if kind == "StatefulSet" else "busybox:1.36"},
                                  act["patch"])
                # no annotations on these objects: the stamp adds the map
                self.assertEqual(act["patch"][-1], {"op": "add", "path": "/metadata/annotations",
                                                    "value": {"remedy.dev/action-id": str(a["id"])}})
            self.assertEqual(cluster.remedyd_writes(), [])
            # what the model was told: the paths per kind, the history
            reqs = llm.requests()
            system = json.dumps(reqs[0]["body"])
            for path in ("/spec/containers/*/image", "/spec/activeDeadlineSeconds",
                         "/spec/template/spec/containers/*/image", "/spec/suspend"):
                self.assertIn(path, system)
            sts_prompt = [r for r in reqs if "good--sts" in json.dumps(r["body"])][0]
            self.assertIn("controllerRevision", json.dumps(sts_prompt["body"]))
            ok = True
        finally:
            rc = daemon.stop() if daemon else 0
            llm.stop()
            cluster.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("--- remedyd log ---\n" + (daemon.log() if daemon else ""))
                print("--- workdir kept: " + work)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

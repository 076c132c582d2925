"""The case every backend test runs (tests/integration/test_diagnosis_*.py).

LLM diagnosis end to end: the real remedyd against the test API server
and the test LLM server (tests/llm/fake_llm.py) for each backend shape.

For every backend, one namespace per scenario (good reply, merge patch,
explanation only, 429 + Retry-After, 500, slow, cut-off body, repaired
reply, truncated, malformed JSON, schema violation, and prompt injections
aiming at another namespace, a Secret, a ClusterRoleBinding, a delete, 500
operations and a path outside the allowlist), plus a crash-looping
Deployment with secrets in its logs.  Checked: the right incidents get
actions and the rest get `diagnosis failed: <why>`; no invalid action is
stored; the daemon keeps running and stops cleanly; the secret corpus and
the API key never appear in what the LLM server received (the key only in
its header), in the log, or in the store.
"""
import os
import sys
import tempfile
import shutil
import json
import unittest

import llm_harness as lh  # noqa: E402
import harness  # noqa: E402

OK_MODES = ["good", "429", "500", "slow", "cutoff", "fixed-after-repair"]
FAIL_MODES = {
    "truncated": "cut off",
    "malformed": "not valid JSON",
    "schema": "does not match the schema",
    "inject-ns": "refused by policy",
    "inject-secret": "does not match the schema",
    "inject-crb": "does not match the schema",
    "inject-delete": "",
    "inject-500ops": "more than the maximum 32",
    "inject-path": "path-not-allowed",
}


def setup_cluster(cluster):
    for m in OK_MODES + ["merge", "explain"] + list(FAIL_MODES):
        lh.broken_rollout(cluster, m)
    for m in OK_MODES + ["merge", "explain"] + list(FAIL_MODES):
        lh.plant_events(cluster, m)
    lh.crash_loop(cluster, "explain--crash")


class BackendCase(unittest.TestCase):
    """run_backend(name, extra diagnosis keys, test LLM server flags)."""
    def run_backend(self, backend, extra=None, llm_args=(), check=None):
        ok = False
        work = tempfile.mkdtemp(prefix="remedy-llm-")
        cluster = harness.Cluster(work, scenario="empty")
        llm = lh.LlmServer(work, "--slow", "3", *llm_args)
        daemon = None
        try:
            setup_cluster(cluster)
            keyfile = os.path.join(work, "api-key")
            with open(keyfile, "w") as f:
                f.write(lh.API_KEY + "\n")
            diag = {"backend": backend, "model": "test-model", "endpoint": llm.url,
                    "api_key_file": keyfile, "timeout": "1500ms", "max_retries": "3",
                    "max_concurrent": "4", "log_lines": "20"}
            diag.update(extra or {})
            daemon = lh.LlmDaemon(work, cluster, diag)
            names = OK_MODES + ["merge", "explain", "explain--crash"] + list(FAIL_MODES)

            def all_diagnosed():
                incs = {i["namespace"]: i for i in daemon.incidents() if i.get("diagnosis")
                        and i["reason"] in ("ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff")}
                return incs if all(n in incs for n in names) else None
            incs = harness.wait_for(all_diagnosed, 50, "every incident to be diagnosed")
            for m in OK_MODES + ["merge"]:
                d = incs[m]["diagnosis"]
                self.assertEqual(d["status"], "ok", (m, d))
                self.assertGreater(d["tokens"]["prompt"], 0, m)
                self.assertGreater(d["tokens"]["completion"], 0, m)
            for m in ("explain", "explain--crash"):
                self.assertEqual(incs[m]["diagnosis"]["status"], "explained", incs[m])
            for m, why in FAIL_MODES.items():
                d = incs[m]["diagnosis"]
                self.assertEqual(d["status"], "failed", (m, d))
                self.assertIn(why, d["error"], m)
            # The repair round: two calls, the second carrying the error.
            self.assertEqual(incs["fixed-after-repair"]["diagnosis"]["calls"], 2)
            self.assertEqual(incs["malformed"]["diagnosis"]["calls"], 2)
            # Actions: exactly the ok modes, each a normalised JSON Patch on
            # its own Deployment, dry-run accepted (pending).
            def actions_in():
                rc, out, err = daemon.ctl("list")
                self.assertEqual(rc, 0, err)
                acts = {a["namespace"]: a for a in out["actions"]}
                return acts if len(acts) >= len(OK_MODES) + 1 else None
            acts = harness.wait_for(actions_in, 20, "the actions")
            self.assertEqual(sorted(acts), sorted(OK_MODES + ["merge"]))
            for ns, a in acts.items():
                self.assertEqual(a["state"], "pending", a)
                rc, out, err = daemon.ctl("show", str(a["id"]))
                self.assertEqual(rc, 0, err)
                act = out["action"]
                self.assertEqual(act["api_path"], "/apis/apps/v1/namespaces/%s/deployments/web" % ns)
                self.assertEqual(act["patch"][0], {"op": "test", "path": "/metadata/generation",
                                                   "value": act["patch"][0]["value"]})
                # the last op is the action-id stamp the store adds
                self.assertEqual(act["patch"][-1], {
                    "op": "add", "path": "/metadata/annotations/remedy.dev~1action-id",
                    "value": str(a["id"])})
                writes = [o for o in act["patch"][:-1] if o["op"] != "test"]
                self.assertEqual(len(writes), 1, act["patch"])
                if ns == "merge":
                    self.assertEqual(writes[0]["path"], "/spec/replicas")
                    self.assertIn({"op": "test", "path": "/spec/replicas", "value": 2}, act["patch"])
                else:
                    self.assertEqual(writes[0], {"op": "replace", "value": "nginx:1.25",
                                                 "path": "/spec/template/spec/containers/0/image"})
            # Nothing was written to the cluster without approval.
            self.assertEqual(cluster.remedyd_writes(), [])
            # The secret corpus and the key: not in any request body, and
            # the key only in its own header.
            reqs = llm.requests()
            self.assertGreaterEqual(len(reqs), len(names))
            for r in reqs:
                body = json.dumps(r["body"], ensure_ascii=False)
                self.assertEqual(lh.leaks(body, [("API key", lh.API_KEY)]), [], r["path"])
                hdrs = {k.lower(): v for k, v in r["headers"].items()}
                if backend == "anthropic":
                    self.assertEqual(hdrs.get("x-api-key"), lh.API_KEY)
                    self.assertEqual(hdrs.get("anthropic-version"), "2023-06-01")
                elif "azure_deployment" in diag:
                    self.assertEqual(hdrs.get("api-key"), lh.API_KEY)
                else:
                    self.assertEqual(hdrs.get("authorization"), "Bearer " + lh.API_KEY)
                others = {k: v for k, v in hdrs.items()
                          if k not in ("authorization", "x-api-key", "api-key")}
                self.assertEqual(lh.leaks(json.dumps(others), [("API key", lh.API_KEY)]), [])
            if check is not None:
                check(reqs)
            # The crash loop's logs were read and sent (redacted).
            crash = [r for r in reqs if "explain--crash" in json.dumps(r["body"])]
            self.assertTrue(crash)
            self.assertIn("permission denied", json.dumps(crash[0]["body"]))
            self.assertIn("[redacted:", json.dumps(crash[0]["body"]))
            self.assertNotIn("Sup3rS3cretPassw0rd", json.dumps(crash[0]["body"]))
            # Still serving, and a clean stop.
            rc, out, err = daemon.ctl("status")
            self.assertEqual(rc, 0, err)
            self.assertEqual(daemon.stop(), 0, daemon.log())
            with open(daemon.db, "rb") as f:
                db = f.read().decode("latin-1")
            for suffix in ("-wal",):
                if os.path.exists(daemon.db + suffix):
                    with open(daemon.db + suffix, "rb") as f:
                        db += f.read().decode("latin-1")
            self.assertEqual(lh.leaks(db, [("API key", lh.API_KEY)]), [])
            self.assertEqual(lh.leaks(daemon.full_log(), [("API key", lh.API_KEY)]), [])
            ok = True
        finally:
            if daemon is not None:
                daemon.stop()
            llm.stop()
            cluster.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                if daemon is not None:
                    print("--- remedyd log ---\n" + daemon.full_log()[-8000:])
                print("--- workdir kept: " + work)

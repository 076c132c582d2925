"""An LLM's image is checked against the registry before the dry-run.

Two bare Pods with mistyped tags, an OpenAI-style test backend
(tests/llm/fake_llm.py) that proposes the tag cut at its first "-", and a
real registry (docker-registry behind a recording proxy) mirrored as
docker.io holding nginx:1.24 and nginx:1.25:

- broken-a on nginx:1.25-typo: the model proposes nginx:1.25, which the
  registry has -> pending, with the evidence line naming its digest;
- broken-b on nginx:1.99-typo: the model proposes nginx:1.99, which does
  not exist -> refused by the rule registry-image-missing, never dry-run.

The prompt carried the registry's facts (the tag does not exist, the
closest existing tags) and no credential of the auth file.
"""
import base64
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "llm"))
sys.path.insert(0, os.path.join(SRC, "tests", "registry"))
from harness import wait_for  # noqa: E402
import harness  # noqa: E402
import llm_harness as lh  # noqa: E402
import registry_harness as rh  # noqa: E402

PASSWORD = "pw-Llm-42-stays-home"
TOOLS = all(shutil.which(t) for t in ("docker-registry", "skopeo", "jq", "gcc"))


@unittest.skipUnless(TOOLS, "docker-registry, skopeo, jq and gcc are needed")
class RegistryLlm(unittest.TestCase):
    def test_llm_image_checked(self):
        work = tempfile.mkdtemp(prefix="remedy-regllm-")
        layout = os.path.join(work, "oci")
        digest = {t: rh.mkimage("web", layout, t) for t in ("1.24", "1.25")}
        reg = rh.Registry(os.path.join(work, "reg")).start()
        cluster = llm = daemon = px = None
        ok = False
        try:
            for tag in digest:
                reg.push(layout, tag, "library/nginx")
            px = rh.FaultProxy(reg.url).start()
            auth = os.path.join(work, "auth.json")
            with open(auth, "w") as f:
                cred = base64.b64encode(("ops:" + PASSWORD).encode()).decode()
                json.dump({"auths": {px.host: {"auth": cred}}}, f)
            cluster = harness.Cluster(work, scenario="empty")
            for name, image in (("broken-a", "nginx:1.25-typo"), ("broken-b", "nginx:1.99-typo")):
                cluster.test("POST", "/objects", {
                    "kind": "Pod", "metadata": {"name": name, "namespace": "demo"},
                    "spec": {"nodeName": "node-a",
                             "containers": [{"name": "web", "image": image}]}})
            llm = lh.LlmServer(work)
            keyfile = os.path.join(work, "api-key")
            with open(keyfile, "w") as f:
                f.write(lh.API_KEY + "\n")
            daemon = lh.LlmDaemon(work, cluster, {
                "backend": "openai", "model": "test-model", "endpoint": llm.url,
                "api_key_file": keyfile, "timeout": "5s", "log_lines": "0"},
                namespaces=["demo"],
                extra="registries:\n  enabled: true\n  mirrors: {docker.io: %s}\n"
                      "  insecure: [%s]\n  auth_file: %s\n" % (px.url, px.host, auth))

            def both():
                rc, out, err = daemon.ctl("list", "--all")
                self.assertEqual(rc, 0, err)
                acts = {a["name"]: a for a in out["actions"]}
                return acts if len(acts) == 2 else None
            acts = wait_for(both, 60, "two actions")
            a, b = acts["broken-a"], acts["broken-b"]
            self.assertEqual(a["state"], "pending", a)
            self.assertEqual(b["state"], "refused", b)
            rc, out, err = daemon.ctl("show", str(b["id"]))
            self.assertEqual(out["action"]["rule"], "registry-image-missing", out["action"])
            self.assertIn("nginx:1.99 does not exist", out["action"]["reason"])
            rc, out, err = daemon.ctl("show", str(a["id"]))
            self.assertIn("registry: the proposed image nginx:1.25 exists, digest " + digest["1.25"],
                          out["action"]["evidence"])
            # broken-b was never dry-run: the only remedyd write is a's dry-run
            writes = cluster.remedyd_writes(include_dry_run=True)
            self.assertTrue(all(w["dry_run"] for w in writes), writes)
            self.assertTrue(any("broken-a" in w["path"] for w in writes), writes)
            self.assertFalse(any("broken-b" in w["path"] for w in writes), writes)

            reqs = llm.requests()
            bodies = [json.dumps(r) for r in reqs]
            self.assertTrue(any('\\"closest_existing_tags\\"' in body and '\\"tag_exists\\":false' in body
                                for body in bodies), bodies[:1])
            for body in bodies:
                self.assertNotIn(PASSWORD, body)
                self.assertNotIn(base64.b64encode(("ops:" + PASSWORD).encode()).decode(), body)
            for r in px.requests:
                self.assertTrue(r["path"].startswith("/v2/library/nginx/"), r)
            self.assertNotIn(PASSWORD, daemon.full_log())
            ok = True
        finally:
            rc = daemon.stop() if daemon else 0
            if llm:
                llm.stop()
            if cluster:
                cluster.stop()
            if px:
                px.stop()
            reg.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("--- remedyd log ---\n" + (daemon.log() if daemon else ""))
                print("--- workdir kept: " + work)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

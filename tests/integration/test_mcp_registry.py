"""An agent's image goes through the registry check of remedyd's own fixes.

The test API server's broken rollout (Deployment demo/web on a tag that
does not exist), registries.enabled, and a real registry (docker-registry
behind a recording proxy) mirrored as docker.io holding nginx:1.24 and
nginx:1.25.  An agent proposes through `remedyctl mcp`:

- nginx:1.99, which the registry does not have: refused by the rule
  registry-image-missing, the reason naming the image, never dry-run;
- an image that is no valid reference: refused by registry-image-invalid;
- nginx:1.24: the proxy saw the HEAD of its manifest, the evidence names
  its digest, pending after its dry-run;
- nginx:1.23 while the registry answers 500: not confirmed, let through
  with an evidence line saying so (as for remedyd's own fixes);
- a proposal whose registry check is still out when remedyd is told to
  stop: answered "remedyd is stopping", and remedyd exits 0 (under ASan:
  nothing leaked).
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "registry"))
from harness import Env, wait_action, wait_for  # noqa: E402
from test_mcp import Mcp, propose  # noqa: E402
import registry_harness as rh  # noqa: E402

TOOLS = all(shutil.which(t) for t in ("docker-registry", "skopeo", "jq", "gcc"))
IMAGE = "/spec/template/spec/containers/0/image"


def image(tag):
    return [{"op": "replace", "path": IMAGE, "value": tag}]


@unittest.skipUnless(TOOLS, "docker-registry, skopeo, jq and gcc are needed")
class McpRegistry(unittest.TestCase):
    def test_agent_images_checked(self):
        work = tempfile.mkdtemp(prefix="remedy-mcpreg-")
        layout = os.path.join(work, "oci")
        digest = {t: rh.mkimage("web", layout, t) for t in ("1.24", "1.25")}
        reg = rh.Registry(os.path.join(work, "reg")).start()
        px = env = m = None
        ok = False
        try:
            for tag in digest:
                reg.push(layout, tag, "library/nginx")
            px = rh.FaultProxy(reg.url).start()
            env = Env(scenario="broken-rollout", replicas=2, hold_down="1s",
                      extra="registries:\n  enabled: true\n  mirrors: {docker.io: %s}\n"
                            "  insecure: [%s]\n" % (px.url, px.host))
            c, d = env.cluster, env.daemon
            wait_action(d, "pending")   # remedyd's own rollback: the incident is open
            m = Mcp(d.socket)
            m.handshake()

            def dry_runs():
                return [q for q in c.remedyd_writes(include_dry_run=True)
                        if q["method"] == "PATCH" and q["dry_run"]]
            before = len(dry_runs())

            # not in the registry: refused by the registry check, never dry-run
            r = propose(m, image("nginx:1.99"), rationale="the newest")["result"]
            self.assertTrue(r["isError"], r)
            sc = r["structuredContent"]
            self.assertEqual((sc["state"], sc["rule"]), ("refused", "registry-image-missing"))
            self.assertIn("the proposed image nginx:1.99 does not exist", sc["reason"])
            self.assertIn("registry-image-missing", r["content"][0]["text"])
            rc, out, err = d.ctl("show", str(sc["id"]))
            self.assertEqual(rc, 0, err)
            self.assertEqual(out["action"]["origin"], "agent")
            self.assertTrue([e for e in out["action"]["evidence"]
                             if e.startswith("registry: proposed image nginx:1.99: "
                                             "tag-unknown")], out["action"]["evidence"])
            self.assertTrue([q for q in px.requests
                             if q["path"] == "/v2/library/nginx/manifests/1.99"], px.requests)

            # not a reference at all
            r = propose(m, image("nginx:Bad Tag"), rationale="typo")["result"]
            self.assertEqual((r["structuredContent"]["state"], r["structuredContent"]["rule"]),
                             ("refused", "registry-image-invalid"))
            self.assertEqual(len(dry_runs()), before)

            # in the registry: confirmed, then dry-run, pending
            r = propose(m, image("nginx:1.24"), rationale="1.24 ran last week")["result"]
            self.assertFalse(r["isError"], r)
            aid = r["structuredContent"]["id"]
            self.assertEqual(r["structuredContent"]["state"], "pending")
            rc, out, err = d.ctl("show", str(aid))
            self.assertIn("registry: the proposed image nginx:1.24 exists, digest " +
                          digest["1.24"], out["action"]["evidence"])
            self.assertEqual(len(dry_runs()), before + 1)
            self.assertEqual(json.loads(dry_runs()[-1]["body"])[-1]["value"], "nginx:1.24")

            # the registry fails: not confirmed, let through, said so
            px.mode = "500"
            r = propose(m, image("nginx:1.23"), rationale="try 1.23")["result"]
            self.assertFalse(r["isError"], r)
            rc, out, err = d.ctl("show", str(r["structuredContent"]["id"]))
            self.assertTrue([e for e in out["action"]["evidence"] if e.startswith(
                "registry: the proposed image nginx:1.23 could not be confirmed")],
                out["action"]["evidence"])

            # stopped while the registry is asked: answered, exit 0
            px.mode, px.delay = "slow", 20.0
            n = len(px.requests)
            m.send_raw((json.dumps({"jsonrpc": "2.0", "id": 77, "method": "tools/call",
                                    "params": {"name": "propose_fix", "arguments": {
                                        "target": {"kind": "Deployment", "namespace": "demo",
                                                   "name": "web"},
                                        "patch": image("nginx:1.22"), "rationale": "slow",
                                        "risk": "low"}}}) + "\n").encode())
            wait_for(lambda: len(px.requests) > n, 20, "the registry to be asked")
            d.proc.send_signal(signal.SIGTERM)
            reply = m.read(timeout=30)
            self.assertEqual(reply["id"], 77)
            self.assertTrue(reply["result"]["isError"], reply)
            self.assertIn("remedyd is stopping", reply["result"]["content"][0]["text"])
            self.assertEqual(d.proc.wait(30), 0, d.log())
            d.logf.close()
            ok = True
        finally:
            if m is not None:
                m.close()
            rc = env.close(ok) if env else 0
            if px:
                px.mode = None
                px.stop()
            reg.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("--- workdir kept: " + work)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()

"""The whole approve loop against the test API server, with the real binaries.

A Deployment with 50 replicas rolled out to an image that does not exist:
exactly one incident and one pending action; nothing written before approve;
after approve exactly one PATCH whose body is the stored patch; the pods come
up; the action is verified; the audit log tells the story and verifies.
"""
import json
import os
import pwd
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, pod_ready, wait_action, wait_for, wait_state  # noqa: E402

REPLICAS = 50


class ApproveLoop(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=REPLICAS, hold_down="1s",
                       extra="incidents:\n  resolve_after: 1s\n")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0, "remedyd exit status after SIGTERM")

    def test_image_pull_rollback(self):
        c, d = self.env.cluster, self.env.daemon
        broken = [p for p in c.pods() if not pod_ready(p)]
        self.assertEqual(len(broken), REPLICAS)

        pending = wait_action(d, "pending")
        self.assertEqual(len(pending), 1, pending)
        rc, out, err = d.ctl("list")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out["actions"]), 1, "one action for 50 broken pods")
        aid = pending[0]["id"]

        rc, out, err = d.ctl("incidents")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out["incidents"]), 1)
        inc = out["incidents"][0]
        self.assertEqual((inc["kind"], inc["name"], inc["reason"]),
                         ("Deployment", "web", "ImagePullBackOff"))
        self.assertEqual(inc["pods"], REPLICAS)

        rc, out, err = d.ctl("show", str(aid))
        self.assertEqual(rc, 0, err)
        act = out["action"]
        self.assertEqual(act["kind"], "Deployment")
        self.assertEqual(act["api_path"], "/apis/apps/v1/namespaces/demo/deployments/web")
        self.assertIn("nginx:1.27-typo", act["root_cause"])
        self.assertIn("not found", act["root_cause"])
        self.assertIn("revision 1", act["summary"])
        dep = c.get("/apis/apps/v1/namespaces/demo/deployments/web")
        self.assertEqual(act["patch"], [
            {"op": "test", "path": "/metadata/generation", "value": dep["metadata"]["generation"]},
            {"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27-typo"},
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"},
            # the action id, which crash recovery reads back from the object
            {"op": "add", "path": "/metadata/annotations/remedy.dev~1action-id", "value": str(aid)},
        ])
        self.assertEqual(act["changes"], [{"path": "/spec/template/spec/containers/0/image",
                                           "before": "nginx:1.27-typo", "after": "nginx:1.25"}])
        self.assertGreaterEqual(len(act["evidence"]), 1)

        # The dry-run reached the server; nothing that writes did.
        dry = c.remedyd_writes(include_dry_run=True)
        self.assertEqual([r["dry_run"] for r in dry], [True])
        self.assertEqual(c.remedyd_writes(), [], "no write before approve")

        # The table output names the target and the diff.
        rc, text, err = d.ctl("show", str(aid), output=None)
        self.assertEqual(rc, 0, err)
        self.assertIn("- nginx:1.27-typo", text)
        self.assertIn("+ nginx:1.25", text)

        rc, out, err = d.ctl("approve", str(aid), "--comment", "rollback looks right")
        self.assertEqual(rc, 0, err)

        act = wait_state(d, aid, ("verified", "failed", "not-recovered"), timeout=60)
        self.assertEqual(act["state"], "verified", act)

        writes = c.remedyd_writes()
        self.assertEqual(len(writes), 1, writes)
        w = writes[0]
        self.assertEqual(w["method"], "PATCH")
        self.assertEqual(w["content_type"], "application/json-patch+json")
        self.assertEqual(w["path"], "/apis/apps/v1/namespaces/demo/deployments/web")
        # byte for byte the patch the operator approved
        self.assertEqual(w["body"], json.dumps(act["patch"], separators=(",", ":"), sort_keys=True),
                         "PATCH body equals the stored patch")

        dep = c.get("/apis/apps/v1/namespaces/demo/deployments/web")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25")
        pods = c.pods()
        self.assertEqual(len(pods), REPLICAS)
        self.assertTrue(all(pod_ready(p) for p in pods))

        rc, out, err = d.ctl("audit", "--action", str(aid))
        self.assertEqual(rc, 0, err)
        rows = out["rows"]
        self.assertEqual([r["event"] for r in rows],
                         ["suggested", "approved", "applying", "applied", "verified"])
        me = pwd.getpwuid(os.getuid()).pw_name
        self.assertEqual((rows[1]["actor_uid"], rows[1]["actor"]), (os.getuid(), me))
        self.assertEqual(rows[0]["actor"], "remedyd")
        self.assertEqual(rows[3]["detail"]["patch"], json.loads(w["body"]))
        self.assertEqual(rows[3]["detail"]["answer"]["status"], 200)

        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out["ok"])
        self.assertEqual(out["rows"], 5)

        # Approving again is refused: the action is no longer pending.
        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 1)
        self.assertIn("not pending", err)
        self.assertEqual(len(c.remedyd_writes()), 1)

        # The incident healed.
        def resolved():
            rc, out, err = d.ctl("incidents")
            return out["incidents"][0]["state"] == "resolved"
        wait_for(resolved, 30, "the incident to resolve")
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

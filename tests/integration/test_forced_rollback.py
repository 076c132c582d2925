"""StatefulSet forced rollback: an action with two steps.

A StatefulSet (podManagementPolicy OrderedReady, 2 replicas) is rolled out
to a missing tag: its controller replaces db-1 from the bad revision, the
new pod never pulls, and the rollout stops there.  Reverting the template
alone is not enough: the controller keeps waiting for the broken pod (the
test API server models that trap, tests/kubeapi/workloads.py).  remedyd
proposes ONE action with two steps -- the template revert, then the
deletion of exactly db-1 (by name, with its uid and the bad revision) --
and the request log shows only dry-runs (the DELETE included) before the
approval.  After it: the PATCH, then one DELETE carrying the uid
precondition, the rollout completes, the action is verified, and each step
left its own audit rows with the chain intact.

Crash cases (REMEDY_TEST_CRASH_AT, daemon/apply.c): remedyd dies right
after step 1 is committed (after-step-1) or right after the API server
answered the DELETE but before it was recorded (after-delete); the next
start resumes at the first step not done, and the request log holds
exactly one PATCH and one DELETE.
"""
import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRCDIR, Env, pod_ready, wait_action, wait_for, wait_state  # noqa: E402
from jsonschema_lite import Schemas  # noqa: E402

SCHEMAS = Schemas(os.path.join(SRCDIR, "proto"))

APPS = "/apis/apps/v1/namespaces/demo"
DB = APPS + "/statefulsets/db"
IMAGE = "/spec/template/spec/containers/0/image"
HASH = "controller-revision-hash"


def statefulset(image):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "demo"},
            "spec": {"replicas": 2, "serviceName": "db",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"containers": [{"name": "db", "image": image}]}}}}


def db_pods(c):
    return sorted((p for p in c.pods() if p["metadata"]["name"].startswith("db-")),
                  key=lambda p: p["metadata"]["name"])


def settled(c):
    s = c.get(DB)
    st = s.get("status") or {}
    pods = db_pods(c)
    return (st.get("observedGeneration") == s["metadata"]["generation"]
            and st.get("currentRevision") == st.get("updateRevision")
            and st.get("readyReplicas") == 2 and len(pods) == 2
            and all(pod_ready(p) for p in pods))


def break_statefulset(c):
    """A healthy StatefulSet, then a rollout to a missing tag that leaves
    db-1 on the bad revision in ImagePullBackOff."""
    status, obj = c.api("POST", APPS + "/statefulsets", statefulset("nginx:1.25"))
    assert status == 201, obj
    wait_for(lambda: settled(c), 60, "the StatefulSet to settle")
    status, obj = c.api("PATCH", DB, [{"op": "replace", "path": IMAGE,
                                       "value": "nginx:1.27-typo"}],
                        ctype="application/json-patch+json")
    assert status == 200, obj

    def stuck():
        s = c.get(DB)
        upd = (s.get("status") or {}).get("updateRevision")
        for p in db_pods(c):
            if p["metadata"]["labels"].get(HASH) != upd:
                continue
            for cs in p.get("status", {}).get("containerStatuses", []):
                if (cs.get("state", {}).get("waiting") or {}).get("reason") == "ImagePullBackOff":
                    return True
        return False
    wait_for(stuck, 60, "db-1 to back off pulling the missing tag")


def writes(c, method, dry_run=False):
    return [w for w in c.remedyd_writes(include_dry_run=True)
            if w["method"] == method and w["dry_run"] == dry_run]


class ForcedRollback(unittest.TestCase):
    def setUp(self):
        self.env = None
        self.ok = False

    def tearDown(self):
        os.environ.pop("REMEDY_TEST_CRASH_AT", None)
        if self.env:
            rc = self.env.close(self.ok)
            if self.ok:
                self.assertEqual(rc, 0)

    def start(self, crash_at=None):
        if crash_at:
            os.environ["REMEDY_TEST_CRASH_AT"] = crash_at
        try:
            self.env = Env(scenario="empty", hold_down="1s", verify_timeout="60s",
                           before_daemon=break_statefulset)
        finally:
            os.environ.pop("REMEDY_TEST_CRASH_AT", None)
        return self.env.cluster, self.env.daemon

    def pending(self, c, d):
        """The pending action: two steps, only dry-runs sent."""
        aid = wait_action(d, "pending", timeout=60)[0]["id"]
        rc, out, err = d.ctl("show", str(aid))
        self.assertEqual(rc, 0, err)
        self.assertEqual(SCHEMAS.validate(out, "results.schema.json", "/definitions/show"), [])
        act = out["action"]
        self.assertEqual(act["kind"], "StatefulSet")
        steps = act["steps"]
        self.assertEqual([s["kind"] for s in steps], ["patch", "delete-pod"], steps)
        self.assertEqual([s["state"] for s in steps], ["pending", "pending"])
        sts = c.get(DB)
        bad = sts["status"]["updateRevision"]
        pod = [p for p in db_pods(c) if p["metadata"]["name"] == "db-1"][0]
        self.assertEqual(steps[1]["name"], "db-1")
        self.assertEqual(steps[1]["uid"], pod["metadata"]["uid"])
        self.assertEqual(steps[1]["revision"], bad)
        self.assertEqual(steps[1]["owner_uid"], sts["metadata"]["uid"])
        self.assertIn("forced rollback", act["summary"])
        # nothing but dry-runs before the approval, the DELETE's included
        self.assertEqual(c.remedyd_writes(), [])
        self.assertEqual(len(writes(c, "PATCH", dry_run=True)), 1)
        dels = writes(c, "DELETE", dry_run=True)
        self.assertEqual(len(dels), 1)
        self.assertEqual(dels[0]["path"], "/api/v1/namespaces/demo/pods/db-1")
        self.assertEqual(json.loads(dels[0]["body"])["preconditions"]["uid"],
                         pod["metadata"]["uid"])
        # the text view names both steps
        rc, text, err = d.ctl("show", str(aid), output=None)
        self.assertEqual(rc, 0, err)
        self.assertIn("Steps (applied in order, approved as one action):", text)
        self.assertIn("2. delete pod demo/db-1", text)
        return aid, pod["metadata"]["uid"], bad

    def check_done(self, c, d, aid, uid, bad):
        act = wait_state(d, aid, ("verified", "failed", "not-recovered"), timeout=90)
        self.assertEqual(act["state"], "verified", act)
        rc, out, err = d.ctl("show", str(aid))
        self.assertEqual(SCHEMAS.validate(out, "results.schema.json", "/definitions/show"), [])
        self.assertEqual([s["state"] for s in act["steps"]], ["done", "done"])
        # exactly one PATCH and one DELETE, the DELETE with the uid precondition
        self.assertEqual(len(writes(c, "PATCH")), 1)
        dels = writes(c, "DELETE")
        self.assertEqual(len(dels), 1, dels)
        self.assertEqual(dels[0]["path"], "/api/v1/namespaces/demo/pods/db-1")
        pre = json.loads(dels[0]["body"])["preconditions"]
        self.assertEqual(pre["uid"], uid)
        self.assertIn("resourceVersion", pre)
        # the rollout completed on the old revision
        sts = c.get(DB)
        self.assertEqual(sts["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25")
        self.assertNotEqual(sts["status"]["currentRevision"], bad)
        for p in db_pods(c):
            self.assertTrue(pod_ready(p), p["metadata"]["name"])
            self.assertNotEqual(p["metadata"]["labels"][HASH], bad)
        # audited per step, the chain intact
        rc, out, err = d.ctl("audit", "--action", str(aid))
        self.assertEqual(rc, 0, err)
        rows = [(r["event"], (r["detail"] or {}).get("step")) for r in out["rows"]]
        for row in (("applying", 1), ("step-done", 1), ("step-applying", 2),
                    ("step-done", 2), ("applied", None), ("verified", None)):
            self.assertEqual(rows.count(row), 1, (row, rows))
        rc, out, err = d.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out["ok"], out)
        db = sqlite3.connect(d.db)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            db.close()
        return act

    def test_two_steps_approved_as_one(self):
        c, d = self.start()
        aid, uid, bad = self.pending(c, d)
        rc, out, err = d.ctl("approve", str(aid))
        self.assertEqual(rc, 0, err)
        self.check_done(c, d, aid, uid, bad)

        # the rollback reverts the template only: one step, no DELETE
        rc, out, err = d.ctl("rollback", str(aid))
        self.assertEqual(rc, 0, err)
        rb = out["action"]
        self.assertNotIn("steps", rb)
        self.assertTrue(any(op.get("path") == IMAGE and op.get("value") == "nginx:1.27-typo"
                            for op in rb["patch"] if op["op"] == "replace"), rb["patch"])
        self.ok = True

    def crash_between(self, point):
        c, d = self.start(crash_at=point)
        aid, uid, bad = self.pending(c, d)
        d.ctl("approve", str(aid))
        wait_for(lambda: d.proc.poll() is not None, 60, "remedyd to crash at " + point)
        self.assertEqual(d.proc.returncode, 137, d.log())
        self.assertIn("REMEDY_TEST_CRASH_AT=%s" % point, d.log())
        d.logf.close()
        self.assertEqual(len(writes(c, "PATCH")), 1)
        self.assertEqual(len(writes(c, "DELETE")), 1 if point == "after-delete" else 0)
        d.start()
        act = self.check_done(c, d, aid, uid, bad)
        outcome = act["steps"][1]["result"]["outcome"]
        if point == "after-delete":
            # the pod the DELETE removed is gone or re-created: no second DELETE
            self.assertTrue(outcome.startswith("already gone"), outcome)
        else:
            self.assertEqual(outcome, "deleted")
        self.ok = True

    def test_crash_after_step_1(self):
        self.crash_between("after-step-1")

    def test_crash_after_delete(self):
        self.crash_between("after-delete")

    def test_policy_off_template_only(self):
        """policy.allow_forced_rollback false: the wall would refuse the pod
        deletions, so the action reverts the template only, names the pod
        to delete by hand, and nothing but its PATCH is dry-run."""
        self.env = Env(scenario="empty", hold_down="1s", verify_timeout="60s",
                       before_daemon=break_statefulset,
                       extra="policy:\n  allow_forced_rollback: false\n")
        c, d = self.env.cluster, self.env.daemon
        aid = wait_action(d, "pending", timeout=60)[0]["id"]
        rc, out, err = d.ctl("show", str(aid))
        self.assertEqual(rc, 0, err)
        act = out["action"]
        self.assertNotIn("steps", act)
        self.assertIn("policy.allow_forced_rollback is false", act["root_cause"])
        self.assertIn("delete pod db-1", act["root_cause"])
        self.assertEqual(c.remedyd_writes(), [])
        self.assertEqual(len(writes(c, "PATCH", dry_run=True)), 1)
        self.assertEqual(writes(c, "DELETE", dry_run=True), [])
        self.ok = True


if __name__ == "__main__":
    unittest.main()

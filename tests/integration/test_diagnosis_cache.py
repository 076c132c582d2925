"""Cost control: identical incidents in two namespaces with anonymize on
reach the LLM once (the second is answered from the reply cache, mapped back
to its own namespace); the per-hour call budget stops further calls with
`diagnosis failed: call budget exhausted`."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "llm"))
import llm_harness as lh  # noqa: E402
import harness  # noqa: E402


class Cost(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="remedy-cost-")
        self.cluster = harness.Cluster(self.work, scenario="empty")
        self.llm = lh.LlmServer(self.work)
        self.daemon = None
        self.ok = False

    def tearDown(self):
        if self.daemon is not None:
            rc = self.daemon.stop()
            if self.ok:
                self.assertEqual(rc, 0)
        self.llm.stop()
        self.cluster.stop()
        if self.ok:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            if self.daemon is not None:
                print("--- remedyd log ---\n" + self.daemon.full_log()[-8000:])
            print("--- workdir kept: " + self.work)

    def diagnosed(self, n):
        def f():
            incs = [i for i in self.daemon.incidents() if i.get("diagnosis")]
            return incs if len(incs) >= n else None
        return harness.wait_for(f, 40, "%d diagnosed incidents" % n)

    def test_anonymized_identical_incidents_hit_the_cache_once(self):
        for ns in ("team-a", "team-b"):
            lh.broken_rollout(self.cluster, ns)
        self.daemon = lh.LlmDaemon(self.work, self.cluster, {
            "backend": "openai", "model": "test-model", "endpoint": self.llm.url,
            "anonymize": "true", "max_concurrent": "2"})
        incs = {i["namespace"]: i for i in self.diagnosed(2)}
        reqs = self.llm.requests()
        if len(reqs) != 1:
            import difflib
            ctx = [json.dumps(json.loads(r["body"]["messages"][-1]["content"].split("Context:\n", 1)[1]),
                              indent=1).splitlines() for r in reqs[:2]]
            print("\n".join(difflib.unified_diff(ctx[0], ctx[-1], lineterm="")))
        self.assertEqual(len(reqs), 1, [r["path"] for r in reqs])
        body = json.dumps(reqs[0]["body"])
        for real in ("team-a", "team-b", '"web"', "web-"):
            self.assertNotIn(real, body)
        for p in self.cluster.pods("team-a") + self.cluster.pods("team-b"):
            self.assertNotIn(p["metadata"]["name"], body)
        d = sorted((incs[ns]["diagnosis"] for ns in ("team-a", "team-b")), key=lambda d: d["cached"])
        self.assertEqual([x["status"] for x in d], ["ok", "ok"])
        self.assertEqual([x["cached"] for x in d], [False, True])
        self.assertEqual([x["calls"] for x in d], [1, 0])
        self.assertGreater(d[0]["tokens"]["prompt"], 0)
        self.assertEqual(d[1]["tokens"]["prompt"], 0)
        # Each reply was mapped back to its own namespace and Deployment.
        def two():
            rc, out, err = self.daemon.ctl("list")
            self.assertEqual(rc, 0, err)
            return out["actions"] if len(out["actions"]) == 2 else None
        acts = harness.wait_for(two, 20, "two actions")
        self.assertEqual(sorted(a["namespace"] for a in acts), ["team-a", "team-b"])
        for a in acts:
            rc, out, err = self.daemon.ctl("show", str(a["id"]))
            self.assertEqual(out["action"]["api_path"],
                             "/apis/apps/v1/namespaces/%s/deployments/web" % a["namespace"])
            self.assertEqual(out["action"]["state"], "pending")
            self.assertIn(a["namespace"], out["action"]["root_cause"])
        self.ok = True

    def test_call_budget(self):
        for ns in ("one", "two", "three"):
            lh.broken_rollout(self.cluster, ns)
        self.daemon = lh.LlmDaemon(self.work, self.cluster, {
            "backend": "anthropic", "model": "test-model", "endpoint": self.llm.url,
            "max_calls_per_hour": "1", "max_concurrent": "1"})
        incs = self.diagnosed(3)
        self.assertEqual(len(self.llm.requests()), 1)
        st = sorted(i["diagnosis"]["status"] for i in incs)
        self.assertEqual(st, ["failed", "failed", "ok"])
        for i in incs:
            if i["diagnosis"]["status"] == "failed":
                self.assertIn("call budget exhausted", i["diagnosis"]["error"])
        rc, out, err = self.daemon.ctl("incidents", output=None)
        self.assertEqual(rc, 0, err)
        self.assertIn("diagnosis failed: call budget exhausted", out)
        self.ok = True

    def test_rules_backend_redacts_and_records(self):
        # The offline backend quotes Events as evidence: redacted too, and
        # its outcome is recorded on the incident like an LLM's.
        lh.broken_rollout(self.cluster, "demo")
        lh.plant_events(self.cluster, "demo")
        self.daemon = lh.LlmDaemon(self.work, self.cluster, {"backend": "rules"})
        inc = self.diagnosed(1)[0]
        self.assertEqual(inc["diagnosis"]["status"], "ok")
        self.assertEqual(inc["diagnosis"]["backend"], "rules")
        self.assertEqual(inc["diagnosis"]["calls"], 0)
        act = harness.wait_action(self.daemon, "pending")[0]
        rc, out, err = self.daemon.ctl("show", str(act["id"]))
        self.assertEqual(rc, 0, err)
        ev = "\n".join(out["action"]["evidence"])
        self.assertIn("[redacted:", ev)
        self.assertIn("Failed to pull image", ev)
        self.assertEqual(self.llm.requests(), [])
        self.assertEqual(self.daemon.stop(), 0)
        with open(self.daemon.db, "rb") as f:
            db = f.read().decode("latin-1")
        if os.path.exists(self.daemon.db + "-wal"):
            with open(self.daemon.db + "-wal", "rb") as f:
                db += f.read().decode("latin-1")
        self.assertEqual(lh.leaks(db), [])
        self.assertEqual(lh.leaks(self.daemon.full_log()), [])
        self.daemon = None
        self.ok = True

    def test_missing_api_key_is_a_clear_startup_error(self):
        with self.assertRaises(AssertionError) as cm:
            self.daemon = lh.LlmDaemon(self.work, self.cluster, {
                "backend": "openai", "model": "m", "endpoint": self.llm.url,
                "api_key_file": os.path.join(self.work, "no-such-key")})
        self.assertIn("diagnosis:", str(cm.exception))
        self.assertIn("no-such-key", str(cm.exception))
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

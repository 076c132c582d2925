"""A Job whose pods keep failing, end to end through the real remedyd and
remedyctl.

The test API server runs its Job controller (--jobs, retries after a
back-off of 0.5 s doubled per failure, up to backoffLimit) and a kubelet
that runs a Job's pods once: "sh -c '...; exit 3'" ends with exit code 3.

Job `migrate` fails with exit code 3 on every try: before its controller
gives up (backoffLimit 6), remedyd opens a JobPodsFailing incident whose
evidence carries the exit code and what the log of one of its failed pods
says (the test API server's log of an "sh -c" script is what it echoes),
and explains it without an action: a
Job's pod template is immutable, so the explanation says what recreating
the Job takes.  Job `seed` succeeds and opens nothing.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_explained  # noqa: E402

BATCH = "/apis/batch/v1/namespaces/demo"


def job(name, script):
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"backoffLimit": 6,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [{
                         "name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]}]}}}}


def create(c):
    for j in (job("migrate", "echo migrating; echo 'error: cannot reach queue'; exit 3"), job("seed", "echo seeding; exit 0")):
        status, obj = c.api("POST", BATCH + "/jobs", j)
        assert status == 201, obj


class JobExplain(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="empty", hold_down="1s", before_daemon=create,
                       cluster_args=["--jobs", "--job-backoff", "0.5"])
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        if self.ok:
            self.assertEqual(rc, 0)

    def test_retrying_job_explained(self):
        c, d = self.env.cluster, self.env.daemon
        inc = wait_explained(d, "migrate")
        self.assertEqual((inc["kind"], inc["analyzer"], inc["reason"]), ("Job", "job", "JobPodsFailing"))
        self.assertTrue(any("failed with exit code 3 (container main)" in f for f in inc["findings"]),
                        inc["findings"])
        self.assertIn("immutable", inc["diagnosis"]["summary"])
        self.assertRegex(inc["diagnosis"]["root_cause"], r"The log of failed pod migrate-\w+ \(container main, "
                                                         r"exit code 3\) says: \"error: cannot reach queue\"")
        self.assertIn("delete the Job and create it again", inc["diagnosis"]["root_cause"])
        # told before the controller gave up: still active, not Failed
        jb = c.get(BATCH + "/jobs/migrate")
        self.assertGreaterEqual(jb["status"].get("failed", 0), 2)
        self.assertLessEqual(jb["status"].get("failed", 0), 6)
        self.assertFalse([x for x in jb["status"].get("conditions") or [] if x["type"] == "Failed"], jb)
        self.assertEqual(c.get(BATCH + "/jobs/seed")["status"].get("succeeded"), 1)
        rc, out, err = d.ctl("incidents")
        self.assertEqual(sorted(i["name"] for i in out["incidents"]), ["migrate"])
        rc, out, err = d.ctl("list")
        self.assertEqual(out["actions"], [])
        self.assertEqual(c.remedyd_writes(include_dry_run=True), [])
        self.assertTrue([r for r in c.requests() if r["path"].startswith("/api/v1/namespaces/demo/pods/migrate-")
                         and "/log" in r["path"]], "the failed pod's log was read")
        self.ok = True


if __name__ == "__main__":
    unittest.main()

"""Golden output of the audit review: `remedyctl audit show ACTION` for a
verified action, a failed one (the API server answers 422), a rolled-back
one and one diagnosed by an LLM backend; the audit table; the JSON Lines
export; and that export checked by the recipe in docs/audit.md.

The real remedyd runs against the test API server (and the test LLM
server); outputs are compared with tests/golden/audit-*.* after the
normalisation test_ctl_golden.py uses, plus the story's own varying
parts.  REMEDY_GOLDEN_UPDATE=1 rewrites the files instead.
"""
import difflib
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "llm"))
import harness  # noqa: E402
from harness import REMEDYCTL, SRCDIR, Env, wait_action, wait_state  # noqa: E402
from test_ctl_golden import normalise  # noqa: E402

GOLDEN = os.path.join(SRCDIR, "tests", "golden")
UPDATE = os.environ.get("REMEDY_GOLDEN_UPDATE") == "1"
WEB = "/apis/apps/v1/namespaces/demo/deployments/web"


def story_normalise(text, table):
    user = pwd.getpwuid(os.getuid()).pw_name
    text = re.sub(r"by %s \(uid %d\)" % (re.escape(user), os.getuid()), "by <USER> (uid <UID>)", text)
    text = re.sub(r"resourceVersion \d+", "resourceVersion <RV>", text)
    return normalise(text, table)


def ctl(sock, *args):
    r = subprocess.run([REMEDYCTL, "-s", sock] + list(args), capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, NO_COLOR="1"))
    return r


def extract_recipe():
    """The Python block of docs/audit.md that checks an export."""
    with open(os.path.join(SRCDIR, "docs", "audit.md")) as f:
        doc = f.read()
    m = re.search(r"```python\n(.*?)```", doc, re.S)
    assert m, "docs/audit.md has no ```python block"
    return m.group(1)


class GoldenAudit(unittest.TestCase):
    def compare(self, name, got):
        path = os.path.join(GOLDEN, name)
        if UPDATE:
            with open(path, "w") as f:
                f.write(got)
            return
        with open(path) as f:
            want = f.read()
        if got != want:
            self.fail("%s:\n%s" % (path, "".join(difflib.unified_diff(
                want.splitlines(True), got.splitlines(True), "golden", "got"))))

    def golden(self, sock, name, args, fmt="table"):
        r = ctl(sock, *(args + ["-o", fmt]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.compare(name, story_normalise(r.stdout, fmt == "table"))
        return r.stdout

    def test_verified_then_rolled_back(self):
        # the rollback restores the broken image: its verdict is
        # not-recovered, after verify_timeout
        env = Env(scenario="broken-rollout", replicas=3, hold_down="1s", verify_timeout="15s")
        ok = False
        try:
            d = env.daemon
            aid = wait_action(d, "pending")[0]["id"]
            rc, out, err = d.ctl("approve", str(aid), "--comment", "the typo, roll back")
            self.assertEqual(rc, 0, err)
            wait_state(d, aid, ("verified",), 90)
            self.golden(d.socket, "audit-show-verified.table", ["audit", "show", str(aid)])
            self.golden(d.socket, "audit-show-verified.json", ["audit", "show", str(aid)], "json")
            # the same story with the global options first
            r = ctl(d.socket, "-o", "table", "audit", "show", str(aid))
            r2 = ctl(d.socket, "audit", "show", str(aid), "--output=table")
            self.assertEqual(r.stdout, r2.stdout)

            rc, out, err = d.ctl("rollback", str(aid))
            self.assertEqual(rc, 0, err)
            nid = out["action"]["id"]
            rc, out, err = d.ctl("approve", str(nid), "--comment", "undo it")
            self.assertEqual(rc, 0, err)
            wait_state(d, aid, ("rolled-back",), 60)
            wait_state(d, nid, ("not-recovered",), 90)
            self.golden(d.socket, "audit-show-rolled-back.table", ["audit", "show", str(aid)])
            self.golden(d.socket, "audit-table.table", ["audit"])
            jl = self.golden(d.socket, "audit-lines.jsonl", ["audit"], "json")
            self.golden(d.socket, "audit-filtered.table",
                        ["audit", "--event", "approved", "--actor", pwd.getpwuid(os.getuid()).pw_name,
                         "--since", "1h", "-n", "demo"])

            # the export checks out with the documented recipe ...
            tmp = tempfile.mkdtemp()
            try:
                recipe = os.path.join(tmp, "check.py")
                with open(recipe, "w") as f:
                    f.write(extract_recipe())
                export = os.path.join(tmp, "audit.jsonl")
                with open(export, "w") as f:
                    f.write(jl)
                r = subprocess.run([sys.executable, recipe, export], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("%d rows, chain intact" % len(jl.splitlines()), r.stdout)
                # ... and an edited row does not
                lines = jl.splitlines(True)
                lines[1] = lines[1].replace('"undo it"', '"all fine"').replace(
                    '"the typo, roll back"', '"all fine"')
                self.assertNotEqual(lines[1], jl.splitlines(True)[1])
                with open(export, "w") as f:
                    f.write("".join(lines))
                r = subprocess.run([sys.executable, recipe, export], capture_output=True, text=True)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("row 2", r.stdout + r.stderr)
                # ... nor one taken out
                with open(export, "w") as f:
                    f.write("".join(jl.splitlines(True)[:2] + jl.splitlines(True)[3:]))
                r = subprocess.run([sys.executable, recipe, export], capture_output=True, text=True)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("row 4", r.stdout + r.stderr)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            ok = True
        finally:
            self.assertEqual(env.close(ok), 0)

    def test_failed_with_422(self):
        env = Env(scenario="broken-rollout", replicas=3, hold_down="1s")
        ok = False
        try:
            c, d = env.cluster, env.daemon
            aid = wait_action(d, "pending")[0]["id"]
            c.test("POST", "/inject", {
                "method": "PATCH", "path": WEB, "dry_run": False, "status": 422,
                "reason": "Invalid", "message": "spec.template.spec.containers[0].image: Invalid value"})
            rc, out, err = d.ctl("approve", str(aid))
            self.assertEqual(rc, 0, err)
            wait_state(d, aid, ("failed",), 60)
            out = self.golden(d.socket, "audit-show-failed.table", ["audit", "show", str(aid)])
            self.assertIn("API server: 422 Invalid", out)
            ok = True
        finally:
            self.assertEqual(env.close(ok), 0)

    def test_llm_diagnosed(self):
        import llm_harness as lh
        work = tempfile.mkdtemp(prefix="remedy-golden-llm-")
        cluster = harness.Cluster(work, scenario="empty")
        llm = lh.LlmServer(work)
        daemon = None
        ok = False
        try:
            lh.broken_rollout(cluster, "good")
            daemon = lh.LlmDaemon(work, cluster, {
                "backend": "openai", "model": "test-model", "endpoint": llm.url})
            aid = wait_action(daemon, "pending", 60)[0]["id"]
            out = self.golden(daemon.socket, "audit-show-llm.table", ["audit", "show", str(aid)])
            self.assertIn("Backend:    openai, model test-model", out)
            self.assertIn("before normalisation", out)
            ok = True
        finally:
            rc = daemon.stop() if daemon else 0
            llm.stop()
            cluster.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("--- workdir kept: " + work)
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""./scripts/demo tells its two stories, on the binaries under test.

The default demo (the test API server, Debian's docker-registry on
loopback) runs with REMEDYD and REMEDYCTL set to this build; it must exit 0
after telling, in order: the bare Pod on nginx:1.25-typo, the registry's
closest tag proposed (with what the registry said), only a dry-run before
approval, the pod running nginx:1.25 and the action verified; then the
Deployment's rollback, approved and verified, and an intact audit log.
"""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYCTL, REMEDYD, SRCDIR  # noqa: E402


class Demo(unittest.TestCase):
    def test_demo_tells_both_stories(self):
        env = dict(os.environ, REMEDYD=REMEDYD, REMEDYCTL=REMEDYCTL, NO_COLOR="1")
        r = subprocess.run([os.path.join(SRCDIR, "scripts", "demo")], capture_output=True,
                           text=True, timeout=280, env=env)
        out = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout)
        self.assertEqual(r.returncode, 0, out[-4000:] + r.stderr[-4000:])
        marks = [
            "Set the image of Pod demo/broken-pod container web: nginx:1.25-typo -> nginx:1.25 "
            "(the registry has no tag 1.25-typo; closest existing tag 1.25)",
            "tag(s) of library/nginx examined; candidates for 1.25-typo: 1.25",
            "dryRun=All",
            "Roll back Deployment demo/web to revision 1: nginx:1.27-typo -> nginx:1.25",
            "audit log intact",
            "Done: both workloads recovered",
        ]
        pos = 0
        for m in marks:
            i = out.find(m, pos)
            self.assertGreaterEqual(i, 0, "%r not found (in order) in:\n%s" % (m, out[-6000:]))
            pos = i
        self.assertRegex(out, r"broken-pod\s+1/1\s+Running\s+nginx:1\.25\b")
        self.assertGreaterEqual(len(re.findall(r"\bverified\b", out)), 2, out[-4000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)

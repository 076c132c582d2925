"""The test API server answers as the real kube-apiserver does.

tests/kubeapi/capture_fixtures.py captures this cluster's answers to the
requests tests/kubeapi/test_fixtures.py sends to the test API server (lists
with continue tokens, a chunked watch, a watch from a compacted
resourceVersion, JSON Patch test failures, conflicts, 401/403, Leases, a
DELETE whose body overrides its query), then test_fixtures.py compares the
test API server with those fresh captures.  A difference fails here, in CI,
the day the fake drifts from the real server.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import e2e
from e2e import E2E_DIR

KUBEAPI = os.path.join(e2e.HERE, "..", "kubeapi")


class Fixtures(unittest.TestCase):
    def test_fake_matches_fresh_captures(self):
        with tempfile.TemporaryDirectory(prefix="remedy-captures.") as out:
            r = subprocess.run([sys.executable, os.path.join(KUBEAPI, "capture_fixtures.py"),
                                E2E_DIR, out], capture_output=True, text=True, timeout=400)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("capture: 19 answers", r.stdout)
            env = dict(os.environ, REMEDY_FIXTURES=out)
            r = subprocess.run([sys.executable, os.path.join(KUBEAPI, "test_fixtures.py"), "-v"],
                               capture_output=True, text=True, timeout=300, env=env)
            sys.stderr.write(r.stderr)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("skipped", r.stderr)
            self.assertRegex(r.stderr, r"Ran 19 tests")


if __name__ == "__main__":
    unittest.main()

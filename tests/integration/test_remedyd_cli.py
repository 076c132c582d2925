"""remedyd -n: a broken config is reported as file:line:col, exit 1; a good
one passes and -nv prints it in canonical form; a broken kubeconfig stops
start-up with a message naming the file."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYD  # noqa: E402


def run(*args):
    return subprocess.run([REMEDYD] + list(args), capture_output=True, text=True, timeout=30)


class RemedydCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        p = os.path.join(self.tmp.name, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_broken_config(self):
        p = self.write("bad.yaml", "kubernetes:\n  namespaces: [demo]\n"
                       "diagnosis:\n  backend: rules\n  hold_down: soon\n")
        r = run("-n", "-c", p)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("%s:5:14:" % p, r.stderr)
        self.assertIn("hold_down", r.stderr)

    def test_yaml_syntax_error(self):
        p = self.write("syntax.yaml", "store:\n  path: [unclosed\n")
        r = run("-n", "-c", p)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"syntax\.yaml:\d+:\d+: ")

    def test_missing_file(self):
        r = run("-n", "-c", os.path.join(self.tmp.name, "nope.yaml"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope.yaml", r.stderr)

    def test_good_config(self):
        p = self.write("good.yaml",
                       "kubernetes: { kubeconfig: /k, context: c, namespaces: [demo] }\n"
                       "store:      { path: /tmp/x.db }\n"
                       "control:    { socket: /tmp/x.sock }\n"
                       "diagnosis:  { backend: rules, hold_down: 10s }\n")
        r = run("-n", "-c", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stderr)
        r = run("-nv", "-c", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("hold_down: 10s", r.stdout)
        self.assertIn("/tmp/x.sock", r.stdout)

    def test_broken_kubeconfig(self):
        kc = self.write("kubeconfig", "apiVersion: v1\nclusters: []\n")
        p = self.write("c.yaml", "kubernetes: { kubeconfig: %s }\nstore: { path: %s }\n"
                       "control: { socket: %s }\n"
                       % (kc, os.path.join(self.tmp.name, "s.db"), os.path.join(self.tmp.name, "s.sock")))
        r = run("-c", p)
        self.assertEqual(r.returncode, 1)
        self.assertIn(kc, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "s.sock")))


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The files that make remedyd a system service, checked with systemd's own
tools, and what `cmake --install` puts where.

- `systemd-analyze verify` on systemd/remedyd.service: the unit names the
  installed path /usr/local/sbin/remedyd, which must exist for verify, so
  the test verifies a copy whose paths point at the build's remedyd (the
  only change), with MANPATH holding our man pages so the Documentation=
  lines resolve too.  Any output is a failure.
- systemd-sysusers and systemd-tmpfiles apply our sysusers.d and tmpfiles.d
  files to a temporary root.
- docs/remedyd.example.yaml, uncommented, is a valid configuration equal to
  the defaults, and lists every key remedyd knows.
- `cmake --install` into a DESTDIR: binaries, unit (ExecStart rewritten for
  the prefix), sysusers.d, tmpfiles.d, man pages, example, completion.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYD, SRCDIR  # noqa: E402

UNIT = os.path.join(SRCDIR, "systemd", "remedyd.service")
INSTALLED = "/usr/local/sbin/remedyd"


def need(tool):
    path = shutil.which(tool)
    if path is None:
        raise AssertionError("%s is missing: install the Debian package systemd "
                             "(scripts/common.sh lists it)" % tool)
    return path


def uncomment_example(text):
    """The directive lines of the example, uncommented."""
    out = []
    for line in text.split("\n"):
        if re.match(r"^#[^ #]", line) or re.match(r"^#  (?!#)\S", line) or line.startswith("#    "):
            out.append(line[1:])
    return "\n".join(out) + "\n"


def dump_keys(dump):
    """section.key of a canonical dump (sections at column 0, keys at 2)."""
    keys, section = set(), None
    for line in dump.split("\n"):
        if re.match(r"^\S", line):
            section = line.split(":")[0]
        elif re.match(r"^  [^ -]", line):
            keys.add("%s.%s" % (section, line.strip().split(":")[0]))
    return keys


class ServiceFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="remedy-svcfiles-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_unit_verifies(self):
        need("systemd-analyze")
        with open(UNIT) as f:
            unit = f.read()
        self.assertIn("Type=notify", unit)
        self.assertIn("WatchdogSec=", unit)
        n = unit.count(INSTALLED)
        self.assertGreaterEqual(n, 2, "ExecStart and ExecStartPre name %s" % INSTALLED)
        copy = unit.replace(INSTALLED, os.path.abspath(REMEDYD))
        self.assertNotIn(INSTALLED, copy)
        path = os.path.join(self.tmp, "remedyd.service")
        with open(path, "w") as f:
            f.write(copy)
        man = os.path.join(self.tmp, "man")
        for sec, name in (("8", "remedyd.8"), ("8", "remedyctl.8"), ("5", "remedyd.yaml.5")):
            os.makedirs(os.path.join(man, "man" + sec), exist_ok=True)
            shutil.copy(os.path.join(SRCDIR, "docs", name), os.path.join(man, "man" + sec))
        env = dict(os.environ, MANPATH=man, SYSTEMD_LOG_LEVEL="notice")
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True,
                           text=True, env=env, timeout=120)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

        # A unit with a real mistake must fail the same check.
        bad = os.path.join(self.tmp, "bad.service")
        with open(bad, "w") as f:
            f.write(copy.replace("Type=notify", "Type=notfy"))
        r = subprocess.run(["systemd-analyze", "verify", bad], capture_output=True,
                           text=True, env=env, timeout=120)
        self.assertIn("notfy", r.stdout + r.stderr)

    def test_sysusers_tmpfiles(self):
        need("systemd-sysusers")
        need("systemd-tmpfiles")
        root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(root, "etc"))
        r = subprocess.run(["systemd-sysusers", "--root", root,
                            os.path.join(SRCDIR, "systemd", "remedyd.sysusers")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(root, "etc", "passwd")) as f:
            users = {l.split(":")[0]: l.strip().split(":") for l in f if l.strip()}
        self.assertIn("remedyd", users)
        self.assertEqual(users["remedyd"][5:7], ["/var/lib/remedyd", "/usr/sbin/nologin"])
        with open(os.path.join(root, "etc", "group")) as f:
            groups = {l.split(":")[0]: int(l.split(":")[2]) for l in f if l.strip()}
        self.assertIn("remedyd", groups)

        r = subprocess.run(["systemd-tmpfiles", "--root", root, "--create",
                            os.path.join(SRCDIR, "systemd", "remedyd.tmpfiles")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.stat(os.path.join(root, "etc", "remedyd"))
        self.assertEqual(oct(st.st_mode & 0o7777), oct(0o750))
        self.assertEqual(st.st_gid, groups["remedyd"])

    def test_example_config(self):
        with open(os.path.join(SRCDIR, "docs", "remedyd.example.yaml")) as f:
            example = f.read()
        path = os.path.join(self.tmp, "example.yaml")
        with open(path, "w") as f:
            f.write(uncomment_example(example))
        empty = os.path.join(self.tmp, "empty.yaml")
        open(empty, "w").close()
        r = subprocess.run([REMEDYD, "-nv", "-c", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        d = subprocess.run([REMEDYD, "-nv", "-c", empty], capture_output=True, text=True)
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertEqual(r.stdout, d.stdout, "the example's values are the defaults")
        # Every key remedyd knows is in the example (as a directive, or as
        # "#  # key:" where no literal default can be written).
        listed = set()
        section = None
        for line in example.split("\n"):
            m = re.match(r"^#([a-z_]+):", line)
            if m:
                section = m.group(1)
            m = re.match(r"^#  (?:# )?([a-z_]+):", line)
            if m and section:
                listed.add("%s.%s" % (section, m.group(1)))
        missing = dump_keys(d.stdout) - listed
        self.assertEqual(missing, set(), "keys missing from docs/remedyd.example.yaml")

    def test_install(self):
        build = os.path.dirname(os.path.dirname(os.path.abspath(REMEDYD)))
        if not os.path.exists(os.path.join(build, "cmake_install.cmake")):
            self.skipTest("REMEDYD is not in a CMake build tree")
        dest = os.path.join(self.tmp, "dest")
        r = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"],
                           env=dict(os.environ, DESTDIR=dest), capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for p in ("usr/sbin/remedyd", "usr/bin/remedyctl",
                  "usr/share/man/man8/remedyd.8", "usr/share/man/man8/remedyctl.8",
                  "usr/share/man/man5/remedyd.yaml.5",
                  "usr/lib/sysusers.d/remedyd.conf", "usr/lib/tmpfiles.d/remedyd.conf",
                  "usr/share/doc/remedy/remedyd.example.yaml",
                  "usr/share/bash-completion/completions/remedyctl",
                  "usr/share/zsh/site-functions/_remedyctl"):
            self.assertTrue(os.path.isfile(os.path.join(dest, p)), p)
        with open(os.path.join(dest, "usr/lib/systemd/system/remedyd.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/sbin/remedyd -c /etc/remedyd/remedyd.yaml\n", unit)
        directives = [l for l in unit.split("\n") if not l.startswith("#")]
        self.assertEqual([l for l in directives if "/usr/local" in l], [])
        r = subprocess.run(["bash", "-n", os.path.join(dest, "usr/share/bash-completion/completions/remedyctl")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        if shutil.which("zsh"):
            r = subprocess.run(["zsh", "-n", os.path.join(dest, "usr/share/zsh/site-functions/_remedyctl")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

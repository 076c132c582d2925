"""The conventions people type, for remedyctl and remedyd:

- golden --help of both programs and of every remedyctl command, and
  --version / version (the build's git commit: the checkout's own when built
  from one);
- a walk of every remedyctl command's usage: each option it lists works
  before and after the command, short and long, "--opt value" and
  "--opt=value", and sends the same request (a scripted daemon records them);
- every option the --help texts list is in the man page, and every option
  the man page's SYNOPSIS/option lists give is accepted;
- remedyd's options work in any order and with their long names.

REMEDY_GOLDEN_UPDATE=1 rewrites tests/golden/help/ instead of comparing.
"""
import difflib
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import REMEDYCTL, REMEDYD, SRCDIR  # noqa: E402
from test_ctl_usage import ACTION, FakeDaemon  # noqa: E402

GOLDEN = os.path.join(SRCDIR, "tests", "golden", "help")
UPDATE = os.environ.get("REMEDY_GOLDEN_UPDATE") == "1"
COMMIT = re.compile(r"\(commit ([0-9a-f]{12}(-dirty)?|unknown)\)")

# a value each metavar accepts
VALUES = {"ID": "1", "N": "5", "STATE": "pending", "NS": "demo", "TEXT": "a note",
          "TIME": "2026-11-27T03:00:00Z", "USER": "alice", "EVENT": "approved"}
# positionals that make each command complete
POSITIONALS = {"show": ["1"], "approve": ["1"], "reject": ["1"], "rollback": ["1"],
               "help": ["list"]}
REQUIRED = {"reject": ["--reason", "why"]}


def run(args, env=None):
    e = dict(os.environ, NO_COLOR="1")
    e.pop("REMEDY_SOCKET", None)
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=e)


def commands():
    out = run([REMEDYCTL, "help"]).stdout
    block = out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def command_options(cmd):
    """[(short or None, long, metavar or None)] from "remedyctl CMD --help"."""
    text = run([REMEDYCTL, cmd, "--help"]).stdout
    opts = []
    if "\noptions:\n" not in text:
        return opts
    block = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    for line in block.splitlines():
        m = re.match(r"\s+(?:-(\w), )?--([\w-]+)(?: ([A-Z]+))?\s", line)
        if m:
            opts.append((m.group(1), m.group(2), m.group(3)))
    return opts


def man_text(name):
    with open(os.path.join(SRCDIR, "docs", name)) as f:
        return f.read()


class Golden(unittest.TestCase):
    def compare(self, name, got):
        path = os.path.join(GOLDEN, name)
        if UPDATE:
            os.makedirs(GOLDEN, exist_ok=True)
            with open(path, "w") as f:
                f.write(got)
            return
        with open(path) as f:
            want = f.read()
        self.assertEqual(got, want, "%s:\n%s" % (path, "".join(difflib.unified_diff(
            want.splitlines(True), got.splitlines(True), "golden", "got"))))

    def test_help(self):
        for args, name in (([REMEDYCTL, "--help"], "remedyctl.txt"),
                           ([REMEDYD, "--help"], "remedyd.txt")):
            r = run(args)
            self.assertEqual((r.returncode, r.stderr), (0, ""), args)
            self.compare(name, r.stdout)
        # -h, --help and "help" say the same
        want = run([REMEDYCTL, "--help"]).stdout
        for args in (["-h"], ["help"]):
            self.assertEqual(run([REMEDYCTL] + args).stdout, want, args)
        self.assertEqual(run([REMEDYD, "-h"]).stdout, run([REMEDYD, "--help"]).stdout)
        cmds = commands()
        self.assertEqual(set(cmds) >= {"status", "list", "show", "approve", "reject",
                                       "rollback", "incidents", "audit", "watch",
                                       "version", "help"}, True, cmds)
        for cmd in cmds:
            r = run([REMEDYCTL, cmd, "--help"])
            self.assertEqual((r.returncode, r.stderr), (0, ""), cmd)
            self.compare("remedyctl-%s.txt" % cmd, r.stdout)
            # the same text from -h, "help CMD", and with the global options around it
            self.assertEqual(run([REMEDYCTL, cmd, "-h"]).stdout, r.stdout, cmd)
            self.assertEqual(run([REMEDYCTL, "help", cmd]).stdout, r.stdout, cmd)
            self.assertEqual(run([REMEDYCTL, "-o", "json", cmd, "--help"]).stdout, r.stdout, cmd)

    def test_version(self):
        r = run([REMEDYCTL, "--version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.compare("remedyctl.version", COMMIT.sub("(commit <COMMIT>)", r.stdout))
        for args in (["version"], ["-s", "/nonexistent", "version"], ["list", "--version"]):
            self.assertEqual(run([REMEDYCTL] + args).stdout, r.stdout, args)
        j = run([REMEDYCTL, "version", "-o", "json"])
        import json
        doc = json.loads(j.stdout)
        self.assertEqual(sorted(doc), ["commit", "program", "version"])
        self.assertIn("(commit %s)" % doc["commit"], r.stdout)
        d = run([REMEDYD, "--version"])
        self.assertEqual(d.returncode, 0, d.stderr)
        self.compare("remedyd.version", COMMIT.sub("(commit <COMMIT>)", d.stdout))
        self.assertEqual(run([REMEDYD, "version"]).stdout, d.stdout)
        self.assertEqual(d.stdout.replace("remedyd", "remedyctl"), r.stdout)
        # built from a git checkout: the commit is one of that checkout's
        # (HEAD when the build ran; the tree may have moved on since)
        g = subprocess.run(["git", "-C", SRCDIR, "rev-parse", "--git-dir"],
                           capture_output=True, text=True)
        if g.returncode == 0:
            self.assertRegex(doc["commit"], r"^[0-9a-f]{12}(-dirty)?$")
            c = subprocess.run(["git", "-C", SRCDIR, "cat-file", "-e",
                                doc["commit"].split("-")[0] + "^{commit}"])
            self.assertEqual(c.returncode, 0, "%s is not a commit of %s" % (doc["commit"], SRCDIR))


class Walk(unittest.TestCase):
    """Every option of every command, before and after the command."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.sock = os.path.join(self.tmp.name, "remedyd.sock")
        rows = [{"seq": 1, "time": "2026-11-27T03:00:00Z", "time_ms": 1795748400000,
                 "action_id": 1, "event": "approved", "actor": "alice", "actor_uid": 1000,
                 "detail": {"comment": "ok"}, "prev_hash": "0" * 64, "hash": "a" * 64}]
        self.daemon = FakeDaemon(self.sock, {
            "status": {"version": "0.1.0", "pid": 1, "uptime_s": 1, "synced": True,
                       "incidents_open": 0, "actions": {}},
            "list": {"actions": [{k: ACTION[k] for k in ("id", "incident_id", "state", "created",
                                                          "namespace", "kind", "name", "summary",
                                                          "backend", "risk")}], "total": 1},
            "show": {"action": ACTION},
            "approve": {"action": dict(ACTION, state="approved")},
            "reject": {"action": dict(ACTION, state="rejected")},
            "rollback": {"action": dict(ACTION, id=2), "rollback_of": 1},
            "incidents": {"incidents": [{"id": 1, "namespace": "demo", "state": "open"}]},
            "incident": {"incident": {"id": 1, "actions": [1]}},
            "audit": {"rows": rows},
            "audit-verify": {"ok": True, "rows": 1},
        })

    def tearDown(self):
        self.daemon.stop()
        self.tmp.cleanup()

    def exchange(self, args):
        """stdout, exit status and the requests (ids dropped) of one run."""
        self.daemon.requests.clear()
        r = run([REMEDYCTL] + args)
        reqs = [{k: v for k, v in q.items() if k != "id"} for q in self.daemon.requests]
        return r.returncode, r.stdout, r.stderr, reqs

    def test_every_option_in_both_positions(self):
        walked = 0
        for cmd in commands():
            if cmd == "watch":
                continue            # streams until interrupted: covered by test_ctl_usage
            if cmd == "mcp":
                continue            # serves stdin until its end: covered by test_mcp
            pos = POSITIONALS.get(cmd, [])
            base = pos + REQUIRED.get(cmd, [])
            variants = [[]]
            for short, long, meta in command_options(cmd):
                if cmd == "reject" and long == "reason":
                    continue
                if long == "all":
                    variants.append(["--all"])
                    variants.append(["-a"])
                    continue
                val = VALUES.get(meta, "x")
                if cmd == "incidents" and long == "state":
                    val = "open"
                variants.append(["--" + long, val])
                variants.append(["--%s=%s" % (long, val)])
                if short:
                    variants.append(["-" + short, val])
            if cmd == "audit":
                variants += [["show", "1"], ["verify"]]
            if cmd == "incidents":
                variants.append(["show", "1"])
            for extra in variants:
                for fmt in ("table", "json", "yaml"):
                    first = ["-s", self.sock, "-o", fmt, cmd] + base + extra
                    after = [cmd] + base + extra + ["-o", fmt, "-s", self.sock]
                    mixed = [cmd, "--output=" + fmt] + base + extra + ["--socket", self.sock]
                    want = self.exchange(first)
                    self.assertEqual(want[0], 0, (first, want[2]))
                    if cmd not in ("help", "version"):
                        self.assertNotEqual(want[3], [], first)
                    for args in (after, mixed):
                        self.assertEqual(self.exchange(args), want, args)
                    walked += 1
        self.assertGreater(walked, 60)

    def test_errors_name_what_and_where(self):
        for args, want in (
                (["list", "-o"], "option -o needs a value"),
                (["list", "--output=xml"], "unknown output format \"xml\""),
                (["--bogus", "list"], "unknown option --bogus before the command"),
                (["list", "--bogus"], "list: unknown option --bogus"),
                (["audit", "--since", "yesterday"], "audit: --since must be RFC 3339"),
                (["audit", "--until", "5x"], "audit: --until must be RFC 3339"),
                (["audit", "show"], "audit show: missing ACTION"),
                (["audit", "show", "x"], "ACTION must be a positive integer"),
                (["audit", "show", "1", "--event", "failed"], "audit show takes no filters"),
                (["audit", "verify", "--actor", "a"], "audit verify takes no options"),
                (["incidents", "show", "1", "-n", "demo"], "incidents show takes no filters"),
                (["-s", "", "list"], "the socket path is empty")):
            r = run([REMEDYCTL, "-s", self.sock] + args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(want, r.stderr, args)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertEqual(r.stdout, "")

    def test_client_side_filters(self):
        # -n on incidents keeps that namespace's incidents only
        self.daemon.replies["incidents"] = {"incidents": [
            {"id": 1, "namespace": "demo", "state": "open"},
            {"id": 2, "namespace": "prod", "state": "open"}]}
        rc, out, err, reqs = self.exchange(["-s", self.sock, "-o", "json", "incidents", "-n", "prod"])
        self.assertEqual(rc, 0, err)
        import json
        self.assertEqual([i["id"] for i in json.loads(out)["incidents"]], [2])
        # the daemon filters too, and every incident comes, 100 a page
        self.assertEqual(reqs[0]["args"], {"namespace": "prod", "limit": 100})
        # audit: --since as an age becomes unix ms for the daemon; --actor,
        # --event, --until filter here; -n asks "list" for the namespace
        rows = [{"seq": i, "time": "t", "time_ms": 1000 * i, "action_id": a, "event": e,
                 "actor": who, "actor_uid": -1, "detail": {}, "prev_hash": "0" * 64,
                 "hash": "b" * 64}
                for i, (a, e, who) in enumerate([(1, "suggested", "remedyd"), (1, "approved", "alice"),
                                                 (2, "approved", "bob"), (3, "approved", "alice")], 1)]
        self.daemon.replies["audit"] = {"rows": rows}
        self.daemon.replies["list"] = {"actions": [{"id": 1}, {"id": 3}], "total": 2}
        rc, out, err, reqs = self.exchange(["-s", self.sock, "-o", "json", "audit", "--event", "approved",
                                            "--actor", "alice", "-n", "demo", "--since", "2h",
                                            "--until", "3500"])
        self.assertEqual(rc, 0, err)
        self.assertEqual([json.loads(line)["seq"] for line in out.splitlines()], [2])
        self.assertEqual([q["cmd"] for q in reqs], ["list", "audit"])
        self.assertEqual(reqs[0]["args"], {"namespace": "demo"})
        self.assertEqual(sorted(reqs[1]["args"]), ["since"])
        import time
        self.assertAlmostEqual(reqs[1]["args"]["since"], time.time() * 1000 - 7200000, delta=60000)
        # RFC 3339 with an offset or a fraction, and unix ms, reach the daemon as ms
        for since, ms in (("2026-11-27T05:00:00+02:00", 1795748400000),
                          ("2026-11-27T03:00:00.250Z", 1795748400250),
                          ("2026-11-26t22:30:00-04:30", 1795748400000),
                          ("1795748400000", 1795748400000)):
            rc, out, err, reqs = self.exchange(["-s", self.sock, "audit", "--since", since])
            self.assertEqual(rc, 0, err)
            self.assertEqual(reqs[0]["args"], {"since": ms}, since)
        for bad in ("2026-11-27T03:00:00", "2026-11-27T03:00:00+2:00", "2026-13-01T00:00:00Z", "1h5m"):
            rc, out, err, reqs = self.exchange(["-s", self.sock, "audit", "--until", bad])
            self.assertEqual(rc, 2, bad)
            self.assertIn('--until must be RFC 3339 time', err)
            self.assertIn(bad, err)


class ManPages(unittest.TestCase):
    @staticmethod
    def man_options(text):
        """Every option a man page gives: "Fl x", "Fl -long", "Fl x | -long"."""
        opts = set()
        for m in re.finditer(r"\bFl (-?[\w-]+)(?: \| (-[\w-]+))?", text):
            for g in m.groups():
                if g:
                    opts.add("-" + g if g.startswith("-") else "-" + g)
        return opts

    def test_remedyctl_options_documented_and_accepted(self):
        man = man_text("remedyctl.8")
        documented = self.man_options(man)
        listed = {"--socket", "-s", "--output", "-o", "--help", "-h", "--version"}
        for cmd in commands():
            self.assertRegex(man, r"\.It Cm %s\b" % cmd, cmd)
            for short, long, meta in command_options(cmd):
                listed.add("--" + long)
                if short:
                    listed.add("-" + short)
        self.assertEqual(listed - documented, set(), "in --help, not in remedyctl.8")
        # and each one the man page gives is one remedyctl knows
        self.assertEqual(documented - listed - {"-a", "--all"}, set(), "in remedyctl.8, unknown")

    def test_remedyd_options(self):
        man = man_text("remedyd.8")
        helptext = run([REMEDYD, "--help"]).stdout
        listed = set(re.findall(r"(?<![\w-])(--?[\w-]+)", helptext.split("\n", 1)[1]))
        self.assertEqual(listed - self.man_options(man), set(), "in remedyd --help, not in remedyd.8")
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "r.yaml")
            with open(conf, "w") as f:
                f.write("kubernetes: { namespaces: [demo] }\ndiagnosis: { backend: rules }\n")
            want = run([REMEDYD, "-n", "-v", "-c", conf])
            self.assertEqual(want.returncode, 0, want.stderr)
            self.assertIn("configuration OK", want.stderr)
            for args in (["--check", "--verbose", "--config", conf],
                         ["--config=" + conf, "--verbose", "--check"],
                         ["-c", conf, "-nv"], ["-vn", "--config", conf]):
                r = run([REMEDYD] + args)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (want.returncode, want.stdout, want.stderr), args)
        for args, want in ((["--bogus"], "unknown option \"--bogus\""),
                           (["-x"], "unknown option \"-x\""),
                           (["-c"], "needs a value"),
                           (["--config"], "needs a value"),
                           (["frob"], "unexpected argument \"frob\"")):
            r = run([REMEDYD] + args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(want, r.stderr, args)
            self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)

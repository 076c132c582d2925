"""remedyctl on its own: usage errors and exit codes, the message when no
daemon listens, and its requests and output against a scripted daemon (a
Unix socket that answers canned replies), so no cluster is needed."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

REMEDYCTL = os.environ.get("REMEDYCTL", os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "build", "ctl", "remedyctl"))

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is optional
    yaml = None

ACTION = {
    "id": 1, "incident_id": 1, "state": "pending",
    "created": "2026-11-27T03:00:00Z", "updated": "2026-11-27T03:00:05Z",
    "namespace": "demo", "kind": "Deployment", "name": "web",
    "api_path": "/apis/apps/v1/namespaces/demo/deployments/web",
    "summary": "Roll back Deployment demo/web to revision 1 (image nginx:1.25)",
    "backend": "rules", "risk": "low",
    "root_cause": "The image nginx:1.27-typo does not exist.",
    "evidence": ["pod demo/web-1: ImagePullBackOff", "event: Failed to pull"],
    "patch": [
        {"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27-typo"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
    ],
    "changes": [
        {"path": "/spec/template/spec/containers/0/image",
         "before": "nginx:1.27-typo", "after": "nginx:1.25"},
        {"path": "/spec/replicas", "before": 2, "after": 3},
    ],
    "reason": None, "result": {"status": 200}, "approved_by": None, "approved_uid": -1,
}


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("REMEDY_SOCKET", None)
    e["NO_COLOR"] = "1"
    if env:
        e.update(env)
    return subprocess.run([REMEDYCTL] + list(args), capture_output=True,
                          text=True, timeout=60, env=e)


class FakeDaemon:
    """Accepts connections on a Unix socket and answers each request line
    with replies[cmd] (a result dict, an ("error", code, message) tuple or
    raw bytes); every request is recorded."""

    def __init__(self, path, replies):
        self.path = path
        self.replies = replies
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                buf = b""
                while b"\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                if b"\n" not in buf:
                    continue
                req = json.loads(buf.split(b"\n", 1)[0])
                self.requests.append(req)
                rep = self.replies.get(req["cmd"])
                if isinstance(rep, bytes):
                    out = rep
                elif isinstance(rep, tuple):
                    out = json.dumps({"v": 1, "id": req["id"], "ok": False,
                                      "error": {"code": rep[1], "message": rep[2]}}).encode() + b"\n"
                else:
                    out = json.dumps({"v": 1, "id": req["id"], "ok": True,
                                      "result": rep}).encode() + b"\n"
                try:
                    conn.sendall(out)
                except OSError:
                    pass        # the client gave up (oversized reply)

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


class Usage(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.sock = os.path.join(self.tmp.name, "remedyd.sock")

    def tearDown(self):
        self.tmp.cleanup()

    def test_no_daemon(self):
        r = run("-s", self.sock, "status")
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertEqual(lines[0], "remedyctl: cannot connect to %s: No such file or "
                         "directory (is remedyd running?)" % self.sock)

    def test_socket_from_environment(self):
        r = run("list", env={"REMEDY_SOCKET": self.sock})
        self.assertEqual(r.returncode, 3)
        self.assertIn(self.sock, r.stderr)

    def test_refused_connection(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)      # bound, never listening: a stale socket
        try:
            r = run("-s", self.sock, "status")
        finally:
            s.close()
        self.assertEqual(r.returncode, 3)
        self.assertEqual(len(r.stderr.splitlines()), 1)
        self.assertIn("Connection refused", r.stderr)

    def test_usage_errors(self):
        cases = [
            (["frobnicate"], "unknown command \"frobnicate\""),
            (["a"], "ambiguous command \"a\": approve, audit"),
            (["show"], "missing ID"),
            (["approve"], "missing ID"),
            (["show", "abc"], "must be a positive integer"),
            (["show", "0"], "must be a positive integer"),
            (["show", "1", "2"], "unexpected argument"),
            (["reject", "1"], "--reason TEXT is required"),
            (["list", "--bogus"], "unknown option --bogus"),
            (["list", "--state"], "needs a value"),
            (["audit", "--action", "x"], "must be a positive integer"),
            (["audit", "frob"], "audit verify"),
            (["-o", "xml", "status"], "unknown output format"),
            ([], "usage:"),
        ]
        for args, want in cases:
            r = run("-s", self.sock, *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(want, r.stderr, args)
            self.assertEqual(r.stdout, "", args)

    def test_help(self):
        for cmd in ("status", "list", "show", "approve", "reject", "incidents", "audit", "help"):
            r = run(cmd, "--help")
            self.assertEqual(r.returncode, 0, (cmd, r.stderr))
            self.assertTrue(r.stdout.startswith("usage: remedyctl %s" % cmd), r.stdout)
        r = run("reject", "-h")
        self.assertIn("--reason TEXT", r.stdout)
        r = run("list", "--help")
        self.assertIn("-n, --namespace NS", r.stdout)
        for args in (["help"], ["-h"]):
            r = run(*args)
            self.assertEqual(r.returncode, 0)
            for cmd in ("status", "list", "show", "approve", "reject", "incidents", "audit"):
                self.assertIn("  " + cmd, r.stdout)
        r = run("help", "appr")
        self.assertTrue(r.stdout.startswith("usage: remedyctl approve ID"), r.stdout)


class AgainstScriptedDaemon(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.sock = os.path.join(self.tmp.name, "remedyd.sock")
        self.replies = {
            "status": {"version": "0.1.0", "pid": 42, "uptime_s": 3725, "synced": True,
                       "incidents_open": 1, "actions": {"pending": 1, "applied": 0}},
            "list": {"actions": [{k: ACTION[k] for k in (
                "id", "incident_id", "state", "created", "namespace", "kind", "name",
                "summary", "backend", "risk")}]},
            "show": {"action": ACTION},
            "approve": {"action": dict(ACTION, state="approved")},
            "reject": ("error", "bad_state", "action 1 is applied, not pending"),
            "incidents": {"incidents": []},
            "audit": {"rows": [{"seq": 1, "time": "2026-11-27T03:00:00Z", "time_ms": 1,
                                "action_id": 1, "event": "approved", "actor": "alice",
                                "actor_uid": 1000, "detail": {"comment": "ok"},
                                "prev_hash": "0" * 64, "hash": "a" * 64}]},
            "audit-verify": {"ok": False, "rows": 3, "bad_seq": 3,
                             "why": "row 3: hash mismatch (edited?)"},
        }
        self.daemon = FakeDaemon(self.sock, self.replies)

    def tearDown(self):
        self.daemon.stop()
        self.tmp.cleanup()

    def ctl(self, *args):
        return run("-s", self.sock, *args)

    def test_requests(self):
        r = self.ctl("appr", "1", "--comment", "looks right")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "action 1 approved; remedyd applies it now\n")
        r = self.ctl("list", "--state", "pending", "-n", "demo")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("audit", "--action", "7", "--since=2026-11-27T00:00:00Z")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("list", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("list", "--limit", "5")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("list", "--all", "--limit", "5")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--all and --limit exclude each other", r.stderr)
        reqs = self.daemon.requests
        self.assertEqual(reqs[0], {"v": 1, "id": 1, "cmd": "approve",
                                   "args": {"id": 1, "comment": "looks right"}})
        # list asks for the newest 100 unless --limit or --all
        self.assertEqual(reqs[1]["args"], {"state": "pending", "namespace": "demo", "limit": 100})
        # --since reaches the daemon as unix ms (remedyctl also takes ages: 1h)
        self.assertEqual(reqs[2]["args"], {"action": 7, "since": 1795737600000})
        # --all fetches every page, 500 actions a request
        self.assertEqual(reqs[3]["args"], {"limit": 500})
        self.assertEqual(reqs[4]["args"], {"limit": 5})
        self.assertEqual(len(reqs), 5)

    def test_list_footer(self):
        self.replies["list"] = dict(self.replies["list"], total=250)
        r = self.ctl("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[-1],
                         "(the newest 1 of 250; --all or --limit N shows more)")

    def test_tables(self):
        r = self.ctl("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        head, row = r.stdout.splitlines()
        self.assertEqual(head.split(), ["ID", "STATE", "AGE", "NAMESPACE", "TARGET", "SUMMARY"])
        self.assertTrue(row.startswith("1   pending  "), row)
        self.assertIn(" demo       Deployment/web  Roll back", row)
        r = self.ctl("incidents")
        self.assertEqual(r.stdout, "No incidents.\n")
        r = self.ctl("status")
        self.assertIn("pid 42, up 1h2m", r.stdout)
        self.assertIn("Actions:    pending 1\n", r.stdout)
        r = self.ctl("audit")
        head, row = r.stdout.splitlines()
        self.assertEqual(head.split(), ["SEQ", "TIME", "ACTION", "EVENT", "ACTOR", "SUMMARY"])
        self.assertEqual(row.split(), ["1", "2026-11-27T03:00:00Z", "1", "approved",
                                       "alice(1000)", "approved:", '"ok"'])

    def test_show(self):
        r = self.ctl("show", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertTrue(out.startswith("Action 1 (pending)\n"), out)
        self.assertNotIn("\033[", out, "no colour when stdout is not a terminal")
        diff = ("--- before\n+++ after\n"
                "@@ /spec/template/spec/containers/0/image @@\n"
                "- nginx:1.27-typo\n+ nginx:1.25\n"
                "@@ /spec/replicas @@\n- 2\n+ 3\n")
        self.assertIn("Changes:\n" + diff, out)
        self.assertIn("Root cause:\n  The image nginx:1.27-typo does not exist.\n", out)
        self.assertIn("Evidence:\n  - pod demo/web-1: ImagePullBackOff\n", out)
        patch = out.split("Patch:\n", 1)[1].split("\n\n", 1)[0]
        self.assertEqual(json.loads(patch.split("\nResult:")[0]), ACTION["patch"])
        self.assertTrue(out.endswith("Approve with: remedyctl approve 1\n"
                                     "Reject with:  remedyctl reject 1 --reason TEXT\n"), out)

    def run_on_tty(self, env):
        """Run "show 1" with stdout on a pseudo-terminal; return its output."""
        import pty
        master, slave = pty.openpty()
        e = dict(os.environ)
        e.pop("NO_COLOR", None)
        e.update(env)
        p = subprocess.Popen([REMEDYCTL, "-s", self.sock, "show", "1"], stdout=slave,
                             stderr=subprocess.PIPE, env=e)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:     # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        self.assertEqual(p.wait(30), 0, p.stderr.read())
        p.stderr.close()
        return out.decode()

    def test_colour_only_on_terminal(self):
        out = self.run_on_tty({})
        self.assertIn("\033[31m- nginx:1.27-typo\033[0m", out)
        self.assertIn("\033[32m+ nginx:1.25\033[0m", out)
        out = self.run_on_tty({"NO_COLOR": "1"})
        self.assertNotIn("\033[", out)
        self.assertIn("- nginx:1.27-typo", out)

    def test_machine_formats(self):
        r = self.ctl("-o", "json", "show", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"action": ACTION})
        self.assertIn('\n  "action": {\n    "api_path"', r.stdout, "indent 2, sorted keys")
        if yaml is None:
            self.skipTest("PyYAML not installed")
        for cmd in ("show", "status", "audit"):
            args = [cmd, "1"] if cmd == "show" else [cmd]
            r = self.ctl("-o", "yaml", *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            want = self.replies["show" if cmd == "show" else cmd]
            self.assertEqual(yaml.safe_load(r.stdout), want, r.stdout)

    def test_yaml_quotes_ambiguous_strings(self):
        if yaml is None:
            self.skipTest("PyYAML not installed")
        tricky = {"a": "true", "b": "123", "c": "", "d": "null", "e": "2026-11-27",
                  "f": "multi\nline\n", "g": "0x1f", "h": "- dash", "i": "a: b", "j": 1.5}
        self.replies["status"] = tricky
        r = self.ctl("-o", "yaml", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(yaml.safe_load(r.stdout), tricky, r.stdout)

    def test_errors(self):
        r = self.ctl("reject", "1", "--reason", "no")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "remedyctl: action 1 is applied, not pending\n")
        self.assertEqual(r.stdout, "")
        self.replies["show"] = ("error", "permission_denied", "uid 1000 may not do this")
        r = self.ctl("show", "1")
        self.assertEqual(r.returncode, 4)
        self.replies["show"] = ("error", "some_future_code", "")
        r = self.ctl("show", "1")
        self.assertEqual(r.returncode, 1)
        self.replies["show"] = b"this is not json\n"
        r = self.ctl("show", "1")
        self.assertEqual(r.returncode, 3)
        self.assertIn("garbled reply", r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1)
        self.replies["show"] = b'{"v":2,"id":1,"ok":true,"result":{}}\n'
        r = self.ctl("show", "1")
        self.assertEqual(r.returncode, 3)
        self.assertIn("protocol version", r.stderr)
        self.replies["show"] = b'{"v":1,"id":1,"ok":true,"result":{}'
        r = self.ctl("show", "1")
        self.assertEqual(r.returncode, 3, "closed without a newline")
        self.assertIn("without a complete reply", r.stderr)

    def test_oversized_reply(self):
        self.replies["list"] = b'{"v":1,"id":1,"ok":true,"result":{"x":"' + \
            b"x" * (16 * 1024 * 1024) + b'"}}\n'
        r = self.ctl("list")
        self.assertEqual(r.returncode, 3)
        self.assertIn("larger than 16777216 bytes", r.stderr)

    def test_audit_verify(self):
        r = self.ctl("audit", "verify")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "audit log BROKEN at row 3: hash mismatch (edited?)\n")
        self.replies["audit-verify"] = {"ok": True, "rows": 5}
        r = self.ctl("audit", "verify")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "audit log intact: 5 rows\n")
        self.assertEqual(self.daemon.requests[-1]["cmd"], "audit-verify")


if __name__ == "__main__":
    unittest.main(verbosity=2)

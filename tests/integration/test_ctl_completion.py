"""Bash completion (ctl/remedyctl.bash) in a real bash, with action ids
from a scripted daemon's `list` reply, with or without the bash-completion
package."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(SRC, "ctl", "remedyctl.bash")
REMEDYCTL = os.environ.get("REMEDYCTL", os.path.join(SRC, "build", "ctl", "remedyctl"))


def serve(path, ready):
    """Answer every request with a list of actions 7 (pending) and 3 (verified)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    ready.set()
    while True:
        try:
            c, _ = srv.accept()
        except OSError:
            return
        with c:
            buf = b""
            while not buf.endswith(b"\n"):
                data = c.recv(65536)
                if not data:
                    break
                buf += data
            if not buf:
                continue
            req = json.loads(buf)
            acts = [{"id": 7, "state": "pending"}, {"id": 3, "state": "verified"}]
            st = req.get("args", {}).get("state")
            acts = [a for a in acts if st is None or a["state"] == st]
            c.sendall(json.dumps({"v": 1, "id": req["id"], "ok": True,
                                  "result": {"actions": acts, "total": len(acts)}}).encode() + b"\n")


class Completion(unittest.TestCase):
    @unittest.skipUnless(shutil.which("bash"), "needs bash")
    def test_complete(self):
        tmp = tempfile.mkdtemp()
        sock = os.path.join(tmp, "s.sock")
        ready = threading.Event()
        threading.Thread(target=serve, args=(sock, ready), daemon=True).start()
        ready.wait(10)
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(REMEDYCTL), os.path.join(bindir, "remedyctl"))

        def complete(line):
            words = line.split(" ")
            script = ('source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_remedyctl\n'
                      'printf "%%s\\n" "${COMPREPLY[@]}"\n'
                      % (SCRIPT, " ".join("'%s'" % w for w in words), len(words) - 1))
            env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
            r = subprocess.run(["bash", "--norc", "-c", script], capture_output=True,
                               text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return sorted(x for x in r.stdout.split("\n") if x)

        self.assertEqual(complete("remedyctl ap"), ["approve"])
        self.assertIn("watch", complete("remedyctl "))
        self.assertIn("rollback", complete("remedyctl "))
        self.assertEqual(complete("remedyctl -o "), ["json", "table", "yaml"])
        self.assertEqual(complete("remedyctl list --state pe"), ["pending"])
        self.assertEqual(complete("remedyctl -s %s approve " % sock), ["--comment", "--help", "7"])
        self.assertEqual(complete("remedyctl -s %s show " % sock), ["--help", "3", "7"])
        self.assertEqual(complete("remedyctl audit v"), ["verify"])
        # global options after the command, long names, the new words
        self.assertEqual(complete("remedyctl list -o "), ["json", "table", "yaml"])
        self.assertEqual(complete("remedyctl list --output "), ["json", "table", "yaml"])
        self.assertEqual(complete("remedyctl approve -s %s " % sock), ["--comment", "--help", "7"])
        self.assertEqual(complete("remedyctl approve --socket %s " % sock), ["--comment", "--help", "7"])
        self.assertEqual(complete("remedyctl -s %s audit show " % sock), ["3", "7"])
        self.assertEqual(complete("remedyctl --ver"), ["--version"])
        self.assertIn("version", complete("remedyctl "))
        self.assertEqual(complete("remedyctl audit --event verif"), ["verified"])
        self.assertIn("--until", complete("remedyctl audit --"))
        self.assertIn("--output", complete("remedyctl audit --"))
        shutil.rmtree(tmp, ignore_errors=True)

    def test_zsh_covers_the_grammar(self):
        """The zsh completion parses and names every command and every
        long option that remedyctl's own help lists."""
        path = os.path.join(SRC, "ctl", "_remedyctl")
        with open(path) as f:
            text = f.read()
        if shutil.which("zsh"):
            r = subprocess.run(["zsh", "-n", path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([REMEDYCTL, "help"], capture_output=True, text=True, timeout=30)
        cmds = [l.split()[0] for l in r.stdout.split("commands:\n")[1].split("\n\n")[0].splitlines()]
        self.assertIn("audit", cmds)
        for c in cmds:
            self.assertIn("'%s:" % c, text, c)
            h = subprocess.run([REMEDYCTL, c, "--help"], capture_output=True, text=True, timeout=30)
            for opt in set(re.findall(r"--[a-z-]+", h.stdout.split("global options")[0])) - {"--help"}:
                self.assertIn(opt, text, (c, opt))
                with open(SCRIPT) as f:
                    self.assertIn(opt, f.read(), (c, opt))

    @unittest.skipUnless(shutil.which("zsh"), "needs zsh")
    def test_zsh_finds_the_command(self):
        """zsh: the command is found past global options on either side,
        and action ids come from the daemon (completion system stubbed:
        _arguments/_describe/compadd print what they are given)."""
        tmp = tempfile.mkdtemp()
        sock = os.path.join(tmp, "s.sock")
        ready = threading.Event()
        threading.Thread(target=serve, args=(sock, ready), daemon=True).start()
        ready.wait(10)
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(REMEDYCTL), os.path.join(bindir, "remedyctl"))
        zfile = os.path.join(SRC, "ctl", "_remedyctl")

        def complete(line):
            words = line.split(" ")
            script = ("_arguments() { print -r -- ARGS $argv; return 1 }\n"
                      "_describe() { print -r -- DESCRIBE ${(P)argv[-1]} }\n"
                      "compadd() { [[ $1 == -a ]] && print -r -- IDS ${(P)2} }\n"
                      "words=(%s)\nCURRENT=%d\nsource %s\ntrue\n"
                      % (" ".join("'%s'" % w for w in words), len(words), zfile))
            env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
            r = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True,
                               env=env, timeout=60)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            return r.stdout

        out = complete("remedyctl -o json ")
        self.assertIn("DESCRIBE", out)
        self.assertIn("audit:", out)
        self.assertIn("version:", out)
        self.assertIn("--output=", complete("remedyctl list "))
        out = complete("remedyctl -s %s audit show " % sock)
        self.assertEqual(out.split(), ["IDS", "7", "3"])
        out = complete("remedyctl audit show -s %s " % sock)
        self.assertIn("--until=", out)         # "show" was not the word before
        out = complete("remedyctl --socket=%s audit show " % sock)
        self.assertEqual(out.split(), ["IDS", "7", "3"])
        self.assertIn("--reason=", complete("remedyctl -o yaml reject "))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)

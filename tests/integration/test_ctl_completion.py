"""Bash completion (ctl/remedyctl.bash) in a real bash, with action ids
from a scripted daemon's `list` reply, with or without the bash-completion
package."""
import json
import os
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
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)

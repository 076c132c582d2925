"""Real control traffic, checked against the JSON Schemas in proto/.

A recording relay sits between the real remedyctl and the real remedyd: every
line in both directions is kept, and each request, reply, result and watch
event is validated against proto/request.schema.json, reply.schema.json,
results.schema.json#/definitions/<cmd> and event.schema.json.  Requests a
well-behaved client would never send (bad JSON, another version, an unknown
command) are sent raw; their error replies must match the schema too.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYCTL, SRCDIR, Env, wait_action, wait_for, wait_state  # noqa: E402
from jsonschema_lite import Schemas, self_test  # noqa: E402

PROTO = os.path.join(SRCDIR, "proto")


class Relay:
    """Unix socket relay recording every line: conns[i] = {"up": [...], "down": [...]}."""

    def __init__(self, path, target):
        self.path, self.target = path, target
        self.conns = []
        self.lock = threading.Lock()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(64)
        self.closed = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            d = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            d.connect(self.target)
            rec = {"up": [], "down": []}
            with self.lock:
                self.conns.append(rec)
            done = []
            threading.Thread(target=self.pump, args=(c, d, rec["up"], done), daemon=True).start()
            threading.Thread(target=self.pump, args=(d, c, rec["down"], done), daemon=True).start()

    def pump(self, src, dst, lines, done):
        self.pump_lines(src, dst, lines)
        with self.lock:
            done.append(1)
            if len(done) == 2:
                src.close()
                dst.close()

    def pump_lines(self, src, dst, lines):
        buf = b""
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = line          # the raw garbage sent below
                with self.lock:
                    lines.append(msg)
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self):
        self.srv.close()


def raw(path, payload):
    """Send bytes on a fresh connection; the first reply line, parsed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    s.sendall(payload)
    buf = b""
    while b"\n" not in buf:
        data = s.recv(65536)
        if not data:
            break
        buf += data
    s.close()
    return json.loads(buf.split(b"\n", 1)[0])


class Protocol(unittest.TestCase):
    def setUp(self):
        self.env = None
        self.ok = False
        self.schemas = Schemas(PROTO)

    def tearDown(self):
        if self.env:
            self.assertEqual(self.env.close(self.ok), 0)

    def check(self, value, name, frag=""):
        errs = self.schemas.validate(value, name, frag)
        self.assertEqual(errs, [], "%s%s: %s" % (name, frag, json.dumps(value)[:2000]))

    def test_traffic_matches_schemas(self):
        self.assertTrue(self_test())
        self.env = Env(scenario="broken-rollout", replicas=3, hold_down="1s")
        d = self.env.daemon
        tap = os.path.join(d.dir, "tap.sock")
        relay = Relay(tap, d.socket)
        aid = wait_action(d, "pending")[0]["id"]

        def ctl(*args, output="json"):
            cmd = [REMEDYCTL, "-s", tap] + (["-o", output] if output else []) + list(args)
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

        watch = subprocess.Popen([REMEDYCTL, "-s", tap, "-o", "json", "watch"],
                                 stdout=subprocess.PIPE, text=True)
        # the watch request is in before anything happens
        wait_for(lambda: any(r["up"] and r["up"][0]["cmd"] == "watch" and r["down"]
                             for r in relay.conns), 20, "the watch subscription")
        for args in (["status"], ["list"], ["list", "--state", "pending", "-n", "demo"],
                     ["show", str(aid)], ["incidents"], ["incidents", "--state", "open"],
                     ["audit"], ["audit", "--action", str(aid)],
                     ["audit", "--since", "2000-01-01T00:00:00Z"], ["audit", "verify"],
                     ["incidents", "show", "1"],
                     ["show", "999"], ["reject", str(aid + 100), "--reason", "x"]):
            ctl(*args)
        r = ctl("approve", str(aid), "--comment", "schema test")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = watch.stdout.readline()
        ev = json.loads(line)
        self.assertEqual((ev["event"], ev["data"]["id"], ev["data"]["state"]), ("approved", aid, "approved"))
        wait_state(d, aid, ("verified",), 90)
        ctl("approve", str(aid))                     # bad_state
        r = ctl("rollback", str(aid))                # a new pending action
        self.assertEqual(r.returncode, 0, r.stderr)
        watch.terminate()
        watch.wait(10)
        watch.stdout.close()

        # raw requests a well-behaved client never sends (not relayed)
        bad = {
            b"{not json\n": "bad_request",
            b'{"v":2,"id":5,"cmd":"status"}\n': "version",
            b'{"v":1,"id":6,"cmd":"frobnicate"}\n': "unknown_command",
            b'{"v":1,"id":7,"cmd":"show","args":{"id":"x"}}\n': "bad_request",
            b"[1,2]\n": "bad_request",
            b"x" * 70000 + b"\n": "too_big",
        }
        for payload, code in bad.items():
            rep = raw(d.socket, payload)
            self.check(rep, "reply.schema.json")
            self.assertEqual(rep["error"]["code"], code, rep)
        rep = raw(d.socket, b'{"v":2,"id":5,"cmd":"status"}\n')
        self.assertEqual(rep["error"]["message"], "protocol version 2 not supported (this daemon speaks 1)")
        self.assertEqual(rep["id"], 5)

        # every line that went through the relay
        wait_for(lambda: all(len(c["down"]) >= len(c["up"]) for c in relay.conns),
                 20, "the last replies")
        checked = {"request": 0, "reply": 0, "result": 0, "event": 0}
        seen_cmds = set()
        with relay.lock:
            conns = [dict(up=list(c["up"]), down=list(c["down"])) for c in relay.conns]
        for c in conns:
            for i, req in enumerate(c["up"]):
                self.check(req, "request.schema.json")
                checked["request"] += 1
                rep = c["down"][i]
                self.check(rep, "reply.schema.json")
                checked["reply"] += 1
                self.assertEqual(rep["id"], req["id"])
                if rep["ok"]:
                    self.check(rep["result"], "results.schema.json", "/definitions/" + req["cmd"])
                    checked["result"] += 1
                    seen_cmds.add(req["cmd"])
            if c["up"][0]["cmd"] == "watch":
                for ev in c["down"][1:]:
                    self.check(ev, "event.schema.json")
                    checked["event"] += 1
        print("validated:", checked, "commands with results:", sorted(seen_cmds))
        for cmd in ("status", "list", "show", "incidents", "incident", "audit", "audit-verify",
                    "approve", "rollback", "watch"):
            self.assertIn(cmd, seen_cmds)
        self.assertGreaterEqual(checked["event"], 1)
        relay.close()
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

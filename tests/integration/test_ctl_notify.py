"""Webhooks: a Slack-compatible message when an action becomes pending or
fails, with the exact remedyctl commands; retried with backoff; never
blocking the loop; the webhook URL (it holds a token) never in the log.

Two webhooks are configured: a receiver (Python standard library) that
answers 500 to its first request and 200 afterwards, and a server that
accepts connections and never answers.  While the second one hangs,
remedyctl must still be answered at once and the first must get every
message.
"""
import json
import os
import socket
import sys
import tempfile
import shutil
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, Daemon, wait_action, wait_for, wait_state  # noqa: E402

WEB = "/apis/apps/v1/namespaces/demo/deployments/web"
TOKEN = "T0KEN-s3cr3t-9f8e7d"


class Receiver(ThreadingHTTPServer):
    """Records every POST; the first answered 500, the rest 200."""
    daemon_threads = True

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d/hooks/%s" % (self.server_address[1], TOKEN)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.posts.append({"path": self.path, "ctype": self.headers.get("Content-Type"),
                                      "ua": self.headers.get("User-Agent"),
                                      "body": json.loads(body)})
            first = len(self.server.posts) == 1
        self.send_response(500 if first else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Silent:
    """Accepts TCP connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.conns = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def url(self):
        return "http://127.0.0.1:%d/silent/%s" % (self.sock.getsockname()[1], TOKEN)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class Notify(unittest.TestCase):
    def test_webhooks(self):
        workdir = tempfile.mkdtemp(prefix="remedy-notify-")
        rcv, silent = Receiver(), Silent()
        cluster = d = None
        ok = False
        try:
            cluster = Cluster(workdir)
            # the apply of the rollback will be refused by the API server
            cluster.test("POST", "/inject", {
                "method": "PATCH", "path": WEB, "dry_run": False, "status": 422,
                "reason": "Invalid", "message": "the server rejected our request"})
            d = Daemon(workdir, cluster, extra="notifications:\n  webhooks:\n    - %s\n    - %s\n"
                       % (rcv.url(), silent.url()))
            aid = wait_action(d, "pending")[0]["id"]

            # the silent webhook hangs; remedyctl is answered at once
            t = time.monotonic()
            rc, out, err = d.ctl("status")
            self.assertEqual(rc, 0, err)
            print("status while a webhook hangs: %.0f ms" % ((time.monotonic() - t) * 1000))

            def pending_posts():
                with rcv.lock:
                    return [p for p in rcv.posts if p["body"]["remedy"]["event"] == "pending"]
            # the first POST got 500, the retry (after 1 s) 200
            posts = wait_for(lambda: len(pending_posts()) >= 2 and pending_posts(), 30,
                             "the pending message and its retry")
            p = posts[-1]
            self.assertEqual(p["ctype"], "application/json")
            self.assertTrue(p["ua"].startswith("remedyd/"))
            self.assertEqual(p["path"], "/hooks/" + TOKEN)
            body = p["body"]
            self.assertEqual(posts[0]["body"], body, "a retry sends the same message")
            self.assertIn("remedyctl approve %d" % aid, body["text"])
            self.assertIn("remedyctl show %d" % aid, body["text"])
            self.assertEqual(body["remedy"]["commands"]["approve"], "remedyctl approve %d" % aid)
            self.assertEqual((body["remedy"]["action_id"], body["remedy"]["namespace"],
                              body["remedy"]["kind"], body["remedy"]["name"]),
                             (aid, "demo", "Deployment", "web"))
            text = json.dumps(body)
            for secret in ("patch", "Bearer", "remedy-test-token", TOKEN):
                self.assertNotIn(secret, text)

            rc, out, err = d.ctl("approve", str(aid))
            self.assertEqual(rc, 0, err)
            wait_state(d, aid, ("failed",), 60)
            failed = wait_for(lambda: [p for p in list(rcv.posts)
                                       if p["body"]["remedy"]["event"] == "failed"], 30,
                              "the failed message")
            fb = failed[0]["body"]
            self.assertIn("remedyctl show %d" % aid, fb["text"])
            self.assertIn("remedyctl audit --action %d" % aid, fb["text"])
            self.assertIn("422", fb["remedy"]["reason"])
            with open(d.logpath) as f:
                log = f.read()
            self.assertIn("webhook 1 (127.0.0.1:%d): HTTP status 500; retrying" % rcv.server_address[1],
                          log)
            self.assertNotIn(TOKEN, log, "a webhook URL never reaches the log")
            ok = True
        finally:
            rc = d.stop() if d else 0
            if cluster:
                cluster.stop()
            rcv.shutdown()
            rcv.server_close()
            silent.close()
            if ok:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                if d:
                    print("--- remedyd log ---\n" + d.log())
                print("--- workdir kept: " + workdir)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

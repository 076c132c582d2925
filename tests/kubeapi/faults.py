"""Transport fault injection for the test API server (fake_apiserver.py).

Configured with POST /_test/faults (no auth), body:

    {"seed": 7,                       # random.Random seed (default: time)
     "watch": {"drop": 0.02,          # per watch event: cut the connection
               "stall": 0.005,        #   go silent, then cut (stall_seconds)
               "gone": 0.01,          #   ERROR event code 410, end the watch
               "error": 0.01,         #   ERROR event code 500, end the watch
               "garbage": 0.01,       #   a line that is not JSON, then cut
               "bytewise": 0.05},     #   send this event 1 byte per chunk
     "request": {"429": 0.05,         # per API request (not watches' events):
                 "500": 0.05},        #   answer 429 / 500, Retry-After: 1
     "continue_expire": 0.2,          # per LIST with a continue token: 410
     "watchlist": false,              # false: sendInitialEvents gets 422
     "stall_seconds": 5,
     "once": ["drop", "429", ...]}    # one fault each, next chance, in order

An empty body turns every fault off.  GET /_test/faults returns the settings
and how many of each fault were injected ("counts").

Token expiry is the other half: POST /_test/tokens {"add": [...],
"remove": [...]} changes which extra bearer tokens the server accepts (as
user "tester"), so a test can expire an exec plugin's token: the client
then gets 401 and must fetch a new one.
"""

import json
import random
import socket
import threading
import time


class WatchEnded(Exception):
    """The fault ended the watch; the handler must not write anything more."""


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = set()
        self.configure({})

    def configure(self, doc):
        with self.lock:
            self.doc = doc
            self.rng = random.Random(doc.get("seed", time.time()))
            self.watch = dict(doc.get("watch") or {})
            self.request = dict(doc.get("request") or {})
            self.continue_expire = float(doc.get("continue_expire") or 0)
            self.watchlist = doc.get("watchlist", True)
            self.stall_seconds = float(doc.get("stall_seconds") or 5)
            self.once = list(doc.get("once") or [])
            self.counts = {}

    def state(self):
        with self.lock:
            return {"settings": self.doc, "counts": dict(self.counts), "once_left": list(self.once)}

    def set_tokens(self, doc):
        with self.lock:
            self.tokens |= set(doc.get("add") or [])
            self.tokens -= set(doc.get("remove") or [])
            return sorted(self.tokens)

    def token_ok(self, tok):
        with self.lock:
            return tok in self.tokens

    def _count(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _take(self, kinds, table):
        """The fault to inject now among kinds, or None (lock held)."""
        for k in kinds:
            if k in self.once:
                self.once.remove(k)
                self._count(k)
                return k
        for k in kinds:
            p = float(table.get(k) or 0)
            if p > 0 and self.rng.random() < p:
                self._count(k)
                return k
        return None

    # -- hooks called by the server

    def on_request(self, verb, params):
        """Before an API request is served: None, or (status, reason, message,
        headers) to answer instead."""
        with self.lock:
            if verb == "watch" and params.get("sendInitialEvents") == "true" and not self.watchlist:
                self._count("watchlist_refused")
                return (422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: '
                        'Forbidden: sendInitialEvents is forbidden for watch unless the WatchList '
                        'feature gate is enabled', {})
            f = self._take(["429", "500"], self.request)
            if f == "429":
                return (429, "TooManyRequests", "Too many requests, please try again later.",
                        {"Retry-After": "1", "X-Kubernetes-PF-FlowSchema-UID": "fault",
                         "X-Kubernetes-PF-PriorityLevel-UID": "fault"})
            if f == "500":
                return (500, "InternalError", "Internal error occurred: injected fault",
                        {"Retry-After": "1"})
            if verb == "list" and params.get("continue"):
                if "continue_expire" in self.once or (
                        self.continue_expire > 0 and self.rng.random() < self.continue_expire):
                    if "continue_expire" in self.once:
                        self.once.remove("continue_expire")
                    self._count("continue_expire")
                    return (410, "Expired", "The provided continue parameter is too old to display a "
                            "consistent list result. You can start a new list without the continue "
                            "parameter.", {})
        return None

    def write_event(self, handler, data):
        """Write one watch event (bytes, ending in newline) as HTTP chunks,
        perhaps with a fault.  Raises WatchEnded when the watch is over."""
        with self.lock:
            f = self._take(["drop", "stall", "gone", "error", "garbage", "bytewise"], self.watch)
            stall = self.stall_seconds
        w = handler.wfile
        if f is None:
            w.write(b"%x\r\n%s\r\n" % (len(data), data))
            w.flush()
            return
        if f == "bytewise":
            for i in range(len(data)):
                w.write(b"1\r\n%s\r\n" % data[i:i + 1])
                w.flush()
            return
        if f in ("gone", "error"):
            code = 410 if f == "gone" else 500
            ev = {"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version" if code == 410 else "injected watch error",
                "reason": "Expired" if code == 410 else "InternalError", "code": code}}
            body = json.dumps(ev, separators=(",", ":")).encode() + b"\n"
            w.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            w.flush()
            raise WatchEnded(f)
        if f == "garbage":
            junk = b"\x00\xff{not json at all\n"
            w.write(b"%x\r\n%s\r\n" % (len(junk), junk))
            w.flush()
            self._cut(handler)
            raise WatchEnded(f)
        if f == "stall":
            # half an event, then silence: the client must notice by itself
            half = data[:max(1, len(data) // 2)]
            w.write(b"%x\r\n%s\r\n" % (len(half), half))
            w.flush()
            deadline = time.monotonic() + stall
            while time.monotonic() < deadline:
                time.sleep(0.05)
            self._cut(handler)
            raise WatchEnded(f)
        # drop: part of the event, then the connection goes away
        half = data[:max(1, len(data) // 3)]
        w.write(b"%x\r\n%s" % (len(data), half))
        w.flush()
        self._cut(handler)
        raise WatchEnded(f)

    @staticmethod
    def _cut(handler):
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

"""A real OCI registry for tests, on loopback, without a docker daemon.

- Registry: Debian's docker-registry (Distribution 2.8) serving a private
  storage directory on a free 127.0.0.1 port, open or in token mode.
- push(): an OCI layout made by ./mkimage, copied in with skopeo.
- TokenServer: the token service of Docker's token auth spec, signing
  RS256 JWTs with openssl (the registry checks them against the
  rootcertbundle through the x5c header), by GET (anonymous or Basic) or
  by the OAuth2 POST of a refresh token (docker config.json's
  identitytoken); users, refresh tokens and private repositories are plain
  dicts; it records every request (with or without credentials).
- FaultProxy: an HTTP proxy in front of a registry that can answer slowly,
  with 500, with garbage JSON, with a 100 000-tag list, with paginated tags
  (Link rel="next"), or with a redirect to another host.
- Recorder: an HTTP server that only records who called it (the "other
  host" a client must never reach).

Everything listens on loopback, uses its own directory, and is stopped by
pid; nothing is downloaded.
"""
import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MKIMAGE = os.path.join(HERE, "mkimage")


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(host, port, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s:%d" % (host, port))


def mkimage(kind, layout, tag, platforms=None, index=False):
    """Build image KIND into the OCI layout directory as TAG (mkimage);
    index: an image index even for one platform."""
    args = [MKIMAGE, kind, layout, tag]
    if platforms:
        args.append(platforms)
    env = dict(os.environ, MKIMAGE_INDEX="1" if index else "0")
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
    return out.stdout.split()[1]  # the digest of the tag's manifest/index


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Registry:
    """docker-registry serve CONFIG on 127.0.0.1:PORT.

    auth: None (open) or ("token", TokenServer)."""

    def __init__(self, workdir, auth=None, storage=None):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.storage = storage or os.path.join(workdir, "storage")
        os.makedirs(self.storage, exist_ok=True)
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.host
        self.auth = auth
        self.proc = None

    def _config(self):
        lines = ["version: 0.1",
                 "log: {level: warn, accesslog: {disabled: true}}",
                 "storage:",
                 "  filesystem: {rootdirectory: %s}" % self.storage,
                 "  delete: {enabled: true}",
                 "http: {addr: '127.0.0.1:%d'}" % self.port]
        if self.auth and self.auth[0] == "token":
            ts = self.auth[1]
            lines += ["auth:", "  token:",
                      "    realm: %s/token" % ts.url,
                      "    service: %s" % ts.service,
                      "    issuer: %s" % ts.issuer,
                      "    rootcertbundle: %s" % ts.cert]
        path = os.path.join(self.workdir, "registry.yml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self):
        cfg = self._config()
        self.log = open(os.path.join(self.workdir, "registry.log"), "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", cfg],
                                     stdout=self.log, stderr=self.log)
        wait_port("127.0.0.1", self.port)
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()

    def push(self, layout, tag, name, dest_tag=None):
        """Copy oci:LAYOUT:TAG to NAME:DEST_TAG in this (open) registry."""
        subprocess.run(
            ["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false",
             "--insecure-policy",
             "oci:%s:%s" % (layout, tag),
             "docker://%s/%s:%s" % (self.host, name, dest_tag or tag)],
            check=True, capture_output=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b"", headers=None, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up (a timeout test) is not an error


class _Service:
    """A threaded HTTP server on 127.0.0.1 (or host) running handler."""

    def __init__(self, handler, host="127.0.0.1"):
        self.server = _Server((host, 0), handler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.host = "%s:%d" % (host, self.port)
        self.url = "http://" + self.host
        self.requests = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def record(self, h):
        with self.lock:
            self.requests.append({"method": h.command, "path": h.path,
                                  "authorization": h.headers.get("Authorization")})

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _TokenHandler(_Handler):
    def do_GET(self):
        ts = self.server.owner
        ts.record(self)
        u = urllib.parse.urlparse(self.path)
        if u.path != "/token":
            return self.send(404, {"error": "not found"})
        q = urllib.parse.parse_qs(u.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                name, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                return self.send(400, {"error": "bad basic auth"})
            if ts.users.get(name) != pw:
                return self.send(401, {"error": "bad credentials"},
                                 {"WWW-Authenticate": 'Basic realm="token"'})
            user = name
        if q.get("service", [""])[0] != ts.service:
            return self.send(400, {"error": "unknown service"})
        access = _grant(ts, user, q.get("scope", []))
        self.send(200, {"token": ts.sign(user or "", access),
                        "expires_in": 300})


def _grant(ts, user, scopes):
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) != 3 or parts[0] != "repository":
            continue
        repo = parts[1]
        if any(repo.startswith(p) for p in ts.private) and user is None:
            continue  # anonymous: nothing granted, the registry says 401
        access.append({"type": "repository", "name": repo, "actions": ["pull"]})
    return access


def _post_token(self):
    """The OAuth2 token endpoint of the Distribution token spec: POST
    form grant_type=refresh_token&refresh_token=R&service=S&scope=...
    &client_id=C -> {"access_token": ...}; R must be one of the server's
    refresh_tokens (-> its user).  Also the password grant is refused
    (not needed here)."""
    ts = self.server.owner
    ts.record(self)
    n = int(self.headers.get("Content-Length") or 0)
    if urllib.parse.urlparse(self.path).path != "/token" or n > 65536:
        return self.send(404, {"error": "not found"})
    form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
    with ts.lock:
        ts.forms.append({k: v[0] for k, v in form.items()})
    one = {k: v[0] for k, v in form.items() if len(v) == 1}
    if (self.headers.get("Content-Type", "").split(";")[0] !=
            "application/x-www-form-urlencoded"):
        return self.send(400, {"error": "invalid_request"})
    if one.get("grant_type") != "refresh_token" or not one.get("client_id"):
        return self.send(400, {"error": "unsupported_grant_type"})
    user = ts.refresh_tokens.get(one.get("refresh_token", ""))
    if user is None:
        return self.send(401, {"error": "invalid_grant"})
    if one.get("service") != ts.service:
        return self.send(400, {"error": "invalid_request"})
    scopes = " ".join(form.get("scope", [])).split()
    self.send(200, {"access_token": ts.sign(user, _grant(ts, user, scopes)),
                    "scope": " ".join(scopes), "expires_in": 300,
                    "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


_TokenHandler.do_POST = _post_token


class TokenServer(_Service):
    """Docker's token auth: GET /token?service=S&scope=repository:N:pull
    (anonymous or Basic), and POST /token with an OAuth2 refresh token
    (refresh_tokens: {token: user}); forms holds every POSTed form."""

    def __init__(self, workdir, users=None, private=(), refresh_tokens=None):
        super().__init__(_TokenHandler)
        self.workdir = workdir
        self.users = users or {}
        self.refresh_tokens = dict(refresh_tokens or {})
        self.forms = []
        self.private = tuple(private)
        self.service = "remedy-test-registry"
        self.issuer = "remedy-test-issuer"
        self.key = os.path.join(workdir, "token.key")
        self.cert = os.path.join(workdir, "token.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", self.key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=remedy-test-token"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform",
                              "DER"], check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()

    def sign(self, sub, access):
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": sub, "aud": self.service,
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": hashlib.sha256(os.urandom(16)).hexdigest(),
                  "access": access}
        signing = (b64url(json.dumps(header).encode()) + "." +
                   b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                             input=signing.encode(), check=True,
                             capture_output=True).stdout
        return signing + "." + b64url(sig)


class _RecorderHandler(_Handler):
    def do_GET(self):
        self.server.owner.record(self)
        self.send(200, {"name": "x", "tags": ["stolen"]})

    do_HEAD = do_GET


class Recorder(_Service):
    """The host nobody should call: records and answers 200."""

    def __init__(self, host="127.0.0.2"):
        super().__init__(_RecorderHandler, host)


class _ProxyHandler(_Handler):
    def _forward(self):
        px = self.server.owner
        px.record(self)
        mode = px.mode
        is_tags = self.path.split("?")[0].endswith("/tags/list")
        if mode == "slow":
            time.sleep(px.delay)
        elif mode == "500":
            return self.send(500, "internal error", ctype="text/plain")
        elif mode == "garbage" and is_tags:
            return self.send(200, '{"name": "library/nginx", "tags": [1.25,')
        elif mode == "bigtags" and is_tags:
            name = self.path.split("/v2/")[1].rsplit("/tags/list", 1)[0]
            tags = ["t%06d" % i for i in range(100000)]
            return self.send(200, {"name": name, "tags": tags})
        elif mode == "redirect":
            return self.send(307, "", {"Location": px.redirect_to + self.path})
        req = urllib.request.Request(px.target + self.path,
                                     method=self.command)
        for k in ("Authorization", "Accept"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                code, body, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            code, body, hdrs = e.code, e.read(), e.headers
        extra = {}
        for k in ("WWW-Authenticate", "Docker-Content-Digest", "Link"):
            if hdrs.get(k):
                extra[k] = hdrs[k]
        if mode == "paginate" and is_tags and code == 200:
            doc = json.loads(body)
            u = urllib.parse.urlparse(self.path)
            last = urllib.parse.parse_qs(u.query).get("last", [""])[0]
            tags = sorted(doc.get("tags") or [])
            rest = [t for t in tags if t > last] if last else tags
            page, more = rest[:px.page], rest[px.page:]
            if more:
                nxt = "%s?n=%d&last=%s" % (u.path, px.page, page[-1])
                if px.next_host:
                    nxt = px.next_host + nxt
                extra["Link"] = '<%s>; rel="next"' % nxt
            body = json.dumps({"name": doc["name"], "tags": page}).encode()
        self.send(code, body, extra,
                  ctype=hdrs.get("Content-Type", "application/json"))

    do_GET = _forward
    do_HEAD = _forward


class FaultProxy(_Service):
    """In front of TARGET (a registry URL); mode: None (pass), "slow",
    "500", "garbage", "bigtags", "paginate", "redirect"."""

    def __init__(self, target):
        super().__init__(_ProxyHandler)
        self.target = target
        self.mode = None
        self.delay = 3.0
        self.page = 2
        self.next_host = None
        self.redirect_to = None


def serve(workdir, images):
    """Build and push IMAGES ("library/nginx:1.24,1.25", each tag a `web`
    image; "REPO:TAG=PLATFORMS" for other platforms), write
    WORKDIR/ready ({"url", "host", "pid", "digests"}) and serve until
    SIGTERM or SIGINT.  scripts/demo runs this."""
    import signal
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    os.makedirs(workdir, exist_ok=True)
    ready = os.path.join(workdir, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    layout = os.path.join(workdir, "oci")
    built = []
    for spec in images:
        spec, _, platforms = spec.partition("=")
        repo, _, tags = spec.rpartition(":")
        if not repo or not tags:
            raise SystemExit("registry_harness: %r is not REPO:TAG[,TAG...]" % spec)
        for tag in tags.split(","):
            name = "%s-%s" % (repo.replace("/", "_"), tag)
            built.append((repo, tag, name, mkimage("web", layout, name, platforms or None)))
    reg = Registry(os.path.join(workdir, "reg")).start()
    try:
        digests = {}
        for repo, tag, name, digest in built:
            reg.push(layout, name, repo, tag)
            digests["%s:%s" % (repo, tag)] = digest
        tmp = ready + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"url": reg.url, "host": reg.host, "pid": os.getpid(),
                       "digests": digests}, f)
            f.write("\n")
        os.replace(tmp, ready)
        while not stop.wait(1.0):
            if reg.proc.poll() is not None:
                raise SystemExit("registry_harness: docker-registry exited with %d"
                                 % reg.proc.returncode)
    finally:
        reg.stop()
    return 0


if __name__ == "__main__":
    import sys
    if len(sys.argv) < 4 or sys.argv[1] != "serve":
        sys.exit("usage: registry_harness.py serve DIR REPO:TAG[,TAG...][=PLATFORMS] ...")
    sys.exit(serve(sys.argv[2], sys.argv[3:]))

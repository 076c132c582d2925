"""lib/registry against a real registry (Debian's docker-registry), through
tests/registry/regprobe: tags and pagination, manifests and platforms, the
cache, the request budget, token auth with and without the auth file, and
the faults (slow, 500, garbage JSON, 100 000 tags, a redirect or a next-page
link to another host, a registry that is down).

Images are tiny OCI layouts built by tests/registry/mkimage and pushed with
skopeo; docker.io is mirrored to the local registry, so "nginx:1.25" means
docker.io/library/nginx:1.25 as the kubelet would pull it.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("REMEDY_SRCDIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(
                         os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SRC, "tests", "registry"))
import registry_harness as rh  # noqa: E402

REGPROBE = os.environ.get("REGPROBE", "")
PASSWORD = "pw-Zq81-never-logged"
REFRESH = "rt-Yv42/+=never-logged"   # an identitytoken; / + = need escaping

TOOLS = all(shutil.which(t) for t in ("docker-registry", "skopeo", "jq",
                                       "openssl", "gcc"))


@unittest.skipUnless(TOOLS and REGPROBE, "docker-registry, skopeo, jq, "
                     "openssl, gcc and $REGPROBE are needed")
class RegistryClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="remedy-registry-")
        layout = os.path.join(cls.work, "oci")
        cls.digest = {}
        for tag in ("1.25", "1.24", "1.25.3", "latest"):
            cls.digest[tag] = rh.mkimage("web", layout, tag)
        rh.mkimage("web", layout, "multi", "linux/arm64/v8,linux/s390x")
        rh.mkimage("job", layout, "job")
        cls.open = rh.Registry(os.path.join(cls.work, "open")).start()
        for tag in ("1.25", "1.24", "1.25.3", "latest"):
            cls.open.push(layout, tag, "library/nginx")
        cls.open.push(layout, "multi", "library/armonly", "1.0")
        cls.open.push(layout, "job", "private/app", "1.0")
        cls.tokens = rh.TokenServer(cls.work, users={"alice": PASSWORD},
                                    private=("private/",),
                                    refresh_tokens={REFRESH: "alice"}).start()
        cls.secured = rh.Registry(os.path.join(cls.work, "secured"),
                                  auth=("token", cls.tokens),
                                  storage=cls.open.storage).start()
        cls.other = rh.Recorder().start()

    @classmethod
    def tearDownClass(cls):
        cls.open.stop()
        cls.secured.stop()
        cls.tokens.stop()
        cls.other.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def config(self, mirror, extra="", insecure=None):
        host = mirror.split("://", 1)[1]
        path = os.path.join(self.work, "remedyd-%s.yaml" % self.id().split(".")[-1])
        with open(path, "w") as f:
            f.write("registries:\n"
                    "  mirrors: {docker.io: %s}\n"
                    "  insecure: [%s]\n" % (mirror, insecure or host) + extra)
        return path

    def probe(self, cfg, *args, budget=None, secret=PASSWORD):
        cmd = [REGPROBE, cfg] + (["-b", str(budget)] if budget else []) + list(args)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn(PASSWORD, out.stdout + out.stderr)
        self.assertNotIn(secret, out.stdout + out.stderr)
        self.last_log = out.stderr
        return [json.loads(ln) for ln in out.stdout.splitlines()]

    def test_tags_manifests_platforms(self):
        cfg = self.config(self.open.url)
        a = self.probe(cfg, "tags", "nginx", "head", "nginx:1.25",
                       "head", "docker.io/library/nginx:1.25-typo",
                       "tags", "index.docker.io/nosuchrepo",
                       "get", "armonly:1.0", "get", "nginx@" + self.digest["1.24"])
        self.assertEqual(a[0]["status"], "ok")
        self.assertEqual(sorted(a[0]["tags"]), ["1.24", "1.25", "1.25.3", "latest"])
        self.assertEqual(a[1]["status"], "ok")
        self.assertEqual(a[1]["digest"], self.digest["1.25"])
        self.assertEqual(a[2]["status"], "tag-unknown")
        self.assertIn("1.25-typo", a[2]["message"])
        self.assertEqual(a[3]["status"], "repository-unknown")
        self.assertEqual(a[4]["status"], "ok")
        self.assertTrue(a[4]["index"])
        self.assertEqual([(p["architecture"], p["variant"]) for p in a[4]["platforms"]],
                         [("arm64", "v8"), ("s390x", "")])
        self.assertEqual(a[5]["status"], "ok")
        self.assertFalse(a[5]["index"])
        self.assertEqual(a[5]["digest"], self.digest["1.24"])

    def test_cache_and_budget(self):
        cfg = self.config(self.open.url)
        a = self.probe(cfg, "head", "nginx:1.25", "head", "nginx:1.25",
                       "head", "nginx:1.25-typo", "head", "nginx:1.25-typo",
                       "head", "nginx:1.24", budget=3)
        self.assertEqual([x["requests"] for x in a], [1, 0, 1, 0, 1])
        self.assertEqual([x["cached"] for x in a], [False, True, False, True, False])
        self.assertEqual(a[3]["status"], "tag-unknown")
        self.assertEqual(a[4]["budget_left"], 0)
        a = self.probe(cfg, "head", "nginx:1.25", "head", "nginx:1.24", budget=1)
        self.assertEqual(a[0]["status"], "ok")
        self.assertEqual(a[1]["status"], "refused")
        self.assertIn("budget", a[1]["message"])
        self.assertEqual(a[1]["requests"], 0)
        # no cache: the same question asks again
        cfg = self.config(self.open.url, "  cache_ttl: 0s\n")
        a = self.probe(cfg, "head", "nginx:1.25", "head", "nginx:1.25")
        self.assertEqual([x["requests"] for x in a], [1, 1])

    def test_pagination(self):
        px = rh.FaultProxy(self.open.url).start()
        try:
            px.mode = "paginate"
            cfg = self.config(px.url)
            a = self.probe(cfg, "tags", "nginx")
            self.assertEqual(a[0]["status"], "ok", a[0])
            self.assertEqual(a[0]["pages"], 2)
            self.assertEqual(sorted(a[0]["tags"]), ["1.24", "1.25", "1.25.3", "latest"])
            # a next link to another host is not followed
            px.next_host = self.other.url
            a = self.probe(cfg, "tags", "library/nginx")
            self.assertEqual(a[0]["status"], "refused")
            self.assertIn("another host", a[0]["message"])
            self.assertEqual(self.other.requests, [])
        finally:
            px.stop()

    def test_faults(self):
        px = rh.FaultProxy(self.open.url).start()
        try:
            cfg = self.config(px.url, "  timeout: 1s\n  max_tags: 10000\n")
            px.mode, px.delay = "slow", 3.0
            a = self.probe(cfg, "tags", "nginx")
            self.assertEqual(a[0]["status"], "timeout")
            px.mode = "500"
            a = self.probe(cfg, "head", "nginx:1.25")
            self.assertEqual(a[0]["status"], "bad-answer")
            self.assertIn("HTTP 500", a[0]["message"])
            px.mode = "garbage"
            a = self.probe(cfg, "tags", "nginx")
            self.assertEqual(a[0]["status"], "bad-answer")
            self.assertIn("not JSON", a[0]["message"])
            px.mode = "bigtags"
            a = self.probe(cfg, "tags", "nginx")
            self.assertEqual(a[0]["status"], "ok")
            self.assertTrue(a[0]["truncated"])
            self.assertEqual(len(a[0]["tags"]), 10000)
            px.mode, px.redirect_to = "redirect", self.other.url
            a = self.probe(cfg, "head", "nginx:1.25", "tags", "nginx")
            self.assertEqual([x["status"] for x in a], ["refused", "refused"])
            self.assertEqual(self.other.requests, [])
        finally:
            px.stop()
        # nobody listens there any more
        a = self.probe(cfg, "tags", "nginx")
        self.assertEqual(a[0]["status"], "unreachable")

    def test_token_auth(self):
        # a proxy in front records what reaches the registry itself
        px = rh.FaultProxy(self.secured.url).start()
        try:
            cfg = self.config(px.url, insecure="%s, %s" % (px.host, self.tokens.host))
            self.tokens.requests.clear()
            a = self.probe(cfg, "tags", "nginx", "tags", "private/app",
                           "head", "nginx:1.24")
            self.assertEqual(a[0]["status"], "ok", a[0])
            self.assertEqual(a[0]["requests"], 3)  # 401, token, retry
            self.assertEqual(a[1]["status"], "unauthorized", a[1])
            self.assertIn("anonymously", a[1]["message"])
            # the token of the first answer is reused for the same scope?
            # no: a manifest HEAD has the same scope, so yes
            self.assertEqual(a[2]["status"], "ok")
            self.assertEqual(a[2]["requests"], 1)
            self.assertTrue(all(r["authorization"] is None for r in self.tokens.requests))

            auth = os.path.join(self.work, "auth.json")
            cred = base64.b64encode(("alice:" + PASSWORD).encode()).decode()
            with open(auth, "w") as f:
                json.dump({"auths": {px.host: {"auth": cred},
                                     "elsewhere.example": {"auth": "eDp5"}}}, f)
            cfg = self.config(px.url, "  auth_file: %s\n" % auth,
                              insecure="%s, %s" % (px.host, self.tokens.host))
            self.tokens.requests.clear()
            px.requests.clear()
            a = self.probe(cfg, "tags", "private/app")
            self.assertEqual(a[0]["status"], "ok", a[0])
            self.assertEqual(a[0]["tags"], ["1.0"])
            self.assertTrue(self.tokens.requests[0]["authorization"].startswith("Basic "))
            # the registry itself only ever saw bearer tokens
            for r in px.requests:
                self.assertTrue(r["authorization"] is None or
                                r["authorization"].startswith("Bearer "), r)

            # an identitytoken: the OAuth2 refresh-token POST to the realm
            # (docker, containerd), never logged
            auth = os.path.join(self.work, "auth-identity.json")
            with open(auth, "w") as f:
                json.dump({"auths": {px.host: {"identitytoken": REFRESH}}}, f)
            cfg = self.config(px.url, "  auth_file: %s\n" % auth,
                              insecure="%s, %s" % (px.host, self.tokens.host))
            self.tokens.requests.clear()
            self.tokens.forms.clear()
            px.requests.clear()
            a = self.probe(cfg, "tags", "private/app", "head", "private/app:1.0",
                           secret=REFRESH)
            self.assertEqual(a[0]["status"], "ok", a[0])
            self.assertEqual(a[0]["tags"], ["1.0"])
            self.assertEqual(a[0]["requests"], 3)  # 401, token POST, retry
            self.assertEqual(a[1]["status"], "ok", a[1])
            self.assertEqual(a[1]["requests"], 1)  # the access token reused
            self.assertEqual([r["method"] for r in self.tokens.requests], ["POST"])
            # the client logged its requests (debug), none with the secret
            self.assertIn("registry: GET %s/v2/private/app/tags/list" % px.url, self.last_log)
            self.assertIn("registry: POST %s/token" % self.tokens.url, self.last_log)
            self.assertIsNone(self.tokens.requests[0]["authorization"])
            self.assertEqual(self.tokens.forms, [{
                "grant_type": "refresh_token", "refresh_token": REFRESH,
                "service": self.tokens.service,
                "scope": "repository:private/app:pull", "client_id": "remedy"}])
            for r in px.requests:
                self.assertTrue(r["authorization"] is None or
                                r["authorization"].startswith("Bearer "), r)
                self.assertNotIn(REFRESH, r["authorization"] or "")
            # a refresh token the server does not know: unauthorized, named
            with open(auth, "w") as f:
                json.dump({"auths": {px.host: {"identitytoken": "rt-unknown-" + REFRESH}}}, f)
            a = self.probe(cfg, "tags", "private/app", secret=REFRESH)
            self.assertEqual(a[0]["status"], "unauthorized", a[0])
            self.assertIn("the auth file's identity token", a[0]["message"])

            # a plain-http realm that is not listed as insecure is refused
            cfg = self.config(px.url, insecure=px.host)
            a = self.probe(cfg, "tags", "nginx")
            self.assertEqual(a[0]["status"], "refused")
            self.assertIn("realm", a[0]["message"])
        finally:
            px.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The seed story through the real remedyd: a bare Pod on nginx:1.25-typo
(the test API server's kubelet cannot pull it), a real registry (Debian's
docker-registry, behind a recording proxy) mirrored as docker.io that has
nginx:1.24, 1.25, 1.25.3 and latest ->

  pending "Set the image of Pod demo/broken-pod container web:
  nginx:1.25-typo -> nginx:1.25 (the registry has no tag 1.25-typo;
  closest existing tag 1.25)"

-> approve -> the pod is Ready -> verified.  And two Pods the registry
cannot serve (token auth: an unauthorized repository, a missing one), each
with its own root cause.  Also asserted: every registry
request went to the configured mirror and named only the incident's
repository; the other host was never called; the auth file's password is
in neither the log, the store, nor `remedyctl show`; `remedyctl show`
prints what the registry said (tags examined, candidates and distances).
"""
import base64
import json
import os
import shutil
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "registry"))
from harness import Env, wait_action, wait_state, wait_for  # noqa: E402
import registry_harness as rh  # noqa: E402

PASSWORD = "pw-Kx7-must-not-leak"
TOOLS = all(shutil.which(t) for t in ("docker-registry", "skopeo", "jq", "gcc"))
POD = "/api/v1/namespaces/demo/pods/broken-pod"


def pod_ready(p):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (p.get("status") or {}).get("conditions") or [])


@unittest.skipUnless(TOOLS, "docker-registry, skopeo, jq and gcc are needed")
class RegistryFix(unittest.TestCase):
    def test_bare_pod_mistyped_tag(self):
        import tempfile
        work = tempfile.mkdtemp(prefix="remedy-regfix-")
        layout = os.path.join(work, "oci")
        digest = {t: rh.mkimage("web", layout, t) for t in ("1.24", "1.25", "1.25.3", "latest")}
        reg = rh.Registry(os.path.join(work, "reg")).start()
        px = other = env = None
        ok = False
        try:
            for tag in ("1.24", "1.25", "1.25.3", "latest"):
                reg.push(layout, tag, "library/nginx")
            px = rh.FaultProxy(reg.url).start()
            other = rh.Recorder().start()
            auth = os.path.join(work, "auth.json")
            with open(auth, "w") as f:
                cred = base64.b64encode(("ops:" + PASSWORD).encode()).decode()
                json.dump({"auths": {px.host: {"auth": cred},
                                     other.host: {"auth": cred}}}, f)
            extra = ("registries:\n  enabled: true\n"
                     "  mirrors: {docker.io: %s}\n  insecure: [%s]\n"
                     "  auth_file: %s\n" % (px.url, px.host, auth))

            def setup(c):
                c.test("POST", "/objects", {
                    "kind": "Pod", "metadata": {"name": "broken-pod", "namespace": "demo"},
                    "spec": {"nodeName": "node-a",
                             "containers": [{"name": "web", "image": "nginx:1.25-typo"}]}})

            env = Env(scenario="empty", hold_down="1s", before_daemon=setup, extra=extra)
            c, d = env.cluster, env.daemon
            pend = wait_action(d, "pending", timeout=40)
            self.assertEqual(len(pend), 1, pend)
            act = pend[0]
            self.assertEqual(act["summary"],
                             "Set the image of Pod demo/broken-pod container web: "
                             "nginx:1.25-typo -> nginx:1.25 (the registry has no tag "
                             "1.25-typo; closest existing tag 1.25)")
            self.assertEqual(c.remedyd_writes(), [])
            rc, out, err = d.ctl("show", str(act["id"]))
            self.assertEqual(rc, 0, err)
            self.assertIn({"op": "replace", "path": "/spec/containers/0/image",
                           "value": "nginx:1.25"}, out["action"]["patch"])
            rc, text, err = d.ctl("show", str(act["id"]), output=None)
            self.assertEqual(rc, 0, err)
            self.assertIn("4 tag(s) of library/nginx examined", text)
            self.assertIn("1.25 (distance 5, prefix), 1.25.3 (distance 5), "
                          "1.24 (distance 6)", text)
            self.assertIn("tag-unknown", text)
            self.assertIn("tag-not-found", text)
            self.assertIn("registry: the closest tag 1.25 exists, digest " + digest["1.25"],
                          out["action"]["evidence"])
            # the proposed image confirmed by the registry before the dry-run
            self.assertIn("registry: the proposed image nginx:1.25 exists, digest " +
                          digest["1.25"], out["action"]["evidence"])

            rc, out, err = d.ctl("approve", str(act["id"]))
            self.assertEqual(rc, 0, err)
            done = wait_state(d, act["id"], ("verified", "failed", "not-recovered"))
            self.assertEqual(done["state"], "verified", done)
            self.assertTrue(pod_ready(c.get(POD)))

            # where remedyd went: the mirror only, for this repository only
            self.assertTrue(px.requests)
            for r in px.requests:
                self.assertTrue(r["path"].startswith("/v2/library/nginx/"), r)
                self.assertIsNone(r["authorization"], r)  # it never asked
            self.assertEqual(other.requests, [])
            rc0 = d.stop()
            log = d.log()
            self.assertEqual(rc0, 0, log)
            with open(d.db, "rb") as f:
                store = f.read()
            self.assertNotIn(PASSWORD, log)
            self.assertNotIn(PASSWORD.encode(), store)
            self.assertNotIn(PASSWORD, text)
            self.assertIn("asking the registry about docker.io/library/nginx", log)
            ok = True
        finally:
            rc = env.close(ok) if env else 0
            for s in (px, other):
                if s:
                    s.stop()
            reg.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("--- workdir kept: " + work)
        self.assertEqual(rc, 0)

    def test_unauthorized_and_missing_repository(self):
        """Two bare Pods the registry (token auth, anonymous) cannot serve:
        private/app (the token server grants anonymous users nothing there)
        and nosuch/app (no such repository).  Each incident gets its own
        root cause; no patch; the token server saw no credential."""
        import tempfile
        work = tempfile.mkdtemp(prefix="remedy-regauth-")
        layout = os.path.join(work, "oci")
        rh.mkimage("job", layout, "1.0")
        opened = rh.Registry(os.path.join(work, "open")).start()
        tokens = secured = env = None
        ok = False
        try:
            opened.push(layout, "1.0", "private/app")
            opened.stop()
            tokens = rh.TokenServer(work, users={"ops": PASSWORD}, private=("private/",)).start()
            secured = rh.Registry(os.path.join(work, "secured"), auth=("token", tokens),
                                  storage=opened.storage).start()
            extra = ("registries:\n  enabled: true\n"
                     "  mirrors: {docker.io: %s}\n  insecure: [%s, %s]\n"
                     % (secured.url, secured.host, tokens.host))

            def setup(c):
                for name, image in (("private-pod", "private/app:1.0"),
                                    ("nosuch-pod", "nosuch/app:1")):
                    c.test("POST", "/objects", {
                        "kind": "Pod", "metadata": {"name": name, "namespace": "demo"},
                        "spec": {"nodeName": "node-a",
                                 "containers": [{"name": "app", "image": image}]}})

            env = Env(scenario="empty", hold_down="1s", before_daemon=setup, extra=extra)
            d = env.daemon

            def explained():
                rc, out, err = d.ctl("incidents")
                self.assertEqual(rc, 0, err)
                got = {}
                for inc in out["incidents"]:
                    rc, one, err = d.ctl("incidents", "show", str(inc["id"]))
                    self.assertEqual(rc, 0, err)
                    diag = one["incident"].get("diagnosis") or {}
                    if diag.get("status") == "explained":
                        got[one["incident"]["name"]] = diag
                return got if len(got) == 2 else None
            got = wait_for(explained, 60, "two explained incidents")
            cause = got["private-pod"]["root_cause"]
            self.assertIn("Classified as unauthorized", cause)
            self.assertIn("imagePullSecret", cause)
            self.assertIn("never reads Secrets", cause)
            cause = got["nosuch-pod"]["root_cause"]
            self.assertIn("Classified as repository-not-found", cause)
            self.assertIn("no repository nosuch/app", cause)
            rc, out, err = d.ctl("list", "--all")
            self.assertEqual(out["actions"], [])
            self.assertTrue(tokens.requests)
            self.assertTrue(all(r["authorization"] is None for r in tokens.requests))
            ok = True
        finally:
            rc = env.close(ok) if env else 0
            if secured:
                secured.stop()
            if tokens:
                tokens.stop()
            opened.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("--- workdir kept: " + work)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

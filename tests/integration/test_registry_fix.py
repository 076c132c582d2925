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
Then an image without a variant for the node's platform: the closest tag
whose index lists linux/amd64 is proposed and runs, or no patch and the
platforms examined.
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

    def test_bare_pod_wrong_platform(self):
        """The node is linux/amd64 (its Node object says so); the test API
        server's kubelet pulls from the registry and refuses an index
        without linux/amd64.  app:2.1 is an index of linux/arm64 only;
        the closest tags are 2.2 (arm64 only) and 2.0 (amd64 and arm64):
        remedyd reads both manifests and proposes app:2.0, which runs.
        solo:3.1 has no close tag with amd64: no patch, the platforms
        examined named.  Manifest requests stay within the incident's
        budget."""
        import tempfile
        work = tempfile.mkdtemp(prefix="remedy-regplat-")
        layout = os.path.join(work, "oci")
        images = {  # repo:tag -> (layout tag, platforms)
            "library/app:2.1": ("app-2.1", "linux/arm64"),
            "library/app:2.2": ("app-2.2", "linux/arm64"),
            "library/app:2.0": ("app-2.0", "linux/amd64,linux/arm64"),
            "library/app:1.0": ("app-1.0", "linux/amd64"),
            "library/solo:3.1": ("solo-3.1", "linux/arm64"),
            "library/solo:3.0": ("solo-3.0", "linux/arm64/v8"),
        }
        digest = {k: rh.mkimage("web", layout, v[0], v[1], index=True)
                  for k, v in images.items()}
        reg = rh.Registry(os.path.join(work, "reg")).start()
        px = env = None
        ok = False
        try:
            for k, v in images.items():
                repo, _, tag = k.partition(":")
                reg.push(layout, v[0], repo, tag)
            px = rh.FaultProxy(reg.url).start()
            extra = ("registries:\n  enabled: true\n"
                     "  mirrors: {docker.io: %s}\n  insecure: [%s]\n"
                     "  max_requests_per_incident: 6\n" % (px.url, px.host))

            def setup(c):
                c.test("POST", "/objects", {
                    "kind": "Node", "metadata": {"name": "node-a"},
                    "status": {"nodeInfo": {"architecture": "amd64",
                                            "operatingSystem": "linux"}}})
                for name, image in (("arm-pod", "app:2.1"), ("solo-pod", "solo:3.1")):
                    c.test("POST", "/objects", {
                        "kind": "Pod", "metadata": {"name": name, "namespace": "demo"},
                        "spec": {"nodeName": "node-a",
                                 "containers": [{"name": "web", "image": image}]}})

            env = Env(scenario="empty", hold_down="1s", before_daemon=setup, extra=extra,
                      cluster_args=("--registry", reg.url))
            c, d = env.cluster, env.daemon
            # the kubelet of the test API server agrees with the registry
            st = c.get("/api/v1/namespaces/demo/pods/arm-pod")["status"]
            self.assertIn("no match for platform in manifest",
                          st["containerStatuses"][0]["state"]["waiting"].get("message", "") +
                          json.dumps(c.api("GET", "/api/v1/namespaces/demo/events")[1]))
            pend = wait_action(d, "pending", timeout=40)
            self.assertEqual(len(pend), 1, pend)
            act = pend[0]
            self.assertEqual(act["summary"],
                             "Set the image of Pod demo/arm-pod container web: app:2.1 -> "
                             "app:2.0 (app:2.1 has no variant for linux/amd64; the closest "
                             "tag that has is 2.0)")
            rc, out, err = d.ctl("show", str(act["id"]))
            self.assertEqual(rc, 0, err)
            self.assertIn({"op": "replace", "path": "/spec/containers/0/image",
                           "value": "app:2.0"}, out["action"]["patch"])
            self.assertIn("registry: app:2.1 has no variant for linux/amd64 (its index "
                          "lists only others); platforms of the closest tags: 2.2 "
                          "(distance 1): linux/arm64; 2.0 (distance 1): linux/amd64, "
                          "linux/arm64", out["action"]["evidence"])
            self.assertIn("registry: tag 2.0 lists linux/amd64, digest " +
                          digest["library/app:2.0"], out["action"]["evidence"])
            self.assertIn("Classified as no-platform", out["action"]["root_cause"])
            self.assertIn("The closest tag of library/app with a variant for "
                          "linux/amd64 is 2.0.", out["action"]["root_cause"])

            # solo:3.1: explained, no patch, the platforms examined named
            def solo():
                rc, out, err = d.ctl("incidents")
                for inc in out["incidents"]:
                    rc, one, err = d.ctl("incidents", "show", str(inc["id"]))
                    diag = one["incident"].get("diagnosis") or {}
                    if one["incident"]["name"] == "solo-pod" and diag.get("status") == "explained":
                        return one["incident"]
                return None
            inc = wait_for(solo, 40, "the solo-pod incident explained")
            text = json.dumps(inc)
            self.assertIn("No automatic fix: no tag of library/solo close to 3.1 has a "
                          "variant for linux/amd64 (3.0 (distance 1): linux/arm64/v8)", text)

            rc, out, err = d.ctl("approve", str(act["id"]))
            self.assertEqual(rc, 0, err)
            done = wait_state(d, act["id"], ("verified", "failed", "not-recovered"))
            self.assertEqual(done["state"], "verified", done)
            self.assertTrue(pod_ready(c.get("/api/v1/namespaces/demo/pods/arm-pod")))

            # remedyd's manifest reads for app: 2.1 itself, then 2.2, then 2.0,
            # each within the budget of 6 requests per incident
            gets = [r["path"] for r in px.requests
                    if r["method"] == "GET" and "/library/app/manifests/" in r["path"]]
            for tag in ("2.1", "2.2", "2.0"):
                self.assertIn("/v2/library/app/manifests/" + tag, gets)
            self.assertNotIn("/v2/library/app/manifests/1.0", gets)  # not close enough
            app = [r for r in px.requests if "/library/app/" in r["path"]]
            self.assertLessEqual(len(app), 2 * 6, app)   # the diagnosis and the pre-dry-run check
            ok = True
        finally:
            rc = env.close(ok) if env else 0
            if px:
                px.stop()
            reg.stop()
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("--- workdir kept: " + work)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

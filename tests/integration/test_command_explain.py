"""Commands that cannot start, end to end through the real remedyd and
remedyctl.

The test API server's kubelet knows the files of its built-in images
(tests/kubeapi/fake_apiserver.py, IMAGE_FILES): a container whose command
names a program the image lacks fails as containerd and runc fail it
(StartError, exit code 128, "exec: ... executable file not found in
$PATH"), and "sh -c" of a script whose first word the image lacks exits
127; either way the container crash-loops.

  - Deployment `web` runs nginx:1.25 with command ["ngnix", ...] (a typo);
  - Deployment `tool` runs busybox:1.36 with command ["sh", "-c", "serve
    --port 80"].
Each incident is explained precisely -- which container, the runtime's or
the shell's words, the command override -- and no action is proposed: the
rules never write commands, and the policy wall refuses such writes from
any backend (command-not-allowed).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_explained  # noqa: E402

APPS = "/apis/apps/v1/namespaces/demo"


def deployment(name, image, command):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image,
                                                           "command": command}]}}}}


def create(c):
    for d in (deployment("web", "nginx:1.25", ["ngnix", "-g", "daemon off;"]),
              deployment("tool", "busybox:1.36", ["sh", "-c", "serve --port 80"]),
              deployment("fine", "busybox:1.36", ["sleep", "3600"])):
        status, obj = c.api("POST", APPS + "/deployments", d)
        assert status == 201, obj


class CommandExplain(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="empty", hold_down="1s", before_daemon=create)
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        if self.ok:
            self.assertEqual(rc, 0)

    def test_explained_never_patched(self):
        c, d = self.env.cluster, self.env.daemon
        web = wait_explained(d, "web")
        self.assertEqual(web["reason"], "CrashLoopBackOff")
        s = web["diagnosis"]["summary"]
        self.assertIn("Container web (image nginx:1.25) cannot start its command", s)
        self.assertIn('(exec: "ngnix": executable file not found in $PATH)', s)
        self.assertIn('command ["ngnix", "-g", "daemon off;"]', web["diagnosis"]["root_cause"])
        self.assertIn("command-not-allowed", web["diagnosis"]["root_cause"])
        tool = wait_explained(d, "tool")
        self.assertIn("exit code 127: a shell found no such command", tool["diagnosis"]["summary"])
        self.assertIn('command ["sh", "-c", "serve --port 80"]', tool["diagnosis"]["root_cause"])
        # the healthy command opens no incident; nothing is proposed
        rc, out, err = d.ctl("incidents")
        self.assertEqual(sorted(i["name"] for i in out["incidents"]), ["tool", "web"])
        rc, out, err = d.ctl("list")
        self.assertEqual(out["actions"], [])
        self.assertEqual(c.remedyd_writes(include_dry_run=True), [])
        pod = [p for p in c.pods() if p["metadata"]["labels"]["app"] == "web"][0]
        term = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
        self.assertEqual((term["reason"], term["exitCode"]), ("StartError", 128))
        self.ok = True


if __name__ == "__main__":
    unittest.main()

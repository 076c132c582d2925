"""The bare Pod with a mistyped tag, healed on a real cluster with the
registry's help.

`kubectl run broken-pod --image=nginx:1.25-typo`: the kubelet fails to pull
it from the cluster's registry (the docker.io mirror of scripts/cluster).
remedyd asks that registry which tags nginx has, proposes the closest one
that exists, and after approval patches the Pod's image in place (a Pod's
image is mutable); the kubelet pulls it and the Pod becomes Ready; the
action is verified.  Every registry request went to the configured mirror.
"""
import e2e
from e2e import ENV, kubectl, pod_ready, wait, waiting_reason

NS = "e2e-registry"


class Registry(e2e.Case):
    namespaces = (NS,)

    def test_bare_pod_closest_tag(self):
        reg = ENV["REMEDY_E2E_REGISTRY"]
        self.extra = ("registries:\n  enabled: true\n"
                      "  mirrors: {docker.io: \"http://%s\"}\n"
                      "  insecure: [\"%s\"]\n" % (reg, reg))
        self.start_remedyd()
        kubectl("-n", NS, "run", "broken-pod", "--image=nginx:1.25-typo", "--restart=Never")
        wait(lambda: waiting_reason(e2e.get("pod", "broken-pod", NS) or {}) in
             ("ErrImagePull", "ImagePullBackOff"), 120, "the kubelet's pull failure")

        act = self.one_pending(timeout=120)
        self.assertEqual((act["kind"], act["name"]), ("Pod", "broken-pod"))
        self.assertIn("nginx:1.25-typo -> nginx:1.25", act["summary"])
        self.assertIn("closest existing tag 1.25", act["summary"] + act["root_cause"])
        self.assertEqual([(c["path"], c["before"], c["after"]) for c in act["changes"]],
                         [("/spec/containers/0/image", "nginx:1.25-typo", "nginx:1.25")])
        self.assert_only_dry_runs(NS)

        self.approve_and_verify(act["id"])
        self.assert_applied_exactly(NS, act)
        pod = e2e.get("pod", "broken-pod", NS)
        self.assertTrue(pod_ready(pod))
        self.assertEqual(pod["spec"]["containers"][0]["image"], "nginx:1.25")
        self.assertNotIn("registry-1.docker.io", self.daemon.log())
        self.ok = True


if __name__ == "__main__":
    e2e.main()

"""The approve loop on a real cluster.

A Deployment runs nginx:1.25, then is rolled out to nginx:1.25-typo, a tag
the registry does not have: the kubelet's own ErrImagePull/ImagePullBackOff.
remedyd opens one incident and one pending action (the API server's audit
log shows that its only writes so far carry dryRun=All); after
`remedyctl approve` the server receives exactly the approved patch, the
rollout completes and the action is verified.
"""
import e2e
from e2e import pods, pod_ready

NS = "e2e-loop"

class Loop(e2e.Case):
    namespaces = (NS,)

    def test_image_pull_rollback(self):
        e2e.healthy_deployment(NS)
        self.start_remedyd()
        e2e.break_rollout(NS)

        act = self.one_pending()
        self.assertEqual((act["kind"], act["name"]), ("Deployment", "web"))
        self.assertIn("nginx:1.25-typo", act["root_cause"])
        self.assertIn("not found", act["root_cause"])
        self.assertIn({"path": "/spec/template/spec/containers/0/image",
                       "before": "nginx:1.25-typo", "after": "nginx:1.25"}, act["changes"])
        self.assert_only_dry_runs(NS)
        rc, out, err = self.ctl("incidents")
        self.assertEqual(rc, 0, err)
        self.assertEqual([(i["kind"], i["name"]) for i in out["incidents"]],
                         [("Deployment", "web")])

        self.approve_and_verify(act["id"])
        self.assert_applied_exactly(NS, act)
        dep = e2e.get("deployment", "web", NS)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25")
        self.assertEqual(dep["metadata"]["annotations"]["remedy.dev/action-id"], str(act["id"]))
        ready = [p for p in pods(NS, "app=web") if pod_ready(p)]
        self.assertEqual(len(ready), 2)
        rc, out, err = self.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.ok = True


if __name__ == "__main__":
    e2e.main()

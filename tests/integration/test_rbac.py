"""The RBAC in docs/deploy/ against what remedyd really does.

The approve loop runs against the test API server (broken rollout ->
pending action -> approve -> PATCH -> verified), which records every
request.  Each request remedyd made is turned into RBAC attributes (verb,
API group, resource/subresource, namespace) and must be allowed by the
ClusterRole (or the leader-election Role, in remedyd's own namespace).
Conversely every (group, resource, verb) granted must either have been
used (list counts as used with watch: the informers' fallback from a
streaming list to LIST+WATCH), or be needed for a kind that policy.kinds in docs/deploy/configmap.yaml
lets remedyd change (get to re-check, patch to dry-run and apply), or be
one of the documented grants the loop does not exercise: pods/log (the
log tail diagnosis reads), delete on pods (the StatefulSet forced
rollback), get on controllerrevisions, and the Lease for leader election.
Secrets, wildcards and non-resource URLs are never granted.

The manifests themselves are checked too: the ConfigMap's configuration is
valid (remedyd -n), the StatefulSet runs one replica with its database on
a PVC and probes /healthz and /readyz on the port http.listen names.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYD, SRCDIR, Env, pod_ready, wait_action, wait_for, wait_state  # noqa: E402

DEPLOY = os.path.join(SRCDIR, "docs", "deploy")
OWN_NAMESPACE = "remedy"
KIND_RESOURCES = {
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "CronJob": ("batch", "cronjobs"),
    "HorizontalPodAutoscaler": ("autoscaling", "horizontalpodautoscalers"),
    "Pod": ("", "pods"),
    "Service": ("", "services"),
}
# Granted but not exercised by the loop, each for a stated reason.
DOCUMENTED_UNUSED = {
    ("", "pods/log", "get"): "diagnosis reads the tail of a failing container's log",
    ("", "pods", "delete"): "the StatefulSet forced rollback deletes the pods stuck on the bad revision",
    ("apps", "controllerrevisions", "get"): "a revision read by name, as `kubectl rollout undo` reads it",
}
# Non-resource URLs every authenticated user may GET (system:discovery,
# system:public-info-viewer), so the ClusterRole needs no rule for them:
# API discovery (/api, /apis and /apis/GROUP/VERSION) included.
DISCOVERY = ("/version", "/api", "/apis", "/healthz", "/livez", "/readyz", "/openapi")


def load_all(name):
    with open(os.path.join(DEPLOY, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def attributes(req):
    """(verb, group, resource, namespace) of a recorded request, or None
    for a non-resource URL."""
    path = req["path"]
    q = urllib.parse.parse_qs(req.get("query") or "")
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if not rest:
        return None     # discovery (/api/v1, /apis/batch/v1beta1): non-resource
    ns = None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        ns, rest = rest[1], rest[2:]
    resource, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), \
        (rest[2] if len(rest) > 2 else None)
    m = req["method"]
    if m == "GET":
        if q.get("watch", [""])[0] in ("1", "true"):
            verb = "watch"
        else:
            verb = "get" if name else "list"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[m]
    return verb, group, resource + ("/" + sub if sub else ""), ns


def allows(rules, verb, group, resource):
    for r in rules:
        if group in r.get("apiGroups", []) and resource in r.get("resources", []) \
                and verb in r.get("verbs", []) and not r.get("resourceNames"):
            return True
    return False


def grants(rules):
    out = set()
    for r in rules:
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    out.add((g, res, v))
    return out


class Rbac(unittest.TestCase):
    def setUp(self):
        docs = load_all("rbac.yaml")
        self.kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
        self.cluster_rules = self.kinds[("ClusterRole", "remedyd")]["rules"]
        role = self.kinds[("Role", "remedyd-leader-election")]
        self.assertEqual(role["metadata"]["namespace"], OWN_NAMESPACE)
        self.role_rules = role["rules"]
        cm = [d for d in load_all("configmap.yaml") if d["kind"] == "ConfigMap"][0]
        self.config_text = cm["data"]["remedyd.yaml"]
        self.config = yaml.safe_load(self.config_text)

    def test_manifests(self):
        # Bindings tie the roles to the ServiceAccount remedyd runs as.
        sa = self.kinds[("ServiceAccount", "remedyd")]
        self.assertEqual(sa["metadata"]["namespace"], OWN_NAMESPACE)
        for kind, name, role in (("ClusterRoleBinding", "remedyd", "remedyd"),
                                 ("RoleBinding", "remedyd-leader-election",
                                  "remedyd-leader-election")):
            b = self.kinds[(kind, name)]
            self.assertEqual(b["roleRef"]["name"], role)
            self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": "remedyd",
                                              "namespace": OWN_NAMESPACE}])
        # Never secrets, never wildcards, never non-resource URLs.
        for r in self.cluster_rules + self.role_rules:
            self.assertNotIn("nonResourceURLs", r)
            for field in ("apiGroups", "resources", "verbs"):
                self.assertNotIn("*", r[field], r)
            self.assertNotIn("secrets", r["resources"], r)
            self.assertFalse(any(x in r["verbs"] for x in ("deletecollection", "escalate", "bind",
                                                            "impersonate")), r)
            # delete: pods only (the forced rollback's step)
            if "delete" in r["verbs"]:
                self.assertEqual((r["apiGroups"], r["resources"]), ([""], ["pods"]), r)

        # The ConfigMap's configuration is valid for this remedyd.
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(self.config_text)
            f.flush()
            r = subprocess.run([REMEDYD, "-n", "-c", f.name], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(self.config["kubernetes"].get("kubeconfig"),
                          "in the cluster remedyd uses its service account")

        # StatefulSet: one replica, PVC at the store's directory, probes on
        # the port http.listen names, resources set, no privileges.
        docs = load_all("statefulset.yaml")
        sts = [d for d in docs if d["kind"] == "StatefulSet"][0]
        self.assertEqual(sts["spec"]["replicas"], 1)
        pod = sts["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], "remedyd")
        c = pod["containers"][0]
        port = int(self.config["http"]["listen"].rsplit(":", 1)[1])
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports[c["livenessProbe"]["httpGet"]["port"]], port)
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertEqual(ports[c["readinessProbe"]["httpGet"]["port"]], port)
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        claims = [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]]
        store_dir = os.path.dirname(self.config["store"]["path"])
        self.assertIn(mounts.get(claims[0]), (store_dir,))
        self.assertEqual(os.path.dirname(self.config["control"]["socket"]), mounts["run"])
        self.assertIn("memory", c["resources"]["limits"])
        self.assertIn("memory", c["resources"]["requests"])
        sc = c["securityContext"]
        self.assertEqual((sc["allowPrivilegeEscalation"], sc["readOnlyRootFilesystem"],
                          sc["capabilities"]["drop"]), (False, True, ["ALL"]))
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])

    def test_readme_commands(self):
        """The README's kubectl commands grant every read rbac.yaml grants
        (pods/log included: the crash-loop diagnosis reads the previous
        container's log), by resource name."""
        with open(os.path.join(SRCDIR, "README.md")) as f:
            text = f.read()
        readme = set()
        for m in re.finditer(r"kubectl create clusterrole (\S+) --verb=(\S+) \\?\s*--resource=(\S+)", text):
            for res in m.group(3).split(","):
                for verb in m.group(2).split(","):
                    readme.add((res, verb))
        self.assertIn(("pods/log", "get"), readme)
        missing = sorted((res, v) for g, res, v in grants(self.cluster_rules)
                         if v in ("get", "list", "watch") and (res, v) not in readme)
        self.assertEqual(missing, [], "reads rbac.yaml grants that the README's commands do not")

    def test_loop_requests_allowed_and_nothing_more(self):
        env = Env(scenario="broken-rollout", replicas=3, hold_down="1s")
        ok = False
        try:
            c, d = env.cluster, env.daemon
            aid = wait_action(d, "pending")[0]["id"]
            rc, _, err = d.ctl("approve", str(aid))
            self.assertEqual(rc, 0, err)
            wait_state(d, aid, ["verified"], timeout=60)
            wait_for(lambda: all(pod_ready(p) for p in c.pods()), 60, "healthy pods")
            reqs = [r for r in c.requests() if r["user_agent"].startswith("remedyd/")]
            ok = True
        finally:
            self.assertEqual(env.close(ok), 0)

        used = set()
        denied = []
        for r in reqs:
            a = attributes(r)
            if a is None:
                if not r["path"].startswith(DISCOVERY):
                    denied.append(("non-resource", r["method"], r["path"]))
                continue
            verb, group, resource, ns = a
            used.add((group, resource, verb))
            if allows(self.cluster_rules, verb, group, resource):
                continue
            if ns == OWN_NAMESPACE and allows(self.role_rules, verb, group, resource):
                continue
            denied.append((verb, group, resource, ns, r["method"], r["path"]))
        self.maxDiff = None
        self.assertEqual(denied, [], "requests the ClusterRole does not allow")
        self.assertTrue(any(r["path"] == "/apis" for r in reqs), "API discovery ran")
        # The loop did read and write (the check is not vacuous).
        self.assertIn(("apps", "deployments", "patch"), used)
        self.assertIn(("", "pods", "watch"), used)

        policy_needs = set()
        for kind in self.config["policy"]["kinds"]:
            g, res = KIND_RESOURCES[kind]
            policy_needs |= {(g, res, "get"), (g, res, "patch")}
        # A watched resource needs list too: the informers fall back to
        # LIST+WATCH when the server does not stream lists (422/400).
        fallback = {(g, res, "list") for g, res, v in used if v == "watch"}
        unused = grants(self.cluster_rules) - used - fallback - policy_needs \
            - set(DOCUMENTED_UNUSED)
        self.assertEqual(unused, set(), "granted but neither used nor needed by policy.kinds")
        # Patch only on kinds the policy allows.
        patchable = {(g, res) for g, res, v in grants(self.cluster_rules) if v == "patch"}
        self.assertEqual(patchable, {KIND_RESOURCES[k] for k in self.config["policy"]["kinds"]})
        # The Role holds only the Lease.
        self.assertEqual({(g, res) for g, res, _ in grants(self.role_rules)},
                         {("coordination.k8s.io", "leases")})


if __name__ == "__main__":
    unittest.main(verbosity=2)

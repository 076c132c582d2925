"""An agent proposes through `remedyctl mcp`, a human approves: on a real
cluster.

remedyd runs as the ServiceAccount with the README's RBAC, with the
cluster's registry configured (registries.enabled).  A Deployment in its
own namespace runs an image whose repository the registry does not have:
the kubelet cannot pull it, remedyd opens an incident and, with no earlier
revision and no tag to choose, only explains it.  Then an agent, running
`remedyctl mcp` as its own uid (a real user made with useradd) and
speaking JSON-RPC on its stdin and stdout:

- does both handshakes (initialize, and the stateless _meta form with
  server/discover);
- reads the incident (list_incidents, get_incident);
- proposes a patch outside the policy: refused with its rule, nothing sent
  to the API server;
- proposes an image the registry does not have: refused by the registry
  check, nothing sent to the API server;
- proposes nginx:1.25: pending, and the API server's audit log shows
  remedyd's only write in the namespace is that proposal's dry-run.

The agent's uid (an approver here, as a person running an agent under
their own uid would be) cannot approve its own proposal, and no connection
that said hello as an agent can approve anything: both refused and
audited.  wait_for_decision times out while the action is pending; then a
second real user approves with `remedyctl approve` while the agent waits,
wait_for_decision answers with the decision, the API server receives
exactly the approved patch, the Deployment rolls out Ready and the action
is verified.

Timings are printed as BENCH lines (not asserted).
"""
import json
import os
import pwd
import shutil
import subprocess
import time
import unittest

import e2e
from e2e import ENV, pods, pod_ready, wait, waiting_reason
from harness import REMEDYCTL, wait_explained
from test_mcp import Mcp, control

NS = "e2e-mcp"
MISSING_REPO = "webapp:2.0"     # no such repository in the cluster's registry
IMAGE_PATH = "/spec/template/spec/containers/0/image"

BROKEN = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: %s
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
""" % MISSING_REPO


def bench(name, value, unit, note):
    print("BENCH " + json.dumps({"name": name, "value": round(value, 3), "unit": unit,
                                 "note": note}), flush=True)


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, text=True)


def as_user(user):
    pw = pwd.getpwnam(user)
    return dict(user=pw.pw_uid, group=pw.pw_gid,
                extra_groups=os.getgrouplist(user, pw.pw_gid),
                env={"PATH": "/usr/bin:/bin",
                     "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")})


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("useradd"),
                     "needs root and useradd to make the agent's and the human's users")
class AgentGate(e2e.Case):
    namespaces = (NS,)

    def setUp(self):
        super().setUp()
        tag = "em%d" % (os.getpid() % 100000)
        self.group, self.agent, self.human = tag + "s", tag + "a", tag + "h"
        self.users = []
        self.mcps = []
        sh("groupadd", self.group)
        for u in (self.agent, self.human):
            sh("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-G", self.group, u)
            self.users.append(u)

    def tearDown(self):
        try:
            for m in self.mcps:
                if m.p.poll() is None:
                    m.p.kill()
                    m.p.wait()
            super().tearDown()
        finally:
            for u in self.users:
                subprocess.run(["userdel", u], capture_output=True)
            subprocess.run(["groupdel", self.group], capture_output=True)

    def mcp(self, user):
        m = Mcp(self.daemon.socket, user=user)
        self.mcps.append(m)
        return m

    def ctl_as(self, user, *args):
        r = subprocess.run([REMEDYCTL, "-s", self.daemon.socket, "-o", "json"] + list(args),
                           capture_output=True, text=True, timeout=60, **as_user(user))
        return r.returncode, r.stdout, r.stderr

    def propose(self, m, patch, rationale):
        return m.call("propose_fix", {
            "target": {"kind": "Deployment", "namespace": NS, "name": "web"},
            "patch": patch, "rationale": rationale, "risk": "low"})["result"]

    def test_agent_proposes_human_approves(self):
        reg = ENV["REMEDY_E2E_REGISTRY"]
        self.start_remedyd(
            extra=("registries:\n  enabled: true\n"
                   "  mirrors: {docker.io: \"http://%s\"}\n"
                   "  insecure: [\"%s\"]\n" % (reg, reg)),
            control_extra="  group: %s\n  approvers: [%s, %s]\n" % (
                self.group, self.human, self.agent))
        d = self.daemon
        for path in (self.workdir, d.dir):
            os.chmod(path, 0o711)
        e2e.apply(BROKEN, NS)
        wait(lambda: any(waiting_reason(p) in ("ErrImagePull", "ImagePullBackOff")
                         for p in pods(NS, "app=web")), 120, "the kubelet's pull failure")

        # --- both handshakes, as the agent's own uid ---
        m = self.mcp(self.agent)
        r = m.handshake()["result"]
        self.assertEqual(r["protocolVersion"], "2025-11-25")
        names = {t["name"] for t in m.request("tools/list")["result"]["tools"]}
        self.assertEqual(names, {"list_incidents", "get_incident", "list_actions",
                                 "get_action", "propose_fix", "wait_for_decision"})
        m2 = self.mcp(self.agent)
        disc = m2.request("server/discover", meta=True)["result"]
        self.assertIn("2026-07-28", disc["supportedVersions"])
        self.assertEqual(disc["resultType"], "complete")
        r = m2.call("list_incidents", {}, meta=True)["result"]
        self.assertFalse(r["isError"], r)
        self.assertEqual(r["resultType"], "complete")
        self.assertEqual(m2.close(), 0)

        # --- the incident remedyd sees; it has no fix of its own ---
        def incident():
            r = m.call("list_incidents", {"state": "open"})["result"]
            self.assertFalse(r["isError"], r)
            return [i for i in r["structuredContent"]["incidents"]
                    if (i["namespace"], i["kind"], i["name"]) == (NS, "Deployment", "web")]
        inc = wait(incident, 120, "the incident of Deployment web")[0]
        self.assertIn(inc["reason"], ("ErrImagePull", "ImagePullBackOff"))
        wait_explained(d, "web", timeout=120)   # remedyd's own diagnosis: no patch
        g = m.call("get_incident", {"id": inc["id"]})["result"]
        self.assertFalse(g["isError"], g)
        self.assertEqual(g["structuredContent"]["incident"]["actions"], [])
        rc, out, err = self.ctl("list", "--all")
        self.assertEqual((rc, out["actions"]), (0, []), err)

        # --- outside the policy: refused with its rule ---
        r = self.propose(m, [{"op": "add", "path": "/spec/template/spec/serviceAccountName",
                              "value": "admin"}], "run it with more rights")
        self.assertTrue(r["isError"], r)
        self.assertEqual((r["structuredContent"]["state"], r["structuredContent"]["rule"]),
                         ("refused", "path-not-allowed"))
        self.assertIn("path-not-allowed", r["content"][0]["text"])

        # --- an image the registry does not have: refused by the registry check ---
        r = self.propose(m, [{"op": "replace", "path": IMAGE_PATH, "value": "nginx:1.99"}],
                         "1.99 is the newest")
        self.assertTrue(r["isError"], r)
        self.assertEqual((r["structuredContent"]["state"], r["structuredContent"]["rule"]),
                         ("refused", "registry-image-missing"))
        self.assertIn("nginx:1.99 does not exist", r["structuredContent"]["reason"])

        # --- a valid proposal: pending after a dry-run only ---
        t0 = time.monotonic()
        r = self.propose(m, [{"op": "replace", "path": IMAGE_PATH, "value": "nginx:1.25"}],
                         "webapp has no image in this registry; the service runs nginx:1.25")
        bench("mcp_propose_fix_s", time.monotonic() - t0, "s",
              "propose_fix round trip: GET, normalise, wall, registry HEAD, dry-run, store")
        self.assertFalse(r["isError"], r)
        pend = r["structuredContent"]
        aid = pend["id"]
        self.assertEqual((pend["state"], pend["origin"]), ("pending", "agent"))
        self.assertIn({"path": IMAGE_PATH, "before": MISSING_REPO, "after": "nginx:1.25"},
                      pend["diff"])
        rc, out, err = self.ctl("show", str(aid))
        self.assertEqual(rc, 0, err)
        act = out["action"]
        self.assertEqual((act["proposer"], act["proposer_uid"], act["client"]),
                         (self.agent, pwd.getpwnam(self.agent).pw_uid, "conformance-client/1.0"))
        self.assertTrue([x for x in act["evidence"]
                         if x.startswith("registry: the proposed image nginx:1.25 exists")],
                        act["evidence"])
        # the API server saw one write of remedyd's in the namespace: a dry-run
        self.assert_only_dry_runs(NS)
        ws = self.audit.writes(NS)
        self.assertEqual(len(ws), 1, [e["requestURI"] for e in ws])
        stamp = "/metadata/annotations/remedy.dev~1action-id"   # known once stored
        self.assertEqual(ws[0]["requestObject"], [op for op in act["patch"]
                                                  if op["path"] != stamp])

        # --- the agent never decides ---
        self.assertEqual(m.call("approve_action", {"id": aid})["error"]["code"], -32602)
        hello, approve = control(d.socket, ("hello", {"agent": True, "client": {"name": "x"}}),
                                 ("approve", {"id": aid}))
        self.assertTrue(hello["ok"], hello)
        self.assertEqual(approve["error"]["code"], "permission_denied", approve)
        rc, out, err = self.ctl_as(self.agent, "approve", str(aid))
        self.assertEqual(rc, 4, err)
        self.assertIn("cannot approve", err)
        rc, rows, err = self.ctl("audit", "--action", str(aid))
        denied = [x for x in rows["rows"] if x["event"] == "denied"]
        self.assertEqual(len(denied), 2, rows)
        self.assertIn("agent", denied[0]["detail"]["why"])
        self.assertEqual(denied[1]["actor"], self.agent)
        self.assertIn("self-approval", denied[1]["detail"]["why"])
        self.assertEqual(len(self.audit.writes(NS, dry_run=False)), 0)

        # --- wait_for_decision: times out while pending ---
        t0 = time.monotonic()
        w = m.call("wait_for_decision", {"id": aid, "timeout": 2})["result"]["structuredContent"]
        took = time.monotonic() - t0
        self.assertEqual((w["state"], w["decided"]), ("pending", False))
        self.assertGreaterEqual(took, 2.0)
        bench("mcp_wait_timeout_s", took, "s", "wait_for_decision timeout 2 s, nobody decides")

        # --- a human approves while the agent waits ---
        m.send_raw((json.dumps({"jsonrpc": "2.0", "id": 900, "method": "tools/call",
                                "params": {"name": "wait_for_decision",
                                           "arguments": {"id": aid, "timeout": 300}}})
                    + "\n").encode())
        time.sleep(1)  # the agent is waiting on its watch stream
        approved_at = time.monotonic()
        rc, out, err = self.ctl_as(self.human, "approve", str(aid), "--comment", "e2e")
        self.assertEqual(rc, 0, err)
        reply = m.read(timeout=120)
        answered = time.monotonic() - approved_at
        self.assertEqual(reply["id"], 900)
        w = reply["result"]["structuredContent"]
        self.assertTrue(w["decided"], w)
        self.assertNotEqual(w["state"], "pending")
        self.assertEqual(w["approved_by"], self.human)
        bench("mcp_wait_answer_after_approve_s", answered, "s",
              "remedyctl approve started -> wait_for_decision answered (watch events)")
        done = e2e.wait_state(d, aid, ("verified", "failed", "not-recovered"), timeout=180)
        self.assertEqual(done["state"], "verified", done)
        bench("mcp_approve_to_verified_s", time.monotonic() - approved_at, "s",
              "approve -> applied -> rollout Ready -> verified")
        self.assert_applied_exactly(NS, act)
        dep = e2e.get("deployment", "web", NS)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25")
        self.assertEqual(dep["metadata"]["annotations"]["remedy.dev/action-id"], str(aid))
        ready = [p for p in pods(NS, "app=web") if pod_ready(p)]
        self.assertEqual(len(ready), 2)
        g = m.call("get_action", {"id": aid})["result"]["structuredContent"]
        self.assertEqual((g["state"], g["verdict"], g["approved_by"]),
                         ("verified", "verified", self.human))

        rc, rows, err = self.ctl("audit", "--action", str(aid))
        events = [x["event"] for x in rows["rows"]]
        for ev in ("suggested", "denied", "approved", "applied", "verified"):
            self.assertIn(ev, events)
        sug = [x for x in rows["rows"] if x["event"] == "suggested"][0]
        self.assertEqual(sug["detail"]["agent"]["proposer"], self.agent)
        appr = [x for x in rows["rows"] if x["event"] == "approved"][0]
        self.assertEqual(appr["actor"], self.human)
        rc, out, err = self.ctl("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.assertEqual(m.close(), 0)
        self.ok = True


if __name__ == "__main__":
    e2e.main()

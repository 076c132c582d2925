"""remedyd analyze on a real cluster, with the README's RBAC.

Namespace e2e-analyze-ok holds a healthy Deployment; e2e-analyze the same
Deployment rolled out to a tag the registry does not have.  With remedyd's
own token (the README's grants):

  - `remedyd analyze -n e2e-analyze-ok` exits 0 and reports nothing;
  - `remedyd analyze -n e2e-analyze` exits 1 and reports the one incident,
    its root cause from the kubelet's message, and the rollback remedyd
    would propose, whose dry-run the API server accepted;
  - the API server's audit log shows that analyze wrote nothing but
    dry-runs, and with --no-dry-run nothing at all.

Then the figures (BENCH lines, not asserted): wall time, CPU and requests of
analyze for one namespace and for all namespaces (the admin kubeconfig),
beside `kubectl get pods,deploy,rs,events -A -o json` on the same cluster in
the same run.  The optimised build is measured when it is there
(REMEDY_SRCDIR/build), else the binary under test.
"""
import json
import os
import resource
import subprocess
import time

import e2e
from e2e import ENV, E2E_DIR

NS = "e2e-analyze"
OK = "e2e-analyze-ok"
REMEDYD = os.environ["REMEDYD"]


def analyze(*args, kubeconfig=None, binary=REMEDYD):
    r = subprocess.run([binary, "analyze", "--kubeconfig",
                        kubeconfig or os.path.join(E2E_DIR, "remedyd.kubeconfig")] + list(args),
                       capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout, r.stderr


def timed(cmd):
    """(wall s, CPU s of the child, stdout, stderr)"""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode not in (0, 1):
        raise AssertionError("%s: %s" % (cmd, r.stderr))
    return wall, cpu, r.stdout, r.stderr


def bench(name, value, unit, ref_name, ref_value, note):
    print("BENCH " + json.dumps({"name": name, "value": round(value, 3), "unit": unit,
                                 "reference": ref_name, "ref_value": round(ref_value, 3),
                                 "ratio": round(value / ref_value, 2) if ref_value else None,
                                 "note": note}), flush=True)


class Analyze(e2e.Case):
    namespaces = (NS, OK)

    def test_analyze(self):
        e2e.healthy_deployment(OK)
        e2e.healthy_deployment(NS)
        e2e.break_rollout(NS)

        rc, out, err = analyze("-n", OK)
        self.assertEqual((rc, out), (0, "Nothing broken in the namespaces looked at.\n"), err)

        rc, out, err = analyze("-n", NS, "-o", "json")
        self.assertEqual(rc, 1, err)
        rep = json.loads(out)
        self.assertEqual(rep["namespaces"], [NS])
        self.assertEqual([(i["kind"], i["name"], i["reason"]) for i in rep["incidents"]],
                         [("Deployment", "web", "ImagePullBackOff")], rep)
        inc = rep["incidents"][0]
        self.assertIn("nginx:1.25-typo", inc["diagnosis"]["root_cause"])
        self.assertIn("not found", inc["diagnosis"]["root_cause"])
        self.assertEqual(len(inc["actions"]), 1, inc)
        act = inc["actions"][0]
        self.assertEqual((act["outcome"], act["dry_run"]["status"]), ("proposed", 200), act)
        self.assertIn({"path": "/spec/template/spec/containers/0/image",
                       "before": "nginx:1.25-typo", "after": "nginx:1.25"}, act["changes"])
        self.assertGreater(rep["stats"]["requests"], 0)
        # the table says the same
        rc, out, err = analyze("-n", NS)
        self.assertEqual(rc, 1, err)
        self.assertIn("1. Deployment %s/web: ImagePullBackOff" % NS, out)
        self.assertIn("Fix (risk low; the API server's dry-run accepted it): Roll back "
                      "Deployment %s/web" % NS, out)
        # two looks with dry-runs, then one without: two dry-run PATCHes
        rc, out, err = analyze("-n", NS, "--no-dry-run", "-o", "json")
        self.assertEqual(rc, 1, err)
        self.assertNotIn("dry_run", json.loads(out)["incidents"][0]["actions"][0])
        ws = e2e.wait(lambda: self.audit.writes(NS) if len(self.audit.writes(NS)) >= 2 else None,
                      30, "the audit log to show the dry-runs")
        self.assertEqual([(w["verb"], e2e.is_dry_run(w)) for w in ws], [("patch", True)] * 2, ws)
        self.assertEqual(self.audit.writes(OK), [])
        dep = e2e.get("deployment", "web", NS)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"],
                         "nginx:1.25-typo", "analyze changed nothing")

        # --- figures ---
        plain = os.path.join(os.environ.get("REMEDY_SRCDIR", ""), "build", "daemon", "remedyd")
        binary = plain if os.access(plain, os.X_OK) else REMEDYD
        note = "real single-node cluster v1.20.2; %s build; %s" % (
            "optimised" if binary == plain else "this", "best of 3")
        admin = ENV["KUBECONFIG"]
        kubectl = ENV["REMEDY_E2E_KUBECTL"]
        kc_runs = [timed([kubectl, "--kubeconfig", admin, "-v=6", "get", "pods,deploy,rs,events",
                          "-A", "-o", "json"]) for _ in range(3)]
        kc = min(kc_runs, key=lambda r: r[0])
        kc_requests = sum(1 for line in kc[3].splitlines() if " GET https://" in line)
        for scope, args in (("1 namespace", ["-n", NS]), ("all namespaces", ["-A"])):
            runs = [timed([binary, "analyze", "--kubeconfig", admin, "-o", "json"] + args)
                    for _ in range(3)]
            best = min(runs, key=lambda r: r[0])
            stats = json.loads(best[2])["stats"]
            bench("remedyd analyze, %s: wall" % scope, best[0], "s",
                  "kubectl get pods,deploy,rs,events -A -o json", kc[0], note)
            bench("remedyd analyze, %s: CPU" % scope, best[1], "s", "kubectl, same command",
                  kc[1], note)
            bench("remedyd analyze, %s: requests" % scope, stats["requests"], "",
                  "kubectl, same command", kc_requests, note)
        self.ok = True


if __name__ == "__main__":
    e2e.main()

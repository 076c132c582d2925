"""remedyd keeps watching through a kube-apiserver restart and an etcd
compaction.

With remedyd synced, etcd is compacted at its current revision and the API
server is restarted (scripts/cluster restart): every watch is cut, and when
remedyd comes back with the resourceVersions it had, the new API server's
watch cache starts past them, so the watches end in 410 Gone and remedyd
must relist (remedy_informer_relists_total rises).  Then a Deployment is
rolled out to a missing tag: the incident, the pending action, the approval
and the verification work as on a fresh start.
"""
import json
import os
import socket
import subprocess
import urllib.request

import e2e
from e2e import ENV, E2E_DIR, wait

NS = "e2e-disruption"
CLUSTER = os.path.join(e2e.HERE, "..", "..", "scripts", "cluster")


def etcd(path, body):
    req = urllib.request.Request(ENV["REMEDY_E2E_ETCD"] + path, data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def metric_sum(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Disruption(e2e.Case):
    namespaces = (NS,)

    def test_apiserver_restart_and_compaction(self):
        e2e.healthy_deployment(NS, replicas=1)
        port = free_port()
        d = self.start_remedyd(extra="http:\n  listen: 127.0.0.1:%d\n" % port)
        before = metric_sum(port, "remedy_informer_relists_total")

        # some history after remedyd's resourceVersions, then compact it away
        for i in range(5):
            e2e.kubectl("-n", NS, "annotate", "deployment/web", "e2e/churn=%d" % i, "--overwrite")
        rev = int(etcd("/v3/kv/range", {"key": "Lw=="})["header"]["revision"])
        etcd("/v3/kv/compaction", {"revision": str(rev), "physical": True})
        r = subprocess.run([CLUSTER, "restart", "apiserver", E2E_DIR],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait(lambda: e2e.kubectl("get", "--raw", "/readyz", check=False).returncode == 0,
             120, "the API server to be ready again")

        wait(lambda: metric_sum(port, "remedy_informer_relists_total") > before, 120,
             "remedyd to relist after 410 Gone")
        self.assertIsNone(d.proc.poll(), "remedyd kept running")

        e2e.break_rollout(NS)
        act = self.one_pending()
        self.assertEqual((act["kind"], act["name"]), ("Deployment", "web"))
        self.assert_only_dry_runs(NS)
        self.approve_and_verify(act["id"])
        self.assert_applied_exactly(NS, act)
        self.ok = True


if __name__ == "__main__":
    e2e.main()

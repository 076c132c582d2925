"""Leader election with two real remedyd processes on one Lease.

Both watch the same cluster (a broken rollout); only the holder of the
Lease diagnoses, so exactly one dry-run PATCH and one pending action exist,
in the leader's store.  Killing the leader with SIGKILL hands the Lease to
the standby within the lease duration (plus one retry period), and the new
leader diagnoses in turn.  A SIGTERM releases the Lease (empty holder).
"""
import os
import signal
import sys
import tempfile
import shutil
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, Daemon, wait_action, wait_for  # noqa: E402

LEASE = "/apis/coordination.k8s.io/v1/namespaces/demo/leases/remedyd"
DURATION = 4.0
RETRY = 0.5


class LeaderDaemon(Daemon):
    """A Daemon whose config turns leader election on."""

    def __init__(self, workdir, cluster, identity):
        self.dir = os.path.join(workdir, "remedyd-" + identity)
        os.makedirs(self.dir)
        self.socket = os.path.join(self.dir, "remedyd.sock")
        self.db = os.path.join(self.dir, "remedy.db")
        self.config = os.path.join(self.dir, "remedyd.yaml")
        with open(self.config, "w") as f:
            f.write("kubernetes:\n  kubeconfig: %s\n  namespaces: [demo]\n"
                    "  leader_election:\n    enabled: true\n    namespace: demo\n"
                    "    name: remedyd\n    identity: %s\n    lease_duration: %ds\n"
                    "    renew_deadline: 3s\n    retry_period: %dms\n"
                    "store:\n  path: %s\ncontrol:\n  socket: %s\n"
                    "diagnosis:\n  backend: rules\n  hold_down: 1s\n"
                    % (cluster.kubeconfig, identity, DURATION, RETRY * 1000, self.db, self.socket))
        self.logpath = os.path.join(self.dir, "remedyd.log")
        self.proc = None
        self.start()


def dry_runs(c):
    return [r for r in c.requests() if r["method"] == "PATCH" and r["dry_run"]]


class LeaderElection(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-leader-")
        self.cluster = Cluster(self.workdir, scenario="broken-rollout", replicas=3)
        self.daemons = []
        self.ok = False

    def tearDown(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        self.cluster.stop()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            for d in self.daemons:
                print("--- %s ---\n%s" % (d.dir, d.log()))
            print("--- workdir kept: " + self.workdir)

    def holder(self):
        st, lease = self.cluster.api("GET", LEASE)
        return lease["spec"].get("holderIdentity") if st == 200 else None

    def test_one_acts_and_hands_over(self):
        c = self.cluster
        a = LeaderDaemon(self.workdir, c, "a")
        self.daemons.append(a)
        wait_for(lambda: self.holder() == "a", 20, "a to hold the lease")
        b = LeaderDaemon(self.workdir, c, "b")
        self.daemons.append(b)
        b_synced = time.monotonic()

        pend = wait_action(a, "pending")
        self.assertEqual(len(pend), 1)
        # b has been synced past its hold-down and several retry periods
        wait_for(lambda: time.monotonic() > b_synced + 3.0, 10, "b to have had its chance")
        rc, out, err = b.ctl("list")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["actions"], [], "the standby proposed nothing")
        self.assertEqual(len(dry_runs(c)), 1, "exactly one instance dry-ran a patch")
        self.assertEqual(self.holder(), "a")
        st, lease = c.api("GET", LEASE)
        self.assertEqual(lease["spec"]["leaseDurationSeconds"], int(DURATION))

        # the leader dies without a word: the standby takes over
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        killed = time.monotonic()
        wait_for(lambda: self.holder() == "b", 15, "b to take the lease over", interval=0.02)
        handover = time.monotonic() - killed
        print("handover after SIGKILL: %.2f s (lease duration %.0f s, retry %.1f s)"
              % (handover, DURATION, RETRY))
        self.assertLessEqual(handover, DURATION + 2 * RETRY)
        st, lease = c.api("GET", LEASE)
        self.assertGreaterEqual(lease["spec"]["leaseTransitions"], 1)
        pend = wait_action(b, "pending")
        self.assertEqual(len(pend), 1)
        self.assertEqual(len(dry_runs(c)), 2)

        # a clean stop releases the lease at once
        self.assertEqual(b.stop(), 0)
        st, lease = c.api("GET", LEASE)
        self.assertEqual(lease["spec"].get("holderIdentity", ""), "")
        self.assertEqual(lease["spec"]["leaseDurationSeconds"], 1)
        self.ok = True


if __name__ == "__main__":
    unittest.main()

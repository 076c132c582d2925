"""A claim whose StorageClass does not exist, end to end through the real
remedyd and remedyctl.

The test API server runs its PersistentVolume controller (--volumes):
claims of an existing class are bound, a claim naming a missing class gets
the controller's ProvisioningFailed Event and stays Pending.  remedyd
watches StorageClasses (discovered at storage.k8s.io/v1); its explanation
of claim `data` (class "fast") names the classes that exist and the
default one, and says why there is no patch: a claim's class is immutable.
Claim `logs` (class "fast-ssd") is bound and opens no incident.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_explained, wait_for  # noqa: E402

NS = "/api/v1/namespaces/demo"


def storage_class(name, default=False):
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
          "metadata": {"name": name}, "provisioner": "rancher.io/local-path"}
    if default:
        sc["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    return sc


def claim(name, cls):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"storageClassName": cls, "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


def create(c):
    for sc in (storage_class("standard", default=True), storage_class("fast-ssd")):
        status, obj = c.api("POST", "/apis/storage.k8s.io/v1/storageclasses", sc)
        assert status == 201, obj
    for name, cls in (("data", "fast"), ("logs", "fast-ssd")):
        status, obj = c.api("POST", NS + "/persistentvolumeclaims", claim(name, cls))
        assert status == 201, obj
    wait_for(lambda: c.get(NS + "/persistentvolumeclaims/logs").get("status", {}).get("phase") == "Bound",
             30, "claim logs to be bound")


class StorageExplain(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="empty", hold_down="1s", before_daemon=create,
                       cluster_args=["--volumes"])
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        if self.ok:
            self.assertEqual(rc, 0)

    def test_missing_class_explained(self):
        c, d = self.env.cluster, self.env.daemon
        self.assertEqual(c.get(NS + "/persistentvolumeclaims/data")["status"]["phase"], "Pending")
        inc = wait_explained(d, "data")
        self.assertEqual((inc["kind"], inc["reason"]), ("PersistentVolumeClaim", "ProvisioningFailed"))
        summary = inc["diagnosis"]["summary"]
        self.assertIn("StorageClass fast does not exist", summary)
        self.assertIn("exist: fast-ssd, standard", summary)
        self.assertIn("the default class: standard", summary)
        self.assertIn("cannot be changed", inc["diagnosis"]["root_cause"])
        rc, out, err = d.ctl("incidents")
        self.assertEqual([i["name"] for i in out["incidents"]], ["data"])
        rc, out, err = d.ctl("list")
        self.assertEqual(out["actions"], [])
        self.assertEqual(c.remedyd_writes(include_dry_run=True), [])
        self.ok = True


if __name__ == "__main__":
    unittest.main()

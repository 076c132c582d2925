#!/usr/bin/env python3
"""An exec credential plugin for tests, run the way kubectl (and remedyd)
runs EKS/GKE/AKS login helpers.

    exec_plugin.py [--api-version V] [--token-file F] [--expires-in S]
                   [--cert F --key F] [--count-file F] [--pid-file F]
                   [--check-info] [--fail] [--hang] [--garbage]

Prints an ExecCredential (apiVersion V, default client.authentication.k8s.io/v1)
whose status holds the token read from F (or the certificate and key read
from the files), with expirationTimestamp S seconds from now when given.
--count-file adds one to the number in that file per run; --pid-file writes
the process id.  --check-info exits 3 unless KUBERNETES_EXEC_INFO is an
ExecCredential of the same apiVersion with spec.interactive false (and, when
REMEDY_EXPECT_SERVER is set, spec.cluster.server equal to it).  --fail
exits 1 with a message on stderr; --hang sleeps until killed; --garbage
prints something that is not JSON.
"""

import argparse
import datetime
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api-version", default="client.authentication.k8s.io/v1")
    ap.add_argument("--token-file")
    ap.add_argument("--expires-in", type=float)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--count-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--check-info", action="store_true")
    ap.add_argument("--fail", action="store_true")
    ap.add_argument("--hang", action="store_true")
    ap.add_argument("--garbage", action="store_true")
    a = ap.parse_args()
    if a.pid_file:
        with open(a.pid_file, "w") as f:
            f.write(str(os.getpid()))
    if a.count_file:
        n = 0
        if os.path.exists(a.count_file):
            with open(a.count_file) as f:
                n = int(f.read().strip() or 0)
        with open(a.count_file + ".tmp", "w") as f:
            f.write(str(n + 1))
        os.replace(a.count_file + ".tmp", a.count_file)
    if a.check_info:
        try:
            info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
        except (KeyError, ValueError) as e:
            sys.stderr.write("KUBERNETES_EXEC_INFO missing or not JSON: %s\n" % e)
            return 3
        want = os.environ.get("REMEDY_EXPECT_SERVER")
        if (info.get("apiVersion") != a.api_version or info.get("kind") != "ExecCredential"
                or info.get("spec", {}).get("interactive") is not False
                or (want and info.get("spec", {}).get("cluster", {}).get("server") != want)):
            sys.stderr.write("unexpected KUBERNETES_EXEC_INFO: %s\n" % json.dumps(info))
            return 3
    if a.fail:
        sys.stderr.write("error: login failed: the refresh token has expired\nmore detail\n")
        return 1
    if a.hang:
        while True:
            time.sleep(1)
    if a.garbage:
        print("Please visit https://login.example/device and enter code ABCD")
        return 0
    status = {}
    if a.token_file:
        with open(a.token_file) as f:
            status["token"] = f.read().strip()
    if a.cert:
        with open(a.cert) as f:
            status["clientCertificateData"] = f.read()
        with open(a.key) as f:
            status["clientKeyData"] = f.read()
    if a.expires_in is not None:
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=a.expires_in)
        status["expirationTimestamp"] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    print(json.dumps({"apiVersion": a.api_version, "kind": "ExecCredential", "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

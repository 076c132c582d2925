"""Make thousands of pod changes against the test API server, for the chaos
test (tests/unit/test_chaos.c).

    python3 chaos_mutator.py --dir DIR --changes N [--seed S] [--ns NS]

Creates, updates (an annotation counter) and deletes pods named p-0..p-K in
namespace NS: creates and updates go in batches through /_test/objects (no
faults there), deletes through the API (retried when a fault answers 429 or
500).  Prints one JSON line at the end: {"changes": N, "live": M}.
"""

import argparse
import http.client
import json
import os
import random
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--changes", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ns", default="chaos")
    ap.add_argument("--pods", type=int, default=300)
    ap.add_argument("--token", default="remedy-test-token")
    a = ap.parse_args()
    with open(os.path.join(a.dir, "ready")) as f:
        port = json.load(f)["port"]
    ctx = ssl.create_default_context(cafile=os.path.join(a.dir, "ca.crt"))
    rng = random.Random(a.seed)

    def req(method, path, body=None, auth=True):
        for attempt in range(50):
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
            h = {"User-Agent": "chaos-mutator/1", "Content-Type": "application/json"}
            if auth:
                h["Authorization"] = "Bearer " + a.token
            try:
                c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
                r = c.getresponse()
                data = r.read()
            except OSError:
                time.sleep(0.05)
                continue
            finally:
                c.close()
            if r.status in (429, 500):
                time.sleep(0.05)
                continue
            return r.status, data
        sys.exit("chaos-mutator: %s %s kept failing" % (method, path))

    req("POST", "/_test/objects", {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": a.ns}}, auth=False)
    live = {}
    changes = 0
    while changes < a.changes:
        batch = []
        for _ in range(rng.randint(1, 25)):
            i = rng.randrange(a.pods)
            name = "p-%d" % i
            if name in live and rng.random() < 0.25:
                st, _ = req("DELETE", "/api/v1/namespaces/%s/pods/%s" % (a.ns, name))
                if st == 200:
                    del live[name]
                    changes += 1
                continue
            gen = live.get(name, 0) + 1
            live[name] = gen
            batch.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": name, "namespace": a.ns,
                                       "annotations": {"chaos/gen": str(gen)},
                                       "labels": {"app": "chaos"}},
                          "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
        if batch:
            st, data = req("POST", "/_test/objects", {"kind": "List", "apiVersion": "v1", "items": batch},
                           auth=False)
            if st != 200:
                sys.exit("chaos-mutator: /_test/objects answered %d: %s" % (st, data[:200]))
            changes += len(batch)
    print(json.dumps({"changes": changes, "live": len(live)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

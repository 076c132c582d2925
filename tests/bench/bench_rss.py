#!/usr/bin/env python3
"""RSS with 1k and 10k pods cached (the 100k figure comes from bench_watch).

Runs bench_watch (tests/bench/bench_watch.c) with a small watch stream and
-K -P (no kubectl, no Python client) for its paged-LIST memory figure only:
a fresh process lists N realistic pods (pages of 500) from the bench stream
server into the pod informer with projections, and reports its resident set
before the LIST, after it, and at peak.  The reference is the RSS before the
LIST, measured in the same process.
"""
import json
import os
import re
import subprocess
import sys

BUILD = os.environ.get("REMEDY_BUILD", "build")
BENCH = os.path.join(BUILD, "tests", "bench", "bench_watch")
NUM = r"([0-9]+(?:\.[0-9]+)?)"


def main():
    for n in (1000, 10000):
        r = subprocess.run([BENCH, "-e", "1000", "-p", str(n), "-K", "-P"],
                           capture_output=True, text=True, timeout=900)
        sys.stderr.write(r.stdout + r.stderr)
        m = re.search(r"paged LIST of (\d+) pods \(pages of 500\): cached (\d+); RSS before %s MiB, "
                      r"after %s MiB, peak %s MiB; %s bytes/pod" % (NUM, NUM, NUM, NUM), r.stdout)
        if r.returncode != 0 or not m:
            print("bench_rss: bench_watch -p %d failed (exit %d)" % (n, r.returncode), file=sys.stderr)
            return 1
        print("BENCH " + json.dumps({
            "name": "RSS at %dk pods (peak, paged LIST into the informer cache)" % (n // 1000),
            "value": float(m.group(5)), "unit": "MiB",
            "reference": "RSS before the LIST", "ref_value": float(m.group(3)),
            "goal": "", "met": None,
            "note": "%s cached; after the LIST %s MiB; %s bytes/pod" % (m.group(2), m.group(4), m.group(6))}))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

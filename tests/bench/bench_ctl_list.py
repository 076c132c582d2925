#!/usr/bin/env python3
"""`remedyctl list` latency with 10k stored actions (#7, goal <= 50 ms).

The real remedyd diagnoses the test cluster's broken rollout once; the store
is then grown to 10,000 actions by copying that action row (every column,
whatever the schema holds today, state "rejected" so the engine leaves them
alone), remedyd is started again on it, and the wall time of the whole
`remedyctl list` process (connect, request, a reply of 10k summaries, the
table) is measured: `remedyctl list` as an operator runs it (the newest
100 of the 10k, and a line saying how many there are) and `remedyctl list
--all` (every one of the 10k rows).  The reference, measured in the same
run, is `remedyctl status`: the same process start, connection and round
trip with a reply of a few hundred bytes.
"""
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("REMEDY_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from harness import REMEDYCTL, Cluster, Daemon, wait_action  # noqa: E402

N = 10000
RUNS = 15


def timed(sock, *args):
    out = []
    for _ in range(RUNS):
        t = time.perf_counter()
        r = subprocess.run([REMEDYCTL, "-s", sock] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        out.append((time.perf_counter() - t) * 1000)
        if r.returncode != 0:
            raise SystemExit("remedyctl %s: %s" % (" ".join(args), r.stderr.decode()))
    return out, len(r.stdout)


def grow(db, n):
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(actions)") if r[1] != "id"]
    sel = ", ".join("'rejected'" if c == "state" else c for c in cols)
    con.execute("BEGIN")
    for _ in range(n - 1):
        con.execute("INSERT INTO actions (%s) SELECT %s FROM actions WHERE id = 1"
                    % (", ".join(cols), sel))
    con.commit()
    count = con.execute("SELECT count(*) FROM actions").fetchone()[0]
    con.close()
    return count


def main():
    workdir = tempfile.mkdtemp(prefix="remedy-bench-list-")
    cluster = d = None
    try:
        cluster = Cluster(workdir)
        d = Daemon(workdir, cluster)
        wait_action(d, "pending")
        d.stop()
        count = grow(d.db, N)
        d.start()
        ref, ref_bytes = timed(d.socket, "status")
        lst, lst_bytes = timed(d.socket, "list")
        js, js_bytes = timed(d.socket, "-o", "json", "list")
        al, al_bytes = timed(d.socket, "list", "--all")
        alj, alj_bytes = timed(d.socket, "-o", "json", "list", "--all")
        med = statistics.median(lst)
        print("actions stored: %d; list output %d bytes (table), %d bytes (json); "
              "--all %d bytes (table), %d bytes (json)"
              % (count, lst_bytes, js_bytes, al_bytes, alj_bytes), file=sys.stderr)
        print("BENCH " + json.dumps({
            "name": "remedyctl list at 10k actions", "value": round(med, 1), "unit": "ms",
            "reference": "remedyctl status (same process start and round trip)",
            "ref_value": round(statistics.median(ref), 1), "goal": "<= 50 ms",
            "met": med <= 50,
            "note": "median of %d runs; p90 %.1f ms; %d actions stored, the newest 100 "
                    "listed; -o json %.1f ms"
                    % (RUNS, sorted(lst)[int(RUNS * 0.9) - 1], count, statistics.median(js))}))
        print("BENCH " + json.dumps({
            "name": "remedyctl list --all at 10k actions",
            "value": round(statistics.median(al), 1), "unit": "ms",
            "reference": "remedyctl status (same process start and round trip)",
            "ref_value": round(statistics.median(ref), 1), "goal": None, "met": None,
            "note": "median of %d runs; every row (%d bytes of table); -o json %.1f ms"
                    % (RUNS, al_bytes, statistics.median(alj))}))
    finally:
        if d:
            d.stop()
        if cluster:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Run the benchmarks in tests/bench, print one table, update docs/performance.md.

Used by ./scripts/bench (see tests/bench/README.md for what a benchmark is).

    run.py --build DIR [--doc FILE] [--timeout SEC] [PATTERN...]
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
BEGIN = "<!-- bench-table:begin (written by ./scripts/bench; edit outside) -->"
END = "<!-- bench-table:end -->"

# Figures promised by the issues, with their goals.  A benchmark reports one
# by using a name that starts with the key; until one does, the table lists
# it as not measured.
EXPECTED = [
    ("watch ingest CPU per event", "<= 1.3x jansson parse-only floor (#3)"),
    ("watch ingest vs kubectl", ">= 3x faster than kubectl get -w (#3)"),
    ("watch ingest vs python3-kubernetes", ">= 10x faster than Watch().stream() (#3)"),
    ("RSS at 1k pods", "(#9)"),
    ("RSS at 10k pods", "(#9)"),
    ("RSS at 100k pods", "<= 150 MiB after a paged LIST (#3)"),
    ("event -> pending latency p50", "(#4)"),
    ("event -> pending latency p99", "<= 50 ms over 10k events (#4)"),
    ("LLM calls for the 1000-pod storm", "= 10 (one per incident) (#4)"),
    ("prompt tokens per incident", "median <= 2,500 (#5)"),
    ("remedyctl list at 10k actions", "<= 50 ms (#7)"),
    ("cache sync, 13 namespaces", "<= 5 s on the real cluster (#13)"),
    ("watches opened at sync", "= kinds served (#13)"),
    ("loop lag p99 at 150k pods", "<= 20 ms"),
    ("loop lag max at 150k pods", "<= 250 ms"),
    ("remedyctl status max at 150k pods", "<= 250 ms"),
    ("/healthz max at 150k pods", "never fails"),
    ("remedyd RSS at 150k pods", "<= 150 MiB"),
    ("remedyd CPU per watch event at 150k pods", "<= 1.3x jansson parse-only floor"),
    ("storm 150k pods: loop lag p99", "<= 20 ms (#17)"),
    ("storm 150k pods: loop lag max", "<= 250 ms (#17)"),
    ("storm 150k pods: remedyctl status max", "<= 250 ms (#17)"),
    ("storm 150k pods: /healthz max", "never fails (#17)"),
    ("storm 150k pods: incidents stored", "= owners, one incident each (#17)"),
    ("storm 150k pods: incidents diagnosed once", "= incidents stored (#17)"),
    ("storm 150k pods: store transactions", "one per loop turn, not one per write (#17)"),
    ("storm 150k pods: diagnosis queue length max", "<= diagnosis.max_queued (#17)"),
    ("storm 150k pods: remedyd RSS (peak)", "<= 150 MiB (#17)"),
]


# Benchmarks written before the BENCH line existed print their own text;
# these read it (used only when a benchmark prints no BENCH line).
NUM = r"([0-9]+(?:\.[0-9]+)?)"


def adapt_watch(out):
    rows = []
    floor = re.search(r"jansson parse only \(floor\)\s+%s s CPU\s+%s us/event" % (NUM, NUM), out)
    ours = re.search(r"remedy client \+ informer \+ pod projection\s+%s s CPU\s+%s us/event\s+%sx floor"
                     % (NUM, NUM, NUM), out)
    size = re.search(r"watch stream: (\d+) events, %s MB; pod JSON (\d+)-(\d+) bytes \(mean (\d+)\)" % NUM, out)
    note = ("%s events, pods of %s-%s B (mean %s)" % (size.group(1), size.group(3), size.group(4),
                                                      size.group(5))) if size else ""
    if floor and ours:
        f, o = float(floor.group(2)), float(ours.group(2))
        rows.append({"name": "watch ingest CPU per event: client + informer + pod projection",
                     "value": o, "unit": "us", "reference": "jansson parse-only floor",
                     "ref_value": f, "goal": "<= 1.3x floor", "met": o <= 1.3 * f, "note": note})
    for tool, key, goal, factor in (
            ("kubectl get pods -A --watch-only -o name", "watch ingest vs kubectl", ">= 3x faster", 3.0),
            ("python3-kubernetes Watch\(\).stream\(\)", "watch ingest vs python3-kubernetes",
             ">= 10x faster", 10.0)):
        m = re.search(r"%s\s+%s s CPU\s+%s us/event\s+remedy is %sx faster" % (tool, NUM, NUM, NUM), out)
        if m and ours:
            rows.append({"name": key + " (CPU per event)", "value": float(ours.group(2)), "unit": "us",
                         "reference": re.sub(r"\\", "", tool), "ref_value": float(m.group(2)),
                         "goal": goal, "met": float(m.group(3)) >= factor, "note": note})
        elif not m:
            why = re.search(r"^(kubectl|python3-kubernetes): (.*)$", out, re.M)
            if why and key.endswith(why.group(1)):
                rows.append({"name": key, "value": why.group(2), "unit": "", "goal": goal,
                             "met": None, "note": "reference not available on this machine"})
    m = re.search(r"paged LIST of (\d+) pods \(pages of 500\): cached (\d+); RSS before %s MiB, "
                  r"after %s MiB, peak %s MiB; %s bytes/pod" % (NUM, NUM, NUM, NUM), out)
    if m:
        n = int(m.group(1))
        label = "%dk" % (n // 1000) if n % 1000 == 0 else str(n)
        peak = float(m.group(5))
        rows.append({"name": "RSS at %s pods (peak, paged LIST into the informer cache)" % label,
                     "value": peak, "unit": "MiB", "reference": "RSS before the LIST",
                     "ref_value": float(m.group(3)),
                     "goal": "<= 150 MiB" if n >= 100000 else "",
                     "met": (peak <= 150) if n >= 100000 else None,
                     "note": "%s bytes/pod cached" % m.group(6)})
    return rows


def adapt_detect(out):
    pat = r"^%s\s+n=(\d+) p50=%s ms p99=%s ms max=%s ms"
    ev = re.search(pat % (r"event -> finding -> pending action", NUM, NUM, NUM), out, re.M)
    ref = re.search(pat % (r"reference: one single-row SQLite commit", NUM, NUM, NUM), out, re.M)
    rows = []
    if ev:
        for i, q in ((2, "p50"), (3, "p99")):
            rows.append({"name": "event -> pending latency %s" % q, "value": float(ev.group(i)),
                         "unit": "ms", "reference": "one single-row SQLite commit %s" % q,
                         "ref_value": float(ref.group(i)) if ref else None,
                         "goal": "<= 50 ms" if q == "p99" else "",
                         "met": float(ev.group(i)) <= 50 if q == "p99" else None,
                         "note": "%s events, rules backend, hold-down 0, max %s ms"
                                 % (ev.group(1), ev.group(4))})
    return rows


def adapt_prompt_tokens(out):
    m = re.search(r"prompt tokens per incident \(bytes/4\): median %s, max %s, min %s" % (NUM, NUM, NUM), out)
    r = re.search(r"reference, raw objects \(bytes/4\):\s+median %s, max %s" % (NUM, NUM), out)
    n = re.search(r"incidents diagnosed by the LLM: (\d+)", out)
    if not m:
        return []
    med = float(m.group(1))
    return [{"name": "prompt tokens per incident (median)", "value": med, "unit": "tokens",
             "reference": "raw objects, median", "ref_value": float(r.group(1)) if r else None,
             "goal": "median <= 2,500", "met": med <= 2500,
             "note": "max %s; %s incidents; bytes/4" % (m.group(2), n.group(1) if n else "?")}]


ADAPTERS = {"bench_watch.c": adapt_watch, "bench_detect.c": adapt_detect,
            "bench_prompt_tokens.py": adapt_prompt_tokens}


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
            mem = "%.1f GiB" % (kb / 1048576)
    except (OSError, StopIteration):
        pass
    distro = "?"
    try:
        with open("/etc/os-release") as f:
            distro = dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln) \
                .get("PRETTY_NAME", "?").strip('"')
    except OSError:
        pass
    cc = "?"
    try:
        cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        pass
    rev = "?"
    try:
        r = subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            rev = r.stdout.strip()
    except OSError:
        pass
    try:
        load = "%.2f" % os.getloadavg()[0]
    except OSError:
        load = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": distro,
            "kernel": platform.release(), "compiler": cc, "commit": rev, "load": load,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def discover(build, patterns):
    found = []
    for fn in sorted(os.listdir(HERE)):
        m = re.match(r"^(bench_\w+)\.(c|py|sh)$", fn)
        if not m:
            continue
        if patterns and not any(p in fn for p in patterns):
            continue
        name, ext = m.groups()
        if ext == "c":
            cmd = [os.path.join(build, "tests", "bench", name)]
        elif ext == "py":
            cmd = [sys.executable, "-u", os.path.join(HERE, fn)]
        else:
            cmd = ["bash", os.path.join(HERE, fn)]
        found.append((fn, cmd))
    return found


def run_one(fn, cmd, env, timeout, log):
    t0 = time.monotonic()
    rows = []
    try:
        r = subprocess.run(cmd, cwd=SRC, env=env, capture_output=True, text=True, timeout=timeout)
        out, err, rc = r.stdout, r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = "timed out after %d s" % timeout, -1
    except OSError as e:
        out, err, rc = "", str(e), -1
    for ln in out.splitlines():
        if ln.startswith("BENCH "):
            try:
                row = json.loads(ln[6:])
                if all(k in row for k in ("name", "value", "unit")):
                    row["source"] = fn
                    rows.append(row)
                    continue
            except ValueError:
                pass
        log.write("[%s] %s\n" % (fn, ln))
    for ln in err.splitlines():
        log.write("[%s] %s\n" % (fn, ln))
    log.flush()
    if not rows and fn in ADAPTERS:
        for row in ADAPTERS[fn](out + "\n" + err):
            row["source"] = fn
            rows.append(row)
    return rows, rc, time.monotonic() - t0


def fmt(v, unit=""):
    if v is None:
        return ""
    if isinstance(v, float):
        if abs(v) >= 100:
            s = "%.0f" % v
        elif abs(v) >= 10:
            s = "%.1f" % v
        else:
            s = "%.3g" % v
    else:
        s = str(v)
    return (s + " " + unit).strip()


def table(rows, failed):
    head = ["figure", "measured", "reference (same run)", "goal", "verdict"]
    body = []
    for r in rows:
        ref = ""
        if r.get("reference"):
            ref = "%s: %s" % (r["reference"], fmt(r.get("ref_value"), r.get("unit") or ""))
            if isinstance(r.get("ref_value"), (int, float)) and r["ref_value"] and \
                    isinstance(r.get("value"), (int, float)):
                ref += " (%.2fx)" % (r["value"] / r["ref_value"])
        met = r.get("met")
        if isinstance(r.get("value"), str):
            verdict = "**not measured**"
        else:
            verdict = "met" if met is True else ("**short**" if met is False else "-")
        body.append([str(r["name"]), fmt(r.get("value"), r.get("unit") or ""), ref,
                     str(r.get("goal") or ""), verdict])
    for fn, rc in failed:
        body.append(["%s" % fn, "failed (exit %s)" % rc, "", "", "**failed**"])
    names = [r["name"].lower() for r in rows]
    for key, goal in EXPECTED:
        if not any(n.startswith(key.lower()) for n in names):
            body.append([key, "not measured", "", goal, "**no benchmark yet**"])
    return head, body


def markdown(head, body):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for b in body:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in b) + " |")
    return "\n".join(out)


def plain(head, body):
    w = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w[i]) for i, h in enumerate(head))]
    for b in body:
        lines.append("  ".join(c.replace("**", "").ljust(w[i]) for i, c in enumerate(b)))
    return "\n".join(lines)


def update_doc(path, text):
    if os.path.exists(path):
        with open(path) as f:
            doc = f.read()
    else:
        doc = "# Performance\n\n"
    block = BEGIN + "\n" + text + "\n" + END
    if BEGIN in doc and END in doc:
        pre = doc[:doc.index(BEGIN)]
        post = doc[doc.index(END) + len(END):]
        doc = pre + block + post
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--doc")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("REMEDY_BENCH_TIMEOUT", "900")))
    ap.add_argument("patterns", nargs="*")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    env = dict(os.environ)
    env.update({"REMEDYD": os.path.join(build, "daemon", "remedyd"),
                "REMEDYCTL": os.path.join(build, "ctl", "remedyctl"),
                "REMEDY_BUILD": build, "REMEDY_SRCDIR": SRC,
                "REMEDY_SHARED": env.get("REMEDY_SHARED", os.path.join(SRC, "..", "shared")),
                "PYTHONDONTWRITEBYTECODE": "1"})
    benches = discover(build, a.patterns)
    if not benches:
        print("bench: no benchmarks found in %s" % HERE, file=sys.stderr)
    rows, failed = [], []
    t0 = time.monotonic()
    for fn, cmd in benches:
        print("==> %s" % fn, file=sys.stderr, flush=True)
        got, rc, secs = run_one(fn, cmd, env, a.timeout, sys.stderr)
        print("    %d figure(s), exit %s, %.0f s" % (len(got), rc, secs), file=sys.stderr, flush=True)
        rows += got
        if rc != 0:
            failed.append((fn, rc))
    head, body = table(rows, failed)
    m = machine()
    print()
    print(plain(head, body))
    print()
    print("machine: %(cpu)s, %(cores)s cores, %(memory)s, %(os)s, kernel %(kernel)s; "
          "%(compiler)s; commit %(commit)s; load %(load)s; %(date)s" % m)
    if a.doc and not a.patterns:
        text = ("Measured by `./scripts/bench` on %(date)s, commit %(commit)s: %(cpu)s, "
                "%(cores)s cores, %(memory)s RAM, %(os)s (kernel %(kernel)s), %(compiler)s, "
                "release build (-O3, no sanitizers); load average %(load)s when it started. "
                % m)
        text += "Total %.0f s.\n\n" % (time.monotonic() - t0)
        text += markdown(head, body)
        update_doc(a.doc, text)
        print("wrote %s" % a.doc)
    elif a.doc:
        print("(a subset ran: %s not updated)" % a.doc)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

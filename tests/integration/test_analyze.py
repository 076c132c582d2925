"""remedyd analyze: one look at a cluster, a report, an exit status.

Against the test API server, with the real remedyd binary:

  - every scenario file (tests/scenarios/): a cluster holding only the
    healthy twin -> exit 0 and no incident; then the broken objects are
    added -> exit 1 and exactly the incidents the scenario expects;
    either way remedyd sent no write but dry-runs;
  - the broken rollout: the fix it would propose (the rollback, its patch,
    the dry-run the API server accepted), in each output format, compared
    with tests/golden/analyze.{table,json,yaml} after normalising what
    changes from run to run (REMEDY_GOLDEN_UPDATE=1 rewrites them);
  - --no-dry-run sends no write at all; -n limits the look;
  - errors exit 2 and say what and where: a bad option, a configuration
    error, an API server that is not there, credentials that are refused.
"""
import copy
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYD, SRCDIR, Cluster  # noqa: E402
from test_ctl_golden import sort_event_lines  # noqa: E402
from test_scenarios import CLUSTER_SCOPED, load_into, load_scenarios, matches  # noqa: E402

GOLDEN = os.path.join(SRCDIR, "tests", "golden")
UPDATE = os.environ.get("REMEDY_GOLDEN_UPDATE") == "1"


def analyze(cluster, *args, kubeconfig=None, timeout=120):
    """-> (exit status, stdout, stderr) of remedyd analyze."""
    r = subprocess.run([REMEDYD, "analyze", "--kubeconfig", kubeconfig or cluster.kubeconfig]
                       + list(args), capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def normalise(text, url):
    subs = [
        (re.escape(url), "<URL>"),
        # a YAML writer quotes a uid that starts like a number (a random
        # uuid does, now and then): the same uid either way
        (r"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'", r"\1"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<UID>"),
        (r"web-[a-z0-9]{5,10}-[a-z0-9]{5}", "web-<POD>"),
        (r"web-[a-z0-9]{8,10}\b", "web-<RS>"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<TIME>"),
        (r"\(x\d+\)", "(xN)"),
        (r'("?resourceVersion"?: ?)"?\d+"?', r"\1<RV>"),
    ]
    for pat, rep in subs:
        text = re.sub(pat, rep, text)
    return sort_event_lines(text)


class Analyze(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="remedy-analyze-")
        self.clusters = []
        self.ok = False

    def tearDown(self):
        for c in self.clusters:
            c.stop()
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print("--- workdir kept: " + self.workdir)

    def cluster(self, name, scenario="empty"):
        c = Cluster(os.path.join(self.workdir, name), scenario=scenario)
        self.clusters.append(c)
        return c

    def json_report(self, c, *args):
        rc, out, err = analyze(c, "-o", "json", *args)
        self.assertIn(rc, (0, 1), err)
        return rc, json.loads(out), err

    def test_every_scenario(self):
        scs = load_scenarios()
        self.assertGreaterEqual(len(scs), 20)
        for sc in scs:
            with self.subTest(scenario=sc["name"]):
                os.makedirs(os.path.join(self.workdir, sc["name"]))
                c = self.cluster(sc["name"])
                load_into(c, sc["healthy"], "h-" + sc["name"], sc.get("healthy_pod_status"))
                rc, rep, err = self.json_report(c)
                self.assertEqual((rc, rep["incidents"]), (0, []),
                                 "%s: the healthy twin alone: %s" % (sc["name"], err))
                self.assertEqual(rep["broken"], 0)

                load_into(c, sc["broken"], "b-" + sc["name"], sc.get("pod_status"))
                rc, rep, err = self.json_report(c)
                self.assertEqual(rc, 1, err)
                ns = "b-" + sc["name"]
                exp = [dict(e, namespace="" if e["kind"] in CLUSTER_SCOPED else ns)
                       for e in sc["expect"]]
                got = rep["incidents"]
                for e in exp:
                    self.assertTrue(any(matches(i, e) for i in got), "%s: missing %s in %s" % (
                        sc["name"], e, [(i["kind"], i["name"], i["reason"]) for i in got]))
                self.assertEqual(len(got), len(exp), "%s: %s" % (
                    sc["name"], [(i["analyzer"], i["kind"], i["name"], i["reason"]) for i in got]))
                self.assertEqual(rep["broken"], len(exp))
                self.assertEqual(c.remedyd_writes(), [], "%s: a write that is not a dry-run" % sc["name"])
                c.stop()
                self.clusters.remove(c)
        self.ok = True

    def test_broken_rollout_golden(self):
        c = self.cluster("rollout", scenario="broken-rollout")
        failures = []
        for fmt in ("table", "json", "yaml"):
            rc, out, err = analyze(c, "-n", "demo", "-o", fmt)
            self.assertEqual(rc, 1, err)
            if fmt == "table":
                # the figures go to stderr, the report alone to stdout
                self.assertRegex(err, r"remedyd analyze: %s, namespace demo, rules backend: "
                                 r"[\d.]+ s, [\d.]+ s CPU, \d+ requests" % re.escape(c.url))
            if fmt == "json":
                rep = json.loads(out)
                self.assertGreater(rep["stats"]["requests"], 0)
                rep["stats"] = "<STATS>"
                out = json.dumps(rep, indent=2, sort_keys=True) + "\n"
                act = rep["incidents"][0]["actions"][0]
                self.assertEqual((act["outcome"], act["dry_run"]["status"]), ("proposed", 200))
                self.assertEqual([op["op"] for op in act["patch"]][:1], ["test"])
            if fmt == "yaml":
                out = re.sub(r"(?ms)^stats:\n(  .*\n)+", "stats: <STATS>\n", out)
            got = normalise(out, c.url)
            path = os.path.join(GOLDEN, "analyze.%s" % fmt)
            if UPDATE:
                with open(path, "w") as f:
                    f.write(got)
                continue
            with open(path) as f:
                want = f.read()
            if got != want:
                failures.append("%s:\n%s" % (path, "".join(difflib.unified_diff(
                    want.splitlines(True), got.splitlines(True), "golden", "got"))))
        self.assertEqual(failures, [], "\n".join(failures))
        # the dry-runs were the only writes: one per look, each dryRun=All
        writes = c.remedyd_writes(include_dry_run=True)
        self.assertEqual(len(writes), 3, writes)
        self.assertTrue(all(w["dry_run"] and w["method"] == "PATCH" for w in writes), writes)
        self.ok = True

    def test_no_dry_run_and_scope(self):
        c = self.cluster("scope", scenario="broken-rollout")
        rc, rep, err = self.json_report(c, "--no-dry-run", "-n", "demo")
        self.assertEqual(rc, 1, err)
        self.assertFalse(rep["dry_run"])
        act = rep["incidents"][0]["actions"][0]
        self.assertEqual(act["outcome"], "proposed")
        self.assertNotIn("dry_run", act)
        self.assertEqual(c.remedyd_writes(include_dry_run=True), [])
        # a namespace with nothing in it is healthy, in both spellings
        for args in (("-n", "elsewhere"), ("--namespace=elsewhere,other",)):
            rc, out, err = analyze(c, *args)
            self.assertEqual((rc, out), (0, "Nothing broken in the namespaces looked at.\n"), err)
        self.ok = True

    def test_errors(self):
        c = self.cluster("errors", scenario="broken-rollout")
        cases = [
            (("-o", "xml"), 'unknown output format (table, json, yaml): "xml"'),
            (("-A", "-n", "demo"), "-A and -n name different scopes"),
            (("--timeout", "soon"), 'a duration like 90s or 5m is needed, not "soon"'),
            (("--frobnicate",), 'unknown option "--frobnicate"'),
            (("--context", "nope"), 'context "nope" not found in ' + c.kubeconfig),
            (("extra",), 'unexpected argument "extra"'),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                rc, out, err = analyze(c, *args)
                self.assertEqual(rc, 2, err)
                self.assertEqual(out, "")
                self.assertIn(msg, err)
        bad = os.path.join(self.workdir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("diagnosis:\n  backend: rules\n  hold_dwn: 1s\n")
        rc, out, err = analyze(c, "-c", bad)
        self.assertEqual(rc, 2, err)
        self.assertIn(bad + ":3:", err)
        # nobody listening: the address and the error, quickly
        with open(c.kubeconfig) as f:
            kc = f.read()
        gone = os.path.join(self.workdir, "gone.kubeconfig")
        with open(gone, "w") as f:
            f.write(re.sub(r"server: https://127\.0\.0\.1:\d+", "server: https://127.0.0.1:1", kc))
        rc, out, err = analyze(c, kubeconfig=gone, timeout=60)
        self.assertEqual(rc, 2, err)
        self.assertIn("API discovery failed", err)
        self.assertIn("https://127.0.0.1:1", err)
        # credentials the server refuses
        refused = os.path.join(self.workdir, "refused.kubeconfig")
        with open(refused, "w") as f:
            f.write(kc.replace("remedy-test-token", "not-the-token"))
        with open(refused) as f:
            self.assertNotEqual(kc, f.read(), "the kubeconfig names the test token")
        rc, out, err = analyze(c, kubeconfig=refused, timeout=60)
        self.assertEqual(rc, 2, err)
        self.assertRegex(err, r"API discovery failed|answered 401")
        # --help exits 0 and names every option
        r = subprocess.run([REMEDYD, "analyze", "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for opt in ("--config", "--kubeconfig", "--context", "--namespace", "--all-namespaces",
                    "--output", "--no-dry-run", "--timeout", "--verbose", "--help"):
            self.assertIn(opt, r.stdout)
        self.ok = True

    def test_options_in_both_positions(self):
        """Every option of "remedyd analyze --help" and of remedyd.8's
        ANALYZE section, short and long, "--opt value" and "--opt=value",
        before and after the word analyze, gives the same report."""
        c = self.cluster("options", scenario="broken-rollout")
        conf = os.path.join(self.workdir, "remedyd.yaml")
        with open(conf, "w") as f:
            f.write("diagnosis:\n  backend: rules\n")
        with open(c.kubeconfig) as f:
            ctx = re.search(r"current-context: (\S+)", f.read()).group(1)
        helptext = subprocess.run([REMEDYD, "analyze", "--help"], capture_output=True,
                                  text=True).stdout
        self.compare_help(helptext)
        listed = set(re.findall(r"(?<![\w-])(--?[\w-]+)", helptext.split("\n", 2)[2]))
        listed -= {"-h", "--help"}      # remedyd.8 gives them once, for remedyd
        with open(os.path.join(SRCDIR, "docs", "remedyd.8")) as f:
            man = f.read().split(".Sh ANALYZE", 1)[1].split(".Sh ", 1)[0]
        documented = set()
        for m in re.finditer(r"\bFl (-?[\w-]+)(?: , Fl (-[\w-]+))?", man):
            documented |= {"-" + g for g in m.groups() if g}
        self.assertEqual(listed - documented, set(), "in analyze --help, not in remedyd.8")
        self.assertEqual(documented - listed, set(), "in remedyd.8, not in analyze --help")
        values = {"config": conf, "kubeconfig": c.kubeconfig, "context": ctx,
                  "namespace": "demo", "output": "json", "timeout": "2m"}
        shorts = {"config": "c", "namespace": "n", "output": "o", "all-namespaces": "A",
                  "verbose": "v"}
        variants = []
        for long in sorted(o[2:] for o in listed if o.startswith("--") and o != "--help"):
            if long in values:
                variants.append(["--" + long, values[long]])
                variants.append(["--%s=%s" % (long, values[long])])
                if long in shorts:
                    variants.append(["-" + shorts[long], values[long]])
            else:
                variants.append(["--" + long])
                if long in shorts:
                    variants.append(["-" + shorts[long]])
        self.assertGreaterEqual(len(variants), 15)

        def look(args):
            r = subprocess.run([REMEDYD] + args, capture_output=True, text=True, timeout=120)
            out = r.stdout
            if out.startswith("{"):
                rep = json.loads(out)
                rep.pop("stats")
                out = json.dumps(rep, sort_keys=True)
            return r.returncode, out
        for v in variants:
            with self.subTest(option=v):
                kc = [] if v[0].startswith("--kubeconfig") else ["--kubeconfig", c.kubeconfig]
                before = look(v + ["analyze"] + kc + ["--no-dry-run"])
                after = look(["analyze"] + kc + ["--no-dry-run"] + v)
                self.assertEqual(before[0], 1, v)
                self.assertEqual(before, after, v)
        self.ok = True

    def compare_help(self, text):
        path = os.path.join(GOLDEN, "help", "remedyd-analyze.txt")
        if UPDATE:
            with open(path, "w") as f:
                f.write(text)
            return
        with open(path) as f:
            self.assertEqual(text, f.read(), path)


if __name__ == "__main__":
    unittest.main(verbosity=2)

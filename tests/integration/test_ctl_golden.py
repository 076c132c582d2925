"""Golden output of `remedyctl list`, `show` and `audit` in every format.

The real remedyd diagnoses the broken rollout, the action is approved and
verified, and then each command's output (-o table, json, yaml) is compared
with tests/golden/<command>.<format> after normalising what changes from
run to run: times, ages, hashes, pod name suffixes, resource versions,
event counts, the order of events seen in the same second and the
approving user.  REMEDY_GOLDEN_UPDATE=1 rewrites the
files instead (review the diff before committing it).
"""
import difflib
import os
import pwd
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REMEDYCTL, SRCDIR, Env, wait_action, wait_state  # noqa: E402

GOLDEN = os.path.join(SRCDIR, "tests", "golden")
UPDATE = os.environ.get("REMEDY_GOLDEN_UPDATE") == "1"


EVENT = re.compile(r"event \w+ \(xN\) on pod")


def sort_event_lines(text):
    """Events seen in the same second come in either order: sort each run
    of event evidence lines (keeping JSON's commas where they were)."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if not EVENT.search(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and EVENT.search(lines[j]):
            j += 1
        run = lines[i:j]
        comma = run[-1].endswith(",")
        run = sorted(x[:-1] if x.endswith(",") else x for x in run)
        first_comma = lines[i].endswith(",")
        out += [x + ("," if first_comma else "") for x in run[:-1]]
        out.append(run[-1] + ("," if comma else ""))
        i = j
    return "\n".join(out)


def normalise(text, table):
    user = pwd.getpwuid(os.getuid()).pw_name
    uid = str(os.getuid())
    subs = [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<TIME>"),
        (r"'?\b[0-9a-f]{64}\b'?", "<HASH>"),            # YAML quotes some
        (r"\b1[0-9]{12}\b", "<MS>"),                     # unix ms
        (r"web-[a-z0-9]{5,10}-[a-z0-9]{5}", "web-<POD>"),
        (r"\(x\d+\)", "(xN)"),
        (r'("?resourceVersion"?: ?)"?\d+"?', r"\1<RV>"),
        (r'(\\"resourceVersion\\": ?\\")\d+(\\")', r"\1<RV>\2"),
        (r"(?m)^(\d+\s+\w[\w-]*\s+)\d+[smhd](\s)", r"\1<AGE>\2"),   # list AGE
        (r"\b%s\(%s\)" % (re.escape(user), uid), "<USER>(<UID>)"),
        (r'("?(actor|approved_by)"?: )"?%s"?' % re.escape(user), r"\1<USER>"),
        (r'("?(actor_uid|approved_uid)"?: )%s\b' % uid, r"\1<UID>"),
        (r"Approved by: %s \(uid %s\)" % (re.escape(user), uid), "Approved by: <USER> (uid <UID>)"),
    ]
    for pat, rep in subs:
        text = re.sub(pat, rep, text)
    text = sort_event_lines(text)
    if not table:
        return text
    # table columns are as wide as their widest cell: compare cells, not padding
    return "\n".join(re.sub(r"(?<=\S) {2,}", "  ", line.rstrip()) for line in text.split("\n"))


class Golden(unittest.TestCase):
    def test_golden_outputs(self):
        env = Env(scenario="broken-rollout", replicas=3, hold_down="1s")
        ok = False
        try:
            d = env.daemon
            aid = wait_action(d, "pending")[0]["id"]
            rc, out, err = d.ctl("approve", str(aid), "--comment", "golden")
            self.assertEqual(rc, 0, err)
            wait_state(d, aid, ("verified",), 90)
            failures = []
            for name, args in (("list", ["list"]), ("show", ["show", str(aid)]),
                               ("audit", ["audit", "--action", str(aid)])):
                for fmt in ("table", "json", "yaml"):
                    r = subprocess.run([REMEDYCTL, "-s", d.socket, "-o", fmt] + args,
                                       capture_output=True, text=True, timeout=60)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    got = r.stdout
                    got = normalise(got, fmt == "table")
                    path = os.path.join(GOLDEN, "%s.%s" % (name, fmt))
                    if UPDATE:
                        os.makedirs(GOLDEN, exist_ok=True)
                        with open(path, "w") as f:
                            f.write(got)
                        continue
                    with open(path) as f:
                        want = f.read()
                    if got != want:
                        failures.append("%s:\n%s" % (path, "".join(difflib.unified_diff(
                            want.splitlines(True), got.splitlines(True), "golden", "got"))))
            self.assertEqual(failures, [], "\n".join(failures))
            ok = True
        finally:
            self.assertEqual(env.close(ok), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

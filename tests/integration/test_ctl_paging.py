"""Paged answers of `incidents` and `list` through the real remedyd and
remedyctl (proto/control.md, "Paging").

12 broken Deployments give 12 incidents and 12 pending actions.  Then:

- `--limit 5` gives the newest five and a continue token; following the
  tokens returns every incident (and every action) exactly once, newest
  first, the last page without a token;
- an incident that opens between two pages does not appear in the later
  pages of the walk (its id is above where the walk stands) but in a new
  first page; the walk still returns each of the others once;
- without --limit remedyctl fetches every page (100 incidents or, with
  --all, 500 actions a request) and prints one answer, as before;
- the table says how to get the next page;
- a token that is not one, one of the other command and one given with
  other filters are refused with a message that says so (exit 1).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BrokenRollouts, Daemon, broken_rollouts, wait_for  # noqa: E402

DEPS = 12


class Paging(BrokenRollouts):
    rollouts = ["p%02d" % i for i in range(DEPS)]

    def setUp(self):
        super().setUp()
        self.daemon = d = Daemon(self.workdir, self.cluster, hold_down="1s")

        def ready():
            rc, out, _ = d.ctl("list", "--all")
            return rc == 0 and len([a for a in out["actions"] if a["state"] == "pending"]) == DEPS
        wait_for(ready, 90, "one pending action per broken Deployment")

    def ctl(self, *args, output="json"):
        rc, out, err = self.daemon.ctl(*args, output=output)
        self.assertEqual(rc, 0, (args, err))
        return out

    def walk(self, cmd, key, *filters, between=None):
        """Every page of cmd with --limit 5: [(ids, continue)]."""
        pages, tok = [], None
        while True:
            args = [cmd] + list(filters) + ["--limit", "5"] + (["--continue", tok] if tok else [])
            out = self.ctl(*args)
            tok = out.get("continue")
            pages.append(([x["id"] for x in out[key]], tok))
            if between and len(pages) == 1:
                between()
            if tok is None:
                return pages
            self.assertLess(len(pages), 10, pages)

    def test_pages(self):
        everything = self.ctl("incidents")
        self.assertNotIn("continue", everything)
        all_ids = [i["id"] for i in everything["incidents"]]
        self.assertEqual(len(all_ids), DEPS)
        self.assertEqual(all_ids, sorted(all_ids, reverse=True), "newest first")

        def open_another():
            broken_rollouts(self.cluster, ["late"])
            wait_for(lambda: any(i["name"] == "late" for i in self.ctl("incidents")["incidents"]),
                     60, "the late incident")
        pages = self.walk("incidents", "incidents", between=open_another)
        self.assertEqual([len(ids) for ids, _ in pages], [5, 5, 2])
        self.assertTrue(all(tok for _, tok in pages[:-1]), pages)
        walked = [i for ids, _ in pages for i in ids]
        self.assertEqual(walked, all_ids, "each incident once, in order, the late one not among them")
        # the late one is on a new first page, whose total counts it
        first = self.ctl("incidents", "--limit", "5")
        self.assertEqual(first["total"], DEPS + 1)
        self.assertGreater(first["incidents"][0]["id"], all_ids[0])
        self.assertEqual(first["incidents"][0]["name"], "late")

        # a filter travels in the token; -n is answered by the daemon
        pages = self.walk("incidents", "incidents", "-n", "demo", "--state", "open")
        self.assertEqual(sorted(i for ids, _ in pages for i in ids),
                         sorted(i["id"] for i in self.ctl("incidents")["incidents"]))

        # actions: the default list is one page of 100, --all every page
        wait_for(lambda: len(self.ctl("list", "--all")["actions"]) == DEPS + 1, 60,
                 "the late incident's action")
        acts = [a["id"] for a in self.ctl("list", "--all")["actions"]]
        pages = self.walk("list", "actions")
        self.assertEqual([i for ids, _ in pages for i in ids], acts)
        self.assertEqual([len(ids) for ids, _ in pages], [5, 5, 3])

        # the table says how to go on
        out = self.ctl("list", "--limit", "5", output=None)
        tok = self.ctl("list", "--limit", "5")["continue"]
        self.assertEqual(out.splitlines()[-1],
                         "(5 of %d shown; --continue %s shows the next page)" % (DEPS + 1, tok))
        out = self.ctl("incidents", "--limit", "5", output=None)
        self.assertIn("shows the next page)", out.splitlines()[-1])
        out = self.ctl("incidents", output=None)
        self.assertEqual(len(out.splitlines()), DEPS + 2, "a header and every incident, no footer")
        self.ok = True

    def test_bad_tokens(self):
        d = self.daemon
        itok = self.ctl("incidents", "--limit", "2")["continue"]
        ltok = self.ctl("list", "--limit", "2")["continue"]
        for args, want in (
                (["incidents", "--continue", "garbage"], 'field "continue": not a continue token'),
                (["incidents", "--continue", itok + "x"], 'field "continue": not a continue token'),
                (["incidents", "--continue", ltok], "the continue token is one of list, not of incidents"),
                (["list", "--continue", itok], "the continue token is one of incidents, not of list"),
                (["incidents", "--state", "open", "--continue", itok],
                 "the continue token was given for other filters (none)"),
                (["list", "-n", "demo", "--continue", ltok],
                 "the continue token was given for other filters (none)")):
            rc, out, err = d.ctl(*args, output=None)
            self.assertEqual(rc, 1, (args, out, err))
            self.assertIn(want, err, args)
            self.assertEqual(len(err.splitlines()), 1, err)
        rc, out, err = d.ctl("list", "--all", "--continue", ltok, output=None)
        self.assertEqual(rc, 2, err)
        self.assertIn("--all and --continue exclude each other", err)
        # a good token still works after the refusals
        self.assertEqual(len(self.ctl("incidents", "--limit", "2", "--continue", itok)["incidents"]), 2)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

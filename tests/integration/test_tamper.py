"""Tamper evidence: editing or deleting an audit row in the database is
reported by `remedyctl audit verify` (exit 1, the first broken row), and
the intact log verifies (exit 0).

The audit table refuses UPDATE and DELETE through triggers; a tamperer with
write access to the file drops them first, as this test does, through a
second SQLite connection while remedyd runs.
"""
import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, wait_action, wait_state  # noqa: E402


class Tamper(unittest.TestCase):
    def setUp(self):
        self.env = Env(scenario="broken-rollout", replicas=1, hold_down="1s")
        self.ok = False

    def tearDown(self):
        rc = self.env.close(self.ok)
        self.assertEqual(rc, 0)

    def sql(self, *stmts):
        db = sqlite3.connect(self.env.daemon.db, timeout=10)
        try:
            rows = None
            for s in stmts:
                rows = db.execute(s).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    def verify(self):
        return self.env.daemon.ctl("audit", "verify")

    def test_edit_and_delete(self):
        d = self.env.daemon
        aid = wait_action(d, "pending")[0]["id"]
        rc, out, err = d.ctl("approve", str(aid), "--comment", "ok")
        self.assertEqual(rc, 0, err)
        wait_state(d, aid, ("verified", "not-recovered", "failed"))
        rc, out, err = self.verify()
        self.assertEqual(rc, 0, err)
        total = out["rows"]
        self.assertGreaterEqual(total, 5)

        # the triggers stop the accident
        with self.assertRaises(sqlite3.DatabaseError):
            self.sql("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
        with self.assertRaises(sqlite3.DatabaseError):
            self.sql("DELETE FROM audit WHERE seq = 2")

        # an edit: who approved
        seq, actor, detail = self.sql("SELECT seq, actor, detail FROM audit "
                                      "WHERE event = 'approved'")[0]
        self.sql("DROP TRIGGER audit_no_update",
                 "UPDATE audit SET actor = 'mallory' WHERE seq = %d" % seq)
        rc, out, err = self.verify()
        self.assertEqual(rc, 1, (out, err))
        self.assertIn(str(seq), out + err)

        # put it back: the chain verifies again (no false alarm)
        self.sql("UPDATE audit SET actor = '%s' WHERE seq = %d" % (actor, seq))
        rc, out, err = self.verify()
        self.assertEqual(rc, 0, err)

        # an edit of the detail (the patch that was applied)
        seq2, detail2 = self.sql("SELECT seq, detail FROM audit WHERE event = 'applied'")[0]
        forged = json.loads(detail2)
        forged["patch"] = []
        self.sql("UPDATE audit SET detail = '%s' WHERE seq = %d"
                 % (json.dumps(forged, sort_keys=True, separators=(",", ":")), seq2))
        rc, out, err = self.verify()
        self.assertEqual(rc, 1, (out, err))
        self.assertIn(str(seq2), out + err)
        db = sqlite3.connect(d.db, timeout=10)
        db.execute("UPDATE audit SET detail = ? WHERE seq = ?", (detail2, seq2))
        db.commit()
        db.close()
        rc, out, err = self.verify()
        self.assertEqual(rc, 0, err)

        # a deletion in the middle
        self.sql("DROP TRIGGER audit_no_delete",
                 "DELETE FROM audit WHERE seq = %d" % seq)
        rc, out, err = self.verify()
        self.assertEqual(rc, 1, (out, err))
        self.assertIn(str(seq + 1), out + err)

        # the daemon goes on
        rc, out, err = d.ctl("status")
        self.assertEqual(rc, 0, err)
        self.ok = True


if __name__ == "__main__":
    unittest.main(verbosity=2)

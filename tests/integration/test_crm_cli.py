"""`lodestone crm` as an admin uses it: ingest real Maildir/mbox/.eml files,
query with tables and --json, contacts from CSV, deals, threads, export,
check and backup, clear errors on bad input, and crash safety: an ingest
killed with SIGKILL leaves a store that opens, passes check, and completes
on a re-run with nothing duplicated or lost."""
import json
import mailbox
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone, timedelta
from pathlib import Path

from harness import LODESTONE, ROOT, remove_at_exit, run_tests
import mailgen

CORPUS = ROOT / ".corpora" / "node_modules" / "@stdlib" / "datasets-spam-assassin" / "data"


def crm(*args, check=True, db=None, input=None):
    command = [LODESTONE, "crm", *args]
    if db:
        command += ["--db", str(db)]
    result = subprocess.run(command, capture_output=True, text=True, input=input, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def crm_json(*args, db):
    return json.loads(crm(*args, "--json", db=db).stdout)


def message(sender, recipient, subject, body, msgid, when, in_reply_to=None):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = recipient
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<{msgid}>"
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
        m["References"] = f"<{in_reply_to}>"
    m.set_content(body)
    return m


class CrmCli(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="lodestone-crm-cli-", dir="/tmp"))
        remove_at_exit(self.dir)
        self.db = self.dir / "crm"

    def mail_sources(self):
        """A Maildir with a subfolder, an mbox and a single .eml: 4 + 1 + 3 + 1 messages."""
        start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        maildir = mailbox.Maildir(str(self.dir / "Mail"), create=True)
        conversation = [
            message("Dana Ortiz <dana@acme.example>", "alice@corp.example", "Quote for 40 seats",
                    "Could you send a quote?", "q1@acme.example", start),
            message("alice@corp.example", "Dana Ortiz <dana@acme.example>", "Re: Quote for 40 seats",
                    "Here it is.", "q2@corp.example", start + timedelta(hours=2), "q1@acme.example"),
            message("Sam Lee <sam@acme.example>", "alice@corp.example", "Re: Quote for 40 seats",
                    "Looks good.", "q3@acme.example", start + timedelta(days=1), "q2@corp.example"),
            message("Pat <pat@gmail.com>", "alice@corp.example", "Hello",
                    "A question.", "h1@gmail.com", start + timedelta(days=2)),
        ]
        for m in conversation:
            maildir.add(mailbox.MaildirMessage(m))
        sent = maildir.add_folder("Sent")
        # The same message as in the inbox: one email, two places.
        sent.add(mailbox.MaildirMessage(conversation[1]))
        box = mailbox.mbox(str(self.dir / "archive.mbox"))
        for i in range(3):
            box.add(mailbox.mboxMessage(mailgen.message(i, seed=7)))
        box.flush()
        box.close()
        (self.dir / "single.eml").write_bytes(
            message("Lee <lee@globex.example>", "alice@corp.example", "Intro", "Hi.", "i1@globex.example",
                    start).as_bytes())
        return [self.dir / "Mail", self.dir / "archive.mbox", self.dir / "single.eml"]

    def test_ingest_query_and_maintain(self):
        sources = self.mail_sources()
        first = crm("ingest", "--user", "alice", *map(str, sources), db=self.db)
        self.assertIn("9 messages from 4 sources", first.stdout)
        self.assertIn("8 new emails", first.stdout)
        self.assertIn("0 failed", first.stdout)
        stats = crm_json("stats", db=self.db)
        self.assertEqual(stats["emails"], 8)
        self.assertEqual(stats["refs"], 9)
        self.assertEqual(stats["users"], 1)

        # Twice adds nothing.
        again = crm_json("ingest", "--user", "alice", *map(str, sources), db=self.db)
        self.assertEqual((again["messages"], again["new_emails"], again["added"], again["already_there"]),
                         (9, 0, 0, 9))
        self.assertEqual(crm_json("stats", db=self.db), stats)

        # Contacts from CSV: the company becomes an account, gmail.com does not.
        csv = self.dir / "contacts.csv"
        csv.write_text('name,email,phone,company,owner,shared\n'
                       '"Ortiz, Dana",dana@acme.example,+1 555 0100,Acme,alice,yes\n'
                       'Pat,pat@gmail.com,,,alice,no\n'
                       'Again,DANA@acme.example,,,,\n', encoding="utf-8")
        imported = crm("contacts", "import-csv", str(csv), db=self.db, check=False)
        self.assertEqual(imported.returncode, 1, imported.stderr)
        self.assertIn("imported 2 contacts", imported.stdout)
        self.assertIn("contacts.csv:4: dana@acme.example already belongs to contact 1", imported.stderr)
        contacts = crm_json("contacts", "list", db=self.db)
        self.assertEqual([c["name"] for c in contacts], ["Ortiz, Dana", "Pat"])
        self.assertTrue(contacts[0]["shared"])
        accounts = crm_json("accounts", "list", db=self.db)
        self.assertEqual([a["domain"] for a in accounts], ["acme.example"])

        # The contact's emails, newest first; the account has Sam's too.
        dana = crm_json("contacts", "show", "dana@acme.example", db=self.db)
        self.assertEqual(len(dana["emails_linked"]), 2)
        listed = crm_json("emails", "list", "--contact", "1", db=self.db)
        acme = crm_json("accounts", "show", "acme.example", db=self.db)
        by_account = {e["message_id"] for e in crm_json("emails", "list", "--account", "acme.example", db=self.db)}
        self.assertEqual(len(by_account), len(acme["emails_linked"]))
        # The generated mbox mail may involve acme.example too.
        self.assertLessEqual({"q1@acme.example", "q2@corp.example", "q3@acme.example"}, by_account)
        self.assertEqual([e["message_id"] for e in listed], ["q2@corp.example", "q1@acme.example"])
        since = crm_json("emails", "list", "--user", "alice", "--since", "2026-03-03", db=self.db)
        since_ids = {e["message_id"] for e in since}
        self.assertLessEqual({"q3@acme.example", "h1@gmail.com"}, since_ids)
        self.assertFalse({"q1@acme.example", "q2@corp.example"} & since_ids)

        # One thread of three, also for a user who sees it only because Dana is shared.
        thread = crm_json("thread", "show", listed[0]["id"], db=self.db)
        self.assertEqual(thread["emails_total"], 3)
        self.assertEqual(len(thread["emails"]), 3)
        as_bob = crm_json("thread", "show", listed[0]["id"], "--as", "bob", db=self.db)
        self.assertEqual(len(as_bob["emails"]), 2)  # Sam's reply is not linked to Dana
        table = crm("thread", "show", listed[0]["id"], db=self.db).stdout
        self.assertIn('"quote for 40 seats", 3 emails', table)
        self.assertRegex(table, r"ID +DATE +FROM +TO +SUBJECT")

        # Leads and deals.
        crm("leads", "add", "new@prospect.example", "--name", "New One", "--source", "fair", db=self.db)
        self.assertEqual(crm_json("leads", "list", db=self.db)[0]["email"], "new@prospect.example")
        crm("deals", "add", "--title", "40 seats", "--account", "acme.example", "--contact", "dana@acme.example",
            "--amount", "4800.50", "--owner", "alice", db=self.db)
        crm("deals", "update", "1", "--stage", "proposal", "--probability", "60", "--by", "alice", db=self.db)
        deal = crm_json("deals", "list", db=self.db)[0]
        self.assertEqual((deal["stage"], deal["probability"], deal["amount"]), ("proposal", 60, "4800.50"))
        self.assertIn("4,800.50 EUR", crm("deals", "list", db=self.db).stdout)

        # Export, check, backup.
        export = crm_json("export", db=self.db)
        self.assertEqual(len(export["emails"]), 8)
        self.assertEqual(len(export["contacts"]), 2)
        self.assertTrue(any(a["action"] == "deal.update" for a in export["audit"]))
        places = [len(e["mailboxes"]) for e in export["emails"]]
        self.assertEqual(sorted(places), [1] * 7 + [2])
        self.assertNotIn("Could you send", json.dumps(crm_json("emails", "list", "--user", "alice", db=self.db)))
        self.assertIn("Could you send", json.dumps(export))
        self.assertIn("OK", crm("check", db=self.db).stdout)
        backup = self.dir / "backup"
        crm("backup", str(backup), db=self.db)
        self.assertEqual(crm_json("stats", db=backup), crm_json("stats", db=self.db))
        self.assertEqual(oct(backup.stat().st_mode & 0o777), "0o700")

    def test_config_supplies_the_store_and_org_domains(self):
        config = self.dir / "lodestone.yaml"
        config.write_text("listeners: [{address: 127.0.0.1, port: 1143}]\n"
                          "upstreams: [{name: d, host: 127.0.0.1, port: 143}]\n"
                          "routes: [{upstream: d}]\n"
                          "crm: {path: store, org_domains: [acme.example]}\n")
        msg = self.dir / "one.eml"
        msg.write_bytes(message("dana@acme.example", "x@other.example", "s", "b", "c1@acme.example",
                                datetime(2026, 3, 2, tzinfo=timezone.utc)).as_bytes())
        crm("ingest", "-u", "alice", str(msg), "--config", str(config))
        self.assertTrue((self.dir / "store" / "data.mdb").exists())
        env = dict(os.environ, LODESTONE_CONFIG=str(config))
        stats = subprocess.run([LODESTONE, "crm", "stats", "--json"], capture_output=True, text=True, env=env)
        self.assertEqual(json.loads(stats.stdout)["emails"], 1)
        # acme.example is the organisation's own: staff there are neither
        # contacts nor an account.
        refused = crm("contacts", "add", "--name", "Colleague", "--email", "dana@acme.example", "--config",
                      str(config), check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("dana@acme.example is in one of the organisation's domains", refused.stderr)
        self.assertEqual(crm_json("contacts", "list", db=self.dir / "store"), [])
        self.assertEqual(crm_json("accounts", "list", db=self.dir / "store"), [])

    def test_errors_are_clear(self):
        missing = crm("stats", db=self.dir / "nothing", check=False)
        self.assertEqual(missing.returncode, 2)
        self.assertIn(f"no CRM store at {self.dir / 'nothing'}", missing.stderr)
        nopath = crm("ingest", "-u", "alice", str(self.dir / "nope.mbox"), db=self.db, check=False)
        self.assertEqual(nopath.returncode, 2)
        self.assertIn("nope.mbox", nopath.stderr)
        bad_csv = self.dir / "bad.csv"
        bad_csv.write_text('name,email\n"Unclosed,dana@acme.example\n')
        crm("ingest", "-u", "alice", str(self.mail_sources()[2]), db=self.db)
        result = crm("contacts", "import-csv", str(bad_csv), db=self.db, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("bad.csv: line 2: a quoted field that never ends", result.stderr)
        unknown = self.dir / "unknown.csv"
        unknown.write_text("name,fax\nx,1\n")
        result = crm("contacts", "import-csv", str(unknown), db=self.db, check=False)
        self.assertIn("unknown column 'fax'", result.stderr)
        result = crm("contacts", "add", "--email", "not-an-address", db=self.db, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not an email address", result.stderr)
        result = crm("thread", "show", "xyz", db=self.db, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("32 hex digits", result.stderr)
        result = crm("emails", "list", db=self.db, check=False)
        self.assertIn("exactly one of --contact, --account or --user", result.stderr)
        result = crm("deals", "add", "--title", "x", "--account", "nowhere.example", db=self.db, check=False)
        self.assertIn("no account nowhere.example", result.stderr)
        no_db = subprocess.run([LODESTONE, "crm", "stats"], capture_output=True, text=True,
                               env={k: v for k, v in os.environ.items() if k != "LODESTONE_CONFIG"})
        if not Path("/etc/lodestone/lodestone.yaml").exists():
            self.assertEqual(no_db.returncode, 2)
            self.assertIn("pass --db DIR or --config FILE", no_db.stderr)


@unittest.skipUnless(CORPUS.is_dir(), "SpamAssassin corpus missing: run scripts/fetch-corpora")
class Corpus(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="lodestone-crm-corpus-", dir="/tmp"))
        remove_at_exit(self.dir)

    def ingest(self, db, check=True):
        return crm("ingest", "--user", "alice", "--json", str(CORPUS), db=db, check=check)

    def test_the_whole_corpus_twice_then_check(self):
        db = self.dir / "crm"
        first = json.loads(self.ingest(db).stdout)
        self.assertEqual(first["messages"], 6046)
        self.assertEqual(first["failed"], 0)
        second = json.loads(self.ingest(db).stdout)
        self.assertEqual((second["new_emails"], second["added"]), (0, 0))
        self.assertEqual(crm_json("stats", db=db)["refs"], first["added"])
        self.assertEqual(crm("check", db=db).returncode, 0)

    def test_sigkill_in_the_middle_of_an_ingest(self):
        clean = self.dir / "clean"
        self.ingest(clean)
        expected = crm_json("stats", db=clean)
        killed = self.dir / "killed"
        for delay in (0.15, 0.4):
            process = subprocess.Popen([LODESTONE, "crm", "ingest", "--user", "alice", "--db", str(killed),
                                        str(CORPUS)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.assertEqual(process.returncode, -signal.SIGKILL)
            if (killed / "data.mdb").exists():
                result = crm("check", db=killed, check=False)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        partial = crm_json("stats", db=killed) if (killed / "data.mdb").exists() else {"emails": 0}
        self.assertLess(partial["emails"], expected["emails"], "the kill came too late to test anything")
        self.ingest(killed)
        after = crm_json("stats", db=killed)
        self.assertEqual(after, expected)
        self.assertEqual(crm("check", db=killed).returncode, 0)


if __name__ == "__main__":
    run_tests()

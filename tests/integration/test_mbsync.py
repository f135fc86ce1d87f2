"""mbsync (isync 1.4) mirrors a mailbox of 600 varied messages twice: once
straight from Dovecot, once through the proxy.  The two Maildirs must hold
the same folders and byte-identical messages, and the tap must have seen
exactly the bodies mbsync stored."""
import collections
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import mailgen
from harness import ProxyTestCase, direct_login as direct, run_tests, sha256

# folder -> (count, seed); the hierarchy separator is "."
FOLDERS = {"INBOX": (60, 3), "Projects": (500, 1), "Projects.Acme": (40, 2)}


def maildir_messages(root):
    """{folder: [file bytes, ...]} for every Maildir below root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if d.name in ("cur", "new"):
            folder = str(d.parent.relative_to(root))
            out.setdefault(folder, [])
            for name in filenames:
                out[folder].append(without_tuid((d / name).read_bytes()))
        elif (d / "cur").is_dir():
            out.setdefault(str(d.relative_to(root)), [])
    return out


def without_tuid(data):
    """mbsync inserts a random `X-TUID:` header into each message it stores
    (to find it again after an interruption); it is not part of the message."""
    head, sep, body = data.partition(b"\n\n")
    lines = [line for line in head.split(b"\n") if not line.startswith(b"X-TUID: ")]
    assert len(lines) >= len(head.split(b"\n")) - 1
    return b"\n".join(lines) + sep + body


def maildir_name(folder):
    return folder.replace(".", "/")  # SubFolders Verbatim: the separator becomes a directory


class MbsyncThroughProxy(ProxyTestCase):
    upstream_tls = "none"

    @classmethod
    def setUpClass(cls):
        if not shutil.which("mbsync"):
            raise RuntimeError("mbsync not found: apt-get install isync (scripts/install-deps does)")
        super().setUpClass()
        cls.work = Path(tempfile.mkdtemp(prefix="lodestone-mbsync-"))
        started = time.time()
        imap = direct(cls.peers)
        cls.sent = {}
        for folder, (count, seed) in FOLDERS.items():
            cls.sent[folder] = mailgen.fill_mailbox(imap, folder, count, seed=seed)
        imap.logout()
        cls.fill_seconds = time.time() - started

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.work, ignore_errors=True)

    def mbsync(self, name, port, ca=None):
        """Runs mbsync against 127.0.0.1:port into WORK/name; returns the Maildir root."""
        root = self.work / name
        root.mkdir()
        rc = self.work / f"{name}.mbsyncrc"
        rc.write_text(f"""IMAPAccount far
Host {"localhost" if ca else "127.0.0.1"}
Port {port}
User alice
Pass alicepw
{f"SSLType IMAPS{chr(10)}CertificateFile {ca}{chr(10)}SystemCertificates no" if ca else "SSLType None"}
AuthMechs LOGIN
PipelineDepth 50

IMAPStore far
Account far

MaildirStore near
Path {root}/
Inbox {root}/INBOX
SubFolders Verbatim

Channel sync
Far :far:
Near :near:
Patterns *
Create Near
Sync Pull
Expunge None
SyncState *
""")
        started = time.time()
        result = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120)
        seconds = time.time() - started
        self.assertEqual(result.returncode, 0,
                         f"mbsync {name} exited {result.returncode}:\n{result.stdout}\n{result.stderr}\n"
                         f"proxy log tail:\n{self.proxy.log_text()[-3000:]}")
        print(f"\n  mbsync {name}: {seconds:.1f} s", end=" ")
        return root

    def test_mirror_direct_and_through_proxy_are_identical(self):
        print(f"\n  filled {sum(len(v) for v in self.sent.values())} messages in {self.fill_seconds:.1f} s", end=" ")
        total = sum(len(v) for v in self.sent.values())
        direct_boxes = maildir_messages(self.mbsync("direct", self.peers.imap_port))
        self.assertLessEqual({maildir_name(f) for f in FOLDERS}, set(direct_boxes), sorted(direct_boxes))
        # mbsync's copy is what was appended.
        for folder, sent in self.sent.items():
            same = collections.Counter(m.replace(b"\n", b"\r\n") for m in direct_boxes[maildir_name(folder)]) \
                == collections.Counter(sent)
            self.assertTrue(same, f"folder {folder}: mbsync's copy differs from the appended messages")

        # Through the proxy: the plain listener (mbsync only warns that LOGIN
        # goes in the clear), then the implicit TLS listener.
        seen = 0
        for name, port, ca in (("proxy-plain", self.proxy.plain_port, None),
                               ("proxy-tls", self.proxy.tls_port, self.proxy.ca)):
            with self.subTest(run=name):
                proxy_boxes = maildir_messages(self.mbsync(name, port, ca))
                self.assertEqual(sorted(proxy_boxes), sorted(direct_boxes))
                for folder in direct_boxes:
                    same = collections.Counter(proxy_boxes[folder]) == collections.Counter(direct_boxes[folder])
                    self.assertTrue(same, f"folder {folder} differs: {len(proxy_boxes[folder])} messages through "
                                          f"the proxy, {len(direct_boxes[folder])} direct")
                stored = [m.replace(b"\n", b"\r\n") for box in proxy_boxes.values() for m in box]
                self.assertEqual(len(stored), total)
                events = self.proxy.wait_events(
                    lambda ev: sum(1 for e in ev if e["event"] == "message_fetched") >= seen + total, timeout=20)
                fetched = [e for e in events if e["event"] == "message_fetched"][seen:]
                seen += len(fetched)
                self.check_tap(fetched, stored, events)

    def check_tap(self, fetched, stored, events):
        total = sum(len(v) for v in self.sent.values())
        self.assertEqual(len(fetched), total)
        self.assertEqual(collections.Counter(e["sha256"] for e in fetched),
                         collections.Counter(sha256(m) for m in stored))
        self.assertEqual(collections.Counter(e["size"] for e in fetched), collections.Counter(len(m) for m in stored))
        for e in fetched:
            self.assertEqual(e["user"], "alice")
            self.assertIn(e["mailbox"], FOLDERS)
            self.assertGreater(e["uid"], 0)
            self.assertEqual(e["item"], "BODY[]")
        by_folder_sha = collections.Counter((e["mailbox"], e["sha256"]) for e in fetched)
        self.assertEqual(by_folder_sha, collections.Counter((f, sha256(m)) for f, v in self.sent.items() for m in v))
        self.assertFalse([e for e in events if e["event"] in ("gap", "capture_skipped")])
        self.assertGreaterEqual(len([e for e in fetched if e["size"] > 100 * 1024]), 5)

if __name__ == "__main__":
    run_tests()

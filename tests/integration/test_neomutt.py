"""neomutt, a real terminal mail client, driven under tmux: the index it
shows through the proxy (implicit TLS, dev CA) matches the one it shows going
straight to Dovecot, opening a message shows its body, and the tap records
the fetch."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import ProxyTestCase, append_direct, run_tests, sha256

SUBJECTS = ["Quote for 40 seats", "Onboarding call Thursday", "Invoice 2026-117"]


def message(i, subject):
    return (f"From: Dana Ortiz <dana@acme.example>\r\nTo: alice@example.org\r\nSubject: {subject}\r\n"
            f"Date: Mon, 0{i + 1} Nov 2026 10:00:00 +0000\r\nMessage-ID: <neomutt-{i}@acme.example>\r\n\r\n"
            f"Body of message {i}: {subject.lower()}\r\n").encode()


@unittest.skipUnless(shutil.which("neomutt") and shutil.which("tmux"), "neomutt and tmux are needed")
class NeomuttThroughProxy(ProxyTestCase):
    upstream_tls = "implicit"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        append_direct(cls.peers, [message(i, subject) for i, subject in enumerate(SUBJECTS)])

    def run_neomutt(self, url, ca):
        """Starts neomutt on `url` in a tmux session; returns (session, workdir)."""
        work = Path(tempfile.mkdtemp(prefix="lodestone-neomutt-"))
        rc = work / "muttrc"
        rc.write_text(f"""set folder="{url}"
set spoolfile="+INBOX"
set imap_user="alice"
set imap_pass="alicepw"
set ssl_ca_certificates_file="{ca}"
set certificate_file="{work}/certificates"
set header_cache=""
set message_cachedir=""
set sort=date
set index_format="%4C %Z %s"
set pager_stop=yes
set mail_check_stats=no
set imap_check_subscribed=no
""")
        session = f"lodestone-neomutt-{os.getpid()}-{work.name}"
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                        f"TERM=xterm neomutt -n -F {rc}"], check=True)
        self.addCleanup(subprocess.run, ["tmux", "kill-session", "-t", session], capture_output=True)
        self.addCleanup(shutil.rmtree, work, True)
        return session

    def screen(self, session):
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                              text=True).stdout

    def wait_for(self, session, text, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            screen = self.screen(session)
            if text in screen:
                return screen
            time.sleep(0.2)
        self.fail(f"{text!r} never appeared on screen:\n{self.screen(session)}")

    def index_lines(self, screen):
        return [line.rstrip() for line in screen.splitlines() if any(s in line for s in SUBJECTS)]

    def test_index_and_message_match_direct(self):
        direct = self.run_neomutt(f"imaps://localhost:{self.peers.imaps_port}/", self.peers.ca)
        direct_index = self.index_lines(self.wait_for(direct, SUBJECTS[-1]))
        proxied = self.run_neomutt(f"imaps://localhost:{self.proxy.tls_port}/", self.proxy.ca)
        proxied_index = self.index_lines(self.wait_for(proxied, SUBJECTS[-1]))
        self.assertEqual(len(proxied_index), len(SUBJECTS))
        self.assertEqual(proxied_index, direct_index)

        # Open the first message in the index: its body is fetched through the tap.
        subprocess.run(["tmux", "send-keys", "-t", proxied, "Enter"], check=True)
        screen = self.wait_for(proxied, "Body of message")
        opened = next(i for i, s in enumerate(SUBJECTS) if s.lower() in screen.lower())
        events = self.proxy.wait_events(
            lambda ev: any(e["event"] == "message_fetched" and e["user"] == "alice" for e in ev))
        fetched = [e for e in events if e["event"] == "message_fetched"]
        self.assertIn(sha256(message(opened, SUBJECTS[opened])), {e["sha256"] for e in fetched})
        subprocess.run(["tmux", "send-keys", "-t", proxied, "q", "q"], check=True)


if __name__ == "__main__":
    run_tests()

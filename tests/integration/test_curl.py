"""curl, a real IMAP client, through the proxy over plain, STARTTLS and
implicit TLS, against Dovecot reached over each upstream TLS mode."""
import subprocess
import unittest

from harness import ProxyTestCase, Peers, Proxy, append_direct, run_tests, sha256

MESSAGE = (b"From: Dana <dana@acme.example>\r\nTo: alice@example.org\r\nSubject: curl check\r\n"
           b"Message-ID: <curl-check@acme.example>\r\n\r\nHello through the proxy.\r\n")


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True, check=False)


class CurlThroughProxy(ProxyTestCase):
    upstream_tls = "implicit"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        append_direct(cls.peers, [MESSAGE])

    def fetch(self, url, *extra):
        result = curl("-u", "alice:alicepw", *extra, url)
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        return result.stdout

    def direct(self, path):
        return self.fetch(f"imap://127.0.0.1:{self.peers.imap_port}/{path}")

    def check_mode(self, base_url, *extra):
        self.assertEqual(self.fetch(base_url + "/", *extra), self.direct(""))
        body = self.fetch(base_url + "/INBOX;UID=1", *extra)
        self.assertEqual(body, MESSAGE)
        self.assertEqual(body, self.direct("INBOX;UID=1"))

    def test_plain(self):
        self.check_mode(f"imap://127.0.0.1:{self.proxy.plain_port}")

    def test_starttls(self):
        self.check_mode(f"imap://localhost:{self.proxy.starttls_port}", "--ssl-reqd", "--cacert", self.proxy.ca)

    def test_implicit_tls(self):
        self.check_mode(f"imaps://localhost:{self.proxy.tls_port}", "--cacert", self.proxy.ca)

    def test_untrusted_certificate_is_refused_by_curl(self):
        # The dev CA is not in the system store: without --cacert curl must refuse.
        result = curl("-u", "alice:alicepw", f"imaps://localhost:{self.proxy.tls_port}/")
        self.assertNotEqual(result.returncode, 0)

    def test_tap_saw_the_fetched_bodies(self):
        self.fetch(f"imap://127.0.0.1:{self.proxy.plain_port}/INBOX;UID=1")
        events = self.proxy.wait_events(lambda ev: any(e["event"] == "message_fetched" for e in ev))
        fetched = [e for e in events if e["event"] == "message_fetched"]
        self.assertTrue(fetched)
        for e in fetched:
            self.assertEqual(e["sha256"], sha256(MESSAGE))
            self.assertEqual(e["size"], len(MESSAGE))
            self.assertEqual(e["mailbox"], "INBOX")


class UpstreamModes(unittest.TestCase):
    """The proxy's own leg to Dovecot: plain, STARTTLS and implicit TLS."""

    def test_each_upstream_mode(self):
        peers = Peers()
        try:
            for mode in ("none", "starttls", "implicit"):
                proxy = Proxy(peers, upstream_tls=mode)
                try:
                    result = curl("-u", "bob:bobpw", f"imap://127.0.0.1:{proxy.plain_port}/")
                    self.assertEqual(result.returncode, 0, f"{mode}: {result.stderr.decode()}\n{proxy.log_text()}")
                    self.assertIn(b"INBOX", result.stdout)
                finally:
                    self.assertEqual(proxy.stop(), 0)
        finally:
            peers.stop()


if __name__ == "__main__":
    run_tests()

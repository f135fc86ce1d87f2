"""Session and process lifecycle: idle and pre-auth timeouts, graceful drain
on SIGTERM, and the tap's gap record when its event queue is full."""
import imaplib
import signal
import socket
import time
import unittest

from harness import Peers, Proxy, run_tests


def connect(test, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    f = s.makefile("rb")
    test.addCleanup(s.close)
    test.addCleanup(f.close)
    greeting = f.readline()
    assert greeting.startswith(b"* OK"), greeting
    return s, f


def login(s, f, user="alice", password="alicepw"):
    s.sendall(f"l LOGIN {user} {password}\r\n".encode())
    while True:
        line = f.readline()
        if line.startswith(b"l "):
            return line


class Lifecycle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peers = Peers()

    @classmethod
    def tearDownClass(cls):
        cls.peers.stop()

    def proxy(self, extra):
        proxy = Proxy(self.peers, extra=extra)
        self.addCleanup(proxy.stop)
        return proxy

    def test_idle_timeout_says_bye(self):
        proxy = self.proxy("timeouts: {idle: 2s}")
        s, f = connect(self, proxy.plain_port)
        self.assertTrue(login(s, f).startswith(b"l OK"))
        start = time.time()
        line = f.readline()
        self.assertEqual(line, b"* BYE Disconnected for inactivity.\r\n")
        self.assertGreaterEqual(time.time() - start, 1.5)
        self.assertEqual(f.readline(), b"")  # then the connection closes
        # The summary line is written when the session object goes, just after the close.
        self.assertIsNotNone(proxy.wait_log("reason=idle timeout"))

    def test_traffic_keeps_a_session_alive(self):
        proxy = self.proxy("timeouts: {idle: 2s}")
        s, f = connect(self, proxy.plain_port)
        login(s, f)
        for i in range(4):  # 4 s of activity, one NOOP every second
            time.sleep(1)
            s.sendall(b"n%d NOOP\r\n" % i)
            while not (line := f.readline()).startswith(b"n%d " % i):
                self.assertNotIn(b"BYE", line)

    def test_preauth_timeout(self):
        proxy = self.proxy("timeouts: {preauth: 1s}")
        s, f = connect(self, proxy.plain_port)
        self.assertEqual(f.readline(), b"* BYE Login timeout, closing connection.\r\n")
        self.assertEqual(f.readline(), b"")

    def test_silent_client_on_tls_port_is_closed_at_the_preauth_timeout(self):
        # No handshake ever starts: no BYE can be sent, but the session must end.
        proxy = self.proxy("timeouts: {preauth: 1s}")
        s = socket.create_connection(("127.0.0.1", proxy.tls_port), timeout=15)
        self.addCleanup(s.close)
        start = time.time()
        self.assertEqual(s.recv(100), b"")
        self.assertLess(time.time() - start, 10)
        self.assertIsNotNone(proxy.wait_log("reason=pre-auth timeout"))

    def test_sigterm_drains_then_exits_zero(self):
        proxy = Proxy(self.peers, extra="timeouts: {drain: 3s}")
        s, f = connect(self, proxy.plain_port)
        login(s, f)
        proxy.process.send_signal(signal.SIGTERM)
        # No new connections once the signal is handled (give a loaded machine time)...
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", proxy.plain_port), timeout=2).close()
            except OSError:
                break
            time.sleep(0.1)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", proxy.plain_port), timeout=2)
        # ...but the open session keeps working during the drain.
        s.sendall(b"n NOOP\r\n")
        while not (line := f.readline()).startswith(b"n "):
            pass
        self.assertTrue(line.startswith(b"n OK"))
        self.assertEqual(proxy.process.wait(timeout=15), 0)
        self.assertIn("drain timeout: closing 1 session", proxy.log_text())

    def test_sigterm_with_no_sessions_exits_at_once(self):
        proxy = Proxy(self.peers)
        start = time.time()
        self.assertEqual(proxy.stop(), 0)
        self.assertLess(time.time() - start, 3)

    def test_full_event_queue_records_a_gap(self):
        proxy = self.proxy("limits: {event_queue_bytes: 2KiB}")
        body = b"From: a@acme.example\r\nSubject: big\r\n\r\n" + b"x" * 8000 + b"\r\n"
        m = imaplib.IMAP4("127.0.0.1", proxy.plain_port)
        m.login("carol", "carolpw")
        m.append("INBOX", None, None, body)
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], body)  # the client is served in full
        m.logout()
        events = proxy.wait_events(lambda ev: any(e["event"] == "gap" for e in ev))
        gaps = [e for e in events if e["event"] == "gap" and e["user"] == "carol"]
        self.assertTrue(gaps, events)
        self.assertGreaterEqual(sum(g["events_lost"] for g in gaps), 1)
        self.assertEqual(gaps[0]["reason"], "event queue full")
        self.assertFalse([e for e in events if e["event"] == "message_fetched" and e["user"] == "carol"])


if __name__ == "__main__":
    run_tests()

"""Integration test harness: a real private Dovecot (tests/peers) and a real
lodestone process on loopback, for tests that drive them with real clients.

Each test module gets its own Dovecot BASEPORT (passed by CTest as
LODESTONE_PEERS_BASE) so modules can run in parallel.
"""
import atexit
import hashlib
import imaplib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "tests" / "peers"
LODESTONE = os.environ.get("LODESTONE_BIN", str(ROOT / "build" / "proxy" / "lodestone"))
USERS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw", "dave": "davepw"}
# Set LODESTONE_KEEP_TEST_DIRS=1 to keep logs and mail for a post-mortem.
KEEP_DIRS = os.environ.get("LODESTONE_KEEP_TEST_DIRS") == "1"


def remove_at_exit(path):
    if not KEEP_DIRS:
        atexit.register(shutil.rmtree, str(path), True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Peers:
    """A private Dovecot + SMTP sink under a fresh /tmp directory."""

    def __init__(self, base=None):
        self.base = int(base or os.environ.get("LODESTONE_PEERS_BASE", "21000"))
        self.dir = tempfile.mkdtemp(prefix="lodestone-peers-", dir="/tmp")
        remove_at_exit(self.dir)
        atexit.register(self.stop)  # runs before the removal (atexit is LIFO)
        out = subprocess.run([str(PEERS / "start"), self.dir, str(self.base)], check=True,
                             capture_output=True, text=True).stdout
        self.env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        self.imap_port = int(self.env["IMAP_PORT"])
        self.imaps_port = int(self.env["IMAPS_PORT"])
        self.lmtp_port = int(self.env["LMTP_PORT"])
        self.ca = self.env["PEERS_CA"].strip("'\"")

    def stop(self):
        subprocess.run([str(PEERS / "stop"), self.dir], capture_output=True)


class Proxy:
    """lodestone run with a generated config; stop() checks a clean exit."""

    def __init__(self, peers, upstream_tls="none", listeners=None, routes=None, extra="", upstreams=None):
        self.dir = Path(tempfile.mkdtemp(prefix="lodestone-proxy-"))
        remove_at_exit(self.dir)
        certs = self.dir / "certs"
        subprocess.run([LODESTONE, "cert", "dev", "--out", str(certs)], check=True, capture_output=True)
        self.ca = str(certs / "ca.pem")
        self.plain_port = free_port()
        self.starttls_port = free_port()
        self.tls_port = free_port()
        self.event_log = self.dir / "tap-events.jsonl"
        self.log = self.dir / "lodestone.log"
        upstream_port = {"none": peers.imap_port, "starttls": peers.imap_port, "implicit": peers.imaps_port}
        if listeners is None:
            listeners = f"""
  - {{protocol: imap, address: 127.0.0.1, port: {self.plain_port}, tls: none, allow_plaintext_login: true}}
  - {{protocol: imap, address: 127.0.0.1, port: {self.starttls_port}, tls: starttls,
     cert: certs/server.pem, key: certs/server.key, allow_plaintext_login: false}}
  - {{protocol: imap, address: 127.0.0.1, port: {self.tls_port}, tls: implicit,
     cert: certs/server.pem, key: certs/server.key}}"""
        if upstreams is None:
            upstreams = f"""
  - {{name: dovecot, host: 127.0.0.1, port: {upstream_port[upstream_tls]}, tls: {upstream_tls},
     ca_file: {peers.ca}, server_name: localhost}}"""
        if routes is None:
            routes = "\n  - {upstream: dovecot}"
        self.config = self.dir / "lodestone.yaml"
        self.config.write_text(f"""listeners:{listeners}
upstreams:{upstreams}
routes:{routes}
logging: {{level: debug, file: lodestone.log}}
tap: {{enabled: true, event_log: tap-events.jsonl}}
threads: 2
{extra}
""")
        self.output = self.dir / "output.txt"  # what lodestone prints before its log is open
        with open(self.output, "wb") as output:
            self.process = subprocess.Popen([LODESTONE, "run", "--config", str(self.config)],
                                            stdout=output, stderr=subprocess.STDOUT)
        atexit.register(self.kill)  # a test that failed before stop() leaves no process behind
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.log.exists() and "lodestone ready" in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise RuntimeError("lodestone exited: " + self.output.read_text(errors="replace")
                                   + self.log_text())
            time.sleep(0.05)
        raise RuntimeError("lodestone did not become ready:\n" + self.log_text())

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, pattern, timeout=5):
        """The first log line matching `pattern` (regex, case-insensitive),
        waiting for it a while (sessions log their summary as they go); or None."""
        deadline = time.time() + timeout
        while True:
            for line in self.log_text().splitlines():
                if re.search(pattern, line, re.IGNORECASE):
                    return line
            if time.time() > deadline:
                return None
            time.sleep(0.05)

    def events(self):
        if not self.event_log.exists():
            return []
        return [json.loads(line) for line in self.event_log.read_text().splitlines() if line.strip()]

    def wait_events(self, predicate, timeout=10):
        """Events once predicate(events) holds (the consumer writes asynchronously)."""
        deadline = time.time() + timeout
        while True:
            events = self.events()
            if predicate(events) or time.time() > deadline:
                return events
            time.sleep(0.05)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def direct_login(peers, user="alice"):
    """A logged-in imaplib connection straight to Dovecot (plain port)."""
    imap = imaplib.IMAP4("127.0.0.1", peers.imap_port)
    imap.login(user, USERS[user])
    return imap


def append_direct(peers, messages, user="alice", mailbox="INBOX"):
    """Puts messages into a mailbox without going through the proxy."""
    imap = direct_login(peers, user)
    for message in messages:
        imap.append(mailbox, None, None, message)
    imap.logout()


def stop_checked(proxy, extra_secrets=()):
    """Stops a proxy, then asserts a clean exit and no secret in its log.
    Returns the log text."""
    code = proxy.stop()
    log = proxy.log_text()
    for secret in list(USERS.values()) + list(extra_secrets):
        assert secret not in log, f"a secret ({secret[:3]}...) appears in the proxy log {proxy.log}"
    assert code == 0, f"lodestone exited with {code}:\n{log[-4000:]}"
    return log


class ProxyTestCase(unittest.TestCase):
    """One Dovecot and one proxy for all tests of a module's class."""

    upstream_tls = "none"
    proxy_options = {}

    @classmethod
    def setUpClass(cls):
        cls.peers = Peers()
        try:
            cls.proxy = Proxy(cls.peers, upstream_tls=cls.upstream_tls, **cls.proxy_options)
        except Exception:
            cls.peers.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            stop_checked(cls.proxy)
        finally:
            cls.peers.stop()


def run_tests():
    """unittest main that prints a closing 'N passed, N failed' line."""
    import sys
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or result.testsRun == 0 else 0)

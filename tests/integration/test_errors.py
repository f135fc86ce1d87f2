"""Error paths and hostile input before login, through the real proxy against
a real Dovecot: wrong passwords, missing routes, an upstream that is down or
fails TLS verification, plaintext-login policy and STARTTLS (including the
CVE-2011-0411 injection), garbage lines, over-long lines and literals,
literal logins, cancelled AUTHENTICATE, and secrets kept out of the log."""
import base64
import random
import re
import subprocess
import threading
import time
import unittest

from harness import Peers, Proxy, free_port, run_tests
from imapraw import Closed, RawImap, capabilities, tls_context
from harness import stop_checked
from support import other_ca, sasl_plain

PEERS = None
WRONG = "wrongpw-Zq7"  # a wrong password that must not reach the log either


def setUpModule():
    global PEERS
    PEERS = Peers()


def tearDownModule():
    PEERS.stop()


def tail(proxy, n=4000):
    return proxy.log_text()[-n:]


def direct_reply(command):
    """Dovecot's own tagged reply to `command` (tag stripped)."""
    with RawImap(PEERS.imap_port) as c:
        _, tagged = c.command("d1", command)
    return tagged[len(b"d1 "):]


class PreauthErrors(unittest.TestCase):
    """One proxy (plain + STARTTLS + implicit TLS listeners, upstream STARTTLS)."""

    SECRETS = (WRONG, sasl_plain("alice", "alicepw"), sasl_plain("bob", "bobpw"), sasl_plain("alice", WRONG))

    @classmethod
    def setUpClass(cls):
        cls.crashes = []
        cls.proxy = Proxy(PEERS, upstream_tls="starttls")

    def setUp(self):
        # A proxy that died in an earlier test is noted (tearDownClass fails
        # with it) and replaced, so one crash does not fail every later test.
        cls = type(self)
        if cls.proxy.process.poll() is not None:
            cls.crashes.append(f"lodestone was found dead ({cls.proxy.process.returncode}) when {self.id()} started: "
                               f"{cls.proxy.output.read_text(errors='replace').strip()}")
            cls.proxy = Proxy(PEERS, upstream_tls="starttls")

    def tearDown(self):
        try:
            self.proxy.process.wait(timeout=0.05)  # a crash shows up here, not in the next test
        except subprocess.TimeoutExpired:
            return
        # Give the crash its own failure, naming this test.
        self.fail(f"lodestone died ({self.proxy.process.returncode}) during this test: "
                  f"{self.proxy.output.read_text(errors='replace').strip()}\nlog tail:\n{tail(self.proxy, 800)}")

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.proxy, extra_secrets=cls.SECRETS)
        assert not cls.crashes, "\n".join(cls.crashes)

    def plain(self, **kw):
        return RawImap(self.proxy.plain_port, **kw)

    def assertTagged(self, tagged, prefix, context=""):
        self.assertTrue(tagged.startswith(prefix.encode()),
                        f"expected {prefix!r}..., got {tagged!r} {context}\nproxy log:\n{tail(self.proxy, 1500)}")

    def assertSelectWorks(self, conn, tag="s1"):
        untagged, tagged = conn.command(tag, "SELECT INBOX")
        self.assertTagged(tagged, f"{tag} OK")
        self.assertTrue(any(b"UIDVALIDITY" in u for u in untagged), untagged)

    # --- wrong password -------------------------------------------------
    def test_wrong_password_gets_the_servers_text(self):
        expected = direct_reply(f"LOGIN alice {WRONG}")
        self.assertTrue(expected.startswith(b"NO "), expected)
        with self.plain() as c:
            _, tagged = c.command("x7", f"LOGIN alice {WRONG}")
            self.assertEqual(tagged, b"x7 " + expected)
            # The connection stays usable: the client may simply try again.
            c.login("alice", "alicepw", tag="x8")
            self.assertSelectWorks(c)

    def test_wrong_password_authenticate_plain(self):
        expected = direct_reply(f"AUTHENTICATE PLAIN {sasl_plain('alice', WRONG)}")
        with self.plain() as c:
            _, tagged = c.command("p1", f"AUTHENTICATE PLAIN {sasl_plain('alice', WRONG)}")
            self.assertEqual(tagged, b"p1 " + expected)
            _, tagged = c.command("p2", f"AUTHENTICATE PLAIN {sasl_plain('alice', 'alicepw')}")
            self.assertTagged(tagged, "p2 OK")

    # --- plaintext policy and STARTTLS ----------------------------------
    def test_plaintext_login_refused_before_starttls_then_accepted(self):
        with RawImap(self.proxy.starttls_port) as c:
            if b"[CAPABILITY " in c.greeting.upper():
                self.assertIn(b"LOGINDISABLED", c.greeting.upper())
            untagged, tagged = c.command("c1", "CAPABILITY")
            self.assertTagged(tagged, "c1 OK")
            caps = capabilities(untagged)
            self.assertIn("LOGINDISABLED", caps)
            self.assertIn("STARTTLS", caps)
            _, tagged = c.command("l1", "LOGIN alice alicepw")
            self.assertTagged(tagged, "l1 NO [PRIVACYREQUIRED]")
            _, tagged = c.command("l2", f"AUTHENTICATE PLAIN {sasl_plain('alice', 'alicepw')}")
            self.assertTagged(tagged, "l2 NO [PRIVACYREQUIRED]")
            # Not logged in after the refusals.
            _, tagged = c.command("l3", "SELECT INBOX")
            self.assertTagged(tagged, "l3 BAD")
            tagged, leftover = c.starttls(self.proxy.ca)
            self.assertTagged(tagged, "S1 OK")
            self.assertEqual(leftover, b"")
            untagged, tagged = c.command("c2", "CAPABILITY")
            caps = capabilities(untagged)
            self.assertNotIn("LOGINDISABLED", caps)
            self.assertNotIn("STARTTLS", caps)
            c.login("alice", "alicepw", tag="l4")
            self.assertSelectWorks(c)

    def test_starttls_injection_is_discarded(self):
        with RawImap(self.proxy.starttls_port) as c:
            c.send(b"a STARTTLS\r\nb CAPABILITY\r\n")
            untagged, tagged = c.read_tagged("a")
            self.assertTagged(tagged, "a OK")
            self.assertEqual(untagged, [])
            self.assertEqual(c.buf, b"", "clear-text bytes after the STARTTLS OK")
            c.sock = tls_context(self.proxy.ca).wrap_socket(c.sock, server_hostname="localhost")
            untagged, tagged = c.command("c", "NOOP")
            self.assertTagged(tagged, "c OK")
            self.assertEqual(untagged, [], "the pipelined CAPABILITY was answered")
            # Nothing else trickles in either.
            self.assertFalse(c.is_closed(timeout=0.3))
            self.assertEqual(c.buf, b"", "the pipelined command was answered late")

    def test_starttls_injected_login_is_discarded(self):
        with RawImap(self.proxy.starttls_port) as c:
            c.send(b"a STARTTLS\r\nb LOGIN alice alicepw\r\n")
            _, tagged = c.read_tagged("a")
            self.assertTagged(tagged, "a OK")
            c.sock = tls_context(self.proxy.ca).wrap_socket(c.sock, server_hostname="localhost")
            untagged, tagged = c.command("c", "SELECT INBOX")
            self.assertTagged(tagged, "c BAD", "(a login pipelined in clear text was honoured)")
            self.assertFalse(any(u.startswith(b"b ") for u in untagged), untagged)

    def test_starttls_not_offered_on_plain_listener(self):
        with self.plain() as c:
            _, tagged = c.command("t1", "STARTTLS")
            self.assertTagged(tagged, "t1 BAD")
            c.login("alice", "alicepw")

    # --- garbage ----------------------------------------------------------
    def garbage_lines(self, count=1000, seed=20261123):
        rng = random.Random(seed)
        special = [b"\x00", b"\xff\xfe\xfd", b"\xc3\x28\xa0\xa1", b"\xed\xa0\x80 \x00\x00 NOOP",
                   b"\x80LOGIN alice alicepw", b"* \xf0\x28\x8c\x28", b" ", b"()" * 50]
        lines = []
        for i in range(count):
            if i < len(special):
                data = special[i]
            else:
                data = rng.randbytes(rng.randint(1, 400)).replace(b"\r", b"").replace(b"\n", b"")
            if data.endswith(b"}"):
                data = data[:-1] + b"\x00"  # no literal announcement
            lines.append(data or b"\x00")
        return lines

    def test_garbage_lines_are_bad_then_bye_and_others_keep_working(self):
        lines = self.garbage_lines()
        stop = threading.Event()
        ready = threading.Event()
        worker_errors, worker_rounds = [], [0]

        def other_client():
            try:
                with self.plain() as c:
                    c.login("bob", "bobpw")
                    self.assertSelectWorks(c)
                    ready.set()
                    while not stop.is_set():
                        _, tagged = c.command("n", "NOOP")
                        if not tagged.startswith(b"n OK"):
                            raise AssertionError(tagged)
                        worker_rounds[0] += 1
            except Exception as e:  # reported by the main thread
                worker_errors.append(repr(e))
            finally:
                ready.set()

        worker = threading.Thread(target=other_client)
        worker.start()
        self.assertTrue(ready.wait(10))
        try:
            sent = 0
            connections = 0
            tag_re = re.compile(rb"^(\*|[\x21-\x7e]+) BAD ")
            while sent < len(lines):
                connections += 1
                with self.plain() as c:
                    for n in range(1, 21):
                        line = lines[sent]
                        sent += 1
                        c.send(line + b"\r\n")
                        reply = c.readline()
                        # Every invalid line gets its BAD...
                        self.assertRegex(reply, tag_re, f"line {sent - 1}: {line[:60]!r}")
                        self.assertNotIn(b"+", reply.split(b" ", 1)[0])  # never echo an invalid tag
                        # No control or 8-bit bytes from the garbage are echoed back.
                        self.assertTrue(all(0x20 <= b <= 0x7e for b in reply[:-2]), reply)
                        if n == 20:
                            # ...and the 20th in a row is followed by BYE and the close.
                            self.assertEqual(c.readline(), b"* BYE Too many invalid commands.\r\n",
                                             f"20th invalid line ({sent - 1}) on connection {connections}")
                            self.assertTrue(c.is_closed(), "connection still open after the BYE")
                        if sent == len(lines):
                            break
            self.assertEqual(connections, 50)
            rounds = worker_rounds[0]
            deadline = time.time() + 5
            while worker_rounds[0] < rounds + 3 and time.time() < deadline and not worker_errors:
                time.sleep(0.01)
        finally:
            stop.set()
            worker.join(timeout=20)
        self.assertEqual(worker_errors, [])
        self.assertGreater(worker_rounds[0], 0)
        with self.plain() as c:  # afterwards
            c.login("carol", "carolpw")
            self.assertSelectWorks(c)

    def test_valid_command_resets_the_invalid_counter(self):
        with self.plain() as c:
            for round_ in range(3):
                for i in range(15):
                    c.send(b"\x01\x02 garbage\r\n")
                    self.assertTrue(c.readline().startswith(b"* BAD"))
                _, tagged = c.command(f"n{round_}", "NOOP")
                self.assertTagged(tagged, f"n{round_} OK")
            c.login("alice", "alicepw")

    # --- long lines and literals -----------------------------------------
    def test_line_of_70kib_gets_bye(self):
        with self.plain() as c:
            try:
                c.send(b"a LOGIN " + b"x" * (70 * 1024) + b" pw\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assertEqual(c.readline(), b"* BYE Command line too long.\r\n")
            self.assertTrue(c.is_closed())

    def test_line_just_under_the_limit_is_not_too_long(self):
        with self.plain() as c:
            _, tagged = c.command("a", b"NOOP " + b"x" * (60 * 1024))
            self.assertTrue(tagged.startswith(b"a BAD") or tagged.startswith(b"a OK"), tagged[:80])
            _, tagged = c.command("b", "NOOP")
            self.assertTagged(tagged, "b OK")

    def test_oversized_synchronizing_literal_is_refused_and_connection_usable(self):
        with self.plain() as c:
            c.send(b"a LOGIN {99999999}\r\n")
            self.assertEqual(c.readline(), b"a BAD Literal too large.\r\n")
            _, tagged = c.command("b", "NOOP")
            self.assertTagged(tagged, "b OK")
            c.login("alice", "alicepw", tag="c")
            self.assertSelectWorks(c)

    def test_oversized_nonsynchronizing_literal_gets_bye(self):
        with self.plain() as c:
            c.send(b"a LOGIN {99999999+}\r\n" + b"x" * 1000)
            self.assertEqual(c.readline(), b"* BYE Literal too large.\r\n")
            self.assertTrue(c.is_closed())

    def test_login_with_synchronizing_literals(self):
        with self.plain() as c:
            c.send(b"a LOGIN {5}\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(b"alice {7}\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(b"alicepw\r\n")
            _, tagged = c.read_tagged("a")
            self.assertTagged(tagged, "a OK")
            self.assertSelectWorks(c)

    def test_login_with_literal_plus_when_advertised(self):
        with self.plain() as c:
            untagged, _ = c.command("c", "CAPABILITY")
            caps = capabilities(untagged)
            if "LITERAL+" not in caps and "LITERAL-" not in caps:
                self.skipTest("the proxy does not advertise LITERAL+ before login")
            c.send(b"a LOGIN {5+}\r\nalice {7+}\r\nalicepw\r\n")
            _, tagged = c.read_tagged("a")
            self.assertTagged(tagged, "a OK")
            self.assertSelectWorks(c)

    def test_password_with_specials_as_literal(self):
        # A password with a quote and a space only fits in a literal or quoted
        # string; the proxy must replay it to the server intact (the server then
        # says NO because it is wrong, with its own text).
        expected = direct_reply('LOGIN alice "a\\"b c"')
        with self.plain() as c:
            c.send(b"a LOGIN alice {5}\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(b'a"b c\r\n')
            _, tagged = c.read_tagged("a")
            self.assertEqual(tagged, b"a " + expected)

    # --- AUTHENTICATE -----------------------------------------------------
    def test_authenticate_cancelled_then_login_on_same_connection(self):
        with self.plain() as c:
            c.send(b"a AUTHENTICATE PLAIN\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(b"*\r\n")
            _, tagged = c.read_tagged("a")
            self.assertTagged(tagged, "a BAD")
            c.login("alice", "alicepw", tag="b")
            self.assertSelectWorks(c)

    def test_authenticate_invalid_base64_then_login(self):
        with self.plain() as c:
            c.send(b"a AUTHENTICATE PLAIN\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(b"%%%not base64%%%\r\n")
            _, tagged = c.read_tagged("a")
            self.assertTagged(tagged, "a BAD")
            c.login("alice", "alicepw", tag="b")

    def test_authenticate_login_mechanism(self):
        with self.plain() as c:
            c.send(b"a AUTHENTICATE LOGIN\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(base64.b64encode(b"alice") + b"\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(base64.b64encode(b"alicepw") + b"\r\n")
            _, tagged = c.read_tagged("a")
            self.assertTagged(tagged, "a OK")
            self.assertSelectWorks(c)

    def test_authenticate_unknown_mechanism(self):
        with self.plain() as c:
            _, tagged = c.command("a", "AUTHENTICATE CRAM-MD5")
            self.assertTagged(tagged, "a NO")
            c.login("alice", "alicepw", tag="b")

    # --- harmless pre-auth commands --------------------------------------
    def test_id_and_noop_before_login(self):
        with self.plain() as c:
            untagged, tagged = c.command("a", "ID NIL")
            self.assertTagged(tagged, "a OK")
            self.assertTrue(any(u.startswith(b"* ID ") for u in untagged), untagged)
            untagged, tagged = c.command("b", 'ID ("name" "test_errors" "version" "1")')
            self.assertTagged(tagged, "b OK")
            _, tagged = c.command("c", "NOOP")
            self.assertTagged(tagged, "c OK")
            untagged, tagged = c.command("d", "CAPABILITY")
            self.assertTagged(tagged, "d OK")
            self.assertIn("IMAP4rev1", capabilities(untagged))
            c.login("alice", "alicepw", tag="e")
            self.assertSelectWorks(c)

    def test_logout_before_login(self):
        with self.plain() as c:
            untagged, tagged = c.command("z", "LOGOUT")
            self.assertTrue(any(u.startswith(b"* BYE") for u in untagged), untagged)
            self.assertTagged(tagged, "z OK")
            self.assertTrue(c.is_closed())

    def test_zz_no_secret_in_the_debug_log(self):
        # Runs last (alphabetical), after every login above; logs in once more
        # (right and wrong, LOGIN and AUTHENTICATE) so it also holds on its own.
        with self.plain() as c:
            c.command("w1", f"LOGIN alice {WRONG}")
            c.command("w2", f"AUTHENTICATE PLAIN {sasl_plain('alice', WRONG)}")
            c.command("w3", f"AUTHENTICATE PLAIN {sasl_plain('alice', 'alicepw')}")
        with self.plain() as c:
            c.login("bob", "bobpw")
        self.assertIsNotNone(self.proxy.wait_log("login user=bob"))
        log = self.proxy.log_text()
        self.assertIn("debug", self.proxy.config.read_text())
        for secret in ("alicepw", "bobpw", "carolpw", WRONG, sasl_plain("alice", "alicepw"),
                       sasl_plain("alice", WRONG), 'a"b c'):
            self.assertNotIn(secret, log)


class PreauthTimeout(unittest.TestCase):
    def test_silent_client_gets_bye_after_preauth_timeout(self):
        proxy = Proxy(PEERS, extra="timeouts: {preauth: 1s}")
        try:
            with RawImap(proxy.plain_port) as c:
                started = time.time()
                self.assertEqual(c.readline(), b"* BYE Login timeout, closing connection.\r\n")
                self.assertTrue(c.is_closed())
                self.assertLess(time.time() - started, 5)
            # "a client has this long to log in": NOOPs do not extend it.
            with RawImap(proxy.plain_port) as c:
                started = time.time()
                while True:
                    self.assertLess(time.time() - started, 5, "NOOPs kept an unauthenticated session alive")
                    try:
                        c.send(b"n NOOP\r\n")
                        line = c.readline()
                    except (OSError, Closed):
                        break
                    if line.startswith(b"* BYE"):
                        self.assertEqual(line, b"* BYE Login timeout, closing connection.\r\n")
                        break
                    self.assertTrue(line.startswith(b"n OK"), line)
                    time.sleep(0.2)
        finally:
            stop_checked(proxy)


class RoutingAndUpstreamFailures(unittest.TestCase):
    """A proxy with domain routes only (no default route), one upstream that
    is down and one whose certificate cannot be verified."""

    @classmethod
    def setUpClass(cls):
        cls.closed_port = free_port()
        cls.wrong_ca = other_ca()
        upstreams = f"""
  - {{name: dovecot, host: 127.0.0.1, port: {PEERS.imap_port}, tls: none}}
  - {{name: down, host: 127.0.0.1, port: {cls.closed_port}, tls: none}}
  - {{name: badtls, host: 127.0.0.1, port: {PEERS.imaps_port}, tls: implicit, verify: true,
     ca_file: {cls.wrong_ca}, server_name: localhost}}"""
        routes = """
  - {domain: example.org, upstream: dovecot}
  - {domain: down.example, upstream: down}
  - {domain: badtls.example, upstream: badtls}"""
        cls.proxy = Proxy(PEERS, upstreams=upstreams, routes=routes)

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.proxy)

    def login(self, user, password="alicepw"):
        with RawImap(self.proxy.plain_port) as c:
            _, tagged = c.command("r1", f"LOGIN {user} {password}")
            return tagged

    def test_routed_domain_works(self):
        self.assertTrue(self.login("alice@example.org").startswith(b"r1 OK"))
        self.assertTrue(self.login("alice@EXAMPLE.ORG").startswith(b"r1 OK"))

    def test_unknown_domain_is_refused(self):
        expected = b"r1 NO [AUTHENTICATIONFAILED] No mail server is configured for this user.\r\n"
        self.assertEqual(self.login("alice@example.com"), expected)
        self.assertEqual(self.login("alice"), expected)  # no default route
        self.assertEqual(self.login("alice@sub.example.org"), expected)
        with RawImap(self.proxy.plain_port) as c:
            _, tagged = c.command("r2", f"AUTHENTICATE PLAIN {sasl_plain('alice@example.com', 'alicepw')}")
            self.assertEqual(tagged, expected.replace(b"r1", b"r2"))

    def test_upstream_down(self):
        tagged = self.login("alice@down.example")
        self.assertTrue(tagged.startswith(b"r1 NO [UNAVAILABLE]"), tagged)
        line = self.proxy.wait_log(r"route=down.*refused")
        self.assertIsNotNone(line, f"no 'connection refused' in the log:\n{tail(self.proxy)}")

    def test_upstream_tls_verification_failure(self):
        tagged = self.login("alice@badtls.example")
        self.assertTrue(tagged.startswith(b"r1 NO [UNAVAILABLE]"), tagged)
        line = self.proxy.wait_log(r"route=badtls.*certificate.*verif|route=badtls.*verif.*certificate")
        self.assertIsNotNone(line, f"no certificate verification error in the log:\n{tail(self.proxy)}")


if __name__ == "__main__":
    run_tests()

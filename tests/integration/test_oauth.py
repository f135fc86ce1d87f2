"""XOAUTH2 and OAUTHBEARER relayed through the proxy to a real Dovecot.

Dovecot 2.3's xoauth2/oauthbearer mechanisms hand the bearer token to the
passdb like a plain password (mech-oauth2.c: auth_request_verify_plain), so
with `auth_mechanisms = plain login xoauth2 oauthbearer` (tests/peers/start
with PEERS_AUTH_MECHANISMS) and the passwd-file, the token "alicepw" logs
alice in, and a wrong token gets the real error continuation
(`+ <base64 JSON>`) followed by a tagged NO once the client answers it.
A second Dovecot with the default mechanisms plays the server that does not
offer XOAUTH2."""
import base64
import json
import os
import unittest

from harness import Peers, Proxy, run_tests
from imapraw import RawImap
from harness import stop_checked
from support import oauthbearer, xoauth2

MECHANISMS = "plain login xoauth2 oauthbearer"
OAUTH = None   # Dovecot offering XOAUTH2 and OAUTHBEARER
PLAIN = None   # Dovecot with the default mechanisms (plain login)


def setUpModule():
    global OAUTH, PLAIN
    base = int(os.environ.get("LODESTONE_PEERS_BASE", "21000"))
    old = os.environ.get("PEERS_AUTH_MECHANISMS")
    os.environ["PEERS_AUTH_MECHANISMS"] = MECHANISMS
    try:
        OAUTH = Peers(base)
    finally:
        if old is None:
            del os.environ["PEERS_AUTH_MECHANISMS"]
        else:
            os.environ["PEERS_AUTH_MECHANISMS"] = old
    try:
        # BASE+2: its ports (BASE+26, +27, +145, +467, +589, +995) do not
        # collide with the first instance's and stay in this module's range.
        PLAIN = Peers(base + 2)
    except Exception:
        OAUTH.stop()
        raise


def tearDownModule():
    OAUTH.stop()
    PLAIN.stop()


def tagged_text(tagged, tag):
    prefix = tag.encode() + b" "
    assert tagged.startswith(prefix), tagged
    return tagged[len(prefix):]


class OAuthRelay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        upstreams = f"""
  - {{name: oauth, host: 127.0.0.1, port: {OAUTH.imaps_port}, tls: implicit, ca_file: {OAUTH.ca},
     server_name: localhost}}
  - {{name: plainonly, host: 127.0.0.1, port: {PLAIN.imap_port}, tls: starttls, ca_file: {PLAIN.ca},
     server_name: localhost}}"""
        routes = """
  - {domain: plainonly.example, upstream: plainonly}
  - {upstream: oauth}"""
        cls.proxy = Proxy(OAUTH, upstreams=upstreams, routes=routes)

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.proxy, extra_secrets=(xoauth2("alice", "alicepw"), oauthbearer("alice", "alicepw"),
                                               "badtoken-41"))

    def raw(self):
        return RawImap(self.proxy.plain_port)

    def direct_exchange(self, mechanism, payload, answer):
        """What Dovecot itself says to `AUTHENTICATE mechanism payload`
        followed by `answer` to its continuation: (continuation, final)."""
        with RawImap(OAUTH.imap_port) as c:
            c.send(f"d AUTHENTICATE {mechanism} {payload}\r\n".encode())
            cont = c.readline()
            c.send(answer + b"\r\n")
            _, tagged = c.read_tagged("d")
        return cont, tagged_text(tagged, "d")

    def assertLoggedIn(self, conn, tagged, tag):
        self.assertTrue(tagged.startswith(f"{tag} OK".encode()),
                        f"{tagged!r}\nproxy log:\n{self.proxy.log_text()[-1500:]}")
        untagged, tagged = conn.command("s1", "SELECT INBOX")
        self.assertTrue(tagged.startswith(b"s1 OK"), tagged)

    # --- XOAUTH2 ----------------------------------------------------------
    def test_xoauth2_with_sasl_ir(self):
        with self.raw() as c:
            _, tagged = c.command("a1", f"AUTHENTICATE XOAUTH2 {xoauth2('alice', 'alicepw')}")
            self.assertLoggedIn(c, tagged, "a1")

    def test_xoauth2_without_sasl_ir(self):
        with self.raw() as c:
            c.send(b"a1 AUTHENTICATE XOAUTH2\r\n")
            cont = c.readline()
            self.assertTrue(cont.startswith(b"+"), cont)
            c.send(xoauth2("bob", "bobpw").encode() + b"\r\n")
            _, tagged = c.read_tagged("a1")
            self.assertLoggedIn(c, tagged, "a1")

    def test_xoauth2_over_implicit_tls_listener(self):
        with RawImap(self.proxy.tls_port, tls_ca=self.proxy.ca) as c:
            _, tagged = c.command("t1", f"AUTHENTICATE XOAUTH2 {xoauth2('carol', 'carolpw')}")
            self.assertLoggedIn(c, tagged, "t1")

    def test_xoauth2_bad_token_error_continuation_relayed(self):
        payload = xoauth2("alice", "badtoken-41")
        direct_cont, direct_final = self.direct_exchange("XOAUTH2", payload, b"")
        self.assertTrue(direct_cont.startswith(b"+ "), direct_cont)
        error = json.loads(base64.b64decode(direct_cont[2:].strip()))
        self.assertEqual(error["status"], "401")
        with self.raw() as c:
            c.send(f"x9 AUTHENTICATE XOAUTH2 {payload}\r\n".encode())
            cont = c.readline()
            self.assertEqual(cont, direct_cont)  # unchanged, byte for byte
            c.send(b"\r\n")  # the client acknowledges the error with an empty response
            _, tagged = c.read_tagged("x9")
            self.assertEqual(tagged, b"x9 " + direct_final)
            self.assertTrue(direct_final.startswith(b"NO"), direct_final)
            # The connection is still usable for another try.
            _, tagged = c.command("x10", f"AUTHENTICATE XOAUTH2 {xoauth2('alice', 'alicepw')}")
            self.assertLoggedIn(c, tagged, "x10")

    def test_xoauth2_bad_token_without_sasl_ir(self):
        with self.raw() as c:
            c.send(b"y1 AUTHENTICATE XOAUTH2\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(xoauth2("alice", "badtoken-41").encode() + b"\r\n")
            cont = c.readline()
            self.assertTrue(cont.startswith(b"+ "), cont)
            self.assertEqual(json.loads(base64.b64decode(cont[2:].strip()))["status"], "401")
            c.send(b"\r\n")
            _, tagged = c.read_tagged("y1")
            self.assertTrue(tagged.startswith(b"y1 NO"), tagged)

    def test_xoauth2_error_continuation_cancelled(self):
        payload = xoauth2("alice", "badtoken-41")
        _, direct_final = self.direct_exchange("XOAUTH2", payload, b"*")
        with self.raw() as c:
            c.send(f"z1 AUTHENTICATE XOAUTH2 {payload}\r\n".encode())
            self.assertTrue(c.readline().startswith(b"+ "))
            c.send(b"*\r\n")
            _, tagged = c.read_tagged("z1")
            self.assertEqual(tagged, b"z1 " + direct_final)
            c.login("alice", "alicepw", tag="z2")

    # --- OAUTHBEARER ------------------------------------------------------
    def test_oauthbearer_with_sasl_ir(self):
        with self.raw() as c:
            _, tagged = c.command("o1", f"AUTHENTICATE OAUTHBEARER {oauthbearer('alice', 'alicepw')}")
            self.assertLoggedIn(c, tagged, "o1")

    def test_oauthbearer_without_sasl_ir(self):
        with self.raw() as c:
            c.send(b"o1 AUTHENTICATE OAUTHBEARER\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            c.send(oauthbearer("dave", "davepw").encode() + b"\r\n")
            _, tagged = c.read_tagged("o1")
            self.assertLoggedIn(c, tagged, "o1")

    def test_oauthbearer_bad_token_error_continuation_relayed(self):
        payload = oauthbearer("alice", "badtoken-41")
        # RFC 7628 3.2.3: the client answers the error with a single %x01.
        direct_cont, direct_final = self.direct_exchange("OAUTHBEARER", payload, b"AQ==")
        self.assertTrue(direct_cont.startswith(b"+ "), direct_cont)
        self.assertIn("status", json.loads(base64.b64decode(direct_cont[2:].strip())))
        with self.raw() as c:
            c.send(f"ob AUTHENTICATE OAUTHBEARER {payload}\r\n".encode())
            cont = c.readline()
            self.assertEqual(cont, direct_cont)
            c.send(b"AQ==\r\n")
            _, tagged = c.read_tagged("ob")
            self.assertEqual(tagged, b"ob " + direct_final)
            self.assertTrue(direct_final.startswith(b"NO"), direct_final)
        # An empty answer works as well (what many clients send).
        with self.raw() as c:
            c.send(f"oc AUTHENTICATE OAUTHBEARER {payload}\r\n".encode())
            self.assertEqual(c.readline(), direct_cont)
            c.send(b"\r\n")
            _, tagged = c.read_tagged("oc")
            self.assertTrue(tagged.startswith(b"oc NO"), tagged)
            c.login("alice", "alicepw", tag="od")

    # --- an upstream without OAuth ----------------------------------------
    def test_upstream_without_xoauth2_refuses(self):
        with RawImap(PLAIN.imap_port) as c:
            _, tagged = c.command("c", "CAPABILITY")
            self.assertNotIn(b"AUTH=XOAUTH2", c.greeting + b"".join(_))
        for mechanism, payload in (("XOAUTH2", xoauth2("alice@plainonly.example", "alicepw")),
                                   ("OAUTHBEARER", oauthbearer("alice@plainonly.example", "alicepw"))):
            with self.subTest(mechanism=mechanism), self.raw() as c:
                _, tagged = c.command("p1", f"AUTHENTICATE {mechanism} {payload}")
                self.assertTrue(tagged.startswith(b"p1 NO"), tagged)
                # Not logged in; a plain login on the same connection works.
                _, tagged = c.command("p2", "SELECT INBOX")
                self.assertTrue(tagged.startswith(b"p2 BAD") or tagged.startswith(b"p2 NO"), tagged)
                c.login("alice@plainonly.example", "alicepw", tag="p3")
                _, tagged = c.command("p4", "SELECT INBOX")
                self.assertTrue(tagged.startswith(b"p4 OK"), tagged)

    def test_upstream_without_xoauth2_refuses_continuation_form(self):
        with self.raw() as c:
            c.send(b"q1 AUTHENTICATE XOAUTH2\r\n")
            line = c.readline()
            if line.startswith(b"+"):
                c.send(xoauth2("bob@plainonly.example", "bobpw").encode() + b"\r\n")
                _, line = c.read_tagged("q1")
            self.assertTrue(line.startswith(b"q1 NO"), line)


if __name__ == "__main__":
    run_tests()

"""Python's imaplib (and a raw socket where imaplib cannot) through the
proxy's plain listener, the proxy reaching Dovecot over implicit TLS:
logins, big APPEND/FETCH, UID MOVE, ENABLE, IDLE, LOGOUT, the capability
filter, and the tap events those operations must produce."""
import imaplib
import random
import re
import time
import zlib

from harness import ProxyTestCase, direct_login as direct, run_tests, sha256
from imapraw import RawImap, capabilities
from support import sasl_plain

MIB = 1024 * 1024


def sized_message(size, subject, seed=7):
    """A deterministic RFC 5322 message of exactly `size` bytes: 8-bit text,
    long and short lines, dot-leading lines."""
    rng = random.Random(seed)
    head = (f"From: Dana Ortiz <dana@acme.example>\r\nTo: alice@example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@acme.example>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n").encode()
    words = ["Grüße", "order", "€uro", "Zoë", "李雷", "invoice", ".dot", "x" * 900, "naïve", "quote"]
    body = bytearray()
    target = size - len(head)
    while len(body) < target:
        body += " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))).encode() + b"\r\n"
    body = body[:target - 2]
    while body.endswith(b"\r"):  # never leave a lone CR before the final CRLF
        body[-1:] = b"x"
    data = head + bytes(body) + b"\r\n"
    assert len(data) == size
    return data


def appenduid(response_text):
    m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", response_text)
    assert m, response_text
    return int(m.group(1)), int(m.group(2))


def fetch_body(imap, uid):
    typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert typ == "OK", (typ, data)
    bodies = [part[1] for part in data if isinstance(part, tuple)]
    assert len(bodies) == 1, data
    return bodies[0]


def status_uidvalidity(imap, mailbox):
    typ, data = imap.status(mailbox, "(UIDVALIDITY)")
    assert typ == "OK", data
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


class ImaplibThroughProxy(ProxyTestCase):
    upstream_tls = "implicit"

    def client(self, user="alice", password=None):
        imap = imaplib.IMAP4("127.0.0.1", self.proxy.plain_port)
        imap.login(user, password or {"alice": "alicepw", "bob": "bobpw"}[user])
        self.addCleanup(self.safe_logout, imap)
        return imap

    def direct(self, user="alice"):
        imap = direct(self.peers, user)
        self.addCleanup(self.safe_logout, imap)
        return imap

    @staticmethod
    def safe_logout(imap):
        try:
            imap.logout()
        except Exception:
            pass

    def events_where(self, predicate, count=1, timeout=10):
        events = self.proxy.wait_events(lambda ev: sum(1 for e in ev if predicate(e)) >= count, timeout)
        return [e for e in events if predicate(e)]

    # --- logins and capabilities ----------------------------------------
    def test_login_and_select(self):
        imap = imaplib.IMAP4("127.0.0.1", self.proxy.plain_port)
        typ, data = imap.login("alice", "alicepw")
        self.assertEqual(typ, "OK", data)
        typ, data = imap.select("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(imap.logout()[0], "BYE")

    def test_authenticate_plain_via_continuation(self):
        imap = imaplib.IMAP4("127.0.0.1", self.proxy.plain_port)
        # imaplib sends "AUTHENTICATE PLAIN", waits for "+", then the response.
        typ, data = imap.authenticate("PLAIN", lambda challenge: b"\0alice\0alicepw")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(imap.select("INBOX")[0], "OK")
        imap.logout()

    def test_authenticate_plain_with_sasl_ir(self):
        with RawImap(self.proxy.plain_port) as c:
            _, tagged = c.command("a1", f"AUTHENTICATE PLAIN {sasl_plain('bob', 'bobpw')}")
            self.assertTrue(tagged.startswith(b"a1 OK"), tagged)
            _, tagged = c.command("a2", "SELECT INBOX")
            self.assertTrue(tagged.startswith(b"a2 OK"), tagged)
            # Authorization identity equal to the user is accepted too.
        with RawImap(self.proxy.plain_port) as c:
            _, tagged = c.command("b1", f"AUTHENTICATE PLAIN {sasl_plain('bob', 'bobpw', authzid='bob')}")
            self.assertTrue(tagged.startswith(b"b1 OK"), tagged)

    def test_capabilities_after_login_are_filtered(self):
        d = self.direct()
        typ, data = d.capability()
        direct_caps = data[0].decode().split()
        self.assertIn("COMPRESS=DEFLATE", direct_caps)

        with RawImap(self.proxy.plain_port) as c:
            tagged = c.login("alice", "alicepw")
            self.assertNotIn(b"COMPRESS", tagged)  # the OK [CAPABILITY ...] code is filtered too
            untagged, tagged = c.command("c1", "CAPABILITY")
            caps = capabilities(untagged)
        self.assertNotIn("COMPRESS=DEFLATE", caps)
        for cap in caps:
            self.assertFalse(cap.startswith("COMPRESS="), cap)
            self.assertFalse(cap.startswith("AUTH=") and cap.endswith("-PLUS"), cap)
            self.assertNotIn(cap, ("UNAUTHENTICATE", "STARTTLS", "LOGINDISABLED"))
        # Everything else Dovecot offers is passed on unchanged, in order.
        self.assertEqual(caps, [c for c in direct_caps if c != "COMPRESS=DEFLATE"])

    def test_compress_requested_anyway(self):
        # COMPRESS is hidden, but a client may send it regardless.  Either the
        # command is refused and the session goes on, or it is relayed, the
        # stream becomes compressed and the tap records a gap.
        with RawImap(self.proxy.plain_port) as c:
            c.login("alice", "alicepw")
            _, tagged = c.command("z1", "COMPRESS DEFLATE")
            if not tagged.startswith(b"z1 OK"):
                _, tagged = c.command("z2", "NOOP")
                self.assertTrue(tagged.startswith(b"z2 OK"), tagged)
                return
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            inflate = zlib.decompressobj(-15)
            c.send(deflate.compress(b"z2 NOOP\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
            got = b""
            deadline = time.time() + 10
            while b"z2 OK" not in got and time.time() < deadline:
                c._fill()
                got += inflate.decompress(c.buf)
                c.buf = b""
            self.assertIn(b"z2 OK", got)
        gaps = self.events_where(lambda e: e["event"] == "gap")
        self.assertTrue(gaps, "COMPRESS was relayed but the tap recorded no gap")

    # --- APPEND and FETCH ---------------------------------------------------
    def test_append_1mib_fetch_back_identical(self):
        message = sized_message(MIB, "one mebibyte")
        imap = self.client()
        imap.create("Big")
        typ, data = imap.append("Big", None, None, message)  # a synchronizing literal
        self.assertEqual(typ, "OK", data)
        uidvalidity, uid = appenduid(data[0])

        typ, data = imap.select("Big")
        self.assertEqual(typ, "OK", data)
        select_uidvalidity = int(imap.response("UIDVALIDITY")[1][0])
        self.assertEqual(select_uidvalidity, uidvalidity)
        through_proxy = fetch_body(imap, uid)
        self.assertEqual(len(through_proxy), MIB)
        self.assertEqual(through_proxy, message)

        d = self.direct()
        self.assertEqual(status_uidvalidity(d, "Big"), uidvalidity)
        d.select("Big", readonly=True)
        self.assertEqual(fetch_body(d, uid), message)

        appended = self.events_where(lambda e: e["event"] == "message_appended" and e["mailbox"] == "Big")
        self.assertEqual(len(appended), 1, appended)
        self.assertEqual(appended[0]["sha256"], sha256(message))
        self.assertEqual(appended[0]["size"], MIB)
        self.assertEqual(appended[0]["uid"], uid)
        self.assertEqual(appended[0]["user"], "alice")

        fetched = self.events_where(lambda e: e["event"] == "message_fetched" and e["mailbox"] == "Big")
        self.assertEqual(len(fetched), 1, fetched)
        self.assertEqual(fetched[0]["sha256"], sha256(message))
        self.assertEqual(fetched[0]["size"], MIB)
        self.assertEqual(fetched[0]["uid"], uid)
        self.assertEqual(fetched[0]["uidvalidity"], uidvalidity)
        self.assertEqual(fetched[0]["item"], "BODY[]")

        selected = self.events_where(lambda e: e["event"] == "mailbox_selected" and e["mailbox"] == "Big")
        self.assertTrue(selected)
        self.assertEqual(selected[0]["uidvalidity"], uidvalidity)
        self.assertFalse(selected[0]["read_only"])

    def test_examine_is_read_only_selection(self):
        d = self.direct()
        uidvalidity = status_uidvalidity(d, "Sent")
        imap = self.client()
        self.assertEqual(imap.select("Sent", readonly=True)[0], "OK")
        selected = self.events_where(lambda e: e["event"] == "mailbox_selected" and e["mailbox"] == "Sent")
        self.assertTrue(selected)
        self.assertTrue(selected[-1]["read_only"])
        self.assertEqual(selected[-1]["uidvalidity"], uidvalidity)

    def test_fetch_items_full_and_partial(self):
        message = sized_message(30_000, "fetch items", seed=70)
        d = self.direct()
        d.create("Items")
        uidvalidity, uid = appenduid(d.append("Items", None, None, message)[1][0])
        direct_binary = None
        d.select("Items", readonly=True)
        typ, data = d.uid("FETCH", str(uid), "(BINARY.PEEK[])")
        self.assertEqual(typ, "OK", data)
        direct_binary = data[0][1]

        imap = self.client()
        imap.select("Items")
        typ, data = imap.uid("FETCH", str(uid), "(RFC822)")
        self.assertEqual(data[0][1], message)
        typ, data = imap.uid("FETCH", str(uid), "(BINARY.PEEK[])")
        self.assertEqual(data[0][1], direct_binary)
        # Partial and section fetches are not whole messages: no message_fetched.
        typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[]<0.100>)")
        self.assertEqual(data[0][1], message[:100])
        typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[HEADER])")
        self.assertEqual(data[0][1], message[:message.index(b"\r\n\r\n") + 4])
        typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[TEXT])")
        self.assertEqual(data[0][1], message[message.index(b"\r\n\r\n") + 4:])
        typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[1])")
        self.assertEqual(typ, "OK", data)
        imap.noop()
        # a final whole-body fetch marks the end of what the tap must have seen
        typ, data = imap.uid("FETCH", str(uid), "(UID FLAGS BODY.PEEK[])")
        self.assertEqual([p[1] for p in data if isinstance(p, tuple)], [message])

        fetched = self.events_where(lambda e: e["event"] == "message_fetched" and e["mailbox"] == "Items", 3)
        self.assertEqual([(e["item"], e["uid"], e["size"], e["sha256"]) for e in fetched],
                         [("RFC822", uid, len(message), sha256(message)),
                          ("BINARY[]", uid, len(direct_binary), sha256(direct_binary)),
                          ("BODY[]", uid, len(message), sha256(message))])
        self.assertEqual({e["uidvalidity"] for e in fetched}, {uidvalidity})
        # RFC822 (not .PEEK) set \Seen, which the server reported with the body or after it.
        self.assertIn("\\Seen", fetched[2].get("flags", []))

    def test_multiappend_with_literal_plus(self):
        one = sized_message(5000, "multi one", seed=80)
        two = sized_message(7000, "multi two", seed=81)
        with RawImap(self.proxy.plain_port) as c:
            c.login("alice", "alicepw")
            _, tagged = c.command("m0", "CREATE Multi")
            self.assertTrue(tagged.startswith(b"m0 OK"), tagged)
            c.send(b"m1 APPEND Multi (\\Seen) {%d+}\r\n" % len(one) + one +
                   b" (\\Flagged) {%d+}\r\n" % len(two) + two + b"\r\n")
            _, tagged = c.read_tagged("m1")
            self.assertTrue(tagged.startswith(b"m1 OK"), tagged)
            m = re.search(rb"\[APPENDUID (\d+) (\d+):(\d+)\]", tagged)
            self.assertTrue(m, tagged)
        uidvalidity, first, last = (int(x) for x in m.groups())
        appended = self.events_where(lambda e: e["event"] == "message_appended" and e["mailbox"] == "Multi", 2)
        self.assertEqual([(e["sha256"], e["size"]) for e in appended],
                         [(sha256(one), len(one)), (sha256(two), len(two))])
        self.assertEqual([e["flags"] for e in appended], [["\\Seen"], ["\\Flagged"]])
        self.assertEqual([e["uid"] for e in appended], [first, last])
        self.assertEqual({e["uidvalidity"] for e in appended}, {uidvalidity})

    def test_qresync_select_events_belong_to_the_new_mailbox(self):
        d = self.direct()
        d.create("QrA")
        d.create("QrB")
        d.append("QrA", None, None, sized_message(1000, "qra", seed=90))
        uids = [appenduid(d.append("QrB", None, None, sized_message(1000 + i, f"qrb {i}", seed=91 + i))[1][0])[1]
                for i in range(3)]
        b_validity = status_uidvalidity(d, "QrB")
        a_validity = status_uidvalidity(d, "QrA")
        d.select("QrB")
        d.uid("STORE", str(uids[0]), "+FLAGS.SILENT", r"(\Deleted)")
        d.expunge()
        with RawImap(self.proxy.plain_port) as c:
            c.login("alice", "alicepw")
            c.command("e1", "ENABLE QRESYNC")
            _, tagged = c.command("s1", "SELECT QrA")
            self.assertTrue(tagged.startswith(b"s1 OK"), tagged)
            untagged, tagged = c.command("s2", f"SELECT QrB (QRESYNC ({b_validity} 1))")
            self.assertTrue(tagged.startswith(b"s2 OK"), tagged)
            self.assertIn(f"* VANISHED (EARLIER) {uids[0]}\r\n".encode(), untagged)
        vanished = self.events_where(lambda e: e["event"] == "vanished" and e["uids"] == str(uids[0])
                                     and e["earlier"])
        self.assertEqual(len(vanished), 1, vanished)
        self.assertEqual((vanished[0]["mailbox"], vanished[0]["uidvalidity"]), ("QrB", b_validity),
                         f"QrA has uidvalidity {a_validity}")
        for e in self.proxy.events():
            if e["event"] == "flags_changed" and e["uid"] in uids[1:]:
                self.assertEqual((e["mailbox"], e["uidvalidity"]), ("QrB", b_validity), e)

    # --- MOVE -------------------------------------------------------------------
    def test_uid_move_to_another_folder(self):
        message = sized_message(20_000, "to be moved", seed=11)
        d = self.direct()
        d.create("MoveSrc")
        d.create("MoveDst")
        for i in range(3):
            d.append("MoveSrc", None, None, sized_message(3000 + i, f"filler {i}", seed=i))
        uidvalidity, uid = appenduid(d.append("MoveSrc", None, None, message)[1][0])

        imap = self.client()
        self.assertEqual(imap.select("MoveSrc")[0], "OK")
        typ, data = imap.uid("MOVE", str(uid), "MoveDst")
        self.assertEqual(typ, "OK", data)
        # Dovecot reports the expunge of sequence 4 in MoveSrc.
        self.assertIn(b"4", imap.response("EXPUNGE")[1] or [b""])

        self.assertEqual(imap.select("MoveDst")[0], "OK")
        typ, data = imap.search(None, "ALL")
        self.assertEqual(data[0].split(), [b"1"])
        typ, data = imap.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], message)

        d.select("MoveDst", readonly=True)
        self.assertEqual(d.search(None, "ALL")[1][0].split(), [b"1"])
        self.assertEqual(d.fetch("1", "(BODY.PEEK[])")[1][0][1], message)
        d.select("MoveSrc", readonly=True)
        self.assertEqual(d.search(None, "ALL")[1][0].split(), [b"1", b"2", b"3"])

        expunged = self.events_where(lambda e: e["event"] == "expunged" and e["mailbox"] == "MoveSrc")
        self.assertEqual([(e["seq"], e["uidvalidity"]) for e in expunged], [(4, uidvalidity)])

    # --- flags and expunge ------------------------------------------------------
    def test_store_flags_and_expunge_events(self):
        d = self.direct()
        d.create("Flags")
        uids = [appenduid(d.append("Flags", None, None, sized_message(2000 + i, f"flag {i}", seed=20 + i))[1][0])[1]
                for i in range(3)]
        imap = self.client()
        imap.select("Flags")
        typ, data = imap.uid("STORE", str(uids[0]), "+FLAGS", r"(\Seen)")
        self.assertEqual(typ, "OK", data)
        changed = self.events_where(lambda e: e["event"] == "flags_changed" and e["mailbox"] == "Flags")
        self.assertEqual(len(changed), 1, changed)
        self.assertEqual(changed[0]["uid"], uids[0])
        self.assertEqual(changed[0]["seq"], 1)
        self.assertIn("\\Seen", changed[0]["flags"])

        # A sequence-number STORE: FETCH (FLAGS) without UID.
        typ, data = imap.store("2", "+FLAGS", r"(\Deleted \Flagged)")
        self.assertEqual(typ, "OK", data)
        changed = self.events_where(lambda e: e["event"] == "flags_changed" and e["mailbox"] == "Flags", 2)
        self.assertEqual(len(changed), 2, changed)
        self.assertEqual(changed[1]["seq"], 2)
        self.assertEqual(set(changed[1]["flags"]) & {"\\Deleted", "\\Flagged"}, {"\\Deleted", "\\Flagged"})

        typ, data = imap.expunge()
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data, [b"2"])
        expunged = self.events_where(lambda e: e["event"] == "expunged" and e["mailbox"] == "Flags")
        self.assertEqual([e["seq"] for e in expunged], [2])

    # --- ENABLE ---------------------------------------------------------------
    def test_enable_condstore_and_qresync_answered_by_server(self):
        d = self.direct()
        d.create("Qr")
        uids = [appenduid(d.append("Qr", None, None, sized_message(1500 + i, f"qr {i}", seed=40 + i))[1][0])[1]
                for i in range(4)]
        with RawImap(self.proxy.plain_port) as c:
            c.login("alice", "alicepw")
            untagged, tagged = c.command("e1", "ENABLE CONDSTORE")
            self.assertTrue(tagged.startswith(b"e1 OK"), tagged)
            self.assertIn(b"* ENABLED CONDSTORE\r\n", untagged)
            untagged, tagged = c.command("e2", "ENABLE QRESYNC")
            self.assertTrue(tagged.startswith(b"e2 OK"), tagged)
            self.assertIn(b"* ENABLED QRESYNC\r\n", untagged)
            untagged, tagged = c.command("s1", "SELECT Qr (CONDSTORE)")
            self.assertTrue(tagged.startswith(b"s1 OK"), tagged)
            self.assertTrue(any(b"HIGHESTMODSEQ" in u for u in untagged), untagged)
            untagged, tagged = c.command("u1", f"UID STORE {uids[1]},{uids[2]} +FLAGS.SILENT (\\Deleted)")
            self.assertTrue(tagged.startswith(b"u1 OK"), tagged)
            untagged, tagged = c.command("x1", "EXPUNGE")
            self.assertTrue(tagged.startswith(b"x1 OK"), tagged)
            # With QRESYNC on, the server reports VANISHED instead of EXPUNGE.
            vanished_lines = [u for u in untagged if u.startswith(b"* VANISHED ")]
            self.assertEqual(len(vanished_lines), 1, untagged)
            uid_set = vanished_lines[0][len(b"* VANISHED "):].strip().decode()
            self.assertEqual(uid_set, f"{uids[1]}:{uids[2]}")
            # A QRESYNC SELECT that asks for the changes since modseq 1 gets
            # VANISHED (EARLIER).
            uidvalidity = status_uidvalidity(d, "Qr")
            untagged, tagged = c.command("s2", f"SELECT Qr (QRESYNC ({uidvalidity} 1 1:{uids[3]}))")
            self.assertTrue(tagged.startswith(b"s2 OK"), tagged)
            earlier = [u for u in untagged if u.startswith(b"* VANISHED (EARLIER) ")]
            self.assertEqual(len(earlier), 1, untagged)

        vanished = self.events_where(lambda e: e["event"] == "vanished" and e["mailbox"] == "Qr", 2)
        self.assertEqual(len(vanished), 2, vanished)
        self.assertEqual(vanished[0]["uids"], uid_set)
        self.assertFalse(vanished[0]["earlier"])
        self.assertEqual(vanished[0]["uidvalidity"], uidvalidity)
        self.assertTrue(vanished[1]["earlier"])
        self.assertEqual(vanished[1]["uids"], earlier[0][len(b"* VANISHED (EARLIER) "):].strip().decode())
        self.assertFalse([e for e in self.proxy.events() if e["event"] == "expunged" and e["mailbox"] == "Qr"])

    # --- IDLE -------------------------------------------------------------------
    def test_idle_sees_exists_from_another_connection(self):
        d = self.direct()
        d.create("IdleBox")
        d.append("IdleBox", None, None, sized_message(1000, "before idle", seed=50))
        with RawImap(self.proxy.plain_port) as c:
            c.login("alice", "alicepw")
            untagged, tagged = c.command("s1", "SELECT IdleBox")
            self.assertIn(b"* 1 EXISTS\r\n", untagged)
            c.send(b"i1 IDLE\r\n")
            self.assertTrue(c.readline().startswith(b"+"))
            # A second connection, through the proxy too, appends.
            other = self.client("alice")
            typ, data = other.append("IdleBox", None, None, sized_message(1200, "during idle", seed=51))
            self.assertEqual(typ, "OK", data)
            seen = []
            deadline = time.time() + 10
            while time.time() < deadline:
                line = c.readline()
                seen.append(line)
                if line == b"* 2 EXISTS\r\n":
                    break
            self.assertIn(b"* 2 EXISTS\r\n", seen)
            c.send(b"DONE\r\n")
            _, tagged = c.read_tagged("i1")
            self.assertTrue(tagged.startswith(b"i1 OK"), tagged)
            _, tagged = c.command("n1", "NOOP")
            self.assertTrue(tagged.startswith(b"n1 OK"), tagged)

    # --- LOGOUT -----------------------------------------------------------------
    def test_logout_gives_bye_and_ok(self):
        with RawImap(self.proxy.plain_port) as c:
            c.login("alice", "alicepw")
            untagged, tagged = c.command("z1", "LOGOUT")
            self.assertTrue(any(u.startswith(b"* BYE ") for u in untagged), untagged)
            self.assertTrue(tagged.startswith(b"z1 OK"), tagged)
            self.assertTrue(c.is_closed())


class CaptureLimit(ProxyTestCase):
    """Bodies above limits.capture_max are relayed exactly but not captured."""
    upstream_tls = "implicit"
    proxy_options = {"extra": "limits: {capture_max: 100KiB}"}

    def test_fetch_and_append_above_the_limit(self):
        big = sized_message(200 * 1024, "two hundred kib", seed=60)
        small = sized_message(50 * 1024, "fifty kib", seed=61)
        d = direct(self.peers)
        d.create("Cap")
        uidvalidity, big_uid = appenduid(d.append("Cap", None, None, big)[1][0])
        _, small_uid = appenduid(d.append("Cap", None, None, small)[1][0])
        d.logout()

        imap = imaplib.IMAP4("127.0.0.1", self.proxy.plain_port)
        imap.login("alice", "alicepw")
        imap.select("Cap")
        self.assertEqual(fetch_body(imap, big_uid), big)
        self.assertEqual(fetch_body(imap, small_uid), small)
        typ, data = imap.append("Cap", None, None, big)
        self.assertEqual(typ, "OK", data)
        _, appended_uid = appenduid(data[0])
        imap.logout()

        events = self.proxy.wait_events(
            lambda ev: sum(1 for e in ev if e["event"] == "capture_skipped") >= 2
            and any(e["event"] == "message_fetched" for e in ev))
        skipped = [e for e in events if e["event"] == "capture_skipped"]
        self.assertEqual(len(skipped), 2, skipped)
        fetch_skip = [e for e in skipped if e["uid"] == big_uid]
        self.assertEqual(len(fetch_skip), 1, skipped)
        self.assertEqual(fetch_skip[0]["size"], len(big))
        self.assertEqual(fetch_skip[0]["mailbox"], "Cap")
        self.assertEqual(fetch_skip[0]["uidvalidity"], uidvalidity)
        self.assertTrue(fetch_skip[0]["reason"])
        append_skip = [e for e in skipped if e is not fetch_skip[0]]
        self.assertEqual(append_skip[0]["size"], len(big))
        self.assertEqual(append_skip[0]["mailbox"], "Cap")

        fetched = [e for e in events if e["event"] == "message_fetched"]
        self.assertEqual([(e["uid"], e["sha256"], e["size"]) for e in fetched],
                         [(small_uid, sha256(small), len(small))])
        # No event pretends to carry the skipped body.
        for e in events:
            if e["event"] in ("message_fetched", "message_appended"):
                self.assertNotEqual(e.get("uid"), appended_uid if e["event"] == "message_appended" else big_uid, e)


if __name__ == "__main__":
    run_tests()

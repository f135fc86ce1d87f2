"""Deterministic, varied RFC 5322 messages for sync tests and benchmarks:
plain and multipart, 8-bit and encoded-word headers, attachments, long lines,
sizes from a few hundred bytes to about a megabyte."""
import base64
import random

NAMES = ["Dana Ortiz", "Sam Lee", "Jürgen Müller", "Zoë Brontë", "李雷", "O'Brien, Pat", "Ana María"]
DOMAINS = ["acme.example", "globex.example", "initech.example", "gmail.example", "example.org"]
WORDS = ("quote invoice meeting order delivery contract renewal pricing support ticket "
         "follow-up proposal demo schedule thanks regards question update").split()


def _encoded_word(text):
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def _address(rng):
    name = rng.choice(NAMES)
    local = "".join(c for c in name.lower() if c.isascii() and c.isalpha())[:12] or "user"
    display = name if name.isascii() and "," not in name else _encoded_word(name)
    return f"{display} <{local}@{rng.choice(DOMAINS)}>"


def _text(rng, size):
    out = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        out.append(line)
        length += len(line) + 2
    return "\r\n".join(out)


def message(index, seed=1):
    """Message number `index` of the deterministic set (bytes, CRLF line ends)."""
    rng = random.Random(seed * 1_000_003 + index)
    kind = index % 6
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
    if index % 7 == 0:
        subject = _encoded_word("Grüße – " + subject)
    headers = [
        f"From: {_address(rng)}",
        f"To: {_address(rng)}",
        f"Subject: {'Re: ' if index % 3 == 0 else ''}{subject}",
        f"Date: Mon, {1 + index % 28:02d} Sep 2026 {index % 24:02d}:{index % 60:02d}:00 +0000",
        f"Message-ID: <gen-{seed}-{index}@{rng.choice(DOMAINS)}>",
    ]
    if index % 3 == 0 and index > 0:
        headers.append(f"In-Reply-To: <gen-{seed}-{index - 1}@acme.example>")
    size = rng.choice([300, 1200, 4000, 12000, 40000]) if index % 50 else 900_000
    if kind in (0, 1, 2):
        headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: 8bit"]
        body = _text(rng, size)
        if kind == 1:
            body += "\r\nUmlaute: äöü ß – €\r\n" + "L" * 1500  # 8-bit and a long line
        if kind == 2:
            body += "\r\n.leading dot\r\n..two dots\r\nFrom the start of a line\r\n"
    elif kind in (3, 4):
        boundary = f"b{index}x{rng.randint(0, 10**9)}"
        headers += ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{boundary}"']
        attachment = base64.encodebytes(rng.randbytes(size)).decode().replace("\n", "\r\n")
        body = (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{_text(rng, 400)}\r\n"
                f"--{boundary}\r\nContent-Type: application/octet-stream; name=\"file{index}.bin\"\r\n"
                f"Content-Disposition: attachment; filename=\"file{index}.bin\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--{boundary}--\r\n")
    else:
        boundary = f"alt{index}"
        headers += ["MIME-Version: 1.0", f"Content-Type: multipart/alternative; boundary={boundary}"]
        text = _text(rng, size // 2)
        body = (f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{text}\r\n"
                f"--{boundary}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<html><body><p>"
                f"{text}</p></body></html>\r\n--{boundary}--\r\n")
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def fill_mailbox(imap, mailbox, count, seed=1):
    """APPENDs `count` messages over an authenticated imaplib connection;
    returns them in order."""
    if mailbox != "INBOX":
        imap.create(mailbox)
    sent = []
    for i in range(count):
        data = message(i, seed)
        typ, _ = imap.append(mailbox, None, None, data)
        if typ != "OK":
            raise RuntimeError(f"APPEND {i} failed")
        sent.append(data)
    return sent

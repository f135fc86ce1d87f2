"""A tiny raw IMAP client for integration tests: exact bytes on the wire,
explicit control over pipelining, literals, continuations and STARTTLS.

It keeps its own receive buffer (no socket.makefile), so after STARTTLS a
test can see whether the server sent anything in clear text that it should
not have, and then upgrade the very same socket."""
import re
import socket
import ssl

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    return ctx


class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


class RawImap:
    def __init__(self, port, host="127.0.0.1", tls_ca=None, timeout=15, greeting=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls_ca:
            self.sock = tls_context(tls_ca).wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.greeting = self.readline() if greeting else None

    # --- low level -------------------------------------------------------
    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, BrokenPipeError) as e:
            raise Closed(str(e)) from e
        if not chunk:
            raise Closed("EOF")
        self.buf += chunk

    def readline(self) -> bytes:
        """One line including CRLF; raises Closed at EOF."""
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def read_exact(self, n) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self) -> bytes:
        """One response line with any literals it announces, joined."""
        out = self.readline()
        while True:
            m = _LITERAL.search(out)
            if not m:
                return out
            out += self.read_exact(int(m.group(1)))
            out += self.readline()

    def is_closed(self, timeout=5) -> bool:
        """True when the server closes the connection (after any pending data)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while True:
                try:
                    chunk = self.sock.recv(65536)
                except (ConnectionResetError, ssl.SSLEOFError, BrokenPipeError, ssl.SSLZeroReturnError):
                    return True
                except (socket.timeout, TimeoutError):
                    return False
                if not chunk:
                    return True
                self.buf += chunk
        finally:
            self.sock.settimeout(old)

    # --- commands --------------------------------------------------------
    def command(self, tag, text, literal_waits=True):
        """Sends `tag text` and reads up to the tagged reply.  Returns
        (untagged responses, tagged line), each as bytes with CRLF."""
        line = text if isinstance(text, bytes) else text.encode()
        self.send(tag.encode() + b" " + line + b"\r\n")
        return self.read_tagged(tag)

    def read_tagged(self, tag):
        untagged = []
        prefix = tag.encode() + b" "
        while True:
            resp = self.read_response()
            if resp.startswith(prefix):
                return untagged, resp
            untagged.append(resp)

    def login(self, user, password, tag="L1"):
        _, tagged = self.command(tag, f"LOGIN {user} {password}")
        if not tagged.startswith(f"{tag} OK".encode()):
            raise AssertionError(f"login failed: {tagged!r}")
        return tagged

    def starttls(self, ca, tag="S1"):
        """STARTTLS; returns (tagged reply, clear-text bytes that followed it)."""
        untagged, tagged = self.command(tag, "STARTTLS")
        leftover = self.buf
        self.buf = b""
        if tagged.startswith(f"{tag} OK".encode()):
            self.sock = tls_context(ca).wrap_socket(self.sock, server_hostname="localhost")
        return tagged, leftover

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def capabilities(untagged):
    """The atoms of the `* CAPABILITY` line among untagged responses."""
    for line in untagged:
        if line.upper().startswith(b"* CAPABILITY "):
            return line[len(b"* CAPABILITY "):].strip().decode().split()
    raise AssertionError(f"no CAPABILITY in {untagged!r}")

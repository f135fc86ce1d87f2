"""Helpers shared by the integration modules (besides harness.py)."""
import base64
import imaplib
import subprocess
import tempfile
from pathlib import Path

from harness import LODESTONE, USERS


def stop_checked(proxy, extra_secrets=()):
    """Stops a proxy, then asserts a clean exit and no secret in its log.
    Returns the log text."""
    code = proxy.stop()
    log = proxy.log_text()
    for secret in list(USERS.values()) + list(extra_secrets):
        assert secret not in log, f"a secret ({secret[:3]}...) appears in the proxy log {proxy.log}"
    assert code == 0, f"lodestone exited with {code}:\n{log[-4000:]}"
    return log


def sasl_plain(user, password, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


def xoauth2(user, token):
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def oauthbearer(user, token, host="localhost", port=143):
    return base64.b64encode(
        f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def other_ca():
    """A CA (PEM path) that signed nothing the peers use: lodestone's dev CA
    made in a fresh directory."""
    out = Path(tempfile.mkdtemp(prefix="lodestone-otherca-"))
    subprocess.run([LODESTONE, "cert", "dev", "--out", str(out)], check=True, capture_output=True)
    return str(out / "ca.pem")


def direct(peers, user="alice"):
    """A logged-in imaplib connection straight to Dovecot (plain port)."""
    imap = imaplib.IMAP4("127.0.0.1", peers.imap_port)
    imap.login(user, USERS[user])
    return imap

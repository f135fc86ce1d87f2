"""Helpers shared by the integration modules (besides harness.py)."""
import base64
import subprocess
import tempfile
from pathlib import Path

from harness import LODESTONE


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

"""Test PKI: a local CA, certificates for loopback and alternate domain names, client trust."""

from __future__ import annotations

import ssl
from pathlib import Path

from streaming import certs

LOOPBACK = ("localhost", "127.0.0.1")


def issue(out: Path, stem: str, names: tuple[str, ...], ca: certs.Issued) -> dict[str, str]:
    """`out/<stem>.pem` (leaf + CA, as servers send it) and its key: a `[tls]`-style entry."""
    cert, key = out / f"{stem}.pem", out / f"{stem}-key.pem"
    certs.write(certs.issue(ca, names), cert, key, chain=ca)
    return {"cert_file": str(cert), "key_file": str(key)}


def make_ca(out: Path) -> certs.Issued:
    """A fresh CA written to `out/ca.pem`."""
    ca = certs.make_ca()
    certs.write(ca, out / "ca.pem", out / "ca-key.pem")
    return ca


def tls_section(out: Path, names: tuple[str, ...] = LOOPBACK) -> dict[str, str]:
    """A `[tls]` section: a new CA and one default certificate for `names`."""
    out.mkdir(parents=True, exist_ok=True)
    ca = make_ca(out)
    return {**issue(out, "default", names, ca), "ca_file": str(out / "ca.pem")}


def trust(ca_file: str) -> ssl.SSLContext:
    """A client context that trusts only the local CA."""
    return ssl.create_default_context(cafile=ca_file)

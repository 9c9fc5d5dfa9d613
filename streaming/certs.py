"""A local certificate authority in the role ACM plays: one CA, certificates for a distribution.

The CA signs a server certificate whose subject alternative names are the distribution's
`domain_names` (wildcards such as `*.cdn.demo.test` allowed) plus the loopback names the demo
uses, so edges can serve HTTPS and HTTP/2 and origins can be reached over HTTPS. Viewers and
edges trust the CA file; private keys are written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from streaming.keys import write_private_key

CA_DAYS = 3650
LEAF_DAYS = 397  # what browsers accept for a publicly trusted leaf; keep local ones alike
LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class Issued:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "streaming-cdn local CA"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
    ])  # fmt: skip


def make_ca(common_name: str = "streaming-cdn local CA", now: dt.datetime | None = None) -> Issued:
    """A self-signed CA allowed to sign server certificates only (path length 0)."""
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return Issued(key, cert)


def san_entries(names: tuple[str, ...]) -> list[x509.GeneralName]:
    """DNS names (wildcards included) and IP addresses, deduplicated in order."""
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(n.strip().lower() for n in names if n.strip()):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def issue(ca: Issued, names: tuple[str, ...], now: dt.datetime | None = None) -> Issued:
    """A server certificate for `names` (DNS names, `*.` wildcards, IPs) signed by `ca`."""
    if not names:
        raise ValueError("a certificate needs at least one name")
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0])).issuer_name(ca.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.SubjectAlternativeName(san_entries(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )  # fmt: skip
    return Issued(key, cert)


def write(issued: Issued, cert_path: Path, key_path: Path, chain: Issued | None = None) -> None:
    """Certificate PEM (world-readable), followed by the `chain` CA's when given, and private
    key PEM (0600). Servers send the whole file, so a client that trusts the CA but lacks the
    intermediate still builds the chain."""
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(issued.cert_pem() + (chain.cert_pem() if chain is not None else b""))
    write_private_key(issued.key, key_path)


def covers(cert: x509.Certificate, names: tuple[str, ...], now: dt.datetime, days: int) -> bool:
    """True when `cert` names every one of `names` and stays valid `days` more days."""
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = {str(n.value).lower() for n in sans}
    wanted = {str(n.value).lower() for n in san_entries(names)}
    return wanted <= have and cert.not_valid_after_utc > now + dt.timedelta(days=days)


def load(cert_path: Path, key_path: Path) -> Issued:
    """Read back a CA written by `write` (to issue more certificates with it)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path} is not the CA's EC private key")
    return Issued(key, cert)

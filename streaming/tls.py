"""Server TLS as a CDN exposes it: security policies, certificates chosen by SNI, resumption.

A security policy (CloudFront's names, e.g. `TLSv1.2_2021`) fixes the minimum protocol and the
TLS 1.2 cipher list; TLS 1.3 suites are OpenSSL's (Python cannot narrow them). The default
certificate answers every server name no other certificate covers, and clients without SNI.
Session tickets stay on (OpenSSL's default, stateless): a returning viewer resumes without a
full handshake. Every unusable file is a ConfigError naming the field and the reason.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from streaming.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    minimum: ssl.TLSVersion
    ciphers: tuple[str, ...]  # TLS 1.2 suites, OpenSSL names, in preference order


def _both(*suites: str) -> tuple[str, ...]:
    """Each ECDHE suite for ECDSA keys (what `streaming certs` issues) and for RSA keys."""
    return tuple(s.replace("*", kind) for s in suites for kind in ("ECDSA", "RSA"))


_2021 = _both("ECDHE-*-AES128-GCM-SHA256", "ECDHE-*-AES256-GCM-SHA384", "ECDHE-*-CHACHA20-POLY1305")
_2019 = (*_2021, *_both("ECDHE-*-AES128-SHA256", "ECDHE-*-AES256-SHA384"))
# CloudFront's table (secure-connections-supported-viewer-protocols-ciphers); the pre-2018
# policies (TLS 1.0/1.1, SSLv3) are left out: OpenSSL 3 and browsers refuse those protocols.
POLICIES = {
    "TLSv1.2_2018": SecurityPolicy(
        ssl.TLSVersion.TLSv1_2, (*_2019, "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256")
    ),
    "TLSv1.2_2019": SecurityPolicy(ssl.TLSVersion.TLSv1_2, _2019),
    "TLSv1.2_2021": SecurityPolicy(ssl.TLSVersion.TLSv1_2, _2021),
    "TLSv1.2_2025": SecurityPolicy(
        ssl.TLSVersion.TLSv1_2, _both("ECDHE-*-AES128-GCM-SHA256", "ECDHE-*-AES256-GCM-SHA384")
    ),
    "TLSv1.3_2025": SecurityPolicy(ssl.TLSVersion.TLSv1_3, ()),
}


@dataclass(frozen=True, slots=True)
class Certificate:
    """A usable certificate/key pair and the names (SANs) it is served for."""

    cert_file: str
    key_file: str
    names: tuple[str, ...]

    def covers(self, name: str) -> bool:
        """True when a SAN is `name` or a `*.` wildcard one label above it."""
        name = name.lower().rstrip(".")
        for san in self.names:
            if san == name:
                return True
            if san.startswith("*.") and "." in name and name.split(".", 1)[1] == san[2:]:
                return True
        return False


def load_certificate(
    cert_file: str, key_file: str, where: str = "tls", now: dt.datetime | None = None
) -> Certificate:
    """Read and check a PEM certificate chain and its private key; ConfigError says what is
    wrong with which file (unreadable, not PEM, expired, not yet valid, key mismatch)."""
    for field, path in (("cert_file", cert_file), ("key_file", key_file)):
        if not path:
            raise ConfigError(f"{where}.{field} is not set; run `streaming certs`")
    cert_pem, key_pem = _read(cert_file, f"{where}.cert_file"), _read(key_file, f"{where}.key_file")
    try:
        leaf = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise ConfigError(f"{where}.cert_file: {cert_file} holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{where}.key_file: {key_file} is not an unencrypted PEM private key"
        ) from None
    if key.public_key() != leaf.public_key():
        raise ConfigError(
            f"{where}.key_file: {key_file} is not the key of the certificate in {cert_file}"
        )
    now = now or dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc <= now:
        raise ConfigError(
            f"{where}.cert_file: {cert_file} expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
        )
    if leaf.not_valid_before_utc > now:
        raise ConfigError(
            f"{where}.cert_file: {cert_file} is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    return Certificate(cert_file, key_file, subject_names(leaf))


def _read(path: str, where: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{where}: cannot read {path} ({exc.strerror}); run `streaming certs`"
        ) from None


def subject_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses a certificate is valid for, lower-case."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(dns + ips)


def server_context(cert: Certificate, policy: str, alpn: list[str]) -> ssl.SSLContext:
    """One certificate's server context under `policy` (tickets on, no compression)."""
    chosen = POLICIES[policy]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = chosen.minimum
    if chosen.ciphers:
        context.set_ciphers(":".join(chosen.ciphers))
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options &= ~ssl.OP_NO_TICKET
    context.set_alpn_protocols(alpn)
    try:
        context.load_cert_chain(cert.cert_file, cert.key_file)
    except ssl.SSLError as exc:  # checked above; this is OpenSSL refusing what cryptography read
        raise ConfigError(f"tls: OpenSSL refuses {cert.cert_file}: {exc.reason}") from None
    return context


class SniContexts:
    """The default certificate's context, switching a handshake to the certificate that covers
    the server name the viewer asked for (exact names before wildcards, config order)."""

    def __init__(
        self, default: Certificate, extra: tuple[Certificate, ...], policy: str, alpn: list[str]
    ) -> None:
        self.default = server_context(default, policy, alpn)
        self._extra = [(c, server_context(c, policy, alpn)) for c in extra]
        if self._extra:
            self.default.sni_callback = self._choose

    def for_name(self, server_name: str | None) -> ssl.SSLContext:
        """The context a handshake with this SNI (None: no SNI) is served from."""
        if server_name:
            name = server_name.lower().rstrip(".")
            for cert, context in self._extra:
                if name in cert.names:
                    return context
            for cert, context in self._extra:
                if cert.covers(name):
                    return context
        return self.default

    def _choose(
        self, sock: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        chosen = self.for_name(server_name)
        if chosen is not self.default:
            sock.context = chosen

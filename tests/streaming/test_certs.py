"""The local CA: certificates for the distribution's names that verify like public ones."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from cli.certs import issue_for, names_for
from streaming import certs
from tests.factories import distribution


@pytest.fixture(scope="module")
def ca() -> certs.Issued:
    return certs.make_ca()


def verifies(ca: certs.Issued, leaf: certs.Issued, name: str) -> bool:
    """Chain and name check as a TLS client does it (cryptography's X.509 verifier)."""
    subject: x509.verification.Subject
    try:
        import ipaddress

        subject = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name)
    verifier = PolicyBuilder().store(Store([ca.cert])).build_server_verifier(subject)
    try:
        verifier.verify(leaf.cert, [])
    except VerificationError:
        return False
    return True


def test_certificate_covers_domains_wildcards_and_loopback(ca: certs.Issued) -> None:
    """A leaf for cdn.demo.test, *.cdn.demo.test and 127.0.0.1 verifies for those names only."""
    leaf = certs.issue(ca, ("cdn.demo.test", "*.cdn.demo.test", "localhost", "127.0.0.1"))
    for name in ("cdn.demo.test", "eu.cdn.demo.test", "localhost", "127.0.0.1"):
        assert verifies(ca, leaf, name), name
    for name in ("evil.test", "a.b.cdn.demo.test", "127.0.0.2"):
        assert not verifies(ca, leaf, name), name


def test_certificate_from_another_ca_does_not_verify(ca: certs.Issued) -> None:
    """Trusting our CA does not mean trusting a certificate some other CA signed."""
    stranger = certs.issue(certs.make_ca(), ("cdn.demo.test",))
    assert not verifies(ca, stranger, "cdn.demo.test")


def test_issue_for_a_distribution_reuses_the_ca_and_keeps_keys_private(tmp_path: Path) -> None:
    """`streaming certs` writes ca.pem once, a leaf per run, private keys 0600."""
    dist = distribution(domain_names=["cdn.demo.test", "*.cdn.demo.test"])
    first = issue_for(dist, tmp_path)
    ca_pem = Path(first["ca_file"]).read_bytes()
    second = issue_for(dist, tmp_path, ("extra.test",))
    assert Path(second["ca_file"]).read_bytes() == ca_pem
    for key in ("ca-key.pem", f"{dist.name}-key.pem"):
        assert stat.S_IMODE((tmp_path / key).stat().st_mode) == 0o600
    ca = certs.load(tmp_path / "ca.pem", tmp_path / "ca-key.pem")
    leaf = certs.Issued(
        ca.key, x509.load_pem_x509_certificate(Path(second["cert_file"]).read_bytes())
    )
    assert verifies(ca, leaf, "extra.test") and verifies(ca, leaf, "eu.cdn.demo.test")
    assert {"cdn.demo.test", "*.cdn.demo.test", "127.0.0.1", "localhost"} <= set(names_for(dist))


def test_a_certificate_needs_a_name(ca: certs.Issued) -> None:
    """Issuing for no names is refused instead of producing an unusable certificate."""
    with pytest.raises(ValueError, match="at least one name"):
        certs.issue(ca, ())

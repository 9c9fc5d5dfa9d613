"""Server TLS in memory (no sockets): security policies, SNI, session resumption, bad files."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from streaming import certs
from streaming.errors import ConfigError
from streaming.tls import POLICIES, Certificate, SniContexts, load_certificate, server_context

ALPN = ["h2", "http/1.1"]


@pytest.fixture(scope="module")
def ca() -> certs.Issued:
    return certs.make_ca()


@pytest.fixture(scope="module")
def pki(ca: certs.Issued, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Certificate]:
    """A default certificate and one of its own for each of two alternate domain names."""
    out = tmp_path_factory.mktemp("pki")
    certs.write(ca, out / "ca.pem", out / "ca-key.pem")
    found = {}
    for stem, names in {
        "default": ("cdn.demo.test", "localhost", "127.0.0.1"),
        "shop": ("shop.example.test",),
        "wild": ("*.tv.example.test",),
    }.items():
        certs.write(certs.issue(ca, names), out / f"{stem}.pem", out / f"{stem}-key.pem", chain=ca)
        found[stem] = load_certificate(str(out / f"{stem}.pem"), str(out / f"{stem}-key.pem"))
    return found


def client_context(
    ca: certs.Issued, maximum: ssl.TLSVersion | None = None, ciphers: str | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca.cert_pem().decode())
    if maximum is not None:
        context.maximum_version = maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)
    context.set_alpn_protocols(["h2"])
    return context


def handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, name: str | None,
    session: ssl.SSLSession | None = None,
) -> ssl.SSLObject:  # fmt: skip
    """Run a full TLS handshake through memory BIOs; return the client's side, which has also
    read what the server sent after the handshake (TLS 1.3 session tickets)."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    tls_client = client.wrap_bio(c_in, c_out, server_hostname=name, session=session)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for side, obj in (("client", tls_client), ("server", tls_server)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    tls_server.write(b"x")  # the first application data goes after the tickets
    c_in.write(s_out.read())
    assert tls_client.read(1) == b"x"
    return tls_client


def names_served(obj: ssl.SSLObject) -> set[str]:
    der = obj.getpeercert(binary_form=True)
    assert der is not None
    return {str(n) for n in certs.x509.load_der_x509_certificate(der).extensions
            .get_extension_for_class(x509.SubjectAlternativeName).value
            .get_values_for_type(x509.DNSName)}  # fmt: skip


def test_each_domain_name_gets_its_certificate_and_unknown_names_the_default(
    pki: dict[str, Certificate], ca: certs.Issued
) -> None:
    """SNI picks the certificate whose SANs cover the name (wildcards one label deep); an
    unknown name and a client sending no SNI get the default certificate."""
    sni = SniContexts(pki["default"], (pki["shop"], pki["wild"]), "TLSv1.2_2021", ALPN)
    verified = client_context(ca)
    assert names_served(handshake(sni.default, verified, "shop.example.test")) == {
        "shop.example.test"
    }
    assert names_served(handshake(sni.default, verified, "live.tv.example.test")) == {
        "*.tv.example.test"
    }
    assert "cdn.demo.test" in names_served(handshake(sni.default, verified, "cdn.demo.test"))
    unverified = client_context(ca)
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    for name in ("nobody.example.test", "a.b.tv.example.test", None):
        assert "cdn.demo.test" in names_served(handshake(sni.default, unverified, name)), name


@pytest.mark.parametrize(
    ("policy", "maximum", "ciphers", "accepted"),
    [
        ("TLSv1.2_2021", ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0", False),
        ("TLSv1.2_2021", ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256", True),
        ("TLSv1.2_2021", ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-SHA256", False),
        ("TLSv1.2_2019", ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-SHA256", True),
        ("TLSv1.2_2025", ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-CHACHA20-POLY1305", False),
        ("TLSv1.2_2021", ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-CHACHA20-POLY1305", True),
        ("TLSv1.3_2025", ssl.TLSVersion.TLSv1_2, None, False),
        ("TLSv1.3_2025", None, None, True),
    ],
)
def test_security_policy_sets_the_minimum_protocol_and_the_ciphers(
    pki: dict[str, Certificate], ca: certs.Issued, policy: str,
    maximum: ssl.TLSVersion | None, ciphers: str | None, accepted: bool,
) -> None:  # fmt: skip
    """CloudFront's policies: TLS 1.1 never, CBC suites only up to 2019, CHACHA20 not in 2025,
    TLSv1.3_2025 refuses TLS 1.2 altogether."""
    server = server_context(pki["default"], policy, ALPN)
    client = client_context(ca, maximum, ciphers)
    if maximum is not None and maximum < ssl.TLSVersion.TLSv1_2:
        client.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    if accepted:
        handshake(server, client, "cdn.demo.test")
    else:
        with pytest.raises(ssl.SSLError):
            handshake(server, client, "cdn.demo.test")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_a_returning_client_resumes_its_session(
    pki: dict[str, Certificate], ca: certs.Issued, version: ssl.TLSVersion
) -> None:
    """Session tickets are on: the second handshake reuses the first one's session."""
    sni = SniContexts(pki["default"], (pki["shop"],), "TLSv1.2_2021", ALPN)
    client = client_context(ca, version)
    first = handshake(sni.default, client, "shop.example.test")
    assert not first.session_reused and first.session is not None
    assert first.session.has_ticket
    again = handshake(sni.default, client, "shop.example.test", session=first.session)
    assert again.session_reused and again.version() == first.version()


def test_every_policy_name_of_the_config_has_a_table_entry() -> None:
    from typing import get_args

    from streaming.config.access import SecurityPolicyName

    assert set(get_args(SecurityPolicyName)) == set(POLICIES)


def test_unusable_files_stop_with_a_one_line_reason(
    pki: dict[str, Certificate], ca: certs.Issued, tmp_path: Path
) -> None:
    """Missing, not PEM, someone else's key, expired, not yet valid: each says which field."""
    good_cert, good_key = pki["default"].cert_file, pki["default"].key_file
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    old = tmp_path / "old.pem"
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=800)
    certs.write(certs.issue(ca, ("cdn.demo.test",), now=long_ago), old, tmp_path / "old-key.pem")
    cases = [
        (str(tmp_path / "missing.pem"), good_key, "tls.cert_file: cannot read"),
        (str(junk), good_key, "holds no PEM certificate"),
        (good_cert, str(junk), "tls.key_file:"),
        (good_cert, pki["shop"].key_file, "is not the key of the certificate"),
        (str(old), str(tmp_path / "old-key.pem"), "expired on"),
    ]
    for cert_file, key_file, says in cases:
        with pytest.raises(ConfigError) as raised:
            load_certificate(cert_file, key_file)
        assert says in raised.value.detail and "\n" not in raised.value.detail, says
    future = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with pytest.raises(ConfigError, match="is not valid before"):
        load_certificate(good_cert, good_key, now=future)

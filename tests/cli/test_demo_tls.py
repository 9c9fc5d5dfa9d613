"""The demo's certificates (issued, kept, reissued) and its plain-HTTP variant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from cli.certs import ensure_for
from cli.demo_tls import plain_http_document, prepare, serves_https
from streaming import certs
from streaming.config import parse
from streaming.errors import ConfigError
from streaming.tls import load_certificate
from tests.factories import distribution_doc, write_config


def https_doc(tmp: Path, **overrides: Any) -> dict[str, Any]:
    doc = distribution_doc(domain_names=["cdn.demo.test"], **overrides)
    doc["edges"][0]["https_port"] = 8443
    doc["portal"]["https_port"] = 8340
    doc["tls"] = {"cert_file": str(tmp / "tls" / "d.pem"), "key_file": str(tmp / "tls" / "k.pem"),
                  "ca_file": str(tmp / "tls" / "ca.pem")}  # fmt: skip
    for behavior in doc["behaviors"]:
        behavior["viewer_protocol_policy"] = "redirect-to-https"
    return doc


def test_certificates_are_issued_once_kept_and_reissued_when_names_change(tmp_path: Path) -> None:
    doc = https_doc(tmp_path)
    assert ensure_for(parse(doc)) is True
    cert = load_certificate(doc["tls"]["cert_file"], doc["tls"]["key_file"])
    assert {"cdn.demo.test", "127.0.0.1", "localhost"} <= set(cert.names)
    chain = x509.load_pem_x509_certificates(Path(doc["tls"]["cert_file"]).read_bytes())
    assert chain[1] == x509.load_pem_x509_certificate(Path(doc["tls"]["ca_file"]).read_bytes())
    before = Path(doc["tls"]["cert_file"]).read_bytes()
    assert ensure_for(parse(doc)) is False and Path(doc["tls"]["cert_file"]).read_bytes() == before
    ca_before = Path(doc["tls"]["ca_file"]).read_bytes()
    assert ensure_for(parse({**doc, "domain_names": ["cdn.demo.test", "tv.demo.test"]})) is True
    assert "tv.demo.test" in load_certificate(doc["tls"]["cert_file"], doc["tls"]["key_file"]).names
    assert Path(doc["tls"]["ca_file"]).read_bytes() == ca_before  # viewers trusted it once


def test_a_certificate_from_another_ca_is_left_alone(tmp_path: Path) -> None:
    """No CA key beside ca_file: the operator's own certificate, never overwritten."""
    doc = https_doc(tmp_path)
    theirs = certs.make_ca()
    certs.write(theirs, Path(doc["tls"]["ca_file"]), tmp_path / "elsewhere-key.pem")
    leaf = certs.issue(theirs, ("other.test",))
    certs.write(leaf, Path(doc["tls"]["cert_file"]), Path(doc["tls"]["key_file"]))
    assert ensure_for(parse(doc)) is False
    assert Path(doc["tls"]["cert_file"]).read_bytes() == leaf.cert_pem()


def test_plain_http_runs_the_same_distribution_without_viewer_tls(tmp_path: Path) -> None:
    """--plain-http: no https_port, allow-all everywhere, file references still resolve."""
    (tmp_path / "conf").mkdir()
    doc = https_doc(tmp_path)
    doc["key_groups"] = [{"id": "viewers", "keys": [{"id": "K1", "public_key": "keys/v.pub.pem"}]}]
    config = write_config(tmp_path / "conf" / "demo.toml", doc)
    assert serves_https(parse(doc))
    derived, dist = prepare(config, tmp_path / "state", plain_http=True)
    assert derived == tmp_path / "state" / "plain-http.toml"
    assert not serves_https(dist) and dist.portal.viewer_url == dist.portal.url
    assert {b.viewer_protocol_policy for b in dist.behaviors} == {"allow-all"}
    assert dist.key_groups[0].keys[0].public_key == str(tmp_path / "conf" / "keys" / "v.pub.pem")
    assert derived.stat().st_mode & 0o077 == 0
    assert "https_port" not in plain_http_document(doc)["edges"][0]
    # No https:// origin: the CA is not needed (a fresh checkout has none yet) and not loaded.
    assert dist.tls.ca_file == "" and "tls" not in plain_http_document(doc)


def test_https_without_a_ca_file_is_refused_with_the_way_out(tmp_path: Path) -> None:
    doc = https_doc(tmp_path)
    doc["tls"].pop("ca_file")
    with pytest.raises(ConfigError, match="--plain-http"):
        prepare(write_config(tmp_path / "demo.toml", doc), tmp_path / "state", plain_http=False)

"""The demo's HTTPS: certificates from the local CA before start, or a plain-HTTP variant.

`config/demo.toml` gives every edge and the portal an `https_port`, names the certificate files
under `.demo/tls/` and redirects plain-HTTP viewers to HTTPS. `streaming demo` issues those files
(ACM's role) when they are missing or stale; `--plain-http` runs the same distribution without
HTTPS from a derived file next to the state file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from cli.certs import ensure_for
from cli.https import udp_free
from procs.supervisor import port_free
from streaming import config as config_module
from streaming.config import Distribution
from streaming.errors import ConfigError
from streaming.secret_files import write_private


def serves_https(dist: Distribution) -> bool:
    """True when viewers reach an edge or the portal over HTTPS."""
    return dist.portal.https_port is not None or any(e.https_port for e in dist.pops)


def plain_http_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The same distribution with no viewer-facing HTTPS: no https_port on edges or portal,
    every viewer protocol policy allow-all (origins keep their scheme, and [tls] only when an
    origin is https://)."""
    out = dict(doc)
    out["edges"] = [{k: v for k, v in e.items() if k != "https_port"} for e in doc["edges"]]
    if isinstance(doc.get("portal"), dict):
        out["portal"] = {k: v for k, v in doc["portal"].items() if k != "https_port"}
    out["behaviors"] = [{**b, "viewer_protocol_policy": "allow-all"} for b in doc["behaviors"]]
    if not any(str(o.get("url", "")).startswith("https:") for o in doc.get("origins", ())):
        out.pop("tls", None)  # nothing left to serve or verify over TLS (the CA may not exist)
    return out


def prepare(config: Path, work: Path, plain_http: bool) -> tuple[Path, Distribution]:
    """The config file the demo runs and its distribution: with `plain_http` a derived file
    (written 0600: secrets given as files are inlined), else the given one with its
    certificates issued."""
    if plain_http:
        derived = work / "plain-http.toml"
        work.mkdir(parents=True, exist_ok=True)
        doc = plain_http_document(config_module.read_document(config))
        write_private(derived, tomli_w.dumps(doc).encode())
        return derived, config_module.load(derived)
    dist = config_module.load(config)
    if serves_https(dist):
        if not (dist.tls.cert_file and dist.tls.key_file and dist.tls.ca_file):
            raise ConfigError(
                "tls: the demo serves HTTPS and issues cert_file and key_file from ca_file's CA; "
                "name all three (or run with --plain-http)"
            )
        ensure_for(dist)
    return config, dist


def check_https_ports(dist: Distribution) -> None:
    """Every HTTPS port free on TCP, and on UDP for an edge's HTTP/3."""
    quic = dist.tls.http_version == "http2and3"
    for edge in dist.edges:
        if edge.https_port is None:
            continue
        if not port_free(edge.host, edge.https_port):
            raise ConfigError(f"HTTPS port {edge.https_port} for edge {edge.pop} is already in use")
        if quic and not udp_free(edge.host, edge.https_port):
            raise ConfigError(f"UDP port {edge.https_port} for edge {edge.pop} is already in use")
    portal = dist.portal
    if portal.https_port is not None and not port_free(portal.host, portal.https_port):
        raise ConfigError(f"HTTPS port {portal.https_port} for the portal is already in use")


def trust_lines(ca_file: str, example_url: str) -> list[tuple[str, str]]:
    """How to trust the demo's CA: curl per request, Chromium (and Firefox) through NSS."""
    return [
        ("curl:", f"curl --cacert {ca_file} {example_url}"),
        # Chromium on Linux reads the user's NSS database (certutil: libnss3-tools).
        ("Chromium/NSS:", f'certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n streaming-cdn-demo '
                          f"-i {ca_file}  (then restart Chromium)"),
    ]  # fmt: skip

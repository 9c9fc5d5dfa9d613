"""`streaming certs`: a local CA and the distribution's certificate (edges, origins, domains)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from rich.console import Console

from streaming import certs
from streaming import config as config_module
from streaming.config import Distribution

console = Console()


def names_for(dist: Distribution, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The certificate's names: domain names (wildcards too), every edge and origin host,
    loopback.
    """
    hosts = [e.host for e in dist.edges] + [o.host for o in dist.origins]
    return tuple(dict.fromkeys([*dist.domain_names, *extra, *hosts, *certs.LOOPBACK]))


def _ca(ca_cert: Path, ca_key: Path) -> certs.Issued:
    """The local CA kept across runs (viewers trusted it once), created on first use."""
    if ca_cert.exists() and ca_key.exists():
        return certs.load(ca_cert, ca_key)
    ca = certs.make_ca()
    certs.write(ca, ca_cert, ca_key)
    return ca


def issue_for(dist: Distribution, out: Path, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Create (or reuse) `out/ca.pem` and issue `out/<name>.pem`; return the `[tls]` settings."""
    ca = _ca(out / "ca.pem", out / "ca-key.pem")
    leaf_cert, leaf_key = out / f"{dist.name}.pem", out / f"{dist.name}-key.pem"
    certs.write(certs.issue(ca, names_for(dist, extra)), leaf_cert, leaf_key, chain=ca)
    return {"cert_file": str(leaf_cert), "key_file": str(leaf_key), "ca_file": str(out / "ca.pem")}


def issue_sni(out: Path, name: str) -> dict[str, str]:
    """A certificate for one alternate domain name alone, by the same CA: a `[[tls.certificates]]`
    entry the edges serve to viewers whose SNI is that name."""
    ca = _ca(out / "ca.pem", out / "ca-key.pem")
    stem = name.replace("*", "wildcard")
    cert, key = out / f"{stem}.pem", out / f"{stem}-key.pem"
    certs.write(certs.issue(ca, (name,)), cert, key, chain=ca)
    return {"cert_file": str(cert), "key_file": str(key)}


def ensure_for(dist: Distribution, days: int = 30) -> bool:
    """The demo's certificates where its `[tls]` names them: issued when missing, when they no
    longer name every host of the distribution or expire within `days`; True if (re)issued.
    A certificate from a CA whose key is not beside `ca_file` (not ours) is left alone."""
    tls = dist.tls
    if not (tls.cert_file and tls.key_file and tls.ca_file):
        return False
    ca_cert = Path(tls.ca_file)
    ca_key = ca_cert.with_name(f"{ca_cert.stem}-key.pem")
    cert, names = Path(tls.cert_file), names_for(dist)
    if cert.exists() and Path(tls.key_file).exists():
        current = x509.load_pem_x509_certificates(cert.read_bytes())[0]
        now = dt.datetime.now(dt.UTC)
        if not ca_key.exists() or certs.covers(current, names, now, days):
            return False
    ca = _ca(ca_cert, ca_key)
    certs.write(certs.issue(ca, names), cert, Path(tls.key_file), chain=ca)
    return True


def run_certs(
    config: Annotated[Path, typer.Option("--config", "-c", help="Distribution TOML file.")],
    out: Annotated[
        Path, typer.Option(help="Directory for ca.pem and the distribution's certificate.")
    ] = Path(".demo/tls"),
    name: Annotated[
        list[str] | None, typer.Option("--name", help="Another DNS name or IP to include.")
    ] = None,
    sni: Annotated[
        list[str] | None,
        typer.Option("--sni", help="Also a certificate of its own for this name (SNI; repeat)."),
    ] = None,
) -> None:
    """Issue a local CA (kept across runs) and a certificate for the distribution's names."""
    dist = config_module.load(config)
    settings = issue_for(dist, out, tuple(name or ()))
    extra = [issue_sni(out, n) for n in sni or ()]
    console.print(
        f"CA certificate: {settings['ca_file']}  (trust it in browsers: it signs for these names)"
    )
    console.print(
        f"certificate:    {settings['cert_file']}  "
        f"for {', '.join(names_for(dist, tuple(name or ())))}"
    )
    console.print(
        "\nAdd to the distribution file (and an https_port to each edge):\n", style="bold"
    )
    body = "\n".join(f'{k} = "{Path(v).resolve()}"' for k, v in settings.items())
    for entry in extra:
        body += "\n\n[[tls.certificates]]\n" + "\n".join(
            f'{k} = "{Path(v).resolve()}"' for k, v in entry.items()
        )
    console.print(f"[tls]\n{body}", highlight=False, markup=False)

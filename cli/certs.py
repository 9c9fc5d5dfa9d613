"""`streaming certs`: a local CA and the distribution's certificate (edges, origins, domains)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
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


def issue_for(dist: Distribution, out: Path, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Create (or reuse) `out/ca.pem` and issue `out/<name>.pem`; return the `[tls]` settings."""
    ca_cert, ca_key = out / "ca.pem", out / "ca-key.pem"
    if ca_cert.exists() and ca_key.exists():
        ca = certs.load(ca_cert, ca_key)
    else:
        ca = certs.make_ca()
        certs.write(ca, ca_cert, ca_key)
    leaf_cert, leaf_key = out / f"{dist.name}.pem", out / f"{dist.name}-key.pem"
    certs.write(certs.issue(ca, names_for(dist, extra)), leaf_cert, leaf_key)
    return {"cert_file": str(leaf_cert), "key_file": str(leaf_key), "ca_file": str(ca_cert)}


def run_certs(
    config: Annotated[Path, typer.Option("--config", "-c", help="Distribution TOML file.")],
    out: Annotated[
        Path, typer.Option(help="Directory for ca.pem and the distribution's certificate.")
    ] = Path(".demo/tls"),
    name: Annotated[
        list[str] | None, typer.Option("--name", help="Another DNS name or IP to include.")
    ] = None,
) -> None:
    """Issue a local CA (kept across runs) and a certificate for the distribution's names."""
    dist = config_module.load(config)
    settings = issue_for(dist, out, tuple(name or ()))
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
    console.print(f"[tls]\n{body}", highlight=False, markup=False)

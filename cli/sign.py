"""`streaming sign url|cookies|token`: CloudFront-style signed URLs, signed cookies, JWT bearers."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from streaming import bearer, keys
from streaming.policy import Policy
from streaming.signing import Signer

sign_app = typer.Typer(help="Sign URLs, cookies and bearer tokens with a private key.")

KeyOpt = Annotated[
    Path, typer.Option("--key", help="Private key PEM (from `streaming keys generate`).")
]
KeyIdOpt = Annotated[
    str | None, typer.Option("--key-pair-id", help="Public key id (default: derived from the key).")
]
ExpiresOpt = Annotated[int, typer.Option("--expires-in", min=1, help="Seconds until it expires.")]
HashOpt = Annotated[str, typer.Option("--hash", help="SHA1 (CloudFront default) or SHA256.")]
IpOpt = Annotated[str | None, typer.Option("--ip", help="Only this IPv4 address or CIDR.")]
StartOpt = Annotated[
    int | None, typer.Option("--starts-in", min=0, help="Valid only after N seconds.")
]


def signer_for(key: Path, key_pair_id: str | None, hash_name: str) -> Signer:
    """Load the private key and build a Signer; the key id defaults to the derived one."""
    if hash_name not in ("SHA1", "SHA256"):
        raise typer.BadParameter("must be SHA1 or SHA256", param_hint="--hash")
    private = keys.load_private_key(key)
    return Signer(key_pair_id or keys.key_id(private.public_key()), private, hash_name)  # type: ignore[arg-type]


def custom_policy(
    resource: str | None, expires_in: int, ip: str | None, starts_in: int | None
) -> Policy:
    now = int(time.time())
    try:
        network = ipaddress.IPv4Network(ip, strict=False) if ip else None
    except ValueError:
        raise typer.BadParameter(
            f"{ip!r} is not an IPv4 address or CIDR", param_hint="--ip"
        ) from None
    return Policy(
        resource, now + expires_in, now + starts_in if starts_in is not None else None, network
    )


@sign_app.command("url")
def url(
    target: Annotated[
        str,
        typer.Argument(
            help="The URL viewers will request, e.g. https://cdn.demo.test/hls/<id>/master.m3u8"
        ),
    ],
    key: KeyOpt,
    key_pair_id: KeyIdOpt = None,
    expires_in: ExpiresOpt = 3600,
    resource: Annotated[
        str | None, typer.Option(help="Custom-policy Resource with * and ? wildcards.")
    ] = None,
    ip: IpOpt = None,
    starts_in: StartOpt = None,
    hash_name: HashOpt = "SHA1",
) -> None:
    """Print a signed URL: canned policy by default, custom when --resource, --ip or --starts-in."""
    signer = signer_for(key, key_pair_id, hash_name)
    if resource is None and ip is None and starts_in is None:
        typer.echo(signer.signed_url(target, expires=int(time.time()) + expires_in))
    else:
        typer.echo(
            signer.signed_url(
                target, policy=custom_policy(resource or target, expires_in, ip, starts_in)
            )
        )


@sign_app.command("cookies")
def cookies(
    resource: Annotated[
        str, typer.Option(help="Resource pattern, e.g. '*://cdn.demo.test/hls/<id>/*'.")
    ],
    key: KeyOpt,
    key_pair_id: KeyIdOpt = None,
    expires_in: ExpiresOpt = 3600,
    ip: IpOpt = None,
    starts_in: StartOpt = None,
    hash_name: HashOpt = "SHA1",
    output: Annotated[
        str, typer.Option("--format", help="header (a Cookie header), set-cookie or json.")
    ] = "header",
) -> None:
    """Print custom-policy signed cookies covering `--resource`."""
    signer = signer_for(key, key_pair_id, hash_name)
    values = signer.cookies(custom_policy(resource, expires_in, ip, starts_in))
    if output == "json":
        typer.echo(json.dumps(values, indent=2))
    elif output == "set-cookie":
        for name, value in values.items():
            typer.echo(f"Set-Cookie: {name}={value}; Path=/; Secure; HttpOnly; SameSite=None")
    elif output == "header":
        typer.echo("Cookie: " + "; ".join(f"{k}={v}" for k, v in values.items()))
    else:
        raise typer.BadParameter("must be header, set-cookie or json", param_hint="--format")


@sign_app.command("token")
def token(
    key: KeyOpt,
    key_pair_id: KeyIdOpt = None,
    expires_in: ExpiresOpt = 3600,
    resource: Annotated[
        str | None, typer.Option(help="Limit the token to a Resource pattern.")
    ] = None,
) -> None:
    """Print a JWT bearer token (RS256 or ES256, kid = key pair id) for `Authorization: Bearer`."""
    private = keys.load_private_key(key)
    kid = key_pair_id or keys.key_id(private.public_key())
    typer.echo(bearer.issue(private, kid, int(time.time()) + expires_in, resource))

"""`streaming keys generate`: a signing key pair for signed URLs/cookies and JWT bearer tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from streaming import keys
from streaming.config import Distribution

keys_app = typer.Typer(help="Signing keys for private content (CloudFront-style key groups).")
console = Console()


@keys_app.command("generate")
def generate(
    out: Annotated[
        Path, typer.Option(help="Directory for <name>.pem (private) and <name>.pub.pem.")
    ] = Path("keys"),
    name: Annotated[str, typer.Option(help="File name stem.")] = "signing",
    kind: Annotated[str, typer.Option("--type", help="rsa (RSA-2048) or ecdsa (P-256).")] = "rsa",
    force: Annotated[bool, typer.Option(help="Overwrite an existing key pair.")] = False,
) -> None:
    """Write a new key pair (the private key with mode 0600) and print its key-group entry."""
    if kind not in ("rsa", "ecdsa"):
        raise typer.BadParameter("must be rsa or ecdsa", param_hint="--type")
    private_path, public_path = out / f"{name}.pem", out / f"{name}.pub.pem"
    if private_path.exists() and not force:
        raise typer.BadParameter(
            f"{private_path} exists; pass --force to replace it", param_hint="--name"
        )
    key_id = generate_pair(private_path, public_path, kind)  # type: ignore[arg-type]
    console.print(f"private key: {private_path} (mode 0600, keep it secret)")
    console.print(f"public key:  {public_path}")
    console.print(f"key pair id: {key_id}\n")
    console.print("Add to the distribution file:\n", style="bold")
    console.print(
        f'[[key_groups]]\nid = "viewers"\n'
        f'keys = [{{ id = "{key_id}", public_key = "{public_path}" }}]',
        highlight=False, markup=False,
    )  # fmt: skip


def generate_pair(private_path: Path, public_path: Path, kind: keys.KeyKind = "rsa") -> str:
    """Create and write a key pair; return its CloudFront-style key id."""
    private = keys.generate(kind)
    keys.write_private_key(private, private_path)
    public_path.write_text(keys.public_pem(private.public_key()))
    return keys.key_id(private.public_key())


def demo_signing_key(dist: Distribution) -> dict[str, str] | None:
    """The demo's `signing` state: the first key-group key kept as a `<name>.pub.pem` file, whose
    private key is the `<name>.pem` beside it. Missing files are created (the private one 0600)."""
    for group in dist.key_groups:
        for entry in group.keys:
            public = Path(entry.public_key)
            if entry.public_key.lstrip().startswith(keys.PEM_MARKER) or not public.name.endswith(
                ".pub.pem"
            ):
                continue
            private = public.with_name(public.name.removesuffix(".pub.pem") + ".pem")
            if not public.exists():
                if private.exists():
                    public.write_text(keys.public_pem(keys.load_private_key(private).public_key()))
                else:
                    generate_pair(private, public)
                    console.print(f"generated the demo signing key {private} (mode 0600)")
    found = keys.private_beside(dist.key_groups)
    if found is None:
        return None
    return {"key_pair_id": found[0], "private_key": str(found[1]), "hash": "SHA1"}

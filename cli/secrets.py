"""`streaming secrets`: create the secret files a distribution names, once, on first start.

A config that names its secrets by file (`{ file = "secrets/admin-token" }`, key-group public
keys as `<name>.pub.pem` paths) can be shipped and shared; this command fills in what is missing
with fresh random tokens and key pairs (private parts 0600) and never overwrites what exists, so
running it before every start is safe. It reads the raw TOML: the full config does not load
until its secret files exist.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from rich.console import Console

from cli.keys import generate_pair
from streaming import keys
from streaming.errors import ConfigError
from streaming.secret_files import new_token, write_private

console = Console(stderr=True, soft_wrap=True, highlight=False)


def named_files(doc: dict[str, object], base: Path) -> tuple[list[Path], list[Path]]:
    """(token files, public key files) a decoded distribution document refers to."""
    tokens: list[Path] = []

    def ref(holder: object, field: str) -> None:
        value = holder.get(field) if isinstance(holder, dict) else None
        if isinstance(value, dict) and isinstance(value.get("file"), str):
            tokens.append((base / value["file"]).resolve())

    ref(doc, "admin_token")
    for origin in doc.get("origins") or ():  # type: ignore[attr-defined]
        ref(origin, "access_secret")
    public: list[Path] = []
    for group in doc.get("key_groups") or ():  # type: ignore[attr-defined]
        for key in (group.get("keys") or ()) if isinstance(group, dict) else ():
            value = key.get("public_key") if isinstance(key, dict) else None
            if isinstance(value, str) and not value.lstrip().startswith(keys.PEM_MARKER):
                public.append((base / value).resolve())
    return tokens, public


def create_missing(config: Path) -> list[Path]:
    """Create every missing secret file `config` names; return the files created."""
    try:
        doc = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {config}: {exc}") from None
    tokens, public = named_files(doc, config.parent)
    created: list[Path] = []
    for path in tokens:
        if not path.exists():
            write_private(path, (new_token() + "\n").encode())
            created.append(path)
    for path in public:
        if path.exists():
            continue
        if not path.name.endswith(".pub.pem"):
            raise ConfigError(f"{path}: a generated public key must be named <name>.pub.pem")
        private = path.with_name(path.name.removesuffix(".pub.pem") + ".pem")
        if private.exists():
            path.write_text(keys.public_pem(keys.load_private_key(private).public_key()))
        else:
            generate_pair(private, path)
            created.append(private)
        created.append(path)
    return created


def run_secrets(config: Path) -> None:
    """Print what was created (paths, never values)."""
    created = create_missing(config)
    for path in created:
        console.print(f"created {path}")
    if not created:
        console.print(f"every secret file {config} names exists already")

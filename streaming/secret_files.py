"""Secrets on disk: written owner-only, read from files the config names, never shipped.

A distribution file may name a secret by file instead of value (`admin_token = { file =
"secrets/admin-token" }`), so a config can be committed and shared without what it protects;
`streaming secrets` creates the files a config names on first start. The well-known values of
the shipped laptop demo are refused by every service that listens beyond loopback.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from streaming.config import Distribution, Secret

# The values config/demo.toml ships with: fine on 127.0.0.1, never on a network.
DEMO_SECRETS = frozenset(
    {"demo-admin-token", "demo-origin-secret-us-east", "demo-origin-secret-eu-west"}
)
MIN_EXPOSED_LENGTH = 16  # a network-facing secret shorter than this is guessable


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` readable by the owner only (group too with mode 0o640), whatever umask says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode does not apply to an existing file
        os.write(fd, data)
    finally:
        os.close(fd)


def new_token() -> str:
    """A fresh secret for an admin token or an origin's access secret (256 bits)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """Whether a listen address is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume it resolves to a network address


def weak_secrets(dist: Distribution) -> list[str]:
    """The config fields holding a shipped demo value or a guessable short secret."""
    found: list[tuple[str, Secret | None]] = [("admin_token", dist.admin_token)]
    found += [(f"origins.{o.id}.access_secret", o.access_secret) for o in dist.origins]
    return [
        where
        for where, secret in found
        if secret is not None
        and (secret.reveal() in DEMO_SECRETS or len(secret.reveal()) < MIN_EXPOSED_LENGTH)
    ]

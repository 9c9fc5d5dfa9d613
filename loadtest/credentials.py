"""Cookies a viewer presents for private content: given verbatim, or signed here.

Signing uses the project's own signer (`streaming.signing`) and the login's policy resource
(`streaming.viewer_access`), so the load generator produces exactly the CloudFront-style
custom-policy cookies the portal's login would hand a player.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

from streaming.errors import ConfigError
from streaming.keys import load_private_key
from streaming.policy import Policy
from streaming.signing import Signer
from streaming.viewer_access import resource_for_path


def parse_cookie_header(value: str) -> dict[str, str]:
    """`a=1; b=2` → {"a": "1", "b": "2"}; a malformed pair is a ConfigError."""
    cookies: dict[str, str] = {}
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, val = part.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--cookie: expected name=value pairs separated by ';', got {part!r}")
        cookies[name.strip()] = val.strip()
    return cookies


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def resource_for(url: str) -> str:
    """The policy resource a viewer of `url` needs: the portal login's for a video or live
    channel (`streaming.viewer_access`), else everything under the master's directory."""
    parts = urlsplit(url)
    shared = resource_for_path(parts.path)
    if shared is not None:
        return shared
    directory = parts.path.rsplit("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{directory}/*"


def signer_for(key_file: Path | None, key_pair_id: str | None) -> Signer | None:
    """The Signer of --sign-key/--key-pair-id, or None without --sign-key."""
    if key_file is None:
        return None
    if not key_pair_id:
        raise ConfigError("--key-pair-id is required with --sign-key")
    return Signer(key_pair_id, load_private_key(key_file))


def headers_for(
    url: str, cookie: str | None, signer: Signer | None, lifetime: float
) -> dict[str, str]:
    """The request headers every viewer of `url` sends: cookies given, plus signed ones."""
    cookies = parse_cookie_header(cookie) if cookie else {}
    if signer is not None:
        policy = Policy(resource=resource_for(url), date_less_than=int(time.time() + lifetime))
        cookies.update(signer.cookies(policy))
    headers = {"user-agent": "streaming-loadtest/1"}
    if cookies:
        headers["cookie"] = cookie_header(cookies)
    return headers

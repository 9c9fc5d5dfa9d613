"""Cookies a viewer presents for private content: given verbatim, or signed here.

Signing uses the project's own signer (`streaming.signing`), so the load generator produces
exactly the CloudFront-style custom-policy cookies a real login would hand a player.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

from streaming.errors import ConfigError


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
    """The policy resource a viewer of `url` needs: everything under the master's directory."""
    parts = urlsplit(url)
    directory = parts.path.rsplit("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{directory}/*"


def signed_cookies(url: str, key_file: Path, key_pair_id: str, lifetime: float) -> dict[str, str]:
    """Custom-policy CloudFront cookies covering the presentation of `url` for `lifetime` s."""
    from streaming.keys import load_private_key
    from streaming.policy import Policy
    from streaming.signing import Signer

    signer = Signer(key_pair_id, load_private_key(key_file))
    policy = Policy(resource=resource_for(url), date_less_than=int(time.time() + lifetime))
    return signer.cookies(policy)


def headers_for(
    url: str, cookie: str | None, key_file: Path | None, key_pair_id: str | None, lifetime: float
) -> dict[str, str]:
    """The request headers every viewer of `url` sends."""
    cookies = parse_cookie_header(cookie) if cookie else {}
    if key_file is not None:
        if not key_pair_id:
            raise ConfigError("--key-pair-id is required with --sign-key")
        cookies.update(signed_cookies(url, key_file, key_pair_id, lifetime))
    headers = {"user-agent": "streaming-loadtest/1"}
    if cookies:
        headers["cookie"] = cookie_header(cookies)
    return headers

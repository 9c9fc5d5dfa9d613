"""HLS Content Steering (RFC 8216bis 7.9): a steering manifest, a master with a pathway per POP."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, urljoin

from streaming.config import Edge

_ATTR_GROUP = re.compile(r'(GROUP-ID|AUDIO|SUBTITLES|VIDEO|CLOSED-CAPTIONS)="([^"]*)"')
_ATTR_URI = re.compile(r'URI="([^"]*)"')


def steering_manifest(priority: list[Edge], ttl: int, reload_uri: str) -> dict[str, object]:
    """The JSON a player reloads every TTL seconds: pathways (POP names), nearest healthy first."""
    return {
        "VERSION": 1,
        "TTL": ttl,
        "RELOAD-URI": reload_uri,
        "PATHWAY-PRIORITY": [edge.pop for edge in priority],
    }


def steered_master(master: str, master_path: str, pathways: list[Edge], server_uri: str) -> str:
    """Clone every variant (and rendition group) once per POP, with absolute URIs on that POP.

    hls.js and AVPlayer then switch pathway by themselves when a POP fails or the steering
    manifest reorders them.
    """
    head: list[str] = []
    variants: list[tuple[str, str]] = []
    media: list[str] = []
    lines = [line.strip() for line in master.splitlines() if line.strip()]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#EXT-X-STREAM-INF:") and i + 1 < len(lines):
            variants.append((line, lines[i + 1]))
            i += 2
            continue
        if line.startswith("#EXT-X-MEDIA:"):
            media.append(line)
        elif line.startswith("#") and not line.startswith("#EXT-X-CONTENT-STEERING"):
            head.append(line)
        i += 1
    first = pathways[0].pop if pathways else ""
    out = [*head, f'#EXT-X-CONTENT-STEERING:SERVER-URI="{server_uri}",PATHWAY-ID="{first}"']
    for edge in pathways:
        base = f"{edge.viewer_url}{master_path}"
        for line in media:
            line = _ATTR_GROUP.sub(_group_renamer(edge.pop), line)
            out.append(_ATTR_URI.sub(lambda m: f'URI="{urljoin(base, m.group(1))}"', line))  # noqa: B023
        for info, uri in variants:
            info = _ATTR_GROUP.sub(_group_renamer(edge.pop), info)
            out += [f'{info},PATHWAY-ID="{edge.pop}"', urljoin(base, uri)]
    return "\n".join(out) + "\n"


def _group_renamer(pop: str) -> Callable[[re.Match[str]], str]:
    """Rendition groups are per pathway: GROUP-ID="aud" becomes "aud-<pop>",
    and so do references.
    """

    def rename(match: re.Match[str]) -> str:
        return f'{match.group(1)}="{match.group(2)}-{pop}"'

    return rename


def reload_uri(base: str, region: str | None) -> str:
    return f"{base}/steering.json" + (f"?region={quote(region)}" if region else "")

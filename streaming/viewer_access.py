"""What a viewer's signed cookies cover, and who signs them in the demo.

The portal's login and the load generator both sign these policies, so a load-test viewer is
refused or admitted exactly as a logged-in player would be. A video's resource covers
`/<anything>/<id>/*` (playlists, segments, thumbnails under /hls/<id>/, the AES key under
/drm/<id>/); a live channel's covers `/live/<channel>/*`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streaming import keys
from streaming.errors import ConfigError
from streaming.signing import Signer


def video_resource(video_id: str) -> str:
    """The policy Resource for every object of one video, on any host and scheme."""
    return f"*://*/*/{video_id}/*"


def live_resource(channel: str) -> str:
    """The policy Resource for every object of one live channel."""
    return f"*://*/live/{channel}/*"


def resource_for_path(path: str) -> str | None:
    """The login's Resource for a playlist path (`/hls/<id>/…` or `/live/<channel>/…`)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "live":
        return live_resource(parts[1])
    if len(parts) >= 3:
        return video_resource(parts[1])
    return None


def signer_from_state(state: dict[str, Any]) -> Signer | None:
    """The Signer described by the demo state's `signing` {key_pair_id, private_key, hash}."""
    signing = state.get("signing")
    if not isinstance(signing, dict):
        return None
    try:
        private = keys.load_private_key(Path(str(signing["private_key"])))
        return Signer(str(signing["key_pair_id"]), private, signing.get("hash", "SHA1"))
    except KeyError as exc:
        raise ConfigError(f"demo state: signing.{exc.args[0]} is missing") from None

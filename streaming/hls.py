"""HLS vocabulary shared by origin and edge: object kinds, content types, playlist facts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What an HLS-related object is, known from its path before any byte is fetched."""

    MASTER = "master"
    MEDIA_PLAYLIST = "media_playlist"
    SEGMENT = "segment"
    INIT = "init"
    KEY = "key"
    THUMBNAIL = "thumbnail"
    SUBTITLE = "subtitle"
    OTHER = "other"


class Encryption(StrEnum):
    """How a video's segments are encrypted: not at all, or HLS AES-128 (the origin serves the key).

    The one vocabulary of the config default, the upload API's `?encryption=`, the CLI option and
    the job record.
    """

    NONE = "none"
    AES_128 = "aes-128"


CONTENT_TYPES: dict[str, str] = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".aac": "audio/aac",
    ".key": "application/octet-stream",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".json": "application/json",
}

MASTER_NAME = "master.m3u8"


def suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[name.rfind(".") :].lower() if "." in name else ""


def content_type(path: str) -> str:
    """The Apple-recommended MIME type for an HLS object path (HLS authoring spec 10.4)."""
    return CONTENT_TYPES.get(suffix(path), "application/octet-stream")


def kind_of(path: str) -> Kind:
    """Classify a viewer path into an HLS kind by its name."""
    ext = suffix(path)
    name = path.rsplit("/", 1)[-1]
    if ext == ".m3u8":
        return Kind.MASTER if name == MASTER_NAME else Kind.MEDIA_PLAYLIST
    if ext in (".ts", ".m4s", ".aac"):
        return Kind.SEGMENT
    if ext == ".mp4":
        return Kind.INIT
    if ext == ".key" or path.startswith("/drm/"):
        return Kind.KEY
    if ext in (".jpg", ".png"):
        return Kind.THUMBNAIL
    if ext == ".vtt":
        return Kind.SUBTITLE
    return Kind.OTHER


class PlaylistType(StrEnum):
    VOD = "VOD"
    EVENT = "EVENT"
    LIVE = "LIVE"  # no EXT-X-PLAYLIST-TYPE and no ENDLIST: a sliding window


@dataclass(frozen=True, slots=True)
class PlaylistFacts:
    """What a cache needs to know about a playlist body to pick its TTL."""

    is_master: bool
    type: PlaylistType
    target_duration: float | None


_TARGET = re.compile(rb"^#EXT-X-TARGETDURATION:(\d+(?:\.\d+)?)", re.M)
_TYPE = re.compile(rb"^#EXT-X-PLAYLIST-TYPE:(VOD|EVENT)", re.M)


def playlist_facts(body: bytes) -> PlaylistFacts:
    """Read master/media, VOD/EVENT/LIVE and the target duration from a playlist body."""
    if b"#EXT-X-STREAM-INF" in body:
        return PlaylistFacts(is_master=True, type=PlaylistType.VOD, target_duration=None)
    target = _TARGET.search(body)
    duration = float(target.group(1)) if target else None
    if b"#EXT-X-ENDLIST" in body:
        return PlaylistFacts(False, PlaylistType.VOD, duration)
    declared = _TYPE.search(body)
    if declared and declared.group(1) == b"EVENT":
        return PlaylistFacts(False, PlaylistType.EVENT, duration)
    return PlaylistFacts(False, PlaylistType.LIVE, duration)

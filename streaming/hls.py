"""HLS vocabulary shared by origin and edge: object kinds, content types, playlist facts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from streaming.errors import BadRequest


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


class Container(StrEnum):
    """The segment container: MPEG-TS, or fragmented MP4 (CMAF: init segment + .m4s, EXT-X-MAP)
    which a DASH manifest can reference too. The vocabulary of the origin default, the upload
    API's `?container=`, the CLI option and the live channel config."""

    TS = "ts"
    FMP4 = "fmp4"


# Asked-for schemes we cannot package, and why (the 400 says so rather than "unknown value").
_UNSUPPORTED_ENCRYPTION = {
    "sample-aes": "SAMPLE-AES needs a packager that encrypts samples (e.g. Shaka Packager); "
    "ffmpeg encrypts whole segments only",
    "cbcs": "cbcs needs a packager that writes cbcs (e.g. Shaka Packager); ffmpeg's mp4 muxer "
    "only writes cenc-aes-ctr",
    "cenc": "CENC needs a DRM license flow this CDN does not run; use aes-128",
}


def delivery_format(
    container: str | None, encryption: str | None, defaults: tuple[Container, Encryption]
) -> tuple[Container, Encryption]:
    """Validate an upload's `container` and `encryption` (None: the origin's default), 400 with
    the reason for an unknown value or a scheme we cannot package. Every pair of the two enums
    is supported: AES-128 encrypts whole segments, TS (ffmpeg) and fMP4 (media.segment_aes)
    alike, which hls.js and Safari decrypt; SAMPLE-AES and cbcs need a packager ffmpeg is not."""
    chosen = defaults[0]
    if container is not None:
        try:
            chosen = Container(container)
        except ValueError:
            raise BadRequest(
                f"container must be one of {', '.join(c.value for c in Container)}, "
                f"not {container[:40]!r}"
            ) from None
    scheme = defaults[1]
    if encryption is not None:
        reason = _UNSUPPORTED_ENCRYPTION.get(encryption.lower())
        if reason is not None:
            raise BadRequest(f"encryption {encryption!r} is not supported: {reason}")
        try:
            scheme = Encryption(encryption)
        except ValueError:
            raise BadRequest(
                f"encryption must be one of {', '.join(e.value for e in Encryption)}, "
                f"not {encryption[:40]!r}"
            ) from None
    return chosen, scheme


CONTENT_TYPES: dict[str, str] = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".mpd": "application/dash+xml",
    ".aac": "audio/aac",
    ".key": "application/octet-stream",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".json": "application/json",
}

MASTER_NAME = "master.m3u8"
MPD_NAME = "manifest.mpd"  # the DASH manifest beside the master, over the same fMP4 segments


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
    if ext == ".mpd":
        # A DASH manifest is the top-level manifest like a master: cached as a playlist, its
        # live (dynamic) form no longer than half its update period (dash_update_period).
        return Kind.MASTER
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


# An LL-HLS partial segment: `<msn>.<part>.<ext>`, named from the wall clock by the origin
# (media.ll_channel), so the edge and the load generator know one from its name alone.
_PART_NAME = re.compile(r"(?:^|/)\d+\.\d+\.(?:m4s|mp4|ts|aac)$")


def is_part(path: str) -> bool:
    """Whether the path names an LL-HLS partial segment (it may be preload-hinted: held)."""
    return _PART_NAME.search(path) is not None


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


_DYNAMIC = re.compile(rb"<MPD\b[^>]*\btype=\"dynamic\"", re.S)
_UPDATE = re.compile(rb"\bminimumUpdatePeriod=\"PT([0-9.]+)S\"")


def dash_update_period(body: bytes) -> float | None:
    """A dynamic (live) MPD's minimumUpdatePeriod in seconds, None for a static one."""
    head = body[:4096]
    if not _DYNAMIC.search(head):
        return None
    period = _UPDATE.search(head)
    return float(period.group(1)) if period else None

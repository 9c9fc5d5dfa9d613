"""The playlists of a chunked presentation, rendered from chunk results (pure text, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from media.ladder import AudioRendition, Rung, codec
from media.packager import AudioTrack, Rendition, master_playlist

if TYPE_CHECKING:
    from media.chunk_results import AudioTrackResult, RungResult, Segment


def media_playlist(
    segments: Sequence[Segment], segment_duration: float, final: bool, key_uri: str = ""
) -> str:
    """An EVENT playlist of `segments` (VOD with ENDLIST when `final`), AES-128 with the key
    at `key_uri` if one is given (no IV attribute: each segment's IV is its sequence number).

    The target duration is fixed by the segment duration (a growing playlist must not change
    it), or the longest segment's rounded duration if that is more (HLS: EXTINF rounded to the
    nearest integer never exceeds it).
    """
    target = max([math.ceil(segment_duration - 1e-9), *(round(s.duration) for s in segments)])
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if final else 'EVENT'}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if key_uri:
        lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="{key_uri}"')
    for segment in segments:
        lines += [f"#EXTINF:{segment.duration:.6f},", segment.uri]
    if final:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def rendition(head: RungResult, segments: Sequence[Segment], frame_rate: float) -> Rendition:
    """A rung's master entry with bit rates measured over `segments` (all its chunks so far)."""
    rung = Rung(head.name, head.height, head.video_kbps, head.audio_kbps, head.width)
    settings = codec(rung, frame_rate)
    peak, average = bit_rates(segments)
    nominal = rung.maxrate_kbps * 1000
    return Rendition(
        rung, rung.width, peak or nominal, average or nominal, settings.level.name,
        settings.profile,
    )  # fmt: skip


def master(
    renditions: list[Rendition], frame_rate: float, tracks: Sequence[AudioTrackResult]
) -> str:
    """The multivariant playlist: video variants in the audio group of the separate tracks.

    The audio tracks' figures are over the whole source: a growing presentation's variants
    already count the audio its players will fetch.
    """
    audio = [
        AudioTrack(AudioRendition(t.name, t.label, t.channels, t.kbps), t.peak_bps, t.average_bps)
        for t in tracks
    ]
    return master_playlist(renditions, frame_rate, bool(audio), audio)


def bit_rates(segments: Sequence[Segment]) -> tuple[int, int]:
    """(peak, average) bit/s: the largest segment's rate, and all bits over all seconds."""
    seconds = sum(s.duration for s in segments)
    peak = max((int(s.size * 8 / s.duration) for s in segments if s.duration > 0), default=0)
    return peak, int(sum(s.size for s in segments) * 8 / seconds) if seconds > 0 else 0

"""The results of chunked packaging: what each chunk and the audio wrote, as values and JSON.

A worker writes its result file after its segments (`_private/chunks/…`, never servable); the
job orchestration may also carry the same JSON in its ledger (to_json / parse_*_result).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from media.packager import write_atomic

RESULTS_DIR = "_private/chunks"
AUDIO_RESULT = "audio.json"


@dataclass(frozen=True, slots=True)
class Segment:
    """One written segment: its global number, file name, duration (s) and size (bytes)."""

    number: int
    uri: str
    duration: float
    size: int


@dataclass(frozen=True, slots=True)
class RungResult:
    """One rung of one chunk (or the whole audio): its segments and bit rates."""

    name: str
    width: int
    height: int
    video_kbps: int
    audio_kbps: int
    segments: tuple[Segment, ...]
    peak_bps: int  # the largest segment's bits / duration
    average_bps: int  # all bits / all seconds of these segments


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What encode_video_chunk wrote; `_private/chunks/chunk_NNNNN.json` holds the same."""

    index: int
    count: int
    start: float
    duration: float  # measured: the sum of its segments' durations
    first_segment: int
    segment_duration: float
    frame_rate: float
    has_audio: bool  # the source's: its master waits for the AudioResult
    rungs: tuple[RungResult, ...]  # largest first, like the ladder
    # AES-128: the URI players fetch the key from (the key itself is never in a result); each
    # segment is encrypted with its global number as the IV (HLS's default: the media
    # sequence number, the playlists starting at 0). "" = in the clear.
    key_uri: str = ""


@dataclass(frozen=True, slots=True)
class AudioTrackResult:
    """One separate audio rendition of the whole source."""

    name: str
    label: str
    channels: int
    kbps: int
    segments: tuple[Segment, ...]
    peak_bps: int
    average_bps: int


@dataclass(frozen=True, slots=True)
class AudioResult:
    """What encode_audio wrote; `_private/chunks/audio.json` holds the same."""

    duration: float
    tracks: tuple[AudioTrackResult, ...]
    key_uri: str = ""  # as ChunkResult.key_uri


def to_json(result: ChunkResult | AudioResult) -> str:
    """The JSON a result file holds (parse_chunk_result / parse_audio_result read it back)."""
    return json.dumps(asdict(result), indent=1)


def parse_chunk_result(text: str) -> ChunkResult:
    """A ChunkResult from its JSON."""
    return _chunk_result(json.loads(text))


def parse_audio_result(text: str) -> AudioResult:
    """An AudioResult from its JSON."""
    return _audio_result(json.loads(text))


def read_result(out_dir: Path, index: int) -> ChunkResult | None:
    """The ChunkResult a worker wrote for chunk `index`, or None if it is not complete."""
    path = out_dir / RESULTS_DIR / f"chunk_{index:05d}.json"
    return parse_chunk_result(path.read_text(encoding="utf-8")) if path.exists() else None


def read_audio_result(out_dir: Path) -> AudioResult | None:
    """The AudioResult encode_audio wrote, or None if it is not complete."""
    path = out_dir / RESULTS_DIR / AUDIO_RESULT
    return parse_audio_result(path.read_text(encoding="utf-8")) if path.exists() else None


def _segments(raw: list[dict[str, object]]) -> tuple[Segment, ...]:
    return tuple(Segment(**s) for s in raw)  # type: ignore[arg-type]


def _chunk_result(raw: dict[str, object]) -> ChunkResult:
    rungs = tuple(
        RungResult(**{**r, "segments": _segments(r["segments"])})  # type: ignore[dict-item]
        for r in raw.pop("rungs")  # type: ignore[attr-defined]
    )
    return ChunkResult(**raw, rungs=rungs)  # type: ignore[arg-type]


def _audio_result(raw: dict[str, object]) -> AudioResult:
    tracks = tuple(
        AudioTrackResult(**{**t, "segments": _segments(t["segments"])})  # type: ignore[dict-item]
        for t in raw["tracks"]  # type: ignore[attr-defined]
    )
    key_uri = str(raw.get("key_uri", ""))
    return AudioResult(float(raw["duration"]), tracks, key_uri)  # type: ignore[arg-type]


def write_result(path: Path, result: ChunkResult | AudioResult) -> None:
    """The result file goes last and in one rename: its presence means the segments are done."""
    write_atomic(path, to_json(result))

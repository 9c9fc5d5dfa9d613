"""DASH manifests over the fMP4 segments the HLS packager wrote: one set of CMAF segments, two
manifests.

ffmpeg's dash muxer would write its own HLS playlists (other names, no startup cuts, no
progressive master), so the MPD is written here from what packaging left on disk: each
stream's init segment gives the track's timescale, each media segment's `tfdt` and sample
durations its exact place on the timeline, so the SegmentTimeline matches the media to the
tick and HLS and DASH players play the very same files.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from media import commands

NS = "urn:mpeg:dash:schema:mpd:2011"
PROFILE = "urn:mpeg:dash:profile:isoff-live:2011"
CHANNELS_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
_SEGMENT = re.compile(r"^seg_(\d+)\.m4s$")


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where a stream's segments sit: the track timescale and (start, duration) in its ticks."""

    timescale: int
    first_number: int
    segments: tuple[tuple[int, int], ...]

    @property
    def seconds(self) -> float:
        if not self.segments:
            return 0.0
        start, duration = self.segments[-1]
        return (start + duration - self.segments[0][0]) / self.timescale


@dataclass(frozen=True, slots=True)
class Representation:
    """One DASH Representation: a packaged rung or audio rendition and how to describe it."""

    id: str  # also its directory, as in HLS
    bandwidth: int
    codecs: str
    timeline: Timeline
    width: int = 0
    height: int = 0
    frame_rate: float = 0.0
    channels: int = 0


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the ISO BMFF boxes in data[start:end]."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise ValueError(f"truncated {kind!r} box at byte {at}")
        yield kind, at + header, at + size
        at += size


def child(data: bytes, path: tuple[bytes, ...], start: int = 0, end: int | None = None) -> int:
    """Payload start of the first box along `path`, or -1."""
    for kind, payload, box_end in boxes(data, start, end):
        if kind == path[0]:
            return payload if len(path) == 1 else child(data, path[1:], payload, box_end)
    return -1


def track_timescale(init: bytes) -> int:
    """The media timescale (mdhd) of an init segment's single track."""
    at = child(init, (b"moov", b"trak", b"mdia", b"mdhd"))
    if at < 0:
        raise ValueError("init segment has no moov/trak/mdia/mdhd")
    version = init[at]
    return int(struct.unpack_from(">I", init, at + (20 if version == 1 else 12))[0])


def default_duration(init: bytes) -> int:
    at = child(init, (b"moov", b"mvex", b"trex"))
    return int(struct.unpack_from(">I", init, at + 12)[0]) if at >= 0 else 0


def fragment_timing(segment: bytes, trex_duration: int = 0) -> tuple[int, int]:
    """(first decode time, total duration) in track ticks of a media segment's fragments;
    `trex_duration` is the init segment's default sample duration (default_duration)."""
    start: int | None = None
    total = 0
    for kind, payload, end in boxes(segment):
        if kind != b"moof":
            continue
        for traf_kind, traf, traf_end in boxes(segment, payload, end):
            if traf_kind != b"traf":
                continue
            fallback = trex_duration
            for box, at, _ in boxes(segment, traf, traf_end):
                flags = int.from_bytes(segment[at + 1 : at + 4], "big")
                if box == b"tfhd" and flags & 0x08:
                    offset = at + 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
                    fallback = int(struct.unpack_from(">I", segment, offset)[0])
                elif box == b"tfdt" and start is None:
                    fmt = ">Q" if segment[at] == 1 else ">I"
                    start = int(struct.unpack_from(fmt, segment, at + 4)[0])
                elif box == b"trun":
                    total += _trun_duration(segment, at, flags, fallback)
    if start is None:
        raise ValueError("media segment has no moof/traf/tfdt")
    return start, total


def _trun_duration(data: bytes, at: int, flags: int, fallback: int) -> int:
    count = int(struct.unpack_from(">I", data, at + 4)[0])
    if not flags & 0x100:
        return count * fallback
    at += 8 + (4 if flags & 0x01 else 0) + (4 if flags & 0x04 else 0)
    stride = 4 * sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
    return sum(int(struct.unpack_from(">I", data, at + i * stride)[0]) for i in range(count))


def timeline(directory: Path, init: str, segments: list[tuple[int, str]]) -> Timeline:
    """The timeline of one stream from its init segment and its (number, file) media segments,
    which are consecutive numbers in order."""
    head = (directory / init).read_bytes()
    scale, default = track_timescale(head), default_duration(head)
    numbers = [number for number, _ in segments]
    if not numbers or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise ValueError(f"{directory.name}: segments are not consecutive: {numbers}")
    timing = [fragment_timing((directory / name).read_bytes(), default) for _, name in segments]
    return Timeline(scale, numbers[0], tuple(timing))


def stream_timeline(directory: Path) -> Timeline:
    """The timeline of a packaged VOD stream (its directory holds index.m3u8 and its files)."""
    lines = (directory / commands.PLAYLIST_NAME).read_text(encoding="utf-8").splitlines()
    names = [line for line in lines if line and not line.startswith("#")]
    matched = [(_SEGMENT.match(name), name) for name in names]
    if not all(m for m, _ in matched):
        raise ValueError(f"{directory.name}: not every segment is named seg_N.m4s: {names}")
    return timeline(directory, commands.init_name(directory.name),
                    [(int(m.group(1)), name) for m, name in matched if m])  # fmt: skip


def _duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def _segment_timeline(parent: ET.Element, line: Timeline) -> None:
    """S elements: a run of equal, back-to-back durations becomes one S with a repeat count."""
    timeline_el = ET.SubElement(parent, "SegmentTimeline")
    last: ET.Element | None = None
    expected = -1
    previous = -1
    for start, duration in line.segments:
        if last is not None and start == expected and duration == previous:
            last.set("r", str(int(last.get("r", "0")) + 1))
        else:
            last = ET.SubElement(timeline_el, "S", t=str(start), d=str(duration))
        expected, previous = start + duration, duration


def _template(
    parent: ET.Element, rep: Representation, media_pattern: str, seconds: int | None
) -> None:
    """SegmentTemplate: a SegmentTimeline of the packaged segments, or (live, `seconds` given)
    $Number$ with a fixed duration, segment N at N * seconds since the epoch."""
    template = ET.SubElement(
        parent,
        "SegmentTemplate",
        timescale=str(rep.timeline.timescale),
        initialization=f"{rep.id}/{commands.init_name(rep.id)}",
        media=f"{rep.id}/{media_pattern}",
        startNumber=str(rep.timeline.first_number),
    )
    if seconds is None:
        _segment_timeline(template, rep.timeline)
    else:
        template.set("duration", str(seconds * rep.timeline.timescale))


def _adaptation_sets(
    period: ET.Element, video: list[Representation], audio: list[Representation], media: str,
    seconds: int | None = None,
) -> None:  # fmt: skip
    """One video set (every rung: a player switches at any segment), one set per audio rendition
    (stereo and 5.1 are alternatives a player picks, not bit rates of one stream)."""
    if video:
        sets = ET.SubElement(
            period, "AdaptationSet", id="0", contentType="video", mimeType="video/mp4",
            segmentAlignment="true", startWithSAP="1",
            maxWidth=str(max(r.width for r in video)), maxHeight=str(max(r.height for r in video)),
            par=_ratio(video[0].width, video[0].height),
        )  # fmt: skip
        for rep in video:
            element = ET.SubElement(
                sets, "Representation", id=rep.id, bandwidth=str(rep.bandwidth),
                codecs=rep.codecs, width=str(rep.width), height=str(rep.height),
                frameRate=_rate(rep.frame_rate), sar="1:1",
            )  # fmt: skip
            _template(element, rep, media, seconds)
    for index, rep in enumerate(audio, start=1):
        sets = ET.SubElement(
            period, "AdaptationSet", id=str(index), contentType="audio", mimeType="audio/mp4",
            segmentAlignment="true", startWithSAP="1", lang="und",
        )  # fmt: skip
        ET.SubElement(sets, "Role", schemeIdUri="urn:mpeg:dash:role:2011",
                      value="main" if index == 1 else "alternate")  # fmt: skip
        element = ET.SubElement(
            sets, "Representation", id=rep.id, bandwidth=str(rep.bandwidth), codecs=rep.codecs,
            audioSamplingRate="48000",
        )  # fmt: skip
        ET.SubElement(
            element, "AudioChannelConfiguration", schemeIdUri=CHANNELS_SCHEME,
            value=str(rep.channels),
        )  # fmt: skip
        _template(element, rep, media, seconds)


def _ratio(width: int, height: int) -> str:
    a, b = width, height
    while b:
        a, b = b, a % b
    return f"{width // a}:{height // a}"


def _rate(rate: float) -> str:
    return str(round(rate)) if abs(rate - round(rate)) < 1e-3 else f"{round(rate * 1001)}/1001"


def _render(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def vod_mpd(
    video: list[Representation], audio: list[Representation], segment_duration: float
) -> str:
    """A static MPD (isoff-live profile, SegmentTemplate + SegmentTimeline) for a VOD."""
    total = max(rep.timeline.seconds for rep in [*video, *audio])
    root = ET.Element(
        "MPD", xmlns=NS, profiles=PROFILE, type="static",
        mediaPresentationDuration=_duration(total),
        minBufferTime=_duration(segment_duration),
    )  # fmt: skip
    period = ET.SubElement(root, "Period", id="0", start="PT0S")
    _adaptation_sets(period, video, audio, "seg_$Number%05d$.m4s")
    return _render(root)


def live_mpd(
    video: list[Representation], audio: list[Representation], segment_duration: int, window: int
) -> str:
    """A dynamic MPD for a live channel whose segment N covers wall-clock [N*d, (N+1)*d).

    The media's decode times are wall-clock ticks (media.cmaf), so the epoch is the
    availabilityStartTime and segment N is $Number$ N of a fixed-duration template: the MPD
    never changes and every origin writes the same bytes, so regions stay interchangeable for
    a DASH player as for an HLS one. (publishTime is the epoch too, for the same reason.)
    """
    epoch = datetime.fromtimestamp(0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    root = ET.Element(
        "MPD", xmlns=NS, profiles=PROFILE, type="dynamic",
        availabilityStartTime=epoch, publishTime=epoch,
        minimumUpdatePeriod=_duration(segment_duration),
        timeShiftBufferDepth=_duration(window * segment_duration),
        suggestedPresentationDelay=_duration(3 * segment_duration),
        minBufferTime=_duration(segment_duration),
    )  # fmt: skip
    period = ET.SubElement(root, "Period", id="0", start="PT0S")
    _adaptation_sets(period, video, audio, "$Number$.m4s", segment_duration)
    return _render(root)

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
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from media import commands
from media.fmp4_boxes import default_duration, fragment_timing, track_timescale

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

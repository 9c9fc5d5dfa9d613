"""The one ISO-BMFF (fragmented MP4) reader and rewriter: every box, tfhd, tfdt and trun the
media code reads or changes is read or changed here.

Who uses what:
- LL-HLS (`media.ll_channel`): top-level boxes off ffmpeg's pipe (`ftyp` + `moov`, then one
  `moof` + `mdat` pair per packet), the video track, each fragment's start, length and keyframe,
  and decode times moved onto the wall clock (`shift_decode_times`).
- DASH (`media.dash`): an init segment's timescale and default duration and a media segment's
  first decode time and total duration (`fragment_timing`), for the SegmentTimeline.
- CMAF live (`media.cmaf`): a self-contained segment file split into init + fragments and its
  fragments retimed (`split`, `retime`).
Only the fields named here are parsed.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

HEADER = 8
NON_SYNC = 0x0001_0000  # sample_is_non_sync_sample in ISO/IEC 14496-12 sample flags


@dataclass(frozen=True, slots=True)
class Box:
    """One whole box as read: its type and every byte of it, header included."""

    type: bytes
    data: bytes


@dataclass(frozen=True, slots=True)
class Track:
    """What the init segment says of a track."""

    track_id: int
    timescale: int
    handler: bytes = b"vide"


@dataclass(frozen=True, slots=True)
class Fragment:
    """One `moof` + `mdat` pair; the video fields are None when it holds no video samples."""

    data: bytes
    video_start: int | None  # base media decode time, in the video timescale
    video_duration: int
    keyframe: bool


async def read_boxes(reader: asyncio.StreamReader) -> AsyncIterator[Box]:
    """Top-level boxes until the stream ends; a box cut short by the end is dropped."""
    while True:
        try:
            header = await reader.readexactly(HEADER)
            size, kind = struct.unpack(">I4s", header)
            if size == 1:  # a 64-bit size follows the type
                large = await reader.readexactly(8)
                header += large
                size = struct.unpack(">Q", large)[0]
            if size < len(header):
                raise ValueError(f"box {kind!r} of impossible size {size}")
            body = await reader.readexactly(size - len(header))
        except asyncio.IncompleteReadError:
            return
        yield Box(kind, header + body)


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]; a box that does not fit
    raises (a size of 0 runs to `end`, as ISO/IEC 14496-12 says)."""
    return _walk(data, start, len(data) if end is None else end, strict=True)


def children(data: bytes, start: int = HEADER) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of each box inside `data` from `start` on."""
    for kind, begin, end in _spans(data, start, len(data)):
        yield kind, data[begin:end]


def _spans(data: bytes, start: int, stop: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:stop]; stops quietly at a
    box that does not fit (a live fragment's inner boxes are only read, never trusted)."""
    return _walk(data, start, stop, strict=False)


def _walk(data: bytes, start: int, stop: int, strict: bool) -> Iterator[tuple[bytes, int, int]]:
    offset = start
    while offset + HEADER <= stop:
        size, kind = struct.unpack_from(">I4s", data, offset)
        head = HEADER
        if size == 1:
            size, head = struct.unpack_from(">Q", data, offset + HEADER)[0], 16
        elif size == 0 and strict:
            size = stop - offset
        if size < head or offset + size > stop:
            if strict:
                raise ValueError(f"truncated {kind!r} box at byte {offset}")
            return
        yield kind, offset + head, offset + size
        offset += size


def child(data: bytes, path: tuple[bytes, ...], start: int = 0, end: int | None = None) -> int:
    """Payload start of the first box along `path`, or -1."""
    for kind, payload, box_end in boxes(data, start, end):
        if kind == path[0]:
            return payload if len(path) == 1 else child(data, path[1:], payload, box_end)
    return -1


def _find(payload: bytes, kind: bytes) -> bytes | None:
    return next((body for k, body in children(payload, 0) if k == kind), None)


def tracks(moov: bytes) -> list[Track]:
    """Every track of an init segment's moov box."""
    found = []
    for kind, trak in children(moov):
        if kind != b"trak":
            continue
        tkhd, mdia = _find(trak, b"tkhd"), _find(trak, b"mdia")
        if tkhd is None or mdia is None:
            continue
        hdlr, mdhd = _find(mdia, b"hdlr"), _find(mdia, b"mdhd")
        if hdlr is None or mdhd is None:
            continue
        track_id = struct.unpack_from(">I", tkhd, 20 if tkhd[0] == 1 else 12)[0]
        timescale = struct.unpack_from(">I", mdhd, 20 if mdhd[0] == 1 else 12)[0]
        found.append(Track(track_id, timescale, hdlr[8:12]))
    return found


def video_track(moov: bytes) -> Track:
    """The first `vide` track of an init segment's moov box."""
    video = next((t for t in tracks(moov) if t.handler == b"vide"), None)
    if video is None:
        raise ValueError("the init segment has no video track")
    return video


def shift_decode_times(moof: bytes, seconds: int, timescales: dict[int, int]) -> bytes:
    """The moof with every track's decode time (tfdt) moved `seconds` later: ffmpeg starts each
    run at 0, we put the wall clock there so every origin sends the same timestamps."""
    out = bytearray(moof)
    for kind, begin, end in _spans(moof, HEADER, len(moof)):
        if kind != b"traf":
            continue
        spans = {k: (b, e) for k, b, e in _spans(moof, begin, end)}
        if b"tfhd" not in spans or b"tfdt" not in spans:
            continue
        track_id = struct.unpack_from(">I", moof, spans[b"tfhd"][0] + 4)[0]
        at = spans[b"tfdt"][0]
        if moof[at] != 1:
            raise ValueError("a 32-bit tfdt cannot hold a wall-clock time")
        time = struct.unpack_from(">Q", moof, at + 4)[0]
        struct.pack_into(">Q", out, at + 4, time + seconds * timescales.get(track_id, 0))
    return bytes(out)


def fragment(moof: bytes, mdat: bytes, video: Track) -> Fragment:
    """Read the video traf of a moof: decode time, summed sample durations, first-sample sync."""
    for kind, traf in children(moof):
        if kind != b"traf":
            continue
        tfhd, tfdt, trun = _find(traf, b"tfhd"), _find(traf, b"tfdt"), _find(traf, b"trun")
        if tfhd is None or struct.unpack_from(">I", tfhd, 4)[0] != video.track_id:
            continue
        if tfdt is None or trun is None:
            raise ValueError("a video traf without tfdt or trun")
        start = struct.unpack_from(">Q" if tfdt[0] == 1 else ">I", tfdt, 4)[0]
        duration, first_flags = _trun(trun, *_tfhd_defaults(tfhd))
        return Fragment(moof + mdat, start, duration, not first_flags & NON_SYNC)
    return Fragment(moof + mdat, None, 0, False)


def track_timescale(init: bytes) -> int:
    """The media timescale (mdhd) of an init segment's single track."""
    at = child(init, (b"moov", b"trak", b"mdia", b"mdhd"))
    if at < 0:
        raise ValueError("init segment has no moov/trak/mdia/mdhd")
    version = init[at]
    return int(struct.unpack_from(">I", init, at + (20 if version == 1 else 12))[0])


def default_duration(init: bytes) -> int:
    """The default sample duration (trex) of an init segment, 0 when it has none."""
    at = child(init, (b"moov", b"mvex", b"trex"))
    return int(struct.unpack_from(">I", init, at + 12)[0]) if at >= 0 else 0


def fragment_timing(segment: bytes, trex_duration: int = 0) -> tuple[int, int]:
    """(first decode time, total duration) in track ticks of a media segment's fragments;
    `trex_duration` is the init segment's default sample duration (default_duration)."""
    start: int | None = None
    total = 0
    for traf, traf_end in _trafs(segment):
        fallback = trex_duration
        for box, at, box_end in boxes(segment, traf, traf_end):
            if box == b"tfhd" and segment[at + 3] & 0x08:
                fallback = _tfhd_defaults(segment[at:box_end])[0]
            elif box == b"tfdt" and start is None:
                fmt = ">Q" if segment[at] == 1 else ">I"
                start = int(struct.unpack_from(fmt, segment, at + 4)[0])
            elif box == b"trun":
                total += _trun(segment[at:box_end], fallback, 0)[0]
    if start is None:
        raise ValueError("media segment has no moof/traf/tfdt")
    return start, total


def split(data: bytes) -> tuple[bytes, bytes]:
    """(init segment: ftyp + moov, the fragments: moof + mdat ...) of one segment file."""
    init, media = bytearray(), bytearray()
    start = 0  # top-level boxes are back to back: each starts where the previous one ended
    for kind, _, end in boxes(data):
        if kind in (b"ftyp", b"moov"):
            init += data[start:end]
        elif kind in (b"moof", b"mdat", b"emsg", b"prft"):
            media += data[start:end]
        start = end
    if not init or child(bytes(init), (b"moov",)) < 0 or not media:
        raise ValueError("not a self-contained fragmented MP4 segment")
    return bytes(init), bytes(media)


def retime(media: bytes, start: int) -> bytes:
    """`media` with its first fragment's decode time moved to `start` ticks, later fragments
    by the same offset. ffmpeg writes tfdt version 1 (64 bits), so nothing changes size."""
    out = bytearray(media)
    offset: int | None = None
    for traf, traf_end in _trafs(media):
        for box, at, _ in boxes(media, traf, traf_end):
            if box != b"tfdt":
                continue
            if media[at] != 1:
                raise ValueError("tfdt version 0: cannot hold a wall-clock decode time")
            old = int(struct.unpack_from(">Q", media, at + 4)[0])
            offset = start - old if offset is None else offset
            struct.pack_into(">Q", out, at + 4, old + offset)
    if offset is None:
        raise ValueError("media segment has no moof/traf/tfdt")
    return bytes(out)


def _trafs(data: bytes) -> Iterator[tuple[int, int]]:
    """(payload start, end) of every traf of every top-level moof in `data` (strict reading)."""
    for kind, payload, end in boxes(data):
        if kind != b"moof":
            continue
        for traf_kind, traf, traf_end in boxes(data, payload, end):
            if traf_kind == b"traf":
                yield traf, traf_end


def _tfhd_defaults(tfhd: bytes) -> tuple[int, int]:
    """default_sample_duration and default_sample_flags of a tfhd (0 when absent)."""
    flags = int.from_bytes(tfhd[1:4], "big")
    offset = 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
    duration = sample_flags = 0
    if flags & 0x08:
        duration = struct.unpack_from(">I", tfhd, offset)[0]
        offset += 4
    if flags & 0x10:
        offset += 4  # default_sample_size
    if flags & 0x20:
        sample_flags = struct.unpack_from(">I", tfhd, offset)[0]
    return duration, sample_flags


def _trun(trun: bytes, default_duration: int, default_flags: int) -> tuple[int, int]:
    """(sum of sample durations, flags of the first sample) of a trun box."""
    flags = int.from_bytes(trun[1:4], "big")
    count = struct.unpack_from(">I", trun, 4)[0]
    offset = 8 + (4 if flags & 0x001 else 0)
    first_flags = default_flags
    if flags & 0x004:
        first_flags = struct.unpack_from(">I", trun, offset)[0]
        offset += 4
    total = 0
    for index in range(count):
        duration = default_duration
        if flags & 0x100:
            duration = struct.unpack_from(">I", trun, offset)[0]
            offset += 4
        if flags & 0x200:
            offset += 4
        if flags & 0x400:
            if index == 0 and not flags & 0x004:
                first_flags = struct.unpack_from(">I", trun, offset)[0]
            offset += 4
        if flags & 0x800:
            offset += 4
        total += duration
    return total, first_flags

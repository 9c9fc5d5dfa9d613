"""A small ISO-BMFF (fragmented MP4) reader: top-level boxes off a stream, and what the LL-HLS
cutter needs to know of them (the video track, and each fragment's start, length and keyframe).

ffmpeg writes `ftyp` + `moov` (the init segment) and then one `moof` + `mdat` pair per packet;
`media.ll_channel` groups those fragments into parts. Only the fields named here are parsed.
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


def children(data: bytes, start: int = HEADER) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of each box inside `data` from `start` on."""
    for kind, begin, end in _spans(data, start, len(data)):
        yield kind, data[begin:end]


def _spans(data: bytes, start: int, stop: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:stop]."""
    offset = start
    while offset + HEADER <= stop:
        size, kind = struct.unpack_from(">I4s", data, offset)
        head = HEADER
        if size == 1:
            size, head = struct.unpack_from(">Q", data, offset + HEADER)[0], 16
        if size < head or offset + size > stop:
            return
        yield kind, offset + head, offset + size
        offset += size


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

"""Turn a live channel's self-contained fMP4 segment files into CMAF init + media segments on
the wall clock.

ffmpeg's segment muxer writes each live segment as its own MP4 (ftyp + moov + moof + mdat)
whose decode times restart at 0, whatever `-output_ts_offset` says. Split off, the ftyp + moov
is the stream's init segment; the fragments get a `styp` and their `tfdt` rewritten so segment
N starts at its wall-clock instant in track ticks. Every origin running the channel then
publishes media that lands on the same timeline, so an HLS or DASH player can take segment N
from any region.
"""

from __future__ import annotations

import struct

from media.dash import boxes, child, default_duration, fragment_timing, track_timescale

# A CMAF media segment brand, as DASH's isoff-live profile asks for.
STYP = struct.pack(">I4s4sI4s4s", 24, b"styp", b"msdh", 0, b"msdh", b"msix")


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
    for kind, payload, end in boxes(media):
        if kind != b"moof":
            continue
        for traf_kind, traf, traf_end in boxes(media, payload, end):
            if traf_kind != b"traf":
                continue
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


def wall_clock_segment(data: bytes, end: float) -> tuple[bytes, bytes, int, float]:
    """(init, media on the wall clock, track timescale, duration in seconds) of a live
    segment file that ends at wall-clock second `end` (ffmpeg's segment list says so)."""
    init, media = split(data)
    scale = track_timescale(init)
    _, ticks = fragment_timing(media, default_duration(init))
    # Video segments start exactly on the boundary; audio ones up to one AAC frame off it.
    start = round(end * scale) - ticks
    return init, STYP + retime(media, start), scale, ticks / scale

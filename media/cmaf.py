"""Turn a live channel's self-contained fMP4 segment files into CMAF init + media segments on
the wall clock: the live-segment policy (where a segment sits on the clock). The boxes are
read and rewritten by media.fmp4_boxes.

ffmpeg's segment muxer writes each live segment as its own MP4 (ftyp + moov + moof + mdat)
whose decode times restart at 0, whatever `-output_ts_offset` says. Split off, the ftyp + moov
is the stream's init segment; the fragments get a `styp` and their `tfdt` rewritten so segment
N starts at its wall-clock instant in track ticks. Every origin running the channel then
publishes media that lands on the same timeline, so an HLS or DASH player can take segment N
from any region.
"""

from __future__ import annotations

import struct

from media.fmp4_boxes import default_duration, fragment_timing, retime, split, track_timescale

# A CMAF media segment brand, as DASH's isoff-live profile asks for.
STYP = struct.pack(">I4s4sI4s4s", 24, b"styp", b"msdh", 0, b"msdh", b"msix")


def wall_clock_segment(data: bytes, end: float) -> tuple[bytes, bytes, int, float]:
    """(init, media on the wall clock, track timescale, duration in seconds) of a live
    segment file that ends at wall-clock second `end` (ffmpeg's segment list says so)."""
    init, media = split(data)
    scale = track_timescale(init)
    _, ticks = fragment_timing(media, default_duration(init))
    # Video segments start exactly on the boundary; audio ones up to one AAC frame off it.
    start = round(end * scale) - ticks
    return init, STYP + retime(media, start), scale, ticks / scale

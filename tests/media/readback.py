"""What libavformat (ffprobe's library, through PyAV) reads back from packaged segments.

imageio-ffmpeg ships ffmpeg without ffprobe; PyAV opens the same codec parameters ffprobe
prints (profile, level, field_order, channels), and the SPS bytes CODECS is made of.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import av
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FIELD_ORDERS = {0: "unknown", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}


@dataclass(frozen=True)
class Probed:
    """One segment as ffprobe would describe its first video or audio stream."""

    width: int = 0
    height: int = 0
    profile: str = ""
    level: int = 0
    field_order: str = ""
    sps_codecs: str = ""  # avc1.PPCCLL from the first SPS in the stream
    channels: int = 0
    has_video: bool = False
    has_audio: bool = False


def decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """HLS AES-128: CBC over the whole segment, PKCS#7 padded."""
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(plain) + unpadder.finalize()


def probe_segment(path: Path | bytes) -> Probed:
    """Read a TS segment (a path, or decrypted bytes) the way ffprobe -show_streams would."""
    data = path.read_bytes() if isinstance(path, Path) else path
    with av.open(io.BytesIO(data)) as container:
        has_audio = bool(container.streams.audio)
        channels = container.streams.audio[0].codec_context.channels if has_audio else 0
        if not container.streams.video:
            return Probed(channels=channels, has_audio=has_audio)
        ctx = container.streams.video[0].codec_context
        sps = ""
        for packet in container.demux(video=0):
            raw = bytes(packet)
            # Annex B: the SPS NAL (type 7) after a start code; its next 3 bytes are CODECS'.
            start = raw.find(b"\x00\x00\x01\x67")
            if start >= 0:
                sps = "avc1." + raw[start + 4 : start + 7].hex()
                break
        order = ctx.field_order
        return Probed(
            width=ctx.width,
            height=ctx.height,
            profile=str(ctx.profile),
            level=int(ctx.level),
            field_order=FIELD_ORDERS.get(order, str(order)) if isinstance(order, int) else order,
            sps_codecs=sps,
            channels=channels,
            has_video=True,
            has_audio=has_audio,
        )


def first_frame_interlaced(path: Path) -> bool:
    """Whether the first decoded frame is flagged interlaced."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            return bool(frame.interlaced_frame)
    raise AssertionError(f"{path} has no video frame")

"""Generators of awkward inputs (real ffmpeg, tiny): what uploads look like in the wild."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from media import runner

BASE = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def _run(ffmpeg: str, argv: list[str]) -> None:
    asyncio.run(runner.run(ffmpeg, BASE + argv))


def _testsrc(size: str, rate: int, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def _tone(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]


def _x264(pix_fmt: str, audio: bool = True) -> list[str]:
    """Fast H.264 in `pix_fmt`, with AAC audio cut to the video's length when there is audio."""
    argv = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", pix_fmt]
    return argv + (["-c:a", "aac", "-shortest"] if audio else [])


def clip(
    ffmpeg: str, out: Path, size: str, seconds: float = 3, audio: bool = True, rate: int = 25
) -> Path:
    """An ordinary H.264/AAC MP4, encoded ultrafast."""
    argv = _testsrc(size, rate, seconds) + (_tone(seconds) if audio else [])
    argv += _x264("yuv420p", audio)
    _run(ffmpeg, argv + [str(out)])
    return out


def no_audio(ffmpeg: str, out: Path) -> Path:
    return clip(ffmpeg, out, "320x180", audio=False)


def odd_dimensions(ffmpeg: str, out: Path) -> Path:
    """321x181: 4:4:4 H.264 allows odd sizes; 4:2:0 renditions must not have them."""
    argv = _testsrc("320x180", 25, 3) + _tone(3) + ["-vf", "scale=321:181"]
    argv += _x264("yuv444p")
    _run(ffmpeg, argv + [str(out)])
    return out


def rotated(ffmpeg: str, out: Path) -> Path:
    """A 320x180 stream whose display matrix says: rotate 90° (a phone held upright)."""
    plain = clip(ffmpeg, out.with_name("unrotated.mp4"), "320x180")
    _run(ffmpeg, ["-display_rotation", "90", "-i", str(plain), "-c", "copy", str(out)])
    return out


def anamorphic(ffmpeg: str, out: Path) -> Path:
    """240x180 stored, 4:3 pixels: displayed 320x180, as DVD and HDV masters are."""
    argv = _testsrc("240x180", 25, 2) + _tone(2) + ["-vf", "setsar=4/3"]
    _run(ffmpeg, argv + _x264("yuv420p") + [str(out)])
    return out


def variable_frame_rate(ffmpeg: str, out: Path) -> Path:
    """30 fps for one second, then every third frame only: irregular frame durations."""
    argv = _testsrc("320x180", 30, 3) + _tone(3)
    argv += ["-vf", r"select='not(mod(n\,3))+lt(n\,30)'", "-fps_mode", "vfr"]
    argv += _x264("yuv420p")
    _run(ffmpeg, argv + [str(out)])
    return out


def ten_bit_422(ffmpeg: str, out: Path) -> Path:
    """ProRes 422 10-bit in a .mov, the usual camera/editing master."""
    argv = _testsrc("320x180", 25, 3) + _tone(3)
    argv += [
        "-c:v",
        "prores_ks",
        "-profile:v",
        "2",
        "-pix_fmt",
        "yuv422p10le",
        "-c:a",
        "pcm_s16le",
        "-shortest",
    ]
    _run(ffmpeg, argv + [str(out)])
    return out


def image(ffmpeg: str, out: Path) -> Path:
    """A single PNG frame."""
    _run(ffmpeg, _testsrc("320x180", 25, 1) + ["-frames:v", "1", str(out)])
    return out


def truncated(source: Path, out: Path) -> Path:
    """The first third of an MP4 whose index (moov) is at the end: what a dropped upload leaves."""
    data = source.read_bytes()
    out.write_bytes(data[: len(data) // 3])
    return out


def text(out: Path) -> Path:
    out.write_text("this is a shopping list, not a video\n" * 50)
    return out


def random_bytes(out: Path) -> Path:
    # The same noise every run: some fresh os.urandom draws probe as a file with no video stream
    # ("no video stream found"), which made the reason the test expects a matter of luck.
    out.write_bytes(random.Random(20261202).randbytes(64 * 1024))
    return out


def empty(out: Path) -> Path:
    out.write_bytes(b"")
    return out


def bad_inputs(ffmpeg: str, work: Path) -> dict[str, Path]:
    """Uploads that are not videos, by what they are."""
    whole = clip(ffmpeg, work / "whole.mp4", "320x180", seconds=2)
    return {
        "text": text(work / "notes.txt"),
        "random bytes": random_bytes(work / "noise.mp4"),
        "image": image(ffmpeg, work / "still.png"),
        "truncated mp4": truncated(whole, work / "cut.mp4"),
        "zero bytes": empty(work / "empty.mp4"),
    }

"""Generate sample media with ffmpeg lavfi sources (no binary media in git)."""

from __future__ import annotations

from pathlib import Path

from media import commands, runner


async def make_clip(
    binary: str,
    out: Path,
    *,
    seconds: float = 4,
    width: int = 320,
    height: int = 180,
    rate: int = 25,
    audio: bool = True,
    channels: int = 1,
    interlaced: bool = False,
) -> Path:
    """Synthesize a test-pattern clip with a tone into `out` and return its path.

    The awkward kinds the ladder handles: portrait (`width` < `height`), no audio
    (`audio=False`), 5.1 (`channels=6`) and interlaced (`interlaced=True`).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = commands.sample_clip(
        out, seconds=seconds, width=width, height=height, rate=rate, audio=audio,
        channels=channels, interlaced=interlaced,
    )  # fmt: skip
    await runner.run(binary, argv)
    return out

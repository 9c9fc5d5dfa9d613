"""Session-wide awkward inputs, generated once with real ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import sources


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


@pytest.fixture(scope="session")
def bad_inputs(ffmpeg: str, media_dir: Path) -> dict[str, Path]:
    return sources.bad_inputs(ffmpeg, media_dir)


@pytest.fixture(scope="session")
def odd_inputs(ffmpeg: str, media_dir: Path) -> dict[str, Path]:
    """Real videos that need care to package: name -> file."""
    return {
        "no audio": sources.no_audio(ffmpeg, media_dir / "silent.mp4"),
        "odd dimensions": sources.odd_dimensions(ffmpeg, media_dir / "odd.mp4"),
        "rotation metadata": sources.rotated(ffmpeg, media_dir / "rotated.mp4"),
        "variable frame rate": sources.variable_frame_rate(ffmpeg, media_dir / "vfr.mp4"),
        "4:2:2 10-bit": sources.ten_bit_422(ffmpeg, media_dir / "prores.mov"),
    }

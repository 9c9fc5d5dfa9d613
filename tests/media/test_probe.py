"""Probing rejects what is not a video with a readable reason and describes what is."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.probe import probe
from streaming.errors import UnsupportedMedia

REASONS = {
    "text": "text file",
    "random bytes": "not a readable video",
    "image": "image",
    "truncated mp4": "not a readable video",
    "zero bytes": "empty",
}


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_probe_rejects_non_video_with_a_readable_reason(
    kind: str, bad_inputs: dict[str, Path]
) -> None:
    """Text, noise, a still image, a truncated MP4 and an empty file raise UnsupportedMedia."""
    with pytest.raises(UnsupportedMedia) as caught:
        probe(bad_inputs[kind])
    assert REASONS[kind] in caught.value.detail
    assert caught.value.status_code == 415


def test_probe_reads_rotation_as_display_size(odd_inputs: dict[str, Path]) -> None:
    """A 320x180 stream rotated 90° displays as 180x320, which the ladder must use."""
    info = probe(odd_inputs["rotation metadata"])
    assert (info.width, info.height, info.rotation % 180) == (320, 180, 90)
    assert (info.display_width, info.display_height) == (180, 320)


def test_probe_describes_audio_pixel_format_and_frame_rate(odd_inputs: dict[str, Path]) -> None:
    """No-audio, 10-bit 4:2:2 and VFR sources are recognised for what they are."""
    assert probe(odd_inputs["no audio"]).has_audio is False
    assert probe(odd_inputs["4:2:2 10-bit"]).pix_fmt == "yuv422p10le"
    vfr = probe(odd_inputs["variable frame rate"])
    assert 10 < vfr.frame_rate < 30 and vfr.duration > 2.5

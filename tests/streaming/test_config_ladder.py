"""origin.ladder: the default is the documented four rungs; bad rungs fail naming the field."""

from __future__ import annotations

import pytest

from streaming.config import DEFAULT_LADDER, parse
from streaming.errors import ConfigError
from tests.factories import distribution_doc


def test_the_default_ladder_is_1080_720_480_360_on_the_short_side() -> None:
    """What docs/origin.md lists: 6000/3000/1400/730 kb/s video."""
    ladder = parse(distribution_doc()).origin.ladder
    assert ladder == DEFAULT_LADDER
    assert [(r.short_side, r.video_kbps, r.audio_kbps) for r in ladder] == [
        (1080, 6000, 128), (720, 3000, 128), (480, 1400, 96), (360, 730, 96),
    ]  # fmt: skip


def test_a_configured_ladder_replaces_the_default() -> None:
    """[[origin.ladder]] tables, audio_kbps optional."""
    doc = distribution_doc(origin={"ladder": [{"short_side": 540, "video_kbps": 2000}]})
    (rung,) = parse(doc).origin.ladder
    assert (rung.short_side, rung.video_kbps, rung.audio_kbps) == (540, 2000, 128)


@pytest.mark.parametrize(
    ("ladder", "message"),
    [
        ([], "origin.ladder: Tuple should have at least 1 item"),
        ([{"short_side": 361, "video_kbps": 700}], "origin.ladder.0.short_side"),
        ([{"short_side": 4320, "video_kbps": 700}], "origin.ladder.0.short_side"),
        ([{"short_side": 360, "video_kbps": 10}], "origin.ladder.0.video_kbps"),
        (
            [{"short_side": 360, "video_kbps": 700}, {"short_side": 360, "video_kbps": 900}],
            "two rungs with the same short_side",
        ),
    ],
)
def test_a_bad_ladder_fails_at_start_naming_the_field(
    ladder: list[dict[str, int]], message: str
) -> None:
    """An odd, oversized, starved or duplicate rung is a ConfigError with the field's path."""
    with pytest.raises(ConfigError) as info:
        parse(distribution_doc(origin={"ladder": ladder}))
    assert message in info.value.detail

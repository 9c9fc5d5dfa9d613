"""Rendition choice: fixed rungs and the throughput rule."""

from __future__ import annotations

import pytest

from loadtest.abr import DEFAULT_ESTIMATE_BPS, Abr, parse_rendition
from streaming.errors import ConfigError

LADDER = (400_000, 1_500_000, 3_000_000, 6_000_000)


@pytest.mark.parametrize(("policy", "want"), [("lowest", 0), ("highest", 3), (2, 2), (9, 3)])
def test_fixed_policies_pick_their_rung(policy: str | int, want: int) -> None:
    """lowest, highest and an index (clamped to the ladder) never move."""
    abr = Abr(LADDER, policy)
    abr.sample(10_000_000, 0.01)
    assert abr.initial() == want and abr.choose() == want


def test_abr_starts_from_the_default_estimate_and_climbs_on_fast_downloads() -> None:
    """A fresh viewer assumes 500 kbit/s (rung 0); fast segments move it to the top rung."""
    abr = Abr(LADDER, "abr")
    assert abr.estimate == DEFAULT_ESTIMATE_BPS and abr.initial() == 0
    abr.sample(1_000_000, 0.5)  # 16 Mbit/s
    assert abr.choose() == 3


def test_abr_steps_down_when_throughput_drops() -> None:
    """Slow downloads pull the estimate under a rung's bandwidth and the choice follows."""
    abr = Abr(LADDER, "abr")
    abr.sample(1_000_000, 0.5)
    for _ in range(10):
        abr.sample(250_000, 1.0)  # 2 Mbit/s, weighted by download time
    assert abr.choose() == 1


@pytest.mark.parametrize("value", ["fastest", "-1", ""])
def test_unknown_rendition_values_are_refused(value: str) -> None:
    """--rendition takes abr, lowest, highest or an index."""
    with pytest.raises(ConfigError, match="--rendition"):
        parse_rendition(value)

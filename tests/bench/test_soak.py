"""The soak's memory slope."""

from __future__ import annotations

from bench.soak import slope_mb_per_min


def test_slope_is_least_squares_in_mb_per_minute() -> None:
    """A steady 1 MB per 10 s rise is 6 MB/min; flat samples are 0; one sample is 0."""
    rising = [(t, 100 + t / 10) for t in range(0, 120, 10)]
    assert slope_mb_per_min(rising) == 6.0
    assert slope_mb_per_min([(t, 80.0) for t in range(0, 60, 5)]) == 0.0
    assert slope_mb_per_min([(0, 80.0)]) == 0.0

"""Rendition choice: a fixed rung, or a simple throughput-based ABR like hls.js's EWMA rule."""

from __future__ import annotations

from dataclasses import dataclass

from streaming.errors import ConfigError

DEFAULT_ESTIMATE_BPS = 500_000.0  # hls.js abrEwmaDefaultEstimate: what a fresh player assumes
# Pick a rung whose bandwidth fits in this share of the estimate (hls.js abrBandWidthFactor).
SAFETY = 0.8


def parse_rendition(value: str) -> str | int:
    """`abr`, `lowest`, `highest` or a 0-based index into the variants sorted by bandwidth."""
    if value in ("abr", "lowest", "highest"):
        return value
    if value.isdigit():
        return int(value)
    raise ConfigError(f"--rendition: expected abr, lowest, highest or an index, not {value!r}")


@dataclass
class Abr:
    """Chooses among variants (ascending bandwidths) from measured segment throughput."""

    bandwidths: tuple[int, ...]
    policy: str | int
    half_life: float = 3.0  # seconds of download time over which old samples lose half weight
    estimate: float = DEFAULT_ESTIMATE_BPS
    _weight: float = 0.0

    def initial(self) -> int:
        """The rung a session starts with."""
        return self.choose()

    def choose(self) -> int:
        if self.policy == "lowest":
            return 0
        if self.policy == "highest":
            return len(self.bandwidths) - 1
        if isinstance(self.policy, int):
            return min(self.policy, len(self.bandwidths) - 1)
        fitting = [i for i, bw in enumerate(self.bandwidths) if bw <= self.estimate * SAFETY]
        return fitting[-1] if fitting else 0

    def sample(self, size: int, seconds: float) -> None:
        """Fold one segment download into the EWMA estimate (weighted by download time)."""
        if size <= 0 or seconds <= 0:
            return
        alpha = 0.5 ** (seconds / self.half_life)
        throughput = size * 8 / seconds
        total = self._weight * alpha + (1 - alpha)
        self.estimate = (self.estimate * self._weight * alpha + throughput * (1 - alpha)) / total
        self._weight = total

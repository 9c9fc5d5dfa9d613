"""Poster and thumbnail sprite layout, and the WebVTT index players use for seek previews."""

from __future__ import annotations

import math
from dataclasses import dataclass

from media.ladder import even

POSTER_NAME = "poster.jpg"
SPRITE_NAME = "thumbnails.jpg"
INDEX_NAME = "thumbnails.vtt"
TILE_WIDTH = 160
MAX_TILES = 100  # one 10x10 sheet; longer videos get sparser thumbnails, not bigger sheets
MIN_INTERVAL = 2.0
POSTER_MAX_HEIGHT = 720


@dataclass(frozen=True, slots=True)
class SpriteGrid:
    """Where each thumbnail sits in the sprite sheet."""

    interval: float
    count: int
    columns: int
    rows: int
    tile_width: int
    tile_height: int


def sprite_grid(duration: float, display_width: int, display_height: int) -> SpriteGrid:
    """One tile every `interval` seconds (at most MAX_TILES), tiles scaled to TILE_WIDTH wide."""
    interval = max(MIN_INTERVAL, duration / MAX_TILES)
    count = max(1, min(MAX_TILES, math.ceil(duration / interval)))
    columns = min(10, count)
    rows = math.ceil(count / columns)
    tile_height = even(TILE_WIDTH * display_height / max(1, display_width))
    return SpriteGrid(interval, count, columns, rows, TILE_WIDTH, tile_height)


def poster_time(duration: float) -> float:
    """Take the poster a little into the video, past fade-ins and black first frames; a clip
    under a second uses its first frame (a later time might have no frame at all)."""
    return 0.0 if duration < 1.0 else round(min(duration * 0.1, 5.0), 3)


def poster_height(display_height: int) -> int:
    return even(min(display_height, POSTER_MAX_HEIGHT))


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def webvtt_index(grid: SpriteGrid, duration: float, sprite_uri: str = SPRITE_NAME) -> str:
    """A WebVTT track whose cues point into the sprite with media fragments (#xywh=)."""
    lines = ["WEBVTT", ""]
    for i in range(grid.count):
        start = i * grid.interval
        end = duration if i == grid.count - 1 else min(duration, (i + 1) * grid.interval)
        x = (i % grid.columns) * grid.tile_width
        y = (i // grid.columns) * grid.tile_height
        lines.append(f"{_timestamp(start)} --> {_timestamp(max(end, start + 0.001))}")
        lines.append(f"{sprite_uri}#xywh={x},{y},{grid.tile_width},{grid.tile_height}")
        lines.append("")
    return "\n".join(lines)

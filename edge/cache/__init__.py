"""Cached objects and the stores that hold them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class Entry:
    """One cached response: status, the origin's headers worth keeping, the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes
    stored_at: float
    ttl: float
    origin_region: str
    hits: int = field(default=0)

    def age(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def fresh(self, now: float) -> bool:
        return now - self.stored_at < self.ttl

    @property
    def size(self) -> int:
        return len(self.body) + 256


class Cache(Protocol):
    """What the pipeline needs from a cache tier."""

    def get(self, key: str) -> Entry | None: ...

    def put(self, key: str, entry: Entry) -> None: ...

    def delete(self, key: str) -> None: ...

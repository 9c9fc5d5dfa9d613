"""Cached objects and the tiers that hold them (memory in front of disk).

One `Entry` per cache key is shared by both tiers: the memory tier holds its `body`, the disk
tier its `file`. Freshness windows are decided once at store time by `edge.cacheability`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OVERHEAD = 512  # bytes of bookkeeping charged per entry, so tiny objects still count


@dataclass(slots=True, eq=False)
class Entry:
    """One cached response: its status, the origin headers worth keeping and where the body is."""

    key: str
    path: str  # the viewer path, which invalidations match against
    status: int
    headers: dict[str, str]  # lower-case names
    size: int
    stored_at: float
    ttl: float
    swr: float = 0.0  # stale-while-revalidate window after ttl
    sie: float = 0.0  # stale-if-error window after ttl
    origin_region: str = ""
    body: bytes | None = None
    file: str | None = None
    hits: int = 0
    backoff_until: float = 0.0  # after a failed refresh: serve stale without asking the origin
    variants: dict[str, bytes] = field(default_factory=dict)  # compressed copies by encoding
    initial_age: float = 0.0  # the age it had on arrival (upstream Age, Date; RFC 9111 §4.2.3)
    # Precomputed fresh-hit heads by variant (edge.types.Prepared, made by edge.deliver); each
    # checks it still fits the entry before use. Never persisted.
    heads: dict[Any, Any] | None = None

    def current_age(self, now: float) -> float:
        return self.initial_age + max(0.0, now - self.stored_at)

    def age(self, now: float) -> int:
        return int(self.current_age(now))

    def fresh(self, now: float) -> bool:
        return self.current_age(now) < self.ttl

    def within_swr(self, now: float) -> bool:
        return self.current_age(now) < self.ttl + self.swr

    def within_sie(self, now: float) -> bool:
        return self.current_age(now) < self.ttl + self.sie

    @property
    def validators(self) -> dict[str, str]:
        """Conditional headers that let the origin answer 304 when this copy is still current."""
        found: dict[str, str] = {}
        if etag := self.headers.get("etag"):
            found["if-none-match"] = etag
        if modified := self.headers.get("last-modified"):
            found["if-modified-since"] = modified
        return found

    @property
    def charge(self) -> int:
        """What this entry costs the memory tier."""
        return self.size + OVERHEAD + sum(len(v) for v in self.variants.values())

    def meta(self) -> dict[str, Any]:
        """The JSON-able metadata the disk tier persists next to the body."""
        return {
            "key": self.key, "path": self.path, "status": self.status, "headers": self.headers,
            "size": self.size, "stored_at": self.stored_at, "ttl": self.ttl, "swr": self.swr,
            "sie": self.sie, "origin_region": self.origin_region, "initial_age": self.initial_age,
            "backoff_until": self.backoff_until,
        }  # fmt: skip

    @classmethod
    def from_meta(cls, meta: dict[str, Any], file: str) -> Entry:
        return cls(
            key=str(meta["key"]), path=str(meta["path"]), status=int(meta["status"]),
            headers={str(k): str(v) for k, v in dict(meta["headers"]).items()},
            size=int(meta["size"]), stored_at=float(meta["stored_at"]), ttl=float(meta["ttl"]),
            swr=float(meta["swr"]), sie=float(meta["sie"]),
            origin_region=str(meta["origin_region"]), file=file,
            initial_age=float(meta.get("initial_age", 0.0)),
            backoff_until=float(meta.get("backoff_until", 0.0)),
        )  # fmt: skip

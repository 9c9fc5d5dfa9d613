"""Request collapsing: concurrent misses for one key share a single origin fetch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Collapser(Generic[T]):
    """One in-flight task per key; the fetch outlives any single viewer that disconnects."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Task[T]] = {}
        self.collapsed = 0

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: str, fetch: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Return (result, joined) where joined says this caller waited on another's fetch."""
        task = self._inflight.get(key)
        joined = task is not None
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        else:
            self.collapsed += 1
        return await asyncio.shield(task), joined

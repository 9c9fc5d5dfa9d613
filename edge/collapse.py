"""Request collapsing: one origin fetch per key, its bytes streamed to every waiting viewer
(each in-flight object is an `edge.fill.Fill`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from edge.fill import Fill
from streaming.errors import OriginError


class Collapser:
    """One in-flight fill per key; the fetch outlives any single viewer that disconnects."""

    def __init__(self) -> None:
        self._inflight: dict[str, Fill] = {}
        self.collapsed = 0  # viewers that joined another viewer's fetch
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._inflight)

    def get(self, key: str) -> Fill | None:
        return self._inflight.get(key)

    def join(
        self, key: str, path: str, produce: Callable[[Fill], Awaitable[None]]
    ) -> tuple[Fill, bool]:
        """The fill for `key`, started by this call unless one is in flight: (fill, joined).

        The caller holds the fill and must `release()` it once it no longer reads the body.
        """
        fill = self._inflight.get(key)
        if fill is not None:
            self.collapsed += 1
            fill.hold()
            return fill, True
        fill = Fill(key, path)
        fill.hold()
        self._inflight[key] = fill

        async def run() -> None:
            try:
                await produce(fill)
            finally:
                if not fill.done:
                    fill.finish(OriginError("fill ended without finishing"))
                if self._inflight.get(key) is fill:
                    del self._inflight[key]

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return fill, False

    async def drain(self) -> None:
        """Cancel fills still running at shutdown."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

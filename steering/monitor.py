"""Active health of every POP as seen by the steering service: up/down with thresholds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import httpx

from streaming.config import Edge, SteeringSettings

log = logging.getLogger("steering.monitor")


@dataclass(slots=True)
class _PopState:
    up: bool = True  # optimistic until the first checks say otherwise
    bad: int = 0
    good: int = 0
    since: float = 0.0


class Monitor:
    """Checks each POP's /healthz every interval; `unhealthy_checks` failures mark it down."""

    def __init__(
        self, pops: tuple[Edge, ...], settings: SteeringSettings, client: httpx.AsyncClient
    ) -> None:
        self._pops, self._settings, self._client = pops, settings, client
        self._state = {edge.pop: _PopState(since=time.time()) for edge in pops}
        self._task: asyncio.Task[None] | None = None

    def is_up(self, pop: str) -> bool:
        return self._state[pop].up

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {
            pop: {"state": "up" if s.up else "down", "since": round(s.since, 3)}
            for pop, s in self._state.items()
        }

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def check_once(self) -> None:
        await asyncio.gather(*(self._check(edge) for edge in self._pops))

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            await self.check_once()
            await asyncio.sleep(
                max(0.0, self._settings.check_interval - (time.monotonic() - started))
            )

    async def _check(self, edge: Edge) -> None:
        try:
            response = await self._client.get(
                f"{edge.url}/healthz", timeout=self._settings.check_timeout
            )
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        self.record(edge.pop, ok)

    def record(self, pop: str, ok: bool) -> None:
        state = self._state[pop]
        if ok:
            state.bad, state.good = 0, state.good + 1
            if not state.up and state.good >= self._settings.healthy_checks:
                state.up, state.since = True, time.time()
                log.warning("POP %s is up again", pop)
        else:
            state.good, state.bad = 0, state.bad + 1
            if state.up and state.bad >= self._settings.unhealthy_checks:
                state.up, state.since = False, time.time()
                log.warning("POP %s is down; steering viewers away", pop)

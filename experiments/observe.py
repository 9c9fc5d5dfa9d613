"""Watches every edge's /healthz during a run: is the edge up, and what it thinks of each origin.

Edges report each origin's state with the wall-clock time it changed (`since`), so a mark-down
is timed by the edge itself, not by this poller's interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """`subject` is "edge" (the POP itself) or an origin id; `at` is seconds since the run began."""

    at: float
    pop: str
    subject: str
    state: str


@dataclass
class Observer:
    edges: dict[str, str]  # pop -> base URL
    t0: float  # wall-clock start of the run
    interval: float = 0.1
    steering: str | None = None  # the steering service's URL: its view of each POP
    events: list[HealthEvent] = field(default_factory=list)
    # The last /healthz origin counters of each edge: requests it sent to each origin (or shield).
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    _last: dict[tuple[str, str], str] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; bounded by the run itself."""
        async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as client:
            while not stop.is_set():
                polls = [self._poll(client, pop, url) for pop, url in self.edges.items()]
                if self.steering is not None:
                    polls.append(self._poll_steering(client, self.steering))
                await asyncio.gather(*polls)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval):
                        await stop.wait()

    async def _poll(self, client: httpx.AsyncClient, pop: str, url: str) -> None:
        now = time.time()
        try:
            response = await client.get(f"{url}/healthz")
            report = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            report = {}
        self._record(pop, "edge", "up" if report else "down", now)
        origins = report.get("origins", {})
        if isinstance(origins, dict):
            for origin_id, info in origins.items():
                if isinstance(info, dict):
                    self._record(
                        pop, origin_id, str(info.get("state")), float(info.get("since") or now)
                    )
                    sent = int(info.get("ok", 0)) + int(info.get("failed", 0))
                    self.totals.setdefault(pop, {})[origin_id] = sent

    async def _poll_steering(self, client: httpx.AsyncClient, url: str) -> None:
        try:
            pops = (await client.get(f"{url}/healthz")).json().get("pops", {})
        except (httpx.HTTPError, ValueError):
            return
        for pop, info in pops.items():
            self._record(
                "steering", pop, str(info.get("state")), float(info.get("since") or time.time())
            )

    def _record(self, pop: str, subject: str, state: str, at: float) -> None:
        key = (pop, subject)
        if self._last.get(key) != state:
            if key in self._last or state != "up":
                self.events.append(
                    HealthEvent(round(max(0.0, at - self.t0), 3), pop, subject, state)
                )
            self._last[key] = state

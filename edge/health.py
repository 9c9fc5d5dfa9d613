"""Origin health for one edge: a circuit breaker per origin, fed by requests and /healthz checks.

    up ──failure_threshold failed requests / unhealthy_checks failed checks──► down
    down ──recovery_checks healthy checks (or open_seconds without checks)──► half-open
    half-open ──probe_successes real successes in a row──► up      (0 probes: straight to up)
    half-open ──one failed probe──► down                            (the checks start over)

A down origin is skipped without paying a timeout. Half-open lets one real request at a time
through as a probe, so an origin whose /healthz answers while its real responses fail (the
"black-holing parent" of apache/trafficserver#13474) never gets its traffic back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from streaming.config import HealthPolicy

log = logging.getLogger("edge.health")

# Checks one origin's health endpoint: None when healthy, else a short reason.
Probe = Callable[[str, str, float], Awaitable[str | None]]


class State(StrEnum):
    UP = "up"
    DOWN = "down"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change, with wall-clock time so experiments can line it up with their faults."""

    origin: str
    old: State
    new: State
    at: float
    reason: str


@dataclass(slots=True)
class _Member:
    policy: HealthPolicy
    state: State = State.UP
    since: float = 0.0  # monotonic time of the last transition
    failures: int = 0  # consecutive failed real requests
    bad_checks: int = 0
    good_checks: int = 0
    probe_wins: int = 0
    probing: bool = False
    last_error: str = ""
    totals: dict[str, int] = field(default_factory=lambda: {"ok": 0, "failed": 0, "skipped": 0})


class Health:
    """Circuit breakers keyed by origin id; every method is synchronous and cheap."""

    def __init__(
        self, policies: dict[str, HealthPolicy], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        now = clock()
        self._members = {oid: _Member(policy, since=now) for oid, policy in policies.items()}
        self.transitions: deque[Transition] = deque(maxlen=200)
        # Told of every transition this breaker decides (the POP's sibling workers adopt it).
        self.on_move: Callable[[Transition], None] | None = None

    def state(self, origin_id: str) -> State:
        member = self._members[origin_id]
        self._expire(member, origin_id)
        return member.state

    def admit(self, origin_id: str) -> bool:
        """May a request go to this origin now? Claims the single probe slot of a half-open one."""
        member = self._members[origin_id]
        self._expire(member, origin_id)
        if member.state is State.UP:
            return True
        if member.state is State.HALF_OPEN and not member.probing:
            member.probing = True
            return True
        member.totals["skipped"] += 1
        return False

    def release(self, origin_id: str) -> None:
        """Give back a probe slot claimed by `admit` that was not used (another member answered)."""
        self._members[origin_id].probing = False

    def succeeded(self, origin_id: str) -> None:
        member = self._members[origin_id]
        member.totals["ok"] += 1
        member.failures = 0
        if member.state is State.HALF_OPEN and member.probing:
            member.probing = False
            member.probe_wins += 1
            if member.probe_wins >= member.policy.probe_successes:
                self._move(origin_id, State.UP, f"{member.probe_wins} probe(s) succeeded")

    def failed(self, origin_id: str, reason: str) -> None:
        member = self._members[origin_id]
        member.totals["failed"] += 1
        member.failures += 1
        member.last_error = reason
        if member.state is State.HALF_OPEN:
            member.probing = False
            self._move(origin_id, State.DOWN, f"probe failed: {reason}")
        elif member.state is State.UP and member.failures >= member.policy.failure_threshold:
            self._move(origin_id, State.DOWN, f"{member.failures} failed requests: {reason}")

    def checked(self, origin_id: str, error: str | None) -> None:
        """Record one active /healthz result (None = healthy)."""
        member = self._members[origin_id]
        if error is not None:
            member.good_checks, member.last_error = 0, error
            member.bad_checks += 1
            if member.state is State.UP and member.bad_checks >= member.policy.unhealthy_checks:
                self._move(origin_id, State.DOWN, f"{member.bad_checks} failed checks: {error}")
            elif member.state is State.HALF_OPEN:
                self._move(origin_id, State.DOWN, f"check failed while half-open: {error}")
            return
        member.bad_checks = 0
        member.good_checks += 1
        if member.state is State.DOWN and member.good_checks >= member.policy.recovery_checks:
            self._recover(origin_id, member, f"{member.good_checks} healthy checks")

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Per-origin state for /healthz and the experiments (wall-clock `since`)."""
        offset = time.time() - self._clock()
        out: dict[str, dict[str, object]] = {}
        for origin_id, member in self._members.items():
            self._expire(member, origin_id)
            out[origin_id] = {
                "state": member.state.value,
                "since": round(member.since + offset, 3),
                "consecutive_failures": member.failures,
                "last_error": member.last_error,
                **member.totals,
            }
        return out

    def _expire(self, member: _Member, origin_id: str) -> None:
        """Without active checks, an open circuit turns half-open after `open_seconds`."""
        if (
            member.state is State.DOWN
            and member.policy.check_interval == 0
            and self._clock() - member.since >= member.policy.open_seconds
        ):
            self._recover(origin_id, member, f"open for {member.policy.open_seconds:g}s")

    def _recover(self, origin_id: str, member: _Member, reason: str) -> None:
        if member.policy.probe_successes == 0:
            self._move(origin_id, State.UP, reason)
        else:
            self._move(origin_id, State.HALF_OPEN, reason)

    def adopt(self, origin_id: str, state: State, reason: str) -> None:
        """A sibling worker's breaker moved: this one follows, without telling anyone."""
        if origin_id in self._members and self._members[origin_id].state is not state:
            self._move(origin_id, state, f"{reason} (sibling worker)", announce=False)

    def _move(self, origin_id: str, new: State, reason: str, announce: bool = True) -> None:
        member = self._members[origin_id]
        old, member.state, member.since = member.state, new, self._clock()
        member.failures = member.bad_checks = member.good_checks = member.probe_wins = 0
        member.probing = False
        transition = Transition(origin_id, old, new, time.time(), reason)
        self.transitions.append(transition)
        log.warning("origin %s: %s -> %s (%s)", origin_id, old.value, new.value, reason)
        if announce and self.on_move is not None:
            self.on_move(transition)


class Checker:
    """Active health checks: GET each origin's check path every interval, forever, until closed."""

    def __init__(
        self, health: Health, targets: Iterable[tuple[str, str, HealthPolicy]], probe: Probe
    ) -> None:
        self._health, self._probe = health, probe
        self._targets = [(oid, url, p) for oid, url, p in targets if p.check_interval > 0]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(*target)) for target in self._targets]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, origin_id: str, url: str, policy: HealthPolicy) -> None:
        while True:
            started = time.monotonic()
            try:
                # A hard bound too: a check that never returns would freeze this origin's state.
                # (asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow the
                # cancellation that close() sends when the probe finishes at that moment, and
                # then close() waits for this loop forever.)
                async with asyncio.timeout(policy.check_timeout + 1.0):
                    error = await self._probe(url, policy.check_path, policy.check_timeout)
            except TimeoutError:
                error = "check timed out"
            except Exception as exc:  # never let one odd failure end the checks for good
                log.exception("health check of %s failed unexpectedly", origin_id)
                error = f"check failed ({type(exc).__name__})"
            self._health.checked(origin_id, error)
            await asyncio.sleep(max(0.0, policy.check_interval - (time.monotonic() - started)))

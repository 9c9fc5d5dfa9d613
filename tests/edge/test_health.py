"""Origin circuit breakers: open on failures, half-open after checks, close on real successes."""

from __future__ import annotations

import asyncio

from edge.health import Checker, Health, State
from streaming.config import HealthPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def health(**policy: object) -> tuple[Health, Clock]:
    clock = Clock()
    return Health({"a": HealthPolicy(**policy), "b": HealthPolicy(**policy)}, clock), clock  # type: ignore[arg-type]


def test_consecutive_request_failures_open_the_circuit() -> None:
    """failure_threshold failed requests in a row mark it down; a success in between resets."""
    h, _ = health(failure_threshold=3)
    h.failed("a", "reset")
    h.failed("a", "reset")
    h.succeeded("a")
    h.failed("a", "reset")
    h.failed("a", "reset")
    assert h.state("a") is State.UP
    h.failed("a", "reset")
    assert h.state("a") is State.DOWN
    assert h.admit("a") is False
    assert h.state("b") is State.UP
    assert [(t.origin, t.new) for t in h.transitions] == [("a", State.DOWN)]


def test_failed_checks_mark_down_and_healthy_checks_half_open() -> None:
    """unhealthy_checks failed checks mark down; recovery_checks healthy ones make it half-open."""
    h, _ = health(unhealthy_checks=2, recovery_checks=3)
    h.checked("a", "connect refused")
    assert h.state("a") is State.UP
    h.checked("a", "connect refused")
    assert h.state("a") is State.DOWN
    h.checked("a", None)
    h.checked("a", None)
    assert h.state("a") is State.DOWN
    h.checked("a", None)
    assert h.state("a") is State.HALF_OPEN


def test_half_open_admits_one_probe_and_closes_after_real_successes() -> None:
    """Half-open lets one request at a time through; probe_successes real successes close it."""
    h, _ = health(failure_threshold=1, recovery_checks=1, probe_successes=2)
    h.failed("a", "timeout")
    h.checked("a", None)
    assert h.state("a") is State.HALF_OPEN
    assert h.admit("a") is True
    assert h.admit("a") is False  # the probe slot is taken
    h.succeeded("a")
    assert h.state("a") is State.HALF_OPEN
    assert h.admit("a") is True
    h.succeeded("a")
    assert h.state("a") is State.UP
    assert h.admit("a") and h.admit("a")


def test_healthy_checks_alone_never_close_a_circuit_whose_requests_fail() -> None:
    """A /healthz that answers while real requests fail keeps the origin out (no flapping back)."""
    h, _ = health(failure_threshold=1, recovery_checks=2, probe_successes=1)
    h.failed("a", "502")
    for _ in range(3):
        h.checked("a", None)
        h.checked("a", None)
        assert h.state("a") is State.HALF_OPEN
        assert h.admit("a")
        h.failed("a", "502")
        assert h.state("a") is State.DOWN
    assert sum(t.new is State.UP for t in h.transitions) == 0


def test_probe_slot_released_when_another_member_answered() -> None:
    """A claimed probe that was not used is released so the next request can probe."""
    h, _ = health(failure_threshold=1, recovery_checks=1)
    h.failed("a", "x")
    h.checked("a", None)
    assert h.admit("a")
    h.release("a")
    assert h.admit("a")


def test_zero_probe_successes_recovers_immediately() -> None:
    """probe_successes = 0, recovery_checks = 1: traffic moves back on the first healthy check."""
    h, _ = health(failure_threshold=1, recovery_checks=1, probe_successes=0)
    h.failed("a", "x")
    h.checked("a", None)
    assert h.state("a") is State.UP


def test_without_active_checks_the_circuit_half_opens_after_open_seconds() -> None:
    """With check_interval = 0 an open circuit waits open_seconds, then lets a probe through."""
    h, clock = health(failure_threshold=1, check_interval=0, open_seconds=5, probe_successes=1)
    h.failed("a", "x")
    clock.now += 4.9
    assert h.admit("a") is False
    clock.now += 0.2
    assert h.admit("a") is True
    h.succeeded("a")
    assert h.state("a") is State.UP


def test_snapshot_reports_state_since_and_counters() -> None:
    """The snapshot carries the state, a wall-clock `since`, and ok/failed/skipped totals."""
    h, _ = health(failure_threshold=1)
    h.succeeded("a")
    h.failed("a", "reset")
    h.admit("a")
    snap = h.snapshot()["a"]
    assert snap["state"] == "down" and snap["last_error"] == "reset"
    assert (snap["ok"], snap["failed"], snap["skipped"]) == (1, 1, 1)
    assert isinstance(snap["since"], float)


def test_checker_feeds_probe_results_at_its_interval() -> None:
    """The active checker probes each origin's check path repeatedly and records the results."""
    policy = HealthPolicy(check_interval=0.05, unhealthy_checks=2)
    h = Health({"a": policy})
    calls: list[tuple[str, str]] = []

    async def probe(url: str, path: str, timeout: float) -> str | None:
        calls.append((url, path))
        return "refused"

    async def main() -> None:
        checker = Checker(h, [("a", "http://127.0.0.1:1", policy)], probe)
        checker.start()
        await asyncio.sleep(0.2)
        await checker.close()

    asyncio.run(main())
    assert len(calls) >= 3 and calls[0] == ("http://127.0.0.1:1", "/healthz")
    assert h.state("a") is State.DOWN


def test_checker_survives_a_probe_that_hangs_or_raises() -> None:
    """A check that never returns or raises something odd counts as failed; checking goes on."""
    policy = HealthPolicy(
        check_interval=0.05,
        check_timeout=0.05,
        unhealthy_checks=1,
        recovery_checks=1,
        probe_successes=0,
    )
    h = Health({"a": policy})
    script = iter(["hang", "raise", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"])

    async def probe(url: str, path: str, timeout: float) -> str | None:
        step = next(script, "ok")
        if step == "hang":
            await asyncio.sleep(60)
        if step == "raise":
            raise RuntimeError("odd")
        return None

    async def main() -> None:
        checker = Checker(h, [("a", "http://127.0.0.1:1", policy)], probe)
        checker.start()
        await asyncio.sleep(1.6)
        await checker.close()

    asyncio.run(main())
    assert [t.new for t in h.transitions] == [State.DOWN, State.UP]

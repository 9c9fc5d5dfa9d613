"""Plays a scenario's faults on time: process signals via `Controls`, network faults on proxies."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from experiments.faultproxy import FaultProxy
from experiments.scenario import NETWORK_ACTIONS, Fault
from streaming.errors import StreamingError

log = logging.getLogger("experiments.timeline")


class Controls(Protocol):
    """What the timeline needs from whoever owns the processes (the experiment command)."""

    async def signal(self, action: str, kind: str, name: str) -> str:
        """kill / pause / resume / restore process `kind:name`; returns a detail for the report."""
        ...

    def proxy(self, region: str) -> FaultProxy | None: ...


@dataclass(frozen=True, slots=True)
class Applied:
    """A fault as it happened: planned and actual second, and what it did (or why it failed)."""

    at: float
    applied: float
    action: str
    target: str
    detail: str
    ok: bool = True


async def apply(fault: Fault, controls: Controls) -> str:
    """Apply one fault now and describe it."""
    if fault.action not in NETWORK_ACTIONS:
        return await controls.signal(fault.action, fault.kind, fault.name)
    proxy = controls.proxy(fault.name)
    if proxy is None:
        raise StreamingError(f"origin {fault.name} has no fault proxy")
    if fault.action == "delay":
        proxy.delay(fault.value)
    elif fault.action == "refuse":
        await proxy.refuse()
    elif fault.action == "drop":
        proxy.drop()
    elif fault.action == "truncate":
        proxy.truncate(int(fault.value))
    elif fault.action == "pause-network":
        proxy.pause()
    else:
        await proxy.heal()
    return f"proxy {proxy.name}: {proxy.state}"


async def play(faults: tuple[Fault, ...], controls: Controls, t0: float) -> list[Applied]:
    """Sleep until each fault's time (monotonic `t0` is second 0) and apply it, in order."""
    applied: list[Applied] = []
    for fault in sorted(faults, key=lambda f: f.at):
        await asyncio.sleep(max(0.0, t0 + fault.at - time.monotonic()))
        when = time.monotonic() - t0
        try:
            detail, ok = await apply(fault, controls), True
        except StreamingError as exc:
            detail, ok = exc.detail, False
        log.warning("t=%.2fs %s %s: %s", when, fault.action, fault.target, detail)
        applied.append(Applied(fault.at, round(when, 3), fault.action, fault.target, detail, ok))
    return applied

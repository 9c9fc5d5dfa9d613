"""The experiment's hands on the topology: process faults by child name, network faults by proxy.

Implements the `timeline.Controls` protocol for processes this experiment started (restartable)
and for a running demo's processes (signals by PID only).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass, field

from experiments.faultproxy import FaultProxy
from procs.supervisor import Child, Supervisor
from procs.topology import child_name
from streaming.errors import StreamingError


@dataclass
class Controls:
    """Process faults on supervised children (by name) and network faults on the proxies."""

    supervisor: Supervisor | None
    pids: dict[str, int]  # child name -> pid, for a demo this process did not start
    proxies: dict[str, FaultProxy] = field(default_factory=dict)
    paused: set[int] = field(default_factory=set)

    def proxy(self, region: str) -> FaultProxy | None:
        return self.proxies.get(region)

    def _child(self, name: str) -> Child | None:
        if self.supervisor is None:
            return None
        return next((c for c in reversed(self.supervisor.children) if c.name == name), None)

    async def signal(self, action: str, kind: str, name: str) -> str:
        named = child_name(kind, name)
        child = self._child(named)
        pid = child.pid if child is not None else self.pids.get(named)
        if pid is None:
            raise StreamingError(f"no process {named}")
        alive = child is None or (child.process is not None and child.process.poll() is None)
        if action == "kill":
            _signal(pid, signal.SIGKILL)
            self.paused.discard(pid)
            if child is not None and child.process is not None:
                await asyncio.to_thread(child.process.wait)
            return f"SIGKILL {named} (pid {pid})"
        if action == "pause":
            _signal(pid, signal.SIGSTOP)
            self.paused.add(pid)
            return f"SIGSTOP {named} (pid {pid})"
        if action == "resume" or (action == "restore" and alive):
            _signal(pid, signal.SIGCONT)
            self.paused.discard(pid)
            return f"SIGCONT {named} (pid {pid})"
        if child is None or self.supervisor is None:
            raise StreamingError(
                f"restore {named}: only processes this experiment started can be restarted"
            )
        started = time.monotonic()
        fresh = self.supervisor.start(named, child.argv, child.health_url)
        await asyncio.to_thread(self.supervisor.wait_healthy, fresh)
        took = time.monotonic() - started
        return f"restarted {named} (pid {fresh.pid}, healthy after {took:.1f}s)"

    def resume_all(self) -> None:
        """Before cleanup: a SIGSTOPped process cannot act on SIGTERM."""
        for pid in list(self.paused):
            _signal(pid, signal.SIGCONT)
        self.paused.clear()


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # children run in their own session: the group includes ffmpeg

"""Demo controls: kill, pause and restore the origin and edge processes `streaming demo` started.

Only processes listed in the demo's state file can be touched, by name (`origin-us-east`,
`edge-iad`), never by a PID from the request. Before every signal the PID's command line is
compared with the argv the demo recorded, so a recycled PID is never signalled. Restarting a
killed process is delegated to a `Restarter` the composition root provides (the portal itself
spawns nothing).
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio

from streaming.errors import ConfigError, Conflict, NotFound

Action = Literal["kill", "pause", "restore"]
SIGNAL_SETTLE_SECONDS = 2.0


class Status(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Restarter(Protocol):
    """Starts a process again from its argv and returns its PID once it answers `health_url`."""

    def restart(self, name: str, argv: list[str], health_url: str) -> int: ...

    def close(self) -> None:
        """Stop every process this restarter started (the portal is shutting down)."""
        ...


@dataclass
class Process:
    name: str
    role: Literal["origin", "edge"]
    place: str  # the origin's region or the edge's POP
    url: str
    pid: int
    argv: list[str]
    health_url: str = ""  # /healthz, on the plain-HTTP listener of an HTTPS edge

    def health(self) -> str:
        return self.health_url or f"{self.url}/healthz"


def load_state(path: Path) -> dict[str, Any]:
    """The demo's state file as written by `streaming demo` ({} while it does not exist yet)."""
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the demo state file {path}: {exc}") from None
    if not isinstance(state, dict):
        raise ConfigError(f"the demo state file {path} is not a JSON object")
    return state


def read_state(path: Path) -> list[Process]:
    """The demo's processes from its state file (empty while the demo has not written it)."""
    state = load_state(path)
    found = [
        Process(
            f"origin-{o['region']}", "origin", o["region"], o["url"], o["pid"], o.get("argv", [])
        )
        for o in state.get("origins", [])
    ]
    found += [
        Process(
            f"edge-{e['pop']}", "edge", e["pop"], e["url"], e["pid"], e.get("argv", []),
            f"{e['http_url']}/healthz" if e.get("http_url") else "",
        )
        for e in state.get("edges", [])
    ]
    return found


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1] if raw else []


def status_of(process: Process) -> Status:
    """Running, paused (SIGSTOP) or stopped, read from /proc; a recycled PID counts as stopped."""
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
    except OSError:
        return Status.STOPPED
    state = stat.rsplit(")", 1)[1].split()[0]
    if state in ("Z", "X") or (process.argv and _cmdline(process.pid) != process.argv):
        return Status.STOPPED
    return Status.PAUSED if state in ("T", "t") else Status.RUNNING


def _signal(pid: int, sig: signal.Signals) -> None:
    """Signal the process and the children it leads (ffmpeg under an origin), by PID only."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


async def _signalled(process: Process, sig: signal.Signals, want: Status) -> Status:
    """Send `sig`, then wait (bounded) until /proc shows its effect: signals land asynchronously."""
    _signal(process.pid, sig)
    with anyio.move_on_after(SIGNAL_SETTLE_SECONDS):
        while status_of(process) is not want:
            await anyio.sleep(0.01)
    return status_of(process)


class DemoProcesses:
    """The table of controllable processes, refreshed from the state file when it changes."""

    def __init__(self, state_path: Path, restarter: Restarter | None) -> None:
        self.state_path, self.restarter = state_path, restarter
        self._mtime = -1.0
        self._processes: dict[str, Process] = {}

    def _refresh(self) -> None:
        try:
            mtime = self.state_path.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime != self._mtime:
            self._mtime = mtime
            fresh = {p.name: p for p in read_state(self.state_path)}
            for name, known in self._processes.items():
                # A process we restarted keeps its new PID; the state file still has the old one.
                if name in fresh and fresh[name].argv == known.argv:
                    fresh[name].pid = known.pid
            self._processes = fresh

    def list(self) -> list[dict[str, object]]:
        self._refresh()
        return [
            {
                "name": p.name,
                "role": p.role,
                "place": p.place,
                "url": p.url,
                "pid": p.pid,
                "status": status_of(p).value,
            }  # fmt: skip
            for p in self._processes.values()
        ]

    def get(self, name: str) -> Process:
        self._refresh()
        if name not in self._processes:
            known = ", ".join(self._processes) or "none (no demo state file yet)"
            raise NotFound(f"no demo process {name!r}; known: {known}")
        return self._processes[name]

    async def act(self, name: str, action: Action) -> Status:
        """Apply `action` to the named process and return its status once the kernel shows it."""
        process = self.get(name)
        current = status_of(process)
        if action == "pause":
            if current is not Status.RUNNING:
                raise Conflict(f"{name} is {current.value}, only a running process can be paused")
            return await _signalled(process, signal.SIGSTOP, Status.PAUSED)
        if action == "kill":
            if current is Status.STOPPED:
                raise Conflict(f"{name} is already stopped")
            return await _signalled(process, signal.SIGKILL, Status.STOPPED)
        if current is Status.PAUSED:
            return await _signalled(process, signal.SIGCONT, Status.RUNNING)
        if current is Status.RUNNING:
            raise Conflict(f"{name} is already running")
        return await self._restart(process)

    async def _restart(self, process: Process) -> Status:
        if self.restarter is None or not process.argv:
            raise Conflict(
                f"{process.name} cannot be restarted: the portal has no restarter or argv"
            )
        restarter, argv = self.restarter, list(process.argv)
        pid = await anyio.to_thread.run_sync(
            lambda: restarter.restart(process.name, argv, process.health())
        )
        process.pid = pid
        return Status.RUNNING

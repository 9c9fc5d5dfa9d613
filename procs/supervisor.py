"""Child-process supervision for `streaming demo`, experiments, the test harness and benchmarks.

Starts origin and edge processes, waits for their /healthz, and always stops them by PID
(SIGTERM, then SIGKILL after a grace period), also when one of them dies during start.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from streaming.errors import StreamingError


class StartupFailed(StreamingError):
    code = "startup_failed"


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: list[str]
    health_url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (so our server can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _server_ports() -> range:
    """Ports below the kernel's ephemeral range (32768-60999 unless configured otherwise).

    A port `bind(0)` hands out comes from that range, so an outgoing connection can take it as
    its local port before our server binds it ("address already in use" when several suites run
    at once); below the range nothing but a listener ever takes a port.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(10000, max(low, 20000))


_SERVER_PORTS = _server_ports()
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now on TCP and on UDP (an HTTPS edge's QUIC shares the number), and
    never handed out before by this process."""
    for _ in range(500):
        port = random.choice(_SERVER_PORTS)
        if port in _handed_out:
            continue
        with (
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        ):
            try:
                tcp.bind((host, port))
                udp.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    span = f"{_SERVER_PORTS.start}-{_SERVER_PORTS.stop - 1}"
    raise StartupFailed(f"no free port on {host} in {span}")


def cli_argv(*args: str) -> list[str]:
    """argv that runs the `streaming` CLI with this interpreter."""
    return [sys.executable, "-m", "cli", *args]


class Supervisor:
    """Owns a set of children; use as a context manager so they are always reaped."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], health_url: str) -> Child:
        """Spawn a child with its output in `<log_dir>/<name>.log`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        child = Child(name, argv, health_url, self.log_dir / f"{name}.log")
        with child.log_path.open("ab") as log:
            child.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self.children.append(child)
        return child

    def wait_healthy(self, child: Child, timeout: float = 30.0) -> None:
        """Poll the child's /healthz until 200; fail fast when it exits instead."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert child.process is not None
            if child.process.poll() is not None:
                tail = child.log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise StartupFailed(f"{child.name} exited during start: {' | '.join(tail)}")
            try:
                if httpx.get(child.health_url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise StartupFailed(f"{child.name} did not become healthy within {timeout:.0f}s")

    def stop(self, child: Child, grace: float = 5.0) -> None:
        """SIGTERM the child's process group, SIGKILL it after `grace` seconds."""
        process = child.process
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for child in reversed(self.children):
            self.stop(child)

    def dead(self) -> list[Child]:
        return [c for c in self.children if c.process is not None and c.process.poll() is not None]


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)

"""N worker processes on one port: forked by a parent that restarts them and stops them all.

Each worker binds its own listening socket with SO_REUSEPORT, so the kernel spreads new
connections over the workers (nginx's `reuseport`); the parent binds nothing and serves
nothing. It forks before any event loop or thread exists, restarts a worker that dies (at most
once a second each, so a worker that cannot start does not spin), and on SIGTERM/SIGINT passes
the signal on, waits `grace` seconds, then SIGKILLs what is left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

log = logging.getLogger("procs.workers")

RESTART_INTERVAL = 1.0  # seconds between restarts of one worker slot
BACKLOG = 1024


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other processes of this user may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def run_workers(count: int, work: Callable[[int], None], grace: float = 5.0) -> None:
    """Run `work(index)` in `count` forked processes until SIGTERM/SIGINT; returns after all
    of them exited."""
    stopping = False
    slots: dict[int, int] = {}  # pid → worker index
    started: dict[int, float] = {}  # worker index → monotonic time of its last start

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in slots:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def spawn(index: int) -> None:
        started[index] = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the worker: default signal handling, then serve until told to stop
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            status = 0
            try:
                work(index)
            except BaseException as exc:  # noqa: BLE001 - a worker reports and exits, never returns
                if not isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    print(f"worker {index} failed: {exc!r}", file=sys.stderr, flush=True)
                    status = 1
            finally:
                os._exit(status)  # never run the parent's cleanup in the child
        slots[pid] = index

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(count):
        spawn(index)
    deadline: float | None = None
    while slots:
        if stopping and deadline is None:
            deadline = time.monotonic() + grace
        if deadline is not None and time.monotonic() > deadline:
            for pid in slots:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.1)
            continue
        index = slots.pop(pid)
        if stopping:
            continue
        log.warning("worker %d (pid %d) exited with status %d; restarting", index, pid, status)
        time.sleep(max(0.0, started[index] + RESTART_INTERVAL - time.monotonic()))
        if not stopping:
            spawn(index)

"""One worker process of a POP, and the datagrams its siblings exchange to act as one POP.

`streaming edge --workers N` forks N workers (procs.workers) that share the port, the disk tier
and this directory. What must be the same in every worker travels as a small JSON datagram to
each sibling's Unix socket: invalidations and forgotten keys (each worker drops its memory
tier's copy), disk-tier commits and deletions (each worker's index and byte count follow),
origin health transitions (one worker runs the active checks; every breaker follows), and cache
clears. A datagram to a sibling that is restarting is lost: it rebuilds its disk index and
syncs invalidations from the control plane when it starts, as a restarted POP does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("edge.worker")

Handler = Callable[[dict[str, Any]], object]
MAX_DATAGRAM = 200_000  # below Linux's default socket buffer for AF_UNIX datagrams


@dataclass(frozen=True, slots=True)
class Worker:
    """Which of the POP's `count` workers this process is; `root` is the POP's cache directory."""

    index: int = 0
    count: int = 1
    root: Path | None = None

    @property
    def shared(self) -> bool:
        """More than one process serves this POP."""
        return self.count > 1

    @property
    def leads(self) -> bool:
        """The worker that does what a POP does once: active health checks, control polling."""
        return self.index == 0

    @property
    def directory(self) -> Path:
        assert self.root is not None
        return self.root / "workers"

    def socket_path(self, index: int) -> Path:
        return self.directory / f"{index}.sock"

    @staticmethod
    def prepare(root: Path) -> None:
        """Before forking: a clean directory for the workers' sockets and metric files."""
        directory = root / "workers"
        shutil.rmtree(directory, ignore_errors=True)
        (directory / "metrics").mkdir(parents=True)


class Siblings:
    """This worker's mailbox and its siblings' addresses; messages are `{"kind": ..., ...}`."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._handlers: dict[str, Handler] = {}
        self._sock: socket.socket | None = None
        self.dropped = 0  # datagrams a sibling could not take (restarting, buffer full)

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def start(self) -> None:
        """Open the mailbox on the running loop (a single worker has none)."""
        if not self.worker.shared:
            return
        path = self.worker.socket_path(self.worker.index)
        path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        sock.setblocking(False)
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._receive)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def tell(self, kind: str, **fields: Any) -> None:
        """Send to every sibling, never waiting: a full or missing mailbox drops the message."""
        if self._sock is None:
            return
        data = json.dumps({"kind": kind, **fields}, separators=(",", ":")).encode()
        if len(data) > MAX_DATAGRAM:
            log.warning("message %s of %d bytes is too large for siblings", kind, len(data))
            self.dropped += 1
            return
        for index in range(self.worker.count):
            if index == self.worker.index:
                continue
            try:
                self._sock.sendto(data, str(self.worker.socket_path(index)))
            except OSError:
                self.dropped += 1

    def _receive(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(MAX_DATAGRAM + 1)
            except OSError:  # drained (BlockingIOError), or closed
                return
            try:
                message = json.loads(data)
                handler = self._handlers.get(str(message["kind"]))
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable message from a sibling worker")
                continue
            if handler is None:
                continue
            try:
                handler(message)
            except Exception:  # one bad message must not stop the mailbox
                log.exception("handling %s from a sibling failed", message.get("kind"))

"""The packaging queue: tasks with leases, bounded retries and a dead letter, plus the ledger
where a job's and its chunks' state live while workers on several hosts share it.

Delivery is at-least-once: a task taken by a worker is leased for `visibility_timeout`
seconds; the worker renews the lease while it runs (`renew`) and acknowledges it when done
(`ack`). A lease that lapses (the worker was SIGKILLed, its host lost) makes the task takeable
again; a task that fails (`fail`) is takeable again at once. A task delivered `max_attempts`
times and not acknowledged is dead-lettered with the reason instead of delivered once more,
and `take` reports that so the job can be failed with it. Every step that runs a task must
therefore be idempotent.

Two engines implement it: `sqlite` (origin.queue.sqlite, the embedded default, one host) and
`redis` (origin.queue.redis, Redis Streams with a consumer group, many hosts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from streaming.config import QueueSettings


class Kind(StrEnum):
    """The steps of one job: probe and plan, then either the whole ladder in one process, or
    audio once, the poster and thumbnail sprite, each video chunk and the final publish."""

    PLAN = "plan"
    WHOLE = "whole"
    AUDIO = "audio"
    THUMBNAILS = "thumbnails"
    CHUNK = "chunk"
    PUBLISH = "publish"


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work of a job; `index` is the chunk's (0 for the other kinds)."""

    job: str
    kind: Kind
    index: int = 0

    @property
    def name(self) -> str:
        return f"{self.kind.value} {self.index}" if self.kind is Kind.CHUNK else self.kind.value

    def fields(self) -> dict[str, str]:
        return {"job": self.job, "kind": self.kind.value, "index": str(self.index)}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Task:
        return cls(fields["job"], Kind(fields["kind"]), int(fields.get("index", "0")))


@dataclass(frozen=True, slots=True)
class Delivery:
    """A task handed to one worker: `receipt` names this delivery to the engine."""

    task: Task
    receipt: str
    attempt: int  # 1 on the first delivery
    worker: str  # who holds the lease


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A task that used up its attempts, and why (the last failure, or a lapsed lease)."""

    task: Task
    reason: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Depth:
    """Tasks waiting, leased to a worker, and dead-lettered, for /metrics."""

    queued: int
    running: int
    dead: int


class TaskQueue(Protocol):
    """At-least-once task delivery with leases (see the module docstring)."""

    async def put(self, tasks: Sequence[Task]) -> None: ...

    async def take(self, worker: str, wait: float) -> Delivery | DeadLetter | None:
        """The next task leased to `worker`, a task just dead-lettered, or None after `wait`."""
        ...

    async def renew(self, delivery: Delivery) -> bool:
        """Extend the lease; False when it lapsed and another worker may hold the task."""
        ...

    async def ack(self, delivery: Delivery) -> None: ...

    async def fail(self, delivery: Delivery, reason: str) -> None:
        """Give the task back for another attempt at once, remembering `reason`."""
        ...

    async def release(self, worker: str) -> None:
        """Give back every task `worker` holds, for others to take now (the worker restarted
        under the same id, so it runs none of them)."""

    async def depth(self) -> Depth: ...

    async def dead_letters(self) -> list[DeadLetter]: ...

    async def close(self) -> None: ...


class Ledger(Protocol):
    """A job's shared state as string fields (one Redis hash or SQLite rows per job)."""

    async def update(self, job: str, fields: Mapping[str, str]) -> None: ...

    async def read(self, job: str) -> dict[str, str]: ...

    async def retire(self, job: str, seconds: float) -> None:
        """Drop the job's fields (and lock) `seconds` from now: it is over, and only
        GET /videos/{id} (its chunk list) and late duplicate deliveries still read them."""

    async def lock(self, job: str, owner: str, seconds: float) -> bool:
        """Take the job's publishing lock for `seconds` unless another owner holds it."""
        ...

    async def unlock(self, job: str, owner: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Engine:
    """An opened engine: its queue and its ledger share one connection."""

    queue: TaskQueue
    ledger: Ledger
    settings: QueueSettings


def open_engine(settings: QueueSettings, root: Path) -> Engine:
    """The configured engine; `root` holds the SQLite file of the embedded one."""
    if settings.engine == "redis":
        from origin.queue.redis import open_redis  # the redis client is needed only here

        return open_redis(settings)
    from origin.queue.sqlite import open_sqlite

    return open_sqlite(settings, root / "queue.sqlite3")

"""The Redis engine: Redis Streams with one consumer group, for packager workers on many hosts.

A task is a stream entry; the consumer group `packagers` hands each entry to one worker and
keeps it in that worker's pending list until XACK. The lease is the entry's idle time: the
worker renews it with XCLAIM JUSTID (which resets the idle time without counting a delivery),
and any worker takes over an entry idle for longer than `visibility_timeout` with XAUTOCLAIM,
which counts one delivery more. XPENDING's delivery count is the attempt number; past
`max_attempts` the entry moves to the dead-letter stream with the reason. A failed attempt
marks its entry idle at once (XCLAIM IDLE) so the next XAUTOCLAIM retries it. Acknowledged
entries are deleted, so the stream holds only waiting and running tasks.

Redis errors become `Unavailable` here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from origin.queue import DeadLetter, Delivery, Depth, Engine, Task
from streaming.config import QueueSettings
from streaming.errors import Unavailable

GROUP = "packagers"
PREFIX = "streaming:"
T = TypeVar("T")

# Renew only a lease this worker still holds: a lapsed one may already be another's.
_RENEW = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""
# A failed attempt: remember why, and make the entry claimable now (idle past the timeout).
_FAIL = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID')
return 1
"""
# Every entry a consumer holds, claimable now and its delivery not counted: none of them failed.
_RELEASE = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1000, ARGV[2])
for _, e in ipairs(p) do
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, e[1], 'IDLE', ARGV[3],
             'RETRYCOUNT', math.max(e[4] - 1, 0), 'JUSTID')
end
return #p
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def _call(awaitable: Awaitable[T]) -> T:
    """Await one Redis command, translating its failures at this boundary."""
    try:
        return await awaitable
    except RedisError as exc:
        raise Unavailable(f"the queue engine (redis) failed: {type(exc).__name__}") from None


class RedisQueue:
    """Tasks in the stream `streaming:tasks`, dead letters in `streaming:dead`."""

    def __init__(self, client: Any, settings: QueueSettings) -> None:
        self._r = client
        self._idle_ms = int(settings.visibility_timeout * 1000)
        self._max = settings.max_attempts
        self._stream, self._dead, self._errors = (
            f"{PREFIX}tasks", f"{PREFIX}dead", f"{PREFIX}errors",
        )  # fmt: skip
        self._grouped = False
        self._renew: Callable[..., Awaitable[int]] = client.register_script(_RENEW)
        self._fail: Callable[..., Awaitable[int]] = client.register_script(_FAIL)
        self._release: Callable[..., Awaitable[int]] = client.register_script(_RELEASE)

    async def _group(self) -> None:
        if self._grouped:
            return
        try:
            await self._r.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):  # else another worker or origin created it first
                raise Unavailable(f"the queue engine (redis) failed: {exc}") from None
        except RedisError as exc:
            raise Unavailable(f"the queue engine (redis) failed: {type(exc).__name__}") from None
        self._grouped = True

    async def put(self, tasks: Sequence[Task]) -> None:
        await self._group()
        async with self._r.pipeline(transaction=True) as pipe:
            for task in tasks:
                pipe.xadd(self._stream, task.fields())
            await _call(pipe.execute())

    async def take(self, worker: str, wait: float) -> Delivery | DeadLetter | None:
        await self._group()
        _, claimed, *_ = await _call(
            self._r.xautoclaim(self._stream, GROUP, worker, self._idle_ms, "0-0", count=1)
        )
        for entry_id, fields in claimed:
            pending = await _call(
                self._r.xpending_range(self._stream, GROUP, entry_id, entry_id, 1, worker)
            )
            attempt = int(pending[0]["times_delivered"]) if pending else 1
            task = Task.from_fields(fields)
            if attempt > self._max:
                return await self._bury(entry_id, task, attempt - 1)
            return Delivery(task, entry_id, attempt, worker)
        block = max(1, int(wait * 1000)) if wait > 0 else None
        read = await _call(
            self._r.xreadgroup(GROUP, worker, {self._stream: ">"}, count=1, block=block)
        )
        for _, entries in read or ():
            for entry_id, fields in entries:
                return Delivery(Task.from_fields(fields), entry_id, 1, worker)
        return None

    async def _bury(self, entry_id: str, task: Task, attempts: int) -> DeadLetter:
        reason = await _call(self._r.hget(self._errors, entry_id)) or (
            "its worker stopped renewing the lease (killed or lost)"
        )
        letter = DeadLetter(task, str(reason), attempts)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.xadd(self._dead, {**task.fields(), "reason": letter.reason,
                                   "attempts": str(attempts)})  # fmt: skip
            pipe.xack(self._stream, GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            pipe.hdel(self._errors, entry_id)
            await _call(pipe.execute())
        return letter

    async def renew(self, delivery: Delivery) -> bool:
        held = await _call(
            self._renew(keys=[self._stream], args=[GROUP, delivery.worker, delivery.receipt])
        )
        return bool(held)

    async def ack(self, delivery: Delivery) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, delivery.receipt)
            pipe.xdel(self._stream, delivery.receipt)
            pipe.hdel(self._errors, delivery.receipt)
            await _call(pipe.execute())

    async def fail(self, delivery: Delivery, reason: str) -> None:
        await _call(
            self._fail(
                keys=[self._stream, self._errors],
                args=[GROUP, delivery.worker, delivery.receipt, reason[:500],
                      self._idle_ms + 1],
            )
        )  # fmt: skip

    async def release(self, worker: str) -> None:
        await self._group()
        await _call(self._release(keys=[self._stream], args=[GROUP, worker, self._idle_ms + 1]))

    async def depth(self) -> Depth:
        await self._group()
        length = int(await _call(self._r.xlen(self._stream)))
        summary = await _call(self._r.xpending(self._stream, GROUP))
        running = int(summary.get("pending", 0)) if isinstance(summary, dict) else 0
        dead = int(await _call(self._r.xlen(self._dead)))
        return Depth(queued=max(0, length - running), running=running, dead=dead)

    async def dead_letters(self) -> list[DeadLetter]:
        entries = await _call(self._r.xrange(self._dead))
        return [
            DeadLetter(Task.from_fields(f), f.get("reason", ""), int(f.get("attempts", "0")))
            for _, f in entries
        ]

    async def close(self) -> None:
        await self._r.aclose()


class RedisLedger:
    """Each job's state in the hash `streaming:job:<id>`; its publishing lock beside it."""

    def __init__(self, client: Any) -> None:
        self._r = client
        self._unlock: Callable[..., Awaitable[int]] = client.register_script(_UNLOCK)

    async def update(self, job: str, fields: Mapping[str, str]) -> None:
        if fields:
            await _call(self._r.hset(f"{PREFIX}job:{job}", mapping=dict(fields)))

    async def read(self, job: str) -> dict[str, str]:
        return dict(await _call(self._r.hgetall(f"{PREFIX}job:{job}")))

    async def retire(self, job: str, seconds: float) -> None:
        ms = max(1, int(seconds * 1000))
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.pexpire(f"{PREFIX}job:{job}", ms)
            pipe.pexpire(f"{PREFIX}lock:{job}", ms)
            await _call(pipe.execute())

    async def lock(self, job: str, owner: str, seconds: float) -> bool:
        key, ms = f"{PREFIX}lock:{job}", max(1, int(seconds * 1000))
        if await _call(self._r.set(key, owner, nx=True, px=ms)):
            return True
        if await _call(self._r.get(key)) == owner:
            await _call(self._r.pexpire(key, ms))
            return True
        return False

    async def unlock(self, job: str, owner: str) -> None:
        await _call(self._unlock(keys=[f"{PREFIX}lock:{job}"], args=[owner]))


def open_redis(settings: QueueSettings) -> Engine:
    """Connect lazily: the first command opens the connection (and creates the group)."""
    client = aioredis.from_url(settings.url, decode_responses=True, socket_timeout=None)
    return Engine(RedisQueue(client, settings), RedisLedger(client), settings)

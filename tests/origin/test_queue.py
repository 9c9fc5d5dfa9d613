"""origin.queue: leases, takeover of a lapsed lease, bounded retries, the dead letter and the
ledger, the same on both engines (a real redis-server, and SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from origin.queue import DeadLetter, Delivery, Engine, Kind, Task, open_engine
from streaming.config import QueueSettings
from tests.origin.redis_server import redis_server

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str
) -> AsyncIterator[Engine]:
    if request.param == "redis":
        redis.Redis.from_url(redis_url).flushall()  # nothing leaks from the test before
        settings = QueueSettings(
            engine="redis", url=redis_url, visibility_timeout=1, max_attempts=2
        )
    else:
        settings = QueueSettings(visibility_timeout=1, max_attempts=2)
    opened = open_engine(settings, tmp_path)
    yield opened
    await opened.queue.close()


async def take(engine: Engine, worker: str) -> Delivery | DeadLetter | None:
    return await engine.queue.take(worker, wait=0.05)


async def test_a_task_goes_to_one_worker_and_is_gone_once_acknowledged(engine: Engine) -> None:
    await engine.queue.put([Task("v1", Kind.CHUNK, 3)])
    first = await take(engine, "a")
    assert isinstance(first, Delivery) and first.task == Task("v1", Kind.CHUNK, 3)
    assert first.attempt == 1
    assert await take(engine, "b") is None  # leased to a
    assert (await engine.queue.depth()).running == 1
    await engine.queue.ack(first)
    await asyncio.sleep(1.2)
    assert await take(engine, "b") is None
    assert await engine.queue.depth() == type(await engine.queue.depth())(0, 0, 0)


async def test_a_renewed_lease_holds_and_a_lapsed_one_is_taken_over(engine: Engine) -> None:
    await engine.queue.put([Task("v1", Kind.AUDIO)])
    held = await take(engine, "a")
    assert isinstance(held, Delivery)
    for _ in range(3):  # 1.5 s in all, past the 1 s timeout, renewed every 0.5 s
        await asyncio.sleep(0.5)
        assert await engine.queue.renew(held)
        assert await take(engine, "b") is None
    await asyncio.sleep(1.2)  # a stops renewing: SIGKILLed
    taken = await take(engine, "b")
    assert isinstance(taken, Delivery) and taken.task == held.task and taken.attempt == 2
    assert not await engine.queue.renew(held), "a's lease is b's now"


async def test_a_released_task_is_taken_at_once_and_its_delivery_not_counted(
    engine: Engine,
) -> None:
    """A worker restarted under its old id (or stopping) gives back what it held: another
    takes it now, not after the lease, and the handover is not a failed attempt."""
    await engine.queue.put([Task("v1", Kind.WHOLE), Task("v2", Kind.PLAN)])
    held = [await take(engine, "a"), await take(engine, "a")]
    assert all(isinstance(d, Delivery) for d in held)
    assert await take(engine, "b") is None  # both leased to a
    await engine.queue.release("b")  # holds nothing: a no-op
    assert await take(engine, "c") is None
    await engine.queue.release("a")
    again = [await take(engine, "b"), await take(engine, "b")]
    assert {d.task for d in again if isinstance(d, Delivery)} == {
        Task("v1", Kind.WHOLE), Task("v2", Kind.PLAN),
    }  # fmt: skip
    assert all(isinstance(d, Delivery) and d.attempt == 1 for d in again), again


async def test_a_failed_task_is_retried_then_dead_lettered_with_its_reason(engine: Engine) -> None:
    await engine.queue.put([Task("v1", Kind.CHUNK, 0)])
    for attempt in (1, 2):
        delivery = await take(engine, "a")
        assert isinstance(delivery, Delivery) and delivery.attempt == attempt
        await engine.queue.fail(delivery, f"ffmpeg exited with 1 (attempt {attempt})")
    letter = await take(engine, "b")
    assert letter == DeadLetter(Task("v1", Kind.CHUNK, 0), "ffmpeg exited with 1 (attempt 2)", 2)
    assert await take(engine, "b") is None
    assert await engine.queue.dead_letters() == [letter]
    assert (await engine.queue.depth()).dead == 1


async def test_a_task_whose_workers_keep_dying_is_dead_lettered_as_lost(engine: Engine) -> None:
    await engine.queue.put([Task("v1", Kind.PLAN)])
    for worker in ("a", "b"):
        assert isinstance(await take(engine, worker), Delivery)
        await asyncio.sleep(1.2)
    letter = await take(engine, "c")
    assert isinstance(letter, DeadLetter) and "stopped renewing the lease" in letter.reason


async def test_the_ledger_keeps_fields_and_one_publishing_lock(engine: Engine) -> None:
    await engine.ledger.update("v1", {"state": "packaging", "chunk:0": "{}"})
    await engine.ledger.update("v1", {"state": "ready"})
    assert await engine.ledger.read("v1") == {"state": "ready", "chunk:0": "{}"}
    assert await engine.ledger.lock("v1", "a", 1)
    assert not await engine.ledger.lock("v1", "b", 1)
    assert await engine.ledger.lock("v1", "a", 1), "the holder may extend it"
    await engine.ledger.unlock("v1", "b")  # not b's to release
    assert not await engine.ledger.lock("v1", "b", 1)
    await engine.ledger.unlock("v1", "a")
    assert await engine.ledger.lock("v1", "b", 1)
    await engine.ledger.retire("v1", 0.3)
    assert (await engine.ledger.read("v1"))["state"] == "ready", "kept until it expires"
    await asyncio.sleep(0.4)
    assert await engine.ledger.read("v1") == {}
    await engine.ledger.update("v2", {"state": "ready"})
    await engine.ledger.retire("v2", 60)  # (SQLite: and sweeps the rows of v1)
    assert await engine.ledger.read("v2") == {"state": "ready"}

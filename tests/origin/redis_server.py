"""A real redis-server on a loopback port (Debian's package), for the Redis queue engine."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from procs.supervisor import Supervisor, free_port


def redis_binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).is_file():
        raise RuntimeError("redis-server is missing: apt-get install redis-server (.ci/run does)")
    return found


@contextmanager
def redis_server(work: Path) -> Iterator[str]:
    """Start redis-server with the AOF on (as in production) and no RDB snapshots; yield its
    URL; stop it (SIGTERM, SIGKILL after a grace) even when the test fails."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(work),
    ]  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    with Supervisor(work / "logs") as sup:
        child = sup.start("redis", argv, "")
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            assert child.process is not None
            if child.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {child.log_path.read_text()[-300:]}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        try:
            yield url
        finally:
            sup.stop(child, grace=2.0)

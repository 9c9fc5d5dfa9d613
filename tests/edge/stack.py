"""A scripted origin (raw asyncio HTTP/1.1 in a thread) and real edge processes in front of it.

The origin is what these tests are not about, so it is a small script: each path answers from a
queue of `Answer`s (the last one repeats) and every request is recorded. It can stall, trickle
chunks, lie about Content-Length and die mid-body, which a real origin cannot do on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from procs.supervisor import Supervisor, cli_argv, free_port
from tests.factories import TOKEN, write_config

AUTH = {"authorization": f"Bearer {TOKEN}"}
# Worker processes per edge in this run (tests/conftest.py; `make test` runs tests/edge with 2).
WORKERS = int(os.environ.get("STREAMING_EDGE_WORKERS", "1"))


@dataclass
class Answer:
    """One scripted response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # before the status line
    chunk: int = 64 * 1024
    gap: float = 0.0  # between body chunks
    cut_after: int | None = None  # close the connection after this many body bytes
    length: int | None = None  # the Content-Length to announce (default: len(body))


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


Script = list[Answer] | Callable[[Seen], Answer]


class ScriptedOrigin:
    """Answers by path; `requests` records everything the edge sent."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.routes: dict[str, Script] = {}
        self.requests: list[Seen] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def route(self, path: str, *answers: Answer) -> None:
        self.routes[path] = list(answers)

    def handler(self, path: str, script: Callable[[Seen], Answer]) -> None:
        self.routes[path] = script

    def count(self, path: str, method: str | None = None) -> int:
        return sum(
            1 for r in self.requests if r.path == path and (method is None or r.method == method)
        )

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def fetches(self) -> list[Seen]:
        """Every request but the edges' health checks, which come on their own clock."""
        return [r for r in self.requests if r.path != "/healthz"]

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port), self._loop
        )
        self._server = future.result(5)

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _answer(self, seen: Seen) -> Answer:
        script = self.routes.get(seen.path)
        if script is None:
            return Answer(
                404, {"content-type": "text/plain", "cache-control": "max-age=1"}, b"no such path"
            )
        if callable(script):
            return script(seen)
        return script.pop(0) if len(script) > 1 else script[0]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError
        ):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding") == "chunked":
                    body = await _read_chunked(reader)
                path, _, query = target.partition("?")
                seen = Seen(method, path, query, headers, body)
                self.requests.append(seen)
                if not await self._respond(writer, method, self._answer(seen)):
                    break
        writer.close()

    async def _respond(self, writer: asyncio.StreamWriter, method: str, answer: Answer) -> bool:
        """Write one response; False when the connection was cut on purpose."""
        if answer.delay:
            await asyncio.sleep(answer.delay)
        length = len(answer.body) if answer.length is None else answer.length
        headers = {"content-length": str(length), **answer.headers}
        if answer.status in (204, 304):
            headers.pop("content-length", None)
        status_line = f"HTTP/1.1 {answer.status} X\r\n"
        writer.write(
            (status_line + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
        )
        body = b"" if method == "HEAD" or answer.status in (204, 304) else answer.body
        sent = 0
        for start in range(0, len(body), answer.chunk):
            piece = body[start : start + answer.chunk]
            if answer.cut_after is not None and sent + len(piece) > answer.cut_after:
                writer.write(piece[: answer.cut_after - sent])
                await writer.drain()
                writer.transport.abort()  # dies mid-body: no more bytes, connection reset
                return False
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
            if answer.gap:
                await asyncio.sleep(answer.gap)
        await writer.drain()
        return True


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readline()).strip(), 16)
        if size == 0:
            await reader.readline()
            return body
        body += await reader.readexactly(size)
        await reader.readline()


@contextmanager
def scripted_origin() -> Iterator[ScriptedOrigin]:
    origin = ScriptedOrigin()
    origin.start()
    try:
        yield origin
    finally:
        origin.stop()


def edge_doc(origin_url: str, pops: tuple[str, ...] = ("iad",), **overrides: Any) -> dict[str, Any]:
    """A distribution with one scripted origin and the behaviors the edge tests exercise."""
    doc: dict[str, Any] = {
        "name": "edgetest",
        "admin_token": TOKEN,
        "origins": [{"id": "primary", "region": "us-east", "url": origin_url}],
        "origin_groups": [{"id": "all", "members": ["primary"], "response_timeout": 2.0}],
        "edges": [{"pop": p, "region": "us-east", "port": free_port()} for p in pops],
        "behaviors": [
            {"path_pattern": "/api/*", "target": "all",
             "ttl": {"min_ttl": 0, "default_ttl": 0, "max_ttl": 0},
             "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
             "forward_headers": ["authorization", "content-type"],
             "functions": [
                 {"event": "origin-request", "name": "strip-prefix", "options": {"prefix": "/api"}},
             ]},
            {"path_pattern": "*.m3u8", "target": "all",
             "ttl": {"min_ttl": 0, "default_ttl": 2, "max_ttl": 86400}},
            {"path_pattern": "/fn/*", "target": "all", "functions": [
                {"event": "viewer-request", "name": "tests.edge.stack:fn_viewer_request"},
                {"event": "viewer-response", "name": "security-headers"},
                {"event": "origin-response", "name": "tests.edge.stack:fn_origin_response"},
            ]},
            {"path_pattern": "*", "target": "all", "cache_key": {"query_strings": ["v"]}},
        ],
        "edge": {"memory_cache_bytes": 4 * 1024 * 1024, "memory_object_bytes": 256 * 1024,
                 "disk_cache_bytes": 64 * 1024 * 1024},
    }  # fmt: skip
    doc.update(overrides)
    return doc


def fn_viewer_request(ctx: Any, request: Any) -> Any:
    """A test function: `/fn/boom` raises, `/fn/deny` answers 403, others pass."""
    from edge.functions import FunctionResponse

    if request.uri == "/fn/boom":
        raise RuntimeError("a bug in an edge function")
    if request.uri == "/fn/deny":
        return FunctionResponse(403, {"content-type": "text/plain"}, b"denied by a function")
    return request


def fn_origin_response(ctx: Any, request: Any, response: Any) -> Any:
    """A test function: marks what it saw; the mark is cached with the object."""
    response.headers["x-origin-response-fn"] = "ran"
    return response


@dataclass
class EdgeStack:
    """Edge processes from one config file, with their cache directories and logs."""

    config: Path
    doc: dict[str, Any]
    supervisor: Supervisor
    tmp: Path

    def url(self, pop: str = "iad") -> str:
        return next(f"http://127.0.0.1:{e['port']}" for e in self.doc["edges"] if e["pop"] == pop)

    def cache_dir(self, pop: str = "iad") -> Path:
        return self.tmp / "edge" / pop

    def access_log(self, pop: str = "iad") -> Path:
        return self.tmp / "edge" / pop / "access.log"

    def start_edge(self, pop: str = "iad", wait: bool = True) -> None:
        argv = cli_argv("edge", "--config", str(self.config), "--pop", pop,
                        "--cache-dir", str(self.cache_dir(pop)),
                        "--access-log", str(self.access_log(pop)))  # fmt: skip
        child = self.supervisor.start(f"edge-{pop}", argv, f"{self.url(pop)}/healthz")
        if wait:
            self.supervisor.wait_healthy(child)

    def stop_edge(self, pop: str = "iad") -> None:
        for child in self.supervisor.children:
            if child.name == f"edge-{pop}":
                self.supervisor.stop(child)
        self.supervisor.children = [c for c in self.supervisor.children if c.name != f"edge-{pop}"]

    def start_control(self) -> None:
        url = self.doc["control"]["url"]
        argv = cli_argv(
            "control", "--config", str(self.config), "--data", str(self.tmp / "control")
        )
        self.supervisor.wait_healthy(self.supervisor.start("control", argv, f"{url}/healthz"))

    def metrics(self, pop: str = "iad") -> dict[str, float]:
        """Every sample of /metrics as {'name{labels}': value}."""
        text = httpx.get(f"{self.url(pop)}/metrics", timeout=5).text
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def sample(self, name: str, pop: str = "iad", **labels: str) -> float:
        """The sum of every sample of metric `name` whose labels include `labels`."""
        total = 0.0
        for key, value in self.metrics(pop).items():
            metric, _, rest = key.partition("{")
            if metric != name:
                continue
            found = dict(part.split("=", 1) for part in rest.rstrip("}").split(",") if "=" in part)
            if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
                total += value
        return total

    def clear(self, pop: str = "iad") -> None:
        httpx.post(f"{self.url(pop)}/admin/cache/clear", headers=AUTH, timeout=5).raise_for_status()


@contextmanager
def edge_stack(tmp: Path, doc: dict[str, Any], control: bool = False) -> Iterator[EdgeStack]:
    """Start the control plane (optional) and every edge of `doc`; always reap them."""
    config = write_config(tmp / "distribution.toml", doc)
    with Supervisor(tmp / "logs") as sup:
        stack = EdgeStack(config, doc, sup, tmp)
        if control:
            stack.start_control()  # first: edges pull invalidations when they start
        for edge in doc["edges"]:
            stack.start_edge(edge["pop"], wait=False)
        for child in sup.children:
            sup.wait_healthy(child)
        yield stack


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.05) -> bool:
    """Poll until `predicate()` holds (bounded); returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()

"""Portal apps driven in-process; the processes the demo controls act on are real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from procs.supervisor import free_port

# A stand-in for an origin or edge: answers 200 to every GET, like /healthz.
SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def portal_client(app: object) -> httpx.AsyncClient:
    """An HTTP client wired to the portal app in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")  # type: ignore[arg-type]


@dataclass
class DemoChild:
    name: str
    url: str
    argv: list[str]
    process: subprocess.Popen[bytes]


def wait_answering(url: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def demo_state(tmp_path: Path) -> Iterator[tuple[Path, list[DemoChild]]]:
    """A state file listing two real server processes, as `streaming demo` writes it."""
    children = []
    try:
        for role, place in (("origin", "us-east"), ("edge", "iad")):
            port = free_port()
            argv = [sys.executable, "-c", SERVER, str(port)]
            process = subprocess.Popen(argv, start_new_session=True)
            children.append(DemoChild(f"{role}-{place}", f"http://127.0.0.1:{port}", argv, process))
        for child in children:
            wait_answering(child.url)
        origin, edge = ({"url": c.url, "pid": c.process.pid, "argv": c.argv} for c in children)
        state = {
            "origins": [{"region": "us-east", **origin}],
            "edges": [{"pop": "iad", "region": "us-east", **edge}],
        }  # fmt: skip
        path = tmp_path / "state.json"
        path.write_text(json.dumps(state))
        yield path, children
    finally:
        for child in children:
            if child.process.poll() is None:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()

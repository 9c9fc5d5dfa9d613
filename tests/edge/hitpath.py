"""`python -m tests.edge.hitpath`: our edge app's cost per cached hit, in-process, no server.

The edge's ASGI callable is driven directly (no sockets, no HTTP parsing) on a warm playlist and
a warm 1 MB segment, in the benchmark's lean configuration and in the demo's (signed cookies
required and the access log on), so the app's own microseconds per hit can be compared before
and after a change without the server's share and the machine's noise in wrk runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.fixture import distribution
from streaming import keys
from streaming.config.distribution import parse
from streaming.policy import Policy
from streaming.signing import Signer

PLAYLIST = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n" + b"#EXTINF:2.5,\nseg.ts\n" * 8
PLAYLIST_PATH = "/hls/vbench/360p/index.m3u8"
SEGMENT_PATH = "/hls/vbench/720p/seg_00003.ts"
SEGMENT = bytes(range(256)) * 4096  # 1 MiB
HOST = "127.0.0.1:8201"


def _origin(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith(".m3u8"):
        headers = {"content-type": "application/vnd.apple.mpegurl", "cache-control": "max-age=60"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(PLAYLIST))
    headers = {"content-type": "video/mp2t", "cache-control": "max-age=86400"}
    return httpx.Response(200, headers=headers, stream=httpx.ByteStream(SEGMENT))


def _signed_doc() -> tuple[dict[str, Any], str]:
    """The lean distribution with every /hls/ behavior behind a key group, and a cookie."""
    private = keys.generate("rsa")
    kid = keys.key_id(private.public_key())
    doc = distribution("http://origin.invalid", 8201)
    doc["behaviors"] = [
        {**b, "trusted_key_groups": ["viewers"]} if b["path_pattern"].startswith("/hls/") else b
        for b in doc["behaviors"]
    ]
    public = keys.public_pem(private.public_key())
    doc["key_groups"] = [{"id": "viewers", "keys": [{"id": kid, "public_key": public}]}]
    policy = Policy(resource=f"http://{HOST}/hls/*", date_less_than=int(time.time()) + 86400)
    cookies = Signer(kid, private).cookies(policy)
    return doc, "; ".join(f"{k}={v}" for k, v in cookies.items())


def _scope(path: str, cookie: str | None) -> dict[str, Any]:
    headers = [(b"host", HOST.encode()), (b"user-agent", b"wrk"), (b"accept", b"*/*")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8201), "extensions": {},
    }  # fmt: skip


async def _measure(app: Any, scope: dict[str, Any], calls: int, repeats: int) -> list[float]:
    """µs per call, one figure per repeat; the response must be a hit."""
    seen: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen.append(message)

    for _ in range(2):  # a miss, then a hit
        await app(scope, receive, send)
    cache = dict(seen[-1]["headers"]).get(b"x-cache", b"")
    if not cache.startswith(b"Hit"):
        raise SystemExit(f"tests.edge.hitpath: {scope['path']} is not a hit ({cache!r})")
    out = []
    for _ in range(repeats):
        seen.clear()
        started = time.perf_counter()
        for _ in range(calls):
            await app(scope, receive, send)
        out.append((time.perf_counter() - started) / calls * 1e6)
    return out


def run(calls: int = 5000, repeats: int = 5) -> dict[str, dict[str, float]]:
    """{configuration: {object: median µs per hit}} for the lean and the demo-like edge."""
    from edge.app import create_app

    work = Path(tempfile.mkdtemp(prefix="hitpath-"))
    signed_doc, cookie = _signed_doc()
    configs: dict[str, tuple[dict[str, Any], str | None, str]] = {
        "lean": (distribution("http://origin.invalid", 8201), None, ""),
        "signed cookies": (signed_doc, cookie, ""),
        "demo-like (cookies + access log)": (signed_doc, cookie, str(work / "access.log")),
    }
    results: dict[str, dict[str, float]] = {}
    for name, (doc, cookie_value, log) in configs.items():
        dist = parse(doc)
        app = create_app(
            dist, "bench", transport=httpx.MockTransport(_origin), cache_dir=work / name,
            access_log=log,
        )  # fmt: skip
        row: dict[str, float] = {}
        for label, path in (("playlist", PLAYLIST_PATH), ("segment", SEGMENT_PATH)):
            figures = asyncio.run(_measure(app, _scope(path, cookie_value), calls, repeats))
            row[label] = statistics.median(figures)
        app.pipeline.access_log.close()
        results[name] = row
    return results


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> None:
    p = argparse.ArgumentParser(prog="python -m tests.edge.hitpath", description=__doc__)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    results = run(args.calls, args.repeats)
    out("| configuration | playlist hit, µs | 1 MB segment hit, µs |")
    out("|---|---:|---:|")
    for name, row in results.items():
        out(f"| {name} | {row['playlist']:.1f} | {row['segment']:.1f} |")


if __name__ == "__main__":
    main()

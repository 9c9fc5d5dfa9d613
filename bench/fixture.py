"""The shared origin side of a benchmark: our origin with packaged videos behind the counter."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import m3u8
import tomli_w

from media.runner import ffmpeg_binary, run
from procs.supervisor import Supervisor, cli_argv, free_port

TOKEN = "bench-admin-token"
SEGMENT_SECONDS = 2.5  # 720p at 3 Mbit/s + audio: segments of about 1 MB


def distribution(origin_url: str, edge_port: int, **extra: Any) -> dict[str, Any]:
    """A one-origin, one-POP distribution with the demo's playlist/segment behaviors."""
    doc: dict[str, Any] = {
        "name": "bench",
        "admin_token": TOKEN,
        "origins": [{"id": "origin", "region": "bench", "url": origin_url}],
        "edges": [{"pop": "bench", "region": "bench", "port": edge_port}],
        "behaviors": [
            {"path_pattern": "/hls/*.m3u8", "target": "origin",
             "ttl": {"min_ttl": 0, "default_ttl": 2, "max_ttl": 86400}},
            {"path_pattern": "/hls/*", "target": "origin",
             "ttl": {"min_ttl": 0, "default_ttl": 86400, "max_ttl": 31536000}},
            {"path_pattern": "*", "target": "origin"},
        ],
        "origin": {"segment_duration": SEGMENT_SECONDS},
        "portal": {"port": free_port()},
    }  # fmt: skip
    doc.update(extra)
    return doc


def write_toml(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tomli_w.dumps(doc).encode())
    return path


def noisy_clip(out: Path, seconds: int, width: int, height: int) -> Path:
    """A clip with film-grain noise, so the encoder spends the ladder's full bitrate."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i",
        f"testsrc2=size={width}x{height}:rate=25:duration={seconds},noise=alls=25:allf=t",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(out),
    ]  # fmt: skip
    asyncio.run(run(ffmpeg_binary(), argv))
    return out


@dataclass
class Origin:
    """Our origin and the counting proxy every cache fetches through."""

    url: str
    counter_url: str

    def upload(self, clip: Path, timeout: float = 300.0) -> str:
        """Upload and wait until packaged; returns the master playlist path."""
        with clip.open("rb") as fh:
            response = httpx.post(
                f"{self.url}/videos", files={"file": (clip.name, fh)},
                headers={"authorization": f"Bearer {TOKEN}"}, timeout=60,
            )  # fmt: skip
        response.raise_for_status()
        video_id = response.json()["id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = httpx.get(
                f"{self.url}/videos/{video_id}", headers={"authorization": f"Bearer {TOKEN}"},
                timeout=5,
            ).json()  # the job API is not public
            if state["state"] == "ready":
                return str(state["master_path"])
            if state["state"] == "failed":
                raise SystemExit(f"bench: packaging failed: {state.get('error')}")
            time.sleep(0.3)
        raise SystemExit(f"bench: video not packaged within {timeout:.0f}s")

    def counts(self) -> dict[str, int]:
        """Origin requests per path so far, as counted by the proxy."""
        return dict(httpx.get(f"{self.counter_url}/__counts", timeout=5).json())


def start(sup: Supervisor, work: Path, cpu: str) -> Origin:
    """Start the origin and the counter (pinned to `cpu`) and wait for both."""
    origin_port, counter_port = free_port(), free_port()
    origin_url, counter_url = f"http://127.0.0.1:{origin_port}", f"http://127.0.0.1:{counter_port}"
    config = write_toml(work / "origin.toml", distribution(origin_url, free_port()))
    origin = sup.start(
        "origin",
        ["taskset", "-c", cpu, *cli_argv("origin", "--config", str(config), "--region", "bench",
                                         "--data", str(work / "origin"))],
        f"{origin_url}/healthz",
    )  # fmt: skip
    counter = sup.start(
        "counter",
        ["taskset", "-c", cpu, sys.executable, "-m", "bench.counter",
         "--upstream", origin_url, "--port", str(counter_port)],
        f"{counter_url}/healthz",
    )  # fmt: skip
    sup.wait_healthy(origin, timeout=60)
    sup.wait_healthy(counter, timeout=60)
    return Origin(origin_url, counter_url)


def pick_objects(
    base: str, master_path: str, want_bytes: int = 1_000_000
) -> tuple[str, int, str, int]:
    """(segment path nearest `want_bytes`, its size, smallest media playlist path, its size)."""
    master = m3u8.loads(httpx.get(base + master_path, timeout=10).text)
    directory = master_path.rsplit("/", 1)[0]
    best: tuple[int, str, int] | None = None
    playlists: list[tuple[int, str]] = []
    for variant in master.playlists:
        path = f"{directory}/{variant.uri}"
        text = httpx.get(base + path, timeout=10).text
        playlists.append((len(text.encode()), path))
        media_dir = path.rsplit("/", 1)[0]
        for segment in m3u8.loads(text).segments:
            seg_path = f"{media_dir}/{segment.uri}"
            size = len(httpx.get(base + seg_path, timeout=10).content)
            if best is None or abs(size - want_bytes) < best[0]:
                best = (abs(size - want_bytes), seg_path, size)
    assert best is not None, "the master lists no segments"
    size, playlist = min(playlists)
    return best[1], best[2], playlist, size

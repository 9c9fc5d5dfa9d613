"""Small HTTP helpers for tests that talk to real processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import m3u8

from tests.factories import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}


def upload(origin_url: str, file: Path) -> str:
    with file.open("rb") as fh:
        response = httpx.post(
            f"{origin_url}/videos", files={"file": (file.name, fh)}, headers=AUTH, timeout=30
        )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_state(
    origin_url: str, video_id: str, want: str = "ready", timeout: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"{origin_url}/videos/{video_id}", headers=AUTH, timeout=5).json()
        if status.get("state") in (want, "failed"):
            break
        time.sleep(0.1)
    assert status.get("state") == want, status
    return status


def wait_until(check: Callable[..., object], timeout: float, what: str) -> None:
    """Poll `check` every 0.1 s until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def hls_paths(base_url: str, master_path: str) -> list[str]:
    """Every path of a VOD presentation: master, media playlists, segments."""
    master = m3u8.loads(
        httpx.get(base_url + master_path, timeout=10).text, uri=base_url + master_path
    )
    directory = master_path.rsplit("/", 1)[0]
    found = [master_path]
    for variant in master.playlists:
        media_path = f"{directory}/{variant.uri}"
        found.append(media_path)
        media = m3u8.loads(httpx.get(base_url + media_path, timeout=10).text)
        media_dir = media_path.rsplit("/", 1)[0]
        found += [f"{media_dir}/{segment.uri}" for segment in media.segments]
    return found

"""Durable jobs in a real origin process: a crash mid-packaging loses and half-publishes nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import m3u8
import pytest

from tests.factories import distribution_doc
from tests.helpers import AUTH, upload, wait_state
from tests.media import sources
from tests.origin.conftest import origin_processes, start_origin


def ffmpeg_pids_under(path: Path) -> list[int]:
    """PIDs of ffmpeg processes whose command line mentions `path` (our data directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            cmdline
            and b"ffmpeg" in cmdline[0]
            and any(str(path).encode() in arg for arg in cmdline)
        ):
            found.append(int(entry.name))
    return found


def wait_for(predicate, timeout: float, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(step)
    return None


def test_sigkill_mid_packaging_then_restart_reruns_the_job_to_ready(
    ffmpeg: str, tmp_path: Path
) -> None:
    """SIGKILL the origin while it packages: its ffmpeg dies too, the restart re-runs the job from
    a clean directory, and the result is complete (every listed segment exists, nothing extra)."""
    source = sources.clip(ffmpeg, tmp_path / "long.mp4", "640x360", seconds=40)
    doc = distribution_doc(origin={"segment_duration": 2.0})
    url = doc["origins"][0]["url"]
    with origin_processes(tmp_path, doc) as sup:
        child = sup.children[0]
        video_id = upload(url, source)
        packaging = wait_for(
            lambda: (
                (s := httpx.get(f"{url}/videos/{video_id}", headers=AUTH).json())["state"]
                == "packaging"
                and s["progress"] > 0.05
            ),
            timeout=30,
        )
        assert packaging, "the job never started packaging"
        os.kill(child.pid, signal.SIGKILL)  # the origin only: its ffmpeg is orphaned
        child.process.wait(timeout=5)  # type: ignore[union-attr]
        # The orphan notices its progress pipe is gone and exits instead of writing on.
        assert wait_for(lambda: not ffmpeg_pids_under(tmp_path), timeout=5), (
            "orphaned ffmpeg kept running"
        )

        work = tmp_path / "origin" / "us-east" / "hls" / video_id
        assert (work / "360p").is_dir(), "the killed run had started writing"
        restarted = start_origin(sup, tmp_path / "distribution.toml", "us-east", url, tmp_path)
        sup.wait_healthy(restarted)
        status = wait_state(url, video_id, "ready", timeout=60)
        assert status["progress"] == 1.0 and status["error"] is None

    media = m3u8.load(str(work / "360p" / "index.m3u8"))
    assert media.is_endlist and media.playlist_type == "vod"
    listed = {s.uri for s in media.segments}
    on_disk = {p.name for p in (work / "360p").glob("*.ts")}
    assert listed == on_disk
    assert sum(s.duration for s in media.segments) == pytest.approx(40.0, abs=0.5)
    assert not list(work.rglob(".*")), "temporary files were left behind"

"""`streaming demo`: the whole topology as processes, ready URLs, and no orphans on stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import m3u8
import pytest

from procs.supervisor import cli_argv
from tests.factories import distribution_doc, write_config

TOPOLOGY = dict(
    regions=("us-east", "eu-west"),
    pops=(("iad", "us-east"), ("fra", "eu-west"), ("sin", "ap-southeast")),
)


def processes_mentioning(needle: str) -> list[int]:
    """PIDs whose command line contains `needle` (our config path is unique per test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace"
                ):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_gone(needle: str, timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_mentioning(needle)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture
def demo_process(tmp_path: Path, clip: Path):  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "demo.toml", distribution_doc(**TOPOLOGY))
    state = tmp_path / "state" / "state.json"
    argv = cli_argv("demo", "--config", str(config), "--media", str(clip), "--state", str(state))
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        yield process, state, config
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in processes_mentioning(str(config)):
            os.kill(pid, signal.SIGKILL)


def test_demo_reaches_ready_plays_through_every_edge_and_stops_cleanly(demo_process) -> None:  # type: ignore[no-untyped-def]
    """The state file lists every URL; each edge serves the master (Miss then Hit); SIGINT reaps
    all.
    """
    process, state_path, config = demo_process
    deadline = time.monotonic() + 120
    while not state_path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state_path.exists(), process.stdout.read() if process.poll() is not None else "timeout"
    state = json.loads(state_path.read_text())
    assert {"origins", "edges", "player_url", "admin_token", "config", "videos"} <= state.keys()
    assert len(state["origins"]) == 2 and len(state["edges"]) == 3
    assert state["config"] == str(config.resolve())
    master_path = state["videos"][0]["master_path"]
    for edge in state["edges"]:
        first = httpx.get(edge["url"] + master_path, timeout=10)
        assert first.headers["x-cache"] == f"Miss from {edge['pop']}"
        assert m3u8.loads(first.text).is_variant
        media_uri = m3u8.loads(first.text).playlists[0].uri
        media_path = master_path.rsplit("/", 1)[0] + "/" + media_uri
        media = m3u8.loads(httpx.get(edge["url"] + media_path, timeout=10).text)
        segment = media_path.rsplit("/", 1)[0] + "/" + media.segments[0].uri
        assert (
            httpx.get(edge["url"] + segment, timeout=10).headers["x-cache"]
            == f"Miss from {edge['pop']}"
        )
        assert (
            httpx.get(edge["url"] + segment, timeout=10).headers["x-cache"]
            == f"Hit from {edge['pop']}"
        )
        assert (
            httpx.get(edge["url"] + master_path, timeout=10).headers["x-cache"]
            == f"Hit from {edge['pop']}"
        )

    pids = [o["pid"] for o in state["origins"]] + [e["pid"] for e in state["edges"]]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert wait_gone(str(config)) == []
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()


def test_child_crash_during_start_stops_everything(tmp_path: Path, clip: Path) -> None:
    """An origin that dies while starting fails the demo with one line and leaves no orphans."""
    doc = distribution_doc(**TOPOLOGY)
    doc["origin"]["ffmpeg"] = str(tmp_path / "missing-ffmpeg")
    config = write_config(tmp_path / "demo.toml", doc)
    result = subprocess.run(
        cli_argv("demo", "--config", str(config), "--media", str(clip),
                 "--state", str(tmp_path / "s.json")),
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode != 0
    assert "exited during start" in result.stderr and "Traceback" not in result.stderr
    assert wait_gone(str(config)) == []

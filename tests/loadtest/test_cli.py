"""`streaming loadtest` end to end: refusals with exit 2, and a run that writes its reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from procs.supervisor import cli_argv


def test_remote_target_is_refused_with_a_clear_message() -> None:
    """A non-loopback target exits 2 with one line naming the host and --allow-remote."""
    done = subprocess.run(
        cli_argv("loadtest", "http://192.0.2.10:8201/hls/v1/master.m3u8", "--duration", "1"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "192.0.2.10 is not loopback" in done.stderr and "--allow-remote" in done.stderr


def test_bad_bounds_are_refused() -> None:
    """Zero viewers or a ramp-up longer than the run are errors before any request."""
    for args in (["--viewers", "0"], ["--duration", "2", "--ramp-up", "5"], ["--mode", "fast"]):
        result = CliRunner().invoke(
            app, ["loadtest", "http://127.0.0.1:9/hls/v/master.m3u8", *args]
        )
        assert result.exit_code != 0 and result.exception is not None


def test_demo_state_run_prints_the_report_and_writes_json_and_png(
    cold_video: list[str], tmp_path: Path
) -> None:
    """Against a demo-style state file: every edge is a target, the table is printed, the JSON
    report and the PNG plot are written."""
    state = tmp_path / "state.json"
    edges = [u.split("/hls/")[0] for u in cold_video]
    master = "/hls/" + cold_video[0].split("/hls/")[1]
    state.write_text(json.dumps({
        "edges": [{"url": e} for e in edges], "origins": [],
        "videos": [{"id": "x", "master_path": master}],
    }))  # fmt: skip
    out, png = tmp_path / "report.json", tmp_path / "run.png"
    result = CliRunner().invoke(app, [
        "loadtest", "--demo", str(state), "--viewers", "4", "--duration", "1.5",
        "--mode", "stress", "--json", str(out), "--plot", str(png),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "latency per object kind" in result.output and "hit ratio" in result.output
    report = json.loads(out.read_text())
    assert report["plan"]["targets"] == [e + master for e in edges]
    assert report["requests"] > 0 and report["errors"] == 0
    assert png.read_bytes().startswith(b"\x89PNG")

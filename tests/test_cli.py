"""Bad input to the CLI ends with one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from procs.supervisor import cli_argv
from tests.factories import distribution_doc, write_config


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_argv(*args), capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


def test_missing_config_file(tmp_path: Path) -> None:
    """A config path that does not exist is named in the error."""
    result = run_cli("origin", "--config", str(tmp_path / "nope.toml"), "--region", "us-east")
    assert_one_line_error(result, "config file not found")


def test_malformed_config_names_the_field(tmp_path: Path) -> None:
    """A semantically invalid config names the offending field."""
    doc = distribution_doc()
    doc["edges"][0]["port"] = "eighty"
    config = write_config(tmp_path / "bad.toml", doc)
    assert_one_line_error(run_cli("edge", "--config", str(config), "--pop", "iad"), "edges.0.port")


def test_unknown_region_and_pop(tmp_path: Path) -> None:
    """Unknown region or POP names list what the distribution has."""
    config = write_config(tmp_path / "d.toml", distribution_doc())
    assert_one_line_error(
        run_cli("origin", "--config", str(config), "--region", "mars"), "unknown region 'mars'"
    )
    assert_one_line_error(
        run_cli("edge", "--config", str(config), "--pop", "xyz"), "unknown POP 'xyz'"
    )


def test_port_in_use(tmp_path: Path) -> None:
    """A port already bound by someone else is reported, not a bind traceback."""
    doc = distribution_doc()
    config = write_config(tmp_path / "d.toml", doc)
    port = doc["edges"][0]["port"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = run_cli("edge", "--config", str(config), "--pop", "iad")
    assert_one_line_error(result, f"port {port} on 127.0.0.1 is already in use")


def test_missing_ffmpeg_is_reported(tmp_path: Path) -> None:
    """A configured ffmpeg that does not exist stops the origin with one line."""
    doc = distribution_doc()
    doc["origin"]["ffmpeg"] = str(tmp_path / "no-ffmpeg")
    config = write_config(tmp_path / "d.toml", doc)
    result = run_cli(
        "origin", "--config", str(config), "--region", "us-east", "--data", str(tmp_path / "data")
    )
    assert_one_line_error(result, "ffmpeg binary")


@pytest.mark.parametrize(
    "args", [("upload", "/nonexistent.mp4", "--origin", "http://127.0.0.1:9", "--token", "t")]
)
def test_upload_of_missing_file(args: tuple[str, ...]) -> None:
    """Uploading a file that does not exist says so."""
    assert_one_line_error(run_cli(*args), "no such file")


def test_upload_to_unreachable_origin(tmp_path: Path, clip: Path) -> None:
    """An origin that is not listening is reported as unreachable."""
    result = run_cli("upload", str(clip), "--origin", "http://127.0.0.1:9", "--token", "t")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot reach the origin" in result.stderr


def test_upload_with_encryption_packages_an_encrypted_ladder(tmp_path: Path, clip: Path) -> None:
    """`streaming upload --encryption aes-128 --wait` reaches ready with EXT-X-KEY in
    the playlists.
    """
    import httpx
    import m3u8

    from tests.factories import TOKEN, running_topology

    with running_topology(tmp_path, distribution_doc()) as topo:
        origin = topo.origin_url("us-east")
        result = run_cli(
            "upload", str(clip), "--origin", origin, "--token", TOKEN, "--wait",
            "--encryption", "aes-128", timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        video_id = result.stdout.split("uploaded: id ", 1)[1].split()[0]
        master = m3u8.loads(httpx.get(f"{origin}/hls/{video_id}/master.m3u8").text)
        media = httpx.get(f"{origin}/hls/{video_id}/{master.playlists[0].uri}").text
        assert '#EXT-X-KEY:METHOD=AES-128,URI="' in media


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args",
    [
        ("edge", "--pop", "iad"),
        ("origin", "--region", "us-east"),
        ("control",),
        ("portal",),
    ],
)
def test_the_shipped_demo_secrets_never_listen_beyond_loopback(args: tuple[str, ...]) -> None:
    """config/demo.toml's well-known token and origin secrets are refused on 0.0.0.0 before any
    port is bound (a timeout here would mean the service started)."""
    result = run_cli(
        args[0], "--config", str(ROOT / "config" / "demo.toml"), *args[1:], "--host", "0.0.0.0"
    )
    assert_one_line_error(result, "refusing to listen on 0.0.0.0: admin_token")


def test_secrets_named_by_file_are_created_then_read(tmp_path: Path) -> None:
    """`streaming secrets` fills in a config's secret files; the config then loads with them and
    may listen beyond loopback (checked here without binding: the refusal names no field)."""
    from cli.serve import check_exposure
    from streaming.config import load

    doc = distribution_doc()
    doc["admin_token"] = {"file": "secrets/admin-token"}
    config = write_config(tmp_path / "d.toml", doc)
    assert_one_line_error(run_cli("control", "--config", str(config)), "secret file")
    result = run_cli("secrets", "--config", str(config))
    assert result.returncode == 0 and "admin-token" in result.stderr
    token = (tmp_path / "secrets" / "admin-token").read_text().strip()
    assert token not in result.stderr + result.stdout  # paths are printed, values never
    check_exposure(load(config), "0.0.0.0")

"""`streaming upload --container`: fMP4 per upload from the command line, and the origin's 400
reason as the CLI's one-line error."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.factories import TOKEN, distribution_doc, running_topology
from tests.test_cli import run_cli


def test_upload_with_container_fmp4_gets_an_mpd_and_an_unknown_container_is_refused(
    tmp_path: Path, clip: Path
) -> None:
    """--container fmp4 --wait reaches ready with EXT-X-MAP playlists and manifest.mpd; an
    unknown container is refused in one line."""
    with running_topology(tmp_path, distribution_doc()) as topo:
        origin = topo.origin_url("us-east")
        result = run_cli(
            "upload", str(clip), "--origin", origin, "--token", TOKEN, "--wait",
            "--container", "fmp4", timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        video_id = result.stdout.split("uploaded: id ", 1)[1].split()[0]
        status = httpx.get(
            f"{origin}/videos/{video_id}", headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert status.json()["container"] == "fmp4"
        mpd = httpx.get(f"{origin}/hls/{video_id}/manifest.mpd")
        assert mpd.status_code == 200 and mpd.headers["content-type"] == "application/dash+xml"
        bad = run_cli(
            "upload", str(clip), "--origin", origin, "--token", TOKEN, "--container", "mkv"
        )
        assert bad.returncode != 0 and "mkv" in bad.stderr

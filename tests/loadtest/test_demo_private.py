"""The README's `streaming loadtest --demo <state.json>` against private content, as a real
subprocess: viewers sign in with the demo's key like the portal's login; without it the run ends
with a one-line diagnosis and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from procs.supervisor import cli_argv
from streaming import keys
from tests.access import key_group, key_id, private_key
from tests.factories import distribution_doc, running_topology
from tests.helpers import upload, wait_state

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def private_demo(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[dict[str, Any]]:
    """A demo-like topology whose every behavior trusts the `viewers` key; its state as the demo
    writes it, with the `signing` section naming the private key file."""
    tmp = tmp_path_factory.mktemp("private-demo")
    doc = distribution_doc(
        pops=(("iad", "us-east"), ("fra", "us-east")), key_groups=[key_group("viewers", "demo")]
    )
    for behavior in doc["behaviors"]:
        behavior["trusted_key_groups"] = ["viewers"]
    key_file = tmp / "keys" / "demo.pem"
    key_file.parent.mkdir()
    keys.write_private_key(private_key("demo"), key_file)
    with running_topology(tmp, doc) as topo:
        origin = topo.origin_url("us-east")
        video_id = upload(origin, clip)
        master = str(wait_state(origin, video_id)["master_path"])
        yield {
            "origins": [{"region": o.region, "url": o.url} for o in topo.dist.origins],
            "edges": [{"pop": e.pop, "url": e.url} for e in topo.dist.edges],
            "videos": [{"id": video_id, "master_path": master}],
            "signing": {
                "key_pair_id": key_id("demo"),
                "private_key": str(key_file),
                "hash": "SHA1",
            },
        }


def loadtest(
    state: dict[str, Any], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`streaming loadtest --demo STATE --viewers 4 --duration 3` (plus --json), bounded."""
    state_file, report = tmp_path / "state.json", tmp_path / "report.json"
    state_file.write_text(json.dumps(state))
    argv = cli_argv("loadtest", "--demo", str(state_file), "--viewers", "4", "--duration", "3",
                    "--json", str(report))  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env), report


def test_demo_load_test_signs_viewers_with_the_demo_key(
    private_demo: dict[str, Any], tmp_path: Path
) -> None:
    """With the state's signing key: every request succeeds and the edges serve hits."""
    done, report_file = loadtest(private_demo, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(report_file.read_text())
    assert report["requests"] > 0 and report["errors"] == 0, report["failures"]
    assert report["hit_ratio"] > 0 and "hit ratio" in done.stdout
    assert "load test failed" not in done.stdout


def test_without_the_signing_key_the_run_says_why_and_fails(
    private_demo: dict[str, Any], tmp_path: Path
) -> None:
    """No `signing` section: every viewer is refused, and one line names the cause and the fix."""
    unsigned = {k: v for k, v in private_demo.items() if k != "signing"}
    done, _ = loadtest(unsigned, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if "load test failed" in line]
    assert lines == [
        "load test failed: all 403 `missing`: the content is private; "
        "pass --sign-key/--key-pair-id or --demo with a signing key"
    ], done.stdout

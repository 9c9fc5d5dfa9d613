"""Durable replication between two real origin processes: a peer down for longer than any fixed
retry window still gets the video, and a delete, soon after it returns; a sender SIGKILLed
mid-push loses nothing; a region that lost its disk gets its videos back by reconcile.

Back-off starts at 0.05 s, so "more than five attempts" takes about three seconds, but doubles
up to 30 s and reconcile runs every 30 s, the defaults: convergence within seconds of a return
comes from the returning peer's own list request, not from a short retry. Each test prints how
long convergence took (`pytest tests/origin/test_replication.py -s`), the figures in
docs/origin.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from procs.supervisor import Child, Supervisor
from tests.factories import distribution_doc
from tests.helpers import AUTH, hls_paths, upload, wait_state
from tests.origin.conftest import origin_processes, start_origin

pytestmark = pytest.mark.e2e

REPLICATION = {"backoff_base": 0.05, "backoff_cap": 30.0, "reconcile_interval": 30.0}
# After the peer is healthy again: its "I am back" list request, then the transfer of a 4 s clip
# on a loaded machine.
BOUND = 3.0
# Outages last this long: well past five attempts here, and into the 8 s gap between the 4th and
# 5th attempt of the old fixed schedule (1, 2, 4, 8, 16 s), which a returning peer had to wait out.
OUTAGE = 8.0
LISTED = "origin_replication_last_reconcile_timestamp_seconds"


@dataclass
class Regions:
    """The two running origins, and how to stop and restart them."""

    sup: Supervisor
    config: Path
    tmp: Path
    urls: dict[str, str]

    @property
    def east(self) -> str:
        return self.urls["us-east"]

    @property
    def west(self) -> str:
        return self.urls["eu-west"]

    def child(self, region: str) -> Child:
        return [c for c in self.sup.children if c.name == f"origin-{region}"][-1]

    def signal(self, region: str, sig: signal.Signals) -> None:
        os.killpg(self.child(region).pid, sig)

    def kill(self, region: str) -> None:
        child = self.child(region)
        self.signal(region, signal.SIGKILL)
        assert child.process is not None
        child.process.wait(timeout=10)

    def stop(self, region: str) -> None:
        self.sup.stop(self.child(region))

    def start(self, region: str) -> float:
        """Start the region's origin again; returns when it answered /healthz (monotonic)."""
        child = start_origin(self.sup, self.config, region, self.urls[region], self.tmp)
        self.sup.wait_healthy(child)
        return time.monotonic()


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Regions]:
    tmp = tmp_path_factory.mktemp("replication")
    doc = distribution_doc(
        regions=("us-east", "eu-west"),
        origin={"segment_duration": 2.0, "replication": REPLICATION},
    )
    with origin_processes(tmp, doc) as sup:
        urls = {o["region"]: o["url"] for o in doc["origins"]}
        yield Regions(sup, tmp / "distribution.toml", tmp, urls)


def video(base: str, video_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/videos/{video_id}", headers=AUTH, timeout=5)
    return {"status": response.status_code, **response.json()}


def wait_until(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Poll `check` until true; returns when it became true (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def metric(base: str, name: str, peer: str) -> float:
    text = httpx.get(f"{base}/metrics", headers=AUTH, timeout=5).text
    line = next(x for x in text.splitlines() if x.startswith(f'{name}{{peer="{peer}"}}'))
    return float(line.rsplit(" ", 1)[1])


def ready_everywhere_identically(r: Regions, video_id: str) -> None:
    for path in hls_paths(r.east, f"/hls/{video_id}/master.m3u8"):
        assert httpx.get(r.east + path).content == httpx.get(r.west + path).content, path


def test_a_peer_down_longer_than_many_retries_gets_the_video_soon_after_it_returns(
    regions: Regions, clip: Path
) -> None:
    """eu-west is down while a video becomes ready in us-east: the push is retried past five
    attempts (shown in `regions` and /metrics), and lands within BOUND of eu-west's return."""
    r = regions
    r.stop("eu-west")
    video_id = upload(r.east, clip)
    wait_state(r.east, video_id)
    down_since = time.monotonic()
    wait_until(
        "six failed pushes to eu-west",
        lambda: video(r.east, video_id)["regions"]["eu-west"].get("attempts", 0) >= 6,
        timeout=15,
    )
    owed = video(r.east, video_id)["regions"]
    assert owed["us-east"] == {"state": "ready"}
    assert owed["eu-west"]["state"] == "replicating" and "Connect" in owed["eu-west"]["reason"]
    assert metric(r.east, "origin_replication_backlog", "eu-west") == 1
    assert metric(r.east, "origin_replication_lag_seconds", "eu-west") > 1.0
    assert metric(r.east, "origin_replication_peer_up", "eu-west") == 0
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_since)))

    back = r.start("eu-west")
    arrived = wait_until(
        "the video ready in eu-west",
        lambda: video(r.west, video_id).get("state") == "ready",
        timeout=BOUND,
    )
    print(f"\nconvergence: publish reached eu-west {arrived - back:.2f} s after it returned")
    ready_everywhere_identically(r, video_id)
    wait_until(
        "us-east sees eu-west ready",
        lambda: video(r.east, video_id)["regions"]["eu-west"] == {"state": "ready"},
        timeout=3,
    )
    assert metric(r.east, "origin_replication_backlog", "eu-west") == 0
    assert metric(r.east, "origin_replication_lag_seconds", "eu-west") == 0


def test_a_delete_reaches_a_peer_that_was_down_and_the_video_never_comes_back(
    regions: Regions, clip: Path
) -> None:
    """Deleted in us-east while eu-west is down: eu-west drops its copy soon after it returns,
    and neither region's reconcile brings the video back."""
    r = regions
    video_id = upload(r.east, clip)
    wait_state(r.east, video_id)
    wait_state(r.west, video_id)
    r.stop("eu-west")
    assert httpx.delete(f"{r.east}/videos/{video_id}", headers=AUTH).status_code == 204
    gone = video(r.east, video_id)
    assert gone["status"] == 404 and "still deleting in eu-west" in gone["detail"]
    time.sleep(OUTAGE)
    assert metric(r.east, "origin_replication_backlog", "eu-west") == 1

    returned = time.time()
    back = r.start("eu-west")
    deleted = wait_until(
        "the video deleted in eu-west",
        lambda: video(r.west, video_id)["status"] == 404,
        timeout=BOUND,
    )
    print(f"\nconvergence: delete reached eu-west {deleted - back:.2f} s after it returned")
    assert httpx.get(f"{r.west}/hls/{video_id}/master.m3u8").status_code == 404
    wait_until(
        "both regions compared inventories since eu-west returned",
        lambda: (
            min(metric(r.east, LISTED, "eu-west"), metric(r.west, LISTED, "us-east")) > returned
        ),
        timeout=5,
    )
    for base in (r.east, r.west):
        assert video(base, video_id)["status"] == 404, base
    assert video(r.east, video_id)["detail"] == f"video {video_id} was deleted"
    inventory = httpx.get(f"{r.west}/replicas", headers=AUTH).json()
    assert video_id in inventory["tombstones"] and video_id not in inventory["videos"]


def test_sigkill_of_the_sender_mid_push_then_restart_loses_nothing(
    regions: Regions, clip: Path
) -> None:
    """us-east is SIGKILLed while its push to eu-west hangs (eu-west frozen with SIGSTOP); once
    both run again, the video reaches eu-west complete."""
    r = regions
    r.signal("eu-west", signal.SIGSTOP)
    try:
        video_id = upload(r.east, clip)
        wait_state(r.east, video_id)
        wait_until(
            "a push to eu-west under way",
            lambda: video(r.east, video_id)["regions"]["eu-west"]["state"] == "replicating",
            timeout=5,
        )
        time.sleep(0.5)  # its first request is sent and waits for the frozen peer
        r.kill("us-east")
    finally:
        r.signal("eu-west", signal.SIGCONT)
    assert video(r.west, video_id)["status"] == 404
    back = r.start("us-east")
    arrived = wait_until(
        "the video ready in eu-west",
        lambda: video(r.west, video_id).get("state") == "ready",
        timeout=BOUND,
    )
    print(f"\nconvergence: publish resumed after SIGKILL, {arrived - back:.2f} s after restart")
    ready_everywhere_identically(r, video_id)
    staging = r.tmp / "origin" / "eu-west" / "staging"
    assert not [p for p in staging.rglob("*") if p.is_file()], "nothing left staged"


def test_a_region_that_lost_its_disk_gets_its_videos_back_by_reconcile(
    regions: Regions, clip: Path
) -> None:
    """eu-west restarts on an empty data directory: nothing is owed to it in any outbox, and
    reconcile finds what it lacks and sends it."""
    r = regions
    video_id = upload(r.east, clip)
    wait_state(r.east, video_id)
    wait_state(r.west, video_id)
    r.stop("eu-west")
    shutil.rmtree(r.tmp / "origin" / "eu-west")
    back = r.start("eu-west")
    arrived = wait_until(
        "the video back in eu-west",
        lambda: video(r.west, video_id).get("state") == "ready",
        timeout=BOUND,
    )
    print(f"\nconvergence: reconcile restored eu-west's copy {arrived - back:.2f} s after start")
    ready_everywhere_identically(r, video_id)
    assert video(r.west, video_id)["home"] == "us-east"

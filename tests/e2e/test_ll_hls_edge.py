"""LL-HLS end to end: a real origin's low-latency channel (real ffmpeg) through a real edge, 100
emulated LL-HLS viewers (blocking reloads, hinted and listed parts) for about 10 s on one POP.

Every part reaches the origin exactly once for the POP: the edge's access log shows one Miss
per part (the viewers that asked at the same moment were collapsed onto it, later ones hit).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadtest import report
from loadtest.player import Pace, Target
from loadtest.run import Plan, run
from streaming.hls import is_part
from tests.factories import Topology, distribution_doc, running_topology

pytestmark = pytest.mark.e2e
CHANNEL = {
    "name": "ll", "segment_duration": 1, "window": 6, "heights": [90], "frame_rate": 10,
    "low_latency": True, "part_target": 0.5,
}  # fmt: skip
MASTER = "/live/ll/master.m3u8"
PLAYLIST = "/live/ll/90p/index.m3u8"
VIEWERS = 100


@pytest.fixture
def ll_channel(tmp_path: Path) -> Iterator[tuple[Topology, Path]]:
    doc = distribution_doc(live_channels=[CHANNEL])
    with running_topology(tmp_path, doc) as topology:
        origin = topology.origin_url("us-east")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            response = httpx.get(origin + PLAYLIST, timeout=3)
            if response.status_code == 200 and response.text.count("#EXTINF") >= 2:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the LL channel did not go on air within 40 s")
        yield topology, tmp_path / "edge" / "iad" / "access.log"


def misses(access_log: Path) -> tuple[Counter[str], Counter[str]]:
    """How many of the edge's 200 answers were a Miss (an origin request that delivered it):
    per part path, and per blocking reload (playlist and its `_HLS_*` query). A 503 (the
    origin's bounded hold ran out) is kept only a moment and asked again: not counted."""
    parts: Counter[str] = Counter()
    reloads: Counter[str] = Counter()
    for line in access_log.read_text().splitlines():
        entry = json.loads(line)
        path, query = entry["cs-uri-stem"], entry["cs-uri-query"]
        missed = entry["x-edge-result-type"] == "Miss"
        if entry["sc-status"] != 200:
            continue
        if is_part(path):
            parts[path] += missed
        elif path.endswith(".m3u8") and "_HLS_msn" in query:
            reloads[f"{path}?{query}"] += missed
    return parts, reloads


def blocking_reload_waits_for_its_part(edge: str) -> None:
    """Ask the edge for the part after the newest: held until it exists, then it is listed."""
    plain = httpx.get(edge + PLAYLIST, timeout=5).text
    newest = [line for line in plain.splitlines() if line.startswith("#EXT-X-PART:")][-1]
    msn, part, _ = newest.split('URI="', 1)[1].split('"', 1)[0].split(".", 2)
    wanted = f"{msn}.{int(part) + 1}.m4s"
    started = time.monotonic()
    held = httpx.get(edge + PLAYLIST, params={"_HLS_msn": msn, "_HLS_part": int(part) + 1},
                     timeout=10)  # fmt: skip
    assert held.status_code == 200
    # The part may close its segment instead: then the next segment's first part is asked for.
    assert (
        wanted in held.text or f"{int(msn) + 1}.0.m4s" in held.text or (f"{msn}.m4s" in held.text)
    ), held.text
    assert time.monotonic() - started > 0.05  # it waited for the part


def test_a_hundred_ll_viewers_on_one_pop_cost_one_origin_request_per_part(
    ll_channel: tuple[Topology, Path],
) -> None:
    topology, access_log = ll_channel
    edge = topology.edge_url("iad")
    plan = Plan(
        targets=(Target(edge + MASTER, {}),), viewers=VIEWERS, duration=10.0, ramp_up=1.0,
        pace=Pace(realtime=True), rendition="lowest", metrics=(edge,),
    )  # fmt: skip
    outcome = run(plan)
    summary = report.summarize(plan, outcome)
    ll = summary["low_latency"]
    assert ll is not None, summary
    assert ll["parts"] >= 10, ll  # about 2 parts a second for 10 s
    assert ll["origin_requests_per_part_per_edge"] == 1.0, ll
    assert summary["errors"] == 0, summary["failures"]
    time.sleep(1.0)  # the access log is flushed every 0.5 s
    parts, reloads = misses(access_log)
    assert parts and set(parts.values()) == {1}, {p: n for p, n in parts.items() if n != 1}
    # One held origin request per (playlist, msn, part) for the POP, however many viewers.
    assert reloads and set(reloads.values()) == {1}, {r: n for r, n in reloads.items() if n != 1}
    # Every viewer got parts near the live edge: their age on arrival stays within seconds.
    assert ll["live_latency_ms"]["p50"] < 3000, ll
    blocking_reload_waits_for_its_part(edge)

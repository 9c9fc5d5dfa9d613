"""`python -m bench.latency`: LL-HLS against classic live, glass to glass in Chromium through an
edge, and the origin requests per part with 100 LL-HLS viewers on one POP.

1. Latency: the demo-like HTTPS stack (two origins, two POPs, signed cookies, the portal) runs an
   LL-HLS channel and a classic one side by side. Each round opens the portal's player in
   headless Chromium on each channel in turn (interleaved, so both see the same machine load),
   lets it play, and takes the median of its last five latency samples (the wall clock minus
   EXT-X-PROGRAM-DATE-TIME at the playhead, `hls.playingDate`, sampled each second).
2. Load: a plain one-origin, one-edge topology with the LL channel; `streaming loadtest`'s
   LL-HLS viewers for `--load-seconds`; the edge's access log gives the Misses (origin requests)
   per part and per (playlist, msn, part) blocking reload.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, sync_playwright

from loadtest import report
from loadtest.player import Pace, Target
from loadtest.run import Plan, run
from streaming.hls import is_part
from tests.browser.chromium import launch, nss_home
from tests.browser.stack import portal_stack
from tests.factories import distribution_doc, running_topology
from tests.tls import make_ca

SEGMENT = 2  # seconds, both channels
LL = {
    "name": "ll", "heights": [180], "frame_rate": 10, "segment_duration": SEGMENT,
    "low_latency": True, "part_target": 0.5,
}  # fmt: skip
CLASSIC = {"name": "classic", "heights": [180], "frame_rate": 10, "segment_duration": SEGMENT}
SAMPLES = 5  # the last latency samples (one a second) whose median is a round's figure


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per channel")
    p.add_argument("--play", type=float, default=12.0, help="seconds each player plays")
    p.add_argument("--viewers", type=int, default=100, help="LL-HLS viewers of the load phase")
    p.add_argument("--load-seconds", type=float, default=10.0)
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args()


def _published(url: str) -> bool:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.text.count("#EXTINF") >= 2


def _wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def _one_round(browser: Browser, url: str, play: float) -> float:
    """Play `url` in a fresh profile; the median of the last latency samples, in seconds."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.locator("#signin-button").click()
        current = "() => document.getElementById('video').currentTime"
        _wait(lambda: page.evaluate(current) > 0, 30, f"playback of {url}")
        time.sleep(play)
        state = page.evaluate("() => ({...window.portalPlayer, player: undefined})")
        if state.get("fatal"):
            raise SystemExit(f"{url}: {state['fatal']}")
        recent = state["latencies"][-SAMPLES:]
        if len(recent) < SAMPLES:
            raise SystemExit(f"{url}: only {len(recent)} latency samples")
        return float(statistics.median(recent))
    finally:
        context.close()


def latency(tmp: Path, rounds: int, play: float) -> dict[str, list[float]]:
    """Seconds glass to glass per round, per channel, measured interleaved."""
    ca_dir = tmp / "pki"
    ca_dir.mkdir()
    make_ca(ca_dir)
    figures: dict[str, list[float]] = {"ll": [], "classic": []}
    with portal_stack(tmp / "latency", ca_dir, live_channels=[LL, CLASSIC]) as stack:
        for origin in stack.topology.dist.origins:
            for channel in ("ll", "classic"):
                playlist = f"{origin.url}/live/{channel}/180p/index.m3u8"
                _wait(lambda p=playlist: _published(p), 60, playlist)
        with sync_playwright() as playwright:
            browser = launch(playwright, nss_home(ca_dir / "ca.pem", tmp / "home"))
            try:
                for _ in range(rounds):
                    for channel in ("ll", "classic"):
                        url = stack.player(f"live={channel}&pop=iad")
                        figures[channel].append(round(_one_round(browser, url, play), 3))
                        print(f"  {channel}: {figures[channel][-1]:.2f} s", flush=True)
            finally:
                browser.close()
    return figures


def origin_requests(tmp: Path, viewers: int, seconds: float) -> dict[str, Any]:
    """LL-HLS viewers on one POP: the edge's Misses per part and per blocking reload."""
    doc = distribution_doc(live_channels=[LL])
    (tmp / "load").mkdir()
    with running_topology(tmp / "load", doc) as topology:
        origin = topology.origin_url("us-east")
        _wait(lambda: _published(f"{origin}/live/ll/180p/index.m3u8"), 60, "the LL channel")
        edge = topology.edge_url("iad")
        plan = Plan(
            targets=(Target(f"{edge}/live/ll/master.m3u8", {}),), viewers=viewers,
            duration=seconds, ramp_up=1.0, pace=Pace(realtime=True), rendition="lowest",
            metrics=(edge,),
        )  # fmt: skip
        summary = report.summarize(plan, run(plan))
        time.sleep(1.0)  # the access log is flushed every 0.5 s
        parts: Counter[str] = Counter()
        reloads: Counter[str] = Counter()
        log = tmp / "load" / "edge" / "iad" / "access.log"
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            path, query = entry["cs-uri-stem"], entry["cs-uri-query"]
            missed = entry["x-edge-result-type"] == "Miss"
            if entry["sc-status"] != 200:  # a 503 after the origin's hold is asked again
                continue
            if is_part(path):
                parts[path] += missed
            elif "_HLS_msn" in query:
                reloads[f"{path}?{query}"] += missed
    ll = summary["low_latency"] or {}
    return {
        "viewers": viewers, "seconds": seconds, "requests": summary["requests"],
        "errors": summary["errors"], "parts": len(parts),
        "origin_requests_per_part": dict(sorted(Counter(parts.values()).items())),
        "origin_requests_per_blocking_reload": dict(sorted(Counter(reloads.values()).items())),
        "live_latency_ms": ll.get("live_latency_ms"),
    }  # fmt: skip


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main() -> None:
    args = _args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as scratch:
        tmp = Path(scratch)
        print("latency (s, median of the last samples of each round):", flush=True)
        figures = latency(tmp, args.rounds, args.play)
        print(f"origin requests with {args.viewers} LL-HLS viewers:", flush=True)
        load = origin_requests(tmp, args.viewers, args.load_seconds)
    result = {
        "when": started, "machine": f"{platform.node()} · {os.cpu_count()} cores",
        "load_average": os.getloadavg(), "latency_s": figures, "load": load,
    }  # fmt: skip
    print(f"LL-HLS   min/median/max {_spread(figures['ll'])} s")
    print(f"classic  min/median/max {_spread(figures['classic'])} s")
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

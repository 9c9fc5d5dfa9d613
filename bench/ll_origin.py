"""`python -m bench.ll_origin`: how soon after its wall-clock end a live part (LL-HLS) or
segment (classic HLS) is listed by a real origin process running both channel kinds.

LL: blocking reloads for each next part (`_HLS_msn`/`_HLS_part`), the delay being the answer's
arrival minus the part's end on the wall clock (segment N starts at N*d, parts follow their
listed durations). Classic: the playlist polled every 50 ms, the delay being first sight minus
the segment's end. Both are origin-side figures: a player adds its hold-back on top (LL:
PART-HOLD-BACK, 3 part targets; classic: 3 target durations).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import m3u8

from procs.supervisor import Supervisor, cli_argv
from tests.factories import distribution_doc, write_config


def _channels(height: int, fps: int) -> list[dict[str, object]]:
    common = {"segment_duration": 2, "window": 10, "heights": [height], "frame_rate": fps}
    return [
        {"name": "ll", **common, "low_latency": True, "part_target": 0.5},
        {"name": "classic", **common},
    ]


def _ll_delays(client: httpx.Client, path: str, seconds: float) -> list[float]:
    delays: list[float] = []
    hint = m3u8.loads(client.get(path).text).preload_hint.uri
    deadline = time.time() + seconds
    while time.time() < deadline:
        msn, part = (int(x) for x in hint.removesuffix(".m4s").split("."))
        response = client.get(path, params={"_HLS_msn": msn, "_HLS_part": part})
        arrived = time.time()
        playlist = m3u8.loads(response.text)
        for i, segment in enumerate(playlist.segments):
            if playlist.media_sequence + i != msn:
                continue
            if part >= len(segment.parts):  # the segment ended before it: next one's first
                break
            end = msn * 2 + sum(p.duration for p in segment.parts[: part + 1])
            delays.append(arrived - end)
        hint = playlist.preload_hint.uri
    return delays


def _classic_delays(client: httpx.Client, path: str, seconds: float) -> list[float]:
    seen: dict[str, float] = {}
    first = {s.uri for s in m3u8.loads(client.get(path).text).segments}
    deadline = time.time() + seconds
    while time.time() < deadline:
        for segment in m3u8.loads(client.get(path).text).segments:
            if segment.uri not in first and segment.uri not in seen:
                number = int(segment.uri.removesuffix(".ts"))
                seen[segment.uri] = time.time() - (number + 1) * 2
        time.sleep(0.05)
    return list(seen.values())


def _summary(name: str, delays: list[float]) -> str:
    if not delays:
        return f"{name}: no samples"
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{name}: n={len(delays)} median={statistics.median(delays):.3f}s "
        f"p95={p95:.3f}s max={ordered[-1]:.3f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ll_origin", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        doc = distribution_doc(live_channels=_channels(args.height, args.fps))
        config = write_config(Path(tmp) / "distribution.toml", doc)
        url = doc["origins"][0]["url"]
        with Supervisor(Path(tmp) / "logs") as sup:
            argv = cli_argv("origin", "--config", str(config), "--region", "us-east",
                            "--data", str(Path(tmp) / "origin"))  # fmt: skip
            sup.wait_healthy(sup.start("origin", argv, f"{url}/healthz"))
            rung = f"{args.height}p"
            with httpx.Client(base_url=url, timeout=15) as client:
                for name in ("ll", "classic"):
                    path = f"/live/{name}/{rung}/index.m3u8"
                    while client.get(path).status_code != 200:
                        time.sleep(0.2)
                time.sleep(4)  # past the first segments of the runs
                ll = _ll_delays(client, f"/live/ll/{rung}/index.m3u8", args.seconds)
                classic = _classic_delays(client, f"/live/classic/{rung}/index.m3u8", args.seconds)
    print(f"{rung} at {args.fps} fps, 2 s segments, part target 0.5 s, {args.seconds:g} s each")
    print(_summary("LL part listed after its wall-clock end", ll))
    print(_summary("classic segment listed after its wall-clock end", classic))


if __name__ == "__main__":
    main()

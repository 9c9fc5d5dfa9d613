"""Packaging benchmark: our packaging vs the bare ffmpeg command it runs, and time to first play.

    python -m bench.packaging [--seconds 60] [--height 1080] [--runs 2]

Generates a test clip (lavfi pattern + tone), then
1. runs the exact argv `media.commands.package` builds, as a bare ffmpeg process, and
2. runs `media.packager.package` (the same argv plus progress, provisional master, finalize),
alternating the two `--runs` times; prints wall time and realtime factor of each and the
overhead. Then starts a real origin process, uploads the clip and measures the time from the
upload's 202 to the first playable segment of every rendition (master + media playlist +
segment all answering 200).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import m3u8

from bench import doc
from media import commands, packager
from media.ladder import ladder_for
from media.probe import MediaInfo, probe
from media.runner import ffmpeg_binary
from media.samples import make_clip
from streaming.cli.supervisor import Supervisor, cli_argv
from tests.factories import TOKEN, distribution_doc, write_config

SEGMENT = 4.0


def bare(binary: str, source: Path, info: MediaInfo, out: Path) -> float:
    """Wall seconds of the bare ffmpeg command (progress to /dev/null, nothing else)."""
    rungs = ladder_for(info.display_height)
    for rung in rungs:
        (out / rung.name).mkdir(parents=True, exist_ok=True)
    argv = commands.package(commands.PackageJob(source, out, info, rungs, SEGMENT))
    started = time.perf_counter()
    subprocess.run([binary, *argv], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def ours(binary: str, source: Path, info: MediaInfo, out: Path) -> float:
    started = time.perf_counter()
    asyncio.run(packager.package(binary, source, out, info, SEGMENT, on_progress=lambda p: None))
    return time.perf_counter() - started


def first_playable(clip: Path, work: Path) -> tuple[float, float]:
    """(upload seconds, seconds from the upload's 202 to every rendition's first segment)."""
    doc = distribution_doc(origin={"segment_duration": SEGMENT})
    work.mkdir(parents=True, exist_ok=True)
    config = write_config(work / "distribution.toml", doc)
    url = doc["origins"][0]["url"]
    auth = {"authorization": f"Bearer {TOKEN}"}
    with Supervisor(work / "logs") as sup:
        argv = cli_argv(
            "origin", "--config", str(config), "--region", "us-east", "--data", str(work / "origin")
        )
        sup.wait_healthy(sup.start("origin", argv, f"{url}/healthz"))
        started = time.perf_counter()
        with clip.open("rb") as fh:
            response = httpx.post(
                f"{url}/videos", files={"file": (clip.name, fh)}, headers=auth, timeout=120
            )
        accepted = time.perf_counter()
        video_id = response.json()["id"]
        base = f"{url}/hls/{video_id}"
        deadline = accepted + 120
        while time.perf_counter() < deadline:
            if _playable(base):
                return accepted - started, time.perf_counter() - accepted
            time.sleep(0.05)
    raise RuntimeError("no playable segment within 120 s")


def _playable(base: str) -> bool:
    master = httpx.get(f"{base}/master.m3u8", timeout=5)
    if master.status_code != 200:
        return False
    for variant in m3u8.loads(master.text).playlists:
        media = httpx.get(f"{base}/{variant.uri}", timeout=5)
        segments = m3u8.loads(media.text).segments if media.status_code == 200 else []
        directory = variant.uri.rsplit("/", 1)[0]
        if (
            not segments
            or httpx.head(f"{base}/{directory}/{segments[0].uri}", timeout=5).status_code != 200
        ):
            return False
    return True


def _section(
    args: argparse.Namespace, info: MediaInfo, rungs: str, times: dict[str, list[float]],
    overhead: float, size_mb: float, upload: float, first: float,
) -> str:  # fmt: skip
    rows = "\n".join(
        f"| {name} | {' / '.join(f'{t:.2f}' for t in values)} | {statistics.median(values):.2f} | "
        f"{info.duration / statistics.median(values):.2f}x |"
        for name, values in times.items()
    )
    version = subprocess.run(
        [ffmpeg_binary(), "-version"], capture_output=True, text=True
    ).stdout.split("\n")[0]
    return f"""## Packaging

Measured by `python -m bench.packaging --seconds {args.seconds:g} --height {args.height} --runs {args.runs}`
on {time.strftime("%Y-%m-%d")}, {os.cpu_count()} cores **shared with other work running at the same time**
(other helpers' builds and tests), so absolute figures are noisy; {version.split(" Copyright")[0]}.

Source: generated {args.seconds:g} s {info.width}x{info.height} at {info.frame_rate:g} fps with stereo AAC.
Ladder {rungs}, {SEGMENT:g} s segments, x264 `veryfast`, one ffmpeg process (plus poster and sprite
outputs from the same decode).

| run | wall seconds per run | median | realtime factor |
| --- | --- | --- | --- |
{rows}

- Overhead of the project's packaging (progress, provisional master, finalize to VOD, measured
  master) over the bare ffmpeg command it runs: **{overhead:+.1f}%** (median against median;
  the spread between runs of the same command shows the noise of the shared machine).
- Upload complete (the origin's `202`) → first playable segment of every rendition (master,
  media playlist and first segment all `200` from a real origin process): **{first:.2f} s**
  (goal: under 5 s). The {size_mb:.1f} MB multipart upload itself took {upload:.2f} s on loopback.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    binary = ffmpeg_binary()
    work = Path(tempfile.mkdtemp(prefix="bench-packaging-"))
    try:
        width = args.height * 16 // 9 // 2 * 2
        print(f"generating a {args.seconds:g} s {width}x{args.height} clip ...", flush=True)
        clip = asyncio.run(
            make_clip(
                binary, work / "clip.mp4", seconds=args.seconds, width=width, height=args.height
            )
        )
        info = probe(clip)
        rungs = ", ".join(r.name for r in ladder_for(info.display_height))
        print(f"ladder: {rungs}; segments {SEGMENT:g} s; preset veryfast", flush=True)
        times: dict[str, list[float]] = {"bare ffmpeg": [], "our packaging": []}
        for run in range(args.runs):
            for name, fn in (("bare ffmpeg", bare), ("our packaging", ours)):
                out = work / f"{name.split()[0]}-{run}"
                seconds = fn(binary, clip, info, out)
                times[name].append(seconds)
                shutil.rmtree(out)
                print(
                    f"  run {run + 1} {name:<14} {seconds:6.2f} s  ({info.duration / seconds:4.2f}x realtime)",
                    flush=True,
                )
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name, value in medians.items():
            print(
                f"{name:<14} median {value:6.2f} s  realtime factor {info.duration / value:4.2f}x"
            )
        overhead = (medians["our packaging"] / medians["bare ffmpeg"] - 1) * 100
        print(f"overhead of our packaging over bare ffmpeg: {overhead:+.1f}%")
        upload, first = first_playable(clip, work / "origin")
        size_mb = clip.stat().st_size / 1e6
        print(
            f"upload of {size_mb:.1f} MB: {upload:.2f} s; upload complete -> first playable segment: {first:.2f} s"
        )
        if not args.no_doc:
            doc.write(
                Path("docs/performance.md"),
                _section(args, info, rungs, times, overhead, size_mb, upload, first),
            )
            print("updated the ## Packaging section of docs/performance.md")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
